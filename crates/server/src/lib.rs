//! Concordat over HTTP: one process serving an instance directory.
//!
//! - the C2SP read endpoints (`/checkpoint`, `/tile/<L>/<N>[.p/<W>]`,
//!   `/tile/entries/<N>[.p/<W>]`), full tiles marked immutable;
//! - a JSON API (`/api/...`) to submit entries and read every kind of state, with a tlog-proof
//!   for each entry; errors are `{"error": {"status", "code", "message"}}` and never carry
//!   internals;
//! - `/openapi.json` (built from the same table as the router), `/metrics` (Prometheus text),
//!   `/healthz`;
//! - the public portal: server-rendered HTML that needs no JavaScript.
//!
//! The server holds the instance's writer lock for as long as it runs; reads go through a pool
//! of store readers and the ledger's latest published state.

mod access;
mod api;
mod c2sp;
mod error;
mod metrics;
mod openapi;
mod portal;
pub mod render;
mod tls;
mod usage;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ledger::Ledger;
use store::{GroupCommit, Reader};
use tlog::note::SignerKey;

pub use access::{
    EVIDENCE_SCOPE, SEALED_DIR, SEALED_EVIDENCE_DIR, SIGNATURE_WINDOW_SECONDS, TOKENS_FILE,
    TokenRecord, Tokens, token_hash,
};
pub use error::ApiError;
pub use openapi::ROUTES;
pub use tls::{TlsError, TlsListener};
pub use usage::{USAGE_BYTES_MAX, USAGE_DIR};

/// The largest request body accepted: an entry is at most 64 KiB, and its envelope's base64
/// and JSON add a third.
pub const BODY_BYTES_MAX: usize = 96 * 1024;

/// The longest path and query accepted, in bytes.
pub const PATH_BYTES_MAX: usize = 1024;
pub const QUERY_BYTES_MAX: usize = 1024;

/// Refuses overlong paths and queries before any handler sees them.
async fn bound_uri(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let uri = request.uri();
    if uri.path().len() > PATH_BYTES_MAX || uri.query().map_or(0, str::len) > QUERY_BYTES_MAX {
        return ApiError::new(
            axum::http::StatusCode::URI_TOO_LONG,
            "too-long",
            format!("paths and queries are at most {PATH_BYTES_MAX} bytes each"),
        )
        .into_response();
    }
    next.run(request).await
}

/// An instance being served.
#[derive(Debug)]
pub struct Instance {
    dir: PathBuf,
    origin: String,
    verifier_key: String,
    simulated_clock: bool,
    ledger: Ledger,
    /// Signs the records of restricted reads; without it none are served.
    operator: Option<SignerKey>,
    readers: Vec<Mutex<Reader>>,
    next_reader: AtomicUsize,
    metrics: metrics::Metrics,
    /// Nonces of signed requests seen within the freshness window, so none is replayed.
    nonces: access::Nonces,
}

/// Why an instance cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
}

impl Instance {
    /// Opens the ledger in `dir` for serving: takes its writer lock and opens `readers` store
    /// readers.
    pub fn open(dir: &Path, log_key: SignerKey, readers: usize) -> Result<Instance, OpenError> {
        let ledger = Ledger::open(dir, log_key, GroupCommit::default())?;
        let first = Reader::open(dir)?;
        let origin = first.info().origin.clone();
        let verifier_key = first.info().verifier_key.to_text();
        let simulated_clock = ledger::Clock::of(&first) == ledger::Clock::Simulated;
        let mut pool = vec![Mutex::new(first)];
        for _ in 1..readers.max(1) {
            pool.push(Mutex::new(Reader::open(dir)?));
        }
        let operator = std::fs::read_to_string(dir.join("keys").join("operator.key"))
            .ok()
            .and_then(|text| SignerKey::parse(&text).ok());
        Ok(Instance {
            operator,
            dir: dir.to_owned(),
            origin,
            verifier_key,
            simulated_clock,
            ledger,
            readers: pool,
            next_reader: AtomicUsize::new(0),
            metrics: metrics::Metrics::default(),
            nonces: access::Nonces::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `read` with a store reader from the pool: a free one if there is, else waits for
    /// the next in turn.
    fn read<T>(&self, read: impl FnOnce(&Reader) -> T) -> T {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for offset in 0..count {
            if let Ok(reader) = self.readers[(start + offset) % count].try_lock() {
                return read(&reader);
            }
        }
        let reader = match self.readers[start % count].lock() {
            Ok(reader) => reader,
            Err(poisoned) => poisoned.into_inner(),
        };
        read(&reader)
    }

    /// Commits what is queued and releases the instance.
    pub fn close(self) -> Result<(), ledger::LedgerError> {
        self.ledger.close()
    }
}

/// The router for an instance: every route of [`ROUTES`], with bounded bodies.
pub fn router(instance: Arc<Instance>) -> Router {
    openapi::routes()
        .fallback(error::no_route)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&instance),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(bound_uri))
        .with_state(instance)
}

/// Serves `instance` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    instance: Arc<Instance>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(instance))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The TLS configuration from a PEM certificate chain and private key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, tls::TlsError> {
    tls::config(cert, key)
}

/// Serves `instance` over HTTPS on `listener` until `shutdown` resolves.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    instance: Arc<Instance>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TlsListener::new(listener, config)?;
    axum::serve(listener, router(instance))
        .with_graceful_shutdown(shutdown)
        .await
}
