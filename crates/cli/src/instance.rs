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
                "{error}\n  a server holds it: send entries there with `concordat submit --server {url} ENVELOPE`"
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

/// Submits one envelope and waits for its receipt.
pub fn submit_one(dir: &Path, source: &str, envelope: Vec<u8>) -> Result<Receipt, Failure> {
    let ledger = open_ledger(dir)?;
    let receipt = ledger.submit_and_wait(envelope);
    ledger.close()?;
    receipt.map_err(|e| submit_failure(source, e))
}

/// Where state is read from: an instance directory, or a running server.
#[derive(Debug, Args)]
pub struct Where {
    /// The instance directory.
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    pub dir: Option<PathBuf>,
    /// A running server (`concordat serve`), e.g. http://127.0.0.1:8700.
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
        Err(ureq::Error::Status(_, response)) => {
            let body: Value = response.into_json().unwrap_or_default();
            Err(anyhow!(
                "{}",
                body["error"]["message"]
                    .as_str()
                    .unwrap_or("the server refused the request")
            )
            .into())
        }
        Err(error) => Err(anyhow!("cannot reach the server at {server}: {error}").into()),
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
