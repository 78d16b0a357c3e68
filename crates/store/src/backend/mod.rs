//! The one interface the writer, the readers and `verify` use to reach a log's tables, with an
//! implementation for each database: SQLite (`sqlite`, the embedded default) and PostgreSQL
//! (`crate::pg::backend`). Everything above it — the tree, tiles, proofs, signing, checks — is
//! written once.

pub(crate) mod sqlite;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::{StoreError, StoredCheckpoint};

/// Where a log is stored.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// `log.db` in a log directory: the embedded default, one writing process.
    Sqlite(PathBuf),
    /// A PostgreSQL database that several nodes share. `dir` is this node's own directory,
    /// where it keeps its copy of the latest checkpoint it saw (see `published`), so that a
    /// database restored from an older backup is noticed.
    Postgres { url: String, dir: PathBuf },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Database {
    /// The log in `url` when given (a `postgres://` URL), else the SQLite log in `dir`.
    pub fn select(dir: &Path, url: Option<&str>) -> Result<Database, StoreError> {
        match url {
            None => Ok(Database::Sqlite(dir.to_owned())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres {
                    url: url.to_owned(),
                    dir: dir.to_owned(),
                })
            }
            Some(url) => Err(StoreError::Invalid(format!(
                "`{}` is not a database URL: give postgres://USER@HOST:PORT/DATABASE",
                crate::pg::redact(url)
            ))),
        }
    }

    /// The directory beside the database: the log directory, or the node's own.
    pub fn dir(&self) -> &Path {
        match self {
            Database::Sqlite(dir) | Database::Postgres { dir, .. } => dir,
        }
    }

    /// The database in words, without a password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(dir) => dir.join(crate::DATABASE_FILE).display().to_string(),
            Database::Postgres { url, .. } => crate::pg::redact(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Database::Postgres { .. })
    }

    /// A connection for reading.
    pub(crate) fn read(&self) -> Result<Box<dyn Conn>, StoreError> {
        match self {
            Database::Sqlite(dir) => Ok(Box::new(sqlite::SqliteConn::reader(dir)?)),
            Database::Postgres { url, .. } => {
                Ok(Box::new(crate::pg::backend::PgConn::open(url, "reader")?))
            }
        }
    }
}

/// A stored checkpoint row, as `verify` reads it and `migrate` copies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointRow {
    pub(crate) size: u64,
    /// The size of the checkpoint signed before it.
    pub(crate) previous_size: Option<u64>,
    pub(crate) root: Vec<u8>,
    pub(crate) note: String,
    /// When it was signed, in milliseconds since the epoch.
    pub(crate) signed_ms: i64,
}

/// A stored tile row: level, index, width, the hashes (see `TileHashes::to_stored`).
pub(crate) type TileRow = (u8, u64, u16, Vec<u8>);

/// Reads of a log's tables, on a connection or inside a transaction.
pub(crate) trait Rows {
    /// Every metadata row.
    fn meta(&mut self) -> Result<Vec<(String, String)>, StoreError>;
    /// The checkpoint of the largest size.
    fn latest_checkpoint(&mut self) -> Result<StoredCheckpoint, StoreError>;
    fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The signed sizes just below and just above `size`.
    fn checkpoints_around(&mut self, size: u64) -> Result<(Option<u64>, Option<u64>), StoreError>;
    fn checkpoint_count(&mut self) -> Result<u64, StoreError>;
    /// Every checkpoint, by size.
    fn checkpoint_rows(&mut self) -> Result<Vec<CheckpointRow>, StoreError>;
    /// One past the largest stored index.
    fn entry_end(&mut self) -> Result<u64, StoreError>;
    fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` stored entries from `start` (below `end` when given), by index.
    fn entries(
        &mut self,
        start: u64,
        end: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// A tile's width and stored hashes.
    fn tile(&mut self, level: u8, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError>;
    /// Every stored tile's (level, index, width), as stored (checked by the caller).
    fn tile_widths(&mut self) -> Result<Vec<(i64, i64, i64)>, StoreError>;
    fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every state row, ordered by space and key.
    fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError>;
    /// Every recorded entry digest with its index.
    fn digests(&mut self) -> Result<Vec<(Vec<u8>, u64)>, StoreError>;
    fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError>;
    /// Which of `digests` are recorded, with their entries: one question for a batch.
    fn logged_among(&mut self, digests: &[[u8; 32]]) -> Result<HashMap<[u8; 32], u64>, StoreError>;
}

/// Rows through a pointer: a boxed connection or transaction, or a borrowed one.
macro_rules! forward_rows {
    ($pointer:ty) => {
        impl<R: Rows + ?Sized> Rows for $pointer {
            fn meta(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                (**self).meta()
            }
            fn latest_checkpoint(&mut self) -> Result<StoredCheckpoint, StoreError> {
                (**self).latest_checkpoint()
            }
            fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
                (**self).checkpoint_at(size)
            }
            fn checkpoints_around(
                &mut self,
                size: u64,
            ) -> Result<(Option<u64>, Option<u64>), StoreError> {
                (**self).checkpoints_around(size)
            }
            fn checkpoint_count(&mut self) -> Result<u64, StoreError> {
                (**self).checkpoint_count()
            }
            fn checkpoint_rows(&mut self) -> Result<Vec<CheckpointRow>, StoreError> {
                (**self).checkpoint_rows()
            }
            fn entry_end(&mut self) -> Result<u64, StoreError> {
                (**self).entry_end()
            }
            fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).entry(index)
            }
            fn entries(
                &mut self,
                start: u64,
                end: Option<u64>,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                (**self).entries(start, end, limit)
            }
            fn tile(
                &mut self,
                level: u8,
                index: u64,
            ) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
                (**self).tile(level, index)
            }
            fn tile_widths(&mut self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
                (**self).tile_widths()
            }
            fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).state_get(space, key)
            }
            fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
                (**self).state_rows()
            }
            fn digests(&mut self) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
                (**self).digests()
            }
            fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
                (**self).logged_at(digest)
            }
            fn logged_among(
                &mut self,
                digests: &[[u8; 32]],
            ) -> Result<HashMap<[u8; 32], u64>, StoreError> {
                (**self).logged_among(digests)
            }
        }
    };
}

forward_rows!(Box<R>);
forward_rows!(&mut R);

/// A connection to a log's database.
pub(crate) trait Conn: Rows + Send {
    /// Starts a write transaction; with `fence`, refused unless that epoch still sequences
    /// the log (PostgreSQL; SQLite's writer lock is a file).
    fn begin(&mut self, fence: Option<i64>) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// Starts a read-only snapshot: every read until [`Conn::end_snapshot`] sees one state.
    fn snapshot(&mut self) -> Result<(), StoreError>;
    fn end_snapshot(&mut self) -> Result<(), StoreError>;
}

/// One write transaction: nothing is visible to others, or durable, before `commit`.
pub(crate) trait Tx: Rows {
    /// Makes the tables of a new log, or refuses (naming `dir`) a database that holds one.
    fn make_log(&mut self, dir: &Path) -> Result<(), StoreError>;
    fn insert_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Inserts `entries` at `first`, `first + 1`, ….
    fn insert_entries(&mut self, first: u64, entries: &[&[u8]]) -> Result<(), StoreError>;
    /// Records each digest for the entry at `first`, `first + 1`, …; a digest recorded
    /// already is refused, naming its entry.
    fn insert_digests(&mut self, first: u64, digests: &[[u8; 32]]) -> Result<(), StoreError>;
    /// Records digests of entries logged already, keeping a digest's first entry.
    fn record_digests(&mut self, digests: &[(u64, [u8; 32])]) -> Result<(), StoreError>;
    /// Inserts or replaces tiles.
    fn put_tiles(&mut self, tiles: &[TileRow]) -> Result<(), StoreError>;
    fn insert_checkpoint(
        &mut self,
        checkpoint: &StoredCheckpoint,
        previous_size: Option<u64>,
    ) -> Result<(), StoreError>;
    /// Inserts a checkpoint row as another database stored it.
    fn copy_checkpoint(&mut self, row: &CheckpointRow) -> Result<(), StoreError>;
    fn state_put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn state_delete(&mut self, space: &str, key: &str) -> Result<(), StoreError>;
    /// Makes everything durable, or nothing.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Stored integers are signed; log sizes and indices stay below 2^63 in practice and are
/// checked at the boundary.
pub(crate) fn to_sql_u64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} is too large to store")))
}

pub(crate) fn from_sql_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative stored value {value}")))
}

/// A checkpoint from its stored size, root and note.
pub(crate) fn stored_checkpoint(
    size: i64,
    root: &[u8],
    note: String,
) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        size: from_sql_u64(size)?,
        root: tlog::Hash::from_slice(root)
            .map_err(|e| StoreError::Corrupt(format!("checkpoint at size {size}: root: {e}")))?,
        note,
    })
}

/// A stored tile width, checked.
pub(crate) fn tile_width(width: i64) -> Result<u16, StoreError> {
    u16::try_from(width)
        .ok()
        .filter(|w| (1..=tlog::tile::TILE_WIDTH).contains(w))
        .ok_or_else(|| StoreError::Corrupt(format!("tile width {width} is out of range")))
}

/// The time a checkpoint is recorded as signed, in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
