//! A witness's durable state (`witness.db` in its directory): for each log it witnesses, the
//! latest checkpoint it cosigned; every checkpoint it ever cosigned; and the signed requests
//! that showed a log misbehaving, beside the cosigned checkpoint they contradict.
//!
//! [`WitnessState::add`] judges an `add-checkpoint` request ([`tlog::witness::judge`]) against
//! the log's state and records the result before answering. Requests are judged one after
//! another by one thread, each batch in one transaction committed before any of its requests
//! is answered: the check of the old size and the record of the new one are atomic, so no
//! request can roll a log back, and many requests share one disk sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use tlog::note::VerifierKey;
use tlog::witness::{AddCheckpoint, Cosigned, Refusal, judge};
use tlog::{Checkpoint, Hash};

use crate::StoreError;
use crate::backend::{from_sql_u64, to_sql_u64};
use crate::batch::{Batcher, GroupCommit};

/// The database file inside a witness's directory.
pub const WITNESS_DATABASE: &str = "witness.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    origin     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    root       BLOB NOT NULL,
    checkpoint TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS cosigned (
    origin      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    checkpoint  TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, size)
) STRICT;
-- A request the log signed that contradicts what was cosigned: kept, with the checkpoint it
-- contradicts, as proof.
CREATE TABLE IF NOT EXISTS evidence (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    request     BLOB NOT NULL,
    against     TEXT NOT NULL,
    received_ms INTEGER NOT NULL
) STRICT;
";

/// What the witness answers one request with.
pub type Judgement = Result<(Checkpoint, tlog::Note), Refusal>;

/// A signed request that showed a log misbehaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub origin: String,
    /// Why it is evidence: the refusal it got.
    pub reason: String,
    /// The request body, with the log's signed checkpoint.
    pub request: Vec<u8>,
    /// The cosigned checkpoint (a note the log signed) it contradicts.
    pub against: String,
    pub received_ms: i64,
}

struct Pending {
    request: AddCheckpoint,
    reply: oneshot::Sender<Result<Judgement, StoreError>>,
}

struct Worker {
    conn: Connection,
    logs: BTreeMap<String, Vec<VerifierKey>>,
}

/// A witness's state, with its judging thread.
pub struct WitnessState {
    batcher: Batcher<Pending, Worker>,
    dir: PathBuf,
}

impl std::fmt::Debug for WitnessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessState")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn open_connection(dir: &Path) -> Result<Connection, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("cannot create `{}`", dir.display()), e))?;
    let conn = Connection::open(dir.join(WITNESS_DATABASE))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl WitnessState {
    /// Opens (creating if need be) the state in `dir`, for the logs `logs` names by origin
    /// with the keys trusted for each.
    pub fn open(
        dir: &Path,
        logs: BTreeMap<String, Vec<VerifierKey>>,
        config: GroupCommit,
    ) -> Result<WitnessState, StoreError> {
        let worker = Worker {
            conn: open_connection(dir)?,
            logs,
        };
        Ok(WitnessState {
            batcher: Batcher::start("witness", worker, config, judge_batch)?,
            dir: dir.to_owned(),
        })
    }

    /// Judges `request` and, when it is to be cosigned, records its checkpoint as the log's
    /// latest — durably, before returning. A refusal that shows the log misbehaving is kept
    /// as evidence.
    pub fn add(&self, request: AddCheckpoint) -> Result<Judgement, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.batcher.send(Pending { request, reply })?;
        answer.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// The latest checkpoint cosigned for `origin`: its size and the note the log signed.
    pub fn latest(&self, origin: &str) -> Result<Option<(u64, String)>, StoreError> {
        let conn = self.reader()?;
        conn.query_row(
            "SELECT size, checkpoint FROM logs WHERE origin = ?1",
            [origin],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()?
        .map(|(size, note)| Ok((from_sql_u64(size)?, note)))
        .transpose()
    }

    /// Every checkpoint cosigned for `origin`, by size.
    pub fn history(&self, origin: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let conn = self.reader()?;
        let mut statement =
            conn.prepare("SELECT size, checkpoint FROM cosigned WHERE origin = ?1 ORDER BY size")?;
        let rows = statement.query_map([origin], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        rows.map(|row| {
            let (size, note) = row?;
            Ok((from_sql_u64(size)?, note))
        })
        .collect()
    }

    /// The evidence kept against `origin` (every log when `None`), oldest first.
    pub fn evidence(&self, origin: Option<&str>) -> Result<Vec<Evidence>, StoreError> {
        let conn = self.reader()?;
        let mut statement = conn.prepare(
            "SELECT origin, reason, request, against, received_ms FROM evidence
             WHERE ?1 IS NULL OR origin = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map([origin], |row| {
            Ok(Evidence {
                origin: row.get(0)?,
                reason: row.get(1)?,
                request: row.get(2)?,
                against: row.get(3)?,
                received_ms: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            self.dir.join(WITNESS_DATABASE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }
}

/// The log's state as the transaction sees it.
fn cosigned(tx: &Transaction<'_>, origin: &str) -> Result<Option<(Cosigned, String)>, StoreError> {
    let row: Option<(i64, Vec<u8>, String)> = tx
        .prepare_cached("SELECT size, root, checkpoint FROM logs WHERE origin = ?1")?
        .query_row([origin], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    row.map(|(size, root, note)| {
        let root = Hash::from_slice(&root)
            .map_err(|e| StoreError::Corrupt(format!("witness state of `{origin}`: root: {e}")))?;
        Ok((
            Cosigned {
                size: from_sql_u64(size)?,
                root,
            },
            note,
        ))
    })
    .transpose()
}

/// Judges one request inside the batch's transaction and records what it changes.
fn judge_one(
    tx: &Transaction<'_>,
    logs: &BTreeMap<String, Vec<VerifierKey>>,
    request: &AddCheckpoint,
) -> Result<Judgement, StoreError> {
    let origin = tlog::Note::parse(&request.checkpoint)
        .ok()
        .and_then(|note| note.text().lines().next().map(str::to_owned))
        .unwrap_or_default();
    let held = if logs.contains_key(&origin) {
        cosigned(tx, &origin)?
    } else {
        None
    };
    let judgement = judge(
        request,
        |origin| logs.get(origin).map(Vec::as_slice),
        held.as_ref().map(|(c, _)| c),
    );
    match &judgement {
        Ok((checkpoint, note)) => {
            let text = note.to_text();
            tx.prepare_cached(
                "INSERT INTO logs (origin, size, root, checkpoint) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,
                 checkpoint = excluded.checkpoint",
            )?
            .execute(params![
                origin,
                to_sql_u64(checkpoint.size)?,
                checkpoint.root.0.as_slice(),
                text
            ])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO cosigned (origin, size, checkpoint, received_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![origin, to_sql_u64(checkpoint.size)?, text, now_ms()])?;
        }
        Err(refusal) if refusal.is_evidence() => {
            let against = held.map(|(_, note)| note).unwrap_or_default();
            tx.prepare_cached(
                "INSERT INTO evidence (origin, reason, request, against, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                origin,
                refusal.to_string(),
                request.to_body(),
                against,
                now_ms()
            ])?;
        }
        Err(_) => {}
    }
    Ok(judgement)
}

fn judge_batch(worker: &mut Worker, batch: &mut Vec<Pending>) {
    let result = (|| -> Result<Vec<Judgement>, StoreError> {
        let tx = worker.conn.transaction()?;
        let judgements = batch
            .iter()
            .map(|pending| judge_one(&tx, &worker.logs, &pending.request))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(judgements)
    })();
    match result {
        Ok(judgements) => {
            for (pending, judgement) in batch.drain(..).zip(judgements) {
                let _ = pending.reply.send(Ok(judgement));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for pending in batch.drain(..) {
                let _ = pending
                    .reply
                    .send(Err(StoreError::BatchFailed(message.clone())));
            }
        }
    }
}
