//! The write side: one transaction a batch holding entries, tile hashes, the caller's state
//! writes and a checkpoint signed only after the stored tree was checked.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tlog::note::SignerKey;
use tlog::proof::{consistency_proof, root_at, verify_consistency};
use tlog::tile::{TileHashes, locate, partial_tiles};
use tlog::tree::frontier_nodes;
use tlog::{NodeSource, TreeState, leaf_hash};

use crate::backend::{Conn, Database, Rows, TileRow, Tx};
use crate::lock::WriterLock;
use crate::nodes::{Nodes, TileCache, read_tile};
use crate::pg::Sequencer;
use crate::schema::{LogInfo, read_info, sign_checkpoint};
use crate::{ENTRY_BYTES_MAX, StoreError, StoredCheckpoint};

/// Writes a caller makes in the same transaction as an append: the state projected from the
/// entries. Keys live in named spaces; values are opaque bytes.
pub trait StateTx {
    fn get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&mut self, space: &str, key: &str) -> Result<(), StoreError>;
}

/// The state writes of one append's transaction.
struct TxState<'a, 'c> {
    tx: &'a mut (dyn Tx + 'c),
}

impl StateTx for TxState<'_, '_> {
    fn get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.tx.state_get(space, key)
    }

    fn put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tx.state_put(space, key, value)
    }

    fn delete(&mut self, space: &str, key: &str) -> Result<(), StoreError> {
        self.tx.state_delete(space, key)
    }
}

/// What keeps other writers out while a writer lives: the log directory's lock file
/// (SQLite), or the lead of the sequencer, whose epoch fences every append (PostgreSQL) —
/// held by the writer, or by its caller, who watches it.
enum Exclusion {
    Lock(#[allow(dead_code, reason = "held for its Drop")] WriterLock),
    Lead(Box<Sequencer>),
    Fence(i64),
}

impl Exclusion {
    fn fence(&self) -> Option<i64> {
        match self {
            Exclusion::Lock(_) => None,
            Exclusion::Lead(lead) => Some(lead.epoch()),
            Exclusion::Fence(epoch) => Some(*epoch),
        }
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
    conn: Box<dyn Conn>,
    info: LogInfo,
    signer: SignerKey,
    tree: TreeState,
    /// The rightmost, still partial tile of each level.
    open_tiles: BTreeMap<(u8, u64), TileHashes>,
    checkpoint: Arc<StoredCheckpoint>,
    /// The latest checkpoint is committed but its copy (see `published`) could not be written:
    /// written again before the next append, which fails if it still cannot be.
    unpublished: bool,
    exclusion: Exclusion,
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
        Writer::open_at(&Database::Sqlite(dir.to_owned()), signer)
    }

    /// Opens the log in `database` for writing: a SQLite log's lock is taken; on PostgreSQL
    /// this process takes the lead of the sequencer, or is refused while another node holds it.
    pub fn open_at(database: &Database, signer: SignerKey) -> Result<Writer, StoreError> {
        match database {
            Database::Sqlite(dir) => {
                if !crate::backend::sqlite::database_path(dir).exists() {
                    return Err(StoreError::NotALog(dir.to_owned()));
                }
                let lock = WriterLock::acquire(dir)?;
                let conn = crate::backend::sqlite::SqliteConn::writer(dir)?;
                Writer::resume(Box::new(conn), dir, signer, Exclusion::Lock(lock))
            }
            Database::Postgres { url, .. } => {
                let node = format!("writer {}", std::process::id());
                match Sequencer::try_lead(url, &node)? {
                    Some(lead) => Writer::open_leading(database, signer, lead),
                    None => Err(StoreError::Led {
                        database: database.describe(),
                        holder: crate::pg::sequencer_holder(url)?,
                    }),
                }
            }
        }
    }

    /// Opens the log on PostgreSQL for writing under `lead`: every append is refused once
    /// another node has taken the lead since.
    pub fn open_leading(
        database: &Database,
        signer: SignerKey,
        lead: Sequencer,
    ) -> Result<Writer, StoreError> {
        let (url, dir) = postgres_of(database)?;
        let conn = crate::pg::backend::PgConn::open_writer(url, lead.node())?;
        Writer::resume(Box::new(conn), dir, signer, Exclusion::Lead(Box::new(lead)))
    }

    /// Opens the log on PostgreSQL for writing under the lead of epoch `epoch`, which the
    /// caller holds (and watches, see [`Sequencer::holds`]): every append is refused once
    /// another node has taken the lead since.
    pub fn open_fenced(
        database: &Database,
        signer: SignerKey,
        epoch: i64,
        node: &str,
    ) -> Result<Writer, StoreError> {
        let (url, dir) = postgres_of(database)?;
        let conn = crate::pg::backend::PgConn::open_writer(url, &format!("{node} writer"))?;
        Writer::resume(Box::new(conn), dir, signer, Exclusion::Fence(epoch))
    }

    fn resume(
        mut conn: Box<dyn Conn>,
        dir: &Path,
        signer: SignerKey,
        exclusion: Exclusion,
    ) -> Result<Writer, StoreError> {
        let info = read_info(&mut *conn, dir)?;
        if signer.verifier() != info.verifier_key {
            return Err(StoreError::WrongKey {
                got: signer.verifier().to_text(),
                expected: info.verifier_key.to_text(),
            });
        }
        let checkpoint = conn.latest_checkpoint()?;
        let stored_entries = conn.entry_end()?;
        if checkpoint.size != stored_entries {
            return Err(StoreError::Corrupt(format!(
                "the latest checkpoint covers {} entries but {stored_entries} are stored",
                checkpoint.size
            )));
        }
        let cache = RefCell::new(TileCache::default());
        let conn = RefCell::new(conn);
        let nodes = Nodes {
            rows: &conn,
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
        let mut conn = conn.into_inner();
        let mut open_tiles = BTreeMap::new();
        for tile in partial_tiles(checkpoint.size) {
            let stored = read_tile(&mut *conn, tile.level, tile.index)?
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
            exclusion,
        })
    }

    /// Whether this writer still leads: false once a log on PostgreSQL lost its sequencer's
    /// session (its next append would be refused). Always true for a SQLite log.
    pub fn leads(&mut self) -> bool {
        match &mut self.exclusion {
            Exclusion::Lock(_) | Exclusion::Fence(_) => true,
            Exclusion::Lead(lead) => lead.holds(),
        }
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
    pub fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.conn.logged_at(digest)
    }

    /// Which of `digests` are recorded, and for which entries: one question for a batch.
    pub fn logged_among(
        &mut self,
        digests: &[[u8; 32]],
    ) -> Result<std::collections::HashMap<[u8; 32], u64>, StoreError> {
        self.conn.logged_among(digests)
    }

    /// Records digests of entries already logged (index, digest), keeping the first entry's
    /// where two share one: for a log written before digests were recorded.
    pub fn record_digests(&mut self, digests: &[(u64, [u8; 32])]) -> Result<(), StoreError> {
        if let Some((index, _)) = digests.iter().find(|(index, _)| *index >= self.tree.size()) {
            return Err(StoreError::NoSuchEntry {
                index: *index,
                size: self.tree.size(),
            });
        }
        let fence = self.exclusion.fence();
        let mut tx = self.conn.begin(fence)?;
        tx.record_digests(digests)?;
        tx.commit()
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
        let mut placement_error = None;
        for entry in entries {
            tree.append_leaf_hash(leaf_hash(entry.as_ref()), |node, hash| {
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
        let tiles: Vec<TileRow> = touched
            .iter()
            .map(|((level, index), tile)| (*level, *index, tile.width(), tile.to_stored()))
            .collect();
        let fence = self.exclusion.fence();
        let mut tx = self.conn.begin(fence)?;
        let slices: Vec<&[u8]> = entries.iter().map(AsRef::as_ref).collect();
        tx.insert_entries(first_index, &slices)?;
        if !digests.is_empty() {
            tx.insert_digests(first_index, digests)?;
        }
        tx.put_tiles(&tiles)?;
        project(&mut TxState { tx: &mut *tx })?;
        let root = tree.root();
        let tx = RefCell::new(tx);
        check_stored_tree(&tx, &self.checkpoint, tree.size(), &root)?;
        let mut tx = tx.into_inner();
        let checkpoint = sign_checkpoint(&self.info.origin, tree.size(), root, &self.signer)?;
        tx.insert_checkpoint(&checkpoint, Some(self.checkpoint.size))?;
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

/// The URL and node directory of a log on PostgreSQL.
fn postgres_of(database: &Database) -> Result<(&str, &Path), StoreError> {
    match database {
        Database::Postgres { url, dir } => Ok((url, dir)),
        Database::Sqlite(_) => Err(StoreError::Invalid(
            "only a log on PostgreSQL is written under a sequencer's lead".to_owned(),
        )),
    }
}

/// Reads the new tree back from what the transaction stored: its root must be the one about to
/// be signed, and it must extend the previous checkpoint. Otherwise nothing is signed.
fn check_stored_tree<R: Rows>(
    tx: &RefCell<R>,
    previous: &StoredCheckpoint,
    size: u64,
    root: &tlog::Hash,
) -> Result<(), StoreError> {
    let cache = RefCell::new(TileCache::default());
    let nodes = Nodes {
        rows: tx,
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
