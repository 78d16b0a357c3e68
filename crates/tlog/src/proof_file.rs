//! C2SP `tlog-proof` files: an entry's index, its inclusion proof and the checkpoint it is
//! proved against, verifiable offline.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <N>
//! <base64 hash>...
//!
//! <signed checkpoint>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{Checkpoint, CheckpointError, parse_decimal};
use crate::hash::{Hash, leaf_hash};
use crate::note::{Verified, VerifierKey};
use crate::proof::{PROOF_HASHES_MAX, VerifyError, verify_inclusion};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed proof file. Parsing checks syntax only; [`ProofFile::verify`] checks the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    /// Opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof file is malformed or does not prove its entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFileError {
    #[error("proof file line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("checkpoint in proof file: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("entry is not in the log at index {index} of size {size}: {source}")]
    Inclusion {
        index: u64,
        size: u64,
        source: VerifyError,
    },
}

fn malformed(line: usize, reason: impl Into<String>) -> ProofFileError {
    ProofFileError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// What a verified proof file established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenEntry {
    pub index: u64,
    pub checkpoint: Checkpoint,
    pub verified_by: Vec<Verified>,
}

impl ProofFile {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<ProofFile, ProofFileError> {
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed(1, "missing the blank line before the checkpoint"))?;
        let mut lines = head.split('\n').enumerate().map(|(n, l)| (n + 1, l));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(malformed(1, format!("the first line must be `{HEADER}`"))),
        }
        let mut extra = None;
        let mut next = lines.next();
        if let Some((number, line)) = next
            && let Some(encoded) = line.strip_prefix("extra ")
        {
            extra = Some(
                STANDARD
                    .decode(encoded)
                    .map_err(|_| malformed(number, "extra data is not valid base64"))?,
            );
            next = lines.next();
        }
        let (number, line) = next.ok_or_else(|| malformed(2, "missing the `index` line"))?;
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| {
                malformed(
                    number,
                    format!("expected `index <N>` with a decimal N, got `{line}`"),
                )
            })?;
        let mut hashes = Vec::new();
        for (number, line) in lines {
            if hashes.len() == PROOF_HASHES_MAX {
                return Err(malformed(
                    number,
                    format!("more than {PROOF_HASHES_MAX} proof hashes"),
                ));
            }
            hashes.push(
                Hash::from_base64(line)
                    .map_err(|e| malformed(number, format!("proof hash: {e}")))?,
            );
        }
        Ok(ProofFile {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies that the checkpoint is signed by one of `keys` and that `entry` is at `index` in
    /// the tree it commits to. Returns the checkpoint and the keys that verified it.
    pub fn verify(
        &self,
        entry: &[u8],
        keys: &[VerifierKey],
    ) -> Result<ProvenEntry, ProofFileError> {
        let note =
            crate::note::Note::parse(self.checkpoint.as_bytes()).map_err(CheckpointError::from)?;
        let verified_by = note.verify(keys).map_err(CheckpointError::from)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size,
            &self.hashes,
            &checkpoint.root,
        )
        .map_err(|source| ProofFileError::Inclusion {
            index: self.index,
            size: checkpoint.size,
            source,
        })?;
        Ok(ProvenEntry {
            index: self.index,
            checkpoint,
            verified_by,
        })
    }
}
