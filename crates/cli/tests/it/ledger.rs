//! The ledger commands through the binary: kinds, statement, sign (and --add-to), submit,
//! party, key rotate, entry show, replay, and errors that name the file, field and rule.

use crate::support::{Run, concordat};

struct Instance {
    dir: tempfile::TempDir,
}

impl Instance {
    fn new() -> Instance {
        let dir = tempfile::tempdir().unwrap();
        concordat(
            &["init", "--dir", "ledger", "--origin", "ledger.test.example"],
            None,
            dir.path(),
        )
        .ok();
        Instance { dir }
    }

    fn run(&self, args: &[&str]) -> Run {
        concordat(args, None, self.dir.path())
    }

    fn run_with(&self, args: &[&str], stdin: &[u8]) -> Run {
        concordat(args, Some(stdin), self.dir.path())
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// A new party with a fresh key file `<id>.key`.
    fn party(&self, id: &str, role: &str) {
        let vkey = self
            .run(&[
                "key",
                "generate",
                "--name",
                id,
                "--out",
                &format!("{id}.key"),
            ])
            .ok()
            .stdout;
        self.run(&[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            id,
            "--id",
            id,
            "--role",
            role,
            "--key",
            vkey.trim(),
        ])
        .ok();
    }
}

#[test]
fn kinds_list_predicate_types_and_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let json: serde_json::Value = serde_json::from_str(
        &concordat(&["kinds", "--format", "json"], None, dir.path())
            .ok()
            .stdout,
    )
    .unwrap();
    let kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "party-registered",
            "key-added",
            "key-rotated",
            "key-revoked",
            "party-statement",
            "contract-published",
            "contract-amended",
            "addendum-sealed",
            "addendum-disclosed",
            "model-version-registered",
            "evidence-recorded",
            "recognition-published",
            "version-approved",
            "version-revoked",
            "hosting-attested",
            "deployment-activated",
            "deployment-rolled-back",
            "restricted-read",
            "usage-recorded",
            "credential-issued",
            "credential-revoked",
            "gateway-authorized",
            "incident-reported",
            "incident-updated",
            "incident-notified",
            "incident-closed",
            "liability-found",
            "designation-issued",
            "designation-appealed",
            "designation-decided",
            "designation-lifted",
            "endpoint-registered",
            "coalition-published",
            "evidence-mirrored",
        ]
    );
    assert_eq!(
        json[4]["predicateType"],
        "https://concordat.dev/entry/party-statement/v1"
    );
    assert_eq!(
        json[4]["schema"]["properties"]["cosigners"]["type"],
        "array"
    );
    let text = concordat(&["kinds"], None, dir.path()).ok().stdout;
    assert!(text.contains(
        "party-registered\n  predicate type: https://concordat.dev/entry/party-registered/v1"
    ));
}

#[test]
fn sign_statement_submit_and_show() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    instance.party("agency-x", "agency");
    instance.write("joint.json", r#"{"party":"acme-ai","topic":"designation","text":"joint notice","cosigners":["agency-x"]}"#);

    // `statement` prints the exact payload `sign` signs.
    let payload = instance
        .run(&["statement", "--kind", "party-statement", "joint.json"])
        .ok()
        .stdout;
    let envelope = instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "joint.json",
        ])
        .ok()
        .stdout;
    let parsed = attest::Envelope::parse(envelope.trim().as_bytes()).unwrap();
    assert_eq!(parsed.payload, payload.as_bytes());
    instance.write("joint.acme.json", &envelope);

    // One signature of two required: refused (exit 1), nothing written.
    instance
        .run(&["submit", "--dir", "ledger", "joint.acme.json"])
        .fails(1, "`joint.acme.json`: rejected by rule `required-signatures`: 1 of 2 required parties signed");
    assert!(!instance.dir.path().join("joint.acme.tlog-proof").exists());

    let both = instance
        .run(&[
            "sign",
            "--key",
            "agency-x.key",
            "--add-to",
            "joint.acme.json",
        ])
        .ok()
        .stdout;
    instance.write("joint.both.json", &both);
    let index = instance
        .run(&["submit", "--dir", "ledger", "joint.both.json"])
        .ok()
        .stdout;
    assert_eq!(index, "3\n");
    assert!(instance.dir.path().join("joint.both.tlog-proof").exists());

    let shown = instance
        .run(&["entry", "show", "--dir", "ledger", "3"])
        .ok()
        .stdout;
    assert!(shown.starts_with("entry 3: party-statement\n"), "{shown}");
    assert!(
        shown.contains("signed by:\n  acme-ai (key ") && shown.contains("  agency-x (key "),
        "{shown}"
    );
    assert!(shown.contains("c2sp.org/tlog-proof@v1"));

    // The same envelope again is a replay: refused with where it is logged (exit 1).
    instance
        .run(&["submit", "--dir", "ledger", "joint.both.json"])
        .fails(
            1,
            "rejected by rule `logged-once`: this statement is already logged as entry 3",
        );

    // Many at once: one predicate a line, one envelope a line; a bad line is named.
    instance.write(
        "notices.jsonl",
        "{\"party\":\"acme-ai\",\"topic\":\"disclosure\",\"text\":\"one\"}\n\n{\"party\":\"acme-ai\",\"topic\":\"disclosure\",\"text\":\"two\"}\n",
    );
    let lines = instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "--lines",
            "notices.jsonl",
        ])
        .ok()
        .stdout;
    assert_eq!(lines.lines().count(), 2);
    let indices = instance
        .run_with(&["submit", "--dir", "ledger", "-"], lines.as_bytes())
        .ok()
        .stdout;
    assert_eq!(indices, "4\n5\n");
    instance.write(
        "bad.jsonl",
        "{\"party\":\"acme-ai\",\"topic\":\"disclosure\",\"text\":\"three\"}\n{\"party\":\"acme-ai\",\"topic\":\"disclosure\"}\n",
    );
    instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "--lines",
            "bad.jsonl",
        ])
        .fails(2, "`bad.jsonl`: line 2");

    let parties: serde_json::Value = serde_json::from_str(
        &instance
            .run(&["party", "list", "--dir", "ledger", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    let ids: Vec<&str> = parties
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["party"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme-ai", "agency-x", "operator"]);
}

#[test]
fn rotated_keys_stop_signing() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    let shown: serde_json::Value = serde_json::from_str(
        &instance
            .run(&[
                "party", "show", "--dir", "ledger", "acme-ai", "--format", "json",
            ])
            .ok()
            .stdout,
    )
    .unwrap();
    let old = shown["keys"][0]["keyid"].as_str().unwrap().to_owned();
    let new = instance
        .run(&["key", "generate", "--name", "acme-2", "--out", "acme-2.key"])
        .ok()
        .stdout;
    // The party rotates its own key, signing with the old one.
    instance
        .run(&[
            "key",
            "rotate",
            "--dir",
            "ledger",
            "--party",
            "acme-ai",
            "--old",
            &old,
            "--new",
            new.trim(),
            "--signer-key",
            "acme-ai.key",
        ])
        .ok();
    instance.write(
        "note.json",
        r#"{"party":"acme-ai","topic":"disclosure","text":"after rotation"}"#,
    );
    let stale = instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "note.json",
        ])
        .ok()
        .stdout;
    instance.write("stale.json", &stale);
    instance
        .run(&["submit", "--dir", "ledger", "stale.json"])
        .fails(1, "rule `rotated-key`");
    let fresh = instance
        .run(&[
            "sign",
            "--key",
            "acme-2.key",
            "--kind",
            "party-statement",
            "note.json",
        ])
        .ok()
        .stdout;
    instance.write("fresh.json", &fresh);
    instance
        .run(&["submit", "--dir", "ledger", "fresh.json"])
        .ok();
    let text = instance
        .run(&["party", "show", "--dir", "ledger", "acme-ai"])
        .ok()
        .stdout;
    assert!(
        text.contains(&format!(
            "{old} (ed25519, added at entry 1): rotated at entry 2"
        )),
        "{text}"
    );
}

#[test]
fn errors_name_the_file_field_and_rule() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    instance.write(
        "extra.json",
        r#"{"party":"acme-ai","topic":"t","text":"x","colour":"red"}"#,
    );
    instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "extra.json",
        ])
        .fails(2, "`extra.json`: predicate: unknown field `colour`");
    instance.write("broken.json", "{\"party\":\n  oops}");
    instance
        .run(&["statement", "--kind", "party-statement", "broken.json"])
        .fails(2, "`broken.json`: line 2 column 3");
    instance
        .run(&["statement", "--kind", "contract", "extra.json"])
        .fails(
            2,
            "--kind `contract` is not an entry kind; kinds are party-registered, key-added",
        );
    instance.write("not-an-envelope.json", r#"{"hello":"world"}"#);
    instance
        .run(&["submit", "--dir", "ledger", "not-an-envelope.json"])
        .fails(
            2,
            "`not-an-envelope.json`: invalid entry: envelope field `payloadType`: is missing",
        );
    instance
        .run(&[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            "Lab",
            "--role",
            "scientist",
            "--key",
            "x",
        ])
        .fails(2, "--role `scientist` is not a role");
    instance
        .run(&[
            "party", "register", "--dir", "ledger", "--name", "Lab", "--role", "lab", "--key",
            "nonsense",
        ])
        .fails(2, "--key `nonsense`");
    instance
        .run(&[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            "Acme AI",
            "--role",
            "vendor",
            "--key",
            "acme-ai.key",
        ])
        .fails(2, "--key `acme-ai.key`");
    instance
        .run(&["init", "--dir", "ledger", "--origin", "again"])
        .fails(2, "already holds a log");
}

#[test]
fn replay_and_verify_report_a_hand_edited_state_row() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    instance.run(&["replay", "--dir", "ledger"]).ok();
    let db = rusqlite::Connection::open(instance.dir.path().join("ledger/log.db")).unwrap();
    db.execute(
        "UPDATE state SET value = CAST(replace(CAST(value AS TEXT), '\"vendor\"', '\"operator\"') AS BLOB) WHERE space = 'party' AND key = 'acme-ai'",
        [],
    )
    .unwrap();
    instance
        .run(&["replay", "--dir", "ledger"])
        .fails(1, "state party/acme-ai differs: stored");
    instance
        .run(&["log", "verify", "--dir", "ledger"])
        .fails(1, "replay differs from the stored state");
}

/// A signer key file others can read still signs, but the command says so and how to fix it.
#[test]
fn a_key_file_others_can_read_is_named_with_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| concordat(args, None, tmp.path());
    run(&["key", "generate", "--name", "acme", "--out", "acme.key"]).ok();
    std::fs::write(
        tmp.path().join("notice.json"),
        r#"{"party": "acme-ai", "topic": "disclosure", "text": "hello"}"#,
    )
    .unwrap();
    let sign = [
        "sign",
        "--key",
        "acme.key",
        "--kind",
        "party-statement",
        "notice.json",
    ];
    let private = run(&sign).ok();
    assert!(!private.stderr.contains("warning"), "{private:?}");
    let key = tmp.path().join("acme.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let exposed = run(&sign).ok();
    assert!(
        exposed.stderr.contains(
            "warning: the signer key `acme.key` can be read or changed by others (mode 644); run `chmod 600 acme.key`"
        ),
        "{exposed:?}"
    );
}

/// What changes a ledger's rules is read from its signed first entry, not from the database's
/// metadata: deleting the `instance` row no longer makes `log verify` skip the ledger's checks,
/// and inserting `clock = simulated` lets no back-dated entry through.
#[test]
fn the_ledgers_terms_come_from_its_first_entry_not_its_metadata() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    let verified = instance
        .run(&["log", "verify", "--dir", "ledger"])
        .ok()
        .stdout;
    for check in [
        "checked: every entry's signatures, by keys registered before it",
        "checked: each statement logged once",
        "with the key in the log's own metadata; pin one with --key",
    ] {
        assert!(verified.contains(check), "{check}\n{verified}");
    }
    let db = rusqlite::Connection::open(instance.dir.path().join("ledger/log.db")).unwrap();
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('clock', 'simulated')",
        [],
    )
    .unwrap();
    instance.write(
        "old.json",
        r#"{"party":"acme-ai","topic":"disclosure","text":"back-dated","at":"2020-01-01T00:00:00Z"}"#,
    );
    let envelope = instance
        .run(&[
            "sign",
            "--key",
            "acme-ai.key",
            "--kind",
            "party-statement",
            "old.json",
        ])
        .ok()
        .stdout;
    instance.write("old.envelope.json", &envelope);
    instance
        .run(&["submit", "--dir", "ledger", "old.envelope.json"])
        .fails(
            1,
            "rejected by rule `entry-time`: `at` is 2020-01-01T00:00:00Z",
        );
    instance.run(&["log", "verify", "--dir", "ledger"]).fails(
        1,
        "metadata says the clock is simulated, but entry 0 records the system clock",
    );

    db.execute("DELETE FROM meta WHERE key IN ('clock', 'instance')", [])
        .unwrap();
    instance.run(&["log", "verify", "--dir", "ledger"]).fails(
        1,
        "metadata `instance` is not `concordat-ledger`, but entry 0 begins a Concordat ledger",
    );
}

/// A database restored from an older copy is refused where the log published more; and when
/// that copy is given up and the log grows another way, the checkpoint a client saw before —
/// remembered by `log verify`, or given with `--since` — shows the fork.
#[test]
fn a_rolled_back_log_is_refused_and_a_fork_is_seen_by_its_clients() {
    let instance = Instance::new();
    instance.party("acme-ai", "vendor");
    let say = |text: &str| {
        instance.write(
            "say.json",
            &format!(r#"{{"party":"acme-ai","topic":"disclosure","text":"{text}"}}"#),
        );
        let envelope = instance
            .run(&[
                "sign",
                "--key",
                "acme-ai.key",
                "--kind",
                "party-statement",
                "say.json",
            ])
            .ok()
            .stdout;
        instance.write("say.envelope.json", &envelope);
        instance.run(&["submit", "--dir", "ledger", "say.envelope.json"])
    };
    say("one").ok();
    let verified = instance
        .run(&["log", "verify", "--dir", "ledger"])
        .ok()
        .stdout;
    assert!(
        verified.contains("checked: remembered the largest checkpoint verified"),
        "{verified}"
    );
    let ledger = instance.dir.path().join("ledger");
    let db = rusqlite::Connection::open(ledger.join("log.db")).unwrap();
    db.execute(
        "VACUUM INTO ?1",
        [instance.dir.path().join("older.db").to_str().unwrap()],
    )
    .unwrap();
    drop(db);
    say("two").ok();
    say("three").ok();
    let seen = instance
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout;
    instance.write("seen.checkpoint", &seen);
    instance.run(&["log", "verify", "--dir", "ledger"]).ok();

    // The older copy put back: the writer and verify both refuse it.
    std::fs::copy(instance.dir.path().join("older.db"), ledger.join("log.db")).unwrap();
    for stale in ["log.db-wal", "log.db-shm"] {
        let _ = std::fs::remove_file(ledger.join(stale));
    }
    let refused = say("other");
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("was restored from an older copy or lost its last commits"),
        "{refused:?}"
    );
    instance
        .run(&["log", "verify", "--dir", "ledger"])
        .fails(1, "but this log published a checkpoint of 5");

    // Given up on purpose, and grown another way to the same size: a fork its clients see.
    std::fs::remove_file(ledger.join(store::PUBLISHED_FILE)).unwrap();
    say("other").ok();
    say("another").ok();
    instance.run(&["log", "verify", "--dir", "ledger"]).fails(
        1,
        "the log's tree of 5 entries is not the checkpoint this machine verified before, which the log also signed: the log forked",
    );
    instance
        .run(&[
            "log",
            "verify",
            "--dir",
            "ledger",
            "--since",
            "seen.checkpoint",
        ])
        .fails(1, "is not the checkpoint in `seen.checkpoint`");
}
