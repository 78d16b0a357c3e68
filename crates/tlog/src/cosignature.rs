//! C2SP `tlog-cosignature` v1 with Ed25519 (signature type 0x04).
//!
//! A cosignature's bytes are `key ID ‖ u64 big-endian timestamp ‖ 64-byte signature`; the
//! signature covers `cosignature/v1\ntime <timestamp>\n` followed by the whole checkpoint text.
//! Verification goes through [`crate::note::Note::verify`] with a type-0x04 verifier key.

use crate::note::{KeyType, NoteError, NoteSignature, SignerKey, check_text};

/// Timestamps above this are invalid (the spec caps them at 2^63 - 1).
pub const TIMESTAMP_MAX: u64 = (1 << 63) - 1;

/// The message a cosigner signs for a checkpoint text at a timestamp (defined with the notes
/// that verify it).
pub use crate::note::cosignature_message as signed_message;

/// Why a cosignature cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    #[error("key `{0}` is not a cosigner key (type 0x04)")]
    NotCosignerKey(String),
    #[error("timestamp {0} is beyond 2^63 - 1")]
    Timestamp(u64),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// Cosigns a checkpoint text at `timestamp` (seconds since the epoch).
pub fn cosign(
    key: &SignerKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignError> {
    if key.key_type() != KeyType::Cosignature {
        return Err(CosignError::NotCosignerKey(key.name().to_owned()));
    }
    if timestamp > TIMESTAMP_MAX {
        return Err(CosignError::Timestamp(timestamp));
    }
    check_text(checkpoint_text)?;
    let signature = key.sign_bytes(signed_message(checkpoint_text, timestamp).as_bytes());
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature);
    Ok(NoteSignature {
        name: key.name().to_owned(),
        key_id: key.key_id(),
        signature: bytes,
    })
}
