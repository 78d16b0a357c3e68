//! Signed notes through the binary: the C2SP known answer, several signers, cosignatures.

use crate::support::{Workspace, concordat};

const SIGNER: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

#[test]
fn note_sign_reproduces_the_known_answer_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("neumann.key"), SIGNER).unwrap();
    std::fs::write(dir.path().join("text"), TEXT).unwrap();
    let signed = concordat(
        &["note", "sign", "--key", "neumann.key", "text"],
        None,
        dir.path(),
    )
    .ok();
    assert_eq!(
        signed.stdout,
        format!(
            "{TEXT}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        )
    );
    let verified = concordat(
        &["note", "verify", "--key", VERIFIER],
        Some(signed.stdout.as_bytes()),
        dir.path(),
    )
    .ok();
    assert_eq!(verified.stdout, TEXT);
    assert!(
        verified
            .stderr
            .contains("signed by PeterNeumann (c74f20a3)")
    );

    // One changed byte: exit 1 with the reason.
    let tampered = signed.stdout.replacen("cryptography", "cryptographY", 1);
    concordat(
        &["note", "verify", "--key", VERIFIER],
        Some(tampered.as_bytes()),
        dir.path(),
    )
    .fails(
        1,
        "signature by `PeterNeumann` (key ID c74f20a3) does not verify",
    );
    // Not a signed note at all: bad input, exit 2.
    concordat(
        &["note", "verify", "--key", VERIFIER],
        Some(TEXT.as_bytes()),
        dir.path(),
    )
    .fails(2, "note has no signatures");
    // Text without a final newline cannot be signed.
    concordat(
        &["note", "sign", "--key", "neumann.key"],
        Some(b"no newline"),
        dir.path(),
    )
    .fails(2, "must end with a newline");
}

#[test]
fn witnesses_cosign_checkpoints() {
    let workspace = Workspace::new();
    let witness = workspace
        .run(&[
            "key",
            "generate",
            "--name",
            "witness.example/w1",
            "--cosigner",
            "--out",
            "w.key",
        ])
        .ok()
        .stdout;
    let checkpoint = workspace
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout;
    let cosigned = workspace
        .run_with_input(&["note", "sign", "--key", "w.key"], checkpoint.as_bytes())
        .ok()
        .stdout;
    assert_eq!(cosigned.matches('\u{2014}').count(), 2);
    let verified = workspace
        .run_with_input(
            &[
                "note",
                "verify",
                "--key",
                &workspace.verifier_key,
                "--key",
                witness.trim(),
                "--format",
                "json",
            ],
            cosigned.as_bytes(),
        )
        .ok();
    let json: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(json["signatures"][1]["type"], "cosignature/v1");
    assert!(json["signatures"][1]["timestamp"].as_u64().unwrap() > 1_700_000_000);
    // A cosigner key signs checkpoints only.
    workspace
        .run_with_input(&["note", "sign", "--key", "w.key"], b"hello\n")
        .fails(2, "a cosigner key signs checkpoints only");
}
