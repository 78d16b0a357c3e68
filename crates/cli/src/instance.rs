//! A Concordat instance directory: its ledger, its keys, and submitting entries to it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Args;
use ledger::{Ledger, Receipt, SubmitError};
use serde_json::Value;
use store::{GroupCommit, Reader};
use tlog::note::SignerKey;

use crate::keys::read_signer;
use crate::output::{Failure, verification_failed};

/// Where `concordat init` keeps an instance's keys.
pub const KEYS_DIR: &str = "keys";
pub const LOG_KEY_FILE: &str = "log.key";
pub const OPERATOR_KEY_FILE: &str = "operator.key";

pub fn operator_key_path(dir: &Path) -> PathBuf {
    dir.join(KEYS_DIR).join(OPERATOR_KEY_FILE)
}

/// The key that signs on the operator's behalf: `--signer-key`, or the instance's operator key.
pub fn signer_or_operator(dir: &Path, signer: Option<&Path>) -> anyhow::Result<SignerKey> {
    match signer {
        Some(path) => read_signer(path),
        None => read_signer(&operator_key_path(dir)).with_context(|| {
            format!(
                "no --signer-key given and no operator key in `{}`",
                dir.join(KEYS_DIR).display()
            )
        }),
    }
}

/// Opens the ledger in `dir` for writing with the log key it recorded.
pub fn open_ledger(dir: &Path) -> Result<Ledger, Failure> {
    let reader = Reader::open(dir)?;
    let key_path = reader.info().signer_key_path.clone().ok_or_else(|| {
        anyhow!(
            "the ledger in `{}` does not record its log key",
            dir.display()
        )
    })?;
    let log_key = read_signer(&key_path)?;
    Ledger::open(dir, log_key, GroupCommit::default()).map_err(|error| {
        match crate::serve_cmd::serving_url(dir) {
            Some(url) => Failure::Input(anyhow!(
                "{error}\n  a server holds it: run the command with `--server {url}` instead of `--dir` (envelopes: `concordat submit --server {url} ENVELOPE`)"
            )),
            None => Failure::Input(error.into()),
        }
    })
}

/// Turns a submission error into an exit status: failed checks are 1, bad input 2.
pub fn submit_failure(source: &str, error: SubmitError) -> Failure {
    match error {
        SubmitError::Rejected(_) | SubmitError::Unverified(_) => {
            verification_failed(anyhow!("{source}: {error}"))
        }
        SubmitError::Invalid(_) | SubmitError::Failed(_) => {
            Failure::Input(anyhow!("{source}: {error}"))
        }
    }
}

/// An entry the ledger accepted: its index and its tlog-proof against the checkpoint that
/// includes it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub index: u64,
    pub checkpoint_size: u64,
    pub proof: String,
}

impl From<&Receipt> for Accepted {
    fn from(receipt: &Receipt) -> Self {
        Accepted {
            index: receipt.index,
            checkpoint_size: receipt.checkpoint.size,
            proof: receipt.proof_file().to_text(),
        }
    }
}

/// What a server answered to one submitted envelope.
pub enum Posted {
    Accepted(Accepted),
    /// Refused, with the HTTP status and the server's reason.
    Refused(u16, String),
}

/// POSTs one envelope to a server's `/api/entries`.
pub fn post_entry(agent: &ureq::Agent, server: &str, envelope: &[u8]) -> Result<Posted, Failure> {
    let endpoint = format!("{}/api/entries", server.trim_end_matches('/'));
    match agent
        .post(&endpoint)
        .set("Content-Type", "application/json")
        .send_bytes(envelope)
    {
        Ok(response) => {
            let body: Value = response
                .into_json()
                .context("the server's answer is not JSON")?;
            let (Some(index), Some(checkpoint_size), Some(proof)) = (
                body["index"].as_u64(),
                body["checkpoint_size"].as_u64(),
                body["proof"].as_str(),
            ) else {
                return Err(anyhow!(
                    "the server's answer lacks the index, checkpoint size or proof"
                )
                .into());
            };
            Ok(Posted::Accepted(Accepted {
                index,
                checkpoint_size,
                proof: proof.to_owned(),
            }))
        }
        Err(ureq::Error::Status(status, response)) => Ok(Posted::Refused(
            status,
            refusal_reason(response, "no reason given"),
        )),
        Err(error) => Err(unreachable(server, &error).into()),
    }
}

/// The reason a server gave for refusing a request (its `{"error": {"message"}}`), or
/// `otherwise` when it gave none.
pub fn refusal_reason(response: ureq::Response, otherwise: &str) -> String {
    let body: Value = response.into_json().unwrap_or_default();
    body["error"]["message"]
        .as_str()
        .unwrap_or(otherwise)
        .to_owned()
}

/// Says why a server could not be reached, with a hint when its certificate is not trusted.
pub fn unreachable(server: &str, error: &ureq::Error) -> anyhow::Error {
    let text = error.to_string();
    let hint = if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
        "\n  the server's certificate is not trusted: add its CA to the system's certificate store, or point SSL_CERT_FILE at a PEM file of it"
    } else {
        ""
    };
    anyhow!("cannot reach the server at {server}: {text}{hint}")
}

/// An HTTP client for one command's requests to a server.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(60))
        .build()
}

/// Submits one envelope, to the instance directory or its server, and waits for its index.
/// A refusal is a verification failure (exit 1) when the entry broke a rule or a signature
/// did not verify, and bad input (exit 2) otherwise.
pub fn submit_to(place: &Where, source: &str, envelope: Vec<u8>) -> Result<Accepted, Failure> {
    if let Some(server) = &place.server {
        return match post_entry(&agent(), server, &envelope)? {
            Posted::Accepted(accepted) => Ok(accepted),
            Posted::Refused(422, message) => {
                Err(verification_failed(anyhow!("{source}: {message}")))
            }
            Posted::Refused(_, message) => Err(Failure::Input(anyhow!("{source}: {message}"))),
        };
    }
    let ledger = open_ledger(place.dir()?)?;
    let receipt = ledger.submit_and_wait(envelope);
    ledger.close()?;
    receipt
        .map(|receipt| Accepted::from(&receipt))
        .map_err(|e| submit_failure(source, e))
}

/// The key that signs operator entries (parties, keys): `--signer-key`, or the operator key
/// of the instance directory. A server's operator key stays on the server's machine.
pub fn operator_signer(place: &Where, signer: Option<&Path>) -> anyhow::Result<SignerKey> {
    match (&place.dir, signer) {
        (_, Some(path)) => read_signer(path),
        (Some(dir), None) => signer_or_operator(dir, None),
        (None, None) => Err(anyhow!(
            "with --server, give --signer-key: the operator key stays in the instance directory"
        )),
    }
}

/// An instance: its directory, written and read directly, or a running server that holds it.
#[derive(Debug, Args)]
pub struct Where {
    /// The instance directory.
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    pub dir: Option<PathBuf>,
    /// A running server (`concordat serve`) instead, e.g. http://127.0.0.1:8700.
    #[arg(long)]
    pub server: Option<String>,
}

impl Where {
    pub fn dir(&self) -> Result<&Path, Failure> {
        self.dir
            .as_deref()
            .ok_or_else(|| anyhow!("give --dir or --server").into())
    }
}

/// GETs `path` from a server; its refusals become errors with the server's reason.
fn get(server: &str, path: &str) -> Result<(String, ureq::Response), Failure> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    match ureq::get(&url).call() {
        Ok(response) => Ok((url, response)),
        Err(ureq::Error::Status(_, response)) => Err(anyhow!(
            "{}",
            refusal_reason(response, "the server refused the request")
        )
        .into()),
        Err(error) => Err(unreachable(server, &error).into()),
    }
}

/// GETs `path` from a server's API as JSON.
pub fn fetch(server: &str, path: &str) -> Result<Value, Failure> {
    let (url, response) = get(server, path)?;
    Ok(response
        .into_json()
        .with_context(|| format!("{url}: the answer is not JSON"))?)
}

/// GETs `path` from a server as text (a tlog-proof).
pub fn fetch_text(server: &str, path: &str) -> Result<String, Failure> {
    let (url, response) = get(server, path)?;
    Ok(response
        .into_string()
        .with_context(|| format!("{url}: the answer is not text"))?)
}

/// Percent-encodes a query value.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
