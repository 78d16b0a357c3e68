//! What the nodes of one instance must agree on beside the log: small documents they update
//! in turn (the bearer tokens an operator issues), and the nonces of signed requests, so that a
//! request accepted by one node is refused when replayed to another.

use crate::StoreError;

use super::backend::outside_runtime;

/// The document `name`, if one was written.
pub fn document(url: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    outside_runtime(|| {
        super::pool::read(url, "documents", |client| {
            Ok(client
                .query_opt("SELECT bytes FROM documents WHERE name = $1", &[&name])?
                .map(|row| row.get(0)))
        })
    })
}

/// Changes the document `name` (none before its first write): `change` gets the current bytes
/// and returns the new ones with its answer. One change at a time, across nodes: the row is
/// locked from the read to the commit.
pub fn update_document<T: Send, E: From<StoreError> + Send>(
    url: &str,
    name: &str,
    change: impl FnOnce(Option<Vec<u8>>) -> Result<(Vec<u8>, T), E> + Send,
) -> Result<T, E> {
    outside_runtime(|| {
        let mut client = super::pool::take(url, "documents")?;
        let answer = change_locked(&mut client, name, change);
        super::pool::give(url, client);
        answer
    })
}

/// [`update_document`] on one connection.
fn change_locked<T, E: From<StoreError>>(
    client: &mut postgres::Client,
    name: &str,
    change: impl FnOnce(Option<Vec<u8>>) -> Result<(Vec<u8>, T), E>,
) -> Result<T, E> {
    let mut tx = client.transaction().map_err(StoreError::from)?;
    // Make the row exist, so that two first writers queue on its lock as well.
    tx.execute(
        "INSERT INTO documents (name, bytes) VALUES ($1, '') ON CONFLICT (name) DO NOTHING",
        &[&name],
    )
    .map_err(StoreError::from)?;
    let current: Vec<u8> = tx
        .query_one(
            "SELECT bytes FROM documents WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .map_err(StoreError::from)?
        .get(0);
    let (bytes, answer) = change(Some(current).filter(|b| !b.is_empty()))?;
    tx.execute(
        "UPDATE documents SET bytes = $2 WHERE name = $1",
        &[&name, &bytes],
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(answer)
}

/// Records `key` (a signer's key ID and nonce) until `forget_at` (seconds): false if any node
/// recorded it before and it is not yet forgotten. Recorded durably before this returns true.
pub fn first_use(url: &str, key: &str, forget_at: i64, now: i64) -> Result<bool, StoreError> {
    outside_runtime(|| {
        super::pool::with(url, "nonces", |client| {
            client.execute("DELETE FROM nonces WHERE forget_at <= $1", &[&now])?;
            let inserted = client.execute(
                "INSERT INTO nonces (key, forget_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &forget_at],
            )?;
            Ok(inserted == 1)
        })
    })
}

/// Every document whose name starts with `prefix`, by name.
pub fn documents_under(url: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    outside_runtime(|| {
        super::pool::read(url, "documents", |client| {
            // `starts_with`, not LIKE: a prefix is taken as written.
            Ok(client
                .query(
                    "SELECT name, bytes FROM documents WHERE starts_with(name, $1) ORDER BY name",
                    &[&prefix],
                )?
                .into_iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })
    })
}

/// Writes `puts` and removes `deletes`, all or none.
pub fn change_documents(
    url: &str,
    puts: &[(&str, &[u8])],
    deletes: &[&str],
) -> Result<(), StoreError> {
    outside_runtime(|| {
        super::pool::with(url, "documents", |client| {
            let mut tx = client.transaction()?;
            for name in deletes {
                tx.execute("DELETE FROM documents WHERE name = $1", &[name])?;
            }
            for (name, bytes) in puts {
                tx.execute(
                    "INSERT INTO documents (name, bytes) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET bytes = EXCLUDED.bytes",
                    &[name, bytes],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    })
}
