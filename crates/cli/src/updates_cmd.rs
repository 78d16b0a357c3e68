//! Update governance on the command line: model versions, evidence, recognition, the gate,
//! hosting attestations and deployments.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use attest::{PublicKey, Subject};
use clap::{Args, Subcommand};
use domain::updates::{self, Gate, time};
use domain::{Assurance, Kind};
use serde_json::json;
use tlog::note::SignerKey;

use service::{Draft, Instance};

use crate::instance::Where;
use crate::instance::read_signer;
use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

/// Where and as whom an entry is submitted.
#[derive(Debug, Args)]
pub struct Submit {
    #[command(flatten)]
    pub(crate) to: Where,
    /// The signer key of the party acting (it names the party).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The entry's time, RFC 3339 (default: now). Only a ledger created with
    /// `--simulated-clock` accepts a time far from its own.
    #[arg(long)]
    pub(crate) at: Option<String>,
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
    /// A model version as a CycloneDX 1.6 ML-BOM (JSON): its digest, the upstream models and
    /// datasets its vendor declared, a model card with the recorded evidence, its standing.
    #[command(after_help = "Examples:
  concordat model bom --dir ./concordat --model vision-analyst@2027.1.0 > vision-analyst.cdx.json
  concordat model bom --server http://127.0.0.1:8700 --model vision-analyst@2027.1.0

The same log gives the same bytes: the serial number and timestamp come from the ledger.")]
    Bom {
        #[command(flatten)]
        source: Where,
        /// `LINE@VERSION`.
        #[arg(long)]
        model: String,
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
    /// A model it is built from: `NAME[@VERSION][,digest=sha256:HEX][,supplier=WHO]`; repeatable.
    #[arg(long = "upstream-model")]
    upstream_models: Vec<String>,
    /// A dataset it is built from, in the same form; repeatable.
    #[arg(long = "upstream-dataset")]
    upstream_datasets: Vec<String>,
}

/// `NAME[@VERSION][,digest=sha256:HEX][,supplier=WHO]` as an upstream component.
fn upstream(kind: domain::UpstreamKind, spec: &str) -> anyhow::Result<domain::Upstream> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let (name, version) = match head.split_once('@') {
        Some((name, version)) => (name, Some(version.to_owned())),
        None => (head, None),
    };
    let mut component = domain::Upstream {
        kind,
        name: name.to_owned(),
        version,
        digest: None,
        supplier: None,
    };
    for part in parts {
        match part.split_once('=') {
            Some(("digest", digest)) => component.digest = Some(digest.to_owned()),
            Some(("supplier", supplier)) => component.supplier = Some(supplier.to_owned()),
            _ => {
                return Err(anyhow!(
                    "--upstream-{}: `{part}` is not digest=sha256:HEX or supplier=WHO (in `{spec}`)",
                    kind.name()
                ));
            }
        }
    }
    Ok(component)
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
    /// Read a sealed evaluation result from the instance (a server, or its directory), as the lab that produced it or an auditor
    /// whose scope includes `evaluation-evidence`. The read is recorded in the ledger; the
    /// result is checked against the entry's public commitment and written (mode 0600).
    #[command(after_help = "Example:
  concordat evidence reveal --server http://127.0.0.1:8700 --entry 23 --key auditor.key \\
      --out red-team.sealed.toml
  concordat evidence reveal --dir ./concordat --entry 23 --key auditor.key --out red-team.sealed.toml

--token-file FILE (or CONCORDAT_TOKEN) sends a bearer token instead of signing the request.
Exit 1 when the instance refuses (401/403, with its reason) or the result does not open the
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
    /// Bring evidence another member of the coalition logged, with its inclusion proof against
    /// a checkpoint of that member's log cosigned as its witness policy requires (signed by the
    /// party bringing it). Its lab is then `LAB@MEMBER`, which a recognition may name.
    #[command(after_help = "Examples:
  concordat evidence mirror --dir ./us --key uk-aisi.key --member gb \
      --from http://gb.example:8700 --entry 12
  # offline, from files the member published
  concordat evidence mirror --server http://127.0.0.1:8700 --key uk-aisi.key --member gb \
      --envelope entry-12.json --proof entry-12.tlog-proof

The proof is checked here before anything is signed, and again by the ledger: the checkpoint
must be signed by the member's log and cosigned as the coalition's policy for it requires, the
envelope must be at the proof's index, and it must be evidence about a model version registered
here with the same digest. Exit 1 when it is not.")]
    Mirror(Box<crate::coalition_cmd::MirrorArgs>),
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
    #[command(after_help = "Examples:
  # an AMD SEV-SNP report (bytes or hex) and its VCEK: verified here and by the instance
  concordat hosting attest --dir ./concordat --key vendor.key --contract defense-imagery-analysis \\
      --environment government-cloud --report report.bin --snp-vcek vcek.der --snp-processor milan
  # any other report: its SHA-256 is recorded, as the vendor's word
  concordat hosting attest --dir ./concordat --key vendor.key --contract defense-imagery-analysis \\
      --environment government-cloud --report attestation-report.json \\
      --description 'Dedicated tenant in the accredited region'

A contract whose hosting module names SEV-SNP launch measurements, or allows data above what its
environment class holds on the vendor's word, is met only by a verified SEV-SNP report.")]
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
        /// The report is an AMD SEV-SNP attestation report signed by this VCEK certificate
        /// (DER or PEM): the report goes into the entry, verified against AMD's keys.
        #[arg(long, requires = "snp_processor")]
        snp_vcek: Option<PathBuf>,
        /// The processor generation of the VCEK: milan, genoa or turin.
        #[arg(long, requires = "snp_vcek")]
        snp_processor: Option<String>,
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

/// `--at` as unix seconds and RFC 3339 text (default: now).
pub(crate) fn entry_time(at: Option<&str>) -> anyhow::Result<(i64, String)> {
    match at {
        Some(text) => {
            let seconds = time::parse_instant("--at", text).map_err(|e| anyhow!(e))?;
            Ok((seconds, time::format_instant(seconds)))
        }
        None => {
            let seconds = service::build::now();
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

fn model_ref(model: &str) -> anyhow::Result<domain::ModelRef> {
    let (line, version) = split_model(model)?;
    Ok(domain::ModelRef {
        line: line.to_owned(),
        version: version.to_owned(),
    })
}

/// The party a signer key belongs to, as the instance has it.
pub(crate) fn party_of(
    instance: &dyn Instance,
    key: &SignerKey,
    path: &Path,
) -> Result<String, Failure> {
    service::party_of(instance, key).map_err(|e| match e {
        service::ServiceError::BadRequest(_) => {
            let keyid = service::keys::keyid_of(key).unwrap_or_default();
            anyhow!(
                "the key in `{}` (key ID {keyid}) is not registered to any party",
                path.display()
            )
            .into()
        }
        other => other.into(),
    })
}

/// Signs a draft with `key` and submits it; prints what happened.
pub(crate) fn submit_draft(
    instance: &dyn Instance,
    draft: &Draft,
    key: &SignerKey,
    what: &str,
    format: Format,
) -> Outcome {
    let envelope = draft.signed_bytes(&[key])?;
    let receipt = instance
        .submit(envelope)
        .map_err(|e| anyhow::Error::new(e).context(what.to_owned()))?;
    match format {
        Format::Json => {
            print_json(&json!({ "index": receipt.index, "kind": draft.kind().map(Kind::name) }))
        }
        Format::Text => print(&format!("{what}: entry {}\n", receipt.index)),
    }
}

/// Builds, signs and submits an entry whose predicate names the key's party.
pub(crate) fn act(
    submit: &Submit,
    build: impl FnOnce(&dyn Instance, &str, &str) -> anyhow::Result<(Draft, String)>,
    format: Format,
) -> Outcome {
    let key = read_signer(&submit.key)?;
    let instance = submit.to.open()?;
    let party = party_of(&*instance, &key, &submit.key)?;
    let (_, at) = entry_time(submit.at.as_deref())?;
    let (draft, what) = build(&*instance, &party, &at)?;
    let outcome = submit_draft(&*instance, &draft, &key, &what, format);
    instance.close()?;
    outcome
}

pub fn model(command: ModelCommand, format: Format) -> Outcome {
    match command {
        ModelCommand::Register(args) => register(args, format),
        ModelCommand::Verify { model, bundle, key } => verify_model(&model, &bundle, &key, format),
        ModelCommand::List { source } => list_models(&source, format),
        ModelCommand::Bom { source, model } => {
            let instance = source.open()?;
            let bom = instance.model_bom(&model)?;
            instance.close()?;
            print(&format!("{bom:#}\n"))
        }
        ModelCommand::Revoke {
            submit,
            contract,
            model,
            reason,
        } => {
            let model_ref = model_ref(&model)?;
            act(
                &submit,
                |_, party, at| {
                    let predicate = domain::VersionRevoked {
                        party: party.to_owned(),
                        contract: contract.clone(),
                        model: model_ref,
                        reason,
                        at: at.to_owned(),
                    };
                    Ok((
                        Draft::new(&predicate)?,
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
            (
                domain::contract::DeliveryForm::Weights,
                format!("sha256:{}", verified.root_digest),
            )
        }
        (None, Some(_)) => {
            let fingerprint = args.fingerprint.clone().unwrap_or_default();
            let digest = if fingerprint.starts_with("sha256:") {
                fingerprint
            } else {
                format!("sha256:{}", evidence::sha256_hex(fingerprint.as_bytes()))
            };
            (domain::contract::DeliveryForm::Api, digest)
        }
        (None, None) => {
            return Err(anyhow!("give --weights (with --bundle) or --api-version").into());
        }
    };
    let (line, version) = split_model(&args.model)?;
    let model = updates::model_key(line, version);
    let contracts = args.contracts.join(", ");
    let mut declared = Vec::new();
    for spec in &args.upstream_models {
        declared.push(upstream(domain::UpstreamKind::Model, spec)?);
    }
    for spec in &args.upstream_datasets {
        declared.push(upstream(domain::UpstreamKind::Dataset, spec)?);
    }
    act(
        &args.submit,
        |_, party, at| {
            let predicate = domain::ModelVersionRegistered {
                vendor: party.to_owned(),
                line: line.to_owned(),
                version: version.to_owned(),
                form,
                digest: digest.clone(),
                api_version: args.api_version.clone(),
                release_notes: args.notes.clone(),
                service_from: args.service_from.clone(),
                contracts: args.contracts.clone(),
                at: at.to_owned(),
                upstream: declared.clone(),
            };
            Ok((
                Draft::new(&predicate)?,
                format!("registered {model} ({digest}) under {contracts}"),
            ))
        },
        format,
    )
}

fn list_models(source: &Where, format: Format) -> Outcome {
    let models: Vec<updates::ModelVersion> = source.open()?.models()?;
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
        EvidenceCommand::Mirror(args) => crate::coalition_cmd::mirror(*args, format),
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
    let instance = args.at_instance.open()?;
    let model = instance.model(&args.model)?;
    let key = args.key.as_deref().map(read_signer).transpose()?;
    let lab = match (&args.lab, &key, &args.key) {
        (Some(lab), _, _) => lab.clone(),
        (None, Some(key), Some(path)) => party_of(&*instance, key, path)?,
        _ => return Err(anyhow!("give --lab or --key").into()),
    };
    let produced_for = match &args.produced_for {
        Some(code) => code.clone(),
        None => instance
            .party(&lab)?
            .party
            .jurisdictions
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("party `{lab}` has no jurisdiction: give --produced-for"))?,
    };
    let (_, at) = entry_time(args.at.as_deref())?;
    let suite = args.suite.clone().unwrap_or_else(|| summary.task.clone());
    let mut predicate = domain::EvidenceRecorded {
        lab: lab.clone(),
        model: model_ref(&args.model)?,
        suite,
        harness: domain::Harness {
            name: summary.harness,
            version: summary.harness_version,
        },
        task: Some(summary.task),
        dataset: summary.dataset,
        metrics: summary.metrics,
        samples: summary.samples,
        status: summary.status,
        evaluated_at: summary.evaluated_at,
        assurance,
        produced_for,
        sealed_result: None,
        at,
    };
    if let Some(out) = &args.seal {
        seal_result(&mut predicate, &args.model, out)?;
    }
    let subjects = evidence_subjects(&args.model, &model, path)?;
    let draft = Draft::about(&predicate, subjects)?;
    let outcome = match key {
        Some(key) => {
            let what = format!("evidence from `{lab}` about {}", args.model);
            submit_draft(&*instance, &draft, &key, &what, format)
        }
        None => print(&format!(
            "{}\n",
            String::from_utf8_lossy(&draft.statement().to_bytes())
        )),
    };
    instance.close()?;
    outcome
}

/// Seals a government test's result: the entry carries only the commitment; the metrics and
/// salt stay with the tester in `out`, in the form `addendum verify` opens.
fn seal_result(predicate: &mut domain::EvidenceRecorded, model: &str, out: &Path) -> Outcome {
    let (sealed_file, commitment) = service::sealed::seal(
        &format!("{model}/{}", predicate.suite),
        serde_json::to_string(&predicate.metrics)?,
    )?;
    crate::output::write_sealed(out, &commitment, &sealed_file)?;
    predicate.sealed_result = Some(commitment);
    predicate.metrics.clear();
    Ok(())
}

/// An evidence statement's subjects: the version's digest and the log file's SHA-256.
fn evidence_subjects(
    name: &str,
    model: &updates::ModelVersion,
    log: &Path,
) -> Result<Vec<Subject>, Failure> {
    let log_bytes =
        std::fs::read(log).with_context(|| format!("cannot read `{}`", log.display()))?;
    let log_name = log
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "log".to_owned());
    Ok(vec![
        Subject {
            name: name.to_owned(),
            digest: [("sha256".to_owned(), model.digest_hex().to_owned())].into(),
        },
        Subject {
            name: log_name,
            digest: [("sha256".to_owned(), evidence::sha256_hex(&log_bytes))].into(),
        },
    ])
}

fn list_evidence(source: &Where, model: Option<&str>, format: Format) -> Outcome {
    let records: Vec<updates::EvidenceRecord> = source.open()?.evidence(model)?;
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
        let mirrored = e
            .mirrored
            .as_ref()
            .map(|m| {
                format!(
                    " (mirrored from entry {} of coalition member `{}`, brought by `{}`)",
                    m.index, m.member, m.by
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "entry {}: {}@{} `{}` by `{}` ({}, for {}), evaluated {}: {result}{mirrored}\n",
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
                |_, party, at| {
                    let what = format!(
                        "{jurisdiction} recognises {} for {}",
                        labs.join(", "),
                        suites.join(", ")
                    );
                    let predicate = domain::RecognitionPublished {
                        authority: party.to_owned(),
                        jurisdiction,
                        labs,
                        suites,
                        min_assurance: assurance,
                        max_evidence_age_days: max_age_days,
                        at: at.to_owned(),
                    };
                    Ok((Draft::new(&predicate)?, what))
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
    let (now, _) = entry_time(at)?;
    let rows: Vec<updates::ContractReuse> = source.open()?.recognition_report(only, Some(now))?;
    if format == Format::Json {
        return print_json(&serde_json::to_value(&rows)?);
    }
    let mut out = String::new();
    for row in &rows {
        let instances = match row.met_by_evidence_from_other_instances {
            0 => String::new(),
            n => format!(", {n} of them logged by another instance of the coalition"),
        };
        out.push_str(&format!(
            "{} ({}): {} of {} evaluation requirements met; {} by evidence produced for another jurisdiction or instance (duplicate tests avoided){instances}\n",
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
                "  {} {}: met by evidence produced for {}{} ({})\n",
                reused.model,
                reused.requirement,
                reused.produced_for,
                reused
                    .logged_in
                    .as_deref()
                    .map(|m| format!(", logged by coalition member `{m}`"))
                    .unwrap_or_default(),
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
            split_model(&model)?;
            let (now, _) = entry_time(at.as_deref())?;
            let gate: Gate = source.open()?.gate(&contract, &model, Some(now))?.gate;
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
            let model_ref = model_ref(&model)?;
            act(
                &submit,
                |_, party, at| {
                    let what = format!("`{party}` approved {model} under `{contract}`");
                    let predicate = domain::VersionApproved {
                        approver: party.to_owned(),
                        contract,
                        model: model_ref,
                        at: at.to_owned(),
                    };
                    Ok((Draft::new(&predicate)?, what))
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
        snp_vcek,
        snp_processor,
        description,
    } = command;
    let bytes =
        std::fs::read(&report).with_context(|| format!("cannot read `{}`", report.display()))?;
    let mut digest = format!("sha256:{}", evidence::sha256_hex(&bytes));
    let evidence = match snp_vcek.as_deref().zip(snp_processor.as_deref()) {
        None => None,
        Some((vcek_path, processor)) => {
            let vcek = std::fs::read(vcek_path)
                .with_context(|| format!("cannot read `{}`", vcek_path.display()))?;
            let (evidence, verified) = service::snp::evidence(processor, &bytes, &vcek)
                .map_err(|e| verification_failed(anyhow!("`{}`: {e}", report.display())))?;
            digest = verified.report_digest;
            Some(evidence)
        }
    };
    let environment_kind: domain::contract::Environment =
        serde_json::from_value(environment.clone().into()).map_err(|_| {
            anyhow!(
                "--environment `{environment}`: expected vendor-cloud, government-cloud, on-premises-enclave or air-gapped"
            )
        })?;
    act(
        &submit,
        |_, party, at| {
            let what = format!("`{party}` attested the {environment} environment of `{contract}`");
            let predicate = domain::HostingAttested {
                party: party.to_owned(),
                contract,
                environment: environment_kind,
                report: digest,
                description,
                at: at.to_owned(),
                evidence,
            };
            Ok((Draft::new(&predicate)?, what))
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
            let model_ref = model_ref(&model)?;
            act(
                &submit,
                |_, party, at| {
                    let what = format!("{model} is in service in `{deployment}` of `{contract}`");
                    let predicate = domain::DeploymentActivated {
                        party: party.to_owned(),
                        contract,
                        deployment,
                        model: model_ref,
                        at: at.to_owned(),
                    };
                    Ok((Draft::new(&predicate)?, what))
                },
                format,
            )
        }
        DeployCommand::Rollback {
            submit,
            contract,
            deployment,
            reason,
        } => act(
            &submit,
            |instance, party, at| {
                let before = instance
                    .deployment(&contract, &deployment)?
                    .active
                    .unwrap_or_default();
                let what = format!("`{deployment}` of `{contract}` rolled back from {before}");
                let predicate = domain::DeploymentRolledBack {
                    party: party.to_owned(),
                    contract,
                    deployment,
                    reason,
                    at: at.to_owned(),
                    incident: None,
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        DeployCommand::History {
            source,
            contract,
            deployment,
        } => {
            let record = source.open()?.deployment(&contract, &deployment)?;
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
                    updates::DeploymentAction::Suspended => "suspended",
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
