//! Group commit, generically: requests queue up and a worker thread handles them in batches.
//!
//! The worker takes whatever is queued (up to `batch_entries_max`), optionally lingers up to
//! `batch_wait_ms` for more, and hands the batch to its handler, which commits it and replies.
//! While one batch commits, the next one gathers.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::StoreError;

/// Bounds of group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// The most entries in one transaction.
    pub batch_entries_max: usize,
    /// How long a batch may wait for more entries once it has one (0: commit what is queued).
    pub batch_wait_ms: u64,
    /// Requests queued before `send` blocks (backpressure).
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

/// A worker thread that owns `S` and handles queued requests `R` in batches.
#[derive(Debug)]
pub struct Batcher<R, S> {
    sender: Option<SyncSender<R>>,
    worker: Option<JoinHandle<S>>,
}

impl<R: Send + 'static, S: Send + 'static> Batcher<R, S> {
    /// Moves `state` to a thread named `name`; `handle` gets each batch and must drain it.
    pub fn start(
        name: &str,
        mut state: S,
        config: GroupCommit,
        mut handle: impl FnMut(&mut S, &mut Vec<R>) + Send + 'static,
    ) -> Result<Batcher<R, S>, StoreError> {
        let (sender, receiver) = mpsc::sync_channel(config.queue_entries_max.max(1));
        let worker = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut batch = Vec::with_capacity(config.batch_entries_max.max(1));
                while let Ok(first) = receiver.recv() {
                    batch.push(first);
                    gather(&receiver, &mut batch, config);
                    handle(&mut state, &mut batch);
                    batch.clear();
                }
                state
            })
            .map_err(|e| StoreError::io(format!("cannot start the {name} thread"), e))?;
        Ok(Batcher {
            sender: Some(sender),
            worker: Some(worker),
        })
    }

    /// Queues a request; blocks while the queue is full.
    pub fn send(&self, request: R) -> Result<(), StoreError> {
        self.sender
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(request)
            .map_err(|_| StoreError::Closed)
    }

    /// Handles what is queued, stops the thread and gives its state back.
    pub fn close(mut self) -> Result<S, StoreError> {
        self.sender.take();
        self.worker
            .take()
            .ok_or(StoreError::Closed)?
            .join()
            .map_err(|_| StoreError::Closed)
    }
}

impl<R, S> Drop for Batcher<R, S> {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn gather<R>(receiver: &Receiver<R>, batch: &mut Vec<R>, config: GroupCommit) {
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
