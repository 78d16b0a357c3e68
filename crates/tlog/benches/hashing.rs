//! Hashing throughput against this machine's SHA-256 bound, printed as JSON lines.
//!
//! The bound is the sha2 crate hashing a message of the same length (with SHA-NI where the CPU
//! has it); the ratio says how much the RFC 6962 framing and tree bookkeeping cost on top.
//! Run with `cargo bench -p tlog --bench hashing`.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tlog::{Hash, TreeState, leaf_hash, node_hash};

const ENTRY_BYTES: usize = 256;

/// Runs `work` for about `budget` and returns operations per second.
fn rate(budget: Duration, mut work: impl FnMut(u64)) -> f64 {
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < budget {
        for i in 0..10_000 {
            work(done + i);
        }
        done += 10_000;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let budget = Duration::from_secs(2);
    let mut entry = vec![0u8; ENTRY_BYTES];
    let raw_leaf = rate(budget, |i| {
        entry[0] = i as u8;
        let mut message = [0u8; ENTRY_BYTES + 1];
        message[1..].copy_from_slice(&entry);
        black_box(Sha256::digest(message));
    });
    let leaf = rate(budget, |i| {
        entry[0] = i as u8;
        black_box(leaf_hash(&entry));
    });
    let (left, right) = (Hash([1; 32]), Hash([2; 32]));
    let raw_node = rate(budget, |i| {
        let mut message = [1u8; 65];
        message[1] = i as u8;
        black_box(Sha256::digest(message));
    });
    let node = rate(budget, |i| {
        let mut l = left;
        l.0[0] = i as u8;
        black_box(node_hash(&l, &right));
    });
    let mut tree = TreeState::new();
    let append = rate(budget, |i| {
        entry[..8].copy_from_slice(&i.to_be_bytes());
        tree.append(&entry);
    });
    black_box(tree.root());
    // An append costs one leaf hash and, on average, one node hash.
    let append_bound = 1.0 / (1.0 / raw_leaf + 1.0 / raw_node);
    let line = |name: &str, ours: f64, bound: f64| {
        println!(
            "{{\"bench\":\"{name}\",\"per_second\":{ours:.0},\"sha256_bound_per_second\":{bound:.0},\"ratio_to_bound\":{:.3}}}",
            ours / bound
        );
    };
    line("leaf_hash_256_byte_entry", leaf, raw_leaf);
    line("node_hash", node, raw_node);
    line("tree_append_256_byte_entry", append, append_bound);
    println!(
        "{{\"bench\":\"sha256_bound\",\"bytes_per_second_257_byte_messages\":{:.0}}}",
        raw_leaf * (ENTRY_BYTES as f64 + 1.0)
    );
}
