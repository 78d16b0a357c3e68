//! The life of a log: append, acknowledge, prove, serve tiles, restart, refuse a second writer.

use std::sync::Arc;

use store::{Appender, Database, GroupCommit, Reader, StoreError, Writer, init_at};
use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof::{verify_consistency, verify_inclusion};
use tlog::tile::{TileId, decode_bundle, partial_tiles};
use tlog::{Hash, leaf_hash};

use crate::support::{Backend, ORIGIN, TestLog, on_both};

fn open_checkpoint(note: &str, key: &SignerKey) -> Checkpoint {
    Checkpoint::open(note.as_bytes(), ORIGIN, &[key.verifier()])
        .unwrap()
        .0
}

fn appended_entries_are_proved_against_signed_checkpoints(backend: Backend) {
    let (log, entries) = TestLog::with_entries_on(backend, 1000, 77);
    let reader = log.reader();
    let latest = reader.latest_checkpoint().unwrap();
    let checkpoint = open_checkpoint(&latest.note, &log.key);
    assert_eq!(checkpoint.size, 1000);
    // 1000 / 77 rounds up to 13 batches, plus the empty checkpoint from init.
    assert_eq!(reader.checkpoint_count().unwrap(), 14);

    for index in [0, 1, 76, 77, 255, 256, 511, 999] {
        assert_eq!(reader.entry(index).unwrap(), entries[index as usize]);
        let proof = reader.inclusion_proof(index, 1000).unwrap();
        verify_inclusion(
            &leaf_hash(&entries[index as usize]),
            index,
            1000,
            &proof,
            &checkpoint.root,
        )
        .unwrap();
        // Against an earlier checkpoint, only entries it covers can be proved.
        match reader.proof_file(index, Some(770)) {
            Ok(file) => {
                let proven = file
                    .verify(&entries[index as usize], &[log.key.verifier()])
                    .unwrap();
                assert_eq!(proven.checkpoint.size, 770);
            }
            Err(error) => {
                assert!(index >= 770);
                assert!(matches!(error, StoreError::NoSuchEntry { size: 770, .. }));
            }
        }
    }
    // Every signed checkpoint is consistent with the latest one.
    for size in (0..1000).step_by(77).chain([1000]) {
        let old = open_checkpoint(&reader.checkpoint_at(size).unwrap().note, &log.key);
        let proof = reader.consistency_proof(size, 1000).unwrap();
        verify_consistency(size, 1000, &proof, &old.root, &checkpoint.root).unwrap();
    }
    assert!(matches!(
        reader.entry(1000),
        Err(StoreError::NoSuchEntry {
            index: 1000,
            size: 1000
        })
    ));
    assert!(matches!(
        reader.inclusion_proof(0, 1001),
        Err(StoreError::SizeBeyondCheckpoint {
            size: 1001,
            latest: 1000
        })
    ));
    let error = reader.checkpoint_at(100).unwrap_err().to_string();
    assert_eq!(
        error,
        "no checkpoint was signed at size 100; signed sizes near it: 77 and 154"
    );
}

/// The tiles a client would fetch reproduce the checkpoint's root, and entry bundles hash to
/// the level-0 tiles.
fn tiles_and_bundles_reproduce_the_root(backend: Backend) {
    let (log, entries) = TestLog::with_entries_on(backend, 70_000, 5000);
    let reader = log.reader();
    let size = 70_000;
    let root = reader.latest_checkpoint().unwrap().root;

    // Rebuild the tree from served tiles alone: level-0 tiles give leaves; the top is the
    // partial tiles of each level combined as RFC 6962 does.
    let leaves: Vec<Hash> = (0..=273)
        .flat_map(|n| {
            let width = tlog::tile::width_at(0, n, size);
            let bytes = reader.tile(TileId::new(0, n, width).unwrap()).unwrap();
            bytes
                .chunks(32)
                .map(|c| Hash::from_slice(c).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut state = tlog::TreeState::new();
    for leaf in &leaves {
        state.append_leaf_hash(*leaf, |_, _| {});
    }
    assert_eq!(state.root(), root);

    // Level-1 tile hashes are roots of full level-0 tiles.
    let level1 = reader.tile(TileId::new(1, 0, 256).unwrap()).unwrap();
    let tile0 = reader.tile(TileId::new(0, 5, 256).unwrap()).unwrap();
    let mut sub = tlog::TreeState::new();
    for chunk in tile0.chunks(32) {
        sub.append_leaf_hash(Hash::from_slice(chunk).unwrap(), |_, _| {});
    }
    assert_eq!(&level1[5 * 32..6 * 32], &sub.root().0);

    // Bundles hold the entries of the level-0 tiles.
    let partial = partial_tiles(size)[0];
    let bundle = reader.entry_bundle(partial).unwrap();
    let decoded = decode_bundle(&bundle).unwrap();
    assert_eq!(decoded.len(), 112);
    assert_eq!(decoded[0], entries[273 * 256].as_slice());
    let full = reader
        .entry_bundle(TileId::new(0, 3, 256).unwrap())
        .unwrap();
    assert_eq!(
        decode_bundle(&full).unwrap()[255],
        entries[3 * 256 + 255].as_slice()
    );

    // Earlier partial widths are prefixes of the stored tile; wider ones do not exist yet.
    let narrow = reader.tile(TileId::new(0, 273, 5).unwrap()).unwrap();
    assert_eq!(narrow.len(), 5 * 32);
    let error = reader
        .tile(TileId::new(0, 273, 113).unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "tile/0/273.p/113 does not exist at log size 70000 (it holds 112 hashes now)"
    );
    assert!(reader.tile(TileId::new(0, 274, 1).unwrap()).is_err());
    assert!(reader.tile(TileId::new(1, 1, 256).unwrap()).is_err());
}

fn group_commit_acknowledges_every_entry_once_durable(backend: Backend) {
    let log = TestLog::on(backend);
    let appender = Arc::new(
        Appender::start(
            log.writer(),
            GroupCommit {
                batch_entries_max: 64,
                batch_wait_ms: 1,
                queue_entries_max: 256,
            },
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let appender = Arc::clone(&appender);
            std::thread::spawn(move || {
                let tickets: Vec<_> = (0..500)
                    .map(|i| {
                        let entry = format!("thread {t} entry {i}").into_bytes();
                        (entry.clone(), appender.submit(entry).unwrap())
                    })
                    .collect();
                tickets
                    .into_iter()
                    .map(|(entry, ticket)| (entry, ticket.wait().unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let appender = Arc::into_inner(appender).unwrap();
    let writer = appender.close().unwrap();
    assert_eq!(writer.size(), 2000);
    drop(writer);

    let reader = log.reader();
    let mut indices: Vec<u64> = acknowledged.iter().map(|(_, a)| a.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..2000).collect::<Vec<_>>());
    for (entry, appended) in &acknowledged {
        assert_eq!(&reader.entry(appended.index).unwrap(), entry);
        // The acknowledgement's checkpoint covers the entry and is signed.
        let checkpoint = open_checkpoint(&appended.checkpoint.note, &log.key);
        assert!(checkpoint.size > appended.index);
    }
    assert!(reader.checkpoint_count().unwrap() > 1);
}

fn entries_too_large_for_a_bundle_are_refused(backend: Backend) {
    let log = TestLog::on(backend);
    let appender = Appender::start(log.writer(), GroupCommit::default()).unwrap();
    let error = appender.append(vec![0; 65_536]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "entry is 65536 bytes; entries are at most 65535 bytes"
    );
    assert_eq!(appender.append(vec![0; 65_535]).unwrap().index, 0);
}

fn state_writes_share_the_append_transaction(backend: Backend) {
    let log = TestLog::on(backend);
    let mut writer = log.writer();
    writer
        .append_batch(&[b"one".as_slice()], |state| {
            state.put("parties", "p1", b"alice")
        })
        .unwrap();
    // A failing projection rolls back the entries with it.
    let error = writer
        .append_batch(&[b"two".as_slice()], |state| {
            state.put("parties", "p2", b"bob")?;
            Err(StoreError::Invalid("rule broken".into()))
        })
        .unwrap_err();
    assert_eq!(error.to_string(), "rule broken");
    assert_eq!(writer.size(), 1);
    let commit = writer
        .append_batch(&[b"three".as_slice()], |state| {
            assert_eq!(state.get("parties", "p1")?, Some(b"alice".to_vec()));
            assert_eq!(state.get("parties", "p2")?, None);
            state.delete("parties", "p1")
        })
        .unwrap();
    assert_eq!(commit.first_index, 1);
    drop(writer);
    let reader = log.reader();
    assert_eq!(reader.entry(1).unwrap(), b"three");
    log.verify().unwrap();
}

fn a_second_writer_is_told_who_holds_the_log(backend: Backend) {
    let log = TestLog::on(backend);
    let first = log.writer();
    let error = Writer::open_at(&log.database, log.key.clone()).unwrap_err();
    let message = error.to_string();
    match backend {
        Backend::Sqlite => assert!(matches!(error, StoreError::Locked { .. })),
        Backend::Postgres => assert!(matches!(error, StoreError::Led { .. })),
    }
    assert!(
        message.contains(&format!("{}", std::process::id())),
        "{message}"
    );
    // Readers are not writers: they open freely.
    log.reader();
    // Once the first writer is gone, another takes over.
    drop(first);
    log.writer();
}

fn a_writer_resumes_where_the_last_one_stopped(backend: Backend) {
    let (log, mut entries) = TestLog::with_entries_on(backend, 300, 100);
    let before = log.reader().latest_checkpoint().unwrap();
    let mut writer = log.writer();
    let more: Vec<Vec<u8>> = (300..600)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    let commit = writer.append_batch(&more, |_| Ok(())).unwrap();
    assert_eq!(commit.first_index, 300);
    entries.extend(more);
    drop(writer);
    let reader = log.reader();
    let after = open_checkpoint(&reader.latest_checkpoint().unwrap().note, &log.key);
    let proof = reader.consistency_proof(300, 600).unwrap();
    verify_consistency(300, 600, &proof, &before.root, &after.root).unwrap();
    let report = store::verify_at(&log.database, Some(&log.key.verifier()), &mut |_| {}).unwrap();
    assert_eq!(report.size, 600);
}

fn the_log_refuses_the_wrong_key_and_a_second_init(backend: Backend) {
    let log = TestLog::on(backend);
    let other = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [1; 32]).unwrap();
    assert!(matches!(
        Writer::open_at(&log.database, other.clone()),
        Err(StoreError::WrongKey { .. })
    ));
    let again = init_at(&log.database, ORIGIN, &other, None, &[]).unwrap_err();
    match backend {
        Backend::Sqlite => assert!(matches!(again, StoreError::AlreadyExists(_)), "{again}"),
        Backend::Postgres => assert!(matches!(again, StoreError::DatabaseHoldsLog(_)), "{again}"),
    }
    let empty = tempfile::tempdir().unwrap();
    let nothing = match &log.cluster {
        None => Database::Sqlite(empty.path().to_owned()),
        Some(cluster) => {
            Database::select(empty.path(), Some(&cluster.database("empty").unwrap())).unwrap()
        }
    };
    let error = Reader::open_at(&nothing, 8).unwrap_err();
    match backend {
        Backend::Sqlite => assert!(matches!(error, StoreError::NotALog(_)), "{error}"),
        Backend::Postgres => assert!(matches!(error, StoreError::NoLogInDatabase(_)), "{error}"),
    }
    let error = init_at(&nothing, "", &other, None, &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("origin ``"), "{error}");
    // The empty log has a signed checkpoint of size 0.
    let reader = log.reader();
    let note = reader.latest_checkpoint().unwrap().note;
    Note::parse(note.as_bytes())
        .unwrap()
        .verify(&[log.key.verifier()])
        .unwrap();
}

on_both!(
    appended_entries_are_proved_against_signed_checkpoints,
    tiles_and_bundles_reproduce_the_root,
    group_commit_acknowledges_every_entry_once_durable,
    entries_too_large_for_a_bundle_are_refused,
    state_writes_share_the_append_transaction,
    a_second_writer_is_told_who_holds_the_log,
    a_writer_resumes_where_the_last_one_stopped,
    the_log_refuses_the_wrong_key_and_a_second_init,
);
