//! An instance whose log is in PostgreSQL (a throwaway cluster the test starts): created,
//! written, replayed, verified and served with `--database`; and an existing SQLite instance
//! moved there with `concordat migrate`, serving the same log.

use std::path::Path;

use serde_json::Value;

use crate::server::{Served, get};
use crate::support::concordat;

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
}
