//! Group commit of raw entries: concurrent appends are written together, one transaction a
//! batch, and each is acknowledged with its index once its batch is durable.

use std::sync::Arc;

use crate::batch::{Batcher, GroupCommit};
use crate::writer::Writer;
use crate::{ENTRY_BYTES_MAX, StoreError, StoredCheckpoint};

/// An acknowledged, durable entry.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    /// The signed checkpoint of the batch, which covers this entry.
    pub checkpoint: Arc<StoredCheckpoint>,
}

type Reply = Result<Appended, StoreError>;

#[derive(Debug)]
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

/// A running group-commit writer of raw entries.
#[derive(Debug)]
pub struct Appender {
    batcher: Batcher<Request, Writer>,
}

impl Appender {
    /// Moves `writer` to a thread of its own that commits queued appends in batches.
    pub fn start(writer: Writer, config: GroupCommit) -> Result<Appender, StoreError> {
        Ok(Appender {
            batcher: Batcher::start("log-writer", writer, config, commit)?,
        })
    }

    /// Queues an entry; blocks while the queue is full.
    pub fn submit(&self, entry: Vec<u8>) -> Result<Ticket, StoreError> {
        if entry.len() > ENTRY_BYTES_MAX {
            return Err(StoreError::EntryTooLarge { len: entry.len() });
        }
        let (reply, receiver) = oneshot::channel();
        self.batcher.send(Request { entry, reply })?;
        Ok(Ticket(receiver))
    }

    /// Appends an entry and waits until it is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<Appended, StoreError> {
        self.submit(entry)?.wait()
    }

    /// Commits what is queued, stops the thread and gives the writer back.
    pub fn close(self) -> Result<Writer, StoreError> {
        self.batcher.close()
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
