//! Incidents through `apply`: who may report, the clocks they start, the rollback a grave one
//! sets off, notification and closing.

use domain::Kind;
use domain::incident::clocks::{DutyStatus, duties};
use serde_json::{Value, json};

use super::updates::{CONTRACT, DAY, Ledger, T0, at};

const PINNED: &str =
    "fallback = { rule = \"pinned\", line = \"frontier-2\", version = \"2026.6.1\" }";

/// A ledger whose workbench runs 2026.7.0 after 2026.6.1, both approved, with the rollback
/// module's `fallback` line replaced by `rollback`; the time they went into service.
fn in_service(rollback: &str) -> (Ledger, i64) {
    let mut ledger = Ledger::with_changed_contract(PINNED, rollback);
    ledger.attest(T0);
    let now = T0 + 100 * DAY;
    for version in ["2026.6.1", "2026.7.0"] {
        ledger.register_version(version, 50, T0).unwrap();
    }
    for version in ["2026.6.1", "2026.7.0"] {
        ledger
            .evidence(
                "lab-gb",
                "lab-gb",
                version,
                version,
                0.01,
                now - DAY,
                now - 3600,
            )
            .unwrap();
    }
    for version in ["2026.6.1", "2026.7.0"] {
        ledger.approve("agency-x", "agency", version, now).unwrap();
        ledger
            .approve("auditor-y", "auditor", version, now)
            .unwrap();
    }
    ledger.activate("2026.6.1", now).unwrap();
    ledger.activate("2026.7.0", now + 60).unwrap();
    (ledger, now + 60)
}

fn report(party: &str, id: &str, severity: &str, aware: i64, time: i64) -> Value {
    json!({
        "party": party, "contract": CONTRACT, "incidents": [id], "deployment": "workbench",
        "severity": severity, "harms": ["fundamental-rights"],
        "occurred_at": at(aware - 1800), "aware_at": at(aware),
        "summary": "Captions misidentified civilian vehicles as military.",
        "affected": ["civilians in the operating area"], "atlas": ["AML.T0043"],
        "at": at(time)
    })
}

fn active(ledger: &Ledger) -> String {
    ledger
        .state
        .deployment(&format!("{CONTRACT}/workbench"))
        .unwrap()
        .active
        .clone()
        .unwrap()
}

fn status_of(ledger: &Ledger, id: &str, duty: &str, now: i64) -> DutyStatus {
    let incident = ledger.state.incident(&format!("{CONTRACT}/{id}")).unwrap();
    let all = duties(&ledger.state, incident, now);
    all.into_iter()
        .find(|d| d.id == duty)
        .unwrap_or_else(|| panic!("no duty `{duty}`"))
        .status
}

#[test]
fn a_serious_incident_rolls_back_at_once_and_starts_the_contracts_and_the_eu_clocks() {
    let (mut ledger, since) =
        in_service("fallback = { rule = \"last-approved\" }\ntrigger_severity = \"serious\"");
    assert_eq!(active(&ledger), "frontier-2@2026.7.0");
    let aware = since + 3600;
    let reported = ledger.ok(
        Kind::IncidentReported,
        report("acme-ai", "inc-7", "serious", aware, aware + 600),
        &["acme"],
    );
    // The report itself rolled the deployment back: the contract says automatic.
    assert_eq!(active(&ledger), "frontier-2@2026.6.1");
    let incident = ledger.state.incident(&format!("{CONTRACT}/inc-7")).unwrap();
    let step = incident.rollback.as_ref().unwrap();
    assert_eq!(
        (
            step.entry,
            step.automatic,
            step.from.as_str(),
            step.to.as_str()
        ),
        (reported, true, "frontier-2@2026.7.0", "frontier-2@2026.6.1")
    );
    assert_eq!(incident.model.as_deref(), Some("frontier-2@2026.7.0"));
    let now = aware + 2 * 3600;
    assert!(matches!(
        status_of(&ledger, "inc-7", "rollback", now),
        DutyStatus::Met { entry, .. } if entry == reported
    ));
    // The contract: the vendor tells the agency within 72 hours; the EU AI Act: the vendor
    // reports to the authority within 15 days.
    assert_eq!(
        status_of(&ledger, "inc-7", "step/agency-x", now),
        DutyStatus::Due { left: 70 * 3600 }
    );
    assert!(matches!(
        status_of(&ledger, "inc-7", "eu-ai-act/art-73-2", now),
        DutyStatus::Due { .. }
    ));
    let told = ledger.ok(
        Kind::IncidentNotified,
        json!({"party": "acme-ai", "contract": CONTRACT, "incident": "inc-7", "to": "agency-x",
               "summary": "Sent the incident report to the programme office.", "at": at(aware + 10 * 3600)}),
        &["acme"],
    );
    assert_eq!(
        status_of(&ledger, "inc-7", "step/agency-x", aware + 11 * 3600),
        DutyStatus::Met {
            entry: told,
            at: aware + 10 * 3600,
            early_by: 62 * 3600
        }
    );
    // Twenty days on, nothing sent to the authority: overdue, then met late.
    let later = aware + 20 * DAY;
    assert!(matches!(
        status_of(&ledger, "inc-7", "eu-ai-act/art-73-2", later),
        DutyStatus::Overdue { by } if by > 4 * DAY && by < 6 * DAY
    ));
    let late = ledger.ok(
        Kind::IncidentNotified,
        json!({"party": "acme-ai", "contract": CONTRACT, "incident": "inc-7", "to": "eu-ai-act/art-73-2",
               "summary": "Reported to the market surveillance authority, ref. MSA-2026-0412.", "at": at(later)}),
        &["acme"],
    );
    assert!(matches!(
        status_of(&ledger, "inc-7", "eu-ai-act/art-73-2", later + 60),
        DutyStatus::MetLate { entry, .. } if entry == late
    ));

    // A report by a party outside the contract is refused; an authority's is taken, and adds
    // to the same incident.
    let refused = ledger
        .submit(
            Kind::IncidentReported,
            report("lab-gb", "inc-7", "serious", later, later + 60),
            Vec::new(),
            &["lab-gb"],
        )
        .unwrap_err();
    assert!(refused.contains("incident-party"), "{refused}");
    ledger.ok(
        Kind::IncidentReported,
        report("uk-authority", "inc-7", "serious", later, later + 60),
        &["uk"],
    );
    let incident = ledger.state.incident(&format!("{CONTRACT}/inc-7")).unwrap();
    assert_eq!(incident.reports.len(), 2);

    // Closed with its review; nothing more is added to a closed incident.
    ledger.ok(
        Kind::IncidentClosed,
        json!({"party": "agency-x", "contract": CONTRACT, "incident": "inc-7",
               "review": "Root cause: a fine-tune regressed on low-light imagery.",
               "remediation": "2026.7.0 withdrawn; evaluation suite extended.", "at": at(later + 120)}),
        &["agency"],
    );
    let refused = ledger
        .submit(
            Kind::IncidentUpdated,
            json!({"party": "agency-x", "contract": CONTRACT, "incident": "inc-7", "note": "more", "at": at(later + 180)}),
            Vec::new(),
            &["agency"],
        )
        .unwrap_err();
    assert!(refused.contains("is closed"), "{refused}");
}

#[test]
fn a_minor_incident_rolls_nothing_back_and_an_approver_answers_a_grave_one() {
    let (mut ledger, since) = in_service(
        "fallback = { rule = \"last-approved\" }\ntrigger_severity = \"serious\"\napproval = { by = \"approver\", party = \"auditor-y\" }",
    );
    let aware = since + 3600;
    ledger.ok(
        Kind::IncidentReported,
        report("agency-x", "inc-8", "minor", aware, aware + 60),
        &["agency"],
    );
    assert_eq!(active(&ledger), "frontier-2@2026.7.0");
    // Raised to serious: the approver owes the rollback within the module's 4 hours.
    ledger.ok(
        Kind::IncidentUpdated,
        json!({"party": "agency-x", "contract": CONTRACT, "incident": "inc-8", "severity": "serious",
               "note": "Two more misidentifications confirmed.", "at": at(aware + 120)}),
        &["agency"],
    );
    assert_eq!(active(&ledger), "frontier-2@2026.7.0", "not automatic");
    assert_eq!(
        status_of(&ledger, "inc-8", "rollback", aware + 3600),
        DutyStatus::Due { left: 3 * 3600 }
    );
    let rolled = ledger.ok(
        Kind::DeploymentRolledBack,
        json!({"party": "auditor-y", "contract": CONTRACT, "deployment": "workbench",
               "reason": "incident inc-8", "incident": "inc-8", "at": at(aware + 2 * 3600)}),
        &["auditor"],
    );
    assert_eq!(active(&ledger), "frontier-2@2026.6.1");
    assert_eq!(
        status_of(&ledger, "inc-8", "rollback", aware + 3 * 3600),
        DutyStatus::Met {
            entry: rolled,
            at: aware + 2 * 3600,
            early_by: 2 * 3600
        }
    );
}

#[test]
fn a_report_names_known_harms_techniques_and_times_in_order() {
    let (mut ledger, since) = in_service(PINNED);
    let aware = since + 3600;
    let cases: [(&str, Value, &str); 5] = [
        ("harms", json!(["bad-vibes"]), "harm `bad-vibes` is neither"),
        ("atlas", json!(["T0043"]), "not a MITRE ATLAS technique id"),
        ("aware_at", json!(at(aware + 7200)), "incident-time"),
        ("incidents", json!(["../x"]), "incident id"),
        ("usage", json!([{"entry": 3}]), "is not a usage batch"),
    ];
    for (field, value, expected) in cases {
        let mut bad = report("agency-x", "inc-9", "serious", aware, aware + 60);
        bad[field] = value;
        let refused = ledger
            .submit(Kind::IncidentReported, bad, Vec::new(), &["agency"])
            .unwrap_err();
        assert!(refused.contains(expected), "{field}: {refused}");
    }
    // The contract's own harm categories are harms too.
    let mut own = report("agency-x", "inc-9", "serious", aware, aware + 60);
    own["harms"] = json!(["unlawful-disclosure"]);
    ledger.ok(Kind::IncidentReported, own, &["agency"]);
}

#[test]
fn a_regime_starts_no_clock_for_awareness_before_it_applies() {
    let (mut ledger, since) = in_service(PINNED);
    // Became aware on 30 July 2026, three days before Art. 73 applied; reported now.
    let before = domain::updates::time::parse_instant("aware", "2026-07-30T09:00:00Z").unwrap();
    ledger.ok(
        Kind::IncidentReported,
        report("acme-ai", "inc-10", "serious", before, since + 60),
        &["acme"],
    );
    assert!(matches!(
        status_of(&ledger, "inc-10", "eu-ai-act/art-73-2", since + 120),
        DutyStatus::NotApplicable { why } if why.contains("before the rule applied (2026-08-02)")
    ));
    // After it applies, a report starts the clock: aware on Thursday 10 December 2026, ten
    // days end on a Sunday, so the period runs to the end of Monday 21 December in Brussels.
    ledger.ok(
        Kind::IncidentReported,
        report("acme-ai", "inc-11", "death", since, since + 60),
        &["acme"],
    );
    let due = domain::updates::time::parse_instant("due", "2026-12-21T23:00:00Z").unwrap();
    assert_eq!(
        status_of(&ledger, "inc-11", "eu-ai-act/art-73-4", since + 120),
        DutyStatus::Due {
            left: due - (since + 120)
        }
    );
}

const ALLOCATION: &str = r#"version = "1.0.0"
findings_by = ["auditor-y"]

[components]
model = { frontier-labs = 100 }
integration = { acme-ai = 100 }
integrator-system = { integrator-z = 100 }
agency-use = { agency-x = 100 }
data = { agency-x = 50, acme-ai = 50 }

[caps]
acme-ai = { currency = "USD", per_incident = 2000000, aggregate = 3000000 }
agency-x = { currency = "USD", per_incident = 5000000, aggregate = 5000000 }

[[suppliers]]
party = "frontier-labs"
through = "acme-ai"
cap = { currency = "USD", per_incident = 1000000, aggregate = 1000000 }

[[suppliers]]
party = "integrator-z"
through = "agency-x"

[[categories]]"#;

/// A party, what it owes, and what it may recover from whom.
type Owed = (String, u64, Option<(String, u64)>);

#[test]
fn a_finding_allocates_shares_and_caps_by_root_cause_through_the_supply_chain() {
    let mut ledger =
        Ledger::with_changed_contract("version = \"1.0.0\"\n\n[[categories]]", ALLOCATION);
    ledger.register("frontier-labs", "supplier", "US", "frontier");
    ledger.register("integrator-z", "integrator", "US", "integrator");
    ledger.attest(T0);
    ledger.register_version("2026.6.1", 50, T0).unwrap();
    let now = T0 + 100 * DAY;
    ledger
        .evidence(
            "lab-gb",
            "lab-gb",
            "2026.6.1",
            "2026.6.1",
            0.01,
            now - DAY,
            now - 3600,
        )
        .unwrap();
    ledger
        .approve("agency-x", "agency", "2026.6.1", now)
        .unwrap();
    ledger
        .approve("auditor-y", "auditor", "2026.6.1", now)
        .unwrap();
    ledger.activate("2026.6.1", now).unwrap();
    let find = |ledger: &mut Ledger,
                id: &str,
                party: &str,
                key: &str,
                root: &str,
                damages: u64,
                currency: &str| {
        ledger.submit(
            Kind::LiabilityFound,
            json!({"party": party, "contract": CONTRACT, "incident": id, "root_cause": root,
                   "harm": "fundamental-rights", "damages": damages, "currency": currency,
                   "summary": "Audit of the incident.", "at": at(now + 600)}),
            Vec::new(),
            &[key],
        )
    };
    let allocation = |ledger: &Ledger, id: &str| {
        let incident = ledger.state.incident(&format!("{CONTRACT}/{id}")).unwrap();
        let a = domain::incident::liability::allocate(&ledger.state, incident).unwrap();
        let parts: Vec<Owed> = a
            .parts
            .iter()
            .map(|p| {
                (
                    p.party.clone(),
                    p.owed,
                    p.recoverable.as_ref().map(|r| (r.from.clone(), r.amount)),
                )
            })
            .collect();
        (parts, a.uncovered)
    };
    let s = |v: &str| v.to_owned();
    let cases: [(&str, u64, Vec<Owed>, u64); 5] = [
        // The model's fault is its supplier's: the vendor bears it toward the contract up to
        // its per-incident cap, and may recover up to the supplier's cap from it.
        (
            "model",
            3_000_000,
            vec![(
                s("acme-ai"),
                2_000_000,
                Some((s("frontier-labs"), 1_000_000)),
            )],
            1_000_000,
        ),
        // The vendor's aggregate cap has 1,000,000 left.
        (
            "integration",
            1_500_000,
            vec![(s("acme-ai"), 1_000_000, None)],
            500_000,
        ),
        // Shared: the agency's half, and nothing left of the vendor's aggregate.
        (
            "data",
            800_000,
            vec![(s("acme-ai"), 0, None), (s("agency-x"), 400_000, None)],
            400_000,
        ),
        (
            "agency-use",
            1_000_000,
            vec![(s("agency-x"), 1_000_000, None)],
            0,
        ),
        // The integrator's fault is borne by the agency that engaged it, recoverable in full.
        (
            "integrator-system",
            600_000,
            vec![(s("agency-x"), 600_000, Some((s("integrator-z"), 600_000)))],
            0,
        ),
    ];
    for (n, (root, damages, parts, uncovered)) in cases.into_iter().enumerate() {
        let id = format!("inc-{}", 20 + n);
        ledger.ok(
            Kind::IncidentReported,
            report("agency-x", &id, "serious", now + 60, now + 120),
            &["agency"],
        );
        find(
            &mut ledger,
            &id,
            "auditor-y",
            "auditor",
            root,
            damages,
            "USD",
        )
        .unwrap();
        assert_eq!(allocation(&ledger, &id), (parts, uncovered), "{root}");
    }
    // Only the parties the module names find; once per incident; in the caps' currency.
    ledger.ok(
        Kind::IncidentReported,
        report("agency-x", "inc-30", "serious", now + 60, now + 120),
        &["agency"],
    );
    let refused = find(
        &mut ledger,
        "inc-30",
        "agency-x",
        "agency",
        "model",
        1,
        "USD",
    )
    .unwrap_err();
    assert!(
        refused.contains("whose findings the contract's liability module accepts"),
        "{refused}"
    );
    let refused = find(
        &mut ledger,
        "inc-30",
        "auditor-y",
        "auditor",
        "model",
        1,
        "EUR",
    )
    .unwrap_err();
    assert!(refused.contains("the contract's caps in USD"), "{refused}");
    let refused = find(
        &mut ledger,
        "inc-20",
        "auditor-y",
        "auditor",
        "model",
        1,
        "USD",
    )
    .unwrap_err();
    assert!(refused.contains("liability-once"), "{refused}");
}

#[test]
fn the_next_version_waits_for_the_serious_incident_to_be_closed_where_the_contract_asks() {
    let mut ledger = Ledger::with_changed_contract(
        "approvals_required = 2",
        "approvals_required = 2\nincidents_closed = true",
    );
    ledger.attest(T0);
    for version in ["2026.6.1", "2026.7.0"] {
        ledger.register_version(version, 50, T0).unwrap();
    }
    let now = T0 + 100 * DAY;
    for version in ["2026.6.1", "2026.7.0"] {
        ledger
            .evidence(
                "lab-gb",
                "lab-gb",
                version,
                version,
                0.01,
                now - DAY,
                now - 3600,
            )
            .unwrap();
    }
    ledger
        .approve("agency-x", "agency", "2026.6.1", now)
        .unwrap();
    ledger
        .approve("auditor-y", "auditor", "2026.6.1", now)
        .unwrap();
    ledger.activate("2026.6.1", now).unwrap();
    ledger.ok(
        Kind::IncidentReported,
        report("agency-x", "inc-40", "serious", now + 60, now + 120),
        &["agency"],
    );
    let refused = ledger
        .approve("agency-x", "agency", "2026.7.0", now + 180)
        .unwrap_err();
    assert!(
        refused.contains("serious incidents of `frontier-2` are closed first; open: inc-40"),
        "{refused}"
    );
    let closed = ledger.ok(
        Kind::IncidentClosed,
        json!({"party": "agency-x", "contract": CONTRACT, "incident": "inc-40",
               "review": "Reviewed.", "remediation": "Fixed in 2026.7.0.", "at": at(now + 240)}),
        &["agency"],
    );
    ledger
        .approve("agency-x", "agency", "2026.7.0", now + 300)
        .unwrap();
    let gate =
        domain::updates::evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.7.0", now + 300)
            .unwrap();
    let requirement = gate
        .requirements
        .iter()
        .find(|r| r.id == "incidents-closed")
        .unwrap();
    assert!(
        requirement.met && requirement.by == [closed],
        "{requirement:?}"
    );
}

fn designate(
    ledger: &mut Ledger,
    id: &str,
    subject: Value,
    scope: &[&str],
    time: i64,
) -> Result<u64, String> {
    ledger.submit(
        Kind::DesignationIssued,
        json!({"party": "uk-authority", "designation": id, "subject": subject,
               "justification": {"grounds": ["compromised-supply-chain"],
                                 "summary": "Model weights were served from an unvetted mirror."},
               "scope": scope, "effective_at": at(time), "appeal_days": 30, "at": at(time)}),
        Vec::new(),
        &["uk"],
    )
}

#[test]
fn a_designation_suspends_where_the_contract_says_blocks_approvals_and_an_upheld_appeal_lifts_it() {
    let (mut ledger, since) =
        in_service("fallback = { rule = \"last-approved\" }\non_designation = \"suspend\"");
    ledger.register_version("2026.8.0", 0, since).unwrap();
    let gate = |ledger: &Ledger, time: i64| {
        let gate =
            domain::updates::evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.8.0", time)
                .unwrap();
        gate.requirements
            .into_iter()
            .find(|r| r.id == "designations")
            .unwrap()
    };
    assert!(gate(&ledger, since + 60).met);

    // Out of scope (the contract is a US one), nothing happens.
    designate(
        &mut ledger,
        "scr-1",
        json!({"kind": "party", "id": "acme-ai"}),
        &["GB"],
        since + 60,
    )
    .unwrap();
    assert_eq!(active(&ledger), "frontier-2@2026.7.0");
    assert!(gate(&ledger, since + 120).met);

    // In scope: the running deployment is suspended on the designation's own entry, and the
    // next version's approval is refused while it is in force.
    let issued = designate(
        &mut ledger,
        "scr-2",
        json!({"kind": "party", "id": "acme-ai"}),
        &["US"],
        since + 120,
    )
    .unwrap();
    let deployment = ledger
        .state
        .deployment(&format!("{CONTRACT}/workbench"))
        .unwrap();
    assert_eq!(deployment.active, None);
    assert_eq!(deployment.events.last().unwrap().entry, issued);
    let blocked = gate(&ledger, since + 180);
    assert!(
        !blocked.met
            && blocked
                .detail
                .contains("designation `scr-2` of party `acme-ai`"),
        "{blocked:?}"
    );
    let refused = ledger
        .approve("agency-x", "agency", "2026.8.0", since + 180)
        .unwrap_err();
    assert!(refused.contains("scr-2"), "{refused}");

    // Only the designated party appeals, within the window; an upheld appeal lifts it.
    let appeal = |ledger: &mut Ledger, party: &str, key: &str, time: i64| {
        ledger.submit(
            Kind::DesignationAppealed,
            json!({"party": party, "designation": "scr-2", "grounds": "The mirror was ours and vetted.", "at": at(time)}),
            Vec::new(),
            &[key],
        )
    };
    let refused = appeal(&mut ledger, "agency-x", "agency", since + 240).unwrap_err();
    assert!(refused.contains("only the designated party"), "{refused}");
    appeal(&mut ledger, "acme-ai", "acme", since + 240).unwrap();
    ledger.ok(
        Kind::DesignationDecided,
        json!({"party": "uk-authority", "designation": "scr-2", "upheld": true,
               "reasons": "The mirror was the vendor's own, under its controls.", "at": at(since + 300)}),
        &["uk"],
    );
    assert!(gate(&ledger, since + 360).met);
    let lifted = ledger.state.designation("scr-2").unwrap();
    assert!(lifted.lifted.is_some() && lifted.decision.as_ref().unwrap().upheld);
    // A deployment suspended stays so until an agency activates a version again.
    ledger.activate("2026.7.0", since + 420).unwrap();
    assert_eq!(active(&ledger), "frontier-2@2026.7.0");
}

#[test]
fn by_default_a_designation_blocks_approvals_and_lets_the_deployment_run() {
    let (mut ledger, since) = in_service(PINNED);
    designate(
        &mut ledger,
        "scr-3",
        json!({"kind": "model-line", "line": "frontier-2"}),
        &["US"],
        since + 60,
    )
    .unwrap();
    assert_eq!(active(&ledger), "frontier-2@2026.7.0");
    let late = designate(
        &mut ledger,
        "scr-4",
        json!({"kind": "party", "id": "nobody"}),
        &["US"],
        since + 60,
    )
    .unwrap_err();
    assert!(late.contains("party `nobody` is not registered"), "{late}");
    // A designation is logged when it takes effect, not before.
    let early = ledger
        .submit(
            Kind::DesignationIssued,
            json!({"party": "uk-authority", "designation": "scr-5", "subject": {"kind": "party", "id": "acme-ai"},
                   "justification": {"grounds": ["sanctions"], "summary": "Listed."},
                   "scope": ["US"], "effective_at": at(since + DAY), "appeal_days": 30, "at": at(since + 120)}),
            Vec::new(),
            &["uk"],
        )
        .unwrap_err();
    assert!(
        early.contains("log a designation when it takes effect"),
        "{early}"
    );
    let window = ledger
        .submit(
            Kind::DesignationAppealed,
            json!({"party": "acme-ai", "designation": "scr-3", "grounds": "x", "at": at(since + 40 * DAY)}),
            Vec::new(),
            &["acme"],
        )
        .unwrap_err();
    assert!(window.contains("designation-appeal-window"), "{window}");
}

#[test]
fn one_report_covers_several_incidents_and_one_rollback_serves_them_all() {
    let (mut ledger, since) =
        in_service("fallback = { rule = \"last-approved\" }\ntrigger_severity = \"serious\"");
    let mut both = report("agency-x", "inc-50", "serious", since + 60, since + 120);
    both["incidents"] = json!(["inc-50", "inc-51"]);
    let entry = ledger.ok(Kind::IncidentReported, both, &["agency"]);
    assert_eq!(active(&ledger), "frontier-2@2026.6.1");
    for id in ["inc-50", "inc-51"] {
        let incident = ledger.state.incident(&format!("{CONTRACT}/{id}")).unwrap();
        assert_eq!(incident.reports[0].entry, entry);
        assert_eq!(incident.rollback.as_ref().unwrap().entry, entry, "{id}");
    }
    let deployment = ledger
        .state
        .deployment(&format!("{CONTRACT}/workbench"))
        .unwrap();
    let rollbacks = deployment
        .events
        .iter()
        .filter(|e| e.entry == entry)
        .count();
    assert_eq!(rollbacks, 1, "one step back for the report");
}
