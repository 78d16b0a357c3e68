//! Signed statements: DSSE envelopes carrying in-toto Statements, and the keys that sign them.
//!
//! - [`dsse`]: envelopes, the pre-authentication encoding (PAE), signing with Ed25519 and
//!   verification of Ed25519 and ECDSA P-256 signatures, counting distinct keys.
//! - [`statement`]: in-toto Statement v1.
//! - [`keys`]: public keys from C2SP verifier-key text or PEM, with a stable key ID.
//! - [`http_signature`]: HTTP Message Signatures (RFC 9421), a request signed by a party's key.
//!
//! Pure: bytes in, verdicts out. Signatures are always checked over the payload bytes as
//! received, never over a re-serialisation.

pub mod dsse;
pub mod http_signature;
pub mod keys;
pub mod statement;

pub use dsse::{Envelope, pae};
pub use keys::{PublicKey, verify_all};
pub use statement::{Statement, Subject};
