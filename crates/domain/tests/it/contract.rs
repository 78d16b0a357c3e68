//! Contract packages: a sound one checks clean; each fixture breaks one rule and must be
//! reported at its exact place with its message.

use domain::contract::{
    MODULE_KINDS, Sealed, Source, check, commitment, load, open_commitment, schema,
};

/// The sound package in `tests/fixtures/imagery-assistant`.
fn package() -> Vec<Source> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/imagery-assistant"
    );
    [
        "contract.toml",
        "modules/delivery.toml",
        "modules/hosting.toml",
        "modules/updates.toml",
        "modules/testing.toml",
        "modules/audit.toml",
        "modules/rollback.toml",
        "modules/escalation.toml",
        "modules/liability.toml",
        "modules/data.toml",
        "modules/restrictions.toml",
    ]
    .into_iter()
    .map(|path| Source {
        path: path.to_owned(),
        text: std::fs::read_to_string(format!("{dir}/{path}")).unwrap(),
    })
    .collect()
}

/// All diagnostics for the package with one replacement made in one file.
fn problems(file: &str, from: &str, to: &str) -> Vec<String> {
    let mut sources = package();
    let source = sources.iter_mut().find(|s| s.path == file).unwrap();
    assert!(source.text.contains(from), "{file} lacks `{from}`");
    source.text = source.text.replacen(from, to, 1);
    match load(sources) {
        Ok(package) => check(&package).iter().map(ToString::to_string).collect(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// The package with one change has exactly one problem, `expected` (location, message, hint).
fn check_one(file: &str, from: &str, to: &str, expected: &str) {
    let found = problems(file, from, to);
    assert_eq!(
        found,
        vec![expected.to_owned()],
        "after changing `{from}` to `{to}` in {file}"
    );
}

#[test]
fn the_sound_package_checks_clean() {
    let package = load(package()).unwrap();
    assert_eq!(check(&package), vec![]);
    assert_eq!(package.modules.len(), 10);
}

#[test]
fn a_delivered_range_the_testing_protocol_does_not_cover() {
    check_one(
        "modules/testing.toml",
        r#"from = "2026.7.0", until = "2027.0.0""#,
        r#"from = "2026.8.0", until = "2027.0.0""#,
        "modules/delivery.toml:8:12: versions 2026.7.0..2026.8.0 of `frontier-2` are delivered but the testing protocol does not cover them\n  hint: extend the testing protocol's `covers`, or narrow the delivered range",
    );
}

#[test]
fn a_rollback_fallback_outside_the_delivered_or_tested_range() {
    check_one(
        "modules/rollback.toml",
        r#"version = "2026.6.1""#,
        r#"version = "2025.12.0""#,
        "modules/rollback.toml:6:62: the rollback fallback `frontier-2` 2025.12.0 is outside the delivered versions\n  hint: fall back to a delivered version, or use `rule = \"last-approved\"`",
    );
}

#[test]
fn an_update_notice_shorter_than_the_contract_minimum() {
    check_one(
        "modules/updates.toml",
        "notice_days = 45",
        "notice_days = 14",
        "modules/updates.toml:5:15: notice of 14 days before a new version is shorter than the contract's minimum of 30 days\n  hint: raise `notice_days`, or amend the contract's `minimum_notice_days`",
    );
}

#[test]
fn liability_shares_that_do_not_sum_to_100_or_name_a_non_party() {
    check_one(
        "modules/liability.toml",
        "acme-ai = 70",
        "acme-ai = 60",
        "modules/liability.toml:7:10: liability shares for `unlawful-disclosure` sum to 90 %, not 100 %\n  hint: make the parties' shares add up to 100",
    );
    check_one(
        "modules/liability.toml",
        "agency-x = 30",
        "insurer-z = 30",
        "modules/liability.toml:7:24: liability share for `insurer-z`, which is not a party of the contract\n  hint: the contract's parties are agency-x, acme-ai, auditor-y",
    );
}

#[test]
fn an_escalation_step_or_auditor_naming_no_party() {
    check_one(
        "modules/escalation.toml",
        r#"notify = ["agency-x"]"#,
        r#"notify = ["press-office"]"#,
        "modules/escalation.toml:13:11: escalation step notifies `press-office`, which is not a party of the contract\n  hint: the contract's parties are agency-x, acme-ai, auditor-y",
    );
    check_one(
        "modules/audit.toml",
        r#"party = "auditor-y""#,
        r#"party = "auditor-q""#,
        "modules/audit.toml:6:9: auditor `auditor-q` is not a party of the contract\n  hint: the contract's parties are agency-x, acme-ai, auditor-y",
    );
}

#[test]
fn an_escalation_deadline_longer_than_the_regime_allows() {
    check_one(
        "modules/escalation.toml",
        "within_hours = 24",
        "within_hours = 300",
        "modules/escalation.toml:9:16: a death incident is escalated within 300 hours, longer than eu-ai-act allows (240 hours)\n  hint: shorten `within_hours` to the regime's deadline or less",
    );
    // 2 days for critical infrastructure.
    check_one(
        "modules/escalation.toml",
        r#"severity = "serious""#,
        r#"severity = "critical-infrastructure""#,
        "modules/escalation.toml:14:16: a critical-infrastructure incident is escalated within 72 hours, longer than eu-ai-act allows (48 hours)\n  hint: shorten `within_hours` to the regime's deadline or less",
    );
}

#[test]
fn a_data_classification_the_hosting_cannot_hold() {
    check_one(
        "modules/data.toml",
        r#"["cui", "secret"]"#,
        r#"["cui", "top-secret"]"#,
        "modules/data.toml:4:27: data classified `top-secret` is allowed, but the hosting environment holds at most `secret`\n  hint: host in an environment accredited for it, or disallow the classification",
    );
}

#[test]
fn unmet_requires_between_module_versions() {
    check_one(
        "modules/delivery.toml",
        r#"testing = "^1.1""#,
        r#"testing = "^2""#,
        "modules/delivery.toml:4:24: module `delivery` requires `testing` ^2, but the contract pins 1.2.0\n  hint: pin a version that meets the requirement, or relax it",
    );
}

#[test]
fn a_clause_referring_to_a_sealed_addendum_the_package_lacks() {
    check_one(
        "modules/escalation.toml",
        r#"addenda = ["annex-c"]"#,
        r#"addenda = ["annex-d"]"#,
        "modules/escalation.toml:4:12: refers to sealed addendum `annex-d`, which the package lacks\n  hint: seal it with `concordat addendum seal` and list it under `addenda` in contract.toml",
    );
}

#[test]
fn schema_errors_are_located() {
    check_one(
        "modules/hosting.toml",
        r#"environment = "government-cloud""#,
        r#"environment = "basement""#,
        "modules/hosting.toml:4:15: unknown variant `basement`, expected one of `vendor-cloud`, `government-cloud`, `on-premises-enclave`, `air-gapped`\n  hint: `concordat contract schema hosting` prints the fields this kind of module holds",
    );
    check_one(
        "modules/updates.toml",
        "pinning = true",
        "pinning = true\ncolour = \"red\"",
        "modules/updates.toml:7:1: unknown field `colour`, expected one of `id`, `kind`, `version`, `requires`, `addenda`, `channel`, `notice_days`, `pinning`, `deprecation_days`, `short_notice`\n  hint: `concordat contract schema updates` prints the fields this kind of module holds",
    );
    check_one(
        "contract.toml",
        r#"{ id = "data", version = "1.0.0" },"#,
        r#"{ id = "data", version = "1.0.0" }, { id = "ghost", version = "1.0.0" },"#,
        "contract.toml:18:46: module `ghost` is pinned but `modules/ghost.toml` is missing\n  hint: add `modules/ghost.toml` or remove the pin",
    );
    check_one(
        "modules/data.toml",
        r#"version = "1.0.0""#,
        r#"version = "1.0.1""#,
        "modules/data.toml:3:11: module `data` is version 1.0.1, but contract.toml pins 1.0.0\n  hint: pin the version the module file has, or amend the module",
    );
}

#[test]
fn every_module_kind_and_the_contract_have_a_schema() {
    for (kind, _) in MODULE_KINDS.iter().chain(&[("contract", "")]) {
        let schema = schema(kind).unwrap();
        assert_eq!(schema["type"], "object", "{kind}");
    }
    assert!(schema("unknown").is_none());
}

#[test]
fn sealed_addenda_commit_to_their_text() {
    let salt = [7u8; 32];
    let text = "Target sets are handled under procedure 4.2.";
    let sealed = Sealed {
        id: "annex-c".into(),
        salt: "07".repeat(32),
        text: text.into(),
    };
    let committed = commitment(&salt, text);
    assert!(committed.starts_with("sha256:"));
    assert!(!committed.contains("procedure"));
    open_commitment(&committed, &sealed).unwrap();
    let altered = Sealed {
        text: format!("{text} "),
        ..sealed.clone()
    };
    assert!(open_commitment(&committed, &altered).is_err());
    let short_salt = Sealed {
        salt: "07".into(),
        ..sealed
    };
    assert_eq!(
        open_commitment(&committed, &short_salt)
            .unwrap_err()
            .to_string(),
        "the salt must be 64 hex digits (32 bytes)"
    );
}

#[test]
fn a_use_restrictions_module_declares_its_purposes_as_ids() {
    let missing = problems(
        "modules/restrictions.toml",
        "purposes = [\"imagery-analysis\",",
        "unused = [\"imagery-analysis\",",
    );
    assert!(
        missing.iter().any(|p| p.contains("unknown field `unused`")),
        "{missing:?}"
    );
    let none = problems(
        "modules/restrictions.toml",
        "purposes = [\"imagery-analysis\", \"logistics\", \"translation\", \"lethal-targeting\", \"surveillance\"]",
        "purposes = []",
    );
    assert!(
        none.iter()
            .any(|p| p.contains("modules/restrictions.toml:4:")
                && p.contains("declares no purposes")),
        "{none:?}"
    );
    let bad = problems(
        "modules/restrictions.toml",
        "\"logistics\"",
        "\"Logistics Ops\"",
    );
    assert!(
        bad.iter()
            .any(|p| p.contains("purpose `Logistics Ops` must be")),
        "{bad:?}"
    );
}
