//! Benchmark of `concordat witness serve` over HTTP, printed as JSON: `add-checkpoint`
//! requests across 10,000 logs from 64 clients with one request in flight each (kept-alive
//! connections), each log moving one entry at a time with its consistency proof — the HTTP
//! server, the request's signature check, the judgement and a durable record before every
//! answer, all included.
//!
//! Run with `cargo bench -p cli --bench witness_http` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_LOGS` and `CONCORDAT_BENCH_ROUNDS` to change the load (default 10,000 logs,
//! 3 checkpoints each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

#[path = "../../store/benches/support/witness_load.rs"]
mod witness_load;

#[path = "support/binary.rs"]
mod binary;

use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_concordat");

fn main() {
    let (logs, rounds) = witness_load::size();
    let (keys, requests) = witness_load::requests(logs, rounds);
    let dir = tempfile::tempdir().unwrap();
    let witness = dir.path().join("witness");
    service::witness::init(&witness, "witness.bench.example/w1").unwrap();
    let config = service::witness::Config {
        logs: keys
            .iter()
            .map(|k| service::witness::WitnessedLog {
                origin: k.name().to_owned(),
                keys: vec![k.verifier().to_text()],
            })
            .collect(),
    };
    std::fs::write(
        witness.join(service::witness::CONFIG_FILE),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();
    // Every request's body, made before the clock starts.
    let bodies: Vec<Vec<Vec<u8>>> = requests
        .iter()
        .map(|log| log.iter().map(|r| r.to_body()).collect())
        .collect();
    let (mut server, url) = binary::serve(
        BINARY,
        &[
            "witness",
            "serve",
            "--dir",
            witness.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    witness_load::run(
        "witness_add_checkpoint_http",
        logs,
        rounds,
        || {
            ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build()
        },
        |agent, log, round| {
            let answer = agent
                .post(&format!("{url}/add-checkpoint"))
                .send_bytes(&bodies[log][round])
                .unwrap();
            assert_eq!(answer.status(), 200);
        },
    );
    let _ = server.kill();
    let _ = server.wait();
}
