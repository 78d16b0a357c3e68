//! `verify`: recompute every hash and root from the stored entries, compare them with the
//! stored tiles and signed checkpoints, and report the first difference precisely.

use std::collections::BTreeMap;
use std::path::Path;

use tlog::checkpoint::Checkpoint;
use tlog::note::{Note, VerifierKey};
use tlog::tile::{TileHashes, TileId, encode_index, locate};
use tlog::{Hash, NodeId, TreeState, leaf_hash};

use crate::StoreError;
use crate::backend::{Database, Rows};
use crate::nodes::read_tile;
use crate::schema::read_info;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub checkpoints: u64,
    pub tiles: u64,
}

/// The first thing found wrong, said precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Problem(pub String);

/// Why verification did not succeed: the log is wrong, or it could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Progress: entries checked so far, of how many.
#[derive(Debug, Clone, Copy)]
pub struct VerifyProgress {
    pub done: u64,
    pub total: u64,
}

fn problem(message: impl Into<String>) -> VerifyFailure {
    VerifyFailure::Problem(Problem(message.into()))
}

/// A database error while reading the log is itself evidence of damage.
fn unreadable(error: StoreError) -> VerifyFailure {
    problem(format!("the log database cannot be read: {error}"))
}

/// Entries read at a time.
const PAGE: usize = 4096;

/// Verifies the log in `dir`. Checkpoints must verify with `pinned_key` when given (a key the
/// caller trusts), else with the key the log names.
pub fn verify(
    dir: &Path,
    pinned_key: Option<&VerifierKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, VerifyFailure> {
    verify_at(&Database::Sqlite(dir.to_owned()), pinned_key, progress)
}

/// Verifies the log in `database`, as [`verify`].
pub fn verify_at(
    database: &Database,
    pinned_key: Option<&VerifierKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, VerifyFailure> {
    let dir = database.dir();
    let mut conn = database.read()?;
    let info = read_info(&mut *conn, dir)?;
    if let Some(pinned) = pinned_key
        && *pinned != info.verifier_key
    {
        return Err(problem(format!(
            "the log names `{}` as its key, not the expected `{pinned}`",
            info.verifier_key
        )));
    }
    let key = pinned_key.unwrap_or(&info.verifier_key).clone();
    // One read transaction: a consistent snapshot even while a writer appends.
    conn.snapshot().map_err(unreadable)?;
    let result = Verification::new(&mut *conn, info.origin.clone(), key)
        .and_then(|verification| verification.run(progress))
        .and_then(|report| {
            // The database on its own may be a smaller, consistent log: the published copy
            // says whether it is the one the log last showed.
            let latest = conn.latest_checkpoint().map_err(VerifyFailure::Store)?;
            let cache = std::cell::RefCell::new(crate::nodes::TileCache::default());
            let rows = std::cell::RefCell::new(&mut conn);
            let nodes = crate::nodes::Nodes {
                rows: &rows,
                cache: &cache,
            };
            let root_at = |size| tlog::proof::root_at(&nodes, size);
            match crate::published::check(dir, &info.origin, &info.verifier_key, &latest, root_at) {
                Ok(()) => Ok(report),
                Err(error @ (StoreError::RolledBack { .. } | StoreError::Forked { .. })) => {
                    Err(problem(error.to_string()))
                }
                Err(error) => Err(VerifyFailure::Store(error)),
            }
        });
    let _ = conn.end_snapshot();
    result
}

struct Verification<'c> {
    rows: &'c mut dyn Rows,
    origin: String,
    key: VerifierKey,
    tree: TreeState,
    /// The stored tile each level is being compared with, by (level, index).
    stored: BTreeMap<u8, (u64, TileHashes)>,
    compared_tiles: u64,
    checkpoints: Vec<(u64, Hash, String)>,
    next_checkpoint: usize,
}

impl<'c> Verification<'c> {
    fn new(
        rows: &'c mut dyn Rows,
        origin: String,
        key: VerifierKey,
    ) -> Result<Self, VerifyFailure> {
        let stored = rows.checkpoint_rows().map_err(unreadable)?;
        let mut checkpoints = Vec::new();
        let mut previous: Option<u64> = None;
        for crate::backend::CheckpointRow {
            size,
            previous_size,
            root,
            note,
            ..
        } in stored
        {
            if previous_size != previous {
                let describe =
                    |s: Option<u64>| s.map_or("none".to_owned(), |s| format!("size {s}"));
                return Err(problem(format!(
                    "checkpoint at size {size} follows {}, but the stored checkpoint before it is {}: a checkpoint was deleted or moved",
                    describe(previous_size),
                    describe(previous)
                )));
            }
            let root = Hash::from_slice(&root)
                .map_err(|e| problem(format!("checkpoint at size {size}: stored root: {e}")))?;
            checkpoints.push((size, root, note));
            previous = Some(size);
        }
        if checkpoints.is_empty() {
            return Err(problem("the log has no signed checkpoint"));
        }
        Ok(Verification {
            rows,
            origin,
            key,
            tree: TreeState::new(),
            stored: BTreeMap::new(),
            compared_tiles: 0,
            checkpoints,
            next_checkpoint: 0,
        })
    }

    fn run(
        mut self,
        progress: &mut dyn FnMut(VerifyProgress),
    ) -> Result<VerifyReport, VerifyFailure> {
        let latest = self.checkpoints.last().map(|c| c.0).unwrap_or(0);
        self.check_checkpoints_at_current_size()?;
        loop {
            let page = self
                .rows
                .entries(self.tree.size(), None, PAGE)
                .map_err(unreadable)?;
            if page.is_empty() {
                break;
            }
            for (index, data) in page {
                let expected = self.tree.size();
                if index != expected {
                    return Err(problem(format!(
                        "entry {expected} is missing: the stored entries go from {} to {index}",
                        expected.saturating_sub(1)
                    )));
                }
                if index >= latest {
                    return Err(problem(format!(
                        "entry {index} is stored but no signed checkpoint covers it (the latest is at size {latest})"
                    )));
                }
                self.append(leaf_hash(&data))?;
                self.check_checkpoints_at_current_size()?;
                if index % 4096 == 0 {
                    progress(VerifyProgress {
                        done: index,
                        total: latest,
                    });
                }
            }
        }
        let size = self.tree.size();
        if size < latest {
            return Err(problem(format!(
                "the log has {size} entries, but a checkpoint was signed at size {latest}: entries {size}..{latest} are missing"
            )));
        }
        progress(VerifyProgress {
            done: size,
            total: latest,
        });
        self.check_tile_widths()?;
        Ok(VerifyReport {
            origin: self.origin,
            size,
            root: self.tree.root(),
            checkpoints: u64::try_from(self.checkpoints.len()).unwrap_or(u64::MAX),
            tiles: self.compared_tiles,
        })
    }

    fn append(&mut self, leaf: Hash) -> Result<(), VerifyFailure> {
        let mut completed: Vec<(NodeId, Hash)> = Vec::with_capacity(2);
        self.tree
            .append_leaf_hash(leaf, |node, hash| completed.push((node, hash)));
        for (node, hash) in completed {
            self.compare_node(node, &hash)?;
        }
        Ok(())
    }

    /// Compares a hash recomputed from the entries with the one stored for the same node, so a
    /// change is reported at the first entry it affects.
    fn compare_node(&mut self, node: NodeId, computed: &Hash) -> Result<(), VerifyFailure> {
        let location = locate(node);
        let path = format!(
            "tile/{}/{}",
            location.tile_level,
            encode_index(location.tile_index)
        );
        let current = self
            .stored
            .get(&location.tile_level)
            .map(|(index, _)| *index);
        if current != Some(location.tile_index) {
            let tile = read_tile(self.rows, location.tile_level, location.tile_index)
                .map_err(|e| problem(format!("{path}: {e}")))?
                .ok_or_else(|| problem(format!("{path} is missing from the stored tiles")))?;
            self.compared_tiles += 1;
            self.stored
                .insert(location.tile_level, (location.tile_index, tile));
        }
        let stored = self
            .stored
            .get(&location.tile_level)
            .and_then(|(_, tile)| tile.get(location.sublevel, location.position));
        if stored.as_ref() == Some(computed) {
            return Ok(());
        }
        let first = node.first_leaf();
        let what = if node.level == 0 {
            format!("entry {first}: its leaf hash")
        } else {
            let last = first + (1u64 << node.level) - 1;
            format!("the hash of entries {first}..={last}")
        };
        let stored = stored.map_or_else(|| "nothing".to_owned(), |hash| hash.to_hex());
        Err(problem(format!(
            "{what} is {computed}, but {path} stores {stored} at level {} position {}: an entry or a stored hash was changed",
            location.sublevel, location.position
        )))
    }

    fn check_checkpoints_at_current_size(&mut self) -> Result<(), VerifyFailure> {
        while let Some((size, stored_root, note)) = self.checkpoints.get(self.next_checkpoint) {
            if *size != self.tree.size() {
                return Ok(());
            }
            let size = *size;
            let context = |reason: String| problem(format!("checkpoint at size {size}: {reason}"));
            let note = Note::parse(note.as_bytes()).map_err(|e| context(e.to_string()))?;
            note.verify(std::slice::from_ref(&self.key))
                .map_err(|e| context(e.to_string()))?;
            let checkpoint = Checkpoint::parse(note.text()).map_err(|e| context(e.to_string()))?;
            if checkpoint.origin != self.origin {
                return Err(context(format!(
                    "origin `{}` is not the log's `{}`",
                    checkpoint.origin, self.origin
                )));
            }
            if checkpoint.size != size {
                return Err(context(format!(
                    "the signed note says size {}",
                    checkpoint.size
                )));
            }
            let root = self.tree.root();
            if checkpoint.root != root || *stored_root != root {
                return Err(context(format!(
                    "it commits to root {}, but the entries give {root}",
                    checkpoint.root
                )));
            }
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Every node was compared while streaming; what is left is stored tiles holding more than
    /// the entries call for, or tiles that should not exist at all.
    fn check_tile_widths(&mut self) -> Result<(), VerifyFailure> {
        let size = self.tree.size();
        for (level, index, width) in self.rows.tile_widths().map_err(unreadable)? {
            let (Ok(level), Ok(index), Ok(width)) = (
                u8::try_from(level),
                u64::try_from(index),
                u16::try_from(width),
            ) else {
                return Err(problem(format!(
                    "tile row ({level}, {index}, {width}) is out of range"
                )));
            };
            let expected = tlog::tile::width_at(level, index, size);
            if expected == 0 || width != expected {
                let path = TileId::new(level, index, width.clamp(1, 256))
                    .map(|t| t.path())
                    .unwrap_or_else(|_| format!("tile/{level}/{}", encode_index(index)));
                return Err(problem(format!(
                    "{path} is stored but a log of size {size} has {}",
                    if expected == 0 {
                        "no such tile".to_owned()
                    } else {
                        format!("{expected} hashes in it")
                    }
                )));
            }
        }
        Ok(())
    }
}
