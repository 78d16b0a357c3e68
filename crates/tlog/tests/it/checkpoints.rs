//! Checkpoint bodies: round trips and precise errors.

use tlog::checkpoint::{Checkpoint, CheckpointError};
use tlog::hash::Hash;
use tlog::note::{KeyType, Note, SignerKey};

const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

#[test]
fn checkpoints_round_trip_with_extensions() {
    let text = format!("example.com/behind-the-sofa\n20852163\n{ROOT}\n");
    let checkpoint = Checkpoint::parse(&text).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20_852_163);
    assert_eq!(checkpoint.root, Hash::from_base64(ROOT).unwrap());
    assert_eq!(checkpoint.to_text(), text);

    let with_extension = format!("{text}Timestamp: 1689748607742585419\n");
    let parsed = Checkpoint::parse(&with_extension).unwrap();
    assert_eq!(parsed.extensions, vec!["Timestamp: 1689748607742585419"]);
    assert_eq!(parsed.to_text(), with_extension);
}

#[test]
fn malformed_checkpoints_name_the_line() {
    let cases = [
        (
            format!("\n1\n{ROOT}\n"),
            "line 1: the origin line must not be empty",
        ),
        (
            format!("o\n01\n{ROOT}\n"),
            "line 2: tree size `01` is not a decimal",
        ),
        (format!("o\n-1\n{ROOT}\n"), "line 2"),
        ("o\n1\nnot-base64\n".to_owned(), "line 3: root hash"),
        (
            "o\n1\nAAAA\n".to_owned(),
            "line 3: root hash: a hash is 32 bytes, got 3",
        ),
        ("o\n1\n".to_owned(), "line 3: missing the root hash line"),
        (
            format!("o\n1\n{ROOT}\n\n"),
            "line 4: extension lines must not be empty",
        ),
        (
            format!("o\n1\n{ROOT}"),
            "line 1: a checkpoint ends with a newline",
        ),
    ];
    for (text, expected) in cases {
        let error = Checkpoint::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{text:?}: `{error}` lacks `{expected}`"
        );
    }
}

#[test]
fn open_checks_signature_and_origin() {
    let key = SignerKey::from_seed("example.org/log", KeyType::Ed25519, [7; 32]).unwrap();
    let checkpoint = Checkpoint::new("example.org/log", 5, Hash([9; 32]));
    let note = Note::sign(&checkpoint.to_text(), &key).unwrap().to_text();
    let (opened, _, verified) =
        Checkpoint::open(note.as_bytes(), "example.org/log", &[key.verifier()]).unwrap();
    assert_eq!(opened, checkpoint);
    assert_eq!(verified.len(), 1);
    assert!(matches!(
        Checkpoint::open(note.as_bytes(), "example.org/other", &[key.verifier()]),
        Err(CheckpointError::WrongOrigin { .. })
    ));
}
