//! A coalition's members as the ledger checks them, and a mirrored entry's proof checked
//! offline against a member's log key and witness policy.

use domain::federation::{CoalitionMember, check_members, prove};
use tlog::note::{KeyType, Note, SignerKey};
use tlog::proof_file::ProofFile;
use tlog::{Checkpoint, TreeState, leaf_hash};

fn signer(name: &str, byte: u8, kind: KeyType) -> SignerKey {
    SignerKey::from_seed(name, kind, [byte; 32]).unwrap()
}

fn member(name: &str, log: &SignerKey, policy: String) -> CoalitionMember {
    CoalitionMember {
        name: name.to_owned(),
        log: log.verifier().to_text(),
        witness_policy: policy,
    }
}

#[test]
fn a_coalition_names_each_member_and_log_once_and_each_policy_accepts_its_log() {
    let gb = signer("gb.example/log", 1, KeyType::Ed25519);
    let fr = signer("fr.example/log", 2, KeyType::Ed25519);
    let policy = |log: &SignerKey| format!("log {}\nquorum none\n", log.verifier().to_text());
    check_members(&[
        member("gb", &gb, policy(&gb)),
        member("fr", &fr, policy(&fr)),
    ])
    .unwrap();
    let refused = |members: &[CoalitionMember], says: &str| {
        let error = check_members(members).unwrap_err();
        assert!(error.contains(says), "{error}");
    };
    refused(&[], "at least one member");
    refused(
        &[
            member("gb", &gb, policy(&gb)),
            member("gb", &fr, policy(&fr)),
        ],
        "members[1] (`gb`): the name or the log's origin is listed twice",
    );
    refused(
        &[
            member("gb", &gb, policy(&gb)),
            member("uk", &gb, policy(&gb)),
        ],
        "members[1] (`uk`): the name or the log's origin is listed twice",
    );
    refused(
        &[member("gb", &gb, policy(&fr))],
        "its witness policy does not list its log",
    );
    refused(&[member("../gb", &gb, policy(&gb))], "members[0]");
    refused(
        &[member("gb", &gb, "quorum nobody\n".to_owned())],
        "witnessPolicy",
    );
    // Bounded: a policy of more than 16 KiB, more than 64 members.
    let long = format!(
        "{}{}",
        policy(&gb),
        "# padding\n".repeat(domain::federation::POLICY_BYTES_MAX / 10)
    );
    refused(&[member("gb", &gb, long)], "more than 16384 bytes");
    let many: Vec<CoalitionMember> = (0..=domain::federation::MEMBERS_MAX)
        .map(|i| {
            let log = signer(&format!("m{i}.example/log"), i as u8, KeyType::Ed25519);
            member(&format!("m{i}"), &log, policy(&log))
        })
        .collect();
    refused(&many, "at most 64 members");
}

#[test]
fn a_mirrored_entry_is_proved_only_against_a_cosigned_checkpoint_of_the_members_log() {
    let log = signer("gb.example/log", 1, KeyType::Ed25519);
    let witness = signer("w.example/w1", 3, KeyType::Cosignature);
    let entries: Vec<Vec<u8>> = (0..3).map(|i| format!("entry {i}").into_bytes()).collect();
    let mut tree = TreeState::new();
    let mut nodes = std::collections::HashMap::new();
    for entry in &entries {
        tree.append_leaf_hash(leaf_hash(entry), |id, hash| {
            nodes.insert(id, hash);
        });
    }
    struct Nodes(std::collections::HashMap<tlog::NodeId, tlog::Hash>);
    impl tlog::NodeSource for Nodes {
        type Error = std::convert::Infallible;
        fn node(&self, node: tlog::NodeId) -> Result<tlog::Hash, Self::Error> {
            Ok(self.0[&node])
        }
    }
    let nodes = Nodes(nodes);
    let text = Checkpoint::new(log.name(), 3, tree.root()).to_text();
    let signed = Note::sign(&text, &log).unwrap();
    let mut cosigned = signed.clone();
    cosigned
        .add_signature(tlog::cosignature::cosign(&witness, &text, 1_700_000_000).unwrap())
        .unwrap();
    let proof = |note: &Note| {
        ProofFile {
            extra: None,
            index: 1,
            hashes: tlog::proof::inclusion_proof(&nodes, 1, 3).unwrap(),
            checkpoint: note.to_text(),
        }
        .to_text()
    };
    let gb = member(
        "gb",
        &log,
        format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            log.verifier().to_text(),
            witness.verifier().to_text()
        ),
    );
    // Not an envelope, so it proves the inclusion and then stops at reading the envelope.
    let error = prove(&gb, &entries[1], &proof(&cosigned)).unwrap_err();
    assert!(error.starts_with("the envelope"), "{error}");
    let error = prove(&gb, &entries[1], &proof(&signed)).unwrap_err();
    assert!(
        error.contains("does not meet the witness policy of `gb`"),
        "{error}"
    );
    let error = prove(&gb, &entries[2], &proof(&cosigned)).unwrap_err();
    assert!(error.contains("not proved in `gb`'s log"), "{error}");
}
