//! One call's record as it is built: who, what for, what was decided, what came back. Every
//! way a call ends goes through [`CallRecord::finish`], so each call has exactly one record.

use std::time::Instant;

use policy::usage::{Call, Outcome, UsageRecord};

use crate::Shared;
use crate::openai::Usage;

/// A call's record in the making.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub started: Instant,
    pub at: String,
    pub id: String,
    pub route: &'static str,
    pub model: String,
    pub request: Option<policy::Request>,
    pub allowed: bool,
    pub clauses: Vec<String>,
    pub credential: Option<String>,
    pub policy: Option<String>,
    pub upstream_model: Option<String>,
    pub usage: Usage,
    pub prompt_digest: Option<String>,
    pub response_digest: Option<String>,
}

impl CallRecord {
    pub fn new(id: String, route: &'static str, model: String, policy: String) -> CallRecord {
        CallRecord {
            started: Instant::now(),
            at: domain::updates::time::format_instant(service::build::now()),
            id,
            route,
            model,
            request: None,
            allowed: false,
            clauses: Vec::new(),
            credential: None,
            policy: Some(policy),
            upstream_model: None,
            usage: Usage::default(),
            prompt_digest: None,
            response_digest: None,
        }
    }

    /// The record of the call, ended with `outcome` and `status`.
    pub fn finish(self, outcome: Outcome, status: u16, reason: Option<String>) -> UsageRecord {
        let latency_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        UsageRecord {
            at: self.at,
            id: self.id,
            model: self.model,
            request: self.request,
            allowed: self.allowed,
            clauses: self.clauses,
            call: Some(Call {
                outcome,
                route: self.route.to_owned(),
                status,
                credential: self.credential,
                policy: self.policy,
                upstream_model: self.upstream_model,
                prompt_tokens: self.usage.prompt,
                completion_tokens: self.usage.completion,
                latency_us,
                prompt_digest: self.prompt_digest,
                response_digest: self.response_digest,
                reason,
            }),
        }
    }
}

/// Writes a record and waits until it is on disk.
pub async fn write(shared: &Shared, record: &UsageRecord) -> Result<(), String> {
    let line = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    let outcome = shared
        .journal
        .append(line)
        .await
        .unwrap_or_else(|_| Err("the records writer has stopped".to_owned()));
    if let Some(call) = &record.call {
        shared.metrics.count(call.outcome);
    }
    outcome
}

/// Queues a record without waiting for it (a call nobody is waiting on any more).
pub fn enqueue(shared: &Shared, record: &UsageRecord) {
    if let Ok(line) = serde_json::to_vec(record) {
        drop(shared.journal.append(line));
        if let Some(call) = &record.call {
            shared.metrics.count(call.outcome);
        }
    }
}

/// Counts an answered call's tokens against the caller's daily terms.
pub fn spend(shared: &Shared, call: &CallRecord) {
    if let Some(request) = &call.request {
        let tokens = call.usage.prompt + call.usage.completion;
        shared.quotas.spend(
            &request.user,
            &request.agency,
            tokens,
            service::build::now(),
        );
    }
}
