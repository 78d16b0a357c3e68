//! Reading real artifacts: Inspect AI logs (`.json` and `.eval`) made by `inspect eval` on the
//! offline `mockllm/model` provider, an lm-evaluation-harness results file, and an OpenSSF
//! model-signing bundle made by `model_signing sign key` (regenerate them with
//! `crates/cli/tests/interop/artifacts.py`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};

use attest::PublicKey;
use evidence::model_signing::{self, FileProblem, SigningError};
use evidence::{EvidenceError, inspect, lm_eval};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn inspect_logs_read_alike_in_both_formats() {
    let json = inspect::read(&fixture("inspect.json")).unwrap();
    let eval = inspect::read(&fixture("inspect.eval")).unwrap();
    for summary in [&json, &eval] {
        assert_eq!(summary.harness, "inspect-ai");
        assert_eq!(summary.harness_version.as_deref(), Some("0.3.285"));
        assert_eq!(summary.task, "refusal_check");
        assert_eq!(summary.model, "mockllm/model");
        assert_eq!(summary.samples, 4);
        assert_eq!(summary.status, "success");
        assert_eq!(
            summary
                .metrics
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<Vec<_>>(),
            [("accuracy", 1.0), ("stderr", 0.0)]
        );
        assert!(
            summary.evaluated_at.ends_with('Z'),
            "{}",
            summary.evaluated_at
        );
    }
}

#[test]
fn unreadable_inspect_logs_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("broken.json");
    std::fs::write(&garbage, "{\"status\": ").unwrap();
    let err = inspect::read(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("broken.json`: not an Inspect AI log: line 1 column 11"),
        "{err}"
    );

    let mut log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("inspect.json")).unwrap()).unwrap();
    log["eval"].as_object_mut().unwrap().remove("task");
    let no_task = dir.path().join("no-task.json");
    std::fs::write(&no_task, log.to_string()).unwrap();
    let err = inspect::read(&no_task).unwrap_err().to_string();
    assert!(
        err.ends_with("no-task.json`: field `eval.task` is missing"),
        "{err}"
    );

    log["eval"]["task"] = "t".into();
    log["status"] = "error".into();
    log.as_object_mut().unwrap().remove("results");
    log["error"] = serde_json::json!({"message": "model timed out"});
    let failed = dir.path().join("failed.json");
    std::fs::write(&failed, log.to_string()).unwrap();
    let err = inspect::read(&failed).unwrap_err().to_string();
    assert!(
        err.contains("the run's status is `error` and it has no results: model timed out"),
        "{err}"
    );

    // An archive without header.json (a run still going, or not an Inspect log at all).
    let archive = dir.path().join("partial.eval");
    let mut bytes = std::fs::read(fixture("inspect.eval")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&archive, bytes).unwrap();
    let err = inspect::read(&archive).unwrap_err();
    assert!(matches!(err, EvidenceError::Format { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("partial.eval`: not a readable .eval archive"),
        "{err}"
    );
}

#[test]
fn lm_eval_results_read_metrics_samples_and_date() {
    let summary = lm_eval::read(&fixture("lm-eval-results.json")).unwrap();
    assert_eq!(summary.harness, "lm-evaluation-harness");
    assert_eq!(summary.harness_version.as_deref(), Some("0.4.9"));
    assert_eq!(summary.task, "arc_easy");
    assert_eq!(summary.model, "EleutherAI/pythia-160m");
    assert_eq!(summary.samples, 2376);
    assert_eq!(
        summary
            .metrics
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["acc", "acc_norm"]
    );
    assert_eq!(summary.metrics["acc"], 0.7512626262626263);
    assert_eq!(summary.evaluated_at, "2026-11-03T08:00:00Z");

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("results.json");
    std::fs::write(&empty, r#"{"results": {}, "date": 1}"#).unwrap();
    let err = lm_eval::read(&empty).unwrap_err().to_string();
    assert!(
        err.ends_with("results.json`: field `results` is missing or empty"),
        "{err}"
    );
}

fn signer() -> PublicKey {
    PublicKey::parse(&std::fs::read_to_string(fixture("ec.pub")).unwrap()).unwrap()
}

/// A copy of the fixture model that a test may change.
fn model_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("tokenizer")).unwrap();
    for file in ["config.json", "weights.safetensors", "tokenizer/vocab.txt"] {
        std::fs::copy(fixture("model").join(file), model.join(file)).unwrap();
    }
    (dir, model)
}

#[test]
fn a_model_signing_bundle_verifies_and_yields_the_root_digest() {
    let verified =
        model_signing::verify(&fixture("model.sig"), &signer(), &fixture("model")).unwrap();
    assert_eq!(
        verified
            .files
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["config.json", "tokenizer/vocab.txt", "weights.safetensors"]
    );
    assert_eq!(
        model_signing::root_digest(&verified.files),
        verified.root_digest
    );
    let on_disk = model_signing::hash_directory(&fixture("model"), &[], false, None).unwrap();
    assert_eq!(on_disk, verified.files);
}

#[test]
fn changed_added_and_missing_files_are_each_reported() {
    let (_dir, model) = model_copy();
    let mut weights = std::fs::read(model.join("weights.safetensors")).unwrap();
    weights[1000] ^= 1;
    std::fs::write(model.join("weights.safetensors"), weights).unwrap();
    std::fs::write(model.join("tokenizer/merges.txt"), "a b\n").unwrap();
    std::fs::remove_file(model.join("config.json")).unwrap();
    // Paths the signer ignored stay ignored.
    std::fs::create_dir(model.join(".git")).unwrap();
    std::fs::write(model.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    match model_signing::verify(&fixture("model.sig"), &signer(), &model) {
        Err(SigningError::Files { problems, .. }) => assert_eq!(
            problems,
            [
                FileProblem::Missing("config.json".into()),
                FileProblem::Changed("weights.safetensors".into()),
                FileProblem::Added("tokenizer/merges.txt".into()),
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_key_or_an_altered_bundle_does_not_verify() {
    let other = PublicKey::parse(
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let err = model_signing::verify(&fixture("model.sig"), &other, &fixture("model")).unwrap_err();
    assert!(
        err.to_string().contains(
            "model.sig`: the signature does not verify with the given key: the bundle names key"
        ),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("model.sig")).unwrap()).unwrap();
    bundle["verificationMaterial"]["publicKey"]["hint"] = "".into();
    let tampered = bundle.clone();
    // Without the hint, the signature itself must fail for another key.
    std::fs::write(dir.path().join("nohint.sig"), bundle.to_string()).unwrap();
    let err = model_signing::verify(&dir.path().join("nohint.sig"), &other, &fixture("model"))
        .unwrap_err();
    assert!(matches!(err, SigningError::Signature { .. }), "{err}");
    // A payload changed after signing does not verify with the right key either.
    let mut tampered = tampered;
    let sig = tampered["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut payload = attest::dsse::decode_base64(&sig).unwrap();
    let at = payload.len() / 2;
    payload[at] ^= 1;
    use base64::Engine as _;
    tampered["dsseEnvelope"]["payload"] = base64::engine::general_purpose::STANDARD
        .encode(payload)
        .into();
    std::fs::write(dir.path().join("tampered.sig"), tampered.to_string()).unwrap();
    let err = model_signing::verify(
        &dir.path().join("tampered.sig"),
        &signer(),
        &fixture("model"),
    )
    .unwrap_err();
    assert!(matches!(err, SigningError::Signature { .. }), "{err}");
}
