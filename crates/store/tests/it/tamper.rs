//! Tamper evidence: every changed, deleted or reordered entry, stored hash or checkpoint is
//! reported by `verify`, and the report says where — on SQLite and on PostgreSQL alike.

use crate::support::{Backend, Snapshot, Tables, TestLog, Value, on_both};

fn verify_error(log: &TestLog) -> String {
    match log.verify() {
        Ok(report) => panic!("tampered log verified: {report:?}"),
        Err(error) => error.to_string(),
    }
}

/// Runs `tamper` on the log's tables, checks `verify` reports it, then restores `clean`.
fn check(
    log: &TestLog,
    tables: &mut Tables,
    clean: &Snapshot,
    tamper: impl FnOnce(&mut Tables),
    expected: &str,
) {
    tamper(tables);
    let error = verify_error(log);
    assert!(error.contains(expected), "`{error}` lacks `{expected}`");
    tables.restore(clean);
}

/// As [`check`], for a change to the tile table alone.
fn check_tiles(
    log: &TestLog,
    tables: &mut Tables,
    clean: &Snapshot,
    tamper: impl FnOnce(&mut Tables),
    expected: &str,
) {
    tamper(tables);
    let error = verify_error(log);
    assert!(error.contains(expected), "`{error}` lacks `{expected}`");
    tables.restore_only(clean, &["tiles"]);
}

fn tampered_log(backend: Backend) -> (TestLog, Tables, Snapshot) {
    let (log, _) = TestLog::with_entries_on(backend, 300, 40);
    log.verify().unwrap();
    let mut tables = log.tables();
    let clean = tables.snapshot();
    (log, tables, clean)
}

fn every_changed_entry_byte_is_reported_with_its_index(backend: Backend) {
    let (log, mut tables, clean) = tampered_log(backend);
    for index in 0..300i64 {
        let data = tables
            .query(
                "SELECT data FROM entries WHERE idx = $1",
                &[Value::Int(index)],
            )
            .remove(0)
            .remove(0)
            .bytes();
        let position = (index as usize * 7) % data.len();
        let mut changed = data.clone();
        changed[position] ^= 0x01;
        check(
            &log,
            &mut tables,
            &clean,
            |db| {
                db.execute(
                    "UPDATE entries SET data = $1 WHERE idx = $2",
                    &[Value::Bytes(changed), Value::Int(index)],
                );
            },
            &format!("entry {index}: its leaf hash"),
        );
    }
}

fn every_changed_stored_hash_is_reported(backend: Backend) {
    let (log, mut tables, clean) = tampered_log(backend);
    let tiles = tables.query("SELECT level, idx, hashes FROM tiles", &[]);
    let mut checked = 0;
    for row in tiles {
        let [level, index, hashes] = <[Value; 3]>::try_from(row).unwrap();
        let (level, index, hashes) = (level.int(), index.int(), hashes.bytes());
        for hash in 0..hashes.len() / 32 {
            let mut changed = hashes.clone();
            changed[hash * 32 + hash % 32] ^= 0x80;
            check_tiles(
                &log,
                &mut tables,
                &clean,
                |db| {
                    db.execute(
                        "UPDATE tiles SET hashes = $1 WHERE level = $2 AND idx = $3",
                        &[Value::Bytes(changed), Value::Int(level), Value::Int(index)],
                    );
                },
                &format!("tile/{level}/"),
            );
            checked += 1;
        }
    }
    // tile/0/000 (256 + 128 + ... + 2 = 510 hashes), tile/0/001.p/44 (85) and tile/1/000.p/1.
    assert_eq!(checked, 510 + 85 + 1);
}

fn deleted_entries_tiles_and_checkpoints_are_reported(backend: Backend) {
    let (log, mut tables, clean) = tampered_log(backend);
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
            &mut tables,
            &clean,
            |db| db.execute(statement, &[]),
            expected,
        );
    }
}

fn reordered_entries_and_checkpoints_are_reported(backend: Backend) {
    let (log, mut tables, clean) = tampered_log(backend);
    for (a, b) in [(0i64, 1i64), (17, 18), (100, 200), (298, 299)] {
        check(
            &log,
            &mut tables,
            &clean,
            |db| {
                let aside = Value::Int(1_000_000);
                db.execute(
                    "UPDATE entries SET idx = $1 WHERE idx = $2",
                    &[aside.clone(), Value::Int(a)],
                );
                db.execute(
                    "UPDATE entries SET idx = $1 WHERE idx = $2",
                    &[Value::Int(a), Value::Int(b)],
                );
                db.execute(
                    "UPDATE entries SET idx = $1 WHERE idx = $2",
                    &[Value::Int(b), aside],
                );
            },
            &format!("entry {a}: its leaf hash"),
        );
    }
    // Two checkpoint notes swapped: each still verifies, but not at its row's size.
    check(
        &log,
        &mut tables,
        &clean,
        |db| {
            db.execute(
                "UPDATE checkpoints SET note = (SELECT note FROM checkpoints WHERE size = 80) WHERE size = 40",
                &[],
            );
        },
        "checkpoint at size 40: the signed note says size 80",
    );
}

fn changed_checkpoints_are_reported(backend: Backend) {
    let (log, mut tables, clean) = tampered_log(backend);
    let note = tables
        .query("SELECT note FROM checkpoints WHERE size = 160", &[])
        .remove(0)
        .remove(0)
        .text();
    for position in 0..note.len() {
        let mut bytes = note.clone().into_bytes();
        bytes[position] ^= 0x01;
        let Ok(changed) = String::from_utf8(bytes) else {
            continue;
        };
        if changed.contains('\0') {
            // PostgreSQL text holds no NUL; SQLite's case covers it.
            continue;
        }
        check(
            &log,
            &mut tables,
            &clean,
            |db| {
                db.execute(
                    "UPDATE checkpoints SET note = $1 WHERE size = 160",
                    &[Value::Text(changed)],
                );
            },
            "checkpoint at size 160",
        );
    }
    check(
        &log,
        &mut tables,
        &clean,
        |db| {
            db.execute(
                "UPDATE checkpoints SET root = $1 WHERE size = 200",
                &[Value::Bytes(vec![0; 32])],
            );
        },
        "checkpoint at size 200: it commits to root",
    );
}

/// A database restored from an older copy (or that lost its last commits) is a smaller,
/// consistent log; the checkpoint the log published says otherwise. A database that grew
/// another way from the older copy (a fork) is caught the same way.
fn a_rolled_back_or_forked_database_is_refused_and_reported(backend: Backend) {
    let (log, mut tables, older) = tampered_log(backend);
    let mut writer = log.writer();
    writer
        .append_batch(&[b"later 1".to_vec(), b"later 2".to_vec()], |_| Ok(()))
        .unwrap();
    drop(writer);
    let published = std::fs::read(log.path().join(store::PUBLISHED_FILE)).unwrap();
    tables.restore(&older);

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
    log.verify().unwrap();
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
    match store::Writer::open_at(&log.database, log.key.clone()) {
        Ok(_) => panic!("the writer opened"),
        Err(error) => error.to_string(),
    }
}

on_both!(
    every_changed_entry_byte_is_reported_with_its_index,
    every_changed_stored_hash_is_reported,
    deleted_entries_tiles_and_checkpoints_are_reported,
    reordered_entries_and_checkpoints_are_reported,
    changed_checkpoints_are_reported,
    a_rolled_back_or_forked_database_is_refused_and_reported,
);
