//! `replay`: rebuild the state from the log alone and compare it with the stored projection.
//!
//! Signature verification dominates, so replay is a pipeline: this thread reads entries in
//! chunks; workers parse them and batch-verify their signatures against a snapshot of the keys
//! registered so far; one thread applies the chunks in order. An entry the snapshot cannot
//! settle (a key registered in the same chunk, a key ID that is only a hint, a batch that
//! fails) is verified again in order, exactly as the write path does, so the outcome is the
//! write path's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, RwLock};

use domain::{Entry, State, apply};
use store::{Reader, StoreError};

use crate::error::LedgerError;
use crate::verify::{Check, Prepared, keys_of, prepare};
use crate::verify_envelope;
use crate::write::check_is_ledger;

/// Entries a worker verifies together.
const CHUNK_ENTRIES: usize = 1024;

/// Progress: entries read so far, of how many.
#[derive(Debug, Clone, Copy)]
pub struct ReplayProgress {
    pub done: u64,
    pub total: u64,
}

/// What replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub entries: u64,
    pub parties: usize,
    pub keys: usize,
    /// Each way the stored state differs from the replayed one, or an entry replay rejects.
    pub differences: Vec<String>,
}

impl ReplayReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

type Keys = Arc<crate::verify::Keys>;

struct Chunk {
    sequence: u64,
    entries: Vec<(u64, Vec<u8>)>,
}

struct PreparedChunk {
    sequence: u64,
    items: Vec<Prepared>,
}

/// Replays every entry of the ledger in `dir` — verifying its signatures and applying its rules
/// — and compares the resulting state with the stored one.
pub fn replay(
    dir: &Path,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<ReplayReport, LedgerError> {
    replay_at(&store::Database::Sqlite(dir.to_owned()), progress)
}

/// As [`replay`], for the ledger in `database`.
pub fn replay_at(
    database: &store::Database,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<ReplayReport, LedgerError> {
    let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
    check_is_ledger(&reader)?;
    let stored: BTreeMap<(String, String), Vec<u8>> = reader
        .state_rows()?
        .into_iter()
        .map(|(space, key, value)| ((space, key), value))
        .collect();
    let total = reader.latest_checkpoint()?.size;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let snapshot: Arc<RwLock<Keys>> = Arc::default();

    let stored_digests = reader.digests()?;
    let (state, digests, mut differences) =
        std::thread::scope(|scope| -> Result<_, LedgerError> {
            let (chunk_sender, chunk_receiver) = sync_channel::<Chunk>(workers * 2);
            let chunk_receiver = Arc::new(Mutex::new(chunk_receiver));
            let (prepared_sender, prepared_receiver) = sync_channel::<PreparedChunk>(workers * 2);
            for _ in 0..workers {
                let chunks = Arc::clone(&chunk_receiver);
                let prepared = prepared_sender.clone();
                let snapshot = Arc::clone(&snapshot);
                scope.spawn(move || prepare_chunks(&chunks, &prepared, &snapshot));
            }
            drop(prepared_sender);
            let applier_snapshot = Arc::clone(&snapshot);
            let applier =
                scope.spawn(move || apply_in_order(&prepared_receiver, &applier_snapshot));

            let read = read_chunks(&reader, total, &chunk_sender, progress);
            drop(chunk_sender);
            let applied = applier.join().map_err(|_| {
                LedgerError::State("the replay thread stopped unexpectedly".to_owned())
            })?;
            read?;
            Ok(applied)
        })?;
    progress(ReplayProgress { done: total, total });
    differences.extend(crate::terms::metadata_differences(&reader)?);
    differences.extend(compare(&stored, &state));
    differences.extend(compare_digests(&stored_digests, &digests));
    Ok(ReplayReport {
        entries: total,
        parties: state.parties().count(),
        keys: state.rows().len() - state.parties().count(),
        differences,
    })
}

/// `state`, the state of the log's first `from` entries, brought up to the latest checkpoint:
/// each later entry verified against the keys as they then stand and applied, as replay does.
/// Returns it with the size it is the state of. For a node that follows a log another node
/// writes, so that each step costs what was added, not the whole state read again; an error
/// means the caller should load the state whole instead (and a log smaller than `from` is one).
pub fn follow(reader: &Reader, state: &State, from: u64) -> Result<(State, u64), LedgerError> {
    let mut next = state.clone();
    let size = reader.for_each_entry(from, |index, bytes| -> Result<(), LedgerError> {
        let refused = |error: String| {
            LedgerError::State(format!(
                "entry {index} does not follow from the state: {error}"
            ))
        };
        let verified = crate::verify_envelope(&next, bytes).map_err(|e| refused(e.to_string()))?;
        let entry = Entry {
            index,
            statement: &verified.statement,
            signers: &verified.signers,
        };
        let changes = apply(&next, &entry).map_err(|e| refused(e.to_string()))?;
        next.commit(&changes);
        Ok(())
    })?;
    if size < from {
        return Err(LedgerError::State(format!(
            "the log holds {size} entries, fewer than the {from} followed before"
        )));
    }
    Ok((next, size))
}

fn read_chunks(
    reader: &Reader,
    total: u64,
    sender: &SyncSender<Chunk>,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<(), LedgerError> {
    let mut chunk = Chunk {
        sequence: 0,
        entries: Vec::with_capacity(CHUNK_ENTRIES),
    };
    reader.for_each_entry(0, |index, bytes| -> Result<(), StoreError> {
        chunk.entries.push((index, bytes.to_vec()));
        if chunk.entries.len() == CHUNK_ENTRIES {
            let next = Chunk {
                sequence: chunk.sequence + 1,
                entries: Vec::with_capacity(CHUNK_ENTRIES),
            };
            let full = std::mem::replace(&mut chunk, next);
            sender.send(full).map_err(|_| StoreError::Closed)?;
            progress(ReplayProgress {
                done: index + 1,
                total,
            });
        }
        Ok(())
    })?;
    if !chunk.entries.is_empty() {
        sender.send(chunk).map_err(|_| StoreError::Closed)?;
    }
    Ok(())
}

fn prepare_chunks(
    chunks: &Mutex<Receiver<Chunk>>,
    prepared: &SyncSender<PreparedChunk>,
    snapshot: &RwLock<Keys>,
) {
    loop {
        let next = chunks.lock().map(|receiver| receiver.recv());
        let Ok(Ok(chunk)) = next else { return };
        let keys = snapshot
            .read()
            .map(|keys| Arc::clone(&keys))
            .unwrap_or_default();
        let items = prepare(&keys, chunk.entries, Check::Batch);
        if prepared
            .send(PreparedChunk {
                sequence: chunk.sequence,
                items,
            })
            .is_err()
        {
            return;
        }
    }
}

fn apply_in_order(
    prepared: &Receiver<PreparedChunk>,
    snapshot: &RwLock<Keys>,
) -> (State, HashMap<[u8; 32], u64>, Vec<String>) {
    let mut state = State::default();
    let mut digests: HashMap<[u8; 32], u64> = HashMap::new();
    let mut differences = Vec::new();
    let mut waiting: BTreeMap<u64, PreparedChunk> = BTreeMap::new();
    let mut next = 0u64;
    let mut published_keys = 0usize;
    for chunk in prepared {
        waiting.insert(chunk.sequence, chunk);
        while let Some(chunk) = waiting.remove(&next) {
            for item in chunk.items {
                let (index, outcome) = match item {
                    Prepared::Ready {
                        index,
                        statement,
                        signers,
                        digest,
                        ..
                    } => {
                        let entry = Entry {
                            index,
                            statement: &statement,
                            signers: &signers,
                        };
                        let outcome = once(&digests, index, &digest).and_then(|()| {
                            apply(&state, &entry).map_err(crate::SubmitError::Rejected)
                        });
                        (index, outcome.map(|changes| (changes, digest)))
                    }
                    Prepared::Sequential { index, bytes } => {
                        let outcome = verify_envelope(&state, &bytes).and_then(|verified| {
                            let entry = Entry {
                                index,
                                statement: &verified.statement,
                                signers: &verified.signers,
                            };
                            once(&digests, index, &verified.digest)
                                .and_then(|()| {
                                    apply(&state, &entry).map_err(crate::SubmitError::Rejected)
                                })
                                .map(|changes| (changes, verified.digest))
                        });
                        (index, outcome)
                    }
                };
                match outcome {
                    Ok((changes, digest)) => {
                        state.commit(&changes);
                        digests.insert(digest, index);
                    }
                    Err(error) => differences.push(format!(
                        "entry {index} is in the log, but replay rejects it: {error}"
                    )),
                }
            }
            next += 1;
            let key_count = state.public_keys().count();
            if key_count != published_keys {
                published_keys = key_count;
                if let Ok(mut shared) = snapshot.write() {
                    *shared = Arc::new(keys_of(&state));
                }
            }
        }
    }
    (state, digests, differences)
}

/// The write path's `logged-once` rule, in replay: a statement appears in the log once.
fn once(
    digests: &HashMap<[u8; 32], u64>,
    index: u64,
    digest: &[u8; 32],
) -> Result<(), crate::SubmitError> {
    match digests.get(digest) {
        None => Ok(()),
        Some(first) => Err(crate::SubmitError::Rejected(domain::Rejection {
            rule: "logged-once",
            message: format!("entry {index} repeats the statement of entry {first}"),
        })),
    }
}

/// Differences between the recorded statement digests and the replayed ones. A log written
/// before digests were recorded has none until it is next opened for writing.
fn compare_digests(stored: &[([u8; 32], u64)], replayed: &HashMap<[u8; 32], u64>) -> Vec<String> {
    if stored.is_empty() {
        return Vec::new();
    }
    let mut differences = Vec::new();
    let mut found = 0usize;
    for (digest, index) in stored {
        match replayed.get(digest) {
            Some(replayed_index) if replayed_index == index => found += 1,
            Some(replayed_index) => differences.push(format!(
                "the statement of entry {replayed_index} is recorded as entry {index}'s"
            )),
            None => differences.push(format!(
                "a statement digest is recorded for entry {index}, but no logged entry has it"
            )),
        }
    }
    if found < replayed.len() && differences.is_empty() {
        differences.push(format!(
            "logged statements without a recorded digest, so that they could be submitted again: {}",
            replayed.len() - found
        ));
    }
    differences
}

/// Differences between the stored rows and the replayed ones, byte for byte.
fn compare(stored: &BTreeMap<(String, String), Vec<u8>>, replayed: &State) -> Vec<String> {
    let replayed: BTreeMap<(String, String), Vec<u8>> = replayed
        .rows()
        .into_iter()
        .map(|row| ((row.space.to_owned(), row.key), row.value))
        .collect();
    let mut differences = Vec::new();
    for (key, value) in &replayed {
        match stored.get(key) {
            None => differences.push(format!(
                "state {}/{} is missing from the stored state",
                key.0, key.1
            )),
            Some(stored_value) if stored_value != value => differences.push(format!(
                "state {}/{} differs: stored {}, replay gives {}",
                key.0,
                key.1,
                String::from_utf8_lossy(stored_value),
                String::from_utf8_lossy(value)
            )),
            Some(_) => {}
        }
    }
    for key in stored.keys() {
        if !replayed.contains_key(key) {
            differences.push(format!(
                "state {}/{} is stored but no entry creates it",
                key.0, key.1
            ));
        }
    }
    differences
}
