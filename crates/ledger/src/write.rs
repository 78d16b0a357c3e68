//! The write path: verify → apply → append with the state it changes → checkpoint → receipt.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use domain::{Change, Entry, State, apply};
use store::{Batcher, Database, GroupCommit, Reader, StoreError, StoredCheckpoint, Writer};
use tlog::Hash;
use tlog::note::SignerKey;

use crate::error::{LedgerError, SubmitError};
use crate::terms::{Clock, SIMULATED_CLOCK_META};
use crate::verify::{Check, Keys, Prepared, keys_of, prepare_parallel};
use crate::{LEDGER_META, verify_envelope};

/// Rules the instance holding a ledger adds to [`domain::apply`] on its write path: those that
/// need more than the state — a contract's Cedar policies proved, a usage batch's records
/// decided again. Every entry passes them however it arrives; they run on the writer thread,
/// after `apply` accepted the entry, against the state before it.
pub trait Admission: Send + 'static {
    fn admit(&self, state: &State, entry: &Entry<'_>) -> Result<(), domain::Rejection>;
}

/// No rules beyond `domain::apply`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOnly;

impl Admission for ApplyOnly {
    fn admit(&self, _: &State, _: &Entry<'_>) -> Result<(), domain::Rejection> {
        Ok(())
    }
}

/// Proof that an entry is in the ledger.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub index: u64,
    /// The signed checkpoint of the entry's batch.
    pub checkpoint: Arc<StoredCheckpoint>,
    /// The entry's inclusion proof in the checkpoint's tree.
    pub inclusion_proof: Vec<Hash>,
}

impl Receipt {
    /// The receipt as a C2SP tlog-proof file.
    pub fn proof_file(&self) -> tlog::proof_file::ProofFile {
        tlog::proof_file::ProofFile {
            extra: None,
            index: self.index,
            hashes: self.inclusion_proof.clone(),
            checkpoint: self.checkpoint.note.clone(),
        }
    }
}

type Reply = Result<Receipt, SubmitError>;

#[derive(Debug)]
struct Submission {
    envelope: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

/// The promise of a receipt.
#[derive(Debug)]
pub struct Pending(oneshot::Receiver<Reply>);

impl Pending {
    pub fn wait(self) -> Result<Receipt, SubmitError> {
        self.0
            .recv()
            .unwrap_or_else(|_| Err(SubmitError::Failed("the ledger stopped".to_owned())))
    }
}

/// The ledger's writer: the log writer and the state it projects.
struct LedgerWriter {
    clock: Clock,
    admission: Box<dyn Admission>,
    writer: Writer,
    state: Arc<State>,
    /// Where the state after each commit is published for readers.
    published: Arc<RwLock<(Arc<State>, u64)>>,
    /// The state's keys by key ID, for verifying batches in parallel.
    keys: Keys,
    threads: usize,
    reader: Reader,
}

pub(crate) fn check_is_ledger(reader: &Reader) -> Result<(), LedgerError> {
    if !crate::terms::is_ledger(reader)? {
        return Err(LedgerError::NotALedger(
            reader.info().dir.display().to_string(),
        ));
    }
    Ok(())
}

/// Reads the projected state of the ledger `reader` reads.
pub fn load_state(reader: &Reader) -> Result<State, LedgerError> {
    check_is_ledger(reader)?;
    State::from_rows(reader.state_rows()?).map_err(|e| LedgerError::State(e.to_string()))
}

/// A running ledger: submissions are verified, applied and committed in batches.
#[derive(Debug)]
pub struct Ledger {
    batcher: Batcher<Submission, LedgerWriterHandle>,
    published: Arc<RwLock<(Arc<State>, u64)>>,
}

/// Opaque owner of the writer on the batch thread.
pub struct LedgerWriterHandle(LedgerWriter);

impl std::fmt::Debug for LedgerWriterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriterHandle").finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the ledger in `dir` for writing (taking the log's writer lock).
    pub fn open(
        dir: &Path,
        log_key: SignerKey,
        config: GroupCommit,
    ) -> Result<Ledger, LedgerError> {
        Ledger::open_with(dir, log_key, config, Box::new(ApplyOnly))
    }

    /// As [`Ledger::open`], with the instance's own rules on the write path.
    pub fn open_with(
        dir: &Path,
        log_key: SignerKey,
        config: GroupCommit,
        admission: Box<dyn Admission>,
    ) -> Result<Ledger, LedgerError> {
        Ledger::open_at(
            &Database::Sqlite(dir.to_owned()),
            log_key,
            config,
            admission,
        )
    }

    /// Opens the ledger in `database` for writing, with the instance's own rules on the
    /// write path. On PostgreSQL this process takes the sequencer's lead, or is refused while
    /// another node holds it.
    pub fn open_at(
        database: &Database,
        log_key: SignerKey,
        config: GroupCommit,
        admission: Box<dyn Admission>,
    ) -> Result<Ledger, LedgerError> {
        let writer = Writer::open_at(database, log_key)?;
        Ledger::start(database, writer, config, admission)
    }

    /// Opens the ledger on PostgreSQL for writing under the lead of epoch `epoch`, which this
    /// node holds and watches: its appends are refused once another node has taken the lead.
    pub fn open_fenced(
        database: &Database,
        log_key: SignerKey,
        config: GroupCommit,
        admission: Box<dyn Admission>,
        epoch: i64,
        node: &str,
    ) -> Result<Ledger, LedgerError> {
        let writer = Writer::open_fenced(database, log_key, epoch, node)?;
        Ledger::start(database, writer, config, admission)
    }

    /// Starts the writer thread over `writer`. The state is read after the writer holds the
    /// log, so nothing appends between the state and the writer's first batch.
    fn start(
        database: &Database,
        mut writer: Writer,
        config: GroupCommit,
        admission: Box<dyn Admission>,
    ) -> Result<Ledger, LedgerError> {
        let reader = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
        let state = Arc::new(load_state(&reader)?);
        let size = writer.size();
        let published = Arc::new(RwLock::new((Arc::clone(&state), size)));
        let clock = Clock::of(&reader)?;
        record_missing_digests(&reader, &mut writer)?;
        let handle = LedgerWriterHandle(LedgerWriter {
            clock,
            admission,
            writer,
            keys: keys_of(&state),
            state,
            published: Arc::clone(&published),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            reader,
        });
        let batcher = Batcher::start("ledger-writer", handle, config, |handle, batch| {
            handle.0.commit(batch);
        })?;
        Ok(Ledger { batcher, published })
    }

    /// The state as of the latest commit (shared, not copied).
    pub fn state(&self) -> Arc<State> {
        self.state_at().0
    }

    /// The state as of the latest commit, with the size of the log it is the state of.
    pub fn state_at(&self) -> (Arc<State>, u64) {
        let (state, size) = &*self
            .published
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (Arc::clone(state), *size)
    }

    /// Queues an envelope (the exact bytes to log); blocks while the queue is full.
    pub fn submit(&self, envelope: Vec<u8>) -> Result<Pending, LedgerError> {
        let (reply, receiver) = oneshot::channel();
        self.batcher.send(Submission { envelope, reply })?;
        Ok(Pending(receiver))
    }

    /// Submits an envelope and waits for its receipt.
    pub fn submit_and_wait(&self, envelope: Vec<u8>) -> Result<Receipt, SubmitError> {
        self.submit(envelope)
            .map_err(|e| SubmitError::Failed(e.to_string()))?
            .wait()
    }

    /// Commits what is queued and releases the log.
    pub fn close(self) -> Result<(), LedgerError> {
        self.batcher.close()?;
        Ok(())
    }
}

/// What the log holds of a batch's digests, asked once for the whole batch.
struct Known {
    asked: HashSet<[u8; 32]>,
    logged: Result<HashMap<[u8; 32], u64>, String>,
}

/// Refuses a statement already logged, or accepted earlier in this batch (`batch`, the digests
/// accepted so far). A digest `known` did not ask about is looked up on its own.
fn check_new(
    writer: &mut Writer,
    known: &Known,
    batch: &HashSet<[u8; 32]>,
    digest: &[u8; 32],
) -> Result<(), SubmitError> {
    let logged = if batch.contains(digest) {
        Some(None)
    } else if known.asked.contains(digest) {
        match &known.logged {
            Ok(logged) => logged.get(digest).map(|index| Some(*index)),
            Err(error) => return Err(SubmitError::Failed(error.clone())),
        }
    } else {
        writer.logged_at(digest)?.map(Some)
    };
    match logged {
        None => Ok(()),
        Some(at) => Err(SubmitError::Rejected(domain::Rejection {
            rule: "logged-once",
            message: format!(
                "this statement is already {}: an entry is logged once, and a signed envelope cannot be submitted again (to say the same thing anew, sign a new statement)",
                at.map_or_else(
                    || "in this batch".to_owned(),
                    |index| format!("logged as entry {index}")
                )
            ),
        })),
    }
}

impl LedgerWriter {
    /// Verifies the batch's signatures (in parallel, strictly, against the committed keys),
    /// applies each submission in order against a working copy of the state, then appends the
    /// accepted ones and their state changes in one transaction.
    // tidy: long function: the group-commit loop: verify, apply, append and reply must be read together.
    fn commit(&mut self, batch: &mut Vec<Submission>) {
        let mut working = (*self.state).clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let clock = self.clock;
        let admission = &*self.admission;
        let admit = |working: &State, entry: &Entry<'_>| {
            let timely = match clock {
                Clock::System => domain::check_entry_time(entry.statement, now),
                Clock::Simulated => Ok(()),
            };
            timely
                .and_then(|()| apply(working, entry))
                .and_then(|changes| admission.admit(working, entry).map(|()| changes))
                .map_err(SubmitError::Rejected)
        };
        let mut next_index = self.writer.size();
        let (envelopes, replies): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .enumerate()
            .map(|(position, s)| ((position as u64, s.envelope), s.reply))
            .unzip();
        let prepared = prepare_parallel(&self.keys, envelopes, self.threads, Check::Strict);
        let ready: Vec<[u8; 32]> = prepared
            .iter()
            .filter_map(|item| match item {
                Prepared::Ready { digest, .. } => Some(*digest),
                Prepared::Sequential { .. } => None,
            })
            .collect();
        let known = Known {
            logged: self.writer.logged_among(&ready).map_err(|e| e.to_string()),
            asked: ready.into_iter().collect(),
        };
        let mut accepted: Vec<(Vec<u8>, oneshot::Sender<Reply>)> =
            Vec::with_capacity(replies.len());
        let mut digests: Vec<[u8; 32]> = Vec::with_capacity(replies.len());
        let mut in_batch: HashSet<[u8; 32]> = HashSet::with_capacity(replies.len());
        let mut changes: Vec<Change> = Vec::new();
        for (item, reply) in prepared.into_iter().zip(replies) {
            let (bytes, outcome) = match item {
                Prepared::Ready {
                    bytes,
                    statement,
                    signers,
                    digest,
                    ..
                } => {
                    let entry = Entry {
                        index: next_index,
                        statement: &statement,
                        signers: &signers,
                    };
                    let outcome = check_new(&mut self.writer, &known, &in_batch, &digest)
                        .and_then(|()| admit(&working, &entry))
                        .map(|changes| (changes, digest));
                    (bytes, outcome)
                }
                Prepared::Sequential { bytes, .. } => {
                    let outcome = verify_envelope(&working, &bytes).and_then(|verified| {
                        let entry = Entry {
                            index: next_index,
                            statement: &verified.statement,
                            signers: &verified.signers,
                        };
                        check_new(&mut self.writer, &known, &in_batch, &verified.digest)
                            .and_then(|()| admit(&working, &entry))
                            .map(|changes| (changes, verified.digest))
                    });
                    (bytes, outcome)
                }
            };
            match outcome {
                Ok((entry_changes, digest)) => {
                    working.commit(&entry_changes);
                    changes.extend(entry_changes);
                    accepted.push((bytes, reply));
                    in_batch.insert(digest);
                    digests.push(digest);
                    next_index += 1;
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let rows = State::rows_of(&changes);
        let entries: Vec<&[u8]> = accepted.iter().map(|(bytes, _)| bytes.as_slice()).collect();
        let result = self.writer.append_batch_digested(&entries, &digests, |tx| {
            for row in &rows {
                tx.put(row.space, &row.key, &row.value)?;
            }
            Ok(())
        });
        match result {
            Ok(commit) => {
                self.state = Arc::new(working);
                if let Ok(mut published) = self.published.write() {
                    let size = commit.first_index + accepted.len() as u64;
                    *published = (Arc::clone(&self.state), size);
                }
                if changes
                    .iter()
                    .any(|change| matches!(change, Change::PutKey(_)))
                {
                    self.keys = keys_of(&self.state);
                }
                for (offset, (_, reply)) in (0u64..).zip(accepted) {
                    let index = commit.first_index + offset;
                    let receipt = self
                        .reader
                        .inclusion_proof_unchecked(index, commit.checkpoint.size)
                        .map(|inclusion_proof| Receipt {
                            index,
                            checkpoint: Arc::clone(&commit.checkpoint),
                            inclusion_proof,
                        })
                        .map_err(|e| {
                            SubmitError::Failed(format!(
                                "entry {index} is logged, but its proof could not be read: {e}"
                            ))
                        });
                    let _ = reply.send(receipt);
                }
            }
            Err(error) => {
                let message = error.to_string();
                let passing = matches!(error, StoreError::Fenced { .. } | StoreError::Postgres(_));
                for (_, reply) in accepted {
                    let failed = if passing {
                        SubmitError::Unavailable(message.clone())
                    } else {
                        SubmitError::Failed(message.clone())
                    };
                    let _ = reply.send(Err(failed));
                }
            }
        }
    }
}

/// Records the statement digest of every logged entry that has none: a log written before
/// digests were recorded gets them the first time it is opened for writing.
///
/// Every append records its digests, and a backfill records them all, so the last entry's
/// tells: one lookup when the log is opened, not a scan.
fn record_missing_digests(reader: &Reader, writer: &mut Writer) -> Result<(), LedgerError> {
    let digest_of = |index: u64, bytes: &[u8]| -> Result<[u8; 32], LedgerError> {
        let envelope = attest::Envelope::parse(bytes)
            .map_err(|e| LedgerError::State(format!("entry {index} is not an envelope: {e}")))?;
        Ok(crate::statement_digest(&envelope.payload))
    };
    let Some(last) = writer.size().checked_sub(1) else {
        return Ok(());
    };
    if writer
        .logged_at(&digest_of(last, &reader.entry(last)?)?)?
        .is_some()
    {
        return Ok(());
    }
    let mut digests = Vec::new();
    reader.for_each_entry(0, |index, bytes| -> Result<(), LedgerError> {
        digests.push((index, digest_of(index, bytes)?));
        Ok(())
    })?;
    writer.record_digests(&digests)?;
    Ok(())
}

/// Creates a ledger in `dir`: its log (signed with `log_key`, recorded at `log_key_path`) and
/// its first entry, `genesis`, which registers the operator and is signed by it.
pub fn init(
    dir: &Path,
    origin: &str,
    log_key: &SignerKey,
    log_key_path: Option<&Path>,
    genesis: Vec<u8>,
    clock: Clock,
) -> Result<Receipt, LedgerError> {
    init_at(
        &Database::Sqlite(dir.to_owned()),
        origin,
        log_key,
        log_key_path,
        genesis,
        clock,
    )
}

/// As [`init`], in `database`.
pub fn init_at(
    database: &Database,
    origin: &str,
    log_key: &SignerKey,
    log_key_path: Option<&Path>,
    genesis: Vec<u8>,
    clock: Clock,
) -> Result<Receipt, LedgerError> {
    let stated = attest::Envelope::parse(&genesis)
        .ok()
        .and_then(|envelope| attest::Statement::parse(&envelope.payload).ok())
        .and_then(|statement| {
            serde_json::from_value::<domain::PartyRegistered>(statement.predicate).ok()
        })
        .and_then(|operator| operator.instance);
    if stated != Some(domain::InstanceTerms::ledger(clock.mode())) {
        return Err(LedgerError::State(format!(
            "the first entry must state the ledger's terms (`instance`: kind `{}`, clock `{:?}`), as the operator signs them",
            domain::LEDGER_KIND,
            clock.mode()
        )));
    }
    let mut meta = vec![LEDGER_META];
    if clock == Clock::Simulated {
        meta.push(SIMULATED_CLOCK_META);
    }
    store::init_at(database, origin, log_key, log_key_path, &meta)?;
    let ledger = Ledger::open_at(
        database,
        log_key.clone(),
        GroupCommit::default(),
        Box::new(ApplyOnly),
    )?;
    let receipt = ledger.submit_and_wait(genesis);
    ledger.close()?;
    receipt.map_err(LedgerError::from)
}

impl From<StoreError> for SubmitError {
    fn from(error: StoreError) -> SubmitError {
        SubmitError::Failed(error.to_string())
    }
}
