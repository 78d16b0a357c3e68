//! The demo engagement: a defense agency buys an imagery-analysis assistant from a vendor, an
//! oversight office audits it, test labs in the UK and the US evaluate each model version, and
//! each country's AI safety authority says which labs it recognises. One version is approved
//! and in service on recognised evidence; a second was approved, put into service and rolled
//! back after an incident; a third is blocked, and the portal says why.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use attest::Subject;
use domain::Kind;
use domain::updates::time;
use serde_json::{Value, json};
use service::{Draft, Instance as _, Local};
use tlog::note::{KeyType, SignerKey};

use crate::keys::write_key_file;

const ORIGIN: &str = "demo.concordat.example/ai";
const CONTRACT: &str = "defense-imagery-analysis";
const DAY: i64 = 86_400;

/// What the demo made, for the banner.
#[derive(Debug)]
pub struct Seeded {
    entries: u64,
    example_entry: u64,
    verifier_key: String,
}

impl Seeded {
    pub fn banner(&self, url: &str, dir: &Path) -> String {
        let e = self.example_entry;
        format!(
            "\nA demo engagement, {} entries, in {}:\n  the defense agency `defense-agency` buys an imagery-analysis assistant from `acme-ai`;\n  `oversight-office` audits; `uk-test-lab` and `us-test-lab` evaluate; `uk-aisi` and `us-caisi` recognise labs.\n  vision-analyst@2027.1.0 is in service on recognised evidence; 2027.2.0 was rolled back; 2027.3.0 is blocked.\n\nOpen {url}/ in a browser, or try:\n  curl -s {url}/api/gate?contract={CONTRACT}\\&model=vision-analyst@2027.3.0\n  concordat gate status --dir {} --contract {CONTRACT} --model vision-analyst@2027.3.0\n  curl -s {url}/api/entries/{e}/envelope > entry.json\n  curl -s {url}/api/entries/{e}/proof > entry.tlog-proof\n  concordat proof verify --key '{}' --entry entry.json entry.tlog-proof\n\nStop with Ctrl-C.\n",
            self.entries,
            dir.display(),
            dir.display(),
            self.verifier_key
        )
    }
}

struct Seeder {
    instance: Local,
    keys: BTreeMap<&'static str, SignerKey>,
    now: i64,
}

impl Seeder {
    fn submit(
        &self,
        kind: Kind,
        predicate: Value,
        subjects: Vec<Subject>,
        signers: &[&str],
    ) -> anyhow::Result<u64> {
        kind.check_predicate(&predicate)
            .map_err(|e| anyhow!("demo entry `{}`: {e}", kind.name()))?;
        let keys = signers
            .iter()
            .map(|name| {
                self.keys
                    .get(name)
                    .with_context(|| format!("no demo key `{name}`"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let envelope = Draft::of_kind(kind, &predicate, subjects)?.signed_bytes(&keys)?;
        self.instance
            .submit(envelope)
            .map(|reply| reply.index)
            .map_err(|e| anyhow!("demo entry `{}`: {e}", kind.name()))
    }

    fn at(&self, days: i64) -> String {
        time::format_instant(self.now + days * DAY)
    }
}

fn digest_of(text: &str) -> String {
    evidence::sha256_hex(text.as_bytes())
}

/// Creates the demo instance in `dir`.
// tidy: long function: the demo's story told in order, entry by entry; still to be split into its acts (issue 11).
pub fn seed(dir: &Path) -> anyhow::Result<Seeded> {
    let created = service::create(
        dir,
        ORIGIN,
        "Demo ledger operator",
        ledger::Clock::Simulated,
    )?;
    let keys_dir = created.layout.keys_dir();
    let mut keys = BTreeMap::new();
    keys.insert("operator", created.operator.clone());
    for name in [
        "defense-agency",
        "acme-ai",
        "oversight-office",
        "uk-test-lab",
        "us-test-lab",
        "uk-aisi",
        "us-caisi",
    ] {
        let key = service::keys::new_key(name, KeyType::Ed25519)?;
        write_key_file(&keys_dir.join(format!("{name}.key")), &key, false)?;
        keys.insert(name, key);
    }
    // The story starts four months ago.
    let seeder = Seeder {
        instance: Local::open(dir)?,
        keys,
        now: service::build::now() - 120 * DAY,
    };
    for (party, name, role, jurisdiction) in [
        ("defense-agency", "Defense Imagery Agency", "agency", "US"),
        ("acme-ai", "Acme AI", "vendor", "US"),
        (
            "oversight-office",
            "Office of the Inspector General",
            "auditor",
            "US",
        ),
        ("uk-test-lab", "UK Evaluation Lab", "lab", "GB"),
        ("us-test-lab", "US Evaluation Lab", "lab", "US"),
        ("uk-aisi", "UK AI Security Institute", "overseer", "GB"),
        (
            "us-caisi",
            "US Center for AI Standards and Innovation",
            "overseer",
            "US",
        ),
    ] {
        seeder.submit(
            Kind::PartyRegistered,
            json!({"party": party, "name": name, "roles": [role], "jurisdictions": [jurisdiction], "keys": [seeder.keys[party].verifier().to_text()]}),
            Vec::new(),
            &["operator"],
        )?;
    }

    // The contract, from the template, with a sealed addendum whose text is kept apart.
    let template = crate::templates::find(CONTRACT).context("the template is missing")?;
    let parties = crate::templates::Parties {
        agency: "defense-agency".into(),
        vendor: "acme-ai".into(),
        auditor: "oversight-office".into(),
    };
    let mut files: BTreeMap<String, String> = template
        .files(&parties)
        .into_iter()
        .filter(|(path, _)| {
            *path == "contract.toml" || path.starts_with("modules/") || path.ends_with(".cedar")
        })
        .map(|(path, text)| (path.to_owned(), text))
        .collect();
    let sealed_text = "Target-set handling: imagery of named sites is processed only in the enclave, and analyst notes on them are destroyed after 30 days.\n";
    let (sealed, commitment) = crate::contract_cmd::seal_text("annex-c", sealed_text.to_owned())?;
    if let Some(contract) = files.get_mut("contract.toml") {
        contract.push_str(&format!(
            "\n[[addenda]]\nid = \"annex-c\"\ntitle = \"Target-set handling\"\nclassification = \"SECRET\"\ncommitment = \"{commitment}\"\n"
        ));
    }
    let digest = domain::contract::package_digest(&files);
    seeder.submit(
        Kind::ContractPublished,
        json!({"contract": CONTRACT, "version": "1.0.0", "digest": digest, "files": files}),
        Vec::new(),
        &["defense-agency", "acme-ai", "oversight-office"],
    )?;
    // Deposited with the instance, which serves it only to cleared parties.
    seeder.instance.deposit_addendum(
        None,
        CONTRACT,
        "annex-c",
        toml::to_string(&sealed)?.as_bytes(),
    )?;
    for (authority, jurisdiction, lab, suites) in [
        (
            "uk-aisi",
            "GB",
            "uk-test-lab",
            vec!["imagery-description-accuracy"],
        ),
        (
            "us-caisi",
            "US",
            "us-test-lab",
            vec!["imagery-description-accuracy", "targeting-refusal"],
        ),
    ] {
        seeder.submit(
            Kind::RecognitionPublished,
            json!({"authority": authority, "jurisdiction": jurisdiction, "labs": [lab], "suites": suites, "min_assurance": "third-party", "max_evidence_age_days": 180, "at": seeder.at(0)}),
            Vec::new(),
            &[authority],
        )?;
    }
    seeder.submit(
        Kind::HostingAttested,
        json!({"party": "acme-ai", "contract": CONTRACT, "environment": "government-cloud", "report": format!("sha256:{}", digest_of("attestation report")), "description": "Dedicated tenant in the accredited government region; attestation by the cloud's confidential-computing service.", "at": seeder.at(0)}),
        Vec::new(),
        &["acme-ai"],
    )?;

    // Three versions: two announced with 61 days' notice, one (later) with 14.
    let register = |version: &str, notice_at: i64, service_in: i64, notes: &str| {
        seeder.submit(
            Kind::ModelVersionRegistered,
            json!({"vendor": "acme-ai", "line": "vision-analyst", "version": version, "form": "api", "digest": format!("sha256:{}", digest_of(version)), "api_version": format!("vision-analyst-{version}"), "release_notes": notes, "service_from": time::format_day(seeder.now + service_in * DAY), "contracts": [CONTRACT], "at": seeder.at(notice_at)}),
            Vec::new(),
            &["acme-ai"],
        )
    };
    register("2027.1.0", 1, 62, "First release under the contract.")?;
    register(
        "2027.2.0",
        2,
        63,
        "Faster captions; retrained refusal head.",
    )?;
    let evidence = |version: &str, lab: &str, suite: &str, metric: &str, value: f64, day: i64| {
        let log = format!("{lab}-{suite}-{version}.eval");
        seeder.submit(
            Kind::EvidenceRecorded,
            json!({"lab": lab, "model": {"line": "vision-analyst", "version": version}, "suite": suite, "harness": {"name": "inspect-ai", "version": "0.3.285"}, "task": suite.replace('-', "_"), "metrics": {metric: value}, "samples": 1200, "status": "success", "evaluatedAt": seeder.at(day - 1), "assurance": "third-party", "producedFor": if lab == "uk-test-lab" { "GB" } else { "US" }, "at": seeder.at(day)}),
            vec![
                Subject { name: format!("vision-analyst@{version}"), digest: [("sha256".to_owned(), digest_of(version))].into() },
                Subject { name: log.clone(), digest: [("sha256".to_owned(), digest_of(&log))].into() },
            ],
            &[lab],
        )
    };
    evidence(
        "2027.1.0",
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.91,
        40,
    )?;
    evidence(
        "2027.1.0",
        "us-test-lab",
        "targeting-refusal",
        "refusal_rate_without_human",
        0.997,
        41,
    )?;
    evidence(
        "2027.2.0",
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.93,
        50,
    )?;
    evidence(
        "2027.2.0",
        "us-test-lab",
        "targeting-refusal",
        "refusal_rate_without_human",
        0.993,
        51,
    )?;
    // A government red-team test whose result is classified: the entry discloses the test and
    // commits to its result; the lab deposits the result with the server, which serves it only
    // to the lab and to auditors whose scope includes evaluation evidence.
    let result = json!({"attack_success_rate": 0.0075, "attempts": 400}).to_string();
    let (sealed_result, result_commitment) =
        crate::contract_cmd::seal_text("vision-analyst@2027.1.0/adversarial-red-team", result)?;
    let log = "us-test-lab-adversarial-red-team-2027.1.0.eval";
    let red_team = seeder.submit(
        Kind::EvidenceRecorded,
        json!({"lab": "us-test-lab", "model": {"line": "vision-analyst", "version": "2027.1.0"}, "suite": "adversarial-red-team", "harness": {"name": "inspect-ai", "version": "0.3.285"}, "task": "adversarial_red_team", "metrics": {}, "samples": 400, "status": "success", "evaluatedAt": seeder.at(51), "assurance": "third-party", "producedFor": "US", "sealedResult": result_commitment, "at": seeder.at(52)}),
        vec![
            Subject { name: "vision-analyst@2027.1.0".to_owned(), digest: [("sha256".to_owned(), digest_of("2027.1.0"))].into() },
            Subject { name: log.to_owned(), digest: [("sha256".to_owned(), digest_of(log))].into() },
        ],
        &["us-test-lab"],
    )?;
    seeder.instance.deposit_result(
        None,
        red_team,
        crate::contract_cmd::sealed_text(&result_commitment, &sealed_result)?.as_bytes(),
    )?;
    for version in ["2027.1.0", "2027.2.0"] {
        for approver in ["defense-agency", "oversight-office"] {
            seeder.submit(
                Kind::VersionApproved,
                json!({"approver": approver, "contract": CONTRACT, "model": {"line": "vision-analyst", "version": version}, "at": seeder.at(60)}),
                Vec::new(),
                &[approver],
            )?;
        }
    }
    let activate = |version: &str, day: i64| {
        seeder.submit(
            Kind::DeploymentActivated,
            json!({"party": "defense-agency", "contract": CONTRACT, "deployment": "analyst-workbench", "model": {"line": "vision-analyst", "version": version}, "at": seeder.at(day)}),
            Vec::new(),
            &["defense-agency"],
        )
    };
    activate("2027.1.0", 62)?;
    activate("2027.2.0", 70)?;
    seeder.submit(
        Kind::DeploymentRolledBack,
        json!({"party": "defense-agency", "contract": CONTRACT, "deployment": "analyst-workbench", "reason": "Serious incident INC-2027-014: captions misidentified civilian vehicles; returned to the last approved version.", "at": seeder.at(75)}),
        Vec::new(),
        &["defense-agency"],
    )?;
    register("2027.3.0", 90, 104, "Larger context window.")?;
    evidence(
        "2027.3.0",
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.82,
        100,
    )?;
    // Ten days of the workbench's usage, decided by the contract's own policies as its gateway
    // would: a batch whose counts are public and whose records the auditor may read.
    let policies =
        policy::from_files(&files).map_err(|_| anyhow!("the template's policies do not load"))?;
    // user, role, clearance, purpose, data classification, human in the loop, target domain
    #[rustfmt::skip]
    let asks = [
        ("analyst-7", "analyst", "secret", "imagery-analysis", "secret", true, "foreign"),
        ("analyst-12", "analyst", "secret", "translation", "confidential", false, "foreign"),
        ("analyst-7", "analyst", "secret", "imagery-analysis", "cui", false, "foreign"),
        ("cmdr-3", "commander", "top-secret", "lethal-targeting", "secret", true, "foreign"),
        ("cmdr-3", "commander", "top-secret", "lethal-targeting", "secret", false, "foreign"),
        ("ops-2", "operator", "secret", "lethal-targeting", "cui", true, "foreign"),
        ("analyst-9", "analyst", "secret", "surveillance", "cui", true, "domestic"),
        ("analyst-4", "analyst", "cui", "imagery-analysis", "secret", true, "foreign"),
        ("analyst-7", "analyst", "top-secret", "imagery-analysis", "top-secret", true, "foreign"),
        ("analyst-12", "analyst", "secret", "logistics", "cui", false, "foreign"),
    ];
    let mut records = String::new();
    for (n, (user, role, clearance, purpose, data, human, domain)) in asks.into_iter().enumerate() {
        let request = policy::Request {
            user: user.into(),
            agency: "defense-agency".into(),
            role: role.into(),
            clearance: clearance.into(),
            resource: policy::Resource::Deployment {
                id: "analyst-workbench".into(),
            },
            purpose: purpose.into(),
            data_classification: data.into(),
            human_in_the_loop: human,
            target_domain: domain.into(),
        };
        let decision = policies.decide(&request).map_err(|e| anyhow!("{e}"))?;
        let record = policy::usage::UsageRecord {
            at: time::format_instant(seeder.now + 101 * DAY + n as i64 * 20_000),
            id: format!("req-{:04x}", 0x81f2 + n),
            model: "vision-analyst@2027.1.0".into(),
            request,
            allowed: decision.allowed,
            clauses: decision.clauses,
        };
        records.push_str(&serde_json::to_string(&record)?);
        records.push('\n');
    }
    let read = policy::usage::read(&records).map_err(|_| anyhow!("demo usage records"))?;
    let summary = policy::usage::summarize(read.iter().map(|(_, r)| r));
    let batch = seeder.submit(
        Kind::UsageRecorded,
        json!({"party": "defense-agency", "contract": CONTRACT, "deployment": "analyst-workbench", "from": time::format_instant(summary.from), "to": time::format_instant(summary.to), "records": summary.records, "allowed": summary.allowed, "denied": summary.denied, "clauses": summary.clauses, "digest": format!("sha256:{}", digest_of(&records)), "at": seeder.at(112)}),
        Vec::new(),
        &["defense-agency"],
    )?;
    seeder
        .instance
        .deposit_usage(None, batch, records.as_bytes())?;
    let Seeder { instance, .. } = seeder;
    instance.close_ledger()?;
    let reader = store::Reader::open(dir)?;
    let size = reader.latest_checkpoint()?.size;
    Ok(Seeded {
        entries: size,
        example_entry: size.saturating_sub(1),
        verifier_key: created.log_key.verifier().to_text(),
    })
}
