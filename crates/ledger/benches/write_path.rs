//! Benchmarks of the ledger, printed as JSON lines:
//! - `signature_verification`: this machine's Ed25519 verification rate on one core, the limit
//!   the write path is measured against;
//! - `write_path`: signed entries through DSSE verification, apply, append, projection and a
//!   durable commit, as entries/s and as a ratio of the verification rate;
//! - `replay`: rebuilding the state from the whole log.
//!
//! Run with `cargo bench -p ledger --bench write_path` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_ENTRIES` to change the number of entries (default 1,000,000), and
//! `CONCORDAT_BENCH_DATABASE=postgres` to run on a throwaway PostgreSQL cluster (fsync and
//! synchronous commit on) instead of SQLite; the database is part of what is measured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::time::{Duration, Instant};

use attest::PublicKey;
use domain::Kind;
use ledger::{Ledger, sign_statement, statement};
use serde_json::json;
use store::{Database, GroupCommit};
use tlog::note::{KeyType, SignerKey};

const PARTIES: usize = 100;

fn key(seed: u64) -> SignerKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    SignerKey::from_seed("bench", KeyType::Ed25519, bytes).unwrap()
}

fn envelope(kind: Kind, predicate: serde_json::Value, signer: &SignerKey) -> Vec<u8> {
    sign_statement(&statement(kind, predicate, Vec::new()), signer)
        .unwrap()
        .to_json()
        .into_bytes()
}

fn main() {
    let entries: usize = std::env::var("CONCORDAT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let verify_rate = bench_verification();

    let dir = tempfile::tempdir().unwrap();
    let postgres = std::env::var("CONCORDAT_BENCH_DATABASE").is_ok_and(|v| v == "postgres");
    let cluster = postgres.then(|| pgcluster::Cluster::start().unwrap());
    let database = match &cluster {
        None => Database::Sqlite(dir.path().to_owned()),
        Some(cluster) => {
            Database::select(dir.path(), Some(&cluster.database("bench").unwrap())).unwrap()
        }
    };
    let name = if postgres { "postgres" } else { "sqlite" };
    let log_key = SignerKey::from_seed("bench.example/ledger", KeyType::Ed25519, [1; 32]).unwrap();
    let operator = key(0);
    let genesis = envelope(
        Kind::PartyRegistered,
        json!({"party": "operator", "name": "Operator", "roles": ["operator"], "keys": [operator.verifier().to_text()], "instance": {"kind": "concordat-ledger", "clock": "system"}}),
        &operator,
    );
    ledger::init_at(
        &database,
        "bench.example/ledger",
        &log_key,
        None,
        genesis,
        ledger::Clock::System,
    )
    .unwrap();
    let ledger = Ledger::open_at(
        &database,
        log_key.clone(),
        GroupCommit::default(),
        Box::new(ledger::ApplyOnly),
    )
    .unwrap();
    let parties: Vec<SignerKey> = (1..=PARTIES as u64).map(key).collect();
    for (i, party_key) in parties.iter().enumerate() {
        ledger
            .submit_and_wait(envelope(
                Kind::PartyRegistered,
                json!({"party": format!("party-{i}"), "name": format!("Party {i}"), "roles": ["vendor"], "keys": [party_key.verifier().to_text()]}),
                &operator,
            ))
            .unwrap();
    }

    // Signed entries are made before the clock starts, on both cores.
    let prepared = prepare(&parties, entries);
    let bytes: usize = prepared.iter().map(Vec::len).sum();
    let started = Instant::now();
    let (sender, receiver) = std::sync::mpsc::sync_channel::<ledger::Pending>(16_384);
    let waiter = std::thread::spawn(move || {
        for pending in receiver {
            pending.wait().unwrap();
        }
    });
    for envelope in prepared {
        sender.send(ledger.submit(envelope).unwrap()).unwrap();
    }
    drop(sender);
    waiter.join().unwrap();
    let elapsed = started.elapsed();
    ledger.close().unwrap();
    let rate = entries as f64 / elapsed.as_secs_f64();
    println!(
        "{{\"bench\":\"write_path\",\"database\":\"{name}\",\"entries\":{entries},\"mean_entry_bytes\":{},\"seconds\":{:.2},\"entries_per_second\":{rate:.0},\"ratio_to_one_core_verification\":{:.2}}}",
        bytes / entries,
        elapsed.as_secs_f64(),
        rate / verify_rate
    );

    let started = Instant::now();
    let report = ledger::replay_at(&database, &mut |_| {}).unwrap();
    let elapsed = started.elapsed();
    assert!(report.is_clean(), "{:?}", report.differences);
    println!(
        "{{\"bench\":\"replay\",\"database\":\"{name}\",\"entries\":{},\"seconds\":{:.2},\"entries_per_second\":{:.0}}}",
        report.entries,
        elapsed.as_secs_f64(),
        report.entries as f64 / elapsed.as_secs_f64()
    );
}

fn prepare(parties: &[SignerKey], entries: usize) -> Vec<Vec<u8>> {
    let half = entries / 2;
    std::thread::scope(|scope| {
        let make = |range: std::ops::Range<usize>| {
            range
                .map(|i| {
                    let party = i % parties.len();
                    envelope(
                        Kind::PartyStatement,
                        json!({"party": format!("party-{party}"), "topic": "disclosure", "text": format!("statement {i}: usage report for the period, filed under the contract's audit clause")}),
                        &parties[party],
                    )
                })
                .collect::<Vec<_>>()
        };
        let first = scope.spawn(move || make(0..half));
        let mut second = make(half..entries);
        let mut all = first.join().unwrap();
        all.append(&mut second);
        all
    })
}

/// Ed25519 verifications per second on one core, through the same code the ledger uses.
fn bench_verification() -> f64 {
    let signer = key(99);
    let public = PublicKey::parse(&signer.verifier().to_text()).unwrap();
    let message = vec![7u8; 400];
    let signature = signer.sign_bytes(&message);
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < Duration::from_secs(2) {
        for _ in 0..1000 {
            assert!(public.verify(&message, &signature));
        }
        count += 1000;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"signature_verification\",\"algorithm\":\"ed25519\",\"threads\":1,\"per_second\":{rate:.0}}}"
    );
    rate
}
