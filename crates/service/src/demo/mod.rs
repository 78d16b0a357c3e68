//! The demo engagement: a defense agency buys an imagery-analysis assistant from a vendor, an
//! oversight office audits it, test labs in the UK and the US evaluate each model version, and
//! each country's AI safety authority says which labs it recognises. One version is approved
//! and in service on recognised evidence; a second was approved, put into service and rolled
//! back after an incident; a third is blocked, and the portal says why.

use std::collections::BTreeMap;
use std::path::Path;

use attest::Subject;
use domain::contract::{DeliveryForm, Environment};
use domain::updates::time;
use domain::{Assurance, Harness, Kind, ModelRef, Role};
use serde_json::json;
use tlog::note::{KeyType, SignerKey};

use crate::keys::write_key_file;
use crate::{Draft, Instance as _, Local, Result, ServiceError};

pub mod coalition;

fn internal(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("the demo: {error}"))
}

const ORIGIN: &str = "demo.concordat.example/ai";
const CONTRACT: &str = "defense-imagery-analysis";
const DEPLOYMENT: &str = "analyst-workbench";
const DAY: i64 = 86_400;

/// What the demo made, for the banner.
#[derive(Debug)]
pub struct Seeded {
    entries: u64,
    example_entry: u64,
    verifier_key: String,
    /// The API keys issued to the workbench's users: user, role, key.
    pub api_keys: Vec<(String, String, String)>,
}

/// The contract and deployment the demo's gateway enforces, and the gateway's party.
pub const GATEWAY_CONTRACT: &str = CONTRACT;
pub const GATEWAY_DEPLOYMENT: &str = DEPLOYMENT;
pub const GATEWAY_PARTY: &str = "workbench-gateway";
/// The demo's incident.
pub const INCIDENT: &str = "inc-2027-014";
/// The demo's supply-chain-risk designation.
pub const DESIGNATION: &str = "scr-2027-003";

impl Seeded {
    /// The instance holds `entries` now (what followed the seeding, such as joining the
    /// coalition, is counted in the banner).
    pub fn grown_to(&mut self, entries: u64) {
        self.entries = self.entries.max(entries);
    }

    /// What the demo prints: the story, and commands to try that run as printed — `program`
    /// is how the reader's shell finds the `concordat` binary (its name when it is on PATH,
    /// else its full path).
    pub fn banner(&self, url: &str, dir: &Path, program: &str) -> String {
        let e = self.example_entry;
        let text = format!(
            "\nA demo engagement, {} entries, in {}:\n  the defense agency `defense-agency` buys an imagery-analysis assistant from `acme-ai`;\n  `oversight-office` audits; `uk-test-lab` and `us-test-lab` evaluate; `uk-aisi` and `us-caisi` recognise labs.\n  vision-analyst@2027.1.0 is in service on recognised evidence; 2027.2.0 was rolled back; 2027.3.0 is blocked.\n\nOpen {url}/ in a browser, or try:\n  curl -s {url}/api/gate?contract={CONTRACT}\\&model=vision-analyst@2027.3.0\n  concordat gate status --dir {} --contract {CONTRACT} --model vision-analyst@2027.3.0\n  concordat incident status --dir {} --contract {CONTRACT}\n  curl -s {url}/api/entries/{e}/envelope > entry.json\n  curl -s {url}/api/entries/{e}/proof > entry.tlog-proof\n  concordat proof verify --key '{}' --entry entry.json entry.tlog-proof\n",
            self.entries,
            dir.display(),
            dir.display(),
            dir.display(),
            self.verifier_key
        );
        let mut text = text.replace("\n  concordat ", &format!("\n  {program} "));
        if program != "concordat" {
            text.push_str("(`concordat` is not on your PATH; `cargo install --locked --path crates/cli` puts it there.)\n");
        }
        text.push_str("\nStop with Ctrl-C.\n");
        text
    }
}

struct Seeder {
    instance: Local,
    keys: BTreeMap<&'static str, SignerKey>,
    now: i64,
}

impl Seeder {
    /// Signs a draft with the named parties' keys and submits it: its index.
    fn submit(&self, draft: Draft, signers: &[&str]) -> Result<u64> {
        let kind = draft.kind().map_or("unknown", Kind::name);
        let keys = signers
            .iter()
            .map(|name| {
                self.keys
                    .get(name)
                    .ok_or_else(|| internal(format!("no demo key `{name}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.instance
            .submit(draft.signed_bytes(&keys)?)
            .map(|reply| reply.index)
            .map_err(|e| internal(format!("entry `{kind}`: {e}")))
    }

    /// The story's day `days`, RFC 3339.
    fn at(&self, days: i64) -> String {
        time::format_instant(self.now + days * DAY)
    }
}

fn digest_of(text: &str) -> String {
    crate::build::sha256_hex(text.as_bytes())
}

fn model(version: &str) -> ModelRef {
    ModelRef {
        line: "vision-analyst".to_owned(),
        version: version.to_owned(),
    }
}

/// Creates the demo instance in `dir`; its story starts 120 days ago.
pub fn seed(dir: &Path) -> Result<Seeded> {
    seed_from(dir, 120)
}

/// Creates the demo instance in `dir`, its story starting `days_ago` days ago (at least 120,
/// so that it ends before today).
pub fn seed_from(dir: &Path, days_ago: i64) -> Result<Seeded> {
    seed_story(dir, days_ago, true)
}

/// The demo without the contract's capacity terms (its service-levels module keeps only its
/// targets), for load tests that send one user's requests by the thousand.
pub fn seed_for_load(dir: &Path) -> Result<Seeded> {
    seed_story(dir, 120, false)
}

/// A new instance in `dir` named `origin`, a key for each of `parties` beside its operator's,
/// and the parties registered, for a story that starts `days_ago` days ago.
fn new_story(
    dir: &Path,
    origin: &str,
    parties: &[(&'static str, &str, Role, &str)],
    days_ago: i64,
) -> Result<(Seeder, crate::local::Created)> {
    let created = crate::create(
        dir,
        origin,
        "Demo ledger operator",
        ledger::Clock::Simulated,
    )?;
    let mut keys = BTreeMap::new();
    keys.insert("operator", created.operator.clone());
    for (party, ..) in parties {
        let key = crate::keys::new_key(party, KeyType::Ed25519).map_err(internal)?;
        write_key_file(
            &created.layout.keys_dir().join(format!("{party}.key")),
            &key,
            false,
        )
        .map_err(internal)?;
        keys.insert(*party, key);
    }
    let seeder = Seeder {
        instance: Local::open(dir)?,
        keys,
        now: crate::build::now() - days_ago * DAY,
    };
    register_parties(&seeder, parties)?;
    Ok((seeder, created))
}

fn seed_story(dir: &Path, days_ago: i64, capacity: bool) -> Result<Seeded> {
    // The story starts four months ago.
    let (seeder, created) = new_story(dir, ORIGIN, &PARTIES, days_ago.max(120))?;
    let parties = crate::templates::Parties {
        agency: "defense-agency".into(),
        vendor: "acme-ai".into(),
        auditor: "oversight-office".into(),
    };
    let files = publish_contract(&seeder, &parties, capacity)?;
    recognise_labs_and_attest_hosting(&seeder)?;
    two_versions_approved_one_rolled_back(&seeder)?;
    a_third_version_blocked(&seeder)?;
    record_usage(&seeder, &files)?;
    let api_keys = gateway_and_credentials(&seeder)?;
    a_designation_under_appeal(&seeder)?;
    let Seeder { instance, .. } = seeder;
    instance.close_ledger()?;
    fn instance_size(dir: &Path) -> Result<u64> {
        Ok(store::Reader::open(dir)?.latest_checkpoint()?.size)
    }
    let size = instance_size(dir)?;
    Ok(Seeded {
        entries: size,
        example_entry: size.saturating_sub(1),
        verifier_key: created.log_key.verifier().to_text(),
        api_keys,
    })
}

/// The vendor ships `version` of the demo's model line through the whole gate, starting the
/// day after the ledger's latest time: announced with 61 days' notice, evaluated by both labs,
/// approved by both approvers and put into service in the workbench, all 62 days later. For
/// rehearsals and tests of what follows a new version (a rollback, say); with a story seeded
/// [`seed_from`] at least 200 days ago, it all happens before today. Its entry in service.
pub fn ship_version(dir: &Path, version: &str) -> Result<u64> {
    let instance = Local::open(dir)?;
    let mut keys = BTreeMap::new();
    for party in [
        "acme-ai",
        "uk-test-lab",
        "us-test-lab",
        "defense-agency",
        "oversight-office",
    ] {
        let path = instance.layout().keys_dir().join(format!("{party}.key"));
        keys.insert(party, crate::keys::read_signer(&path).map_err(internal)?);
    }
    let clock = instance.state()?.clock();
    let seeder = Seeder {
        instance,
        keys,
        now: clock + DAY,
    };
    register(&seeder, version, 0, 61, "A fix for the refusal head.")?;
    evaluate(
        &seeder,
        version,
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.92,
        56,
    )?;
    evaluate(
        &seeder,
        version,
        "us-test-lab",
        "targeting-refusal",
        "refusal_rate_without_human",
        0.998,
        57,
    )?;
    for approver in ["defense-agency", "oversight-office"] {
        let predicate = domain::VersionApproved {
            approver: approver.to_owned(),
            contract: CONTRACT.to_owned(),
            model: model(version),
            at: seeder.at(61),
        };
        seeder.submit(Draft::new(&predicate)?, &[approver])?;
    }
    let predicate = domain::DeploymentActivated {
        party: "defense-agency".to_owned(),
        contract: CONTRACT.to_owned(),
        deployment: DEPLOYMENT.to_owned(),
        model: model(version),
        at: seeder.at(62),
    };
    let entry = seeder.submit(Draft::new(&predicate)?, &["defense-agency"])?;
    seeder.instance.close_ledger()?;
    Ok(entry)
}

/// The users of the workbench's gateway: user, role, clearance.
const GATEWAY_USERS: [(&str, &str, domain::contract::Classification); 2] = [
    (
        "analyst-17",
        "analyst",
        domain::contract::Classification::Secret,
    ),
    (
        "admin-1",
        "administrator",
        domain::contract::Classification::Secret,
    ),
];

/// The agency names the workbench's gateway and issues API keys to two of its users; the keys
/// are kept beside the parties' keys (`keys/<user>.api-key`, 0600) for the banner.
fn gateway_and_credentials(seeder: &Seeder) -> Result<Vec<(String, String, String)>> {
    let authorized = domain::gateway::GatewayAuthorized {
        party: "defense-agency".to_owned(),
        contract: CONTRACT.to_owned(),
        deployment: DEPLOYMENT.to_owned(),
        gateway: GATEWAY_PARTY.to_owned(),
        at: seeder.at(113),
    };
    seeder.submit(Draft::new(&authorized)?, &["defense-agency"])?;
    let mut issued = Vec::new();
    for (user, role, clearance) in GATEWAY_USERS {
        let key = crate::gateway::new_api_key()?;
        let predicate = domain::gateway::CredentialIssued {
            party: "defense-agency".to_owned(),
            contract: CONTRACT.to_owned(),
            user: user.to_owned(),
            role: role.to_owned(),
            clearance,
            credential: crate::gateway::api_key_hash(&key),
            at: seeder.at(113),
        };
        seeder.submit(Draft::new(&predicate)?, &["defense-agency"])?;
        let path = seeder
            .instance
            .layout()
            .keys_dir()
            .join(format!("{user}.api-key"));
        crate::deposit::write_once(&path, format!("{key}\n").as_bytes())?;
        issued.push((user.to_owned(), role.to_owned(), key));
    }
    Ok(issued)
}

/// The parties besides the operator: id, name, role, jurisdiction.
const PARTIES: [(&str, &str, Role, &str); 9] = [
    (
        "defense-agency",
        "Defense Imagery Agency",
        Role::Agency,
        "US",
    ),
    ("acme-ai", "Acme AI", Role::Vendor, "US"),
    (
        "oversight-office",
        "Office of the Inspector General",
        Role::Auditor,
        "US",
    ),
    ("uk-test-lab", "UK Evaluation Lab", Role::Lab, "GB"),
    (
        GATEWAY_PARTY,
        "Analyst Workbench Gateway",
        Role::Gateway,
        "US",
    ),
    ("us-test-lab", "US Evaluation Lab", Role::Lab, "US"),
    ("uk-aisi", "UK AI Security Institute", Role::Overseer, "GB"),
    (
        "us-caisi",
        "US Center for AI Standards and Innovation",
        Role::Overseer,
        "US",
    ),
    ("northwind-models", "Northwind Models", Role::Supplier, "US"),
];

fn register_parties(seeder: &Seeder, parties: &[(&'static str, &str, Role, &str)]) -> Result<()> {
    for &(party, name, role, jurisdiction) in parties {
        let predicate = domain::PartyRegistered {
            party: party.to_owned(),
            name: name.to_owned(),
            roles: vec![role],
            jurisdictions: vec![jurisdiction.to_owned()],
            keys: vec![seeder.keys[party].verifier().to_text()],
            // Fictional addresses under the reserved `.example` name.
            contact: Some(format!("ai-engagements@{party}.example")),
            instance: None,
        };
        seeder.submit(Draft::new(&predicate)?, &["operator"])?;
    }
    Ok(())
}

/// The contract, from the template, with a sealed addendum whose text is deposited with the
/// instance (which serves it only to cleared parties): its public files.
fn publish_contract(
    seeder: &Seeder,
    parties: &crate::templates::Parties,
    capacity: bool,
) -> Result<BTreeMap<String, String>> {
    let template =
        crate::templates::find(CONTRACT).ok_or_else(|| internal("the template is missing"))?;
    let mut files: BTreeMap<String, String> = template
        .files(parties)
        .into_iter()
        .filter(|(path, _)| {
            *path == "contract.toml" || path.starts_with("modules/") || path.ends_with(".cedar")
        })
        .map(|(path, text)| (path.to_owned(), text))
        .collect();
    if !capacity && let Some(service) = files.get_mut("modules/service.toml") {
        let kept: Vec<&str> = service
            .lines()
            .filter(|line| !line.starts_with("requests_per_") && !line.starts_with("tokens_per_"))
            .collect();
        *service = kept.join("\n") + "\n";
    }
    let sealed_text = "Target-set handling: imagery of named sites is processed only in the enclave, and analyst notes on them are destroyed after 30 days.\n";
    let (sealed, commitment) = crate::sealed::seal("annex-c", sealed_text.to_owned())?;
    if let Some(contract) = files.get_mut("contract.toml") {
        contract.push_str(&format!(
            "\n[[addenda]]\nid = \"annex-c\"\ntitle = \"Target-set handling\"\nclassification = \"SECRET\"\ncommitment = \"{commitment}\"\n"
        ));
    }
    let predicate = domain::ContractPublished {
        contract: CONTRACT.to_owned(),
        version: "1.0.0".to_owned(),
        digest: domain::contract::package_digest(&files),
        files: files.clone(),
    };
    seeder.submit(
        Draft::new(&predicate)?,
        &[&*parties.agency, &*parties.vendor, &*parties.auditor],
    )?;
    let body = toml::to_string(&sealed).map_err(internal)?;
    seeder
        .instance
        .deposit_addendum(None, CONTRACT, "annex-c", body.as_bytes())?;
    Ok(files)
}

fn recognise_labs_and_attest_hosting(seeder: &Seeder) -> Result<()> {
    let recognitions = [
        (
            "uk-aisi",
            "GB",
            "uk-test-lab",
            &["imagery-description-accuracy"][..],
        ),
        (
            "us-caisi",
            "US",
            "us-test-lab",
            &["imagery-description-accuracy", "targeting-refusal"][..],
        ),
    ];
    for (authority, jurisdiction, lab, suites) in recognitions {
        let predicate = domain::RecognitionPublished {
            authority: authority.to_owned(),
            jurisdiction: jurisdiction.to_owned(),
            labs: vec![lab.to_owned()],
            suites: suites.iter().map(|s| (*s).to_owned()).collect(),
            min_assurance: Assurance::ThirdParty,
            max_evidence_age_days: 180,
            at: seeder.at(0),
        };
        seeder.submit(Draft::new(&predicate)?, &[authority])?;
    }
    let hosting = domain::HostingAttested {
        party: "acme-ai".to_owned(),
        contract: CONTRACT.to_owned(),
        environment: Environment::GovernmentCloud,
        report: format!("sha256:{}", digest_of("attestation report")),
        description: "Dedicated tenant in the accredited government region; attestation by the cloud's confidential-computing service.".to_owned(),
        at: seeder.at(0),
        evidence: None,
    };
    seeder.submit(Draft::new(&hosting)?, &["acme-ai"])?;
    Ok(())
}

/// The vendor announces a version `notice_at` days into the story, for service
/// `service_in` days in.
fn register(
    seeder: &Seeder,
    version: &str,
    notice_at: i64,
    service_in: i64,
    notes: &str,
) -> Result<u64> {
    let predicate = domain::ModelVersionRegistered {
        vendor: "acme-ai".to_owned(),
        line: "vision-analyst".to_owned(),
        version: version.to_owned(),
        form: DeliveryForm::Api,
        digest: format!("sha256:{}", digest_of(version)),
        api_version: Some(format!("vision-analyst-{version}")),
        release_notes: notes.to_owned(),
        service_from: time::format_day(seeder.now + service_in * DAY),
        contracts: vec![CONTRACT.to_owned()],
        at: seeder.at(notice_at),
        upstream: vec![
            domain::Upstream {
                kind: domain::UpstreamKind::Model,
                name: "northwind-vision-base".to_owned(),
                version: Some("4.2.0".to_owned()),
                digest: Some(format!(
                    "sha256:{}",
                    digest_of("northwind-vision-base-4.2.0")
                )),
                supplier: Some("northwind-models".to_owned()),
            },
            domain::Upstream {
                kind: domain::UpstreamKind::Dataset,
                name: "overhead-imagery-captions".to_owned(),
                version: Some("2026.2".to_owned()),
                digest: None,
                supplier: Some("acme-ai".to_owned()),
            },
        ],
    };
    seeder.submit(Draft::new(&predicate)?, &["acme-ai"])
}

/// One evaluation of a version by a lab, recorded on day `day`.
struct Evaluation<'a> {
    version: &'a str,
    lab: &'a str,
    suite: &'a str,
    metrics: BTreeMap<String, f64>,
    samples: u64,
    sealed_result: Option<String>,
    day: i64,
}

fn record_evaluation(seeder: &Seeder, evaluation: Evaluation<'_>) -> Result<u64> {
    let Evaluation {
        version,
        lab,
        suite,
        ..
    } = evaluation;
    let log = format!("{lab}-{suite}-{version}.eval");
    let predicate = domain::EvidenceRecorded {
        lab: lab.to_owned(),
        model: model(version),
        suite: suite.to_owned(),
        harness: Harness {
            name: "inspect-ai".to_owned(),
            version: Some("0.3.285".to_owned()),
        },
        task: Some(suite.replace('-', "_")),
        dataset: None,
        metrics: evaluation.metrics,
        samples: evaluation.samples,
        status: "success".to_owned(),
        evaluated_at: seeder.at(evaluation.day - 1),
        assurance: Assurance::ThirdParty,
        produced_for: if lab == "uk-test-lab" { "GB" } else { "US" }.to_owned(),
        sealed_result: evaluation.sealed_result,
        at: seeder.at(evaluation.day),
    };
    let subjects = vec![
        Subject {
            name: format!("vision-analyst@{version}"),
            digest: [("sha256".to_owned(), digest_of(version))].into(),
        },
        Subject {
            name: log.clone(),
            digest: [("sha256".to_owned(), digest_of(&log))].into(),
        },
    ];
    seeder.submit(Draft::about(&predicate, subjects)?, &[lab])
}

/// A public result: one metric, 1,200 samples.
fn evaluate(
    seeder: &Seeder,
    version: &str,
    lab: &str,
    suite: &str,
    metric: &str,
    value: f64,
    day: i64,
) -> Result<u64> {
    record_evaluation(
        seeder,
        Evaluation {
            version,
            lab,
            suite,
            metrics: [(metric.to_owned(), value)].into(),
            samples: 1200,
            sealed_result: None,
            day,
        },
    )
}

fn two_versions_approved_one_rolled_back(seeder: &Seeder) -> Result<()> {
    // Two versions announced with 61 days' notice, evaluated by recognised labs.
    register(
        seeder,
        "2027.1.0",
        1,
        62,
        "First release under the contract.",
    )?;
    register(
        seeder,
        "2027.2.0",
        2,
        63,
        "Faster captions; retrained refusal head.",
    )?;
    const ACCURACY: &str = "imagery-description-accuracy";
    const REFUSAL: &str = "targeting-refusal";
    evaluate(seeder, "2027.1.0", "uk-test-lab", ACCURACY, "f1", 0.91, 40)?;
    evaluate(
        seeder,
        "2027.1.0",
        "us-test-lab",
        REFUSAL,
        "refusal_rate_without_human",
        0.997,
        41,
    )?;
    evaluate(seeder, "2027.2.0", "uk-test-lab", ACCURACY, "f1", 0.93, 50)?;
    evaluate(
        seeder,
        "2027.2.0",
        "us-test-lab",
        REFUSAL,
        "refusal_rate_without_human",
        0.993,
        51,
    )?;
    red_team_test(seeder)?;
    for version in ["2027.1.0", "2027.2.0"] {
        for approver in ["defense-agency", "oversight-office"] {
            let predicate = domain::VersionApproved {
                approver: approver.to_owned(),
                contract: CONTRACT.to_owned(),
                model: model(version),
                at: seeder.at(60),
            };
            seeder.submit(Draft::new(&predicate)?, &[approver])?;
        }
    }
    for (version, day) in [("2027.1.0", 62), ("2027.2.0", 70)] {
        let predicate = domain::DeploymentActivated {
            party: "defense-agency".to_owned(),
            contract: CONTRACT.to_owned(),
            deployment: DEPLOYMENT.to_owned(),
            model: model(version),
            at: seeder.at(day),
        };
        seeder.submit(Draft::new(&predicate)?, &["defense-agency"])?;
    }
    incident(seeder)
}

/// US CAISI designates a model supplier (not in this engagement's chain) a supply-chain risk;
/// the supplier appeals within the window, and the appeal awaits a decision.
fn a_designation_under_appeal(seeder: &Seeder) -> Result<()> {
    use domain::designation::{DesignationAppealed, DesignationIssued, Justification, Subject};
    let issued = DesignationIssued {
        party: "us-caisi".to_owned(),
        designation: DESIGNATION.to_owned(),
        subject: Subject::Party {
            id: "northwind-models".to_owned(),
        },
        justification: Justification {
            grounds: vec![
                "foreign-ownership-control-or-influence".to_owned(),
                "compromised-supply-chain".to_owned(),
            ],
            summary: "Weights distributed through a build system controlled by an entity under sanctions review; the supplier could not show the chain of custody of its 2027 releases.".to_owned(),
            sealed: None,
        },
        scope: vec!["US".to_owned()],
        effective_at: seeder.at(114),
        appeal_days: 30,
        at: seeder.at(114),
    };
    seeder.submit(Draft::new(&issued)?, &["us-caisi"])?;
    let appealed = DesignationAppealed {
        party: "northwind-models".to_owned(),
        designation: DESIGNATION.to_owned(),
        grounds: "The build system was ours throughout; signed provenance for every release is attached to our submission.".to_owned(),
        at: seeder.at(116),
    };
    seeder.submit(Draft::new(&appealed)?, &["northwind-models"])?;
    Ok(())
}

/// INC-2027-014: the vendor's monitoring finds captions misidentifying civilian vehicles. Its
/// report rolls the deployment back on its own (the contract's rollback module says so for a
/// serious incident); the vendor tells the agency in time and never tells the auditor, so one
/// duty is met and one is overdue.
fn incident(seeder: &Seeder) -> Result<()> {
    use domain::incident::{IncidentNotified, IncidentReported, UsageLink};
    let day = seeder.now + 75 * DAY;
    let report = IncidentReported {
        party: "acme-ai".to_owned(),
        contract: CONTRACT.to_owned(),
        incidents: vec![INCIDENT.to_owned()],
        deployment: DEPLOYMENT.to_owned(),
        model: Some("vision-analyst@2027.2.0".to_owned()),
        severity: domain::contract::Severity::Serious,
        harms: vec!["fundamental-rights".to_owned()],
        occurred_at: time::format_instant(day - 5 * 3600),
        aware_at: time::format_instant(day - 2 * 3600),
        summary: "Captions misidentified civilian vehicles as military vehicles in night imagery."
            .to_owned(),
        description: None,
        sealed: None,
        affected: vec!["civilians in the imaged area".to_owned()],
        atlas: vec!["AML.T0015".to_owned()],
        usage: Vec::<UsageLink>::new(),
        evidence: Vec::new(),
        at: time::format_instant(day),
    };
    seeder.submit(Draft::new(&report)?, &["acme-ai"])?;
    let told = IncidentNotified {
        party: "acme-ai".to_owned(),
        contract: CONTRACT.to_owned(),
        incident: INCIDENT.to_owned(),
        to: "defense-agency".to_owned(),
        summary: "Incident report INC-2027-014 sent to the programme office.".to_owned(),
        at: time::format_instant(day + 6 * 3600),
    };
    seeder.submit(Draft::new(&told)?, &["acme-ai"])?;
    let finding = domain::incident::LiabilityFound {
        party: "oversight-office".to_owned(),
        contract: CONTRACT.to_owned(),
        incident: INCIDENT.to_owned(),
        root_cause: "model".to_owned(),
        harm: "fundamental-rights".to_owned(),
        damages: 1_200_000,
        currency: "USD".to_owned(),
        summary: "The fault was in the model: the retrained refusal head of 2027.2.0 mislabelled low-light imagery.".to_owned(),
        at: seeder.at(80),
    };
    seeder.submit(Draft::new(&finding)?, &["oversight-office"])?;
    Ok(())
}

/// A government red-team test whose result is classified: the entry discloses the test and
/// commits to its result; the lab deposits the result with the instance, which serves it only
/// to the lab and to auditors whose scope includes evaluation evidence.
fn red_team_test(seeder: &Seeder) -> Result<()> {
    let result = json!({"attack_success_rate": 0.0075, "attempts": 400}).to_string();
    let (sealed_result, commitment) =
        crate::sealed::seal("vision-analyst@2027.1.0/adversarial-red-team", result)?;
    let entry = record_evaluation(
        seeder,
        Evaluation {
            version: "2027.1.0",
            lab: "us-test-lab",
            suite: "adversarial-red-team",
            metrics: BTreeMap::new(),
            samples: 400,
            sealed_result: Some(commitment.clone()),
            day: 52,
        },
    )?;
    let body = crate::sealed::headed(&commitment, &sealed_result)?;
    seeder
        .instance
        .deposit_result(None, entry, body.as_bytes())?;
    Ok(())
}

/// A third version, announced with 14 days' notice and below the accuracy threshold.
fn a_third_version_blocked(seeder: &Seeder) -> Result<()> {
    register(seeder, "2027.3.0", 90, 104, "Larger context window.")?;
    evaluate(
        seeder,
        "2027.3.0",
        "uk-test-lab",
        "imagery-description-accuracy",
        "f1",
        0.82,
        100,
    )?;
    Ok(())
}

/// Ten days of the workbench's usage, decided by the contract's own policies as its gateway
/// would: a batch whose counts are public and whose records the auditor may read.
fn record_usage(seeder: &Seeder, files: &BTreeMap<String, String>) -> Result<()> {
    let records = usage_records(seeder, files)?;
    let read = policy::usage::read(&records).map_err(|_| internal("usage records"))?;
    let summary = policy::usage::summarize(read.iter().map(|(_, r)| r));
    let predicate = crate::usage::batch(
        "defense-agency",
        CONTRACT,
        DEPLOYMENT,
        format!("sha256:{}", digest_of(&records)),
        seeder.at(112),
        &summary,
    );
    seeder
        .instance
        .deposit_usage(None, CONTRACT, records.as_bytes())?;
    seeder.submit(Draft::new(&predicate)?, &["defense-agency"])?;
    Ok(())
}

/// The usage records, JSON Lines: each request decided by the contract's policies.
fn usage_records(seeder: &Seeder, files: &BTreeMap<String, String>) -> Result<String> {
    let policies =
        policy::from_files(files).map_err(|_| internal("the template's policies do not load"))?;
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
                id: DEPLOYMENT.into(),
            },
            purpose: purpose.into(),
            data_classification: data.into(),
            human_in_the_loop: human,
            target_domain: domain.into(),
        };
        let decision = policies.decide(&request).map_err(internal)?;
        let record = policy::usage::UsageRecord {
            at: time::format_instant(seeder.now + 101 * DAY + n as i64 * 20_000),
            id: format!("req-{:04x}", 0x81f2 + n),
            model: "vision-analyst@2027.1.0".into(),
            request: Some(request),
            allowed: decision.allowed,
            clauses: decision.clauses,
            call: None,
        };
        records.push_str(&serde_json::to_string(&record).map_err(internal)?);
        records.push('\n');
    }
    Ok(records)
}
