//! The gate of one model version with 10,000 evidence entries about it in the store, printed as
//! JSON lines:
//! - `evidence_write`: the evidence entries through the write path (signed, verified, applied,
//!   committed), as entries/s;
//! - `state_load`: reading the whole state back from the store;
//! - `gate_newest_meets` / `gate_judges_all`: evaluating the gate when the newest evidence meets
//!   the requirement, and when only the oldest does (every piece is judged), p50/p99.
//!
//! Run with `cargo bench -p ledger --bench gate` (or `cargo xtask bench`). Set
//! `CONCORDAT_BENCH_EVIDENCE` to change the number of evidence entries (default 10,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use attest::Subject;
use domain::Kind;
use domain::updates::{evaluate, time};
use ledger::{Ledger, sign_statement, statement};
use serde_json::{Value, json};
use store::GroupCommit;
use tlog::note::{KeyType, SignerKey};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../domain/tests/fixtures/imagery-assistant"
);
const CONTRACT: &str = "imagery-assistant";
/// 2026-09-01T00:00:00Z.
const T0: i64 = 1_788_220_800;
const DAY: i64 = 86_400;

fn key(name: &str) -> SignerKey {
    let mut seed = [0u8; 32];
    seed[..name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
    SignerKey::from_seed(name, KeyType::Ed25519, seed).unwrap()
}

fn envelope(
    kind: Kind,
    predicate: Value,
    subjects: Vec<Subject>,
    signers: &[&SignerKey],
) -> Vec<u8> {
    let mut envelope = sign_statement(&statement(kind, predicate, subjects), signers[0]).unwrap();
    for signer in &signers[1..] {
        envelope.sign(signer).unwrap();
    }
    envelope.to_json().into_bytes()
}

fn package() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for folder in ["", "modules/", "policies/"] {
        for entry in std::fs::read_dir(format!("{FIXTURE}/{folder}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let name = format!("{folder}{}", path.file_name().unwrap().to_str().unwrap());
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn main() {
    let evidence: usize = std::env::var("CONCORDAT_BENCH_EVIDENCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let log_key = key("bench.example/gate");
    let operator = key("operator");
    let parties = [
        ("agency-x", "agency", "US"),
        ("acme-ai", "vendor", "US"),
        ("auditor-y", "auditor", "US"),
        ("lab-gb", "lab", "GB"),
        ("uk-authority", "overseer", "GB"),
    ];
    let keys: BTreeMap<&str, SignerKey> = parties.iter().map(|(p, _, _)| (*p, key(p))).collect();
    ledger::init(
        dir.path(),
        "bench.example/gate",
        &log_key,
        None,
        envelope(
            Kind::PartyRegistered,
            json!({"party": "operator", "name": "Operator", "roles": ["operator"], "keys": [operator.verifier().to_text()]}),
            Vec::new(),
            &[&operator],
        ),
        ledger::Clock::Simulated,
    )
    .unwrap();
    let ledger = Ledger::open(dir.path(), log_key, GroupCommit::default()).unwrap();
    let submit = |bytes: Vec<u8>| ledger.submit_and_wait(bytes).unwrap().index;
    for (party, role, jurisdiction) in parties {
        submit(envelope(
            Kind::PartyRegistered,
            json!({"party": party, "name": party, "roles": [role], "jurisdictions": [jurisdiction], "keys": [keys[party].verifier().to_text()]}),
            Vec::new(),
            &[&operator],
        ));
    }
    let files = package();
    let digest = domain::contract::package_digest(&files);
    submit(envelope(
        Kind::ContractPublished,
        json!({"contract": CONTRACT, "version": "1.0.0", "digest": digest, "files": files}),
        Vec::new(),
        &[&keys["agency-x"], &keys["acme-ai"], &keys["auditor-y"]],
    ));
    let at = |t: i64| time::format_instant(t);
    submit(envelope(
        Kind::RecognitionPublished,
        json!({"authority": "uk-authority", "jurisdiction": "GB", "labs": ["lab-gb"], "suites": ["cyber-uplift-v3"], "min_assurance": "third-party", "max_evidence_age_days": 365, "at": at(T0)}),
        Vec::new(),
        &[&keys["uk-authority"]],
    ));
    let model_digest = "ab".repeat(32);
    submit(envelope(
        Kind::ModelVersionRegistered,
        json!({"vendor": "acme-ai", "line": "frontier-2", "version": "2026.7.0", "form": "api", "digest": format!("sha256:{model_digest}"), "api_version": "frontier-2-0701", "release_notes": "", "service_from": "2026-10-21", "contracts": [CONTRACT], "at": at(T0)}),
        Vec::new(),
        &[&keys["acme-ai"]],
    ));
    submit(envelope(
        Kind::HostingAttested,
        json!({"party": "acme-ai", "contract": CONTRACT, "environment": "government-cloud", "report": format!("sha256:{}", "cd".repeat(32)), "description": "", "at": at(T0)}),
        Vec::new(),
        &[&keys["acme-ai"]],
    ));

    // Evidence: the oldest piece meets the threshold (pass_rate ≤ 0.02); the rest do not.
    let lab = &keys["lab-gb"];
    let prepared: Vec<Vec<u8>> = (0..evidence)
        .map(|i| {
            let pass_rate = if i == 0 { 0.01 } else { 0.05 };
            envelope(
                Kind::EvidenceRecorded,
                json!({"lab": "lab-gb", "model": {"line": "frontier-2", "version": "2026.7.0"}, "suite": "cyber-uplift-v3", "harness": {"name": "inspect-ai"}, "metrics": {"pass_rate": pass_rate}, "samples": 500, "status": "success", "evaluatedAt": at(T0 + DAY), "assurance": "third-party", "producedFor": "GB", "at": at(T0 + DAY + i as i64)}),
                vec![
                    Subject { name: "frontier-2@2026.7.0".into(), digest: [("sha256".to_owned(), model_digest.clone())].into() },
                    Subject { name: format!("run-{i}.eval"), digest: [("sha256".to_owned(), format!("{i:064x}"))].into() },
                ],
                &[lab],
            )
        })
        .collect();
    let started = Instant::now();
    let pending: Vec<ledger::Pending> = prepared
        .into_iter()
        .map(|e| ledger.submit(e).unwrap())
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{{\"bench\":\"evidence_write\",\"entries\":{evidence},\"seconds\":{:.2},\"entries_per_second\":{:.0}}}",
        elapsed.as_secs_f64(),
        evidence as f64 / elapsed.as_secs_f64()
    );
    // One at a time, each waiting for its commit, with the 10,000 already in the state.
    let serial: u32 = 200;
    let started = Instant::now();
    for i in 0..serial {
        ledger
            .submit_and_wait(envelope(
                Kind::EvidenceRecorded,
                json!({"lab": "lab-gb", "model": {"line": "frontier-2", "version": "2026.7.0"}, "suite": "cyber-uplift-v3", "harness": {"name": "inspect-ai"}, "metrics": {"pass_rate": 0.05}, "samples": 500, "status": "success", "evaluatedAt": at(T0 + DAY), "assurance": "third-party", "producedFor": "GB", "at": at(T0 + DAY + evidence as i64 + i64::from(i))}),
                vec![Subject { name: "frontier-2@2026.7.0".into(), digest: [("sha256".to_owned(), model_digest.clone())].into() }],
                &[lab],
            ))
            .unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{{\"bench\":\"evidence_write_one_at_a_time\",\"evidence_in_state\":{evidence},\"entries\":{serial},\"ms_per_entry\":{:.2}}}",
        elapsed.as_secs_f64() * 1000.0 / f64::from(serial)
    );
    ledger.close().unwrap();

    let started = Instant::now();
    let reader = store::Reader::open(dir.path()).unwrap();
    let state = ledger::load_state(&reader).unwrap();
    println!(
        "{{\"bench\":\"state_load\",\"evidence\":{},\"seconds\":{:.3}}}",
        state.all_evidence().count(),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    for _ in 0..20 {
        std::hint::black_box(state.clone());
    }
    println!(
        "{{\"bench\":\"state_clone\",\"ms\":{:.3}}}",
        started.elapsed().as_secs_f64() * 1000.0 / 20.0
    );
    let now = T0 + 30 * DAY;
    let measure = |name: &str, expect_met: bool| {
        let gate = evaluate(&state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
        let evaluation = gate
            .requirements
            .iter()
            .find(|r| r.id.starts_with("evaluation:"))
            .unwrap();
        assert_eq!(evaluation.met, expect_met, "{}", evaluation.detail);
        let mut latencies = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) || latencies.len() < 100 {
            let begin = Instant::now();
            std::hint::black_box(
                evaluate(&state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap(),
            );
            latencies.push(begin.elapsed());
        }
        latencies.sort();
        println!(
            "{{\"bench\":\"{name}\",\"evidence\":{},\"evaluations\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
            evidence + serial as usize,
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99)
        );
    };
    measure("gate_judges_all", true);
    // One more piece, newest, that meets it: found first.
    let ledger = Ledger::open(
        dir.path(),
        key("bench.example/gate"),
        GroupCommit::default(),
    )
    .unwrap();
    ledger
        .submit_and_wait(envelope(
            Kind::EvidenceRecorded,
            json!({"lab": "lab-gb", "model": {"line": "frontier-2", "version": "2026.7.0"}, "suite": "cyber-uplift-v3", "harness": {"name": "inspect-ai"}, "metrics": {"pass_rate": 0.0}, "samples": 500, "status": "success", "evaluatedAt": at(T0 + 2 * DAY), "assurance": "third-party", "producedFor": "GB", "at": at(T0 + 2 * DAY)}),
            vec![Subject { name: "frontier-2@2026.7.0".into(), digest: [("sha256".to_owned(), model_digest.clone())].into() }],
            &[lab],
        ))
        .unwrap();
    ledger.close().unwrap();
    let state = ledger::load_state(&store::Reader::open(dir.path()).unwrap()).unwrap();
    let gate = evaluate(&state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap();
    assert!(gate.requirements[2].met);
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let begin = Instant::now();
        std::hint::black_box(evaluate(&state, CONTRACT, "frontier-2", "2026.7.0", now).unwrap());
        latencies.push(begin.elapsed());
    }
    latencies.sort();
    println!(
        "{{\"bench\":\"gate_newest_meets\",\"evidence\":{},\"evaluations\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
        evidence + serial as usize + 1,
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}
