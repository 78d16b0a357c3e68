//! The enforcement gateway: an OpenAI-compatible proxy in front of a vendor's model API that
//! makes a contract real on every request.
//!
//! Each call is authenticated by an API key an agency issued through the ledger, decided by
//! the contract's Cedar policies with the caller's role and clearance and the purpose the
//! request states, sent to the version the deployment has in service (whatever model the
//! client named), and recorded — durably, before the answer leaves — with digests of what
//! went in and came out, never the text. Records are sealed in batches into `usage-recorded`
//! entries signed by the gateway's own key. The gateway keeps no state but its records: the
//! rules come from the ledger (see [`enforce`]), so replicas serve side by side.

mod body;
pub mod call;
pub mod enforce;
mod health;
pub mod journal;
pub mod openai;
pub mod proxy;
pub mod quota;
pub mod seal;
pub mod standin;
mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use service::Instance;
use tlog::note::SignerKey;
use tokio::net::TcpListener;

pub use health::Metrics;

/// How a gateway runs.
pub struct Config {
    /// The instance whose ledger the rules come from (a server, in practice).
    pub instance: Arc<dyn Instance>,
    pub contract: String,
    pub deployment: String,
    pub listen: SocketAddr,
    /// The provider's OpenAI-compatible base URL, e.g. `http://10.0.0.5:8000/v1`.
    pub upstream: String,
    /// The provider's API key, sent as `Authorization: Bearer`; never logged or recorded.
    pub upstream_key: Option<String>,
    /// The gateway's signing key, registered to a party with the `gateway` role.
    pub key: SignerKey,
    pub party: String,
    /// Where records are kept until sealed (one gateway process per directory).
    pub records: PathBuf,
    /// How often the ledger is asked whether the log grew.
    pub poll: Duration,
    /// How long the gateway serves without hearing from the ledger before it refuses.
    pub ledger_grace: Duration,
    /// Records are sealed into the ledger at least this often...
    pub seal_interval: Duration,
    /// ...or whenever this many are waiting.
    pub seal_records: usize,
    /// How many gateways serve the deployment side by side: each enforces its share of the
    /// contract's capacity terms.
    pub replicas: u64,
}

impl std::fmt::Debug for Config {
    // The provider's key and the signing key are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("instance", &self.instance.name())
            .field("contract", &self.contract)
            .field("deployment", &self.deployment)
            .field("listen", &self.listen)
            .field("upstream", &self.upstream)
            .field("party", &self.party)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// Why a gateway does not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Service(#[from] service::ServiceError),
    #[error(transparent)]
    Records(#[from] journal::JournalError),
    #[error("--upstream `{0}`: {1}")]
    Upstream(String, String),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("{0}")]
    Runtime(std::io::Error),
}

/// The provider's API.
#[derive(Debug)]
pub struct Upstream {
    /// `http://host:port` and the path prefix, without a trailing `/`.
    base: String,
    authorization: Option<HeaderValue>,
}

impl Upstream {
    pub fn new(url: &str, key: Option<&str>) -> Result<Upstream, GatewayError> {
        let fail = |why: &str| GatewayError::Upstream(url.to_owned(), why.to_owned());
        let uri: hyper::Uri = url.parse().map_err(|_| fail("not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(fail("the URL must start with https:// or http://"));
        }
        if uri.host().is_none() {
            return Err(fail("the URL names no host"));
        }
        let authorization = key
            .map(|key| {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| fail("the provider's API key is not a valid header value"))?;
                value.set_sensitive(true);
                Ok::<_, GatewayError>(value)
            })
            .transpose()?;
        Ok(Upstream {
            base: url.trim_end_matches('/').to_owned(),
            authorization,
        })
    }

    /// The request for `route` (`/v1/...`), under the base URL's own path (which usually ends
    /// in `/v1`).
    pub fn request(
        &self,
        route: &str,
        body: &serde_json::Value,
    ) -> Result<Request<Full<Bytes>>, String> {
        let path = route.strip_prefix("/v1").unwrap_or(route);
        let mut request = Request::post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        if let Some(authorization) = &self.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        Ok(request)
    }
}

/// Request ids: a random prefix per process and a counter, so replicas never collide.
#[derive(Debug)]
pub struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Result<RequestIds, GatewayError> {
        let prefix = service::keys::random_hex(6)
            .map_err(|e| GatewayError::Runtime(std::io::Error::other(e.to_string())))?;
        Ok(RequestIds {
            prefix,
            next: AtomicU64::new(1),
        })
    }

    pub fn next(&self) -> String {
        format!(
            "req-{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// What every request shares.
#[derive(Debug)]
pub struct Shared {
    pub enforcement: Arc<enforce::Enforcement>,
    pub journal: journal::Journal,
    pub client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pub upstream: Upstream,
    pub ids: RequestIds,
    pub metrics: Metrics,
    pub seal_status: Arc<seal::SealStatus>,
    pub quotas: quota::Quotas,
    pub replicas: u64,
}

/// A gateway serving on its own threads.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    server: Option<std::thread::JoinHandle<()>>,
    sealer: Option<std::thread::JoinHandle<()>>,
    sealer_stop: Arc<AtomicBool>,
    enforcement: Arc<enforce::Enforcement>,
}

impl Running {
    /// Stops taking requests, seals what is recorded, and returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks until the process is interrupted (Ctrl-C or SIGTERM), then stops as [`stop`]:
    /// what was recorded is sealed before it returns.
    pub fn wait_for_signal(mut self) {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(interrupted());
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        self.sealer_stop.store(true, Ordering::Release);
        if let Some(sealer) = self.sealer.take() {
            let _ = sealer.join();
        }
        self.enforcement.stop();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Ctrl-C or SIGTERM: what stops `concordat serve` and a gateway.
pub async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Starts a gateway: reads the rules from the ledger (it does not start without them), opens
/// its records, listens, and starts sealing. Requests are served on `workers` threads.
pub fn start(config: Config, workers: usize) -> Result<Running, GatewayError> {
    let upstream = Upstream::new(&config.upstream, config.upstream_key.as_deref())?;
    let (journal, dir) = journal::Journal::open(&config.records)?;
    let enforcement = enforce::start(
        Arc::clone(&config.instance),
        config.party.clone(),
        &config.contract,
        &config.deployment,
        config.poll,
        config.ledger_grace,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("gateway")
        .enable_all()
        .build()
        .map_err(GatewayError::Runtime)?;
    let listener = runtime
        .block_on(TcpListener::bind(config.listen))
        .map_err(|e| GatewayError::Listen(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| GatewayError::Listen(config.listen, e))?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.enforce_http(false);
    let connector = tls_builder(&config.upstream)?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1024)
        .build(connector);
    let seal_status = Arc::new(seal::SealStatus::default());
    let shared = Arc::new(Shared {
        enforcement: Arc::clone(&enforcement),
        journal: journal.clone(),
        client,
        upstream,
        ids: RequestIds::new()?,
        metrics: Metrics::default(),
        seal_status: Arc::clone(&seal_status),
        quotas: quota::Quotas::default(),
        replicas: config.replicas.max(1),
    });
    let sealer_stop = Arc::new(AtomicBool::new(false));
    let sealer = seal::Sealer {
        instance: Arc::clone(&config.instance),
        key: config.key,
        party: config.party,
        contract: config.contract,
        deployment: config.deployment,
        dir,
        journal,
        interval: config.seal_interval,
        records: config.seal_records,
        stop: Arc::clone(&sealer_stop),
        status: seal_status,
    };
    let sealer = std::thread::Builder::new()
        .name("gateway-seal".to_owned())
        .spawn(move || sealer.run())
        .map_err(GatewayError::Runtime)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = std::thread::Builder::new()
        .name("gateway-accept".to_owned())
        .spawn(move || runtime.block_on(serve(listener, shared, stopped)))
        .map_err(GatewayError::Runtime)?;
    Ok(Running {
        addr,
        stop,
        server: Some(server),
        sealer: Some(sealer),
        sealer_stop,
        enforcement,
    })
}

/// TLS to the provider, trusting the system's certificates (`SSL_CERT_FILE` names another
/// bundle). A machine without any may still reach a provider over plain HTTP.
fn tls_builder(
    upstream: &str,
) -> Result<
    hyper_rustls::HttpsConnectorBuilder<hyper_rustls::builderstates::WantsSchemes>,
    GatewayError,
> {
    match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => Ok(builder),
        Err(error) if upstream.starts_with("https:") => Err(GatewayError::Upstream(
            upstream.to_owned(),
            format!("the system's trusted certificates could not be read: {error}"),
        )),
        Err(_) => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| GatewayError::Upstream(upstream.to_owned(), e.to_string()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            Ok(hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config))
        }
    }
}

/// How long a client may take to send a request's head (or keep an idle connection).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, std::convert::Infallible>(proxy::handle(shared, request).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
}
