//! Prometheus metrics: requests by route and status, and the log's size.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Instance;

#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, status) → (count, total seconds).
    requests: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
    /// Connections closed at once because a bound was reached.
    refused_connections: std::sync::atomic::AtomicU64,
}

impl Metrics {
    pub fn refused_connection(&self) {
        self.refused_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub async fn track(
    State(instance): State<Arc<Instance>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    if let Ok(mut requests) = instance.metrics.requests.lock() {
        let slot = requests
            .entry((route, response.status().as_u16()))
            .or_default();
        slot.0 += 1;
        slot.1 += elapsed;
    }
    response
}

fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

pub async fn metrics(State(instance): State<Arc<Instance>>) -> Response {
    let mut out = String::from(
        "# HELP concordat_http_requests_total Requests handled, by route and status.\n# TYPE concordat_http_requests_total counter\n",
    );
    let requests = instance
        .metrics
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    for ((route, status), (count, _)) in &requests {
        out.push_str(&format!(
            "concordat_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}\n",
            label(route)
        ));
    }
    out.push_str("# HELP concordat_http_request_seconds_total Time spent handling requests, by route and status.\n# TYPE concordat_http_request_seconds_total counter\n");
    for ((route, status), (_, seconds)) in &requests {
        out.push_str(&format!(
            "concordat_http_request_seconds_total{{route=\"{}\",status=\"{status}\"}} {seconds:.6}\n",
            label(route)
        ));
    }
    out.push_str(&format!(
        "# HELP concordat_http_connections_refused_total Connections closed at once because the server held as many as it may (in all, or from that client).\n# TYPE concordat_http_connections_refused_total counter\nconcordat_http_connections_refused_total {}\n",
        instance
            .metrics
            .refused_connections
            .load(std::sync::atomic::Ordering::Relaxed)
    ));
    let size = instance.read(|r| r.latest_checkpoint().map(|c| c.size).unwrap_or(0));
    let state = instance.state();
    out.push_str(&format!(
        "# HELP concordat_log_entries Entries in the log at its latest checkpoint.\n# TYPE concordat_log_entries gauge\nconcordat_log_entries {size}\n# HELP concordat_parties Registered parties.\n# TYPE concordat_parties gauge\nconcordat_parties {}\n# HELP concordat_contracts Published contracts.\n# TYPE concordat_contracts gauge\nconcordat_contracts {}\n",
        state.parties().count(),
        state.contracts().count()
    ));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}
