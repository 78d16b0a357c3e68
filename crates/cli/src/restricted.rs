//! Restricted reads and deposits, as a party: the credential (a bearer token, or the party's
//! key, which signs each request — RFC 9421) and a check of what comes back against what the
//! ledger publishes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use domain::contract::{self, Sealed};
use serde_json::json;
use service::Credential;

use crate::instance::read_signer;
use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

/// How a party proves who it is to a server: `--key` or `--token-file`.
#[derive(Debug, clap::Args)]
pub struct CredentialArgs {
    /// Sign each request with this key of the party (an RFC 9421 HTTP message signature).
    #[arg(long, conflicts_with = "token_file")]
    pub key: Option<PathBuf>,
    /// A file holding a bearer token of the party, from `concordat token issue`
    /// (CONCORDAT_TOKEN also works).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

impl CredentialArgs {
    pub fn credential(&self) -> Result<Credential, Failure> {
        credential_from(self.key.as_deref(), self.token_file.as_deref())
    }

    /// The credential for `place`: a server needs one; a directory's holder needs none, but
    /// one given is checked.
    fn for_place(&self, place: &crate::instance::Where) -> Result<Option<Credential>, Failure> {
        if place.server.is_none() && self.key.is_none() && self.token_file.is_none() {
            return Ok(None);
        }
        self.credential().map(Some)
    }
}

/// A restricted read of one entry's data, written to a file. Through a server, or in the
/// instance directory, where the operator key records the read.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub at: crate::instance::Where,
    /// The entry's index.
    #[arg(long)]
    pub entry: u64,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// Where to write what is read (mode 0600; must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}

/// `--key`, else `--token-file`, else `CONCORDAT_TOKEN`.
fn credential_from(key: Option<&Path>, token_file: Option<&Path>) -> Result<Credential, Failure> {
    if let Some(path) = key {
        return Ok(Credential::Key(Box::new(read_signer(path)?)));
    }
    if let Some(path) = token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let token = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| anyhow!("`{}` holds no token", path.display()))?;
        return Ok(Credential::Token(token.to_owned()));
    }
    match std::env::var("CONCORDAT_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(Credential::Token(token.trim().to_owned())),
        _ => Err(anyhow!("give --key or --token-file (or set CONCORDAT_TOKEN)").into()),
    }
}

/// A restricted answer: what the server refused says why (401/403/422 are exit 1).
fn refused(error: service::ServiceError) -> Failure {
    let status = error.status();
    if error.is_verification() {
        verification_failed(anyhow!("refused ({status}): {error}"))
    } else {
        Failure::Input(error.into())
    }
}

/// Checks a sealed half the instance sent against `commitment` (from the public record, read
/// first), and writes it to `out` (mode 0600) in the form `addendum verify` opens.
fn keep_revealed(sealed: &Sealed, commitment: &str, out: &Path) -> Outcome {
    contract::open_commitment(commitment, sealed).map_err(|e| {
        verification_failed(anyhow!(
            "the text the server sent does not open the public commitment {commitment}: {e}"
        ))
    })?;
    crate::output::write_sealed(out, commitment, sealed)?;
    Ok(())
}

/// `addendum fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub at: crate::instance::Where,
    #[arg(long)]
    pub contract: String,
    /// The addendum's id.
    #[arg(long)]
    pub addendum: String,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// Where to write the sealed half (mode 0600; must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn fetch_addendum(args: FetchArgs, format: Format) -> Outcome {
    let credential = args.credential.credential()?;
    let instance = args.at.open()?;
    let record = instance.contract(&args.contract)?;
    let public = record
        .addenda
        .iter()
        .find(|a| a.id == args.addendum)
        .ok_or_else(|| {
            anyhow!(
                "contract `{}` has no addendum `{}`",
                args.contract,
                args.addendum
            )
        })?;
    let answer = instance
        .read_addendum(&credential, &args.contract, &args.addendum)
        .map_err(refused)?;
    instance.close()?;
    keep_revealed(&answer.sealed(), &public.commitment, &args.out)?;
    match format {
        Format::Json => print_json(&json!({
            "contract": args.contract, "addendum": args.addendum, "commitment": public.commitment,
            "out": args.out, "read_recorded_at": answer.read_recorded_at,
        })),
        Format::Text => print(&format!(
            "wrote `{}`: addendum `{}` of `{}` ({}), which opens its public commitment {}\nthe read is recorded in the ledger at entry {}\n",
            args.out.display(),
            args.addendum,
            args.contract,
            public.classification,
            public.commitment,
            answer.read_recorded_at,
        )),
    }
}

/// `evidence reveal`.
pub fn reveal_result(args: ReadArgs, format: Format) -> Outcome {
    let credential = args.credential.credential()?;
    let instance = args.at.open()?;
    let entry = instance.entry(args.entry)?;
    let predicate = &entry.statement.predicate;
    let commitment = match (entry.kind.as_deref(), predicate["sealedResult"].as_str()) {
        (Some("evidence-recorded"), Some(commitment)) => commitment.to_owned(),
        (Some("evidence-recorded"), None) => {
            return Err(anyhow!(
                "evidence entry {} has no sealed result: its metrics are public",
                args.entry
            )
            .into());
        }
        _ => return Err(anyhow!("entry {} is not evidence", args.entry).into()),
    };
    let answer = instance
        .read_result(&credential, args.entry)
        .map_err(refused)?;
    instance.close()?;
    keep_revealed(&answer.sealed(), &commitment, &args.out)?;
    match format {
        Format::Json => print_json(&json!({
            "entry": args.entry, "commitment": commitment, "metrics": answer.metrics,
            "out": args.out, "read_recorded_at": answer.read_recorded_at,
        })),
        Format::Text => {
            let metrics: Vec<String> = answer
                .metrics
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            print(&format!(
                "wrote `{}`: the sealed result of evidence entry {} ({} on {}: {}), which opens its public commitment {}\nthe read is recorded in the ledger at entry {}\n",
                args.out.display(),
                args.entry,
                answer.suite,
                answer.model,
                metrics.join(", "),
                commitment,
                answer.read_recorded_at,
            ))
        }
    }
}

/// Where a deposit goes, with which credential, and the file deposited.
#[derive(Debug, clap::Args)]
pub struct DepositArgs {
    #[command(flatten)]
    pub to: crate::instance::Where,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// The sealed half (from `addendum seal` or `evidence import --seal`).
    pub sealed: PathBuf,
}

fn read_sealed(path: &Path) -> Result<Sealed, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(toml::from_str(&text).map_err(|e| anyhow!("`{}`: {e}", path.display()))?)
}

/// Says what a deposit did.
fn deposited(reply: &service::wire::DepositReply) -> &'static str {
    if reply.already_stored {
        "was already deposited"
    } else {
        "deposited"
    }
}

/// `addendum deposit`: a sealed addendum's text, for the parties cleared for it.
pub fn deposit_addendum(
    args: DepositArgs,
    contract: &str,
    cleared: &[String],
    format: Format,
) -> Outcome {
    let sealed = read_sealed(&args.sealed)?;
    let instance = args.to.open()?;
    let record = instance.contract(contract)?;
    let public = record
        .addenda
        .iter()
        .find(|a| a.id == sealed.id)
        .ok_or_else(|| anyhow!("contract `{contract}` has no addendum `{}`", sealed.id))?;
    contract::open_commitment(&public.commitment, &sealed)
        .map_err(|e| verification_failed(anyhow!("`{}`: {e}", args.sealed.display())))?;
    if let Some(outsider) = cleared.iter().find(|p| !record.parties.contains(p)) {
        return Err(anyhow!("--cleared `{outsider}` is not a party of `{contract}`").into());
    }
    let mut table = toml::Table::new();
    table.insert("id".into(), sealed.id.clone().into());
    table.insert("salt".into(), sealed.salt.clone().into());
    table.insert("text".into(), sealed.text.clone().into());
    if !cleared.is_empty() {
        table.insert(
            "cleared".into(),
            toml::Value::Array(cleared.iter().map(|p| p.clone().into()).collect()),
        );
    }
    let body = toml::to_string(&table)?;
    let credential = args.credential.for_place(&args.to)?;
    let reply = instance
        .deposit_addendum(credential.as_ref(), contract, &sealed.id, body.as_bytes())
        .map_err(refused)?;
    instance.close()?;
    let done = deposited(&reply);
    let readers = if cleared.is_empty() {
        record.parties.join(", ")
    } else {
        cleared.join(", ")
    };
    match format {
        Format::Json => print_json(&json!({
            "contract": contract, "addendum": sealed.id, "status": done, "cleared": readers,
        })),
        Format::Text => print(&format!(
            "addendum `{}` of `{contract}` {done}: it opens its public commitment; readable by {readers}, each read logged\n",
            sealed.id
        )),
    }
}

/// `evidence deposit`: a sealed evaluation result, for the auditors in scope.
pub fn deposit_result(args: DepositArgs, entry: u64, format: Format) -> Outcome {
    let sealed = read_sealed(&args.sealed)?;
    let instance = args.to.open()?;
    let commitment = instance
        .evidence(None)?
        .into_iter()
        .find(|e| e.entry == entry)
        .and_then(|e| e.sealed_result)
        .ok_or_else(|| anyhow!("entry {entry} is not evidence with a sealed result"))?;
    contract::open_commitment(&commitment, &sealed)
        .map_err(|e| verification_failed(anyhow!("`{}`: {e}", args.sealed.display())))?;
    let body = std::fs::read(&args.sealed)
        .with_context(|| format!("cannot read `{}`", args.sealed.display()))?;
    let credential = args.credential.for_place(&args.to)?;
    let reply = instance
        .deposit_result(credential.as_ref(), entry, &body)
        .map_err(refused)?;
    instance.close()?;
    let done = deposited(&reply);
    match format {
        Format::Json => print_json(&json!({"entry": entry, "status": done})),
        Format::Text => print(&format!(
            "the sealed result of evidence entry {entry} {done}: it opens the entry's commitment; readable by its lab and auditors in scope, each read logged\n"
        )),
    }
}
