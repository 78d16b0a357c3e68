//! Incidents through the CLI against the demo's server: its incident's clocks (one duty met,
//! one overdue), notifying, closing, and reports the ledger refuses.

use serde_json::Value;

use crate::server::Served;
use crate::support::concordat;

const CONTRACT: &str = "defense-imagery-analysis";
const INCIDENT: &str = "inc-2027-014";

fn duty<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["duties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no duty `{id}` in {view}"))
}

#[test]
fn the_demo_incident_shows_its_clocks_and_is_notified_and_closed_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let key = |party: &str| {
        served
            .dir
            .join("keys")
            .join(format!("{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let status = |format: &str| {
        concordat(
            &[
                "--format",
                format,
                "incident",
                "status",
                "--server",
                &served.url,
                "--contract",
                CONTRACT,
            ],
            None,
            tmp.path(),
        )
    };

    // The vendor told the agency within the 72 hours and never told the auditor: one duty met,
    // one overdue, and the command exits 1 while a duty is overdue. The report itself rolled
    // the deployment back.
    let overdue = status("json").fails(1, "duties overdue: inc-2027-014 step/oversight-office");
    let views: Value = serde_json::from_str(&overdue.stdout).unwrap();
    let view = &views[0];
    assert_eq!(view["id"], INCIDENT);
    assert_eq!(duty(view, "step/defense-agency")["status"], "met");
    assert_eq!(duty(view, "step/oversight-office")["status"], "overdue");
    assert_eq!(duty(view, "rollback")["status"], "met");
    assert_eq!(view["rollback"]["automatic"], true);
    assert_eq!(view["rollback"]["from"], "vision-analyst@2027.2.0");
    let text = status("text").stdout;
    assert!(text.contains("OVERDUE   step/oversight-office"), "{text}");
    assert!(text.contains("automatically on the report"), "{text}");

    // The portal shows the same clocks on the deployment's page.
    let page = ureq::get(&format!(
        "{}/deployments/{CONTRACT}/analyst-workbench",
        served.url
    ))
    .call()
    .unwrap()
    .into_string()
    .unwrap();
    assert!(page.contains("<h2>Incidents</h2>"), "{page}");
    assert!(page.contains("<strong>overdue</strong> by"), "{page}");
    assert!(page.contains("automatically on the report"), "{page}");

    // Told late, the duty is met late and nothing is overdue.
    concordat(
        &[
            "incident",
            "notify",
            "--server",
            &served.url,
            "--key",
            &key("acme-ai"),
            "--contract",
            CONTRACT,
            "--incident",
            INCIDENT,
            "--to",
            "oversight-office",
            "--summary",
            "Incident report sent to the oversight office.",
        ],
        None,
        tmp.path(),
    )
    .ok();
    let views: Value = serde_json::from_str(&status("json").ok().stdout).unwrap();
    assert_eq!(
        duty(&views[0], "step/oversight-office")["status"],
        "met-late"
    );

    // A report the ledger refuses says which rule and why.
    concordat(
        &[
            "incident",
            "report",
            "--server",
            &served.url,
            "--key",
            &key("acme-ai"),
            "--contract",
            CONTRACT,
            "--deployment",
            "analyst-workbench",
            "--incident",
            "inc-2027-020",
            "--severity",
            "minor",
            "--harm",
            "bad-vibes",
            "--occurred-at",
            "2026-11-01T00:00:00Z",
            "--aware-at",
            "2026-11-01T01:00:00Z",
            "--summary",
            "x",
        ],
        None,
        tmp.path(),
    )
    .fails(1, "harm `bad-vibes` is neither");
    concordat(
        &[
            "incident",
            "report",
            "--server",
            &served.url,
            "--key",
            &key("acme-ai"),
            "--contract",
            CONTRACT,
            "--deployment",
            "analyst-workbench",
            "--incident",
            "inc-2027-020",
            "--severity",
            "gravest",
            "--harm",
            "health-or-safety",
            "--occurred-at",
            "2026-11-01T00:00:00Z",
            "--aware-at",
            "2026-11-01T01:00:00Z",
            "--summary",
            "x",
        ],
        None,
        tmp.path(),
    )
    .fails(2, "--severity `gravest`: one of minor, serious");

    // The auditor's finding put the fault in the model: the vendor owes the damages, within
    // its cap; a second finding is refused.
    let report = concordat(
        &[
            "--format",
            "json",
            "liability",
            "report",
            "--server",
            &served.url,
            "--incident",
            INCIDENT,
        ],
        None,
        tmp.path(),
    )
    .ok();
    let allocation: Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(allocation["root_cause"], "model");
    assert_eq!(allocation["parts"][0]["party"], "acme-ai");
    assert_eq!(allocation["parts"][0]["owed"], 1_200_000);
    assert_eq!(allocation["uncovered"], 0);
    let text = concordat(
        &[
            "liability",
            "report",
            "--server",
            &served.url,
            "--incident",
            INCIDENT,
        ],
        None,
        tmp.path(),
    )
    .ok()
    .stdout;
    assert!(text.contains("owes 1200000 USD"), "{text}");
    concordat(
        &[
            "liability",
            "find",
            "--server",
            &served.url,
            "--key",
            &key("oversight-office"),
            "--contract",
            CONTRACT,
            "--incident",
            INCIDENT,
            "--root-cause",
            "data",
            "--harm",
            "fundamental-rights",
            "--damages",
            "5",
            "--currency",
            "USD",
            "--summary",
            "again",
        ],
        None,
        tmp.path(),
    )
    .fails(1, "liability-once");

    // Closed with its review.
    concordat(
        &[
            "incident",
            "close",
            "--server",
            &served.url,
            "--key",
            &key("defense-agency"),
            "--contract",
            CONTRACT,
            "--incident",
            INCIDENT,
            "--review",
            "Root cause: the retrained refusal head mislabelled low-light imagery.",
            "--remediation",
            "2027.2.0 withdrawn; the accuracy suite now includes night imagery.",
        ],
        None,
        tmp.path(),
    )
    .ok();
    let text = status("text").ok().stdout;
    assert!(text.contains("(closed)"), "{text}");
}

#[test]
fn the_demo_designation_is_under_appeal_and_its_decision_is_on_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let key = |party: &str| {
        served
            .dir
            .join("keys")
            .join(format!("{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let list = concordat(
        &["designation", "list", "--server", &served.url],
        None,
        tmp.path(),
    )
    .ok();
    assert!(
        list.stdout
            .contains("scr-2027-003 (in force, under appeal): party northwind-models"),
        "{}",
        list.stdout
    );
    // Only the authority that issued it decides; a dismissed appeal leaves it in force.
    concordat(
        &[
            "designation",
            "decide",
            "--server",
            &served.url,
            "--key",
            &key("uk-aisi"),
            "--designation",
            "scr-2027-003",
            "--reasons",
            "x",
        ],
        None,
        tmp.path(),
    )
    .fails(1, "only `us-caisi`, which issued it, decides its appeal");
    concordat(
        &[
            "designation",
            "decide",
            "--server",
            &served.url,
            "--key",
            &key("us-caisi"),
            "--designation",
            "scr-2027-003",
            "--reasons",
            "The provenance does not cover the 2027.2 builds.",
        ],
        None,
        tmp.path(),
    )
    .ok();
    let all: Value = serde_json::from_str(
        &concordat(
            &[
                "--format",
                "json",
                "designation",
                "list",
                "--server",
                &served.url,
            ],
            None,
            tmp.path(),
        )
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(all[0]["decision"]["upheld"], false);
    assert!(all[0]["lifted"].is_null());
    let page = ureq::get(&format!("{}/designations", served.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("scr-2027-003") && page.contains("appeal dismissed"),
        "{page}"
    );
    // Lifted by its authority.
    concordat(
        &[
            "designation",
            "lift",
            "--server",
            &served.url,
            "--key",
            &key("us-caisi"),
            "--designation",
            "scr-2027-003",
            "--reason",
            "Re-audited.",
        ],
        None,
        tmp.path(),
    )
    .ok();
    let list = concordat(
        &["designation", "list", "--server", &served.url],
        None,
        tmp.path(),
    )
    .ok();
    assert!(
        list.stdout.contains("scr-2027-003 (lifted)"),
        "{}",
        list.stdout
    );
}
