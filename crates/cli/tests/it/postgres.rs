//! An instance whose log is in PostgreSQL (a throwaway cluster the test starts): created,
//! written, replayed, verified and served with `--database`; and an existing SQLite instance
//! moved there with `concordat migrate`, serving the same log.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::server::{Served, get};
use crate::support::{BINARY, concordat};

#[path = "../../benches/support/binary.rs"]
mod binary;

use binary::copy_keys;

#[test]
fn an_instance_lives_in_postgres_from_init_to_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = cluster.database("ledger").unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    run(&[
        "init",
        "--dir",
        "ledger",
        "--origin",
        "pg.test.example/ledger",
        "--database",
        &url,
    ])
    .ok();
    // The log is in the database; the directory holds the keys.
    assert!(!tmp.path().join("ledger/log.db").exists());
    assert!(tmp.path().join("ledger/keys/log.key").exists());
    let vkey = run(&["key", "generate", "--name", "acme", "--out", "acme.key"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    run(&[
        "party",
        "register",
        "--dir",
        "ledger",
        "--database",
        &url,
        "--name",
        "Acme AI",
        "--id",
        "acme-ai",
        "--role",
        "vendor",
        "--key",
        &vkey,
    ])
    .ok();
    let replay = run(&["replay", "--dir", "ledger", "--database", &url]).ok();
    assert!(replay.stdout.contains("replayed 2 entries"), "{replay:?}");
    let verified = run(&[
        "log",
        "verify",
        "--dir",
        "ledger",
        "--database",
        &url,
        "--format",
        "json",
    ])
    .ok();
    let report: Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(
        (report["size"].as_u64(), report["ledger"].as_bool()),
        (Some(2), Some(true))
    );
    // Without --database the directory holds no log, and says so.
    run(&["party", "list", "--dir", "ledger"]).fails(2, "give --database");
    // A second instance cannot be made in the same database.
    run(&[
        "init",
        "--dir",
        "other",
        "--origin",
        "x.example/ledger",
        "--database",
        &url,
    ])
    .fails(2, "already holds a log");

    let served = Served::start(
        tmp.path(),
        tmp.path().join("ledger"),
        &[
            "serve",
            "--dir",
            tmp.path().join("ledger").to_str().unwrap(),
            "--database",
            &url,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let checkpoint = get(&format!("{}/checkpoint", served.url)).text();
    assert!(
        checkpoint.starts_with("pg.test.example/ledger\n2\n"),
        "{checkpoint}"
    );
    let party = get(&format!("{}/api/parties/acme-ai", served.url)).json();
    assert_eq!(party["party"]["name"], "Acme AI", "{party}");
    // Written through the server: the write path, its receipt, the portal.
    let lab = run(&["key", "generate", "--name", "lab", "--out", "lab.key"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    run(&[
        "party",
        "register",
        "--server",
        &served.url,
        "--signer-key",
        "ledger/keys/operator.key",
        "--name",
        "Test Lab",
        "--id",
        "test-lab",
        "--role",
        "lab",
        "--key",
        &lab,
    ])
    .ok();
    let entry = get(&format!("{}/api/entries/2", served.url)).json();
    assert!(entry.to_string().contains("test-lab"), "{entry}");
    let page = get(&format!("{}/parties/test-lab", served.url));
    assert!(page.text().contains("Test Lab"));
}

fn latest_note(dir: &Path) -> String {
    store::Reader::open(dir)
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .note
}

#[test]
fn the_demo_instance_moves_to_postgres_and_serves_the_same_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    service::demo::seed(&dir).unwrap();
    let before = latest_note(&dir);
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = cluster.database("ledger").unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let moved = run(&[
        "migrate", "--from", "demo", "--to", &url, "--format", "json",
    ])
    .ok();
    let report: Value = serde_json::from_str(&moved.stdout).unwrap();
    assert_eq!(report["migrated"], true);
    assert!(report["entries"].as_u64().unwrap() > 30, "{report}");
    // Moving it again would overwrite a log: refused.
    run(&["migrate", "--from", "demo", "--to", &url]).fails(2, "already holds a log");
    run(&["log", "verify", "--dir", "demo", "--database", &url]).ok();

    let served = Served::start(
        tmp.path(),
        dir.clone(),
        &[
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--database",
            &url,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(get(&format!("{}/checkpoint", served.url)).text(), before);
    let contract = get(&format!(
        "{}/api/contracts/defense-imagery-analysis",
        served.url
    ))
    .json();
    assert_eq!(contract["id"], "defense-imagery-analysis", "{contract}");
    assert!(report["deposits"].as_u64().unwrap() > 0, "{report}");

    // The deposits moved too: a sealed addendum is read from the database, and the read is
    // recorded in the log.
    let issued = issue_token(tmp.path(), &url);
    let token = issued["token"].as_str().unwrap();
    let (status, body) = read_annex(&served, token);
    assert_eq!(status, 200, "{body}");
    let read: Value = serde_json::from_str(&body).unwrap();
    let sealed: toml::Table = std::fs::read_to_string(
        dir.join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(read["text"], sealed["text"].as_str().unwrap());
    // Not from the directory: the node reads the database.
    std::fs::remove_dir_all(dir.join("sealed")).unwrap();
    assert_eq!(read_annex(&served, token).0, 200);
}

/// An instance whose log is in `db`, served by nodes with the directories `nodes` under
/// `tmp` (see `binary::several_nodes`), with a vendor party `acme-ai` whose key is
/// `tmp/acme.key`.
fn several_nodes(tmp: &Path, db: &str, nodes: &[&str]) {
    binary::several_nodes(BINARY, tmp, db, "ha.test.example/ledger", nodes);
}

/// The demo's sealed addendum, read through the API.
const ANNEX: &str = "/api/contracts/defense-imagery-analysis/addenda/annex-c";

/// A bearer token for `defense-agency`, issued through the migrated demo's directory (the
/// tokens are in the database `url`): `token issue`'s JSON.
fn issue_token(tmp: &Path, url: &str) -> Value {
    let issued = concordat(
        &[
            "token",
            "issue",
            "--dir",
            "demo",
            "--database",
            url,
            "--party",
            "defense-agency",
            "--format",
            "json",
        ],
        None,
        tmp,
    )
    .ok();
    serde_json::from_str(&issued.stdout).unwrap()
}

/// The sealed addendum read from `node` with a bearer token: the status and the body.
fn read_annex(node: &Served, token: &str) -> (u16, String) {
    match ureq::get(&format!("{}{ANNEX}", node.url))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            (response.status(), response.into_string().unwrap())
        }
        Err(error) => panic!("{error}"),
    }
}

/// The demo instance seeded in `tmp/demo` and migrated into a new cluster's database: the
/// cluster (which lives as long as it is kept), the database's URL and the demo's directory.
fn migrated_demo(tmp: &Path) -> (pgcluster::Cluster, String, PathBuf) {
    let dir = tmp.join("demo");
    service::demo::seed(&dir).unwrap();
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = cluster.database("ledger").unwrap();
    concordat(&["migrate", "--from", "demo", "--to", &url], None, tmp).ok();
    (cluster, url, dir)
}

/// `concordat serve` for the node in `tmp/node`, on a free port.
fn start_node(tmp: &Path, db: &str, node: &str) -> Served {
    start_node_with(tmp, db, node, &[])
}

/// [`start_node`], with more arguments for `serve`.
fn start_node_with(tmp: &Path, db: &str, node: &str, extra: &[&str]) -> Served {
    let dir = tmp.join(node);
    let log_dir = tmp.join(format!("{node}-logs"));
    std::fs::create_dir_all(&log_dir).unwrap();
    let mut args = vec![
        "serve",
        "--dir",
        dir.to_str().unwrap(),
        "--database",
        db,
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend(extra);
    Served::start(&log_dir, dir.clone(), &args)
}

/// An acknowledged write: what was sent, and the proof the node answered with.
struct Ack {
    envelope: Vec<u8>,
    reply: Value,
}

/// Three `serve` processes on one database, writes spread over them, and the leader killed
/// (SIGKILL) again and again under that load: another node takes over within seconds, every
/// acknowledged entry is in the log at its index and proved by a checkpoint consistent with
/// every later one, no two acknowledgements share an index, and the log verifies.
#[test]
fn three_nodes_survive_their_leader_being_killed_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = pgcluster::Cluster::start().unwrap();
    let db = cluster.database("ledger").unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    several_nodes(tmp.path(), &db, &["n0", "n1", "n2"]);
    let start = |node: &str| start_node(tmp.path(), &db, node);
    let nodes: std::sync::Mutex<Vec<(String, Served)>> = std::sync::Mutex::new(
        ["n0", "n1", "n2"]
            .into_iter()
            .map(|n| (n.to_owned(), start(n)))
            .collect(),
    );
    let urls = || -> Vec<String> {
        nodes
            .lock()
            .unwrap()
            .iter()
            .map(|(_, served)| served.url.clone())
            .collect()
    };
    let signer = service::keys::read_signer(&tmp.path().join("acme.key")).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acks: std::sync::Mutex<Vec<Ack>> = std::sync::Mutex::new(Vec::new());
    let mut failovers = Vec::new();
    std::thread::scope(|scope| {
        for client in 0..2 {
            let (urls, signer, stop, acks) = (&urls, &signer, &stop, &acks);
            scope.spawn(move || write_until(client, urls, signer, stop, acks));
        }
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            let leader = store::pg::leader(&db).unwrap().expect("a node leads");
            let before = acks.lock().unwrap().len();
            let killed = {
                let mut nodes = nodes.lock().unwrap();
                let at = nodes
                    .iter()
                    .position(|(_, served)| served.url == leader)
                    .expect("the leader is one of the nodes");
                let (name, served) = nodes.remove(at);
                drop(served); // SIGKILL, then reaped
                name
            };
            let killed_at = std::time::Instant::now();
            // Another node leads and acknowledges writes.
            loop {
                let now_leads = store::pg::leader(&db).unwrap();
                if now_leads.is_some_and(|l| l != leader) && acks.lock().unwrap().len() > before {
                    break;
                }
                assert!(
                    killed_at.elapsed() < std::time::Duration::from_secs(20),
                    "no node took over"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            failovers.push(killed_at.elapsed());
            let restarted = start(&killed);
            nodes.lock().unwrap().push((killed, restarted));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    for failover in &failovers {
        assert!(
            *failover < std::time::Duration::from_secs(10),
            "{failovers:?}"
        );
    }
    let acks = acks.into_inner().unwrap();
    check_acknowledged(&tmp.path().join("n0"), &db, &acks);
    drop(nodes);
    run(&["log", "verify", "--dir", "n0", "--database", &db]).ok();
    println!(
        "failovers: {failovers:?}; {} writes acknowledged",
        acks.len()
    );
}

/// Client `client`'s writes until `stop`: party statements, each sent to the nodes in turn
/// until one answers it; the answers are `acks`.
fn write_until(
    client: u64,
    urls: &dyn Fn() -> Vec<String>,
    signer: &tlog::note::SignerKey,
    stop: &std::sync::atomic::AtomicBool,
    acks: &std::sync::Mutex<Vec<Ack>>,
) {
    let mut n = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n += 1;
        let statement = ledger::statement(
            domain::Kind::PartyStatement,
            serde_json::json!({"party": "acme-ai", "topic": "disclosure", "text": format!("client {client} statement {n}")}),
            Vec::new(),
        );
        let envelope = ledger::sign_statement(&statement, signer)
            .unwrap()
            .to_json()
            .into_bytes();
        // Sent until one node answers it: to another node after a failure.
        for attempt in 0..100 {
            let targets = urls();
            let url = &targets[(n as usize + attempt) % targets.len()];
            let sent = ureq::post(&format!("{url}/api/entries"))
                .timeout(std::time::Duration::from_secs(5))
                .set("Content-Type", "application/json")
                .send_bytes(&envelope);
            match sent {
                Ok(response) => {
                    let reply: Value = response.into_json().unwrap();
                    acks.lock().unwrap().push(Ack { envelope, reply });
                    break;
                }
                // Already logged by an attempt whose answer was lost: not acknowledged, and
                // not to be counted as such.
                Err(ureq::Error::Status(_, response)) => {
                    let body = response.into_string().unwrap_or_default();
                    if body.contains("logged-once") {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }
}

/// Every acknowledgement is an entry of its own at its index, proved by a signed checkpoint
/// the log still extends; and the log verifies.
fn check_acknowledged(dir: &Path, db: &str, acks: &[Ack]) {
    assert!(acks.len() > 20, "only {} writes acknowledged", acks.len());
    let database = store::Database::select(dir, Some(db)).unwrap();
    let reader = store::Reader::open_at(&database, 64).unwrap();
    let log_key = reader.info().verifier_key.clone();
    let latest = reader.latest_checkpoint().unwrap();
    let mut indices = std::collections::BTreeSet::new();
    for ack in acks {
        let index = ack.reply["index"].as_u64().unwrap();
        assert!(
            indices.insert(index),
            "two acknowledgements of entry {index}"
        );
        assert_eq!(reader.entry(index).unwrap(), ack.envelope, "entry {index}");
        let proof =
            tlog::proof_file::ProofFile::parse(ack.reply["proof"].as_str().unwrap()).unwrap();
        let proven = proof
            .verify(&ack.envelope, std::slice::from_ref(&log_key))
            .unwrap();
        // The checkpoint the client was shown is one the log still extends.
        let consistency = reader
            .consistency_proof(proven.checkpoint.size, latest.size)
            .unwrap();
        tlog::proof::verify_consistency(
            proven.checkpoint.size,
            latest.size,
            &consistency,
            &proven.checkpoint.root,
            &latest.root,
        )
        .unwrap();
    }
    store::verify_at(&database, Some(&log_key), &mut |_| {}).unwrap();
}

/// The database restarted (killed, as a crash would) under write load: the writers see
/// errors meanwhile, not corruption, and the nodes write again once it is back.
#[test]
fn writes_resume_after_the_database_restarts_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = pgcluster::Cluster::start().unwrap();
    let db = cluster.database("ledger").unwrap();
    several_nodes(tmp.path(), &db, &["n0", "n1"]);
    let nodes = [
        start_node(tmp.path(), &db, "n0"),
        start_node(tmp.path(), &db, "n1"),
    ];
    let urls = || -> Vec<String> { nodes.iter().map(|n| n.url.clone()).collect() };
    let signer = service::keys::read_signer(&tmp.path().join("acme.key")).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acks: std::sync::Mutex<Vec<Ack>> = std::sync::Mutex::new(Vec::new());
    let mut resumed_after = None;
    std::thread::scope(|scope| {
        for client in 0..2 {
            let (urls, signer, stop, acks) = (&urls, &signer, &stop, &acks);
            scope.spawn(move || write_until(client, urls, signer, stop, acks));
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let before = acks.lock().unwrap().len();
        assert!(before > 0, "no write before the restart");
        let restarted_at = std::time::Instant::now();
        cluster.restart().unwrap();
        loop {
            if acks.lock().unwrap().len() > before + 10 {
                resumed_after = Some(restarted_at.elapsed());
                break;
            }
            assert!(
                restarted_at.elapsed() < std::time::Duration::from_secs(30),
                "writes did not resume after the database restarted"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let acks = acks.into_inner().unwrap();
    check_acknowledged(&tmp.path().join("n0"), &db, &acks);
    // Reads work again on every node.
    for node in &nodes {
        let checkpoint = get(&format!("{}/checkpoint", node.url)).text();
        assert!(
            checkpoint.starts_with("ha.test.example/ledger\n"),
            "{checkpoint}"
        );
    }
    println!(
        "writes resumed {resumed_after:?} after the restart; {} acknowledged",
        acks.len()
    );
}

/// Two nodes behind one name share what a single server kept in its directory: a token issued
/// or revoked is so on every node, a signed request answered by one node is refused when
/// replayed to the other, and usage records deposited at one node are counted by the leader.
#[test]
fn tokens_signed_requests_and_deposits_hold_across_nodes() {
    use attest::http_signature::{Message, Params, sign};
    let tmp = tempfile::tempdir().unwrap();
    let (_cluster, url, dir) = migrated_demo(tmp.path());
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let other = tmp.path().join("other");
    copy_keys(&dir, &other);
    let serve = |node: &str| {
        start_node_with(
            tmp.path(),
            &url,
            node,
            &["--authority", "ledger.example.gov"],
        )
    };
    let nodes = [serve("demo"), serve("other")];
    let path = ANNEX;

    // A token issued through one node's directory works on the other; revoked, on neither.
    let issued = issue_token(tmp.path(), &url);
    let token = issued["token"].as_str().unwrap();
    let with_token = |node: &Served| read_annex(node, token).0;
    assert_eq!(with_token(&nodes[1]), 200);
    run(&[
        "token",
        "revoke",
        "--dir",
        "demo",
        "--database",
        &url,
        issued["id"].as_str().unwrap(),
    ])
    .ok();
    assert_eq!(with_token(&nodes[0]), 401);
    assert_eq!(with_token(&nodes[1]), 401);

    // A request signed for the name both nodes answer to, answered once.
    let signer = tlog::note::SignerKey::parse(
        &std::fs::read_to_string(dir.join("keys/defense-agency.key")).unwrap(),
    )
    .unwrap();
    let keyid = service::keys::keyid_of(&signer).unwrap();
    let params = Params::new(
        &["@method", "@authority", "@path"],
        service::build::now(),
        &keyid,
        None,
        Some("across-nodes"),
    );
    let message = Message {
        method: "GET",
        authority: "ledger.example.gov",
        path,
        query: None,
        headers: &[],
    };
    let (input, signature) = sign(&message, "sig1", &params, &signer).unwrap();
    let headers = [
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    let address = |node: &Served| node.url.strip_prefix("http://").unwrap().to_owned();
    assert_eq!(
        crate::server::raw_get(&address(&nodes[0]), "ledger.example.gov", path, &headers),
        200
    );
    assert_eq!(
        crate::server::raw_get(&address(&nodes[1]), "ledger.example.gov", path, &headers),
        401,
        "the request one node answered was answered again by the other"
    );

    // A usage batch deposited at the node that does not lead is counted by the one that does:
    // the deposit is in the database, where the leader's write path finds it.
    let leader = store::pg::leader(&url).unwrap().unwrap();
    let follower = nodes.iter().find(|n| n.url != leader).unwrap();
    let kept = std::fs::read_dir(dir.join("sealed/usage-records/defense-imagery-analysis"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let again = std::fs::read_to_string(kept)
        .unwrap()
        .replace("\"id\":\"req-", "\"id\":\"again-");
    std::fs::write(tmp.path().join("again.jsonl"), again).unwrap();
    let batches = || -> usize {
        let listed = run(&["usage", "list", "--server", &leader, "--format", "json"]).ok();
        serde_json::from_str::<Value>(&listed.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let before = batches();
    let agency = dir.join("keys/defense-agency.key");
    run(&[
        "usage",
        "record",
        "--server",
        &follower.url,
        "--key",
        agency.to_str().unwrap(),
        "--contract",
        "defense-imagery-analysis",
        "--deployment",
        "analyst-workbench",
        "again.jsonl",
    ])
    .ok();
    assert_eq!(batches(), before + 1);
}

/// Notifications on several nodes: the leading node delivers them from the outbox the nodes
/// share, and when it dies with some undelivered, the next leader delivers those (with the
/// same idempotency keys) — none lost, none under a new key.
#[test]
fn the_next_leader_delivers_what_the_last_one_could_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (_cluster, url, dir) = migrated_demo(tmp.path());
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let other = tmp.path().join("other");
    copy_keys(&dir, &other);
    let serve = |node: &str| start_node_with(tmp.path(), &url, node, &["--webhooks-to-private"]);
    let first = serve("demo");
    // Let the first node lead before the second starts.
    let started = std::time::Instant::now();
    while store::pg::leader(&url).unwrap().as_deref() != Some(first.url.as_str()) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = serve("other");
    let (hook, seen) = crate::incidents::receiver(3);
    let vendor = dir.join("keys/acme-ai.key");
    run(&[
        "outbox",
        "endpoint",
        "--server",
        &second.url,
        "--key",
        vendor.to_str().unwrap(),
        "--url",
        &hook,
    ])
    .ok();
    run(&[
        "incident",
        "report",
        "--server",
        &second.url,
        "--key",
        vendor.to_str().unwrap(),
        "--contract",
        "defense-imagery-analysis",
        "--deployment",
        "analyst-workbench",
        "--incident",
        "inc-2027-041",
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
    ])
    .ok();
    let wait = |what: &str, done: &dyn Fn(&[crate::incidents::Received]) -> bool| {
        let started = std::time::Instant::now();
        while !done(&seen.lock().unwrap()) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{what}: {} received",
                seen.lock().unwrap().len()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    // The leader's first three attempts fail; then it dies.
    wait("first attempts", &|r| r.len() >= 3);
    drop(first);
    let delivered = |r: &[crate::incidents::Received]| -> std::collections::BTreeSet<String> {
        r.iter()
            .filter(|x| x.answered == 200)
            .map(|x| x.key.clone())
            .collect()
    };
    wait("every notification delivered by the next leader", &|r| {
        delivered(r).len() == 3
    });
    let got = seen.lock().unwrap().clone();
    let keys: std::collections::BTreeSet<String> = got.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, delivered(&got), "no notification under a new key");
    assert_eq!(
        store::pg::leader(&url).unwrap().as_deref(),
        Some(second.url.as_str())
    );
    // The operator sees the shared outbox from any node's directory.
    let listed: Value = serde_json::from_str(
        &run(&[
            "outbox",
            "list",
            "--dir",
            "other",
            "--database",
            &url,
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(listed["delivered"].as_array().unwrap().len(), 3, "{listed}");
}

/// A leader whose session with the database ended (as when the network drops it) while it
/// still believes it leads: another node takes over, and the deposed node's late write is
/// refused by the fencing check — 503, nothing appended — until it notices and forwards.
#[test]
fn a_deposed_leaders_late_write_is_refused_by_the_fence() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = pgcluster::Cluster::start().unwrap();
    let db = cluster.database("ledger").unwrap();
    several_nodes(tmp.path(), &db, &["n0", "n1"]);
    // n0 checks its lead only every 4 s, so that it writes on for a while after losing it.
    let dir = tmp.path().join("n0");
    let slow = start_node_with(tmp.path(), &db, "n0", &["--node-watch-ms", "4000"]);
    let wait_for_leader = |url: &str| {
        let started = std::time::Instant::now();
        while store::pg::leader(&db).unwrap().as_deref() != Some(url) {
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for_leader(&slow.url);
    let other = start_node(tmp.path(), &db, "n1");
    // The database ends n0's sequencer session (its writer's connection lives on).
    let mut admin = store::pg::connect(&db, "test").unwrap();
    let ended = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&format!("concordat {}", slow.url)],
        )
        .unwrap();
    assert_eq!(ended, 1);
    wait_for_leader(&other.url);

    let signer = service::keys::read_signer(&tmp.path().join("acme.key")).unwrap();
    let statement = ledger::statement(
        domain::Kind::PartyStatement,
        serde_json::json!({"party": "acme-ai", "topic": "disclosure", "text": "written late"}),
        Vec::new(),
    );
    let envelope = ledger::sign_statement(&statement, &signer)
        .unwrap()
        .to_json()
        .into_bytes();
    let send = |url: &str| {
        ureq::post(&format!("{url}/api/entries"))
            .set("Content-Type", "application/json")
            .send_bytes(&envelope)
            .map_err(Box::new)
    };
    let database = store::Database::select(&dir, Some(&db)).unwrap();
    let size = || {
        store::Reader::open_at(&database, 8)
            .unwrap()
            .latest_checkpoint()
            .unwrap()
            .size
    };
    let before = size();
    match send(&slow.url).map_err(|e| *e) {
        Err(ureq::Error::Status(503, response)) => {
            let body = response.into_string().unwrap();
            assert!(body.contains("no longer sequences the log"), "{body}");
        }
        other => panic!("the deposed leader's write was not refused: {other:?}"),
    }
    assert_eq!(size(), before, "the refused write reached the log");
    // Once n0 notices, it forwards: the same statement is logged, once, by the new leader.
    let started = std::time::Instant::now();
    let reply: Value = loop {
        match send(&slow.url) {
            Ok(response) => break response.into_json().unwrap(),
            Err(_) if started.elapsed() < std::time::Duration::from_secs(15) => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(error) => panic!("n0 never forwarded: {error}"),
        }
    };
    assert_eq!(reply["index"].as_u64(), Some(before));
    store::verify_at(&database, None, &mut |_| {}).unwrap();
}
