//! Integration tests of the ledger's write path and replay, each on a real SQLite database and
//! on a real PostgreSQL cluster the test starts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use attest::PublicKey;
use domain::Kind;
use ledger::{Ledger, Receipt, SubmitError, sign_statement, statement};
use pgcluster::{Backend, on_both};
use serde_json::{Value, json};
use store::{Database, GroupCommit};
use tlog::checkpoint::Checkpoint;
use tlog::leaf_hash;
use tlog::note::{KeyType, SignerKey};
use tlog::proof::verify_inclusion;

const ORIGIN: &str = "ledger.test.example";

fn key(seed: u8) -> SignerKey {
    SignerKey::from_seed("party", KeyType::Ed25519, [seed; 32]).unwrap()
}

fn keyid(key: &SignerKey) -> String {
    PublicKey::parse(&key.verifier().to_text()).unwrap().keyid()
}

fn envelope(kind: Kind, predicate: Value, signers: &[&SignerKey]) -> Vec<u8> {
    let statement = statement(kind, predicate, Vec::new());
    let mut envelope = sign_statement(&statement, signers[0]).unwrap();
    for signer in &signers[1..] {
        envelope.sign(signer).unwrap();
    }
    envelope.to_json().into_bytes()
}

struct TestLedger {
    _dir: tempfile::TempDir,
    database: Database,
    _cluster: Option<pgcluster::Cluster>,
    log_key: SignerKey,
    operator: SignerKey,
}

/// Where a test's ledger lives: a temporary directory, and on PostgreSQL a cluster of its own.
fn place(backend: Backend) -> (tempfile::TempDir, Database, Option<pgcluster::Cluster>) {
    let dir = tempfile::tempdir().unwrap();
    match backend {
        Backend::Sqlite => {
            let database = Database::Sqlite(dir.path().to_owned());
            (dir, database, None)
        }
        Backend::Postgres => {
            let cluster = pgcluster::Cluster::start().unwrap();
            let url = cluster.database("ledger").unwrap();
            let database = Database::select(dir.path(), Some(&url)).unwrap();
            (dir, database, Some(cluster))
        }
    }
}

impl TestLedger {
    fn on(backend: Backend) -> TestLedger {
        let (dir, database, cluster) = place(backend);
        let log_key = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [200; 32]).unwrap();
        let operator = key(1);
        let genesis = envelope(
            Kind::PartyRegistered,
            json!({"party": "operator", "name": "Operator", "roles": ["operator"], "keys": [operator.verifier().to_text()], "instance": {"kind": "concordat-ledger", "clock": "system"}}),
            &[&operator],
        );
        let receipt = ledger::init_at(
            &database,
            ORIGIN,
            &log_key,
            None,
            genesis,
            ledger::Clock::System,
        )
        .unwrap();
        assert_eq!(receipt.index, 0);
        TestLedger {
            _dir: dir,
            database,
            _cluster: cluster,
            log_key,
            operator,
        }
    }

    fn open(&self) -> Ledger {
        Ledger::open_at(
            &self.database,
            self.log_key.clone(),
            GroupCommit::default(),
            Box::new(ledger::ApplyOnly),
        )
        .unwrap()
    }

    fn replay(&self) -> ledger::ReplayReport {
        ledger::replay_at(&self.database, &mut |_| {}).unwrap()
    }

    /// Runs a statement on the ledger's tables behind its back: `sqlite` or `postgres`, the
    /// same change in each one's SQL.
    fn tamper(&self, sqlite: &str, postgres: &str) {
        match &self.database {
            Database::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.join(store::DATABASE_FILE)).unwrap();
                db.execute_batch(sqlite).unwrap();
            }
            Database::Postgres { url, .. } => {
                let mut client = store::pg::connect(url, "tamper").unwrap();
                client.batch_execute(postgres).unwrap();
            }
        }
    }

    fn register(&self, ledger: &Ledger, party: &str, role: &str, key: &SignerKey) -> Receipt {
        ledger
            .submit_and_wait(envelope(
                Kind::PartyRegistered,
                json!({"party": party, "name": party, "roles": [role], "keys": [key.verifier().to_text()]}),
                &[&self.operator],
            ))
            .unwrap()
    }
}

fn say(party: &str, text: &str, signers: &[&SignerKey]) -> Vec<u8> {
    envelope(
        Kind::PartyStatement,
        json!({"party": party, "topic": "disclosure", "text": text}),
        signers,
    )
}

fn receipts_prove_inclusion_under_a_signed_checkpoint(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(2);
    test.register(&ledger, "acme-ai", "vendor", &vendor);
    let entry = say("acme-ai", "model card v2 published", &[&vendor]);
    let receipt = ledger.submit_and_wait(entry.clone()).unwrap();
    assert_eq!(receipt.index, 2);
    let (checkpoint, _, _) = Checkpoint::open(
        receipt.checkpoint.note.as_bytes(),
        ORIGIN,
        &[test.log_key.verifier()],
    )
    .unwrap();
    verify_inclusion(
        &leaf_hash(&entry),
        2,
        checkpoint.size,
        &receipt.inclusion_proof,
        &checkpoint.root,
    )
    .unwrap();
    receipt
        .proof_file()
        .verify(&entry, &[test.log_key.verifier()])
        .unwrap();
    ledger.close().unwrap();
}

fn rejected_entries_are_not_logged_and_say_why(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(2);
    let stranger = key(3);
    test.register(&ledger, "acme-ai", "vendor", &vendor);

    // A flipped payload byte: the signature no longer matches its key.
    let mut tampered: Value = serde_json::from_slice(&say("acme-ai", "hello", &[&vendor])).unwrap();
    let payload = tampered["payload"].as_str().unwrap().to_owned();
    let mut bytes = attest::dsse::decode_base64(&payload).unwrap();
    bytes[10] ^= 1;
    tampered["payload"] = base64_encode(&bytes).into();
    let error = ledger
        .submit_and_wait(tampered.to_string().into_bytes())
        .unwrap_err();
    assert!(matches!(error, SubmitError::Unverified(_)), "{error}");
    assert!(error.to_string().contains("does not verify"), "{error}");

    // An unregistered key.
    let error = ledger
        .submit_and_wait(say("acme-ai", "hello", &[&stranger]))
        .unwrap_err();
    assert!(matches!(error, SubmitError::Unverified(_)), "{error}");
    assert!(
        error
            .to_string()
            .contains("no signature verifies with a registered key of any party"),
        "{error}"
    );

    // A revoked key: what it signed before stands, what it signs now is rejected.
    let before = ledger
        .submit_and_wait(say("acme-ai", "before", &[&vendor]))
        .unwrap();
    ledger
        .submit_and_wait(envelope(
            Kind::KeyRevoked,
            json!({"party": "acme-ai", "keyid": keyid(&vendor), "reason": "compromised"}),
            &[&test.operator],
        ))
        .unwrap();
    let error = ledger
        .submit_and_wait(say("acme-ai", "after", &[&vendor]))
        .unwrap_err();
    assert!(error.to_string().contains("rule `revoked-key`"), "{error}");

    // 2 of 2: a joint statement with one signature.
    let agency = key(4);
    test.register(&ledger, "agency-a", "agency", &agency);
    let second_vendor = key(5);
    test.register(&ledger, "beta-ai", "vendor", &second_vendor);
    let joint = |signers: &[&SignerKey]| {
        envelope(
            Kind::PartyStatement,
            json!({"party": "agency-a", "topic": "designation", "text": "joint", "cosigners": ["beta-ai"]}),
            signers,
        )
    };
    let error = ledger.submit_and_wait(joint(&[&agency])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("1 of 2 required parties signed; missing: `beta-ai`"),
        "{error}"
    );
    let both = ledger
        .submit_and_wait(joint(&[&agency, &second_vendor]))
        .unwrap();

    // Not an envelope at all.
    let error = ledger
        .submit_and_wait(b"{\"payloadType\":1}".to_vec())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid entry: envelope field `payloadType`: must be a string"
    );
    ledger.close().unwrap();

    // Only the accepted entries are in the log, in order.
    let reader = store::Reader::open_at(&test.database, 64).unwrap();
    assert_eq!(reader.latest_checkpoint().unwrap().size, both.index + 1);
    assert_eq!(before.index, 2);
    let report = test.replay();
    assert!(report.is_clean(), "{:?}", report.differences);
}

fn base64_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    // A tiny standard-base64 encoder keeps this test free of another dependency.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.write_char(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char)
                    .unwrap();
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn replay_equals_the_stored_state_and_finds_a_hand_edited_row(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let mut keys: Vec<(String, SignerKey)> = Vec::new();
    let mut seed = 10u8;
    let mut pending = Vec::new();
    // A few thousand mixed entries: registrations, key additions, rotations, statements.
    for round in 0..40 {
        let party = format!("party-{round}");
        let party_key = key(seed);
        seed = seed.wrapping_add(1);
        test.register(
            &ledger,
            &party,
            ["vendor", "lab", "agency", "auditor"][round % 4],
            &party_key,
        );
        if round % 3 == 0 {
            let extra = key(seed);
            seed = seed.wrapping_add(1);
            ledger
                .submit_and_wait(envelope(
                    Kind::KeyAdded,
                    json!({"party": party, "key": extra.verifier().to_text()}),
                    &[&party_key],
                ))
                .unwrap();
        }
        keys.push((party, party_key));
    }
    for i in 0..2500 {
        let (party, party_key) = &keys[i % keys.len()];
        pending.push(
            ledger
                .submit(say(party, &format!("statement {i}"), &[party_key]))
                .unwrap(),
        );
    }
    for p in pending {
        p.wait().unwrap();
    }
    let (party, old) = &keys[7];
    let new = key(250);
    ledger
        .submit_and_wait(envelope(
            Kind::KeyRotated,
            json!({"party": party, "old_keyid": keyid(old), "new_key": new.verifier().to_text()}),
            &[old],
        ))
        .unwrap();
    ledger.close().unwrap();

    let report = test.replay();
    assert!(report.is_clean(), "{:?}", report.differences);
    assert!(report.entries > 2500);
    assert_eq!(report.parties, 41);

    // Reopening loads the projected state: the rotated key no longer signs.
    let ledger = test.open();
    let error = ledger
        .submit_and_wait(say(party, "old key", &[old]))
        .unwrap_err();
    assert!(error.to_string().contains("rule `rotated-key`"), "{error}");
    ledger.close().unwrap();

    test.tamper(
        "UPDATE state SET value = CAST(replace(CAST(value AS TEXT), 'party-3', 'party-X') AS BLOB) WHERE space = 'party' AND key = 'party-3';
         DELETE FROM state WHERE space = 'party' AND key = 'party-4';",
        "UPDATE state SET value = convert_to(replace(convert_from(value, 'UTF8'), 'party-3', 'party-X'), 'UTF8') WHERE space = 'party' AND key = 'party-3';
         DELETE FROM state WHERE space = 'party' AND key = 'party-4';",
    );
    let report = test.replay();
    assert_eq!(report.differences.len(), 2, "{:?}", report.differences);
    assert!(
        report.differences[0].starts_with("state party/party-3 differs: stored "),
        "{:?}",
        report.differences
    );
    assert!(
        report.differences[1].contains("state party/party-4 is missing"),
        "{:?}",
        report.differences
    );
}

fn a_bare_log_is_not_a_ledger(backend: Backend) {
    let (_dir, database, _cluster) = place(backend);
    let log_key = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [9; 32]).unwrap();
    store::init_at(&database, ORIGIN, &log_key, None, &[]).unwrap();
    let error = Ledger::open_at(
        &database,
        log_key,
        GroupCommit::default(),
        Box::new(ledger::ApplyOnly),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("holds a bare log, not a Concordat ledger"),
        "{error}"
    );
}

/// A signature whose key ID names no registered key (as other DSSE tools label keys their own
/// way) is found among the keys of the parties the entry names, and only there.
fn foreign_key_ids_are_resolved_through_the_named_parties(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(2);
    test.register(&ledger, "acme-ai", "vendor", &vendor);
    test.register(&ledger, "lab-one", "lab", &key(3));
    let relabel = |bytes: Vec<u8>| {
        let mut envelope: Value = serde_json::from_slice(&bytes).unwrap();
        envelope["signatures"][0]["keyid"] = "someone-elses-label".into();
        envelope.to_string().into_bytes()
    };
    ledger
        .submit_and_wait(relabel(say("acme-ai", "relabelled", &[&vendor])))
        .unwrap();
    // Named as another party, the vendor's key does not sign for it; the refusal says whose
    // signature it is and for whom the entry speaks.
    let error = ledger
        .submit_and_wait(relabel(say("lab-one", "not mine", &[&vendor])))
        .unwrap_err();
    assert!(matches!(error, SubmitError::Unverified(_)), "{error}");
    assert!(
        error.to_string().contains("by `acme-ai` (key ")
            && error.to_string().contains("(`lab-one`)"),
        "{error}"
    );
    ledger.close().unwrap();
    assert!(test.replay().is_clean());
}

/// A replayed envelope — the same bytes, or the same statement under other signatures — is
/// refused: in the same batch, after a restart, on a log written before statement digests were
/// recorded; and replay names a repeated statement that reached the log some other way.
fn a_statement_is_logged_once(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(2);
    let agency = key(3);
    test.register(&ledger, "acme-ai", "vendor", &vendor);
    test.register(&ledger, "agency", "agency", &agency);
    let entry = say("acme-ai", "we publish our methods", &[&vendor]);
    let first = ledger.submit_and_wait(entry.clone()).unwrap();
    let refused = |error: SubmitError| match error {
        SubmitError::Rejected(rejection) => {
            assert_eq!(rejection.rule, "logged-once", "{rejection}");
            rejection.message
        }
        other => panic!("not a rejection: {other}"),
    };
    let message = refused(ledger.submit_and_wait(entry.clone()).unwrap_err());
    assert!(
        message.contains(&format!("already logged as entry {}", first.index)),
        "{message}"
    );
    // Another signature over the same statement does not make it new.
    let mut resigned = attest::Envelope::parse(&entry).unwrap();
    resigned.sign(&agency).unwrap();
    refused(
        ledger
            .submit_and_wait(resigned.to_json().into_bytes())
            .unwrap_err(),
    );
    // Twice in one batch: one is logged.
    let twice = say("acme-ai", "and our results", &[&vendor]);
    let a = ledger.submit(twice.clone()).unwrap();
    let b = ledger.submit(twice.clone()).unwrap();
    let outcomes = [a.wait(), b.wait()];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    ledger.close().unwrap();

    // After a restart.
    let ledger = test.open();
    refused(ledger.submit_and_wait(entry.clone()).unwrap_err());
    ledger.close().unwrap();

    // A log from before digests were recorded gets them when opened for writing.
    // (PostgreSQL's schema has always had the table: no digest recorded is the same story.)
    test.tamper("DROP TABLE digests", "DELETE FROM digests");
    let report = test.replay();
    assert!(report.is_clean(), "{:?}", report.differences);
    let ledger = test.open();
    refused(ledger.submit_and_wait(twice.clone()).unwrap_err());
    ledger.close().unwrap();
    assert!(test.replay().is_clean());

    // A missing digest row, and a repeated entry written past the ledger, are both found.
    test.tamper(
        "DELETE FROM digests WHERE idx = 1",
        "DELETE FROM digests WHERE idx = 1",
    );
    let mut writer = store::Writer::open_at(&test.database, test.log_key.clone()).unwrap();
    let repeated = writer.size();
    writer
        .append_batch(std::slice::from_ref(&entry), |_| Ok(()))
        .unwrap();
    drop(writer);
    let report = test.replay();
    assert_eq!(
        report.differences,
        [
            format!(
                "entry {repeated} is in the log, but replay rejects it: rejected by rule `logged-once`: entry {repeated} repeats the statement of entry {}",
                first.index
            ),
            "logged statements without a recorded digest, so that they could be submitted again: 1"
                .to_owned()
        ]
    );
}

/// A valid signature by a registered key of another party than the entry speaks for is refused
/// with who signed it and for whom the entry speaks, not as an altered envelope.
fn a_signature_by_another_party_says_who_signed_and_for_whom(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(2);
    let agency = key(3);
    test.register(&ledger, "acme-ai", "vendor", &vendor);
    test.register(&ledger, "agency", "agency", &agency);
    let signed = say("acme-ai", "speaking for the vendor", &[&agency]);
    for label in [keyid(&vendor), String::new()] {
        let mut envelope = attest::Envelope::parse(&signed).unwrap();
        envelope.signatures[0].keyid = label.clone();
        let error = ledger
            .submit_and_wait(envelope.to_json().into_bytes())
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("by `agency` (key {})", keyid(&agency)))
                && message.contains("(`acme-ai`)"),
            "labelled `{label}`: {message}"
        );
    }
    ledger.close().unwrap();
}

/// A node that follows the log another node writes brings its state up to date from the
/// entries added since, and ends with the state the stored rows hold.
fn a_follower_applies_what_was_added_and_agrees_with_the_rows(backend: Backend) {
    let test = TestLedger::on(backend);
    let ledger = test.open();
    let vendor = key(20);
    test.register(&ledger, "acme-ai", "vendor", &vendor);
    let reader = store::Reader::open_at(&test.database, 64).unwrap();
    let from = reader.latest_checkpoint().unwrap().size;
    let earlier = ledger::load_state(&reader).unwrap();
    let lab = key(21);
    test.register(&ledger, "uk-test-lab", "lab", &lab);
    let extra = key(22);
    ledger
        .submit_and_wait(envelope(
            Kind::KeyAdded,
            json!({"party": "acme-ai", "key": extra.verifier().to_text()}),
            &[&vendor],
        ))
        .unwrap();
    // Signed with the key added just before, in the entries followed.
    ledger
        .submit_and_wait(say("acme-ai", "a new key at work", &[&extra]))
        .unwrap();
    let (followed, size) = ledger::follow(&reader, &earlier, from).unwrap();
    assert_eq!(size, from + 3);
    let stored = ledger::load_state(&reader).unwrap();
    assert_eq!(followed.rows(), stored.rows());
    // Nothing added: the same state.
    let (again, same) = ledger::follow(&reader, &followed, size).unwrap();
    assert_eq!((again.rows(), same), (stored.rows(), size));
    // A state said to be of more entries than the log holds does not follow.
    assert!(ledger::follow(&reader, &stored, size + 5).is_err());
    ledger.close().unwrap();
}

on_both!(
    a_follower_applies_what_was_added_and_agrees_with_the_rows,
    receipts_prove_inclusion_under_a_signed_checkpoint,
    rejected_entries_are_not_logged_and_say_why,
    replay_equals_the_stored_state_and_finds_a_hand_edited_row,
    a_bare_log_is_not_a_ledger,
    foreign_key_ids_are_resolved_through_the_named_parties,
    a_statement_is_logged_once,
    a_signature_by_another_party_says_who_signed_and_for_whom,
);
