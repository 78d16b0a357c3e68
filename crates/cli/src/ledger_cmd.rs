//! The ledger commands: `init`, `party`, `key rotate|revoke`, `sign`, `statement`, `kinds`,
//! `submit`, `entry show` and `replay`.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use attest::statement::PAYLOAD_TYPE;
use attest::{Envelope, PublicKey, Statement, Subject};
use clap::{Args, Subcommand};
use domain::{KeyStatus, Kind, Role, State};
use serde_json::{Value, json};
use service::Draft;
use service::wire::SubmitReply;

use crate::instance::read_signer;
use crate::instance::{Where, operator_signer, submit_to};
use crate::output::{
    Failure, Format, Outcome, advance, print, print_json, progress_bar, read_input,
    verification_failed,
};

/// `concordat init`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  concordat init --dir ./concordat --origin ledger.example.gov/ai
  concordat init --dir ./node-a --origin ledger.example.gov/ai \\
      --database postgres://concordat@db.example:5432/ledger

Creates the store, the log and two keys in DIR/keys: log.key signs checkpoints, operator.key
signs as the operator party, which entry 0 registers. With --database (or DATABASE_URL) the log
is kept in PostgreSQL, its schema created or brought up to date; every node that serves it
needs the same two keys in its own DIR/keys.")]
pub struct InitArgs {
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    database: crate::instance::DatabaseUrl,
    /// The log's origin, conventionally its URL without scheme.
    #[arg(long)]
    origin: String,
    /// The operator party's display name.
    #[arg(long, default_value = "Ledger operator")]
    operator_name: String,
    /// Do not check entries' own times (`at`) against this machine's clock, so a rehearsal or
    /// demo can play out weeks of notice in minutes. Recorded in entry 0, which the operator signs, for all to see.
    #[arg(long)]
    simulated_clock: bool,
}

#[derive(Debug, Subcommand)]
pub enum PartyCommand {
    /// Register a party (signed by the operator).
    #[command(after_help = "Examples:
  concordat party register --dir ./concordat --name 'Acme AI' --role vendor --key acme.pem --jurisdiction US
  concordat party register --dir ./concordat --name 'EU AI Office' --id eu-ai-office --role overseer \\
      --key 'eu-ai-office+1a2b3c4d+AZ...' --jurisdiction EU
  concordat party register --server http://127.0.0.1:8700 --signer-key operator.key \\
      --name 'Acme AI' --role vendor --key acme.pem --jurisdiction US

--key takes a PEM public key file (Ed25519 or ECDSA P-256) or C2SP verifier-key text; repeat it
for several keys. The party id defaults to the name in lowercase with dashes.")]
    Register {
        #[command(flatten)]
        to: Where,
        #[arg(long)]
        name: String,
        /// agency, vendor, lab, auditor, overseer, witness, operator or gateway; repeatable.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// A public key: PEM file or C2SP verifier-key text; repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// ISO 3166 code (US, GB, IN, US-CA) or EU; repeatable.
        #[arg(long = "jurisdiction")]
        jurisdictions: Vec<String>,
        /// The party's ledger id (default: from the name).
        #[arg(long)]
        id: Option<String>,
        /// How the public reaches the party: an e-mail address or an https:// URL.
        #[arg(long)]
        contact: Option<String>,
        /// Sign with this key instead of the instance's operator key (required with --server).
        #[arg(long)]
        signer_key: Option<PathBuf>,
    },
    /// List the registered parties.
    #[command(
        after_help = "Examples:\n  concordat party list --dir ./concordat --format json\n  concordat party list --server http://127.0.0.1:8700"
    )]
    List {
        #[command(flatten)]
        source: crate::instance::Where,
    },
    /// Show one party with its keys.
    #[command(after_help = "Example:\n  concordat party show --dir ./concordat acme-ai")]
    Show {
        #[command(flatten)]
        source: crate::instance::Where,
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EntryCommand {
    /// Show an entry: its statement, who signed it, and its inclusion proof.
    #[command(
        after_help = "Examples:\n  concordat entry show --dir ./concordat 3\n  concordat entry show --server http://127.0.0.1:8700 3"
    )]
    Show {
        #[command(flatten)]
        source: crate::instance::Where,
        index: u64,
    },
}

/// `statement`: the Statement to print.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  concordat statement --kind party-statement notice.json > payload.json
  # sign payload.json with any DSSE signer (payload type application/vnd.in-toto+json),
  # then: concordat submit --dir ./concordat envelope.json")]
pub struct StatementArgs {
    /// The entry kind (see `concordat kinds`).
    #[arg(long)]
    kind: String,
    /// The predicate, a JSON file (`-` for standard input).
    predicate: PathBuf,
    /// A subject `NAME=sha256:HEX`; repeatable. Without one, the statement is about its own
    /// predicate.
    #[arg(long = "subject")]
    subjects: Vec<String>,
}

/// `sign`: what to sign and with which key.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  concordat sign --key acme.key --kind party-statement notice.json > notice.envelope.json
  concordat sign --key beta.key --add-to notice.envelope.json > notice.both.json
  concordat sign --key lab.key --kind party-statement result.json --subject model=sha256:0a1b...
  concordat sign --key lab.key --statement evidence.json > evidence.envelope.json
  concordat sign --key acme.key --kind party-statement --lines notices.jsonl | concordat submit --server URL -

Prints a DSSE envelope (payload type application/vnd.in-toto+json) whose signature carries its
key ID. --add-to adds this key's signature to an existing envelope, for entries several parties
must sign. A ledger logs each statement once: an envelope submitted again is refused, so two
entries that say the same thing differ in what they say (e.g. their `at`).")]
pub struct SignArgs {
    /// The signer key file (C2SP signer-key text, from `concordat key generate`).
    #[arg(long)]
    key: PathBuf,
    /// The entry kind (see `concordat kinds`).
    #[arg(long, required_unless_present_any = ["add_to", "statement"], conflicts_with_all = ["add_to", "statement"])]
    kind: Option<String>,
    /// The predicate, a JSON file (`-` for standard input).
    #[arg(required_unless_present_any = ["add_to", "statement"], conflicts_with_all = ["add_to", "statement"])]
    predicate: Option<PathBuf>,
    /// A subject `NAME=sha256:HEX`; repeatable.
    #[arg(long = "subject", conflicts_with_all = ["add_to", "statement"])]
    subjects: Vec<String>,
    /// Add a signature to this envelope instead of signing a new statement.
    #[arg(long, conflicts_with = "statement")]
    add_to: Option<PathBuf>,
    /// Sign this ready-made Statement (e.g. from `concordat evidence import`).
    #[arg(long)]
    statement: Option<PathBuf>,
    /// PREDICATE holds one predicate a line (JSON Lines): print one envelope a line, ready for
    /// `concordat submit -`.
    #[arg(long, requires = "kind")]
    lines: bool,
}

pub fn init(args: InitArgs, format: Format) -> Outcome {
    let dir = &args.dir;
    let clock = if args.simulated_clock {
        ledger::Clock::Simulated
    } else {
        ledger::Clock::System
    };
    let created = service::create_at(
        &args.database.at(dir)?,
        &args.origin,
        &args.operator_name,
        clock,
    )?;
    let operator_path = std::path::absolute(created.layout.operator_key())?;
    let operator_keyid = service::keys::keyid_of(&created.operator)?;
    let (log_key, operator) = (&created.log_key, &created.operator);
    match format {
        Format::Text => print(&format!(
            "created Concordat instance `{}` in {}\n\
             log verifier key:      {}\n\
             operator verifier key: {}\n\
             operator key file:     {}\n\
             operator key id:       {operator_keyid}\n\
             entry {} registers the operator party `operator`\n",
            args.origin,
            dir.display(),
            log_key.verifier(),
            operator.verifier(),
            operator_path.display(),
            created.genesis_index
        )),
        Format::Json => print_json(&json!({
            "dir": dir,
            "origin": args.origin,
            "log_verifier_key": log_key.verifier().to_text(),
            "operator_verifier_key": operator.verifier().to_text(),
            "operator_key_file": operator_path,
            "operator_keyid": operator_keyid,
            "genesis_index": created.genesis_index,
        })),
    }
}

/// A public key argument: a file holding a PEM or C2SP key, or the C2SP text itself.
fn read_public_key(argument: &str) -> anyhow::Result<String> {
    let path = Path::new(argument);
    let text = if path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{argument}`"))?
    } else {
        argument.to_owned()
    };
    PublicKey::parse(&text).with_context(|| format!("--key `{argument}`"))?;
    Ok(text.trim().to_owned())
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(63).collect()
}

fn print_receipt(source: &str, accepted: &SubmitReply, format: Format, extra: Value) -> Outcome {
    match format {
        Format::Text => print(&format!("{}\n", accepted.index)),
        Format::Json => {
            let mut value = json!({
                "source": source,
                "index": accepted.index,
                "checkpoint_size": accepted.checkpoint_size,
                "proof": accepted.proof,
            });
            if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
                map.extend(more);
            }
            print_json(&value)
        }
    }
}

// tidy: long function: one arm per `party` subcommand, each parsing and printing.
pub fn party(command: PartyCommand, format: Format) -> Outcome {
    match command {
        PartyCommand::Register {
            to,
            name,
            roles,
            keys,
            jurisdictions,
            id,
            contact,
            signer_key,
        } => {
            let roles = roles
                .iter()
                .map(|role| {
                    Role::parse(role).ok_or_else(|| {
                        let known: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
                        anyhow!(
                            "--role `{role}` is not a role; roles are {}",
                            known.join(", ")
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let keys = keys
                .iter()
                .map(|k| read_public_key(k))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let id = id.unwrap_or_else(|| slug(&name));
            let predicate = domain::PartyRegistered {
                party: id.clone(),
                name,
                roles,
                jurisdictions,
                keys,
                contact,
                instance: None,
            };
            let signer = operator_signer(&to, signer_key.as_deref())?;
            let envelope = Draft::new(&predicate)?.signed_bytes(&[&signer])?;
            let receipt = submit_to(&to, &format!("party `{id}`"), envelope)?;
            match format {
                Format::Text => print(&format!(
                    "registered party `{id}` at entry {}\n",
                    receipt.index
                )),
                Format::Json => {
                    print_receipt("party register", &receipt, format, json!({ "party": id }))
                }
            }
        }
        PartyCommand::List { source } => {
            let state = party_state(&source, None)?;
            match format {
                Format::Text => {
                    let mut out = String::from("ID\tNAME\tROLES\tJURISDICTIONS\tACTIVE KEYS\n");
                    for party in state.parties() {
                        out.push_str(&format!(
                            "{}\t{}\t{}\t{}\t{}\n",
                            party.id,
                            party.name,
                            roles_text(&party.roles, ","),
                            party.jurisdictions.join(","),
                            state.keys_of(&party.id).filter(|k| k.is_active()).count()
                        ));
                    }
                    print(&out)
                }
                Format::Json => print_json(&json!(
                    state
                        .parties()
                        .map(|party| party_json(&state, &party.id))
                        .collect::<Vec<_>>()
                )),
            }
        }
        PartyCommand::Show { source, id } => {
            let state = party_state(&source, Some(&id))?;
            let party = state
                .party(&id)
                .ok_or_else(|| anyhow!("party `{id}` is not registered"))?;
            match format {
                Format::Json => print_json(&party_json(&state, &id)),
                Format::Text => {
                    let mut out = format!(
                        "party:         {}\nname:          {}\nroles:         {}\njurisdictions: {}\nregistered at: entry {}\nkeys:\n",
                        party.id,
                        party.name,
                        roles_text(&party.roles, ", "),
                        party.jurisdictions.join(", "),
                        party.registered_at
                    );
                    for key in state.keys_of(&id) {
                        let status = match &key.status {
                            KeyStatus::Active => "active".to_owned(),
                            KeyStatus::Rotated { at, replaced_by } => {
                                format!("rotated at entry {at}, replaced by {replaced_by}")
                            }
                            KeyStatus::Revoked { at, reason } => {
                                format!("revoked at entry {at}: {reason}")
                            }
                        };
                        out.push_str(&format!(
                            "  {} ({}, added at entry {}): {status}\n",
                            key.keyid, key.algorithm, key.added_at
                        ));
                    }
                    print(&out)
                }
            }
        }
    }
}

fn roles_text(roles: &[Role], separator: &str) -> String {
    roles
        .iter()
        .map(|role| role.name())
        .collect::<Vec<_>>()
        .join(separator)
}

fn party_json(state: &State, id: &str) -> Value {
    let party = state.party(id);
    json!({
        "party": party,
        "keys": state.keys_of(id).collect::<Vec<_>>(),
    })
}

/// The parties (all, or one) and their keys, from the instance.
fn party_state(source: &Where, only: Option<&str>) -> Result<State, Failure> {
    let instance = source.open()?;
    let ids: Vec<String> = match only {
        Some(id) => vec![id.to_owned()],
        None => instance.parties()?.into_iter().map(|p| p.id).collect(),
    };
    let mut changes = Vec::new();
    for id in ids {
        let view = instance.party(&id)?;
        changes.push(domain::Change::PutParty(view.party));
        changes.extend(view.keys.into_iter().map(domain::Change::PutKey));
    }
    let mut state = State::default();
    state.commit(&changes);
    Ok(state)
}

/// `key rotate`.
pub fn rotate(
    to: &Where,
    party: &str,
    old: &str,
    new: &str,
    signer: Option<&Path>,
    format: Format,
) -> Outcome {
    let new_key = read_public_key(new)?;
    let keyid = PublicKey::parse(&new_key)?.keyid();
    let predicate = domain::KeyRotated {
        party: party.to_owned(),
        old_keyid: old.to_owned(),
        new_key,
    };
    let signer = operator_signer(to, signer)?;
    let envelope = Draft::new(&predicate)?.signed_bytes(&[&signer])?;
    let receipt = submit_to(to, &format!("key rotation for `{party}`"), envelope)?;
    match format {
        Format::Text => print(&format!(
            "key {old} of `{party}` replaced by {keyid} at entry {}\n",
            receipt.index
        )),
        Format::Json => print_receipt(
            "key rotate",
            &receipt,
            format,
            json!({ "new_keyid": keyid }),
        ),
    }
}

/// `key revoke`.
pub fn revoke(
    to: &Where,
    party: &str,
    keyid: &str,
    reason: &str,
    signer: Option<&Path>,
    format: Format,
) -> Outcome {
    let predicate = domain::KeyRevoked {
        party: party.to_owned(),
        keyid: keyid.to_owned(),
        reason: reason.to_owned(),
    };
    let signer = operator_signer(to, signer)?;
    let envelope = Draft::new(&predicate)?.signed_bytes(&[&signer])?;
    let receipt = submit_to(to, &format!("key revocation for `{party}`"), envelope)?;
    match format {
        Format::Text => print(&format!(
            "key {keyid} of `{party}` revoked at entry {}\n",
            receipt.index
        )),
        Format::Json => print_receipt("key revoke", &receipt, format, json!({})),
    }
}

fn parse_subject(text: &str) -> anyhow::Result<Subject> {
    let (name, digest) = text
        .rsplit_once('=')
        .ok_or_else(|| anyhow!("--subject `{text}`: expected NAME=sha256:HEX"))?;
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| anyhow!("--subject `{text}`: expected NAME=sha256:HEX"))?;
    let valid_hex = algorithm == "sha256"
        && hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if name.is_empty() || !valid_hex {
        bail!("--subject `{text}`: expected NAME=sha256:HEX with 64 lowercase hex digits");
    }
    Ok(Subject {
        name: name.to_owned(),
        digest: [("sha256".to_owned(), hex.to_owned())].into(),
    })
}

/// Builds the Statement `sign` and `statement` work on, checking the predicate against the
/// kind's schema by parsing it as the ledger will.
fn build_statement(
    kind_name: &str,
    path: Option<&Path>,
    subjects: &[String],
) -> anyhow::Result<Statement> {
    let kind = kind_named(kind_name)?;
    let source = path.map_or("standard input".to_owned(), |p| {
        format!("`{}`", p.display())
    });
    let bytes = read_input(path)?;
    let predicate: Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow!("{source}: line {} column {}: {e}", e.line(), e.column()))?;
    statement_of(kind, &predicate, subjects).with_context(|| source.clone())
}

fn kind_named(kind_name: &str) -> anyhow::Result<Kind> {
    Kind::from_name(kind_name).ok_or_else(|| {
        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        anyhow!(
            "--kind `{kind_name}` is not an entry kind; kinds are {}",
            known.join(", ")
        )
    })
}

fn statement_of(kind: Kind, predicate: &Value, subjects: &[String]) -> anyhow::Result<Statement> {
    kind.check_predicate(predicate).map_err(|e| anyhow!(e))?;
    let subjects = subjects
        .iter()
        .map(|s| parse_subject(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Draft::of_kind(kind, predicate, subjects)?
        .statement()
        .clone())
}

/// `sign --lines`: one envelope a line, for one predicate a line.
fn sign_lines(args: &SignArgs, key: &tlog::note::SignerKey) -> Outcome {
    let kind = kind_named(args.kind.as_deref().unwrap_or_default())?;
    let path = args.predicate.as_deref();
    let source = path.map_or("standard input".to_owned(), |p| {
        format!("`{}`", p.display())
    });
    let text =
        String::from_utf8(read_input(path)?).map_err(|e| anyhow!("{source}: not UTF-8: {e}"))?;
    let mut out = String::new();
    for (number, line) in (1..).zip(text.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let predicate: Value = serde_json::from_str(line)
            .map_err(|e| anyhow!("{source}: line {number} column {}: {e}", e.column()))?;
        let statement = statement_of(kind, &predicate, &args.subjects)
            .with_context(|| format!("{source}: line {number}"))?;
        out.push_str(&Draft::from_statement(statement).sign(&[key])?.to_json());
        out.push('\n');
    }
    print(&out)
}

/// `sign`: a signed envelope of a new Statement, or one more signature on an envelope.
pub fn sign(args: SignArgs, format: Format) -> Outcome {
    let key = read_signer(&args.key)?;
    if args.lines {
        return sign_lines(&args, &key);
    }
    let envelope = match args.add_to {
        Some(path) => {
            let bytes = read_input(Some(&path))?;
            let mut envelope =
                Envelope::parse(&bytes).with_context(|| format!("`{}`", path.display()))?;
            if envelope.payload_type != PAYLOAD_TYPE {
                return Err(anyhow!(
                    "`{}`: payloadType is `{}`, expected `{PAYLOAD_TYPE}`",
                    path.display(),
                    envelope.payload_type
                )
                .into());
            }
            envelope.sign(&key)?;
            envelope
        }
        None if args.statement.is_some() => {
            let path = args.statement.as_deref();
            let source = path.map_or(String::new(), |p| format!("`{}`", p.display()));
            let statement = Statement::parse(&read_input(path)?).with_context(|| source.clone())?;
            let kind = Kind::from_predicate_type(&statement.predicate_type).ok_or_else(|| {
                anyhow!(
                    "{source}: predicate type `{}` is not a Concordat entry kind",
                    statement.predicate_type
                )
            })?;
            kind.check_predicate(&statement.predicate)
                .map_err(|e| anyhow!(e))
                .with_context(|| source.clone())?;
            Draft::from_statement(statement).sign(&[&key])?
        }
        None => Draft::from_statement(build_statement(
            args.kind.as_deref().unwrap_or_default(),
            args.predicate.as_deref(),
            &args.subjects,
        )?)
        .sign(&[&key])?,
    };
    match format {
        Format::Text => print(&format!("{}\n", envelope.to_json())),
        Format::Json => print_json(&serde_json::from_str(&envelope.to_json())?),
    }
}

/// `statement`: the exact payload bytes to sign elsewhere.
pub fn statement_bytes(args: StatementArgs) -> Outcome {
    let statement = build_statement(&args.kind, Some(&args.predicate), &args.subjects)?;
    print(&String::from_utf8_lossy(&statement.to_bytes()))
}

/// `kinds`.
pub fn kinds(format: Format) -> Outcome {
    match format {
        Format::Json => print_json(&json!(
            Kind::ALL
                .iter()
                .map(|kind| json!({
                    "kind": kind.name(),
                    "predicateType": kind.predicate_type(),
                    "description": kind.describe(),
                    "schema": kind.schema(),
                }))
                .collect::<Vec<_>>()
        )),
        Format::Text => {
            let mut out = String::new();
            for kind in Kind::ALL {
                out.push_str(&format!(
                    "{}\n  predicate type: {}\n  {}\n  predicate schema:\n",
                    kind.name(),
                    kind.predicate_type(),
                    kind.describe()
                ));
                let schema = serde_json::to_string_pretty(&kind.schema())?;
                for line in schema.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
                out.push('\n');
            }
            print(&out)
        }
    }
}

/// `submit`: envelopes from files (each one entry; its tlog-proof is written beside it) or
/// standard input (`-`: one envelope a line), to the directory or through a server. Each
/// refusal is reported as it happens; the exit status sums them up.
pub fn submit(place: &Where, envelopes: &[PathBuf], format: Format) -> Outcome {
    let instance = place.open()?;
    // Envelopes are read as they are submitted (standard input may be long); their sources
    // wait here for their replies, which come in the same order.
    let sources = std::cell::RefCell::new(std::collections::VecDeque::new());
    let (mut submitted, mut refused, mut verification) = (0u64, 0u64, false);
    let mut inputs = envelope_inputs(envelopes).map(|input| {
        let (source, proof_path, bytes) = input?;
        sources.borrow_mut().push_back((source, proof_path));
        Ok(bytes)
    });
    // What stops the submissions early from the printing side: a proof file that cannot be
    // written, or standard output closed.
    let mut stopped: Option<Failure> = None;
    let mut stop = |failure: Failure| {
        stopped = Some(failure);
        service::ServiceError::Unavailable("stopped".to_owned())
    };
    let outcome = instance.submit_each(&mut inputs, &mut |reply| {
        let Some((source, proof_path)) = sources.borrow_mut().pop_front() else {
            return Ok(());
        };
        submitted += 1;
        match reply {
            Ok(accepted) => {
                if let Some(path) = &proof_path {
                    std::fs::write(path, &accepted.proof).map_err(|e| {
                        stop(anyhow!("cannot write `{}`: {e}", path.display()).into())
                    })?;
                }
                print_receipt(
                    &source,
                    &accepted,
                    format,
                    json!({ "proof_file": proof_path }),
                )
                .map_err(&mut stop)
            }
            Err(error) => {
                refused += 1;
                verification |= error.is_verification();
                eprintln!("{source}: {error}");
                Ok(())
            }
        }
    });
    instance.close()?;
    if let Some(failure) = stopped {
        return Err(failure);
    }
    outcome?;
    submission_outcome(refused, submitted, verification)
}

pub fn entry(command: EntryCommand, format: Format) -> Outcome {
    let EntryCommand::Show { source, index } = command;
    let instance = source.open()?;
    let view = instance.entry(index)?;
    let proof = instance.proof(index)?;
    let (statement, signers, kind) = (view.statement, view.signers, view.kind);
    match format {
        Format::Json => print_json(&json!({
            "index": index,
            "kind": kind,
            "statement": statement,
            "signers": signers,
            "proof": proof,
        })),
        Format::Text => {
            let mut out = format!(
                "entry {index}: {}\npredicate type: {}\nsubjects:\n",
                kind.as_deref().unwrap_or("(unknown kind)"),
                statement.predicate_type
            );
            for subject in &statement.subject {
                let digests: Vec<String> = subject
                    .digest
                    .iter()
                    .map(|(a, h)| format!("{a}:{h}"))
                    .collect();
                out.push_str(&format!("  {} {}\n", subject.name, digests.join(" ")));
            }
            out.push_str("predicate:\n");
            for line in serde_json::to_string_pretty(&statement.predicate)?.lines() {
                out.push_str(&format!("  {line}\n"));
            }
            out.push_str("signed by:\n");
            for signer in &signers {
                out.push_str(&format!("  {} (key {})\n", signer.party, signer.keyid));
            }
            out.push_str("inclusion proof:\n");
            for line in proof.lines() {
                out.push_str(&format!("  {line}\n"));
            }
            print(&out)
        }
    }
}

/// Replays the ledger with a progress bar on a terminal; returns the report.
pub fn run_replay(database: &store::Database) -> Result<ledger::ReplayReport, Failure> {
    let bar = progress_bar("replaying");
    let report = ledger::replay_at(database, &mut |progress| {
        advance(bar.as_ref(), progress.done, progress.total);
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(report?)
}

pub fn replay(database: &store::Database, format: Format) -> Outcome {
    let report = run_replay(database)?;
    if format == Format::Json {
        print_json(&json!({
            "entries": report.entries,
            "parties": report.parties,
            "keys": report.keys,
            "clean": report.is_clean(),
            "differences": report.differences,
        }))?;
    }
    if !report.is_clean() {
        return Err(verification_failed(anyhow!(
            "replay of {} differs from the stored state:\n  {}",
            database.describe(),
            report.differences.join("\n  ")
        )));
    }
    if format == Format::Text {
        print(&format!(
            "replayed {} entries: the stored state ({} parties, {} keys) is what the log gives\n",
            report.entries, report.parties, report.keys
        ))?;
    }
    Ok(())
}

/// What `submit` is given, one envelope at a time: a file (whose tlog-proof goes beside it),
/// or `-`, one envelope a line of standard input, read as it comes.
fn envelope_inputs(
    envelopes: &[PathBuf],
) -> impl Iterator<Item = service::Result<(String, Option<PathBuf>, Vec<u8>)>> + '_ {
    let unreadable = |what: String, e: std::io::Error| {
        service::ServiceError::BadRequest(format!("cannot read {what}: {e}"))
    };
    envelopes.iter().flat_map(move |path| {
        let inputs: Box<dyn Iterator<Item = _>> = if path == Path::new("-") {
            Box::new(
                std::io::stdin()
                    .lock()
                    .split(b'\n')
                    .enumerate()
                    .filter(|(_, line)| {
                        line.as_ref()
                            .map_or(true, |l| !l.iter().all(u8::is_ascii_whitespace))
                    })
                    .map(move |(number, line)| {
                        let line = line.map_err(|e| unreadable("standard input".to_owned(), e))?;
                        Ok((format!("standard input line {}", number + 1), None, line))
                    }),
            )
        } else {
            Box::new(std::iter::once(
                std::fs::read(path)
                    .map_err(|e| unreadable(format!("`{}`", path.display()), e))
                    .map(|bytes| {
                        (
                            format!("`{}`", path.display()),
                            Some(path.with_extension("tlog-proof")),
                            bytes,
                        )
                    }),
            ))
        };
        inputs
    })
}

/// The exit status of a submission: fine, or how many were refused (each reported already).
fn submission_outcome(refused: u64, submitted: u64, verification: bool) -> Outcome {
    if refused == 0 {
        return Ok(());
    }
    let summary = anyhow!("{refused} of {submitted} entries were not accepted (reasons above)");
    Err(if verification {
        verification_failed(summary)
    } else {
        Failure::Input(summary)
    })
}
