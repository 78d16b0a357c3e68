//! Verifying many entries at once: parse them and verify their signatures against a snapshot
//! of registered keys, leaving to ordered, one-by-one verification whatever the snapshot cannot
//! settle. Used by the write path and by replay.
//!
//! Acceptance is strict Ed25519 (RFC 8032 with canonical encodings, as `verify_strict`):
//! the write path checks each signature that way. Replay may check a chunk with batch
//! verification, which is cofactored and so accepts a superset; every logged entry already
//! passed the strict check, and a failed batch falls back to strict checks one by one.

use std::collections::HashMap;

use attest::statement::PAYLOAD_TYPE;
use attest::{Envelope, PublicKey, Statement};

/// Registered keys by key ID.
pub(crate) type Keys = HashMap<String, PublicKey>;

pub(crate) enum Prepared {
    /// Parsed and verified against keys registered before this entry.
    Ready {
        index: u64,
        bytes: Vec<u8>,
        statement: Statement,
        signers: Vec<String>,
        /// See [`crate::statement_digest`].
        digest: [u8; 32],
    },
    /// To be verified in order.
    Sequential { index: u64, bytes: Vec<u8> },
}

impl Prepared {
    pub(crate) fn index(&self) -> u64 {
        match self {
            Prepared::Ready { index, .. } | Prepared::Sequential { index, .. } => *index,
        }
    }
}

/// A parsed entry whose every signature names a key in the snapshot.
struct Candidate {
    index: u64,
    statement: Statement,
    digest: [u8; 32],
    pae: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

fn candidate(keys: &Keys, index: u64, bytes: &[u8]) -> Option<Candidate> {
    let envelope = Envelope::parse(bytes).ok()?;
    if envelope.payload_type != PAYLOAD_TYPE
        || envelope.signatures.is_empty()
        || envelope
            .signatures
            .iter()
            .any(|s| !keys.contains_key(&s.keyid))
    {
        return None;
    }
    let statement = Statement::parse(&envelope.payload).ok()?;
    Some(Candidate {
        index,
        statement,
        digest: crate::statement_digest(&envelope.payload),
        pae: envelope.pae(),
        signatures: envelope
            .signatures
            .into_iter()
            .map(|s| (s.keyid, s.sig))
            .collect(),
    })
}

/// How signatures are checked: one by one (strictly), or a chunk at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Strict,
    Batch,
}

/// Prepares `entries` (index, bytes), in order.
pub(crate) fn prepare(keys: &Keys, entries: Vec<(u64, Vec<u8>)>, check: Check) -> Vec<Prepared> {
    let mut items = Vec::with_capacity(entries.len());
    let mut candidates = Vec::new();
    for (index, bytes) in entries {
        match candidate(keys, index, &bytes) {
            Some(found) => candidates.push((found, bytes)),
            None => items.push(Prepared::Sequential { index, bytes }),
        }
    }
    let verifies = |found: &Candidate| {
        found.signatures.iter().all(|(keyid, sig)| {
            keys.get(keyid)
                .is_some_and(|key| key.verify(&found.pae, sig))
        })
    };
    let batch_verified = check == Check::Batch && {
        let checks: Vec<(&PublicKey, &[u8], &[u8])> = candidates
            .iter()
            .flat_map(|(found, _)| {
                found.signatures.iter().filter_map(|(keyid, sig)| {
                    Some((keys.get(keyid)?, found.pae.as_slice(), sig.as_slice()))
                })
            })
            .collect();
        attest::verify_all(&checks)
    };
    for (found, bytes) in candidates {
        let verified = match check {
            Check::Batch => batch_verified,
            Check::Strict => verifies(&found),
        };
        if verified {
            let mut signers: Vec<String> = found
                .signatures
                .into_iter()
                .map(|(keyid, _)| keyid)
                .collect();
            signers.dedup();
            items.push(Prepared::Ready {
                index: found.index,
                bytes,
                statement: found.statement,
                signers,
                digest: found.digest,
            });
        } else {
            items.push(Prepared::Sequential {
                index: found.index,
                bytes,
            });
        }
    }
    items.sort_by_key(Prepared::index);
    items
}

/// Prepares `entries` on up to `threads` threads, each taking a contiguous part; in order.
pub(crate) fn prepare_parallel(
    keys: &Keys,
    entries: Vec<(u64, Vec<u8>)>,
    threads: usize,
    check: Check,
) -> Vec<Prepared> {
    // Below this, a thread costs more than it saves.
    const PARALLEL_ENTRIES_MIN: usize = 64;
    if threads <= 1 || entries.len() < PARALLEL_ENTRIES_MIN {
        return prepare(keys, entries, check);
    }
    let part = entries.len().div_ceil(threads);
    let mut parts = Vec::new();
    let mut rest = entries;
    while rest.len() > part {
        let tail = rest.split_off(part);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || prepare(keys, part, check)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

/// The key map of a state, for preparing entries against it.
pub(crate) fn keys_of(state: &domain::State) -> Keys {
    state
        .public_keys()
        .map(|key| (key.keyid(), key.clone()))
        .collect()
}
