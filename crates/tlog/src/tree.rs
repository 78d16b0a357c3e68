//! The incremental state of an RFC 6962 tree: the roots of the complete subtrees along its right
//! edge. Appending a leaf costs O(log n) hashes and the root is available at every size.

use crate::hash::{Hash, empty_root, leaf_hash, node_hash};

/// A complete subtree: the `2^level` leaves starting at `index << level`.
///
/// Level 0 nodes are leaves. Every hash a log stores is the hash of such a node, and a node's
/// hash never changes once all its leaves are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The first leaf this node covers.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }
}

/// The complete subtrees whose roots make up the right edge of a tree of `size` leaves, largest
/// (leftmost) first. A stored tree can be resumed from exactly these hashes.
pub fn frontier_nodes(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            nodes.push(NodeId::new(level, start >> level));
            start += width;
        }
    }
    nodes
}

/// Why stored right-edge hashes cannot resume a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of size {size} has {expected} right-edge subtrees, got {got} hashes")]
pub struct FrontierError {
    pub size: u64,
    pub expected: usize,
    pub got: usize,
}

/// The right edge of a tree: enough to append leaves and compute the root, nothing more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeState {
    size: u64,
    /// Roots of the complete subtrees along the right edge, largest first; one per set bit of
    /// `size`.
    frontier: Vec<Hash>,
}

impl TreeState {
    pub fn new() -> TreeState {
        TreeState::default()
    }

    /// Resumes a tree from the hashes of [`frontier_nodes`]`(size)`, in that order.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<TreeState, FrontierError> {
        let expected = usize::try_from(size.count_ones()).unwrap_or(usize::MAX);
        if frontier.len() != expected {
            return Err(FrontierError {
                size,
                expected,
                got: frontier.len(),
            });
        }
        Ok(TreeState { size, frontier })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The right-edge subtree roots, largest first (see [`frontier_nodes`]).
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The RFC 6962 Merkle Tree Hash of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut hashes = self.frontier.iter().rev();
        let Some(smallest) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*smallest, |right, left| node_hash(left, &right))
    }

    /// Appends an entry; returns its leaf hash.
    pub fn append(&mut self, entry: &[u8]) -> Hash {
        let leaf = leaf_hash(entry);
        self.append_leaf_hash(leaf, |_, _| {});
        leaf
    }

    /// Appends a leaf hash and reports, in order, every node this completes: the leaf itself
    /// (level 0) and each subtree it closes. These are exactly the hashes a log must store.
    pub fn append_leaf_hash(&mut self, leaf: Hash, mut on_complete: impl FnMut(NodeId, Hash)) {
        let mut node = leaf;
        let mut id = NodeId::new(0, self.size);
        on_complete(id, node);
        while id.index & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                break;
            };
            node = node_hash(&left, &node);
            id = NodeId::new(id.level + 1, id.index >> 1);
            on_complete(id, node);
        }
        self.frontier.push(node);
        self.size += 1;
    }
}
