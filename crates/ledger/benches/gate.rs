//! The gate of one model version with 10,000 evidence entries in the store, printed as JSON
//! lines:
//! - `evidence_write`: 10,000 evidence entries about 100 versions through the write path
//!   (signed, verified, applied, committed), pipelined; `evidence_write_one_at_a_time`: more,
//!   each waiting for its commit;
//! - `state_load` and `state_clone`: reading the state back, and the write path's per-batch
//!   working copy of it; `state_follow_one_entry`: a following node's step when one entry was
//!   added (`ledger::follow`: the copy, and the entry verified and applied);
//! - `gate_100_judged`: a version with 100 pieces of evidence, only the oldest meeting the
//!   requirement, so every piece is judged;
//! - `gate_10000_judged`: the pathological case, 10,000 more pieces all about one version, only
//!   the oldest meeting it;
//! - `gate_newest_meets`: the same version once a new piece meets it (found first).
//!
//! Run with `cargo bench -p ledger --bench gate` (or `cargo xtask bench`).

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

const VERSIONS: usize = 100;
const EVIDENCE: usize = 10_000;

/// An evidence envelope about `version` (digest `digest`) with `pass_rate` (≤ 0.02 meets the
/// fixture's requirement).
fn evidence(lab: &SignerKey, version: &str, digest: &str, pass_rate: f64, at: i64) -> Vec<u8> {
    envelope(
        Kind::EvidenceRecorded,
        json!({"lab": "lab-gb", "model": {"line": "frontier-2", "version": version}, "suite": "cyber-uplift-v3", "harness": {"name": "inspect-ai"}, "metrics": {"pass_rate": pass_rate}, "samples": 500, "status": "success", "evaluatedAt": time::format_instant(T0 + DAY), "assurance": "third-party", "producedFor": "GB", "at": time::format_instant(at)}),
        vec![
            Subject {
                name: format!("frontier-2@{version}"),
                digest: [("sha256".to_owned(), digest.to_owned())].into(),
            },
            Subject {
                name: format!("run-{at}.eval"),
                digest: [("sha256".to_owned(), format!("{at:064x}"))].into(),
            },
        ],
        &[lab],
    )
}

fn register(version: &str, digest: &str, vendor: &SignerKey) -> Vec<u8> {
    envelope(
        Kind::ModelVersionRegistered,
        json!({"vendor": "acme-ai", "line": "frontier-2", "version": version, "form": "api", "digest": format!("sha256:{digest}"), "api_version": version, "release_notes": "", "service_from": "2026-10-21", "contracts": [CONTRACT], "at": time::format_instant(T0)}),
        Vec::new(),
        &[vendor],
    )
}

/// Submits envelopes pipelined; returns the seconds taken.
fn pipelined(ledger: &Ledger, envelopes: Vec<Vec<u8>>) -> f64 {
    let started = Instant::now();
    let pending: Vec<ledger::Pending> = envelopes
        .into_iter()
        .map(|e| ledger.submit(e).unwrap())
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// Times the gate of `version` for at least two seconds; prints p50 and p99.
fn measure(name: &str, state: &domain::State, version: &str, judged: usize) {
    let now = T0 + 30 * DAY;
    let gate = evaluate(state, CONTRACT, "frontier-2", version, now).unwrap();
    // Everything but approvals is met (none were given): the evaluation found its evidence.
    let unmet: Vec<&str> = gate.unmet().map(|r| r.id.as_str()).collect();
    assert_eq!(unmet, ["approvals"], "{}", gate.unmet_summary());
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let begin = Instant::now();
        std::hint::black_box(evaluate(state, CONTRACT, "frontier-2", version, now).unwrap());
        latencies.push(begin.elapsed());
    }
    latencies.sort();
    println!(
        "{{\"bench\":\"{name}\",\"evidence_in_store\":{},\"evidence_judged\":{judged},\"evaluations\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
        state.all_evidence().count(),
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}

fn main() {
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
            json!({"party": "operator", "name": "Operator", "roles": ["operator"], "keys": [operator.verifier().to_text()], "instance": {"kind": "concordat-ledger", "clock": "simulated"}}),
            Vec::new(),
            &[&operator],
        ),
        ledger::Clock::Simulated,
    )
    .unwrap();
    let ledger = Ledger::open(dir.path(), log_key.clone(), GroupCommit::default()).unwrap();
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
    submit(envelope(
        Kind::RecognitionPublished,
        json!({"authority": "uk-authority", "jurisdiction": "GB", "labs": ["lab-gb"], "suites": ["cyber-uplift-v3"], "min_assurance": "third-party", "max_evidence_age_days": 365, "at": time::format_instant(T0)}),
        Vec::new(),
        &[&keys["uk-authority"]],
    ));
    submit(envelope(
        Kind::HostingAttested,
        json!({"party": "acme-ai", "contract": CONTRACT, "environment": "government-cloud", "report": format!("sha256:{}", "cd".repeat(32)), "description": "", "at": time::format_instant(T0)}),
        Vec::new(),
        &[&keys["acme-ai"]],
    ));
    let versions: Vec<(String, String)> = (0..=VERSIONS)
        .map(|i| (format!("2026.5.{i}"), format!("{:064x}", i + 1)))
        .collect();
    pipelined(
        &ledger,
        versions
            .iter()
            .map(|(v, d)| register(v, d, &keys["acme-ai"]))
            .collect(),
    );

    // 10,000 pieces about 100 versions; the oldest of each meets the requirement.
    let lab = &keys["lab-gb"];
    let prepared: Vec<Vec<u8>> = (0..EVIDENCE)
        .map(|i| {
            let (version, digest) = &versions[i % VERSIONS];
            let pass_rate = if i < VERSIONS { 0.01 } else { 0.05 };
            evidence(lab, version, digest, pass_rate, T0 + DAY + i as i64)
        })
        .collect();
    let seconds = pipelined(&ledger, prepared);
    println!(
        "{{\"bench\":\"evidence_write\",\"entries\":{EVIDENCE},\"seconds\":{seconds:.2},\"entries_per_second\":{:.0}}}",
        EVIDENCE as f64 / seconds
    );
    let serial = 200;
    let started = Instant::now();
    for i in 0..serial {
        let (version, digest) = &versions[i % VERSIONS];
        let at = T0 + DAY + (EVIDENCE + i) as i64;
        ledger
            .submit_and_wait(evidence(lab, version, digest, 0.05, at))
            .unwrap();
    }
    println!(
        "{{\"bench\":\"evidence_write_one_at_a_time\",\"evidence_in_state\":{EVIDENCE},\"entries\":{serial},\"ms_per_entry\":{:.2}}}",
        started.elapsed().as_secs_f64() * 1000.0 / serial as f64
    );
    ledger.close().unwrap();

    let started = Instant::now();
    let state = ledger::load_state(&store::Reader::open(dir.path()).unwrap()).unwrap();
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
    // A following node's step when the log grew by one entry: the state brought up to date
    // from that entry (`ledger::follow`), instead of loaded whole again.
    let reader = store::Reader::open(dir.path()).unwrap();
    let from = reader.latest_checkpoint().unwrap().size;
    let ledger = Ledger::open(dir.path(), log_key.clone(), GroupCommit::default()).unwrap();
    let (version, digest) = &versions[1];
    let at = T0 + DAY + (EVIDENCE + serial) as i64;
    ledger
        .submit_and_wait(evidence(lab, version, digest, 0.05, at))
        .unwrap();
    ledger.close().unwrap();
    let mut steps: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let (followed, size) = ledger::follow(&reader, &state, from).unwrap();
            let took = started.elapsed();
            assert_eq!(
                (size, followed.all_evidence().count()),
                (from + 1, state.all_evidence().count() + 1)
            );
            took
        })
        .collect();
    steps.sort();
    println!(
        "{{\"bench\":\"state_follow_one_entry\",\"evidence\":{},\"p50_ms\":{:.3},\"max_ms\":{:.3}}}",
        state.all_evidence().count(),
        steps[steps.len() / 2].as_secs_f64() * 1000.0,
        steps[steps.len() - 1].as_secs_f64() * 1000.0
    );
    let first = &versions[0].0;
    measure(
        "gate_100_judged",
        &state,
        first,
        state.evidence_for(&format!("frontier-2@{first}")).len(),
    );

    // The pathological case: 10,000 more about one version, only the oldest meeting it.
    let (version, digest) = versions[VERSIONS].clone();
    let ledger = Ledger::open(dir.path(), log_key.clone(), GroupCommit::default()).unwrap();
    let base = T0 + 2 * DAY;
    pipelined(
        &ledger,
        (0..EVIDENCE)
            .map(|i| {
                evidence(
                    lab,
                    &version,
                    &digest,
                    if i == 0 { 0.01 } else { 0.05 },
                    base + i as i64,
                )
            })
            .collect(),
    );
    ledger.close().unwrap();
    let state = ledger::load_state(&store::Reader::open(dir.path()).unwrap()).unwrap();
    measure("gate_10000_judged", &state, &version, EVIDENCE);
    let ledger = Ledger::open(dir.path(), log_key, GroupCommit::default()).unwrap();
    ledger
        .submit_and_wait(evidence(
            lab,
            &version,
            &digest,
            0.0,
            base + 2 * EVIDENCE as i64,
        ))
        .unwrap();
    ledger.close().unwrap();
    let state = ledger::load_state(&store::Reader::open(dir.path()).unwrap()).unwrap();
    measure("gate_newest_meets", &state, &version, 1);
}
