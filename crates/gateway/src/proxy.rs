//! The OpenAI-compatible routes: who is calling (an API key issued through the ledger), what
//! for (the `Concordat-*` headers or the same names in the body's `metadata`), what the
//! contract's policies decide, which model answers (the version in service, whatever the
//! client asked for), and the record of it all, durable before the answer leaves.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use policy::usage::Outcome;
use serde_json::Value;

use crate::Shared;
use crate::body::{Body, full};
use crate::call::{CallRecord, write};
use crate::enforce::Rules;
use crate::openai::{Answered, ApiError};
use crate::stream::Recorded;

/// The largest request body the gateway reads.
pub const REQUEST_BYTES_MAX: usize = 16 << 20;
/// The largest whole (not streamed) response it reads from the provider.
pub const RESPONSE_BYTES_MAX: usize = 64 << 20;

/// The headers (and `metadata` keys) that say what a request is for.
pub const PURPOSE: &str = "Concordat-Purpose";
pub const DATA_CLASSIFICATION: &str = "Concordat-Data-Classification";
pub const HUMAN_REVIEW: &str = "Concordat-Human-Review";
pub const TARGET_DOMAIN: &str = "Concordat-Target-Domain";
/// The clauses that denied a request, on a 403.
pub const CLAUSES: &str = "Concordat-Clauses";

fn json_response(status: u16, body: Bytes, id: Option<&str>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(id) = id.and_then(|id| HeaderValue::from_str(id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    response
}

fn error_response(error: &ApiError, id: Option<&str>) -> Response<Body> {
    let mut response = json_response(error.status, error.body(), id);
    if let Some(seconds) = error
        .retry_after
        .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
    {
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, seconds);
    }
    // The SDKs retry 408, 409, 429 and 5xx unless told not to: a refusal is final.
    if error.status != 429 {
        response.headers_mut().insert(
            HeaderName::from_static("x-should-retry"),
            HeaderValue::from_static("false"),
        );
    }
    response
}

/// Answers one request.
pub async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let route = match (request.method(), request.uri().path()) {
        (&Method::POST, "/v1/chat/completions") => "/v1/chat/completions",
        (&Method::POST, "/v1/responses") => "/v1/responses",
        (&Method::POST, "/v1/embeddings") => "/v1/embeddings",
        (&Method::GET, "/v1/models") => return models(&shared, &request, None),
        (&Method::GET, path) if path.starts_with("/v1/models/") => {
            let id = path.trim_start_matches("/v1/models/").to_owned();
            return models(&shared, &request, Some(&id));
        }
        (&Method::GET, "/healthz") => return crate::health::healthz(&shared),
        (&Method::GET, "/metrics") => return crate::health::metrics(&shared),
        (_, path) => {
            let error = ApiError::new(
                404,
                "invalid_request_error",
                "unknown_url",
                format!(
                    "{} {path} is not a route of this gateway: it serves POST /v1/chat/completions, /v1/responses and /v1/embeddings, and GET /v1/models",
                    request.method()
                ),
            );
            return error_response(&error, None);
        }
    };
    invoke(shared, route, request).await
}

/// The caller's API key, from `Authorization: Bearer`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(key.trim())
        .filter(|k| !k.is_empty())
}

/// The credential the request presents, if it is an active one issued under the contract.
fn authenticate<'r>(
    rules: &'r Rules,
    headers: &HeaderMap,
    call: &mut CallRecord,
) -> Result<&'r domain::gateway::Credential, ApiError> {
    let unauthorized =
        |message: String| ApiError::new(401, "invalid_request_error", "invalid_api_key", message);
    let Some(key) = bearer(headers) else {
        return Err(unauthorized(
            "no API key: send the key your agency issued as `Authorization: Bearer <key>`"
                .to_owned(),
        ));
    };
    let hash = service::gateway::api_key_hash(key);
    call.credential = Some(hash.clone());
    match rules.credentials.get(&hash) {
        None => Err(unauthorized(format!(
            "this API key was not issued under contract `{}`",
            rules.contract
        ))),
        Some(credential) => match &credential.revoked {
            Some(revoked) => Err(unauthorized(format!(
                "this API key was revoked by `{}` (ledger entry {}): {}",
                credential.agency, revoked.entry, revoked.reason
            ))),
            None => Ok(credential),
        },
    }
}

fn models(shared: &Shared, request: &Request<Incoming>, id: Option<&str>) -> Response<Body> {
    let rules = match shared.enforcement.current() {
        Ok(rules) => rules,
        Err(why) => return unavailable(shared, &why.to_string()),
    };
    let mut scratch = CallRecord::new(String::new(), "/v1/models", String::new(), String::new());
    if let Err(error) = authenticate(&rules, request.headers(), &mut scratch) {
        return error_response(&error, None);
    }
    let Some((model, active)) = rules.upstream_model().zip(rules.active.as_ref()) else {
        return unavailable(shared, "no model version is in service");
    };
    let created = active.since_entry;
    let entry = serde_json::json!({
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": active.vendor,
    });
    match id {
        None => json_response(
            200,
            Bytes::from(serde_json::json!({"object": "list", "data": [entry]}).to_string()),
            None,
        ),
        Some(id) if id == model => json_response(200, Bytes::from(entry.to_string()), None),
        Some(id) => error_response(
            &ApiError::new(
                404,
                "invalid_request_error",
                "model_not_found",
                format!(
                    "model `{id}` is not served here: this deployment serves `{model}` ({})",
                    active.model
                ),
            ),
            None,
        ),
    }
}

fn unavailable(shared: &Shared, why: &str) -> Response<Body> {
    shared.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
    let error = ApiError::new(
        503,
        "service_unavailable",
        "gateway_unavailable",
        why.to_owned(),
    );
    let mut response = error_response(&error, None);
    response.headers_mut().insert(
        HeaderName::from_static("x-should-retry"),
        HeaderValue::from_static("true"),
    );
    response
}

/// Records a call the gateway cannot enforce, then answers 503 (unrecorded only when the
/// records themselves cannot be written).
async fn unavailable_recorded(shared: &Shared, call: CallRecord, why: &str) -> Response<Body> {
    if shared.journal.state().failing.load(Ordering::Acquire) {
        return unavailable(shared, why);
    }
    let record = call.finish(Outcome::Unavailable, 503, Some(why.to_owned()));
    match write(shared, &record).await {
        Ok(()) => unavailable(shared, why),
        Err(failed) => unavailable(shared, &failed),
    }
}

/// Records a call that ends in a refusal, then refuses it (or, if the record cannot be
/// written, answers 503: nothing leaves unrecorded).
async fn refuse(
    shared: &Shared,
    call: CallRecord,
    outcome: Outcome,
    error: ApiError,
) -> Response<Body> {
    let id = call.id.clone();
    let record = call.finish(outcome, error.status, Some(error.message.clone()));
    if let Err(why) = write(shared, &record).await {
        return unavailable(shared, &why);
    }
    let mut response = error_response(&error, Some(&id));
    if outcome == Outcome::Denied {
        let clauses = record.clauses.join(", ");
        if let Ok(value) = HeaderValue::from_str(&clauses) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("concordat-clauses"), value);
        }
    }
    response
}

fn bad_request(param: &str, message: String) -> ApiError {
    ApiError::new(400, "invalid_request_error", "invalid_request", message).with_param(param)
}

/// What the request is for, from its headers or the body's `metadata`; the `Concordat-*`
/// keys are taken out of `metadata` so the provider never sees them.
struct Purpose {
    purpose: String,
    data_classification: String,
    human_review: bool,
    target_domain: String,
}

fn purpose_of(headers: &HeaderMap, body: &mut Value) -> Result<Purpose, ApiError> {
    let mut from_metadata = std::collections::HashMap::new();
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let ours: Vec<String> = metadata
            .keys()
            .filter(|k| k.to_ascii_lowercase().starts_with("concordat-"))
            .cloned()
            .collect();
        for key in ours {
            if let Some(value) = metadata.remove(&key) {
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                from_metadata.insert(key.to_ascii_lowercase(), text);
            }
        }
        if metadata.is_empty()
            && let Some(object) = body.as_object_mut()
        {
            object.remove("metadata");
        }
    }
    let field = |name: &str| -> Result<String, ApiError> {
        let header = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned());
        header
            .or_else(|| from_metadata.get(&name.to_ascii_lowercase()).cloned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                bad_request(
                    name,
                    format!(
                        "the request does not say `{name}`: send it as a header or in the body's `metadata` (the contract decides every request by its purpose, data classification, human review and target domain)"
                    ),
                )
            })
    };
    let purpose = field(PURPOSE)?;
    let data_classification = field(DATA_CLASSIFICATION)?;
    let human = field(HUMAN_REVIEW)?;
    let human_review = match human.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => true,
        "false" | "no" | "0" => false,
        _ => {
            return Err(bad_request(
                HUMAN_REVIEW,
                format!("`{HUMAN_REVIEW}` is `{human}`: say `true` or `false`"),
            ));
        }
    };
    Ok(Purpose {
        purpose,
        data_classification,
        human_review,
        target_domain: field(TARGET_DOMAIN)?,
    })
}

/// Why a call stops before it reaches the provider.
enum Stop {
    /// Recorded with this outcome, then refused.
    Refuse(Outcome, ApiError),
    /// The gateway cannot enforce: recorded, 503.
    Unavailable(String),
}

/// A model call: authenticated, decided, forwarded to the version in service, recorded.
async fn invoke(
    shared: Arc<Shared>,
    route: &'static str,
    request: Request<Incoming>,
) -> Response<Body> {
    let rules = match shared.enforcement.current() {
        Ok(rules) => rules,
        Err(why @ crate::enforce::Unavailable::LedgerUnreachable(_)) => {
            // The rules last known still say which version and policies a record names.
            let known = shared.enforcement.rules();
            let Some(active) = known.active.as_ref() else {
                return unavailable(&shared, &why.to_string());
            };
            let mut call = CallRecord::new(
                shared.ids.next(),
                route,
                active.model.clone(),
                known.policy_digest.clone(),
            );
            call.credential = bearer(request.headers()).map(service::gateway::api_key_hash);
            return unavailable_recorded(&shared, call, &why.to_string()).await;
        }
        Err(why) => return unavailable(&shared, &why.to_string()),
    };
    if shared.journal.state().failing.load(Ordering::Acquire) {
        return unavailable(
            &shared,
            "the gateway cannot write its records: requests are refused until it can",
        );
    }
    let (Some(active), Some(upstream_model)) = (rules.active.as_ref(), rules.upstream_model())
    else {
        return unavailable(&shared, "no model version is in service");
    };
    let mut call = CallRecord::new(
        shared.ids.next(),
        route,
        active.model.clone(),
        rules.policy_digest.clone(),
    );
    let decided = match authenticate(&rules, request.headers(), &mut call) {
        Ok(credential) => {
            let credential = credential.clone();
            decide(&rules, &credential, request, &mut call).await
        }
        Err(error) => Err(Stop::Refuse(Outcome::Unauthenticated, error)),
    };
    let decided = decided.and_then(|body| within_capacity(&shared, &rules, &call).map(|()| body));
    let mut body = match decided {
        Ok(body) => body,
        Err(Stop::Refuse(outcome, error)) => return refuse(&shared, call, outcome, error).await,
        Err(Stop::Unavailable(why)) => return unavailable_recorded(&shared, call, &why).await,
    };
    if let Some(object) = body.as_object_mut() {
        object.insert("model".to_owned(), Value::String(upstream_model.clone()));
    }
    let streaming = body.get("stream").and_then(Value::as_bool) == Some(true);
    forward(shared, rules, call, route, body, upstream_model, streaming).await
}

/// The contract's capacity terms admit one more request of the caller.
fn within_capacity(shared: &Shared, rules: &Rules, call: &CallRecord) -> Result<(), Stop> {
    let Some(request) = &call.request else {
        return Ok(());
    };
    let now = service::build::now();
    shared
        .quotas
        .admit(
            &rules.capacity,
            shared.replicas,
            &request.user,
            &request.agency,
            now,
        )
        .map_err(|over| {
            let mut error = ApiError::new(
                429,
                "requests",
                "rate_limit_exceeded",
                format!(
                    "contract `{}` allows {} ({} on this gateway): try again in {} s",
                    rules.contract,
                    over.term.replace('_', " "),
                    over.limit,
                    over.retry_after
                ),
            );
            error.retry_after = Some(over.retry_after);
            Stop::Refuse(Outcome::RateLimited, error)
        })
}

/// Reads the request and decides it against the contract: the body to forward if allowed.
async fn decide(
    rules: &Rules,
    credential: &domain::gateway::Credential,
    request: Request<Incoming>,
    call: &mut CallRecord,
) -> Result<Value, Stop> {
    let (parts, body) = request.into_parts();
    let bytes = Limited::new(body, REQUEST_BYTES_MAX)
        .collect()
        .await
        .map_err(|_| {
            let message =
                format!("the request body is unreadable or larger than {REQUEST_BYTES_MAX} bytes");
            Stop::Refuse(Outcome::BadRequest, bad_request("body", message))
        })?
        .to_bytes();
    call.prompt_digest = Some(service::access::sha256_digest(&bytes));
    let mut body: Value = match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => value,
        _ => {
            let error = bad_request("body", "the request body is not a JSON object".to_owned());
            return Err(Stop::Refuse(Outcome::BadRequest, error));
        }
    };
    let purpose = purpose_of(&parts.headers, &mut body)
        .map_err(|error| Stop::Refuse(Outcome::BadRequest, error))?;
    let asked = policy::Request {
        user: credential.user.clone(),
        agency: credential.agency.clone(),
        role: credential.role.clone(),
        clearance: credential.clearance.name().to_owned(),
        resource: policy::Resource::Deployment {
            id: rules.deployment.clone(),
        },
        purpose: purpose.purpose,
        data_classification: purpose.data_classification,
        human_in_the_loop: purpose.human_review,
        target_domain: purpose.target_domain,
    };
    let decided = rules.decide(&asked).map_err(|problems| {
        Stop::Unavailable(format!("the contract's policies do not load: {problems}"))
    })?;
    let decision = decided.map_err(|error| {
        let message = format!("the request cannot be decided: {error}");
        Stop::Refuse(Outcome::BadRequest, bad_request("metadata", message))
    })?;
    let undeclared = (rules.policies.as_ref().ok())
        .and_then(policy::Policies::purposes)
        .filter(|declared| !declared.contains(&asked.purpose))
        .map(|declared| {
            format!(
                "purpose `{}` is not one the contract declares ({})",
                asked.purpose,
                declared.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        });
    call.request = Some(asked);
    call.allowed = decision.allowed;
    call.clauses = decision.clauses;
    if call.allowed {
        return Ok(body);
    }
    let because = match undeclared {
        Some(undeclared) => undeclared,
        None if call.clauses.is_empty() => "no clause permits it".to_owned(),
        None => format!("clause(s) {}", call.clauses.join(", ")),
    };
    let message = format!(
        "contract `{}` does not allow this request: {because}",
        rules.contract
    );
    Err(Stop::Refuse(
        Outcome::Denied,
        ApiError::new(403, "permission_denied", "policy_denied", message),
    ))
}

/// Sends the allowed request to the provider and answers with what comes back, recorded.
async fn forward(
    shared: Arc<Shared>,
    rules: Arc<Rules>,
    call: CallRecord,
    route: &'static str,
    body: Value,
    expected: String,
    streaming: bool,
) -> Response<Body> {
    let upstream = match shared.upstream.request(route, &body) {
        Ok(request) => request,
        Err(error) => {
            let error = ApiError::new(502, "api_error", "upstream_error", error);
            return refuse(&shared, call, Outcome::UpstreamError, error).await;
        }
    };
    let response = match shared.client.request(upstream).await {
        Ok(response) => response,
        Err(error) => {
            let error = ApiError::new(
                502,
                "api_error",
                "upstream_unreachable",
                format!("the model's provider could not be reached: {error}"),
            );
            return refuse(&shared, call, Outcome::UpstreamError, error).await;
        }
    };
    let status = response.status().as_u16();
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    let (_, incoming) = response.into_parts();
    let is_stream = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if streaming && is_stream && status == 200 {
        let id = call.id.clone();
        let body = Recorded::new(Arc::clone(&shared), incoming, call, expected, rules.pinning);
        let mut response = Response::new(body.boxed_unsync());
        if let Some(content_type) = content_type {
            response.headers_mut().insert(CONTENT_TYPE, content_type);
        }
        if let Ok(id) = HeaderValue::from_str(&id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("x-request-id"), id);
        }
        return response;
    }
    whole(&shared, &rules, call, status, incoming, &expected).await
}

/// A whole (not streamed) answer: read, checked for drift, recorded, returned.
async fn whole(
    shared: &Shared,
    rules: &Rules,
    mut call: CallRecord,
    status: u16,
    incoming: Incoming,
    expected: &str,
) -> Response<Body> {
    let bytes = match Limited::new(incoming, RESPONSE_BYTES_MAX).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let error = ApiError::new(
                502,
                "api_error",
                "upstream_error",
                format!("the model's provider's answer could not be read: {error}"),
            );
            return refuse(shared, call, Outcome::UpstreamError, error).await;
        }
    };
    call.response_digest = Some(service::access::sha256_digest(&bytes));
    let answered = Answered::read(&bytes);
    call.usage = answered.usage();
    call.upstream_model = answered.model().map(str::to_owned);
    let id = call.id.clone();
    if !(200..300).contains(&status) {
        let record = call.finish(
            Outcome::UpstreamError,
            status,
            Some(format!("the provider answered {status}")),
        );
        if let Err(why) = write(shared, &record).await {
            return unavailable(shared, &why);
        }
        return json_response(status, bytes, Some(&id));
    }
    let drifted = call
        .upstream_model
        .as_deref()
        .is_some_and(|answered| answered != expected);
    if drifted && rules.pinning {
        let error = ApiError::new(
            502,
            "api_error",
            "model_drift",
            format!(
                "the provider answered with model `{}`, not `{expected}`, the version in service; contract `{}` pins its version, so the answer is withheld",
                call.upstream_model.as_deref().unwrap_or_default(),
                rules.contract
            ),
        );
        return refuse(shared, call, Outcome::Drift, error).await;
    }
    let outcome = if drifted {
        Outcome::Drift
    } else {
        Outcome::Served
    };
    crate::call::spend(shared, &call);
    let record = call.finish(outcome, status, None);
    if let Err(why) = write(shared, &record).await {
        return unavailable(shared, &why);
    }
    json_response(status, bytes, Some(&id))
}
