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
mod net;
mod openapi;
mod portal;
pub mod render;
mod tls;
mod usage;
pub mod witness;
mod witnessed;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use access::SIGNATURE_WINDOW_SECONDS;
pub use error::ApiError;
pub use net::{Authorities, Limits, certificate_names, serve, serve_router};
pub use openapi::ROUTES;
pub use tls::TlsError;

/// The largest request body accepted: an entry is at most 64 KiB, and its envelope's base64
/// and JSON add a third.
pub const BODY_BYTES_MAX: usize = 96 * 1024;

/// A body declared over [`BODY_BYTES_MAX`] but at most this long is read and discarded
/// before the 413, so a client still sending reads the answer instead of a broken pipe (what
/// a lingering close gives); a longer one is refused at once.
const DRAIN_BYTES_MAX: usize = 1024 * 1024;

/// Refuses a body declared larger than the route accepts (only usage records may be larger)
/// with 413, having drained a modest one first.
async fn refuse_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let large_allowed = request.uri().path().ends_with("/usage-records");
    match declared.filter(|n| *n > BODY_BYTES_MAX && !large_allowed) {
        Some(length) => {
            if length <= DRAIN_BYTES_MAX {
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_BYTES_MAX).await;
            }
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("the body: a request body is at most {BODY_BYTES_MAX} bytes, this one declares {length}"),
            )
            .into_response()
        }
        None => next.run(request).await,
    }
}

/// The longest path and query accepted, in bytes.
pub const PATH_BYTES_MAX: usize = 1024;
pub const QUERY_BYTES_MAX: usize = 1024;

/// Refuses overlong paths and queries before any handler sees them, and gives every response
/// the security headers (one layer for both: it runs on every request).
async fn bound_uri(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let uri = request.uri();
    let mut response =
        if uri.path().len() > PATH_BYTES_MAX || uri.query().map_or(0, str::len) > QUERY_BYTES_MAX {
            ApiError::new(
                axum::http::StatusCode::URI_TOO_LONG,
                "too-long",
                format!("paths and queries are at most {PATH_BYTES_MAX} bytes each"),
            )
            .into_response()
        } else {
            next.run(request).await
        };
    secure(response.headers_mut());
    response
}

/// The policy of every page: no script, no loads from elsewhere, no framing (the portal needs
/// no JavaScript; its only styles are inline).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// No response is sniffed into another type; a page (HTML, what a browser renders) also
/// carries the content security policy, refuses framing and sends no referrer. Tiles and
/// proofs, the hot paths, carry only the first: each header costs on every response.
fn secure(headers: &mut axum::http::HeaderMap) {
    use axum::http::{HeaderValue, header};
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let page = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if page {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
}

/// The outbox's thread: stopped and joined when dropped.
#[derive(Debug)]
pub struct OutboxRunner {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for OutboxRunner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An instance being served: the [`service::Local`] that holds its ledger and store readers,
/// and what the HTTP side adds (metrics, the nonces of signed requests).
#[derive(Debug)]
pub struct Instance {
    local: service::Local,
    metrics: metrics::Metrics,
    /// Nonces of signed requests seen within the freshness window, so none is replayed; kept
    /// in the instance directory, so a restart forgets none.
    nonces: access::Nonces,
    /// The names this server answers signed requests for, once it knows its address.
    authorities: OnceLock<Authorities>,
    /// The witnesses asked to cosign its checkpoints, when it names any.
    witnessed: Option<witnessed::Witnessed>,
}

impl Instance {
    /// Opens the instance in `dir` for serving: takes its writer lock and opens `readers` store
    /// readers.
    pub fn open(dir: &Path, readers: usize) -> Result<Instance, service::ServiceError> {
        Instance::open_at(&store::Database::Sqlite(dir.to_owned()), readers)
    }

    /// Opens the instance `database` names for serving, as [`Instance::open`]. A log on
    /// PostgreSQL is served as one of several nodes: it reads now, and writes once
    /// [`Instance::start_node`] has taken the lead (forwarding writes to the leader until then).
    pub fn open_at(
        database: &store::Database,
        readers: usize,
    ) -> Result<Instance, service::ServiceError> {
        let local = if database.is_postgres() {
            service::Local::serve_node(database, readers)?
        } else {
            service::Local::serve_at(database, readers)?
        };
        let nonces = match local.layout().shared_database() {
            Some(url) => access::Nonces::shared(url),
            None => access::Nonces::open(&local.layout().nonces(), service::build::now()).map_err(
                |e| {
                    service::ServiceError::Unavailable(format!(
                        "cannot keep the nonces of signed requests in `{}`: {e}",
                        local.layout().nonces().display()
                    ))
                },
            )?,
        };
        Ok(Instance {
            local,
            metrics: metrics::Metrics::default(),
            nonces,
            authorities: OnceLock::new(),
            witnessed: None,
        })
    }

    /// Has the witnesses of `witnessing` cosign its checkpoints (see [`witnessed`]); with
    /// `wait`, `/checkpoint` serves only checkpoints that met their quorum.
    #[must_use]
    pub fn witnessed_by(mut self, witnessing: service::cosign::Witnessing, wait: bool) -> Instance {
        self.witnessed = Some(witnessed::Witnessed::new(witnessing, wait));
        self
    }

    /// The size of the latest checkpoint its witnesses' quorum cosigned, when it names
    /// witnesses and one did.
    pub fn cosigned_size(&self) -> Option<u64> {
        self.witnessed.as_ref()?.quorum().map(|c| c.size)
    }

    /// The names this server answers signed requests for (set once, when it is bound); until
    /// then it refuses every signed request.
    pub fn answer_as(&self, authorities: Authorities) {
        let _ = self.authorities.set(authorities);
    }

    pub fn dir(&self) -> &Path {
        self.local.layout().dir()
    }

    /// On PostgreSQL, starts this node's watch (see `service::node`) as `url`, the address the
    /// other nodes forward writes to: it takes the lead when no node holds it. None for a log
    /// in SQLite, which this process alone writes.
    pub fn start_node(
        self: &Arc<Self>,
        url: &str,
        every: std::time::Duration,
    ) -> Option<OutboxRunner> {
        if !self.local.database().is_postgres() {
            return None;
        }
        self.local.name_node(url);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (instance, stopping) = (Arc::clone(self), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("node".to_owned())
            .spawn(move || {
                service::node::run(&instance.local, every, &stopping, &|event| match event {
                    service::node::Event::Leading { epoch } => {
                        tracing::info!(epoch, "this node leads: it sequences the log");
                    }
                    service::node::Event::SteppedDown => {
                        tracing::warn!(
                            "this node lost its session with the database: it no longer writes"
                        );
                    }
                    service::node::Event::Trouble(error) => tracing::warn!(%error, "node"),
                });
            })
            .ok()?;
        Some(OutboxRunner {
            stop,
            thread: Some(thread),
        })
    }

    /// Starts delivering the instance's notifications (see `service::outbox`) on a thread of
    /// its own, signed with the operator's key; none when the instance holds no such key.
    pub fn start_outbox(self: &Arc<Self>, to_private: bool) -> Option<OutboxRunner> {
        let Some(key) = service::Instance::operator_key(&self.local) else {
            tracing::warn!("no operator key: notifications are not delivered");
            return None;
        };
        let outbox = match service::outbox::Outbox::of(self.local.layout()) {
            Ok(outbox) => outbox.to_private(to_private),
            Err(error) => {
                tracing::error!(%error, "the outbox cannot be opened: notifications are not delivered");
                return None;
            }
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (instance, stopping) = (Arc::clone(self), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("outbox".to_owned())
            .spawn(move || {
                // On several nodes, the one that leads delivers (from the shared outbox).
                let node = instance.local.database().is_postgres();
                service::outbox::run(
                    &instance.local,
                    &outbox,
                    &key,
                    std::time::Duration::from_millis(500),
                    &stopping,
                    &|| !node || instance.local.leads(),
                    &|what, error| tracing::warn!(%error, "{what}"),
                );
            })
            .ok()?;
        Some(OutboxRunner {
            stop,
            thread: Some(thread),
        })
    }

    /// Runs `read` with a store reader from the pool.
    fn read<T>(&self, read: impl FnOnce(&store::Reader) -> T) -> T {
        self.local.read(read)
    }

    /// The ledger's latest published state (shared, not copied). A served instance holds
    /// its ledger from [`Instance::open`] on, so there always is one.
    fn state(&self) -> Arc<domain::State> {
        self.local.published().unwrap_or_default()
    }

    /// Runs a blocking call of the service (one that writes or waits for the ledger) off the
    /// async workers.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        call: impl FnOnce(&Instance) -> Result<T, service::ServiceError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let instance = Arc::clone(self);
        tokio::task::spawn_blocking(move || call(&instance))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// Commits what is queued and releases the instance.
    pub fn close(self) -> Result<(), service::ServiceError> {
        self.local.close_ledger()
    }
}

/// The router for an instance: every route of [`ROUTES`], with bounded bodies, within the
/// default [`Limits`].
pub fn router(instance: Arc<Instance>) -> Router {
    router_with(instance, &Limits::default())
}

/// The router, each request answered within `limits.request_timeout` of its head (its body
/// read included) or refused with 408.
pub fn router_with(instance: Arc<Instance>, limits: &Limits) -> Router {
    let deadline = limits.request_timeout;
    openapi::routes()
        .fallback(portal::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&instance),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(refuse_oversize))
        .layer(axum::middleware::from_fn(bound_uri))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                use axum::response::IntoResponse as _;
                match tokio::time::timeout(deadline, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        let mut response = ApiError::new(
                            axum::http::StatusCode::REQUEST_TIMEOUT,
                            "request-timeout",
                            format!(
                                "the request took longer than {} seconds; send it again (an entry is logged at most once)",
                                deadline.as_secs()
                            ),
                        )
                        .into_response();
                        secure(response.headers_mut());
                        response
                    }
                }
            },
        ))
        .with_state(instance)
}

/// The TLS configuration from a PEM certificate chain and private key.
/// A server's TLS configuration.
pub type TlsConfig = Arc<rustls::ServerConfig>;

pub fn tls_config(cert: &Path, key: &Path) -> Result<TlsConfig, tls::TlsError> {
    tls::config(cert, key)
}
