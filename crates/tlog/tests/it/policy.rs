//! C2SP `tlog-policy`: the spec's two-level example with real keys, applied to checkpoints
//! cosigned by different sets of witnesses, and every malformed policy refused by its line.

use tlog::cosignature::cosign;
use tlog::note::{KeyType, Note, SignerKey};
use tlog::policy::{Policy, Unmet};
use tlog::{Checkpoint, Hash};

const ORIGIN: &str = "example.org/log";

fn key(name: &str, seed: u8, key_type: KeyType) -> SignerKey {
    SignerKey::from_seed(name, key_type, [seed; 32]).unwrap()
}

struct Keys {
    log: SignerKey,
    witnesses: Vec<(String, SignerKey)>,
}

fn keys() -> Keys {
    let witnesses = ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                (*name).to_owned(),
                key(
                    &format!("{}.witness.example", name.to_lowercase()),
                    10 + i as u8,
                    KeyType::Cosignature,
                ),
            )
        })
        .collect();
    Keys {
        log: key(ORIGIN, 1, KeyType::Ed25519),
        witnesses,
    }
}

/// The spec's example: two of the X witnesses and any of the Y witnesses.
fn example(keys: &Keys) -> String {
    let mut text = format!(
        "# the spec's example\nlog {} https://log.example/\n\n",
        keys.log.verifier().to_text()
    );
    for (name, key) in &keys.witnesses {
        text.push_str(&format!("witness {name}\t{}\n", key.verifier().to_text()));
    }
    text.push_str("group X-witnesses 2 X1 X2 X3\n  group Y-witnesses any Y1 Y2 Y3\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n");
    text
}

fn checkpoint(keys: &Keys, cosigners: &[&str]) -> Vec<u8> {
    let text = Checkpoint::new(ORIGIN, 7, Hash([3; 32])).to_text();
    let mut note = Note::sign(&text, &keys.log).unwrap();
    for (name, key) in &keys.witnesses {
        if cosigners.contains(&name.as_str()) {
            note.add_signature(cosign(key, &text, 1_700_000_000).unwrap())
                .unwrap();
        }
    }
    note.to_text().into_bytes()
}

#[test]
fn the_spec_example_needs_two_x_and_one_y() {
    let keys = keys();
    let policy = Policy::parse(example(&keys).as_bytes()).unwrap();
    let accepted = policy
        .verify(&checkpoint(&keys, &["X1", "X3", "Y2"]))
        .unwrap();
    assert_eq!(accepted.cosigned_by, ["X1", "X3", "Y2"]);
    assert_eq!(accepted.checkpoint.size, 7);
    assert!(
        policy
            .verify(&checkpoint(&keys, &["X1", "X2", "X3", "Y1", "Y2", "Y3"]))
            .is_ok()
    );
    for short in [&["X1", "Y1"][..], &["X1", "X2"], &["Y1", "Y2", "Y3"], &[]] {
        match policy.verify(&checkpoint(&keys, short)) {
            Err(Unmet::BelowQuorum { quorum, .. }) => assert_eq!(quorum, "X-and-Y"),
            other => panic!("{short:?}: {other:?}"),
        }
    }
    // Signed by another log under the same origin: not a log of the policy.
    let text = Checkpoint::new(ORIGIN, 7, Hash([3; 32])).to_text();
    let stranger = Note::sign(&text, &key(ORIGIN, 99, KeyType::Ed25519)).unwrap();
    assert_eq!(
        policy.verify(stranger.to_text().as_bytes()),
        Err(Unmet::NoLog(ORIGIN.to_owned()))
    );
    // A forged cosignature by a known witness: the checkpoint does not open.
    let mut forged = String::from_utf8(checkpoint(&keys, &["X1", "X2", "Y1"])).unwrap();
    let at = forged.rfind('=').unwrap() - 3;
    forged.replace_range(
        at..at + 1,
        if &forged[at..at + 1] == "A" { "B" } else { "A" },
    );
    assert!(matches!(
        policy.verify(forged.as_bytes()),
        Err(Unmet::Unreadable(_))
    ));
}

#[test]
fn quorum_none_and_a_single_witness() {
    let keys = keys();
    let log = keys.log.verifier().to_text();
    let none = Policy::parse(format!("log {log}\nquorum none\n").as_bytes()).unwrap();
    assert!(none.verify(&checkpoint(&keys, &[])).is_ok());
    let one = Policy::parse(
        format!(
            "log {log}\nwitness W {}\nquorum W\n",
            keys.witnesses[0].1.verifier().to_text()
        )
        .as_bytes(),
    )
    .unwrap();
    assert!(one.verify(&checkpoint(&keys, &["X1"])).is_ok());
    assert!(matches!(
        one.verify(&checkpoint(&keys, &["X2"])),
        Err(Unmet::BelowQuorum { .. })
    ));
}

#[test]
fn malformed_policies_name_their_line() {
    let keys = keys();
    let log = keys.log.verifier().to_text();
    let w = |i: usize| keys.witnesses[i].1.verifier().to_text();
    let cases = [
        (format!("log {log}\n"), 1, "no quorum line"),
        (
            "quorum none\nquorum none\n".to_string(),
            2,
            "exactly one quorum",
        ),
        ("quorum W\n".to_string(), 1, "not a witness or group"),
        (
            format!("witness W {}\ngroup G 2 W\nquorum G\n", w(0)),
            2,
            "threshold `2`",
        ),
        (
            format!("witness W {}\ngroup G 0 W\nquorum G\n", w(0)),
            2,
            "threshold `0`",
        ),
        (
            format!("witness W {}\ngroup G 01 W\nquorum G\n", w(0)),
            2,
            "threshold `01`",
        ),
        (
            format!("witness W {}\ngroup G any W W\nquorum G\n", w(0)),
            2,
            "listed twice",
        ),
        (
            "group G any W\nquorum G\n".to_string(),
            1,
            "not a witness or group",
        ),
        (
            format!("witness W {}\nwitness W {}\nquorum W\n", w(0), w(1)),
            2,
            "defined already",
        ),
        (
            format!("witness none {}\nquorum none\n", w(0)),
            1,
            "predefined",
        ),
        (
            format!("witness A {}\nwitness B {}\nquorum A\n", w(0), w(0)),
            2,
            "listed already",
        ),
        (
            format!("witness A {log}\nquorum none\n"),
            1,
            "not a witness (cosignature/v1) key",
        ),
        (
            format!("log {}\nquorum none\n", w(0)),
            1,
            "not a log (Ed25519) key",
        ),
        (
            format!("log {log} https://a https://b\nquorum none\n"),
            1,
            "expected `log",
        ),
        (
            "monitor x\nquorum none\n".to_string(),
            1,
            "unknown line kind",
        ),
        (
            "quorum none\n# fine\x01\n".to_string(),
            2,
            "control character 0x01",
        ),
        (
            "group G any\nquorum none\n".to_string(),
            1,
            "lists no member",
        ),
    ];
    for (text, line, says) in cases {
        let error = Policy::parse(text.as_bytes()).unwrap_err();
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.reason.contains(says), "{text:?}: {error}");
    }
}
