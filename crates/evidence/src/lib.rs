//! Evidence from the tools labs already use, read as they write it.
//!
//! - [`inspect`]: Inspect AI eval logs, `.json` or `.eval` archives (through their
//!   `header.json`, without reading the samples).
//! - [`lm_eval`]: lm-evaluation-harness `results*.json`.
//! - [`model_signing`]: OpenSSF model-signing bundles signed with a key (a DSSE envelope inside
//!   a Sigstore bundle): the signature is verified and the model's digest recomputed from its
//!   files.
//!
//! Reading an artifact yields an [`EvalSummary`]: the facts a Concordat evidence statement
//! carries. Nothing here decides whether evidence is good enough; that is the gate's work.

pub mod inspect;
pub mod lm_eval;
pub mod model_signing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What an evaluation log says about a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalSummary {
    /// The harness: `inspect-ai` or `lm-evaluation-harness`.
    pub harness: String,
    pub harness_version: Option<String>,
    /// The task (Inspect) or tasks (lm-eval, joined with `,`).
    pub task: String,
    /// The model as the harness names it, e.g. `mockllm/model`.
    pub model: String,
    pub dataset: Option<String>,
    /// Samples scored.
    pub samples: u64,
    /// Metric name → value.
    pub metrics: BTreeMap<String, f64>,
    /// The run's status (`success`, `error`, `cancelled`, ...).
    pub status: String,
    /// When the run finished (RFC 3339).
    pub evaluated_at: String,
}

/// Why an artifact cannot be read. Every message names the file and, where there is one, the
/// field.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}`: {message}")]
    Format { path: PathBuf, message: String },
}

impl EvidenceError {
    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        EvidenceError::Format {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EvidenceError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// The lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unix seconds (possibly fractional) as RFC 3339, UTC, whole seconds.
pub(crate) fn unix_to_rfc3339(seconds: f64) -> Option<String> {
    if !seconds.is_finite() {
        return None;
    }
    jiff::Timestamp::from_second(seconds.trunc() as i64)
        .ok()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// An RFC 3339 time normalised to UTC, whole seconds.
pub(crate) fn normalise_time(text: &str) -> Option<String> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}
