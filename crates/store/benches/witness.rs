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

use store::GroupCommit;
use store::witness::WitnessState;

fn main() {
    let (logs, rounds) = witness_load::size();
    let (keys, requests) = witness_load::requests(logs, rounds);
    let config: BTreeMap<String, Vec<tlog::VerifierKey>> = keys
        .iter()
        .map(|k| (k.name().to_owned(), vec![k.verifier()]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let state = WitnessState::open(dir.path(), config, GroupCommit::default()).unwrap();
    witness_load::run(
        "witness_add_checkpoint",
        logs,
        rounds,
        || (),
        |(), log, round| {
            let answer = state.add(requests[log][round].clone()).unwrap();
            assert!(answer.is_ok(), "{answer:?}");
        },
    );
}
