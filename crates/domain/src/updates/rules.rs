//! The rules of the update-governance kinds.

use semver::Version;

use super::gate::{evaluate, in_service_window};
use super::time::{
    CLOCK_TOLERANCE_SECONDS, days_between, format_instant, parse_day, parse_instant,
};
use super::{
    Approval, Deployment, DeploymentAction, DeploymentEvent, EvidenceRecord, HostingRecord,
    ModelVersion, Offer, Recognition, Terms, UsageBatch, VersionStatus, deployment_key, model_key,
};
use crate::apply::{
    Entry, Rejection, check_jurisdiction, check_party_id, existing_party, is_sha256_digest,
    known_contract, reject, signed_by,
};
use crate::contract::{DeliveryForm, Fallback, ShortNotice};
use crate::kinds::{
    Assurance, DeploymentActivated, DeploymentRolledBack, EvidenceRecorded, HostingAttested,
    ModelRef, ModelVersionRegistered, RecognitionPublished, Role, UsageRecorded, VersionApproved,
    VersionRevoked,
};
use crate::state::{Change, KeyRecord, State};

/// Reads an entry's `at` and checks it against the ledger's clock; returns the time and the
/// clock change, if it moves forward.
pub(crate) fn clock(state: &State, at: &str, changes: &mut Vec<Change>) -> Result<i64, Rejection> {
    let time = parse_instant("at", at).map_err(|e| reject("time", e))?;
    let ledger = state.clock();
    if time < ledger - CLOCK_TOLERANCE_SECONDS {
        return Err(reject(
            "clock",
            format!(
                "`at` is {}, before the ledger's time {} by more than {} minutes",
                format_instant(time),
                format_instant(ledger),
                CLOCK_TOLERANCE_SECONDS / 60
            ),
        ));
    }
    if time > ledger {
        changes.push(Change::SetClock(time));
    }
    Ok(time)
}

pub(crate) fn require_signer(signers: &[&KeyRecord], party: &str) -> Result<(), Rejection> {
    if signed_by(signers, party) {
        return Ok(());
    }
    Err(reject(
        "signer-authority",
        format!("this entry must be signed by `{party}`"),
    ))
}

fn has_role(state: &State, party: &str, role: Role) -> bool {
    state.party(party).is_some_and(|p| p.roles.contains(&role))
}

fn check_digest(field: &str, digest: &str) -> Result<(), Rejection> {
    if is_sha256_digest(digest) {
        Ok(())
    } else {
        Err(reject(
            "digest",
            format!("`{field}` must be `sha256:` and 64 lowercase hex digits, not `{digest}`"),
        ))
    }
}

fn terms_of<'s>(state: &'s State, contract: &str) -> Result<Terms<'s>, Rejection> {
    known_contract(state, contract)?;
    state.package(contract).map(Terms::of).ok_or_else(|| {
        reject(
            "known-contract",
            format!("contract `{contract}` cannot be read"),
        )
    })
}

pub(crate) fn contract_party(state: &State, contract: &str, party: &str) -> Result<(), Rejection> {
    let record = known_contract(state, contract)?;
    if record.parties.iter().any(|p| p == party) {
        return Ok(());
    }
    Err(reject(
        "contract-party",
        format!("`{party}` is not a party of contract `{contract}`"),
    ))
}

fn registered_model<'s>(state: &'s State, model: &ModelRef) -> Result<&'s ModelVersion, Rejection> {
    let key = model_key(&model.line, &model.version);
    state.model(&key).ok_or_else(|| {
        reject(
            "known-model",
            format!("model version `{key}` is not registered"),
        )
    })
}

fn offer_of<'m>(model: &'m ModelVersion, contract: &str) -> Result<&'m Offer, Rejection> {
    model.offers.get(contract).ok_or_else(|| {
        reject(
            "known-model",
            format!(
                "model version `{}` is not offered under contract `{contract}`",
                model.key()
            ),
        )
    })
}

/// The upstream components a vendor declares: at most [`crate::UPSTREAM_MAX`], each named in
/// printable text, with a well-formed digest when it gives one, and none twice.
fn check_upstream(upstream: &[crate::kinds::Upstream]) -> Result<(), Rejection> {
    if upstream.len() > crate::kinds::UPSTREAM_MAX {
        return Err(reject(
            "model-upstream",
            format!("at most {} upstream components", crate::kinds::UPSTREAM_MAX),
        ));
    }
    let printable = |text: &str| {
        !text.trim().is_empty() && text.len() <= 200 && !text.chars().any(char::is_control)
    };
    let mut seen = std::collections::BTreeSet::new();
    for u in upstream {
        let label = format!(
            "{} `{}{}`",
            u.kind.name(),
            u.name,
            u.version
                .as_deref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default()
        );
        let texts = [Some(&u.name), u.version.as_ref(), u.supplier.as_ref()];
        if !texts.iter().flatten().all(|t| printable(t)) {
            return Err(reject(
                "model-upstream",
                format!("upstream {label}: names are 1 to 200 printable characters"),
            ));
        }
        if let Some(digest) = &u.digest {
            check_digest("upstream digest", digest)?;
        }
        if !seen.insert((u.kind.name(), &u.name, &u.version)) {
            return Err(reject(
                "model-upstream",
                format!("upstream {label} is declared twice"),
            ));
        }
    }
    Ok(())
}

// tidy: long function: the dispatch of every entry kind to its rule, one arm each.
pub(crate) fn model_version_registered(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: ModelVersionRegistered,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    existing_party(state, &p.vendor)?;
    if !has_role(state, &p.vendor, Role::Vendor) {
        return Err(reject(
            "party-role",
            format!("`{}` is not a vendor", p.vendor),
        ));
    }
    require_signer(signers, &p.vendor)?;
    check_party_id(&p.line).map_err(|_| {
        reject(
            "model-line",
            format!(
                "model line `{}` must be lowercase letters, digits and `-`",
                p.line
            ),
        )
    })?;
    let version = Version::parse(&p.version).map_err(|e| {
        reject(
            "model-version",
            format!("version `{}` is not a semantic version: {e}", p.version),
        )
    })?;
    check_digest("digest", &p.digest)?;
    check_upstream(&p.upstream)?;
    if p.form == DeliveryForm::Api && p.api_version.as_deref().is_none_or(|v| v.trim().is_empty()) {
        return Err(reject(
            "api-version",
            "a version delivered through an API needs the provider's `api_version` identifier",
        ));
    }
    let service_from = parse_day("service_from", &p.service_from).map_err(|e| reject("time", e))?;
    if p.contracts.is_empty() {
        return Err(reject(
            "contracts",
            "a model version must be offered under a contract",
        ));
    }
    if let Some(owner) = state.line_vendor(&p.line)
        && owner != p.vendor
    {
        return Err(reject(
            "model-line",
            format!("model line `{}` belongs to vendor `{owner}`", p.line),
        ));
    }
    let key = model_key(&p.line, &p.version);
    let mut model = match state.model(&key) {
        Some(existing) if existing.digest != p.digest => {
            return Err(reject(
                "model-digest",
                format!(
                    "`{key}` was registered at entry {} with digest {}; a version label names one model",
                    existing.registered_at, existing.digest
                ),
            ));
        }
        Some(existing) => existing.clone(),
        None => ModelVersion {
            line: p.line.clone(),
            version: p.version.clone(),
            vendor: p.vendor.clone(),
            form: p.form,
            digest: p.digest.clone(),
            api_version: p.api_version.clone(),
            release_notes: p.release_notes.clone(),
            service_from: p.service_from.clone(),
            registered_at: entry.index,
            offers: Default::default(),
            upstream: p.upstream.clone(),
        },
    };
    if model.service_from != p.service_from {
        return Err(reject(
            "model-version",
            format!(
                "`{key}` was announced for service from {}; a new date needs a new version",
                model.service_from
            ),
        ));
    }
    for contract in &p.contracts {
        contract_party(state, contract, &p.vendor)?;
        if model.offers.contains_key(contract) {
            return Err(reject(
                "model-version",
                format!("`{key}` is already offered under contract `{contract}`"),
            ));
        }
        let terms = terms_of(state, contract)?;
        let delivery = terms.delivery.ok_or_else(|| {
            reject(
                "delivery",
                format!("contract `{contract}` has no model-delivery module"),
            )
        })?;
        let lines: Vec<_> = delivery.lines.iter().filter(|l| l.line == p.line).collect();
        if lines.is_empty() {
            return Err(reject(
                "delivery",
                format!(
                    "contract `{contract}` does not deliver model line `{}`",
                    p.line
                ),
            ));
        }
        let in_range = lines.iter().any(|l| {
            l.form == p.form
                && Version::parse(&l.versions.from).is_ok_and(|from| version >= from)
                && Version::parse(&l.versions.until).is_ok_and(|until| version < until)
        });
        if !in_range {
            let ranges: Vec<String> = lines
                .iter()
                .map(|l| {
                    format!(
                        "{} to {} (exclusive) as {}",
                        l.versions.from,
                        l.versions.until,
                        if l.form == DeliveryForm::Api {
                            "api"
                        } else {
                            "weights"
                        }
                    )
                })
                .collect();
            return Err(reject(
                "delivery",
                format!(
                    "contract `{contract}` delivers `{}` versions {}; `{}` as {} is outside",
                    p.line,
                    ranges.join(", "),
                    p.version,
                    if p.form == DeliveryForm::Api {
                        "api"
                    } else {
                        "weights"
                    }
                ),
            ));
        }
        let required = terms.notice_required();
        let given = days_between(at, service_from);
        let policy = terms.updates.map(|u| u.short_notice).unwrap_or_default();
        if given < i64::from(required) && policy == ShortNotice::Reject {
            return Err(reject(
                "notice",
                format!(
                    "service from {} is {given} days after this notice; contract `{contract}` requires {required} days and refuses shorter notice",
                    p.service_from
                ),
            ));
        }
        model.offers.insert(
            contract.clone(),
            Offer {
                contract: contract.clone(),
                entry: entry.index,
                notice_given: at,
                notice_days: given,
                notice_required: required,
                status: VersionStatus::Registered,
                approvals: Vec::new(),
                status_entry: entry.index,
                status_reason: None,
            },
        );
    }
    changes.push(Change::PutModel(Box::new(model)));
    Ok(changes)
}

// tidy: long function: one rule's checks read top to bottom, each refusal beside its check.
pub(crate) fn evidence_recorded(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: EvidenceRecorded,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    existing_party(state, &p.lab)?;
    require_signer(signers, &p.lab)?;
    let model = registered_model(state, &p.model)?;
    let is_vendor = model.vendor == p.lab;
    if is_vendor {
        if p.assurance != Assurance::SelfAttested {
            return Err(reject(
                "assurance",
                format!(
                    "`{}` is the model's vendor: its own evaluations are self-attested",
                    p.lab
                ),
            ));
        }
    } else if !has_role(state, &p.lab, Role::Lab) && !has_role(state, &p.lab, Role::Agency) {
        return Err(reject(
            "party-role",
            format!("`{}` is not a lab, an agency or the model's vendor", p.lab),
        ));
    }
    let lab_keys: Vec<String> = signers
        .iter()
        .filter(|k| k.party == p.lab)
        .map(|k| k.keyid.clone())
        .collect();
    let lab = p.lab.clone();
    let record = evidence_of(state, entry.statement, entry.index, at, p, lab, lab_keys)?;
    changes.push(Change::PutEvidence(Box::new(record)));
    Ok(changes)
}

/// The evidence an `evidence-recorded` statement gives, logged at `index` at `at` (its own
/// entry here, or a mirror of another member's), checked: about a model version registered
/// here, with its digest as a subject, a suite, finite metrics (none when sealed), evaluated
/// no later than `at`, produced for a jurisdiction. `lab` and `signers` name who ran it.
// tidy: long function: each check of a piece of evidence beside the refusal it gives.
pub(crate) fn evidence_of(
    state: &State,
    statement: &attest::Statement,
    index: u64,
    at: i64,
    p: EvidenceRecorded,
    lab: String,
    signers: Vec<String>,
) -> Result<EvidenceRecord, Rejection> {
    let model = registered_model(state, &p.model)?;
    // The statement must be about this model: one subject carries its digest.
    let about_model = statement
        .subject
        .iter()
        .any(|s| s.digest.get("sha256").map(String::as_str) == Some(model.digest_hex()));
    if !about_model {
        return Err(reject(
            "evidence-subject",
            format!(
                "no subject of the statement has the digest of `{}` ({})",
                model.key(),
                model.digest
            ),
        ));
    }
    if p.suite.trim().is_empty() {
        return Err(reject("evidence", "evidence needs a suite"));
    }
    if let Some((name, _)) = p.metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(reject(
            "evidence",
            format!("metric `{name}` is not a finite number"),
        ));
    }
    if let Some(commitment) = &p.sealed_result {
        check_digest("sealedResult", commitment)?;
        if !p.metrics.is_empty() {
            return Err(reject(
                "evidence",
                "a sealed result carries no public metrics",
            ));
        }
    }
    let evaluated_at =
        parse_instant("evaluatedAt", &p.evaluated_at).map_err(|e| reject("time", e))?;
    if evaluated_at > at {
        return Err(reject(
            "time",
            "`evaluatedAt` is after the entry's `at`: evidence cannot predate its evaluation",
        ));
    }
    if p.produced_for != "EU" {
        check_jurisdiction(&p.produced_for)?;
    }
    let logs = statement
        .subject
        .iter()
        .filter_map(|s| {
            let digest = s.digest.get("sha256")?;
            (digest != model.digest_hex()).then(|| (s.name.clone(), digest.clone()))
        })
        .collect();
    Ok(EvidenceRecord {
        entry: index,
        lab,
        line: p.model.line,
        version: p.model.version,
        suite: p.suite,
        harness: p.harness,
        task: p.task,
        dataset: p.dataset,
        metrics: p.metrics,
        samples: p.samples,
        status: p.status,
        evaluated_at,
        assurance: p.assurance,
        produced_for: p.produced_for,
        sealed_result: p.sealed_result,
        signers,
        logs,
        mirrored: None,
    })
}

pub(crate) fn recognition_published(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: RecognitionPublished,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    let authority = existing_party(state, &p.authority)?;
    require_signer(signers, &p.authority)?;
    if !authority.roles.contains(&Role::Agency) && !authority.roles.contains(&Role::Overseer) {
        return Err(reject(
            "party-role",
            format!("`{}` is not an agency or overseer", p.authority),
        ));
    }
    if !authority.jurisdictions.contains(&p.jurisdiction) {
        return Err(reject(
            "jurisdiction",
            format!(
                "`{}` speaks for {}, not {}",
                p.authority,
                if authority.jurisdictions.is_empty() {
                    "no jurisdiction".to_owned()
                } else {
                    authority.jurisdictions.join(", ")
                },
                p.jurisdiction
            ),
        ));
    }
    if p.labs.is_empty() || p.suites.is_empty() {
        return Err(reject(
            "recognition",
            "a recognition names at least one lab and one suite",
        ));
    }
    for lab in &p.labs {
        crate::federation::check_recognised_lab(state, lab)?;
    }
    if p.max_evidence_age_days == 0 {
        return Err(reject(
            "recognition",
            "`max_evidence_age_days` must be at least 1",
        ));
    }
    changes.push(Change::PutRecognition(Box::new(Recognition {
        entry: entry.index,
        authority: p.authority,
        jurisdiction: p.jurisdiction,
        labs: p.labs,
        suites: p.suites,
        min_assurance: p.min_assurance,
        max_evidence_age_days: p.max_evidence_age_days,
        at,
    })));
    Ok(changes)
}

pub(crate) fn version_approved(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: VersionApproved,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    let terms = terms_of(state, &p.contract)?;
    let approvers = terms
        .testing
        .map(|t| t.approvers.as_slice())
        .unwrap_or_default();
    if !approvers.contains(&p.approver) {
        return Err(reject(
            "approver",
            format!(
                "`{}` is not an approver of contract `{}` (approvers: {})",
                p.approver,
                p.contract,
                approvers.join(", ")
            ),
        ));
    }
    require_signer(signers, &p.approver)?;
    let model = registered_model(state, &p.model)?;
    let offer = offer_of(model, &p.contract)?;
    if let Some(previous) = offer.approvals.iter().find(|a| a.party == p.approver) {
        return Err(reject(
            "approval",
            format!(
                "`{}` approved `{}` at entry {}",
                p.approver,
                model.key(),
                previous.entry
            ),
        ));
    }
    let gate = evaluate(state, &p.contract, &p.model.line, &p.model.version, at)
        .map_err(|e| reject("gate", e.to_string()))?;
    let unmet: Vec<String> = gate
        .unmet()
        .filter(|r| r.id != "approvals")
        .map(|r| format!("{}: {}", r.id, r.detail))
        .collect();
    if !unmet.is_empty() {
        return Err(reject(
            "gate",
            format!(
                "`{}` cannot be approved yet: {}",
                model.key(),
                unmet.join("; ")
            ),
        ));
    }
    let mut updated = model.clone();
    if let Some(offer) = updated.offers.get_mut(&p.contract) {
        offer.approvals.push(Approval {
            party: p.approver,
            entry: entry.index,
            at,
        });
        let needed = terms.testing.map_or(0, |t| t.approvals_required) as usize;
        if offer.status == VersionStatus::Registered && offer.approvals.len() >= needed {
            offer.status = VersionStatus::Approved;
            offer.status_entry = entry.index;
        }
    }
    changes.push(Change::PutModel(Box::new(updated)));
    Ok(changes)
}

pub(crate) fn version_revoked(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: VersionRevoked,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    clock(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    require_signer(signers, &p.party)?;
    let model = registered_model(state, &p.model)?;
    if p.party != model.vendor && !has_role(state, &p.party, Role::Agency) {
        return Err(reject(
            "signer-authority",
            "a version is revoked by its vendor or an agency of the contract",
        ));
    }
    if p.reason.trim().is_empty() {
        return Err(reject("revocation-reason", "a revocation needs a reason"));
    }
    let offer = offer_of(model, &p.contract)?;
    match offer.status {
        VersionStatus::Active => {
            return Err(reject(
                "version-status",
                format!(
                    "`{}` is in service; roll it back or activate another version first",
                    model.key()
                ),
            ));
        }
        VersionStatus::Revoked => {
            return Err(reject(
                "version-status",
                format!(
                    "`{}` was revoked at entry {}",
                    model.key(),
                    offer.status_entry
                ),
            ));
        }
        _ => {}
    }
    let mut updated = model.clone();
    if let Some(offer) = updated.offers.get_mut(&p.contract) {
        offer.status = VersionStatus::Revoked;
        offer.status_entry = entry.index;
        offer.status_reason = Some(p.reason.trim().to_owned());
    }
    changes.push(Change::PutModel(Box::new(updated)));
    Ok(changes)
}

pub(crate) fn hosting_attested(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: HostingAttested,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    if !has_role(state, &p.party, Role::Vendor) {
        return Err(reject(
            "party-role",
            format!("`{}` is not a vendor", p.party),
        ));
    }
    require_signer(signers, &p.party)?;
    check_digest("report", &p.report)?;
    let measurement = match &p.evidence {
        None => None,
        Some(evidence) => {
            if evidence.format != crate::kinds::SEV_SNP {
                return Err(reject(
                    "attestation-format",
                    format!(
                        "evidence format `{}` is not one the ledger verifies (`{}`)",
                        evidence.format,
                        crate::kinds::SEV_SNP
                    ),
                ));
            }
            crate::ids::check_measurement(&evidence.measurement)
                .map_err(|e| reject("measurement", e.to_string()))?;
            Some(evidence.measurement.clone())
        }
    };
    changes.push(Change::PutAttestation(Box::new(HostingRecord {
        entry: entry.index,
        contract: p.contract,
        party: p.party,
        environment: p.environment,
        report: p.report,
        description: p.description,
        at,
        measurement,
    })));
    Ok(changes)
}

pub(crate) fn usage_recorded(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: UsageRecorded,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    let gateway = crate::gateway::grant_key(&p.contract, &p.deployment, &p.party);
    if state.gateway_grant(&gateway).is_none() {
        contract_party(state, &p.contract, &p.party)?;
    }
    require_signer(signers, &p.party)?;
    check_deployment_name(&p.deployment)?;
    check_digest("digest", &p.digest)?;
    let from = parse_instant("from", &p.from).map_err(|e| reject("time", e))?;
    let to = parse_instant("to", &p.to).map_err(|e| reject("time", e))?;
    if from > to || to > at {
        return Err(reject(
            "usage-period",
            format!(
                "the batch runs from {} to {} and is recorded at {}: the period must end before it is recorded",
                format_instant(from),
                format_instant(to),
                format_instant(at)
            ),
        ));
    }
    if p.records == 0 || p.allowed.checked_add(p.denied) != Some(p.records) {
        return Err(reject(
            "usage-counts",
            format!(
                "{} allowed and {} denied must add up to the {} records, and a batch has at least one",
                p.allowed, p.denied, p.records
            ),
        ));
    }
    if !p.latency_ms.is_empty()
        && (p.latency_ms.len() != crate::kinds::LATENCY_BUCKETS_MS.len() + 1
            || p.latency_ms.iter().sum::<u64>() > p.records)
    {
        return Err(reject(
            "usage-counts",
            format!(
                "`latency_ms` has {} counts for {} calls: it has one count for each of the {} bounds and one for slower, of at most the batch's calls",
                p.latency_ms.len(),
                p.latency_ms.iter().sum::<u64>(),
                crate::kinds::LATENCY_BUCKETS_MS.len()
            ),
        ));
    }
    if let Some((clause, count)) = p
        .clauses
        .iter()
        .find(|(clause, count)| clause.is_empty() || **count == 0 || **count > p.records)
    {
        return Err(reject(
            "usage-counts",
            format!("clause `{clause}` decided {count} of {} records", p.records),
        ));
    }
    if let Some(counted) = state
        .usage(Some(&p.contract))
        .find(|batch| batch.digest == p.digest)
    {
        return Err(reject(
            "usage-once",
            format!(
                "these records ({}) are already counted, in entry {}: a batch of records is recorded once",
                p.digest, counted.entry
            ),
        ));
    }
    changes.push(Change::PutUsage(Box::new(UsageBatch {
        entry: entry.index,
        party: p.party,
        contract: p.contract,
        deployment: p.deployment,
        from,
        to,
        records: p.records,
        allowed: p.allowed,
        denied: p.denied,
        clauses: p.clauses,
        digest: p.digest,
        at,
        outcomes: p.outcomes,
        tokens: p.tokens,
        latency_ms: p.latency_ms,
    })));
    Ok(changes)
}

fn check_deployment_name(name: &str) -> Result<(), Rejection> {
    check_party_id(name).map_err(|_| {
        reject(
            "deployment",
            format!("deployment name `{name}` must be lowercase letters, digits and `-`"),
        )
    })
}

/// The status changes of `version` (a model key) under `contract`.
fn set_status(
    state: &State,
    contract: &str,
    key: &str,
    status: VersionStatus,
    entry: u64,
    reason: Option<String>,
) -> Option<Change> {
    let mut model = state.model(key)?.clone();
    let offer = model.offers.get_mut(contract)?;
    offer.status = status;
    offer.status_entry = entry;
    offer.status_reason = reason;
    Some(Change::PutModel(Box::new(model)))
}

pub(crate) fn deployment_activated(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DeploymentActivated,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    if !has_role(state, &p.party, Role::Agency) {
        return Err(reject(
            "signer-authority",
            "a version is put into service by an agency of the contract",
        ));
    }
    require_signer(signers, &p.party)?;
    check_deployment_name(&p.deployment)?;
    let model = registered_model(state, &p.model)?;
    let key = model.key();
    let offer = offer_of(model, &p.contract)?;
    if !offer.status.may_serve() {
        let why = match evaluate(state, &p.contract, &p.model.line, &p.model.version, at) {
            Ok(gate) if !gate.met() => gate.unmet_summary(),
            Ok(_) => "the gate is met but no approval completes it yet".to_owned(),
            Err(e) => e.to_string(),
        };
        return Err(reject(
            "not-approved",
            format!(
                "`{key}` is {} under `{}`: {why}",
                offer.status.name(),
                p.contract
            ),
        ));
    }
    in_service_window(model, at).map_err(|e| reject("service-date", e))?;
    let dkey = deployment_key(&p.contract, &p.deployment);
    let mut deployment = state.deployment(&dkey).cloned().unwrap_or(Deployment {
        contract: p.contract.clone(),
        name: p.deployment.clone(),
        active: None,
        events: Vec::new(),
    });
    if deployment.active.as_deref() == Some(key.as_str()) {
        return Err(reject(
            "deployment",
            format!("`{key}` is already in service in `{}`", p.deployment),
        ));
    }
    let previous = deployment.active.replace(key.clone());
    deployment.events.push(DeploymentEvent {
        entry: entry.index,
        action: DeploymentAction::Activated,
        version: key.clone(),
        previous: previous.clone(),
        party: p.party,
        reason: None,
        at,
    });
    changes.extend(set_status(
        state,
        &p.contract,
        &key,
        VersionStatus::Active,
        entry.index,
        None,
    ));
    if let Some(old) = previous
        && !state.active_elsewhere(&p.contract, &dkey, &old)
    {
        changes.extend(set_status(
            state,
            &p.contract,
            &old,
            VersionStatus::Superseded,
            entry.index,
            None,
        ));
    }
    changes.push(Change::PutDeployment(Box::new(deployment)));
    Ok(changes)
}

pub(crate) fn deployment_rolled_back(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: DeploymentRolledBack,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    require_signer(signers, &p.party)?;
    if p.reason.trim().is_empty() {
        return Err(reject("rollback-reason", "a rollback needs a reason"));
    }
    let step = roll_back(
        state,
        entry.index,
        &p.contract,
        &p.deployment,
        &p.party,
        p.reason.trim(),
        at,
    )?;
    if let Some(incident) = &p.incident {
        changes.push(crate::incident::answered_by_rollback(
            state,
            entry.index,
            &p,
            incident,
            &step,
            at,
        )?);
    }
    changes.extend(step.changes);
    Ok(changes)
}

/// A deployment's step back to its fallback: the changes, and the versions it goes from and to.
pub(crate) struct RollBack {
    pub changes: Vec<Change>,
    pub from: String,
    pub to: String,
}

/// Rolls `deployment` of `contract` back to the contract's fallback (the last approved version
/// before the one in service, unless the contract pins one).
pub(crate) fn roll_back(
    state: &State,
    index: u64,
    contract: &str,
    name: &str,
    party: &str,
    reason: &str,
    at: i64,
) -> Result<RollBack, Rejection> {
    let mut changes = Vec::new();
    let dkey = deployment_key(contract, name);
    let mut deployment = state.deployment(&dkey).cloned().ok_or_else(|| {
        reject(
            "deployment",
            format!("contract `{contract}` has no deployment `{name}`"),
        )
    })?;
    let current = deployment.active.clone().ok_or_else(|| {
        reject(
            "deployment",
            format!("deployment `{name}` has no version in service"),
        )
    })?;
    let may_serve = |key: &str| {
        state
            .model(key)
            .and_then(|m| m.offers.get(contract))
            .is_some_and(|o| o.status.may_serve())
    };
    let terms = terms_of(state, contract)?;
    let target = match terms.rollback.map(|r| &r.fallback) {
        Some(Fallback::Pinned { line, version }) => {
            let key = model_key(line, version);
            if key == current || !may_serve(&key) {
                return Err(reject(
                    "rollback",
                    format!(
                        "the contract's fallback `{key}` is not an approved version to return to"
                    ),
                ));
            }
            key
        }
        Some(Fallback::LastApproved) | None => deployment
            .events
            .iter()
            .rev()
            .map(|e| e.version.as_str())
            .find(|key| *key != current && may_serve(key))
            .map(str::to_owned)
            .ok_or_else(|| {
                reject(
                    "rollback",
                    format!("deployment `{name}` has no earlier approved version to return to"),
                )
            })?,
    };
    deployment.active = Some(target.clone());
    deployment.events.push(DeploymentEvent {
        entry: index,
        action: DeploymentAction::RolledBack,
        version: target.clone(),
        previous: Some(current.clone()),
        party: party.to_owned(),
        reason: Some(reason.to_owned()),
        at,
    });
    changes.extend(set_status(
        state,
        contract,
        &current,
        VersionStatus::RolledBack,
        index,
        Some(reason.to_owned()),
    ));
    changes.extend(set_status(
        state,
        contract,
        &target,
        VersionStatus::Active,
        index,
        None,
    ));
    changes.push(Change::PutDeployment(Box::new(deployment)));
    Ok(RollBack {
        changes,
        from: current,
        to: target,
    })
}
