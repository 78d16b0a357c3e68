//! The portal on the demo engagement: snapshots of each page type (with what changes from run
//! to run — dates, keys, digests, times left — masked), and the log's filters, search and
//! downloads. The same pages in a real browser are in `crates/cli/tests/it/browser.rs`.

use expect_test::expect_file;
use regex::Regex;

use crate::support::{Served, run};

/// The page's `<main>`, with what differs between two seedings of the demo masked: base64 and
/// hex strings, dates, times, spans of time, and the pictures (their coordinates follow the
/// clock; their content is asserted apart).
fn masked(html: &str) -> String {
    let main = html
        .split_once("<main id=\"main\">")
        .and_then(|(_, rest)| rest.split_once("</main>"))
        .map_or(html, |(main, _)| main);
    let rules = [
        (r"(?s)<svg.*?</svg>", "<svg>…</svg>"),
        (r"[A-Za-z0-9+/]{40,}={0,2}", "<base64>"),
        (r"[0-9a-f]{12,}", "<hex>"),
        (r"\+[0-9a-f]{8}\+", "+<keyhash>+"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "<instant>"),
        (r"\d{4}-\d{2}-\d{2}", "<date>"),
        (r"\d{2}:\d{2} UTC", "<time> UTC"),
        (r"\d+ d \d+ h|\d+ h \d+ min|\d+ min", "<span>"),
        (r"\(\d+ days old\)", "(<n> days old)"),
    ];
    let mut text = main.to_owned();
    for (pattern, replacement) in rules {
        text = Regex::new(pattern)
            .unwrap()
            .replace_all(&text, replacement)
            .into_owned();
    }
    text
}

const PAGES: [(&str, &str); 17] = [
    ("home", "/"),
    ("contracts", "/contracts"),
    ("contract", "/contracts/defense-imagery-analysis"),
    (
        "compliance",
        "/contracts/defense-imagery-analysis/compliance",
    ),
    ("models", "/models"),
    ("model-in-service", "/models/vision-analyst@2027.1.0"),
    ("model-blocked", "/models/vision-analyst@2027.3.0"),
    (
        "deployment",
        "/deployments/defense-imagery-analysis/analyst-workbench",
    ),
    (
        "deployment-usage",
        "/deployments/defense-imagery-analysis/analyst-workbench/usage",
    ),
    ("usage", "/usage"),
    ("parties", "/parties"),
    ("party", "/parties/acme-ai"),
    ("designations", "/designations"),
    ("log", "/log"),
    ("log-search", "/log?kind=usage-recorded"),
    ("entry", "/log/10"),
    ("not-found", "/no/such/page"),
];

#[test]
fn each_page_type_renders_as_reviewed() {
    run(async {
        let served = Served::demo();
        for (name, path) in PAGES {
            let (status, body) = served.get(path).await;
            let html = String::from_utf8(body).unwrap();
            let expected = if name == "not-found" { 404 } else { 200 };
            assert_eq!(status.as_u16(), expected, "{path}: {html}");
            expect_file![format!("snapshots/portal/{name}.html")].assert_eq(&masked(&html));
        }
    });
}

#[test]
fn the_log_filters_searches_and_downloads_what_it_shows() {
    run(async {
        let served = Served::demo();
        let text = |body: Vec<u8>| String::from_utf8(body).unwrap();

        // A filter by kind shows that kind only; by party, what it signed or is named in.
        let (_, usage) = served.get("/log?kind=usage-recorded").await;
        let usage = text(usage);
        assert!(usage.contains(">usage-recorded</a>"), "{usage}");
        assert!(!usage.contains(">contract-published</a>"), "{usage}");
        let (_, lab) = served.get("/log?party=uk-test-lab").await;
        let lab = text(lab);
        assert!(lab.contains(">evidence-recorded</a>"), "{lab}");
        assert!(!lab.contains(">usage-recorded</a>"), "{lab}");
        let (_, line) = served
            .get("/log?model=vision-analyst&kind=deployment-activated")
            .await;
        let line = text(line);
        assert!(
            line.contains("entry 25") && line.contains("entry 26"),
            "{line}"
        );

        // A search for a name goes to its page; a number to its entry; a digest finds its entry.
        for (q, target) in [
            ("acme-ai", "/parties/acme-ai"),
            ("12", "/log/12"),
            (
                "defense-imagery-analysis",
                "/contracts/defense-imagery-analysis",
            ),
        ] {
            let response = served.response(&format!("/log?q={q}")).await;
            assert_eq!(response.status(), 303, "{q}");
            assert_eq!(response.headers()["location"], target, "{q}");
        }
        let (_, entry) = served.get("/api/entries/16").await;
        let entry: serde_json::Value = serde_json::from_slice(&entry).unwrap();
        let digest = entry["statement"]["subject"][0]["digest"]["sha256"]
            .as_str()
            .unwrap();
        let (_, found) = served
            .get(&format!("/log?q=sha256:{}", &digest[..16]))
            .await;
        let found = text(found);
        assert!(
            found.contains("entry 16") && found.matches("<tr>").count() >= 2,
            "{found}"
        );
        let (_, none) = served.get("/log?q=nothing-is-called-this").await;
        assert!(text(none).contains("No entry matches"));

        // Every listing downloads as it is shown: CSV with a header row, JSON rows by column.
        let response = served.response("/log?kind=usage-recorded&format=csv").await;
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("log.csv")
        );
        let (_, csv) = served.get("/log?kind=usage-recorded&format=csv").await;
        let csv = text(csv);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("Time,Kind,Subject,Signed by,Entry"));
        assert!(lines.next().unwrap().contains(",usage-recorded,"), "{csv}");
        for path in ["/contracts", "/models", "/parties", "/usage", "/log"] {
            let (status, json) = served.get(&format!("{path}?format=json")).await;
            assert_eq!(status, 200, "{path}");
            let rows: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert!(!rows.as_array().unwrap().is_empty(), "{path}: {rows}");
        }
        let (_, parties) = served.get("/parties?format=json").await;
        let parties: serde_json::Value = serde_json::from_slice(&parties).unwrap();
        assert!(
            parties
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["Contact"] == "ai-engagements@acme-ai.example")
        );
        let (status, _) = served.get("/log?format=xml").await;
        assert_eq!(status, 400);
    });
}

#[test]
fn an_entry_links_its_names_shows_files_as_text_and_checks_its_proof() {
    run(async {
        let served = Served::demo();
        let (_, page) = served.get("/log/10").await;
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.contains("verified ✓</span> included in the checkpoint of size"),
            "{page}"
        );
        assert!(page.contains("<a href=\"/contracts/defense-imagery-analysis\">&quot;defense-imagery-analysis&quot;</a>"), "{page}");
        assert!(
            page.contains("<summary>policies/use.cedar</summary>"),
            "{page}"
        );
        assert!(
            page.contains("forbid (principal, action"),
            "contract files read as text: {page}"
        );
        assert!(!page.contains("\\n"), "no escaped newlines: {page}");
        // A party's page: contact, every key's full fingerprint, its contracts and entries.
        let (_, party) = served.get("/parties/acme-ai").await;
        let party = String::from_utf8(party).unwrap();
        let state = served.state();
        for key in state.keys_of("acme-ai") {
            assert!(
                party.contains(&format!("<code>{}</code>", key.keyid)),
                "{party}"
            );
        }
        assert!(
            party.contains("mailto:ai-engagements@acme-ai.example"),
            "{party}"
        );
        assert!(party.contains("/log?party=acme-ai"), "{party}");
        // The timeline is by date, with now, a legend, and each step a link.
        let (_, deployment) = served
            .get("/deployments/defense-imagery-analysis/analyst-workbench")
            .await;
        let deployment = String::from_utf8(deployment).unwrap();
        for words in [
            ">now</text>",
            "duty deadline",
            "incident reported",
            "<a href=\"/log/25\">",
            "#inc-2027-014\">",
        ] {
            assert!(deployment.contains(words), "{words}: {deployment}");
        }
    });
}
