//! C2SP `tlog-witness` v1, the witness's side of `add-checkpoint`, as pure functions: the
//! request body parsed ([`AddCheckpoint::parse`]), a request judged against what the witness
//! last cosigned for the log ([`judge`]) with the status code and body the spec gives each
//! refusal ([`Refusal`]), and the response body of cosignature lines ([`cosignatures`]).
//!
//! The caller keeps the state: it must judge and record the new size atomically per log
//! (otherwise two requests can roll the log back), and it keeps a [`Refusal::SplitView`]'s
//! request, which the log signed, as proof that the log showed two histories.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{Checkpoint, parse_decimal};
use crate::cosignature::{CosignError, cosign};
use crate::hash::{Hash, empty_root};
use crate::note::{Note, SignerKey, VerifierKey};
use crate::proof::verify_consistency;

/// At most this many consistency proof lines (the spec's bound).
pub const PROOF_LINES_MAX: usize = 63;

/// The content type of a 409 answer's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An `add-checkpoint` request: the size the client believes the witness holds, a
/// consistency proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
}

/// What the witness holds for one log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    pub root: Hash,
}

/// Why a request is not cosigned, as the spec answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not an `add-checkpoint` request.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: the witness knows no log of this origin.
    #[error("no log `{0}` is known to this witness")]
    UnknownOrigin(String),
    /// 403: no signature by a key the witness trusts for the origin verifies (or the
    /// checkpoint cannot be read).
    #[error("not signed by the log: {0}")]
    NotSigned(String),
    /// 400: the old size is above the checkpoint's size.
    #[error("old size {old} is above the checkpoint's size {size}")]
    OldAboveSize { old: u64, size: u64 },
    /// 409: the old size is not the size the witness last cosigned (the body says which).
    #[error("old size {old} is not the size last cosigned, {cosigned}")]
    Conflict { old: u64, cosigned: u64 },
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof from {old} to {size} does not verify: {reason}")]
    Inconsistent { old: u64, size: u64, reason: String },
    /// 409: a checkpoint of the size last cosigned with another root — the log signed two
    /// different trees of one size.
    #[error("the log signed size {size} with another root than the one cosigned")]
    SplitView { size: u64 },
}

impl Refusal {
    /// The HTTP status the spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldAboveSize { .. } => 400,
            Refusal::NotSigned(_) => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Conflict { .. } | Refusal::SplitView { .. } => 409,
            Refusal::Inconsistent { .. } => 422,
        }
    }

    /// The body and its content type, where the spec gives one: a 409 for a stale old size
    /// carries the size last cosigned.
    pub fn body(&self) -> Option<(&'static str, String)> {
        match self {
            Refusal::Conflict { cosigned, .. } => {
                Some((SIZE_CONTENT_TYPE, format!("{cosigned}\n")))
            }
            _ => None,
        }
    }

    /// Whether the request, signed by the log, shows the log misbehaving: a proof that does
    /// not verify, or two roots for one size. The witness keeps such requests.
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            Refusal::Inconsistent { .. } | Refusal::SplitView { .. }
        )
    }
}

impl AddCheckpoint {
    /// Parses a request body: `old N`, zero to 63 base64 hashes, an empty line, the signed
    /// checkpoint; every line ending in a newline.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        let malformed = |reason: String| Refusal::Malformed(reason);
        let mut rest = body;
        let mut next_line = |what: &str| -> Result<&[u8], Refusal> {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| malformed(format!("{what}: the line does not end in a newline")))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok(line)
        };
        let old_line = std::str::from_utf8(next_line("the old size line")?)
            .map_err(|_| malformed("the old size line is not UTF-8".to_owned()))?;
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| {
                malformed(format!(
                    "the first line must be `old` and a decimal size without leading zeroes, not `{old_line}`"
                ))
            })?;
        let mut proof = Vec::new();
        loop {
            let line = next_line("the consistency proof")?;
            if line.is_empty() {
                break;
            }
            if proof.len() == PROOF_LINES_MAX {
                return Err(malformed(format!(
                    "more than {PROOF_LINES_MAX} consistency proof lines"
                )));
            }
            let bytes = STANDARD
                .decode(line)
                .map_err(|_| malformed(format!("proof line {} is not base64", proof.len() + 1)))?;
            let hash = Hash::from_slice(&bytes)
                .map_err(|e| malformed(format!("proof line {}: {e}", proof.len() + 1)))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body this parses from.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size).into_bytes();
        for hash in &self.proof {
            body.extend_from_slice(hash.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&self.checkpoint);
        body
    }
}

/// Judges `request` as the spec orders the checks. `keys` gives the keys trusted for an
/// origin (`None` for an unknown log); `cosigned` is what the witness last cosigned for it.
/// Returns the checkpoint and its note to cosign.
pub fn judge<'k>(
    request: &AddCheckpoint,
    keys: impl FnOnce(&str) -> Option<&'k [VerifierKey]>,
    cosigned: Option<&Cosigned>,
) -> Result<(Checkpoint, Note), Refusal> {
    let note = Note::parse(&request.checkpoint)
        .map_err(|e| Refusal::NotSigned(format!("the checkpoint is not a signed note: {e}")))?;
    let origin = note.text().lines().next().unwrap_or_default().to_owned();
    let trusted = keys(&origin).ok_or_else(|| Refusal::UnknownOrigin(origin.clone()))?;
    note.verify(trusted)
        .map_err(|e| Refusal::NotSigned(e.to_string()))?;
    let checkpoint = Checkpoint::parse(note.text())
        .map_err(|e| Refusal::NotSigned(format!("the note is not a checkpoint: {e}")))?;
    let (old, size) = (request.old_size, checkpoint.size);
    if old > size {
        return Err(Refusal::OldAboveSize { old, size });
    }
    let held = cosigned.map_or(0, |c| c.size);
    if old != held {
        return Err(Refusal::Conflict {
            old,
            cosigned: held,
        });
    }
    let inconsistent = |reason: String| Refusal::Inconsistent { old, size, reason };
    if size == 0 && checkpoint.root != empty_root() {
        return Err(inconsistent(
            "a tree of size 0 has the empty root".to_owned(),
        ));
    }
    match cosigned {
        Some(held) if old == size => {
            if held.root != checkpoint.root {
                return Err(Refusal::SplitView { size });
            }
            if !request.proof.is_empty() {
                return Err(inconsistent(
                    "the proof between equal sizes is empty".to_owned(),
                ));
            }
        }
        Some(held) if old > 0 => {
            verify_consistency(old, size, &request.proof, &held.root, &checkpoint.root)
                .map_err(|e| inconsistent(e.to_string()))?;
        }
        _ => {
            if !request.proof.is_empty() {
                return Err(inconsistent("the proof from size 0 is empty".to_owned()));
            }
        }
    }
    Ok((checkpoint, note))
}

/// The 200 response body: a cosignature line by each of `keys` over the checkpoint text, at
/// `timestamp` (seconds since the epoch).
pub fn cosignatures(
    keys: &[SignerKey],
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<String, CosignError> {
    let mut body = String::new();
    for key in keys {
        body.push_str(&cosign(key, checkpoint_text, timestamp)?.to_line());
    }
    Ok(body)
}

/// Whether two checkpoint notes prove that a log showed two histories: both signed by one of
/// `log_keys`, of one origin and one size, with different roots. Returns that size. Anyone can
/// check this offline; a proof that merely failed to verify proves nothing by itself.
pub fn split_view(first: &[u8], second: &[u8], log_keys: &[VerifierKey]) -> Option<u64> {
    let open = |bytes: &[u8]| -> Option<Checkpoint> {
        let note = Note::parse(bytes).ok()?;
        note.verify(log_keys).ok()?;
        Checkpoint::parse(note.text()).ok()
    };
    let (a, b) = (open(first)?, open(second)?);
    (a.origin == b.origin && a.size == b.size && a.root != b.root).then_some(a.size)
}
