//! OpenSSF model-signing bundles signed with a key: a Sigstore bundle
//! (`application/vnd.dev.sigstore.bundle.v0.3+json`) whose `dsseEnvelope` carries an in-toto
//! Statement of predicate type `https://model_signing/signature/v1.0`. The statement's subject
//! is the model's root digest — SHA-256 over the digests of its files in path order — and its
//! predicate lists every file (`resources`) and how the model was serialised.
//!
//! [`verify`] checks the signature with the signer's public key, checks the manifest is
//! consistent with its root digest, then hashes the model directory and reports every file that
//! changed, was added or is missing.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use attest::{Envelope, PublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{EvidenceError, hex};

pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// A verified model: its root digest and files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedModel {
    /// The model's name as the signer recorded it.
    pub name: String,
    /// Lowercase hex SHA-256 root digest.
    pub root_digest: String,
    /// File path (relative, `/`-separated) → lowercase hex SHA-256.
    pub files: BTreeMap<String, String>,
}

/// A difference between the signed manifest and the files on disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", content = "path", rename_all = "lowercase")]
pub enum FileProblem {
    Changed(String),
    Added(String),
    Missing(String),
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblem::Changed(path) => write!(f, "{path}: changed since it was signed"),
            FileProblem::Added(path) => write!(f, "{path}: added; the signature does not cover it"),
            FileProblem::Missing(path) => write!(f, "{path}: signed, but missing"),
        }
    }
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Read(#[from] EvidenceError),
    #[error("`{bundle}`: the signature does not verify with the given key: {reason}")]
    Signature { bundle: PathBuf, reason: String },
    #[error("`{bundle}`: {message}")]
    Bundle { bundle: PathBuf, message: String },
    #[error("the model in `{}` does not match its signature:\n{}", model.display(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Files {
        model: PathBuf,
        problems: Vec<FileProblem>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: Option<String>,
    #[serde(default)]
    verification_material: VerificationMaterial,
    dsse_envelope: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    public_key: Option<PublicKeyHint>,
}

#[derive(Deserialize)]
struct PublicKeyHint {
    hint: Option<String>,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Deserialize)]
struct Subject {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Predicate {
    serialization: Serialization,
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Serialization {
    method: String,
    hash_type: String,
    #[serde(default)]
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Vec<String>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    algorithm: String,
    digest: String,
}

/// Verifies `bundle` with `key` against the model directory `model`.
pub fn verify(bundle: &Path, key: &PublicKey, model: &Path) -> Result<VerifiedModel, SigningError> {
    let signed = verify_signature(bundle, key)?;
    let on_disk = hash_directory(model, &signed.ignore, signed.allow_symlinks, Some(bundle))?;
    let mut problems = Vec::new();
    for (path, digest) in &signed.model.files {
        match on_disk.get(path) {
            None => problems.push(FileProblem::Missing(path.clone())),
            Some(actual) if actual != digest => problems.push(FileProblem::Changed(path.clone())),
            Some(_) => {}
        }
    }
    for path in on_disk.keys() {
        if !signed.model.files.contains_key(path) {
            problems.push(FileProblem::Added(path.clone()));
        }
    }
    if !problems.is_empty() {
        return Err(SigningError::Files {
            model: model.to_owned(),
            problems,
        });
    }
    Ok(signed.model)
}

struct Signed {
    model: VerifiedModel,
    ignore: Vec<String>,
    allow_symlinks: bool,
}

/// Checks the bundle's signature and manifest, without looking at the model's files.
// tidy: long function: the bundle's verification steps in the order the format defines them.
fn verify_signature(path: &Path, key: &PublicKey) -> Result<Signed, SigningError> {
    let fail = |message: String| SigningError::Bundle {
        bundle: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| EvidenceError::io(path, e))?;
    let bundle: Bundle = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!(
            "not a Sigstore bundle: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if !bundle
        .media_type
        .as_deref()
        .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle"))
    {
        return Err(fail(
            "field `mediaType` is not a Sigstore bundle media type".to_owned(),
        ));
    }
    if let Some(hint) = bundle.verification_material.public_key.and_then(|k| k.hint) {
        // The signer's hint is the SHA-256 of its PEM public key.
        let ours = hex(&Sha256::digest(key.to_pem().as_bytes()));
        if !hint.is_empty() && hint != ours {
            return Err(SigningError::Signature {
                bundle: path.to_owned(),
                reason: format!("the bundle names key {hint}, not this key ({ours})"),
            });
        }
    }
    let envelope_json = bundle.dsse_envelope.ok_or_else(|| {
        fail("field `dsseEnvelope` is missing (only DSSE bundles are supported)".to_owned())
    })?;
    let envelope = Envelope::parse(envelope_json.to_string().as_bytes())
        .map_err(|e| fail(format!("field `dsseEnvelope`: {e}")))?;
    let verified =
        envelope
            .verify_with(|_| (vec![key], true))
            .map_err(|e| SigningError::Signature {
                bundle: path.to_owned(),
                reason: e.to_string(),
            })?;
    if verified.is_empty() {
        return Err(SigningError::Signature {
            bundle: path.to_owned(),
            reason: "the envelope carries no signature".to_owned(),
        });
    }
    let statement: Statement = serde_json::from_slice(&envelope.payload)
        .map_err(|e| fail(format!("the signed statement: {e}")))?;
    if statement.kind != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(fail(format!(
            "the signed statement is `{}` of `{}`, not a model-signing statement",
            statement.kind, statement.predicate_type
        )));
    }
    let serialization = &statement.predicate.serialization;
    if serialization.method != "files" || serialization.hash_type != "sha256" {
        return Err(fail(format!(
            "serialisation `{}` with `{}` is not supported (only `files` with `sha256`)",
            serialization.method, serialization.hash_type
        )));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(fail(
            "the signed statement must have one subject".to_owned(),
        ));
    };
    let root = subject
        .digest
        .get("sha256")
        .ok_or_else(|| fail("the subject has no `sha256` digest".to_owned()))?;
    let mut hasher = Sha256::new();
    let mut files = BTreeMap::new();
    for (index, resource) in statement.predicate.resources.iter().enumerate() {
        let digest = decode_hex(&resource.digest)
            .filter(|d| d.len() == 32 && resource.algorithm == "sha256");
        let Some(digest) = digest else {
            return Err(fail(format!(
                "field `predicate.resources[{index}]` is not a SHA-256 digest"
            )));
        };
        hasher.update(&digest);
        files.insert(resource.name.clone(), resource.digest.to_ascii_lowercase());
    }
    let computed = hex(&hasher.finalize());
    if &computed != root {
        return Err(fail(format!(
            "the manifest is inconsistent: its files hash to {computed}, but its root digest is {root}"
        )));
    }
    Ok(Signed {
        model: VerifiedModel {
            name: subject.name.clone(),
            root_digest: root.clone(),
            files,
        },
        ignore: serialization.ignore_paths.clone(),
        allow_symlinks: serialization.allow_symlinks,
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The root digest of a model directory as model-signing computes it: SHA-256 over the SHA-256
/// of each file, in path order.
pub fn root_digest(files: &BTreeMap<String, String>) -> String {
    let mut ordered: Vec<(&String, &String)> = files.iter().collect();
    ordered.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    let mut hasher = Sha256::new();
    for (_, digest) in ordered {
        hasher.update(decode_hex(digest).unwrap_or_default());
    }
    hex(&hasher.finalize())
}

/// Hashes every file under `root` (relative `/` paths → SHA-256 hex), skipping `ignore`d
/// paths (relative to `root`) and the file `skip`.
pub fn hash_directory(
    root: &Path,
    ignore: &[String],
    allow_symlinks: bool,
    skip: Option<&Path>,
) -> Result<BTreeMap<String, String>, EvidenceError> {
    let skip = skip.and_then(|p| p.canonicalize().ok());
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| EvidenceError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| EvidenceError::io(&dir, e))?;
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .map(|r| {
                    r.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            let ignored = ignore.iter().any(|i| {
                let i = i.trim_end_matches('/');
                relative == i || relative.starts_with(&format!("{i}/"))
            });
            if ignored {
                continue;
            }
            let kind = entry.file_type().map_err(|e| EvidenceError::io(&path, e))?;
            if kind.is_symlink() && !allow_symlinks {
                return Err(EvidenceError::format(
                    &path,
                    "is a symbolic link, and the signature does not allow them",
                ));
            }
            let metadata = std::fs::metadata(&path).map_err(|e| EvidenceError::io(&path, e))?;
            if metadata.is_dir() {
                stack.push(path);
            } else if metadata.is_file() {
                if skip.is_some() && path.canonicalize().ok() == skip {
                    continue;
                }
                out.insert(relative, hash_file(&path)?);
            }
        }
    }
    Ok(out)
}

fn hash_file(path: &Path) -> Result<String, EvidenceError> {
    let mut file = std::fs::File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| EvidenceError::io(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}
