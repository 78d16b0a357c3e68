//! Moving a log from SQLite into PostgreSQL: copied row for row, proved root for root, and
//! written on from there; a source that does not verify, or a target that holds a log, is
//! refused before anything is written.

use store::{Database, MigrateReport, Reader, StoreError, VerifyFailure, Writer, migrate};

use crate::support::{Backend, TestLog, Value};

/// A SQLite log with entries, state rows and digests.
fn source() -> TestLog {
    let log = TestLog::on(Backend::Sqlite);
    let mut writer = log.writer();
    for batch in 0..30u32 {
        let entries: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("batch {batch} entry {i}").into_bytes())
            .collect();
        let digests: Vec<[u8; 32]> = (0..100u32)
            .map(|i| {
                let mut digest = [0u8; 32];
                digest[..4].copy_from_slice(&batch.to_be_bytes());
                digest[4..8].copy_from_slice(&i.to_be_bytes());
                digest
            })
            .collect();
        writer
            .append_batch_digested(&entries, &digests, |state| {
                state.put("batches", &format!("b{batch:03}"), b"done")?;
                state.put("Zebra", "é", &[batch as u8])
            })
            .unwrap();
    }
    log
}

fn target() -> TestLog {
    TestLog::uninitialised(Backend::Postgres)
}

#[test]
fn a_sqlite_log_moves_into_postgres_root_for_root_and_grows_there() {
    let from = source();
    let to = target();
    let mut phases = Vec::new();
    let report: MigrateReport = migrate(&from.database, &to.database, &mut |p| {
        phases.push(
            format!("{p:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    })
    .unwrap();
    assert_eq!(report.entries, 3000);
    assert_eq!(report.checkpoints, 31);
    assert_eq!(report.digests, 3000);
    assert_eq!(report.state_rows, 31);
    assert!(
        phases.iter().any(|p| p.starts_with("Copying")),
        "{phases:?}"
    );
    let source = from.reader();
    let copy = to.reader();
    assert_eq!(
        source.latest_checkpoint().unwrap(),
        copy.latest_checkpoint().unwrap()
    );
    assert_eq!(source.state_rows().unwrap(), copy.state_rows().unwrap());
    assert_eq!(
        source.proof_file(1234, None).unwrap().to_text(),
        copy.proof_file(1234, None).unwrap().to_text()
    );
    // The copy is written on with the same key, and the new checkpoints extend the old ones.
    let mut writer = Writer::open_at(&to.database, to.key.clone()).unwrap();
    let commit = writer
        .append_batch(&[b"after the move"], |_| Ok(()))
        .unwrap();
    assert_eq!(commit.first_index, 3000);
    drop(writer);
    let report = to.verify().unwrap();
    assert_eq!(report.size, 3001);
    copy.consistency_proof(3000, 3001).unwrap();
}

#[test]
fn a_damaged_source_or_an_occupied_target_is_refused_before_anything_is_written() {
    let from = source();
    let to = target();
    from.tables().execute(
        "UPDATE entries SET data = $1 WHERE idx = $2",
        &[Value::Bytes(b"changed".to_vec()), Value::Int(1500)],
    );
    match migrate(&from.database, &to.database, &mut |_| {}) {
        Err(VerifyFailure::Problem(problem)) => {
            assert!(problem.to_string().contains("entry 1500"), "{problem}");
        }
        other => panic!("a damaged log was copied: {other:?}"),
    }
    assert!(matches!(
        Reader::open_at(&to.database, 8),
        Err(StoreError::NoLogInDatabase(_))
    ));

    // A target that holds a log already is not overwritten.
    let fine = source();
    let occupied = TestLog::on(Backend::Postgres);
    match migrate(&fine.database, &occupied.database, &mut |_| {}) {
        Err(VerifyFailure::Store(StoreError::DatabaseHoldsLog(_))) => {}
        other => panic!("an occupied database was written: {other:?}"),
    }
    assert_eq!(occupied.reader().latest_checkpoint().unwrap().size, 0);
    // Nor is a log copied onto itself.
    let itself = Database::Sqlite(fine.path());
    assert!(migrate(&fine.database, &itself, &mut |_| {}).is_err());
}
