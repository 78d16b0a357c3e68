//! tlog-proof files: round trip, offline verification, and every way one can fail.

use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof::inclusion_proof;
use tlog::proof_file::{ProofFile, ProofFileError};

use crate::support::MemoryTree;

fn setup() -> (SignerKey, Vec<Vec<u8>>, ProofFile) {
    let key = SignerKey::from_seed("example.org/log", KeyType::Ed25519, [3; 32]).unwrap();
    let entries: Vec<Vec<u8>> = (0..11u8).map(|i| vec![i; 3]).collect();
    let tree = MemoryTree::with_entries(entries.iter().map(Vec::as_slice));
    let checkpoint = Checkpoint::new("example.org/log", 11, tree.roots[11]);
    let note = Note::sign(&checkpoint.to_text(), &key).unwrap();
    let file = ProofFile {
        extra: None,
        index: 6,
        hashes: inclusion_proof(&tree, 6, 11).unwrap(),
        checkpoint: note.to_text(),
    };
    (key, entries, file)
}

#[test]
fn proof_files_round_trip_and_verify() {
    let (key, entries, file) = setup();
    let text = file.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"));
    let parsed = ProofFile::parse(&text).unwrap();
    assert_eq!(parsed, file);
    let proven = parsed.verify(&entries[6], &[key.verifier()]).unwrap();
    assert_eq!(proven.checkpoint.size, 11);

    let with_extra = ProofFile {
        extra: Some(b"context".to_vec()),
        ..file
    };
    let text = with_extra.to_text();
    assert!(text.contains("\nextra Y29udGV4dA==\nindex 6\n"));
    assert_eq!(ProofFile::parse(&text).unwrap(), with_extra);
}

#[test]
fn proof_files_reject_the_wrong_entry_key_or_syntax() {
    let (key, entries, file) = setup();
    assert!(matches!(
        file.verify(&entries[5], &[key.verifier()]),
        Err(ProofFileError::Inclusion {
            index: 6,
            size: 11,
            ..
        })
    ));
    let other = SignerKey::from_seed("example.org/log", KeyType::Ed25519, [4; 32]).unwrap();
    assert!(matches!(
        file.verify(&entries[6], &[other.verifier()]),
        Err(ProofFileError::Checkpoint(_))
    ));
    let text = file.to_text();
    let cases = [
        (text.replacen("@v1", "@v2", 1), "line 1"),
        (
            text.replacen("index 6", "index 06", 1),
            "line 2: expected `index <N>`",
        ),
        (text.replacen("index 6", "idx 6", 1), "line 2"),
        (text.replacen("\n\n", "\n", 1), "line 7: proof hash"),
        (
            text.replacen("index 6\n", "index 6\n!!\n", 1),
            "line 3: proof hash",
        ),
    ];
    for (bad, expected) in cases {
        let error = ProofFile::parse(&bad).unwrap_err().to_string();
        assert!(error.contains(expected), "`{error}` lacks `{expected}`");
    }
}

/// The proof file takes size and root from the signed checkpoint: flipping any bit of the size
/// digits is rejected, whether or not the audit path alone could tell.
#[test]
fn the_checkpoint_binds_the_size() {
    let (key, entries, file) = setup();
    let size_offset = file.checkpoint.find("\n11\n").unwrap() + 1;
    for byte in size_offset..size_offset + 2 {
        for bit in 0..8 {
            let mut bytes = file.checkpoint.clone().into_bytes();
            bytes[byte] ^= 1 << bit;
            let Ok(checkpoint) = String::from_utf8(bytes) else {
                continue;
            };
            let tampered = ProofFile {
                checkpoint,
                ..file.clone()
            };
            assert!(tampered.verify(&entries[6], &[key.verifier()]).is_err());
        }
    }
}
