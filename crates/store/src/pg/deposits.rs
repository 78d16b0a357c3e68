//! What parties deposit beside a log on PostgreSQL — sealed halves, usage records — kept in
//! the database so that every node serves them and the leading node's write path finds a
//! deposit whichever node received it. Each is kept under a key once: the same bytes again are
//! accepted, other bytes refused.

use crate::StoreError;

use super::backend::outside_runtime;

/// What became of a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deposited {
    /// Kept now.
    Written,
    /// The same bytes were kept before.
    AlreadyThere,
    /// Other bytes are kept under the key: nothing was written.
    Different,
}

/// Keeps `bytes` under `key` unless something is kept there; says which.
pub fn deposit_once(url: &str, key: &str, bytes: &[u8]) -> Result<Deposited, StoreError> {
    outside_runtime(|| {
        super::pool::with(url, "deposit", |client| {
            let now = crate::backend::now_ms();
            let inserted = client.execute(
            "INSERT INTO deposits (key, bytes, kept_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            &[&key, &bytes, &now],
        )?;
            if inserted == 1 {
                return Ok(Deposited::Written);
            }
            let kept: Vec<u8> = client
                .query_one("SELECT bytes FROM deposits WHERE key = $1", &[&key])?
                .get(0);
            Ok(if kept == bytes {
                Deposited::AlreadyThere
            } else {
                Deposited::Different
            })
        })
    })
}

/// The bytes kept under `key`, if any.
pub fn deposited(url: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    outside_runtime(|| {
        super::pool::read(url, "deposit", |client| {
            Ok(client
                .query_opt("SELECT bytes FROM deposits WHERE key = $1", &[&key])?
                .map(|row| row.get(0)))
        })
    })
}
