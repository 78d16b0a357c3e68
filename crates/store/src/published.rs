//! A copy of the latest checkpoint beside the database (`checkpoint.published`), written and
//! synced after each commit. The database alone cannot tell that it was restored from an older
//! copy or lost its last commits (a truncated WAL): it is a consistent, smaller log. The copy
//! can: a writer refuses to open a database older than the checkpoint the log last published,
//! or one whose tree at that size has another root (a fork), and `verify` says so.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tlog::checkpoint::Checkpoint;

use crate::nodes::{SqlNodes, TileCache};
use crate::schema::LogInfo;
use crate::{StoreError, StoredCheckpoint};

/// The copy's file name, in the log directory.
pub const PUBLISHED_FILE: &str = "checkpoint.published";

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(PUBLISHED_FILE)
}

/// Puts `checkpoint`'s note in place of the copy: written beside it, synced, renamed over it.
/// After a crash the copy is this one or the one before, never a mix.
pub(crate) fn write(dir: &Path, checkpoint: &StoredCheckpoint) -> std::io::Result<()> {
    use std::io::Write as _;
    let fresh = dir.join(format!("{PUBLISHED_FILE}.new"));
    let mut file = std::fs::File::create(&fresh)?;
    file.write_all(checkpoint.note.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&fresh, path(dir))
}

/// The published checkpoint, if the log has a copy: its size and root, its signature checked
/// with the log's key.
pub(crate) fn read(info: &LogInfo) -> Result<Option<Checkpoint>, StoreError> {
    let file = path(&info.dir);
    let note = match std::fs::read(&file) {
        Ok(note) => note,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::io(
                format!("cannot read `{}`", file.display()),
                e,
            ));
        }
    };
    let (checkpoint, _, _) = Checkpoint::open(
        &note,
        &info.origin,
        std::slice::from_ref(&info.verifier_key),
    )
    .map_err(|e| {
        StoreError::Corrupt(format!(
            "`{}` is not a checkpoint this log signed: {e}",
            file.display()
        ))
    })?;
    Ok(Some(checkpoint))
}

/// Checks the database against the published copy: it holds at least as many entries, and the
/// same tree up to the copy's size.
pub(crate) fn check(
    conn: &Connection,
    info: &LogInfo,
    latest: &StoredCheckpoint,
) -> Result<(), StoreError> {
    let Some(published) = read(info)? else {
        return Ok(());
    };
    let file = path(&info.dir).display().to_string();
    if published.size > latest.size {
        return Err(StoreError::RolledBack {
            published: published.size,
            stored: latest.size,
            file,
        });
    }
    let cache = RefCell::new(TileCache::default());
    let nodes = SqlNodes {
        conn,
        cache: &cache,
    };
    let root = tlog::proof::root_at(&nodes, published.size)?;
    if root != published.root {
        return Err(StoreError::Forked {
            size: published.size,
            file,
        });
    }
    Ok(())
}
