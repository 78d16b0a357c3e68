//! Checkpoints this machine verified, one a log, so that a log shown later smaller, or grown
//! from another history, is caught: the largest checkpoint `log verify` accepted for each log
//! (its origin and key) is kept in `$CONCORDAT_STATE_DIR` (else `$XDG_STATE_HOME/concordat`,
//! else `~/.local/state/concordat`), and every later one must be consistent with it.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use tlog::Hash;
use tlog::checkpoint::Checkpoint;
use tlog::note::VerifierKey;

/// A checkpoint with its signed note, its signature checked.
#[derive(Debug, Clone)]
pub struct Seen {
    pub checkpoint: Checkpoint,
    pub note: String,
}

impl Seen {
    /// A signed checkpoint note of `origin`, checked with `key`.
    pub fn open(note: &str, origin: &str, key: &VerifierKey) -> anyhow::Result<Seen> {
        let (checkpoint, _, _) =
            Checkpoint::open(note.as_bytes(), origin, std::slice::from_ref(key))
                .map_err(|e| anyhow!("{e}"))?;
        Ok(Seen {
            checkpoint,
            note: note.to_owned(),
        })
    }
}

/// Where the state lives, if this machine has a place for it.
fn state_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var("CONCORDAT_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| var("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("concordat")))
        .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".local/state/concordat")))
}

fn file_of(origin: &str, key: &VerifierKey) -> Option<PathBuf> {
    let name = service::build::sha256_hex(format!("{origin}\n{}", key.to_text()).as_bytes());
    state_dir().map(|dir| {
        dir.join("checkpoints")
            .join(format!("{}.checkpoint", &name[..32]))
    })
}

/// The largest checkpoint of this log verified here before, if any.
pub fn remembered(origin: &str, key: &VerifierKey) -> anyhow::Result<Option<Seen>> {
    let Some(file) = file_of(origin, key) else {
        return Ok(None);
    };
    let note = match std::fs::read_to_string(&file) {
        Ok(note) => note,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", file.display())),
    };
    Seen::open(&note, origin, key)
        .map(Some)
        .with_context(|| format!("the checkpoint remembered in `{}`", file.display()))
}

/// Remembers `seen` unless a larger checkpoint of the log is remembered already. Says where,
/// or why not.
pub fn remember(origin: &str, key: &VerifierKey, seen: &Seen) -> anyhow::Result<Option<PathBuf>> {
    let Some(file) = file_of(origin, key) else {
        return Ok(None);
    };
    if remembered(origin, key)?.is_some_and(|r| r.checkpoint.size > seen.checkpoint.size) {
        return Ok(Some(file));
    }
    let parent = file.parent().unwrap_or(&file);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    let fresh = file.with_extension("new");
    std::fs::write(&fresh, &seen.note)
        .and_then(|()| std::fs::rename(&fresh, &file))
        .with_context(|| format!("cannot write `{}`", file.display()))?;
    Ok(Some(file))
}

/// Checks that `new` extends `old`: the same tree at the same size, or a consistency proof
/// (from `prove`, for the two sizes) that the tree at `old`'s size is `old`'s. Says why not.
pub fn grown(
    old: &Checkpoint,
    new: &Checkpoint,
    what: &str,
    prove: &dyn Fn(u64, u64) -> anyhow::Result<Vec<Hash>>,
) -> anyhow::Result<()> {
    if old.size > new.size {
        return Err(anyhow!(
            "the log shows a tree of {} entries, smaller than {what} (size {}): it was rolled back, or forked",
            new.size,
            old.size
        ));
    }
    if old.size == new.size {
        if old.root != new.root {
            return Err(anyhow!(
                "the log's tree of {} entries is not {what}, which the log also signed: the log forked",
                new.size
            ));
        }
        return Ok(());
    }
    let proof = prove(old.size, new.size)?;
    tlog::proof::verify_consistency(old.size, new.size, &proof, &old.root, &new.root).map_err(|e| {
        anyhow!(
            "the log's tree of {} entries does not extend {what} (size {}): {e}; the log forked",
            new.size,
            old.size
        )
    })
}
