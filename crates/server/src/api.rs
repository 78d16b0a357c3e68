//! The JSON API: submit entries; read parties, contracts, model versions, evidence,
//! recognitions, deployments and gates; every entry with its statement, signers and tlog-proof.

use std::sync::Arc;

use attest::{Envelope, Statement};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Kind;
use domain::updates::{self, time};
use ledger::SubmitError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ApiError, Instance};

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub async fn healthz(State(instance): State<Arc<Instance>>) -> Result<Json<Value>, ApiError> {
    let size = instance.read(|r| r.latest_checkpoint())?.size;
    Ok(Json(
        json!({"status": "ok", "origin": instance.origin, "size": size}),
    ))
}

pub async fn instance(State(instance): State<Arc<Instance>>) -> Result<Json<Value>, ApiError> {
    let checkpoint = instance.read(|r| r.latest_checkpoint())?;
    Ok(Json(json!({
        "origin": instance.origin,
        "verifier_key": instance.verifier_key,
        "size": checkpoint.size,
        "checkpoint": checkpoint.note,
        "simulated_clock": instance.simulated_clock,
    })))
}

pub async fn submit(
    State(instance): State<Arc<Instance>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body must be a DSSE envelope (JSON) of a Concordat entry",
        ));
    }
    let for_ledger = Arc::clone(&instance);
    let outcome =
        tokio::task::spawn_blocking(move || for_ledger.ledger.submit_and_wait(body.to_vec()))
            .await
            .map_err(ApiError::internal)?;
    match outcome {
        Ok(receipt) => {
            let proof = receipt.proof_file().to_text();
            Ok((
                StatusCode::CREATED,
                Json(json!({"index": receipt.index, "checkpoint_size": receipt.checkpoint.size, "proof": proof})),
            )
                .into_response())
        }
        Err(SubmitError::Invalid(message)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-entry",
            message,
        )),
        Err(SubmitError::Unverified(message)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unverified",
            message,
        )),
        Err(SubmitError::Rejected(rejection)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            rejection.to_string(),
        )),
        Err(SubmitError::Failed(message)) => Err(ApiError::internal(message)),
    }
}

/// An entry: its kind, statement and the parties whose keys signed it.
/// The bytes logged at `index`, or a 404 that says how long the log is.
fn logged_entry(instance: &Instance, index: u64) -> Result<Vec<u8>, ApiError> {
    let size = instance.read(|r| r.latest_checkpoint())?.size;
    if index >= size {
        return Err(ApiError::not_found(format!(
            "entry {index} is not in the log (it holds {size} entries)"
        )));
    }
    Ok(instance.read(|r| r.entry(index))?)
}

/// An entry: its kind, statement and the parties whose keys signed it.
pub fn entry_json(instance: &Instance, index: u64) -> Result<Value, ApiError> {
    let bytes = logged_entry(instance, index)?;
    let envelope = Envelope::parse(&bytes).map_err(ApiError::internal)?;
    let statement = Statement::parse(&envelope.payload).map_err(ApiError::internal)?;
    let state = instance.ledger.state();
    let signers: Vec<Value> = ledger::signing_keys(&state, &envelope)
        .into_iter()
        .map(|record| json!({"party": record.party, "keyid": record.keyid, "algorithm": record.algorithm}))
        .collect();
    Ok(json!({
        "index": index,
        "kind": Kind::from_predicate_type(&statement.predicate_type).map(Kind::name),
        "statement": statement,
        "signers": signers,
    }))
}

pub async fn entry(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(index) = path?;
    entry_json(&instance, index).map(Json)
}

pub async fn envelope(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(index) = path?;
    let bytes = logged_entry(&instance, index)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

pub async fn proof(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(index) = path?;
    let proof = instance.read(|r| r.proof_file(index, None))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        proof.to_text(),
    )
        .into_response())
}

pub async fn parties(State(instance): State<Arc<Instance>>) -> Json<Value> {
    let state = instance.ledger.state();
    let parties: Vec<&domain::Party> = state.parties().collect();
    Json(json!(parties))
}

pub async fn party(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = path?;
    let state = instance.ledger.state();
    let party = state
        .party(&id)
        .ok_or_else(|| ApiError::not_found(format!("party `{id}` is not registered")))?;
    let keys: Vec<&domain::KeyRecord> = state.keys_of(&id).collect();
    Ok(Json(json!({"party": party, "keys": keys})))
}

pub async fn contracts(State(instance): State<Arc<Instance>>) -> Json<Value> {
    let state = instance.ledger.state();
    let list: Vec<Value> = state
        .contracts()
        .map(|c| json!({"id": c.id, "title": c.title, "parties": c.parties, "version": c.current().map(|v| &v.version), "addenda": c.addenda.len()}))
        .collect();
    Json(Value::Array(list))
}

pub async fn contract(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = path?;
    let state = instance.ledger.state();
    let record = state
        .contract(&id)
        .ok_or_else(|| ApiError::not_found(format!("contract `{id}` is not published")))?;
    Ok(Json(json!(record)))
}

pub async fn models(State(instance): State<Arc<Instance>>) -> Json<Value> {
    let state = instance.ledger.state();
    let list: Vec<&updates::ModelVersion> = state.models().collect();
    Json(json!(list))
}

pub async fn model(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(key) = path?;
    let state = instance.ledger.state();
    let model = state
        .model(&key)
        .ok_or_else(|| ApiError::not_found(format!("model version `{key}` is not registered")))?;
    Ok(Json(json!(model)))
}

#[derive(Debug, Deserialize)]
pub struct EvidenceQuery {
    model: Option<String>,
}

pub async fn evidence(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<EvidenceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let state = instance.ledger.state();
    let list: Vec<&updates::EvidenceRecord> = match &query.model {
        Some(model) => state.evidence_for(model).iter().map(|e| &**e).collect(),
        None => state.all_evidence().collect(),
    };
    Ok(Json(json!(list)))
}

pub async fn recognitions(State(instance): State<Arc<Instance>>) -> Json<Value> {
    let state = instance.ledger.state();
    let list: Vec<&updates::Recognition> = state.recognitions().collect();
    Json(json!(list))
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    contract: Option<String>,
    at: Option<String>,
}

pub async fn recognition_report(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let at = match &query.at {
        Some(text) => time::parse_instant("at", text).map_err(ApiError::bad_request)?,
        None => now(),
    };
    let state = instance.ledger.state();
    let rows =
        updates::recognition_report(&state, query.contract.as_deref(), at).ok_or_else(|| {
            ApiError::not_found(format!(
                "contract `{}` is not published",
                query.contract.as_deref().unwrap_or_default()
            ))
        })?;
    Ok(Json(json!(rows)))
}

pub async fn key(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(keyid) = path?;
    let state = instance.ledger.state();
    let key = state
        .key(&keyid)
        .ok_or_else(|| ApiError::not_found(format!("no party registered key `{keyid}`")))?;
    Ok(Json(json!(key)))
}

#[derive(Debug, Deserialize)]
pub struct ContractQuery {
    pub contract: Option<String>,
}

pub async fn attestations(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<ContractQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let state = instance.ledger.state();
    let list: Vec<&updates::HostingRecord> = match &query.contract {
        Some(contract) => state.attestations_for(contract).collect(),
        None => state.attestations().collect(),
    };
    Ok(Json(json!(list)))
}

pub async fn deployments(State(instance): State<Arc<Instance>>) -> Json<Value> {
    let state = instance.ledger.state();
    let list: Vec<&updates::Deployment> = state.deployments().collect();
    Json(json!(list))
}

pub async fn deployment(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((contract, name)) = path?;
    let state = instance.ledger.state();
    let deployment = state
        .deployment(&updates::deployment_key(&contract, &name))
        .ok_or_else(|| {
            ApiError::not_found(format!("contract `{contract}` has no deployment `{name}`"))
        })?;
    Ok(Json(json!(deployment)))
}

#[derive(Debug, Deserialize)]
pub struct GateQuery {
    contract: String,
    model: String,
    at: Option<String>,
}

pub async fn gate(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<GateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let (line, version) = query
        .model
        .split_once('@')
        .ok_or_else(|| ApiError::bad_request("`model` is LINE@VERSION"))?;
    let at = match &query.at {
        Some(text) => time::parse_instant("at", text).map_err(ApiError::bad_request)?,
        None => now(),
    };
    let state = instance.ledger.state();
    let gate = updates::evaluate(&state, &query.contract, line, version, at)
        .map_err(ApiError::not_found)?;
    let mut value = json!(gate);
    if let Some(object) = value.as_object_mut() {
        object.insert("met".to_owned(), gate.met().into());
    }
    Ok(Json(value))
}
