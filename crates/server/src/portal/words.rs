//! The portal's plain words: how a version stands, the gate when it was approved and today,
//! what a page's subject amounts to (in service, blocked and why, rollbacks, incidents,
//! anything overdue), and usage counts as sentences that account for every request.

use domain::incident::clocks::{DutyStatus, duties};
use domain::updates::{
    self, DeploymentAction, Gate, ModelVersion, Offer, Terms, UsageBatch, VersionStatus,
};

use super::{
    Tone, and_list, badge, contract_link, count, day, deployment_link, entry_link, entry_links,
    model_link, party_link, party_name, span,
};
use crate::render::escape;

/// A requirement of the gate in a few words, for sentences: `no recognised evidence for …`.
pub(crate) fn requirement_words(id: &str) -> String {
    match id {
        "standing" => "the version's standing".to_owned(),
        "notice" => "the notice the contract asks".to_owned(),
        "hosting-attestation" => "an attestation of the hosting environment".to_owned(),
        "approvals" => "the approvers' signatures".to_owned(),
        "designations" => "no supply-chain-risk designation against it".to_owned(),
        "incidents-closed" => "every serious incident closed".to_owned(),
        other => match other.strip_prefix("evaluation:") {
            Some(rest) => {
                let (suite, metric) = rest.split_once('/').unwrap_or((rest, ""));
                format!(
                    "recognised evidence on {suite} ({})",
                    metric.replace('_', " ")
                )
            }
            None => other.to_owned(),
        },
    }
}

/// Evidence that met a requirement when the version was approved and has since aged past the
/// contract's limit.
#[derive(Debug, Clone)]
pub(crate) struct Expiry {
    pub requirement: String,
    pub evidence: u64,
    pub evaluated: i64,
    pub max_days: u32,
    /// When it passed the limit: the re-evaluation was due by then.
    pub due: i64,
}

/// A version's gate under one contract: when it was approved (and by which entries), the gate
/// as it stood then, today's, and the evidence that expired in between.
pub(crate) struct GateStory {
    pub approved_at: Option<i64>,
    pub then: Option<Gate>,
    pub today: Gate,
    pub expired: Vec<Expiry>,
}

impl GateStory {
    pub fn of(
        state: &domain::State,
        model: &ModelVersion,
        offer: &Offer,
        now: i64,
    ) -> Option<Self> {
        let today =
            updates::evaluate(state, &offer.contract, &model.line, &model.version, now).ok()?;
        let approved_at = (!matches!(offer.status, VersionStatus::Registered))
            .then(|| offer.approvals.iter().map(|a| a.at).max())
            .flatten();
        let then = approved_at.and_then(|at| {
            updates::evaluate(state, &offer.contract, &model.line, &model.version, at).ok()
        });
        let mut expired = Vec::new();
        let testing = state
            .package(&offer.contract)
            .and_then(|p| Terms::of(p).testing.cloned());
        if let (Some(then), Some(testing)) = (&then, testing) {
            for earlier in then.requirements.iter().filter(|r| r.met) {
                let still = today.requirements.iter().find(|r| r.id == earlier.id);
                if still.is_some_and(|r| r.met) {
                    continue;
                }
                let Some(evaluation) = testing
                    .evaluations
                    .iter()
                    .find(|e| earlier.id == format!("evaluation:{}/{}", e.suite, e.metric))
                else {
                    continue;
                };
                let Some(evidence) = earlier.by.first().and_then(|e| state.evidence(*e)) else {
                    continue;
                };
                let due =
                    evidence.evaluated_at + i64::from(evaluation.max_evidence_age_days) * 86_400;
                if due <= now {
                    expired.push(Expiry {
                        requirement: earlier.id.clone(),
                        evidence: evidence.entry,
                        evaluated: evidence.evaluated_at,
                        max_days: evaluation.max_evidence_age_days,
                        due,
                    });
                }
            }
        }
        Some(GateStory {
            approved_at,
            then,
            today,
            expired,
        })
    }

    /// Whether today's gate fails only because evidence aged out after approval.
    pub fn only_expired(&self) -> bool {
        !self.expired.is_empty()
            && self
                .today
                .unmet()
                .all(|r| self.expired.iter().any(|e| e.requirement == r.id))
    }
}

/// How a version stands under a contract: words and tone.
pub(crate) fn standing(
    state: &domain::State,
    model: &ModelVersion,
    offer: &Offer,
    now: i64,
) -> (Tone, String) {
    match offer.status {
        VersionStatus::Active => match GateStory::of(state, model, offer, now) {
            Some(story) if story.today.met() => (Tone::Ok, "in service".to_owned()),
            Some(story) if story.only_expired() => {
                (Tone::Warn, "in service — re-evaluation due".to_owned())
            }
            _ => (Tone::Warn, "in service — gate no longer met".to_owned()),
        },
        VersionStatus::Approved => (Tone::Info, "approved, not in service".to_owned()),
        VersionStatus::Registered => {
            match updates::evaluate(state, &offer.contract, &model.line, &model.version, now) {
                Ok(gate) if gate.unmet().all(|r| r.id == "approvals") => {
                    (Tone::Info, "awaiting approval".to_owned())
                }
                _ => (Tone::Bad, "blocked".to_owned()),
            }
        }
        VersionStatus::Superseded => (Tone::Off, "superseded".to_owned()),
        VersionStatus::RolledBack => (Tone::Bad, "rolled back".to_owned()),
        VersionStatus::Revoked => (Tone::Bad, "revoked".to_owned()),
    }
}

/// What a summary covers: everything, or one contract, model version or deployment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope<'a> {
    pub contract: Option<&'a str>,
    pub model: Option<&'a str>,
    pub deployment: Option<&'a str>,
}

impl Scope<'_> {
    fn contract(&self, id: &str) -> bool {
        self.contract.is_none_or(|c| c == id)
    }

    fn deployment(&self, contract: &str, name: &str) -> bool {
        self.contract(contract) && self.deployment.is_none_or(|d| d == name)
    }
}

/// The summary of what `scope` covers, as sentences (HTML), most pressing first: overdue
/// duties, what is in service, what is blocked and why, rollbacks and suspensions, open
/// incidents, designations in force.
// tidy: long function: one short block per kind of fact a summary states, in the order it states them.
pub(crate) fn summary(state: &domain::State, scope: Scope<'_>, now: i64) -> Vec<String> {
    let mut overdue = Vec::new();
    let mut incidents = Vec::new();
    for incident in state.incidents(scope.contract) {
        if !scope.deployment(&incident.contract, &incident.deployment)
            || scope
                .model
                .is_some_and(|m| incident.model.as_deref() != Some(m))
        {
            continue;
        }
        for duty in duties(state, incident, now) {
            if let DutyStatus::Overdue { by } = duty.status {
                overdue.push(format!(
                    "{} by {}: {} for incident <a href=\"/deployments/{}/{}#{}\">{}</a>, owed by {}.",
                    badge(Tone::Bad, "overdue"),
                    span(by),
                    crate::render::inline(&duty.what),
                    escape(&incident.contract),
                    escape(&incident.deployment),
                    escape(&incident.id),
                    escape(&incident.id),
                    duty.owed_by.as_deref().map_or("nobody".to_owned(), |p| party_link(state, p))
                ));
            }
        }
        let (tone, words) = if incident.closed.is_some() {
            (Tone::Off, "closed")
        } else {
            (Tone::Warn, "open")
        };
        incidents.push(format!(
            "{} Incident <a href=\"/deployments/{}/{}#{}\">{}</a> ({}), reported {} by {}: {}",
            badge(tone, words),
            escape(&incident.contract),
            escape(&incident.deployment),
            escape(&incident.id),
            escape(&incident.id),
            escape(incident.severity.name()),
            incident
                .reports
                .first()
                .map_or(String::new(), |r| day(r.at)),
            incident
                .reporter()
                .map_or("?".to_owned(), |p| party_link(state, p)),
            escape(&incident.summary)
        ));
    }
    let mut lines = overdue;
    let mut changes = Vec::new();
    for d in state
        .deployments()
        .filter(|d| scope.deployment(&d.contract, &d.name))
    {
        if scope.model.is_some_and(|m| {
            !d.events
                .iter()
                .any(|e| e.version == m || e.previous.as_deref() == Some(m))
        }) {
            continue;
        }
        match &d.active {
            Some(active) => {
                let since = d
                    .events
                    .iter()
                    .rev()
                    .find(|e| &e.version == active && e.action != DeploymentAction::Suspended);
                let standing = state
                    .model(active)
                    .and_then(|m| {
                        m.offers
                            .get(&d.contract)
                            .map(|o| standing(state, m, o, now))
                    })
                    .unwrap_or((Tone::Ok, "in service".to_owned()));
                lines.push(format!(
                    "{} {} runs {}{} under {}, for {}.",
                    badge(standing.0, &standing.1),
                    deployment_link(&d.contract, &d.name),
                    model_link(active),
                    since.map_or(String::new(), |e| format!(" since {}", day(e.at))),
                    contract_link(state, &d.contract),
                    state
                        .contract(&d.contract)
                        .map_or(String::new(), |c| and_list(
                            &c.parties
                                .iter()
                                .filter(|p| state
                                    .party(p)
                                    .is_some_and(|x| x.roles.iter().any(|r| r.name() == "agency")))
                                .map(|p| escape(&party_name(state, p)))
                                .collect::<Vec<_>>()
                        ))
                ));
            }
            None => lines.push(format!(
                "{} {} under {} serves no version.",
                badge(Tone::Bad, "nothing in service"),
                deployment_link(&d.contract, &d.name),
                contract_link(state, &d.contract)
            )),
        }
        for e in &d.events {
            let text = match e.action {
                DeploymentAction::RolledBack => format!(
                    "{} {} rolled back from {} to {} on {} by {}{}.",
                    badge(Tone::Bad, "rolled back"),
                    deployment_link(&d.contract, &d.name),
                    e.previous.as_deref().map_or("?".to_owned(), model_link),
                    model_link(&e.version),
                    day(e.at),
                    party_link(state, &e.party),
                    e.reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(": {}", crate::render::inline(r)))
                ),
                DeploymentAction::Suspended => format!(
                    "{} {} suspended on {} by {}{}.",
                    badge(Tone::Bad, "suspended"),
                    deployment_link(&d.contract, &d.name),
                    day(e.at),
                    party_link(state, &e.party),
                    e.reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(": {}", crate::render::inline(r)))
                ),
                DeploymentAction::Activated => continue,
            };
            changes.push(text);
        }
    }
    for m in state
        .models()
        .filter(|m| scope.model.is_none_or(|k| k == m.key()))
    {
        for offer in m.offers.values().filter(|o| scope.contract(&o.contract)) {
            if offer.status != VersionStatus::Registered {
                continue;
            }
            let Ok(gate) = updates::evaluate(state, &offer.contract, &m.line, &m.version, now)
            else {
                continue;
            };
            let missing: Vec<String> = gate
                .unmet()
                .map(|r| escape(&requirement_words(&r.id)))
                .collect();
            let (tone, words) = standing(state, m, offer, now);
            lines.push(format!(
                "{} {} under {}: {} {}.",
                badge(tone, &words),
                model_link(&m.key()),
                contract_link(state, &offer.contract),
                if words == "blocked" {
                    "it lacks"
                } else {
                    "it waits for"
                },
                and_list(&missing)
            ));
        }
    }
    lines.extend(changes);
    lines.extend(incidents);
    for d in state
        .designations()
        .filter(|d| d.lifted.is_none() && d.in_force(now))
    {
        if scope.contract.is_some() || scope.model.is_some() {
            let reaches = d
                .affected
                .iter()
                .any(|a| scope.contract.is_some_and(|c| a.starts_with(c)));
            if !reaches {
                continue;
            }
        }
        let subject = match &d.subject {
            domain::designation::Subject::Party { id } => party_link(state, id),
            domain::designation::Subject::ModelLine { line } => {
                format!("the model line <code>{}</code>", escape(line))
            }
        };
        lines.push(format!(
            "{} {} is designated a supply-chain risk by {} (<a href=\"/designations#{}\">{}</a>){}.",
            badge(Tone::Warn, "designation"),
            subject,
            party_link(state, &d.authority),
            escape(&d.id),
            escape(&d.id),
            if d.appeal.is_some() && d.decision.is_none() { ", under appeal" } else { "" }
        ));
    }
    lines
}

/// The summary as a list under a heading (`h2`), or a sentence saying there is nothing yet.
pub(crate) fn summary_block(lines: &[String], empty: &str) -> String {
    let mut html = String::from(
        "<section class=\"summary\" aria-labelledby=\"summary\">\n<h2 id=\"summary\">In short</h2>\n",
    );
    if lines.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", escape(empty)));
    } else {
        html.push_str("<ul>\n");
        for line in lines {
            html.push_str(&format!("<li>{line}</li>\n"));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</section>\n");
    html
}

/// Usage batches added up.
#[derive(Default)]
struct Totals<'a> {
    records: u64,
    allowed: u64,
    denied: u64,
    clauses: std::collections::BTreeMap<&'a str, u64>,
    outcomes: std::collections::BTreeMap<&'a str, u64>,
}

impl<'a> Totals<'a> {
    fn of(batches: &[&'a UsageBatch]) -> Totals<'a> {
        let mut totals = Totals::default();
        for b in batches {
            totals.records += b.records;
            totals.allowed += b.allowed;
            totals.denied += b.denied;
            for (clause, n) in &b.clauses {
                *totals.clauses.entry(clause).or_default() += n;
            }
            for (outcome, n) in &b.outcomes {
                *totals.outcomes.entry(outcome).or_default() += n;
            }
        }
        totals
    }
}

/// Usage counts as sentences that add up: every request allowed (by which permits), refused
/// by which clause (in the clause's own words), or refused because nothing permits it; and,
/// where gateways recorded calls, what became of them.
pub(crate) fn usage_sentences(
    batches: &[&UsageBatch],
    policies: Option<&policy::Policies>,
) -> String {
    let Totals {
        records,
        allowed,
        denied,
        clauses,
        outcomes,
    } = Totals::of(batches);
    if records == 0 {
        return "No requests recorded yet.".to_owned();
    }
    let forbids = |clause: &str| {
        policies
            .and_then(|p| p.clause(clause))
            .is_some_and(|c| c.effect == policy::Effect::Forbid)
    };
    let words = |clause: &str| {
        policies
            .and_then(|p| p.clause(clause))
            .map(|c| c.comment.replace('\n', " "))
            .filter(|c| !c.is_empty())
            .map_or(String::new(), |c| {
                format!(" ({})", escape(c.trim_end_matches('.')))
            })
    };
    let permits: Vec<String> = clauses
        .iter()
        .filter(|(c, _)| !forbids(c))
        .map(|(c, n)| format!("{n} by <code>{}</code>", escape(c)))
        .collect();
    let mut refusals: Vec<String> = clauses
        .iter()
        .filter(|(c, _)| forbids(c))
        .map(|(c, n)| format!("{n} by <code>{}</code>{}", escape(c), words(c)))
        .collect();
    let by_clause: u64 = clauses
        .iter()
        .filter(|(c, _)| forbids(c))
        .map(|(_, n)| n)
        .sum();
    // Records a gateway made say why a call without a decision was refused.
    let undecided: u64 = ["unauthenticated", "bad-request", "unavailable"]
        .iter()
        .map(|o| outcomes.get(o).copied().unwrap_or(0))
        .sum();
    let nothing = denied.saturating_sub(by_clause).saturating_sub(undecided);
    if nothing > 0 {
        refusals.push(format!(
            "{nothing} because nothing in the contract permits it (the default refusal)"
        ));
    }
    for (outcome, what) in [
        ("unauthenticated", "without a valid key"),
        (
            "bad-request",
            "because they did not say what the contract needs to decide them",
        ),
        (
            "unavailable",
            "because the gateway could not check them against the ledger",
        ),
    ] {
        if let Some(n) = outcomes.get(outcome).filter(|n| **n > 0) {
            refusals.push(format!("{n} {what}"));
        }
    }
    let mut text = format!(
        "{}: {} allowed{}",
        count(records, "request", "requests"),
        allowed,
        if permits.is_empty() {
            String::new()
        } else {
            format!(" ({})", permits.join(", "))
        }
    );
    if denied > 0 {
        text.push_str(&format!("; {denied} refused: {}", refusals.join("; ")));
        if by_clause + undecided > denied {
            text.push_str(" (some requests were refused by more than one clause)");
        }
    }
    text.push('.');
    text.push_str(&served(&outcomes));
    text
}

/// What became of the allowed calls a gateway recorded, as a sentence (empty without any).
fn served(outcomes: &std::collections::BTreeMap<&str, u64>) -> String {
    let served: Vec<String> = [
        ("served", "answered by the model"),
        ("rate-limited", "refused over a capacity term (429)"),
        ("upstream-error", "failed at the provider"),
        ("drift", "answered by another model than the one in service"),
        ("aborted", "abandoned by the caller"),
    ]
    .iter()
    .filter_map(|(o, what)| {
        outcomes
            .get(o)
            .filter(|n| **n > 0)
            .map(|n| format!("{n} {what}"))
    })
    .collect();
    if served.is_empty() {
        String::new()
    } else {
        format!(" Of the allowed calls: {}.", and_list(&served))
    }
}

/// Links to the entries that approved a version: `approved on D by A and B (entries 19 and 20)`.
pub(crate) fn approvals(state: &domain::State, offer: &Offer) -> String {
    let parties: Vec<String> = offer
        .approvals
        .iter()
        .map(|a| party_link(state, &a.party))
        .collect();
    let at = offer.approvals.iter().map(|a| a.at).max();
    let entries: Vec<u64> = offer.approvals.iter().map(|a| a.entry).collect();
    format!(
        "approved{} by {} ({})",
        at.map_or(String::new(), |at| format!(" on {}", day(at))),
        and_list(&parties),
        entry_links(&entries)
    )
}

/// The standing sentence of a registered version's notice.
pub(crate) fn notice(offer: &Offer) -> String {
    format!(
        "Notice given {} ({}), {} days before service; the contract asks {}.",
        day(offer.notice_given),
        entry_link(offer.entry, "the vendor's notice"),
        offer.notice_days,
        count(u64::from(offer.notice_required), "day", "days")
    )
}
