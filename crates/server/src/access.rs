//! Who a restricted request speaks for: a bearer token bound to a party (kept by the instance
//! as a SHA-256 hash and read on each request, so a revocation takes effect at once), or the
//! request signed with one of the party's active keys (HTTP Message Signatures, RFC 9421,
//! covering the method, host and path, created within five minutes, with a nonce never used
//! before). What each party may read or deposit is [`service::access`]'s to decide; every read
//! is recorded in the ledger before the data leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use domain::updates::time;
use service::Caller;
use service::wire::{AddendumText, DepositReply, SealedResult};

use crate::{ApiError, Instance};

pub(crate) fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// How far a signed request's `created` may be from the server's clock, either way; also how
/// long its nonce is remembered.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 300;

/// Nonces of signed requests within the window (`KEYID NONCE` → when it may be forgotten),
/// journaled to a file beside the database (one JSON object a line, synced before the request
/// is answered) so that a restarted server refuses a request its predecessor answered.
/// For an instance on PostgreSQL, the nonces are kept in its database instead, so that a
/// request one node answered is refused by every other.
#[derive(Debug)]
pub struct Nonces(Mutex<Journal>, Option<String>);

#[derive(Debug, Default)]
struct Journal {
    seen: HashMap<String, i64>,
    /// `None`: kept in memory only.
    file: Option<(std::path::PathBuf, std::fs::File)>,
    /// Lines in the file, live or not: rewritten when most are expired.
    lines: usize,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Seen {
    key: String,
    forget_at: i64,
}

impl Default for Nonces {
    fn default() -> Nonces {
        Nonces(
            Mutex::new(Journal {
                seen: HashMap::new(),
                file: None,
                lines: 0,
            }),
            None,
        )
    }
}

impl Nonces {
    /// The nonces journaled at `path` that are still within their window (the file is created
    /// if missing, and rewritten without the expired ones).
    pub fn open(path: &std::path::Path, now: i64) -> std::io::Result<Nonces> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        // A line cut short by a crash is skipped: its request was never answered.
        let seen: HashMap<String, i64> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Seen>(line).ok())
            .filter(|s| s.forget_at > now)
            .map(|s| (s.key, s.forget_at))
            .collect();
        let mut journal = Journal {
            seen,
            file: None,
            lines: 0,
        };
        journal.rewrite(path)?;
        Ok(Nonces(Mutex::new(journal), None))
    }

    /// The nonces the nodes of an instance on PostgreSQL share, in its database `url`.
    pub fn shared(url: &str) -> Nonces {
        Nonces(Mutex::new(Journal::default()), Some(url.to_owned()))
    }

    /// Records a nonce; false if it was seen within the window. The record is on disk before
    /// this returns true.
    fn first_use(&self, keyid: &str, nonce: &str, now: i64) -> std::io::Result<bool> {
        if let Some(url) = &self.1 {
            let forget_at = now + 2 * SIGNATURE_WINDOW_SECONDS;
            return store::pg::first_use(url, &format!("{keyid} {nonce}"), forget_at, now)
                .map_err(std::io::Error::other);
        }
        let mut journal = self.0.lock().unwrap_or_else(|p| p.into_inner());
        journal.seen.retain(|_, forget_at| *forget_at > now);
        let key = format!("{keyid} {nonce}");
        if journal.seen.contains_key(&key) {
            return Ok(false);
        }
        let forget_at = now + 2 * SIGNATURE_WINDOW_SECONDS;
        if let Some((path, file)) = &mut journal.file {
            use std::io::Write as _;
            let mut line = serde_json::to_string(&Seen {
                key: key.clone(),
                forget_at,
            })
            .map_err(std::io::Error::other)?;
            line.push('\n');
            file.write_all(line.as_bytes())?;
            file.sync_data()?;
            let path = path.clone();
            journal.lines += 1;
            if journal.lines > 1024 && journal.lines > 4 * journal.seen.len() {
                journal.rewrite(&path)?;
            }
        }
        journal.seen.insert(key, forget_at);
        Ok(true)
    }
}

impl Journal {
    /// Writes the live nonces to a new file and puts it in place of the old.
    fn rewrite(&mut self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write as _;
        let fresh = path.with_extension("jsonl.new");
        let mut file = std::fs::File::create(&fresh)?;
        for (key, forget_at) in &self.seen {
            let line = serde_json::to_string(&Seen {
                key: key.clone(),
                forget_at: *forget_at,
            })
            .map_err(std::io::Error::other)?;
            writeln!(file, "{line}")?;
        }
        file.sync_all()?;
        std::fs::rename(&fresh, path)?;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        self.lines = self.seen.len();
        self.file = Some((path.to_owned(), file));
        Ok(())
    }
}

const HOW: &str = "send `Authorization: Bearer TOKEN` with a token from `concordat token issue`, or sign the request with the party's key (RFC 9421 `Signature-Input` and `Signature`; `concordat addendum fetch --key` and `concordat evidence reveal --key` do)";

/// The party a restricted request speaks for: a bearer token, or an HTTP message signature
/// (RFC 9421) by one of the party's active keys.
pub(crate) fn authenticate(instance: &Instance, request: &Parts) -> Result<Caller, ApiError> {
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

fn bearer(instance: &Instance, value: &HeaderValue) -> Result<Caller, ApiError> {
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer TOKEN`"))?;
    Ok(service::access::by_token(instance.local.layout(), token)?)
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

/// The signature was created within the window around the server's clock, and has not expired.
fn check_fresh(params: &attest::http_signature::Params, now: i64) -> Result<(), ApiError> {
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
    Ok(())
}

/// The signature covers `@authority`, the host the client meant: it must be this server, or
/// a request signed for another one could be replayed here.
fn check_authority(instance: &Instance, authority: &str) -> Result<(), ApiError> {
    let Some(own) = instance.authorities.get() else {
        return Err(unauthenticated(
            "this server does not know its own names yet, so it answers no signed request",
        ));
    };
    if !own.admits(authority) {
        return Err(unauthenticated(&format!(
            "the request is signed for `{authority}`, which is not this server (it answers for {}; start it with `--authority NAME` to add one)",
            own.names()
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

fn signed(instance: &Instance, request: &Parts) -> Result<Caller, ApiError> {
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
    let now = service::build::now();
    check_fresh(params, now)?;
    let keyid = params
        .string("keyid")
        .ok_or_else(|| unauthenticated("the signature has no `keyid`"))?;
    let nonce = params
        .string("nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            unauthenticated("the signature has no `nonce`; each signed request carries a new one")
        })?;
    let state = instance.state();
    let caller = service::access::by_key(&state, keyid)?;
    let record = state
        .key(keyid)
        .ok_or_else(|| unauthenticated(&format!("key `{keyid}` is not registered to any party")))?;
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
    check_authority(instance, authority)?;
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
    let first = instance
        .nonces
        .first_use(keyid, nonce, now)
        .map_err(ApiError::internal)?;
    if !first {
        return Err(unauthenticated(
            "this signature's nonce was already used: sign each request anew",
        ));
    }
    Ok(caller)
}

type PathResult<T> = Result<UrlPath<T>, axum::extract::rejection::PathRejection>;

/// A sealed addendum's text, for a party cleared for it; the read is logged first.
pub async fn addendum(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: PathResult<(String, String)>,
) -> Result<Json<AddendumText>, ApiError> {
    let UrlPath((contract, id)) = path?;
    let caller = authenticate(&instance, &request)?;
    let text = instance
        .blocking(move |i| i.local.read_addendum_as(&caller, &contract, &id))
        .await?;
    Ok(Json(text))
}

/// A sealed evaluation result, for the lab that produced it and the auditors in scope; the
/// read is logged first.
pub async fn sealed_result(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: PathResult<u64>,
) -> Result<Json<SealedResult>, ApiError> {
    let UrlPath(index) = path?;
    let caller = authenticate(&instance, &request)?;
    let result = instance
        .blocking(move |i| i.local.read_result_as(&caller, index))
        .await?;
    Ok(Json(result))
}

/// A party of the contract deposits a sealed addendum's text (TOML: `id`, `salt`, `text`, and
/// optionally `cleared`). Kept only if it opens the public commitment.
pub async fn deposit_addendum(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: PathResult<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<DepositReply>, ApiError> {
    let UrlPath((contract, id)) = path?;
    let depositor = authenticate(&instance, &request)?;
    let reply = instance
        .blocking(move |i| {
            i.local
                .deposit_addendum_as(Some(&depositor), &contract, &id, &body)
        })
        .await?;
    Ok(Json(reply))
}

/// The lab that produced a sealed result deposits it (TOML: `id`, `salt`, `text`). Kept only
/// if it opens the entry's commitment.
pub async fn deposit_result(
    State(instance): State<Arc<Instance>>,
    request: Parts,
    path: PathResult<u64>,
    body: axum::body::Bytes,
) -> Result<Json<DepositReply>, ApiError> {
    let UrlPath(index) = path?;
    let depositor = authenticate(&instance, &request)?;
    let reply = instance
        .blocking(move |i| i.local.deposit_result_as(Some(&depositor), index, &body))
        .await?;
    Ok(Json(reply))
}
