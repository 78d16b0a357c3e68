//! C2SP `tlog-checkpoint`: the note text a log signs to commit to its tree.
//!
//! ```text
//! <origin>
//! <size, decimal>
//! <root hash, base64>
//! [extension lines]
//! ```

use crate::hash::Hash;
use crate::note::{Note, NoteError, Verified, VerifierKey};

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional extension lines, each non-empty, without their newline.
    pub extensions: Vec<String>,
}

/// Why a text is not a checkpoint, or a signed checkpoint does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("checkpoint origin is `{got}`, expected `{expected}`")]
    WrongOrigin { got: String, expected: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

fn malformed(line: usize, reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// Checks that `origin` can be a checkpoint's first line.
pub fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(malformed(1, "the origin line must not be empty"));
    }
    if origin.chars().any(|c| u32::from(c) < 0x20) {
        return Err(malformed(
            1,
            "the origin line must not contain control characters",
        ));
    }
    Ok(())
}

impl Checkpoint {
    pub fn new(origin: &str, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text of the checkpoint, with its final newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint body (a note's text).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed(1, "a checkpoint ends with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        check_origin(origin)?;
        let size_text = lines
            .next()
            .ok_or_else(|| malformed(2, "missing the tree size line"))?;
        let size = parse_decimal(size_text).ok_or_else(|| {
            malformed(
                2,
                format!("tree size `{size_text}` is not a decimal without leading zeroes"),
            )
        })?;
        let root_text = lines
            .next()
            .ok_or_else(|| malformed(3, "missing the root hash line"))?;
        let root =
            Hash::from_base64(root_text).map_err(|e| malformed(3, format!("root hash: {e}")))?;
        let mut extensions = Vec::new();
        for (offset, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(malformed(4 + offset, "extension lines must not be empty"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Parses a signed checkpoint note, verifies it with the log's key and checks its origin.
    /// Cosignatures by other keys in `keys` are verified too.
    pub fn open(
        note_text: &[u8],
        origin: &str,
        keys: &[VerifierKey],
    ) -> Result<(Checkpoint, Note, Vec<Verified>), CheckpointError> {
        let note = Note::parse(note_text)?;
        let verified = note.verify(keys)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin {
                got: checkpoint.origin,
                expected: origin.to_owned(),
            });
        }
        Ok((checkpoint, note, verified))
    }
}

/// A decimal with no leading zeroes, as checkpoints and proof files write numbers.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || (text.len() > 1 && text.starts_with('0'))
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}
