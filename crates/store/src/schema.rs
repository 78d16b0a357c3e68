//! The SQLite schema, connection settings and the log's metadata.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use tlog::checkpoint::{Checkpoint, check_origin};
use tlog::note::{Note, SignerKey, VerifierKey};

use crate::lock::WriterLock;
use crate::{DATABASE_FILE, StoreError, StoredCheckpoint};

const FORMAT_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
-- One row an entry; idx is its position in the log.
CREATE TABLE entries (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL
) STRICT;
-- One row a C2SP tile, with the complete interior hashes of its eight levels (see
-- tlog::tile::TileHashes). Partial tiles are rewritten as they grow.
CREATE TABLE tiles (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    width  INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT;
-- Every checkpoint the log signed, by tree size.
-- previous_size chains them, so that a deleted checkpoint shows.
CREATE TABLE checkpoints (
    size          INTEGER PRIMARY KEY,
    previous_size INTEGER,
    root          BLOB NOT NULL,
    note          TEXT NOT NULL,
    signed_ms     INTEGER NOT NULL
) STRICT;
-- State that callers project from entries in the same transaction as the append.
CREATE TABLE state (
    space TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (space, key)
) STRICT;
";

/// Where callers record a digest that names each entry once (for a ledger, its statement's
/// SHA-256), so that an entry already logged is found by it. Created by `init`, and by the
/// writer on a log made before it existed.
pub(crate) const DIGEST_INDEX: &str = "
CREATE TABLE IF NOT EXISTS digests (
    digest BLOB PRIMARY KEY,
    idx    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// What a log directory says about itself.
#[derive(Debug, Clone)]
pub struct LogInfo {
    pub dir: PathBuf,
    pub origin: String,
    pub verifier_key: VerifierKey,
    /// Where the signer key was when the log was created, if the creator recorded it.
    pub signer_key_path: Option<PathBuf>,
    /// What the creator recorded beyond the log itself (e.g. that it holds a ledger).
    pub extra: std::collections::BTreeMap<String, String>,
}

/// Metadata keys the store itself uses; the rest belong to callers.
const OWN_META: [&str; 4] = [
    "format_version",
    "origin",
    "verifier_key",
    "signer_key_path",
];

pub(crate) fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE_FILE)
}

pub(crate) fn open_writer_connection(dir: &Path) -> Result<Connection, StoreError> {
    let path = database_path(dir);
    if !path.exists() {
        return Err(StoreError::NotALog(dir.to_owned()));
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    configure_writer(&conn)?;
    Ok(conn)
}

fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    // WAL lets readers work beside the writer; synchronous=FULL makes each commit durable
    // before it returns, which is when appends are acknowledged.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

pub(crate) fn open_reader_connection(dir: &Path) -> Result<Connection, StoreError> {
    let path = database_path(dir);
    if !path.exists() {
        return Err(StoreError::NotALog(dir.to_owned()));
    }
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Creates a log in `dir` (created if missing) and signs its empty checkpoint.
pub fn init(
    dir: &Path,
    origin: &str,
    signer: &SignerKey,
    signer_key_path: Option<&Path>,
) -> Result<LogInfo, StoreError> {
    init_with_meta(dir, origin, signer, signer_key_path, &[])
}

/// As [`init`], recording `extra` metadata (keys other than the store's own).
pub fn init_with_meta(
    dir: &Path,
    origin: &str,
    signer: &SignerKey,
    signer_key_path: Option<&Path>,
    extra: &[(&str, &str)],
) -> Result<LogInfo, StoreError> {
    if let Some((key, _)) = extra.iter().find(|(key, _)| OWN_META.contains(key)) {
        return Err(StoreError::Invalid(format!(
            "metadata key `{key}` is the store's own"
        )));
    }
    check_origin(origin).map_err(|e| StoreError::Invalid(format!("origin `{origin}`: {e}")))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("cannot create `{}`", dir.display()), e))?;
    let _lock = WriterLock::acquire(dir)?;
    let path = database_path(dir);
    if path.exists() {
        return Err(StoreError::AlreadyExists(dir.to_owned()));
    }
    let mut conn = Connection::open(&path)?;
    configure_writer(&conn)?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(DIGEST_INDEX)?;
    let verifier = signer.verifier();
    let mut meta = vec![
        ("format_version", FORMAT_VERSION.to_owned()),
        ("origin", origin.to_owned()),
        ("verifier_key", verifier.to_text()),
    ];
    if let Some(key_path) = signer_key_path {
        meta.push(("signer_key_path", key_path.display().to_string()));
    }
    meta.extend(extra.iter().map(|(key, value)| (*key, (*value).to_owned())));
    for (key, value) in meta {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
    }
    let empty = sign_checkpoint(origin, 0, tlog::hash::empty_root(), signer)?;
    insert_checkpoint(&tx, &empty, None)?;
    tx.commit()?;
    crate::published::write(dir, &empty).map_err(|e| {
        StoreError::io(
            format!("cannot write `{}`", crate::published::path(dir).display()),
            e,
        )
    })?;
    Ok(LogInfo {
        dir: dir.to_owned(),
        origin: origin.to_owned(),
        verifier_key: verifier,
        signer_key_path: signer_key_path.map(Path::to_owned),
        extra: extra
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    })
}

pub(crate) fn read_info(conn: &Connection, dir: &Path) -> Result<LogInfo, StoreError> {
    let get = |key: &str| -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()?)
    };
    let required = |key: &str| -> Result<String, StoreError> {
        get(key)?.ok_or_else(|| StoreError::Corrupt(format!("metadata `{key}` is missing")))
    };
    let version = required("format_version")?;
    if version != FORMAT_VERSION {
        return Err(StoreError::Invalid(format!(
            "log format version {version} is not supported (this build reads version {FORMAT_VERSION})"
        )));
    }
    let verifier_text = required("verifier_key")?;
    let verifier_key = VerifierKey::parse(&verifier_text)
        .map_err(|e| StoreError::Corrupt(format!("metadata `verifier_key`: {e}")))?;
    let mut extra = std::collections::BTreeMap::new();
    let mut statement = conn.prepare("SELECT key, value FROM meta")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (key, value) = row?;
        if !OWN_META.contains(&key.as_str()) {
            extra.insert(key, value);
        }
    }
    Ok(LogInfo {
        dir: dir.to_owned(),
        origin: required("origin")?,
        verifier_key,
        signer_key_path: get("signer_key_path")?.map(PathBuf::from),
        extra,
    })
}

pub(crate) fn sign_checkpoint(
    origin: &str,
    size: u64,
    root: tlog::Hash,
    signer: &SignerKey,
) -> Result<StoredCheckpoint, StoreError> {
    let text = Checkpoint::new(origin, size, root).to_text();
    let note = Note::sign(&text, signer)
        .map_err(|e| StoreError::Invariant(format!("cannot sign checkpoint: {e}")))?;
    Ok(StoredCheckpoint {
        size,
        root,
        note: note.to_text(),
    })
}

pub(crate) fn insert_checkpoint(
    conn: &Connection,
    checkpoint: &StoredCheckpoint,
    previous_size: Option<u64>,
) -> Result<(), StoreError> {
    let signed_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    conn.prepare_cached(
        "INSERT INTO checkpoints (size, previous_size, root, note, signed_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        to_sql_u64(checkpoint.size)?,
        previous_size.map(to_sql_u64).transpose()?,
        checkpoint.root.0.as_slice(),
        checkpoint.note,
        signed_ms
    ])?;
    Ok(())
}

pub(crate) fn latest_checkpoint(conn: &Connection) -> Result<StoredCheckpoint, StoreError> {
    let row = conn
        .prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")?
        .query_row([], checkpoint_from_row)
        .optional()?;
    row.ok_or_else(|| StoreError::Corrupt("the log has no checkpoint".to_owned()))?
}

pub(crate) fn checkpoint_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<StoredCheckpoint, StoreError>> {
    let size: i64 = row.get(0)?;
    let root: Vec<u8> = row.get(1)?;
    let note: String = row.get(2)?;
    Ok((|| {
        Ok(StoredCheckpoint {
            size: from_sql_u64(size)?,
            root: tlog::Hash::from_slice(&root).map_err(|e| {
                StoreError::Corrupt(format!("checkpoint at size {size}: root: {e}"))
            })?,
            note,
        })
    })())
}

/// SQLite integers are signed; log sizes and indices stay below 2^63 in practice and are
/// checked at the boundary.
pub(crate) fn to_sql_u64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} is too large to store")))
}

pub(crate) fn from_sql_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative stored value {value}")))
}
