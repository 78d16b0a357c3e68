//! Entries are built in one place: a typed predicate from `domain` → an in-toto Statement →
//! a DSSE envelope signed by every party that must sign it.

use attest::{Envelope, Statement, Subject};
use domain::{Kind, Predicate};
use serde::Serialize;
use tlog::note::SignerKey;

/// Why an entry could not be built or signed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the predicate cannot be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("an entry needs at least one signer")]
    NoSigner,
    #[error("cannot sign: {0}")]
    Sign(#[from] attest::dsse::DsseError),
}

impl From<BuildError> for crate::ServiceError {
    fn from(error: BuildError) -> crate::ServiceError {
        crate::ServiceError::Internal(error.to_string())
    }
}

/// An entry before it is signed.
#[derive(Debug, Clone)]
pub struct Draft {
    statement: Statement,
}

impl Draft {
    /// An entry of the predicate's kind, about its own predicate.
    pub fn new<P: Predicate>(predicate: &P) -> Result<Draft, BuildError> {
        Draft::of_kind(P::KIND, predicate, Vec::new())
    }

    /// An entry of the predicate's kind about `subjects` (e.g. a model's digest and a log's).
    pub fn about<P: Predicate>(predicate: &P, subjects: Vec<Subject>) -> Result<Draft, BuildError> {
        Draft::of_kind(P::KIND, predicate, subjects)
    }

    /// An entry of `kind` whose predicate has another kind's shape (an amendment is a
    /// publication's shape), or whose predicate was read from a file and checked with
    /// [`Kind::check_predicate`].
    pub fn of_kind(
        kind: Kind,
        predicate: &impl Serialize,
        subjects: Vec<Subject>,
    ) -> Result<Draft, BuildError> {
        let value = serde_json::to_value(predicate)?;
        Ok(Draft {
            statement: ledger::statement(kind, value, subjects),
        })
    }

    /// A ready-made Statement (e.g. from `evidence import`), to sign as it is.
    pub fn from_statement(statement: Statement) -> Draft {
        Draft { statement }
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    pub fn kind(&self) -> Option<Kind> {
        Kind::from_predicate_type(&self.statement.predicate_type)
    }

    /// The envelope, signed by each of `signers` in turn.
    pub fn sign(&self, signers: &[&SignerKey]) -> Result<Envelope, BuildError> {
        let (first, others) = signers.split_first().ok_or(BuildError::NoSigner)?;
        let mut envelope = ledger::sign_statement(&self.statement, first)?;
        for key in others {
            envelope.sign(key)?;
        }
        Ok(envelope)
    }

    /// The envelope's bytes, as submitted.
    pub fn signed_bytes(&self, signers: &[&SignerKey]) -> Result<Vec<u8>, BuildError> {
        Ok(self.sign(signers)?.to_json().into_bytes())
    }
}

/// The first entry of a ledger: it registers the operator party, signed by the key it
/// registers, and states the terms the ledger runs on (its clock).
pub fn genesis(
    operator_name: &str,
    operator: &SignerKey,
    clock: ledger::Clock,
) -> Result<Vec<u8>, BuildError> {
    let predicate = domain::PartyRegistered {
        party: "operator".to_owned(),
        name: operator_name.to_owned(),
        roles: vec![domain::Role::Operator],
        jurisdictions: Vec::new(),
        keys: vec![operator.verifier().to_text()],
        contact: None,
        instance: Some(domain::InstanceTerms::ledger(clock.mode())),
    };
    Draft::new(&predicate)?.signed_bytes(&[operator])
}

/// The current time, unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Lowercase hex SHA-256.
/// A name-based UUID (version 5 layout) from the SHA-256 of `text`: the same content, the
/// same id — what exports that must be the same bytes from the same log use.
pub fn name_uuid(text: &str) -> String {
    let hex = sha256_hex(text.as_bytes());
    let variant = match u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3 {
        0 => '8',
        1 => '9',
        2 => 'a',
        _ => 'b',
    };
    format!(
        "{}-{}-5{}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
