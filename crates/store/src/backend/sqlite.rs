//! The log's tables in SQLite (`log.db`): WAL, so readers work beside the writer, and
//! `synchronous=FULL`, so a commit is durable when it returns.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, Transaction, params};

use super::{
    CheckpointRow, Conn, Rows, TileRow, Tx, from_sql_u64, now_ms, stored_checkpoint, tile_width,
    to_sql_u64,
};
use crate::{DATABASE_FILE, StoreError, StoredCheckpoint};

pub(crate) const SCHEMA: &str = "
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
/// SHA-256), so that an entry already logged is found by it. Created with the log, and by the
/// writer on a log made before it existed.
pub(crate) const DIGEST_INDEX: &str = "
CREATE TABLE IF NOT EXISTS digests (
    digest BLOB PRIMARY KEY,
    idx    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

pub(crate) fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE_FILE)
}

/// One connection to `log.db`.
pub(crate) struct SqliteConn {
    conn: Connection,
}

impl SqliteConn {
    /// The writer's connection to an existing log.
    pub(crate) fn writer(dir: &Path) -> Result<SqliteConn, StoreError> {
        let path = database_path(dir);
        if !path.exists() {
            return Err(StoreError::NotALog(dir.to_owned()));
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        configure_writer(&conn)?;
        conn.execute_batch(DIGEST_INDEX)?;
        Ok(SqliteConn { conn })
    }

    /// A new database for a log: its tables are made by [`Tx::make_log`].
    pub(crate) fn create(dir: &Path) -> Result<SqliteConn, StoreError> {
        let path = database_path(dir);
        if path.exists() {
            return Err(StoreError::AlreadyExists(dir.to_owned()));
        }
        let conn = Connection::open(&path)?;
        configure_writer(&conn)?;
        Ok(SqliteConn { conn })
    }

    /// A read-only connection.
    pub(crate) fn reader(dir: &Path) -> Result<SqliteConn, StoreError> {
        let path = database_path(dir);
        if !path.exists() {
            return Err(StoreError::NotALog(dir.to_owned()));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteConn { conn })
    }
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

impl Conn for SqliteConn {
    fn begin(&mut self, _fence: Option<i64>) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(SqliteTx {
            tx: self.conn.transaction()?,
        }))
    }

    fn snapshot(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN")?;
        Ok(())
    }

    fn end_snapshot(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

pub(crate) struct SqliteTx<'c> {
    tx: Transaction<'c>,
}

/// Implements [`Rows`] for a type whose `$conn` expression is a `&Connection`.
macro_rules! sqlite_rows {
    ($type:ty, $this:ident => $conn:expr) => {
        impl Rows for $type {
            fn meta(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                let $this = self;
                meta($conn)
            }
            fn latest_checkpoint(&mut self) -> Result<StoredCheckpoint, StoreError> {
                let $this = self;
                latest_checkpoint($conn)
            }
            fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
                let $this = self;
                checkpoint_at($conn, size)
            }
            fn checkpoints_around(
                &mut self,
                size: u64,
            ) -> Result<(Option<u64>, Option<u64>), StoreError> {
                let $this = self;
                checkpoints_around($conn, size)
            }
            fn checkpoint_count(&mut self) -> Result<u64, StoreError> {
                let $this = self;
                count($conn, "SELECT COUNT(*) FROM checkpoints")
            }
            fn checkpoint_rows(&mut self) -> Result<Vec<CheckpointRow>, StoreError> {
                let $this = self;
                checkpoint_rows($conn)
            }
            fn entry_end(&mut self) -> Result<u64, StoreError> {
                let $this = self;
                count($conn, "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")
            }
            fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
                let $this = self;
                Ok($conn
                    .prepare_cached("SELECT data FROM entries WHERE idx = ?1")?
                    .query_row([to_sql_u64(index)?], |row| row.get(0))
                    .optional()?)
            }
            fn entries(
                &mut self,
                start: u64,
                end: Option<u64>,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                let $this = self;
                entries($conn, start, end, limit)
            }
            fn tile(
                &mut self,
                level: u8,
                index: u64,
            ) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
                let $this = self;
                tile($conn, level, index)
            }
            fn tile_widths(&mut self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
                let $this = self;
                let mut statement = $conn.prepare("SELECT level, idx, width FROM tiles")?;
                let rows =
                    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            }
            fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let $this = self;
                Ok($conn
                    .prepare_cached("SELECT value FROM state WHERE space = ?1 AND key = ?2")?
                    .query_row(params![space, key], |row| row.get(0))
                    .optional()?)
            }
            fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
                let $this = self;
                let mut statement =
                    $conn.prepare("SELECT space, key, value FROM state ORDER BY space, key")?;
                let rows =
                    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            }
            fn digests(&mut self) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
                let $this = self;
                digests($conn)
            }
            fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
                let $this = self;
                $conn
                    .prepare_cached("SELECT idx FROM digests WHERE digest = ?1")?
                    .query_row([digest.as_slice()], |row| row.get::<_, i64>(0))
                    .optional()?
                    .map(from_sql_u64)
                    .transpose()
            }
            fn logged_among(
                &mut self,
                digests: &[[u8; 32]],
            ) -> Result<std::collections::HashMap<[u8; 32], u64>, StoreError> {
                let $this = self;
                logged_among($conn, digests)
            }
        }
    };
}

sqlite_rows!(SqliteConn, this => &this.conn);
sqlite_rows!(SqliteTx<'_>, this => &*this.tx);

fn count(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    from_sql_u64(conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?)
}

fn meta(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn.prepare("SELECT key, value FROM meta")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn checkpoint_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<StoredCheckpoint, StoreError>> {
    let size: i64 = row.get(0)?;
    let root: Vec<u8> = row.get(1)?;
    let note: String = row.get(2)?;
    Ok(stored_checkpoint(size, &root, note))
}

fn latest_checkpoint(conn: &Connection) -> Result<StoredCheckpoint, StoreError> {
    let row = conn
        .prepare_cached("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")?
        .query_row([], checkpoint_from_row)
        .optional()?;
    row.ok_or_else(|| StoreError::Corrupt("the log has no checkpoint".to_owned()))?
}

fn checkpoint_at(conn: &Connection, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
    conn.prepare_cached("SELECT size, root, note FROM checkpoints WHERE size = ?1")?
        .query_row([to_sql_u64(size)?], checkpoint_from_row)
        .optional()?
        .transpose()
}

fn checkpoints_around(
    conn: &Connection,
    size: u64,
) -> Result<(Option<u64>, Option<u64>), StoreError> {
    let size = to_sql_u64(size)?;
    let below: Option<i64> = conn.query_row(
        "SELECT MAX(size) FROM checkpoints WHERE size < ?1",
        [size],
        |row| row.get(0),
    )?;
    let above: Option<i64> = conn.query_row(
        "SELECT MIN(size) FROM checkpoints WHERE size > ?1",
        [size],
        |row| row.get(0),
    )?;
    Ok((
        below.map(from_sql_u64).transpose()?,
        above.map(from_sql_u64).transpose()?,
    ))
}

fn checkpoint_rows(conn: &Connection) -> Result<Vec<CheckpointRow>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT size, previous_size, root, note, signed_ms FROM checkpoints ORDER BY size",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, Option<i64>>(1)?,
            row.get::<_, Vec<u8>>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (size, previous, root, note, signed_ms) = row?;
        Ok(CheckpointRow {
            size: from_sql_u64(size)?,
            previous_size: previous.map(from_sql_u64).transpose()?,
            root,
            note,
            signed_ms,
        })
    })
    .collect()
}

fn entries(
    conn: &Connection,
    start: u64,
    end: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT idx, data FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![
            to_sql_u64(start)?,
            end.map_or(Ok(i64::MAX), to_sql_u64)?,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            let index: i64 = row.get(0)?;
            let data = match row.get_ref(1)? {
                rusqlite::types::ValueRef::Blob(bytes) => Some(bytes.to_vec()),
                _ => None,
            };
            Ok((index, data))
        },
    )?;
    rows.map(|row| {
        let (index, data) = row?;
        let data = data
            .ok_or_else(|| StoreError::Corrupt(format!("entry {index} is not stored as bytes")))?;
        Ok((from_sql_u64(index)?, data))
    })
    .collect()
}

fn tile(conn: &Connection, level: u8, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT width, hashes FROM tiles WHERE level = ?1 AND idx = ?2")?
        .query_row([i64::from(level), to_sql_u64(index)?], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    row.map(|(width, bytes)| Ok((tile_width(width)?, bytes)))
        .transpose()
}

/// An embedded database answers one lookup at a time as fast as it would a batch.
fn logged_among(
    conn: &Connection,
    digests: &[[u8; 32]],
) -> Result<std::collections::HashMap<[u8; 32], u64>, StoreError> {
    let mut lookup = conn.prepare_cached("SELECT idx FROM digests WHERE digest = ?1")?;
    let mut found = std::collections::HashMap::new();
    for digest in digests {
        if let Some(index) = lookup
            .query_row([digest.as_slice()], |row| row.get::<_, i64>(0))
            .optional()?
        {
            found.insert(*digest, from_sql_u64(index)?);
        }
    }
    Ok(found)
}

fn digests(conn: &Connection) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'digests')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut statement = conn.prepare("SELECT digest, idx FROM digests")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (digest, index) = row?;
        Ok((digest, from_sql_u64(index)?))
    })
    .collect()
}

impl Tx for SqliteTx<'_> {
    fn make_log(&mut self, dir: &Path) -> Result<(), StoreError> {
        let _ = dir;
        self.tx.execute_batch(SCHEMA)?;
        self.tx.execute_batch(DIGEST_INDEX)?;
        Ok(())
    }

    fn insert_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    fn insert_entries(&mut self, first: u64, entries: &[&[u8]]) -> Result<(), StoreError> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT INTO entries (idx, data) VALUES (?1, ?2)")?;
        for (index, entry) in (first..).zip(entries) {
            insert.execute(params![to_sql_u64(index)?, entry])?;
        }
        Ok(())
    }

    fn insert_digests(&mut self, first: u64, digests: &[[u8; 32]]) -> Result<(), StoreError> {
        let mut record = self
            .tx
            .prepare_cached("INSERT INTO digests (digest, idx) VALUES (?1, ?2)")?;
        for (index, digest) in (first..).zip(digests) {
            record
                .execute(params![digest.as_slice(), to_sql_u64(index)?])
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Invalid(format!(
                        "entry {index}: its digest is already recorded for another entry"
                    )),
                    _ => StoreError::Database(e),
                })?;
        }
        Ok(())
    }

    fn record_digests(&mut self, digests: &[(u64, [u8; 32])]) -> Result<(), StoreError> {
        let mut insert = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO digests (digest, idx) VALUES (?1, ?2)")?;
        for (index, digest) in digests {
            insert.execute(params![digest.as_slice(), to_sql_u64(*index)?])?;
        }
        Ok(())
    }

    fn put_tiles(&mut self, tiles: &[TileRow]) -> Result<(), StoreError> {
        let mut upsert = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO tiles (level, idx, width, hashes) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (level, index, width, hashes) in tiles {
            upsert.execute(params![
                i64::from(*level),
                to_sql_u64(*index)?,
                i64::from(*width),
                hashes
            ])?;
        }
        Ok(())
    }

    fn insert_checkpoint(
        &mut self,
        checkpoint: &StoredCheckpoint,
        previous_size: Option<u64>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO checkpoints (size, previous_size, root, note, signed_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                to_sql_u64(checkpoint.size)?,
                previous_size.map(to_sql_u64).transpose()?,
                checkpoint.root.0.as_slice(),
                checkpoint.note,
                now_ms()
            ])?;
        Ok(())
    }

    fn copy_checkpoint(&mut self, row: &CheckpointRow) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO checkpoints (size, previous_size, root, note, signed_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                to_sql_u64(row.size)?,
                row.previous_size.map(to_sql_u64).transpose()?,
                row.root,
                row.note,
                row.signed_ms
            ])?;
        Ok(())
    }

    fn state_put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO state (space, key, value) VALUES (?1, ?2, ?3)")?
            .execute(params![space, key, value])?;
        Ok(())
    }

    fn state_delete(&mut self, space: &str, key: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM state WHERE space = ?1 AND key = ?2")?
            .execute(params![space, key])?;
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
