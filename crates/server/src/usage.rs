//! Usage: the public counts of each batch, and the batch's records — restricted to the
//! auditors whose contract lets them read usage records, and to the party that recorded the
//! batch, which deposits them before the entry that counts them; they are kept only if the
//! contract's policies give every recorded decision ([`service::access`] decides), and the
//! entry is logged only if it counts them ([`service::admission`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use service::Instance as _;
use service::access::USAGE_BYTES_MAX;
use service::wire::{DepositReply, UsageRecords};

use crate::access::authenticate;
use crate::{ApiError, Instance};

pub async fn batches(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<crate::api::ContractQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<domain::updates::UsageBatch>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(instance.local.usage(query.contract.as_deref())?))
}

/// A batch's records, for the auditors allowed to read usage records under its contract and
/// for the party that recorded it; the read is logged first.
pub async fn records(
    State(instance): State<Arc<Instance>>,
    request: axum::http::request::Parts,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<UsageRecords>, ApiError> {
    let Path(entry) = path?;
    let caller = authenticate(&instance, &request)?;
    let records = instance
        .blocking(move |i| i.local.read_usage_as(&caller, entry))
        .await?;
    Ok(Json(records))
}

/// A party of the contract deposits a batch's records, before the entry that counts them.
pub async fn deposit(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    request: Request,
) -> Result<Json<DepositReply>, ApiError> {
    let Path(contract) = path?;
    let (parts, body) = request.into_parts();
    let depositor = authenticate(&instance, &parts)?;
    let bytes = axum::body::to_bytes(body, USAGE_BYTES_MAX)
        .await
        .map_err(|_| {
            ApiError::from(service::ServiceError::TooLarge(format!(
                "a records file is at most {USAGE_BYTES_MAX} bytes"
            )))
        })?;
    let reply = instance
        .blocking(move |i| {
            i.local
                .deposit_usage_as(Some(&depositor), &contract, &bytes)
        })
        .await?;
    Ok(Json(reply))
}
