//! Tamper evidence: every changed, deleted or reordered entry, stored hash or checkpoint is
//! reported by `verify`, and the report says where.

use rusqlite::{Connection, params};

use crate::support::TestLog;

fn verify_error(log: &TestLog) -> String {
    match store::verify(&log.path(), None, &mut |_| {}) {
        Ok(report) => panic!("tampered log verified: {report:?}"),
        Err(error) => error.to_string(),
    }
}

fn database(log: &TestLog) -> Connection {
    Connection::open(log.path().join(store::DATABASE_FILE)).unwrap()
}

/// Runs `tamper` inside a transaction, checks `verify` reports it, then undoes it.
fn check(log: &TestLog, tamper: impl FnOnce(&Connection), expected: &str) {
    let mut db = database(log);
    let tx = db.transaction().unwrap();
    tamper(&tx);
    tx.commit().unwrap();
    let error = verify_error(log);
    assert!(error.contains(expected), "`{error}` lacks `{expected}`");
}

fn snapshot(log: &TestLog) -> Vec<u8> {
    std::fs::read(log.path().join(store::DATABASE_FILE)).unwrap()
}

fn restore(log: &TestLog, bytes: &[u8]) {
    let db = database(log);
    db.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(db);
    std::fs::write(log.path().join(store::DATABASE_FILE), bytes).unwrap();
}

fn tampered_log() -> TestLog {
    let (log, _) = TestLog::with_entries(300, 40);
    // Fold the WAL into the database file so that snapshots are whole.
    database(&log)
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    store::verify(&log.path(), None, &mut |_| {}).unwrap();
    log
}

#[test]
fn every_changed_entry_byte_is_reported_with_its_index() {
    let log = tampered_log();
    let clean = snapshot(&log);
    for index in 0..300i64 {
        let data: Vec<u8> = database(&log)
            .query_row("SELECT data FROM entries WHERE idx = ?1", [index], |r| {
                r.get(0)
            })
            .unwrap();
        let position = (index as usize * 7) % data.len();
        let mut changed = data.clone();
        changed[position] ^= 0x01;
        check(
            &log,
            |db| {
                db.execute(
                    "UPDATE entries SET data = ?1 WHERE idx = ?2",
                    params![changed, index],
                )
                .unwrap();
            },
            &format!("entry {index}: its leaf hash"),
        );
        restore(&log, &clean);
    }
}

#[test]
fn every_changed_stored_hash_is_reported() {
    let log = tampered_log();
    let clean = snapshot(&log);
    let tiles: Vec<(i64, i64, Vec<u8>)> = {
        let db = database(&log);
        let mut statement = db.prepare("SELECT level, idx, hashes FROM tiles").unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut checked = 0;
    for (level, index, hashes) in tiles {
        for hash in 0..hashes.len() / 32 {
            let mut changed = hashes.clone();
            changed[hash * 32 + hash % 32] ^= 0x80;
            check(
                &log,
                |db| {
                    db.execute(
                        "UPDATE tiles SET hashes = ?1 WHERE level = ?2 AND idx = ?3",
                        params![changed, level, index],
                    )
                    .unwrap();
                },
                &format!("tile/{level}/"),
            );
            restore(&log, &clean);
            checked += 1;
        }
    }
    // tile/0/000 (256 + 128 + ... + 2 = 510 hashes), tile/0/001.p/44 (85) and tile/1/000.p/1.
    assert_eq!(checked, 510 + 85 + 1);
}

#[test]
fn deleted_entries_tiles_and_checkpoints_are_reported() {
    let log = tampered_log();
    let clean = snapshot(&log);
    let cases: [(&str, &str); 9] = [
        ("DELETE FROM entries WHERE idx = 0", "entry 0 is missing"),
        (
            "DELETE FROM entries WHERE idx = 150",
            "entry 150 is missing",
        ),
        (
            "DELETE FROM entries WHERE idx = 299",
            "entries 299..300 are missing",
        ),
        (
            "DELETE FROM tiles WHERE level = 0 AND idx = 0",
            "tile/0/000 is missing",
        ),
        (
            "UPDATE tiles SET width = 43 WHERE level = 0 AND idx = 1",
            "tile/0/001",
        ),
        ("DELETE FROM tiles WHERE level = 1", "tile/1/000 is missing"),
        (
            "DELETE FROM checkpoints WHERE size = 120",
            "a checkpoint was deleted or moved",
        ),
        (
            "DELETE FROM checkpoints WHERE size = 300",
            "no signed checkpoint covers it",
        ),
        (
            "DELETE FROM checkpoints WHERE size = 0",
            "a checkpoint was deleted or moved",
        ),
    ];
    for (statement, expected) in cases {
        check(
            &log,
            |db| {
                db.execute(statement, []).unwrap();
            },
            expected,
        );
        restore(&log, &clean);
    }
}

#[test]
fn reordered_entries_and_checkpoints_are_reported() {
    let log = tampered_log();
    let clean = snapshot(&log);
    for (a, b) in [(0i64, 1i64), (17, 18), (100, 200), (298, 299)] {
        check(
            &log,
            |db| {
                db.execute("UPDATE entries SET idx = -1 WHERE idx = ?1", [a])
                    .unwrap();
                db.execute("UPDATE entries SET idx = ?1 WHERE idx = ?2", [a, b])
                    .unwrap();
                db.execute("UPDATE entries SET idx = ?1 WHERE idx = -1", [b])
                    .unwrap();
            },
            &format!("entry {a}: its leaf hash"),
        );
        restore(&log, &clean);
    }
    // Two checkpoint notes swapped: each still verifies, but not at its row's size.
    check(
        &log,
        |db| {
            db.execute_batch(
                "UPDATE checkpoints SET note = (SELECT note FROM checkpoints WHERE size = 80) WHERE size = 40;",
            )
            .unwrap();
        },
        "checkpoint at size 40: the signed note says size 80",
    );
    restore(&log, &clean);
}

#[test]
fn changed_checkpoints_are_reported() {
    let log = tampered_log();
    let clean = snapshot(&log);
    let note: String = database(&log)
        .query_row("SELECT note FROM checkpoints WHERE size = 160", [], |r| {
            r.get(0)
        })
        .unwrap();
    for position in 0..note.len() {
        let mut bytes = note.clone().into_bytes();
        bytes[position] ^= 0x01;
        let Ok(changed) = String::from_utf8(bytes) else {
            continue;
        };
        check(
            &log,
            |db| {
                db.execute(
                    "UPDATE checkpoints SET note = ?1 WHERE size = 160",
                    [changed],
                )
                .unwrap();
            },
            "checkpoint at size 160",
        );
        restore(&log, &clean);
    }
    check(
        &log,
        |db| {
            db.execute(
                "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 200",
                [],
            )
            .unwrap();
        },
        "checkpoint at size 200: it commits to root",
    );
}

/// A database restored from an older copy (or that lost its last commits) is a smaller,
/// consistent log; the checkpoint the log published says otherwise. A database that grew
/// another way from the older copy (a fork) is caught the same way.
#[test]
fn a_rolled_back_or_forked_database_is_refused_and_reported() {
    let log = tampered_log();
    let older = snapshot(&log);
    let mut writer = log.writer();
    writer
        .append_batch(&[b"later 1".to_vec(), b"later 2".to_vec()], |_| Ok(()))
        .unwrap();
    drop(writer);
    let published = std::fs::read(log.path().join(store::PUBLISHED_FILE)).unwrap();
    restore(&log, &older);

    let error = log_writer_error(&log);
    assert!(
        error.contains(
            "the log database holds 300 entries, but this log published a checkpoint of 302"
        ),
        "{error}"
    );
    assert!(verify_error(&log).contains("published a checkpoint of 302"));

    // Given up on purpose: the copy moved away, the log grows again — differently.
    std::fs::remove_file(log.path().join(store::PUBLISHED_FILE)).unwrap();
    let mut writer = log.writer();
    writer
        .append_batch(&[b"other 1".to_vec(), b"other 2".to_vec()], |_| Ok(()))
        .unwrap();
    drop(writer);
    store::verify(&log.path(), None, &mut |_| {}).unwrap();
    // Shown the checkpoint it published before, the database is a fork.
    std::fs::write(log.path().join(store::PUBLISHED_FILE), &published).unwrap();
    let error = log_writer_error(&log);
    assert!(
        error.contains("tree at size 302 is not the one this log published"),
        "{error}"
    );
    assert!(verify_error(&log).contains("the log forked"));
}

fn log_writer_error(log: &TestLog) -> String {
    match store::Writer::open(&log.path(), log.key.clone()) {
        Ok(_) => panic!("the writer opened"),
        Err(error) => error.to_string(),
    }
}
