//! Errors of the ledger.

use domain::Rejection;
use store::StoreError;

/// Why an entry was not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Not a well-formed envelope of an in-toto Statement.
    #[error("invalid entry: {0}")]
    Invalid(String),
    /// A signature does not verify with the key it names.
    #[error("signature check failed: {0}")]
    Unverified(String),
    /// Well-formed, but the rules do not allow it.
    #[error("{0}")]
    Rejected(Rejection),
    /// The ledger could not store it (nothing was appended).
    #[error("the ledger could not store the entry: {0}")]
    Failed(String),
    /// Not stored for a reason that passes — this node no longer sequences the log (another
    /// took over; nothing was appended), or the database went out of reach (the commit's
    /// outcome unknown). Send it again: a statement stored after all is then refused by rule
    /// `logged-once`, which names its entry.
    #[error("the entry was not stored, try again: {0}")]
    Unavailable(String),
}

/// Why the ledger cannot be opened, read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("`{0}` holds a bare log, not a Concordat ledger (create one with `concordat init`)")]
    NotALedger(String),
    #[error("the stored ledger state is unreadable: {0}")]
    State(String),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}
