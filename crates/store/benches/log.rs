//! Benchmarks of the durable log, printed as JSON lines:
//! - `append`: 256-byte entries through group commit, with throughput and the time from
//!   submitting an entry to holding a signed checkpoint that covers it;
//! - `inclusion_proof` and `consistency_proof`: proofs from stored hashes on one core.
//!
//! Run with `cargo bench -p store --bench log` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_ENTRIES` to change the log size (default 1,000,000), and
//! `CONCORDAT_BENCH_DATABASE=postgres` to run on a throwaway PostgreSQL cluster (fsync and
//! synchronous commit on, as shipped) instead of SQLite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use store::{Appender, Database, GroupCommit, Reader, Writer, init_at};
use tlog::note::{KeyType, SignerKey};

const ENTRY_BYTES: usize = 256;
const PRODUCERS: usize = 2;
/// Entries a producer keeps in flight, as a busy server would.
const WINDOW: usize = 4096;
/// The offered load at which latency is measured: the throughput target.
const PACED_ENTRIES_PER_SECOND: u64 = 100_000;
const PACED_SECONDS: u64 = 5;

fn main() {
    let entries: u64 = std::env::var("CONCORDAT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let postgres = std::env::var("CONCORDAT_BENCH_DATABASE").is_ok_and(|v| v == "postgres");
    let cluster = postgres.then(|| pgcluster::Cluster::start().unwrap());
    let database = match &cluster {
        None => Database::Sqlite(dir.path().to_owned()),
        Some(cluster) => {
            Database::select(dir.path(), Some(&cluster.database("bench").unwrap())).unwrap()
        }
    };
    let key = SignerKey::from_seed("bench.example/log", KeyType::Ed25519, [7; 32]).unwrap();
    init_at(&database, "bench.example/log", &key, None, &[]).unwrap();
    bench_append(&database, &key, entries);
    bench_paced_append(&database, &key, PACED_ENTRIES_PER_SECOND, PACED_SECONDS);
    bench_proofs(&database);
}

fn backend(database: &Database) -> String {
    format!(
        "\"{}\"",
        if database.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    )
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn bench_append(database: &Database, key: &SignerKey, entries: u64) {
    let config = GroupCommit::default();
    let appender =
        Arc::new(Appender::start(Writer::open_at(database, key.clone()).unwrap(), config).unwrap());
    let per_producer = entries / PRODUCERS as u64;
    let started = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let appender = Arc::clone(&appender);
            std::thread::spawn(move || {
                // A waiter thread collects acknowledgements in order while this one submits.
                let (sender, receiver) = mpsc::sync_channel::<(Instant, store::Ticket)>(WINDOW);
                let waiter = std::thread::spawn(move || {
                    let mut latencies = Vec::new();
                    for (submitted, ticket) in receiver {
                        ticket.wait().unwrap();
                        latencies.push(submitted.elapsed());
                    }
                    latencies
                });
                for i in 0..per_producer {
                    let mut entry = vec![0u8; ENTRY_BYTES];
                    entry[..8].copy_from_slice(&i.to_be_bytes());
                    entry[8] = p as u8;
                    let submitted = Instant::now();
                    let ticket = appender.submit(entry).unwrap();
                    sender.send((submitted, ticket)).unwrap();
                }
                drop(sender);
                waiter.join().unwrap()
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = producers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    let appender = Arc::into_inner(appender).unwrap();
    let writer = appender.close().unwrap();
    let checkpoints = Reader::open_at(database, 64)
        .unwrap()
        .checkpoint_count()
        .unwrap();
    latencies.sort_unstable();
    println!(
        "{}",
        serde_json_like(&[
            ("bench", "\"append\"".into()),
            ("database", backend(database)),
            ("entries", writer.size().to_string()),
            ("entry_bytes", ENTRY_BYTES.to_string()),
            ("producers", PRODUCERS.to_string()),
            ("seconds", format!("{:.3}", elapsed.as_secs_f64())),
            (
                "entries_per_second",
                format!("{:.0}", writer.size() as f64 / elapsed.as_secs_f64())
            ),
            ("checkpoints", checkpoints.to_string()),
            (
                "mean_batch_entries",
                format!("{:.0}", writer.size() as f64 / checkpoints as f64)
            ),
            (
                "append_to_checkpoint_ms_p50",
                format!("{:.2}", percentile(&latencies, 0.50))
            ),
            (
                "append_to_checkpoint_ms_p99",
                format!("{:.2}", percentile(&latencies, 0.99))
            ),
            (
                "append_to_checkpoint_ms_max",
                format!("{:.2}", percentile(&latencies, 1.0))
            ),
        ])
    );
}

/// Offers a steady `rate` of entries a second (in 1 ms ticks, open loop: submissions do not wait
/// for acknowledgements) and measures the time from submission to a signed checkpoint.
fn bench_paced_append(database: &Database, key: &SignerKey, rate: u64, seconds: u64) {
    let appender = Appender::start(
        Writer::open_at(database, key.clone()).unwrap(),
        GroupCommit::default(),
    )
    .unwrap();
    let (sender, receiver) = mpsc::channel::<(Instant, store::Ticket)>();
    let waiter = std::thread::spawn(move || {
        let mut latencies = Vec::new();
        for (submitted, ticket) in receiver {
            ticket.wait().unwrap();
            latencies.push(submitted.elapsed());
        }
        latencies
    });
    let per_tick = rate / 1000;
    let started = Instant::now();
    for tick in 0..seconds * 1000 {
        let due = started + Duration::from_millis(tick);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for i in 0..per_tick {
            let mut entry = vec![1u8; ENTRY_BYTES];
            entry[..8].copy_from_slice(&(tick * per_tick + i).to_be_bytes());
            let submitted = Instant::now();
            sender
                .send((submitted, appender.submit(entry).unwrap()))
                .unwrap();
        }
    }
    drop(sender);
    let mut latencies = waiter.join().unwrap();
    let elapsed = started.elapsed();
    appender.close().unwrap();
    latencies.sort_unstable();
    println!(
        "{}",
        serde_json_like(&[
            ("bench", "\"append_paced\"".into()),
            ("database", backend(database)),
            ("offered_entries_per_second", rate.to_string()),
            ("entries", latencies.len().to_string()),
            (
                "achieved_entries_per_second",
                format!("{:.0}", latencies.len() as f64 / elapsed.as_secs_f64())
            ),
            (
                "append_to_checkpoint_ms_p50",
                format!("{:.2}", percentile(&latencies, 0.50))
            ),
            (
                "append_to_checkpoint_ms_p99",
                format!("{:.2}", percentile(&latencies, 0.99))
            ),
            (
                "append_to_checkpoint_ms_max",
                format!("{:.2}", percentile(&latencies, 1.0))
            ),
        ])
    );
}

fn bench_proofs(database: &Database) {
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT).unwrap();
    let size = reader.latest_checkpoint().unwrap().size;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for kind in ["inclusion_proof", "consistency_proof"] {
        let mut proofs = 0u64;
        let mut hashes = 0usize;
        let budget = Duration::from_secs(3);
        let started = Instant::now();
        while started.elapsed() < budget {
            for _ in 0..1000 {
                let proof = if kind == "inclusion_proof" {
                    reader
                        .inclusion_proof_unchecked(next() % size, size)
                        .unwrap()
                } else {
                    reader
                        .consistency_proof_unchecked(next() % size + 1, size)
                        .unwrap()
                };
                hashes += proof.len();
                proofs += 1;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json_like(&[
                ("bench", format!("\"{kind}\"")),
                ("log_size", size.to_string()),
                ("threads", "1".into()),
                ("proofs", proofs.to_string()),
                (
                    "proofs_per_second",
                    format!("{:.0}", proofs as f64 / elapsed)
                ),
                (
                    "mean_proof_hashes",
                    format!("{:.1}", hashes as f64 / proofs as f64)
                ),
            ])
        );
    }
}

/// A flat JSON object from already-encoded values (keeps the bench free of a JSON dependency).
fn serde_json_like(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}
