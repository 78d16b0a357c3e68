//! Integration tests for `store`: real SQLite databases in temporary directories, and real
//! PostgreSQL clusters the tests start themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod migrate;
mod pg;
mod story;
mod support;
mod tamper;
mod witness;
