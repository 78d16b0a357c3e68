//! DSSE envelopes: `{"payloadType","payload","signatures":[{"keyid","sig"}]}`, signed over the
//! pre-authentication encoding `DSSEv1 SP len(type) SP type SP len(body) SP body`.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use tlog::note::SignerKey;

use crate::keys::PublicKey;

/// An envelope larger than this is refused (it must also fit one log entry).
pub const ENVELOPE_BYTES_MAX: usize = 65_535;
/// An envelope carries at most this many signatures.
pub const SIGNATURES_MAX: usize = 16;

/// Why an envelope is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("envelope is {0} bytes, more than the {ENVELOPE_BYTES_MAX} allowed")]
    TooLarge(usize),
    #[error("envelope is not JSON: {0}")]
    NotJson(String),
    #[error("envelope field `{field}`: {reason}")]
    Field { field: String, reason: String },
    #[error("envelope has {0} signatures, more than the {SIGNATURES_MAX} allowed")]
    TooManySignatures(usize),
    #[error("signature {index} (keyid `{keyid}`) does not verify with key {key}")]
    BadSignature {
        index: usize,
        keyid: String,
        key: String,
    },
    #[error("{got} distinct keys signed, {needed} are needed")]
    Threshold { got: usize, needed: usize },
    #[error("cannot sign: {0}")]
    Sign(String),
}

fn field(field: &str, reason: impl Into<String>) -> DsseError {
    DsseError::Field {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// One signature: the signer's key ID (a hint, never trusted) and the signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub keyid: String,
    pub sig: Vec<u8>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    /// The payload bytes exactly as decoded from the envelope.
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// The pre-authentication encoding: the exact bytes a DSSE signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Standard or URL-safe base64, padded or not, as DSSE producers differ.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<&'a str, DsseError> {
    match object.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(field(path, "must be a string")),
        None => Err(field(path, "is missing")),
    }
}

impl Envelope {
    pub fn new(payload_type: &str, payload: Vec<u8>) -> Envelope {
        Envelope {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// Parses an envelope, saying which field is wrong and why.
    pub fn parse(json: &[u8]) -> Result<Envelope, DsseError> {
        if json.len() > ENVELOPE_BYTES_MAX {
            return Err(DsseError::TooLarge(json.len()));
        }
        let value: Value =
            serde_json::from_slice(json).map_err(|e| DsseError::NotJson(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(DsseError::NotJson("expected an object".to_owned()));
        };
        let payload_type = string_field(&object, "payloadType", "payloadType")?.to_owned();
        let payload = decode_base64(string_field(&object, "payload", "payload")?)
            .ok_or_else(|| field("payload", "is not base64"))?;
        let signatures = match object.get("signatures") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(field("signatures", "must be an array")),
            None => return Err(field("signatures", "is missing")),
        };
        if signatures.len() > SIGNATURES_MAX {
            return Err(DsseError::TooManySignatures(signatures.len()));
        }
        let signatures = signatures
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("signatures[{index}]");
                let Value::Object(object) = item else {
                    return Err(field(&path, "must be an object"));
                };
                let keyid = match object.get("keyid") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(keyid)) => keyid.clone(),
                    Some(_) => return Err(field(&format!("{path}.keyid"), "must be a string")),
                };
                let sig = decode_base64(string_field(object, "sig", &format!("{path}.sig"))?)
                    .ok_or_else(|| field(&format!("{path}.sig"), "is not base64"))?;
                Ok(Signature { keyid, sig })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Envelope {
            payload_type,
            payload,
            signatures,
        })
    }

    /// The envelope as compact JSON with standard base64.
    pub fn to_json(&self) -> String {
        let signatures: Vec<Value> = self
            .signatures
            .iter()
            .map(|s| serde_json::json!({ "keyid": s.keyid, "sig": STANDARD.encode(&s.sig) }))
            .collect();
        serde_json::json!({
            "payloadType": self.payload_type,
            "payload": STANDARD.encode(&self.payload),
            "signatures": signatures,
        })
        .to_string()
    }

    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Adds an Ed25519 signature by `key`, with its key ID; replaces an earlier one by it.
    pub fn sign(&mut self, key: &SignerKey) -> Result<(), DsseError> {
        let public = ed25519_dalek::VerifyingKey::from_bytes(&key.verifier().public_key())
            .map_err(|e| DsseError::Sign(e.to_string()))?;
        let keyid = PublicKey::Ed25519(public).keyid();
        if self.signatures.len() >= SIGNATURES_MAX {
            return Err(DsseError::TooManySignatures(self.signatures.len() + 1));
        }
        let sig = key.sign_bytes(&self.pae()).to_vec();
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(Signature { keyid, sig });
        Ok(())
    }

    /// Checks every signature for which `candidates` offers keys; returns the distinct keys
    /// (by key ID) that verified.
    ///
    /// `candidates(keyid)` returns the keys to try and whether they were chosen by key ID. DSSE
    /// key IDs are hints only, so a caller may offer keys whose ID does not match: a signature
    /// none of those verifies is then ignored, as a signature by an unknown key. A signature a
    /// key chosen by its ID fails is an error: the envelope was altered or mis-signed.
    pub fn verify_with<'k>(
        &self,
        mut candidates: impl FnMut(&str) -> (Vec<&'k PublicKey>, bool),
    ) -> Result<Vec<&'k PublicKey>, DsseError> {
        let pae = self.pae();
        let mut verified: Vec<&PublicKey> = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, signature) in self.signatures.iter().enumerate() {
            let (keys, by_keyid) = candidates(&signature.keyid);
            match keys.iter().find(|key| key.verify(&pae, &signature.sig)) {
                Some(key) if seen.insert(key.keyid()) => verified.push(key),
                Some(_) => {}
                None if by_keyid => {
                    return Err(DsseError::BadSignature {
                        index,
                        keyid: signature.keyid.clone(),
                        key: keys
                            .iter()
                            .map(|k| k.keyid())
                            .collect::<Vec<_>>()
                            .join(" or "),
                    });
                }
                None => {}
            }
        }
        Ok(verified)
    }

    /// Verifies that at least `threshold` distinct keys of `keys` signed the envelope.
    pub fn verify(&self, keys: &[PublicKey], threshold: usize) -> Result<Vec<String>, DsseError> {
        let verified = self.verify_with(|keyid| {
            let matching: Vec<&PublicKey> = keys.iter().filter(|k| k.keyid() == keyid).collect();
            if matching.is_empty() {
                (keys.iter().collect(), false)
            } else {
                (matching, true)
            }
        })?;
        if verified.len() < threshold {
            return Err(DsseError::Threshold {
                got: verified.len(),
                needed: threshold,
            });
        }
        Ok(verified.iter().map(|k| k.keyid()).collect())
    }
}
