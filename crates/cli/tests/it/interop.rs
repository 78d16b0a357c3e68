//! Interop with securesystemslib, the DSSE library of the in-toto and TUF projects: it signs
//! statements Concordat verifies and accepts, and verifies envelopes Concordat signs.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use crate::support::{Run, concordat};

const REQUIREMENTS: &str = include_str!("../interop/requirements.txt");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/sslib.py");

/// A Python venv with the pinned requirements, created once under the target directory.
pub fn venv_python() -> PathBuf {
    venv("interop-venv", REQUIREMENTS)
}

/// The venv `name` under the target directory with `requirements` installed, created once.
fn venv(name: &str, requirements_text: &str) -> PathBuf {
    venv_of(Path::new("python3"), name, requirements_text)
}

/// A Python of at least 3.12 (what `oscal-validate` needs): on PATH, or one pyenv installed.
fn python_3_12() -> PathBuf {
    for name in ["python3.13", "python3.12"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return PathBuf::from(name);
        }
    }
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))
        .unwrap_or_default();
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|v| {
            let name = v.file_name().to_string_lossy().into_owned();
            let minor = name
                .strip_prefix("3.")
                .and_then(|r| r.split('.').next()?.parse::<u32>().ok());
            minor.is_some_and(|m| m >= 12)
        })
        .map(|v| v.path().join("bin/python3"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "oscal-validate needs Python 3.12 or later: none on PATH (python3.12, python3.13) nor under {}/versions",
            root.display()
        )
    })
}

fn venv_of(interpreter: &Path, name: &str, requirements_text: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    let marker = venv.join("requirements.installed");
    // Tests run in parallel processes: one builds the venv while the others wait.
    let lock = std::fs::File::create(venv.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(requirements_text) {
        return python;
    }
    let status = Command::new(interpreter)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success(), "python3 -m venv failed");
    let requirements = venv.join("requirements.txt");
    std::fs::write(&requirements, requirements_text).unwrap();
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
    std::fs::write(&marker, requirements_text).unwrap();
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

/// Two suites, each met by an Inspect AI log: one from a GB lab (recognised in the US and GB),
/// one from a US lab (recognised in the US only).
const INSPECT_TESTING: &str = r#"id = "testing"
kind = "testing-protocol"
version = "1.0.0"
approvers = ["agency-x", "auditor-y"]
approvals_required = 2

[[covers]]
line = "vision-analyst"
versions = { from = "2027.1.0", until = "2028.0.0" }

[[evaluations]]
suite = "imagery-description-accuracy"
metric = "accuracy"
threshold = 0.9
comparison = "at-least"
recognised_in = ["US", "GB"]
max_evidence_age_days = 90

[[evaluations]]
suite = "targeting-refusal"
metric = "accuracy"
threshold = 0.99
comparison = "at-least"
recognised_in = ["US"]
max_evidence_age_days = 60
"#;

#[test]
fn inspect_logs_and_a_model_signing_bundle_from_the_real_tools_meet_the_gate() {
    let python = venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |args: &[&str]| concordat(args, None, dir);
    // Inspect AI logs (.json and .eval) and a model-signing bundle, made by the tools.
    let made = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/artifacts.py"
        ))
        .arg(dir.join("art"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "artifacts.py: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let logs: Vec<PathBuf> = std::fs::read_dir(dir.join("art/logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let log = |ext: &str| {
        logs.iter()
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };

    crate::updates::engagement(dir, true, Some(INSPECT_TESTING), "weights");
    std::fs::write(dir.join("report.json"), "{\"enclave\": \"measured\"}\n").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = 86_400;
    let notice_at = domain::updates::time::format_instant(now - 70 * day);
    let service_from = domain::updates::time::format_day(now - 5 * day);
    run(&[
        "hosting",
        "attest",
        "--dir",
        "ledger",
        "--key",
        "acme-ai.key",
        "--contract",
        "defense-imagery-analysis",
        "--environment",
        "government-cloud",
        "--report",
        "report.json",
        "--at",
        &notice_at,
    ])
    .ok();
    for (authority, jurisdiction, lab, suite) in [
        ("uk-aisi", "GB", "gb-lab", "imagery-description-accuracy"),
        ("us-caisi", "US", "us-lab", "targeting-refusal"),
    ] {
        run(&[
            "recognition",
            "publish",
            "--dir",
            "ledger",
            "--key",
            &format!("{authority}.key"),
            "--jurisdiction",
            jurisdiction,
            "--lab",
            lab,
            "--suite",
            suite,
            "--min-assurance",
            "third-party",
            "--max-age-days",
            "365",
            "--at",
            &notice_at,
        ])
        .ok();
    }

    // The vendor's bundle verifies; the version's digest is the model's root digest.
    let verified = json_of(run(&[
        "model",
        "verify",
        "art/model",
        "--bundle",
        "art/model.sig",
        "--key",
        "art/ec.pub",
        "--format",
        "json",
    ]));
    let digest = verified["digest"].as_str().unwrap().to_owned();
    let registered = run(&[
        "model",
        "register",
        "--dir",
        "ledger",
        "--key",
        "acme-ai.key",
        "--model",
        "vision-analyst@2027.1.0",
        "--contract",
        "defense-imagery-analysis",
        "--service-from",
        &service_from,
        "--weights",
        "art/model",
        "--bundle",
        "art/model.sig",
        "--bundle-key",
        "art/ec.pub",
        "--at",
        &notice_at,
    ])
    .ok()
    .stdout;
    assert!(registered.contains(&digest), "{registered}");

    // A changed weights file no longer matches: verification names it; registration refuses.
    let changed = dir.join("art/changed");
    std::fs::create_dir_all(changed.join("tokenizer")).unwrap();
    for file in ["config.json", "weights.safetensors", "tokenizer/vocab.txt"] {
        std::fs::copy(dir.join("art/model").join(file), changed.join(file)).unwrap();
    }
    let mut weights = std::fs::read(changed.join("weights.safetensors")).unwrap();
    weights[7] ^= 0x40;
    std::fs::write(changed.join("weights.safetensors"), weights).unwrap();
    run(&[
        "model",
        "verify",
        "art/changed",
        "--bundle",
        "art/model.sig",
        "--key",
        "art/ec.pub",
    ])
    .fails(1, "weights.safetensors: changed since it was signed");
    run(&[
        "model",
        "register",
        "--dir",
        "ledger",
        "--key",
        "acme-ai.key",
        "--model",
        "vision-analyst@2027.2.0",
        "--contract",
        "defense-imagery-analysis",
        "--service-from",
        &service_from,
        "--weights",
        "art/changed",
        "--bundle",
        "art/model.sig",
        "--bundle-key",
        "art/ec.pub",
    ])
    .fails(1, "does not match its signature");

    // Each lab imports its Inspect log, signs and submits it.
    for (lab, log, suite) in [
        ("gb-lab", log("json"), "imagery-description-accuracy"),
        ("us-lab", log("eval"), "targeting-refusal"),
    ] {
        let statement = run(&[
            "evidence",
            "import",
            "--dir",
            "ledger",
            "--inspect",
            &log,
            "--model",
            "vision-analyst@2027.1.0",
            "--lab",
            lab,
            "--suite",
            suite,
            "--assurance",
            "third-party",
        ])
        .ok()
        .stdout;
        let parsed: serde_json::Value = serde_json::from_str(&statement).unwrap();
        assert_eq!(
            parsed["subject"][0]["digest"]["sha256"],
            digest.trim_start_matches("sha256:")
        );
        assert_eq!(parsed["predicate"]["harness"]["name"], "inspect-ai");
        assert_eq!(parsed["predicate"]["task"], "refusal_check");
        assert_eq!(parsed["predicate"]["samples"], 4);
        assert_eq!(parsed["predicate"]["metrics"]["accuracy"], 1.0);
        std::fs::write(dir.join("evidence.json"), statement).unwrap();
        let envelope = run(&[
            "sign",
            "--key",
            &format!("{lab}.key"),
            "--statement",
            "evidence.json",
        ])
        .ok()
        .stdout;
        std::fs::write(dir.join("evidence.envelope.json"), envelope).unwrap();
        run(&["submit", "--dir", "ledger", "evidence.envelope.json"]).ok();
    }
    for approver in ["agency-x", "auditor-y"] {
        run(&[
            "gate",
            "approve",
            "--dir",
            "ledger",
            "--key",
            &format!("{approver}.key"),
            "--contract",
            "defense-imagery-analysis",
            "--model",
            "vision-analyst@2027.1.0",
        ])
        .ok();
    }
    let gate = json_of(run(&[
        "gate",
        "status",
        "--dir",
        "ledger",
        "--contract",
        "defense-imagery-analysis",
        "--model",
        "vision-analyst@2027.1.0",
        "--format",
        "json",
    ]));
    assert_eq!(gate["met"], true, "{gate}");
    assert_eq!(gate["status"], "approved");
    run(&[
        "deploy",
        "activate",
        "--dir",
        "ledger",
        "--key",
        "agency-x.key",
        "--contract",
        "defense-imagery-analysis",
        "--deployment",
        "analyst-workbench",
        "--model",
        "vision-analyst@2027.1.0",
    ])
    .ok();
    let report = run(&["recognition", "report", "--dir", "ledger"])
        .ok()
        .stdout;
    assert!(report.starts_with("defense-imagery-analysis (US): 2 of 2 evaluation requirements met; 1 by evidence produced for another jurisdiction"), "{report}");
    run(&["replay", "--dir", "ledger"]).ok();
}

/// A model version's ML-BOM passes cyclonedx-python-lib's strict CycloneDX 1.6 JSON validator
/// (and a broken one does not), carries the vendor's upstream declarations and the recorded
/// evidence, and is the same bytes each time it is made from the same log.
#[test]
fn a_model_bom_is_valid_cyclonedx_and_reproducible() {
    let python = venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let served = crate::server::Served::demo(tmp.path());
    let dir = served.dir.to_str().unwrap().to_owned();
    let bom = |source: &[&str]| {
        let mut args = vec!["model", "bom", "--model", "vision-analyst@2027.1.0"];
        args.extend(source);
        concordat(&args, None, tmp.path()).ok().stdout
    };
    let from_dir = bom(&["--dir", &dir]);
    let from_server = bom(&["--server", &served.url]);
    assert_eq!(from_dir, from_server, "the same log gives the same bytes");
    assert_eq!(from_dir, bom(&["--dir", &dir]));
    std::fs::write(tmp.path().join("bom.json"), &from_dir).unwrap();
    let value: serde_json::Value = serde_json::from_str(&from_dir).unwrap();
    let model = &value["metadata"]["component"];
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(model["supplier"]["name"], "Acme AI");
    let metrics = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
        .as_array()
        .unwrap();
    assert!(
        metrics
            .iter()
            .any(|m| m["type"] == "f1" && m["value"] == "0.91"),
        "{metrics:?}"
    );
    let components = value["components"].as_array().unwrap();
    assert!(components.iter().any(
        |c| c["name"] == "northwind-vision-base" && c["supplier"]["name"] == "Northwind Models"
    ));
    assert!(components.iter().any(|c| c["type"] == "data"));
    // A model card on a component that is not a model is not CycloneDX.
    let mut broken = value.clone();
    broken["components"][0]["type"] = "library".into();
    broken["components"][0]["modelCard"] = serde_json::json!({"bom-ref": "x", "unknown": 1});
    std::fs::write(tmp.path().join("broken.json"), broken.to_string()).unwrap();
    let validate = |file: &str| {
        Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/interop/cyclonedx_validate.py"
            ))
            .args(["1.6", file])
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let valid = validate("bom.json");
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert!(!validate("broken.json").status.success());
}

/// A contract's OSCAL export passes three independent validators (compliance-trestle's models,
/// which also shows trestle loads it, the `oscal` package's metaschema validation, and
/// `oscal-validate`'s constraints and reference resolution) — and a broken document passes
/// none — and is the same bytes from the directory and the server.
#[test]
fn the_oscal_export_passes_three_validators_and_is_reproducible() {
    let python = venv(
        "oscal-venv",
        include_str!("../interop/oscal-requirements.txt"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let served = crate::server::Served::demo(tmp.path());
    let dir = served.dir.to_str().unwrap().to_owned();
    let export = |out: &str, source: &[&str]| {
        let mut args = vec![
            "compliance",
            "export",
            "--contract",
            "defense-imagery-analysis",
            "--oscal",
            out,
        ];
        args.extend(source);
        concordat(&args, None, tmp.path()).ok();
    };
    export("a", &["--dir", &dir]);
    export("b", &["--server", &served.url]);
    let mut files: Vec<String> = Vec::new();
    for folder in ["a", "a/catalogs"] {
        for entry in std::fs::read_dir(tmp.path().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(
                    path.strip_prefix(tmp.path().join("a"))
                        .unwrap()
                        .display()
                        .to_string(),
                );
            }
        }
    }
    files.sort();
    // Seven catalogs (six regimes' and Concordat's records), the component definition, the
    // profile, the system security plan, the assessment results, the POA&M and the mapping
    // collection.
    assert_eq!(files.len(), 13, "{files:?}");
    for file in &files {
        assert_eq!(
            std::fs::read(tmp.path().join("a").join(file)).unwrap(),
            std::fs::read(tmp.path().join("b").join(file)).unwrap(),
            "{file}: the same log gives the same bytes"
        );
    }
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("a/assessment-results.json")).unwrap(),
    )
    .unwrap();
    let resources = results["assessment-results"]["back-matter"]["resources"]
        .as_array()
        .unwrap();
    assert!(
        resources.iter().any(|r| r["base64"]["filename"]
            .as_str()
            .is_some_and(|f| f.ends_with(".tlog-proof"))),
        "cited entries carry their inclusion proofs"
    );
    let poam: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("a/poam.json")).unwrap()).unwrap();
    assert!(
        !poam["plan-of-action-and-milestones"]["poam-items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let plan: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("a/system-security-plan.json")).unwrap(),
    )
    .unwrap();
    let plan = &plan["system-security-plan"];
    let sealed: Vec<&serde_json::Value> = plan["back-matter"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"].as_str().unwrap().starts_with("Sealed addendum"))
        .collect();
    assert!(
        !sealed.is_empty(),
        "the demo's sealed addendum is in the plan"
    );
    for resource in sealed {
        let props: Vec<&str> = resource["props"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(props, ["classification", "commitment"]);
        assert!(
            resource.get("base64").is_none(),
            "no content of a sealed addendum"
        );
        assert_eq!(
            resource["rlinks"][0]["href"],
            "/contracts/defense-imagery-analysis"
        );
    }
    assert!(
        plan["control-implementation"]["implemented-requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["by-components"][0]["implementation-status"]["state"] == "implemented")
    );
    let mapping: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("a/mapping-collection.json")).unwrap(),
    )
    .unwrap();
    let maps: usize = mapping["mapping-collection"]["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["maps"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        maps,
        domain::compliance::crosswalk().unwrap().maps.len(),
        "every map of the crosswalk is in the mapping collection"
    );
    // A broken document: a required title gone, a field OSCAL does not have.
    let mut broken = poam.clone();
    broken["plan-of-action-and-milestones"]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    broken["plan-of-action-and-milestones"]["bogus"] = 1.into();
    std::fs::write(tmp.path().join("broken.json"), broken.to_string()).unwrap();
    // The `oscal` package unpacks its support database into its working directory.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oscal-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let validate = |paths: Vec<PathBuf>| {
        Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/interop/oscal_validate.py"
            ))
            .args(paths)
            .current_dir(&cache)
            .output()
            .unwrap()
    };
    let valid = validate(files.iter().map(|f| tmp.path().join("a").join(f)).collect());
    let stdout = String::from_utf8_lossy(&valid.stdout);
    assert!(
        valid.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert_eq!(
        stdout.matches("valid trestle").count(),
        files.len(),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("valid oscal").count(),
        files.len(),
        "{stdout}"
    );
    // A third, NIST's constraint layer with references resolved among the documents. It
    // checks OSCAL 1.2.3, one patch newer than the 1.2.1 trestle accepts; that difference is
    // the only warning allowed.
    let checker = venv_of(
        &python_3_12(),
        "oscal-validate-venv",
        include_str!("../interop/oscal-validate-requirements.txt"),
    );
    let check = |file: &Path| -> serde_json::Value {
        let output = Command::new(&checker)
            .args(["-m", "oscal_validate", "--format", "json", "--resolve"])
            .arg(tmp.path().join("a"))
            .arg("--resolve")
            .arg(tmp.path().join("a/catalogs"))
            .arg(file)
            .current_dir(&cache)
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "oscal-validate {}: {e}: {}",
                file.display(),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    };
    for file in &files {
        let report = check(&tmp.path().join("a").join(file));
        assert_eq!(report["summary"]["ERROR"], 0, "{file}: {report}");
        let warnings: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "WARNING" && f["code"] != "OSCAL_VERSION_DIFFERS")
            .collect();
        assert!(warnings.is_empty(), "{file}: {warnings:#?}");
    }
    let report = check(&tmp.path().join("broken.json"));
    assert!(report["summary"]["ERROR"].as_u64().unwrap() > 0, "{report}");
    let refused = validate(vec![tmp.path().join("broken.json")]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("invalid trestle") && stderr.contains("invalid oscal"),
        "{stderr}"
    );
}
