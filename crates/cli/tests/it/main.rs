//! Integration tests of the `concordat` binary: real processes, real files, real SQLite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod browser;
mod compliance;
mod contract;
mod crash;
mod federation;
mod gateway;
mod help;
pub mod incidents;
mod interop;
mod ledger;
mod log;
mod notes;
mod postgres;
mod server;
mod support;
mod updates;
mod witness;
