//! Cedar decisions with a contract's policies, and the prohibition proof, printed as JSON lines.
//!
//! Run with `cargo bench -p policy --bench decisions` (or `cargo xtask bench`). A decision
//! here is the whole per-request cost: building the request and its entities, validating them
//! against the schema, and authorizing.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "benchmark harness"
)]

use std::time::{Duration, Instant};

use domain::contract::Source;
use policy::{Request, RequestSpace, Resource, load, prove};

const POLICIES: &str =
    include_str!("../../domain/tests/fixtures/imagery-assistant/policies/use.cedar");

fn main() {
    let policies = load(&[Source {
        path: "use.cedar".into(),
        text: POLICIES.into(),
    }])
    .unwrap();
    let purposes = [
        "imagery-analysis",
        "surveillance",
        "lethal-targeting",
        "logistics",
        "research",
    ];
    let requests: Vec<Request> = (0..64)
        .map(|i| Request {
            user: format!("user-{i}"),
            agency: "agency-x".into(),
            role: "analyst".into(),
            clearance: ["cui", "secret", "top-secret"][i % 3].into(),
            resource: Resource::ModelVersion {
                id: "frontier-2@2026.11.0".into(),
                deployment: "imagery".into(),
            },
            purpose: purposes[i % purposes.len()].into(),
            data_classification: ["public", "cui", "secret"][i % 3].into(),
            human_in_the_loop: i % 2 == 0,
            target_domain: ["domestic", "foreign"][i % 2].into(),
        })
        .collect();
    // Warm up, then time each decision.
    for request in &requests {
        policies.decide(request).unwrap();
    }
    let mut latencies = Vec::with_capacity(200_000);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        for request in &requests {
            let begin = Instant::now();
            std::hint::black_box(policies.decide(request).unwrap());
            latencies.push(begin.elapsed());
        }
    }
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!(
        "{{\"bench\":\"cedar_decision\",\"policies\":{},\"decisions\":{},\"p50_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1}}}",
        policies.clauses().count(),
        latencies.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );

    let started = Instant::now();
    let found = prove(&policies, &RequestSpace::default()).unwrap();
    println!(
        "{{\"bench\":\"prohibition_proof\",\"counterexamples\":{},\"milliseconds\":{:.1}}}",
        found.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    bench_contract_check();
}

/// What `concordat contract check` does with a package's text: parse, cross-check the modules,
/// parse and validate the Cedar policies, and prove the prohibitions.
fn bench_contract_check() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../domain/tests/fixtures/imagery-assistant"
    );
    let read = |path: &str| Source {
        path: path.into(),
        text: std::fs::read_to_string(format!("{dir}/{path}")).unwrap(),
    };
    let mut sources = vec![read("contract.toml")];
    for entry in std::fs::read_dir(format!("{dir}/modules")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        sources.push(read(&format!("modules/{name}")));
    }
    let policy_files = vec![read("policies/use.cedar")];
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let package = domain::contract::load(sources.clone()).unwrap();
        assert!(domain::contract::check(&package).is_empty());
        let policies = load(&policy_files).unwrap();
        assert!(
            prove(&policies, &RequestSpace::default())
                .unwrap()
                .is_empty()
        );
    }
    println!(
        "{{\"bench\":\"contract_check\",\"modules\":{},\"milliseconds_per_check\":{:.1}}}",
        sources.len() - 1,
        started.elapsed().as_secs_f64() * 1e3 / f64::from(runs)
    );
}
