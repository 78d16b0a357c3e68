//! The RFC 6962 test vectors and the C2SP signed-note example.

use tlog::hash::{Hash, empty_root};
use tlog::note::{Note, NoteSignature, SignerKey, VerifierKey};

use crate::support::MemoryTree;

const LEAVES_HEX: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS_HEX: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn leaves() -> Vec<Vec<u8>> {
    LEAVES_HEX
        .iter()
        .map(|hex| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn rfc6962_roots_at_every_size() {
    let leaves = leaves();
    let tree = MemoryTree::with_entries(leaves.iter().map(Vec::as_slice));
    let roots: Vec<String> = tree.roots.iter().map(Hash::to_hex).collect();
    assert_eq!(roots, ROOTS_HEX);
    assert_eq!(empty_root().to_hex(), ROOTS_HEX[0]);
}

#[test]
fn rfc6962_roots_from_stored_hashes() {
    let leaves = leaves();
    let tree = MemoryTree::with_entries(leaves.iter().map(Vec::as_slice));
    for (size, expected) in ROOTS_HEX.iter().enumerate() {
        let root = tlog::proof::root_at(&tree, size as u64).unwrap();
        assert_eq!(root.to_hex(), *expected, "size {size}");
    }
}

const NEUMANN_SIGNER: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const NEUMANN_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const NEUMANN_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NEUMANN_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn signed_note_known_answer() {
    let signer = SignerKey::parse(NEUMANN_SIGNER).unwrap();
    assert_eq!(signer.to_text(), NEUMANN_SIGNER);
    assert_eq!(signer.verifier().to_text(), NEUMANN_VERIFIER);

    let note = Note::sign(NEUMANN_TEXT, &signer).unwrap();
    let expected = format!("{NEUMANN_TEXT}\n{NEUMANN_LINE}");
    assert_eq!(note.to_text(), expected);

    let verifier = VerifierKey::parse(NEUMANN_VERIFIER).unwrap();
    let parsed = Note::parse(expected.as_bytes()).unwrap();
    assert_eq!(parsed.text(), NEUMANN_TEXT);
    let verified = parsed.verify(&[verifier]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name, "PeterNeumann");
    assert_eq!(verified[0].key_id, 0xc74f20a3);
}

#[test]
fn signature_line_round_trips() {
    let note = Note::parse(format!("{NEUMANN_TEXT}\n{NEUMANN_LINE}").as_bytes()).unwrap();
    let signature: &NoteSignature = &note.signatures()[0];
    assert_eq!(signature.to_line(), NEUMANN_LINE);
}

/// The example cosignature line of C2SP tlog-cosignature carries its key ID and the timestamp
/// its signed message shows (`time 1679315147`).
#[test]
fn cosignature_example_layout() {
    let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let note = Note::parse(text.as_bytes()).unwrap();
    let signature = &note.signatures()[0];
    assert_eq!(signature.key_id, 0x8d66cf3f);
    assert_eq!(signature.signature.len(), 8 + 64);
    let timestamp = u64::from_be_bytes(signature.signature[..8].try_into().unwrap());
    assert_eq!(timestamp, 1_679_315_147);
}
