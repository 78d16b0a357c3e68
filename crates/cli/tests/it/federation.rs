//! Federation: evidence another instance of the coalition logged counts in this instance's
//! gate only when it comes with a valid proof against a checkpoint of that instance's log
//! cosigned as the coalition's policy for it requires — whoever submits it, and once.

use std::path::Path;

use crate::server::Served;
use crate::support::concordat;
use crate::witness::served_witness;

/// The gate's accuracy requirement for the demo's blocked version, as JSON.
fn accuracy(tmp: &Path, us: &str) -> serde_json::Value {
    let gate = concordat(
        &[
            "gate",
            "status",
            "--dir",
            us,
            "--contract",
            "defense-imagery-analysis",
            "--model",
            "vision-analyst@2027.3.0",
            "--format",
            "json",
        ],
        None,
        tmp,
    );
    let gate: serde_json::Value = serde_json::from_str(&gate.stdout).unwrap();
    gate["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "evaluation:imagery-description-accuracy/f1")
        .unwrap()
        .clone()
}

// tidy: long function: one story, from no coalition to evidence counted, each refusal on the way.
#[test]
fn evidence_from_another_instance_counts_only_with_a_policy_cosigned_proof() {
    let tmp = tempfile::tempdir().unwrap();
    let us = tmp.path().join("us");
    service::demo::seed(&us).unwrap();
    let gb = tmp.path().join("gb");
    let member = service::demo::coalition::seed_member(&gb).unwrap();
    let (witness_key, witness) = served_witness(tmp.path(), "w1", &[&member.log_key]);
    let policy = format!(
        "log {}\nwitness w1 {witness_key} {}\nquorum w1\n",
        member.log_key.to_text(),
        witness.url
    );
    std::fs::write(tmp.path().join("gb.policy"), &policy).unwrap();
    std::fs::write(
        tmp.path().join("coalition.toml"),
        format!(
            "[[member]]\nname = \"gb\"\nlog = \"{}\"\nwitness_policy = \"gb.policy\"\n",
            member.log_key.to_text()
        ),
    )
    .unwrap();
    let logs = tmp.path().join("gb-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let policy_path = tmp.path().join("gb.policy");
    let served = Served::start(
        &logs,
        gb.clone(),
        &[
            "serve",
            "--dir",
            gb.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--witness-policy",
            policy_path.to_str().unwrap(),
        ],
    );
    let entry = member.evidence.to_string();
    let proof_url = format!("{}/api/entries/{entry}/proof", served.url);
    let started = std::time::Instant::now();
    let proof = loop {
        let response = ureq::get(&proof_url).call().unwrap();
        if response.header("concordat-witnessed") == Some("quorum") {
            break response.into_string().unwrap();
        }
        assert!(started.elapsed().as_secs() < 20, "never cosigned");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let envelope = ureq::get(&format!("{}/api/entries/{entry}/envelope", served.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let write = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).unwrap();
    write("evidence.json", &envelope);
    write("evidence.tlog-proof", &proof);
    let uncosigned: String = proof
        .lines()
        .filter(|line| !line.starts_with("— witness.test.example"))
        .map(|line| format!("{line}\n"))
        .collect();
    write("bare.tlog-proof", &uncosigned);
    write("tampered.json", &envelope.replacen('a', "b", 1));

    let run = |args: &[&str]| concordat(args, None, tmp.path());
    let us_dir = us.to_str().unwrap();
    let authority = us.join("keys/uk-aisi.key");
    let authority = authority.to_str().unwrap();
    let mirror = |source: &[&str]| {
        let mut args = vec![
            "evidence", "mirror", "--dir", us_dir, "--key", authority, "--member", "gb",
        ];
        args.extend(source);
        run(&args)
    };
    let from_server = ["--from", served.url.as_str(), "--entry", entry.as_str()];

    // No coalition named yet: nothing to check the proof against.
    mirror(&from_server).fails(2, "names no coalition");
    let operator = us.join("keys/operator.key");
    let operator = operator.to_str().unwrap();
    let publish =
        |key: &str, file: &str| run(&["coalition", "publish", "--dir", us_dir, "--key", key, file]);
    publish(operator, "coalition.toml").ok();
    let shown = run(&["coalition", "show", "--dir", us_dir]).ok();
    assert!(
        shown
            .stdout
            .contains("gb: log gb.demo.concordat.example/ai"),
        "{shown:?}"
    );
    // A coalition lists the other instances, not this one.
    let own = service::keys::read_signer(&us.join("keys/log.key"))
        .unwrap()
        .verifier()
        .to_text();
    std::fs::write(
        tmp.path().join("us.policy"),
        format!("log {own}\nquorum none\n"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("itself.toml"),
        format!("[[member]]\nname = \"us\"\nlog = \"{own}\"\nwitness_policy = \"us.policy\"\n"),
    )
    .unwrap();
    publish(operator, "itself.toml").fails(1, "is this instance's own log");
    // Only an operator names the coalition.
    publish(authority, "coalition.toml").fails(1, "is not an operator");

    // Without the witness's cosignature, or for an envelope the proof does not cover, the
    // mirror is refused before anything is signed.
    mirror(&["--envelope", "evidence.json", "--proof", "bare.tlog-proof"])
        .fails(1, "does not meet the witness policy of `gb`");
    mirror(&[
        "--envelope",
        "tampered.json",
        "--proof",
        "evidence.tlog-proof",
    ])
    .fails(1, "not proved in `gb`'s log");
    // And whoever sends such an entry, the ledger refuses it on its write path.
    let key = service::keys::read_signer(Path::new(authority)).unwrap();
    let forged = service::Draft::new(&domain::federation::EvidenceMirrored {
        party: "uk-aisi".to_owned(),
        member: "gb".to_owned(),
        envelope: envelope.clone(),
        proof: uncosigned.clone(),
        at: domain::updates::time::format_instant(service::build::now()),
    })
    .unwrap()
    .signed_bytes(&[&key])
    .unwrap();
    std::fs::write(tmp.path().join("forged.json"), forged).unwrap();
    run(&["submit", "--dir", us_dir, "forged.json"]).fails(1, "mirrored-proof");

    // A valid, cosigned proof: the evidence is logged here under `uk-test-lab@gb`, but counts
    // only once an authority recognises that lab.
    let before = accuracy(tmp.path(), us_dir);
    assert_eq!(before["met"], false, "{before}");
    let mirrored = mirror(&from_server).ok();
    assert!(
        mirrored
            .stdout
            .contains(&format!("mirrored entry {entry} of `gb`")),
        "{mirrored:?}"
    );
    let unrecognised = accuracy(tmp.path(), us_dir);
    assert_eq!(unrecognised["met"], false, "{unrecognised}");
    assert!(
        unrecognised["detail"]
            .as_str()
            .unwrap()
            .contains("`uk-test-lab@gb`, which no authority of US, GB recognises"),
        "{unrecognised}"
    );
    // Once only, even as a new statement (a minute later, from the files).
    let later = domain::updates::time::format_instant(service::build::now() + 60);
    mirror(&[
        "--envelope",
        "evidence.json",
        "--proof",
        "evidence.tlog-proof",
        "--at",
        &later,
    ])
    .fails(1, "mirrored-once");
    // Only evidence is mirrored: entry 1 of the British log registers a party.
    mirror(&["--from", served.url.as_str(), "--entry", "1"]).fails(1, "not evidence");
    // A recognition names labs of members only.
    let recognise = |lab: &str| {
        run(&[
            "recognition",
            "publish",
            "--dir",
            us_dir,
            "--key",
            authority,
            "--jurisdiction",
            "GB",
            "--lab",
            lab,
            "--suite",
            "imagery-description-accuracy",
            "--min-assurance",
            "third-party",
            "--max-age-days",
            "180",
        ])
    };
    recognise("uk-test-lab@fr").fails(1, "`fr` is not a member of this ledger's coalition");
    recognise("uk-test-lab@gb").ok();
    let met = accuracy(tmp.path(), us_dir);
    assert_eq!(met["met"], true, "{met}");
    assert_eq!(met["logged_in"], "gb", "{met}");
    assert!(
        met["detail"].as_str().unwrap().contains(&format!(
            "logged first as entry {entry} of coalition member `gb`"
        )),
        "{met}"
    );
    let report = run(&["recognition", "report", "--dir", us_dir, "--format", "json"]).ok();
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(
        report[0]["met_by_evidence_from_other_instances"], 1,
        "{report}"
    );
    let reused = report[0]["reused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logged_in"] == "gb")
        .unwrap();
    assert_eq!(reused["model"], "vision-analyst@2027.3.0", "{report}");
    // The log gives the same state again: every check is made from the entries alone.
    run(&["replay", "--dir", us_dir]).ok();
}
