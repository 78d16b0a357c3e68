//! `concordat`: the command-line tool. For now it speaks the transparency log: keys, signed
//! notes, a durable log, proofs and offline verification.

mod keys;
mod log_cmd;
mod note_cmd;
mod output;
mod proof_cmd;

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
  concordat key generate --name log.example.gov/ai --out log.key
  concordat log init --dir ./ledger --origin log.example.gov/ai --key log.key
  echo 'hello' | concordat log append --dir ./ledger
  concordat log prove --dir ./ledger --index 0 > entry.tlog-proof
  concordat proof verify --key \"$(cat log.vkey)\" --entry entry.txt entry.tlog-proof

Exit status: 0 on success, 1 when a verification fails (with the reason), 2 on bad usage or
input."
)]
struct Cli {
    /// Output for people (`text`) or programs (`json`).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create signing keys (C2SP signed-note key text).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Sign and verify C2SP signed notes.
    #[command(subcommand)]
    Note(note_cmd::NoteCommand),
    /// Create, append to, prove from and verify a transparency log.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// Verify C2SP tlog-proof files offline.
    #[command(subcommand)]
    Proof(proof_cmd::ProofCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(command) => keys::run(command, cli.format),
        Command::Note(command) => note_cmd::run(command, cli.format),
        Command::Log(command) => log_cmd::run(command, cli.format),
        Command::Proof(command) => proof_cmd::run(command, cli.format),
    };
    match result {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Verification(error)) => {
            eprintln!("verification failed: {error:#}");
            ExitCode::from(1)
        }
        Err(Failure::Input(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
