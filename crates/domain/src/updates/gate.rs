//! The gate: what a model version needs before it may serve under a contract, and whether the
//! ledger holds it — each requirement met by named entries, or unmet, in words.

use serde::{Deserialize, Serialize};

use super::time::{days_between, format_day, format_instant, parse_day};
use super::{EvidenceRecord, ModelVersion, Offer, Recognition, Terms, VersionStatus, model_key};
use crate::contract::{Comparison, Evaluation};
use crate::kinds::Assurance;
use crate::state::{KeyStatus, State};

/// One requirement of the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// A stable id: `standing`, `notice`, `evaluation:<suite>/<metric>`,
    /// `hosting-attestation` or `approvals`.
    pub id: String,
    pub met: bool,
    /// The entries that meet it.
    pub by: Vec<u64>,
    /// What it asks and where it stands, in words.
    pub detail: String,
    /// For an evaluation met by evidence produced for a jurisdiction outside the contract's:
    /// that jurisdiction (a duplicate test avoided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognised_from: Option<String>,
    /// For an evaluation met by evidence another member of the coalition logged: that
    /// member (a duplicate test avoided across instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in: Option<String>,
}

impl Requirement {
    fn new(id: impl Into<String>, met: bool, by: Vec<u64>, detail: impl Into<String>) -> Self {
        Requirement {
            id: id.into(),
            met,
            by,
            detail: detail.into(),
            recognised_from: None,
            logged_in: None,
        }
    }
}

/// The gate of one model version under one contract, at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub contract: String,
    pub line: String,
    pub version: String,
    pub status: VersionStatus,
    /// The time it was evaluated at (RFC 3339).
    pub at: String,
    pub requirements: Vec<Requirement>,
}

impl Gate {
    /// Whether every requirement is met.
    pub fn met(&self) -> bool {
        self.requirements.iter().all(|r| r.met)
    }

    pub fn unmet(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().filter(|r| !r.met)
    }

    /// The unmet requirements in one line, for rejections.
    pub fn unmet_summary(&self) -> String {
        self.unmet()
            .map(|r| format!("{}: {}", r.id, r.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why there is no gate to evaluate: the contract, the version, or the offer is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("contract `{contract}` is not published")]
    ContractNotPublished { contract: String },
    #[error("model version `{model}` is not registered")]
    ModelNotRegistered { model: String },
    #[error("model version `{model}` is not offered under contract `{contract}`")]
    NotOffered { model: String, contract: String },
}

/// Evaluates the gate of `line@version` under `contract` at `now` (unix seconds).
pub fn evaluate(
    state: &State,
    contract: &str,
    line: &str,
    version: &str,
    now: i64,
) -> Result<Gate, GateError> {
    let package = state
        .package(contract)
        .ok_or_else(|| GateError::ContractNotPublished {
            contract: contract.to_owned(),
        })?;
    let key = model_key(line, version);
    let model = state
        .model(&key)
        .ok_or_else(|| GateError::ModelNotRegistered { model: key.clone() })?;
    let offer = model
        .offers
        .get(contract)
        .ok_or_else(|| GateError::NotOffered {
            model: key.clone(),
            contract: contract.to_owned(),
        })?;
    let terms = Terms::of(package);
    let mut requirements = vec![standing(offer), notice(model, offer)];
    if let Some(testing) = terms.testing {
        for evaluation in &testing.evaluations {
            requirements.push(evaluation_requirement(
                state, &terms, model, evaluation, now,
            ));
        }
    }
    if let Some(hosting) = terms.hosting.filter(|h| h.attestation_required) {
        requirements.push(hosting_requirement(state, contract, hosting));
    }
    if terms.testing.is_some_and(|t| t.incidents_closed) {
        requirements.push(incidents_closed(state, contract, line));
    }
    requirements.push(designations(state, contract, &key, now));
    requirements.push(approvals(&terms, offer));
    Ok(Gate {
        contract: contract.to_owned(),
        line: line.to_owned(),
        version: version.to_owned(),
        status: offer.status,
        at: format_instant(now),
        requirements,
    })
}

/// No supply-chain-risk designation in force reaches the version (its line, its vendor, or a
/// supplier upstream of a party).
fn designations(state: &State, contract: &str, model: &str, now: i64) -> Requirement {
    let against: Vec<&crate::designation::Designation> =
        crate::designation::against(state, contract, model, now).collect();
    if against.is_empty() {
        return Requirement::new(
            "designations",
            true,
            Vec::new(),
            "no supply-chain-risk designation in force reaches it",
        );
    }
    Requirement::new(
        "designations",
        false,
        against.iter().map(|d| d.entry).collect(),
        against
            .iter()
            .map(|d| {
                format!(
                    "designation `{}` of {} by `{}` (entry {}) is in force",
                    d.id,
                    d.names(),
                    d.authority,
                    d.entry
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Every serious (or graver) incident of `line` under `contract` is closed.
fn incidents_closed(state: &State, contract: &str, line: &str) -> Requirement {
    let of_line = |model: &Option<String>| {
        model
            .as_deref()
            .and_then(|m| m.split_once('@'))
            .is_none_or(|(l, _)| l == line)
    };
    let grave: Vec<&crate::incident::Incident> = state
        .incidents(Some(contract))
        .filter(|i| i.severity.rank() >= crate::contract::Severity::Serious.rank())
        .filter(|i| of_line(&i.model))
        .collect();
    let open: Vec<&str> = grave
        .iter()
        .filter(|i| i.closed.is_none())
        .map(|i| i.id.as_str())
        .collect();
    let by: Vec<u64> = grave
        .iter()
        .filter_map(|i| i.closed.as_ref().map(|c| c.entry))
        .collect();
    if open.is_empty() {
        let detail = if grave.is_empty() {
            format!("no serious incident of `{line}` under the contract")
        } else {
            format!("every serious incident of `{line}` is closed with its review")
        };
        Requirement::new("incidents-closed", true, by, detail)
    } else {
        Requirement::new(
            "incidents-closed",
            false,
            by,
            format!(
                "the contract asks that serious incidents of `{line}` are closed first; open: {}",
                open.join(", ")
            ),
        )
    }
}

fn standing(offer: &Offer) -> Requirement {
    let reason = offer.status_reason.as_deref().unwrap_or("no reason given");
    match offer.status {
        VersionStatus::Revoked => Requirement::new(
            "standing",
            false,
            vec![offer.status_entry],
            format!("revoked at entry {}: {reason}", offer.status_entry),
        ),
        VersionStatus::RolledBack => Requirement::new(
            "standing",
            false,
            vec![offer.status_entry],
            format!("rolled back at entry {}: {reason}", offer.status_entry),
        ),
        status => Requirement::new(
            "standing",
            true,
            vec![offer.entry],
            format!("offered at entry {}; {}", offer.entry, status.name()),
        ),
    }
}

fn notice(model: &ModelVersion, offer: &Offer) -> Requirement {
    let detail = format!(
        "notice given {} for service from {}: {} days; the contract requires {}",
        format_day(offer.notice_given),
        model.service_from,
        offer.notice_days,
        offer.notice_required
    );
    Requirement::new(
        "notice",
        offer.notice_days >= i64::from(offer.notice_required),
        vec![offer.entry],
        detail,
    )
}

/// Why one piece of evidence does not meet an evaluation. Cheap to make: the gate judges
/// every piece of evidence about a version, and only a few reasons are ever put into words.
enum Miss<'s> {
    Sealed,
    Failed(&'s str),
    NoMetric,
    RevokedKey(&'s str),
    NotRecognised,
    NotForSuite,
    Assurance(Option<Assurance>),
    TooOld { age: i64, allowed: u32 },
    Threshold(f64),
}

impl Miss<'_> {
    fn describe(
        &self,
        state: &State,
        jurisdictions: &[String],
        evaluation: &Evaluation,
        evidence: &EvidenceRecord,
    ) -> String {
        let entry = evidence.entry;
        match self {
            Miss::Sealed => format!("entry {entry}'s result is sealed"),
            Miss::Failed(status) => format!("entry {entry}'s run ended with status `{status}`"),
            Miss::NoMetric => {
                let reported: Vec<&str> = evidence.metrics.keys().map(String::as_str).collect();
                format!(
                    "entry {entry} reports no `{}` (it reports {})",
                    evaluation.metric,
                    if reported.is_empty() {
                        "none".to_owned()
                    } else {
                        reported.join(", ")
                    }
                )
            }
            Miss::RevokedKey(keyid) => {
                let (party, at, reason) = match state.key(keyid).map(|r| (&r.party, &r.status)) {
                    Some((party, KeyStatus::Revoked { at, reason })) => {
                        (party.as_str(), *at, reason.as_str())
                    }
                    _ => ("?", 0, ""),
                };
                format!(
                    "entry {entry} was signed by key {} of `{party}`, revoked at entry {at} ({reason})",
                    short(keyid)
                )
            }
            Miss::NotRecognised => format!(
                "entry {entry} is from lab `{}`, which no authority of {} recognises",
                evidence.lab,
                jurisdictions.join(", ")
            ),
            Miss::NotForSuite => format!(
                "entry {entry} is from lab `{}`, recognised in {} but not for suite `{}`",
                evidence.lab,
                jurisdictions.join(", "),
                evidence.suite
            ),
            Miss::Assurance(needed) => format!(
                "entry {entry} is {}; recognition of `{}` needs at least {}",
                evidence.assurance.name(),
                evidence.lab,
                needed.map_or("more", |a| a.name())
            ),
            Miss::TooOld { age, allowed } => format!(
                "entry {entry} was evaluated {} ({age} days old); at most {allowed} days is accepted",
                format_day(evidence.evaluated_at)
            ),
            Miss::Threshold(value) => {
                let side = match evaluation.comparison {
                    Comparison::AtLeast => "below the minimum",
                    Comparison::AtMost => "above the maximum",
                };
                format!(
                    "entry {entry}: {} = {value}, {side} of {}",
                    evaluation.metric, evaluation.threshold
                )
            }
        }
    }
}

/// Whether one piece of evidence meets an evaluation, given the recognitions of the
/// evaluation's jurisdictions; when it does, the recognition that accepts it.
fn judge<'s>(
    state: &'s State,
    recognitions: &[&'s Recognition],
    evaluation: &Evaluation,
    evidence: &'s EvidenceRecord,
    now: i64,
) -> Result<&'s Recognition, Miss<'s>> {
    if evidence.sealed_result.is_some() {
        return Err(Miss::Sealed);
    }
    if evidence.status != "success" {
        return Err(Miss::Failed(&evidence.status));
    }
    let Some(&value) = evidence.metrics.get(&evaluation.metric) else {
        return Err(Miss::NoMetric);
    };
    if let Some(keyid) = evidence.signers.iter().find(|k| state.is_revoked(k)) {
        return Err(Miss::RevokedKey(keyid));
    }
    let mut of_lab = false;
    let mut for_suite = false;
    let mut needed: Option<Assurance> = None;
    let mut best: Option<&Recognition> = None;
    for &recognition in recognitions {
        if !recognition.labs.contains(&evidence.lab) {
            continue;
        }
        of_lab = true;
        if !recognition.suites.contains(&evidence.suite) {
            continue;
        }
        for_suite = true;
        if evidence.assurance < recognition.min_assurance {
            needed = Some(needed.map_or(recognition.min_assurance, |n| {
                n.min(recognition.min_assurance)
            }));
            continue;
        }
        if best.is_none_or(|b| recognition.max_evidence_age_days > b.max_evidence_age_days) {
            best = Some(recognition);
        }
    }
    let Some(recognition) = best else {
        return Err(if !of_lab {
            Miss::NotRecognised
        } else if !for_suite {
            Miss::NotForSuite
        } else {
            Miss::Assurance(needed)
        });
    };
    let allowed = evaluation
        .max_evidence_age_days
        .min(recognition.max_evidence_age_days);
    let age = days_between(evidence.evaluated_at, now);
    if age > i64::from(allowed) {
        return Err(Miss::TooOld { age, allowed });
    }
    let passes = match evaluation.comparison {
        Comparison::AtLeast => value >= evaluation.threshold,
        Comparison::AtMost => value <= evaluation.threshold,
    };
    if !passes {
        return Err(Miss::Threshold(value));
    }
    Ok(recognition)
}

// tidy: long function: one requirement's rules read top to bottom, each refusal beside its check.
fn evaluation_requirement(
    state: &State,
    terms: &Terms<'_>,
    model: &ModelVersion,
    evaluation: &Evaluation,
    now: i64,
) -> Requirement {
    let id = format!("evaluation:{}/{}", evaluation.suite, evaluation.metric);
    let jurisdictions: &[String] = if evaluation.recognised_in.is_empty() {
        &terms.contract.jurisdictions
    } else {
        &evaluation.recognised_in
    };
    let wanted = format!(
        "{} {} {} on `{}` ({} evidence, at most {} days old)",
        evaluation.metric,
        match evaluation.comparison {
            Comparison::AtLeast => "≥",
            Comparison::AtMost => "≤",
        },
        evaluation.threshold,
        evaluation.suite,
        if jurisdictions.is_empty() {
            "recognised".to_owned()
        } else {
            format!("{}-recognised", jurisdictions.join("/"))
        },
        evaluation.max_evidence_age_days
    );
    let recognitions: Vec<&Recognition> = state
        .recognitions()
        .filter(|r| jurisdictions.contains(&r.jurisdiction))
        .collect();
    let mut reasons = Vec::new();
    let mut considered = 0usize;
    // Newest first: the freshest evidence is the likeliest to meet it.
    for evidence in state
        .evidence_for(&model.key())
        .iter()
        .rev()
        .filter(|e| e.suite == evaluation.suite && e.evaluated_at <= now)
    {
        considered += 1;
        match judge(state, &recognitions, evaluation, evidence, now) {
            Ok(recognition) => {
                let value = evidence
                    .metrics
                    .get(&evaluation.metric)
                    .copied()
                    .unwrap_or_default();
                let foreign = !terms
                    .contract
                    .jurisdictions
                    .contains(&evidence.produced_for);
                let mut met = Requirement::new(
                    id,
                    true,
                    vec![evidence.entry],
                    format!(
                        "{wanted}: met by entry {} from lab `{}` ({}, produced for {}, evaluated {}): {} = {value}; recognised in {} by `{}` (entry {})",
                        evidence.entry,
                        evidence.lab,
                        evidence.assurance.name(),
                        evidence.produced_for,
                        format_day(evidence.evaluated_at),
                        evaluation.metric,
                        recognition.jurisdiction,
                        recognition.authority,
                        recognition.entry
                    ),
                );
                if foreign {
                    met.recognised_from = Some(evidence.produced_for.clone());
                }
                if let Some(mirrored) = &evidence.mirrored {
                    met.detail.push_str(&format!(
                        "; logged first as entry {} of coalition member `{}` ({}), proved against its checkpoint of size {}{}",
                        mirrored.index,
                        mirrored.member,
                        mirrored.origin,
                        mirrored.checkpoint_size,
                        if mirrored.cosigned_by.is_empty() {
                            String::new()
                        } else {
                            format!(" cosigned by {}", mirrored.cosigned_by.join(", "))
                        }
                    ));
                    met.logged_in = Some(mirrored.member.clone());
                }
                return met;
            }
            Err(miss) => {
                if reasons.len() < 3 {
                    reasons.push(miss.describe(state, jurisdictions, evaluation, evidence));
                }
            }
        }
    }
    let detail = if considered == 0 {
        let elsewhere: Vec<String> = state
            .evidence_for_line(&model.line)
            .filter(|e| e.suite == evaluation.suite && e.version != model.version)
            .take(3)
            .map(|e| format!("entry {} is for {}", e.entry, e.version))
            .collect();
        let mut detail = format!(
            "{wanted}: no evidence for `{}` on {}",
            evaluation.suite,
            model.key()
        );
        if !elsewhere.is_empty() {
            detail.push_str(&format!(" ({})", elsewhere.join(", ")));
        }
        detail
    } else {
        let more = considered.saturating_sub(reasons.len());
        let mut detail = format!("{wanted}: {}", reasons.join("; "));
        if more > 0 {
            detail.push_str(&format!("; and {more} more that do not meet it"));
        }
        detail
    };
    Requirement::new(id, false, Vec::new(), detail)
}

/// The environment is attested, as the contract asks: by a verified SEV-SNP report with one
/// of its measurements where it names them; by a verified report of any measurement where it
/// allows data above what the environment class holds on its operator's word; else by any
/// attestation of that environment.
fn hosting_requirement(
    state: &State,
    contract: &str,
    hosting: &crate::contract::Hosting,
) -> Requirement {
    let environment = hosting.environment;
    let wanted = serde_json::to_value(environment)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let ceiling = environment.self_declared_ceiling();
    let needs_hardware = hosting.max_classification > ceiling;
    let accepts = |record: &crate::updates::HostingRecord| match &record.measurement {
        _ if record.environment != environment => false,
        Some(measurement) if !hosting.measurements.is_empty() => {
            hosting.measurements.contains(measurement)
        }
        Some(_) => true,
        None => hosting.measurements.is_empty() && !needs_hardware,
    };
    let records: Vec<&crate::updates::HostingRecord> =
        state.attestations_for(contract).rev().collect();
    if let Some(record) = records.iter().find(|r| accepts(r)) {
        let how = match &record.measurement {
            Some(measurement) => format!(
                "a SEV-SNP report verified against AMD's chain, measurement {}…",
                &measurement[..16]
            ),
            None => format!("report {}", short(&record.report)),
        };
        return Requirement::new(
            "hosting-attestation",
            true,
            vec![record.entry],
            format!(
                "the contract requires attestation of its {wanted} environment: attested by `{}` at entry {} ({how})",
                record.party, record.entry
            ),
        );
    }
    let wants = if !hosting.measurements.is_empty() {
        format!(
            "a SEV-SNP report verified against AMD's chain with one of the {} launch measurements it names",
            hosting.measurements.len()
        )
    } else if needs_hardware {
        format!(
            "a SEV-SNP report verified against AMD's chain: it allows data up to `{}`, and a {wanted} environment holds at most `{}` on its operator's word",
            classification_name(hosting.max_classification),
            classification_name(ceiling)
        )
    } else {
        "attestation".to_owned()
    };
    let detail = match records.iter().find(|r| r.environment == environment) {
        Some(record) => format!(
            "the contract requires {wants} of its {wanted} environment; entry {} is {}",
            record.entry,
            match &record.measurement {
                Some(m) => format!("measured {}…, not one it names", &m[..16]),
                None => "the vendor's word, with no verified report".to_owned(),
            }
        ),
        None => match records.first() {
            Some(record) => format!(
                "the contract requires {wants} of its {wanted} environment; entry {} attests another environment",
                record.entry
            ),
            None => format!(
                "the contract requires {wants} of its {wanted} environment; none is recorded"
            ),
        },
    };
    Requirement::new("hosting-attestation", false, Vec::new(), detail)
}

fn classification_name(classification: crate::contract::Classification) -> String {
    serde_json::to_value(classification)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn approvals(terms: &Terms<'_>, offer: &Offer) -> Requirement {
    let Some(testing) = terms.testing else {
        return Requirement::new(
            "approvals",
            true,
            Vec::new(),
            "the contract names no approvers",
        );
    };
    let needed = testing.approvals_required as usize;
    let approved: Vec<&str> = offer.approvals.iter().map(|a| a.party.as_str()).collect();
    let awaiting: Vec<String> = testing
        .approvers
        .iter()
        .filter(|p| !approved.contains(&p.as_str()))
        .map(|p| format!("`{p}`"))
        .collect();
    let mut detail = format!(
        "{needed} of {} approvers must approve; {} approved",
        testing.approvers.len(),
        approved.len()
    );
    if !offer.approvals.is_empty() {
        let by: Vec<String> = offer
            .approvals
            .iter()
            .map(|a| format!("`{}` (entry {})", a.party, a.entry))
            .collect();
        detail.push_str(&format!(" ({})", by.join(", ")));
    }
    if approved.len() < needed && !awaiting.is_empty() {
        detail.push_str(&format!("; awaiting {}", awaiting.join(", ")));
    }
    Requirement::new(
        "approvals",
        approved.len() >= needed,
        offer.approvals.iter().map(|a| a.entry).collect(),
        detail,
    )
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

/// Whether the service day has come at `now`.
pub(crate) fn in_service_window(model: &ModelVersion, now: i64) -> Result<(), String> {
    let from = parse_day("service_from", &model.service_from)?;
    if now < from {
        return Err(format!(
            "{} enters service on {}, not before",
            model.key(),
            model.service_from
        ));
    }
    Ok(())
}
