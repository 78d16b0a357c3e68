//! The JSON API: submit entries; read parties, contracts, model versions, evidence,
//! recognitions, deployments and gates; every entry with its statement, signers and tlog-proof.
//! Each handler decodes the request, asks [`service::Instance`] and encodes its answer in the
//! [`service::wire`] types the clients read.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::updates::{self, time};
use serde::Deserialize;
use serde_json::{Value, json};
use service::Instance as _;
use service::wire;

use crate::{ApiError, Instance};

type PathResult<T> = Result<Path<T>, axum::extract::rejection::PathRejection>;
type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

pub async fn healthz(State(instance): State<Arc<Instance>>) -> Result<Json<Value>, ApiError> {
    let size = instance.read(|r| r.latest_checkpoint())?.size;
    Ok(Json(
        json!({"status": "ok", "origin": instance.local.origin(), "size": size}),
    ))
}

pub async fn instance(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<wire::InstanceInfo>, ApiError> {
    Ok(Json(instance.local.info()?))
}

pub async fn submit(
    State(instance): State<Arc<Instance>>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    // An envelope is JSON: a form or a text body is refused before it is read, so a browser
    // cannot be made to post one from another site without a CORS preflight.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the envelope as `Content-Type: application/json`",
        ));
    }
    let body = body?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body must be a DSSE envelope (JSON) of a Concordat entry",
        ));
    }
    let reply = instance
        .blocking(move |instance| instance.local.submit(body.to_vec()))
        .await?;
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

pub async fn entry(
    State(instance): State<Arc<Instance>>,
    path: PathResult<u64>,
) -> Result<Json<wire::EntryView>, ApiError> {
    let Path(index) = path?;
    Ok(Json(instance.local.entry(index)?))
}

pub async fn envelope(
    State(instance): State<Arc<Instance>>,
    path: PathResult<u64>,
) -> Result<Response, ApiError> {
    let Path(index) = path?;
    let bytes = instance.local.logged_entry(index)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

pub async fn proof(
    State(instance): State<Arc<Instance>>,
    path: PathResult<u64>,
) -> Result<Response, ApiError> {
    let Path(index) = path?;
    // Against the latest checkpoint its witnesses' quorum cosigned, when one covers it.
    let cosigned = instance
        .witnessed
        .as_ref()
        .and_then(|w| w.quorum())
        .filter(|c| c.size > index);
    let Some(cosigned) = cosigned else {
        let proof = instance.local.proof(index)?;
        let how = if instance.witnessed.is_some() {
            "provisional"
        } else {
            "none"
        };
        return Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (
                    header::HeaderName::from_static(crate::witnessed::HEADER),
                    how,
                ),
            ],
            proof,
        )
            .into_response());
    };
    let mut proof = instance.read(|r| r.proof_file(index, Some(cosigned.size)))?;
    proof.checkpoint = cosigned.note;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::HeaderName::from_static(crate::witnessed::HEADER),
                "quorum",
            ),
        ],
        proof.to_text(),
    )
        .into_response())
}

pub async fn parties(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<domain::Party>>, ApiError> {
    Ok(Json(instance.local.parties()?))
}

pub async fn party(
    State(instance): State<Arc<Instance>>,
    path: PathResult<String>,
) -> Result<Json<wire::PartyView>, ApiError> {
    let Path(id) = path?;
    Ok(Json(instance.local.party(&id)?))
}

pub async fn contracts(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<wire::ContractSummary>>, ApiError> {
    Ok(Json(instance.local.contracts()?))
}

pub async fn contract(
    State(instance): State<Arc<Instance>>,
    path: PathResult<String>,
) -> Result<Json<domain::ContractRecord>, ApiError> {
    let Path(id) = path?;
    Ok(Json(instance.local.contract(&id)?))
}

pub async fn models(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<updates::ModelVersion>>, ApiError> {
    Ok(Json(instance.local.models()?))
}

pub async fn model(
    State(instance): State<Arc<Instance>>,
    path: PathResult<String>,
) -> Result<Json<updates::ModelVersion>, ApiError> {
    let Path(key) = path?;
    Ok(Json(instance.local.model(&key)?))
}

pub async fn model_bom(
    State(instance): State<Arc<Instance>>,
    path: PathResult<String>,
) -> Result<Response, ApiError> {
    let Path(key) = path?;
    let bom = instance.local.model_bom(&key)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/vnd.cyclonedx+json; version=1.6",
        )],
        format!("{bom:#}\n"),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct EvidenceQuery {
    model: Option<String>,
}

pub async fn evidence(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<EvidenceQuery>,
) -> Result<Json<Vec<updates::EvidenceRecord>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(instance.local.evidence(query.model.as_deref())?))
}

pub async fn recognitions(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<updates::Recognition>>, ApiError> {
    Ok(Json(instance.local.recognitions()?))
}

/// An optional `at` query value, RFC 3339.
fn instant(at: Option<&str>) -> Result<Option<i64>, ApiError> {
    at.map(|text| time::parse_instant("at", text).map_err(ApiError::bad_request))
        .transpose()
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    contract: Option<String>,
    at: Option<String>,
}

pub async fn recognition_report(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<ReportQuery>,
) -> Result<Json<Vec<updates::ContractReuse>>, ApiError> {
    let Query(query) = query?;
    let at = instant(query.at.as_deref())?;
    Ok(Json(
        instance
            .local
            .recognition_report(query.contract.as_deref(), at)?,
    ))
}

pub async fn key(
    State(instance): State<Arc<Instance>>,
    path: PathResult<String>,
) -> Result<Json<domain::KeyRecord>, ApiError> {
    let Path(keyid) = path?;
    Ok(Json(instance.local.key(&keyid)?))
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

pub async fn consistency(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<ConsistencyQuery>,
) -> Result<Json<wire::ConsistencyView>, ApiError> {
    let Query(query) = query?;
    Ok(Json(instance.local.consistency(query.old, query.new)?))
}

#[derive(Debug, Deserialize)]
pub struct ContractQuery {
    pub contract: Option<String>,
}

pub async fn attestations(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<ContractQuery>,
) -> Result<Json<Vec<updates::HostingRecord>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(
        instance.local.attestations(query.contract.as_deref())?,
    ))
}

pub async fn deployments(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<updates::Deployment>>, ApiError> {
    Ok(Json(instance.local.deployments()?))
}

#[derive(Debug, Deserialize)]
pub struct IncidentsQuery {
    pub contract: Option<String>,
    pub at: Option<String>,
}

pub async fn incidents(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<IncidentsQuery>,
) -> Result<Json<Vec<service::wire::IncidentView>>, ApiError> {
    let Query(query) = query?;
    let at = query
        .at
        .as_deref()
        .map(|at| domain::updates::time::parse_instant("at", at))
        .transpose()
        .map_err(|e| ApiError::from(service::ServiceError::BadRequest(e)))?;
    Ok(Json(
        instance.local.incidents(query.contract.as_deref(), at)?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ComplianceQuery {
    contract: String,
    /// Regimes or catalogs, comma-separated.
    regime: Option<String>,
    at: Option<String>,
}

pub async fn compliance(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<ComplianceQuery>,
) -> Result<Json<Vec<domain::compliance::Coverage>>, ApiError> {
    let Query(query) = query?;
    let at = query
        .at
        .as_deref()
        .map(|at| domain::updates::time::parse_instant("at", at))
        .transpose()
        .map_err(|e| ApiError::from(service::ServiceError::BadRequest(e)))?;
    let regimes: Vec<String> = query
        .regime
        .as_deref()
        .map(|r| {
            r.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let instance = Arc::clone(&instance);
    instance
        .blocking(move |i| i.local.compliance(&query.contract, &regimes, at))
        .await
        .map(Json)
}

#[derive(Debug, Deserialize)]
pub struct OscalQuery {
    contract: String,
}

pub async fn oscal(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<OscalQuery>,
) -> Result<Json<std::collections::BTreeMap<String, Value>>, ApiError> {
    let Query(query) = query?;
    let instance = Arc::clone(&instance);
    instance
        .blocking(move |i| i.local.oscal(&query.contract))
        .await
        .map(Json)
}

pub async fn designations(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Vec<domain::designation::Designation>>, ApiError> {
    Ok(Json(instance.local.designations()?))
}

pub async fn coalition(
    State(instance): State<Arc<Instance>>,
) -> Result<Json<Option<domain::federation::Coalition>>, ApiError> {
    Ok(Json(instance.local.coalition()?))
}

pub async fn gateway_view(
    State(instance): State<Arc<Instance>>,
    path: PathResult<(String, String)>,
) -> Result<Json<service::wire::GatewayView>, ApiError> {
    let Path((contract, name)) = path?;
    Ok(Json(instance.local.gateway_view(&contract, &name)?))
}

pub async fn deployment(
    State(instance): State<Arc<Instance>>,
    path: PathResult<(String, String)>,
) -> Result<Json<updates::Deployment>, ApiError> {
    let Path((contract, name)) = path?;
    Ok(Json(instance.local.deployment(&contract, &name)?))
}

#[derive(Debug, Deserialize)]
pub struct GateQuery {
    contract: String,
    model: String,
    at: Option<String>,
}

pub async fn gate(
    State(instance): State<Arc<Instance>>,
    query: QueryResult<GateQuery>,
) -> Result<Json<wire::GateView>, ApiError> {
    let Query(query) = query?;
    let at = instant(query.at.as_deref())?;
    Ok(Json(instance.local.gate(
        &query.contract,
        &query.model,
        at,
    )?))
}
