//! The gateway's records, durable before any answer leaves: one JSON line a call, appended to
//! `current.jsonl` in the records directory and synced to disk in groups (every record
//! queued while the previous group was syncing goes in the next write and sync), so one
//! fsync covers many concurrent calls.
//!
//! The sealer closes the current file now and then (`pending/<time>.jsonl`); a closed file is
//! sealed into the ledger and moved to `sealed/`. After a crash, `current.jsonl` is closed on
//! start-up with any torn last line cut off: a record whose write was not synced never got an
//! answer, so nothing answered is lost. The directory is locked: one gateway process to it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The records directory's files.
#[derive(Debug, Clone)]
pub struct RecordsDir {
    pub root: PathBuf,
}

impl RecordsDir {
    pub fn current(&self) -> PathBuf {
        self.root.join("current.jsonl")
    }
    pub fn pending(&self) -> PathBuf {
        self.root.join("pending")
    }
    pub fn sealed(&self) -> PathBuf {
        self.root.join("sealed")
    }
    fn lock(&self) -> PathBuf {
        self.root.join("gateway.lock")
    }

    /// The closed files waiting to be sealed, oldest first.
    pub fn pending_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.pending())?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        Ok(files)
    }
}

enum Job {
    Append(Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>),
    Close(mpsc::Sender<std::io::Result<Option<PathBuf>>>),
}

/// The writer of the records: cheap to clone, one thread behind it.
#[derive(Debug, Clone)]
pub struct Journal {
    jobs: mpsc::Sender<Job>,
    state: Arc<JournalState>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Append(..) => "Job::Append",
            Job::Close(..) => "Job::Close",
        })
    }
}

/// What the journal's thread reports.
#[derive(Debug, Default)]
pub struct JournalState {
    /// Whether the last write or sync failed (the gateway refuses requests while it does).
    pub failing: AtomicBool,
    /// Records in the current file.
    pub in_current: AtomicUsize,
    /// Bytes in the current file.
    pub bytes_in_current: AtomicUsize,
    /// Records written since start.
    pub written: AtomicUsize,
}

/// Why the records directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("records directory `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("records directory `{0}` is in use by another gateway process")]
    Locked(PathBuf),
}

impl Journal {
    /// Opens (creating) the records directory, closes what a previous process left in
    /// `current.jsonl`, and starts the writer thread.
    pub fn open(root: &Path) -> Result<(Journal, RecordsDir), JournalError> {
        let dir = RecordsDir {
            root: root.to_owned(),
        };
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| JournalError::Io { path, source }
        };
        for sub in [dir.root.clone(), dir.pending(), dir.sealed()] {
            std::fs::create_dir_all(&sub).map_err(io(&sub))?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.lock())
            .map_err(io(&dir.lock()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked(dir.root.clone()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&dir.lock())(e)),
        }
        close_current(&dir).map_err(io(&dir.current()))?;
        let file = open_current(&dir).map_err(io(&dir.current()))?;
        let state = Arc::new(JournalState::default());
        let (jobs, queue) = mpsc::channel();
        let length = file.metadata().map_err(io(&dir.current()))?.len();
        let writer = Writer {
            dir: dir.clone(),
            file,
            length,
            broken: false,
            state: Arc::clone(&state),
            _lock: lock,
        };
        std::thread::Builder::new()
            .name("gateway-records".to_owned())
            .spawn(move || writer.run(&queue))
            .map_err(io(&dir.root))?;
        Ok((Journal { jobs, state }, dir))
    }

    /// Appends one record (a JSON object, without the newline); the answer comes once it is
    /// on disk.
    pub fn append(&self, record: Vec<u8>) -> tokio::sync::oneshot::Receiver<Result<(), String>> {
        let (done, wait) = tokio::sync::oneshot::channel();
        if let Err(mpsc::SendError(Job::Append(_, done))) =
            self.jobs.send(Job::Append(record, done))
        {
            let _ = done.send(Err("the records writer has stopped".to_owned()));
        }
        wait
    }

    /// Closes the current file into `pending/` (if it holds any record) and starts a new one.
    pub fn close_current(&self) -> std::io::Result<Option<PathBuf>> {
        let (done, wait) = mpsc::channel();
        self.jobs
            .send(Job::Close(done))
            .map_err(|_| std::io::Error::other("the records writer has stopped"))?;
        wait.recv()
            .map_err(|_| std::io::Error::other("the records writer has stopped"))?
    }

    pub fn state(&self) -> &JournalState {
        &self.state
    }
}

/// The most records written and synced together.
const GROUP_MAX: usize = 4096;

struct Writer {
    dir: RecordsDir,
    file: File,
    /// The bytes of `file` written and synced: a failed write is cut back to it.
    length: u64,
    /// Set when the current file could not be closed: writes may go to a file nobody will
    /// seal, so the journal keeps failing until a close succeeds.
    broken: bool,
    state: Arc<JournalState>,
    _lock: File,
}

impl Writer {
    fn run(mut self, queue: &mpsc::Receiver<Job>) {
        let mut buffer = Vec::with_capacity(1 << 16);
        let mut waiting = Vec::with_capacity(GROUP_MAX);
        while let Ok(first) = queue.recv() {
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Append(record, done) => {
                        buffer.extend_from_slice(&record);
                        buffer.push(b'\n');
                        waiting.push(done);
                    }
                    Job::Close(done) => {
                        // What is queued before the close goes into the file being closed.
                        self.flush(&mut buffer, &mut waiting);
                        let _ = done.send(self.close());
                    }
                }
                if waiting.len() < GROUP_MAX {
                    next = queue.try_recv().ok();
                }
            }
            self.flush(&mut buffer, &mut waiting);
        }
    }

    fn flush(
        &mut self,
        buffer: &mut Vec<u8>,
        waiting: &mut Vec<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ) {
        if waiting.is_empty() {
            return;
        }
        let written = if self.broken {
            Err(std::io::Error::other(
                "the records file could not be closed",
            ))
        } else {
            self.file
                .write_all(buffer)
                .and_then(|()| self.file.sync_data())
        };
        let count = waiting.len();
        let outcome = match written {
            Ok(()) => {
                self.length += buffer.len() as u64;
                self.state.failing.store(self.broken, Ordering::Release);
                self.state.in_current.fetch_add(count, Ordering::AcqRel);
                self.state
                    .bytes_in_current
                    .fetch_add(buffer.len(), Ordering::AcqRel);
                self.state.written.fetch_add(count, Ordering::AcqRel);
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "records could not be written");
                self.state.failing.store(true, Ordering::Release);
                // A partial write may have left a torn line: cut it off, so that the records
                // after it start on a line of their own; if even that fails, the file is
                // given up at the next close.
                if self.file.set_len(self.length).is_err() {
                    self.broken = true;
                }
                Err(format!("records could not be written: {error}"))
            }
        };
        for done in waiting.drain(..) {
            let _ = done.send(outcome.clone());
        }
        buffer.clear();
    }

    /// Closes the current file into `pending/`. A file that vanished with records in it, or a
    /// directory that cannot take a new one, is a failure: requests are refused until the
    /// records can be kept again.
    fn close(&mut self) -> std::io::Result<Option<PathBuf>> {
        if self.state.in_current.load(Ordering::Acquire) == 0 && !self.broken {
            return Ok(None);
        }
        let closed = match move_to_pending(&self.dir) {
            Ok(closed) => Ok(Some(closed)),
            // Reported when it was found; the directory is being tried again.
            Err(e) if self.broken && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(std::io::Error::other(format!(
                    "`{}` vanished with records in it",
                    self.dir.current().display()
                )))
            }
            Err(error) => Err(error),
        };
        let reopened = open_current(&self.dir);
        match (closed, reopened) {
            (Ok(closed), Ok(file)) => {
                self.file = file;
                self.length = self.file.metadata().map_or(0, |m| m.len());
                self.broken = false;
                self.state.failing.store(false, Ordering::Release);
                self.state.in_current.store(0, Ordering::Release);
                self.state.bytes_in_current.store(0, Ordering::Release);
                Ok(closed)
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "the records file could not be closed");
                self.broken = true;
                self.state.failing.store(true, Ordering::Release);
                Err(error)
            }
        }
    }
}

/// Opens `current.jsonl` for appending, creating it durably: a record synced into a file
/// whose name was lost in a crash would be lost with it.
fn open_current(dir: &RecordsDir) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.current())?;
    File::open(&dir.root)?.sync_all()?;
    Ok(file)
}

/// Moves `current.jsonl` into `pending/` after cutting off a torn last line (what a crash
/// may leave); nothing when it is empty or missing. Run at start-up.
fn close_current(dir: &RecordsDir) -> std::io::Result<Option<PathBuf>> {
    let current = dir.current();
    let bytes = match std::fs::read(&current) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if bytes[..whole].iter().all(u8::is_ascii_whitespace) {
        std::fs::remove_file(&current)?;
        return Ok(None);
    }
    if whole < bytes.len() {
        let file = OpenOptions::new().write(true).open(&current)?;
        file.set_len(whole as u64)?;
        file.sync_all()?;
    }
    move_to_pending(dir).map(Some)
}

/// Moves `current.jsonl` into `pending/` under a name that sorts by time. The running writer
/// knows its file holds whole lines (a failed write is cut back), so it moves the
/// file without reading it.
fn move_to_pending(dir: &RecordsDir) -> std::io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let closed = dir.pending().join(format!("{nanos:024}.jsonl"));
    std::fs::rename(dir.current(), &closed)?;
    File::open(dir.pending())?.sync_all()?;
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_cut_at_start_up_and_every_synced_record_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("records");
        std::fs::create_dir_all(&root).unwrap();
        // What a crash mid-write leaves: two whole records and part of a third.
        std::fs::write(root.join("current.jsonl"), "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let (journal, dir) = Journal::open(&root).unwrap();
        let pending = dir.pending_files().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            std::fs::read_to_string(&pending[0]).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        assert!(matches!(Journal::open(&root), Err(JournalError::Locked(_))));

        for record in ["{\"d\":4}", "{\"e\":5}"] {
            let synced = journal.append(record.as_bytes().to_vec());
            assert_eq!(synced.blocking_recv().unwrap(), Ok(()));
        }
        assert_eq!(journal.state().in_current.load(Ordering::Acquire), 2);
        let closed = journal.close_current().unwrap().unwrap();
        assert_eq!(
            std::fs::read_to_string(closed).unwrap(),
            "{\"d\":4}\n{\"e\":5}\n"
        );
        assert_eq!(
            journal.close_current().unwrap(),
            None,
            "nothing new to close"
        );
        assert_eq!(dir.pending_files().unwrap().len(), 2);
    }
}
