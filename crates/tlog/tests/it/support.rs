//! Test helpers: an in-memory node store and a deterministic random source.

use std::collections::HashMap;
use std::convert::Infallible;

use tlog::{Hash, NodeId, NodeSource, TreeState, leaf_hash};

/// Every complete node of a tree, as a log would store them.
#[derive(Default)]
pub struct MemoryTree {
    pub state: TreeState,
    pub nodes: HashMap<NodeId, Hash>,
    pub roots: Vec<Hash>,
}

impl MemoryTree {
    pub fn with_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> MemoryTree {
        let mut tree = MemoryTree::default();
        tree.roots.push(tree.state.root());
        for entry in entries {
            tree.append(entry);
        }
        tree
    }

    pub fn append(&mut self, entry: &[u8]) {
        let nodes = &mut self.nodes;
        self.state.append_leaf_hash(leaf_hash(entry), |id, hash| {
            assert!(
                nodes.insert(id, hash).is_none(),
                "node {id:?} completed twice"
            );
        });
        self.roots.push(self.state.root());
    }
}

impl NodeSource for MemoryTree {
    type Error = Infallible;

    fn node(&self, node: NodeId) -> Result<Hash, Infallible> {
        Ok(*self
            .nodes
            .get(&node)
            .expect("proofs only ask for stored nodes"))
    }
}

/// SplitMix64: small, deterministic, good enough to pick test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

pub fn flip_bit(hash: &Hash, bit: usize) -> Hash {
    let mut bytes = hash.0;
    bytes[bit / 8] ^= 1 << (bit % 8);
    Hash(bytes)
}
