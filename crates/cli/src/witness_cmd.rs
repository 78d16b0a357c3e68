//! `witness init|add-log|serve|evidence`: a C2SP `tlog-witness` for any number of logs, with
//! its own cosignature key, that keeps every checkpoint it cosigned and the evidence of any
//! log that showed two histories.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use crate::output::{Format, Outcome, print, print_json};
use crate::serve_cmd::Bind;

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness: a new cosignature key (`witness.key`) and a configuration with no
    /// logs (`witness.toml`). Prints the witness's verifier key, for logs to name it.
    #[command(after_help = "Example:
  concordat witness init --dir ./witness --name witness.example/w1")]
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The witness's name, as its cosignature lines carry it (e.g. `witness.example/w1`).
        #[arg(long)]
        name: String,
    },
    /// Witness a log: its origin and the verifier key(s) that sign its checkpoints (replaces
    /// the keys of a log already there). A running witness reads it when restarted.
    #[command(after_help = "Example:
  concordat key generate --name log.example/ai --out log.key > log.vkey
  concordat witness add-log --dir ./witness --origin log.example/ai --key \"$(cat log.vkey)\"")]
    AddLog {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        origin: String,
        /// A verifier key (C2SP text); repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
    },
    /// Serve the witness: `POST /add-checkpoint` (C2SP tlog-witness), `GET /checkpoint?origin=`
    /// (the latest cosigned), `GET /evidence` (requests that showed a log misbehaving).
    #[command(after_help = "Example:
  concordat witness serve --dir ./witness --listen 127.0.0.1:8800")]
    Serve {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        bind: Bind,
    },
    /// The evidence kept against logs: signed checkpoints that contradict what was cosigned.
    #[command(after_help = "Example:\n  concordat witness evidence --dir ./witness --format json")]
    Evidence {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub fn run(command: WitnessCommand, format: Format) -> Outcome {
    match command {
        WitnessCommand::Init { dir, name } => {
            let verifier = service::witness::init(&dir, &name)?;
            match format {
                Format::Json => print_json(
                    &json!({"name": name, "verifier_key": verifier.to_text(), "dir": dir}),
                ),
                Format::Text => print(&format!("{}\n", verifier.to_text())),
            }
        }
        WitnessCommand::AddLog { dir, origin, keys } => {
            service::witness::add_log(&dir, &origin, &keys)?;
            match format {
                Format::Json => print_json(&json!({"origin": origin, "keys": keys})),
                Format::Text => print(&format!(
                    "witnessing {origin} ({} key{})\n",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" }
                )),
            }
        }
        WitnessCommand::Serve { dir, bind } => serve(&dir, &bind),
        WitnessCommand::Evidence { dir } => {
            let kept = service::witness::Witness::open(&dir)?.evidence()?;
            match format {
                Format::Json => print_json(&json!(
                    kept.iter()
                        .map(|e| json!({
                            "origin": e.origin,
                            "reason": e.reason,
                            "received_ms": e.received_ms,
                            "request": String::from_utf8_lossy(&e.request),
                            "contradicts": e.against,
                        }))
                        .collect::<Vec<_>>()
                )),
                Format::Text if kept.is_empty() => {
                    print("no evidence: no log has shown this witness two histories\n")
                }
                Format::Text => print(
                    &kept
                        .iter()
                        .map(|e| format!("{}: {}\n", e.origin, e.reason))
                        .collect::<String>(),
                ),
            }
        }
    }
}

fn serve(dir: &std::path::Path, bind: &Bind) -> Outcome {
    crate::serve_cmd::init_logging();
    let witness = Arc::new(service::witness::Witness::open(dir)?);
    let tls = bind.tls()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&bind.listen)
            .await
            .with_context(|| format!("cannot listen on {}", bind.listen))?;
        let address = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "serving at {scheme}://{address}")?;
        writeln!(stdout, "witness key: {}", witness.verifier().to_text())?;
        stdout.flush()?;
        drop(stdout);
        let limits = bind.limits();
        let router = server::witness::router(Arc::clone(&witness), &limits);
        server::serve_router(listener, tls, router, limits, || {}, gateway::interrupted())
            .await
            .context("the witness stopped")?;
        anyhow::Ok(())
    })?;
    Ok(())
}
