//! Update governance through `apply`: the gate's scenarios as data, approvals, activation and
//! rollback. Each scenario changes one thing in a ledger whose evidence meets the gate, and must
//! leave the gate unmet with the right reason.

use attest::{Statement, Subject};
use domain::updates::{VersionStatus, evaluate, time};
use domain::{Entry, Kind, State, apply};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{keyid, package_files, text};

pub(super) const DAY: i64 = 86_400;
/// When the scenarios start: 2026-09-01T00:00:00Z.
pub(super) const T0: i64 = 1_788_220_800;
pub(super) const CONTRACT: &str = "imagery-assistant";

pub(super) fn at(seconds: i64) -> String {
    time::format_instant(seconds)
}

fn digest_of(name: &str) -> String {
    sha2::Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A ledger state built entry by entry, with signers named by test key.
pub(super) struct Ledger {
    pub(super) state: State,
    index: u64,
}

impl Ledger {
    pub(super) fn submit(
        &mut self,
        kind: Kind,
        predicate: Value,
        subjects: Vec<Subject>,
        signers: &[&str],
    ) -> Result<u64, String> {
        let subjects = if subjects.is_empty() {
            vec![Subject {
                name: "test".into(),
                digest: [("sha256".to_owned(), "00".repeat(32))].into(),
            }]
        } else {
            subjects
        };
        let statement = Statement::new(subjects, &kind.predicate_type(), predicate);
        let signers: Vec<String> = signers.iter().map(|name| keyid(name)).collect();
        let entry = Entry {
            index: self.index,
            statement: &statement,
            signers: &signers,
        };
        let changes = apply(&self.state, &entry).map_err(|r| r.to_string())?;
        self.state.commit(&changes);
        self.index += 1;
        Ok(self.index - 1)
    }

    pub(super) fn ok(&mut self, kind: Kind, predicate: Value, signers: &[&str]) -> u64 {
        self.submit(kind, predicate, Vec::new(), signers)
            .unwrap_or_else(|e| panic!("{} rejected: {e}", kind.name()))
    }

    pub(super) fn register(&mut self, party: &str, role: &str, jurisdiction: &str, key: &str) {
        self.ok(
            Kind::PartyRegistered,
            json!({"party": party, "name": party, "roles": [role], "jurisdictions": [jurisdiction], "keys": [text(key)]}),
            &["op"],
        );
    }

    /// A ledger with the parties, the fixture contract (`fallback` replaced into its rollback
    /// module) and the UK authority's recognition of `lab-gb`.
    pub(super) fn with_contract(fallback: &str) -> Ledger {
        Ledger::with_changed_contract(
            "fallback = { rule = \"pinned\", line = \"frontier-2\", version = \"2026.6.1\" }",
            fallback,
        )
    }

    pub(super) fn with_changed_contract(from: &str, to: &str) -> Ledger {
        let mut ledger = Ledger {
            state: State::default(),
            index: 0,
        };
        ledger.ok(
            Kind::PartyRegistered,
            json!({"party": "operator", "name": "Operator", "roles": ["operator"], "keys": [text("op")]}),
            &["op"],
        );
        ledger.register("agency-x", "agency", "US", "agency");
        ledger.register("acme-ai", "vendor", "US", "acme");
        ledger.register("auditor-y", "auditor", "US", "auditor");
        ledger.register("lab-gb", "lab", "GB", "lab-gb");
        ledger.register("lab-fr", "lab", "FR", "lab-fr");
        ledger.register("uk-authority", "overseer", "GB", "uk");
        let files = package_files(from, to);
        let digest = domain::contract::package_digest(&files);
        ledger.ok(
            Kind::ContractPublished,
            json!({"contract": CONTRACT, "version": "1.0.0", "digest": digest, "files": files}),
            &["agency", "acme", "auditor"],
        );
        ledger.ok(
            Kind::RecognitionPublished,
            json!({"authority": "uk-authority", "jurisdiction": "GB", "labs": ["lab-gb"], "suites": ["cyber-uplift-v3"], "min_assurance": "third-party", "max_evidence_age_days": 180, "at": at(T0)}),
            &["uk"],
        );
        ledger
    }

    pub(super) fn register_version(
        &mut self,
        version: &str,
        notice_days: i64,
        time: i64,
    ) -> Result<u64, String> {
        self.submit(
            Kind::ModelVersionRegistered,
            json!({
                "vendor": "acme-ai", "line": "frontier-2", "version": version, "form": "api",
                "digest": format!("sha256:{}", digest_of(version)), "api_version": format!("frontier-2-{version}"),
                "release_notes": "Improved refusals.", "service_from": time::format_day(time + notice_days * DAY),
                "contracts": [CONTRACT], "at": at(time)
            }),
            Vec::new(),
            &["acme"],
        )
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one evidence entry, field by field"
    )]
    pub(super) fn evidence(
        &mut self,
        lab: &str,
        key: &str,
        version: &str,
        subject_version: &str,
        pass_rate: f64,
        evaluated: i64,
        time: i64,
    ) -> Result<u64, String> {
        self.submit(
            Kind::EvidenceRecorded,
            json!({
                "lab": lab, "model": {"line": "frontier-2", "version": version},
                "suite": "cyber-uplift-v3", "harness": {"name": "inspect-ai", "version": "0.3.285"},
                "metrics": {"pass_rate": pass_rate}, "samples": 200, "status": "success",
                "evaluatedAt": at(evaluated), "assurance": "third-party", "producedFor": "GB", "at": at(time)
            }),
            vec![
                Subject { name: format!("frontier-2@{subject_version}"), digest: [("sha256".to_owned(), digest_of(subject_version))].into() },
                Subject { name: "eval.json".into(), digest: [("sha256".to_owned(), digest_of("log"))].into() },
            ],
            &[key],
        )
    }

    pub(super) fn attest(&mut self, time: i64) {
        self.ok(
            Kind::HostingAttested,
            json!({"party": "acme-ai", "contract": CONTRACT, "environment": "government-cloud", "report": format!("sha256:{}", digest_of("report")), "description": "Dedicated tenant, region us-gov-east", "at": at(time)}),
            &["acme"],
        );
    }

    pub(super) fn approve(
        &mut self,
        approver: &str,
        key: &str,
        version: &str,
        time: i64,
    ) -> Result<u64, String> {
        self.submit(
            Kind::VersionApproved,
            json!({"approver": approver, "contract": CONTRACT, "model": {"line": "frontier-2", "version": version}, "at": at(time)}),
            Vec::new(),
            &[key],
        )
    }

    pub(super) fn activate(&mut self, version: &str, time: i64) -> Result<u64, String> {
        self.submit(
            Kind::DeploymentActivated,
            json!({"party": "agency-x", "contract": CONTRACT, "deployment": "workbench", "model": {"line": "frontier-2", "version": version}, "at": at(time)}),
            Vec::new(),
            &["agency"],
        )
    }

    pub(super) fn status(&self, version: &str) -> VersionStatus {
        self.state
            .model(&format!("frontier-2@{version}"))
            .unwrap()
            .offers[CONTRACT]
            .status
    }
}

/// One gate scenario: the base case with one thing changed.
#[derive(Clone, Copy)]
struct Scenario {
    lab: (&'static str, &'static str),
    evidence_for: &'static str,
    pass_rate: f64,
    evaluated_days_ago: i64,
    revoke_lab_key: bool,
    approvers: &'static [(&'static str, &'static str)],
    notice_days: i64,
    attest: bool,
}

const MET: Scenario = Scenario {
    lab: ("lab-gb", "lab-gb"),
    evidence_for: "2026.7.0",
    pass_rate: 0.01,
    evaluated_days_ago: 10,
    revoke_lab_key: false,
    approvers: &[("agency-x", "agency"), ("auditor-y", "auditor")],
    notice_days: 50,
    attest: true,
};

/// Runs a scenario; returns the ledger, the gate's time, and the rejections of approvals.
fn run(scenario: Scenario) -> (Ledger, i64, Vec<String>) {
    let mut ledger = Ledger::with_contract("fallback = { rule = \"last-approved\" }");
    ledger.register_version("2026.6.0", 60, T0).unwrap();
    ledger
        .register_version("2026.7.0", scenario.notice_days, T0)
        .unwrap();
    if scenario.attest {
        ledger.attest(T0);
    }
    let now = T0 + 100 * DAY;
    let (lab, key) = scenario.lab;
    let version = scenario.evidence_for;
    ledger
        .evidence(
            lab,
            key,
            version,
            version,
            scenario.pass_rate,
            now - scenario.evaluated_days_ago * DAY,
            now - 3600,
        )
        .unwrap();
    if scenario.revoke_lab_key {
        ledger.ok(
            Kind::KeyRevoked,
            json!({"party": "lab-gb", "keyid": keyid("lab-gb"), "reason": "key compromised"}),
            &["op"],
        );
    }
    let rejections = scenario
        .approvers
        .iter()
        .filter_map(|(party, key)| ledger.approve(party, key, "2026.7.0", now).err())
        .collect();
    (ledger, now, rejections)
}

#[test]
fn the_full_set_of_evidence_approvals_notice_and_attestation_meets_the_gate() {
    let (ledger, now, rejections) = run(MET);
    assert_eq!(rejections, Vec::<String>::new());
    let gate = evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
    assert!(gate.met(), "{}", gate.unmet_summary());
    let ids: Vec<&str> = gate.requirements.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "standing",
            "notice",
            "evaluation:cyber-uplift-v3/pass_rate",
            "hosting-attestation",
            "designations",
            "approvals"
        ]
    );
    let evaluation = &gate.requirements[2];
    assert_eq!(evaluation.by, vec![12]);
    assert!(
        evaluation
            .detail
            .contains("met by entry 12 from lab `lab-gb` (third-party, produced for GB"),
        "{}",
        evaluation.detail
    );
    // The contract is a US one; the evidence was produced for GB: a duplicate test avoided.
    assert_eq!(evaluation.recognised_from.as_deref(), Some("GB"));
    assert_eq!(gate.requirements[5].by, vec![13, 14]);
    assert_eq!(ledger.status("2026.7.0"), VersionStatus::Approved);
}

#[test]
fn each_missing_piece_leaves_the_gate_unmet_with_its_reason() {
    let cases: [(&str, Scenario, &str, &str); 8] = [
        (
            "evidence from an unrecognised lab",
            Scenario {
                lab: ("lab-fr", "lab-fr"),
                ..MET
            },
            "evaluation:cyber-uplift-v3/pass_rate",
            "entry 12 is from lab `lab-fr`, which no authority of US, GB recognises",
        ),
        (
            "evidence too old",
            Scenario {
                evaluated_days_ago: 120,
                ..MET
            },
            "evaluation:cyber-uplift-v3/pass_rate",
            "(120 days old); at most 90 days is accepted",
        ),
        (
            "a result below the threshold",
            Scenario {
                pass_rate: 0.05,
                ..MET
            },
            "evaluation:cyber-uplift-v3/pass_rate",
            "entry 12: pass_rate = 0.05, above the maximum of 0.02",
        ),
        (
            "evidence for another version",
            Scenario {
                evidence_for: "2026.6.0",
                ..MET
            },
            "evaluation:cyber-uplift-v3/pass_rate",
            "no evidence for `cyber-uplift-v3` on frontier-2@2026.7.0 (entry 12 is for 2026.6.0)",
        ),
        (
            "evidence signed by a key since revoked",
            Scenario {
                revoke_lab_key: true,
                ..MET
            },
            "evaluation:cyber-uplift-v3/pass_rate",
            "of `lab-gb`, revoked at entry 13 (key compromised)",
        ),
        (
            "approvals short of k",
            Scenario {
                approvers: &[("agency-x", "agency")],
                ..MET
            },
            "approvals",
            "2 of 2 approvers must approve; 1 approved (`agency-x` (entry 13)); awaiting `auditor-y`",
        ),
        (
            "notice too short",
            Scenario {
                notice_days: 20,
                ..MET
            },
            "notice",
            "notice given 2026-09-01 for service from 2026-09-21: 20 days; the contract requires 45",
        ),
        (
            "no hosting attestation",
            Scenario {
                attest: false,
                ..MET
            },
            "hosting-attestation",
            "the contract requires attestation of its government-cloud environment; none is recorded",
        ),
    ];
    for (name, scenario, requirement, reason) in cases {
        let (ledger, now, rejections) = run(scenario);
        let gate = evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
        assert!(!gate.met(), "{name}: the gate is met");
        // Only the changed requirement is unmet (and approvals, which were refused for it).
        let unmet: Vec<&str> = gate
            .unmet()
            .map(|r| r.id.as_str())
            .filter(|id| *id != "approvals" || requirement == "approvals")
            .collect();
        assert_eq!(unmet, [requirement], "{name}: {}", gate.unmet_summary());
        let detail = &gate.unmet().next().unwrap().detail;
        assert!(
            detail.contains(reason),
            "{name}: `{detail}` lacks `{reason}`"
        );
        assert_ne!(ledger.status("2026.7.0"), VersionStatus::Approved, "{name}");
        // Approval entries are refused while anything but approvals is unmet, saying why.
        if requirement != "approvals" {
            assert_eq!(rejections.len(), scenario.approvers.len(), "{name}");
            assert!(
                rejections[0].contains("rule `gate`"),
                "{name}: {}",
                rejections[0]
            );
            assert!(rejections[0].contains(reason), "{name}: {}", rejections[0]);
        }
    }
}

#[test]
fn evidence_must_name_the_model_it_is_about_and_come_from_a_lab() {
    let mut ledger = Ledger::with_contract("fallback = { rule = \"last-approved\" }");
    ledger.register_version("2026.7.0", 50, T0).unwrap();
    // The subject digest is another version's.
    let err = ledger
        .evidence(
            "lab-gb",
            "lab-gb",
            "2026.7.0",
            "2026.6.0",
            0.01,
            T0,
            T0 + 60,
        )
        .unwrap_err();
    assert!(err.contains("rule `evidence-subject`: no subject of the statement has the digest of `frontier-2@2026.7.0`"), "{err}");
    // Signed by another party than the lab it names.
    let err = ledger
        .evidence(
            "lab-gb",
            "lab-fr",
            "2026.7.0",
            "2026.7.0",
            0.01,
            T0,
            T0 + 60,
        )
        .unwrap_err();
    assert!(err.contains("must be signed by `lab-gb`"), "{err}");
    // The vendor's own evaluation is self-attested, not third-party.
    let err = ledger
        .evidence("acme-ai", "acme", "2026.7.0", "2026.7.0", 0.01, T0, T0 + 60)
        .unwrap_err();
    assert!(
        err.contains("its own evaluations are self-attested"),
        "{err}"
    );
    // Evaluated after it was submitted.
    let err = ledger
        .evidence(
            "lab-gb",
            "lab-gb",
            "2026.7.0",
            "2026.7.0",
            0.01,
            T0 + 3600,
            T0 + 60,
        )
        .unwrap_err();
    assert!(
        err.contains("evidence cannot predate its evaluation"),
        "{err}"
    );
}

#[test]
fn versions_are_checked_against_delivery_notice_and_the_ledger_clock() {
    let mut ledger = Ledger::with_contract("fallback = { rule = \"last-approved\" }");
    let err = ledger.register_version("2027.1.0", 50, T0).unwrap_err();
    assert!(err.contains("rule `delivery`: contract `imagery-assistant` delivers `frontier-2` versions 2026.1.0 to 2027.0.0 (exclusive) as api; `2027.1.0` as api is outside"), "{err}");
    // Short notice is recorded and flagged unless the contract says to refuse it.
    ledger.register_version("2026.7.0", 10, T0).unwrap();
    assert_eq!(
        ledger.state.model("frontier-2@2026.7.0").unwrap().offers[CONTRACT].notice_days,
        10
    );
    let mut strict = Ledger::with_changed_contract(
        "deprecation_days = 180",
        "deprecation_days = 180\nshort_notice = \"reject\"",
    );
    let err = strict.register_version("2026.7.0", 10, T0).unwrap_err();
    assert!(err.contains("rule `notice`: service from 2026-09-11 is 10 days after this notice; contract `imagery-assistant` requires 45 days and refuses shorter notice"), "{err}");
    // A version label names one model.
    let mut again = ledger.submit(
        Kind::ModelVersionRegistered,
        json!({"vendor": "acme-ai", "line": "frontier-2", "version": "2026.7.0", "form": "api", "digest": format!("sha256:{}", digest_of("other")), "api_version": "x", "release_notes": "", "service_from": "2026-12-01", "contracts": [CONTRACT], "at": at(T0)}),
        Vec::new(),
        &["acme"],
    );
    assert!(
        again.as_ref().unwrap_err().contains("rule `model-digest`"),
        "{again:?}"
    );
    // Entries may not go back in time by more than the tolerance.
    again = ledger.register_version("2026.8.0", 50, T0 - 3600);
    assert!(
        again.as_ref().unwrap_err().contains("rule `clock`"),
        "{again:?}"
    );
}

#[test]
fn activation_needs_approval_and_rollback_returns_to_the_previous_version_in_one_step() {
    for fallback in [
        "fallback = { rule = \"last-approved\" }",
        "fallback = { rule = \"pinned\", line = \"frontier-2\", version = \"2026.6.1\" }",
    ] {
        let mut ledger = Ledger::with_contract(fallback);
        ledger.attest(T0);
        let now = T0 + 100 * DAY;
        for version in ["2026.6.1", "2026.7.0", "2026.8.0"] {
            ledger.register_version(version, 50, T0).unwrap();
        }
        for version in ["2026.6.1", "2026.7.0", "2026.8.0"] {
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
        // 2026.8.0 is never approved: activating it is refused, with what it lacks.
        let err = ledger.activate("2026.8.0", now).unwrap_err();
        assert!(err.contains("rule `not-approved`: `frontier-2@2026.8.0` is registered under `imagery-assistant`: approvals: 2 of 2 approvers must approve; 0 approved; awaiting `agency-x`, `auditor-y`"), "{err}");
        for version in ["2026.6.1", "2026.7.0"] {
            ledger.approve("agency-x", "agency", version, now).unwrap();
            ledger
                .approve("auditor-y", "auditor", version, now)
                .unwrap();
        }
        let first = ledger.activate("2026.6.1", now).unwrap();
        let second = ledger.activate("2026.7.0", now + 60).unwrap();
        assert_eq!(ledger.status("2026.6.1"), VersionStatus::Superseded);
        assert_eq!(ledger.status("2026.7.0"), VersionStatus::Active);
        let rollback = ledger
            .submit(
                Kind::DeploymentRolledBack,
                json!({"party": "auditor-y", "contract": CONTRACT, "deployment": "workbench", "reason": "serious incident INC-7", "at": at(now + 120)}),
                Vec::new(),
                &["auditor"],
            )
            .unwrap();
        let deployment = ledger
            .state
            .deployment("imagery-assistant/workbench")
            .unwrap();
        assert_eq!(
            deployment.active.as_deref(),
            Some("frontier-2@2026.6.1"),
            "{fallback}"
        );
        let steps: Vec<(u64, &str, Option<&str>)> = deployment
            .events
            .iter()
            .map(|e| (e.entry, e.version.as_str(), e.reason.as_deref()))
            .collect();
        assert_eq!(
            steps,
            [
                (first, "frontier-2@2026.6.1", None),
                (second, "frontier-2@2026.7.0", None),
                (
                    rollback,
                    "frontier-2@2026.6.1",
                    Some("serious incident INC-7")
                ),
            ]
        );
        assert_eq!(deployment.events[2].party, "auditor-y");
        assert_eq!(ledger.status("2026.7.0"), VersionStatus::RolledBack);
        assert_eq!(ledger.status("2026.6.1"), VersionStatus::Active);
        // A rolled-back version does not come back, and the gate says why.
        let err = ledger.activate("2026.7.0", now + 180).unwrap_err();
        assert!(
            err.contains(
                "is rolled back under `imagery-assistant`: standing: rolled back at entry"
            ),
            "{err}"
        );
        // The active version cannot be revoked out from under the deployment.
        let err = ledger
            .submit(
                Kind::VersionRevoked,
                json!({"party": "acme-ai", "contract": CONTRACT, "model": {"line": "frontier-2", "version": "2026.6.1"}, "reason": "x", "at": at(now + 200)}),
                Vec::new(),
                &["acme"],
            )
            .unwrap_err();
        assert!(
            err.contains("is in service; roll it back or activate another version first"),
            "{err}"
        );
    }
}

#[test]
fn the_state_round_trips_through_its_rows() {
    let (ledger, now, _) = run(MET);
    let rows = ledger.state.rows();
    let rebuilt = State::from_rows(
        rows.into_iter()
            .map(|row| (row.space.to_owned(), row.key, row.value)),
    )
    .unwrap();
    assert_eq!(State::rows_of(&[]).len(), 0);
    let before = evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
    let after = evaluate(&rebuilt, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
    assert_eq!(before, after);
    assert_eq!(rebuilt.clock(), ledger.state.clock());
    let rows_before: Vec<_> = ledger
        .state
        .rows()
        .into_iter()
        .map(|r| (r.space, r.key, r.value))
        .collect();
    let rows_after: Vec<_> = rebuilt
        .rows()
        .into_iter()
        .map(|r| (r.space, r.key, r.value))
        .collect();
    assert_eq!(rows_before, rows_after);
}

#[test]
fn usage_batches_are_counted_consistently_and_signed_by_a_party_of_the_contract() {
    let mut ledger = Ledger::with_contract(
        "fallback = { rule = \"pinned\", line = \"frontier-2\", version = \"2026.6.1\" }",
    );
    let batch = |change: &dyn Fn(&mut Value)| {
        let mut predicate = json!({
            "party": "agency-x", "contract": CONTRACT, "deployment": "workbench",
            "from": at(T0 + DAY), "to": at(T0 + 2 * DAY), "records": 10, "allowed": 7, "denied": 3,
            "clauses": {"permitted-purposes": 7, "no-domestic-surveillance": 2},
            "digest": format!("sha256:{}", digest_of("records")), "at": at(T0 + 3 * DAY),
        });
        change(&mut predicate);
        predicate
    };
    let index = ledger.ok(Kind::UsageRecorded, batch(&|_| {}), &["agency"]);
    let recorded = ledger.state.usage_batch(index).unwrap();
    assert_eq!(
        (recorded.records, recorded.allowed, recorded.denied),
        (10, 7, 3)
    );
    assert_eq!(ledger.state.usage(Some(CONTRACT)).count(), 1);
    assert_eq!(ledger.state.usage(Some("another")).count(), 0);
    let refused = |ledger: &mut Ledger, predicate: Value, signer: &str| {
        ledger
            .submit(Kind::UsageRecorded, predicate, Vec::new(), &[signer])
            .unwrap_err()
    };
    for (change, signer, why) in [
        (
            Box::new(|p: &mut Value| p["allowed"] = json!(8)) as Box<dyn Fn(&mut Value)>,
            "agency",
            "8 allowed and 3 denied must add up to the 10 records",
        ),
        (
            Box::new(|p: &mut Value| {
                p["records"] = json!(0);
                p["allowed"] = json!(0);
                p["denied"] = json!(0);
            }),
            "agency",
            "a batch has at least one",
        ),
        (
            Box::new(|p: &mut Value| p["clauses"]["permitted-purposes"] = json!(11)),
            "agency",
            "clause `permitted-purposes` decided 11 of 10 records",
        ),
        (
            Box::new(|p: &mut Value| p["to"] = json!(at(T0 + 4 * DAY))),
            "agency",
            "the period must end before it is recorded",
        ),
        (
            Box::new(|p: &mut Value| p["from"] = json!(at(T0 + 2 * DAY + 1))),
            "agency",
            "the period must end before it is recorded",
        ),
        (
            Box::new(|p: &mut Value| p["digest"] = json!("sha256:ABC")),
            "agency",
            "`digest` must be `sha256:` and 64 lowercase hex digits",
        ),
        (
            Box::new(|p: &mut Value| p["deployment"] = json!("Work Bench")),
            "agency",
            "deployment name `Work Bench`",
        ),
        (
            Box::new(|p: &mut Value| p["party"] = json!("lab-gb")),
            "lab-gb",
            "`lab-gb` is not a party of contract",
        ),
        (
            Box::new(|_: &mut Value| {}),
            "acme",
            "this entry must be signed by `agency-x`",
        ),
        (
            // The same records signed again later would be counted twice.
            Box::new(|p: &mut Value| p["at"] = json!(at(T0 + 3 * DAY + 60))),
            "agency",
            "are already counted, in entry",
        ),
    ] {
        let message = refused(&mut ledger, batch(&*change), signer);
        assert!(message.contains(why), "{why}: {message}");
    }
    // The batch survives the state's rows.
    let rebuilt = State::from_rows(
        ledger
            .state
            .rows()
            .into_iter()
            .map(|row| (row.space.to_owned(), row.key, row.value)),
    )
    .unwrap();
    assert_eq!(rebuilt.usage_batch(index), ledger.state.usage_batch(index));
}

/// A vendor's word covers data up to what its environment class may hold: a vendor cloud
/// accredited by contract for `secret` data needs a verified hardware report, and a
/// self-declared attestation leaves the gate unmet, saying why.
#[test]
fn a_self_declared_attestation_does_not_cover_more_than_its_environment_class_holds() {
    let mut ledger = Ledger::with_changed_contract(
        "environment = \"government-cloud\"",
        "environment = \"vendor-cloud\"",
    );
    ledger.register_version("2026.7.0", 60, T0).unwrap();
    ledger.ok(
        Kind::HostingAttested,
        json!({"party": "acme-ai", "contract": CONTRACT, "environment": "vendor-cloud", "report": format!("sha256:{}", digest_of("report")), "description": "shared cloud", "at": at(T0)}),
        &["acme"],
    );
    let gate = evaluate(&ledger.state, CONTRACT, "frontier-2", "2026.7.0", T0 + DAY).unwrap();
    let hosting = gate
        .requirements
        .iter()
        .find(|r| r.id == "hosting-attestation")
        .unwrap();
    assert!(!hosting.met, "{hosting:?}");
    assert!(
        hosting.detail.contains(
            "it allows data up to `secret`, and a vendor-cloud environment holds at most `cui` on its operator's word"
        ) && hosting.detail.contains("the vendor's word, with no verified report"),
        "{}",
        hosting.detail
    );
}

/// A party's public contact is an e-mail address or an `https://` URL; anything else, or a
/// text that could smuggle markup or a scheme into a page, is refused by rule `party-contact`.
#[test]
fn a_party_registers_a_contact_the_public_can_use() {
    let mut ledger = Ledger::with_contract("fallback = { rule = \"last-approved\" }");
    for (party, contact) in [
        ("one", "ai@agency.example"),
        ("two", "https://vendor.example/ai"),
    ] {
        ledger.ok(
            Kind::PartyRegistered,
            json!({"party": party, "name": party, "roles": ["lab"], "keys": [text(party)], "contact": contact}),
            &["op"],
        );
        assert_eq!(
            ledger.state.party(party).unwrap().contact.as_deref(),
            Some(contact)
        );
    }
    for (party, contact) in [
        ("three", "javascript:alert(1)"),
        ("four", "not an address"),
        ("five", "http://vendor.example"),
        ("six", "a@b@c.example"),
        ("seven", ""),
    ] {
        let refused = ledger
            .submit(
                Kind::PartyRegistered,
                json!({"party": party, "name": party, "roles": ["lab"], "keys": [text(party)], "contact": contact}),
                Vec::new(),
                &["op"],
            )
            .unwrap_err();
        assert!(refused.contains("party-contact"), "{contact}: {refused}");
    }
}
