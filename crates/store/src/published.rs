//! A copy of the latest checkpoint beside the database (`checkpoint.published`), written and
//! synced after each commit. The database alone cannot tell that it was restored from an older
//! copy or lost its last commits (a truncated WAL): it is a consistent, smaller log. The copy
//! can: a writer refuses to open a database older than the checkpoint the log last published,
//! or one whose tree at that size has another root (a fork), and `verify` says so.

use std::path::{Path, PathBuf};

use tlog::checkpoint::Checkpoint;
use tlog::note::VerifierKey;

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
pub(crate) fn read(
    dir: &Path,
    origin: &str,
    key: &VerifierKey,
) -> Result<Option<Checkpoint>, StoreError> {
    let file = path(dir);
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
    let (checkpoint, _, _) =
        Checkpoint::open(&note, origin, std::slice::from_ref(key)).map_err(|e| {
            StoreError::Corrupt(format!(
                "`{}` is not a checkpoint this log signed: {e}",
                file.display()
            ))
        })?;
    Ok(Some(checkpoint))
}

/// Checks the database against the published copy: it holds at least as many entries
/// (`latest` is its newest checkpoint), and the same tree up to the copy's size (`root_at`
/// gives the database's root at a size).
pub(crate) fn check(
    dir: &Path,
    origin: &str,
    key: &VerifierKey,
    latest: &StoredCheckpoint,
    root_at: impl FnOnce(u64) -> Result<tlog::Hash, StoreError>,
) -> Result<(), StoreError> {
    let Some(published) = read(dir, origin, key)? else {
        return Ok(());
    };
    let file = path(dir).display().to_string();
    if published.size > latest.size {
        return Err(StoreError::RolledBack {
            published: published.size,
            stored: latest.size,
            file,
        });
    }
    if root_at(published.size)? != published.root {
        return Err(StoreError::Forked {
            size: published.size,
            file,
        });
    }
    Ok(())
}
