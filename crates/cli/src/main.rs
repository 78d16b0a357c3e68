//! `concordat`: the command-line tool — the ledger and its parties, contracts, update
//! governance, usage, the server and its demo, and the transparency log underneath (keys,
//! signed notes, proofs, offline verification).

mod coalition_cmd;
mod compliance_cmd;
mod contract_cmd;
mod designation_cmd;
mod gateway_cmd;
mod incident_cmd;
mod instance;
mod keys;
mod ledger_cmd;
mod log_cmd;
mod migrate_cmd;
mod note_cmd;
mod outbox_cmd;
mod output;
mod proof_cmd;
mod restricted;
mod seen;
mod serve_cmd;
mod sla_cmd;
mod token_cmd;
mod updates_cmd;
mod usage_cmd;
mod witness_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{Failure, Format};

/// Concordat makes an AI engagement between a government and a vendor explicit, enforceable
/// and verifiable. Every governance step is an entry in a public, tamper-evident log.
#[derive(Debug, Parser)]
#[command(
    name = "concordat",
    version,
    propagate_version = true,
    after_help = "Examples:
  concordat init --dir ./concordat --origin ledger.example.gov/ai
  concordat party register --dir ./concordat --name 'Acme AI' --role vendor --key acme.pem
  concordat sign --key acme.key --kind party-statement notice.json > notice.envelope.json
  concordat submit --dir ./concordat notice.envelope.json
  concordat key generate --name log.example.gov/ai --out log.key
  concordat log init --dir ./ledger --origin log.example.gov/ai --key log.key
  echo 'hello' | concordat log append --dir ./ledger
  concordat log prove --dir ./ledger --index 0 > entry.tlog-proof
  concordat proof verify --key \"$(cat log.vkey)\" --entry entry.txt entry.tlog-proof

Exit status: 0 on success, 1 when a verification fails (with the reason), 2 on bad usage or
input."
)]
struct Cli {
    /// Output for people (`text`) or programs (`json`); `contract render` also writes `md`
    /// (its default) and `html`.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a Concordat instance: store, log, operator key, and the entry registering it.
    Init(ledger_cmd::InitArgs),
    /// Register, list and show parties.
    #[command(subcommand)]
    Party(ledger_cmd::PartyCommand),
    /// Sign an entry (a DSSE envelope of an in-toto Statement), or add a signature to one.
    Sign(ledger_cmd::SignArgs),
    /// Print the Statement of an entry: the exact payload bytes to sign with another tool.
    Statement(ledger_cmd::StatementArgs),
    /// List every entry kind with its predicate type and the JSON Schema of its predicate.
    #[command(after_help = "Examples:\n  concordat kinds\n  concordat kinds --format json")]
    Kinds,
    /// Submit signed entries; print each index and write each tlog-proof beside its file.
    #[command(after_help = "Examples:
  concordat submit --dir ./concordat notice.envelope.json     # writes notice.envelope.tlog-proof
  cat envelopes.jsonl | concordat submit --dir ./concordat -   # one envelope a line
  concordat submit --server http://127.0.0.1:8700 notice.envelope.json   # through `concordat serve`

Accepts envelopes signed by any DSSE signer. A rejected entry is not logged; the reason names
the rule it breaks (exit 1).")]
    Submit {
        /// The instance directory, written directly.
        #[arg(long, required_unless_present = "server", conflicts_with = "server")]
        dir: Option<std::path::PathBuf>,
        /// A running server (`concordat serve`) to send the entries to, e.g. http://127.0.0.1:8700.
        #[arg(long)]
        server: Option<String>,
        #[command(flatten)]
        database: instance::DatabaseUrl,
        /// Envelope files; `-` reads one envelope a line from standard input.
        #[arg(required = true)]
        envelopes: Vec<std::path::PathBuf>,
    },
    /// Write contracts from templates, check, render, publish and amend them; show their history.
    #[command(subcommand)]
    Contract(contract_cmd::ContractCommand),
    /// Decide requests against a contract's Cedar use restrictions.
    #[command(subcommand)]
    Policy(contract_cmd::PolicyCommand),
    /// Seal classified addenda, deposit and fetch them on a server, check revealed ones.
    #[command(subcommand)]
    Addendum(contract_cmd::AddendumCommand),
    /// Register, verify, list and revoke model versions.
    #[command(subcommand)]
    Model(updates_cmd::ModelCommand),
    /// Turn evaluation logs into signed evidence; list it; deposit and reveal sealed results;
    /// mirror evidence another coalition member logged.
    #[command(subcommand)]
    Evidence(updates_cmd::EvidenceCommand),
    /// Publish which labs' evidence a jurisdiction accepts; report duplicate tests avoided.
    #[command(subcommand)]
    Recognition(updates_cmd::RecognitionCommand),
    /// Log the coalition of instances whose evidence this one recognises; show it.
    #[command(subcommand)]
    Coalition(coalition_cmd::CoalitionCommand),
    /// What a model version still needs before it may serve; approve it.
    #[command(subcommand)]
    Gate(updates_cmd::GateCommand),
    /// Attest a contract's hosting environment.
    #[command(subcommand)]
    Hosting(updates_cmd::HostingCommand),
    /// Put an approved version in service, roll back in one step, show a deployment's history.
    #[command(subcommand)]
    Deploy(updates_cmd::DeployCommand),
    /// Record, list and read a deployment's usage: decisions in batches, counts in public,
    /// records for the auditors allowed to read them.
    #[command(subcommand)]
    Usage(usage_cmd::UsageCommand),
    /// The enforcement gateway: an OpenAI-compatible proxy that decides every model request
    /// against the contract; its users' API keys; a stand-in model to try it with.
    #[command(subcommand)]
    Gateway(gateway_cmd::GatewayCommand),
    /// Measure a deployment's service levels against its contract, from the gateways' usage.
    #[command(subcommand)]
    Sla(sla_cmd::SlaCommand),
    /// Report, update, notify and close incidents; see each duty's clock.
    #[command(subcommand)]
    Incident(incident_cmd::IncidentCommand),
    /// Record an incident's root cause and damages; report who pays what under the contract.
    #[command(subcommand)]
    Liability(incident_cmd::LiabilityCommand),
    /// Compliance across regimes: each requirement met, a gap, or not applicable, per contract.
    #[command(subcommand)]
    Compliance(compliance_cmd::ComplianceCommand),
    /// Supply-chain-risk designations: issue, appeal, decide, lift, list.
    #[command(subcommand)]
    Designation(designation_cmd::DesignationCommand),
    /// Where a party's notifications go, and what the instance delivered (signed webhooks).
    #[command(subcommand)]
    Outbox(outbox_cmd::OutboxCommand),
    /// Show ledger entries.
    #[command(subcommand)]
    Entry(ledger_cmd::EntryCommand),
    /// Rebuild the state from the log and report any difference from the stored state.
    #[command(after_help = "Example:\n  concordat replay --dir ./concordat")]
    Replay {
        #[arg(long)]
        dir: std::path::PathBuf,
        #[command(flatten)]
        database: instance::DatabaseUrl,
    },
    /// Serve an instance over HTTP(S): the JSON API, the C2SP endpoints and the public portal.
    #[command(after_help = "Examples:
  concordat serve --dir ./concordat
  concordat serve --dir ./concordat --listen 0.0.0.0:8700
  concordat serve --dir ./concordat --listen 0.0.0.0:8443 --tls-cert fullchain.pem --tls-key key.pem
  concordat serve --dir ./concordat --listen 0.0.0.0:8700 --authority ledger.example.gov

Prints `serving at URL` once listening; stops on Ctrl-C or SIGTERM. While it runs it holds the
instance's writer lock: send entries to it (POST /api/entries) instead of writing directly.
Signed requests are answered only for the names the server is reached by: its listen address
(and localhost for a loopback or any address), its certificate's DNS names, and each --authority.
A client holds at most --max-connections-per-client connections, each closed when a request head
takes longer than --header-timeout seconds. CONCORDAT_LOG=debug logs more.")]
    Serve {
        #[arg(long)]
        dir: std::path::PathBuf,
        #[command(flatten)]
        database: instance::DatabaseUrl,
        #[command(flatten)]
        how: serve_cmd::Listen,
    },
    /// Create a temporary instance seeded with a realistic engagement, and serve it.
    #[command(after_help = "Examples:
  concordat demo
  concordat demo --listen 127.0.0.1:0 --dir ./demo

Prints the URL and commands to try, including offline verification of an entry.")]
    Demo {
        /// Keep the instance here instead of in a temporary directory (must not exist yet).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        #[command(flatten)]
        how: serve_cmd::Listen,
    },
    /// Issue, revoke and list bearer tokens for restricted reads on a server.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Create signing keys (C2SP signed-note key text); rotate and revoke parties' keys.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Sign and verify C2SP signed notes.
    #[command(subcommand)]
    Note(note_cmd::NoteCommand),
    /// Create, append to, prove from and verify a transparency log.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// A C2SP tlog-witness: cosign logs' checkpoints, keep what was cosigned, and keep the
    /// evidence of a log that shows two histories.
    #[command(subcommand)]
    Witness(witness_cmd::WitnessCommand),
    /// Move an instance's log into PostgreSQL, verified checkpoint for checkpoint.
    Migrate(migrate_cmd::MigrateArgs),
    /// Verify C2SP tlog-proof files offline.
    #[command(subcommand)]
    Proof(proof_cmd::ProofCommand),
}

/// The values `--format` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Md,
    Html,
}

// tidy: long function: one arm per subcommand, each handing its arguments to its module.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let document_format = match cli.format {
        FormatArg::Html => contract_cmd::DocumentFormat::Html,
        _ => contract_cmd::DocumentFormat::Markdown,
    };
    let format = match cli.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Md | FormatArg::Html => {
            let html_report = cli.format == FormatArg::Html
                && matches!(
                    cli.command,
                    Command::Compliance(compliance_cmd::ComplianceCommand::Report { .. })
                );
            if !html_report
                && !matches!(
                    cli.command,
                    Command::Contract(contract_cmd::ContractCommand::Render { .. })
                )
            {
                eprintln!(
                    "error: --format md and --format html are for `concordat contract render` (and html for `concordat compliance report`)"
                );
                return ExitCode::from(2);
            }
            Format::Text
        }
    };
    let result = match cli.command {
        Command::Init(args) => ledger_cmd::init(args, format),
        Command::Party(command) => ledger_cmd::party(command, format),
        Command::Sign(args) => ledger_cmd::sign(args, format),
        Command::Statement(args) => ledger_cmd::statement_bytes(args),
        Command::Kinds => ledger_cmd::kinds(format),
        Command::Submit {
            dir,
            server,
            database,
            envelopes,
        } => ledger_cmd::submit(
            &instance::Where {
                dir,
                server,
                database,
            },
            &envelopes,
            format,
        ),
        Command::Entry(command) => ledger_cmd::entry(command, format),
        Command::Model(command) => updates_cmd::model(command, format),
        Command::Evidence(command) => updates_cmd::evidence(command, format),
        Command::Recognition(command) => updates_cmd::recognition(command, format),
        Command::Coalition(command) => coalition_cmd::run(command, format),
        Command::Gate(command) => updates_cmd::gate(command, format),
        Command::Hosting(command) => updates_cmd::hosting(command, format),
        Command::Deploy(command) => updates_cmd::deploy(command, format),
        Command::Usage(command) => usage_cmd::run(command, format),
        Command::Gateway(command) => gateway_cmd::run(command, format),
        Command::Sla(command) => sla_cmd::run(command, format),
        Command::Incident(command) => incident_cmd::run(command, format),
        Command::Liability(command) => incident_cmd::liability(command, format),
        Command::Designation(command) => designation_cmd::run(command, format),
        Command::Compliance(command) => {
            compliance_cmd::run(command, format, cli.format == FormatArg::Html)
        }
        Command::Outbox(command) => outbox_cmd::run(command, format),
        Command::Contract(command) => contract_cmd::contract(command, format, document_format),
        Command::Addendum(command) => contract_cmd::addendum(command, format),
        Command::Policy(command) => contract_cmd::policy_command(command, format),
        Command::Replay { dir, database } => database
            .at(&dir)
            .map_err(Failure::from)
            .and_then(|database| ledger_cmd::replay(&database, format)),
        Command::Serve { dir, database, how } => {
            serve_cmd::init_logging();
            database
                .at(&dir)
                .map_err(Failure::from)
                .and_then(|database| serve_cmd::serve(&database, &how, &|_| String::new()))
        }
        Command::Demo { dir, how } => {
            serve_cmd::init_logging();
            serve_cmd::demo(dir, &how)
        }
        Command::Token(command) => token_cmd::run(command, format),
        Command::Key(command) => keys::run(command, format),
        Command::Note(command) => note_cmd::run(command, format),
        Command::Log(command) => log_cmd::run(command, format),
        Command::Witness(command) => witness_cmd::run(command, format),
        Command::Migrate(args) => migrate_cmd::run(&args, format),
        Command::Proof(command) => proof_cmd::run(command, format),
    };
    match result {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Verification(error)) => {
            eprintln!("verification failed: {error:#}");
            ExitCode::from(1)
        }
        // What the instance refused after checking it (a rule, a signature, a credential, a
        // commitment) is a failed verification wherever it surfaces.
        Err(Failure::Input(error)) if output::is_verification(&error) => {
            eprintln!("verification failed: {error:#}");
            ExitCode::from(1)
        }
        Err(Failure::Input(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
