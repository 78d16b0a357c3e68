//! `/healthz` (whether the gateway can enforce and record right now, and if not why) and
//! `/metrics` (Prometheus text: calls by outcome, refusals for unavailability, the ledger's
//! age, records written and sealed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use policy::usage::Outcome;

use crate::Shared;
use crate::body::{Body, full};

const OUTCOMES: [Outcome; 9] = [
    Outcome::Served,
    Outcome::Denied,
    Outcome::Unauthenticated,
    Outcome::BadRequest,
    Outcome::RateLimited,
    Outcome::UpstreamError,
    Outcome::Drift,
    Outcome::Aborted,
    Outcome::Unavailable,
];

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 9],
    /// Requests refused because the gateway could not enforce or record (503).
    pub unavailable: AtomicU64,
}

impl Metrics {
    pub fn count(&self, outcome: Outcome) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub fn healthz(shared: &Arc<Shared>) -> Response<Body> {
    let mut problems = Vec::new();
    if let Err(why) = shared.enforcement.current() {
        problems.push(why.to_string());
    }
    if shared.journal.state().failing.load(Ordering::Acquire) {
        problems.push("records cannot be written".to_owned());
    }
    let rules = shared.enforcement.rules();
    let body = serde_json::json!({
        "status": if problems.is_empty() { "ok" } else { "unavailable" },
        "problems": problems,
        "contract": rules.contract,
        "deployment": rules.deployment,
        "model": rules.active.as_ref().map(|a| &a.model),
        "log_size": rules.size,
        "ledger_age_seconds": shared.enforcement.ledger_age().as_secs_f64(),
        "records_sealing": !shared.seal_status.failing.load(Ordering::Acquire),
    });
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    if !problems.is_empty() {
        *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    }
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub fn metrics(shared: &Arc<Shared>) -> Response<Body> {
    use std::fmt::Write;
    let mut text = String::new();
    text.push_str("# HELP concordat_gateway_calls_total Model calls by how they ended.\n# TYPE concordat_gateway_calls_total counter\n");
    for (outcome, count) in OUTCOMES.iter().zip(&shared.metrics.outcomes) {
        let _ = writeln!(
            text,
            "concordat_gateway_calls_total{{outcome=\"{}\"}} {}",
            outcome.name(),
            count.load(Ordering::Relaxed)
        );
    }
    let journal = shared.journal.state();
    let seal = &shared.seal_status;
    let gauges = [
        (
            "concordat_gateway_unavailable_total",
            "Requests refused with 503: no ledger within the grace, records unwritable, nothing in service.",
            "counter",
            shared.metrics.unavailable.load(Ordering::Relaxed) as f64,
        ),
        (
            "concordat_gateway_records_failing",
            "1 while records cannot be written (requests are refused).",
            "gauge",
            f64::from(u8::from(journal.failing.load(Ordering::Acquire))),
        ),
        (
            "concordat_gateway_records_written_total",
            "Records written and synced.",
            "counter",
            journal.written.load(Ordering::Relaxed) as f64,
        ),
        (
            "concordat_gateway_batches_sealed_total",
            "Usage batches logged in the ledger.",
            "counter",
            seal.batches.load(Ordering::Relaxed) as f64,
        ),
        (
            "concordat_gateway_records_sealed_total",
            "Records counted by logged batches.",
            "counter",
            seal.records.load(Ordering::Relaxed) as f64,
        ),
        (
            "concordat_gateway_ledger_age_seconds",
            "Seconds since the ledger last answered.",
            "gauge",
            shared.enforcement.ledger_age().as_secs_f64(),
        ),
        (
            "concordat_gateway_log_size",
            "The log size the rules in force were read at.",
            "gauge",
            shared.enforcement.rules().size as f64,
        ),
    ];
    for (name, help, kind, value) in gauges {
        let _ = writeln!(
            text,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let mut response = Response::new(full(Bytes::from(text)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
