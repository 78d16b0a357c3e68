//! Usage records: what a deployment was asked and what the contract's use restrictions
//! answered, one JSON object a line (JSON Lines). A batch's counts go into the ledger as a
//! `usage-recorded` entry, its records by digest; the records stay restricted to the auditors
//! whose scope includes them. Anyone holding the records can decide each request again and see
//! whether the recorded answer is the one the contract's policies give.

use std::collections::{BTreeMap, HashMap};

use domain::updates::time::parse_instant;
use serde::{Deserialize, Serialize};

use crate::{Policies, Request};

/// One request: what was asked and what the contract answered, and, where a gateway made the
/// record, what became of the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRecord {
    /// When it was decided, RFC 3339.
    pub at: String,
    /// The request's id where it was decided (the gateway's).
    pub id: String,
    /// The model version in service, `LINE@VERSION`.
    pub model: String,
    /// The request in the contract's terms; absent when there was none to decide (the caller
    /// was not identified, or the request did not say what it was for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// What the policies answered (false when there was no request to decide).
    pub allowed: bool,
    /// The clauses that decided it (none for a denial by default).
    pub clauses: Vec<String>,
    /// What the gateway did with the call, when a gateway made the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Call>,
}

/// What became of a call at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Allowed and answered by the model in service.
    Served,
    /// Refused by the contract's policies; never reached the model.
    Denied,
    /// No valid credential (401).
    Unauthenticated,
    /// The request did not say what the contract needs to decide it (400).
    BadRequest,
    /// Over a capacity term (429).
    RateLimited,
    /// The model's provider failed or could not be reached (502, 504).
    UpstreamError,
    /// The answer came from another model than the one in service.
    Drift,
    /// The client went away before the answer was complete.
    Aborted,
    /// The gateway could not enforce — the ledger out of reach past the grace, or the
    /// contract's policies not loading — so it refused (503); never reached the model.
    Unavailable,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Denied => "denied",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::BadRequest => "bad-request",
            Outcome::RateLimited => "rate-limited",
            Outcome::UpstreamError => "upstream-error",
            Outcome::Drift => "drift",
            Outcome::Aborted => "aborted",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// A call through the gateway: never the text, only digests and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub outcome: Outcome,
    /// The API route, e.g. `/v1/chat/completions`.
    pub route: String,
    /// The HTTP status the caller got.
    pub status: u16,
    /// `sha256:<hex>` of the API key presented, if any (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// `sha256:<hex>` of the policy files that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The model the provider said answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_model: Option<String>,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    /// From the request's arrival to the end of the answer, in microseconds.
    pub latency_us: u64,
    /// `sha256:<hex>` of the request body as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_digest: Option<String>,
    /// `sha256:<hex>` of the response body as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_digest: Option<String>,
    /// Why the call was not served, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A batch's public counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub records: u64,
    pub allowed: u64,
    pub denied: u64,
    pub clauses: BTreeMap<String, u64>,
    /// How many calls ended each way (only records a gateway made say).
    pub outcomes: BTreeMap<String, u64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Served calls by latency: one count for each of `domain::LATENCY_BUCKETS_MS` and one
    /// for slower (empty when no record says how long a call took).
    pub latency_ms: Vec<u64>,
    /// The first and the last decision's time (unix seconds).
    pub from: i64,
    pub to: i64,
}

/// A problem with one line of a records file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// Reads a records file: each line one record; blank lines are skipped. Every bad line is
/// reported, not only the first.
pub fn read(text: &str) -> Result<Vec<(usize, UsageRecord)>, Vec<LineError>> {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fail = |message: String| LineError {
            line: number,
            message,
        };
        match serde_json::from_str::<UsageRecord>(line) {
            Ok(record) => match check(&record) {
                Ok(()) => records.push((number, record)),
                Err(message) => problems.push(fail(message)),
            },
            Err(e) => problems.push(fail(format!("column {}: {e}", e.column()))),
        }
    }
    if records.is_empty() && problems.is_empty() {
        problems.push(LineError {
            line: 1,
            message: "no records".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(problems)
    }
}

fn check(record: &UsageRecord) -> Result<(), String> {
    parse_instant("at", &record.at)?;
    if record.id.trim().is_empty() {
        return Err("`id` is empty".to_owned());
    }
    if !record
        .model
        .split_once('@')
        .is_some_and(|(line, version)| !line.is_empty() && !version.is_empty())
    {
        return Err(format!("`model` `{}` is not LINE@VERSION", record.model));
    }
    match (&record.request, &record.call) {
        (Some(request), _) => request.validate().map_err(|e| e.to_string()),
        (None, Some(call)) if !record.allowed && record.clauses.is_empty() => match call.outcome {
            Outcome::Unauthenticated | Outcome::BadRequest | Outcome::Unavailable => Ok(()),
            other => Err(format!(
                "a call that ended `{}` was decided, so its request is recorded",
                other.name()
            )),
        },
        (None, Some(_)) => Err(
            "a record without a request was not decided: it is not allowed and names no clause"
                .to_owned(),
        ),
        (None, None) => Err("`request` is missing".to_owned()),
    }
}

/// The counts of a batch.
pub fn summarize<'a>(records: impl IntoIterator<Item = &'a UsageRecord>) -> Summary {
    let mut summary = Summary {
        from: i64::MAX,
        to: i64::MIN,
        ..Summary::default()
    };
    for record in records {
        summary.records += 1;
        if record.allowed {
            summary.allowed += 1;
        } else {
            summary.denied += 1;
        }
        for clause in &record.clauses {
            *summary.clauses.entry(clause.clone()).or_default() += 1;
        }
        if let Some(call) = &record.call {
            *summary
                .outcomes
                .entry(call.outcome.name().to_owned())
                .or_default() += 1;
            summary.prompt_tokens += call.prompt_tokens;
            summary.completion_tokens += call.completion_tokens;
            if call.outcome == Outcome::Served {
                let buckets = &domain::LATENCY_BUCKETS_MS;
                if summary.latency_ms.is_empty() {
                    summary.latency_ms = vec![0; buckets.len() + 1];
                }
                let ms = call.latency_us.div_ceil(1000);
                let bucket = buckets
                    .iter()
                    .position(|bound| ms <= *bound)
                    .unwrap_or(buckets.len());
                summary.latency_ms[bucket] += 1;
            }
        }
        if let Ok(at) = parse_instant("at", &record.at) {
            summary.from = summary.from.min(at);
            summary.to = summary.to.max(at);
        }
    }
    if summary.records == 0 {
        summary.from = 0;
        summary.to = 0;
    }
    summary
}

/// Decides each record's request again; every record whose recorded answer or clauses differ
/// from the policies', with the line and the difference in words.
pub fn recheck(policies: &Policies, records: &[(usize, UsageRecord)]) -> Vec<LineError> {
    let mut differences = Vec::new();
    // A decision depends on the request alone, and a batch holds few distinct requests (one
    // per caller and context): each is decided once.
    let mut decided: HashMap<&Request, Result<crate::Decision, String>> = HashMap::new();
    for (line, record) in records {
        let verdict = |allowed: bool| if allowed { "allowed" } else { "denied" };
        let because = |clauses: &[String]| {
            if clauses.is_empty() {
                "by default".to_owned()
            } else {
                format!("by {}", clauses.join(", "))
            }
        };
        let Some(request) = &record.request else {
            continue; // Nothing was decided; `read` checked it claims no decision.
        };
        let decision = decided
            .entry(request)
            .or_insert_with(|| policies.decide(request).map_err(|e| e.to_string()));
        match decision {
            Ok(decision) => {
                let mut recorded = record.clauses.clone();
                recorded.sort();
                if decision.allowed != record.allowed || decision.clauses != recorded {
                    differences.push(LineError {
                        line: *line,
                        message: format!(
                            "request `{}` is recorded as {} {}; the contract's policies answer {} {}",
                            record.id,
                            verdict(record.allowed),
                            because(&recorded),
                            verdict(decision.allowed),
                            because(&decision.clauses)
                        ),
                    });
                }
            }
            Err(e) => differences.push(LineError {
                line: *line,
                message: format!("request `{}` cannot be decided: {e}", record.id),
            }),
        }
    }
    differences
}
