//! Signed notes: several signatures, unknown keys, bad signatures, malformed notes, cosignatures.

use tlog::cosignature::cosign;
use tlog::note::{KeyType, Note, NoteError, SignerKey, VerifierKey};

fn key(name: &str, seed: u8, key_type: KeyType) -> SignerKey {
    SignerKey::from_seed(name, key_type, [seed; 32]).unwrap()
}

const TEXT: &str = "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

#[test]
fn several_signatures_and_unknown_keys() {
    let (alice, bob, carol) = (
        key("alice.example", 1, KeyType::Ed25519),
        key("bob.example", 2, KeyType::Ed25519),
        key("carol.example", 3, KeyType::Ed25519),
    );
    let mut note = Note::sign(TEXT, &alice).unwrap();
    note.add_signature(bob.sign(TEXT).unwrap()).unwrap();
    let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
    assert_eq!(parsed.signatures().len(), 2);

    // Only Bob is known: Alice's signature is ignored.
    let verified = parsed.verify(&[bob.verifier()]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name, "bob.example");
    // Both known: both verify.
    assert_eq!(
        parsed
            .verify(&[alice.verifier(), bob.verifier()])
            .unwrap()
            .len(),
        2
    );
    // No known key: rejected, naming who signed and who was expected.
    let error = parsed.verify(&[carol.verifier()]).unwrap_err();
    assert!(matches!(error, NoteError::NoKnownSignature { .. }));
    assert!(error.to_string().contains("alice.example"), "{error}");
}

#[test]
fn a_known_key_with_a_bad_signature_rejects_the_note() {
    let alice = key("alice.example", 1, KeyType::Ed25519);
    let note = Note::sign(TEXT, &alice).unwrap();
    let tampered = note
        .to_text()
        .replacen("example.org/log", "example.org/lag", 1);
    let error = Note::parse(tampered.as_bytes())
        .unwrap()
        .verify(&[alice.verifier()])
        .unwrap_err();
    assert!(matches!(error, NoteError::BadSignature { .. }), "{error}");

    // Same name, different key: its ID differs, so the signature counts as unknown.
    let impostor = key("alice.example", 9, KeyType::Ed25519);
    assert!(matches!(
        note.verify(&[impostor.verifier()]),
        Err(NoteError::NoKnownSignature { .. })
    ));
}

#[test]
fn malformed_notes_say_what_is_wrong() {
    let alice = key("alice.example", 1, KeyType::Ed25519);
    let line = alice.sign(TEXT).unwrap().to_line();
    let cases: Vec<(String, &str)> = vec![
        (TEXT.to_owned(), "no signatures"),
        (format!("{TEXT}\n"), "no signatures"),
        (
            format!("{TEXT}\n- alice.example AAAA\n"),
            "line 5: malformed signature line",
        ),
        (format!("{TEXT}\n{}", line.replace(' ', "  ")), "line 5"),
        (
            format!("{TEXT}\n\u{2014} alice.example !!!\n"),
            "not valid base64",
        ),
        (
            format!("{TEXT}\n\u{2014} alice.example AAA=\n"),
            "shorter than its 4-byte key ID",
        ),
        (
            format!("a\tb\n\n{line}"),
            "line 1: control character U+0009",
        ),
        (
            format!("{TEXT}\n{}", line.trim_end()),
            "line 5: malformed signature line: a signature line ends with a newline",
        ),
    ];
    for (text, expected) in cases {
        let error = Note::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{text:?}: `{error}` lacks `{expected}`"
        );
    }
    assert_eq!(Note::parse(&[0xff, b'\n', b'\n']), Err(NoteError::NotUtf8));
    assert!(matches!(
        alice.sign("no newline"),
        Err(NoteError::MissingFinalNewline)
    ));
}

#[test]
fn keys_parse_and_refuse_bad_text() {
    let alice = key("alice.example", 1, KeyType::Ed25519);
    let text = alice.verifier().to_text();
    assert_eq!(VerifierKey::parse(&text).unwrap(), alice.verifier());
    assert_eq!(
        SignerKey::parse(&alice.to_text()).unwrap().to_text(),
        alice.to_text()
    );
    assert!(!format!("{alice:?}").contains(&alice.to_text()[20..]));

    let cases = [
        (
            "alice.example+00000000+AQ==",
            "an Ed25519 public key is 32 bytes, got 0",
        ),
        ("alice.example+1234+AQ==", "not 8 hex digits"),
        ("alice.example", "expected `name+keyid+base64key`"),
        ("alice example+00000000+AQ==", "invalid key name"),
        (
            "alice.example+00000000+Aw==",
            "unsupported signature type 0x03",
        ),
    ];
    for (text, expected) in cases {
        let error = VerifierKey::parse(text).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{text}: `{error}` lacks `{expected}`"
        );
    }
    let wrong_id = text.replacen(&text[14..22], "deadbeef", 1);
    assert!(
        VerifierKey::parse(&wrong_id)
            .unwrap_err()
            .to_string()
            .contains("should be")
    );
    assert!(
        SignerKey::parse("alice")
            .unwrap_err()
            .to_string()
            .contains("PRIVATE+KEY+")
    );
}

#[test]
fn cosignatures_are_timestamped_and_verify_only_over_the_checkpoint() {
    let log = key("example.org/log", 1, KeyType::Ed25519);
    let witness = key("witness.example/w1", 2, KeyType::Cosignature);
    let mut note = Note::sign(TEXT, &log).unwrap();
    let cosignature = cosign(&witness, TEXT, 1_700_000_000).unwrap();
    assert_eq!(cosignature.signature.len(), 72);
    assert_eq!(cosignature.signature[..8], 1_700_000_000u64.to_be_bytes());
    note.add_signature(cosignature).unwrap();

    let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
    let verified = parsed
        .verify(&[log.verifier(), witness.verifier()])
        .unwrap();
    assert_eq!(verified.len(), 2);
    assert_eq!(verified[1].timestamp, Some(1_700_000_000));
    assert!(witness.verifier().to_text().contains("+B")); // type byte 0x04

    // A cosigner key cannot make a plain signature, nor a log key a cosignature.
    assert!(witness.sign(TEXT).is_err());
    assert!(cosign(&log, TEXT, 1).is_err());
    // The timestamp is signed: changing it breaks the cosignature.
    let mut forged = parsed.signatures()[1].clone();
    forged.signature[7] ^= 1;
    let forged_note = Note::new(TEXT, vec![forged]).unwrap();
    assert!(matches!(
        forged_note.verify(&[witness.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
}
