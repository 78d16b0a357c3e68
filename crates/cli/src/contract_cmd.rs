//! `concordat contract check|schema` and `concordat addendum seal|verify`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use domain::contract::{self, Diagnostic, Sealed, Source, Step};
use serde_json::json;

use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Check a contract package: schemas, and that its modules agree with each other and with
    /// the regimes it names.
    #[command(after_help = "Examples:
  concordat contract check ./contracts/imagery-assistant
  concordat contract check ./contracts/imagery-assistant --format json

Prints every problem as `path:line:column: message` with a hint; exit 1 when there is one.")]
    Check {
        /// The package directory: contract.toml and modules/*.toml.
        dir: PathBuf,
    },
    /// Start a contract package from a template built from the standard module library.
    #[command(after_help = "Examples:
  concordat contract new --list
  concordat contract new --template border-services-assistant ./border-assistant \\
      --agency eu-border-agency --vendor polyglot-ai --auditor eu-ai-office

The package checks clean as written; edit its modules, then `concordat contract check DIR`.")]
    New {
        /// The template (see --list).
        #[arg(long, required_unless_present = "list")]
        template: Option<String>,
        /// Where to write the package (must not exist yet).
        #[arg(required_unless_present = "list")]
        dir: Option<PathBuf>,
        /// The agency's ledger id.
        #[arg(long, default_value = "agency")]
        agency: String,
        /// The vendor's ledger id.
        #[arg(long, default_value = "vendor")]
        vendor: String,
        /// The auditor's ledger id.
        #[arg(long, default_value = "auditor")]
        auditor: String,
        /// List the templates.
        #[arg(long)]
        list: bool,
    },
    /// Publish a contract package to a ledger; every party of the contract must sign.
    #[command(after_help = "Examples:
  # every party's key at hand: sign and submit at once
  concordat contract publish --dir ./concordat ./contract --key agency.key --key vendor.key --key auditor.key
  # otherwise: sign, pass the envelope on, submit when all have signed
  concordat contract publish --dir ./concordat ./contract --key agency.key --out publish.json
  concordat sign --key vendor.key --add-to publish.json > publish2.json
  concordat sign --key auditor.key --add-to publish2.json > publish3.json
  concordat submit --dir ./concordat publish3.json

The package must pass `contract check` first. A submission not signed by every party is refused,
naming who has not signed.")]
    Publish(PublishArgs),
    /// Publish a new version of a contract; every party (old and new) must sign, and the
    /// ledger records what changed.
    #[command(after_help = "Example:
  concordat contract amend --dir ./concordat ./contract --key agency.key --key vendor.key --key auditor.key")]
    Amend(PublishArgs),
    /// Show a contract as the ledger has it: current version, parties, addenda, history.
    #[command(
        after_help = "Example:\n  concordat contract show --dir ./concordat defense-imagery-analysis"
    )]
    Show {
        #[command(flatten)]
        source: crate::instance::Where,
        id: String,
    },
    /// List a contract's versions with the entries that made them.
    #[command(
        after_help = "Example:\n  concordat contract history --dir ./concordat defense-imagery-analysis"
    )]
    History {
        #[command(flatten)]
        source: crate::instance::Where,
        id: String,
    },
    /// Print what changed between two versions of a contract (default: the latest amendment).
    #[command(after_help = "Examples:
  concordat contract diff --dir ./concordat defense-imagery-analysis
  concordat contract diff --dir ./concordat defense-imagery-analysis --from 1.0.0 --to 1.2.0")]
    Diff {
        #[command(flatten)]
        source: crate::instance::Where,
        id: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Render a contract for people, module by module with clause ids, as Markdown, HTML or JSON.
    #[command(after_help = "Examples:
  concordat contract render ./contract --public > contract.md
  concordat contract render ./contract --public --format html > contract.html
  concordat contract render ./contract --public --format json | jq '.blocks[0]'
  concordat contract render ./contract --reveal annex-c.sealed.toml --format html > cleared.html

The public form shows sealed addenda as title, label and commitment only. --reveal adds the
text of addenda whose sealed halves open their commitments, and marks the edition cleared.")]
    Render {
        /// The contract package directory.
        dir: PathBuf,
        /// The public form (the default; refuses --reveal).
        #[arg(long, conflicts_with = "reveal")]
        public: bool,
        /// Sealed halves (from `addendum seal`) whose text to include; repeatable.
        #[arg(long)]
        reveal: Vec<PathBuf>,
    },
    /// Print the JSON Schema of a module kind, or of contract.toml (`contract`); without a
    /// kind, list the kinds.
    #[command(after_help = "Examples:
  concordat contract schema
  concordat contract schema testing-protocol > testing-protocol.schema.json")]
    Schema { kind: Option<String> },
}

/// What `contract publish` and `contract amend` take.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    #[command(flatten)]
    to: crate::instance::Where,
    /// The contract package directory.
    package: PathBuf,
    /// A party's signer key; repeatable.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Write the signed envelope here for others to co-sign, instead of submitting it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The public files of a package: contract.toml, its modules and its policy files.
fn public_files(dir: &Path) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    let problems = check_package(dir)?;
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .iter()
            .map(|p| format!("{}/{p}", dir.display()))
            .collect();
        return Err(verification_failed(anyhow!(
            "the package does not check; nothing was signed:\n{}",
            listed.join("\n")
        )));
    }
    let sources = read_package(dir)?;
    let package = contract::load(sources.clone())
        .map_err(|_| anyhow!("`{}` does not load", dir.display()))?;
    let mut files: std::collections::BTreeMap<String, String> =
        sources.into_iter().map(|s| (s.path, s.text)).collect();
    for module in &package.modules {
        if let contract::Module::UseRestrictions(restrictions) = &module.module {
            for path in &restrictions.policies {
                let text = std::fs::read_to_string(dir.join(path))
                    .with_context(|| format!("cannot read `{path}`"))?;
                files.insert(path.clone(), text);
            }
        }
    }
    Ok(files)
}

fn publish(args: PublishArgs, kind: domain::Kind, format: Format) -> Outcome {
    let files = public_files(&args.package)?;
    let package = contract::load(contract::sources(&files))
        .map_err(|_| anyhow!("`{}` does not load", args.package.display()))?;
    let predicate = domain::ContractPublished {
        contract: package.contract.id.clone(),
        version: package.contract.version.clone(),
        digest: contract::package_digest(&files),
        files,
    };
    let keys = args
        .keys
        .iter()
        .map(|path| crate::instance::read_signer(path))
        .collect::<Result<Vec<_>, _>>()?;
    let signers: Vec<&tlog::note::SignerKey> = keys.iter().collect();
    // An amendment has a publication's shape; the kind says which it is.
    let envelope = service::Draft::of_kind(kind, &predicate, Vec::new())?.sign(&signers)?;
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{}\n", envelope.to_json()))
            .with_context(|| format!("cannot write `{}`", out.display()))?;
        return print(&format!(
            "wrote `{}`, signed by {} key(s); co-sign with `concordat sign --key KEY --add-to {}`, then `concordat submit`\n",
            out.display(),
            args.keys.len(),
            out.display()
        ));
    }
    let source = format!(
        "contract `{}` {}",
        package.contract.id, package.contract.version
    );
    let receipt = crate::instance::submit_to(&args.to, &source, envelope.to_json().into_bytes())?;
    match format {
        Format::Json => print_json(
            &json!({ "contract": package.contract.id, "version": package.contract.version, "index": receipt.index }),
        ),
        Format::Text => print(&format!(
            "{} contract `{}` version {} at entry {}\n",
            if kind == domain::Kind::ContractPublished {
                "published"
            } else {
                "amended"
            },
            package.contract.id,
            package.contract.version,
            receipt.index
        )),
    }
}

fn recorded(source: &crate::instance::Where, id: &str) -> Result<domain::ContractRecord, Failure> {
    Ok(source.open()?.contract(id)?)
}

fn show(source: &crate::instance::Where, id: &str, format: Format) -> Outcome {
    let record = recorded(source, id)?;
    if format == Format::Json {
        return print_json(&json!({
            "id": record.id, "title": record.title, "parties": record.parties,
            "versions": record.versions, "addenda": record.addenda,
            "files": record.files.keys().collect::<Vec<_>>(),
        }));
    }
    let current = record.current();
    let mut out = format!(
        "contract:  {}\ntitle:     {}\nversion:   {} (entry {})\ndigest:    {}\nparties:   {}\nfiles:     {}\n",
        record.id,
        record.title,
        current.map_or("", |v| v.version.as_str()),
        current.map_or(0, |v| v.entry),
        current.map_or("", |v| v.digest.as_str()),
        record.parties.join(", "),
        record.files.keys().cloned().collect::<Vec<_>>().join(", "),
    );
    for addendum in &record.addenda {
        let status = match addendum.disclosed_at {
            Some(at) => format!("disclosed at entry {at}"),
            None => format!("sealed, commitment {}", addendum.commitment),
        };
        out.push_str(&format!(
            "addendum:  {} \"{}\" ({}): {status}\n",
            addendum.id, addendum.title, addendum.classification
        ));
    }
    print(&out)
}

fn history(source: &crate::instance::Where, id: &str, format: Format) -> Outcome {
    let record = recorded(source, id)?;
    match format {
        Format::Json => print_json(&json!(record.versions)),
        Format::Text => {
            let mut out = String::from("VERSION\tENTRY\tDIGEST\n");
            for version in &record.versions {
                out.push_str(&format!(
                    "{}\t{}\t{}\n",
                    version.version, version.entry, version.digest
                ));
            }
            print(&out)
        }
    }
}

fn diff(
    source: &crate::instance::Where,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Outcome {
    let record = recorded(source, id)?;
    let position = |version: &str| {
        record
            .versions
            .iter()
            .position(|v| v.version == version)
            .ok_or_else(|| {
                let known: Vec<&str> = record.versions.iter().map(|v| v.version.as_str()).collect();
                anyhow!(
                    "contract `{id}` has no version {version}; it has {}",
                    known.join(", ")
                )
            })
    };
    let last = record.versions.len().saturating_sub(1);
    let end = to.map(position).transpose()?.unwrap_or(last);
    let start = from
        .map(position)
        .transpose()?
        .unwrap_or(end.saturating_sub(1));
    if start >= end {
        return Err(anyhow!("--from must name a version before --to").into());
    }
    let mut out = String::new();
    for version in record.versions.iter().take(end + 1).skip(start + 1) {
        out.push_str(&format!(
            "## version {} (entry {})\n{}",
            version.version, version.entry, version.diff
        ));
    }
    print(&out)
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide a request against a contract's use restrictions and print the clauses behind
    /// the decision.
    #[command(after_help = "Example:
  concordat policy eval --contract ./contracts/imagery-assistant --request request.json

request.json:
  {\"user\": \"analyst-7\", \"agency\": \"agency-x\", \"role\": \"analyst\", \"clearance\": \"secret\",
   \"resource\": {\"kind\": \"deployment\", \"id\": \"imagery\"}, \"purpose\": \"imagery-analysis\",
   \"data_classification\": \"secret\", \"human_in_the_loop\": true, \"target_domain\": \"foreign\"}

`forbid` wins; nothing is allowed that no `permit` allows.")]
    Eval {
        /// The contract package directory.
        #[arg(long)]
        contract: PathBuf,
        /// The request, a JSON file (`-` for standard input).
        #[arg(long)]
        request: PathBuf,
    },
    /// Print Concordat's Cedar schema: the entities, action and context policies are written
    /// against.
    #[command(after_help = "Example:\n  concordat policy schema > concordat.cedarschema")]
    Schema,
}

pub fn policy_command(command: PolicyCommand, format: Format) -> Outcome {
    match command {
        PolicyCommand::Schema => print(policy::SCHEMA),
        PolicyCommand::Eval {
            contract: dir,
            request,
        } => {
            let (_, policies) = load_package(&dir)?;
            let policies = policies
                .ok_or_else(|| anyhow!("`{}` has no use-restrictions module", dir.display()))?;
            let bytes = crate::output::read_input(Some(&request))?;
            let request_value: policy::Request = serde_json::from_slice(&bytes).map_err(|e| {
                anyhow!(
                    "`{}`: line {} column {}: {e}",
                    request.display(),
                    e.line(),
                    e.column()
                )
            })?;
            request_value
                .validate()
                .map_err(|e| anyhow!("`{}`: {e}", request.display()))?;
            let decision = policies
                .decide(&request_value)
                .map_err(|e| anyhow!("`{}`: {e}", request.display()))?;
            match format {
                Format::Json => print_json(&serde_json::to_value(&decision)?),
                Format::Text => {
                    let verdict = if decision.allowed { "allow" } else { "deny" };
                    let because = if decision.clauses.is_empty() {
                        "no clause permits it (default deny)".to_owned()
                    } else {
                        decision
                            .clauses
                            .iter()
                            .map(|id| match policies.clause(id) {
                                Some(c) => {
                                    format!("clause `{id}` ({}:{}:{})", c.path, c.line, c.column)
                                }
                                None => format!("clause `{id}`"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    print(&format!("{verdict}: {because}\n"))
                }
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AddendumCommand {
    /// Seal a classified addendum: write its private half (text and salt) and print the public
    /// half (title, label, commitment) to add to contract.toml.
    #[command(after_help = "Example:
  concordat addendum seal --id annex-c --title 'Target-set handling' --classification SECRET \\
      annex-c.txt --out annex-c.sealed.toml

Keep the .sealed.toml with cleared parties only; the printed [[addenda]] entry is public.")]
    Seal {
        #[arg(long)]
        id: String,
        #[arg(long)]
        title: String,
        /// The classification label, e.g. SECRET or CUI.
        #[arg(long)]
        classification: String,
        /// The addendum's text.
        text: PathBuf,
        /// Where to write the private half (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    /// Fetch a sealed addendum's text from the instance (a server, or its directory), as a
    /// party cleared for it. The read is recorded in the ledger first; the text is checked against the public commitment and written
    /// (mode 0600) as a .sealed.toml that `addendum verify` and `contract render --reveal` open.
    #[command(after_help = "Examples:
  # the request signed with the party's key (RFC 9421 HTTP message signature)
  concordat addendum fetch --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --addendum annex-c --key agency.key --out annex-c.sealed.toml
  # or a bearer token from `concordat token issue` (also read from CONCORDAT_TOKEN)
  concordat addendum fetch --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --addendum annex-c --token-file agency.token --out annex-c.sealed.toml
  # in the instance directory: the operator key there records the read
  concordat addendum fetch --dir ./concordat --contract defense-imagery-analysis \\
      --addendum annex-c --key agency.key --out annex-c.sealed.toml

Exit 1 when the instance refuses the credential (401/403, with its reason) or sends text that does
not open the public commitment.")]
    Fetch(crate::restricted::FetchArgs),
    /// Deposit a sealed addendum's text with the instance (a server, or its directory), for the
    /// parties cleared for it. Kept only if it opens the public commitment.
    #[command(after_help = "Examples:
  concordat addendum deposit --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --key agency.key --cleared defense-agency --cleared oversight-office annex-c.sealed.toml
  concordat addendum deposit --dir ./concordat --contract defense-imagery-analysis annex-c.sealed.toml

Without --cleared every party of the contract may read it. Through a server, the depositor must be
a party of the contract (--key signs the request; --token-file sends a token).")]
    Deposit {
        #[arg(long)]
        contract: String,
        /// A party of the contract cleared to read it; repeatable (default: all its parties).
        #[arg(long = "cleared")]
        cleared: Vec<String>,
        #[command(flatten)]
        deposit: crate::restricted::DepositArgs,
    },
    /// Check a revealed addendum (its .sealed.toml) against a commitment.
    #[command(after_help = "Example:
  concordat addendum verify --commitment sha256:3b1f... annex-c.sealed.toml")]
    Verify {
        #[arg(long)]
        commitment: String,
        sealed: PathBuf,
    },
}

/// Every problem of the package in `dir`: its modules, its Cedar policies, and the proof that
/// the mandatory prohibitions hold.
fn check_package(dir: &Path) -> anyhow::Result<Vec<Diagnostic>> {
    let package = match contract::load(read_package(dir)?) {
        Ok(package) => package,
        Err(problems) => return Ok(problems),
    };
    let mut problems = contract::check(&package);
    match load_policies(dir, &package) {
        Err(policy_problems) => problems.extend(policy_problems),
        Ok(None) => problems.push(package.diagnostic(
            contract::CONTRACT_FILE,
            &[Step::Key("modules")],
            "the contract has no use-restrictions module",
            "pin a use-restrictions module whose Cedar policies forbid what the contract forbids",
        )),
        Ok(Some(policies)) => {
            for found in policy::prove(&policies, &policy::RequestSpace::for_policies(&policies))
                .map_err(|e| anyhow!("{e}"))?
            {
                problems.push(counterexample(&policies, &found));
            }
            if problems.is_empty() {
                problems.extend(symbolic_proof(&package, &policies));
            }
        }
    }
    Ok(problems)
}

/// The prohibitions proved over every request by an SMT solver, when this machine has one;
/// says on standard error when it has none.
fn symbolic_proof(package: &contract::Package, policies: &policy::Policies) -> Vec<Diagnostic> {
    let Some(solver) = service::admission::smt_solver() else {
        eprintln!(
            "note: the prohibitions were proved over the contract's declared purposes and the usual roles, not over every request: no SMT solver found (install cvc5, or set CONCORDAT_SMT_SOLVER)"
        );
        return Vec::new();
    };
    match policy::prove_symbolically(policies, &solver) {
        Ok(found) => found
            .iter()
            .map(|found| {
                located(
                    policies,
                    &found.clauses,
                    found.message(),
                    format!(
                        "every contract must forbid it (mandatory prohibition `{}`), for every role and purpose: add a `forbid` policy with no exception",
                        found.prohibition
                    ),
                )
            })
            .collect(),
        Err(error) => vec![package.diagnostic(
            contract::CONTRACT_FILE,
            &[],
            error.to_string(),
            "cvc5 reads every policy; z3 cannot read set literals such as `[\"a\", \"b\"].contains(..)`",
        )],
    }
}

/// A counterexample as a problem, located at the clause that permitted it.
fn counterexample(policies: &policy::Policies, found: &policy::Counterexample) -> Diagnostic {
    located(
        policies,
        &found.clauses,
        found.message(),
        format!(
            "every contract must forbid it (mandatory prohibition `{}`): add a `forbid` policy",
            found.prohibition
        ),
    )
}

/// A problem at the first of `clauses` (at contract.toml when none is known).
fn located(
    policies: &policy::Policies,
    clauses: &[String],
    message: String,
    hint: String,
) -> Diagnostic {
    let (path, line, column) = clauses
        .first()
        .and_then(|id| policies.clause(id))
        .map_or((contract::CONTRACT_FILE.to_owned(), 1, 1), |c| {
            (c.path.clone(), c.line, c.column)
        });
    Diagnostic {
        path,
        line,
        column,
        message,
        hint: Some(hint),
    }
}

/// The Cedar policies of the package's use-restrictions modules (`None` if it has none).
fn load_policies(
    dir: &Path,
    package: &contract::Package,
) -> Result<Option<policy::Policies>, Vec<Diagnostic>> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut any = false;
    for module in &package.modules {
        let contract::Module::UseRestrictions(restrictions) = &module.module else {
            continue;
        };
        any = true;
        for (index, path) in restrictions.policies.iter().enumerate() {
            match read_text(&dir.join(path)) {
                Ok(text) => sources.push(Source {
                    path: path.clone(),
                    text,
                }),
                Err(error) => problems.push(package.diagnostic(
                    &module.path,
                    &[Step::Key("policies"), Step::Index(index)],
                    format!("cannot read policy file `{path}`: {error:#}"),
                    "paths are relative to the package directory, and the file is UTF-8 text",
                )),
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !any {
        return Ok(None);
    }
    let purposes = package.purposes();
    policy::load(&sources).map(|policies| {
        Some(if purposes.is_empty() {
            policies
        } else {
            policies.with_purposes(purposes)
        })
    })
}

/// A package and its policies, for commands that need them sound enough to use.
fn load_package(dir: &Path) -> Result<(contract::Package, Option<policy::Policies>), Failure> {
    let listed = |problems: Vec<Diagnostic>| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow!(
            "`{}` has problems; run `concordat contract check` first:\n{}",
            dir.display(),
            lines.join("\n")
        )
    };
    let package = contract::load(read_package(dir)?).map_err(listed)?;
    let policies = load_policies(dir, &package).map_err(listed)?;
    Ok((package, policies))
}

/// Reads contract.toml and every modules/*.toml of a package.
/// A package file's text; a file that is not UTF-8 is refused with the line and column of its
/// first bad byte, so it can be found and saved again.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        let good = error.utf8_error().valid_up_to();
        let before = bytes.get(..good).unwrap_or_default();
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
            .chars()
            .count()
            + 1;
        let byte = bytes.get(good).copied().unwrap_or_default();
        anyhow!(
            "{}:{line}:{column}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8",
            path.display()
        )
    })
}

fn read_package(dir: &Path) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    let contract_path = dir.join(contract::CONTRACT_FILE);
    if contract_path.exists() {
        sources.push(Source {
            path: contract::CONTRACT_FILE.to_owned(),
            text: read_text(&contract_path)?,
        });
    }
    let modules = dir.join("modules");
    if modules.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&modules)
            .with_context(|| format!("cannot read `{}`", modules.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            sources.push(Source {
                path: format!("modules/{name}"),
                text: read_text(&path)?,
            });
        }
    }
    Ok(sources)
}

/// The document formats of `contract render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Markdown,
    Html,
}

// tidy: long function: one arm per `contract` subcommand; each arm is a few lines of parsing and printing.
pub fn contract(command: ContractCommand, format: Format, document: DocumentFormat) -> Outcome {
    match command {
        ContractCommand::Publish(args) => publish(args, domain::Kind::ContractPublished, format),
        ContractCommand::Amend(args) => publish(args, domain::Kind::ContractAmended, format),
        ContractCommand::Show { source, id } => show(&source, &id, format),
        ContractCommand::History { source, id } => history(&source, &id, format),
        ContractCommand::Diff {
            source,
            id,
            from,
            to,
        } => diff(&source, &id, from.as_deref(), to.as_deref()),
        ContractCommand::Render {
            dir,
            public: _,
            reveal,
        } => {
            let (package, policies) = load_package(&dir)?;
            let mut revealed = Vec::new();
            for path in &reveal {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                let sealed: Sealed = toml::from_str(&text)
                    .map_err(|e| anyhow!("`{}`: {}", path.display(), e.message()))?;
                let addendum = package
                    .contract
                    .addenda
                    .iter()
                    .find(|a| a.id == sealed.id)
                    .ok_or_else(|| {
                        anyhow!(
                            "`{}`: the contract has no addendum `{}`",
                            path.display(),
                            sealed.id
                        )
                    })?;
                contract::open_commitment(&addendum.commitment, &sealed).map_err(|reason| {
                    verification_failed(anyhow!("`{}`: {reason}", path.display()))
                })?;
                revealed.push(sealed);
            }
            let rendered = match document {
                _ if format == Format::Json => format!(
                    "{:#}\n",
                    server::render::json(&package, policies.as_ref(), &revealed)
                ),
                DocumentFormat::Markdown => {
                    server::render::markdown(&package, policies.as_ref(), &revealed)
                }
                DocumentFormat::Html => {
                    server::render::html(&package, policies.as_ref(), &revealed)
                }
            };
            print(&rendered)
        }
        ContractCommand::Check { dir } => {
            if !dir.is_dir() {
                return Err(anyhow!("`{}` is not a directory", dir.display()).into());
            }
            let problems = check_package(&dir)?;
            match format {
                Format::Json => print_json(&json!({
                    "sound": problems.is_empty(),
                    "problems": problems,
                }))?,
                Format::Text if problems.is_empty() => {
                    print(&format!("{}: the contract is sound\n", dir.display()))?;
                }
                Format::Text => {
                    let mut out = String::new();
                    for problem in &problems {
                        out.push_str(&format!("{}/{problem}\n", dir.display()));
                    }
                    print(&out)?;
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(verification_failed(anyhow!(
                    "{} problem{} in `{}`",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    dir.display()
                )))
            }
        }
        ContractCommand::New {
            template,
            dir,
            agency,
            vendor,
            auditor,
            list,
        } => {
            if list {
                let mut out = String::new();
                for template in &service::templates::TEMPLATES {
                    out.push_str(&format!("{}: {}\n", template.name, template.description));
                }
                return print(&out);
            }
            let name = template.unwrap_or_default();
            let template = service::templates::find(&name).ok_or_else(|| {
                let names: Vec<&str> = service::templates::TEMPLATES
                    .iter()
                    .map(|t| t.name)
                    .collect();
                anyhow!("no template `{name}`; templates are {}", names.join(", "))
            })?;
            let dir = dir.unwrap_or_default();
            if dir.exists() {
                return Err(
                    anyhow!("`{}` already exists; choose a new directory", dir.display()).into(),
                );
            }
            let parties = service::templates::Parties {
                agency,
                vendor,
                auditor,
            };
            for (path, text) in template.files(&parties) {
                let target = dir.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create `{}`", parent.display()))?;
                }
                std::fs::write(&target, text)
                    .with_context(|| format!("cannot write `{}`", target.display()))?;
            }
            print(&format!(
                "created `{}` from template `{}`; check it with `concordat contract check {}`\n",
                dir.display(),
                template.name,
                dir.display()
            ))
        }
        ContractCommand::Schema { kind: None } => {
            let kinds: Vec<serde_json::Value> = contract::MODULE_KINDS
                .iter()
                .map(|(kind, class)| json!({ "kind": kind, "class": class }))
                .collect();
            match format {
                Format::Json => print_json(&json!(kinds)),
                Format::Text => {
                    let mut out =
                        String::from("contract.toml: concordat contract schema contract\n");
                    for (kind, class) in contract::MODULE_KINDS {
                        out.push_str(&format!(
                            "{kind} ({class}): concordat contract schema {kind}\n"
                        ));
                    }
                    print(&out)
                }
            }
        }
        ContractCommand::Schema { kind: Some(kind) } => {
            let schema = contract::schema(&kind).ok_or_else(|| {
                anyhow!("`{kind}` is not a module kind; `concordat contract schema` lists them")
            })?;
            print(&format!("{}\n", serde_json::to_string_pretty(&schema)?))
        }
    }
}

pub fn addendum(command: AddendumCommand, format: Format) -> Outcome {
    match command {
        AddendumCommand::Seal {
            id,
            title,
            classification,
            text,
            out,
        } => {
            domain::ids::check_id("addendum id", &id).map_err(|e| anyhow!("--id: {e}"))?;
            let body = std::fs::read_to_string(&text)
                .with_context(|| format!("cannot read `{}`", text.display()))?;
            let (sealed, commitment) = service::sealed::seal(&id, body)?;
            crate::output::write_private(&out, &toml::to_string(&sealed)?)?;
            let public = contract::AddendumRef {
                id,
                title,
                classification,
                commitment,
            };
            match format {
                Format::Json => print_json(&serde_json::to_value(&public)?),
                Format::Text => print(&format!(
                    "# add to contract.toml (public):\n[[addenda]]\n{}",
                    toml::to_string(&public)?
                )),
            }
        }
        AddendumCommand::Fetch(args) => crate::restricted::fetch_addendum(args, format),
        AddendumCommand::Deposit {
            contract,
            cleared,
            deposit,
        } => crate::restricted::deposit_addendum(deposit, &contract, &cleared, format),
        AddendumCommand::Verify { commitment, sealed } => {
            let text = std::fs::read_to_string(&sealed)
                .with_context(|| format!("cannot read `{}`", sealed.display()))?;
            let opened: Sealed = toml::from_str(&text)
                .map_err(|e| anyhow!("`{}`: {}", sealed.display(), e.message()))?;
            match contract::open_commitment(&commitment, &opened) {
                Ok(()) => match format {
                    Format::Json => print_json(&json!({ "verified": true, "id": opened.id })),
                    Format::Text => print(&format!(
                        "verified: addendum `{}` matches the commitment\n",
                        opened.id
                    )),
                },
                Err(reason) => Err(Failure::Verification(anyhow!(reason))),
            }
        }
    }
}
