//! The read side: checkpoints, entries, proofs, tiles and entry bundles from stored hashes, on a
//! connection of its own (readers never block the writer).

use std::cell::RefCell;
use std::path::Path;

use tlog::Hash;
use tlog::proof::{ProveError, consistency_proof, inclusion_proof, root_at};
use tlog::proof_file::ProofFile;
use tlog::tile::{TileId, encode_bundle, width_at};

use crate::backend::{Conn, Database, Rows};
use crate::nodes::{Nodes, TileCache, read_tile};
use crate::schema::{LogInfo, read_info};
use crate::{StoreError, StoredCheckpoint};

/// A reader of one log. Cheap to open; keep one per thread.
pub struct Reader {
    conn: RefCell<Box<dyn Conn>>,
    info: LogInfo,
    cache: RefCell<TileCache>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("origin", &self.info.origin)
            .finish_non_exhaustive()
    }
}

/// Entries a reader fetches at a time when it goes through many.
const ENTRY_PAGE: usize = 4096;

fn prove_error(error: ProveError<StoreError>) -> StoreError {
    match error {
        ProveError::Source(e) => e,
        other => StoreError::Invalid(other.to_string()),
    }
}

impl Reader {
    pub fn open(dir: &Path) -> Result<Reader, StoreError> {
        Reader::open_with_cache(dir, crate::CACHED_TILES_DEFAULT)
    }

    /// Opens a reader that keeps up to `cached_tiles` tiles (16 KiB each at most) in memory.
    pub fn open_with_cache(dir: &Path, cached_tiles: usize) -> Result<Reader, StoreError> {
        Reader::open_at(&Database::Sqlite(dir.to_owned()), cached_tiles)
    }

    /// Opens a reader of the log in `database`, keeping up to `cached_tiles` tiles in memory.
    pub fn open_at(database: &Database, cached_tiles: usize) -> Result<Reader, StoreError> {
        let mut conn = database.read()?;
        let info = read_info(&mut *conn, database.dir())?;
        Ok(Reader {
            conn: RefCell::new(conn),
            info,
            cache: RefCell::new(TileCache::with_capacity(cached_tiles)),
        })
    }

    fn rows(&self) -> std::cell::RefMut<'_, Box<dyn Conn>> {
        self.conn.borrow_mut()
    }

    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    fn nodes(&self) -> Nodes<'_, Box<dyn Conn>> {
        Nodes {
            rows: &self.conn,
            cache: &self.cache,
        }
    }

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        self.rows().latest_checkpoint()
    }

    /// The checkpoint signed at exactly `size`, or an error naming the signed sizes around it.
    pub fn checkpoint_at(&self, size: u64) -> Result<StoredCheckpoint, StoreError> {
        if let Some(checkpoint) = self.rows().checkpoint_at(size)? {
            return Ok(checkpoint);
        }
        let (below, above) = self.rows().checkpoints_around(size)?;
        let nearby: Vec<String> = [below, above]
            .into_iter()
            .flatten()
            .map(|s| s.to_string())
            .collect();
        Err(StoreError::NoCheckpointAt {
            size,
            nearby: if nearby.is_empty() {
                "none".to_owned()
            } else {
                nearby.join(" and ")
            },
        })
    }

    /// The number of signed checkpoints.
    pub fn checkpoint_count(&self) -> Result<u64, StoreError> {
        self.rows().checkpoint_count()
    }

    /// The entry at `index`, if the latest checkpoint covers it.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        let size = self.latest_checkpoint()?.size;
        if index >= size {
            return Err(StoreError::NoSuchEntry { index, size });
        }
        self.rows()
            .entry(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("entry {index} is missing")))
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        let latest = self.latest_checkpoint()?.size;
        if size > latest {
            return Err(StoreError::SizeBeyondCheckpoint { size, latest });
        }
        Ok(())
    }

    /// The root of the first `size` entries, from stored hashes.
    pub fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_size(size)?;
        root_at(&self.nodes(), size)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(size)?;
        inclusion_proof(&self.nodes(), index, size).map_err(prove_error)
    }

    /// Like [`Reader::inclusion_proof`] for a size the caller knows to be checkpointed: skips
    /// the checkpoint lookup (for serving many proofs against one checkpoint).
    pub fn inclusion_proof_unchecked(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        inclusion_proof(&self.nodes(), index, size).map_err(prove_error)
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(new)?;
        consistency_proof(&self.nodes(), old, new).map_err(prove_error)
    }

    /// As [`Reader::consistency_proof`], without looking up the latest checkpoint.
    pub fn consistency_proof_unchecked(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        consistency_proof(&self.nodes(), old, new).map_err(prove_error)
    }

    /// A C2SP tlog-proof for entry `index` against the checkpoint at `size` (the latest when
    /// `None`).
    pub fn proof_file(&self, index: u64, size: Option<u64>) -> Result<ProofFile, StoreError> {
        let checkpoint = match size {
            Some(size) => self.checkpoint_at(size)?,
            None => self.latest_checkpoint()?,
        };
        if index >= checkpoint.size {
            return Err(StoreError::NoSuchEntry {
                index,
                size: checkpoint.size,
            });
        }
        Ok(ProofFile {
            extra: None,
            index,
            hashes: self.inclusion_proof_unchecked(index, checkpoint.size)?,
            checkpoint: checkpoint.note,
        })
    }

    /// The bytes of a tile as C2SP serves it. Partial tiles exist only at the width of a signed
    /// checkpoint's size or the current one.
    pub fn tile(&self, tile: TileId) -> Result<Vec<u8>, StoreError> {
        self.check_tile(tile)?;
        let stored = read_tile(&mut **self.rows(), tile.level, tile.index)?
            .ok_or_else(|| StoreError::Corrupt(format!("{} is missing", tile.path())))?;
        let bytes = stored.tile_bytes();
        bytes
            .get(..usize::from(tile.width) * tlog::hash::HASH_BYTES)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| StoreError::Corrupt(format!("{} is too short", tile.path())))
    }

    /// The entry bundle under level-0 tile `tile`.
    pub fn entry_bundle(&self, tile: TileId) -> Result<Vec<u8>, StoreError> {
        self.check_tile(TileId { level: 0, ..tile })?;
        let start = tile.first_node();
        let width = usize::from(tile.width);
        let rows = self
            .rows()
            .entries(start, Some(start + u64::from(tile.width)), width)?;
        let mut entries = Vec::with_capacity(width);
        for (expected, (index, data)) in (start..).zip(rows) {
            if index != expected {
                return Err(StoreError::Corrupt(format!("entry {expected} is missing")));
            }
            entries.push(data);
        }
        if entries.len() != usize::from(tile.width) {
            return Err(StoreError::Corrupt(format!(
                "{} has {} of its {} entries",
                tile.entries_path(),
                entries.len(),
                tile.width
            )));
        }
        encode_bundle(entries.iter().map(Vec::as_slice))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// A tile exists at any width up to the hashes the latest tree has in it: a partial tile of
    /// an earlier checkpoint is a prefix of the stored one, so every checkpoint's partial tiles
    /// stay available.
    fn check_tile(&self, tile: TileId) -> Result<(), StoreError> {
        let size = self.latest_checkpoint()?.size;
        let available = width_at(tile.level, tile.index, size);
        if tile.width > available {
            let detail = if available == 0 {
                String::new()
            } else {
                format!(" (it holds {available} hashes now)")
            };
            return Err(StoreError::Invalid(format!(
                "{} does not exist at log size {size}{detail}",
                tile.path()
            )));
        }
        Ok(())
    }

    /// Calls `visit` with every entry from `start` up to the latest checkpoint, in order, from
    /// one consistent snapshot. Stops at the first error `visit` returns.
    pub fn for_each_entry<E: From<StoreError>>(
        &self,
        start: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut conn = self.rows();
        conn.snapshot()?;
        let result = (|| -> Result<u64, E> {
            let size = conn.latest_checkpoint()?.size;
            let mut expected = start;
            while expected < size {
                let page = conn.entries(expected, Some(size), ENTRY_PAGE)?;
                if page.is_empty() {
                    break;
                }
                for (index, data) in page {
                    if index != expected {
                        return Err(
                            StoreError::Corrupt(format!("entry {expected} is missing")).into()
                        );
                    }
                    visit(index, &data)?;
                    expected += 1;
                }
            }
            if expected < size {
                return Err(StoreError::Corrupt(format!("entry {expected} is missing")).into());
            }
            Ok(size)
        })();
        let ended = conn.end_snapshot();
        let size = result?;
        ended?;
        Ok(size)
    }

    /// Every stored state row, as (space, key, value), ordered.
    pub fn state_rows(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        self.rows().state_rows()
    }

    /// One state row.
    pub fn state_get(&self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.rows().state_get(space, key)
    }

    /// Every recorded entry digest with its index (see `Writer::append_batch_digested`);
    /// empty for a log made before digests were recorded.
    pub fn digests(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        self.rows()
            .digests()?
            .into_iter()
            .map(|(digest, index)| {
                let digest = <[u8; 32]>::try_from(digest.as_slice()).map_err(|_| {
                    StoreError::Corrupt(format!("the digest of entry {index} is not 32 bytes"))
                })?;
                Ok((digest, index))
            })
            .collect()
    }
}
