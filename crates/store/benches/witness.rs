//! Benchmark of a witness's durable state, printed as JSON: `add-checkpoint` requests across
//! 10,000 logs, each log moving one entry at a time with its consistency proof, from many
//! clients at once — every request's signature verified, judged against the log's state and
//! recorded (`synchronous=FULL`) before it is answered.
//!
//! Run with `cargo bench -p store --bench witness` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_LOGS` and `CONCORDAT_BENCH_ROUNDS` to change the load (default 10,000 logs,
//! 3 checkpoints each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

#[path = "support/witness_load.rs"]
mod witness_load;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use store::GroupCommit;
use store::witness::WitnessState;

/// Clients with a request in flight at once (a witness serves many logs at a time).
const CLIENTS: usize = 64;

fn main() {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let logs = var("CONCORDAT_BENCH_LOGS", 10_000);
    let rounds = var("CONCORDAT_BENCH_ROUNDS", 3);
    let (keys, requests) = witness_load::requests(logs, rounds);
    let config: BTreeMap<String, Vec<tlog::VerifierKey>> = keys
        .iter()
        .map(|k| (k.name().to_owned(), vec![k.verifier()]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(WitnessState::open(dir.path(), config, GroupCommit::default()).unwrap());
    let requests = Arc::new(requests);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (state, requests) = (Arc::clone(&state), Arc::clone(&requests));
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                // Each client moves its own logs, one checkpoint at a time, as logs do.
                for round in 0..rounds {
                    for log in (c..requests.len()).step_by(CLIENTS) {
                        let sent = Instant::now();
                        let answer = state.add(requests[log][round].clone()).unwrap();
                        assert!(answer.is_ok(), "{answer:?}");
                        latencies.push(sent.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |p: f64| {
        latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "{{\"bench\": \"witness_add_checkpoint\", \"logs\": {logs}, \"requests\": {}, \"clients\": {CLIENTS}, \"seconds\": {elapsed:.2}, \"requests_per_s\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.5),
        at(0.99)
    );
}
