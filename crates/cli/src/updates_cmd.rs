//! Update governance on the command line: model versions, evidence, recognition, the gate,
//! hosting attestations and deployments.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use attest::{PublicKey, Statement, Subject};
use clap::{Args, Subcommand};
use domain::updates::{self, Gate, time};
use domain::{Assurance, Kind, State};
use serde_json::{Value, json};
use tlog::note::SignerKey;

use crate::instance::{Where, fetch, query_value};
use crate::keys::read_signer;
use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

/// Where and as whom an entry is submitted.
#[derive(Debug, Args)]
pub struct Submit {
    #[command(flatten)]
    to: Where,
    /// The signer key of the party acting (it names the party).
    #[arg(long)]
    key: PathBuf,
    /// The entry's time, RFC 3339 (default: now). Only a ledger created with
    /// `--simulated-clock` accepts a time far from its own.
    #[arg(long)]
    at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Announce a model version for contracts (signed by its vendor). The notice counts from now.
    #[command(after_help = "Examples:
  # weights: the digest is the root digest of the verified OpenSSF model-signing bundle
  concordat model register --dir ./concordat --key vendor.key --model vision-analyst@2027.2.0 \\
      --contract defense-imagery-analysis --service-from 2027-05-01 \\
      --weights ./model --bundle model.sig --bundle-key signing.pub --notes 'Better refusals'
  # hosted: the provider's API version and its fingerprint
  concordat model register --dir ./concordat --key vendor.key --model vision-analyst@2027.2.0 \\
      --contract defense-imagery-analysis --service-from 2027-05-01 \\
      --api-version vision-analyst-2027-02 --fingerprint sha256:4f1c... --notes 'Better refusals'")]
    Register(RegisterArgs),
    /// Verify an OpenSSF model-signing bundle (key-based) against a model directory.
    #[command(after_help = "Example:
  concordat model verify ./model --bundle model.sig --key signing.pub

Prints the model's root digest; exit 1, listing every changed, added or missing file, when the
files do not match what was signed.")]
    Verify {
        /// The model directory.
        model: PathBuf,
        /// The bundle (`model.sig`).
        #[arg(long)]
        bundle: PathBuf,
        /// The signer's public key (PEM, ECDSA P-256).
        #[arg(long)]
        key: PathBuf,
    },
    /// List model versions and where each stands under each contract.
    #[command(
        after_help = "Examples:\n  concordat model list --dir ./concordat\n  concordat model list --server http://127.0.0.1:8700"
    )]
    List {
        #[command(flatten)]
        source: Where,
    },
    /// Withdraw a model version from a contract (its vendor or an agency of the contract).
    #[command(after_help = "Example:
  concordat model revoke --dir ./concordat --key vendor.key --contract defense-imagery-analysis \\
      --model vision-analyst@2027.2.0 --reason 'regression in refusals found after release'")]
    Revoke {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        /// `LINE@VERSION`.
        #[arg(long)]
        model: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    submit: Submit,
    /// The model line and version label (a semantic version), `LINE@VERSION`.
    #[arg(long)]
    model: String,
    /// A contract it is offered under; repeatable.
    #[arg(long = "contract", required = true)]
    contracts: Vec<String>,
    /// The day it is meant to enter service, YYYY-MM-DD.
    #[arg(long)]
    service_from: String,
    /// Release notes.
    #[arg(long, default_value = "")]
    notes: String,
    /// Weights: the model directory, verified against --bundle.
    #[arg(long, requires_all = ["bundle", "bundle_key"], conflicts_with = "api_version")]
    weights: Option<PathBuf>,
    /// The OpenSSF model-signing bundle of --weights.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// The public key the bundle was signed with (PEM).
    #[arg(long)]
    bundle_key: Option<PathBuf>,
    /// Hosted: the provider's identifier of the version.
    #[arg(long, requires = "fingerprint", required_unless_present = "weights")]
    api_version: Option<String>,
    /// Hosted: the vendor's fingerprint of the version (`sha256:HEX`, or text that is hashed).
    #[arg(long)]
    fingerprint: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Turn an evaluation log into an evidence statement about a model version, ready for the
    /// lab to sign; with --key, sign and submit it.
    #[command(after_help = "Examples:
  concordat evidence import --dir ./concordat --inspect logs/refusals.eval \\
      --model vision-analyst@2027.2.0 --lab uk-test-lab --suite targeting-refusal \\
      --assurance third-party --produced-for GB > evidence.json
  concordat sign --key lab.key --statement evidence.json > evidence.envelope.json
  concordat submit --dir ./concordat evidence.envelope.json
  # or at once, as the lab:
  concordat evidence import --dir ./concordat --lm-eval results.json --model vision-analyst@2027.2.0 \\
      --suite imagery-description-accuracy --assurance third-party --key lab.key
  # a government test whose result is classified: disclosed, result sealed
  concordat evidence import --dir ./concordat --inspect gov.eval --model vision-analyst@2027.2.0 \\
      --suite red-team --assurance third-party --key agency.key --seal red-team.sealed.toml

The statement's subjects are the model version's digest and the log file's SHA-256. A sealed
result stays with the tester; `evidence deposit` hands it to the instance, which serves it to
auditors in scope (`evidence reveal`).")]
    Import(Box<ImportArgs>),
    /// Deposit a sealed result with the instance (a server, or its directory) for the auditors
    /// in scope. Kept only if it opens the entry's commitment; through a server, only the lab
    /// that produced it deposits.
    #[command(after_help = "Examples:
  concordat evidence deposit --server http://127.0.0.1:8700 --entry 23 --key lab.key red-team.sealed.toml
  concordat evidence deposit --dir ./concordat --entry 23 red-team.sealed.toml")]
    Deposit {
        /// The evidence entry's index.
        #[arg(long)]
        entry: u64,
        #[command(flatten)]
        deposit: crate::restricted::DepositArgs,
    },
    /// Read a sealed evaluation result from a server, as the lab that produced it or an auditor
    /// whose scope includes `evaluation-evidence`. The read is recorded in the ledger; the
    /// result is checked against the entry's public commitment and written (mode 0600).
    #[command(after_help = "Example:
  concordat evidence reveal --server http://127.0.0.1:8700 --entry 23 --key auditor.key \\
      --out red-team.sealed.toml

--token-file FILE (or CONCORDAT_TOKEN) sends a bearer token instead of signing the request.
Exit 1 when the server refuses (401/403, with its reason) or the result does not open the
commitment.")]
    Reveal(crate::restricted::ReadArgs),
    /// List the evidence about a model version (or all).
    #[command(
        after_help = "Examples:\n  concordat evidence list --dir ./concordat --model vision-analyst@2027.2.0\n  concordat evidence list --server http://127.0.0.1:8700"
    )]
    List {
        #[command(flatten)]
        source: Where,
        /// `LINE@VERSION`.
        #[arg(long)]
        model: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The instance (to find the model version's digest and the lab's jurisdiction).
    #[command(flatten)]
    at_instance: Where,
    /// An Inspect AI log: `.json`, or an `.eval` archive.
    #[arg(long, required_unless_present = "lm_eval", conflicts_with = "lm_eval")]
    inspect: Option<PathBuf>,
    /// lm-evaluation-harness results JSON.
    #[arg(long)]
    lm_eval: Option<PathBuf>,
    /// The model version evaluated, `LINE@VERSION`.
    #[arg(long)]
    model: String,
    /// The lab that ran it (default: the party of --key).
    #[arg(long, required_unless_present = "key")]
    lab: Option<String>,
    /// The suite, as testing protocols name it (default: the harness's task name).
    #[arg(long)]
    suite: Option<String>,
    /// self-attested, third-party or reproduced.
    #[arg(long)]
    assurance: String,
    /// The jurisdiction it was produced for (default: the lab's first jurisdiction).
    #[arg(long)]
    produced_for: Option<String>,
    /// Sign with this key and submit.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Seal the result (a classified government test): the entry discloses the test and
    /// carries only a commitment; the metrics and salt are written here, for
    /// `concordat addendum verify` when the result is revealed.
    #[arg(long)]
    seal: Option<PathBuf>,
    /// The entry's time (default: now).
    #[arg(long)]
    at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RecognitionCommand {
    /// Publish which labs' evidence a jurisdiction accepts (signed by its authority).
    #[command(after_help = "Example:
  concordat recognition publish --dir ./concordat --key uk-aisi.key --jurisdiction GB \\
      --lab uk-test-lab --lab us-test-lab --suite targeting-refusal \\
      --min-assurance third-party --max-age-days 180")]
    Publish {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        jurisdiction: String,
        /// A recognised lab; repeatable.
        #[arg(long = "lab", required = true)]
        labs: Vec<String>,
        /// A recognised suite or method; repeatable.
        #[arg(long = "suite", required = true)]
        suites: Vec<String>,
        #[arg(long)]
        min_assurance: String,
        #[arg(long)]
        max_age_days: u32,
    },
    /// Per engagement: how many requirements were met by evidence produced for another
    /// jurisdiction — duplicate tests avoided.
    #[command(after_help = "Examples:
  concordat recognition report --dir ./concordat
  concordat recognition report --dir ./concordat --contract defense-imagery-analysis --format json
  concordat recognition report --server http://127.0.0.1:8700")]
    Report {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: Option<String>,
        /// Evaluate at this time (RFC 3339; default: now).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// What a model version still needs before it may serve under a contract.
    #[command(after_help = "Examples:
  concordat gate status --dir ./concordat --contract defense-imagery-analysis --model vision-analyst@2027.2.0
  concordat gate status --dir ./concordat --contract defense-imagery-analysis \\
      --model vision-analyst@2027.2.0 --at 2027-06-01T00:00:00Z --format json
  concordat gate status --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --model vision-analyst@2027.2.0

Lists each requirement as met (by which entries) or unmet (why); exit 1 while any is unmet.")]
    Status {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        /// `LINE@VERSION`.
        #[arg(long)]
        model: String,
        /// Evaluate at this time (RFC 3339; default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Approve a model version under a contract, as one of its approvers. Accepted only when
    /// every other requirement of the gate is met.
    #[command(after_help = "Examples:
  concordat gate approve --dir ./concordat --key agency.key --contract defense-imagery-analysis \\
      --model vision-analyst@2027.2.0
  # through a running server (every command that writes an entry takes --server)
  concordat gate approve --server http://127.0.0.1:8700 --key agency.key \\
      --contract defense-imagery-analysis --model vision-analyst@2027.2.0")]
    Approve {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        model: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostingCommand {
    /// Attest the hosting environment a contract requires (its vendor).
    #[command(after_help = "Example:
  concordat hosting attest --dir ./concordat --key vendor.key --contract defense-imagery-analysis \\
      --environment government-cloud --report attestation-report.json \\
      --description 'Dedicated tenant in the accredited region'")]
    Attest {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        /// vendor-cloud, government-cloud, on-premises-enclave or air-gapped.
        #[arg(long)]
        environment: String,
        /// The attestation report; its SHA-256 is recorded.
        #[arg(long)]
        report: PathBuf,
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Put an approved version into service for a deployment (an agency of the contract).
    #[command(after_help = "Example:
  concordat deploy activate --dir ./concordat --key agency.key --contract defense-imagery-analysis \\
      --deployment analyst-workbench --model vision-analyst@2027.2.0

Refused, with the unmet requirements, when the version is not approved.")]
    Activate {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        model: String,
    },
    /// Return a deployment to its previous approved version in one step; who and why are
    /// recorded.
    #[command(after_help = "Example:
  concordat deploy rollback --dir ./concordat --key agency.key --contract defense-imagery-analysis \\
      --deployment analyst-workbench --reason 'serious incident INC-2027-014'")]
    Rollback {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
        #[arg(long)]
        reason: String,
    },
    /// The versions a deployment has run, with the entries that changed them.
    #[command(after_help = "Example:
  concordat deploy history --dir ./concordat --contract defense-imagery-analysis --deployment analyst-workbench
  concordat deploy history --server http://127.0.0.1:8700 --contract defense-imagery-analysis --deployment analyst-workbench")]
    History {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
    },
}

pub(crate) fn load_state(dir: &Path) -> Result<State, Failure> {
    let reader = store::Reader::open(dir)?;
    Ok(ledger::load_state(&reader)?)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `--at` as unix seconds and RFC 3339 text (default: now).
pub(crate) fn entry_time(at: Option<&str>) -> anyhow::Result<(i64, String)> {
    match at {
        Some(text) => {
            let seconds = time::parse_instant("--at", text).map_err(|e| anyhow!(e))?;
            Ok((seconds, time::format_instant(seconds)))
        }
        None => {
            let seconds = now();
            Ok((seconds, time::format_instant(seconds)))
        }
    }
}

fn split_model(model: &str) -> anyhow::Result<(&str, &str)> {
    model
        .split_once('@')
        .filter(|(line, version)| !line.is_empty() && !version.is_empty())
        .ok_or_else(|| {
            anyhow!("--model `{model}`: expected LINE@VERSION, e.g. vision-analyst@2027.2.0")
        })
}

/// The party a signer key belongs to, as the instance has it.
pub(crate) fn party_of(place: &Where, key: &SignerKey, path: &Path) -> Result<String, Failure> {
    let keyid = PublicKey::parse(&key.verifier().to_text())
        .map(|k| k.keyid())
        .map_err(|e| anyhow!("`{}`: {e}", path.display()))?;
    let unregistered = || {
        anyhow!(
            "the key in `{}` (key ID {keyid}) is not registered to any party",
            path.display()
        )
    };
    match &place.server {
        Some(url) => {
            let record: domain::KeyRecord = match fetch(url, &format!("/api/keys/{keyid}")) {
                Ok(value) => serde_json::from_value(value).context("the server's key")?,
                Err(_) => return Err(unregistered().into()),
            };
            Ok(record.party)
        }
        None => {
            let state = load_state(place.dir()?)?;
            Ok(state
                .key(&keyid)
                .map(|record| record.party.clone())
                .ok_or_else(unregistered)?)
        }
    }
}

/// A registered model version, from the instance.
fn model_version(place: &Where, key: &str) -> Result<updates::ModelVersion, Failure> {
    match &place.server {
        Some(url) => Ok(serde_json::from_value(fetch(
            url,
            &format!("/api/models/{}", query_value(key)),
        )?)
        .context("the server's model version")?),
        None => {
            let dir = place.dir()?;
            Ok(load_state(dir)?.model(key).cloned().ok_or_else(|| {
                anyhow!(
                    "model version `{key}` is not registered in `{}`",
                    dir.display()
                )
            })?)
        }
    }
}

/// A registered party, from the instance.
fn party_record(place: &Where, id: &str) -> Result<domain::Party, Failure> {
    match &place.server {
        Some(url) => Ok(serde_json::from_value(
            fetch(url, &format!("/api/parties/{}", query_value(id)))?["party"].take(),
        )
        .context("the server's party")?),
        None => {
            let dir = place.dir()?;
            Ok(load_state(dir)?
                .party(id)
                .cloned()
                .ok_or_else(|| anyhow!("party `{id}` is not registered in `{}`", dir.display()))?)
        }
    }
}

/// A deployment's record, from the instance.
fn deployment_record(
    place: &Where,
    contract: &str,
    deployment: &str,
) -> Result<updates::Deployment, Failure> {
    match &place.server {
        Some(url) => Ok(serde_json::from_value(fetch(
            url,
            &format!(
                "/api/deployments/{}/{}",
                query_value(contract),
                query_value(deployment)
            ),
        )?)
        .context("the server's deployment")?),
        None => {
            let dir = place.dir()?;
            Ok(load_state(dir)?
                .deployment(&updates::deployment_key(contract, deployment))
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "contract `{contract}` has no deployment `{deployment}` in `{}`",
                        dir.display()
                    )
                })?)
        }
    }
}

/// Signs a statement with `key` and submits it; prints what happened.
fn submit_statement(
    to: &Where,
    statement: &Statement,
    key: &SignerKey,
    what: &str,
    format: Format,
    extra: Value,
) -> Outcome {
    let envelope = ledger::sign_statement(statement, key)?;
    let receipt = crate::instance::submit_to(to, what, envelope.to_json().into_bytes())?;
    match format {
        Format::Json => {
            let mut out = json!({ "index": receipt.index, "kind": Kind::from_predicate_type(&statement.predicate_type).map(Kind::name) });
            if let (Some(out), Value::Object(extra)) = (out.as_object_mut(), extra) {
                out.extend(extra);
            }
            print_json(&out)
        }
        Format::Text => print(&format!("{what}: entry {}\n", receipt.index)),
    }
}

/// Builds, signs and submits an entry of `kind` whose predicate names the key's party.
fn act(
    submit: &Submit,
    kind: Kind,
    build: impl FnOnce(&str, &str) -> anyhow::Result<(Value, String)>,
    format: Format,
) -> Outcome {
    let key = read_signer(&submit.key)?;
    let party = party_of(&submit.to, &key, &submit.key)?;
    let (_, at) = entry_time(submit.at.as_deref())?;
    let (predicate, what) = build(&party, &at)?;
    let statement = ledger::statement(kind, predicate, Vec::new());
    submit_statement(&submit.to, &statement, &key, &what, format, json!({}))
}

pub fn model(command: ModelCommand, format: Format) -> Outcome {
    match command {
        ModelCommand::Register(args) => register(args, format),
        ModelCommand::Verify { model, bundle, key } => verify_model(&model, &bundle, &key, format),
        ModelCommand::List { source } => list_models(&source, format),
        ModelCommand::Revoke {
            submit,
            contract,
            model,
            reason,
        } => {
            let (line, version) = split_model(&model)?;
            act(
                &submit,
                Kind::VersionRevoked,
                |party, at| {
                    Ok((
                        json!({"party": party, "contract": contract, "model": {"line": line, "version": version}, "reason": reason, "at": at}),
                        format!("revoked {model} under `{contract}`"),
                    ))
                },
                format,
            )
        }
    }
}

fn read_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    PublicKey::parse(&text).map_err(|e| anyhow!("`{}`: {e}", path.display()))
}

fn verify_bundle(
    model: &Path,
    bundle: &Path,
    key: &Path,
) -> Result<evidence::model_signing::VerifiedModel, Failure> {
    let key = read_public_key(key)?;
    evidence::model_signing::verify(bundle, &key, model).map_err(|e| match e {
        evidence::model_signing::SigningError::Read(_) => Failure::Input(e.into()),
        _ => verification_failed(e),
    })
}

fn verify_model(model: &Path, bundle: &Path, key: &Path, format: Format) -> Outcome {
    let verified = verify_bundle(model, bundle, key)?;
    match format {
        Format::Json => print_json(&json!({
            "name": verified.name,
            "digest": format!("sha256:{}", verified.root_digest),
            "files": verified.files,
        })),
        Format::Text => print(&format!(
            "verified: {} files of `{}` match the signature\nroot digest: sha256:{}\n",
            verified.files.len(),
            model.display(),
            verified.root_digest
        )),
    }
}

fn register(args: RegisterArgs, format: Format) -> Outcome {
    let (form, digest) = match (&args.weights, &args.api_version) {
        (Some(weights), _) => {
            let (Some(bundle), Some(bundle_key)) = (&args.bundle, &args.bundle_key) else {
                return Err(anyhow!("--weights needs --bundle and --bundle-key").into());
            };
            let verified = verify_bundle(weights, bundle, bundle_key)?;
            ("weights", format!("sha256:{}", verified.root_digest))
        }
        (None, Some(_)) => {
            let fingerprint = args.fingerprint.clone().unwrap_or_default();
            let digest = if fingerprint.starts_with("sha256:") {
                fingerprint
            } else {
                format!("sha256:{}", evidence::sha256_hex(fingerprint.as_bytes()))
            };
            ("api", digest)
        }
        (None, None) => {
            return Err(anyhow!("give --weights (with --bundle) or --api-version").into());
        }
    };
    let (line, version) = split_model(&args.model)?;
    let model = updates::model_key(line, version);
    let contracts = args.contracts.join(", ");
    act(
        &args.submit,
        Kind::ModelVersionRegistered,
        |party, at| {
            Ok((
                json!({
                    "vendor": party, "line": line, "version": version, "form": form,
                    "digest": digest, "api_version": args.api_version, "release_notes": args.notes,
                    "service_from": args.service_from, "contracts": args.contracts, "at": at,
                }),
                format!("registered {model} ({digest}) under {contracts}"),
            ))
        },
        format,
    )
}

fn list_models(source: &Where, format: Format) -> Outcome {
    let models: Vec<updates::ModelVersion> = match &source.server {
        Some(url) => serde_json::from_value(fetch(url, "/api/models")?)
            .context("the server's model versions")?,
        None => load_state(source.dir()?)?.models().cloned().collect(),
    };
    if format == Format::Json {
        return print_json(&serde_json::to_value(&models)?);
    }
    if models.is_empty() {
        return print("no model versions registered\n");
    }
    let mut out = String::new();
    for model in models {
        out.push_str(&format!(
            "{}  vendor {}  {}  service from {}  (entry {})\n",
            model.key(),
            model.vendor,
            model.digest,
            model.service_from,
            model.registered_at
        ));
        for offer in model.offers.values() {
            out.push_str(&format!(
                "  {}: {} (notice {} days of {} required)\n",
                offer.contract,
                offer.status.name(),
                offer.notice_days,
                offer.notice_required
            ));
        }
    }
    print(&out)
}

pub fn evidence(command: EvidenceCommand, format: Format) -> Outcome {
    match command {
        EvidenceCommand::Import(args) => import(*args, format),
        EvidenceCommand::List { source, model } => list_evidence(&source, model.as_deref(), format),
        EvidenceCommand::Deposit { entry, deposit } => {
            crate::restricted::deposit_result(deposit, entry, format)
        }
        EvidenceCommand::Reveal(args) => crate::restricted::reveal_result(args, format),
    }
}

fn import(args: ImportArgs, format: Format) -> Outcome {
    let (path, summary) = match (&args.inspect, &args.lm_eval) {
        (Some(path), _) => (path, evidence::inspect::read(path)?),
        (None, Some(path)) => (path, evidence::lm_eval::read(path)?),
        (None, None) => return Err(anyhow!("give --inspect LOG or --lm-eval RESULTS").into()),
    };
    let assurance = Assurance::parse(&args.assurance).ok_or_else(|| {
        anyhow!(
            "--assurance `{}`: expected self-attested, third-party or reproduced",
            args.assurance
        )
    })?;
    let place = &args.at_instance;
    let (line, version) = split_model(&args.model)?;
    let model = model_version(place, &args.model)?;
    let key = args.key.as_deref().map(read_signer).transpose()?;
    let lab = match (&args.lab, &key, &args.key) {
        (Some(lab), _, _) => lab.clone(),
        (None, Some(key), Some(path)) => party_of(place, key, path)?,
        _ => return Err(anyhow!("give --lab or --key").into()),
    };
    let produced_for = match &args.produced_for {
        Some(code) => code.clone(),
        None => party_record(place, &lab)?
            .jurisdictions
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("party `{lab}` has no jurisdiction: give --produced-for"))?,
    };
    let (_, at) = entry_time(args.at.as_deref())?;
    let log_bytes =
        std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let log_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".to_owned());
    let mut metrics = json!(summary.metrics);
    let mut sealed = Value::Null;
    let suite = args.suite.clone().unwrap_or_else(|| summary.task.clone());
    if let Some(out) = &args.seal {
        // The result stays with the tester, in the form `addendum verify` opens.
        let (sealed_file, commitment) = crate::contract_cmd::seal_text(
            &format!("{}/{suite}", args.model),
            serde_json::to_string(&summary.metrics)?,
        )?;
        crate::contract_cmd::write_sealed(out, &commitment, &sealed_file)?;
        sealed = commitment.into();
        metrics = json!({});
    }
    let mut predicate = json!({
        "lab": lab,
        "model": {"line": line, "version": version},
        "suite": suite,
        "harness": {"name": summary.harness, "version": summary.harness_version},
        "task": summary.task,
        "dataset": summary.dataset,
        "metrics": metrics,
        "samples": summary.samples,
        "status": summary.status,
        "evaluatedAt": summary.evaluated_at,
        "assurance": assurance.name(),
        "producedFor": produced_for,
        "at": at,
    });
    if !sealed.is_null()
        && let Some(object) = predicate.as_object_mut()
    {
        object.insert("sealedResult".to_owned(), sealed);
    }
    let subjects = vec![
        Subject {
            name: args.model.clone(),
            digest: [("sha256".to_owned(), model.digest_hex().to_owned())].into(),
        },
        Subject {
            name: log_name,
            digest: [("sha256".to_owned(), evidence::sha256_hex(&log_bytes))].into(),
        },
    ];
    let statement = ledger::statement(Kind::EvidenceRecorded, predicate, subjects);
    match key {
        Some(key) => {
            let what = format!("evidence from `{lab}` about {}", args.model);
            submit_statement(place, &statement, &key, &what, format, json!({}))
        }
        None => print(&format!(
            "{}\n",
            String::from_utf8_lossy(&statement.to_bytes())
        )),
    }
}

fn list_evidence(source: &Where, model: Option<&str>, format: Format) -> Outcome {
    let records: Vec<updates::EvidenceRecord> = match &source.server {
        Some(url) => {
            let path = match model {
                Some(model) => format!("/api/evidence?model={}", query_value(model)),
                None => "/api/evidence".to_owned(),
            };
            serde_json::from_value(fetch(url, &path)?).context("the server's evidence")?
        }
        None => {
            let state = load_state(source.dir()?)?;
            match model {
                Some(model) => state
                    .evidence_for(model)
                    .iter()
                    .map(|e| (**e).clone())
                    .collect(),
                None => state.all_evidence().cloned().collect(),
            }
        }
    };
    if format == Format::Json {
        return print_json(&serde_json::to_value(&records)?);
    }
    if records.is_empty() {
        return print("no evidence recorded\n");
    }
    let mut out = String::new();
    for e in records {
        let result = match &e.sealed_result {
            Some(commitment) => format!("result sealed ({commitment})"),
            None => e
                .metrics
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!(
            "entry {}: {}@{} `{}` by `{}` ({}, for {}), evaluated {}: {result}\n",
            e.entry,
            e.line,
            e.version,
            e.suite,
            e.lab,
            e.assurance.name(),
            e.produced_for,
            time::format_instant(e.evaluated_at)
        ));
    }
    print(&out)
}

pub fn recognition(command: RecognitionCommand, format: Format) -> Outcome {
    match command {
        RecognitionCommand::Publish {
            submit,
            jurisdiction,
            labs,
            suites,
            min_assurance,
            max_age_days,
        } => {
            let assurance = Assurance::parse(&min_assurance).ok_or_else(|| {
                anyhow!("--min-assurance `{min_assurance}`: expected self-attested, third-party or reproduced")
            })?;
            act(
                &submit,
                Kind::RecognitionPublished,
                |party, at| {
                    Ok((
                        json!({"authority": party, "jurisdiction": jurisdiction, "labs": labs, "suites": suites, "min_assurance": assurance, "max_evidence_age_days": max_age_days, "at": at}),
                        format!(
                            "{jurisdiction} recognises {} for {}",
                            labs.join(", "),
                            suites.join(", ")
                        ),
                    ))
                },
                format,
            )
        }
        RecognitionCommand::Report {
            source,
            contract,
            at,
        } => report(&source, contract.as_deref(), at.as_deref(), format),
    }
}

fn report(source: &Where, only: Option<&str>, at: Option<&str>, format: Format) -> Outcome {
    let rows: Vec<updates::ContractReuse> = match &source.server {
        Some(url) => {
            let mut query = Vec::new();
            if let Some(id) = only {
                query.push(format!("contract={}", query_value(id)));
            }
            if let Some(at) = at {
                query.push(format!("at={}", query_value(at)));
            }
            let path = match query.is_empty() {
                true => "/api/recognitions/report".to_owned(),
                false => format!("/api/recognitions/report?{}", query.join("&")),
            };
            serde_json::from_value(fetch(url, &path)?).context("the server's report")?
        }
        None => {
            let dir = source.dir()?;
            let state = load_state(dir)?;
            let (now, _) = entry_time(at)?;
            updates::recognition_report(&state, only, now).ok_or_else(|| {
                anyhow!(
                    "contract `{}` is not published in `{}`",
                    only.unwrap_or_default(),
                    dir.display()
                )
            })?
        }
    };
    if format == Format::Json {
        return print_json(&serde_json::to_value(&rows)?);
    }
    let mut out = String::new();
    for row in &rows {
        out.push_str(&format!(
            "{} ({}): {} of {} evaluation requirements met; {} by evidence produced for another jurisdiction (duplicate tests avoided)\n",
            row.contract,
            row.jurisdictions.join(", "),
            row.met,
            row.evaluation_requirements,
            row.met_by_evidence_from_elsewhere,
        ));
        for reused in &row.reused {
            let entries: Vec<String> = reused
                .entries
                .iter()
                .map(|e| format!("entry {e}"))
                .collect();
            out.push_str(&format!(
                "  {} {}: met by evidence produced for {} ({})\n",
                reused.model,
                reused.requirement,
                reused.produced_for,
                entries.join(", ")
            ));
        }
    }
    if rows.is_empty() {
        out.push_str("no contracts published\n");
    }
    print(&out)
}

pub fn gate(command: GateCommand, format: Format) -> Outcome {
    match command {
        GateCommand::Status {
            source,
            contract,
            model,
            at,
        } => {
            let (line, version) = split_model(&model)?;
            let gate: Gate = match &source.server {
                Some(url) => {
                    let mut path = format!(
                        "/api/gate?contract={}&model={}",
                        query_value(&contract),
                        query_value(&model)
                    );
                    if let Some(at) = &at {
                        path.push_str(&format!("&at={}", query_value(at)));
                    }
                    serde_json::from_value(fetch(url, &path)?).context("the server's gate")?
                }
                None => {
                    let state = load_state(source.dir()?)?;
                    let (now, _) = entry_time(at.as_deref())?;
                    updates::evaluate(&state, &contract, line, version, now)
                        .map_err(|e| anyhow!(e))?
                }
            };
            print_gate(&gate, format)?;
            if gate.met() {
                Ok(())
            } else {
                let unmet = gate.unmet().count();
                Err(verification_failed(anyhow!(
                    "{unmet} of {} requirements unmet for {model} under `{contract}`",
                    gate.requirements.len()
                )))
            }
        }
        GateCommand::Approve {
            submit,
            contract,
            model,
        } => {
            let (line, version) = split_model(&model)?;
            act(
                &submit,
                Kind::VersionApproved,
                |party, at| {
                    Ok((
                        json!({"approver": party, "contract": contract, "model": {"line": line, "version": version}, "at": at}),
                        format!("`{party}` approved {model} under `{contract}`"),
                    ))
                },
                format,
            )
        }
    }
}

fn print_gate(gate: &Gate, format: Format) -> Outcome {
    if format == Format::Json {
        let mut value = serde_json::to_value(gate)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("met".to_owned(), gate.met().into());
        }
        return print_json(&value);
    }
    let mut out = format!(
        "{}@{} under `{}`: {} — gate {} (at {})\n",
        gate.line,
        gate.version,
        gate.contract,
        gate.status.name(),
        if gate.met() { "met" } else { "not met" },
        gate.at
    );
    for requirement in &gate.requirements {
        out.push_str(&format!(
            "  [{}] {}: {}\n",
            if requirement.met { "met" } else { "UNMET" },
            requirement.id,
            requirement.detail
        ));
    }
    print(&out)
}

pub fn hosting(command: HostingCommand, format: Format) -> Outcome {
    let HostingCommand::Attest {
        submit,
        contract,
        environment,
        report,
        description,
    } = command;
    let bytes =
        std::fs::read(&report).with_context(|| format!("cannot read `{}`", report.display()))?;
    let digest = format!("sha256:{}", evidence::sha256_hex(&bytes));
    act(
        &submit,
        Kind::HostingAttested,
        |party, at| {
            Ok((
                json!({"party": party, "contract": contract, "environment": environment, "report": digest, "description": description, "at": at}),
                format!("`{party}` attested the {environment} environment of `{contract}`"),
            ))
        },
        format,
    )
}

pub fn deploy(command: DeployCommand, format: Format) -> Outcome {
    match command {
        DeployCommand::Activate {
            submit,
            contract,
            deployment,
            model,
        } => {
            let (line, version) = split_model(&model)?;
            act(
                &submit,
                Kind::DeploymentActivated,
                |party, at| {
                    Ok((
                        json!({"party": party, "contract": contract, "deployment": deployment, "model": {"line": line, "version": version}, "at": at}),
                        format!("{model} is in service in `{deployment}` of `{contract}`"),
                    ))
                },
                format,
            )
        }
        DeployCommand::Rollback {
            submit,
            contract,
            deployment,
            reason,
        } => {
            let before = deployment_record(&submit.to, &contract, &deployment)?
                .active
                .unwrap_or_default();
            act(
                &submit,
                Kind::DeploymentRolledBack,
                |party, at| {
                    Ok((
                        json!({"party": party, "contract": contract, "deployment": deployment, "reason": reason, "at": at}),
                        format!("`{deployment}` of `{contract}` rolled back from {before}"),
                    ))
                },
                format,
            )
        }
        DeployCommand::History {
            source,
            contract,
            deployment,
        } => {
            let record = deployment_record(&source, &contract, &deployment)?;
            let record = &record;
            if format == Format::Json {
                return print_json(&serde_json::to_value(record)?);
            }
            let mut out = format!(
                "`{deployment}` of `{contract}`: in service {}\n",
                record.active.as_deref().unwrap_or("nothing")
            );
            for event in &record.events {
                let action = match event.action {
                    updates::DeploymentAction::Activated => "activated",
                    updates::DeploymentAction::RolledBack => "rolled back to",
                };
                out.push_str(&format!(
                    "  entry {}  {}  {action} {}{} by `{}`{}\n",
                    event.entry,
                    time::format_instant(event.at),
                    event.version,
                    event
                        .previous
                        .as_deref()
                        .map(|p| format!(" (from {p})"))
                        .unwrap_or_default(),
                    event.party,
                    event
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
            }
            print(&out)
        }
    }
}
