//! Sealed addenda: the public package carries `sha256:hex(SHA-256(salt ‖ text))`; cleared
//! parties hold the text and the 32-byte salt, and anyone shown both can check them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The private half of a sealed addendum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    pub id: String,
    /// The salt, 64 lowercase hex digits.
    pub salt: String,
    pub text: String,
}

/// The commitment to `text` under `salt`.
pub fn commitment(salt: &[u8; 32], text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(text.as_bytes());
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{digest}")
}

/// Seals `text` under `salt` (32 random bytes the caller draws): the private half to keep, and
/// the public commitment.
pub fn seal(id: impl Into<String>, text: impl Into<String>, salt: &[u8; 32]) -> (Sealed, String) {
    let text = text.into();
    let commitment = commitment(salt, &text);
    let sealed = Sealed {
        id: id.into(),
        salt: salt.iter().map(|b| format!("{b:02x}")).collect(),
        text,
    };
    (sealed, commitment)
}

/// Why a sealed half does not open a commitment. Neither variant carries the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the salt must be 64 hex digits (32 bytes)")]
    BadSalt,
    #[error("the text and salt of addendum `{id}` do not match the commitment")]
    Mismatch { id: String },
}

/// Whether `sealed` opens `commitment`. Comparison is of public values only.
pub fn open_commitment(commitment_text: &str, sealed: &Sealed) -> Result<(), SealError> {
    let salt = decode_salt(&sealed.salt)?;
    if commitment(&salt, &sealed.text) == commitment_text.trim() {
        Ok(())
    } else {
        Err(SealError::Mismatch {
            id: sealed.id.clone(),
        })
    }
}

fn decode_salt(hex: &str) -> Result<[u8; 32], SealError> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect();
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or(SealError::BadSalt)
}
