//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4).
//!
//! Proofs are produced from stored hashes of complete subtrees through [`NodeSource`], so a log
//! never rehashes its tree to answer a query. Verification follows the RFC's algorithms step by
//! step, after checking that the proof has exactly the length the sizes call for: a proof is
//! never padded or truncated to fit.

use crate::hash::{Hash, node_hash};
use crate::tree::NodeId;

/// The longest proof for any tree of at most 2^64 leaves has 64 hashes; a consistency proof one
/// more when the old size is not a power of two.
pub const PROOF_HASHES_MAX: usize = 65;

/// Where a proof's hashes come from: the stored hash of a complete subtree.
pub trait NodeSource {
    type Error;

    /// The hash of the complete subtree `node`. Callers only ask for nodes inside a tree the
    /// source has fully stored.
    fn node(&self, node: NodeId) -> Result<Hash, Self::Error>;
}

/// Why a proof cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError<E> {
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("cannot prove anything about an empty tree")]
    EmptyTree,
    #[error(transparent)]
    Source(E),
}

/// Why a proof does not verify. Each variant says precisely what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error(
        "proof has {got} hashes, but {expected} are needed for {what}; a proof is never padded or truncated"
    )]
    WrongLength {
        got: usize,
        expected: usize,
        what: String,
    },
    #[error("proof does not lead to the expected root: computed {computed}, expected {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    #[error("proof does not lead to the old root: computed {computed}, expected {expected}")]
    OldRootMismatch { computed: Hash, expected: Hash },
    #[error("proof does not lead to the new root: computed {computed}, expected {expected}")]
    NewRootMismatch { computed: Hash, expected: Hash },
}

/// The largest power of two strictly smaller than `n` (RFC 6962's `k`); `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The Merkle Tree Hash of leaves `[start, end)` as the RFC's recursion splits them, built from
/// complete subtrees. `end > start`.
pub fn range_hash<S: NodeSource>(source: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let width = end - start;
    if width.is_power_of_two() && start.is_multiple_of(width) {
        let level = u8::try_from(width.trailing_zeros()).unwrap_or(u8::MAX);
        return source.node(NodeId::new(level, start >> level));
    }
    let k = split_point(width);
    let left = range_hash(source, start, start + k)?;
    let right = range_hash(source, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves, from stored hashes.
pub fn root_at<S: NodeSource>(source: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(crate::hash::empty_root());
    }
    range_hash(source, 0, size)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: NodeSource>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    // Walk down from the root, remembering each sibling range; the proof lists them bottom up.
    let (mut start, mut end, mut leaf) = (0u64, size, index);
    let mut siblings = Vec::new();
    while end - start > 1 {
        let k = split_point(end - start);
        if leaf < k {
            siblings.push((start + k, end));
            end = start + k;
        } else {
            siblings.push((start, start + k));
            start += k;
            leaf -= k;
        }
    }
    for (lo, hi) in siblings.into_iter().rev() {
        proof.push(range_hash(source, lo, hi).map_err(ProveError::Source)?);
    }
    Ok(proof)
}

/// The proof that the tree of `old` leaves is a prefix of the tree of `new` leaves
/// (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
pub fn consistency_proof<S: NodeSource>(
    source: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    if old > new {
        return Err(ProveError::SizesOutOfOrder { old, new });
    }
    let mut ranges = Vec::new();
    if old > 0 {
        subproof_ranges(old, 0, new, true, &mut ranges);
    }
    ranges
        .into_iter()
        .rev()
        .map(|(lo, hi)| range_hash(source, lo, hi).map_err(ProveError::Source))
        .collect()
}

/// The ranges whose hashes SUBPROOF(m, D[start:end], b) lists, pushed top down (the proof is
/// their reverse).
fn subproof_ranges(m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let (mut m, mut start, mut end, mut complete) = (m, start, end, complete);
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                out.push((start, end));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            out.push((start + k, end));
            end = start + k;
        } else {
            out.push((start, start + k));
            start += k;
            m -= k;
            complete = false;
        }
    }
}

/// How many hashes the inclusion proof of `index` in a tree of `size` has.
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    usize::try_from(inner + border).unwrap_or(usize::MAX)
}

/// How many hashes the consistency proof from `old` to `new` has.
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    let mut ranges = Vec::new();
    subproof_ranges(old, 0, new, true, &mut ranges);
    ranges.len()
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
///
/// The proof hashes bind the leaf, its index and the root, but not the size by themselves: two
/// sizes whose audit paths have the same shape verify alike. Take `size` and `root` together
/// from a signed checkpoint, as [`crate::proof_file::ProofFile::verify`] does.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    let wrong_length = || VerifyError::WrongLength {
        got: proof.len(),
        expected,
        what: format!("index {index} in a tree of size {size}"),
    };
    if proof.len() != expected {
        return Err(wrong_length());
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(wrong_length());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r != *root {
        return Err(VerifyError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root` (RFC 9162 §2.1.4.2). As for inclusion, sizes and roots belong
/// together in signed checkpoints.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizesOutOfOrder { old, new });
    }
    let expected = consistency_proof_len(old, new);
    let wrong_length = || VerifyError::WrongLength {
        got: proof.len(),
        expected,
        what: format!("consistency from size {old} to size {new}"),
    };
    if proof.len() != expected {
        return Err(wrong_length());
    }
    if old == 0 {
        // Every tree extends the empty tree; there is nothing to check.
        return Ok(());
    }
    if old == new {
        if old_root != new_root {
            return Err(VerifyError::NewRootMismatch {
                computed: *old_root,
                expected: *new_root,
            });
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(wrong_length());
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(wrong_length());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sn != 0 || sr != *new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}
