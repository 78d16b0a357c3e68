//! The rules of the incident kinds: who may report, update, notify and close, what a report
//! must say, and the rollback an incident sets off.

use super::{
    Closure, Incident, IncidentClosed, IncidentNotified, IncidentReported, IncidentUpdated, Notice,
    Report, RollbackStep, Update, UsageLink, incident_key,
};
use crate::apply::{Entry, Rejection, check_id, is_sha256_digest, known_contract, reject};
use crate::contract::{Module, RollbackApproval, Severity};
use crate::kinds::{DeploymentRolledBack, Role};
use crate::state::{Change, KeyRecord, State};
use crate::updates::time::parse_instant;
use crate::updates::{
    RollBack, clock_of, contract_party, deployment_key, require_party_signer, roll_back,
};

/// The harm categories every contract knows: the AI Act's Art. 3(49) (a)–(d), and cyber
/// security (the CERT-In duty's). A contract adds its own in its liability module.
pub const HARMS: [&str; 5] = [
    "health-or-safety",
    "critical-infrastructure",
    "fundamental-rights",
    "property-or-environment",
    "cyber-security",
];

/// The most items a list in an incident entry may hold.
const LIST_MAX: usize = 64;
/// The longest summary, note or review.
const TEXT_BYTES_MAX: usize = 16 * 1024;

/// `AML.T` and four digits, optionally `.` and three (a sub-technique).
pub fn check_atlas_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("AML.T") else {
        return false;
    };
    let (technique, sub) = rest
        .split_once('.')
        .map_or((rest, None), |(t, s)| (t, Some(s)));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(technique, 4) && sub.is_none_or(|s| digits(s, 3))
}

/// `party` may speak of incidents under `contract`: a party of it, or an authority.
fn may_report(state: &State, contract: &str, party: &str) -> Result<(), Rejection> {
    let record = known_contract(state, contract)?;
    let authority = state
        .party(party)
        .is_some_and(|p| p.roles.contains(&Role::Overseer));
    if record.parties.iter().any(|p| p == party) || authority {
        return Ok(());
    }
    Err(reject(
        "incident-party",
        format!(
            "`{party}` is neither a party of contract `{contract}` nor an authority (a party with the `overseer` role)"
        ),
    ))
}

fn text(field: &str, value: &str, required: bool) -> Result<(), Rejection> {
    if required && value.trim().is_empty() {
        return Err(reject("incident", format!("`{field}` is empty")));
    }
    if value.len() > TEXT_BYTES_MAX {
        return Err(reject(
            "incident",
            format!("`{field}` is more than {TEXT_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

fn list<T>(field: &str, items: &[T]) -> Result<(), Rejection> {
    if items.len() > LIST_MAX {
        return Err(reject(
            "incident",
            format!("`{field}` has more than {LIST_MAX} items"),
        ));
    }
    Ok(())
}

/// The harms, techniques, usage batches and evidence an entry names all exist.
fn check_links(
    state: &State,
    contract: &str,
    harms: &[String],
    atlas: &[String],
    usage: &[UsageLink],
    evidence: &[u64],
) -> Result<(), Rejection> {
    list("harms", harms)?;
    list("atlas", atlas)?;
    list("usage", usage)?;
    list("evidence", evidence)?;
    let own: Vec<String> = state
        .package(contract)
        .map(|package| {
            package
                .modules
                .iter()
                .filter_map(|loaded| match &loaded.module {
                    Module::Liability(liability) => Some(
                        liability
                            .categories
                            .iter()
                            .map(|c| c.harm.clone())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = harms
        .iter()
        .find(|h| !HARMS.contains(&h.as_str()) && !own.contains(h))
    {
        return Err(reject(
            "incident-harm",
            format!(
                "harm `{unknown}` is neither one of {} nor a harm of the contract's liability module{}",
                HARMS.join(", "),
                if own.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", own.join(", "))
                }
            ),
        ));
    }
    if let Some(bad) = atlas.iter().find(|id| !check_atlas_id(id)) {
        return Err(reject(
            "incident",
            format!(
                "`{bad}` is not a MITRE ATLAS technique id such as `AML.T0043` or `AML.T0051.000`"
            ),
        ));
    }
    for link in usage {
        let known = state
            .usage(Some(contract))
            .any(|batch| batch.entry == link.entry);
        if !known {
            return Err(reject(
                "incident",
                format!(
                    "entry {} is not a usage batch of contract `{contract}`",
                    link.entry
                ),
            ));
        }
    }
    if let Some(entry) = evidence.iter().find(|e| state.evidence(**e).is_none()) {
        return Err(reject(
            "incident",
            format!("entry {entry} is not an evidence entry"),
        ));
    }
    Ok(())
}

fn merge<T: PartialEq + Clone>(into: &mut Vec<T>, more: &[T]) {
    for item in more {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

// tidy: long function: one report's checks, in the order of the predicate's fields.
pub(crate) fn incident_reported(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: IncidentReported,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    may_report(state, &p.contract, &p.party)?;
    require_party_signer(signers, &p.party)?;
    if p.incidents.is_empty() {
        return Err(reject("incident", "a report names at least one incident"));
    }
    list("incidents", &p.incidents)?;
    for id in &p.incidents {
        check_id("incident", "incident id", id)?;
    }
    check_id("incident", "deployment name", &p.deployment)?;
    let deployment = state
        .deployment(&deployment_key(&p.contract, &p.deployment))
        .ok_or_else(|| {
            reject(
                "incident",
                format!(
                    "contract `{}` has no deployment `{}`",
                    p.contract, p.deployment
                ),
            )
        })?;
    let occurred = parse_instant("occurred_at", &p.occurred_at).map_err(|e| reject("time", e))?;
    let aware = parse_instant("aware_at", &p.aware_at).map_err(|e| reject("time", e))?;
    if occurred > aware || aware > at {
        return Err(reject(
            "incident-time",
            "an incident occurs before anyone becomes aware of it, and is reported after: `occurred_at` ≤ `aware_at` ≤ `at`",
        ));
    }
    let model = match &p.model {
        Some(model) => {
            let known = state
                .model(model)
                .is_some_and(|m| m.offers.contains_key(&p.contract));
            if !known {
                return Err(reject(
                    "incident",
                    format!(
                        "`{model}` is not a model version offered under `{}`",
                        p.contract
                    ),
                ));
            }
            Some(model.clone())
        }
        None => deployment
            .active_during(occurred, occurred)
            .first()
            .map(|v| (*v).to_owned()),
    };
    text("summary", &p.summary, true)?;
    if let Some(description) = &p.description {
        text("description", description, true)?;
    }
    if let Some(sealed) = &p.sealed {
        if !is_sha256_digest(&sealed.commitment) || sealed.classification.trim().is_empty() {
            return Err(reject(
                "incident",
                "a sealed description has a classification and a `sha256:` commitment",
            ));
        }
        if p.description.is_some() {
            return Err(reject(
                "incident",
                "a description is either public (`description`) or sealed (`sealed`), not both",
            ));
        }
    }
    list("affected", &p.affected)?;
    for affected in &p.affected {
        text("affected", affected, true)?;
    }
    check_links(
        state,
        &p.contract,
        &p.harms,
        &p.atlas,
        &p.usage,
        &p.evidence,
    )?;
    let report = Report {
        entry: entry.index,
        party: p.party.clone(),
        aware_at: aware,
        at,
    };
    let mut opened = Vec::new();
    for id in &p.incidents {
        let key = incident_key(&p.contract, id);
        let incident = match state.incident(&key) {
            Some(known) => {
                if known.deployment != p.deployment {
                    return Err(reject(
                        "incident",
                        format!(
                            "incident `{id}` is in deployment `{}`, not `{}`",
                            known.deployment, p.deployment
                        ),
                    ));
                }
                if known.closed.is_some() {
                    return Err(reject("incident", format!("incident `{id}` is closed")));
                }
                let mut incident = known.clone();
                if p.severity.rank() > incident.severity.rank() {
                    incident.severity = p.severity;
                }
                merge(&mut incident.harms, &p.harms);
                merge(&mut incident.atlas, &p.atlas);
                merge(&mut incident.usage, &p.usage);
                merge(&mut incident.evidence, &p.evidence);
                merge(&mut incident.affected, &p.affected);
                incident.reports.push(report.clone());
                incident
            }
            None => Incident {
                contract: p.contract.clone(),
                id: id.clone(),
                deployment: p.deployment.clone(),
                model: model.clone(),
                severity: p.severity,
                harms: p.harms.clone(),
                occurred_at: occurred,
                summary: p.summary.clone(),
                description: p.description.clone(),
                sealed: p.sealed.clone(),
                affected: p.affected.clone(),
                atlas: p.atlas.clone(),
                usage: p.usage.clone(),
                evidence: p.evidence.clone(),
                reports: vec![report.clone()],
                updates: Vec::new(),
                notices: Vec::new(),
                rollback: None,
                closed: None,
                finding: None,
            },
        };
        opened.push(incident);
    }
    // One rollback for the report, however many incidents it covers.
    if let Some((first, rest)) = opened.split_first_mut() {
        let step = automatic_rollback(state, entry.index, first, &p.party, at);
        if let Some(step) = step {
            for other in rest.iter_mut() {
                other.rollback = first.rollback.clone();
            }
            changes.extend(step.changes);
        }
    }
    changes.extend(
        opened
            .into_iter()
            .map(|incident| Change::PutIncident(Box::new(incident))),
    );
    Ok(changes)
}

/// When the contract rolls back on its own for an incident this grave, in the deployment
/// where the version involved is in service, the step back; `incident.rollback` records it.
/// A rollback that cannot be made (no earlier approved version) leaves the report standing
/// and the rollback duty open.
fn automatic_rollback(
    state: &State,
    index: u64,
    incident: &mut Incident,
    party: &str,
    at: i64,
) -> Option<RollBack> {
    if incident.rollback.is_some() {
        return None;
    }
    let rollback = state
        .package(&incident.contract)?
        .modules
        .iter()
        .find_map(|loaded| match &loaded.module {
            Module::Rollback(rollback) => Some(rollback),
            _ => None,
        })?;
    let trigger: Severity = rollback.trigger_severity?;
    if rollback.approval != RollbackApproval::Automatic || incident.severity.rank() < trigger.rank()
    {
        return None;
    }
    let deployment = state.deployment(&deployment_key(&incident.contract, &incident.deployment))?;
    let in_service = deployment.active.as_deref()?;
    if incident.model.as_deref().is_some_and(|m| m != in_service) {
        return None;
    }
    let reason = format!(
        "incident `{}` ({}): the contract rolls back on its own at {} or worse",
        incident.id,
        incident.severity.name(),
        trigger.name()
    );
    let step = roll_back(
        state,
        index,
        &incident.contract,
        &incident.deployment,
        party,
        &reason,
        at,
    )
    .ok()?;
    incident.rollback = Some(RollbackStep {
        entry: index,
        party: party.to_owned(),
        automatic: true,
        from: step.from.clone(),
        to: step.to.clone(),
        at,
    });
    Some(step)
}

fn open_incident<'s>(
    state: &'s State,
    contract: &str,
    id: &str,
) -> Result<&'s Incident, Rejection> {
    let incident = state.incident(&incident_key(contract, id)).ok_or_else(|| {
        reject(
            "incident",
            format!("contract `{contract}` has no incident `{id}`"),
        )
    })?;
    if incident.closed.is_some() {
        return Err(reject("incident", format!("incident `{id}` is closed")));
    }
    Ok(incident)
}

pub(crate) fn incident_updated(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: IncidentUpdated,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    may_report(state, &p.contract, &p.party)?;
    require_party_signer(signers, &p.party)?;
    let mut incident = open_incident(state, &p.contract, &p.incident)?.clone();
    text("note", &p.note, true)?;
    check_links(
        state,
        &p.contract,
        &p.harms,
        &p.atlas,
        &p.usage,
        &p.evidence,
    )?;
    merge(&mut incident.harms, &p.harms);
    merge(&mut incident.atlas, &p.atlas);
    merge(&mut incident.usage, &p.usage);
    merge(&mut incident.evidence, &p.evidence);
    if let Some(severity) = p.severity {
        incident.severity = severity;
    }
    incident.updates.push(Update {
        entry: entry.index,
        party: p.party.clone(),
        note: p.note,
        severity: p.severity,
        at,
    });
    if let Some(step) = automatic_rollback(state, entry.index, &mut incident, &p.party, at) {
        changes.extend(step.changes);
    }
    changes.push(Change::PutIncident(Box::new(incident)));
    Ok(changes)
}

pub(crate) fn incident_notified(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: IncidentNotified,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    may_report(state, &p.contract, &p.party)?;
    require_party_signer(signers, &p.party)?;
    let mut incident = state
        .incident(&incident_key(&p.contract, &p.incident))
        .ok_or_else(|| {
            reject(
                "incident",
                format!("contract `{}` has no incident `{}`", p.contract, p.incident),
            )
        })?
        .clone();
    text("summary", &p.summary, true)?;
    let regime_duty = p.to.split_once('/').is_some_and(|(regime, duty)| {
        super::clocks::regimes().is_ok_and(|all| {
            all.iter().any(|rules| {
                rules.regime.name() == regime && rules.duties.iter().any(|d| d.id == duty)
            })
        })
    });
    if !regime_duty && state.party(&p.to).is_none() {
        return Err(reject(
            "incident",
            format!(
                "`{}` is neither a registered party nor a regime's duty such as `eu-ai-act/art-73-2`",
                p.to
            ),
        ));
    }
    if p.to == p.party {
        return Err(reject("incident", "a party does not notify itself"));
    }
    incident.notices.push(Notice {
        entry: entry.index,
        party: p.party,
        to: p.to,
        summary: p.summary,
        at,
    });
    changes.push(Change::PutIncident(Box::new(incident)));
    Ok(changes)
}

pub(crate) fn incident_closed(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: IncidentClosed,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    require_party_signer(signers, &p.party)?;
    let mut incident = open_incident(state, &p.contract, &p.incident)?.clone();
    text("review", &p.review, true)?;
    text("remediation", &p.remediation, true)?;
    if let Some(redress) = &p.redress {
        text("redress", redress, true)?;
    }
    incident.closed = Some(Closure {
        entry: entry.index,
        party: p.party,
        review: p.review,
        remediation: p.remediation,
        redress: p.redress,
        at,
    });
    changes.push(Change::PutIncident(Box::new(incident)));
    Ok(changes)
}

pub(crate) fn liability_found(
    state: &State,
    entry: &Entry<'_>,
    signers: &[&KeyRecord],
    p: super::LiabilityFound,
) -> Result<Vec<Change>, Rejection> {
    let mut changes = Vec::new();
    let at = clock_of(state, &p.at, &mut changes)?;
    contract_party(state, &p.contract, &p.party)?;
    require_party_signer(signers, &p.party)?;
    let terms = super::liability::terms(state, &p.contract).ok_or_else(|| {
        reject(
            "liability",
            format!("contract `{}` has no liability module", p.contract),
        )
    })?;
    if !terms.findings_by.contains(&p.party) {
        return Err(reject(
            "liability",
            format!(
                "`{}` is not among the parties whose findings the contract's liability module accepts ({})",
                p.party,
                terms.findings_by.join(", ")
            ),
        ));
    }
    let known = state
        .incident(&incident_key(&p.contract, &p.incident))
        .ok_or_else(|| {
            reject(
                "incident",
                format!("contract `{}` has no incident `{}`", p.contract, p.incident),
            )
        })?;
    if let Some(earlier) = &known.finding {
        return Err(reject(
            "liability-once",
            format!(
                "incident `{}` has a finding already, in entry {}",
                p.incident, earlier.entry
            ),
        ));
    }
    if !terms.components.contains_key(&p.root_cause) {
        return Err(reject(
            "liability",
            format!(
                "the contract names nobody for a fault in `{}` (its components: {})",
                p.root_cause,
                terms
                    .components
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    check_links(
        state,
        &p.contract,
        std::slice::from_ref(&p.harm),
        &[],
        &[],
        &[],
    )?;
    let currency_ok = p.currency.len() == 3 && p.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !currency_ok {
        return Err(reject(
            "liability",
            format!(
                "currency `{}` is not an ISO 4217 code such as `USD`",
                p.currency
            ),
        ));
    }
    if let Some(cap) = terms.caps.values().find(|cap| cap.currency != p.currency) {
        return Err(reject(
            "liability",
            format!(
                "the damages are in {}, the contract's caps in {}",
                p.currency, cap.currency
            ),
        ));
    }
    text("summary", &p.summary, true)?;
    let mut incident = known.clone();
    incident.finding = Some(super::Finding {
        entry: entry.index,
        party: p.party,
        root_cause: p.root_cause,
        harm: p.harm,
        damages: p.damages,
        currency: p.currency,
        summary: p.summary,
        at,
    });
    changes.push(Change::PutIncident(Box::new(incident)));
    Ok(changes)
}

/// The incident a `deployment-rolled-back` entry answers, with the step recorded.
pub(crate) fn answered_by_rollback(
    state: &State,
    index: u64,
    p: &DeploymentRolledBack,
    id: &str,
    step: &RollBack,
    at: i64,
) -> Result<Change, Rejection> {
    let mut incident = open_incident(state, &p.contract, id)?.clone();
    if incident.deployment != p.deployment {
        return Err(reject(
            "incident",
            format!(
                "incident `{id}` is in deployment `{}`, not `{}`",
                incident.deployment, p.deployment
            ),
        ));
    }
    if let Some(earlier) = &incident.rollback {
        return Err(reject(
            "incident",
            format!(
                "incident `{id}` was answered by the rollback of entry {} already",
                earlier.entry
            ),
        ));
    }
    incident.rollback = Some(RollbackStep {
        entry: index,
        party: p.party.clone(),
        automatic: false,
        from: step.from.clone(),
        to: step.to.clone(),
        at,
    });
    Ok(Change::PutIncident(Box::new(incident)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_ids_are_techniques_or_sub_techniques() {
        for good in ["AML.T0043", "AML.T0051.000"] {
            assert!(check_atlas_id(good), "{good}");
        }
        for bad in [
            "AML.T43",
            "aml.t0043",
            "AML.T0051.",
            "AML.T0051.0000",
            "T0043",
            "",
        ] {
            assert!(!check_atlas_id(bad), "{bad}");
        }
    }
}
