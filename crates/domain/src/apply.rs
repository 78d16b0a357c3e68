//! `apply`: the rules every entry must pass, and the changes it makes.

use std::fmt;

use attest::{PublicKey, Statement};
use serde::de::DeserializeOwned;

use crate::contract::{self, Sealed};
use crate::kinds::{
    AddendumDisclosed, AddendumSealed, ContractPublished, KeyAdded, KeyRevoked, KeyRotated, Kind,
    PartyRegistered, PartyStatement, Role,
};
use crate::state::{
    Change, ContractRecord, ContractVersion, KeyRecord, KeyStatus, Party, RecordedAddendum, State,
};
use crate::{designation, federation, gateway, incident, updates};

/// Statement text longer than this is refused (the whole entry must fit the log's 64 KiB).
pub const STATEMENT_TEXT_BYTES_MAX: usize = 32 * 1024;
/// A party holds at most this many keys, whatever their status: it bounds the keys a signature
/// may have to be tried against.
pub const KEYS_PER_PARTY_MAX: usize = 32;

/// An entry whose signatures the ledger has verified.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The index the entry will have in the log.
    pub index: u64,
    pub statement: &'a Statement,
    /// The key IDs (of registered keys) whose signatures verified.
    pub signers: &'a [String],
}

/// Why an entry is not accepted: the rule it breaks and, in words, how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rejected by rule `{}`: {}", self.rule, self.message)
    }
}

impl std::error::Error for Rejection {}

pub(crate) fn reject(rule: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        rule,
        message: message.into(),
    }
}

/// The keys an envelope's signatures are checked against: every registered key, or, for the
/// first entry of an empty ledger, the keys the operator registers for itself.
pub fn verification_keys(state: &State, statement: &Statement) -> Vec<PublicKey> {
    if state.is_empty() {
        if let Some(Kind::PartyRegistered) = Kind::from_predicate_type(&statement.predicate_type)
            && let Ok(genesis) =
                serde_json::from_value::<PartyRegistered>(statement.predicate.clone())
        {
            return genesis
                .keys
                .iter()
                .filter_map(|key| PublicKey::parse(key).ok())
                .collect();
        }
        return Vec::new();
    }
    state.public_keys().cloned().collect()
}

/// The write path's check, beside [`apply`], that an entry's own time (`at`) is the time it
/// reaches the ledger, `now` (unix seconds): no more than
/// [`FUTURE_TOLERANCE_SECONDS`](updates::time::FUTURE_TOLERANCE_SECONDS) ahead (clock skew) and
/// no more than [`CLOCK_TOLERANCE_SECONDS`](updates::time::CLOCK_TOLERANCE_SECONDS) behind, so a
/// notice cannot be backdated. Not part of `apply`: replaying the log later must not depend on
/// the clock.
pub fn check_entry_time(statement: &Statement, now: i64) -> Result<(), Rejection> {
    use updates::time::{CLOCK_TOLERANCE_SECONDS, FUTURE_TOLERANCE_SECONDS, format_instant};
    let Some(at) = statement.predicate.get("at").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let Ok(time) = updates::time::parse_instant("at", at) else {
        return Ok(()); // `apply` names the bad time.
    };
    if time > now + FUTURE_TOLERANCE_SECONDS {
        return Err(reject(
            "entry-time",
            format!(
                "`at` is {}, ahead of the ledger's clock ({}): entries are stamped when they are signed",
                format_instant(time),
                format_instant(now)
            ),
        ));
    }
    if time < now - CLOCK_TOLERANCE_SECONDS {
        return Err(reject(
            "entry-time",
            format!(
                "`at` is {}, more than {} minutes behind the ledger's clock ({}): entries are stamped when they are signed and submitted promptly",
                format_instant(time),
                CLOCK_TOLERANCE_SECONDS / 60,
                format_instant(now)
            ),
        ));
    }
    Ok(())
}

/// Decides whether `entry` may be appended to a ledger in `state`, and what it changes.
// tidy: long function: one arm per entry kind, each handing its predicate to its rules.
pub fn apply(state: &State, entry: &Entry<'_>) -> Result<Vec<Change>, Rejection> {
    let statement = entry.statement;
    let kind = Kind::from_predicate_type(&statement.predicate_type).ok_or_else(|| {
        reject(
            "known-kind",
            format!(
                "predicate type `{}` is not a Concordat entry kind (see `concordat kinds`)",
                statement.predicate_type
            ),
        )
    })?;
    if state.is_empty() {
        return genesis(entry, kind);
    }
    let signers = active_signers(state, entry)?;
    match kind {
        Kind::PartyRegistered => party_registered(state, entry, &signers, predicate(statement)?),
        Kind::KeyAdded => key_added(state, entry, &signers, predicate(statement)?),
        Kind::KeyRotated => key_rotated(state, entry, &signers, predicate(statement)?),
        Kind::KeyRevoked => key_revoked(state, entry, &signers, predicate(statement)?),
        Kind::PartyStatement => party_statement(state, &signers, predicate(statement)?),
        Kind::ContractPublished => {
            contract_published(state, entry, &signers, predicate(statement)?)
        }
        Kind::ContractAmended => contract_amended(state, entry, &signers, predicate(statement)?),
        Kind::AddendumSealed => addendum_sealed(state, &signers, predicate(statement)?),
        Kind::AddendumDisclosed => {
            addendum_disclosed(state, entry, &signers, predicate(statement)?)
        }
        Kind::ModelVersionRegistered => {
            updates::model_version_registered(state, entry, &signers, predicate(statement)?)
        }
        Kind::EvidenceRecorded => {
            updates::evidence_recorded(state, entry, &signers, predicate(statement)?)
        }
        Kind::RecognitionPublished => {
            updates::recognition_published(state, entry, &signers, predicate(statement)?)
        }
        Kind::VersionApproved => {
            updates::version_approved(state, entry, &signers, predicate(statement)?)
        }
        Kind::VersionRevoked => {
            updates::version_revoked(state, entry, &signers, predicate(statement)?)
        }
        Kind::HostingAttested => {
            updates::hosting_attested(state, entry, &signers, predicate(statement)?)
        }
        Kind::DeploymentActivated => {
            updates::deployment_activated(state, entry, &signers, predicate(statement)?)
        }
        Kind::DeploymentRolledBack => {
            updates::deployment_rolled_back(state, entry, &signers, predicate(statement)?)
        }
        Kind::RestrictedRead => restricted_read(state, &signers, predicate(statement)?),
        Kind::UsageRecorded => {
            updates::usage_recorded(state, entry, &signers, predicate(statement)?)
        }
        Kind::CredentialIssued => {
            gateway::credential_issued(state, entry, &signers, predicate(statement)?)
        }
        Kind::CredentialRevoked => {
            gateway::credential_revoked(state, entry, &signers, predicate(statement)?)
        }
        Kind::GatewayAuthorized => {
            gateway::gateway_authorized(state, entry, &signers, predicate(statement)?)
        }
        Kind::IncidentReported => {
            incident::incident_reported(state, entry, &signers, predicate(statement)?)
        }
        Kind::IncidentUpdated => {
            incident::incident_updated(state, entry, &signers, predicate(statement)?)
        }
        Kind::IncidentNotified => {
            incident::incident_notified(state, entry, &signers, predicate(statement)?)
        }
        Kind::IncidentClosed => {
            incident::incident_closed(state, entry, &signers, predicate(statement)?)
        }
        Kind::LiabilityFound => {
            incident::liability_found(state, entry, &signers, predicate(statement)?)
        }
        Kind::DesignationIssued => {
            designation::designation_issued(state, entry, &signers, predicate(statement)?)
        }
        Kind::DesignationAppealed => {
            designation::designation_appealed(state, entry, &signers, predicate(statement)?)
        }
        Kind::DesignationDecided => {
            designation::designation_decided(state, entry, &signers, predicate(statement)?)
        }
        Kind::DesignationLifted => {
            designation::designation_lifted(state, entry, &signers, predicate(statement)?)
        }
        Kind::EndpointRegistered => {
            endpoint_registered(state, entry, &signers, predicate(statement)?)
        }
        Kind::CoalitionPublished => {
            federation::coalition_published(state, entry, &signers, predicate(statement)?)
        }
        Kind::EvidenceMirrored => {
            federation::evidence_mirrored(state, entry, &signers, predicate(statement)?)
        }
    }
}

fn predicate<T: DeserializeOwned>(statement: &Statement) -> Result<T, Rejection> {
    serde_json::from_value(statement.predicate.clone())
        .map_err(|e| reject("predicate-schema", format!("predicate: {e}")))
}

/// The records of the keys that signed, all of which must be active.
fn active_signers<'s>(
    state: &'s State,
    entry: &Entry<'_>,
) -> Result<Vec<&'s KeyRecord>, Rejection> {
    let mut records = Vec::new();
    for keyid in entry.signers {
        let record = state.key(keyid).ok_or_else(|| {
            reject(
                "registered-signer",
                format!("key `{keyid}` is not registered"),
            )
        })?;
        match &record.status {
            KeyStatus::Active => records.push(record),
            KeyStatus::Revoked { at, reason } => {
                return Err(reject(
                    "revoked-key",
                    format!(
                        "key `{keyid}` of party `{}` was revoked at entry {at} ({reason}); entries it signs are rejected",
                        record.party
                    ),
                ));
            }
            KeyStatus::Rotated { at, replaced_by } => {
                return Err(reject(
                    "rotated-key",
                    format!(
                        "key `{keyid}` of party `{}` was replaced by `{replaced_by}` at entry {at}; it no longer signs",
                        record.party
                    ),
                ));
            }
        }
    }
    if records.is_empty() {
        return Err(reject(
            "registered-signer",
            "no signature by a registered key of any party",
        ));
    }
    Ok(records)
}

pub(crate) fn signed_by(signers: &[&KeyRecord], party: &str) -> bool {
    signers.iter().any(|key| key.party == party)
}

fn signed_by_operator(state: &State, signers: &[&KeyRecord]) -> bool {
    signers.iter().any(|key| {
        state
            .party(&key.party)
            .is_some_and(|party| party.roles.contains(&Role::Operator))
    })
}

fn require_party_or_operator(
    state: &State,
    signers: &[&KeyRecord],
    party: &str,
) -> Result<(), Rejection> {
    if signed_by(signers, party) || signed_by_operator(state, signers) {
        return Ok(());
    }
    Err(reject(
        "signer-authority",
        format!("only party `{party}` or an operator may sign this entry"),
    ))
}

pub(crate) fn existing_party<'s>(state: &'s State, id: &str) -> Result<&'s Party, Rejection> {
    state
        .party(id)
        .ok_or_else(|| reject("known-party", format!("party `{id}` is not registered")))
}

pub(crate) fn check_party_id(id: &str) -> Result<(), Rejection> {
    crate::ids::check_id("party id", id).map_err(|e| reject("party-id", e.to_string()))
}

/// An id of `what` that names a file or a URL segment (see [`crate::ids`]), refused by `rule`.
pub(crate) fn check_id(rule: &'static str, what: &str, id: &str) -> Result<(), Rejection> {
    crate::ids::check_id(what, id).map_err(|e| reject(rule, e.to_string()))
}

pub(crate) fn check_jurisdiction(code: &str) -> Result<(), Rejection> {
    let (country, subdivision) = code.split_once('-').unwrap_or((code, ""));
    let country_ok = country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase());
    let subdivision_ok = code.split_once('-').is_none()
        || ((1..=3).contains(&subdivision.len())
            && subdivision
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    if country_ok && subdivision_ok {
        return Ok(());
    }
    Err(reject(
        "jurisdiction",
        format!(
            "jurisdiction `{code}` is not an ISO 3166 code such as `US`, `IN`, `US-CA`, or `EU`"
        ),
    ))
}

/// Parses a key a predicate brings and checks it is new to the ledger.
fn new_key(state: &State, text: &str, party: &str, index: u64) -> Result<KeyRecord, Rejection> {
    let held = state.keys_of(party).count();
    if held >= KEYS_PER_PARTY_MAX {
        return Err(reject(
            "keys-per-party",
            format!("party `{party}` already holds {held} keys, the most a party may hold"),
        ));
    }
    let public = PublicKey::parse(text).map_err(|e| reject("key-format", format!("key: {e}")))?;
    let keyid = public.keyid();
    if let Some(existing) = state.key(&keyid) {
        return Err(reject(
            "unique-key",
            format!(
                "key `{keyid}` is already registered to party `{}`",
                existing.party
            ),
        ));
    }
    Ok(KeyRecord {
        keyid,
        party: party.to_owned(),
        algorithm: public.algorithm().to_owned(),
        public_key: text.trim().to_owned(),
        added_at: index,
        status: KeyStatus::Active,
    })
}

/// A party's public contact: an e-mail address or an `https://` URL, short and printable.
fn check_contact(contact: &str) -> Result<(), Rejection> {
    let bad = |why: &str| {
        Err(reject(
            "party-contact",
            format!("contact `{contact}`: {why}"),
        ))
    };
    if contact.is_empty()
        || contact.len() > 254
        || contact.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return bad("must be 1 to 254 printable characters without spaces");
    }
    if let Some(rest) = contact.strip_prefix("https://") {
        if rest.is_empty() || rest.starts_with('/') {
            return bad("an https:// URL needs a host");
        }
        return Ok(());
    }
    match contact.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !contact.contains(':') =>
        {
            Ok(())
        }
        _ => bad("give an e-mail address or an https:// URL"),
    }
}

fn registration(
    state: &State,
    entry: &Entry<'_>,
    predicate: PartyRegistered,
) -> Result<Vec<Change>, Rejection> {
    check_party_id(&predicate.party)?;
    if let Some(existing) = state.party(&predicate.party) {
        return Err(reject(
            "unique-party",
            format!(
                "party `{}` is already registered (entry {})",
                existing.id, existing.registered_at
            ),
        ));
    }
    if predicate.name.trim().is_empty() {
        return Err(reject("party-name", "a party needs a display name"));
    }
    if predicate.roles.is_empty() {
        return Err(reject("party-roles", "a party needs at least one role"));
    }
    if predicate.keys.is_empty() {
        return Err(reject("party-keys", "a party needs at least one key"));
    }
    for code in &predicate.jurisdictions {
        if code != "EU" {
            check_jurisdiction(code)?;
        }
    }
    if let Some(contact) = &predicate.contact {
        check_contact(contact)?;
    }
    let mut changes = Vec::new();
    let mut roles = predicate.roles.clone();
    roles.sort();
    roles.dedup();
    changes.push(Change::PutParty(Party {
        id: predicate.party.clone(),
        name: predicate.name.trim().to_owned(),
        roles,
        jurisdictions: predicate.jurisdictions.clone(),
        registered_at: entry.index,
        endpoint: None,
        contact: predicate.contact.clone(),
    }));
    let mut staged = state.clone();
    for text in &predicate.keys {
        let record = new_key(&staged, text, &predicate.party, entry.index)?;
        let change = Change::PutKey(record);
        staged.commit(std::slice::from_ref(&change));
        changes.push(change);
    }
    Ok(changes)
}

/// The first entry of a ledger registers its operator, signed by the operator's own key.
fn genesis(entry: &Entry<'_>, kind: Kind) -> Result<Vec<Change>, Rejection> {
    if kind != Kind::PartyRegistered {
        return Err(reject(
            "genesis",
            "the first entry of a ledger must register its operator",
        ));
    }
    let predicate: PartyRegistered = predicate(entry.statement)?;
    if let Some(terms) = &predicate.instance
        && terms.kind != crate::kinds::LEDGER_KIND
    {
        return Err(reject(
            "instance-terms",
            format!(
                "`instance.kind` is `{}`; a Concordat ledger's is `{}`",
                terms.kind,
                crate::kinds::LEDGER_KIND
            ),
        ));
    }
    if !predicate.roles.contains(&Role::Operator) {
        return Err(reject(
            "genesis",
            "the first party registered must have the operator role",
        ));
    }
    let changes = registration(&State::default(), entry, predicate)?;
    let own_keys: Vec<&str> = changes
        .iter()
        .filter_map(|change| match change {
            Change::PutKey(record) => Some(record.keyid.as_str()),
            _ => None,
        })
        .collect();
    if !entry
        .signers
        .iter()
        .any(|keyid| own_keys.contains(&keyid.as_str()))
    {
        return Err(reject(
            "genesis",
            "the operator's registration must be signed by one of the keys it registers",
        ));
    }
    Ok(changes)
}

fn party_registered(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: PartyRegistered,
) -> Result<Vec<Change>, Rejection> {
    if !signed_by_operator(state, signers) {
        return Err(reject(
            "signer-authority",
            "only an operator may register a party",
        ));
    }
    if predicate.instance.is_some() {
        return Err(reject(
            "instance-terms",
            "only a ledger's first entry states the terms it runs on",
        ));
    }
    registration(state, entry, predicate)
}

fn key_added(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: KeyAdded,
) -> Result<Vec<Change>, Rejection> {
    existing_party(state, &predicate.party)?;
    require_party_or_operator(state, signers, &predicate.party)?;
    Ok(vec![Change::PutKey(new_key(
        state,
        &predicate.key,
        &predicate.party,
        entry.index,
    )?)])
}

/// The key `keyid` of `party`, not yet revoked.
fn owned_key<'s>(state: &'s State, party: &str, keyid: &str) -> Result<&'s KeyRecord, Rejection> {
    let record = state
        .key(keyid)
        .filter(|record| record.party == party)
        .ok_or_else(|| reject("known-key", format!("party `{party}` has no key `{keyid}`")))?;
    if let KeyStatus::Revoked { at, .. } = record.status {
        return Err(reject(
            "known-key",
            format!("key `{keyid}` was already revoked at entry {at}"),
        ));
    }
    Ok(record)
}

fn key_rotated(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: KeyRotated,
) -> Result<Vec<Change>, Rejection> {
    existing_party(state, &predicate.party)?;
    require_party_or_operator(state, signers, &predicate.party)?;
    let old = owned_key(state, &predicate.party, &predicate.old_keyid)?;
    if !old.is_active() {
        return Err(reject(
            "known-key",
            format!("key `{}` is not active", predicate.old_keyid),
        ));
    }
    let new = new_key(state, &predicate.new_key, &predicate.party, entry.index)?;
    let mut retired = old.clone();
    retired.status = KeyStatus::Rotated {
        at: entry.index,
        replaced_by: new.keyid.clone(),
    };
    Ok(vec![Change::PutKey(retired), Change::PutKey(new)])
}

fn key_revoked(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: KeyRevoked,
) -> Result<Vec<Change>, Rejection> {
    existing_party(state, &predicate.party)?;
    require_party_or_operator(state, signers, &predicate.party)?;
    if predicate.reason.trim().is_empty() {
        return Err(reject("revocation-reason", "a revocation needs a reason"));
    }
    let mut record = owned_key(state, &predicate.party, &predicate.keyid)?.clone();
    record.status = KeyStatus::Revoked {
        at: entry.index,
        reason: predicate.reason.trim().to_owned(),
    };
    Ok(vec![Change::PutKey(record)])
}

fn restricted_read(
    state: &State,
    signers: &[&KeyRecord],
    predicate: crate::kinds::RestrictedRead,
) -> Result<Vec<Change>, Rejection> {
    if !signed_by_operator(state, signers) {
        return Err(reject(
            "signer-authority",
            "only an operator records restricted reads",
        ));
    }
    existing_party(state, &predicate.reader)?;
    if predicate.resource.trim().is_empty() {
        return Err(reject(
            "restricted-read",
            "a restricted read names its resource",
        ));
    }
    updates::time::parse_instant("at", &predicate.at).map_err(|e| reject("time", e))?;
    // Recorded in the log; it changes no state.
    Ok(Vec::new())
}

/// The longest endpoint URL.
const ENDPOINT_BYTES_MAX: usize = 2048;

/// `https://HOST[:PORT]/PATH`, or plain `http://` to a loopback host (a receiver on the same
/// machine); no credentials, no fragment.
fn check_endpoint(url: &str) -> Result<(), Rejection> {
    let bad = |why: &str| reject("endpoint", format!("`{url}`: {why}"));
    if url.len() > ENDPOINT_BYTES_MAX || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad("not a plain URL of at most 2048 bytes"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("not an absolute URL"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.contains('#') {
        return Err(bad("a URL names a host, and no credentials or fragment"));
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(bad(
            "notifications go over HTTPS (plain HTTP only to a loopback receiver)",
        )),
    }
}

fn endpoint_registered(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: crate::kinds::EndpointRegistered,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    crate::updates::clock_of(state, &p.at, &mut changes)?;
    let mut party = existing_party(state, &p.party)?.clone();
    if !signed_by(signers, &p.party) {
        return Err(reject(
            "signer-authority",
            format!("only `{}` names its own endpoint", p.party),
        ));
    }
    check_endpoint(&p.url)?;
    party.endpoint = Some(crate::state::Endpoint {
        url: p.url,
        entry: entry.index,
    });
    changes.push(Change::PutParty(party));
    Ok(changes)
}

fn party_statement(
    state: &State,
    signers: &[&KeyRecord],
    predicate: PartyStatement,
) -> Result<Vec<Change>, Rejection> {
    existing_party(state, &predicate.party)?;
    if let Some(at) = &predicate.at {
        updates::time::parse_instant("at", at).map_err(|e| reject("time", e))?;
    }
    if predicate.topic.trim().is_empty() {
        return Err(reject("statement-topic", "a statement needs a topic"));
    }
    if predicate.text.len() > STATEMENT_TEXT_BYTES_MAX {
        return Err(reject(
            "statement-size",
            format!(
                "statement text is {} bytes, more than {STATEMENT_TEXT_BYTES_MAX}",
                predicate.text.len()
            ),
        ));
    }
    let mut required = vec![predicate.party.clone()];
    for cosigner in &predicate.cosigners {
        existing_party(state, cosigner)?;
        if !required.contains(cosigner) {
            required.push(cosigner.clone());
        }
    }
    let missing: Vec<&String> = required.iter().filter(|p| !signed_by(signers, p)).collect();
    if !missing.is_empty() {
        return Err(reject(
            "required-signatures",
            format!(
                "{} of {} required parties signed; missing: {}",
                required.len() - missing.len(),
                required.len(),
                missing
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    // A statement changes no state beyond being recorded in the log.
    Ok(Vec::new())
}

/// Every party in `required` must have signed; the rejection names who has not.
fn require_all(signers: &[&KeyRecord], required: &[String]) -> Result<(), Rejection> {
    let missing: Vec<&String> = required.iter().filter(|p| !signed_by(signers, p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(reject(
        "required-signatures",
        format!(
            "{} of {} parties of the contract signed; not yet signed by {}",
            required.len() - missing.len(),
            required.len(),
            missing
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// Checks a package's digest, loads it and checks it; returns the parsed contract file.
fn checked_package(predicate: &ContractPublished) -> Result<contract::ContractFile, Rejection> {
    let digest = contract::package_digest(&predicate.files);
    if digest != predicate.digest {
        return Err(reject(
            "package-digest",
            format!(
                "the files hash to `{digest}`, not the stated `{}`",
                predicate.digest
            ),
        ));
    }
    let package = contract::load(contract::sources(&predicate.files))
        .map_err(|problems| reject("contract-check", contract::first_problems(&problems)))?;
    let problems = contract::check(&package);
    if !problems.is_empty() {
        return Err(reject(
            "contract-check",
            contract::first_problems(&problems),
        ));
    }
    if package.contract.id != predicate.contract || package.contract.version != predicate.version {
        return Err(reject(
            "contract-identity",
            format!(
                "the entry names contract `{}` {}, but its contract.toml is `{}` {}",
                predicate.contract,
                predicate.version,
                package.contract.id,
                package.contract.version
            ),
        ));
    }
    Ok(package.contract)
}

fn recorded_addenda(
    file: &contract::ContractFile,
    before: &[RecordedAddendum],
) -> Vec<RecordedAddendum> {
    let mut addenda: Vec<RecordedAddendum> = before.to_vec();
    for addendum in &file.addenda {
        if !addenda.iter().any(|a| a.id == addendum.id) {
            addenda.push(RecordedAddendum {
                id: addendum.id.clone(),
                title: addendum.title.clone(),
                classification: addendum.classification.clone(),
                commitment: addendum.commitment.clone(),
                disclosed_at: None,
            });
        }
    }
    addenda
}

fn contract_published(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: ContractPublished,
) -> Result<Vec<Change>, Rejection> {
    if let Some(existing) = state.contract(&predicate.contract) {
        return Err(reject(
            "unique-contract",
            format!(
                "contract `{}` is already published (entry {}); amend it instead",
                existing.id,
                existing.versions.first().map_or(0, |v| v.entry)
            ),
        ));
    }
    let file = checked_package(&predicate)?;
    for party in &file.parties {
        existing_party(state, party)?;
    }
    require_all(signers, &file.parties)?;
    Ok(vec![Change::PutContract(Box::new(ContractRecord {
        id: file.id.clone(),
        title: file.title.clone(),
        parties: file.parties.clone(),
        addenda: recorded_addenda(&file, &[]),
        files: predicate.files,
        versions: vec![ContractVersion {
            version: predicate.version,
            digest: predicate.digest,
            entry: entry.index,
            diff: String::new(),
        }],
    }))])
}

pub(crate) fn known_contract<'s>(
    state: &'s State,
    id: &str,
) -> Result<&'s ContractRecord, Rejection> {
    state.contract(id).ok_or_else(|| {
        reject(
            "known-contract",
            format!("contract `{id}` is not published"),
        )
    })
}

fn contract_amended(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: ContractPublished,
) -> Result<Vec<Change>, Rejection> {
    let record = known_contract(state, &predicate.contract)?;
    let current = record
        .current()
        .map(|v| v.version.clone())
        .unwrap_or_default();
    let newer = match (
        semver::Version::parse(&predicate.version),
        semver::Version::parse(&current),
    ) {
        (Ok(new), Ok(old)) => new > old,
        _ => false,
    };
    if !newer {
        return Err(reject(
            "version-order",
            format!(
                "an amendment's version must be above the current {current}, not {}",
                predicate.version
            ),
        ));
    }
    let file = checked_package(&predicate)?;
    for party in &file.parties {
        existing_party(state, party)?;
    }
    // Parties leaving the contract consent too.
    let mut required = record.parties.clone();
    required.extend(
        file.parties
            .iter()
            .filter(|p| !record.parties.contains(p))
            .cloned(),
    );
    require_all(signers, &required)?;
    let mut amended = record.clone();
    amended.versions.push(ContractVersion {
        version: predicate.version,
        digest: predicate.digest,
        entry: entry.index,
        diff: contract::package_diff(&record.files, &predicate.files),
    });
    amended.title = file.title.clone();
    amended.parties = file.parties.clone();
    amended.addenda = recorded_addenda(&file, &record.addenda);
    amended.files = predicate.files;
    Ok(vec![Change::PutContract(Box::new(amended))])
}

/// Whether `text` is `sha256:` and 64 lowercase hex digits: the form of digests and
/// commitments in entries.
pub(crate) fn is_sha256_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn require_contract_party(
    record: &ContractRecord,
    signers: &[&KeyRecord],
) -> Result<(), Rejection> {
    if record.parties.iter().any(|p| signed_by(signers, p)) {
        return Ok(());
    }
    Err(reject(
        "signer-authority",
        format!(
            "only a party of contract `{}` may sign this entry",
            record.id
        ),
    ))
}

fn addendum_sealed(
    state: &State,
    signers: &[&KeyRecord],
    predicate: AddendumSealed,
) -> Result<Vec<Change>, Rejection> {
    check_id("addendum-id", "addendum id", &predicate.id)?;
    let record = known_contract(state, &predicate.contract)?;
    require_contract_party(record, signers)?;
    if record.addenda.iter().any(|a| a.id == predicate.id) {
        return Err(reject(
            "unique-addendum",
            format!(
                "contract `{}` already has an addendum `{}`",
                record.id, predicate.id
            ),
        ));
    }
    if !is_sha256_digest(&predicate.commitment) {
        return Err(reject(
            "commitment",
            "a commitment is `sha256:` and 64 lowercase hex digits",
        ));
    }
    let mut updated = record.clone();
    updated.addenda.push(RecordedAddendum {
        id: predicate.id,
        title: predicate.title,
        classification: predicate.classification,
        commitment: predicate.commitment,
        disclosed_at: None,
    });
    Ok(vec![Change::PutContract(Box::new(updated))])
}

fn addendum_disclosed(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    predicate: AddendumDisclosed,
) -> Result<Vec<Change>, Rejection> {
    let record = known_contract(state, &predicate.contract)?;
    require_contract_party(record, signers)?;
    let mut updated = record.clone();
    let addendum = updated
        .addenda
        .iter_mut()
        .find(|a| a.id == predicate.id)
        .ok_or_else(|| {
            reject(
                "known-addendum",
                format!(
                    "contract `{}` has no addendum `{}`",
                    record.id, predicate.id
                ),
            )
        })?;
    if let Some(at) = addendum.disclosed_at {
        return Err(reject(
            "known-addendum",
            format!("addendum `{}` was disclosed at entry {at}", predicate.id),
        ));
    }
    let sealed = Sealed {
        id: predicate.id.clone(),
        salt: predicate.salt,
        text: predicate.text,
    };
    contract::open_commitment(&addendum.commitment, &sealed)
        .map_err(|reason| reject("commitment", reason.to_string()))?;
    addendum.disclosed_at = Some(entry.index);
    Ok(vec![Change::PutContract(Box::new(updated))])
}
