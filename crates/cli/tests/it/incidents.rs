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
    assert!(
        page.contains("<h2 id=\"inc-2027-014\">Incident inc-2027-014</h2>"),
        "{page}"
    );
    assert!(page.contains(">overdue</span> by"), "{page}");
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
    // The designated supplier hears of what is decided, at the endpoint it names.
    let (hook, seen) = receiver(0);
    concordat(
        &[
            "outbox",
            "endpoint",
            "--server",
            &served.url,
            "--key",
            &key("northwind-models"),
            "--url",
            &hook,
        ],
        None,
        tmp.path(),
    )
    .ok();
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
    let started = std::time::Instant::now();
    while seen.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no notification"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let body: Value = serde_json::from_slice(&seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["kind"].as_str()),
        (Some("designation"), Some("designation-decided"))
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

/// One request a webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    host: String,
    path: String,
    digest: String,
    input: String,
    signature: String,
    body: Vec<u8>,
    pub answered: u16,
}

/// A webhook receiver on a free port that answers 500 to the first `failures` requests.
pub fn receiver(failures: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = std::sync::Arc::default();
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut headers = std::collections::BTreeMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answered = if log.lock().unwrap().len() < failures {
                500
            } else {
                200
            };
            let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
            log.lock().unwrap().push(Received {
                key: header("idempotency-key"),
                host: header("host"),
                path: first
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
                digest: header("content-digest"),
                input: header("signature-input"),
                signature: header("signature"),
                body,
                answered,
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {answered} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

#[test]
fn duties_reach_the_partys_endpoint_as_signed_webhooks_none_lost_across_a_restart() {
    use attest::http_signature::{Message, parse, signature_base};
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let dir = served.dir.clone();
    let key = |party: &str| {
        dir.join("keys")
            .join(format!("{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (hook, seen) = receiver(3);
    concordat(
        &[
            "outbox",
            "endpoint",
            "--server",
            &served.url,
            "--key",
            &key("acme-ai"),
            "--url",
            &hook,
        ],
        None,
        tmp.path(),
    )
    .ok();
    concordat(
        &[
            "outbox",
            "endpoint",
            "--server",
            &served.url,
            "--key",
            &key("acme-ai"),
            "--url",
            "http://example.com/x",
        ],
        None,
        tmp.path(),
    )
    .fails(1, "notifications go over HTTPS");
    // The vendor reports: it owes the contract's two notifications and the rollback.
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
            "inc-2027-040",
            "--severity",
            "serious",
            "--harm",
            "fundamental-rights",
            "--occurred-at",
            "2026-11-30T00:00:00Z",
            "--aware-at",
            "2026-11-30T01:00:00Z",
            "--summary",
            "Refusals regressed.",
        ],
        None,
        tmp.path(),
    )
    .ok();
    let wait = |what: &str, done: &dyn Fn(&[Received]) -> bool| {
        let started = std::time::Instant::now();
        while !done(&seen.lock().unwrap()) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{what}: {:?}",
                seen.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    // The first three attempts fail; the sender is killed before it tries again.
    wait("first attempts", &|r| r.len() >= 3);
    drop(served);
    let restarted = Served::start(
        tmp.path(),
        dir.clone(),
        &[
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--webhooks-to-private",
        ],
    );
    let delivered = |r: &[Received]| -> std::collections::BTreeSet<String> {
        r.iter()
            .filter(|x| x.answered == 200)
            .map(|x| x.key.clone())
            .collect()
    };
    wait("every notification delivered", &|r| delivered(r).len() == 3);
    let got = seen.lock().unwrap().clone();
    let keys: std::collections::BTreeSet<String> = got.iter().map(|r| r.key.clone()).collect();
    assert_eq!(
        keys,
        delivered(&got),
        "each key failed, then arrived with the same key"
    );
    // Each is signed with the operator's key over its content digest and idempotency key.
    let operator: Value = ureq::get(&format!("{}/api/parties/operator", restarted.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    for r in &got {
        let signed = parse(&r.input, &r.signature).unwrap();
        let keyid = signed[0].params.string("keyid").unwrap();
        let text = operator["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["keyid"] == keyid)
            .unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
        let public = attest::PublicKey::parse(&text).unwrap();
        let headers = [
            ("content-digest", r.digest.as_str()),
            ("idempotency-key", r.key.as_str()),
        ];
        let message = Message {
            method: "POST",
            authority: &r.host,
            path: &r.path,
            query: None,
            headers: &headers,
        };
        let base = signature_base(&message, &signed[0].params).unwrap();
        assert!(
            public.verify(base.as_bytes(), &signed[0].signature),
            "{r:?}"
        );
        let hex = service::build::sha256_hex(&r.body);
        let raw: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let digest = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
        assert_eq!(r.digest, format!("sha-256=:{digest}:"));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["incident"], "inc-2027-040");
    }
    // The operator sees every attempt.
    let listed: Value = serde_json::from_str(
        &concordat(
            &[
                "--format",
                "json",
                "outbox",
                "list",
                "--dir",
                dir.to_str().unwrap(),
            ],
            None,
            tmp.path(),
        )
        .ok()
        .stdout,
    )
    .unwrap();
    drop(restarted);
    let statuses: Vec<u64> = listed["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["status"].as_u64())
        .collect();
    assert!(
        statuses.contains(&500) && statuses.contains(&200),
        "{listed}"
    );
    assert_eq!(listed["delivered"].as_array().unwrap().len(), 3);
}
