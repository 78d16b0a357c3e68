//! The log on PostgreSQL, for instances that several nodes serve: the schema as versioned
//! migrations ([`migrate`]) and the one sequencer among the nodes ([`Sequencer`]), chosen
//! through the database itself — a session advisory lock for who leads, and an epoch raised by
//! each new leader as the fencing token that every append checks in its own transaction, so
//! that a deposed leader's late write is refused rather than forking the log.

pub(crate) mod backend;
mod migrations;
mod sequencer;

use std::time::Duration;

pub use migrations::{MIGRATIONS, Migration, migrate, schema_version};
pub use sequencer::{Sequencer, check_fence};

use crate::StoreError;

/// Connects to `url` (`postgres://USER@HOST:PORT/DB`, with the parameters libpq takes),
/// naming the node to the server and keeping the connection alive so that a vanished peer
/// is noticed within seconds.
pub fn connect(url: &str, node: &str) -> Result<postgres::Client, StoreError> {
    let mut config: postgres::Config = url.parse().map_err(|e| {
        StoreError::Invalid(format!("`{}` is not a PostgreSQL URL: {e}", redact(url)))
    })?;
    config
        .application_name(&format!("concordat {node}"))
        .connect_timeout(Duration::from_secs(10))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3);
    config
        .connect(postgres::NoTls)
        .map_err(|e| StoreError::Postgres(format!("cannot connect to {}: {e}", redact(url))))
}

/// The node that leads the sequencer of the log in `url`, as it named itself.
pub(crate) fn sequencer_holder(url: &str) -> Result<String, StoreError> {
    let mut client = connect(url, "observer")?;
    Ok(client
        .query_opt("SELECT holder FROM sequencer", &[])?
        .map_or_else(String::new, |row| row.get(0)))
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
}
