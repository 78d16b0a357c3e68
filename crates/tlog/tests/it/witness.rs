//! C2SP `tlog-witness` `add-checkpoint` from the witness's side: the spec's example request,
//! malformed bodies, and every answer the spec gives, judged over a real tree.

use tlog::note::{KeyType, Note, SignerKey, VerifierKey};
use tlog::proof::consistency_proof;
use tlog::witness::{
    AddCheckpoint, Cosigned, PROOF_LINES_MAX, Refusal, cosignatures, judge, split_view,
};
use tlog::{Checkpoint, Hash};

use crate::support::MemoryTree;

const ORIGIN: &str = "example.org/log";

fn key(name: &str, seed: u8, key_type: KeyType) -> SignerKey {
    SignerKey::from_seed(name, key_type, [seed; 32]).unwrap()
}

#[test]
fn the_spec_example_request_parses_and_round_trips() {
    let body = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    let request = AddCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(request.old_size, 20_852_014);
    assert_eq!(request.proof.len(), 4);
    assert_eq!(
        request.proof[0],
        Hash::from_base64("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=").unwrap()
    );
    assert!(
        request
            .checkpoint
            .starts_with(b"example.com/behind-the-sofa\n20852163\n")
    );
    assert_eq!(request.to_body(), body.as_bytes());
}

#[test]
fn malformed_bodies_are_400() {
    let hash = format!("{}\n", Hash([7; 32]).to_base64());
    let too_many = format!("old 1\n{}\ncheckpoint", hash.repeat(PROOF_LINES_MAX + 1));
    let just_enough = format!("old 1\n{}\ncheckpoint", hash.repeat(PROOF_LINES_MAX));
    assert_eq!(
        AddCheckpoint::parse(just_enough.as_bytes())
            .unwrap()
            .proof
            .len(),
        63
    );
    for body in [
        "",
        "old 1",
        "old 01\n\n",
        "old -1\n\n",
        "old  1\n\n",
        "new 1\n\n",
        "old 1\nnot base64!\n\n",
        "old 1\nAAAA\n\n",
        "old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
        too_many.as_str(),
    ] {
        let refusal = AddCheckpoint::parse(body.as_bytes()).unwrap_err();
        assert_eq!(refusal.status(), 400, "{body:?}: {refusal}");
    }
}

/// A log of `entries` entries with a checkpoint signed at each size.
struct Log {
    key: SignerKey,
    tree: MemoryTree,
}

impl Log {
    fn new(entries: usize) -> Log {
        let data: Vec<Vec<u8>> = (0..entries)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        Log {
            key: key(ORIGIN, 1, KeyType::Ed25519),
            tree: MemoryTree::with_entries(data.iter().map(Vec::as_slice)),
        }
    }

    fn checkpoint(&self, size: u64) -> Vec<u8> {
        self.signed(size, self.tree.roots[size as usize], &self.key)
    }

    fn signed(&self, size: u64, root: Hash, key: &SignerKey) -> Vec<u8> {
        let text = Checkpoint::new(ORIGIN, size, root).to_text();
        Note::sign(&text, key).unwrap().to_text().into_bytes()
    }

    fn request(&self, old: u64, size: u64) -> AddCheckpoint {
        let proof = if old == 0 {
            Vec::new()
        } else {
            consistency_proof(&self.tree, old, size).unwrap()
        };
        AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: self.checkpoint(size),
        }
    }

    fn held(&self, size: u64) -> Cosigned {
        Cosigned {
            size,
            root: self.tree.roots[size as usize],
        }
    }
}

fn judged(
    log: &Log,
    request: &AddCheckpoint,
    cosigned: Option<&Cosigned>,
) -> Result<Checkpoint, Refusal> {
    let keys: Vec<VerifierKey> = vec![log.key.verifier()];
    judge(
        request,
        |origin| (origin == ORIGIN).then_some(keys.as_slice()),
        cosigned,
    )
    .map(|(checkpoint, _)| checkpoint)
}

#[test]
fn each_answer_the_spec_gives() {
    let log = Log::new(10);
    // First contact: old 0, no proof.
    let first = judged(&log, &log.request(0, 4), None).unwrap();
    assert_eq!((first.size, first.root), (4, log.tree.roots[4]));
    // Onwards with a consistency proof from what was cosigned.
    assert_eq!(
        judged(&log, &log.request(4, 10), Some(&log.held(4)))
            .unwrap()
            .size,
        10
    );
    // The same checkpoint again: its root is the one cosigned.
    assert!(judged(&log, &log.request(0, 0), None).is_ok());
    let mut again = log.request(4, 4);
    again.proof.clear();
    assert!(judged(&log, &again, Some(&log.held(4))).is_ok());

    // 404: a log the witness does not know.
    let stranger = Log {
        key: key("stranger.example/log", 3, KeyType::Ed25519),
        tree: MemoryTree::with_entries([b"x".as_slice()]),
    };
    let text = Checkpoint::new("stranger.example/log", 1, stranger.tree.roots[1]).to_text();
    let request = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: Note::sign(&text, &stranger.key)
            .unwrap()
            .to_text()
            .into_bytes(),
    };
    assert_eq!(judged(&log, &request, None).unwrap_err().status(), 404);

    // 403: signed by a key the witness does not trust for the origin, or not a note at all.
    let forged = AddCheckpoint {
        checkpoint: log.signed(4, log.tree.roots[4], &key(ORIGIN, 9, KeyType::Ed25519)),
        ..log.request(0, 4)
    };
    assert_eq!(judged(&log, &forged, None).unwrap_err().status(), 403);
    let garbage = AddCheckpoint {
        checkpoint: b"not a note".to_vec(),
        ..log.request(0, 4)
    };
    assert_eq!(judged(&log, &garbage, None).unwrap_err().status(), 403);

    // 400: an old size above the checkpoint's.
    let backwards = AddCheckpoint {
        old_size: 5,
        ..log.request(4, 4)
    };
    assert_eq!(
        judged(&log, &backwards, Some(&log.held(5))).unwrap_err(),
        Refusal::OldAboveSize { old: 5, size: 4 }
    );

    // 409 with the size cosigned, as text/x.tlog.size: the client's old size is stale.
    let stale = judged(&log, &log.request(0, 10), Some(&log.held(4))).unwrap_err();
    assert_eq!(stale.status(), 409);
    assert_eq!(stale.body(), Some(("text/x.tlog.size", "4\n".to_owned())));
    assert!(!stale.is_evidence());

    // 422: a proof that does not verify — kept as evidence, since the log signed it.
    let mut broken = log.request(4, 10);
    broken.proof[0].0[0] ^= 1;
    let refusal = judged(&log, &broken, Some(&log.held(4))).unwrap_err();
    assert_eq!(refusal.status(), 422);
    assert!(refusal.is_evidence());
    let mut short = log.request(4, 10);
    short.proof.pop();
    assert_eq!(
        judged(&log, &short, Some(&log.held(4)))
            .unwrap_err()
            .status(),
        422
    );
    let mut extra = log.request(0, 4);
    extra.proof.push(Hash([1; 32]));
    assert_eq!(judged(&log, &extra, None).unwrap_err().status(), 422);

    // 409, and evidence: the log signed another root for the size already cosigned.
    let other = AddCheckpoint {
        old_size: 4,
        proof: Vec::new(),
        checkpoint: log.signed(4, Hash([9; 32]), &log.key),
    };
    let split = judged(&log, &other, Some(&log.held(4))).unwrap_err();
    assert_eq!(split, Refusal::SplitView { size: 4 });
    assert_eq!((split.status(), split.body()), (409, None));
    assert!(split.is_evidence());

    // 422: a tree of size 0 whose root is not the empty root.
    let empty = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: log.signed(0, Hash([5; 32]), &log.key),
    };
    assert_eq!(judged(&log, &empty, None).unwrap_err().status(), 422);
}

#[test]
fn the_response_is_cosignature_lines_that_verify_over_the_checkpoint() {
    let log = Log::new(3);
    let witnesses = [
        key("witness.example/w1", 4, KeyType::Cosignature),
        key("witness.example/w2", 5, KeyType::Cosignature),
    ];
    let (checkpoint, note) = {
        let keys = vec![log.key.verifier()];
        judge(&log.request(0, 3), |_| Some(keys.as_slice()), None).unwrap()
    };
    let body = cosignatures(&witnesses, note.text(), 1_700_000_000).unwrap();
    assert_eq!(body.lines().count(), 2);
    assert!(body.lines().all(|l| l.starts_with("— witness.example/w")));
    assert!(body.ends_with('\n'));
    // As the spec suggests a client does: append the lines to the checkpoint and verify.
    let mut cosigned = log.checkpoint(3);
    cosigned.extend_from_slice(body.as_bytes());
    let verified = Note::parse(&cosigned)
        .unwrap()
        .verify(&[witnesses[0].verifier(), witnesses[1].verifier()])
        .unwrap();
    assert_eq!(verified.len(), 2);
    assert!(verified.iter().all(|v| v.timestamp == Some(1_700_000_000)));
    assert_eq!(checkpoint.size, 3);
    // A log key cannot cosign.
    assert!(cosignatures(&[log.key], note.text(), 1).is_err());
}

#[test]
fn two_signed_roots_of_one_size_prove_a_split_view() {
    let log = Log::new(6);
    let keys = [log.key.verifier()];
    let honest = log.checkpoint(4);
    let forked = log.signed(4, Hash([9; 32]), &log.key);
    assert_eq!(split_view(&honest, &forked, &keys), Some(4));
    // The same tree twice, two sizes, or a note the log did not sign: no proof.
    assert_eq!(split_view(&honest, &log.checkpoint(4), &keys), None);
    assert_eq!(split_view(&honest, &log.checkpoint(5), &keys), None);
    let stranger = log.signed(4, Hash([9; 32]), &key(ORIGIN, 8, KeyType::Ed25519));
    assert_eq!(split_view(&honest, &stranger, &keys), None);
}
