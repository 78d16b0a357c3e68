//! Interop with securesystemslib, the DSSE library of the in-toto and TUF projects: it signs
//! statements Concordat verifies and accepts, and verifies envelopes Concordat signs.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use crate::support::{Run, concordat};

const REQUIREMENTS: &str = include_str!("../interop/requirements.txt");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/sslib.py");

/// A Python venv with the pinned requirements, created once under the target directory.
fn venv_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("requirements.installed");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(REQUIREMENTS) {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success(), "python3 -m venv failed");
    let requirements = venv.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS).unwrap();
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "pip install of the interop requirements failed"
    );
    std::fs::write(&marker, REQUIREMENTS).unwrap();
    python
}

fn sslib(python: &Path, dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn json_of(run: Run) -> serde_json::Value {
    serde_json::from_str(&run.ok().stdout).unwrap()
}

fn flip_payload_byte(path: &Path) {
    let mut envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut payload = attest::dsse::decode_base64(envelope["payload"].as_str().unwrap()).unwrap();
    payload[20] ^= 1;
    envelope["payload"] = base64::engine::general_purpose::STANDARD
        .encode(&payload)
        .into();
    std::fs::write(path, envelope.to_string()).unwrap();
}

#[test]
fn securesystemslib_and_concordat_verify_each_others_envelopes() {
    let python = venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |args: &[&str]| concordat(args, None, dir);
    std::fs::create_dir(dir.join("stranger")).unwrap();
    std::fs::create_dir(dir.join("agency")).unwrap();
    for keys in [".", "stranger", "agency"] {
        sslib(&python, dir, &["keys", keys]).ok();
    }
    let init = json_of(run(&[
        "init",
        "--dir",
        "ledger",
        "--origin",
        "interop.test.example",
        "--format",
        "json",
    ]));
    let log_vkey = init["log_verifier_key"].as_str().unwrap().to_owned();
    run(&[
        "party",
        "register",
        "--dir",
        "ledger",
        "--name",
        "Acme AI",
        "--role",
        "vendor",
        "--key",
        "ed25519.pub.pem",
    ])
    .ok();
    run(&[
        "party",
        "register",
        "--dir",
        "ledger",
        "--name",
        "Test Lab",
        "--role",
        "lab",
        "--key",
        "ecdsa.pub.pem",
        "--jurisdiction",
        "GB",
    ])
    .ok();
    run(&[
        "party",
        "register",
        "--dir",
        "ledger",
        "--name",
        "Agency X",
        "--role",
        "agency",
        "--key",
        "agency/ecdsa.pub.pem",
        "--jurisdiction",
        "US",
    ])
    .ok();

    // securesystemslib signs the exact Statement bytes `concordat statement` prints.
    let prepare = |name: &str, predicate: &str| {
        std::fs::write(dir.join(format!("{name}.predicate.json")), predicate).unwrap();
        let payload = run(&[
            "statement",
            "--kind",
            "party-statement",
            &format!("{name}.predicate.json"),
        ])
        .ok()
        .stdout;
        std::fs::write(dir.join(format!("{name}.payload")), payload).unwrap();
    };
    prepare(
        "acme",
        r#"{"party":"acme-ai","topic":"disclosure","text":"signed by securesystemslib, Ed25519"}"#,
    );
    prepare(
        "lab",
        r#"{"party":"test-lab","topic":"disclosure","text":"signed by securesystemslib, ECDSA P-256"}"#,
    );
    sslib(
        &python,
        dir,
        &["sign", "ed25519.pem", "acme.payload", "acme.envelope.json"],
    )
    .ok();
    sslib(
        &python,
        dir,
        &["sign", "ecdsa.pem", "lab.payload", "lab.envelope.json"],
    )
    .ok();
    for (name, party) in [("acme", "acme-ai"), ("lab", "test-lab")] {
        let index = run(&[
            "submit",
            "--dir",
            "ledger",
            &format!("{name}.envelope.json"),
        ])
        .ok()
        .stdout;
        let shown = json_of(run(&[
            "entry",
            "show",
            "--dir",
            "ledger",
            index.trim(),
            "--format",
            "json",
        ]));
        assert_eq!(shown["signers"][0]["party"], party);
        std::fs::write(
            dir.join(format!("{name}.entry")),
            std::fs::read(dir.join(format!("{name}.envelope.json"))).unwrap(),
        )
        .unwrap();
        run(&[
            "proof",
            "verify",
            "--key",
            &log_vkey,
            "--entry",
            &format!("{name}.entry"),
            &format!("{name}.envelope.tlog-proof"),
        ])
        .ok();
    }

    // A flipped payload byte, an unregistered key: rejected with the reason, nothing logged.
    std::fs::copy(dir.join("acme.envelope.json"), dir.join("flipped.json")).unwrap();
    flip_payload_byte(&dir.join("flipped.json"));
    run(&["submit", "--dir", "ledger", "flipped.json"])
        .fails(1, "no signature verifies with a registered key");
    sslib(
        &python,
        dir,
        &[
            "sign",
            "stranger/ed25519.pem",
            "acme.payload",
            "stranger.json",
        ],
    )
    .ok();
    run(&["submit", "--dir", "ledger", "stranger.json"])
        .fails(1, "no signature verifies with a registered key");

    // A revoked key: what it signed before stands, what it signs now is refused.
    let lab = json_of(run(&[
        "party", "show", "--dir", "ledger", "test-lab", "--format", "json",
    ]));
    let lab_keyid = lab["keys"][0]["keyid"].as_str().unwrap().to_owned();
    run(&[
        "key",
        "revoke",
        "--dir",
        "ledger",
        "--party",
        "test-lab",
        "--keyid",
        &lab_keyid,
        "--reason",
        "rotated out",
    ])
    .ok();
    prepare(
        "late",
        r#"{"party":"test-lab","topic":"disclosure","text":"after revocation"}"#,
    );
    sslib(
        &python,
        dir,
        &["sign", "ecdsa.pem", "late.payload", "late.json"],
    )
    .ok();
    run(&["submit", "--dir", "ledger", "late.json"]).fails(1, "rule `revoked-key`");

    // 2 of 2: a joint statement needs both parties; one signature is refused, two pass.
    prepare(
        "joint",
        r#"{"party":"acme-ai","topic":"supply-chain-designation","text":"joint notice","cosigners":["agency-x"]}"#,
    );
    sslib(
        &python,
        dir,
        &["sign", "ed25519.pem", "joint.payload", "joint.json"],
    )
    .ok();
    run(&["submit", "--dir", "ledger", "joint.json"])
        .fails(1, "1 of 2 required parties signed; missing: `agency-x`");
    sslib(
        &python,
        dir,
        &["sign", "agency/ecdsa.pem", "joint.payload", "joint.json"],
    )
    .ok();
    run(&["submit", "--dir", "ledger", "joint.json"]).ok();

    // Concordat signs; securesystemslib's Envelope.verify accepts it under Concordat's keyid,
    // and refuses it under another key.
    let ours = run(&[
        "key",
        "generate",
        "--name",
        "acme-concordat",
        "--out",
        "ours.key",
    ])
    .ok()
    .stdout;
    let other = run(&[
        "key",
        "generate",
        "--name",
        "someone-else",
        "--out",
        "other.key",
    ])
    .ok()
    .stdout;
    let envelope = run(&[
        "sign",
        "--key",
        "ours.key",
        "--kind",
        "party-statement",
        "acme.predicate.json",
    ])
    .ok()
    .stdout;
    std::fs::write(dir.join("ours.json"), &envelope).unwrap();
    let accepted = sslib(&python, dir, &["verify", "ours.json", ours.trim()])
        .ok()
        .stdout;
    let envelope: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    assert_eq!(
        accepted.trim(),
        envelope["signatures"][0]["keyid"].as_str().unwrap()
    );
    let wrong = sslib(&python, dir, &["verify", "ours.json", other.trim()]);
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("VerificationError"), "{wrong:?}");

    run(&["log", "verify", "--dir", "ledger"]).ok();
}
