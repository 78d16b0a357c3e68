//! The log through the binary: append, prove, verify offline, tamper evidence, one writer.

use std::process::{Command, Stdio};

use rusqlite::Connection;

use crate::support::{BINARY, ORIGIN, Workspace};

#[test]
fn append_prove_and_verify_offline() {
    let workspace = Workspace::new();
    workspace.write("contract.json", b"{\"contract\":\"acme-1\"}");
    workspace.write("approval.json", b"{\"approved\":true}");
    // One command per file: group commit may put several entries of one command in a batch,
    // and this test wants a checkpoint at size 2.
    let first = workspace
        .run(&["log", "append", "--dir", "ledger", "contract.json"])
        .ok();
    let second = workspace
        .run(&["log", "append", "--dir", "ledger", "approval.json"])
        .ok();
    assert_eq!(
        (first.stdout.as_str(), second.stdout.as_str()),
        ("0\n", "1\n")
    );
    let indices = workspace
        .run_with_input(
            &["log", "append", "--dir", "ledger"],
            b"line two\n\nline four",
        )
        .ok()
        .stdout;
    assert_eq!(indices, "2\n3\n4\n");

    let checkpoint = workspace
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout;
    assert!(
        checkpoint.starts_with(&format!("{ORIGIN}\n5\n")),
        "{checkpoint}"
    );

    let proof = workspace
        .run(&["log", "prove", "--dir", "ledger", "--index", "1"])
        .ok()
        .stdout;
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\nindex 1\n"));
    workspace.write("approval.tlog-proof", proof.as_bytes());
    let verified = workspace
        .run(&[
            "proof",
            "verify",
            "--key",
            "log.vkey",
            "--entry",
            "approval.json",
            "approval.tlog-proof",
        ])
        .ok();
    assert!(
        verified
            .stdout
            .contains("is entry 1 of log.test.example/ai (tree size 5")
    );

    // An empty line is an empty entry, and proves as one.
    workspace.write("empty", b"");
    let proof = workspace
        .run(&["log", "prove", "--dir", "ledger", "--index", "3"])
        .ok()
        .stdout;
    workspace
        .run_with_input(
            &[
                "proof", "verify", "--key", "log.vkey", "--entry", "empty", "-",
            ],
            proof.as_bytes(),
        )
        .ok();

    // The wrong entry or a wrong key fail verification (exit 1); a damaged file is bad input.
    workspace
        .run(&[
            "proof",
            "verify",
            "--key",
            "log.vkey",
            "--entry",
            "contract.json",
            "approval.tlog-proof",
        ])
        .fails(1, "entry is not in the log at index 1 of size 5");
    workspace
        .run(&["key", "generate", "--name", ORIGIN, "--out", "other.key"])
        .ok();
    let other = workspace
        .run(&["key", "generate", "--name", ORIGIN, "--out", "other2.key"])
        .ok()
        .stdout;
    workspace
        .run(&[
            "proof",
            "verify",
            "--key",
            other.trim(),
            "--entry",
            "approval.json",
            "approval.tlog-proof",
        ])
        .fails(1, "no signature by a known key");
    workspace.write("bad.tlog-proof", b"c2sp.org/tlog-proof@v1\nindex x\n\n");
    workspace
        .run(&[
            "proof",
            "verify",
            "--key",
            "log.vkey",
            "--entry",
            "approval.json",
            "bad.tlog-proof",
        ])
        .fails(2, "line 2: expected `index <N>`");

    // Proofs against an earlier checkpoint, and consistency between sizes.
    let old = workspace
        .run(&[
            "log", "prove", "--dir", "ledger", "--index", "0", "--size", "2",
        ])
        .ok()
        .stdout;
    assert!(old.contains(&format!("\n{ORIGIN}\n2\n")));
    workspace
        .run(&[
            "log", "prove", "--dir", "ledger", "--index", "0", "--size", "6",
        ])
        .fails(
            2,
            "no checkpoint was signed at size 6; signed sizes near it: 5",
        );
    workspace
        .run(&["log", "prove", "--dir", "ledger", "--index", "5"])
        .fails(2, "index 5 is not in the log (size 5)");
    let consistency = workspace
        .run(&[
            "log",
            "consistency",
            "--dir",
            "ledger",
            "--old",
            "2",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&consistency).unwrap();
    assert_eq!(json["new"], 5);
    assert_eq!(json["proof"].as_array().unwrap().len(), 2);

    let report = workspace
        .run(&["log", "verify", "--dir", "ledger", "--format", "json"])
        .ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        (json["verified"].as_bool(), json["size"].as_u64()),
        (Some(true), Some(5))
    );
}

#[test]
fn entries_too_large_are_refused_by_name() {
    let workspace = Workspace::new();
    workspace.write("huge", &vec![b'a'; 65_536]);
    workspace
        .run(&["log", "append", "--dir", "ledger", "huge"])
        .fails(
            2,
            "`huge`: entry is 65536 bytes; entries are at most 65535 bytes",
        );
    let mut input = b"fine\n".to_vec();
    input.extend(vec![b'a'; 70_000]);
    let run = workspace.run_with_input(&["log", "append", "--dir", "ledger"], &input);
    assert_eq!(run.stdout, "0\n");
    run.fails(2, "standard input line 2: entry is 70000 bytes");
}

fn tamper(workspace: &Workspace, statement: &str) {
    let db = Connection::open(workspace.path("ledger").join("log.db")).unwrap();
    db.execute_batch(statement).unwrap();
}

#[test]
fn log_verify_reports_tampering_precisely() {
    let cases = [
        (
            "UPDATE entries SET data = CAST('entry 3!' AS BLOB) WHERE idx = 3",
            "entry 3: its leaf hash",
        ),
        ("DELETE FROM entries WHERE idx = 7", "entry 7 is missing"),
        (
            "UPDATE entries SET idx = -1 WHERE idx = 4; UPDATE entries SET idx = 4 WHERE idx = 5; UPDATE entries SET idx = 5 WHERE idx = -1;",
            "entry 4: its leaf hash",
        ),
        (
            "UPDATE tiles SET hashes = CAST(zeroblob(32) || substr(hashes, 33) AS BLOB) WHERE level = 0 AND idx = 0",
            "entry 0: its leaf hash",
        ),
        (
            "UPDATE checkpoints SET note = replace(note, 'log.test', 'log.tesT') WHERE size = 10",
            "checkpoint at size 10",
        ),
        (
            "DELETE FROM checkpoints WHERE size = 10",
            "no signed checkpoint covers it",
        ),
    ];
    for (statement, expected) in cases {
        let workspace = Workspace::new();
        let lines: String = (0..10).map(|i| format!("entry {i}\n")).collect();
        workspace
            .run_with_input(&["log", "append", "--dir", "ledger"], lines.as_bytes())
            .ok();
        workspace.run(&["log", "verify", "--dir", "ledger"]).ok();
        tamper(&workspace, statement);
        workspace
            .run(&["log", "verify", "--dir", "ledger"])
            .fails(1, expected);
        let json = workspace.run(&["log", "verify", "--dir", "ledger", "--format", "json"]);
        assert_eq!(json.code, 1);
        assert!(json.stdout.contains("\"verified\":false"), "{json:?}");
    }
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named() {
    let workspace = Workspace::new();
    // The first writer waits on its standard input, holding the log.
    let mut first = Command::new(BINARY)
        .args(["log", "append", "--dir", "ledger"])
        .current_dir(workspace.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait, within bounds, until the first writer holds the lock and has named itself.
    let holder = format!("pid {}", first.id());
    let lock_file = workspace.path("ledger").join(store::LOCK_FILE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&lock_file).is_ok_and(|text| text.contains(&holder)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first writer never took the lock"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first writer exited early"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let run = workspace.run_with_input(&["log", "append", "--dir", "ledger"], b"second\n");
    run.fails(
        2,
        &format!("is being written by another process (pid {}", first.id()),
    );
    // Reading is never blocked by the writer.
    workspace
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok();
    workspace.run(&["log", "verify", "--dir", "ledger"]).ok();
    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
}
