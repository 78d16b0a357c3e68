//! `serve` and `demo`: the instance over HTTP.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};

use crate::output::{Failure, Outcome};

async fn shutdown_signal() {
    #[cfg(unix)]
    {
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
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How a server listens: its address, TLS, the names it answers for and its bounds.
#[derive(Debug, clap::Args)]
pub struct Listen {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: String,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A name (`host` or `host:port`) clients reach this server by, beyond those its listen
    /// address and certificate give; repeatable. Signed requests for other names are refused.
    #[arg(long = "authority")]
    pub authorities: Vec<String>,
    /// Seconds a client may take to send a request's head (also how long a kept-alive
    /// connection may sit idle).
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a request may take from its head to its response.
    #[arg(long, default_value_t = 60)]
    pub request_timeout: u64,
    /// Connections held at once.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Connections held at once from one client address.
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_client: usize,
}

impl Listen {
    fn limits(&self) -> server::Limits {
        server::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_client: self.max_connections_per_client.max(1),
            ..server::Limits::default()
        }
    }
}

/// Serves the instance in `dir` as `how` says until interrupted. `banner` is printed (to
/// standard output) once the socket is bound, after the URL line.
pub fn serve(dir: &Path, how: &Listen, banner: &dyn Fn(&str) -> String) -> Outcome {
    let listen = how.listen.as_str();
    let tls = how
        .tls_cert
        .as_deref()
        .zip(how.tls_key.as_deref())
        .map(|(cert, key)| server::tls_config(cert, key))
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    let certificate_names = how
        .tls_cert
        .as_deref()
        .map(server::certificate_names)
        .unwrap_or_default();
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let layout = service::Layout::new(dir);
    let instance = match server::Instance::open(dir, readers) {
        Ok(instance) => Arc::new(instance),
        Err(error) => {
            let hint = layout
                .serving_url()
                .map(|url| format!(" (a server for it says it is at {url})"))
                .unwrap_or_default();
            return Err(anyhow!("{error}{hint}").into());
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url_file = layout.serve_url_file();
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        instance.answer_as(server::Authorities::new(
            address,
            tls.is_some(),
            &how.authorities,
            &certificate_names,
        ));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        std::fs::write(&url_file, format!("{url}\n"))
            .with_context(|| format!("cannot write `{}`", url_file.display()))?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "serving at {url}")?;
        write!(stdout, "{}", banner(&url))?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(%url, dir = %dir.display(), "serving");
        server::serve(
            listener,
            tls,
            Arc::clone(&instance),
            how.limits(),
            shutdown_signal(),
        )
        .await
        .context("the server stopped")?;
        anyhow::Ok(())
    });
    let _ = std::fs::remove_file(&url_file);
    if let Ok(instance) = Arc::try_unwrap(instance) {
        instance.close()?;
    }
    served.map_err(Failure::from)
}

/// Logs to standard error: `CONCORDAT_LOG` sets the level (default `info`).
pub fn init_logging() {
    let level = std::env::var("CONCORDAT_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// `demo`: a temporary instance seeded with an engagement, served.
pub fn demo(dir: Option<PathBuf>, how: &Listen) -> Outcome {
    let (dir, _temporary) = match dir {
        Some(dir) => (dir, None),
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("concordat-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (temporary.path().to_owned(), Some(temporary))
        }
    };
    let seeded = service::demo::seed(&dir)?;
    serve(&dir, how, &|url| seeded.banner(url, &dir))
}
