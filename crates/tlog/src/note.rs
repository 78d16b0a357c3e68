//! C2SP `signed-note`: text signed by one or more keys, with keys in C2SP text form.
//!
//! A verifier key is `name+hexkeyid+base64(type ‖ public key)`, a signer key
//! `PRIVATE+KEY+name+hexkeyid+base64(type ‖ seed)`, and the key ID the first four bytes of
//! `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`. Type 0x01 is a plain Ed25519 note signature;
//! type 0x04 a timestamped `tlog-cosignature/v1` (see [`crate::cosignature`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Notes larger than this are refused before parsing.
pub const NOTE_BYTES_MAX: usize = 1 << 20;
/// A note may carry at most this many signatures (the spec asks verifiers to accept 16).
pub const NOTE_SIGNATURES_MAX: usize = 100;

const SIGNATURE_PREFIX: &str = "\u{2014} ";
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The signature types this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text.
    Ed25519,
    /// 0x04: Ed25519 `tlog-cosignature/v1`, timestamped, over a checkpoint.
    Cosignature,
}

impl KeyType {
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Option<KeyType> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

/// Why a key text cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("malformed key: {0}")]
    Malformed(String),
    #[error("invalid key name `{0}`: names are non-empty and have no spaces or `+`")]
    Name(String),
    #[error(
        "key ID `{written}` does not match the key: it should be `{computed}` for name `{name}`"
    )]
    KeyIdMismatch {
        name: String,
        written: String,
        computed: String,
    },
    #[error("unsupported signature type 0x{0:02x} (supported: 0x01 Ed25519, 0x04 cosignature)")]
    UnsupportedType(u8),
}

/// Why a note is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note is {0} bytes, more than the {NOTE_BYTES_MAX} allowed")]
    TooLarge(usize),
    #[error("note is not valid UTF-8")]
    NotUtf8,
    #[error("line {line}: control character U+{code:04X} is not allowed in a note")]
    ControlCharacter { line: usize, code: u32 },
    #[error("note text must end with a newline")]
    MissingFinalNewline,
    #[error("note text must not be empty")]
    Empty,
    #[error(
        "note has no signatures: the text must be followed by a blank line and signature lines"
    )]
    Unsigned,
    #[error("line {line}: malformed signature line: {reason}")]
    MalformedSignature { line: usize, reason: String },
    #[error("note has {0} signatures, more than the {NOTE_SIGNATURES_MAX} allowed")]
    TooManySignatures(usize),
    #[error("signature by `{name}` (key ID {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    #[error(
        "no signature by a known key: the note is signed by {signed_by}; known keys are {known}"
    )]
    NoKnownSignature { signed_by: String, known: String },
    #[error("key `{0}` is a cosigner key; cosignatures are made with `cosignature::cosign`")]
    WrongKeyType(String),
}

fn key_id(name: &str, key_type: KeyType, public: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', key_type.byte()]);
    hasher.update(public);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::Name(name.to_owned()));
    }
    Ok(())
}

/// Splits `name+hexid+base64` and decodes the typed key material.
fn parse_key_parts(text: &str) -> Result<(String, u32, KeyType, Vec<u8>), KeyError> {
    // Base64 may contain `+`, names and IDs may not: the key material is everything after the
    // second `+`.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::Malformed(
            "expected `name+keyid+base64key`".to_owned(),
        ));
    };
    check_name(name)?;
    if id_hex.len() != 8 {
        return Err(KeyError::Malformed(format!(
            "key ID `{id_hex}` is not 8 hex digits"
        )));
    }
    let written_id = u32::from_str_radix(id_hex, 16)
        .map_err(|_| KeyError::Malformed(format!("key ID `{id_hex}` is not 8 hex digits")))?;
    let bytes = STANDARD
        .decode(material)
        .map_err(|_| KeyError::Malformed("key material is not valid base64".to_owned()))?;
    let Some((&type_byte, key)) = bytes.split_first() else {
        return Err(KeyError::Malformed("key material is empty".to_owned()));
    };
    let key_type = KeyType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
    Ok((name.to_owned(), written_id, key_type, key.to_vec()))
}

fn check_key_id(name: &str, written: u32, computed: u32) -> Result<(), KeyError> {
    if written != computed {
        return Err(KeyError::KeyIdMismatch {
            name: name.to_owned(),
            written: format!("{written:08x}"),
            computed: format!("{computed:08x}"),
        });
    }
    Ok(())
}

/// A public key that verifies note signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    public: VerifyingKey,
}

impl VerifierKey {
    /// Parses C2SP verifier-key text `name+hexkeyid+base64(type ‖ public key)`.
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, written_id, key_type, key) = parse_key_parts(text.trim())?;
        let public: [u8; 32] = key.as_slice().try_into().map_err(|_| {
            KeyError::Malformed(format!(
                "an Ed25519 public key is 32 bytes, got {}",
                key.len()
            ))
        })?;
        let verifying = VerifyingKey::from_bytes(&public)
            .map_err(|_| KeyError::Malformed("not a valid Ed25519 public key".to_owned()))?;
        check_key_id(&name, written_id, key_id(&name, key_type, &public))?;
        Ok(VerifierKey {
            name,
            key_id: written_id,
            key_type,
            public: verifying,
        })
    }

    /// Builds a verifier key from a raw Ed25519 public key.
    pub fn from_public(
        name: &str,
        key_type: KeyType,
        public: [u8; 32],
    ) -> Result<VerifierKey, KeyError> {
        check_name(name)?;
        let verifying = VerifyingKey::from_bytes(&public)
            .map_err(|_| KeyError::Malformed("not a valid Ed25519 public key".to_owned()))?;
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: key_id(name, key_type, &public),
            key_type,
            public: verifying,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// The C2SP verifier-key text.
    pub fn to_text(&self) -> String {
        let mut material = vec![self.key_type.byte()];
        material.extend_from_slice(self.public.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(material)
        )
    }

    /// Checks one signature's bytes (after the key ID) over `text`. Returns the cosignature
    /// timestamp for cosigner keys.
    fn verify_signature(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, ()> {
        match self.key_type {
            KeyType::Ed25519 => {
                let signature = Signature::from_slice(signature).map_err(|_| ())?;
                self.public
                    .verify_strict(text.as_bytes(), &signature)
                    .map_err(|_| ())?;
                Ok(None)
            }
            KeyType::Cosignature => {
                let (timestamp, signature) = signature.split_at_checked(8).ok_or(())?;
                let timestamp = u64::from_be_bytes(timestamp.try_into().map_err(|_| ())?);
                let signature = Signature::from_slice(signature).map_err(|_| ())?;
                let message = cosignature_message(text, timestamp);
                self.public
                    .verify_strict(message.as_bytes(), &signature)
                    .map_err(|_| ())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({})", self.to_text())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A private key that signs notes. Its `Debug` output never shows the key material.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    signing: SigningKey,
}

impl SignerKey {
    /// A key from a 32-byte Ed25519 seed. The caller supplies the randomness: this crate does no
    /// IO.
    pub fn from_seed(name: &str, key_type: KeyType, seed: [u8; 32]) -> Result<SignerKey, KeyError> {
        check_name(name)?;
        let signing = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, key_type, signing.verifying_key().as_bytes());
        Ok(SignerKey {
            name: name.to_owned(),
            key_id,
            key_type,
            signing,
        })
    }

    /// Parses C2SP signer-key text `PRIVATE+KEY+name+hexkeyid+base64(type ‖ seed)`.
    pub fn parse(text: &str) -> Result<SignerKey, KeyError> {
        let text = text.trim();
        let rest = text.strip_prefix(PRIVATE_KEY_PREFIX).ok_or_else(|| {
            KeyError::Malformed(format!("a signer key starts with `{PRIVATE_KEY_PREFIX}`"))
        })?;
        let (name, written_id, key_type, seed) = parse_key_parts(rest)?;
        let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| {
            KeyError::Malformed(format!("an Ed25519 seed is 32 bytes, got {}", seed.len()))
        })?;
        let key = SignerKey::from_seed(&name, key_type, seed)?;
        check_key_id(&name, written_id, key.key_id)?;
        Ok(key)
    }

    /// The C2SP signer-key text. Treat it as a secret.
    pub fn to_text(&self) -> String {
        let mut material = vec![self.key_type.byte()];
        material.extend_from_slice(self.signing.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(material)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: self.key_type,
            public: self.signing.verifying_key(),
        }
    }

    /// Signs a note text with an Ed25519 (type 0x01) key.
    pub fn sign(&self, text: &str) -> Result<NoteSignature, NoteError> {
        if self.key_type != KeyType::Ed25519 {
            return Err(NoteError::WrongKeyType(self.name.clone()));
        }
        check_text(text)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.signing.sign(text.as_bytes()).to_bytes().to_vec(),
        })
    }

    /// A bare Ed25519 signature over `message`, for formats other than notes (DSSE).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignerKey({}+{:08x}, private key hidden)",
            self.name, self.key_id
        )
    }
}

/// One signature line of a note: the signer's name, key ID and the signature bytes after the
/// key ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in a note, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

/// A signature that verified with a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub name: String,
    pub key_id: u32,
    pub key_type: KeyType,
    /// The cosignature's timestamp (seconds since the epoch), for cosigner keys.
    pub timestamp: Option<u64>,
}

/// A signed note: its text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks that `text` can be the text of a note.
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::Empty);
    }
    if text.len() > NOTE_BYTES_MAX {
        return Err(NoteError::TooLarge(text.len()));
    }
    check_characters(text, 1)?;
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

fn check_characters(text: &str, first_line: usize) -> Result<(), NoteError> {
    for (number, line) in text.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|c| u32::from(*c) < 0x20) {
            return Err(NoteError::ControlCharacter {
                line: first_line + number,
                code: u32::from(c),
            });
        }
    }
    Ok(())
}

impl Note {
    /// A note with `text` and the given signatures (at least one).
    pub fn new(text: &str, signatures: Vec<NoteSignature>) -> Result<Note, NoteError> {
        check_text(text)?;
        if signatures.is_empty() {
            return Err(NoteError::Unsigned);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Signs `text` with `key` into a new note.
    pub fn sign(text: &str, key: &SignerKey) -> Result<Note, NoteError> {
        let signature = key.sign(text)?;
        Note::new(text, vec![signature])
    }

    /// Parses a signed note. Syntax only: call [`Note::verify`] before trusting the text.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > NOTE_BYTES_MAX {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_characters(all, 1)?;
        let split = all.rfind("\n\n").ok_or(NoteError::Unsigned)?;
        let (text, rest) = all.split_at(split + 1);
        let block = rest.strip_prefix('\n').unwrap_or(rest);
        if text.is_empty() || text == "\n" {
            return Err(NoteError::Empty);
        }
        if block.is_empty() {
            return Err(NoteError::Unsigned);
        }
        let first_line = text.matches('\n').count() + 2;
        if !block.ends_with('\n') {
            return Err(NoteError::MalformedSignature {
                line: first_line + block.matches('\n').count(),
                reason: "a signature line ends with a newline".to_owned(),
            });
        }
        let lines: Vec<&str> = block.trim_end_matches('\n').split('\n').collect();
        if lines.len() > NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures(lines.len()));
        }
        let signatures = lines
            .iter()
            .enumerate()
            .map(|(offset, line)| parse_signature_line(line, first_line + offset))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing an earlier one by the same key.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        self.signatures
            .retain(|s| !(s.name == signature.name && s.key_id == signature.key_id));
        if self.signatures.len() >= NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures(self.signatures.len() + 1));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The whole note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }

    /// Verifies the note against `keys`. Signatures by unknown keys are ignored; a signature by a
    /// known key that fails rejects the note; a note no known key signed is rejected.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<Verified>, NoteError> {
        let mut verified = Vec::new();
        for signature in &self.signatures {
            let Some(key) = keys
                .iter()
                .find(|k| k.name == signature.name && k.key_id == signature.key_id)
            else {
                continue;
            };
            let timestamp = key
                .verify_signature(&self.text, &signature.signature)
                .map_err(|()| NoteError::BadSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                })?;
            if !verified
                .iter()
                .any(|v: &Verified| v.name == key.name && v.key_id == key.key_id)
            {
                verified.push(Verified {
                    name: key.name.clone(),
                    key_id: key.key_id,
                    key_type: key.key_type,
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            let describe = |pairs: Vec<String>| {
                if pairs.is_empty() {
                    "none".to_owned()
                } else {
                    pairs.join(", ")
                }
            };
            return Err(NoteError::NoKnownSignature {
                signed_by: describe(
                    self.signatures
                        .iter()
                        .map(|s| format!("`{}` ({:08x})", s.name, s.key_id))
                        .collect(),
                ),
                known: describe(
                    keys.iter()
                        .map(|k| format!("`{}` ({:08x})", k.name, k.key_id))
                        .collect(),
                ),
            });
        }
        Ok(verified)
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let malformed = |reason: &str| NoteError::MalformedSignature {
        line: number,
        reason: reason.to_owned(),
    };
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| malformed("a signature line starts with an em dash (U+2014) and a space"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| malformed("expected `— <key name> <base64 signature>`"))?;
    check_name(name).map_err(|_| malformed(&format!("invalid key name `{name}`")))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| malformed("signature is not valid base64"))?;
    let (id, signature) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("signature is shorter than its 4-byte key ID"))?;
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        signature: signature.to_vec(),
    })
}

/// The message a `tlog-cosignature/v1` cosigner signs for `checkpoint_text` at `timestamp`.
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}
