//! RFC 6962 Merkle trees and the C2SP transparency-log formats, as pure functions and values.
//!
//! Nothing here does IO: callers bring the bytes (entries, stored hashes, note text) and get
//! hashes, proofs, verdicts and encodings back. The modules follow the standards one to one:
//!
//! - [`hash`]: RFC 6962 leaf and node hashing.
//! - [`tree`]: an incremental tree state (the right edge of the tree) that appends in O(log n).
//! - [`proof`]: inclusion and consistency proofs, produced from stored hashes and verified as
//!   RFC 9162 §2.1.3.2 and §2.1.4.2 describe.
//! - [`note`]: C2SP `signed-note` with Ed25519 keys in C2SP text form.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` bodies.
//! - [`cosignature`]: C2SP `tlog-cosignature` v1 (Ed25519, timestamped).
//! - [`tile`]: C2SP `tlog-tiles` coordinates, paths, tile contents and entry bundles.
//! - [`proof_file`]: C2SP `tlog-proof` files.
//! - [`witness`]: C2SP `tlog-witness` `add-checkpoint`, the witness's side.
//! - [`policy`]: C2SP `tlog-policy`: the logs, witnesses and quorum a verifier requires.

pub mod checkpoint;
pub mod cosignature;
pub mod hash;
pub mod note;
pub mod policy;
pub mod proof;
pub mod proof_file;
pub mod tile;
pub mod tree;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use hash::{Hash, leaf_hash, node_hash};
pub use note::{Note, SignerKey, VerifierKey};
pub use proof::NodeSource;
pub use tree::{NodeId, TreeState};
