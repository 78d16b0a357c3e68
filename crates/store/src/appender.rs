//! Group commit: concurrent appends queue up and are written together, one transaction a batch.
//!
//! The writer thread takes whatever is queued (up to `batch_entries_max`), optionally lingers up
//! to `batch_wait_ms` for more, commits, and only then acknowledges each entry with its index
//! and the checkpoint that covers it. While one batch commits, the next one gathers.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::writer::Writer;
use crate::{ENTRY_BYTES_MAX, StoreError, StoredCheckpoint};

/// Bounds of group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// The most entries in one transaction.
    pub batch_entries_max: usize,
    /// How long a batch may wait for more entries once it has one (0: commit what is queued).
    pub batch_wait_ms: u64,
    /// Entries queued before `submit` blocks (backpressure).
    pub queue_entries_max: usize,
}

impl Default for GroupCommit {
    fn default() -> GroupCommit {
        GroupCommit {
            batch_entries_max: 8192,
            batch_wait_ms: 0,
            queue_entries_max: 65_536,
        }
    }
}

/// An acknowledged, durable entry.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    /// The signed checkpoint of the batch, which covers this entry.
    pub checkpoint: Arc<StoredCheckpoint>,
}

type Reply = Result<Appended, StoreError>;

struct Request {
    entry: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

/// The promise of an acknowledgement.
#[derive(Debug)]
pub struct Ticket(oneshot::Receiver<Reply>);

impl Ticket {
    /// Waits until the entry is durable (or its batch failed).
    pub fn wait(self) -> Result<Appended, StoreError> {
        self.0.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Whether [`Ticket::wait`] would return at once.
    pub fn is_ready(&self) -> bool {
        self.0.has_message() || self.0.is_closed()
    }
}

/// A running group-commit writer.
#[derive(Debug)]
pub struct Appender {
    sender: Option<SyncSender<Request>>,
    worker: Option<JoinHandle<Writer>>,
}

impl Appender {
    /// Moves `writer` to a thread of its own that commits queued appends in batches.
    pub fn start(writer: Writer, config: GroupCommit) -> Result<Appender, StoreError> {
        let (sender, receiver) = mpsc::sync_channel(config.queue_entries_max.max(1));
        let worker = std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || run(writer, &receiver, config))
            .map_err(|e| StoreError::io("cannot start the log writer thread", e))?;
        Ok(Appender {
            sender: Some(sender),
            worker: Some(worker),
        })
    }

    /// Queues an entry; blocks while the queue is full.
    pub fn submit(&self, entry: Vec<u8>) -> Result<Ticket, StoreError> {
        if entry.len() > ENTRY_BYTES_MAX {
            return Err(StoreError::EntryTooLarge { len: entry.len() });
        }
        let (reply, receiver) = oneshot::channel();
        self.sender
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(Request { entry, reply })
            .map_err(|_| StoreError::Closed)?;
        Ok(Ticket(receiver))
    }

    /// Appends an entry and waits until it is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<Appended, StoreError> {
        self.submit(entry)?.wait()
    }

    /// Commits what is queued, stops the thread and gives the writer back.
    pub fn close(mut self) -> Result<Writer, StoreError> {
        self.sender.take();
        self.worker
            .take()
            .ok_or(StoreError::Closed)?
            .join()
            .map_err(|_| StoreError::Closed)
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn run(mut writer: Writer, receiver: &Receiver<Request>, config: GroupCommit) -> Writer {
    let mut batch: Vec<Request> = Vec::with_capacity(config.batch_entries_max);
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        gather(receiver, &mut batch, config);
        commit(&mut writer, &mut batch);
    }
    writer
}

fn gather(receiver: &Receiver<Request>, batch: &mut Vec<Request>, config: GroupCommit) {
    let deadline = Instant::now() + Duration::from_millis(config.batch_wait_ms);
    while batch.len() < config.batch_entries_max {
        match receiver.try_recv() {
            Ok(request) => batch.push(request),
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {
                let now = Instant::now();
                if now >= deadline {
                    return;
                }
                match receiver.recv_timeout(deadline - now) {
                    Ok(request) => batch.push(request),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }
}

fn commit(writer: &mut Writer, batch: &mut Vec<Request>) {
    let result = {
        let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
        writer.append_batch(&entries, |_| Ok(()))
    };
    match result {
        Ok(commit) => {
            for (offset, request) in (0u64..).zip(batch.drain(..)) {
                let _ = request.reply.send(Ok(Appended {
                    index: commit.first_index + offset,
                    checkpoint: Arc::clone(&commit.checkpoint),
                }));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for request in batch.drain(..) {
                let _ = request
                    .reply
                    .send(Err(StoreError::BatchFailed(message.clone())));
            }
        }
    }
}
