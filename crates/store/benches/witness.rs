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

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use store::GroupCommit;
use store::witness::WitnessState;
use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof::consistency_proof;
use tlog::witness::AddCheckpoint;
use tlog::{Checkpoint, Hash, NodeId, NodeSource, TreeState, leaf_hash};

/// Clients with a request in flight at once (a witness serves many logs at a time).
const CLIENTS: usize = 64;

/// One tree all the logs share (their origins and keys differ): its nodes and roots.
struct Tree {
    nodes: HashMap<NodeId, Hash>,
    roots: Vec<Hash>,
}

impl NodeSource for Tree {
    type Error = Infallible;
    fn node(&self, node: NodeId) -> Result<Hash, Infallible> {
        Ok(self.nodes[&node])
    }
}

fn tree(size: usize) -> Tree {
    let mut state = TreeState::new();
    let mut nodes = HashMap::new();
    let mut roots = vec![state.root()];
    for i in 0..size {
        state.append_leaf_hash(leaf_hash(&i.to_be_bytes()), |id, hash| {
            nodes.insert(id, hash);
        });
        roots.push(state.root());
    }
    Tree { nodes, roots }
}

fn main() {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let logs = var("CONCORDAT_BENCH_LOGS", 10_000);
    let rounds = var("CONCORDAT_BENCH_ROUNDS", 3);
    let tree = tree(rounds);
    let keys: Vec<SignerKey> = (0..logs)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            SignerKey::from_seed(&format!("log{i}.bench.example/log"), KeyType::Ed25519, seed)
                .unwrap()
        })
        .collect();
    let config: BTreeMap<String, Vec<tlog::VerifierKey>> = keys
        .iter()
        .map(|k| (k.name().to_owned(), vec![k.verifier()]))
        .collect();
    // Every request, made before the clock starts: log i's checkpoints at sizes 1..=rounds.
    let requests: Vec<Vec<AddCheckpoint>> = keys
        .iter()
        .map(|key| {
            (1..=rounds as u64)
                .map(|size| {
                    let old = size - 1;
                    let text =
                        Checkpoint::new(key.name(), size, tree.roots[size as usize]).to_text();
                    AddCheckpoint {
                        old_size: old,
                        proof: if old == 0 {
                            Vec::new()
                        } else {
                            consistency_proof(&tree, old, size).unwrap()
                        },
                        checkpoint: Note::sign(&text, key).unwrap().to_text().into_bytes(),
                    }
                })
                .collect()
        })
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
