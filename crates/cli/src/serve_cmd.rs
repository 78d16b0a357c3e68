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

/// Serves the instance in `dir` on `listen` until interrupted. `banner` is printed (to
/// standard output) once the socket is bound, after the URL line.
pub fn serve(
    dir: &Path,
    listen: &str,
    tls: Option<(&Path, &Path)>,
    banner: &dyn Fn(&str) -> String,
) -> Outcome {
    let tls = tls
        .map(|(cert, key)| server::tls_config(cert, key))
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
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
        match tls {
            Some(config) => {
                server::serve_tls(listener, config, Arc::clone(&instance), shutdown_signal()).await
            }
            None => server::serve(listener, Arc::clone(&instance), shutdown_signal()).await,
        }
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
pub fn demo(dir: Option<PathBuf>, listen: &str) -> Outcome {
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
    serve(&dir, listen, None, &|url| seeded.banner(url, &dir))
}
