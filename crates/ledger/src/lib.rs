//! The ledger: signed governance entries through one write path.
//!
//! verify (DSSE signatures against the party registry) → validate (`domain::apply`) →
//! sequence and store (the entry and the state it changes, in one transaction, by group commit)
//! → checkpoint. A submitter gets back the entry's index and an inclusion proof against the
//! signed checkpoint that covers it; a rejected entry is not logged and gets its reason.
//! [`replay`] rebuilds the state from the log alone and reports where it differs from the
//! stored one.

mod error;
mod replay;
pub mod terms;
mod verify;
mod write;

use attest::statement::PAYLOAD_TYPE;
use attest::{Envelope, PublicKey, Statement, Subject};
use domain::{Kind, State};
use sha2::{Digest, Sha256};
use tlog::note::SignerKey;

pub use error::{LedgerError, SubmitError};
pub use replay::{ReplayProgress, ReplayReport, follow, replay, replay_at};
pub use terms::{Clock, SIMULATED_CLOCK_META};
pub use write::{Admission, ApplyOnly, Ledger, Pending, Receipt, init, init_at, load_state};

/// The metadata a ledger's log carries, telling it apart from a bare log.
pub const LEDGER_META: (&str, &str) = ("instance", "concordat-ledger");

/// A signed entry whose signatures verified against the registry.
#[derive(Debug, Clone)]
pub struct Verified {
    pub statement: Statement,
    /// The key IDs of registered keys whose signatures verified.
    pub signers: Vec<String>,
    /// What names the entry once: see [`statement_digest`].
    pub digest: [u8; 32],
}

/// The SHA-256 of a statement's bytes as signed (the envelope's payload). A ledger logs each
/// statement once: the same statement submitted again — by anyone, under any signatures — is
/// refused, so a public envelope cannot be replayed. Kinds that a party may mean more than once
/// carry what makes each one new (their `at`).
pub fn statement_digest(payload: &[u8]) -> [u8; 32] {
    Sha256::digest(payload).into()
}

/// Parses an envelope and checks its signatures against the keys `state` knows (for an empty
/// ledger, the keys its first entry registers).
pub fn verify_envelope(state: &State, bytes: &[u8]) -> Result<Verified, SubmitError> {
    let envelope = Envelope::parse(bytes).map_err(|e| SubmitError::Invalid(e.to_string()))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(SubmitError::Invalid(format!(
            "envelope field `payloadType` is `{}`, expected `{PAYLOAD_TYPE}`",
            envelope.payload_type
        )));
    }
    let parse =
        |payload: &[u8]| Statement::parse(payload).map_err(|e| SubmitError::Invalid(e.to_string()));
    let bad_signature =
        |e: attest::dsse::DsseError| {
            SubmitError::Unverified(signed_by_whom(state, &envelope).unwrap_or_else(|| {
                format!("{e}: the envelope was altered or signed by another key")
            }))
        };
    // Signatures are checked before the payload is read, except for the first entry of a
    // ledger, whose statement brings the keys that sign it.
    let (statement, signers) = if state.is_empty() {
        let statement = parse(&envelope.payload)?;
        let keys = domain::verification_keys(state, &statement);
        let signers = envelope
            .verify_with(|keyid| {
                let matching: Vec<_> = keys.iter().filter(|k| k.keyid() == keyid).collect();
                if matching.is_empty() {
                    (keys.iter().collect(), false)
                } else {
                    (matching, true)
                }
            })
            .map_err(bad_signature)?
            .iter()
            .map(|key| key.keyid())
            .collect();
        (statement, signers)
    } else {
        let mut fallback: Option<Vec<&PublicKey>> = None;
        let signers: Vec<String> = envelope
            .verify_with(|keyid| match state.public_key(keyid) {
                Some(key) => (vec![key], true),
                // Key IDs are hints: a signer that labels its key differently is still found
                // among the keys of the parties the entry names, and the operators'.
                None => (
                    fallback
                        .get_or_insert_with(|| fallback_keys(state, &envelope.payload))
                        .clone(),
                    false,
                ),
            })
            .map_err(bad_signature)?
            .iter()
            .map(|key| key.keyid())
            .collect();
        if signers.is_empty() {
            return Err(SubmitError::Unverified(
                signed_by_whom(state, &envelope).unwrap_or_else(|| "no signature verifies with a registered key of any party: the envelope was altered, or its signers are not registered".to_owned()),
            ));
        }
        (parse(&envelope.payload)?, signers)
    };
    Ok(Verified {
        statement,
        signers,
        digest: statement_digest(&envelope.payload),
    })
}

/// The registered keys whose signatures on a logged envelope verify, in signature order: for
/// showing who signed an entry (the write path already checked them when it was logged).
pub fn signing_keys<'s>(state: &'s State, envelope: &Envelope) -> Vec<&'s domain::KeyRecord> {
    let pae = envelope.pae();
    envelope
        .signatures
        .iter()
        .filter_map(|signature| {
            let key = state
                .public_key(&signature.keyid)
                .filter(|key| key.verify(&pae, &signature.sig))
                .or_else(|| {
                    state
                        .public_keys()
                        .find(|key| key.verify(&pae, &signature.sig))
                })?;
            state.key(&key.keyid())
        })
        .collect()
}

/// The keys to try for a signature whose key ID is unknown: those of the parties the payload
/// names as `predicate.party` and `predicate.cosigners`, and the operators'. The payload is not
/// trusted for anything but this hint; a wrong hint only means the signature is not found.
/// For an envelope whose signatures do not verify as labelled: who did sign it (a registered
/// key of another party than the entry names) and for whom it speaks, in words. Only on this
/// failure path does it try every registered key.
fn signed_by_whom(state: &State, envelope: &Envelope) -> Option<String> {
    let pae = envelope.pae();
    let signed: Vec<String> = envelope
        .signatures
        .iter()
        .filter_map(|signature| {
            let key = state
                .public_keys()
                .find(|key| key.verify(&pae, &signature.sig))?;
            let keyid = key.keyid();
            let party = state.key(&keyid)?.party.clone();
            Some(format!("`{party}` (key {keyid})"))
        })
        .collect();
    if signed.is_empty() {
        return None;
    }
    let named: Vec<String> = named_parties(&envelope.payload)
        .iter()
        .map(|p| format!("`{p}`"))
        .collect();
    Some(format!(
        "the signatures are valid, by {}, but not as labelled or not by whom the entry speaks for{}: sign with the key of the party the entry names (or an operator's), labelled with its key ID",
        signed.join(", "),
        if named.is_empty() {
            String::new()
        } else {
            format!(" ({})", named.join(", "))
        }
    ))
}

/// The parties an entry's predicate names as its author and cosigners.
fn named_parties(payload: &[u8]) -> Vec<String> {
    let hint: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    let predicate = &hint["predicate"];
    let mut parties: Vec<String> = predicate["party"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    parties.extend(
        predicate["cosigners"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned)),
    );
    parties.truncate(domain::KEYS_PER_PARTY_MAX);
    parties
}

fn fallback_keys<'s>(state: &'s State, payload: &[u8]) -> Vec<&'s PublicKey> {
    let parties = named_parties(payload);
    let parties: Vec<&str> = parties.iter().map(String::as_str).collect();
    state.keys_for_signers(&parties)
}

/// A Statement for `kind` with `predicate`. Without subjects, the statement is about its own
/// predicate: one subject `concordat:<kind>` with the predicate's SHA-256.
pub fn statement(kind: Kind, predicate: serde_json::Value, subjects: Vec<Subject>) -> Statement {
    let subjects = if subjects.is_empty() {
        let digest: String = Sha256::digest(predicate.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        vec![Subject {
            name: format!("concordat:{}", kind.name()),
            digest: [("sha256".to_owned(), digest)].into(),
        }]
    } else {
        subjects
    };
    Statement::new(subjects, &kind.predicate_type(), predicate)
}

/// Signs a statement into a DSSE envelope.
pub fn sign_statement(
    statement: &Statement,
    key: &SignerKey,
) -> Result<Envelope, attest::dsse::DsseError> {
    let mut envelope = Envelope::new(PAYLOAD_TYPE, statement.to_bytes());
    envelope.sign(key)?;
    Ok(envelope)
}
