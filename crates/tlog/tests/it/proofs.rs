//! Inclusion and consistency proofs: every index and size, every pair of sizes, and every
//! single-bit change rejected.

use tlog::proof::{
    ProveError, VerifyError, consistency_proof, consistency_proof_len, inclusion_proof,
    inclusion_proof_len, verify_consistency, verify_inclusion,
};
use tlog::tree::{TreeState, frontier_nodes};
use tlog::{Hash, NodeSource, leaf_hash};

use crate::support::{MemoryTree, Rng, flip_bit};

fn random_tree(seed: u64, size: usize) -> (MemoryTree, Vec<Vec<u8>>) {
    let mut rng = Rng(seed);
    let entries: Vec<Vec<u8>> = (0..size)
        .map(|_| {
            let len = rng.below(40) as usize;
            rng.bytes(len)
        })
        .collect();
    (
        MemoryTree::with_entries(entries.iter().map(Vec::as_slice)),
        entries,
    )
}

/// Checks an inclusion proof and that every single-bit change of it, the root, the index or the
/// size is rejected. `bits` limits how many hash bits are flipped (all when `None`).
fn check_inclusion(
    tree: &MemoryTree,
    entries: &[Vec<u8>],
    index: u64,
    size: u64,
    rng: &mut Option<&mut Rng>,
) {
    let proof = inclusion_proof(tree, index, size).unwrap();
    let root = tree.roots[size as usize];
    let leaf = leaf_hash(&entries[index as usize]);
    assert_eq!(proof.len(), inclusion_proof_len(index, size));
    verify_inclusion(&leaf, index, size, &proof, &root)
        .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));

    let bits: Vec<usize> = match rng {
        None => (0..256).collect(),
        Some(rng) => (0..4).map(|_| rng.below(256) as usize).collect(),
    };
    for position in 0..proof.len() {
        for &bit in &bits {
            let mut bad = proof.clone();
            bad[position] = flip_bit(&bad[position], bit);
            assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
    }
    for &bit in &bits {
        assert!(verify_inclusion(&leaf, index, size, &proof, &flip_bit(&root, bit)).is_err());
        assert!(verify_inclusion(&flip_bit(&leaf, bit), index, size, &proof, &root).is_err());
    }
    for bit in number_bits(rng) {
        assert!(
            verify_inclusion(&leaf, index ^ (1 << bit), size, &proof, &root).is_err(),
            "index {index} with bit {bit} flipped accepted"
        );
        // A bare audit path does not bind the size where another size has a path of the same
        // shape; the signed checkpoint binds it (see proof_files). Every other flip is caught.
        let flipped = size ^ (1 << bit);
        let same_shape = index < flipped
            && inclusion_proof_len(index, flipped) == proof.len()
            && same_inclusion_shape(index, size, flipped);
        assert_eq!(
            verify_inclusion(&leaf, index, flipped, &proof, &root).is_ok(),
            same_shape,
            "index {index} size {size}: size with bit {bit} flipped"
        );
    }
}

fn check_consistency(tree: &MemoryTree, old: u64, new: u64, rng: &mut Option<&mut Rng>) {
    let proof = consistency_proof(tree, old, new).unwrap();
    let (old_root, new_root) = (tree.roots[old as usize], tree.roots[new as usize]);
    assert_eq!(proof.len(), consistency_proof_len(old, new));
    verify_consistency(old, new, &proof, &old_root, &new_root)
        .unwrap_or_else(|e| panic!("old {old} new {new}: {e}"));
    if old == 0 {
        // Every tree extends the empty tree: there is nothing a bit flip could break.
        return;
    }
    let bits: Vec<usize> = match rng {
        None => (0..256).collect(),
        Some(rng) => (0..4).map(|_| rng.below(256) as usize).collect(),
    };
    for position in 0..proof.len() {
        for &bit in &bits {
            let mut bad = proof.clone();
            bad[position] = flip_bit(&bad[position], bit);
            assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
        }
    }
    for &bit in &bits {
        assert!(
            verify_consistency(old, new, &proof, &flip_bit(&old_root, bit), &new_root).is_err()
        );
        assert!(
            verify_consistency(old, new, &proof, &old_root, &flip_bit(&new_root, bit)).is_err()
        );
    }
    for bit in number_bits(rng) {
        // Claiming the empty tree as the old one needs no proof: every tree extends it.
        let skip_old = old ^ (1 << bit) == 0;
        assert!(
            skip_old
                || verify_consistency(old ^ (1 << bit), new, &proof, &old_root, &new_root).is_err(),
            "old {old} new {new}: old size with bit {bit} flipped accepted"
        );
        let flipped = new ^ (1 << bit);
        let same_shape = old <= flipped
            && consistency_proof_len(old, flipped) == proof.len()
            && same_consistency_shape(old, new, flipped);
        assert_eq!(
            verify_consistency(old, flipped, &proof, &old_root, &new_root).is_ok(),
            same_shape,
            "old {old} new {new}: new size with bit {bit} flipped"
        );
    }
}

/// Which bits of an index or size to flip: all 64, or a random few in the large sweeps.
fn number_bits(rng: &mut Option<&mut Rng>) -> Vec<u32> {
    match rng {
        None => (0..64).collect(),
        Some(rng) => {
            let mut bits: Vec<u32> = (0..3).map(|_| rng.below(10) as u32).collect();
            bits.push(rng.below(64) as u32);
            bits
        }
    }
}

/// Whether the audit paths of `index` in trees of `a` and `b` leaves combine hashes in the same
/// order: a reference model of RFC 6962 PATH, independent of the code under test.
fn same_inclusion_shape(index: u64, a: u64, b: u64) -> bool {
    fn shape(mut index: u64, mut size: u64) -> Vec<bool> {
        let mut sides = Vec::new();
        while size > 1 {
            let k = 1u64 << (63 - (size - 1).leading_zeros());
            if index < k {
                sides.push(true);
                size = k;
            } else {
                sides.push(false);
                index -= k;
                size -= k;
            }
        }
        sides
    }
    shape(index, a) == shape(index, b)
}

/// The same for consistency proofs (RFC 6962 SUBPROOF), as a list of combination steps.
fn same_consistency_shape(old: u64, a: u64, b: u64) -> bool {
    fn shape(mut m: u64, mut n: u64) -> Vec<(bool, bool)> {
        let (mut steps, mut complete) = (Vec::new(), true);
        while m != n {
            let k = 1u64 << (63 - (n - 1).leading_zeros());
            if m <= k {
                steps.push((true, complete));
                n = k;
            } else {
                steps.push((false, complete));
                m -= k;
                n -= k;
                complete = false;
            }
        }
        steps.push((m == n, complete));
        steps
    }
    shape(old, a) == shape(old, b)
}

#[test]
fn every_inclusion_proof_in_small_trees_with_every_bit_flipped() {
    let (tree, entries) = random_tree(1, 33);
    for size in 1..=33 {
        for index in 0..size {
            check_inclusion(&tree, &entries, index, size, &mut None);
        }
    }
}

#[test]
fn every_consistency_proof_in_small_trees_with_every_bit_flipped() {
    let (tree, _) = random_tree(2, 33);
    for new in 0..=33 {
        for old in 0..=new {
            check_consistency(&tree, old, new, &mut None);
        }
    }
}

#[test]
fn every_inclusion_proof_up_to_300_leaves() {
    let (tree, entries) = random_tree(3, 300);
    let mut rng = Rng(33);
    for size in 1..=300 {
        for index in 0..size {
            check_inclusion(&tree, &entries, index, size, &mut Some(&mut rng));
        }
    }
}

#[test]
fn every_consistency_proof_up_to_300_leaves() {
    let (tree, _) = random_tree(4, 300);
    let mut rng = Rng(44);
    for new in 0..=300 {
        for old in 0..=new {
            check_consistency(&tree, old, new, &mut Some(&mut rng));
        }
    }
}

#[test]
fn proofs_of_the_wrong_length_are_rejected_precisely() {
    let (tree, entries) = random_tree(5, 20);
    let root = tree.roots[20];
    let leaf = leaf_hash(&entries[7]);
    let proof = inclusion_proof(&tree, 7, 20).unwrap();

    let mut longer = proof.clone();
    longer.push(Hash::default());
    let error = verify_inclusion(&leaf, 7, 20, &longer, &root).unwrap_err();
    assert_eq!(
        error,
        VerifyError::WrongLength {
            got: proof.len() + 1,
            expected: proof.len(),
            what: "index 7 in a tree of size 20".into()
        }
    );
    let shorter = &proof[..proof.len() - 1];
    assert!(matches!(
        verify_inclusion(&leaf, 7, 20, shorter, &root),
        Err(VerifyError::WrongLength { .. })
    ));

    let consistency = consistency_proof(&tree, 6, 20).unwrap();
    let error = verify_consistency(6, 20, &consistency[1..], &tree.roots[6], &root).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("consistency from size 6 to size 20"),
        "{error}"
    );
    // Equal sizes take an empty proof; anything else is refused, not ignored.
    assert!(matches!(
        verify_consistency(20, 20, &[root], &root, &root),
        Err(VerifyError::WrongLength {
            got: 1,
            expected: 0,
            ..
        })
    ));
}

#[test]
fn out_of_range_indices_and_sizes_are_refused() {
    let (tree, _) = random_tree(6, 10);
    assert!(matches!(
        inclusion_proof(&tree, 10, 10),
        Err(ProveError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    ));
    assert!(matches!(
        consistency_proof(&tree, 9, 8),
        Err(ProveError::SizesOutOfOrder { old: 9, new: 8 })
    ));
    let root = tree.roots[10];
    assert_eq!(
        verify_inclusion(&root, 10, 10, &[], &root),
        Err(VerifyError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    assert_eq!(
        verify_consistency(11, 10, &[], &root, &root),
        Err(VerifyError::SizesOutOfOrder { old: 11, new: 10 })
    );
}

#[test]
fn a_tree_resumes_from_its_stored_right_edge() {
    let (tree, entries) = random_tree(7, 200);
    for size in 0..200u64 {
        let frontier = frontier_nodes(size)
            .into_iter()
            .map(|id| tree.node(id).unwrap())
            .collect();
        let mut resumed = TreeState::from_frontier(size, frontier).unwrap();
        assert_eq!(resumed.root(), tree.roots[size as usize]);
        resumed.append(&entries[size as usize]);
        assert_eq!(resumed.root(), tree.roots[size as usize + 1]);
    }
    assert!(TreeState::from_frontier(3, vec![Hash::default()]).is_err());
}
