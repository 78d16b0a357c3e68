//! The log on PostgreSQL, for instances that several nodes serve: the schema as versioned
//! migrations ([`migrate`]) and the one sequencer among the nodes ([`Sequencer`]), chosen
//! through the database itself — a session advisory lock for who leads, and an epoch raised by
//! each new leader as the fencing token that every append checks in its own transaction, so
//! that a deposed leader's late write is refused rather than forking the log.

pub(crate) mod backend;
mod deposits;
mod migrations;
mod pool;
mod sequencer;
mod shared;
mod tls;

use std::time::Duration;

pub use deposits::{Deposited, deposit_once, deposited};
pub use migrations::{MIGRATIONS, Migration, migrate, schema_version};
pub use sequencer::{Sequencer, check_fence};
pub use shared::{change_documents, document, documents_under, first_use, update_document};

use crate::StoreError;

/// Connects to `url` (`postgres://USER@HOST:PORT/DB`, with the parameters libpq takes),
/// naming the node to the server and keeping the connection alive so that a vanished peer
/// is noticed within seconds.
///
/// The password is the URL's, else `PGPASSWORD`'s. TLS is used when the server offers it
/// (`sslmode=prefer`, the default) and required with `sslmode=require`; either way the server's
/// certificate must verify for its host name against the system's trust store, or against the
/// PEM file `sslrootcert=PATH` (or `PGSSLROOTCERT`) names: an encrypted connection to a server
/// that cannot prove who it is is refused, never used.
pub fn connect(url: &str, node: &str) -> Result<postgres::Client, StoreError> {
    let (url_without_root, root) = split_root_certificate(url);
    let mut config: postgres::Config = url_without_root.parse().map_err(|e| {
        StoreError::Invalid(format!("`{}` is not a PostgreSQL URL: {e}", redact(url)))
    })?;
    if config.get_password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        config.password(password);
    }
    config
        .application_name(&format!("concordat {node}"))
        .connect_timeout(Duration::from_secs(10))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3);
    let root = root.or_else(|| std::env::var("PGSSLROOTCERT").ok());
    let tls = tls::connector(root.as_deref())?;
    config.connect(tls).map_err(|e| {
        let said = with_causes(&e);
        let hint = if said.contains("certificate") {
            "; name the CA that signed the server's certificate with sslrootcert=PATH in the URL \
             (or PGSSLROOTCERT), or connect without TLS with sslmode=disable"
        } else {
            ""
        };
        StoreError::Postgres(format!("cannot connect to {}: {said}{hint}", redact(url)))
    })
}

/// An error with what caused it, as one line (`error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer`).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

/// `url` without its `sslrootcert=PATH` parameter (which the client library does not take),
/// and that path.
fn split_root_certificate(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslrootcert=") {
            Some(path) => {
                root = Some(path.to_owned());
                false
            }
            None => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), root)
    } else {
        (format!("{base}?{}", kept.join("&")), root)
    }
}

/// The node that leads the sequencer of the log in `url`, as it named itself: none before any
/// node has led. (The name stays until another node takes the lead, even after the leader's
/// session ended.)
pub fn leader(url: &str) -> Result<Option<String>, StoreError> {
    Ok(Some(sequencer_holder(url)?).filter(|holder| !holder.is_empty()))
}

/// The node that leads the sequencer of the log in `url`, as it named itself.
pub(crate) fn sequencer_holder(url: &str) -> Result<String, StoreError> {
    pool::read(url, "observer", |client| {
        Ok(client
            .query_opt("SELECT holder FROM sequencer", &[])?
            .map_or_else(String::new, |row| row.get(0)))
    })
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        StoreError::Postgres(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db.example:5432/ledger"),
            "postgres://app:***@db.example:5432/ledger"
        );
        assert_eq!(
            super::redact("postgres://app@db.example/ledger"),
            "postgres://app@db.example/ledger"
        );
    }

    #[test]
    fn the_root_certificate_is_taken_out_of_the_url() {
        assert_eq!(
            super::split_root_certificate(
                "postgres://app@db/ledger?sslmode=require&sslrootcert=/etc/ca.pem"
            ),
            (
                "postgres://app@db/ledger?sslmode=require".to_owned(),
                Some("/etc/ca.pem".to_owned())
            )
        );
        assert_eq!(
            super::split_root_certificate("postgres://app@db/ledger?sslrootcert=ca.pem"),
            (
                "postgres://app@db/ledger".to_owned(),
                Some("ca.pem".to_owned())
            )
        );
        assert_eq!(
            super::split_root_certificate("postgres://app@db/ledger"),
            ("postgres://app@db/ledger".to_owned(), None)
        );
    }
}
