//! `concordat log`: create a log, append entries durably, print checkpoints and proofs, verify.

use std::io::{BufRead as _, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use serde_json::json;
use store::{Appender, GroupCommit, Reader, Ticket, VerifyFailure, Writer};

use crate::instance::{DatabaseUrl, read_signer};

use crate::keys::parse_verifier;
use crate::output::{
    Failure, Format, Outcome, advance, print, print_json, progress_bar, verification_failed,
};

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Create a log in a directory, with its signer key and an empty signed checkpoint.
    #[command(after_help = "Example:
  concordat key generate --name log.example.gov/ai --out log.key
  concordat log init --dir ./ledger --origin log.example.gov/ai --key log.key

The log remembers where the key file is; `log append` signs with it.")]
    Init {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseUrl,
        /// The checkpoint origin line, conventionally the log's URL without scheme.
        #[arg(long)]
        origin: String,
        /// The signer key file (from `concordat key generate`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Append entries durably and print each one's index once it is committed.
    #[command(after_help = "Examples:
  concordat log append --dir ./ledger contract.json approval.json
  printf 'first\\nsecond\\n' | concordat log append --dir ./ledger

Each FILE is one entry. Without files, each line of standard input is one entry (without its
newline). An index is printed only after the entry and a checkpoint covering it are on disk.
One process writes a log at a time.")]
    Append {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseUrl,
        /// The signer key file, if not the one recorded by `log init`.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The most entries committed in one transaction.
        #[arg(long, default_value_t = GroupCommit::default().batch_entries_max)]
        batch_entries_max: usize,
        /// How long a batch may wait for more entries before committing.
        #[arg(long, default_value_t = GroupCommit::default().batch_wait_ms)]
        batch_wait_ms: u64,
        /// Entry files (standard input, one entry a line, when absent).
        files: Vec<PathBuf>,
    },
    /// Print the latest signed checkpoint.
    #[command(after_help = "Example:
  concordat log checkpoint --dir ./ledger > checkpoint.note")]
    Checkpoint {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseUrl,
    },
    /// Print a C2SP tlog-proof that an entry is in the log.
    #[command(after_help = "Examples:
  concordat log prove --dir ./ledger --index 7 > entry7.tlog-proof
  concordat log prove --dir ./ledger --index 7 --size 100

The proof is against the latest checkpoint, or the one signed at --size.")]
    Prove {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseUrl,
        #[arg(long)]
        index: u64,
        /// A tree size the log signed a checkpoint at (the latest when absent).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Print the consistency proof between two tree sizes, one base64 hash a line.
    #[command(after_help = "Example:
  concordat log consistency --dir ./ledger --old 100 --new 250")]
    Consistency {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseUrl,
        #[arg(long)]
        old: u64,
        /// The newer size (the latest checkpoint's when absent).
        #[arg(long)]
        new: Option<u64>,
    },
    /// Verify a log: in its directory, recompute every hash and root from the entries and check
    /// every stored tile and signed checkpoint (and, for a ledger, every signature and rule);
    /// through a server, check its latest checkpoint. Either way, prove the log only grew since
    /// the checkpoints seen before: --since, and the largest this machine verified.
    #[command(after_help = "Examples:
  concordat log verify --dir ./ledger
  concordat log verify --dir ./ledger --key 'log.example.gov/ai+1a2b3c4d+AZ...' --format json
  concordat log verify --server https://ledger.example.gov --key log.vkey --since seen.checkpoint
  concordat log verify --dir ./ledger --witness https://witness.example/w1

Exit status 1 names the first entry, tile hash or checkpoint that does not match, or the
checkpoint seen before that the log no longer extends (rolled back or forked). The largest
checkpoint verified for each log is kept in $CONCORDAT_STATE_DIR (else $XDG_STATE_HOME/concordat,
else ~/.local/state/concordat), as Go's checksum database client does.")]
    Verify {
        #[command(flatten)]
        at: crate::instance::Where,
        /// The verifier key you expect the log to use (text or file); the log's own otherwise.
        #[arg(long)]
        key: Option<String>,
        /// A checkpoint of this log seen before (its signed note, as `log checkpoint` or
        /// `/checkpoint` gives it): the log must extend it.
        #[arg(long)]
        since: Option<PathBuf>,
        /// A witness (its URL) to ask for evidence against the log; repeatable. Two
        /// checkpoints the log signed for one size with different roots refuse the log.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
    },
}

pub fn run(command: LogCommand, format: Format) -> Outcome {
    match command {
        LogCommand::Init {
            dir,
            database,
            origin,
            key,
        } => init(&database.at(&dir)?, &origin, &key, format),
        LogCommand::Append {
            dir,
            database,
            key,
            batch_entries_max,
            batch_wait_ms,
            files,
        } => {
            let config = GroupCommit {
                batch_entries_max: batch_entries_max.max(1),
                batch_wait_ms,
                ..GroupCommit::default()
            };
            append(&database.at(&dir)?, key.as_deref(), config, &files, format)
        }
        LogCommand::Checkpoint { dir, database } => checkpoint(&database.at(&dir)?, format),
        LogCommand::Prove {
            dir,
            database,
            index,
            size,
        } => prove(&database.at(&dir)?, index, size),
        LogCommand::Consistency {
            dir,
            database,
            old,
            new,
        } => consistency(&database.at(&dir)?, old, new, format),
        LogCommand::Verify {
            at,
            key,
            since,
            witnesses,
        } => {
            let since = since
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read `{}`", path.display()))
                        .map(|text| (path, text))
                })
                .transpose()?;
            match (&at.dir, &at.server) {
                (Some(dir), _) => verify(
                    &at.database.at(dir)?,
                    key.as_deref(),
                    since.as_ref(),
                    &witnesses,
                    format,
                ),
                (None, Some(url)) => {
                    verify_server(url, key.as_deref(), since.as_ref(), &witnesses, format)
                }
                (None, None) => Err(anyhow!("give --dir or --server").into()),
            }
        }
    }
}

fn init(database: &store::Database, origin: &str, key_path: &Path, format: Format) -> Outcome {
    let key = read_signer(key_path)?;
    let absolute = std::path::absolute(key_path)
        .with_context(|| format!("cannot resolve `{}`", key_path.display()))?;
    let info = store::init_at(database, origin, &key, Some(&absolute), &[])?;
    match format {
        Format::Text => print(&format!(
            "created log `{origin}` in {}\nverifier key: {}\n",
            database.describe(),
            info.verifier_key
        )),
        Format::Json => print_json(&json!({
            "dir": database.dir(),
            "database": database.describe(),
            "origin": origin,
            "verifier_key": info.verifier_key.to_text(),
            "signer_key_file": absolute,
        })),
    }
}

fn open_writer(database: &store::Database, key: Option<&Path>) -> Result<Writer, Failure> {
    let info = Reader::open_at(database, 64)?.info().clone();
    let key_path = match key {
        Some(path) => path.to_owned(),
        None => info.signer_key_path.clone().ok_or_else(|| {
            anyhow!(
                "the log in {} does not record its signer key; pass --key",
                database.describe()
            )
        })?,
    };
    let signer = read_signer(&key_path)?;
    Ok(Writer::open_at(database, signer)?)
}

fn append(
    database: &store::Database,
    key: Option<&Path>,
    config: GroupCommit,
    files: &[PathBuf],
    format: Format,
) -> Outcome {
    let writer = open_writer(database, key)?;
    let appender = Appender::start(writer, config)?;
    // Acknowledgements are printed in order by a thread of their own while entries are still
    // being read and submitted, so a stream of entries is committed in batches.
    let (sender, receiver) = mpsc::sync_channel::<Ticket>(config.queue_entries_max);
    let printer = std::thread::spawn(move || print_acknowledgements(&receiver, format));
    let submitted = submit_entries(&appender, files, &sender);
    drop(sender);
    let printed = printer
        .join()
        .map_err(|_| anyhow!("the output thread stopped unexpectedly"))?;
    appender.close()?;
    // An acknowledgement that failed says more than the submission it stopped.
    printed?;
    submitted
}

fn submit_entries(
    appender: &Appender,
    files: &[PathBuf],
    sender: &mpsc::SyncSender<Ticket>,
) -> Outcome {
    let submit = |entry: Vec<u8>, source: &dyn Fn() -> String| -> Outcome {
        let ticket = appender.submit(entry).with_context(source)?;
        // The printer stops early only when output failed; it reports that itself.
        sender.send(ticket).map_err(|_| Failure::BrokenPipe)
    };
    if files.is_empty() {
        let mut stdin = std::io::stdin().lock();
        let mut line_number = 0u64;
        loop {
            let mut line = Vec::new();
            let read = stdin
                .read_until(b'\n', &mut line)
                .context("cannot read standard input")?;
            if read == 0 {
                return Ok(());
            }
            line_number += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            submit(line, &|| format!("standard input line {line_number}"))?;
        }
    }
    for file in files {
        let entry =
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        submit(entry, &|| format!("`{}`", file.display()))?;
    }
    Ok(())
}

fn print_acknowledgements(receiver: &mpsc::Receiver<Ticket>, format: Format) -> Outcome {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut write = |text: String, flush: bool| -> Outcome {
        let written = out
            .write_all(text.as_bytes())
            .and_then(|()| if flush { out.flush() } else { Ok(()) });
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
            Err(e) => Err(anyhow::Error::new(e).context("cannot write output").into()),
        }
    };
    let mut pending = receiver.recv().ok();
    while let Some(ticket) = pending {
        let appended = ticket.wait()?;
        let line = match format {
            Format::Text => format!("{}\n", appended.index),
            Format::Json => format!(
                "{}\n",
                json!({ "index": appended.index, "checkpoint_size": appended.checkpoint.size })
            ),
        };
        // Flush whenever no further acknowledgement is ready, so each index is visible as soon
        // as it is durable without a write per line under load.
        pending = receiver.try_recv().ok();
        let flush = pending.as_ref().is_none_or(|next| !next.is_ready());
        write(line, flush)?;
        if pending.is_none() {
            pending = receiver.recv().ok();
        }
    }
    write(String::new(), true)
}

fn checkpoint(database: &store::Database, format: Format) -> Outcome {
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
    let latest = reader.latest_checkpoint()?;
    match format {
        Format::Text => print(&latest.note),
        Format::Json => print_json(&json!({
            "origin": reader.info().origin,
            "size": latest.size,
            "root": latest.root.to_base64(),
            "note": latest.note,
        })),
    }
}

fn prove(database: &store::Database, index: u64, size: Option<u64>) -> Outcome {
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
    let file = reader.proof_file(index, size)?;
    print(&file.to_text())
}

fn consistency(database: &store::Database, old: u64, new: Option<u64>, format: Format) -> Outcome {
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
    let new = match new {
        Some(new) => new,
        None => reader.latest_checkpoint()?.size,
    };
    if old > new {
        return Err(anyhow!("--old {old} is larger than --new {new}").into());
    }
    let proof = reader.consistency_proof(old, new)?;
    match format {
        Format::Text => print(
            &proof
                .iter()
                .map(|hash| format!("{}\n", hash.to_base64()))
                .collect::<String>(),
        ),
        Format::Json => print_json(&json!({
            "old": old,
            "new": new,
            "old_root": reader.root_at(old)?.to_base64(),
            "new_root": reader.root_at(new)?.to_base64(),
            "proof": proof.iter().map(tlog::Hash::to_base64).collect::<Vec<_>>(),
        })),
    }
}

/// A checkpoint seen before (`--since`): the file it came from and its text.
type Since = (PathBuf, String);

/// Proves that the log grew from `--since` and from the checkpoint this machine verified
/// before, to `latest`, with `prove` (old size, new size → consistency proof); then remembers
/// `latest`. Each check that passed, in words.
fn growth(
    origin: &str,
    key: &tlog::note::VerifierKey,
    latest: &crate::seen::Seen,
    since: Option<&Since>,
    prove: &dyn Fn(u64, u64) -> anyhow::Result<Vec<tlog::Hash>>,
) -> Result<Vec<String>, Failure> {
    use crate::seen::{Seen, grown, remember, remembered};
    let mut checks = Vec::new();
    let new = &latest.checkpoint;
    if let Some((path, text)) = since {
        let old = Seen::open(text, origin, key).map_err(|e| {
            verification_failed(anyhow!(
                "--since `{}` is not a checkpoint of `{origin}` signed with its key: {e}",
                path.display()
            ))
        })?;
        let what = format!("the checkpoint in `{}`", path.display());
        grown(&old.checkpoint, new, &what, prove).map_err(verification_failed)?;
        checks.push(format!(
            "the log extends the checkpoint of size {} in `{}`",
            old.checkpoint.size,
            path.display()
        ));
    }
    if let Some(old) = remembered(origin, key)? {
        let what = "the checkpoint this machine verified before";
        grown(&old.checkpoint, new, what, prove).map_err(verification_failed)?;
        checks.push(format!(
            "the log extends the checkpoint of size {} this machine verified before",
            old.checkpoint.size
        ));
    }
    if let Some(file) = remember(origin, key, latest)? {
        checks.push(format!(
            "remembered the largest checkpoint verified, in `{}`",
            file.display()
        ));
    }
    Ok(checks)
}

/// `log verify --server`: the latest checkpoint's signature, and that the log grew from the
/// checkpoints seen before, by consistency proofs the server gives.
fn verify_server(
    url: &str,
    key: Option<&str>,
    since: Option<&Since>,
    witnesses: &[String],
    format: Format,
) -> Outcome {
    let instance = service::open(None, Some(url), None)?;
    let info = instance.info()?;
    let (key, whose) = match key {
        Some(key) => (parse_verifier(key)?, "the key given by --key"),
        None => (
            parse_verifier(&info.verifier_key)?,
            "the key the server names; pin it with --key",
        ),
    };
    let latest = instance.consistency(0, None)?;
    let latest = crate::seen::Seen::open(&latest.checkpoint, &info.origin, &key)
        .map_err(|e| verification_failed(anyhow!("{url}: the latest checkpoint: {e}")))?;
    let prove = |old: u64, new: u64| -> anyhow::Result<Vec<tlog::Hash>> {
        let view = instance.consistency(old, Some(new))?;
        view.proof
            .iter()
            .map(|hash| tlog::Hash::from_base64(hash).map_err(|e| anyhow!("{url}: {e}")))
            .collect()
    };
    let mut checks = vec![format!(
        "the checkpoint of size {}: its signature, with {whose}",
        latest.checkpoint.size
    )];
    checks.extend(growth(&info.origin, &key, &latest, since, &prove)?);
    checks.extend(no_split_view(&info.origin, &key, witnesses, format)?);
    report_checks(&info.origin, &latest, &checks, format)
}

/// Asks each witness for its evidence against the log: two checkpoints the log signed for one
/// size with different roots refuse it. A check line for each witness asked.
fn no_split_view(
    origin: &str,
    key: &tlog::VerifierKey,
    witnesses: &[String],
    format: Format,
) -> Result<Vec<String>, crate::output::Failure> {
    let mut checks = Vec::new();
    for url in witnesses {
        let kept = service::witness::fetch_evidence(url)?;
        let mut unproven = 0;
        for evidence in kept.iter().filter(|e| e.origin == origin) {
            let request = tlog::witness::AddCheckpoint::parse(evidence.request.as_bytes())
                .map_err(|e| anyhow!("{url}: evidence that is not a request: {e}"))?;
            let keys = std::slice::from_ref(key);
            match tlog::witness::split_view(
                &request.checkpoint,
                evidence.contradicts.as_bytes(),
                keys,
            ) {
                Some(size) => {
                    let problem = format!(
                        "witness {url} holds two checkpoints this log signed for size {size} with different roots: the log showed two histories"
                    );
                    if format == Format::Json {
                        print_json(&json!({ "verified": false, "problem": problem }))?;
                    }
                    return Err(verification_failed(anyhow!("{origin}: {problem}")));
                }
                None => unproven += 1,
            }
        }
        checks.push(if unproven == 0 {
            format!("witness {url} holds no evidence against the log")
        } else {
            format!(
                "witness {url} holds {unproven} report(s) of a proof that did not verify, none proving two histories"
            )
        });
    }
    Ok(checks)
}

/// The checks that ran, a line each.
fn checked(checks: &[String]) -> String {
    checks
        .iter()
        .map(|check| format!("  checked: {check}\n"))
        .collect()
}

fn report_checks(
    origin: &str,
    latest: &crate::seen::Seen,
    checks: &[String],
    format: Format,
) -> Outcome {
    match format {
        Format::Text => print(&format!(
            "verified log `{origin}` at size {}: root {}\n{}",
            latest.checkpoint.size,
            latest.checkpoint.root.to_base64(),
            checked(checks)
        )),
        Format::Json => print_json(&json!({
            "verified": true,
            "origin": origin,
            "size": latest.checkpoint.size,
            "root": latest.checkpoint.root.to_base64(),
            "checkpoint": latest.note,
            "checks": checks,
        })),
    }
}

/// A ledger's entries are signed statements: every signature checked and replaying them gives
/// the stored state. The checks made, or the difference found.
fn ledger_checks(database: &store::Database, format: Format) -> Result<Vec<String>, Failure> {
    let replay = crate::ledger_cmd::run_replay(database)?;
    if !replay.is_clean() {
        let problem = format!(
            "replay differs from the stored state: {}",
            replay.differences.join("; ")
        );
        if format == Format::Json {
            print_json(&json!({ "verified": false, "problem": problem }))?;
        }
        return Err(verification_failed(anyhow!(
            "{}: {problem}",
            database.describe()
        )));
    }
    Ok(vec![
        "every entry's signatures, by keys registered before it".to_owned(),
        "every entry's rules, replayed in order; the state replay gives is the stored state"
            .to_owned(),
        "each statement logged once".to_owned(),
        "the ledger's terms (entry 0) and the metadata agree".to_owned(),
    ])
}

fn verify(
    database: &store::Database,
    key: Option<&str>,
    since: Option<&Since>,
    witnesses: &[String],
    format: Format,
) -> Outcome {
    let pinned = key.map(parse_verifier).transpose()?;
    let bar = progress_bar("verifying");
    let result = store::verify_at(database, pinned.as_ref(), &mut |progress| {
        advance(bar.as_ref(), progress.done, progress.total);
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(VerifyFailure::Problem(problem)) => {
            if format == Format::Json {
                print_json(&json!({ "verified": false, "problem": problem.to_string() }))?;
            }
            return Err(verification_failed(anyhow!(
                "{}: {problem}",
                database.describe()
            )));
        }
        Err(VerifyFailure::Store(error)) => return Err(error.into()),
    };
    // A ledger's entries are signed statements: check every signature and that replaying
    // them gives the stored state. Whether the log holds a ledger is read from its first entry
    // as well as its metadata, so deleting the metadata cannot skip these checks.
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
    let is_ledger = ledger::terms::is_ledger(&reader)?;
    let mut checks = vec![
        "every entry hashed into the tree, and every stored tile hash recomputed".to_owned(),
        format!(
            "{} checkpoints: each signature ({}), each root, each consistent with the one before",
            report.checkpoints,
            if pinned.is_some() {
                "with the key given by --key"
            } else {
                "with the key in the log's own metadata; pin one with --key"
            }
        ),
    ];
    if is_ledger {
        checks.extend(ledger_checks(database, format)?);
    }
    // The checkpoint just verified, not one a writer signed since.
    let key = pinned.unwrap_or_else(|| reader.info().verifier_key.clone());
    let latest = reader.checkpoint_at(report.size)?;
    let latest = crate::seen::Seen::open(&latest.note, &report.origin, &key).map_err(|e| {
        verification_failed(anyhow!(
            "{}: the latest checkpoint: {e}",
            database.describe()
        ))
    })?;
    let prove = |old: u64, new: u64| -> anyhow::Result<Vec<tlog::Hash>> {
        Ok(reader.consistency_proof(old, new)?)
    };
    checks.extend(growth(&report.origin, &key, &latest, since, &prove)?);
    checks.extend(no_split_view(&report.origin, &key, witnesses, format)?);
    match format {
        Format::Text => print(&format!(
            "verified log `{}`: {} entries, {} checkpoints, {} tiles; root {}\n{}",
            report.origin,
            report.size,
            report.checkpoints,
            report.tiles,
            report.root.to_base64(),
            checked(&checks)
        )),
        Format::Json => print_json(&json!({
            "verified": true,
            "origin": report.origin,
            "size": report.size,
            "root": report.root.to_base64(),
            "checkpoints": report.checkpoints,
            "tiles": report.tiles,
            "ledger": is_ledger,
            "checks": checks,
        })),
    }
}
