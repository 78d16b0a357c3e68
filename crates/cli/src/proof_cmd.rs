//! `concordat proof verify`: check a C2SP tlog-proof offline.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use serde_json::json;
use tlog::policy::Policy;
use tlog::proof_file::{ProofFile, ProofFileError};

use crate::keys::parse_verifier;
use crate::output::{Format, Outcome, print, print_json, read_input, verification_failed};

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Check, offline, that an entry is in the log a signed checkpoint commits to.
    #[command(after_help = "Examples:
  concordat proof verify --key 'log.example.gov/ai+1a2b3c4d+AZ...' --entry entry.txt entry.tlog-proof
  concordat log prove --dir ./ledger --index 7 | concordat proof verify --key log.vkey --entry entry.txt -

  concordat proof verify --witness-policy coalition.policy --entry entry.txt entry.tlog-proof
  concordat proof verify --coalition coalition.toml --entry evidence.json evidence.tlog-proof

Succeeds when the proof's checkpoint is signed by one of the keys and the entry's RFC 6962 leaf
hash is at the proof's index in the tree that checkpoint commits to. With --witness-policy (a
C2SP tlog-policy file: `log`, `witness`, `group` and `quorum` lines), the checkpoint must also be
signed by a log the policy lists and cosigned by witnesses that meet its quorum. With
--coalition (a TOML file: `[[member]]` tables of `name`, `log` (its verifier key) and
`witness_policy` (a tlog-policy file)), the checkpoint must be signed by a member's log and meet
that member's witness policy: evidence another instance logged, checked where it is mirrored.")]
    Verify {
        /// The log's verifier key (text or a file holding it); repeat for witness keys. Not
        /// needed with --witness-policy, whose logs are accepted.
        #[arg(long = "key", required_unless_present_any = ["witness_policy", "coalition"])]
        keys: Vec<String>,
        /// A C2SP tlog-policy file: the logs accepted and the witnesses' quorum the
        /// checkpoint must meet.
        #[arg(long, conflicts_with = "coalition")]
        witness_policy: Option<PathBuf>,
        /// A coalition file: the member logs accepted, each with its witness policy.
        #[arg(long)]
        coalition: Option<PathBuf>,
        /// The entry, byte for byte as it was appended.
        #[arg(long)]
        entry: PathBuf,
        /// The tlog-proof file (`-` for standard input).
        proof: PathBuf,
    },
}

/// The witness policy the proof's checkpoint must meet: the one given, or the one of the
/// coalition member whose log signed it (with that member's name).
fn policy_for(
    witness_policy: Option<&std::path::Path>,
    coalition: Option<&std::path::Path>,
    file: &ProofFile,
    proof_name: &str,
) -> Result<(Option<Policy>, Option<String>), crate::output::Failure> {
    if let Some(path) = coalition {
        let coalition = service::federation::Coalition::load(path)?;
        let member = coalition
            .member_of(&file.checkpoint)
            .map_err(|e| verification_failed(anyhow!("{proof_name}: {e}")))?;
        return Ok((Some(member.policy.clone()), Some(member.name.clone())));
    }
    let policy = witness_policy
        .map(|path| {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            Policy::parse(&text).with_context(|| format!("`{}`", path.display()))
        })
        .transpose()?;
    Ok((policy, None))
}

pub fn run(command: ProofCommand, format: Format) -> Outcome {
    let ProofCommand::Verify {
        keys,
        witness_policy,
        coalition,
        entry,
        proof,
    } = command;
    let mut keys = keys
        .iter()
        .map(|k| parse_verifier(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let entry_bytes =
        std::fs::read(&entry).with_context(|| format!("cannot read `{}`", entry.display()))?;
    let proof_bytes = read_input(Some(&proof))?;
    let proof_name = format!("`{}`", proof.display());
    let text = String::from_utf8(proof_bytes)
        .map_err(|_| anyhow!("{proof_name}: a proof file is UTF-8 text"))?;
    let file = ProofFile::parse(&text).with_context(|| proof_name.clone())?;
    let (policy, member) = policy_for(
        witness_policy.as_deref(),
        coalition.as_deref(),
        &file,
        &proof_name,
    )?;
    if let Some(policy) = &policy {
        keys.extend(policy.logs().iter().cloned());
    }
    let cosigned_by = match policy.map(|p| p.verify(file.checkpoint.as_bytes())) {
        None => None,
        Some(Ok(accepted)) => Some(accepted.cosigned_by),
        Some(Err(unmet)) => {
            let reason = format!("the checkpoint does not meet the witness policy: {unmet}");
            if format == Format::Json {
                print_json(&json!({ "verified": false, "reason": reason }))?;
            }
            return Err(verification_failed(anyhow!("{proof_name}: {reason}")));
        }
    };
    let proven = match file.verify(&entry_bytes, &keys) {
        Ok(proven) => proven,
        Err(error @ ProofFileError::Malformed { .. }) => {
            return Err(anyhow!("{proof_name}: {error}").into());
        }
        Err(error) => {
            if format == Format::Json {
                print_json(&json!({ "verified": false, "reason": error.to_string() }))?;
            }
            return Err(verification_failed(anyhow!("{proof_name}: {error}")));
        }
    };
    let signers: Vec<String> = proven
        .verified_by
        .iter()
        .map(|v| format!("{} ({:08x})", v.name, v.key_id))
        .collect();
    match format {
        Format::Text => print(&format!(
            "verified: `{}` is entry {} of {}{} (tree size {}, root {}), checkpoint signed by {}{}\n",
            entry.display(),
            proven.index,
            proven.checkpoint.origin,
            member
                .as_deref()
                .map(|m| format!(", the log of coalition member `{m}`"))
                .unwrap_or_default(),
            proven.checkpoint.size,
            proven.checkpoint.root.to_base64(),
            signers.join(", "),
            match &cosigned_by {
                None => String::new(),
                Some(names) if names.is_empty() =>
                    "; the witness policy needs no cosignature".to_owned(),
                Some(names) => format!(
                    "; cosigned by {} as the witness policy requires",
                    names.join(", ")
                ),
            }
        )),
        Format::Json => print_json(&json!({
            "verified": true,
            "index": proven.index,
            "origin": proven.checkpoint.origin,
            "size": proven.checkpoint.size,
            "root": proven.checkpoint.root.to_base64(),
            "signed_by": signers,
            "witness_policy_met_by": cosigned_by,
            "coalition_member": member,
        })),
    }
}
