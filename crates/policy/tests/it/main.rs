//! Cedar use restrictions: loading with located errors, decisions citing clauses, the proof.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use domain::contract::Source;
use policy::{Effect, Request, RequestSpace, Resource, load, prove};

const POLICIES: &str =
    include_str!("../../../domain/tests/fixtures/imagery-assistant/policies/use.cedar");

fn source(text: &str) -> Vec<Source> {
    vec![Source {
        path: "policies/use.cedar".to_owned(),
        text: text.to_owned(),
    }]
}

fn request(
    purpose: &str,
    classification: &str,
    human: bool,
    domain: &str,
    clearance: &str,
) -> Request {
    Request {
        user: "analyst-7".into(),
        agency: "agency-x".into(),
        role: "analyst".into(),
        clearance: clearance.into(),
        resource: Resource::ModelVersion {
            id: "frontier-2@2026.11.0".into(),
            deployment: "imagery".into(),
        },
        purpose: purpose.into(),
        data_classification: classification.into(),
        human_in_the_loop: human,
        target_domain: domain.into(),
    }
}

#[test]
fn the_shipped_schema_parses() {
    assert!(policy::SCHEMA.contains("namespace Concordat"));
    load(&source("")).unwrap();
}

#[test]
fn decisions_cite_the_clauses_behind_them() {
    let policies = load(&source(POLICIES)).unwrap();
    assert_eq!(policies.clauses().count(), 4);
    assert_eq!(
        policies.clause("no-domestic-surveillance").unwrap().effect,
        Effect::Forbid
    );
    assert_eq!(
        policies.clause("no-domestic-surveillance").unwrap().line,
        10
    );
    // (purpose, classification, human in the loop, domain, clearance) → allowed, clauses.
    type Row<'a> = (
        &'a str,
        &'a str,
        bool,
        &'a str,
        &'a str,
        bool,
        &'a [&'a str],
    );
    let table: [Row<'_>; 7] = [
        (
            "imagery-analysis",
            "secret",
            false,
            "foreign",
            "secret",
            true,
            &["permitted-purposes"],
        ),
        (
            "imagery-analysis",
            "secret",
            false,
            "foreign",
            "cui",
            false,
            &[],
        ),
        (
            "surveillance",
            "cui",
            true,
            "domestic",
            "secret",
            false,
            &["no-domestic-surveillance"],
        ),
        (
            "lethal-targeting",
            "secret",
            false,
            "foreign",
            "secret",
            false,
            &["human-control-of-lethal-force"],
        ),
        (
            "lethal-targeting",
            "secret",
            true,
            "foreign",
            "secret",
            true,
            &["permitted-purposes"],
        ),
        (
            "imagery-analysis",
            "top-secret",
            true,
            "foreign",
            "top-secret",
            false,
            &["no-top-secret-data"],
        ),
        (
            "benefits-eligibility",
            "public",
            true,
            "domestic",
            "public",
            false,
            &[],
        ),
    ];
    for (purpose, classification, human, domain, clearance, allowed, clauses) in table {
        let decision = policies
            .decide(&request(purpose, classification, human, domain, clearance))
            .unwrap();
        assert_eq!(
            decision.allowed, allowed,
            "{purpose} {classification} {human} {domain} {clearance}"
        );
        assert_eq!(
            decision.clauses, clauses,
            "{purpose} {classification} {human} {domain} {clearance}"
        );
    }
    let error = policies
        .decide(&request("x", "cosmic", true, "domestic", "public"))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`cosmic` is not a classification"),
        "{error}"
    );
    let error = policies
        .decide(&request("x", "public", true, "mars", "public"))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`mars` is neither `domestic` nor `foreign`"),
        "{error}"
    );
}

#[test]
fn policy_problems_are_located() {
    let check = |text: &str, expected: &str| {
        let problems = load(&source(text)).unwrap_err();
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            rendered.iter().any(|p| p.starts_with(expected)),
            "{rendered:#?} lacks `{expected}`"
        );
    };
    check(
        "permit (principal, action, resource);",
        "policies/use.cedar:1:1: policy has no `@id` annotation",
    );
    check(
        "@id(\"a\")\npermit (principal, action, resource);\n\n@id(\"a\")\nforbid (principal, action, resource);",
        "policies/use.cedar:4:1: clause id `a` is already used at policies/use.cedar:1:1",
    );
    check(
        "@id(\"typo\")\npermit (principal, action, resource)\nwhen { context.purpos == \"x\" };",
        "policies/use.cedar:3:8: for policy `typo`, attribute `purpos` in context for Concordat::Action::\"invoke\" not found\n  hint: did you mean `purpose`?",
    );
    check(
        "@id(\"broken\")\npermit (principal, action, resource) when {",
        "policies/use.cedar:2:",
    );
}

#[test]
fn the_proof_finds_what_the_policies_fail_to_forbid() {
    let sound = load(&source(POLICIES)).unwrap();
    assert!(prove(&sound, &RequestSpace::default()).unwrap().is_empty());

    let permissive = POLICIES.replace(
        "@id(\"no-domestic-surveillance\")\nforbid",
        "@id(\"no-domestic-surveillance\")\npermit",
    );
    let policies = load(&source(&permissive)).unwrap();
    let found = prove(&policies, &RequestSpace::default()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].prohibition, "no-domestic-surveillance");
    assert_eq!(found[0].request.purpose, "surveillance");
    assert_eq!(found[0].request.target_domain, "domestic");
    assert_eq!(found[0].clauses, ["no-domestic-surveillance"]);

    let no_human_control = POLICIES.replace("&& !context.human_in_the_loop", "&& false");
    let found = prove(
        &load(&source(&no_human_control)).unwrap(),
        &RequestSpace::default(),
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].prohibition, "no-lethal-targeting-without-human");
    assert!(!found[0].request.human_in_the_loop);
}

/// Decisions skip per-request schema validation because requests are built to the schema's
/// shape: every shape of request must pass it.
#[test]
fn requests_are_built_to_the_schema() {
    for resource in [
        Resource::Deployment {
            id: "imagery".into(),
        },
        Resource::ModelVersion {
            id: "frontier-2@2026.11.0".into(),
            deployment: "imagery".into(),
        },
    ] {
        for clearance in policy::CLASSIFICATIONS {
            let mut r = request("imagery-analysis", "cui", true, "foreign", clearance);
            r.resource = resource.clone();
            r.validate().unwrap();
        }
    }
}

/// Debian bookworm's cvc5, pinned: the SMT solver the symbolic proof runs (installed here if
/// the machine has no solver). Its z3 (4.8.12) cannot read the set literals policies use.
const CVC5: &str = "cvc5=1.0.3-1";

fn cvc5() -> Option<policy::SmtSolver> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("cvc5"))
        .find(|path| path.is_file())
        .map(policy::SmtSolver::for_program)
}

fn solver() -> policy::SmtSolver {
    let lock = std::fs::File::create(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("smt-solver.lock"),
    )
    .unwrap();
    lock.lock().unwrap();
    if let Some(solver) = cvc5() {
        return solver;
    }
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "--no-install-recommends", CVC5]),
        "the symbolic proof needs an SMT solver: apt-get install {CVC5} (as root)"
    );
    cvc5().expect("cvc5 is installed")
}

/// The enumeration covers a list of roles and purposes; a clause that exempts a role outside
/// the list escapes it. The symbolic proof covers every request the schema admits, and finds it.
#[test]
fn the_symbolic_proof_finds_what_the_enumeration_cannot_reach() {
    let solver = solver();
    let sound = load(&source(POLICIES)).unwrap();
    assert!(
        policy::prove_symbolically(&sound, &solver)
            .unwrap()
            .is_empty()
    );

    let exempt = POLICIES.replace(
        "when { context.purpose == \"lethal-targeting\" && !context.human_in_the_loop };",
        "when { context.purpose == \"lethal-targeting\" && !context.human_in_the_loop && principal.role != \"special-ops\" };",
    );
    let policies = load(&source(&exempt)).unwrap();
    assert!(
        prove(&policies, &RequestSpace::default())
            .unwrap()
            .is_empty(),
        "the enumeration does not reach role `special-ops`"
    );
    let found = policy::prove_symbolically(&policies, &solver).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].prohibition, "no-lethal-targeting-without-human");
    assert_eq!(found[0].clauses, ["permitted-purposes"]);
    assert!(
        found[0].request.contains("special-ops"),
        "{}",
        found[0].request
    );
}

/// A contract names the purposes a request may state; a permit reaches no further.
#[test]
fn a_purpose_the_contract_does_not_declare_is_refused() {
    let any_purpose = "@id(\"anything\")\npermit (principal, action, resource);";
    let policies = load(&source(any_purpose))
        .unwrap()
        .with_purposes(["imagery-analysis".to_owned()]);
    let decided = |purpose: &str| {
        policies
            .decide(&request(purpose, "cui", true, "foreign", "secret"))
            .unwrap()
    };
    assert!(decided("imagery-analysis").allowed);
    let outside = decided("crowd-monitoring");
    assert!(!outside.allowed);
    assert_eq!(outside.clauses, [policy::PURPOSE_VOCABULARY]);
    let reserved = format!(
        "@id(\"{}\")\nforbid (principal, action, resource);",
        policy::PURPOSE_VOCABULARY
    );
    let problems = load(&source(&reserved)).unwrap_err();
    assert!(
        problems[0].message.contains("is Concordat's own"),
        "{problems:?}"
    );
}
