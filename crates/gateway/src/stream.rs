//! A streamed answer (server-sent events), passed through as it arrives and recorded when it
//! ends. The last chunk is held back until the record is on disk, so a client never sees a
//! stream complete whose record could be lost; a client that goes away mid-stream leaves a
//! record of an aborted call, and a provider that fails mid-stream one of an upstream error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use policy::usage::Outcome;
use sha2::{Digest, Sha256};

use crate::Shared;
use crate::call::CallRecord;
use crate::openai::{Usage, model_of, usage_of};

type Writing = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// The provider's event stream, recorded.
pub struct Recorded {
    shared: Arc<Shared>,
    inner: Incoming,
    call: Option<CallRecord>,
    hasher: Sha256,
    /// Bytes of an event line not yet complete.
    line: Vec<u8>,
    usage: Option<Usage>,
    upstream_model: Option<String>,
    expected: String,
    pinning: bool,
    /// The latest chunk, held back until the next arrives or the record is written.
    held: Option<Bytes>,
    writing: Option<Writing>,
    /// Set once the record is written: what to end the stream with.
    ended: Option<Result<(), String>>,
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl Recorded {
    pub fn new(
        shared: Arc<Shared>,
        inner: Incoming,
        call: CallRecord,
        expected: String,
        pinning: bool,
    ) -> Recorded {
        Recorded {
            shared,
            inner,
            call: Some(call),
            hasher: Sha256::new(),
            line: Vec::new(),
            usage: None,
            upstream_model: None,
            expected,
            pinning,
            held: None,
            writing: None,
            ended: None,
        }
    }

    /// Reads the complete event lines in `data` for the model and the token counts.
    fn scan(&mut self, data: &[u8]) {
        for byte in data {
            if *byte != b'\n' {
                self.line.push(*byte);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let Some(payload) = line.strip_prefix(b"data:") else {
                continue;
            };
            let payload = payload.trim_ascii();
            if payload == b"[DONE]" {
                continue;
            }
            let wanted =
                self.upstream_model.is_none() || payload.windows(7).any(|w| w == b"\"usage\"");
            if !wanted {
                continue;
            }
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) {
                if self.upstream_model.is_none() {
                    self.upstream_model = model_of(&value).map(str::to_owned);
                }
                if let Some(usage) = usage_of(&value) {
                    self.usage = Some(usage);
                }
            }
        }
    }

    fn drifted(&self) -> bool {
        self.upstream_model
            .as_deref()
            .is_some_and(|answered| answered != self.expected)
    }

    /// Starts writing the call's record, ended with `outcome`.
    fn record(&mut self, outcome: Outcome, status: u16, reason: Option<String>) {
        let Some(mut call) = self.call.take() else {
            return;
        };
        call.usage = self.usage.unwrap_or_default();
        call.upstream_model = self.upstream_model.clone();
        crate::call::spend(&self.shared, &call);
        call.response_digest = Some(format!(
            "sha256:{}",
            hex(&std::mem::take(&mut self.hasher).finalize())
        ));
        let record = call.finish(outcome, status, reason);
        let shared = Arc::clone(&self.shared);
        self.writing = Some(Box::pin(async move {
            crate::call::write(&shared, &record).await
        }));
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Body for Recorded {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(writing) = this.writing.as_mut() {
                let written = std::task::ready!(writing.as_mut().poll(cx));
                this.writing = None;
                let stream_ok = this.ended.take().unwrap_or(Ok(()));
                this.ended = Some(Err(String::new()));
                return Poll::Ready(match (written, stream_ok) {
                    (Ok(()), Ok(())) => this.held.take().map(|b| Ok(Frame::data(b))),
                    (Err(why), _) | (_, Err(why)) => Some(Err(std::io::Error::other(why))),
                });
            }
            if this.ended.is_some() {
                return Poll::Ready(this.held.take().map(|b| Ok(Frame::data(b))));
            }
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // Trailers: not passed on.
                    };
                    this.hasher.update(&data);
                    this.scan(&data);
                    if this.pinning && this.drifted() {
                        let reason = format!(
                            "the provider answered with model `{}`, not `{}`, the version in service; the contract pins its version, so the stream is cut",
                            this.upstream_model.as_deref().unwrap_or_default(),
                            this.expected
                        );
                        this.held = None;
                        this.ended = Some(Err(reason.clone()));
                        this.record(Outcome::Drift, 502, Some(reason));
                        continue;
                    }
                    if let Some(previous) = this.held.replace(data) {
                        return Poll::Ready(Some(Ok(Frame::data(previous))));
                    }
                }
                Some(Err(error)) => {
                    let reason = format!("the provider's stream failed: {error}");
                    this.ended = Some(Err(reason.clone()));
                    this.record(Outcome::UpstreamError, 502, Some(reason));
                }
                None => {
                    let outcome = if this.drifted() {
                        Outcome::Drift
                    } else {
                        Outcome::Served
                    };
                    this.ended = Some(Ok(()));
                    this.record(outcome, 200, None);
                }
            }
        }
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        // The client went away before the stream ended: the call is recorded as aborted
        // (nobody waits for it; the writer still writes it).
        if let Some(mut call) = self.call.take() {
            call.usage = self.usage.unwrap_or_default();
            call.upstream_model = self.upstream_model.take();
            let record = call.finish(
                Outcome::Aborted,
                200,
                Some("the client closed the stream before it ended".to_owned()),
            );
            crate::call::enqueue(&self.shared, &record);
        }
    }
}
