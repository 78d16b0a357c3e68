//! Connections kept between the short statements a node runs often beside the log — a signed
//! request's nonce, a deposit, the outbox's documents, who leads — so that each is one round
//! trip, not a new connection (with its TLS handshake and authentication) every time.
//!
//! A connection goes back to the pool only while it is open; one that sat idle for a while is
//! checked before it is used again, so a restarted database costs at most the statement in
//! flight. Reads are retried once on a fresh connection when theirs had been closed under them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::StoreError;

/// Idle connections kept for one database.
const KEPT: usize = 8;
/// A connection idle for longer than this is checked before it is used again.
const CHECK_AFTER: Duration = Duration::from_secs(2);

/// Idle connections by database URL, each with when it was given back.
type Idle = HashMap<String, Vec<(postgres::Client, Instant)>>;

static IDLE: Mutex<Option<Idle>> = Mutex::new(None);

/// An idle connection to `url`, or a new one named for `purpose`.
pub(crate) fn take(url: &str, purpose: &str) -> Result<postgres::Client, StoreError> {
    loop {
        let idle = {
            let mut pool = IDLE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pool.get_or_insert_with(HashMap::new)
                .get_mut(url)
                .and_then(Vec::pop)
        };
        let Some((mut client, since)) = idle else {
            return super::connect(url, purpose);
        };
        if client.is_closed() {
            continue;
        }
        if since.elapsed() > CHECK_AFTER && client.is_valid(Duration::from_secs(1)).is_err() {
            continue;
        }
        return Ok(client);
    }
}

/// Gives a connection back for the next statement, unless it was closed or enough are kept.
pub(crate) fn give(url: &str, client: postgres::Client) {
    if client.is_closed() {
        return;
    }
    let mut pool = IDLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let kept = pool
        .get_or_insert_with(HashMap::new)
        .entry(url.to_owned())
        .or_default();
    if kept.len() < KEPT {
        kept.push((client, Instant::now()));
    }
}

/// Runs `statements` on a kept connection to `url`.
pub(crate) fn with<T>(
    url: &str,
    purpose: &str,
    statements: impl FnOnce(&mut postgres::Client) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut client = take(url, purpose)?;
    let result = statements(&mut client);
    give(url, client);
    result
}

/// Runs `read` on a kept connection to `url`, once more on a new one if the first was closed
/// under it (a restarted database): `read` must change nothing.
pub(crate) fn read<T>(
    url: &str,
    purpose: &str,
    read: impl Fn(&mut postgres::Client) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut client = take(url, purpose)?;
    match read(&mut client) {
        Err(_) if client.is_closed() => {
            let mut fresh = super::connect(url, purpose)?;
            let result = read(&mut fresh);
            give(url, fresh);
            result
        }
        result => {
            give(url, client);
            result
        }
    }
}
