//! Public keys that verify DSSE signatures: Ed25519 or ECDSA P-256, read from C2SP
//! verifier-key text (Ed25519) or a PEM `PUBLIC KEY` (either), each with a key ID.

use std::fmt;

use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest, Sha256};
use tlog::note::{KeyType, VerifierKey};

/// Why a key cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM public key or C2SP verifier key: {0}")]
    Unrecognised(String),
    #[error("PEM public key: {0}")]
    Pem(String),
    #[error("C2SP key `{0}` is a cosigner key; a party signs with an Ed25519 note key")]
    CosignerKey(String),
}

/// A public key of a party.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (Ed25519 or P-256) or C2SP verifier-key text (Ed25519).
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(text) {
                return Ok(PublicKey::Ed25519(key));
            }
            return p256::ecdsa::VerifyingKey::from_public_key_pem(text)
                .map(PublicKey::EcdsaP256)
                .map_err(|e| {
                    KeyError::Pem(format!("neither an Ed25519 nor a P-256 public key ({e})"))
                });
        }
        let c2sp = VerifierKey::parse(text).map_err(|e| KeyError::Unrecognised(e.to_string()))?;
        if c2sp.key_type() != KeyType::Ed25519 {
            return Err(KeyError::CosignerKey(text.to_owned()));
        }
        ed25519_dalek::VerifyingKey::from_bytes(&c2sp.public_key())
            .map(PublicKey::Ed25519)
            .map_err(|e| KeyError::Unrecognised(e.to_string()))
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn spki_der(&self) -> Vec<u8> {
        let der = match self {
            PublicKey::Ed25519(key) => key.to_public_key_der(),
            PublicKey::EcdsaP256(key) => p256::pkcs8::EncodePublicKey::to_public_key_der(key),
        };
        der.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// The key ID Concordat writes in DSSE signatures: lowercase hex SHA-256 of the SPKI DER.
    pub fn keyid(&self) -> String {
        Sha256::digest(self.spki_der())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The PEM `PUBLIC KEY` form.
    pub fn to_pem(&self) -> String {
        let pem = match self {
            PublicKey::Ed25519(key) => key.to_public_key_pem(Default::default()),
            PublicKey::EcdsaP256(key) => {
                p256::pkcs8::EncodePublicKey::to_public_key_pem(key, Default::default())
            }
        };
        pem.unwrap_or_default()
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::EcdsaP256(_) => "ecdsa-p256-sha256",
        }
    }

    /// Verifies `signature` over `message`: 64 bytes for Ed25519; DER (or fixed 64-byte r‖s)
    /// ECDSA over SHA-256 for P-256.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            PublicKey::EcdsaP256(key) => {
                let parsed = p256::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(signature));
                parsed.is_ok_and(|sig| key.verify(message, &sig).is_ok())
            }
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.algorithm(), self.keyid())
    }
}

/// Checks many signatures at once: `(key, message, signature)`. Ed25519 signatures are checked
/// together with batch verification (about twice as fast a signature); others one by one.
/// Returns `true` only if every signature verifies. A batch that fails says nothing about which
/// signature was wrong: check those one by one to find out.
pub fn verify_all(items: &[(&PublicKey, &[u8], &[u8])]) -> bool {
    let mut messages = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        match key {
            PublicKey::Ed25519(ed25519) => {
                let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                messages.push(*message);
                signatures.push(signature);
                keys.push(*ed25519);
            }
            PublicKey::EcdsaP256(_) => {
                if !key.verify(message, signature) {
                    return false;
                }
            }
        }
    }
    messages.is_empty() || ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}
