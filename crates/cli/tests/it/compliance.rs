//! Compliance reports from the CLI: each template's coverage of every catalog matches a
//! reviewed table (`UPDATE_EXPECT=1` rewrites it after a deliberate change to a template, a
//! catalog or the crosswalk), a gap makes the report exit 1, and the report reads the same as
//! JSON, text and HTML.

use expect_test::expect_file;

use crate::support::{concordat, new_party};

const CATALOGS: [&str; 6] = [
    "nist-ai-rmf",
    "nist-ai-600-1",
    "eu-ai-act",
    "uk-aisi",
    "india-ai-governance",
    "us-omb",
];

#[test]
fn each_template_covers_each_regime_as_reviewed() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    run(&[
        "init",
        "--dir",
        "ledger",
        "--origin",
        "compliance.test.example",
    ])
    .ok();
    for (party, role) in [
        ("agency-x", "agency"),
        ("acme-ai", "vendor"),
        ("auditor-y", "auditor"),
    ] {
        new_party(tmp.path(), party, role, Some("US"));
    }
    for template in [
        "defense-imagery-analysis",
        "border-services-assistant",
        "health-resource-allocation",
    ] {
        run(&[
            "contract",
            "new",
            "--template",
            template,
            template,
            "--agency",
            "agency-x",
            "--vendor",
            "acme-ai",
            "--auditor",
            "auditor-y",
        ])
        .ok();
        let envelope = format!("{template}.json");
        run(&[
            "contract",
            "publish",
            "--dir",
            "ledger",
            template,
            "--key",
            "agency-x.key",
            "--out",
            &envelope,
        ])
        .ok();
        for key in ["acme-ai.key", "auditor-y.key"] {
            let signed = run(&["sign", "--key", key, "--add-to", &envelope])
                .ok()
                .stdout;
            std::fs::write(tmp.path().join(&envelope), signed).unwrap();
        }
        run(&["submit", "--dir", "ledger", &envelope]).ok();
        let id: toml::Table =
            std::fs::read_to_string(tmp.path().join(template).join("contract.toml"))
                .unwrap()
                .parse()
                .unwrap();
        let id = id["id"].as_str().unwrap().to_owned();

        let mut args = vec![
            "compliance",
            "report",
            "--dir",
            "ledger",
            "--contract",
            &id,
            "--at",
            "2026-12-01T00:00:00Z",
            "--format",
            "json",
        ];
        for catalog in CATALOGS {
            args.extend(["--regime", catalog]);
        }
        // Every template has gaps somewhere (what only the world outside the ledger can show).
        let report = run(&args);
        assert_eq!(report.code, 1, "{}", report.stderr);
        assert_eq!(
            run(&args).stdout,
            report.stdout,
            "the same log and the same --at give the same bytes"
        );
        assert!(
            report.stderr.contains("gaps in nist-ai-rmf"),
            "{}",
            report.stderr
        );
        let reports: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
        let mut table = String::new();
        for r in reports.as_array().unwrap() {
            table.push_str(&format!(
                "{} {}\n",
                r["catalog"].as_str().unwrap(),
                r["catalog_version"].as_str().unwrap()
            ));
            for row in r["rows"].as_array().unwrap() {
                let by: Vec<&str> = row["met_by"]
                    .as_array()
                    .map(|m| m.iter().filter_map(|p| p["source"].as_str()).collect())
                    .unwrap_or_default();
                table.push_str(&format!(
                    "  {:<40} {:<14} {}\n",
                    row["id"].as_str().unwrap(),
                    row["status"].as_str().unwrap(),
                    by.join(" ")
                ));
            }
        }
        expect_file![format!("snapshots/compliance-{template}.txt")].assert_eq(&table);
    }

    // The default report reads the NIST AI RMF and the regimes the contract names.
    let text = run(&[
        "compliance",
        "report",
        "--dir",
        "ledger",
        "--contract",
        "border-services-assistant",
    ]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout
            .contains("NIST AI Risk Management Framework (nist-ai-rmf 1.0)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("EU AI Act: obligations of providers and deployers (eu-ai-act 2024/1689)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("MANAGE 2.4      MET"),
        "{}",
        text.stdout
    );
    let html = run(&[
        "compliance",
        "report",
        "--dir",
        "ledger",
        "--contract",
        "border-services-assistant",
        "--format",
        "html",
    ]);
    assert!(
        html.stdout.starts_with("<!doctype html>")
            && html.stdout.contains("<span class=\"badge ok\">met</span>")
    );
    run(&[
        "compliance",
        "report",
        "--dir",
        "ledger",
        "--contract",
        "border-services-assistant",
        "--regime",
        "gdpr",
    ])
    .fails(2, "no regime or catalog `gdpr`");
    let catalogs = run(&["compliance", "catalogs"]).ok().stdout;
    assert!(
        catalogs.contains("4 function, 19 category, 72 subcategory"),
        "{catalogs}"
    );
}
