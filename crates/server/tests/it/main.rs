//! The server as a library: requests sent straight to its router (tower's `oneshot`) on a
//! seeded instance, and snapshots of what it renders. The end-to-end tests of the running
//! binary are in `crates/cli/tests/it/server.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod api;
mod portal;
mod render;
mod support;
