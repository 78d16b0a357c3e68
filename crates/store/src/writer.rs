//! The write side: one transaction a batch holding entries, tile hashes, the caller's state
//! writes and a checkpoint signed only after the stored tree was checked.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use tlog::note::SignerKey;
use tlog::proof::{consistency_proof, root_at, verify_consistency};
use tlog::tile::{TileHashes, locate, partial_tiles};
use tlog::tree::frontier_nodes;
use tlog::{NodeSource, TreeState, leaf_hash};

use crate::lock::WriterLock;
use crate::nodes::{SqlNodes, TileCache, read_tile};
use crate::schema::{
    DIGEST_INDEX, LogInfo, from_sql_u64, insert_checkpoint, latest_checkpoint,
    open_writer_connection, read_info, sign_checkpoint, to_sql_u64,
};
use crate::{ENTRY_BYTES_MAX, StoreError, StoredCheckpoint};

/// Writes a caller makes in the same transaction as an append: the state projected from the
/// entries. Keys live in named spaces; values are opaque bytes.
pub trait StateTx {
    fn get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&mut self, space: &str, key: &str) -> Result<(), StoreError>;
}

struct SqlState<'a> {
    tx: &'a Transaction<'a>,
}

impl StateTx for SqlState<'_> {
    fn get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT value FROM state WHERE space = ?1 AND key = ?2")?
            .query_row(params![space, key], |row| row.get(0))
            .optional()?)
    }

    fn put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO state (space, key, value) VALUES (?1, ?2, ?3)")?
            .execute(params![space, key, value])?;
        Ok(())
    }

    fn delete(&mut self, space: &str, key: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM state WHERE space = ?1 AND key = ?2")?
            .execute(params![space, key])?;
        Ok(())
    }
}

/// What a committed batch produced.
#[derive(Debug, Clone)]
pub struct BatchCommit {
    /// The index of the batch's first entry; the others follow in order.
    pub first_index: u64,
    /// The checkpoint signed over the batch, shared by every entry in it.
    pub checkpoint: Arc<StoredCheckpoint>,
}

/// The only writer of a log directory while it lives.
pub struct Writer {
    conn: Connection,
    info: LogInfo,
    signer: SignerKey,
    tree: TreeState,
    /// The rightmost, still partial tile of each level.
    open_tiles: BTreeMap<(u8, u64), TileHashes>,
    checkpoint: Arc<StoredCheckpoint>,
    /// The latest checkpoint is committed but its copy (see `published`) could not be written:
    /// written again before the next append, which fails if it still cannot be.
    unpublished: bool,
    _lock: WriterLock,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.info.dir)
            .field("size", &self.tree.size())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Opens the log in `dir` for writing, taking its lock, and resumes the tree from the
    /// stored right edge after checking it against the latest checkpoint.
    pub fn open(dir: &Path, signer: SignerKey) -> Result<Writer, StoreError> {
        if !crate::schema::database_path(dir).exists() {
            return Err(StoreError::NotALog(dir.to_owned()));
        }
        let lock = WriterLock::acquire(dir)?;
        let conn = open_writer_connection(dir)?;
        let info = read_info(&conn, dir)?;
        conn.execute_batch(DIGEST_INDEX)?;
        if signer.verifier() != info.verifier_key {
            return Err(StoreError::WrongKey {
                got: signer.verifier().to_text(),
                expected: info.verifier_key.to_text(),
            });
        }
        let checkpoint = latest_checkpoint(&conn)?;
        let stored_entries: i64 =
            conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", [], |row| {
                row.get(0)
            })?;
        if to_sql_u64(checkpoint.size)? != stored_entries {
            return Err(StoreError::Corrupt(format!(
                "the latest checkpoint covers {} entries but {stored_entries} are stored",
                checkpoint.size
            )));
        }
        let cache = RefCell::new(TileCache::default());
        let nodes = SqlNodes {
            conn: &conn,
            cache: &cache,
        };
        let frontier = frontier_nodes(checkpoint.size)
            .into_iter()
            .map(|node| nodes.node(node))
            .collect::<Result<Vec<_>, _>>()?;
        let tree = TreeState::from_frontier(checkpoint.size, frontier)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if tree.root() != checkpoint.root {
            return Err(StoreError::Corrupt(format!(
                "the stored tree's root at size {} is not the checkpoint's root",
                checkpoint.size
            )));
        }
        crate::published::check(dir, &info.origin, &info.verifier_key, &checkpoint, |size| {
            root_at(&nodes, size)
        })?;
        let mut open_tiles = BTreeMap::new();
        for tile in partial_tiles(checkpoint.size) {
            let stored = read_tile(&conn, tile.level, tile.index)?
                .filter(|stored| stored.width() == tile.width)
                .ok_or_else(|| StoreError::Corrupt(format!("{} is missing", tile.path())))?;
            open_tiles.insert((tile.level, tile.index), stored);
        }
        Ok(Writer {
            conn,
            info,
            signer,
            tree,
            open_tiles,
            checkpoint: Arc::new(checkpoint),
            unpublished: true,
            _lock: lock,
        })
    }

    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    /// Writes the latest checkpoint's copy beside the database.
    fn publish(&mut self) -> Result<(), StoreError> {
        self.unpublished = true;
        crate::published::write(&self.info.dir, &self.checkpoint).map_err(|e| {
            StoreError::io(
                format!(
                    "cannot keep the published checkpoint in `{}`",
                    crate::published::path(&self.info.dir).display()
                ),
                e,
            )
        })?;
        self.unpublished = false;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn checkpoint(&self) -> &Arc<StoredCheckpoint> {
        &self.checkpoint
    }

    /// The index of the entry recorded under `digest` (see [`Writer::append_batch_digested`]).
    pub fn logged_at(&self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.conn
            .prepare_cached("SELECT idx FROM digests WHERE digest = ?1")?
            .query_row([digest.as_slice()], |row| row.get::<_, i64>(0))
            .optional()?
            .map(from_sql_u64)
            .transpose()
    }

    /// Records digests of entries already logged (index, digest), keeping the first entry's
    /// where two share one: for a log written before digests were recorded.
    pub fn record_digests(&mut self, digests: &[(u64, [u8; 32])]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO digests (digest, idx) VALUES (?1, ?2)")?;
            for (index, digest) in digests {
                if *index >= self.tree.size() {
                    return Err(StoreError::NoSuchEntry {
                        index: *index,
                        size: self.tree.size(),
                    });
                }
                insert.execute(params![digest.as_slice(), to_sql_u64(*index)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Appends `entries` and runs `project` in the same transaction; commits durably and
    /// returns the signed checkpoint. On any error nothing is written and the writer is
    /// unchanged.
    pub fn append_batch<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        project: impl FnOnce(&mut dyn StateTx) -> Result<(), StoreError>,
    ) -> Result<BatchCommit, StoreError> {
        self.append(entries, &[], project)
    }

    /// As [`Writer::append_batch`], recording each entry under its digest (one a entry, in
    /// order). A digest already recorded fails the batch: find it first with
    /// [`Writer::logged_at`].
    pub fn append_batch_digested<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        digests: &[[u8; 32]],
        project: impl FnOnce(&mut dyn StateTx) -> Result<(), StoreError>,
    ) -> Result<BatchCommit, StoreError> {
        if digests.len() != entries.len() {
            return Err(StoreError::Invalid(format!(
                "{} digests for {} entries",
                digests.len(),
                entries.len()
            )));
        }
        self.append(entries, digests, project)
    }

    fn append<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        digests: &[[u8; 32]],
        project: impl FnOnce(&mut dyn StateTx) -> Result<(), StoreError>,
    ) -> Result<BatchCommit, StoreError> {
        if let Some(entry) = entries
            .iter()
            .find(|entry| entry.as_ref().len() > ENTRY_BYTES_MAX)
        {
            return Err(StoreError::EntryTooLarge {
                len: entry.as_ref().len(),
            });
        }
        if self.unpublished {
            self.publish()?;
        }
        let first_index = self.tree.size();
        // Work on copies so that a failed batch leaves the writer as it was.
        let mut tree = self.tree.clone();
        let mut touched: BTreeMap<(u8, u64), TileHashes> = BTreeMap::new();
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO entries (idx, data) VALUES (?1, ?2)")?;
            let mut placement_error = None;
            for entry in entries {
                let entry = entry.as_ref();
                insert.execute(params![to_sql_u64(tree.size())?, entry])?;
                tree.append_leaf_hash(leaf_hash(entry), |node, hash| {
                    let location = locate(node);
                    let key = (location.tile_level, location.tile_index);
                    let tile = touched.entry(key).or_insert_with(|| {
                        self.open_tiles
                            .get(&key)
                            .cloned()
                            .unwrap_or_else(|| TileHashes::new(key.0, key.1))
                    });
                    if let Err(e) = tile.push(location.sublevel, location.position, hash) {
                        placement_error.get_or_insert(e);
                    }
                });
            }
            if let Some(e) = placement_error {
                return Err(StoreError::Invariant(e.to_string()));
            }
            let mut record =
                tx.prepare_cached("INSERT INTO digests (digest, idx) VALUES (?1, ?2)")?;
            for (index, digest) in (first_index..).zip(digests) {
                record
                    .execute(params![digest.as_slice(), to_sql_u64(index)?])
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => {
                            StoreError::Invalid(format!(
                                "entry {index}: its digest is already recorded for another entry"
                            ))
                        }
                        _ => StoreError::Database(e),
                    })?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT OR REPLACE INTO tiles (level, idx, width, hashes) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for ((level, index), tile) in &touched {
                upsert.execute(params![
                    i64::from(*level),
                    to_sql_u64(*index)?,
                    i64::from(tile.width()),
                    tile.to_stored()
                ])?;
            }
        }
        project(&mut SqlState { tx: &tx })?;
        let root = tree.root();
        check_stored_tree(&tx, &self.checkpoint, tree.size(), &root)?;
        let checkpoint = sign_checkpoint(&self.info.origin, tree.size(), root, &self.signer)?;
        insert_checkpoint(&tx, &checkpoint, Some(self.checkpoint.size))?;
        tx.commit()?;

        self.tree = tree;
        for (key, tile) in touched {
            if tile.is_full() {
                self.open_tiles.remove(&key);
            } else {
                self.open_tiles.insert(key, tile);
            }
        }
        self.checkpoint = Arc::new(checkpoint);
        // The batch is durable and acknowledged either way; a copy that cannot be written
        // stops the next append instead.
        let _ = self.publish();
        Ok(BatchCommit {
            first_index,
            checkpoint: Arc::clone(&self.checkpoint),
        })
    }
}

/// Reads the new tree back from what the transaction stored: its root must be the one about to
/// be signed, and it must extend the previous checkpoint. Otherwise nothing is signed.
fn check_stored_tree(
    tx: &Transaction<'_>,
    previous: &StoredCheckpoint,
    size: u64,
    root: &tlog::Hash,
) -> Result<(), StoreError> {
    let cache = RefCell::new(TileCache::default());
    let nodes = SqlNodes {
        conn: tx,
        cache: &cache,
    };
    let stored_root = root_at(&nodes, size)?;
    if stored_root != *root {
        return Err(StoreError::Invariant(format!(
            "the stored tree of size {size} has root {stored_root}, the computed one {root}"
        )));
    }
    let proof = consistency_proof(&nodes, previous.size, size).map_err(|e| match e {
        tlog::proof::ProveError::Source(e) => e,
        other => StoreError::Invariant(other.to_string()),
    })?;
    verify_consistency(previous.size, size, &proof, &previous.root, root).map_err(|e| {
        StoreError::Invariant(format!(
            "size {size} is not consistent with the checkpoint at size {}: {e}",
            previous.size
        ))
    })
}
