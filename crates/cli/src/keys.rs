//! `concordat key`: C2SP signer and verifier keys, and reading them from arguments and files.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use serde_json::json;
use tlog::note::{KeyType, VerifierKey};

use crate::output::{Format, Outcome, print, print_json};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate an Ed25519 signer key; write it to a file readable only by you and print its
    /// verifier key.
    #[command(after_help = "Examples:
  concordat key generate --name log.example.gov/ai --out log.key
  concordat key generate --name witness.example.org/w1 --cosigner --out witness.key

The key file holds `PRIVATE+KEY+<name>+<keyid>+<base64>` (C2SP signed-note); keep it secret.
The printed verifier key `<name>+<keyid>+<base64>` is what others use to check signatures.")]
    Generate {
        /// The key name: a schema-less URL such as the log's origin (no spaces or `+`).
        #[arg(long)]
        name: String,
        /// Where to write the signer key (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Make a witness key for tlog-cosignature/v1 (signature type 0x04) instead of a
        /// note-signing key.
        #[arg(long)]
        cosigner: bool,
        /// Overwrite `--out` if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace a party's key in the ledger: the old key stops signing, the new one starts.
    #[command(after_help = "Example:
  concordat key rotate --dir ./concordat --party acme-ai --old 3f2a...e9 --new acme-2026.pem

Signed by the instance's operator key unless --signer-key names the party's own key.")]
    Rotate {
        #[command(flatten)]
        to: crate::instance::Where,
        #[arg(long)]
        party: String,
        /// The key ID of the key being replaced (see `concordat party show`).
        #[arg(long)]
        old: String,
        /// The new public key: PEM file or C2SP verifier-key text.
        #[arg(long)]
        new: String,
        /// Sign with this key instead of the instance's operator key (required with --server).
        #[arg(long)]
        signer_key: Option<PathBuf>,
    },
    /// Revoke a party's key: entries it signs from now on are rejected.
    #[command(after_help = "Example:
  concordat key revoke --dir ./concordat --party acme-ai --keyid 3f2a...e9 --reason 'laptop stolen'

What the key signed before stays valid. Signed by the operator key unless --signer-key is given.")]
    Revoke {
        #[command(flatten)]
        to: crate::instance::Where,
        #[arg(long)]
        party: String,
        #[arg(long)]
        keyid: String,
        #[arg(long)]
        reason: String,
        /// Sign with this key instead of the instance's operator key (required with --server).
        #[arg(long)]
        signer_key: Option<PathBuf>,
    },
}

pub fn run(command: KeyCommand, format: Format) -> Outcome {
    match command {
        KeyCommand::Generate {
            name,
            out,
            cosigner,
            force,
        } => generate(&name, &out, cosigner, force, format),
        KeyCommand::Rotate {
            to,
            party,
            old,
            new,
            signer_key,
        } => crate::ledger_cmd::rotate(&to, &party, &old, &new, signer_key.as_deref(), format),
        KeyCommand::Revoke {
            to,
            party,
            keyid,
            reason,
            signer_key,
        } => crate::ledger_cmd::revoke(&to, &party, &keyid, &reason, signer_key.as_deref(), format),
    }
}

fn generate(name: &str, out: &Path, cosigner: bool, force: bool, format: Format) -> Outcome {
    let key_type = if cosigner {
        KeyType::Cosignature
    } else {
        KeyType::Ed25519
    };
    let key = service::keys::new_key(name, key_type).context("--name")?;
    service::keys::write_key_file(out, &key, force)?;
    let verifier = key.verifier().to_text();
    match format {
        Format::Text => print(&format!("{verifier}\n")),
        Format::Json => print_json(&json!({
            "name": name,
            "key_id": format!("{:08x}", key.key_id()),
            "type": if cosigner { "cosignature/v1" } else { "ed25519" },
            "verifier_key": verifier,
            "signer_key_file": out,
        })),
    }
}

/// A verifier key given as its text, or as the path of a file that holds it.
pub fn parse_verifier(argument: &str) -> anyhow::Result<VerifierKey> {
    match VerifierKey::parse(argument) {
        Ok(key) => Ok(key),
        Err(text_error) => {
            let path = Path::new(argument);
            if path.is_file() {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                VerifierKey::parse(&text).with_context(|| format!("key file `{}`", path.display()))
            } else {
                Err(anyhow!(
                    "--key `{argument}`: {text_error} (and no file has that name)"
                ))
            }
        }
    }
}
