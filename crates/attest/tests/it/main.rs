//! Integration tests for `attest`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod http_signature;

use attest::dsse::{DsseError, Envelope, decode_base64};
use attest::statement::{PAYLOAD_TYPE, Statement, StatementError, Subject};
use attest::{PublicKey, pae};
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use tlog::note::{KeyType, SignerKey};

fn ed25519(seed: u8) -> (SignerKey, PublicKey) {
    let key = SignerKey::from_seed("party.example", KeyType::Ed25519, [seed; 32]).unwrap();
    let public = PublicKey::parse(&key.verifier().to_text()).unwrap();
    (key, public)
}

#[test]
fn pae_known_answer() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
}

#[test]
fn sign_and_verify_with_keyids() {
    let (key, public) = ed25519(1);
    let mut envelope = Envelope::new(PAYLOAD_TYPE, b"{\"a\":1}".to_vec());
    envelope.sign(&key).unwrap();
    assert_eq!(envelope.signatures[0].keyid, public.keyid());
    assert_eq!(public.keyid().len(), 64);
    let json = envelope.to_json();
    assert!(json.contains("\"payloadType\":\"application/vnd.in-toto+json\""));
    let parsed = Envelope::parse(json.as_bytes()).unwrap();
    assert_eq!(parsed, envelope);
    assert_eq!(
        parsed.verify(std::slice::from_ref(&public), 1).unwrap(),
        vec![public.keyid()]
    );

    // A flipped payload byte fails the matching key: an error, not an ignored signature.
    let mut tampered = parsed.clone();
    tampered.payload[2] ^= 1;
    assert!(matches!(
        tampered.verify(std::slice::from_ref(&public), 1),
        Err(DsseError::BadSignature { index: 0, .. })
    ));
    // The wrong key: the signature is by someone unknown, so the threshold is not met.
    let (_, other) = ed25519(2);
    assert_eq!(
        parsed.verify(&[other], 1),
        Err(DsseError::Threshold { got: 0, needed: 1 })
    );
}

#[test]
fn thresholds_count_distinct_keys() {
    let (alice, alice_public) = ed25519(1);
    let (bob, bob_public) = ed25519(2);
    let mut envelope = Envelope::new(PAYLOAD_TYPE, b"x".to_vec());
    envelope.sign(&alice).unwrap();
    // The same signature twice, under another key ID, is still one key.
    let mut duplicated = envelope.clone();
    let mut copy = duplicated.signatures[0].clone();
    copy.keyid = "another-id".into();
    duplicated.signatures.push(copy);
    let keys = [alice_public.clone(), bob_public.clone()];
    assert_eq!(
        duplicated.verify(&keys, 2),
        Err(DsseError::Threshold { got: 1, needed: 2 })
    );
    envelope.sign(&bob).unwrap();
    assert_eq!(envelope.verify(&keys, 2).unwrap().len(), 2);
}

#[test]
fn ecdsa_p256_der_signatures_and_pem_keys() {
    let signing = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let verifying = *signing.verifying_key();
    let pem =
        p256::pkcs8::EncodePublicKey::to_public_key_pem(&verifying, Default::default()).unwrap();
    let public = PublicKey::parse(&pem).unwrap();
    assert_eq!(public.algorithm(), "ecdsa-p256-sha256");
    assert_eq!(PublicKey::parse(&public.to_pem()).unwrap(), public);

    let mut envelope = Envelope::new(PAYLOAD_TYPE, b"{\"b\":2}".to_vec());
    let signature: p256::ecdsa::Signature = signing.sign(&envelope.pae());
    envelope.signatures.push(attest::dsse::Signature {
        keyid: String::new(),
        sig: signature.to_der().as_bytes().to_vec(),
    });
    assert_eq!(
        envelope.verify(std::slice::from_ref(&public), 1).unwrap(),
        vec![public.keyid()]
    );
    envelope.payload.push(b' ');
    assert!(envelope.verify(&[public], 1).is_err());

    // Ed25519 keys read from PEM and from C2SP text are the same key.
    let (_, ed) = ed25519(3);
    assert_eq!(PublicKey::parse(&ed.to_pem()).unwrap(), ed);
    assert!(PublicKey::parse("not a key").is_err());
}

#[test]
fn both_base64_alphabets_are_accepted() {
    let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
    let standard = base64::engine::general_purpose::STANDARD.encode(bytes);
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    assert_ne!(standard, url);
    assert_eq!(decode_base64(&standard).unwrap(), bytes);
    assert_eq!(decode_base64(&url).unwrap(), bytes);
    let (key, public) = ed25519(1);
    let mut envelope = Envelope::new(PAYLOAD_TYPE, bytes.to_vec());
    envelope.sign(&key).unwrap();
    let json = format!(
        "{{\"payloadType\":\"{PAYLOAD_TYPE}\",\"payload\":\"{url}\",\"signatures\":[{{\"keyid\":\"k\",\"sig\":\"{}\"}}]}}",
        base64::engine::general_purpose::URL_SAFE.encode(&envelope.signatures[0].sig)
    );
    Envelope::parse(json.as_bytes())
        .unwrap()
        .verify(&[public], 1)
        .unwrap();
}

#[test]
fn malformed_envelopes_name_the_field() {
    let cases = [
        ("[]", "expected an object"),
        ("{", "envelope is not JSON"),
        (
            "{\"payload\":\"\",\"signatures\":[]}",
            "field `payloadType`: is missing",
        ),
        (
            "{\"payloadType\":1,\"payload\":\"\",\"signatures\":[]}",
            "`payloadType`: must be a string",
        ),
        (
            "{\"payloadType\":\"t\",\"payload\":\"*\",\"signatures\":[]}",
            "`payload`: is not base64",
        ),
        (
            "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":{}}",
            "`signatures`: must be an array",
        ),
        (
            "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"keyid\":\"k\"}]}",
            "`signatures[0].sig`: is missing",
        ),
    ];
    for (json, expected) in cases {
        let error = Envelope::parse(json.as_bytes()).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{json}: `{error}` lacks `{expected}`"
        );
    }
    let huge = vec![b' '; 70_000];
    assert!(matches!(
        Envelope::parse(&huge),
        Err(DsseError::TooLarge(70_000))
    ));
}

#[test]
fn statements_parse_and_check_their_fields() {
    let statement = Statement::new(
        vec![Subject {
            name: "model".into(),
            digest: [("sha256".to_owned(), "ab".repeat(32))].into(),
        }],
        "https://concordat.example/test/v1",
        serde_json::json!({"x": 1}),
    );
    let bytes = statement.to_bytes();
    assert!(
        String::from_utf8_lossy(&bytes).contains("\"_type\":\"https://in-toto.io/Statement/v1\"")
    );
    assert_eq!(Statement::parse(&bytes).unwrap(), statement);

    let mut wrong = statement.clone();
    wrong.type_ = "https://in-toto.io/Statement/v0.1".into();
    assert!(matches!(
        Statement::parse(&wrong.to_bytes()),
        Err(StatementError::Type(_))
    ));
    let mut empty = statement.clone();
    empty.subject.clear();
    assert_eq!(
        Statement::parse(&empty.to_bytes()),
        Err(StatementError::NoSubject)
    );
    let mut bad_digest = statement;
    bad_digest.subject[0]
        .digest
        .insert("sha256".into(), "XYZ".into());
    assert_eq!(
        Statement::parse(&bad_digest.to_bytes()),
        Err(StatementError::Digest { index: 0 })
    );
}

#[test]
fn batches_verify_only_when_every_signature_does() {
    let keys: Vec<(SignerKey, PublicKey)> = (1..=20).map(ed25519).collect();
    let messages: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 50]).collect();
    let signatures: Vec<[u8; 64]> = keys
        .iter()
        .zip(&messages)
        .map(|((k, _), m)| k.sign_bytes(m))
        .collect();
    let ecdsa = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let ecdsa_public = PublicKey::EcdsaP256(*ecdsa.verifying_key());
    let ecdsa_signature: p256::ecdsa::Signature = ecdsa.sign(b"p256 message");
    let ecdsa_der = ecdsa_signature.to_der();
    let mut items: Vec<(&PublicKey, &[u8], &[u8])> = keys
        .iter()
        .zip(&messages)
        .zip(&signatures)
        .map(|(((_, public), message), signature)| {
            (public, message.as_slice(), signature.as_slice())
        })
        .collect();
    items.push((&ecdsa_public, b"p256 message", ecdsa_der.as_bytes()));
    assert!(attest::verify_all(&items));
    let mut wrong = signatures[7];
    wrong[3] ^= 1;
    items[7].2 = &wrong;
    assert!(!attest::verify_all(&items));
    assert!(attest::verify_all(&[]));
}
