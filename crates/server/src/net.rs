//! Connections, bounded: how many the server holds (in all and from one client address), how
//! long a client may take to send a request head (also how long a kept-alive connection may
//! sit idle), how long a request may take from its head to its response, and how long one
//! connection may live. A client that opens thousands of connections and sends half a request
//! on each holds at most its share of them, each for seconds; everyone else is still served.
//!
//! Also the names the server answers for: a request signed (RFC 9421) for another host is
//! refused, so a signature made for one server cannot be replayed to another.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::Instance;

/// The bounds on connections and requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client may take to send a request's head, and how long a kept-alive
    /// connection may wait for the next one.
    pub header_timeout: Duration,
    /// How long a request may take from its head to its response (its body included).
    pub request_timeout: Duration,
    /// Connections held at once, in all.
    pub max_connections: usize,
    /// Connections held at once from one client address.
    pub max_connections_per_client: usize,
    /// How long one connection may be kept alive before the server closes it (after the
    /// request in flight).
    pub connection_max_age: Duration,
    /// How long a TLS client has to complete its handshake.
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_client: 256,
            connection_max_age: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Connections held per client address.
#[derive(Debug, Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

impl PerClient {
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: Arc::clone(self),
            ip,
        })
    }
}

/// One connection's place in its client's share; given back when dropped.
struct ClientSlot {
    clients: Arc<PerClient>,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// Serves `instance` on `listener` (over TLS when `tls` is given) within `limits` until
/// `shutdown` resolves; then finishes the requests in flight (for up to the request timeout).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    instance: Arc<Instance>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::router_with(Arc::clone(&instance), &limits);
    let refused = move || instance.metrics.refused_connection();
    serve_router(listener, tls, router, limits, refused, shutdown).await
}

/// Serves `router` on `listener` within `limits` as [`serve`] does; `refused` is called for
/// each connection closed at once because the server holds as many as it may.
// tidy: long function: the accept loop and its bounds, then the drain on shutdown.
pub async fn serve_router(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: axum::Router,
    limits: Limits,
    refused: impl Fn() + Send + Sync + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(PerClient::default());
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, most likely: wait for connections to close.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Over a bound the connection is closed at once: a descriptor is held for no one.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            refused();
            tracing::debug!(%peer, limit = limits.max_connections, "refused: the server holds as many connections as it may");
            continue;
        };
        let Some(slot) = clients.enter(peer.ip(), limits.max_connections_per_client) else {
            refused();
            tracing::debug!(%peer, limit = limits.max_connections_per_client, "refused: the server holds as many connections from this client as it may");
            continue;
        };
        let connection = Connection {
            router: router.clone(),
            acceptor: acceptor.clone(),
            limits: limits.clone(),
            stopping: stopping.clone(),
        };
        tokio::spawn(async move {
            connection.run(stream, peer).await;
            drop((permit, slot));
        });
    }
    let _ = stop.send(true);
    // Every connection gives its permit back when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.request_timeout, connections.acquire_many(all)).await;
    Ok(())
}

struct Connection {
    router: axum::Router,
    acceptor: Option<TlsAcceptor>,
    limits: Limits,
    stopping: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        match &self.acceptor {
            None => self.http(stream, peer).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.limits.handshake_timeout, acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(stream)) => self.http(stream, peer).await,
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn http<Io>(mut self, io: Io, peer: SocketAddr)
    where
        Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .keep_alive(true);
        let service = TowerToHyperService::new(self.router);
        let connection = builder.serve_connection(TokioIo::new(io), service);
        let mut connection = std::pin::pin!(connection);
        let max_age = tokio::time::sleep(self.limits.connection_max_age);
        let mut max_age = std::pin::pin!(max_age);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended");
                    }
                    return;
                }
                () = &mut max_age, if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                changed = self.stopping.changed(), if !closing => {
                    if changed.is_err() || *self.stopping.borrow() {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// The names (`host` or `host:port`, lower case) a server answers signed requests for: those
/// configured, those of its certificate (DNS names, wildcards included), and those its listen
/// address gives (for a loopback or unspecified address, `localhost` and the loopback
/// addresses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorities {
    names: Vec<String>,
}

impl Authorities {
    pub fn new(
        local: SocketAddr,
        https: bool,
        configured: &[String],
        certificate_names: &[String],
    ) -> Authorities {
        let port = local.port();
        let default_port = if https { 443 } else { 80 };
        let mut hosts: Vec<String> = Vec::new();
        let ip = local.ip();
        if ip.is_unspecified() || ip.is_loopback() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(str::to_owned));
        }
        if !ip.is_unspecified() {
            hosts.push(match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        hosts.extend(certificate_names.iter().cloned());
        let mut names = Vec::new();
        for host in hosts {
            names.push(format!("{host}:{port}"));
            if port == default_port {
                names.push(host);
            }
        }
        for name in configured {
            let name = name.trim().to_ascii_lowercase();
            if name
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                && !name.ends_with(']')
            {
                names.push(name);
            } else {
                names.push(format!("{name}:{port}"));
                names.push(name);
            }
        }
        for name in &mut names {
            name.make_ascii_lowercase();
        }
        names.sort();
        names.dedup();
        Authorities { names }
    }

    /// Whether a request's `Host` names this server. A `*.` name matches one label.
    pub fn admits(&self, authority: &str) -> bool {
        let authority = authority.to_ascii_lowercase();
        self.names.iter().any(|name| match name.strip_prefix("*.") {
            None => *name == authority,
            Some(suffix) => authority
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The DNS names of a certificate chain's leaf, from its subject alternative names.
pub fn certificate_names(cert: &std::path::Path) -> Vec<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let Some(Ok(leaf)) = CertificateDer::pem_file_iter(cert)
        .ok()
        .and_then(|mut chain| chain.next())
    else {
        return Vec::new();
    };
    webpki::EndEntityCert::try_from(&leaf)
        .map(|cert| cert.valid_dns_names().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_answers_for_its_own_names_only() {
        let local: SocketAddr = "127.0.0.1:8700".parse().unwrap_or_else(|_| unreachable!());
        let names = Authorities::new(local, false, &[], &[]);
        for own in [
            "127.0.0.1:8700",
            "localhost:8700",
            "LOCALHOST:8700",
            "[::1]:8700",
        ] {
            assert!(names.admits(own), "{own}: {names:?}");
        }
        for other in ["localhost:39112", "127.0.0.1", "evil.example:8700", ""] {
            assert!(!names.admits(other), "{other}");
        }
        let any: SocketAddr = "0.0.0.0:443".parse().unwrap_or_else(|_| unreachable!());
        let names = Authorities::new(
            any,
            true,
            &[
                "Ledger.Example.gov".to_owned(),
                "mirror.example:8443".to_owned(),
            ],
            &["*.concordat.example".to_owned()],
        );
        for own in [
            "ledger.example.gov",
            "ledger.example.gov:443",
            "mirror.example:8443",
            "eu.concordat.example",
            "localhost",
        ] {
            assert!(names.admits(own), "{own}: {names:?}");
        }
        for other in [
            "mirror.example",
            "a.b.concordat.example",
            "concordat.example",
            "0.0.0.0:443",
        ] {
            assert!(!names.admits(other), "{other}");
        }
    }
}
