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

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_concordat");
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
    let mut server = Command::new(BINARY)
        .args(["witness", "serve", "--dir", witness.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env("CONCORDAT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().strip_prefix("serving at ").unwrap().to_owned();
    let bodies = Arc::new(bodies);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (bodies, url) = (Arc::clone(&bodies), url.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut latencies = Vec::new();
                for round in 0..rounds {
                    for log in (c..bodies.len()).step_by(CLIENTS) {
                        let sent = Instant::now();
                        let answer = agent
                            .post(&format!("{url}/add-checkpoint"))
                            .send_bytes(&bodies[log][round])
                            .unwrap();
                        assert_eq!(answer.status(), 200);
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
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort();
    let at = |p: f64| {
        latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "{{\"bench\": \"witness_add_checkpoint_http\", \"logs\": {logs}, \"requests\": {}, \"clients\": {CLIENTS}, \"seconds\": {elapsed:.2}, \"requests_per_s\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.5),
        at(0.99)
    );
}
