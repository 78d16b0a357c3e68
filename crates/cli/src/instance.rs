//! A Concordat instance directory: its ledger, its keys, and submitting entries to it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use ledger::{Ledger, Receipt, SubmitError};
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
