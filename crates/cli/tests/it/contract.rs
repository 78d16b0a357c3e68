//! Contract packages through the binary: check, schema, and sealed addenda.

use std::path::Path;

use crate::support::concordat;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../domain/tests/fixtures/imagery-assistant"
);

fn copy_package(to: &Path) {
    for folder in ["modules", "policies"] {
        std::fs::create_dir_all(to.join(folder)).unwrap();
        for entry in std::fs::read_dir(Path::new(FIXTURE).join(folder)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(folder).join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        Path::new(FIXTURE).join("contract.toml"),
        to.join("contract.toml"),
    )
    .unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn check_proves_the_mandatory_prohibitions() {
    let tmp = tempfile::tempdir().unwrap();
    copy_package(&tmp.path().join("pkg"));
    let policies = tmp.path().join("pkg/policies/use.cedar");
    // Turning the surveillance forbid into a permit makes the proof fail, at that clause.
    edit(
        &policies,
        "@id(\"no-domestic-surveillance\")\nforbid",
        "@id(\"no-domestic-surveillance\")\npermit",
    );
    let run = concordat(&["contract", "check", "pkg"], None, tmp.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "pkg/policies/use.cedar:10:1: surveillance of the contracting state's own population is permitted (by `no-domestic-surveillance`): purpose=surveillance, target_domain=domestic, human_in_the_loop=false, data_classification=public, role=analyst, clearance=public\n  hint: every contract must forbid it (mandatory prohibition `no-domestic-surveillance`): add a `forbid` policy\n"
    );
    // A typo in a policy is a located schema error.
    edit(
        &policies,
        "context.target_domain == \"domestic\"",
        "context.target_domian == \"domestic\"",
    );
    let run = concordat(&["contract", "check", "pkg"], None, tmp.path());
    assert!(
        run.stdout.contains("pkg/policies/use.cedar:12:45: for policy `no-domestic-surveillance`, attribute `target_domian`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hint: did you mean `target_domain`?"),
        "{}",
        run.stdout
    );
    // A policy file the module names but the package lacks.
    std::fs::remove_file(&policies).unwrap();
    let run = concordat(&["contract", "check", "pkg"], None, tmp.path());
    assert!(
        run.stdout.starts_with(
            "pkg/modules/restrictions.toml:4:13: cannot read policy file `policies/use.cedar`"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn policy_eval_prints_the_decision_and_its_clauses() {
    let tmp = tempfile::tempdir().unwrap();
    copy_package(&tmp.path().join("pkg"));
    let eval = |purpose: &str, human: bool, domain: &str| {
        let request = serde_json::json!({
            "user": "analyst-7", "agency": "agency-x", "role": "analyst", "clearance": "secret",
            "resource": {"kind": "model-version", "id": "frontier-2@2026.11.0", "deployment": "imagery"},
            "purpose": purpose, "data_classification": "secret", "human_in_the_loop": human, "target_domain": domain,
        });
        concordat(
            &["policy", "eval", "--contract", "pkg", "--request", "-"],
            Some(request.to_string().as_bytes()),
            tmp.path(),
        )
        .ok()
        .stdout
    };
    assert_eq!(
        eval("imagery-analysis", false, "foreign"),
        "allow: clause `permitted-purposes` (policies/use.cedar:3:1)\n"
    );
    assert_eq!(
        eval("surveillance", true, "domestic"),
        "deny: clause `no-domestic-surveillance` (policies/use.cedar:10:1)\n"
    );
    assert_eq!(
        eval("lethal-targeting", false, "foreign"),
        "deny: clause `human-control-of-lethal-force` (policies/use.cedar:14:1)\n"
    );
    assert_eq!(
        eval("benefits-eligibility", true, "domestic"),
        "deny: no clause permits it (default deny)\n"
    );
    concordat(
        &["policy", "eval", "--contract", "pkg", "--request", "-"],
        Some(b"{\"user\": 1}"),
        tmp.path(),
    )
    .fails(2, "`-`: line 1 column");
    let schema = concordat(&["policy", "schema"], None, tmp.path())
        .ok()
        .stdout;
    assert!(schema.contains("action invoke appliesTo"));
}

#[test]
fn check_reports_every_problem_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    copy_package(&tmp.path().join("pkg"));
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let sound = run(&["contract", "check", "pkg"]).ok();
    assert_eq!(sound.stdout, "pkg: the contract is sound\n");

    let updates = tmp.path().join("pkg/modules/updates.toml");
    let text = std::fs::read_to_string(&updates).unwrap();
    std::fs::write(
        &updates,
        text.replace("notice_days = 45", "notice_days = 14"),
    )
    .unwrap();
    let liability = tmp.path().join("pkg/modules/liability.toml");
    let text = std::fs::read_to_string(&liability).unwrap();
    std::fs::write(&liability, text.replace("acme-ai = 70", "acme-ai = 60")).unwrap();
    let run_check = run(&["contract", "check", "pkg"]);
    assert_eq!(run_check.code, 1, "{run_check:?}");
    assert!(
        run_check
            .stdout
            .contains("pkg/modules/updates.toml:5:15: notice of 14 days"),
        "{}",
        run_check.stdout
    );
    assert!(
        run_check
            .stdout
            .contains("pkg/modules/liability.toml:7:10: liability shares"),
        "{}",
        run_check.stdout
    );
    assert!(run_check.stderr.contains("2 problems in `pkg`"));
    let json = run(&["contract", "check", "pkg", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["sound"], false);
    // Problems come in the order contract.toml pins the modules.
    assert_eq!(value["problems"][0]["path"], "modules/updates.toml");
    assert_eq!(value["problems"][0]["line"], 5);
    assert_eq!(value["problems"][1]["path"], "modules/liability.toml");

    run(&["contract", "check", "nowhere"]).fails(2, "`nowhere` is not a directory");
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let empty = run(&["contract", "check", "empty"]);
    assert_eq!(empty.code, 1);
    assert!(
        empty
            .stdout
            .contains("empty/contract.toml:1:1: the package has no contract.toml")
    );

    // A file that is not UTF-8 is named with the line and column of its first bad byte.
    let contract = tmp.path().join("pkg/contract.toml");
    let mut bytes = std::fs::read(&contract).unwrap();
    let third_line = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 1;
    bytes.splice(third_line..third_line, *b"ab\xff");
    std::fs::write(&contract, bytes).unwrap();
    run(&["contract", "check", "pkg"]).fails(
        2,
        "pkg/contract.toml:3:3: not UTF-8 text (byte 0xff); save the file as UTF-8",
    );
}

/// Names that would become paths outside the instance or the package are refused where they
/// are read, with their place: an addendum id of `../../../../tmp/x`, a contract id of
/// `../../evilc`, policy files named by an absolute path or through `..`.
#[test]
fn names_that_would_leave_the_package_or_the_instance_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    std::fs::write(tmp.path().join("annex.txt"), "text").unwrap();
    run(&[
        "addendum",
        "seal",
        "--id",
        "../../../../tmp/x",
        "--title",
        "t",
        "--classification",
        "SECRET",
        "annex.txt",
        "--out",
        "x.sealed.toml",
    ])
    .fails(
        2,
        "addendum id `../../../../tmp/x` must be 1 to 63 lowercase letters",
    );
    assert!(!tmp.path().join("x.sealed.toml").exists());

    copy_package(&tmp.path().join("pkg"));
    std::fs::write(
        tmp.path().join("outside.cedar"),
        "permit(principal, action, resource);",
    )
    .unwrap();
    let contract = tmp.path().join("pkg/contract.toml");
    edit(
        &contract,
        "id = \"imagery-assistant\"",
        "id = \"../../evilc\"",
    );
    edit(&contract, "id = \"annex-c\"", "id = \"../../../../tmp/x\"");
    let outside = tmp.path().join("outside.cedar");
    let restrictions = tmp.path().join("pkg/modules/restrictions.toml");
    edit(
        &restrictions,
        "policies = [\"policies/use.cedar\"]",
        &format!(
            "policies = [\"policies/use.cedar\", \"{}\", \"../outside.cedar\"]",
            outside.display()
        ),
    );
    let check = run(&["contract", "check", "pkg"]);
    assert_eq!(check.code, 1, "{check:?}");
    for expected in [
        "pkg/contract.toml:1:6: contract id `../../evilc` must be",
        "pkg/contract.toml:23:6: addendum id `../../../../tmp/x` must be",
        &format!(
            "pkg/modules/restrictions.toml:4:35: policy file `{}` must be a path inside the package",
            outside.display()
        ),
        "pkg/modules/restrictions.toml:4:68: policy file `../outside.cedar` must be",
    ] {
        assert!(
            check.stdout.contains(expected),
            "{expected}\n{}",
            check.stdout
        );
    }
    run(&[
        "contract", "publish", "--dir", "nowhere", "--key", "k", "pkg",
    ])
    .fails(1, "nothing was signed");
}

#[test]
fn schemas_are_published_for_every_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let list = concordat(&["contract", "schema"], None, tmp.path())
        .ok()
        .stdout;
    assert!(
        list.contains("testing-protocol (governance)") && list.contains("hosting (capability)")
    );
    let schema = concordat(&["contract", "schema", "rollback"], None, tmp.path())
        .ok()
        .stdout;
    let value: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert!(value["properties"]["fallback"].is_object());
    concordat(&["contract", "schema", "poetry"], None, tmp.path())
        .fails(2, "`poetry` is not a module kind");
}

/// The canary: a unique string in a sealed addendum appears in no public output, and the
/// commitment opens only with the exact text and salt.
#[test]
fn sealed_addenda_stay_sealed_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let canary = "CANARY-7f3e9b2a-target-set-procedure";
    std::fs::write(
        tmp.path().join("annex.txt"),
        format!("Handling of target sets: {canary}.\n"),
    )
    .unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let sealed = run(&[
        "addendum",
        "seal",
        "--id",
        "annex-c",
        "--title",
        "Target-set handling",
        "--classification",
        "SECRET",
        "annex.txt",
        "--out",
        "annex-c.sealed.toml",
    ])
    .ok();
    assert!(!sealed.stdout.contains(canary) && !sealed.stderr.contains(canary));
    assert!(
        sealed
            .stdout
            .starts_with("# add to contract.toml (public):\n[[addenda]]\nid = \"annex-c\"")
    );
    let commitment = sealed
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("commitment = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap()
        .to_owned();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(tmp.path().join("annex-c.sealed.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let verified = run(&[
        "addendum",
        "verify",
        "--commitment",
        &commitment,
        "annex-c.sealed.toml",
    ])
    .ok();
    assert_eq!(
        verified.stdout,
        "verified: addendum `annex-c` matches the commitment\n"
    );
    // An altered text fails, without echoing the text.
    let private = std::fs::read_to_string(tmp.path().join("annex-c.sealed.toml")).unwrap();
    std::fs::write(
        tmp.path().join("altered.toml"),
        private.replace("target sets", "target lists"),
    )
    .unwrap();
    let altered = run(&[
        "addendum",
        "verify",
        "--commitment",
        &commitment,
        "altered.toml",
    ]);
    assert_eq!(altered.code, 1);
    assert!(!altered.stderr.contains(canary) && !altered.stdout.contains(canary));

    // The public package with the addendum checks clean and never shows the text.
    copy_package(&tmp.path().join("pkg"));
    let contract = tmp.path().join("pkg/contract.toml");
    let text = std::fs::read_to_string(&contract).unwrap();
    let placeholder = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    std::fs::write(&contract, text.replace(placeholder, &commitment)).unwrap();
    let check = run(&["contract", "check", "pkg"]).ok();
    assert!(!check.stdout.contains(canary));
    // Sealing over an existing private half is refused rather than overwriting it.
    run(&[
        "addendum",
        "seal",
        "--id",
        "annex-c",
        "--title",
        "t",
        "--classification",
        "SECRET",
        "annex.txt",
        "--out",
        "annex-c.sealed.toml",
    ])
    .fails(2, "it must not exist yet");
}

/// (purpose, role, clearance, data classification, human in the loop, domain) → decision line.
type Case<'a> = (&'a str, &'a str, &'a str, &'a str, bool, &'a str, &'a str);

fn template_decisions(template: &str, cases: &[Case<'_>]) {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    run(&[
        "contract",
        "new",
        "--template",
        template,
        "pkg",
        "--agency",
        "agency-x",
        "--vendor",
        "acme-ai",
        "--auditor",
        "auditor-y",
    ])
    .ok();
    assert_eq!(
        run(&["contract", "check", "pkg"]).ok().stdout,
        "pkg: the contract is sound\n"
    );
    for (purpose, role, clearance, classification, human, domain, expected) in cases {
        let request = serde_json::json!({
            "user": "u-1", "agency": "agency-x", "role": role, "clearance": clearance,
            "resource": {"kind": "deployment", "id": "d-1"}, "purpose": purpose,
            "data_classification": classification, "human_in_the_loop": human, "target_domain": domain,
        });
        let decision = concordat(
            &["policy", "eval", "--contract", "pkg", "--request", "-"],
            Some(request.to_string().as_bytes()),
            tmp.path(),
        )
        .ok()
        .stdout;
        assert_eq!(
            decision.trim_end(),
            *expected,
            "{template}: {purpose} {role} {clearance} {classification} {human} {domain}"
        );
    }
}

#[test]
fn the_defense_imagery_template_decides_as_written() {
    template_decisions(
        "defense-imagery-analysis",
        &[
            (
                "imagery-analysis",
                "analyst",
                "secret",
                "secret",
                false,
                "foreign",
                "allow: clause `permitted-purposes` (policies/use.cedar:4:1)",
            ),
            (
                "imagery-analysis",
                "analyst",
                "cui",
                "secret",
                false,
                "foreign",
                "deny: no clause permits it (default deny)",
            ),
            (
                "lethal-targeting",
                "commander",
                "secret",
                "secret",
                true,
                "foreign",
                "allow: clause `permitted-purposes` (policies/use.cedar:4:1)",
            ),
            (
                "lethal-targeting",
                "commander",
                "secret",
                "secret",
                false,
                "foreign",
                "deny: clause `human-control-of-lethal-force` (policies/use.cedar:17:1)",
            ),
            (
                "lethal-targeting",
                "operator",
                "secret",
                "secret",
                true,
                "foreign",
                "deny: clause `targeting-roles` (policies/use.cedar:22:1)",
            ),
            (
                "surveillance",
                "analyst",
                "secret",
                "cui",
                true,
                "domestic",
                "deny: clause `no-domestic-surveillance` (policies/use.cedar:12:1)",
            ),
            (
                "imagery-analysis",
                "analyst",
                "top-secret",
                "top-secret",
                true,
                "foreign",
                "deny: clause `no-top-secret-data` (policies/use.cedar:27:1)",
            ),
        ],
    );
}

#[test]
fn the_border_services_template_decides_as_written() {
    template_decisions(
        "border-services-assistant",
        &[
            (
                "border-screening",
                "case-worker",
                "cui",
                "public",
                true,
                "foreign",
                "allow: clause `permitted-purposes` (policies/use.cedar:4:1)",
            ),
            (
                "border-screening",
                "case-worker",
                "cui",
                "public",
                false,
                "foreign",
                "deny: clause `human-decides-on-entry` (policies/use.cedar:12:1)",
            ),
            (
                "translation",
                "case-worker",
                "cui",
                "confidential",
                true,
                "foreign",
                "deny: no clause permits it (default deny)",
            ),
            (
                "surveillance",
                "analyst",
                "secret",
                "public",
                true,
                "domestic",
                "deny: clause `no-domestic-surveillance` (policies/use.cedar:17:1)",
            ),
            (
                "lethal-targeting",
                "commander",
                "secret",
                "public",
                true,
                "foreign",
                "deny: clause `no-lethal-targeting` (policies/use.cedar:22:1)",
            ),
        ],
    );
}

#[test]
fn the_health_allocation_template_decides_as_written() {
    template_decisions(
        "health-resource-allocation",
        &[
            (
                "health-resource-allocation",
                "case-worker",
                "confidential",
                "confidential",
                true,
                "domestic",
                "allow: clause `permitted-purposes` (policies/use.cedar:4:1)",
            ),
            (
                "health-resource-allocation",
                "case-worker",
                "confidential",
                "confidential",
                false,
                "domestic",
                "deny: clause `official-reviews-allocations` (policies/use.cedar:13:1)",
            ),
            (
                "health-resource-allocation",
                "commander",
                "secret",
                "cui",
                true,
                "domestic",
                "deny: no clause permits it (default deny)",
            ),
            (
                "research",
                "analyst",
                "cui",
                "confidential",
                true,
                "domestic",
                "deny: no clause permits it (default deny)",
            ),
            (
                "surveillance",
                "administrator",
                "secret",
                "cui",
                true,
                "domestic",
                "deny: clause `no-domestic-surveillance` (policies/use.cedar:18:1)",
            ),
        ],
    );
}

#[test]
fn contract_new_refuses_what_it_cannot_do() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let list = run(&["contract", "new", "--list"]).ok().stdout;
    assert_eq!(list.lines().count(), 3);
    run(&["contract", "new", "--template", "poetry", "x"]).fails(
        2,
        "no template `poetry`; templates are defense-imagery-analysis",
    );
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    run(&[
        "contract",
        "new",
        "--template",
        "defense-imagery-analysis",
        "taken",
    ])
    .fails(2, "`taken` already exists");
}

/// Rendering: module by module with clause ids; the public form never carries sealed text,
/// a cleared edition does, and only from sealed halves that open their commitments.
#[test]
fn render_shows_clauses_and_keeps_addenda_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
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
    let canary = "CANARY-51c0ffee-annex-text";
    std::fs::write(
        tmp.path().join("annex.txt"),
        format!("Procedure for <target> sets & {canary}\n"),
    )
    .unwrap();
    let sealed = run(&[
        "addendum",
        "seal",
        "--id",
        "annex-c",
        "--title",
        "Target-set handling",
        "--classification",
        "SECRET",
        "annex.txt",
        "--out",
        "annex-c.sealed.toml",
    ])
    .ok()
    .stdout;
    let public_entry = sealed.trim_start_matches("# add to contract.toml (public):\n");
    let contract = tmp.path().join("pkg/contract.toml");
    let text = std::fs::read_to_string(&contract).unwrap();
    std::fs::write(&contract, format!("{text}\n{public_entry}")).unwrap();
    run(&["contract", "check", "pkg"]).ok();

    let public = run(&["contract", "render", "pkg", "--public"]).ok().stdout;
    assert!(public.starts_with(
        "# Imagery analysis assistant for defense analysts\n\n> An imagery-analysis assistant"
    ));
    assert!(public.contains("#### Clause `no-domestic-surveillance` (forbids)\n\n> Never surveillance of the country's own population."));
    assert!(public.contains("### Addendum `annex-c`: Target-set handling (SECRET)\n\nSealed."));
    assert!(public.contains("| approvers | agency-x, auditor-y |"));
    let public_html = run(&["contract", "render", "pkg", "--public", "--format", "html"])
        .ok()
        .stdout;
    assert!(public_html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(public_html.contains("<main>") && public_html.contains("<th scope=\"col\">Term</th>"));
    assert!(
        public_html
            .contains("<h4>Clause <code>human-control-of-lethal-force</code> (forbids)</h4>")
    );
    for page in [&public, &public_html] {
        assert!(!page.contains(canary), "sealed text in a public render");
    }

    let cleared = run(&[
        "contract",
        "render",
        "pkg",
        "--reveal",
        "annex-c.sealed.toml",
        "--format",
        "html",
    ])
    .ok()
    .stdout;
    assert!(cleared.contains("Cleared edition") && cleared.contains(canary));
    assert!(
        cleared.contains("Procedure for &lt;target&gt; sets &amp;"),
        "html is escaped"
    );
    // A sealed half that does not open the commitment is refused, without showing its text.
    let private = std::fs::read_to_string(tmp.path().join("annex-c.sealed.toml")).unwrap();
    std::fs::write(
        tmp.path().join("forged.toml"),
        private.replace("Procedure", "Protocol"),
    )
    .unwrap();
    let forged = run(&["contract", "render", "pkg", "--reveal", "forged.toml"]);
    assert_eq!(forged.code, 1);
    assert!(!forged.stdout.contains(canary) && !forged.stderr.contains(canary));
    run(&[
        "contract",
        "render",
        "pkg",
        "--public",
        "--reveal",
        "annex-c.sealed.toml",
    ])
    .fails(2, "cannot be used with");
    // Every command writes `--format json`; the document's blocks, in order, for tools.
    let json: serde_json::Value = serde_json::from_str(
        &run(&["contract", "render", "pkg", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["edition"], "public");
    assert_eq!(json["blocks"][0]["type"], "heading");
    assert_eq!(
        json["blocks"][0]["content"][1],
        "Imagery analysis assistant for defense analysts"
    );
    assert!(json.to_string().contains("no-domestic-surveillance"));
    assert!(
        !json.to_string().contains(canary),
        "sealed text in a public render"
    );
    run(&["contract", "check", "pkg", "--format", "html"])
        .fails(2, "are for `concordat contract render`");
}

/// Publication, co-signing, amendment and history in a ledger; the sealed text of an addendum
/// is in no ledger entry and no output.
#[test]
fn contracts_are_published_amended_and_shown_from_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    run(&[
        "init",
        "--dir",
        "ledger",
        "--origin",
        "contracts.test.example",
    ])
    .ok();
    for party in ["agency-x", "acme-ai", "auditor-y"] {
        crate::support::new_party(tmp.path(), party, "agency", None);
    }
    run(&[
        "contract",
        "new",
        "--template",
        "border-services-assistant",
        "pkg",
        "--agency",
        "agency-x",
        "--vendor",
        "acme-ai",
        "--auditor",
        "auditor-y",
    ])
    .ok();
    let canary = "CANARY-0b5e55ed-sealed-escalation-contacts";
    std::fs::write(tmp.path().join("annex.txt"), format!("{canary}\n")).unwrap();
    let sealed = run(&[
        "addendum",
        "seal",
        "--id",
        "annex-a",
        "--title",
        "Contacts",
        "--classification",
        "CUI",
        "annex.txt",
        "--out",
        "annex-a.sealed.toml",
    ])
    .ok()
    .stdout;
    let contract = tmp.path().join("pkg/contract.toml");
    let text = std::fs::read_to_string(&contract).unwrap();
    std::fs::write(
        &contract,
        format!(
            "{text}\n{}",
            sealed.trim_start_matches("# add to contract.toml (public):\n")
        ),
    )
    .unwrap();

    // One signature of three: refused, naming who has not signed.
    run(&[
        "contract",
        "publish",
        "--dir",
        "ledger",
        "pkg",
        "--key",
        "agency-x.key",
        "--out",
        "p1.json",
    ])
    .ok();
    run(&["submit", "--dir", "ledger", "p1.json"])
        .fails(1, "rule `required-signatures`: 1 of 3 parties of the contract signed; not yet signed by `acme-ai`, `auditor-y`");
    let p2 = run(&["sign", "--key", "acme-ai.key", "--add-to", "p1.json"])
        .ok()
        .stdout;
    std::fs::write(tmp.path().join("p2.json"), p2).unwrap();
    let p3 = run(&["sign", "--key", "auditor-y.key", "--add-to", "p2.json"])
        .ok()
        .stdout;
    std::fs::write(tmp.path().join("p3.json"), p3).unwrap();
    assert_eq!(
        run(&["submit", "--dir", "ledger", "p3.json"]).ok().stdout,
        "4\n"
    );

    // A package that does not check is not even signed.
    let updates = tmp.path().join("pkg/modules/updates.toml");
    edit(&updates, "notice_days = 60", "notice_days = 10");
    let refused = run(&[
        "contract",
        "amend",
        "--dir",
        "ledger",
        "pkg",
        "--key",
        "agency-x.key",
    ]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("the package does not check; nothing was signed"),
        "{refused:?}"
    );
    edit(&updates, "notice_days = 10", "notice_days = 90");
    edit(&contract, "version = \"1.0.0\"", "version = \"1.1.0\"");
    let amended = run(&[
        "contract",
        "amend",
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
    assert_eq!(
        amended.stdout,
        "amended contract `border-services-assistant` version 1.1.0 at entry 5\n"
    );

    let history = run(&[
        "contract",
        "history",
        "--dir",
        "ledger",
        "border-services-assistant",
    ])
    .ok()
    .stdout;
    assert!(
        history.contains("1.0.0\t4\tsha256:") && history.contains("1.1.0\t5\tsha256:"),
        "{history}"
    );
    let diff = run(&[
        "contract",
        "diff",
        "--dir",
        "ledger",
        "border-services-assistant",
    ])
    .ok()
    .stdout;
    assert!(
        diff.contains("changed modules/updates.toml\n  - notice_days = 60\n  + notice_days = 90\n"),
        "{diff}"
    );
    let shown = run(&[
        "contract",
        "show",
        "--dir",
        "ledger",
        "border-services-assistant",
    ])
    .ok()
    .stdout;
    assert!(shown.contains("version:   1.1.0 (entry 5)"));
    assert!(shown.contains("addendum:  annex-a \"Contacts\" (CUI): sealed, commitment sha256:"));
    run(&[
        "contract",
        "diff",
        "--dir",
        "ledger",
        "border-services-assistant",
        "--from",
        "9.9.9",
    ])
    .fails(2, "has no version 9.9.9; it has 1.0.0, 1.1.0");

    // The canary is in no ledger entry and no output.
    for index in 0..6 {
        let entry = run(&[
            "entry",
            "show",
            "--dir",
            "ledger",
            &index.to_string(),
            "--format",
            "json",
        ])
        .ok()
        .stdout;
        assert!(!entry.contains(canary), "entry {index} carries sealed text");
    }
    // Neither the database nor its write-ahead log, where recent pages live.
    for file in ["ledger/log.db", "ledger/log.db-wal"] {
        let bytes = std::fs::read(tmp.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{file} carries sealed text"
        );
    }
    for output in [&shown, &diff, &history] {
        assert!(!output.contains(canary));
    }
    run(&["log", "verify", "--dir", "ledger"]).ok();
}
