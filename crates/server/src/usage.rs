//! Usage: the public counts of each batch, and the batch's records — restricted to the
//! auditors whose contract lets them read usage records, and to the party that recorded the
//! batch. The recording party deposits the records after the batch's entry is logged; the
//! server keeps them only if they match the entry's digest.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::access::authenticate;
use crate::{ApiError, Instance, SEALED_DIR};

/// Where deposited records are kept, under [`SEALED_DIR`]: `usage/<entry>.jsonl`.
pub const USAGE_DIR: &str = "usage";

/// The largest records file accepted.
pub const USAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

pub async fn batches(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<crate::api::ContractQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let state = instance.ledger.state();
    let list: Vec<&domain::updates::UsageBatch> = state.usage(query.contract.as_deref()).collect();
    Ok(Json(json!(list)))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::access::sha256_hex(bytes))
}

fn records_file(instance: &Instance, entry: u64) -> std::path::PathBuf {
    instance
        .dir
        .join(SEALED_DIR)
        .join(USAGE_DIR)
        .join(format!("{entry}.jsonl"))
}

/// A batch's records, for the auditors allowed to read usage records under its contract and
/// for the party that recorded it; the read is logged first.
pub async fn records(
    State(instance): State<Arc<Instance>>,
    request: axum::http::request::Parts,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(entry) = path?;
    let reader = authenticate(&instance, &request)?;
    let state = instance.ledger.state();
    let batch = state
        .usage_batch(entry)
        .ok_or_else(|| ApiError::not_found(format!("entry {entry} is not a usage batch")))?;
    let auditor = state
        .package(&batch.contract)
        .is_some_and(|p| p.reads_usage(&reader.party));
    if !auditor && reader.party != batch.party {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` may not read the usage records of `{}`: they are open to its auditors whose audit rights include usage records, and to `{}`, which recorded them",
                reader.party, batch.contract, batch.party
            ),
        ));
    }
    let bytes = std::fs::read(records_file(&instance, entry)).map_err(|_| {
        ApiError::not_found(format!(
            "`{}` has not deposited the records of entry {entry} with this server",
            batch.party
        ))
    })?;
    if sha256(&bytes) != batch.digest {
        return Err(ApiError::internal(format!(
            "the deposited records of usage entry {entry} do not match its digest"
        )));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let records: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    let resource = format!("usage/{entry}/records");
    let recorded = instance.record_read(&reader, &resource).await?;
    Ok(Json(json!({
        "entry": entry, "contract": batch.contract, "deployment": batch.deployment,
        "digest": batch.digest, "records": records, "jsonl": text, "read_recorded_at": recorded,
    })))
}

/// The recording party deposits a batch's records: exactly the bytes the entry's digest names.
pub async fn deposit(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let Path(entry) = path?;
    let (parts, body) = request.into_parts();
    let reader = authenticate(&instance, &parts)?;
    let state = instance.ledger.state();
    let batch = state
        .usage_batch(entry)
        .ok_or_else(|| ApiError::not_found(format!("entry {entry} is not a usage batch")))?;
    if reader.party != batch.party {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only `{}`, which recorded usage entry {entry}, deposits its records",
                batch.party
            ),
        ));
    }
    let bytes = axum::body::to_bytes(body, USAGE_BYTES_MAX)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("a records file is at most {USAGE_BYTES_MAX} bytes"),
            )
        })?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(ApiError::bad_request(
            "a records file is UTF-8 text, one JSON object a line",
        ));
    }
    let digest = sha256(&bytes);
    if digest != batch.digest {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "digest-mismatch",
            format!(
                "these bytes hash to {digest}; usage entry {entry} names {}",
                batch.digest
            ),
        ));
    }
    let already = crate::access::store_deposit(&records_file(&instance, entry), &bytes)?;
    Ok(Json(
        json!({"entry": entry, "digest": digest, "stored": true, "already_stored": already}),
    ))
}
