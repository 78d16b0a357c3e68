//! Restricted data. Public data needs no credential; a sealed addendum's text needs a
//! credential of a party cleared for it: a bearer token bound to the party, or the request
//! signed with one of the party's active keys (HTTP Message Signatures, RFC 9421, covering the
//! method, host and path, created within five minutes, with a nonce never used before). Tokens
//! are issued with `concordat token issue` and kept in the instance's `tokens.json` as SHA-256
//! hashes; the file is read on each restricted request, so a revocation takes effect at once;
//! a key revoked or rotated in the ledger stops signing requests at once too. Every restricted read is recorded in the
//! ledger (who, what, when) before the data leaves; if it cannot be recorded, nothing is served.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
    sha256_hex(token.as_bytes())
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// Who a restricted request speaks for, and the credential that proved it.
#[derive(Debug)]
pub(crate) struct Reader {
    pub party: String,
    /// `token ID` or `key KEYID`, recorded with the read.
    pub credential: String,
}

/// How far a signed request's `created` may be from the server's clock, either way; also how
/// long its nonce is remembered.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 300;

/// Nonces of signed requests within the window: `KEYID NONCE` and when it may be forgotten.
#[derive(Debug, Default)]
pub struct Nonces(Mutex<HashMap<String, i64>>);

impl Nonces {
    /// Records a nonce; false if it was seen within the window.
    fn first_use(&self, keyid: &str, nonce: &str, now: i64) -> bool {
        let mut seen = match self.0.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        seen.retain(|_, forget_at| *forget_at > now);
        seen.insert(
            format!("{keyid} {nonce}"),
            now + 2 * SIGNATURE_WINDOW_SECONDS,
        )
        .is_none()
    }
}

const HOW: &str = "send `Authorization: Bearer TOKEN` with a token from `concordat token issue`, or sign the request with the party's key (RFC 9421 `Signature-Input` and `Signature`; `concordat addendum fetch --key` and `concordat evidence reveal --key` do)";

/// The party a restricted request speaks for: a bearer token, or an HTTP message signature
/// (RFC 9421) by one of the party's active keys.
pub(crate) fn authenticate(instance: &Instance, request: &Parts) -> Result<Reader, ApiError> {
    let headers = &request.headers;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return bearer(instance, value);
    }
    if headers.contains_key("signature-input") || headers.contains_key("signature") {
        return signed(instance, request);
    }
    Err(unauthenticated(&format!(
        "this resource is restricted: {HOW}"
    )))
}

fn bearer(instance: &Instance, value: &HeaderValue) -> Result<Reader, ApiError> {
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
        .map(|t| Reader {
            party: t.party.clone(),
            credential: format!("token {}", t.id),
        })
        .ok_or_else(|| unauthenticated("the token is not recognised, or was revoked"))
}

/// All field lines of a header, joined as one Structured Field value.
fn joined(headers: &HeaderMap, name: &str) -> Result<String, ApiError> {
    let mut values = Vec::new();
    for value in headers.get_all(name) {
        values.push(
            value
                .to_str()
                .map_err(|_| unauthenticated(&format!("`{name}` is not ASCII text")))?,
        );
    }
    if values.is_empty() {
        return Err(unauthenticated(&format!(
            "a signed request carries both `Signature-Input` and `Signature`; `{name}` is missing"
        )));
    }
    Ok(values.join(", "))
}

fn signed(instance: &Instance, request: &Parts) -> Result<Reader, ApiError> {
    use attest::http_signature::{Message, parse, signature_base};
    let headers = &request.headers;
    let signatures = parse(
        &joined(headers, "signature-input")?,
        &joined(headers, "signature")?,
    )
    .map_err(|e| unauthenticated(&e.to_string()))?;
    let [signed] = signatures.as_slice() else {
        return Err(unauthenticated(&format!(
            "send exactly one signature; this request has {}",
            signatures.len()
        )));
    };
    let params = &signed.params;
    let query = request.uri.query();
    let mut required = vec!["@method", "@authority", "@path"];
    if query.is_some() {
        required.push("@query");
    }
    if let Some(missing) = required.iter().find(|c| !params.covers(c)) {
        return Err(unauthenticated(&format!(
            "the signature must cover {}; it does not cover `{missing}`",
            required.join(", ")
        )));
    }
    let now = crate::api::now();
    let created = params
        .integer("created")
        .ok_or_else(|| unauthenticated("the signature has no `created` time"))?;
    if (now - created).abs() > SIGNATURE_WINDOW_SECONDS {
        return Err(unauthenticated(&format!(
            "the signature was created at {}; this server accepts signatures created within {} seconds of its clock ({})",
            time::format_instant(created),
            SIGNATURE_WINDOW_SECONDS,
            time::format_instant(now)
        )));
    }
    if params
        .integer("expires")
        .is_some_and(|expires| expires <= now)
    {
        return Err(unauthenticated("the signature has expired"));
    }
    let keyid = params
        .string("keyid")
        .ok_or_else(|| unauthenticated("the signature has no `keyid`"))?;
    let nonce = params
        .string("nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            unauthenticated("the signature has no `nonce`; each signed request carries a new one")
        })?;
    let state = instance.ledger.state();
    let record = state
        .key(keyid)
        .ok_or_else(|| unauthenticated(&format!("key `{keyid}` is not registered to any party")))?;
    if !record.is_active() {
        return Err(unauthenticated(&format!(
            "key `{keyid}` of `{}` is no longer active",
            record.party
        )));
    }
    let key = attest::PublicKey::parse(&record.public_key).map_err(ApiError::internal)?;
    if let Some(alg) = params.string("alg")
        && alg != key.algorithm()
    {
        return Err(unauthenticated(&format!(
            "`alg` is `{alg}` but key `{keyid}` is {}",
            key.algorithm()
        )));
    }
    let authority = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri.authority().map(|a| a.as_str()))
        .ok_or_else(|| unauthenticated("the request names no host"))?;
    let fields: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let message = Message {
        method: request.method.as_str(),
        authority,
        path: request.uri.path(),
        query,
        headers: &fields,
    };
    let base = signature_base(&message, params).map_err(|e| unauthenticated(&e.to_string()))?;
    if !key.verify(base.as_bytes(), &signed.signature) {
        return Err(unauthenticated(&format!(
            "the signature does not verify with key `{keyid}` of `{}` over this request's method, host and path",
            record.party
        )));
    }
    if !instance.nonces.first_use(keyid, nonce, now) {
        return Err(unauthenticated(
            "this signature's nonce was already used: sign each request anew",
        ));
    }
    Ok(Reader {
        party: record.party.clone(),
        credential: format!("key {keyid}"),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    request: Parts,
    path: Result<UrlPath<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let UrlPath((contract, id)) = path?;
    let reader = authenticate(&instance, &request)?;
    let state = instance.ledger.state();
    let (record, addendum) = contract_addendum(&state, &contract, &id)?;
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
    // A parse error can quote the text it could not read: log where, never what.
    let deposited: Deposited = toml::from_str(&text)
        .map_err(|_| ApiError::internal(format!("`{}` is not a sealed half", file.display())))?;
    let cleared = deposited
        .cleared
        .clone()
        .unwrap_or_else(|| record.parties.clone());
    if !cleared.contains(&reader.party) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` is not cleared for addendum `{id}` of `{contract}`",
                reader.party
            ),
        ));
    }
    let sealed = Sealed {
        id: deposited.id,
        salt: deposited.salt,
        text: deposited.text,
    };
    domain::contract::open_commitment(&addendum.commitment, &sealed).map_err(|_| {
        ApiError::internal(format!("`{}` does not open its commitment", file.display()))
    })?;
    // Recorded before it is served: no record, no text.
    let resource = format!("contract/{contract}/addendum/{id}");
    let entry = instance.record_read(&reader, &resource).await?;
    Ok(Json(json!({
        "contract": contract, "id": id, "title": addendum.title,
        "classification": addendum.classification, "commitment": addendum.commitment,
        "salt": sealed.salt, "text": sealed.text, "read_recorded_at": entry,
    })))
}

/// Where labs deposit sealed evaluation results, under [`SEALED_DIR`]:
/// `evidence/<entry>.sealed.toml`, as `concordat evidence import --seal` wrote it.
pub const SEALED_EVIDENCE_DIR: &str = "evidence";

/// The scope an auditor needs for sealed evaluation results.
pub const EVIDENCE_SCOPE: &str = "evaluation-evidence";

/// A sealed evaluation result (a classified government test): for the lab that produced it
/// and for auditors whose scope under a contract the version is offered under includes
/// `evaluation-evidence`.
pub async fn sealed_result(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: Result<UrlPath<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let UrlPath(index) = path?;
    let reader = authenticate(&instance, &request)?;
    let state = instance.ledger.state();
    let (record, commitment) = sealed_evidence(&state, index)?;
    let model = domain::updates::model_key(&record.line, &record.version);
    let auditing: Vec<&str> = state
        .model(&model)
        .into_iter()
        .flat_map(|m| m.offers.keys())
        .filter(|contract| {
            state
                .package(contract)
                .is_some_and(|p| p.audits(&reader.party, EVIDENCE_SCOPE))
        })
        .map(String::as_str)
        .collect();
    if reader.party != record.lab && auditing.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` may not read the sealed result of evidence entry {index}: it is open to the lab that produced it (`{}`) and to auditors whose scope includes `{EVIDENCE_SCOPE}` under a contract {model} is offered under",
                reader.party, record.lab
            ),
        ));
    }
    let file = instance
        .dir
        .join(SEALED_DIR)
        .join(SEALED_EVIDENCE_DIR)
        .join(format!("{index}.sealed.toml"));
    let text = std::fs::read_to_string(&file).map_err(|_| {
        ApiError::not_found(format!(
            "`{}` has not deposited the sealed result of entry {index} with this server",
            record.lab
        ))
    })?;
    // A parse error can quote the text it could not read: log where, never what.
    let sealed: Sealed = toml::from_str(&text)
        .map_err(|_| ApiError::internal(format!("`{}` is not a sealed half", file.display())))?;
    domain::contract::open_commitment(commitment, &sealed).map_err(|_| {
        ApiError::internal(format!("`{}` does not open its commitment", file.display()))
    })?;
    let resource = format!("evidence/{index}/sealed-result");
    let entry = instance.record_read(&reader, &resource).await?;
    let metrics: Value = serde_json::from_str(&sealed.text).unwrap_or(Value::Null);
    Ok(Json(json!({
        "entry": index, "lab": record.lab, "model": model, "suite": record.suite,
        "id": sealed.id, "commitment": commitment, "salt": sealed.salt, "text": sealed.text,
        "metrics": metrics, "read_recorded_at": entry,
        "cleared_as": if reader.party == record.lab { json!("lab") } else { json!({"auditor_under": auditing}) },
    })))
}

/// A published contract and one of its sealed addenda.
fn contract_addendum<'s>(
    state: &'s domain::State,
    contract: &str,
    id: &str,
) -> Result<(&'s domain::ContractRecord, &'s domain::RecordedAddendum), ApiError> {
    let record = state
        .contract(contract)
        .ok_or_else(|| ApiError::not_found(format!("contract `{contract}` is not published")))?;
    let addendum = record.addenda.iter().find(|a| a.id == id).ok_or_else(|| {
        ApiError::not_found(format!("contract `{contract}` has no addendum `{id}`"))
    })?;
    Ok((record, addendum))
}

/// An evidence entry with a sealed result, and the result's commitment.
fn sealed_evidence(
    state: &domain::State,
    index: u64,
) -> Result<(&domain::updates::EvidenceRecord, &str), ApiError> {
    let record = state
        .evidence(index)
        .ok_or_else(|| ApiError::not_found(format!("entry {index} is not evidence")))?;
    let commitment = record.sealed_result.as_deref().ok_or_else(|| {
        ApiError::not_found(format!(
            "evidence entry {index} has no sealed result: its metrics are public"
        ))
    })?;
    Ok((record, commitment))
}

/// Keeps a deposit: written whole (mode 0600, through a temporary file) if nothing is there,
/// accepted again if the same bytes are, refused if other bytes were deposited first. Returns
/// whether it was already there.
pub(crate) fn store_deposit(path: &Path, bytes: &[u8]) -> Result<bool, ApiError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::read(path) {
        Ok(stored) if stored == bytes => return Ok(true),
        Ok(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already-deposited",
                "something else was deposited here first; the operator replaces deposits",
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ApiError::internal(e)),
    }
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = path.with_extension("part");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(ApiError::internal)?;
    Ok(false)
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// A body that is a sealed half in TOML.
fn sealed_toml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("a sealed half is UTF-8 TOML"))?;
    // Say where, never quote: a TOML error's snippet could carry the sealed text.
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| before.lines().count().max(1));
        ApiError::bad_request(format!(
            "the sealed half is not TOML with `id`, `salt` and `text`{}: {}",
            line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            e.message()
        ))
    })
}

/// A party of the contract deposits a sealed addendum's text (TOML: `id`, `salt`, `text`, and
/// optionally `cleared`, the parties of the contract who may read it; all of them when absent).
/// Kept only if it opens the public commitment.
pub async fn deposit_addendum(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: Result<UrlPath<(String, String)>, axum::extract::rejection::PathRejection>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let UrlPath((contract, id)) = path?;
    let depositor = authenticate(&instance, &request)?;
    let state = instance.ledger.state();
    let (record, addendum) = contract_addendum(&state, &contract, &id)?;
    if !record.parties.contains(&depositor.party) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` is not a party of `{contract}`: only its parties deposit its addenda",
                depositor.party
            ),
        ));
    }
    let deposited: Deposited = sealed_toml(&body)?;
    if deposited.id != id {
        return Err(ApiError::bad_request(format!(
            "the sealed half is of `{}`, not `{id}`",
            deposited.id
        )));
    }
    if let Some(outsider) = deposited
        .cleared
        .iter()
        .flatten()
        .find(|p| !record.parties.contains(p))
    {
        return Err(unprocessable(
            "not-a-party",
            format!(
                "`{outsider}` is not a party of `{contract}` and cannot be cleared for its addenda"
            ),
        ));
    }
    let sealed = Sealed {
        id: deposited.id,
        salt: deposited.salt,
        text: deposited.text,
    };
    domain::contract::open_commitment(&addendum.commitment, &sealed).map_err(|_| {
        unprocessable(
            "commitment-mismatch",
            format!("the text does not open the commitment of `{id}`"),
        )
    })?;
    let file = instance
        .dir
        .join(SEALED_DIR)
        .join(&contract)
        .join(format!("{id}.sealed.toml"));
    let already = store_deposit(&file, &body)?;
    Ok(Json(
        json!({"contract": contract, "id": id, "stored": true, "already_stored": already}),
    ))
}

/// The lab that produced a sealed result deposits it (TOML: `id`, `salt`, `text`, as
/// `evidence import --seal` wrote it). Kept only if it opens the entry's commitment.
pub async fn deposit_result(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: Result<UrlPath<u64>, axum::extract::rejection::PathRejection>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let UrlPath(index) = path?;
    let depositor = authenticate(&instance, &request)?;
    let state = instance.ledger.state();
    let (record, commitment) = sealed_evidence(&state, index)?;
    if depositor.party != record.lab {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "only `{}`, which produced evidence entry {index}, deposits its sealed result",
                record.lab
            ),
        ));
    }
    let sealed: Sealed = sealed_toml(&body)?;
    domain::contract::open_commitment(commitment, &sealed).map_err(|_| {
        unprocessable(
            "commitment-mismatch",
            format!("the result does not open the commitment of evidence entry {index}"),
        )
    })?;
    let file = instance
        .dir
        .join(SEALED_DIR)
        .join(SEALED_EVIDENCE_DIR)
        .join(format!("{index}.sealed.toml"));
    let already = store_deposit(&file, &body)?;
    Ok(Json(
        json!({"entry": index, "stored": true, "already_stored": already}),
    ))
}

impl Instance {
    /// Logs a restricted read, signed with the operator key; the entry's index.
    pub(crate) async fn record_read(
        self: &Arc<Self>,
        reader: &Reader,
        resource: &str,
    ) -> Result<u64, ApiError> {
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
            json!({"reader": reader.party, "credential": reader.credential, "resource": resource, "at": time::format_instant(now)}),
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
