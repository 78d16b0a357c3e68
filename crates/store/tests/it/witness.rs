//! A witness's durable state: checkpoints cosigned in order and kept across restarts, stale
//! requests answered with the size held, split views and bad proofs kept as evidence, and
//! concurrent requests that can never roll a log back.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;

use store::GroupCommit;
use store::witness::WitnessState;
use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof::consistency_proof;
use tlog::witness::{AddCheckpoint, Refusal};
use tlog::{Checkpoint, Hash, NodeId, NodeSource, TreeState, leaf_hash};

const ORIGIN: &str = "example.org/log";

/// A log in memory: every node, every root, a key.
struct Log {
    key: SignerKey,
    nodes: HashMap<NodeId, Hash>,
    roots: Vec<Hash>,
}

impl NodeSource for Log {
    type Error = Infallible;
    fn node(&self, node: NodeId) -> Result<Hash, Infallible> {
        Ok(self.nodes[&node])
    }
}

impl Log {
    fn new(entries: usize) -> Log {
        let mut state = TreeState::new();
        let mut nodes = HashMap::new();
        let mut roots = vec![state.root()];
        for i in 0..entries {
            state.append_leaf_hash(leaf_hash(format!("entry {i}").as_bytes()), |id, hash| {
                nodes.insert(id, hash);
            });
            roots.push(state.root());
        }
        Log {
            key: SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [1; 32]).unwrap(),
            nodes,
            roots,
        }
    }

    fn signed(&self, size: u64, root: Hash) -> Vec<u8> {
        let text = Checkpoint::new(ORIGIN, size, root).to_text();
        Note::sign(&text, &self.key).unwrap().to_text().into_bytes()
    }

    fn request(&self, old: u64, size: u64) -> AddCheckpoint {
        AddCheckpoint {
            old_size: old,
            proof: if old == 0 {
                Vec::new()
            } else {
                consistency_proof(self, old, size).unwrap()
            },
            checkpoint: self.signed(size, self.roots[size as usize]),
        }
    }

    fn logs(&self) -> BTreeMap<String, Vec<tlog::VerifierKey>> {
        BTreeMap::from([(ORIGIN.to_owned(), vec![self.key.verifier()])])
    }
}

fn size_of(judgement: &tlog::witness::AddCheckpoint, state: &WitnessState) -> Result<u64, Refusal> {
    state
        .add(judgement.clone())
        .unwrap()
        .map(|(checkpoint, _)| checkpoint.size)
}

#[test]
fn checkpoints_are_cosigned_in_order_and_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(20);
    {
        let state = WitnessState::open(tmp.path(), log.logs(), GroupCommit::default()).unwrap();
        assert_eq!(size_of(&log.request(0, 4), &state), Ok(4));
        assert_eq!(size_of(&log.request(4, 10), &state), Ok(10));
        // A client that believes the witness is behind is told where it is.
        assert_eq!(
            size_of(&log.request(4, 12), &state),
            Err(Refusal::Conflict {
                old: 4,
                cosigned: 10
            })
        );
    }
    let state = WitnessState::open(tmp.path(), log.logs(), GroupCommit::default()).unwrap();
    let (size, note) = state.latest(ORIGIN).unwrap().unwrap();
    assert_eq!(size, 10);
    assert_eq!(note.as_bytes(), log.signed(10, log.roots[10]).as_slice());
    assert_eq!(size_of(&log.request(10, 20), &state), Ok(20));
    let history: Vec<u64> = state
        .history(ORIGIN)
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(history, [4, 10, 20], "every checkpoint cosigned is kept");
    assert!(state.latest("other.example/log").unwrap().is_none());
    assert!(state.evidence(None).unwrap().is_empty());
}

#[test]
fn a_split_view_and_a_bad_proof_are_kept_as_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(10);
    let state = WitnessState::open(tmp.path(), log.logs(), GroupCommit::default()).unwrap();
    assert_eq!(size_of(&log.request(0, 6), &state), Ok(6));
    // The log signs another tree of size 6.
    let fork = AddCheckpoint {
        old_size: 6,
        proof: Vec::new(),
        checkpoint: log.signed(6, Hash([9; 32])),
    };
    assert_eq!(size_of(&fork, &state), Err(Refusal::SplitView { size: 6 }));
    // And a size 10 that does not extend what was cosigned.
    let mut bad = log.request(6, 10);
    bad.proof[0].0[3] ^= 1;
    assert_eq!(size_of(&bad, &state).unwrap_err().status(), 422);
    // A refusal that proves nothing (a stale size) is not kept.
    assert!(size_of(&log.request(0, 10), &state).is_err());

    let evidence = state.evidence(Some(ORIGIN)).unwrap();
    assert_eq!(evidence.len(), 2);
    let cosigned = String::from_utf8(log.signed(6, log.roots[6])).unwrap();
    for (kept, sent) in evidence.iter().zip([&fork, &bad]) {
        assert_eq!(
            kept.against, cosigned,
            "kept beside the checkpoint it contradicts"
        );
        assert_eq!(&AddCheckpoint::parse(&kept.request).unwrap(), sent);
        // Both halves are signed by the log: anyone can check them with its key.
        for note in [kept.against.as_bytes(), sent.checkpoint.as_slice()] {
            Note::parse(note)
                .unwrap()
                .verify(&[log.key.verifier()])
                .unwrap();
        }
    }
    assert!(evidence[0].reason.contains("another root"));
    // The state did not move.
    assert_eq!(state.latest(ORIGIN).unwrap().unwrap().0, 6);
}

/// Many clients race to move one log forward, each from the size it last saw: whatever the
/// order, the cosigned sizes form one chain from 0 and never go back.
#[test]
fn concurrent_requests_never_roll_a_log_back() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::new(300));
    let state =
        Arc::new(WitnessState::open(tmp.path(), log.logs(), GroupCommit::default()).unwrap());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (log, state) = (Arc::clone(&log), Arc::clone(&state));
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut seen = 0u64;
                for round in 0..40u64 {
                    let size = (seen + 1 + (t + round) % 5).min(300);
                    match state.add(log.request(seen, size)).unwrap() {
                        Ok((checkpoint, _)) => {
                            accepted.push((seen, checkpoint.size));
                            seen = checkpoint.size;
                        }
                        Err(Refusal::Conflict { cosigned, .. }) => seen = cosigned,
                        Err(other) => panic!("{other}"),
                    }
                }
                accepted
            })
        })
        .collect();
    let mut accepted: Vec<(u64, u64)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    accepted.sort();
    let mut at = 0;
    for (old, new) in &accepted {
        assert_eq!(
            *old, at,
            "every cosigned step starts where the last ended: {accepted:?}"
        );
        assert!(*new >= *old);
        at = *new;
    }
    assert_eq!(state.latest(ORIGIN).unwrap().unwrap().0, at);
    assert!(accepted.len() > 8, "{accepted:?}");
}
