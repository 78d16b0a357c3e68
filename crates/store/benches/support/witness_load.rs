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
