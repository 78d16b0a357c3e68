//! Update governance through the binary, on a ledger with a simulated clock: a version is
//! announced, evidence imported and signed, the gate read, approvals given, versions activated
//! and rolled back.

use std::path::Path;

use crate::support::{Run, concordat};

/// The testing protocol the tests use: one lm-evaluation-harness suite, recognised in GB.
const TESTING: &str = r#"id = "testing"
kind = "testing-protocol"
version = "1.0.0"
approvers = ["agency-x", "auditor-y"]
approvals_required = 2

[[covers]]
line = "vision-analyst"
versions = { from = "2027.1.0", until = "2028.0.0" }

[[evaluations]]
suite = "arc-easy"
metric = "acc"
threshold = 0.7
comparison = "at-least"
recognised_in = ["US", "GB"]
max_evidence_age_days = 90
"#;

pub fn lm_eval_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/fixtures/lm-eval-results.json")
}

/// Creates an instance in `ledger/` with parties (one key each, `NAME.key`) and the
/// defense-imagery template published as `defense-imagery-analysis`, its testing protocol
/// replaced by `testing` and its delivery form by `form`.
pub fn engagement(tmp: &Path, simulated: bool, testing: Option<&str>, form: &str) {
    let run = |args: &[&str]| concordat(args, None, tmp);
    let mut init = vec![
        "init",
        "--dir",
        "ledger",
        "--origin",
        "updates.test.example",
    ];
    if simulated {
        init.push("--simulated-clock");
    }
    run(&init).ok();
    for (party, role, jurisdiction) in [
        ("agency-x", "agency", "US"),
        ("acme-ai", "vendor", "US"),
        ("auditor-y", "auditor", "US"),
        ("gb-lab", "lab", "GB"),
        ("fr-lab", "lab", "FR"),
        ("us-lab", "lab", "US"),
        ("uk-aisi", "overseer", "GB"),
        ("us-caisi", "overseer", "US"),
    ] {
        crate::support::new_party(tmp, party, role, Some(jurisdiction));
    }
    run(&[
        "contract",
        "new",
        "--template",
        "defense-imagery-analysis",
        "pkg",
        "--agency",
        "agency-x",
        "--vendor",
        "acme-ai",
        "--auditor",
        "auditor-y",
    ])
    .ok();
    if let Some(testing) = testing {
        std::fs::write(tmp.join("pkg/modules/testing.toml"), testing).unwrap();
    }
    let delivery = tmp.join("pkg/modules/delivery.toml");
    let text = std::fs::read_to_string(&delivery).unwrap();
    std::fs::write(
        &delivery,
        text.replace("form = \"api\"", &format!("form = \"{form}\"")),
    )
    .unwrap();
    run(&[
        "contract",
        "publish",
        "--dir",
        "ledger",
        "pkg",
        "--key",
        "agency-x.key",
        "--key",
        "acme-ai.key",
        "--key",
        "auditor-y.key",
    ])
    .ok();
}

fn register(run: &dyn Fn(&[&str]) -> Run, version: &str, at: &str, service_from: &str) -> Run {
    run(&[
        "model",
        "register",
        "--dir",
        "ledger",
        "--key",
        "acme-ai.key",
        "--model",
        &format!("vision-analyst@{version}"),
        "--contract",
        "defense-imagery-analysis",
        "--service-from",
        service_from,
        "--api-version",
        &format!("vision-analyst-{version}"),
        "--fingerprint",
        &format!("fingerprint of {version}"),
        "--notes",
        "Better refusals",
        "--at",
        at,
    ])
}

fn gate(run: &dyn Fn(&[&str]) -> Run, version: &str, at: &str) -> Run {
    run(&[
        "gate",
        "status",
        "--dir",
        "ledger",
        "--contract",
        "defense-imagery-analysis",
        "--model",
        &format!("vision-analyst@{version}"),
        "--at",
        at,
    ])
}

#[test]
fn a_version_passes_the_gate_is_activated_and_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    engagement(tmp.path(), true, Some(TESTING), "api");
    std::fs::write(tmp.path().join("report.json"), "{\"tee\": \"sev-snp\"}\n").unwrap();
    run(&[
        "hosting",
        "attest",
        "--dir",
        "ledger",
        "--key",
        "acme-ai.key",
        "--contract",
        "defense-imagery-analysis",
        "--environment",
        "government-cloud",
        "--report",
        "report.json",
        "--at",
        "2026-08-01T00:00:00Z",
    ])
    .ok();
    run(&[
        "recognition",
        "publish",
        "--dir",
        "ledger",
        "--key",
        "uk-aisi.key",
        "--jurisdiction",
        "GB",
        "--lab",
        "gb-lab",
        "--suite",
        "arc-easy",
        "--min-assurance",
        "third-party",
        "--max-age-days",
        "180",
        "--at",
        "2026-08-01T00:00:00Z",
    ])
    .ok();
    // Announced with 75 days' notice (the contract asks 60), and with 30.
    for (version, service) in [
        ("2027.1.0", "2026-10-15"),
        ("2027.2.0", "2026-10-15"),
        ("2027.3.0", "2026-08-31"),
    ] {
        let out = register(&run, version, "2026-08-01T00:00:00Z", service)
            .ok()
            .stdout;
        assert!(
            out.starts_with(&format!("registered vision-analyst@{version} (sha256:")),
            "{out}"
        );
    }
    // Outside the delivered range: refused, saying why.
    register(&run, "2028.1.0", "2026-08-01T00:00:00Z", "2026-10-15").fails(
        1,
        "rule `delivery`: contract `defense-imagery-analysis` delivers `vision-analyst` versions 2027.1.0 to 2028.0.0 (exclusive) as api; `2028.1.0` as api is outside",
    );

    // Before evidence the gate lists what is missing, and exits 1.
    let status =
        gate(&run, "2027.1.0", "2026-11-05T00:00:00Z").fails(1, "2 of 6 requirements unmet");
    assert!(status.stdout.contains("[UNMET] evaluation:arc-easy/acc: acc ≥ 0.7 on `arc-easy` (US/GB-recognised evidence, at most 90 days old): no evidence for `arc-easy` on vision-analyst@2027.1.0"), "{}", status.stdout);
    assert!(status.stdout.contains("[met] notice: notice given 2026-08-01 for service from 2026-10-15: 75 days; the contract requires 60"), "{}", status.stdout);
    // The whole report, as an approver reads it (`UPDATE_EXPECT=1` rewrites it).
    expect_test::expect![[r#"
        vision-analyst@2027.1.0 under `defense-imagery-analysis`: registered — gate not met (at 2026-11-05T00:00:00Z)
          [met] standing: offered at entry 12; registered
          [met] notice: notice given 2026-08-01 for service from 2026-10-15: 75 days; the contract requires 60
          [UNMET] evaluation:arc-easy/acc: acc ≥ 0.7 on `arc-easy` (US/GB-recognised evidence, at most 90 days old): no evidence for `arc-easy` on vision-analyst@2027.1.0
          [met] hosting-attestation: the contract requires attestation of its government-cloud environment: attested by `acme-ai` at entry 10 (report 30218eb47f84)
          [met] designations: no supply-chain-risk designation in force reaches it
          [UNMET] approvals: 2 of 2 approvers must approve; 0 approved; awaiting `agency-x`, `auditor-y`
    "#]].assert_eq(&status.stdout);

    // The lab imports its lm-evaluation-harness results, signs the statement, submits it.
    let fixture = lm_eval_fixture();
    for version in ["2027.1.0", "2027.2.0", "2027.3.0"] {
        let statement = run(&[
            "evidence",
            "import",
            "--dir",
            "ledger",
            "--lm-eval",
            fixture.to_str().unwrap(),
            "--model",
            &format!("vision-analyst@{version}"),
            "--lab",
            "gb-lab",
            "--suite",
            "arc-easy",
            "--assurance",
            "third-party",
            "--at",
            "2026-11-05T00:00:00Z",
        ])
        .ok()
        .stdout;
        let parsed: serde_json::Value = serde_json::from_str(&statement).unwrap();
        assert_eq!(parsed["subject"][1]["name"], "lm-eval-results.json");
        assert_eq!(parsed["predicate"]["producedFor"], "GB");
        assert_eq!(parsed["predicate"]["evaluatedAt"], "2026-11-03T08:00:00Z");
        std::fs::write(tmp.path().join("evidence.json"), statement).unwrap();
        let envelope = run(&[
            "sign",
            "--key",
            "gb-lab.key",
            "--statement",
            "evidence.json",
        ])
        .ok()
        .stdout;
        std::fs::write(tmp.path().join("evidence.envelope.json"), envelope).unwrap();
        run(&["submit", "--dir", "ledger", "evidence.envelope.json"]).ok();
    }
    // Short notice is flagged: 2027.3.0 cannot be approved, and the refusal says why.
    run(&[
        "gate", "approve", "--dir", "ledger", "--key", "agency-x.key", "--contract",
        "defense-imagery-analysis", "--model", "vision-analyst@2027.3.0", "--at", "2026-11-06T00:00:00Z",
    ])
    .fails(1, "rule `gate`: `vision-analyst@2027.3.0` cannot be approved yet: notice: notice given 2026-08-01 for service from 2026-08-31: 30 days; the contract requires 60");
    for version in ["2027.1.0", "2027.2.0"] {
        for approver in ["agency-x", "auditor-y"] {
            run(&[
                "gate",
                "approve",
                "--dir",
                "ledger",
                "--key",
                &format!("{approver}.key"),
                "--contract",
                "defense-imagery-analysis",
                "--model",
                &format!("vision-analyst@{version}"),
                "--at",
                "2026-11-06T00:00:00Z",
            ])
            .ok();
        }
    }
    let status = gate(&run, "2027.1.0", "2026-11-07T00:00:00Z").ok();
    assert!(
        status.stdout.starts_with(
            "vision-analyst@2027.1.0 under `defense-imagery-analysis`: approved — gate met"
        ),
        "{}",
        status.stdout
    );
    let json = run(&[
        "gate",
        "status",
        "--dir",
        "ledger",
        "--contract",
        "defense-imagery-analysis",
        "--model",
        "vision-analyst@2027.1.0",
        "--at",
        "2026-11-07T00:00:00Z",
        "--format",
        "json",
    ])
    .ok()
    .stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["met"], true);
    assert_eq!(json["requirements"][2]["recognised_from"], "GB");

    // Activation of an unapproved version is refused with what it lacks.
    let activate = |version: &str, at: &str| {
        run(&[
            "deploy",
            "activate",
            "--dir",
            "ledger",
            "--key",
            "agency-x.key",
            "--contract",
            "defense-imagery-analysis",
            "--deployment",
            "analyst-workbench",
            "--model",
            &format!("vision-analyst@{version}"),
            "--at",
            at,
        ])
    };
    activate("2027.3.0", "2026-11-08T00:00:00Z").fails(1, "rule `not-approved`: `vision-analyst@2027.3.0` is registered under `defense-imagery-analysis`: notice: notice given 2026-08-01");
    activate("2027.1.0", "2026-11-08T00:00:00Z").ok();
    activate("2027.2.0", "2026-11-09T00:00:00Z").ok();
    let rollback = run(&[
        "deploy",
        "rollback",
        "--dir",
        "ledger",
        "--key",
        "auditor-y.key",
        "--contract",
        "defense-imagery-analysis",
        "--deployment",
        "analyst-workbench",
        "--reason",
        "serious incident INC-2026-031",
        "--at",
        "2026-11-10T00:00:00Z",
    ])
    .ok()
    .stdout;
    assert!(rollback.starts_with("`analyst-workbench` of `defense-imagery-analysis` rolled back from vision-analyst@2027.2.0: entry"), "{rollback}");
    let history = run(&[
        "deploy",
        "history",
        "--dir",
        "ledger",
        "--contract",
        "defense-imagery-analysis",
        "--deployment",
        "analyst-workbench",
    ])
    .ok()
    .stdout;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(
        lines[0],
        "`analyst-workbench` of `defense-imagery-analysis`: in service vision-analyst@2027.1.0"
    );
    assert!(
        lines[1].contains("2026-11-08T00:00:00Z  activated vision-analyst@2027.1.0 by `agency-x`"),
        "{history}"
    );
    assert!(
        lines[2].contains(
            "activated vision-analyst@2027.2.0 (from vision-analyst@2027.1.0) by `agency-x`"
        ),
        "{history}"
    );
    assert!(lines[3].contains("rolled back to vision-analyst@2027.1.0 (from vision-analyst@2027.2.0) by `auditor-y`: serious incident INC-2026-031"), "{history}");
    let models = run(&["model", "list", "--dir", "ledger"]).ok().stdout;
    assert!(
        models.contains("vision-analyst@2027.2.0  vendor acme-ai"),
        "{models}"
    );
    assert!(
        models.contains("  defense-imagery-analysis: rolled back (notice 75 days of 60 required)"),
        "{models}"
    );

    // The recognition report: the US contract's requirements were met by evidence produced
    // for GB.
    let report = run(&[
        "recognition",
        "report",
        "--dir",
        "ledger",
        "--at",
        "2026-11-10T00:00:00Z",
    ])
    .ok()
    .stdout;
    assert!(report.starts_with("defense-imagery-analysis (US): 3 of 3 evaluation requirements met; 3 by evidence produced for another jurisdiction or instance (duplicate tests avoided)\n  vision-analyst@2027.1.0 evaluation:arc-easy/acc: met by evidence produced for GB (entry 15)\n"), "{report}");

    // A government test of the vendor's model is disclosed even though its result is sealed.
    let sealed = run(&[
        "evidence",
        "import",
        "--dir",
        "ledger",
        "--lm-eval",
        fixture.to_str().unwrap(),
        "--model",
        "vision-analyst@2027.1.0",
        "--suite",
        "classified-red-team",
        "--assurance",
        "third-party",
        "--key",
        "agency-x.key",
        "--seal",
        "result.sealed.toml",
        "--at",
        "2026-11-10T01:00:00Z",
        "--format",
        "json",
    ])
    .ok()
    .stdout;
    let index = serde_json::from_str::<serde_json::Value>(&sealed).unwrap()["index"]
        .as_u64()
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(
        &run(&[
            "entry",
            "show",
            "--dir",
            "ledger",
            &index.to_string(),
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    let predicate = &entry["statement"]["predicate"];
    assert_eq!(predicate["metrics"], serde_json::json!({}));
    assert_eq!(predicate["lab"], "agency-x");
    let commitment = predicate["sealedResult"].as_str().unwrap().to_owned();
    let private = std::fs::read_to_string(tmp.path().join("result.sealed.toml")).unwrap();
    assert!(private.contains("acc_norm"), "{private}");
    assert!(!entry.to_string().contains("acc_norm"), "{entry}");
    run(&[
        "addendum",
        "verify",
        "--commitment",
        &commitment,
        "result.sealed.toml",
    ])
    .ok();
    let listed = run(&[
        "evidence",
        "list",
        "--dir",
        "ledger",
        "--model",
        "vision-analyst@2027.1.0",
    ])
    .ok()
    .stdout;
    assert!(listed.contains(&format!("entry {index}: vision-analyst@2027.1.0 `classified-red-team` by `agency-x` (third-party, for US), evaluated 2026-11-03T08:00:00Z: result sealed ({commitment})")), "{listed}");

    // The whole story replays from the log to the same state.
    run(&["replay", "--dir", "ledger"]).ok();
}

#[test]
fn on_a_real_clock_entries_cannot_be_backdated() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    engagement(tmp.path(), false, None, "api");
    register(&run, "2027.1.0", "2026-01-01T00:00:00Z", "2026-10-15")
        .fails(1, "rule `entry-time`: `at` is 2026-01-01T00:00:00Z, more than 10 minutes behind the ledger's clock");
    register(&run, "2027.1.0", "2099-01-01T00:00:00Z", "2099-10-15").fails(
        1,
        "rule `entry-time`: `at` is 2099-01-01T00:00:00Z, ahead of the ledger's clock",
    );
}
