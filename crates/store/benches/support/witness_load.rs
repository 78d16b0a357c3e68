//! The load both witness benchmarks send (`store`'s on the witness state, `cli`'s over HTTP):
//! `logs` logs, each with its own key and origin, moving one entry at a time for `rounds`
//! checkpoints with a consistency proof from the last; one tree shared by all, so the
//! requests can be made before the clock starts.

use std::collections::HashMap;
use std::convert::Infallible;

use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof::consistency_proof;
use tlog::witness::AddCheckpoint;
use tlog::{Checkpoint, Hash, NodeId, NodeSource, TreeState, leaf_hash};

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

/// The logs' keys (deterministic), and for each log its requests at sizes `1..=rounds`.
pub fn requests(logs: usize, rounds: usize) -> (Vec<SignerKey>, Vec<Vec<AddCheckpoint>>) {
    let mut state = TreeState::new();
    let mut tree = Tree {
        nodes: HashMap::new(),
        roots: vec![state.root()],
    };
    for i in 0..rounds {
        state.append_leaf_hash(leaf_hash(&i.to_be_bytes()), |id, hash| {
            tree.nodes.insert(id, hash);
        });
        tree.roots.push(state.root());
    }
    let keys: Vec<SignerKey> = (0..logs)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            SignerKey::from_seed(&format!("log{i}.bench.example/log"), KeyType::Ed25519, seed)
                .unwrap()
        })
        .collect();
    let requests = keys
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
    (keys, requests)
}

/// Clients with a request in flight at once (a witness serves many logs at a time).
pub const CLIENTS: usize = 64;

/// The load's size: `CONCORDAT_BENCH_LOGS` logs (10,000) of `CONCORDAT_BENCH_ROUNDS`
/// checkpoints each (3).
pub fn size() -> (usize, usize) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("CONCORDAT_BENCH_LOGS", 10_000),
        var("CONCORDAT_BENCH_ROUNDS", 3),
    )
}

/// Sends every request from [`CLIENTS`] clients, each moving its own logs one checkpoint at
/// a time as logs do: `send(client, log, round)` answers one, on the client `client()` made.
/// Prints the JSON line of the benchmark `bench`: requests per second and latencies.
pub fn run<C>(
    bench: &str,
    logs: usize,
    rounds: usize,
    client: impl Fn() -> C + Sync,
    send: impl Fn(&mut C, usize, usize) + Sync,
) {
    let started = std::time::Instant::now();
    let mut latencies: Vec<std::time::Duration> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (client, send) = (&client, &send);
                scope.spawn(move || {
                    let mut own = client();
                    let mut latencies = Vec::new();
                    for round in 0..rounds {
                        for log in (c..logs).step_by(CLIENTS) {
                            let sent = std::time::Instant::now();
                            send(&mut own, log, round);
                            latencies.push(sent.elapsed());
                        }
                    }
                    latencies
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |p: f64| {
        latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "{{\"bench\": \"{bench}\", \"logs\": {logs}, \"requests\": {}, \"clients\": {CLIENTS}, \"seconds\": {elapsed:.2}, \"requests_per_s\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.5),
        at(0.99)
    );
}
