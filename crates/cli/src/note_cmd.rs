//! `concordat note`: sign and verify C2SP signed notes (and cosign checkpoints as a witness).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use serde_json::json;
use tlog::checkpoint::Checkpoint;
use tlog::cosignature::cosign;
use tlog::note::{KeyType, Note, NoteError};

use crate::instance::read_signer;

use crate::keys::parse_verifier;
use crate::output::{Format, Outcome, print, print_json, read_input, verification_failed};

#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Sign a note; a note that is already signed gets one more signature.
    #[command(after_help = "Examples:
  printf 'hello\\n' | concordat note sign --key alice.key
  concordat note sign --key bob.key signed-by-alice.note
  concordat log checkpoint --dir ./ledger | concordat note sign --key witness.key

The text must end with a newline. With a cosigner key (`key generate --cosigner`), the note
must be a checkpoint and the signature is a timestamped tlog-cosignature/v1.")]
    Sign {
        /// The signer key file.
        #[arg(long)]
        key: PathBuf,
        /// The note text or signed note (standard input when absent or `-`).
        note: Option<PathBuf>,
    },
    /// Verify a signed note against one or more verifier keys and print its text.
    #[command(after_help = "Examples:
  concordat note verify --key 'PeterNeumann+c74f20a3+ARpc...' message.note
  concordat note verify --key log.vkey --key witness.vkey checkpoint.note

Signatures by keys not given are ignored; the note is rejected if a given key's signature fails
or none of the given keys signed it.")]
    Verify {
        /// A verifier key (`name+keyid+base64`) or a file holding one; repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// The signed note (standard input when absent or `-`).
        note: Option<PathBuf>,
    },
}

pub fn run(command: NoteCommand, format: Format) -> Outcome {
    match command {
        NoteCommand::Sign { key, note } => sign(&key, note.as_deref(), format),
        NoteCommand::Verify { keys, note } => verify(&keys, note.as_deref(), format),
    }
}

fn input_name(path: Option<&std::path::Path>) -> String {
    path.map_or_else(
        || "standard input".to_owned(),
        |p| format!("`{}`", p.display()),
    )
}

fn sign(key_path: &std::path::Path, path: Option<&std::path::Path>, format: Format) -> Outcome {
    let key = read_signer(key_path)?;
    let bytes = read_input(path)?;
    let name = input_name(path);
    // A signed note gets another signature; anything else is the text to sign.
    let (text, mut existing) = match Note::parse(&bytes) {
        Ok(note) => (note.text().to_owned(), Some(note)),
        Err(_) => (
            String::from_utf8(bytes).map_err(|_| anyhow!("{name}: a note must be UTF-8"))?,
            None,
        ),
    };
    let signature = match key.key_type() {
        KeyType::Ed25519 => key.sign(&text).with_context(|| name.clone())?,
        KeyType::Cosignature => {
            Checkpoint::parse(&text)
                .with_context(|| format!("{name}: a cosigner key signs checkpoints only"))?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            cosign(&key, &text, now).with_context(|| name.clone())?
        }
    };
    let note = match existing.as_mut() {
        Some(note) => {
            note.add_signature(signature)
                .with_context(|| name.clone())?;
            note.clone()
        }
        None => Note::new(&text, vec![signature]).with_context(|| name.clone())?,
    };
    match format {
        Format::Text => print(&note.to_text()),
        Format::Json => print_json(&json!({ "note": note.to_text() })),
    }
}

fn verify(keys: &[String], path: Option<&std::path::Path>, format: Format) -> Outcome {
    let keys = keys
        .iter()
        .map(|k| parse_verifier(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bytes = read_input(path)?;
    let name = input_name(path);
    let note = Note::parse(&bytes).with_context(|| name.clone())?;
    let verified = match note.verify(&keys) {
        Ok(verified) => verified,
        Err(error @ (NoteError::BadSignature { .. } | NoteError::NoKnownSignature { .. })) => {
            if format == Format::Json {
                print_json(&json!({ "verified": false, "reason": error.to_string() }))?;
            }
            return Err(verification_failed(anyhow!("{name}: {error}")));
        }
        Err(error) => return Err(anyhow!("{name}: {error}").into()),
    };
    match format {
        Format::Text => {
            for signer in &verified {
                eprintln!(
                    "verified: signed by {} ({:08x})",
                    signer.name, signer.key_id
                );
            }
            print(note.text())
        }
        Format::Json => print_json(&json!({
            "verified": true,
            "text": note.text(),
            "signatures": verified.iter().map(|v| json!({
                "name": v.name,
                "key_id": format!("{:08x}", v.key_id),
                "type": match v.key_type { KeyType::Ed25519 => "ed25519", KeyType::Cosignature => "cosignature/v1" },
                "timestamp": v.timestamp,
            })).collect::<Vec<_>>(),
        })),
    }
}
