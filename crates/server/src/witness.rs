//! A witness over HTTP: C2SP `tlog-witness` `add-checkpoint` (the spec's status codes and
//! bodies), and for anyone who asks, the latest checkpoint cosigned for a log and the evidence
//! kept against logs that showed two histories.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use service::witness::Witness;

/// The largest request: a checkpoint with its signatures and 63 proof lines fit many times.
const BODY_BYTES_MAX: usize = 64 * 1024;

/// The witness's routes, each answered within `limits.request_timeout`.
pub fn router(witness: Arc<Witness>, limits: &crate::Limits) -> Router {
    let deadline = limits.request_timeout;
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/checkpoint", get(latest))
        .route("/evidence", get(evidence))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(deadline, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => text(
                        StatusCode::REQUEST_TIMEOUT,
                        "text/plain; charset=utf-8",
                        "the request took too long\n".to_owned(),
                    ),
                }
            },
        ))
        .with_state(witness)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "the witness failed");
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        "the witness cannot answer now\n".to_owned(),
    )
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await {
        Ok(Ok(answer)) => text(
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            answer.content_type,
            answer.body,
        ),
        Ok(Err(error)) => unavailable(error),
        Err(error) => unavailable(error),
    }
}

#[derive(serde::Deserialize)]
struct Origin {
    origin: String,
}

/// The latest checkpoint cosigned for `?origin=`, as the log signed it.
async fn latest(State(witness): State<Arc<Witness>>, Query(query): Query<Origin>) -> Response {
    match tokio::task::spawn_blocking(move || witness.latest(&query.origin)).await {
        Ok(Ok(Some((_, note)))) => text(StatusCode::OK, "text/plain; charset=utf-8", note),
        Ok(Ok(None)) => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "this witness has cosigned nothing for that origin\n".to_owned(),
        ),
        Ok(Err(error)) => unavailable(error),
        Err(error) => unavailable(error),
    }
}

/// Every request kept as evidence against a log, with the cosigned checkpoint it contradicts;
/// both halves are signed by the log.
async fn evidence(State(witness): State<Arc<Witness>>) -> Response {
    match tokio::task::spawn_blocking(move || witness.evidence()).await {
        Ok(Ok(kept)) => {
            let body: Vec<serde_json::Value> = kept
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "origin": e.origin,
                        "reason": e.reason,
                        "received_ms": e.received_ms,
                        "request": String::from_utf8_lossy(&e.request),
                        "contradicts": e.against,
                    })
                })
                .collect();
            text(
                StatusCode::OK,
                "application/json",
                serde_json::to_string_pretty(&body).unwrap_or_default(),
            )
        }
        Ok(Err(error)) => unavailable(error),
        Err(error) => unavailable(error),
    }
}
