//! The service's own tests: deposits, tokens and identifiers through its public surface.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod deposit;
mod snp;
mod tokens;
