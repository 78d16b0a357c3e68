//! Crash safety: an appender under load is killed with SIGKILL at random moments and restarted;
//! every acknowledged entry survives, the log verifies, and no checkpoint forks the log.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use store::Reader;
use tlog::checkpoint::Checkpoint;
use tlog::note::VerifierKey;
use tlog::proof::verify_consistency;

use crate::support::{BINARY, ORIGIN, Workspace};

const RUNS: u64 = 5;

/// The lines a killed process wrote whole, each ended by its newline (which is dropped), read
/// as they arrive.
fn complete_lines(output: impl std::io::Read) -> impl Iterator<Item = String> {
    let mut reader = BufReader::new(output);
    std::iter::from_fn(move || {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => {
                line.pop();
                Some(line)
            }
            _ => None,
        }
    })
}

/// One appender process fed an endless stream of entries, killed after `life`.
/// Returns the acknowledged (index, entry) pairs and a checkpoint read while it ran.
fn run_and_kill(workspace: &Workspace, run: u64, life: Duration) -> (Vec<(u64, Vec<u8>)>, String) {
    let mut child = Command::new(BINARY)
        .args(["log", "append", "--dir", "ledger"])
        .current_dir(workspace.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        for i in 0u64.. {
            writeln!(buffer, "run {run} entry {i}").unwrap();
            if buffer.len() > 16 * 1024 {
                if stdin.write_all(&buffer).is_err() {
                    return;
                }
                buffer.clear();
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (first, first_acknowledged) = std::sync::mpsc::channel();
    let collector = std::thread::spawn(move || {
        // The k-th acknowledgement is for the k-th line fed. Only whole lines count: a kill in
        // the middle of a write can leave the last one cut short ("3" of "3512").
        complete_lines(stdout)
            .enumerate()
            .map(|(k, line)| {
                if k == 0 {
                    let _ = first.send(());
                }
                (
                    line.parse::<u64>().unwrap(),
                    format!("run {run} entry {k}").into_bytes(),
                )
            })
            .collect::<Vec<_>>()
    });
    // The process's life counts from its first acknowledgement, so a slow start on a loaded
    // machine does not leave the kill with nothing to lose.
    let _ = first_acknowledged.recv_timeout(Duration::from_secs(30));
    // Read the log while it is being written: readers never wait for the writer.
    std::thread::sleep(life / 2);
    let checkpoint = workspace
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout;
    std::thread::sleep(life / 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acknowledged = collector.join().unwrap();
    feeder.join().unwrap();
    (acknowledged, checkpoint)
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_entry_and_never_forks() {
    let workspace = Workspace::new();
    let key = VerifierKey::parse(&workspace.verifier_key).unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill schedule seed: {seed}");
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };

    let mut acknowledged = Vec::new();
    let mut seen_checkpoints = Vec::new();
    for run in 0..RUNS {
        let life = Duration::from_millis(100 + next() % 400);
        let (acks, checkpoint) = run_and_kill(&workspace, run, life);
        assert!(
            !acks.is_empty(),
            "run {run} acknowledged nothing in {life:?}"
        );
        acknowledged.extend(acks);
        seen_checkpoints.push(checkpoint);
        // Each restart must find the log whole.
        workspace.run(&["log", "verify", "--dir", "ledger"]).ok();
    }
    // A clean restart after the last crash appends where the log left off.
    let size_before = Reader::open(&workspace.path("ledger"))
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .size;
    let appended = workspace
        .run_with_input(
            &["log", "append", "--dir", "ledger"],
            b"after the crashes\n",
        )
        .ok();
    assert_eq!(appended.stdout.trim(), size_before.to_string());

    let reader = Reader::open(&workspace.path("ledger")).unwrap();
    for (index, entry) in &acknowledged {
        assert_eq!(
            String::from_utf8_lossy(&reader.entry(*index).unwrap()),
            String::from_utf8_lossy(entry),
            "acknowledged entry {index} lost or changed (kill schedule seed {seed}; every acknowledgement: {:?})",
            acknowledged
                .iter()
                .map(|(i, e)| format!("{i}={}", String::from_utf8_lossy(e)))
                .collect::<Vec<_>>()
        );
    }
    let latest = reader.latest_checkpoint().unwrap();
    for note in &seen_checkpoints {
        let (old, _, _) =
            Checkpoint::open(note.as_bytes(), ORIGIN, std::slice::from_ref(&key)).unwrap();
        let proof = reader.consistency_proof(old.size, latest.size).unwrap();
        verify_consistency(old.size, latest.size, &proof, &old.root, &latest.root)
            .unwrap_or_else(|e| panic!("checkpoint at size {} forked: {e}", old.size));
    }
    workspace
        .run(&["log", "verify", "--dir", "ledger", "--key", "log.vkey"])
        .ok();
    println!(
        "{} acknowledged entries across {RUNS} kills, log size {}",
        acknowledged.len(),
        latest.size
    );
}

/// The whole write path (verify, apply, append, project) under SIGKILL: every acknowledged
/// entry survives, and the stored state is what replaying the log gives.
#[test]
fn sigkill_during_submissions_loses_nothing_and_state_matches_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    crate::support::concordat(
        &["init", "--dir", "ledger", "--origin", "crash.test.example"],
        None,
        dir,
    )
    .ok();
    crate::support::concordat(
        &["key", "generate", "--name", "acme", "--out", "acme.key"],
        None,
        dir,
    )
    .ok();
    let acme_vkey = std::fs::read_to_string(dir.join("acme.key")).unwrap();
    let acme = tlog::note::SignerKey::parse(&acme_vkey).unwrap();
    crate::support::concordat(
        &[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            "Acme AI",
            "--role",
            "vendor",
            "--key",
            &acme.verifier().to_text(),
        ],
        None,
        dir,
    )
    .ok();

    let mut acknowledged: Vec<(u64, Vec<u8>)> = Vec::new();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill schedule seed: {seed}");
    for run in 0..4u64 {
        // Each run gets its own envelopes, one a line.
        let envelopes: Vec<String> = (0..20_000)
            .map(|i| {
                let predicate = serde_json::json!({"party": "acme-ai", "topic": "usage", "text": format!("run {run} report {i}")});
                ledger::sign_statement(&ledger::statement(domain::Kind::PartyStatement, predicate, Vec::new()), &acme)
                    .unwrap()
                    .to_json()
            })
            .collect();
        let mut child = Command::new(BINARY)
            .args(["submit", "--dir", "ledger", "--format", "json", "-"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = envelopes.clone();
        let feeder = std::thread::spawn(move || {
            for line in lines {
                if writeln!(stdin, "{line}").is_err() {
                    return;
                }
            }
        });
        let stdout = child.stdout.take().unwrap();
        let collector = std::thread::spawn(move || {
            complete_lines(stdout)
                .map(|line| {
                    let receipt: serde_json::Value = serde_json::from_str(&line).unwrap();
                    let source = receipt["source"].as_str().unwrap().to_owned();
                    let number: usize = source
                        .trim_start_matches("standard input line ")
                        .parse()
                        .unwrap();
                    (receipt["index"].as_u64().unwrap(), number - 1)
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(200 + (seed >> (run * 8)) % 400));
        child.kill().unwrap();
        child.wait().unwrap();
        feeder.join().unwrap();
        for (index, line) in collector.join().unwrap() {
            acknowledged.push((index, envelopes[line].clone().into_bytes()));
        }
    }
    assert!(!acknowledged.is_empty());
    let reader = Reader::open(&dir.join("ledger")).unwrap();
    for (index, envelope) in &acknowledged {
        assert_eq!(
            &reader.entry(*index).unwrap(),
            envelope,
            "acknowledged entry {index} lost or changed"
        );
    }
    let replay = crate::support::concordat(&["replay", "--dir", "ledger"], None, dir).ok();
    assert!(
        replay.stdout.contains("is what the log gives"),
        "{replay:?}"
    );
    crate::support::concordat(&["log", "verify", "--dir", "ledger"], None, dir).ok();
    println!(
        "{} acknowledged submissions across 4 kills",
        acknowledged.len()
    );
}
