//! Integration tests for `tlog`, through its public API only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod checkpoints;
mod known_answers;
mod notes;
mod policy;
mod proof_files;
mod proofs;
mod support;
mod tiles;
mod witness;
