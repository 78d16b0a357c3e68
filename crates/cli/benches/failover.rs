//! Failover on PostgreSQL, printed as a JSON line: three `concordat serve` nodes on one
//! database (a throwaway cluster), two clients writing signed statements through them, and
//! the leading node killed (SIGKILL) 20 times, each time restarted after another node has
//! taken over. Measured: from the kill to the first checkpoint the new leader signs.
//!
//! Run with `cargo bench -p cli --bench failover` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_KILLS` to change the number of kills.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

#[path = "support/binary.rs"]
mod binary;

use std::path::Path;
use std::process::Child;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_concordat");

/// A node: its process and URL.
struct Node {
    name: String,
    child: Child,
    url: String,
}

fn start(dir: &Path, db: &str, name: &str) -> Node {
    let node_dir = dir.join(name);
    let (child, url) = binary::serve(
        BINARY,
        &[
            "serve",
            "--dir",
            node_dir.to_str().unwrap(),
            "--database",
            db,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    Node {
        name: name.to_owned(),
        child,
        url,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let kills: usize = std::env::var("CONCORDAT_BENCH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cluster = pgcluster::Cluster::start().unwrap();
    let db = cluster.database("ledger").unwrap();
    binary::several_nodes(
        BINARY,
        dir,
        &db,
        "failover.bench.example/ledger",
        &["n0", "n1", "n2"],
    );
    let nodes = Mutex::new(
        ["n0", "n1", "n2"]
            .into_iter()
            .map(|n| start(dir, &db, n))
            .collect::<Vec<_>>(),
    );
    let signer = service::keys::read_signer(&dir.join("acme.key")).unwrap();
    let database = store::Database::select(&dir.join("n0"), Some(&db)).unwrap();
    let reader = store::Reader::open_at(&database, 64).unwrap();
    let stop = AtomicBool::new(false);
    let written = AtomicU64::new(0);
    let mut failovers = Vec::new();
    std::thread::scope(|scope| {
        for client in 0..2u64 {
            let (nodes, signer, stop, written) = (&nodes, &signer, &stop, &written);
            scope.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let statement = ledger::statement(
                        domain::Kind::PartyStatement,
                        serde_json::json!({"party": "acme-ai", "topic": "disclosure", "text": format!("client {client} statement {n}")}),
                        Vec::new(),
                    );
                    let envelope =
                        ledger::sign_statement(&statement, signer).unwrap().to_json().into_bytes();
                    let urls: Vec<String> =
                        nodes.lock().unwrap().iter().map(|n| n.url.clone()).collect();
                    let url = &urls[n as usize % urls.len()];
                    let sent = ureq::post(&format!("{url}/api/entries"))
                        .timeout(Duration::from_secs(5))
                        .set("Content-Type", "application/json")
                        .send_bytes(&envelope);
                    match sent {
                        Ok(_) => {
                            written.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            });
        }
        for _ in 0..kills {
            std::thread::sleep(Duration::from_millis(700));
            let leader = store::pg::leader(&db).unwrap().unwrap();
            let size = reader.latest_checkpoint().unwrap().size;
            let (name, killed_at) = {
                let mut nodes = nodes.lock().unwrap();
                let at = nodes.iter().position(|n| n.url == leader).unwrap();
                let mut node = nodes.remove(at);
                let killed_at = Instant::now();
                node.child.kill().unwrap();
                node.child.wait().unwrap();
                (node.name, killed_at)
            };
            // The first checkpoint after the kill that the new leader signed.
            loop {
                let latest = reader.latest_checkpoint().unwrap().size;
                if latest > size && store::pg::leader(&db).unwrap().as_deref() != Some(&leader) {
                    break;
                }
                assert!(killed_at.elapsed() < Duration::from_secs(30), "no takeover");
                std::thread::sleep(Duration::from_millis(2));
            }
            failovers.push(killed_at.elapsed());
            let restarted = start(dir, &db, &name);
            nodes.lock().unwrap().push(restarted);
        }
        stop.store(true, Ordering::Relaxed);
    });
    for node in nodes.lock().unwrap().iter_mut() {
        let _ = node.child.kill();
        let _ = node.child.wait();
    }
    store::verify_at(&database, None, &mut |_| {}).unwrap();
    failovers.sort_unstable();
    println!(
        "{{\"bench\":\"failover\",\"database\":\"postgres\",\"nodes\":3,\"kills\":{},\"writes_acknowledged\":{},\"takeover_to_first_checkpoint_ms_p50\":{:.0},\"takeover_to_first_checkpoint_ms_max\":{:.0}}}",
        failovers.len(),
        written.load(Ordering::Relaxed),
        percentile(&failovers, 0.5),
        percentile(&failovers, 1.0)
    );
}
