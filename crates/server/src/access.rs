//! Restricted data. Public data needs no credential; a sealed addendum's text needs a bearer
//! token bound to a party cleared for it. Tokens are issued with `concordat token issue` and
//! kept in the instance's `tokens.json` as SHA-256 hashes; the file is read on each restricted
//! request, so a revocation takes effect at once. Every restricted read is recorded in the
//! ledger (who, what, when) before the data leaves; if it cannot be recorded, nothing is served.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use domain::Kind;
use domain::contract::Sealed;
use domain::updates::time;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ApiError, Instance};

pub const TOKENS_FILE: &str = "tokens.json";
/// Where parties deposit sealed halves: `sealed/<contract>/<addendum>.sealed.toml`.
pub const SEALED_DIR: &str = "sealed";

/// An issued token, as stored: never the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub party: String,
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
    #[serde(default)]
    pub label: String,
    pub issued_at: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub tokens: Vec<TokenRecord>,
}

impl Tokens {
    pub fn read(dir: &Path) -> Result<Tokens, String> {
        match std::fs::read_to_string(dir.join(TOKENS_FILE)) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{TOKENS_FILE}: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tokens::default()),
            Err(e) => Err(format!("{TOKENS_FILE}: {e}")),
        }
    }
}

pub fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// The party a request's bearer token speaks for.
fn authenticate(instance: &Instance, headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "this resource is restricted: send `Authorization: Bearer TOKEN` with a token from `concordat token issue`",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer TOKEN`"))?;
    let tokens = Tokens::read(&instance.dir).map_err(ApiError::internal)?;
    let hash = token_hash(token);
    tokens
        .tokens
        .iter()
        .find(|t| t.sha256 == hash && t.revoked_at.is_none())
        .map(|t| t.party.clone())
        .ok_or_else(|| unauthenticated("the token is not recognised, or was revoked"))
}

#[derive(Debug, Deserialize)]
struct Deposited {
    id: String,
    salt: String,
    text: String,
    /// Parties cleared for it; all parties of the contract when absent.
    #[serde(default)]
    cleared: Option<Vec<String>>,
}

pub async fn addendum(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    path: Result<UrlPath<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let UrlPath((contract, id)) = path?;
    let reader = authenticate(&instance, &headers)?;
    let state = instance.ledger.state();
    let record = state
        .contract(&contract)
        .ok_or_else(|| ApiError::not_found(format!("contract `{contract}` is not published")))?;
    let addendum = record.addenda.iter().find(|a| a.id == id).ok_or_else(|| {
        ApiError::not_found(format!("contract `{contract}` has no addendum `{id}`"))
    })?;
    let file = instance
        .dir
        .join(SEALED_DIR)
        .join(&contract)
        .join(format!("{id}.sealed.toml"));
    let text = std::fs::read_to_string(&file).map_err(|_| {
        ApiError::not_found(format!(
            "no party has deposited the sealed text of `{id}` with this server"
        ))
    })?;
    let deposited: Deposited = toml::from_str(&text).map_err(ApiError::internal)?;
    let cleared = deposited
        .cleared
        .clone()
        .unwrap_or_else(|| record.parties.clone());
    if !cleared.contains(&reader) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("`{reader}` is not cleared for addendum `{id}` of `{contract}`"),
        ));
    }
    let sealed = Sealed {
        id: deposited.id,
        salt: deposited.salt,
        text: deposited.text,
    };
    domain::contract::open_commitment(&addendum.commitment, &sealed).map_err(ApiError::internal)?;
    // Recorded before it is served: no record, no text.
    let resource = format!("contract/{contract}/addendum/{id}");
    let entry = instance.record_read(&reader, &resource).await?;
    Ok(Json(json!({
        "contract": contract, "id": id, "title": addendum.title,
        "classification": addendum.classification, "commitment": addendum.commitment,
        "salt": sealed.salt, "text": sealed.text, "read_recorded_at": entry,
    })))
}

impl Instance {
    /// Logs a restricted read, signed with the operator key; the entry's index.
    async fn record_read(self: &Arc<Self>, reader: &str, resource: &str) -> Result<u64, ApiError> {
        let operator = self.operator.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "this server has no operator key, so it cannot record restricted reads and serves none",
            )
        })?;
        let now = crate::api::now().max(self.ledger.state().clock());
        let statement = ledger::statement(
            Kind::RestrictedRead,
            json!({"reader": reader, "resource": resource, "at": time::format_instant(now)}),
            Vec::new(),
        );
        let envelope = ledger::sign_statement(&statement, operator).map_err(ApiError::internal)?;
        let instance = Arc::clone(self);
        let receipt = tokio::task::spawn_blocking(move || {
            instance
                .ledger
                .submit_and_wait(envelope.to_json().into_bytes())
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
        Ok(receipt.index)
    }
}
