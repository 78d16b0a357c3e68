//! One refusal type for everything an instance can answer, mapped to an HTTP status here and
//! to an exit status by the CLI, each in one place.

use crate::wire::ErrorDetail;

/// Why an instance did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The entry is well formed and signed, but a rule of the ledger does not allow it.
    #[error("rejected by rule `{rule}`: {message}")]
    Rejected { rule: String, message: String },
    /// A signature does not verify, or its signer is not registered.
    #[error("signature check failed: {0}")]
    Unverified(String),
    /// Not a well-formed envelope of a Concordat entry.
    #[error("invalid entry: {0}")]
    InvalidEntry(String),
    /// The request itself is malformed (a query, a path, a body).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// No credential, or one the instance does not accept.
    #[error("{0}")]
    Unauthenticated(String),
    /// A credential of a party that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something else is already there (a deposit of other bytes).
    #[error("{0}")]
    Conflict(String),
    /// What was sent does not match what the ledger committed to (a commitment, a digest).
    #[error("{message}")]
    Mismatch { code: &'static str, message: String },
    #[error("{0}")]
    TooLarge(String),
    /// The instance cannot do this now (no operator key, a held writer lock).
    #[error("{0}")]
    Unavailable(String),
    /// The server could not be reached, or answered with something that is not the API.
    #[error("{0}")]
    Unreachable(String),
    /// A fault inside the instance; its detail is for the operator's log, not for clients.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    pub fn internal(detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Internal(detail.to_string())
    }

    /// The HTTP status that says whose fault it was.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::InvalidEntry(_) | ServiceError::BadRequest(_) => 400,
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::TooLarge(_) => 413,
            ServiceError::Rejected { .. }
            | ServiceError::Unverified(_)
            | ServiceError::Mismatch { .. } => 422,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Unreachable(_) => 502,
            ServiceError::Internal(_) => 500,
        }
    }

    /// A stable, machine-readable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Rejected { .. } => "rejected",
            ServiceError::Unverified(_) => "unverified",
            ServiceError::InvalidEntry(_) => "invalid-entry",
            ServiceError::BadRequest(_) => "bad-request",
            ServiceError::NotFound(_) => "not-found",
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Conflict(_) => "already-deposited",
            ServiceError::Mismatch { code, .. } => code,
            ServiceError::TooLarge(_) => "too-large",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Unreachable(_) => "unreachable",
            ServiceError::Internal(_) => "internal",
        }
    }

    /// Whether something was checked and found wrong (a refused entry, a signature, a
    /// credential, a mismatch), as opposed to bad input or a failure to run.
    pub fn is_verification(&self) -> bool {
        matches!(
            self,
            ServiceError::Rejected { .. }
                | ServiceError::Unverified(_)
                | ServiceError::Unauthenticated(_)
                | ServiceError::Forbidden(_)
                | ServiceError::Mismatch { .. }
        )
    }

    /// The error as the API shows it: internal detail is replaced by a pointer to the log.
    pub fn to_wire(&self) -> ErrorDetail {
        let message = match self {
            ServiceError::Internal(_) => {
                "the server could not complete the request; the operator's log has the detail"
                    .to_owned()
            }
            other => other.to_string(),
        };
        let rule = match self {
            ServiceError::Rejected { rule, .. } => Some(rule.clone()),
            _ => None,
        };
        ErrorDetail {
            status: self.status(),
            code: self.code().to_owned(),
            message,
            rule,
        }
    }

    /// The error a server answered with, read back from its wire form.
    pub fn from_wire(detail: ErrorDetail) -> ServiceError {
        let ErrorDetail {
            status,
            code,
            message,
            rule,
        } = detail;
        // The wire message is the Display of the variant; strip what Display adds back on.
        let strip = |prefix: &str| message.strip_prefix(prefix).unwrap_or(&message).to_owned();
        match (status, code.as_str()) {
            (_, "rejected") => {
                let rule = rule.unwrap_or_default();
                let message = strip(&format!("rejected by rule `{rule}`: "));
                ServiceError::Rejected { rule, message }
            }
            (_, "unverified") => ServiceError::Unverified(strip("signature check failed: ")),
            (_, "invalid-entry") => ServiceError::InvalidEntry(strip("invalid entry: ")),
            (_, "commitment-mismatch") => ServiceError::Mismatch {
                code: "commitment-mismatch",
                message,
            },
            (_, "digest-mismatch") => ServiceError::Mismatch {
                code: "digest-mismatch",
                message,
            },
            (_, "not-a-party") => ServiceError::Mismatch {
                code: "not-a-party",
                message,
            },
            (400 | 414, _) => ServiceError::BadRequest(message),
            (401, _) => ServiceError::Unauthenticated(message),
            (403, _) => ServiceError::Forbidden(message),
            (404, _) => ServiceError::NotFound(message),
            (409, _) => ServiceError::Conflict(message),
            (413, _) => ServiceError::TooLarge(message),
            (422, _) => ServiceError::Mismatch {
                code: "mismatch",
                message,
            },
            (503, _) => ServiceError::Unavailable(message),
            _ => ServiceError::Internal(message),
        }
    }
}

impl From<ledger::SubmitError> for ServiceError {
    fn from(error: ledger::SubmitError) -> ServiceError {
        match error {
            ledger::SubmitError::Invalid(message) => ServiceError::InvalidEntry(message),
            ledger::SubmitError::Unverified(message) => ServiceError::Unverified(message),
            ledger::SubmitError::Rejected(rejection) => ServiceError::Rejected {
                rule: rejection.rule.to_owned(),
                message: rejection.message,
            },
            ledger::SubmitError::Failed(message) => {
                ServiceError::Internal(format!("the ledger could not store the entry: {message}"))
            }
            ledger::SubmitError::Unavailable(message) => ServiceError::Unavailable(format!(
                "{message}: send the entry again (if it was stored after all, it is refused as `logged-once`, naming its entry)"
            )),
        }
    }
}

impl From<store::StoreError> for ServiceError {
    fn from(error: store::StoreError) -> ServiceError {
        match error {
            // A request for something the log does not hold (a tile past its size, an index
            // past its end): the client's to fix.
            store::StoreError::Invalid(message) => ServiceError::NotFound(message),
            store::StoreError::NoSuchEntry { .. }
            | store::StoreError::SizeBeyondCheckpoint { .. }
            | store::StoreError::NoCheckpointAt { .. }
            | store::StoreError::NotALog(_) => ServiceError::NotFound(error.to_string()),
            store::StoreError::EntryTooLarge { .. } => ServiceError::TooLarge(error.to_string()),
            store::StoreError::Locked { .. }
            | store::StoreError::RolledBack { .. }
            | store::StoreError::Forked { .. } => ServiceError::Unavailable(error.to_string()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<ledger::LedgerError> for ServiceError {
    fn from(error: ledger::LedgerError) -> ServiceError {
        match error {
            ledger::LedgerError::Store(store) => store.into(),
            ledger::LedgerError::Submit(submit) => submit.into(),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
