//! HTTP Message Signatures against RFC 9421's own example (Appendix B.2.6, the Ed25519 key of
//! B.1.4), and what a verifier must notice.

use attest::PublicKey;
use attest::http_signature::{
    HttpSignatureError, Message, Param, Params, parse, sign, signature_base,
};
use base64::Engine as _;
use tlog::note::{KeyType, SignerKey};

/// RFC 9421 B.1.4, `test-key-ed25519`.
const PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";
const PRIVATE_PKCS8: &str = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";

/// RFC 9421 B.2.6: the fields the example adds to the test request.
const SIGNATURE_INPUT: &str = "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
const SIGNATURE: &str = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
const BASE: &str = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT
\"@method\": POST
\"@path\": /foo
\"@authority\": example.com
\"content-type\": application/json
\"content-length\": 18
\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";

const HEADERS: &[(&str, &str)] = &[
    ("host", "example.com"),
    ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("content-type", "application/json"),
    (
        "content-digest",
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    ),
    ("content-length", "18"),
];

fn test_request() -> Message<'static> {
    Message {
        method: "POST",
        authority: "example.com",
        path: "/foo",
        query: Some("param=Value&Pet=dog"),
        headers: HEADERS,
    }
}

fn rfc_key() -> SignerKey {
    let der = base64::engine::general_purpose::STANDARD
        .decode(PRIVATE_PKCS8)
        .unwrap();
    let seed: [u8; 32] = der[der.len() - 32..].try_into().unwrap();
    SignerKey::from_seed("test-key-ed25519", KeyType::Ed25519, seed).unwrap()
}

#[test]
fn rfc_9421_b_2_6_known_answer() {
    let signed = parse(SIGNATURE_INPUT, SIGNATURE).unwrap();
    assert_eq!(signed.len(), 1);
    let signed = &signed[0];
    assert_eq!(signed.label, "sig-b26");
    assert_eq!(
        signed.params,
        Params {
            components: [
                "date",
                "@method",
                "@path",
                "@authority",
                "content-type",
                "content-length"
            ]
            .map(str::to_owned)
            .to_vec(),
            parameters: vec![
                ("created".to_owned(), Param::Integer(1_618_884_473)),
                (
                    "keyid".to_owned(),
                    Param::String("test-key-ed25519".to_owned())
                ),
            ],
        }
    );
    let base = signature_base(&test_request(), &signed.params).unwrap();
    assert_eq!(base, BASE);
    let public = PublicKey::parse(PUBLIC_PEM).unwrap();
    assert_eq!(public.algorithm(), "ed25519");
    assert!(public.verify(base.as_bytes(), &signed.signature));

    // Ed25519 is deterministic: signing the same request gives the RFC's fields exactly.
    let key = rfc_key();
    assert_eq!(PublicKey::parse(&key.verifier().to_text()).unwrap(), public);
    let (input, signature) = sign(&test_request(), "sig-b26", &signed.params, &key).unwrap();
    assert_eq!(input, SIGNATURE_INPUT);
    assert_eq!(signature, SIGNATURE);
}

#[test]
fn a_signature_covers_exactly_what_it_lists() {
    let key = rfc_key();
    let public = PublicKey::parse(PUBLIC_PEM).unwrap();
    let params = Params::new(
        &["@method", "@authority", "@path", "@query"],
        1_700_000_000,
        "k1",
        Some("ed25519"),
        Some("n-1"),
    );
    let request = Message {
        method: "GET",
        authority: "Ledger.Example:8700",
        path: "/api/contracts/c/addenda/a",
        query: None,
        headers: &[],
    };
    let (input, signature) = sign(&request, "sig1", &params, &key).unwrap();
    assert_eq!(
        input,
        "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1700000000;keyid=\"k1\";alg=\"ed25519\";nonce=\"n-1\""
    );
    let base = signature_base(&request, &params).unwrap();
    assert!(
        base.contains("\"@authority\": ledger.example:8700\n"),
        "{base}"
    );
    assert!(base.contains("\"@query\": ?\n"), "{base}");
    let signed = &parse(&input, &signature).unwrap()[0];
    assert_eq!(signed.params.integer("created"), Some(1_700_000_000));
    assert_eq!(signed.params.string("nonce"), Some("n-1"));
    assert!(public.verify(base.as_bytes(), &signed.signature));
    // Another path, method or query: another base, and the signature no longer verifies.
    for changed in [
        Message {
            path: "/api/contracts/c/addenda/b",
            ..request
        },
        Message {
            method: "POST",
            ..request
        },
        Message {
            query: Some("x=1"),
            ..request
        },
        Message {
            authority: "elsewhere.example",
            ..request
        },
    ] {
        let base = signature_base(&changed, &signed.params).unwrap();
        assert!(!public.verify(base.as_bytes(), &signed.signature), "{base}");
    }
}

#[test]
fn malformed_fields_are_refused_with_where_and_why() {
    let syntax = |input: &str, signature: &str| match parse(input, signature) {
        Err(HttpSignatureError::Syntax { field, at, why }) => format!("{field}@{at}: {why}"),
        other => panic!("{input} / {signature}: {other:?}"),
    };
    assert_eq!(
        syntax("sig1=(\"@method\";req);created=1", "sig1=:AA==:"),
        "Signature-Input@15: component parameters (`;name`) are not supported"
    );
    assert_eq!(
        syntax("sig1=(\"@method);created=1", "sig1=:AA==:"),
        "Signature-Input@25: an unterminated string"
    );
    assert_eq!(
        syntax("Sig1=(\"@method\")", "sig1=:AA==:"),
        "Signature-Input@0: expected a key (lowercase letter or `*` first)"
    );
    assert_eq!(
        syntax("sig1=(\"@method\");created=1.5", "sig1=:AA==:"),
        "Signature-Input@26: decimals are not used by these fields"
    );
    assert_eq!(
        syntax("sig1=(\"@method\")", "sig1=:not base64!:"),
        "Signature@9: expected `:`"
    );
    assert_eq!(
        syntax("sig1=(\"@method\"),", "sig1=:AA==:"),
        "Signature-Input@17: a trailing comma"
    );
    assert_eq!(
        parse("sig1=(\"@method\")", "sig2=:AA==:"),
        Err(HttpSignatureError::Unpaired("sig1".to_owned()))
    );
    // Several signatures, several field lines joined.
    let both = parse(
        "a=(\"@method\");created=1, b=(\"@path\");created=2",
        "b=:AQ==:, a=:Ag==:",
    )
    .unwrap();
    assert_eq!(both[0].signature, vec![2]);
    assert_eq!(both[1].signature, vec![1]);

    let request = test_request();
    let base = |components: &[&str]| {
        signature_base(&request, &Params::new(components, 1, "k", None, None))
    };
    assert_eq!(
        base(&["@method", "@method"]),
        Err(HttpSignatureError::Duplicate("@method".to_owned()))
    );
    assert_eq!(
        base(&["@target-uri"]),
        Err(HttpSignatureError::Unsupported("@target-uri".to_owned()))
    );
    assert_eq!(
        base(&["x-missing"]),
        Err(HttpSignatureError::Missing("x-missing".to_owned()))
    );
    let broken = Message {
        headers: &[("x-a", "one\r\ntwo")],
        ..request
    };
    assert_eq!(
        signature_base(&broken, &Params::new(&["x-a"], 1, "k", None, None)),
        Err(HttpSignatureError::LineBreak("x-a".to_owned()))
    );
}

#[test]
fn no_field_value_makes_the_reader_panic() {
    // Every truncation of the RFC's fields, and every single-byte change to a character the
    // syntax gives meaning to, is read to a value or an error — never a panic.
    let specials = [
        b'(', b')', b'"', b'\\', b';', b'=', b',', b':', b' ', b'?', b'-', b'*', b'.', b'1', 0xff,
    ];
    // Reads `text` as field `field` (0: Signature-Input, 1: Signature), the other field as
    // the RFC has it.
    let read = |field: usize, text: &str| {
        let result = if field == 0 {
            parse(text, SIGNATURE)
        } else {
            parse(SIGNATURE_INPUT, text)
        };
        // Whatever reads must still build a base or say why not.
        for signed in result.iter().flatten() {
            let _ = signature_base(&test_request(), &signed.params);
        }
    };
    for (field, text) in [SIGNATURE_INPUT, SIGNATURE].into_iter().enumerate() {
        for cut in 0..=text.len() {
            read(field, &text[..cut]);
        }
        for at in 0..text.len() {
            for byte in specials {
                let mut bytes = text.as_bytes().to_vec();
                bytes[at] = byte;
                read(field, &String::from_utf8_lossy(&bytes));
            }
        }
    }
}
