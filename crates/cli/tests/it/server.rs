//! The server, as a real process on a free port: every route of its OpenAPI document answers,
//! refusals are JSON with a reason, tiles reproduce the checkpoint, proofs verify offline, the
//! portal shows what is public and nothing sealed.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{BINARY, concordat};

/// A `concordat demo` process, stopped when dropped.
pub struct Served {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Served {
    pub fn demo(tmp: &Path) -> Served {
        let dir = tmp.join("demo");
        let dir_arg = dir.to_str().unwrap().to_owned();
        Served::start(
            tmp,
            dir,
            &["demo", "--listen", "127.0.0.1:0", "--dir", &dir_arg],
        )
    }

    /// Runs `concordat ARGS` (a `serve` or `demo`) and waits for its `serving at URL` line.
    pub fn start(tmp: &Path, dir: PathBuf, args: &[&str]) -> Served {
        let log = tmp.join("server.log");
        let mut child = Command::new(BINARY)
            .args(args)
            .env("CONCORDAT_LOG", "debug")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("serving at ")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line `{first}`: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_owned();
        Served {
            child,
            url,
            dir,
            log,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub cache_control: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body is the API's error shape with this status and code.
    pub fn refused(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        assert_eq!(body["error"]["status"], status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        body["error"]["message"].as_str().unwrap().to_owned()
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{error}"),
    };
    let status = response.status();
    let content_type = response
        .header("content-type")
        .unwrap_or_default()
        .to_owned();
    let cache_control = response
        .header("cache-control")
        .unwrap_or_default()
        .to_owned();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    Answer {
        status,
        content_type,
        cache_control,
        body,
    }
}

pub fn get(url: &str) -> Answer {
    answer(ureq::get(url).call())
}

fn post(url: &str, body: &[u8]) -> Answer {
    answer(
        ureq::post(url)
            .set("Content-Type", "application/json")
            .send_bytes(body),
    )
}

/// A party statement for `party`, signed with the demo vendor's key.
fn statement_envelope(tmp: &Path, served: &Served, party: &str, text: &str) -> Vec<u8> {
    std::fs::write(
        tmp.join("statement.json"),
        serde_json::json!({"party": party, "topic": "disclosure", "text": text}).to_string(),
    )
    .unwrap();
    let key = served.dir.join("keys/acme-ai.key");
    concordat(
        &[
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--kind",
            "party-statement",
            "statement.json",
        ],
        None,
        tmp,
    )
    .ok()
    .stdout
    .into_bytes()
}

#[test]
fn every_documented_route_answers_and_refusals_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = &served.url;
    let openapi = get(&format!("{url}/openapi.json")).json();
    let documented: BTreeSet<String> = openapi["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let routes: BTreeSet<String> = server::ROUTES
        .iter()
        .map(|r| r.path.replace("{*", "{"))
        .collect();
    assert_eq!(documented, routes);
    let size: u64 = get(&format!("{url}/checkpoint"))
        .text()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let keyid = get(&format!("{url}/api/parties/acme-ai")).json()["keys"][0]["keyid"]
        .as_str()
        .unwrap()
        .to_owned();
    for route in server::ROUTES
        .iter()
        .filter(|r| r.method == "get" && r.tag != "restricted")
    {
        let path = route
            .path
            .replace("{*path}", &format!("0/000.p/{size}"))
            .replace("{keyid}", &keyid)
            .replace("{index}", "3")
            .replace("{key}", "vision-analyst@2027.1.0")
            .replace("{contract}", "defense-imagery-analysis")
            .replace("{name}", "analyst-workbench")
            .replace(
                "{id}",
                if route.path.contains("parties") {
                    "acme-ai"
                } else {
                    "defense-imagery-analysis"
                },
            );
        let query: Vec<String> = route
            .query
            .iter()
            .filter(|(_, required)| *required)
            .map(|(name, _)| match *name {
                "contract" => "contract=defense-imagery-analysis".to_owned(),
                "model" => "model=vision-analyst@2027.1.0".to_owned(),
                "old" => "old=3".to_owned(),
                other => panic!("no sample for query `{other}`"),
            })
            .collect();
        let target = if query.is_empty() {
            format!("{url}{path}")
        } else {
            format!("{url}{path}?{}", query.join("&"))
        };
        let answer = get(&target);
        assert_eq!(answer.status, 200, "{target}: {}", answer.text());
        assert!(
            answer.content_type.starts_with(route.content),
            "{target}: {} is not {}",
            answer.content_type,
            route.content
        );
    }

    // Refusals: JSON, a stable shape, a reason, no internals.
    let message = get(&format!("{url}/api/entries/99999")).refused(404, "not-found");
    assert_eq!(
        message,
        format!("entry 99999 is not in the log (it holds {size} entries)")
    );
    get(&format!("{url}/api/entries/abc")).refused(400, "bad-request");
    let message = get(&format!("{url}/api/consistency?old={}", size + 1)).refused(404, "not-found");
    assert!(message.contains("rolled back or forked"), "{message}");
    get(&format!("{url}/api/consistency?old=1&new={}", size + 7)).refused(404, "not-found");
    get(&format!("{url}/api/consistency")).refused(400, "bad-request");
    // Any client proves the log only grew, from a checkpoint it saw, through the server.
    let seen = get(&format!("{url}/checkpoint")).text();
    std::fs::write(tmp.path().join("seen.checkpoint"), &seen).unwrap();
    let verified = concordat(
        &[
            "log",
            "verify",
            "--server",
            url,
            "--since",
            "seen.checkpoint",
        ],
        None,
        tmp.path(),
    )
    .ok()
    .stdout;
    assert!(
        verified.contains(&format!(
            "the log extends the checkpoint of size {size} in `seen.checkpoint`"
        )),
        "{verified}"
    );
    let forged = seen.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size - 1), 1);
    std::fs::write(tmp.path().join("forged.checkpoint"), forged).unwrap();
    concordat(
        &[
            "log",
            "verify",
            "--server",
            url,
            "--since",
            "forged.checkpoint",
        ],
        None,
        tmp.path(),
    )
    .fails(1, "is not a checkpoint of");
    get(&format!("{url}/api/gate?contract=defense-imagery-analysis")).refused(400, "bad-request");
    get(&format!(
        "{url}/api/gate?contract=nope&model=vision-analyst@2027.1.0"
    ))
    .refused(404, "not-found");
    get(&format!("{url}/api/parties/nobody")).refused(404, "not-found");
    get(&format!("{url}/tile/0/000.p/255")).refused(404, "not-found");
    let message = get(&format!("{url}/tile/0/abc")).refused(400, "bad-request");
    assert!(message.contains("3-digit groups"), "{message}");
    // An unknown page answers with a page in the portal's layout; the API keeps its JSON.
    let missing = get(&format!("{url}/no/such/page"));
    assert_eq!(missing.status, 404);
    assert!(
        missing.content_type.starts_with("text/html"),
        "{}",
        missing.content_type
    );
    assert!(
        missing.text().contains("<h1>Not found</h1>")
            && missing.text().contains("<nav aria-label=\"Main\">")
    );
    get(&format!("{url}/api/no/such/route")).refused(404, "not-found");
    get(&format!("{url}/api/evidence?model={}", "x".repeat(5000))).refused(414, "too-long");
    post(&format!("{url}/api/entries"), b"not an envelope").refused(400, "invalid-entry");
    post(&format!("{url}/api/entries"), &vec![b'x'; 200 * 1024]).refused(413, "too-large");
    // Signed by the vendor, but speaking for the agency: refused, naming the rule.
    let foreign = statement_envelope(tmp.path(), &served, "defense-agency", "x");
    let message = post(&format!("{url}/api/entries"), &foreign).refused(422, "rejected");
    assert!(message.contains("rule `required-signatures`"), "{message}");

    // A good entry: 201, its index and a proof that verifies offline.
    let envelope = statement_envelope(
        tmp.path(),
        &served,
        "acme-ai",
        "We will publish our evaluation methods.",
    );
    let created = post(&format!("{url}/api/entries"), &envelope);
    assert_eq!(created.status, 201, "{}", created.text());
    let index = created.json()["index"].as_u64().unwrap();
    assert_eq!(index, size);
    // Envelopes are public: posting one again is a replay, refused with where it is logged.
    let message = post(&format!("{url}/api/entries"), &envelope).refused(422, "rejected");
    assert!(
        message.contains(&format!(
            "rule `logged-once`: this statement is already logged as entry {index}"
        )),
        "{message}"
    );
    let entry = get(&format!("{url}/api/entries/{index}")).json();
    assert_eq!(entry["kind"], "party-statement");
    assert_eq!(entry["signers"][0]["party"], "acme-ai");
    std::fs::write(
        tmp.path().join("entry.json"),
        get(&format!("{url}/api/entries/{index}/envelope")).body,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("entry.tlog-proof"),
        get(&format!("{url}/api/entries/{index}/proof")).body,
    )
    .unwrap();
    let vkey = get(&format!("{url}/api/instance")).json()["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();
    concordat(
        &[
            "proof",
            "verify",
            "--key",
            &vkey,
            "--entry",
            "entry.json",
            "entry.tlog-proof",
        ],
        None,
        tmp.path(),
    )
    .ok();

    // The CLI submits through the server; writing the directory directly is refused, with
    // where to send entries instead.
    let more = statement_envelope(tmp.path(), &served, "acme-ai", "And our results.");
    std::fs::write(tmp.path().join("more.json"), &more).unwrap();
    let out = concordat(&["submit", "--server", url, "more.json"], None, tmp.path())
        .ok()
        .stdout;
    assert_eq!(out.trim(), (index + 1).to_string());
    concordat(
        &["submit", "--dir", served.dir.to_str().unwrap(), "more.json"],
        None,
        tmp.path(),
    )
    .fails(
        2,
        &format!(
            "a server holds it: run the command with `--server {url}` instead of `--dir` (envelopes: `concordat submit --server {url} ENVELOPE`)"
        ),
    );

    // Past 256 entries the first tile is full: immutable. The checkpoint is not.
    let acme = tlog::note::SignerKey::parse(
        &std::fs::read_to_string(served.dir.join("keys/acme-ai.key")).unwrap(),
    )
    .unwrap();
    let lines: String = (0..240)
        .map(|i| {
            let predicate = serde_json::json!({"party": "acme-ai", "topic": "disclosure", "text": format!("Report {i}.")});
            let statement = ledger::statement(domain::Kind::PartyStatement, predicate, Vec::new());
            ledger::sign_statement(&statement, &acme).unwrap().to_json() + "\n"
        })
        .collect();
    let out = concordat(
        &["submit", "--server", url, "-"],
        Some(lines.as_bytes()),
        tmp.path(),
    )
    .ok()
    .stdout;
    assert_eq!(out.lines().count(), 240);
    let full = get(&format!("{url}/tile/0/000"));
    assert_eq!(full.status, 200);
    assert_eq!(full.cache_control, "public, max-age=31536000, immutable");
    assert_eq!(get(&format!("{url}/checkpoint")).cache_control, "no-cache");

    // Tiles fetched over HTTP reproduce the served checkpoint's root, and the entry bundles
    // hash to the tiles' leaves.
    let checkpoint = get(&format!("{url}/checkpoint")).text();
    let mut lines = checkpoint.lines().skip(1);
    let size: u64 = lines.next().unwrap().parse().unwrap();
    let root = tlog::Hash::from_base64(lines.next().unwrap()).unwrap();
    let mut tree = tlog::tree::TreeState::new();
    let mut tile = 0u64;
    while tree.size() < size {
        let width = (size - tile * 256).min(256);
        let suffix = if width == 256 {
            String::new()
        } else {
            format!(".p/{width}")
        };
        let hashes = get(&format!(
            "{url}/tile/0/{}{suffix}",
            tlog::tile::encode_index(tile)
        ))
        .body;
        let bundle = get(&format!(
            "{url}/tile/entries/{}{suffix}",
            tlog::tile::encode_index(tile)
        ))
        .body;
        let entries = tlog::tile::decode_bundle(&bundle).unwrap();
        assert_eq!(entries.len() as u64, width);
        for (chunk, entry) in hashes.chunks(32).zip(entries) {
            let leaf = tlog::Hash::from_slice(chunk).unwrap();
            assert_eq!(leaf, tlog::hash::leaf_hash(entry));
            tree.append_leaf_hash(leaf, |_, _| {});
        }
        tile += 1;
    }
    assert_eq!(tree.root(), root);

    // Restricted data: a sealed addendum's text, for a cleared party's token only, each read
    // recorded in the ledger before it is served.
    let addendum = format!("{url}/api/contracts/defense-imagery-analysis/addenda/annex-c");
    let with_token = |token: &str| {
        answer(
            ureq::get(&addendum)
                .set("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    };
    let message = get(&addendum).refused(401, "unauthenticated");
    assert!(
        message.contains("send `Authorization: Bearer TOKEN`"),
        "{message}"
    );
    with_token("cct_not-a-token").refused(401, "unauthenticated");
    let dir = served.dir.to_str().unwrap();
    let issue = |party: &str| -> (String, String) {
        let out: Value = serde_json::from_str(
            &concordat(
                &[
                    "token", "issue", "--dir", dir, "--party", party, "--format", "json",
                ],
                None,
                tmp.path(),
            )
            .ok()
            .stdout,
        )
        .unwrap();
        (
            out["token"].as_str().unwrap().to_owned(),
            out["id"].as_str().unwrap().to_owned(),
        )
    };
    let (lab_token, _) = issue("uk-test-lab");
    let message = with_token(&lab_token).refused(403, "forbidden");
    assert_eq!(
        message,
        "`uk-test-lab` is not cleared for addendum `annex-c` of `defense-imagery-analysis`"
    );
    let (agency_token, agency_id) = issue("defense-agency");
    let read = with_token(&agency_token);
    assert_eq!(read.status, 200, "{}", read.text());
    let read = read.json();
    let sealed: toml::Table = std::fs::read_to_string(
        served
            .dir
            .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(read["text"], sealed["text"].as_str().unwrap());
    let recorded = get(&format!("{url}/api/entries/{}", read["read_recorded_at"])).json();
    assert_eq!(recorded["kind"], "restricted-read");
    assert_eq!(
        recorded["statement"]["predicate"]["reader"],
        "defense-agency"
    );
    assert_eq!(
        recorded["statement"]["predicate"]["resource"],
        "contract/defense-imagery-analysis/addendum/annex-c"
    );
    assert_eq!(recorded["signers"][0]["party"], "operator");
    assert!(
        !recorded
            .to_string()
            .contains(&read["text"].as_str().unwrap()[..30])
    );
    let tokens = std::fs::read_to_string(served.dir.join("tokens.json")).unwrap();
    assert!(!tokens.contains(&agency_token), "tokens are stored hashed");
    // The text that left does not show up in the server's log either.
    let log = std::fs::read_to_string(&served.log).unwrap();
    let secret = &read["text"].as_str().unwrap()[..30];
    assert!(!log.contains(secret), "the server log shows sealed text");
    concordat(
        &["token", "revoke", "--dir", dir, &agency_id],
        None,
        tmp.path(),
    )
    .ok();
    with_token(&agency_token).refused(401, "unauthenticated");

    let size: u64 = get(&format!("{url}/checkpoint"))
        .text()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let metrics = get(&format!("{url}/metrics")).text();
    assert!(
        metrics.contains(&format!("concordat_log_entries {size}")),
        "{metrics}"
    );
    assert!(
        metrics.contains("concordat_http_requests_total{route=\"/api/entries\",status=\"201\"}"),
        "{metrics}"
    );
    assert!(get(&format!("{url}/healthz")).json()["status"] == "ok");
}

/// Every page reachable from the front page, by following links (at most `limit`).
pub fn crawl(url: &str, limit: usize) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from(["/".to_owned()]);
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= limit || !seen.insert(path.clone()) {
            continue;
        }
        let answer = get(&format!("{url}{path}"));
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        let text = answer.text();
        if answer.content_type.starts_with("text/html") {
            for link in text
                .split("href=\"")
                .skip(1)
                .filter_map(|rest| rest.split_once('"'))
                .map(|(l, _)| l.replace("&amp;", "&"))
            {
                if link.starts_with('/') && !link.starts_with("/tile/") {
                    queue.push_back(link);
                }
            }
        }
        pages.push((path, text));
    }
    pages
}

#[test]
fn the_portal_shows_what_is_public_and_nothing_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = &served.url;
    let pages = crawl(url, 400);
    let page = |path: &str| {
        &pages
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{path} is not linked"))
            .1
    };
    let home = page("/");
    assert!(home.contains("concordat proof verify --key"), "{home}");
    assert!(home.contains("<nav aria-label=\"Main\">") && home.contains("<main id=\"main\">"));
    // The demo's coalition: the British register, and the one evaluation brought from it.
    assert!(
        home.contains("<h2>Evidence from other registers</h2>")
            && home.contains("<strong>gb</strong>: the log <span class=\"id\">gb.demo.concordat.example/ai</span>")
            && home.contains("1 evaluation mirrored here"),
        "{home}"
    );
    let contract = page("/contracts/defense-imagery-analysis");
    assert!(
        contract.contains("<h2>What it forbids and what it permits</h2>"),
        "{contract}"
    );
    assert!(
        contract.contains("Target-set handling"),
        "the sealed addendum's title is public"
    );
    assert!(contract.contains("sha256:"), "its commitment is public");
    let model = page("/models/vision-analyst@2027.3.0");
    assert!(model.contains(">blocked</span>"), "{model}");
    // Its accuracy is met by the British instance's evaluation, mirrored into this one.
    assert!(
        model.contains("uk-test-lab@gb") && model.contains("logged first as entry"),
        "{model}"
    );
    assert!(contract.contains("<h2>Usage</h2>"), "{contract}");
    assert!(
        contract.contains("1 by <code>human-control-of-lethal-force</code>"),
        "{contract}"
    );
    let deployment = page("/deployments/defense-imagery-analysis/analyst-workbench");
    assert!(
        deployment.contains("<title id=\"timeline-title\">"),
        "{deployment}"
    );
    assert!(
        deployment.contains("incident <code>inc-2027-014</code> (serious)"),
        "{deployment}"
    );
    let entry = page("/log/3");
    assert!(entry.contains("<h2>Inclusion proof</h2>"), "{entry}");
    assert!(entry.contains("c2sp.org/tlog-proof@v1"), "{entry}");

    // The reading commands say the same through the server as from the directory.
    let dir = served.dir.to_str().unwrap();
    for args in [
        &[
            "gate",
            "status",
            "--contract",
            "defense-imagery-analysis",
            "--model",
            "vision-analyst@2027.3.0",
            "--at",
            "2026-11-01T00:00:00Z",
        ][..],
        &[
            "deploy",
            "history",
            "--contract",
            "defense-imagery-analysis",
            "--deployment",
            "analyst-workbench",
        ][..],
        &["model", "list"][..],
        &["evidence", "list", "--model", "vision-analyst@2027.1.0"][..],
        &["party", "list"][..],
        &["party", "show", "acme-ai"][..],
        &["usage", "list"][..],
        &["usage", "list", "--format", "json"][..],
        &["entry", "show", "5"][..],
        &["contract", "show", "defense-imagery-analysis"][..],
        &[
            "contract",
            "history",
            "defense-imagery-analysis",
            "--format",
            "json",
        ][..],
    ] {
        let local = concordat(&[args, &["--dir", dir]].concat(), None, tmp.path());
        let remote = concordat(&[args, &["--server", url]].concat(), None, tmp.path());
        assert_eq!(local.stdout, remote.stdout, "{args:?}");
        assert_eq!(local.code, remote.code, "{args:?}");
        assert!(!local.stdout.is_empty(), "{args:?}");
    }
    concordat(
        &[
            "gate",
            "status",
            "--server",
            url,
            "--contract",
            "nope",
            "--model",
            "a@1",
        ],
        None,
        tmp.path(),
    )
    .fails(2, "contract `nope` is not published");

    // The canary: the sealed addendum's text is in no page, no API answer and no log line.
    let sealed: toml::Table = std::fs::read_to_string(
        served
            .dir
            .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    let secret = sealed["text"].as_str().unwrap().trim().to_owned();
    assert!(secret.len() > 40);
    let canary = &secret[..40];
    // The sealed government test's result is deposited too; it must not leak either.
    let deposited = std::fs::read_dir(served.dir.join("sealed/evidence"))
        .unwrap()
        .count();
    assert_eq!(deposited, 1);
    let sealed_result = "attack_success_rate";
    // Nor do the usage records: the requests' users and ids.
    let usage = std::fs::read_dir(
        served
            .dir
            .join("sealed/usage-records/defense-imagery-analysis"),
    )
    .unwrap()
    .count();
    assert_eq!(usage, 1);
    for (path, text) in &pages {
        assert!(!text.contains("req-81f2"), "{path} shows a usage record");
        assert!(!text.contains("analyst-12"), "{path} shows a usage record");
        assert!(!text.contains(canary), "{path} shows sealed text");
        assert!(
            !text.contains(sealed_result),
            "{path} shows a sealed result"
        );
    }
    for api in [
        "/api/contracts/defense-imagery-analysis",
        "/api/contracts",
        "/api/entries/9",
        "/api/evidence",
    ] {
        let text = get(&format!("{url}{api}")).text();
        assert!(!text.contains(canary), "{api} shows sealed text");
        assert!(!text.contains(sealed_result), "{api} shows a sealed result");
    }
    let log = std::fs::read_to_string(&served.log).unwrap();
    assert!(log.contains("serving"), "{log}");
    assert!(!log.contains(canary), "the server log shows sealed text");
}

#[test]
fn the_cli_writes_through_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = served.url.as_str();
    let keys = served.dir.join("keys");
    let key = |party: &str| {
        keys.join(format!("{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let kind_of = |stdout: &str| -> String {
        let index = stdout
            .rsplit("entry ")
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no entry index in `{stdout}`"));
        get(&format!("{url}/api/entries/{index}")).json()["kind"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let day = |days: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        domain::updates::time::format_day(now + days * 86_400)
    };

    // Operator entries: the operator key stays with the server's instance, so --signer-key.
    let lab_key = run(&[
        "key",
        "generate",
        "--name",
        "eu-test-lab",
        "--out",
        "eu-lab.key",
    ])
    .ok()
    .stdout;
    let register = [
        "party",
        "register",
        "--server",
        url,
        "--name",
        "EU Test Lab",
        "--role",
        "lab",
        "--jurisdiction",
        "EU",
        "--key",
        lab_key.trim(),
    ];
    run(&register).fails(2, "with --server, give --signer-key");
    let operator = key("operator");
    let out = run(&[&register[..], &["--signer-key", &operator]].concat()).ok();
    assert_eq!(kind_of(&out.stdout), "party-registered", "{}", out.stdout);
    assert_eq!(
        get(&format!("{url}/api/parties/eu-test-lab")).json()["party"]["name"],
        "EU Test Lab"
    );

    // A contract published through the server, signed by its three parties.
    run(&[
        "contract",
        "new",
        "--template",
        "border-services-assistant",
        "pkg",
        "--agency",
        "defense-agency",
        "--vendor",
        "acme-ai",
        "--auditor",
        "oversight-office",
    ])
    .ok();
    let out = run(&[
        "contract",
        "publish",
        "--server",
        url,
        "pkg",
        "--key",
        &key("defense-agency"),
        "--key",
        &key("acme-ai"),
        "--key",
        &key("oversight-office"),
    ])
    .ok();
    assert_eq!(kind_of(&out.stdout), "contract-published", "{}", out.stdout);

    // The vendor registers a version, a lab's evidence follows (its jurisdiction looked up on
    // the server), an approval the gate does not allow is refused with the rule.
    let contract = "defense-imagery-analysis";
    let out = run(&[
        "model",
        "register",
        "--server",
        url,
        "--key",
        &key("acme-ai"),
        "--model",
        "vision-analyst@2027.4.0",
        "--contract",
        contract,
        "--service-from",
        &day(90),
        "--api-version",
        "vision-analyst-2027-04",
        "--fingerprint",
        "vision-analyst 2027.4.0",
    ])
    .ok();
    assert_eq!(
        kind_of(&out.stdout),
        "model-version-registered",
        "{}",
        out.stdout
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/fixtures");
    let out = run(&[
        "evidence",
        "import",
        "--server",
        url,
        "--inspect",
        fixtures.join("inspect.json").to_str().unwrap(),
        "--model",
        "vision-analyst@2027.4.0",
        "--assurance",
        "third-party",
        "--key",
        &key("uk-test-lab"),
    ])
    .ok();
    let index: u64 = out
        .stdout
        .rsplit("entry ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let evidence = get(&format!("{url}/api/entries/{index}")).json();
    assert_eq!(evidence["kind"], "evidence-recorded");
    assert_eq!(
        evidence["statement"]["predicate"]["producedFor"], "GB",
        "the lab's jurisdiction, from the server"
    );
    run(&[
        "gate",
        "approve",
        "--server",
        url,
        "--key",
        &key("defense-agency"),
        "--contract",
        contract,
        "--model",
        "vision-analyst@2027.4.0",
    ])
    .fails(1, "gate");
    let out = run(&[
        "model",
        "revoke",
        "--server",
        url,
        "--key",
        &key("acme-ai"),
        "--contract",
        contract,
        "--model",
        "vision-analyst@2027.4.0",
        "--reason",
        "superseded before service",
    ])
    .ok();
    assert_eq!(kind_of(&out.stdout), "version-revoked", "{}", out.stdout);
    let out = run(&[
        "recognition",
        "publish",
        "--server",
        url,
        "--key",
        &key("uk-aisi"),
        "--jurisdiction",
        "GB",
        "--lab",
        "eu-test-lab",
        "--suite",
        "targeting-refusal",
        "--min-assurance",
        "third-party",
        "--max-age-days",
        "90",
    ])
    .ok();
    assert_eq!(
        kind_of(&out.stdout),
        "recognition-published",
        "{}",
        out.stdout
    );
    let out = run(&[
        "hosting",
        "attest",
        "--server",
        url,
        "--key",
        &key("acme-ai"),
        "--contract",
        contract,
        "--environment",
        "government-cloud",
        "--report",
        fixtures.join("inspect.json").to_str().unwrap(),
        "--description",
        "annual re-attestation",
    ])
    .ok();
    assert_eq!(kind_of(&out.stdout), "hosting-attested", "{}", out.stdout);
    let attestations = get(&format!("{url}/api/attestations?contract={contract}")).json();
    assert_eq!(attestations.as_array().unwrap().len(), 2, "{attestations}");
    assert_eq!(
        attestations[1]["description"], "annual re-attestation",
        "{attestations}"
    );
    let out = run(&[
        "deploy",
        "activate",
        "--server",
        url,
        "--key",
        &key("defense-agency"),
        "--contract",
        contract,
        "--deployment",
        "field-office",
        "--model",
        "vision-analyst@2027.1.0",
    ])
    .ok();
    assert_eq!(
        kind_of(&out.stdout),
        "deployment-activated",
        "{}",
        out.stdout
    );
    // Any writer that opens the served directory directly is pointed at the server.
    run(&[
        "deploy",
        "activate",
        "--dir",
        served.dir.to_str().unwrap(),
        "--key",
        &key("defense-agency"),
        "--contract",
        contract,
        "--deployment",
        "field-office",
        "--model",
        "vision-analyst@2027.1.0",
    ])
    .fails(
        2,
        &format!("run the command with `--server {url}` instead of `--dir`"),
    );
    // An unregistered key is named before anything is sent; a party outside the contract is
    // refused by the server with the rule.
    run(&[
        "key",
        "generate",
        "--name",
        "stranger",
        "--out",
        "stranger.key",
    ])
    .ok();
    let rollback = |key: &str| {
        run(&[
            "deploy",
            "rollback",
            "--server",
            url,
            "--key",
            key,
            "--contract",
            contract,
            "--deployment",
            "analyst-workbench",
            "--reason",
            "test",
        ])
    };
    rollback("stranger.key").fails(2, "is not registered to any party");
    rollback("eu-lab.key").fails(1, "`eu-test-lab` is not a party of contract");

    // Key rotation and revocation, signed by the operator.
    let new_key = run(&[
        "key",
        "generate",
        "--name",
        "eu-test-lab",
        "--out",
        "eu-lab-2.key",
    ])
    .ok()
    .stdout;
    let party = get(&format!("{url}/api/parties/eu-test-lab")).json();
    let old = party["keys"][0]["keyid"].as_str().unwrap().to_owned();
    let out = run(&[
        "key",
        "rotate",
        "--server",
        url,
        "--signer-key",
        &operator,
        "--party",
        "eu-test-lab",
        "--old",
        &old,
        "--new",
        new_key.trim(),
    ])
    .ok();
    assert_eq!(kind_of(&out.stdout), "key-rotated", "{}", out.stdout);
    let party = get(&format!("{url}/api/parties/eu-test-lab")).json();
    let active = party["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == "active")
        .unwrap()["keyid"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run(&[
        "key",
        "revoke",
        "--server",
        url,
        "--signer-key",
        &operator,
        "--party",
        "eu-test-lab",
        "--keyid",
        &active,
        "--reason",
        "test over",
    ])
    .ok();
    assert_eq!(kind_of(&out.stdout), "key-revoked", "{}", out.stdout);
    assert_eq!(
        get(&format!("{url}/api/keys/{active}")).json()["party"],
        "eu-test-lab"
    );
    get(&format!("{url}/api/keys/{}", "0".repeat(64))).refused(404, "not-found");

    // The recognition report says the same through the server as from the directory.
    let args = ["recognition", "report", "--at", "2026-11-01T00:00:00Z"];
    let local = run(&[&args[..], &["--dir", served.dir.to_str().unwrap()]].concat()).ok();
    let remote = run(&[&args[..], &["--server", url]].concat()).ok();
    assert_eq!(local.stdout, remote.stdout);
    assert!(
        local.stdout.contains("defense-imagery-analysis (US)"),
        "{}",
        local.stdout
    );
    run(&[
        "recognition",
        "report",
        "--server",
        url,
        "--contract",
        "nope",
    ])
    .fails(2, "contract `nope` is not published");
}

#[test]
fn restricted_reads_by_a_request_signed_with_the_partys_key() {
    use attest::http_signature::{Message, Params, sign};
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = served.url.as_str();
    let key_path = |party: &str| {
        served
            .dir
            .join(format!("keys/{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let fetch = |credential: &[&str], out: &str| {
        run(&[
            &[
                "addendum",
                "fetch",
                "--server",
                url,
                "--contract",
                "defense-imagery-analysis",
                "--addendum",
                "annex-c",
                "--out",
                out,
            ][..],
            credential,
        ]
        .concat())
    };
    let recorded = |stdout: &str| -> Value {
        let index = stdout.trim().rsplit(' ').next().unwrap();
        get(&format!("{url}/api/entries/{index}")).json()["statement"]["predicate"].clone()
    };

    // With the key of a cleared party: the text arrives, opens the public commitment, and the
    // read is recorded with the key that proved it.
    let agency = key_path("defense-agency");
    let out = fetch(&["--key", &agency], "annex-c.sealed.toml").ok();
    assert!(
        out.stdout
            .contains("which opens its public commitment sha256:"),
        "{}",
        out.stdout
    );
    let read = recorded(&out.stdout);
    assert_eq!(read["reader"], "defense-agency");
    assert_eq!(
        read["resource"],
        "contract/defense-imagery-analysis/addendum/annex-c"
    );
    let agency_key = get(&format!("{url}/api/parties/defense-agency")).json()["keys"][0].clone();
    let keyid = agency_key["keyid"].as_str().unwrap().to_owned();
    assert_eq!(read["credential"], format!("key {keyid}"));
    let written = std::fs::read_to_string(tmp.path().join("annex-c.sealed.toml")).unwrap();
    let deposited: toml::Table = std::fs::read_to_string(
        served
            .dir
            .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    let written: toml::Table = written.parse().unwrap();
    assert_eq!(written["text"], deposited["text"]);
    let contract = get(&format!("{url}/api/contracts/defense-imagery-analysis")).json();
    let commitment = contract["addenda"][0]["commitment"].as_str().unwrap();
    run(&[
        "addendum",
        "verify",
        "--commitment",
        commitment,
        "annex-c.sealed.toml",
    ])
    .ok();

    // With a token from a file: recorded with the token's id.
    let issued: Value = serde_json::from_str(
        &run(&[
            "token",
            "issue",
            "--dir",
            served.dir.to_str().unwrap(),
            "--party",
            "oversight-office",
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("auditor.token"),
        issued["token"].as_str().unwrap(),
    )
    .unwrap();
    let out = fetch(&["--token-file", "auditor.token"], "by-token.sealed.toml").ok();
    assert_eq!(
        recorded(&out.stdout)["credential"],
        format!("token {}", issued["id"].as_str().unwrap())
    );

    // Refusals: a party not cleared, a key nobody registered.
    fetch(&["--key", &key_path("uk-test-lab")], "lab.sealed.toml").fails(
        1,
        "refused (403): `uk-test-lab` is not cleared for addendum `annex-c`",
    );
    run(&[
        "key",
        "generate",
        "--name",
        "stranger",
        "--out",
        "stranger.key",
    ])
    .ok();
    fetch(&["--key", "stranger.key"], "stranger.sealed.toml")
        .fails(1, "is not registered to any party");
    fetch(&[], "none.sealed.toml").fails(2, "give --key or --token-file");
    assert!(!tmp.path().join("lab.sealed.toml").exists());

    // A sealed evaluation result: for the lab that produced it and for auditors whose scope
    // includes evaluation evidence, nobody else.
    let evidence = get(&format!("{url}/api/evidence?model=vision-analyst@2027.1.0")).json();
    let sealed_entry = evidence
        .as_array()
        .unwrap()
        .iter()
        .find(|e| !e["sealed_result"].is_null())
        .expect("the demo has a sealed government test")["entry"]
        .as_u64()
        .unwrap()
        .to_string();
    let public_entry = evidence
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sealed_result"].is_null())
        .unwrap()["entry"]
        .as_u64()
        .unwrap()
        .to_string();
    let reveal = |entry: &str, party: &str, out: &str| {
        run(&[
            "evidence",
            "reveal",
            "--server",
            url,
            "--entry",
            entry,
            "--key",
            &key_path(party),
            "--out",
            out,
        ])
    };
    let out = reveal(&sealed_entry, "oversight-office", "auditor.sealed.toml").ok();
    assert!(
        out.stdout.contains("attack_success_rate = 0.0075"),
        "{}",
        out.stdout
    );
    let read = recorded(&out.stdout);
    assert_eq!(read["reader"], "oversight-office");
    assert_eq!(
        read["resource"],
        format!("evidence/{sealed_entry}/sealed-result")
    );
    reveal(&sealed_entry, "us-test-lab", "lab-own.sealed.toml").ok();
    let commitment = get(&format!("{url}/api/entries/{sealed_entry}")).json()["statement"]
        ["predicate"]["sealedResult"]
        .as_str()
        .unwrap()
        .to_owned();
    run(&[
        "addendum",
        "verify",
        "--commitment",
        &commitment,
        "auditor.sealed.toml",
    ])
    .ok();
    for party in ["uk-test-lab", "acme-ai"] {
        reveal(&sealed_entry, party, "no.sealed.toml").fails(
            1,
            &format!("refused (403): `{party}` may not read the sealed result of evidence entry"),
        );
    }
    reveal(&public_entry, "oversight-office", "no.sealed.toml")
        .fails(2, "has no sealed result: its metrics are public");
    reveal("0", "oversight-office", "no.sealed.toml").fails(2, "entry 0 is not evidence");
    assert!(!tmp.path().join("no.sealed.toml").exists());

    // Deposits through the server: taken away, the demo's deposits are handed back by those
    // entitled to, and only in a form that opens the public commitments.
    let deposited_result = served
        .dir
        .join(format!("sealed/evidence/{sealed_entry}.sealed.toml"));
    std::fs::copy(&deposited_result, tmp.path().join("red-team.sealed.toml")).unwrap();
    std::fs::remove_file(&deposited_result).unwrap();
    reveal(&sealed_entry, "oversight-office", "gone.sealed.toml")
        .fails(2, "`us-test-lab` has not deposited the sealed result");
    let deposit_result = |party: &str, file: &str| {
        run(&[
            "evidence",
            "deposit",
            "--server",
            url,
            "--entry",
            &sealed_entry,
            "--key",
            &key_path(party),
            file,
        ])
    };
    deposit_result("uk-test-lab", "red-team.sealed.toml").fails(
        1,
        "refused (403): only `us-test-lab`, which produced evidence entry",
    );
    let text = std::fs::read_to_string(tmp.path().join("red-team.sealed.toml")).unwrap();
    std::fs::write(
        tmp.path().join("forged.sealed.toml"),
        text.replace("0.0075", "0.0001"),
    )
    .unwrap();
    deposit_result("us-test-lab", "forged.sealed.toml").fails(1, "forged.sealed.toml");
    let out = deposit_result("us-test-lab", "red-team.sealed.toml").ok();
    assert!(out.stdout.contains(" deposited"), "{}", out.stdout);
    let out = deposit_result("us-test-lab", "red-team.sealed.toml").ok();
    assert!(
        out.stdout.contains("was already deposited"),
        "{}",
        out.stdout
    );
    reveal(&sealed_entry, "oversight-office", "back.sealed.toml").ok();

    let deposited_addendum = served
        .dir
        .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml");
    std::fs::copy(&deposited_addendum, tmp.path().join("annex.sealed.toml")).unwrap();
    std::fs::remove_file(&deposited_addendum).unwrap();
    let deposit_addendum = |party: &str, cleared: &[&str]| {
        let mut args = vec![
            "addendum",
            "deposit",
            "--server",
            url,
            "--contract",
            "defense-imagery-analysis",
        ];
        for party in cleared {
            args.extend(["--cleared", party]);
        }
        let key = key_path(party);
        args.extend(["--key", &key, "annex.sealed.toml"]);
        run(&args)
    };
    deposit_addendum("uk-test-lab", &[]).fails(1, "refused (403): `uk-test-lab` is not a party");
    deposit_addendum("acme-ai", &["uk-test-lab"]).fails(
        2,
        "--cleared `uk-test-lab` is not a party of `defense-imagery-analysis`",
    );
    let out = deposit_addendum("acme-ai", &["defense-agency", "oversight-office"]).ok();
    assert!(
        out.stdout
            .contains("readable by defense-agency, oversight-office"),
        "{}",
        out.stdout
    );
    deposit_addendum("acme-ai", &["defense-agency"])
        .fails(2, "something else was deposited here first");
    fetch(&["--key", &key_path("acme-ai")], "vendor.sealed.toml")
        .fails(1, "`acme-ai` is not cleared for addendum `annex-c`");
    fetch(
        &["--key", &key_path("oversight-office")],
        "office.sealed.toml",
    )
    .ok();
    // The server checks for itself what the CLI checked before sending.
    let put_addendum = |body: String| {
        answer(
            ureq::put(&format!(
                "{url}/api/contracts/defense-imagery-analysis/addenda/annex-c"
            ))
            .set(
                "Authorization",
                &format!("Bearer {}", issued["token"].as_str().unwrap()),
            )
            .send_string(&body),
        )
    };
    let original = std::fs::read_to_string(tmp.path().join("annex.sealed.toml")).unwrap();
    put_addendum(original.replace("enclave", "cloud")).refused(422, "commitment-mismatch");
    put_addendum(format!("{original}cleared = [\"uk-test-lab\"]\n")).refused(422, "not-a-party");
    let message = put_addendum("id = 3".to_owned()).refused(400, "bad-request");
    assert!(
        message.contains("not TOML with `id`, `salt` and `text`"),
        "{message}"
    );
    // A malformed deposit is refused without quoting it.
    let message = put_addendum(
        "id = \"annex-c\"\nsalt = \"00\"\ntext = \"processed only in the enclave\n".to_owned(),
    )
    .refused(400, "bad-request");
    assert!(message.contains("(line 3)"), "{message}");
    assert!(!message.contains("enclave"), "{message}");

    // The server's rules for signed requests, request by request.
    let signer = tlog::note::SignerKey::parse(&std::fs::read_to_string(&agency).unwrap()).unwrap();
    let authority = url.strip_prefix("http://").unwrap();
    let path = "/api/contracts/defense-imagery-analysis/addenda/annex-c";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signed = |signed_path: &str, params: &Params| -> (String, String) {
        let message = Message {
            method: "GET",
            authority,
            path: signed_path,
            query: None,
            headers: &[],
        };
        sign(&message, "sig1", params, &signer).unwrap()
    };
    let send = |(input, signature): &(String, String)| {
        answer(
            ureq::get(&format!("{url}{path}"))
                .set("Signature-Input", input)
                .set("Signature", signature)
                .call(),
        )
    };
    let all = ["@method", "@authority", "@path"];
    let good = Params::new(&all, now, &keyid, Some("ed25519"), Some("n-1"));
    let headers = signed(path, &good);
    assert_eq!(send(&headers).status, 200);
    let message = send(&headers).refused(401, "unauthenticated");
    assert!(message.contains("nonce was already used"), "{message}");
    for (params, signed_path, why) in [
        (
            Params::new(&all, now - 3600, &keyid, None, Some("n-2")),
            path,
            "accepts signatures created within 300 seconds",
        ),
        (
            Params::new(&["@method", "@path"], now, &keyid, None, Some("n-3")),
            path,
            "it does not cover `@authority`",
        ),
        (
            Params::new(&all, now, &keyid, None, None),
            path,
            "the signature has no `nonce`",
        ),
        (
            Params::new(&all, now, &keyid, Some("ecdsa-p256-sha256"), Some("n-4")),
            path,
            "`alg` is `ecdsa-p256-sha256` but key",
        ),
        (
            Params::new(&all, now, &keyid, None, Some("n-5")),
            "/api/contracts/defense-imagery-analysis/addenda/annex-d",
            "the signature does not verify with key",
        ),
        (
            Params::new(&all, now, &"0".repeat(64), None, Some("n-6")),
            path,
            "is not registered to any party",
        ),
    ] {
        let message = send(&signed(signed_path, &params)).refused(401, "unauthenticated");
        assert!(message.contains(why), "{message}");
    }
    let message = answer(
        ureq::get(&format!("{url}{path}"))
            .set("Signature-Input", "sig1=(\"@method\";req)")
            .set("Signature", "sig1=:AA==:")
            .call(),
    )
    .refused(401, "unauthenticated");
    assert!(
        message.contains("component parameters (`;name`) are not supported"),
        "{message}"
    );
    let message = answer(
        ureq::get(&format!("{url}{path}"))
            .set("Signature-Input", &headers.0)
            .call(),
    )
    .refused(401, "unauthenticated");
    assert!(message.contains("`signature` is missing"), "{message}");

    // A key revoked in the ledger stops signing requests at once.
    run(&[
        "key",
        "revoke",
        "--server",
        url,
        "--signer-key",
        &key_path("operator"),
        "--party",
        "defense-agency",
        "--keyid",
        &keyid,
        "--reason",
        "laptop lost",
    ])
    .ok();
    fetch(&["--key", &agency], "revoked.sealed.toml").fails(1, "is no longer active");
}

/// A usage record for the demo's workbench, decided by `policies`.
fn usage_line(policies: &policy::Policies, n: usize, purpose: &str, human: bool) -> String {
    let request = policy::Request {
        user: format!("analyst-{n}"),
        agency: "defense-agency".into(),
        role: "analyst".into(),
        clearance: "secret".into(),
        resource: policy::Resource::Deployment {
            id: "analyst-workbench".into(),
        },
        purpose: purpose.into(),
        data_classification: "cui".into(),
        human_in_the_loop: human,
        target_domain: "foreign".into(),
    };
    let decision = policies.decide(&request).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    serde_json::to_string(&policy::usage::UsageRecord {
        at: domain::updates::time::format_instant(now - 3600 + n as i64),
        id: format!("req-{n}"),
        model: "vision-analyst@2027.1.0".into(),
        request: Some(request),
        allowed: decision.allowed,
        clauses: decision.clauses,
        call: None,
    })
    .unwrap()
}

#[test]
fn usage_records_are_counted_in_public_and_read_by_auditors_in_scope() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = served.url.clone();
    let url = url.as_str();
    let dir = served.dir.clone();
    let key_path = |party: &str| {
        dir.join(format!("keys/{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let contract = get(&format!("{url}/api/contracts/defense-imagery-analysis")).json();
    let files = serde_json::from_value(contract["files"].clone()).unwrap();
    let policies = policy::from_files(&files).unwrap();
    let lines = [
        usage_line(&policies, 1, "imagery-analysis", true),
        usage_line(&policies, 2, "lethal-targeting", false),
        usage_line(&policies, 3, "surveillance", true),
    ];
    std::fs::write(tmp.path().join("batch.jsonl"), lines.join("\n") + "\n").unwrap();
    let record = |to: &[&str], file: &str| {
        run(&[
            &["usage", "record"][..],
            to,
            &[
                "--key",
                &key_path("defense-agency"),
                "--contract",
                "defense-imagery-analysis",
                "--deployment",
                "analyst-workbench",
                file,
            ],
        ]
        .concat())
    };

    // Refused before anything is logged: a recorded answer the policies do not give, a
    // request to another deployment, a line that is not a record.
    let mut tampered = lines.clone();
    tampered[1] = tampered[1].replace("\"allowed\":false", "\"allowed\":true");
    std::fs::write(tmp.path().join("tampered.jsonl"), tampered.join("\n")).unwrap();
    record(&["--server", url], "tampered.jsonl").fails(
        1,
        "tampered.jsonl:line 2: request `req-2` is recorded as allowed by human-control-of-lethal-force; the contract's policies answer denied by human-control-of-lethal-force",
    );
    let elsewhere = lines[0].replace("\"analyst-workbench\"", "\"field-office\"");
    std::fs::write(tmp.path().join("elsewhere.jsonl"), elsewhere).unwrap();
    record(&["--server", url], "elsewhere.jsonl").fails(
        2,
        "elsewhere.jsonl:line 1: request `req-1` was made to deployment `field-office`, not `analyst-workbench`",
    );
    std::fs::write(
        tmp.path().join("broken.jsonl"),
        format!("{}\n{{\"at\": 3}}\n", lines[0]),
    )
    .unwrap();
    record(&["--server", url], "broken.jsonl").fails(2, "broken.jsonl:line 2: column");
    let before = get(&format!("{url}/api/usage")).json();

    // Recorded through the server: counts in public, records deposited.
    let out = record(&["--server", url], "batch.jsonl").ok();
    assert!(
        out.stdout.contains("3 decisions (1 allowed, 2 denied)"),
        "{}",
        out.stdout
    );
    let index: u64 = out
        .stdout
        .split("entry ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let listed = get(&format!(
        "{url}/api/usage?contract=defense-imagery-analysis"
    ))
    .json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    let batch = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["entry"] == index)
        .unwrap();
    assert_eq!(batch["clauses"]["human-control-of-lethal-force"], 1);
    assert_eq!(batch["clauses"]["permitted-purposes"], 1);
    // Surveillance abroad is denied by default: no clause permits it.
    assert_eq!(batch["clauses"].as_object().unwrap().len(), 2);
    let public = run(&["usage", "list", "--server", url]).ok().stdout;
    assert!(
        public.contains("human-control-of-lethal-force×1"),
        "{public}"
    );
    assert!(!public.contains("analyst-3"), "records are not public");
    assert!(
        !get(&format!("{url}/api/usage"))
            .text()
            .contains("analyst-3")
    );

    // Read by the auditor (its audit rights include usage records) and by the recorder;
    // refused to the vendor and to a lab.
    let fetch = |party: &str, out: &str| {
        run(&[
            "usage",
            "fetch",
            "--server",
            url,
            "--entry",
            &index.to_string(),
            "--key",
            &key_path(party),
            "--out",
            out,
        ])
    };
    let out = fetch("oversight-office", "audit.jsonl").ok();
    assert!(
        out.stdout.contains("3 decisions of usage entry"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap(),
        lines.join("\n") + "\n"
    );
    let read_at = out.stdout.trim().rsplit(' ').next().unwrap().to_owned();
    let read = get(&format!("{url}/api/entries/{read_at}")).json();
    assert_eq!(read["kind"], "restricted-read");
    assert_eq!(read["statement"]["predicate"]["reader"], "oversight-office");
    assert_eq!(
        read["statement"]["predicate"]["resource"],
        format!("usage/{index}/records")
    );
    fetch("defense-agency", "own.jsonl").ok();
    for party in ["acme-ai", "uk-test-lab"] {
        fetch(party, "no.jsonl").fails(
            1,
            &format!("refused (403): `{party}` may not read the usage records"),
        );
    }

    // Deposits: only a party of the contract, only decisions its policies give.
    let issue = |party: &str| -> String {
        let out: Value = serde_json::from_str(
            &run(&[
                "token",
                "issue",
                "--dir",
                dir.to_str().unwrap(),
                "--party",
                party,
                "--format",
                "json",
            ])
            .ok()
            .stdout,
        )
        .unwrap();
        out["token"].as_str().unwrap().to_owned()
    };
    let deposit_url = format!("{url}/api/contracts/defense-imagery-analysis/usage-records");
    let put = |token: &str, body: &[u8]| {
        answer(
            ureq::put(&deposit_url)
                .set("Authorization", &format!("Bearer {token}"))
                .send_bytes(body),
        )
    };
    let agency = issue("defense-agency");
    let lab = issue("uk-test-lab");
    let original = std::fs::read(tmp.path().join("batch.jsonl")).unwrap();
    put(&lab, &original).refused(403, "forbidden");
    let message = put(&agency, b"{}\n").refused(400, "bad-request");
    assert!(message.starts_with("records:line 1: column"), "{message}");
    let forged = String::from_utf8(original.clone()).unwrap().replacen(
        "\"allowed\":false",
        "\"allowed\":true",
        1,
    );
    let message = put(&agency, forged.as_bytes()).refused(422, "decisions-differ");
    assert!(message.contains("is recorded as allowed"), "{message}");
    let again = put(&agency, &original);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["already_stored"], true);
    answer(ureq::put(&deposit_url).send_bytes(&original)).refused(401, "unauthenticated");
    get(&format!("{url}/api/usage/3/records")).refused(401, "unauthenticated");

    // Written directly to an instance no server holds, the records are deposited beside it.
    drop(served);
    // Made once: each call stamps the record with the current second.
    let later_line = usage_line(&policies, 9, "translation", false) + "\n";
    std::fs::write(tmp.path().join("later.jsonl"), &later_line).unwrap();
    let out = record(&["--dir", dir.to_str().unwrap()], "later.jsonl").ok();
    let later: u64 = out
        .stdout
        .split("entry ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(
            service::Layout::new(&dir)
                .usage_records_for(
                    "defense-imagery-analysis",
                    &service::access::sha256_digest(later_line.as_bytes())
                )
                .unwrap()
        )
        .unwrap(),
        later_line
    );
    let listed = run(&[
        "usage",
        "list",
        "--dir",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok()
    .stdout;
    assert!(listed.contains(&format!("\"entry\":{later}")), "{listed}");
    run(&["replay", "--dir", dir.to_str().unwrap()]).ok();
}

/// A certificate authority and a server certificate it signed for 127.0.0.1, as PEM files in
/// `dir`: `ca.pem`, `cert.pem`, `key.pem`.
pub fn test_certificates(dir: &Path) {
    pgcluster::test_certificates(dir).unwrap();
}

#[test]
fn the_cli_reaches_a_server_over_https() {
    let tmp = tempfile::tempdir().unwrap();
    // The demo instance, then served by `concordat serve` with a certificate.
    let dir = Served::demo(tmp.path()).dir.clone();
    test_certificates(tmp.path());
    let certificate = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let served = Served::start(
        tmp.path(),
        dir.clone(),
        &[
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &certificate("cert.pem"),
            "--tls-key",
            &certificate("key.pem"),
        ],
    );
    let url = served.url.as_str();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let run = |args: &[&str], trust: bool| {
        let mut command = Command::new(BINARY);
        command.args(args).current_dir(tmp.path());
        if trust {
            command.env("SSL_CERT_FILE", certificate("ca.pem"));
        } else {
            command.env_remove("SSL_CERT_FILE");
        }
        let output = command.output().unwrap();
        crate::support::Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };

    // Trusting the CA (the system store, or SSL_CERT_FILE as here), the CLI reads, writes and
    // makes signed restricted reads over HTTPS as it does over HTTP.
    let local = run(&["party", "list", "--dir", dir.to_str().unwrap()], true).ok();
    let remote = run(&["party", "list", "--server", url], true).ok();
    assert_eq!(local.stdout, remote.stdout);
    let key = |party: &str| {
        dir.join(format!("keys/{party}.key"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let out = run(
        &[
            "recognition",
            "publish",
            "--server",
            url,
            "--key",
            &key("uk-aisi"),
            "--jurisdiction",
            "GB",
            "--lab",
            "us-test-lab",
            "--suite",
            "targeting-refusal",
            "--min-assurance",
            "third-party",
            "--max-age-days",
            "90",
        ],
        true,
    )
    .ok();
    assert!(
        out.stdout.contains("GB recognises us-test-lab"),
        "{}",
        out.stdout
    );
    run(
        &[
            "addendum",
            "fetch",
            "--server",
            url,
            "--contract",
            "defense-imagery-analysis",
            "--addendum",
            "annex-c",
            "--key",
            &key("defense-agency"),
            "--out",
            "annex-c.sealed.toml",
        ],
        true,
    )
    .ok();

    // Not trusting it, the CLI refuses to talk and says why.
    run(&["party", "list", "--server", url], false)
        .fails(2, "the server's certificate is not trusted");
    // Plain HTTP on the TLS port gets no answer.
    let plain = url.replace("https://", "http://");
    assert!(ureq::get(&format!("{plain}/healthz")).call().is_err());
}

/// The same restricted reads on an instance directory, without a server: the credential is
/// checked, the read is recorded by the directory's operator key before anything is written,
/// and a party not cleared gets nothing.
#[test]
fn restricted_reads_in_an_instance_directory_are_checked_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    service::demo::seed(&dir).unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let key = |party: &str| dir.join(format!("keys/{party}.key")).display().to_string();
    let dir_arg = dir.display().to_string();
    // The log's size, from its latest checkpoint (origin, then size).
    let size = || {
        run(&["log", "checkpoint", "--dir", &dir_arg])
            .ok()
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = size();
    run(&[
        "addendum",
        "fetch",
        "--dir",
        &dir_arg,
        "--contract",
        "defense-imagery-analysis",
        "--addendum",
        "annex-c",
        "--key",
        &key("uk-test-lab"),
        "--out",
        "refused.toml",
    ])
    .fails(1, "`uk-test-lab` is not cleared for addendum `annex-c`");
    assert!(!tmp.path().join("refused.toml").exists());
    let out = run(&[
        "addendum",
        "fetch",
        "--dir",
        &dir_arg,
        "--contract",
        "defense-imagery-analysis",
        "--addendum",
        "annex-c",
        "--key",
        &key("oversight-office"),
        "--out",
        "annex-c.toml",
    ])
    .ok()
    .stdout;
    assert!(
        out.contains(&format!("recorded in the ledger at entry {before}")),
        "{out}"
    );
    let read = run(&["entry", "show", "--dir", &dir_arg, &before.to_string()])
        .ok()
        .stdout;
    assert!(
        read.contains("restricted-read") && read.contains("oversight-office"),
        "{read}"
    );
    assert!(
        read.contains("contract/defense-imagery-analysis/addendum/annex-c"),
        "{read}"
    );
    let batches: serde_json::Value = serde_json::from_str(
        &run(&["--format", "json", "usage", "list", "--dir", &dir_arg])
            .ok()
            .stdout,
    )
    .unwrap();
    let batch = batches[0]["entry"].to_string();
    run(&[
        "usage",
        "fetch",
        "--dir",
        &dir_arg,
        "--entry",
        &batch,
        "--key",
        &key("acme-ai"),
        "--out",
        "usage.jsonl",
    ])
    .fails(1, "may not read the usage records");
    assert_eq!(size(), before + 1, "a refused read is not recorded");
}

/// A raw HTTP/1.1 GET with the given `Host` and extra header lines; the status code.
pub fn raw_get(address: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"))
}

/// A request signed for another host is refused even when replayed with that host's name; a
/// signed request answered once is refused after the server restarts; a name given with
/// `--authority` is answered.
#[test]
fn signed_requests_are_for_this_server_and_answered_once_across_restarts() {
    use attest::http_signature::{Message, Params, sign};
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let address = served.url.strip_prefix("http://").unwrap().to_owned();
    let dir = served.dir.clone();
    let signer = tlog::note::SignerKey::parse(
        &std::fs::read_to_string(dir.join("keys/defense-agency.key")).unwrap(),
    )
    .unwrap();
    let keyid = service::keys::keyid_of(&signer).unwrap();
    let path = "/api/contracts/defense-imagery-analysis/addenda/annex-c";
    let signed = |authority: &str, nonce: &str| -> Vec<(String, String)> {
        let now = service::build::now();
        let params = Params::new(
            &["@method", "@authority", "@path"],
            now,
            &keyid,
            None,
            Some(nonce),
        );
        let message = Message {
            method: "GET",
            authority,
            path,
            query: None,
            headers: &[],
        };
        let (input, signature) = sign(&message, "sig1", &params, &signer).unwrap();
        vec![
            ("Signature-Input".to_owned(), input),
            ("Signature".to_owned(), signature),
        ]
    };
    let send = |host: &str, headers: &[(String, String)]| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        raw_get(&address, host, path, &headers)
    };

    // Signed for another server, and sent with that server's name: not ours, refused.
    let elsewhere = signed("localhost:39112", "n-elsewhere");
    assert_eq!(send("localhost:39112", &elsewhere), 401);
    let log = std::fs::read_to_string(&served.log).unwrap_or_default();
    let once = signed(&address, "n-once");
    assert_eq!(send(&address, &once), 200, "{log}");
    assert_eq!(send(&address, &once), 401);

    // The same request after a restart on the same address: still refused.
    drop(served);
    let restarted = Served::start(
        tmp.path(),
        dir.clone(),
        &[
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            &address,
            "--authority",
            "ledger.example.gov",
        ],
    );
    assert_eq!(send(&address, &once), 401);
    let fresh = signed(&address, "n-fresh");
    assert_eq!(send(&address, &fresh), 200);
    let named = signed("ledger.example.gov", "n-named");
    assert_eq!(send("ledger.example.gov", &named), 200);
    let message = answer(
        ureq::get(&format!("{}{path}", restarted.url))
            .set("Signature-Input", &elsewhere[0].1)
            .set("Signature", &elsewhere[1].1)
            .call(),
    )
    .refused(401, "unauthenticated");
    assert!(message.contains("does not verify"), "{message}");
}

/// Thousands of connections that send half a request head hold the server's descriptors for
/// seconds, not for as long as they like; a client elsewhere is served meanwhile, and the
/// connections over a client's share are closed at once.
#[test]
fn half_open_connections_do_not_starve_the_server() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let served = Served::start(
        tmp.path(),
        dir.clone(),
        &[
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--header-timeout",
            "2",
            "--request-timeout",
            "2",
            "--max-connections-per-client",
            "100",
        ],
    );
    let address: std::net::SocketAddr =
        served.url.strip_prefix("http://").unwrap().parse().unwrap();
    let started = std::time::Instant::now();
    let mut attackers = Vec::new();
    for _ in 0..2000 {
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            continue;
        };
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        attackers.push(stream);
    }
    assert!(attackers.len() > 1000, "{} connected", attackers.len());
    // Another client address (all of 127/8 is loopback) is served at once.
    let healthz = || {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connected = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), socket.connect(address))
                .await
                .expect("connected within 5 s")
                .unwrap()
        });
        let mut stream = {
            let _entered = runtime.enter();
            connected.into_std().unwrap()
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("answered within 5 s");
        response
    };
    assert!(healthz().starts_with("HTTP/1.1 200"));
    // The server keeps at most its share of them, each for the header timeout.
    let mut closed = 0;
    for stream in &mut attackers {
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut byte = [0u8; 1];
        // Closed by the server: end of stream or a reset, not a read that timed out.
        let ended = match stream.read(&mut byte) {
            Ok(read) => read == 0,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        if ended {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        attackers.len(),
        "every half-open connection was closed"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // A body that never arrives is answered 408 once the request timeout passes.
    let mut slow = std::net::TcpStream::connect(address).unwrap();
    slow.write_all(
        b"POST /api/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"payload",
    )
    .unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut answer = [0u8; 12];
    slow.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    // Seen once in CI under heavy load: this request was reset. Say what the server saw.
    let metrics = match ureq::get(&format!("{}/metrics", served.url)).call() {
        Ok(response) => response.into_string().unwrap(),
        Err(error) => panic!(
            "/metrics after the half-open connections closed: {error}\nserver log:\n{}",
            std::fs::read_to_string(&served.log).unwrap_or_default()
        ),
    };
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("concordat_http_connections_refused_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused >= 1000, "{refused}");
}

/// A newcomer copies the demo's commands as printed: each runs, though `concordat` is not on
/// their PATH (the banner names the binary by its path and says how to install it).
#[test]
fn the_demo_prints_commands_that_run_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut child = Command::new(BINARY)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    while !banner.contains("Stop with Ctrl-C.") {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
    }
    let url = banner
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("serving at ")
        .to_owned();
    assert!(
        banner.contains("cargo install --locked --path crates/cli"),
        "{banner}"
    );
    assert!(
        !banner.contains("\n  concordat "),
        "a command names a program not on PATH:\n{banner}"
    );
    let binary = std::fs::canonicalize(BINARY).unwrap();
    let commands: Vec<&str> = banner
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with(&binary.display().to_string()))
        .collect();
    assert!(commands.len() >= 3, "{banner}");
    // What the printed curl lines fetch, fetched here.
    let example = commands
        .iter()
        .find(|c| c.contains("proof verify"))
        .map(|_| {
            banner
                .split("/api/entries/")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    std::fs::write(
        tmp.path().join("entry.json"),
        get(&format!("{url}/api/entries/{example}/envelope")).body,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("entry.tlog-proof"),
        get(&format!("{url}/api/entries/{example}/proof")).body,
    )
    .unwrap();
    for command in commands {
        let output = Command::new("sh")
            .args(["-c", command])
            .current_dir(tmp.path())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        // The status commands answer by their exit status too: the demo's 2027.3.0 is
        // blocked and one of its incident's duties is overdue.
        let expected = if command.contains(" status ") { 1 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stdout.is_empty(), "{command}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
