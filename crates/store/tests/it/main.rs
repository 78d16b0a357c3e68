//! Integration tests for `store`: a real SQLite database in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod pg;
mod story;
mod support;
mod tamper;
mod witness;
