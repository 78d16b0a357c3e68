//! Restricted data: who may read or deposit what, decided once for the server and for a
//! local instance. Public data needs no credential. A sealed addendum's text is for the
//! parties cleared for it; a sealed evaluation result for its lab and the auditors whose scope
//! includes `evaluation-evidence`; a usage batch's records for the auditors whose audit rights
//! include usage records and for the party that recorded it. What is read is checked against
//! the ledger's public commitment or digest before it leaves, and every read is recorded in the
//! ledger first (see [`crate::Local`]): no record, no data.

use domain::contract::Sealed;
use domain::{ContractRecord, RecordedAddendum, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deposit::Kept;
use crate::layout::Layout;
use crate::wire::{AddendumText, DepositReply, SealedResult, UsageRecords};
use crate::{Result, ServiceError};

/// The scope an auditor needs for sealed evaluation results.
pub const EVIDENCE_SCOPE: &str = "evaluation-evidence";

/// The largest usage records file accepted.
pub const USAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Who a restricted request speaks for, and the credential that proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub party: String,
    /// `token ID` or `key KEYID`, recorded with the read.
    pub credential: String,
}

/// How a party proves who it is: a bearer token, or its signing key.
pub enum Credential {
    Token(String),
    Key(Box<tlog::note::SignerKey>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Token(_) => f.write_str("Credential::Token(..)"),
            Credential::Key(key) => write!(f, "Credential::Key({})", key.name()),
        }
    }
}

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

/// The tokens issued for an instance.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub tokens: Vec<TokenRecord>,
}

impl Tokens {
    pub fn read(layout: &Layout) -> Result<Tokens> {
        let path = layout.tokens();
        if let Some(url) = layout.shared_database() {
            return match store::pg::document(url, crate::layout::TOKENS_FILE)? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| ServiceError::internal(format!("the tokens document: {e}"))),
                None => Ok(Tokens::default()),
            };
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::internal(format!("`{}`: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tokens::default()),
            Err(e) => Err(ServiceError::internal(format!("`{}`: {e}", path.display()))),
        }
    }

    /// The caller a token speaks for, if it was issued and not revoked.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        let hash = crate::build::sha256_hex(token.as_bytes());
        self.tokens
            .iter()
            .find(|t| t.sha256 == hash && t.revoked_at.is_none())
            .map(|t| Caller {
                party: t.party.clone(),
                credential: format!("token {}", t.id),
            })
    }
}

/// The caller a bearer token speaks for.
pub fn by_token(layout: &Layout, token: &str) -> Result<Caller> {
    Tokens::read(layout)?.caller(token).ok_or_else(|| {
        ServiceError::Unauthenticated("the token is not recognised, or was revoked".to_owned())
    })
}

/// The caller a key speaks for: its party, while the key is registered and active.
pub fn by_key(state: &State, keyid: &str) -> Result<Caller> {
    let record = state.key(keyid).ok_or_else(|| {
        ServiceError::Unauthenticated(format!("key `{keyid}` is not registered to any party"))
    })?;
    if !record.is_active() {
        return Err(ServiceError::Unauthenticated(format!(
            "key `{keyid}` of `{}` is no longer active",
            record.party
        )));
    }
    Ok(Caller {
        party: record.party.clone(),
        credential: format!("key {keyid}"),
    })
}

/// A deposited sealed addendum: the sealed half and who is cleared for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositedAddendum {
    id: String,
    salt: String,
    text: String,
    /// Parties cleared for it; all parties of the contract when absent.
    #[serde(default)]
    cleared: Option<Vec<String>>,
}

impl DepositedAddendum {
    fn sealed(&self) -> Sealed {
        Sealed {
            id: self.id.clone(),
            salt: self.salt.clone(),
            text: self.text.clone(),
        }
    }
}

/// A published contract and one of its sealed addenda.
fn contract_addendum<'s>(
    state: &'s State,
    contract: &str,
    id: &str,
) -> Result<(&'s ContractRecord, &'s RecordedAddendum)> {
    let record = state
        .contract(contract)
        .ok_or_else(|| ServiceError::NotFound(format!("contract `{contract}` is not published")))?;
    let addendum = record.addenda.iter().find(|a| a.id == id).ok_or_else(|| {
        ServiceError::NotFound(format!("contract `{contract}` has no addendum `{id}`"))
    })?;
    Ok((record, addendum))
}

/// An evidence entry with a sealed result, and the result's commitment.
fn sealed_evidence(state: &State, entry: u64) -> Result<(&domain::updates::EvidenceRecord, &str)> {
    let record = state
        .evidence(entry)
        .ok_or_else(|| ServiceError::NotFound(format!("entry {entry} is not evidence")))?;
    let commitment = record.sealed_result.as_deref().ok_or_else(|| {
        ServiceError::NotFound(format!(
            "evidence entry {entry} has no sealed result: its metrics are public"
        ))
    })?;
    Ok((record, commitment))
}

/// A usage batch.
fn usage_batch(state: &State, entry: u64) -> Result<&domain::updates::UsageBatch> {
    state
        .usage_batch(entry)
        .ok_or_else(|| ServiceError::NotFound(format!("entry {entry} is not a usage batch")))
}

/// Reads a deposited file; a missing one is `missing`, in words.
fn read_deposit(layout: &Layout, path: &std::path::Path, missing: String) -> Result<Vec<u8>> {
    layout.kept(path)?.ok_or(ServiceError::NotFound(missing))
}

/// A sealed half read back from the instance. A parse error can quote the text it could not
/// read: say where, never what.
fn stored_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path, bytes: &[u8]) -> Result<T> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| toml::from_str(text).ok())
        .ok_or_else(|| ServiceError::internal(format!("`{}` is not a sealed half", path.display())))
}

/// The text of a sealed addendum, for a party cleared for it; the read still has to be
/// recorded before it is handed over (`read_recorded_at` is 0 until then).
pub fn addendum_text(
    state: &State,
    layout: &Layout,
    caller: &Caller,
    contract: &str,
    id: &str,
) -> Result<AddendumText> {
    let (record, addendum) = contract_addendum(state, contract, id)?;
    let mut path = layout.sealed_addendum(contract, id)?;
    if layout.kept(&path)?.is_none() {
        path = layout
            .legacy_sealed_addendum(contract, id)
            .filter(|legacy| legacy.exists())
            .unwrap_or(path);
    }
    let bytes = read_deposit(
        layout,
        &path,
        format!("no party has deposited the sealed text of `{id}` with this instance"),
    )?;
    let deposited: DepositedAddendum = stored_toml(&path, &bytes)?;
    let cleared = deposited.cleared.as_ref().unwrap_or(&record.parties);
    if !cleared.contains(&caller.party) {
        return Err(ServiceError::Forbidden(format!(
            "`{}` is not cleared for addendum `{id}` of `{contract}`",
            caller.party
        )));
    }
    let sealed = deposited.sealed();
    domain::contract::open_commitment(&addendum.commitment, &sealed).map_err(|_| {
        ServiceError::internal(format!("`{}` does not open its commitment", path.display()))
    })?;
    Ok(AddendumText {
        contract: contract.to_owned(),
        id: id.to_owned(),
        title: addendum.title.clone(),
        classification: addendum.classification.clone(),
        commitment: addendum.commitment.clone(),
        salt: sealed.salt,
        text: sealed.text,
        read_recorded_at: 0,
    })
}

/// A sealed evaluation result, for the lab that produced it and the auditors whose scope
/// under a contract the version is offered under includes `evaluation-evidence`.
pub fn sealed_result(
    state: &State,
    layout: &Layout,
    caller: &Caller,
    entry: u64,
) -> Result<SealedResult> {
    let (record, commitment) = sealed_evidence(state, entry)?;
    let model = domain::updates::model_key(&record.line, &record.version);
    let auditing: Vec<&str> = state
        .model(&model)
        .into_iter()
        .flat_map(|m| m.offers.keys())
        .filter(|contract| {
            state
                .package(contract)
                .is_some_and(|p| p.audits(&caller.party, EVIDENCE_SCOPE))
        })
        .map(String::as_str)
        .collect();
    if caller.party != record.lab && auditing.is_empty() {
        return Err(ServiceError::Forbidden(format!(
            "`{}` may not read the sealed result of evidence entry {entry}: it is open to the lab that produced it (`{}`) and to auditors whose scope includes `{EVIDENCE_SCOPE}` under a contract {model} is offered under",
            caller.party, record.lab
        )));
    }
    let path = layout.sealed_result(entry);
    let bytes = read_deposit(
        layout,
        &path,
        format!(
            "`{}` has not deposited the sealed result of entry {entry} with this instance",
            record.lab
        ),
    )?;
    let sealed: Sealed = stored_toml(&path, &bytes)?;
    domain::contract::open_commitment(commitment, &sealed).map_err(|_| {
        ServiceError::internal(format!("`{}` does not open its commitment", path.display()))
    })?;
    let metrics: Value = serde_json::from_str(&sealed.text).unwrap_or(Value::Null);
    let cleared_as = if caller.party == record.lab {
        Value::from("lab")
    } else {
        serde_json::json!({ "auditor_under": auditing })
    };
    Ok(SealedResult {
        entry,
        lab: record.lab.clone(),
        model,
        suite: record.suite.clone(),
        id: sealed.id,
        commitment: commitment.to_owned(),
        salt: sealed.salt,
        text: sealed.text,
        metrics,
        read_recorded_at: 0,
        cleared_as,
    })
}

/// A usage batch's records, for the auditors allowed to read usage records under its
/// contract and for the party that recorded it.
pub fn usage_records(
    state: &State,
    layout: &Layout,
    caller: &Caller,
    entry: u64,
) -> Result<UsageRecords> {
    let batch = usage_batch(state, entry)?;
    let auditor = state
        .package(&batch.contract)
        .is_some_and(|p| p.reads_usage(&caller.party));
    if !auditor && caller.party != batch.party {
        return Err(ServiceError::Forbidden(format!(
            "`{}` may not read the usage records of `{}`: they are open to its auditors whose audit rights include usage records, and to `{}`, which recorded them",
            caller.party, batch.contract, batch.party
        )));
    }
    let mut path = layout.usage_records_for(&batch.contract, &batch.digest)?;
    if layout.kept(&path)?.is_none() && layout.legacy_usage_records(entry).exists() {
        path = layout.legacy_usage_records(entry);
    }
    let bytes = read_deposit(
        layout,
        &path,
        format!(
            "`{}` has not deposited the records of entry {entry} with this instance",
            batch.party
        ),
    )?;
    if sha256_digest(&bytes) != batch.digest {
        return Err(ServiceError::internal(format!(
            "the deposited records of usage entry {entry} do not match its digest"
        )));
    }
    let jsonl = String::from_utf8_lossy(&bytes).into_owned();
    let records = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    Ok(UsageRecords {
        entry,
        contract: batch.contract.clone(),
        deployment: batch.deployment.clone(),
        digest: batch.digest.clone(),
        records,
        jsonl,
        read_recorded_at: 0,
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::build::sha256_hex(bytes))
}

/// A body that is a sealed half in TOML. Says where, never quotes: a TOML error's snippet
/// could carry the sealed text.
fn sealed_toml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ServiceError::BadRequest("a sealed half is UTF-8 TOML".to_owned()))?;
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| before.lines().count().max(1));
        ServiceError::BadRequest(format!(
            "the sealed half is not TOML with `id`, `salt` and `text`{}: {}",
            line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            e.message()
        ))
    })
}

fn reply(resource: String, kept: Kept) -> DepositReply {
    DepositReply {
        resource,
        stored: true,
        already_stored: kept == Kept::AlreadyThere,
    }
}

/// A sealed addendum's text deposited by a party of the contract (`None`: by whoever holds
/// the instance directory) — TOML with `id`, `salt`, `text` and optionally `cleared`, the
/// parties of the contract who may read it (all of them when absent). Kept only if it opens
/// the public commitment.
pub fn deposit_addendum(
    state: &State,
    layout: &Layout,
    depositor: Option<&Caller>,
    contract: &str,
    id: &str,
    body: &[u8],
) -> Result<DepositReply> {
    let (record, addendum) = contract_addendum(state, contract, id)?;
    if let Some(depositor) = depositor.filter(|d| !record.parties.contains(&d.party)) {
        return Err(ServiceError::Forbidden(format!(
            "`{}` is not a party of `{contract}`: only its parties deposit its addenda",
            depositor.party
        )));
    }
    let deposited: DepositedAddendum = sealed_toml(body)?;
    if deposited.id != id {
        return Err(ServiceError::BadRequest(format!(
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
        return Err(ServiceError::Mismatch {
            code: "not-a-party",
            message: format!(
                "`{outsider}` is not a party of `{contract}` and cannot be cleared for its addenda"
            ),
        });
    }
    domain::contract::open_commitment(&addendum.commitment, &deposited.sealed()).map_err(|_| {
        ServiceError::Mismatch {
            code: "commitment-mismatch",
            message: format!("the text does not open the commitment of `{id}`"),
        }
    })?;
    let kept = layout.keep(&layout.sealed_addendum(contract, id)?, body)?;
    Ok(reply(format!("contract/{contract}/addendum/{id}"), kept))
}

/// A sealed evaluation result deposited by the lab that produced it (`None`: by whoever
/// holds the instance directory), as `evidence import --seal` wrote it. Kept only if it opens
/// the entry's commitment.
pub fn deposit_result(
    state: &State,
    layout: &Layout,
    depositor: Option<&Caller>,
    entry: u64,
    body: &[u8],
) -> Result<DepositReply> {
    let (record, commitment) = sealed_evidence(state, entry)?;
    if let Some(depositor) = depositor.filter(|d| d.party != record.lab) {
        return Err(ServiceError::Forbidden(format!(
            "only `{}`, which produced evidence entry {entry}, deposits its sealed result (not `{}`)",
            record.lab, depositor.party
        )));
    }
    let sealed: Sealed = sealed_toml(body)?;
    domain::contract::open_commitment(commitment, &sealed).map_err(|_| ServiceError::Mismatch {
        code: "commitment-mismatch",
        message: format!("the result does not open the commitment of evidence entry {entry}"),
    })?;
    let kept = layout.keep(&layout.sealed_result(entry), body)?;
    Ok(reply(format!("evidence/{entry}/sealed-result"), kept))
}

/// A usage batch's records, deposited before the entry that counts them by a party of
/// `contract` (`None`: by whoever holds the instance directory): JSON Lines, each request
/// decided again by the contract's policies. Kept by digest, once; the entry's write path
/// finds them there (see [`crate::admission`]).
pub fn deposit_usage(
    state: &State,
    layout: &Layout,
    depositor: Option<&Caller>,
    contract: &str,
    body: &[u8],
) -> Result<DepositReply> {
    let record = state
        .contract(contract)
        .ok_or_else(|| ServiceError::NotFound(format!("no contract `{contract}` is published")))?;
    let may_deposit = |party: &str| {
        record.parties.iter().any(|p| p == party)
            || state
                .gateways_of(contract)
                .any(|grant| grant.gateway == party)
    };
    if let Some(depositor) = depositor.filter(|d| !may_deposit(&d.party)) {
        return Err(ServiceError::Forbidden(format!(
            "`{}` is neither a party of `{contract}` nor a gateway authorized for one of its deployments: only they deposit usage records under it",
            depositor.party
        )));
    }
    if body.len() > USAGE_BYTES_MAX {
        return Err(ServiceError::TooLarge(format!(
            "a records file is at most {USAGE_BYTES_MAX} bytes"
        )));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ServiceError::BadRequest("a records file is UTF-8 text, one JSON object a line".to_owned())
    })?;
    crate::usage::check(text, record, None).map_err(|error| match error {
        crate::usage::RecordsError::Lines(_) => ServiceError::BadRequest(error.located("records")),
        other => ServiceError::Mismatch {
            code: "decisions-differ",
            message: other.located("records"),
        },
    })?;
    let digest = sha256_digest(body);
    let kept = layout.keep(&layout.usage_records_for(contract, &digest)?, body)?;
    Ok(reply(
        format!("contract/{contract}/usage-records/{digest}"),
        kept,
    ))
}

/// Issues a token for `party`: the token (shown once) and its record (kept as a hash).
pub fn issue_token(
    layout: &Layout,
    party: &str,
    label: &str,
    now: &str,
) -> Result<(TokenRecord, String)> {
    let secret = crate::keys::random_bytes().map_err(ServiceError::internal)?;
    let token = format!(
        "cct_{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)
    );
    let sha256 = crate::build::sha256_hex(token.as_bytes());
    let record = TokenRecord {
        id: sha256.get(..8).unwrap_or_default().to_owned(),
        party: party.to_owned(),
        sha256,
        label: label.to_owned(),
        issued_at: now.to_owned(),
        revoked_at: None,
    };
    update_tokens(layout, |tokens| {
        tokens.tokens.push(record.clone());
        Ok(())
    })?;
    Ok((record, token))
}

/// Revokes the token `id`; a server refuses it from the next request.
pub fn revoke_token(layout: &Layout, id: &str, now: &str) -> Result<TokenRecord> {
    update_tokens(layout, |tokens| {
        let record = tokens
            .tokens
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no token `{id}`")))?;
        if record.revoked_at.is_none() {
            record.revoked_at = Some(now.to_owned());
        }
        Ok(record.clone())
    })
}

/// Reads, changes and writes `tokens.json` under an exclusive lock, so concurrent writers
/// neither lose nor refuse each other's updates; the new file is synced and renamed into place,
/// so readers see the old list or the new one.
fn update_tokens<T: Send>(
    layout: &Layout,
    change: impl FnOnce(&mut Tokens) -> Result<T> + Send,
) -> Result<T> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(url) = layout.shared_database() {
        // The nodes of an instance on PostgreSQL share one list, changed one at a time.
        return store::pg::update_document(url, crate::layout::TOKENS_FILE, |bytes| {
            let mut tokens: Tokens = match bytes {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| ServiceError::internal(format!("the tokens document: {e}")))?,
                None => Tokens::default(),
            };
            let answer = change(&mut tokens)?;
            let bytes = serde_json::to_vec_pretty(&tokens).map_err(ServiceError::internal)?;
            Ok((bytes, answer))
        });
    }
    let path = layout.tokens();
    let io = |what: &str, e: std::io::Error| {
        ServiceError::internal(format!("cannot {what} `{}`: {e}", path.display()))
    };
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path.with_extension("lock"))
        .map_err(|e| io("lock", e))?;
    lock.lock().map_err(|e| io("lock", e))?;
    let mut tokens = Tokens::read(layout)?;
    let answer = change(&mut tokens)?;
    let text = serde_json::to_string_pretty(&tokens).map_err(ServiceError::internal)?;
    let temporary = path.with_extension("json.new");
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    written.map_err(|e| io("write", e))?;
    Ok(answer)
}
