//! `usage record|list|fetch`: batches of a deployment's decisions. The counts go into the
//! ledger; the records are deposited with the instance and read only by the auditors allowed
//! to, each read recorded. Both ends decide every record again against the contract's policies.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use domain::ContractRecord;
use domain::updates::{UsageBatch, time};
use policy::usage::{self, UsageRecord};
use serde_json::json;
use service::{Credential, Draft};

use crate::instance::Where;
use crate::instance::read_signer;
use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Record a batch of a deployment's decisions: the counts go into the ledger, the records
    /// (JSON Lines, one decision a line) are deposited with the instance for auditors.
    #[command(after_help = "Examples:
  concordat usage record --dir ./concordat --key agency.key --contract defense-imagery-analysis \\
      --deployment analyst-workbench decisions.jsonl
  concordat usage record --server http://127.0.0.1:8700 --key agency.key \\
      --contract defense-imagery-analysis --deployment analyst-workbench decisions.jsonl

A line of decisions.jsonl:
  {\"at\": \"2027-03-02T10:15:00Z\", \"id\": \"req-81f2\", \"model\": \"vision-analyst@2027.1.0\",
   \"request\": {...as for `concordat policy eval`...}, \"allowed\": true, \"clauses\": [\"permit-analysis\"]}

Every decision is decided again against the contract's policies first; a batch whose recorded
answers differ is refused (exit 1), naming the lines.")]
    Record {
        #[command(flatten)]
        to: Where,
        /// The signer key of the party of the contract that ran the deployment's gateway.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
        /// The entry's time, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
        /// The records, JSON Lines.
        records: PathBuf,
    },
    /// List usage batches: per deployment and period, decisions allowed and denied, and by
    /// which clauses.
    #[command(after_help = "Examples:
  concordat usage list --dir ./concordat
  concordat usage list --server http://127.0.0.1:8700 --contract defense-imagery-analysis")]
    List {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: Option<String>,
    },
    /// Read a batch's records from the instance (a server, or its directory), as an auditor allowed to read usage records (or
    /// the party that recorded them). The read is recorded in the ledger; the records are
    /// checked against the batch's digest, written (mode 0600), and decided again.
    #[command(after_help = "Example:
  concordat usage fetch --server http://127.0.0.1:8700 --entry 31 --key auditor.key --out batch-31.jsonl
  concordat usage fetch --dir ./concordat --entry 31 --key auditor.key --out batch-31.jsonl

--token-file FILE (or CONCORDAT_TOKEN) sends a bearer token instead of signing the request.
Exit 1 when the instance refuses, the records do not match the digest, or a recorded decision
differs from what the contract's policies answer (each listed).")]
    Fetch(crate::restricted::ReadArgs),
}

pub fn run(command: UsageCommand, format: Format) -> Outcome {
    match command {
        UsageCommand::Record {
            to,
            key,
            contract,
            deployment,
            at,
            records,
        } => record(
            &to,
            &key,
            &contract,
            &deployment,
            at.as_deref(),
            &records,
            format,
        ),
        UsageCommand::List { source, contract } => list(&source, contract.as_deref(), format),
        UsageCommand::Fetch(args) => {
            let credential = args.credential.credential()?;
            fetch_records(&args.at, args.entry, &credential, &args.out, format)
        }
    }
}

/// The records of a file, each deployment checked, each decision decided again (see
/// [`service::usage::check`]); a decision the policies do not give is a verification failure.
fn checked_records(
    source: &str,
    text: &str,
    contract: &ContractRecord,
    deployment: Option<&str>,
) -> Result<Vec<(usize, UsageRecord)>, Failure> {
    service::usage::check(text, contract, deployment).map_err(|error| {
        let failure = anyhow!("{}", error.located(source));
        if error.is_difference() {
            verification_failed(failure)
        } else {
            failure.into()
        }
    })
}

fn record(
    to: &Where,
    key_path: &Path,
    contract: &str,
    deployment: &str,
    at: Option<&str>,
    path: &Path,
    format: Format,
) -> Outcome {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow!("`{}` is not UTF-8 text", path.display()))?;
    let instance = to.open()?;
    let record = instance.contract(contract)?;
    let source = path.display().to_string();
    let records = checked_records(&source, text, &record, Some(deployment))?;
    let summary = usage::summarize(records.iter().map(|(_, r)| r));
    let key = read_signer(key_path)?;
    let party = crate::updates_cmd::party_of(&*instance, &key, key_path)?;
    let (_, at) = crate::updates_cmd::entry_time(at)?;
    let digest = service::access::sha256_digest(&bytes);
    let predicate =
        service::usage::batch(&party, contract, deployment, digest.clone(), at, &summary);
    let envelope = Draft::new(&predicate)?.signed_bytes(&[&key])?;
    let what = format!("usage of `{deployment}` under `{contract}`");
    // The records first, where the auditors will read them: the instance logs a batch only
    // once it holds the records and has decided each again.
    let credential = Credential::Key(Box::new(key));
    instance
        .deposit_usage(Some(&credential), contract, &bytes)
        .map_err(|e| anyhow::Error::new(e).context(format!("{what}: depositing the records")))?;
    let accepted = instance
        .submit(envelope)
        .map_err(|e| anyhow::Error::new(e).context(what.clone()))?;
    instance.close()?;
    match format {
        Format::Json => print_json(&json!({
            "index": accepted.index, "records": summary.records, "allowed": summary.allowed,
            "denied": summary.denied, "clauses": summary.clauses, "digest": digest,
        })),
        Format::Text => print(&format!(
            "{what}: {} decisions ({} allowed, {} denied) from {} to {}, each decided again and matching the contract: entry {}; records deposited\n",
            summary.records,
            summary.allowed,
            summary.denied,
            time::format_instant(summary.from),
            time::format_instant(summary.to),
            accepted.index
        )),
    }
}

fn list(source: &Where, contract: Option<&str>, format: Format) -> Outcome {
    let batches: Vec<UsageBatch> = source.open()?.usage(contract)?;
    if format == Format::Json {
        return print_json(&serde_json::to_value(&batches)?);
    }
    if batches.is_empty() {
        return print("no usage recorded\n");
    }
    let mut out = String::from(
        "ENTRY\tCONTRACT\tDEPLOYMENT\tFROM\tTO\tDECISIONS\tALLOWED\tDENIED\tCLAUSES\n",
    );
    for batch in &batches {
        let clauses: Vec<String> = batch
            .clauses
            .iter()
            .map(|(clause, count)| format!("{clause}×{count}"))
            .collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            batch.entry,
            batch.contract,
            batch.deployment,
            time::format_instant(batch.from),
            time::format_instant(batch.to),
            batch.records,
            batch.allowed,
            batch.denied,
            clauses.join(", ")
        ));
    }
    print(&out)
}

fn fetch_records(
    at: &Where,
    entry: u64,
    credential: &Credential,
    out: &Path,
    format: Format,
) -> Outcome {
    // The digest from the public entry first: the records must match it.
    let instance = at.open()?;
    let logged = instance.entry(entry)?;
    if logged.kind.as_deref() != Some("usage-recorded") {
        return Err(anyhow!("entry {entry} is not a usage batch").into());
    }
    let predicate = &logged.statement.predicate;
    let digest = predicate["digest"].as_str().unwrap_or_default().to_owned();
    let contract_id = predicate["contract"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let answer = instance.read_usage(credential, entry).map_err(|e| {
        if e.is_verification() {
            verification_failed(anyhow!("refused ({}): {e}", e.status()))
        } else {
            Failure::Input(e.into())
        }
    })?;
    let text = answer.jsonl.as_str();
    let received = service::access::sha256_digest(text.as_bytes());
    if received != digest {
        return Err(verification_failed(anyhow!(
            "the records the server sent hash to {received}; entry {entry} names {digest}"
        )));
    }
    crate::output::write_private(out, text)?;
    let contract = instance.contract(&contract_id)?;
    instance.close()?;
    let source = out.display().to_string();
    let recorded = answer.read_recorded_at;
    let records = checked_records(&source, text, &contract, None)?;
    let summary = usage::summarize(records.iter().map(|(_, r)| r));
    match format {
        Format::Json => print_json(&json!({
            "entry": entry, "digest": digest, "records": summary.records, "out": out,
            "read_recorded_at": recorded, "decisions_match_policies": true,
        })),
        Format::Text => print(&format!(
            "wrote `{}`: {} decisions of usage entry {entry}, matching its digest {digest}; each decided again, all as the contract's policies answer\nthe read is recorded in the ledger at entry {}\n",
            out.display(),
            summary.records,
            recorded
        )),
    }
}
