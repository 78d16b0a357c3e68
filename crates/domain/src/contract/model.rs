//! The contract package's types: `contract.toml` and the module kinds. The JSON Schemas other
//! tools write contracts against are generated from these.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `contract.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractFile {
    /// The contract's id: lowercase letters, digits and `-`.
    pub id: String,
    pub title: String,
    /// The contract's own semantic version; amendments raise it.
    pub version: String,
    /// The parties, by ledger id.
    pub parties: Vec<String>,
    /// ISO 3166 codes or `EU`.
    #[serde(default)]
    pub jurisdictions: Vec<String>,
    /// First day in force, `YYYY-MM-DD`.
    pub effective_from: String,
    /// Last day in force, `YYYY-MM-DD`.
    #[serde(default)]
    pub effective_until: Option<String>,
    /// Regimes whose rules the contract must meet (their clocks and minimums apply).
    #[serde(default)]
    pub regimes: Vec<Regime>,
    /// The contract's own minimum notice before a new model version enters service, in days.
    #[serde(default)]
    pub minimum_notice_days: Option<u32>,
    /// The modules the contract pins, by id and exact version; each lives in
    /// `modules/<id>.toml`.
    pub modules: Vec<ModulePin>,
    /// Classified addenda: the public package carries only their commitments.
    #[serde(default)]
    pub addenda: Vec<AddendumRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModulePin {
    pub id: String,
    pub version: String,
}

/// A sealed addendum as the public package shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddendumRef {
    pub id: String,
    pub title: String,
    /// The classification label, e.g. `SECRET` or `CUI`.
    pub classification: String,
    /// `sha256:<hex>` of the 32-byte salt followed by the text.
    pub commitment: String,
}

/// Regimes Concordat knows the rules of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Regulation (EU) 2024/1689; Art. 73 sets the serious-incident reporting clocks.
    EuAiAct,
    /// US OMB M-25-21 (use of AI by agencies).
    #[serde(rename = "us-omb-m-25-21")]
    UsOmbM2521,
    /// US OMB M-25-22 (acquisition of AI by agencies).
    #[serde(rename = "us-omb-m-25-22")]
    UsOmbM2522,
    /// The UK's AI regulation principles.
    Uk,
    /// India's AI governance guidelines.
    India,
}

impl Regime {
    pub fn name(self) -> &'static str {
        match self {
            Regime::EuAiAct => "eu-ai-act",
            Regime::UsOmbM2521 => "us-omb-m-25-21",
            Regime::UsOmbM2522 => "us-omb-m-25-22",
            Regime::Uk => "uk",
            Regime::India => "india",
        }
    }
}

/// Incident severities, as the regimes' clocks distinguish them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Minor,
    Serious,
    Death,
    CriticalInfrastructure,
    WidespreadInfringement,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Minor,
        Severity::Serious,
        Severity::Death,
        Severity::CriticalInfrastructure,
        Severity::WidespreadInfringement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Serious => "serious",
            Severity::Death => "death",
            Severity::CriticalInfrastructure => "critical-infrastructure",
            Severity::WidespreadInfringement => "widespread-infringement",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == name)
    }

    /// How grave it is, for "at or above": minor, then serious, then the three kinds the AI
    /// Act's Art. 73 gives shorter clocks (a death, critical infrastructure disrupted, a
    /// widespread infringement), which stand level with each other.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Minor => 0,
            Severity::Serious => 1,
            Severity::Death
            | Severity::CriticalInfrastructure
            | Severity::WidespreadInfringement => 2,
        }
    }
}

/// Data classification levels, from least to most sensitive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Classification {
    Public,
    /// Controlled unclassified information.
    Cui,
    Confidential,
    Secret,
    TopSecret,
}

impl Classification {
    /// The level's name, as contracts and policies spell it.
    pub fn name(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Cui => "cui",
            Classification::Confidential => "confidential",
            Classification::Secret => "secret",
            Classification::TopSecret => "top-secret",
        }
    }

    pub fn parse(name: &str) -> Option<Classification> {
        [
            Classification::Public,
            Classification::Cui,
            Classification::Confidential,
            Classification::Secret,
            Classification::TopSecret,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }
}

/// A range of model versions: `from` inclusive, `until` exclusive (semantic versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRange {
    pub from: String,
    pub until: String,
}

/// What every module file starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleHeader {
    pub id: String,
    pub kind: String,
    pub version: String,
    #[serde(default)]
    pub requires: BTreeMap<String, String>,
    #[serde(default)]
    pub addenda: Vec<String>,
}

/// Declares a module kind: its header fields (`id`, `kind`, `version`, `requires` on other
/// modules' versions, `addenda` it refers to) and its own terms.
macro_rules! module_kind {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The module's id, unique in the package.
            pub id: String,
            /// The module kind.
            pub kind: String,
            /// The module's semantic version.
            pub version: String,
            /// Version requirements on other modules, by id (e.g. `testing = "^1.2"`).
            #[serde(default)]
            pub requires: BTreeMap<String, String>,
            /// Sealed addenda this module refers to, by id.
            #[serde(default)]
            pub addenda: Vec<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }
    };
}

/// How a model line is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryForm {
    Api,
    Weights,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveredLine {
    /// The vendor's model line, e.g. `frontier-2`.
    pub line: String,
    pub versions: VersionRange,
    pub form: DeliveryForm,
}

module_kind! {
    /// Capability: which model lines and versions are delivered, and how.
    ModelDelivery {
        lines: Vec<DeliveredLine>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    VendorCloud,
    GovernmentCloud,
    OnPremisesEnclave,
    AirGapped,
}

module_kind! {
    /// Capability: where the model runs.
    Hosting {
        environment: Environment,
        /// e.g. `dedicated-tenant`, `single-tenant-hardware`.
        isolation: String,
        /// The most sensitive data the environment is accredited to hold.
        max_classification: Classification,
        /// Whether each deployment must present attestation evidence of its environment.
        #[serde(default)]
        attestation_required: bool,
        /// The AMD SEV-SNP launch measurements (96 lowercase hex digits each) the environment
        /// may run: when given, only a report verified against AMD's certificate chain whose
        /// measurement is one of these satisfies the gate.
        #[serde(default)]
        measurements: Vec<String>,
    }
}

impl Environment {
    /// The most sensitive data an environment of this class may hold on its operator's word
    /// alone; above it, only attestation verified in hardware (SEV-SNP) satisfies the gate.
    pub fn self_declared_ceiling(self) -> Classification {
        match self {
            Environment::VendorCloud => Classification::Cui,
            Environment::GovernmentCloud | Environment::OnPremisesEnclave => Classification::Secret,
            Environment::AirGapped => Classification::TopSecret,
        }
    }
}

module_kind! {
    /// Capability: how new model versions arrive.
    Updates {
        /// e.g. `api-version`, `weights-release`.
        channel: String,
        /// Days of notice before a new version enters service.
        notice_days: u32,
        /// Whether the agency may pin a version.
        pinning: bool,
        /// Days a superseded version stays available.
        deprecation_days: u32,
        /// What the ledger does with a version announced on shorter notice: `flag` records it
        /// and leaves the gate unmet; `reject` refuses the announcement.
        #[serde(default)]
        short_notice: ShortNotice,
    }
}

/// What happens to a model version announced on shorter notice than the contract requires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ShortNotice {
    /// Record it; the gate's notice requirement stays unmet.
    #[default]
    Flag,
    /// Refuse the announcement.
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    AtLeast,
    AtMost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub suite: String,
    pub metric: String,
    pub threshold: f64,
    pub comparison: Comparison,
    /// Jurisdictions whose recognised evidence suffices.
    #[serde(default)]
    pub recognised_in: Vec<String>,
    pub max_evidence_age_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoveredLine {
    pub line: String,
    pub versions: VersionRange,
}

module_kind! {
    /// Governance: what each new version must pass, and who approves it.
    TestingProtocol {
        /// The model versions the protocol applies to.
        covers: Vec<CoveredLine>,
        evaluations: Vec<Evaluation>,
        /// Parties who approve versions.
        approvers: Vec<String>,
        /// How many approvers must sign.
        approvals_required: u32,
        /// Whether a version's gate asks that every serious (or graver) incident of its line
        /// under the contract is closed, with its review, first.
        #[serde(default)]
        incidents_closed: bool,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auditor {
    pub party: String,
    pub scopes: Vec<String>,
    pub notice_days: u32,
    /// Whether the auditor may read usage records.
    #[serde(default)]
    pub usage_records: bool,
}

module_kind! {
    /// Governance: who may audit what, on what notice.
    AuditRights {
        auditors: Vec<Auditor>,
    }
}

/// Which version a rollback returns to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fallback {
    /// The last version approved before the one rolled back.
    LastApproved,
    /// A fixed version.
    Pinned { line: String, version: String },
}

/// Who rolls a deployment back on an incident at the trigger severity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RollbackApproval {
    /// The ledger, on the write path of the incident's report.
    #[default]
    Automatic,
    /// A named party of the contract, within `max_hours`.
    Approver { party: String },
}

/// What a supply-chain-risk designation does to a running deployment whose version depends on
/// what it designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnDesignation {
    /// Nothing: the deployment runs on (new approvals are refused all the same).
    #[default]
    Continue,
    /// No version serves until an agency activates one.
    Suspend,
    /// Back to the fallback, if it does not depend on what is designated; else suspended.
    RollBack,
}

module_kind! {
    /// Governance: when and how fast to roll back, and to what.
    Rollback {
        triggers: Vec<String>,
        max_hours: u32,
        fallback: Fallback,
        /// An incident at or above this severity rolls the deployment back (none: incidents
        /// set off no rollback of themselves).
        #[serde(default)]
        trigger_severity: Option<Severity>,
        /// Who rolls back on such an incident.
        #[serde(default)]
        approval: RollbackApproval,
        /// What a supply-chain-risk designation in force does to a running deployment.
        #[serde(default)]
        on_designation: OnDesignation,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub severity: Severity,
    /// Parties to tell.
    pub notify: Vec<String>,
    /// Hours from awareness to notification.
    pub within_hours: u32,
}

module_kind! {
    /// Governance: who is told of an incident, within what deadline.
    IncidentEscalation {
        /// Regimes whose reporting clocks apply, beyond the contract's.
        #[serde(default)]
        regimes: Vec<Regime>,
        steps: Vec<EscalationStep>,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarmCategory {
    pub harm: String,
    /// Percent of the liability each party bears, by ledger id; they sum to 100.
    pub shares: BTreeMap<String, u32>,
    /// A cap: an amount, or (as older contracts have it) words, which nothing can compute.
    #[serde(default)]
    pub cap: Option<Cap>,
}

/// A liability cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Cap {
    Amount(Amount),
    Words(String),
}

/// An amount of money a party's liability is capped at: per incident and over the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// In whole units of the currency.
    pub per_incident: u64,
    pub aggregate: u64,
}

/// A supplier upstream of a party of the contract (e.g. the vendor's model provider): a fault
/// in what it supplies is allocated through the party it supplies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    /// The supplier, by ledger id (a party with the `supplier` or `integrator` role).
    pub party: String,
    /// The party of the contract it supplies.
    pub through: String,
    /// Its cap toward that party.
    #[serde(default)]
    pub cap: Option<Amount>,
}

/// The components a root cause can be found in.
pub const COMPONENTS: [&str; 5] = [
    "model",
    "integration",
    "integrator-system",
    "agency-use",
    "data",
];

module_kind! {
    /// Governance: who bears what share of each kind of harm, and of a fault in each component.
    Liability {
        categories: Vec<HarmCategory>,
        /// Who bears a fault found in each component (`model`, `integration`,
        /// `integrator-system`, `agency-use`, `data`): party → percent, summing to 100.
        #[serde(default)]
        components: BTreeMap<String, BTreeMap<String, u32>>,
        /// Each party's cap, by ledger id.
        #[serde(default)]
        caps: BTreeMap<String, Amount>,
        /// Suppliers upstream of the parties, and whom they supply.
        #[serde(default)]
        suppliers: Vec<Supplier>,
        /// The parties whose finding of an incident's root cause allocates liability.
        #[serde(default)]
        findings_by: Vec<String>,
    }
}

module_kind! {
    /// Governance: what the model may be used for, as Cedar policies.
    UseRestrictions {
        /// The `.cedar` files, relative to the package.
        policies: Vec<String>,
        /// Every purpose a request under the contract may state, prohibited ones included: a
        /// request for any other purpose is refused, whatever a policy permits.
        #[serde(default)]
        purposes: Vec<String>,
    }
}

module_kind! {
    /// Governance: what data may go in, where it lives, how long, and what it may be used for.
    DataHandling {
        classifications: Vec<Classification>,
        /// ISO 3166 codes where data may reside.
        residency: Vec<String>,
        retention_days: u32,
        /// Whether the vendor may train on government data; no unless stated.
        #[serde(default)]
        training_on_government_data: bool,
        /// How the agency takes its data, prompts, outputs and fine-tuned artefacts elsewhere
        /// (against lock-in).
        #[serde(default)]
        portability: Option<String>,
    }
}

/// How much each user and the agency may ask of a deployment, per minute and per day; a term
/// left out is not limited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    #[serde(default)]
    pub requests_per_user_per_minute: Option<u64>,
    #[serde(default)]
    pub requests_per_user_per_day: Option<u64>,
    #[serde(default)]
    pub tokens_per_user_per_day: Option<u64>,
    #[serde(default)]
    pub requests_per_agency_per_minute: Option<u64>,
    #[serde(default)]
    pub requests_per_agency_per_day: Option<u64>,
    #[serde(default)]
    pub tokens_per_agency_per_day: Option<u64>,
}

/// What the vendor's service must achieve, measured from the gateway's records over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTargets {
    /// Percent of allowed calls the provider answers (not an upstream error).
    pub availability_percent: f64,
    /// Latency percentiles of answered calls, milliseconds, as the gateway measured them.
    pub p50_ms: u64,
    pub p99_ms: u64,
    /// The window the targets are measured over, in days.
    pub window_days: u32,
}

module_kind! {
    /// Capability: the capacity the agency buys and the service levels the vendor owes,
    /// enforced and measured at the gateway.
    ServiceLevels {
        #[serde(default)]
        capacity: Capacity,
        #[serde(default)]
        targets: Option<ServiceTargets>,
    }
}

/// A parsed module, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Module {
    ModelDelivery(ModelDelivery),
    Hosting(Hosting),
    Updates(Updates),
    TestingProtocol(TestingProtocol),
    AuditRights(AuditRights),
    Rollback(Rollback),
    IncidentEscalation(IncidentEscalation),
    Liability(Liability),
    UseRestrictions(UseRestrictions),
    DataHandling(DataHandling),
    ServiceLevels(ServiceLevels),
}

/// The module kinds: name, whether capability or governance, and JSON Schema.
pub const MODULE_KINDS: [(&str, &str); 11] = [
    ("model-delivery", "capability"),
    ("hosting", "capability"),
    ("updates", "capability"),
    ("testing-protocol", "governance"),
    ("audit-rights", "governance"),
    ("rollback", "governance"),
    ("incident-escalation", "governance"),
    ("liability", "governance"),
    ("use-restrictions", "governance"),
    ("data-handling", "governance"),
    ("service-levels", "capability"),
];

/// The JSON Schema of a module kind, or of `contract.toml` for `contract`.
pub fn schema(kind: &str) -> Option<serde_json::Value> {
    let schema = match kind {
        "contract" => schemars::schema_for!(ContractFile),
        "model-delivery" => schemars::schema_for!(ModelDelivery),
        "hosting" => schemars::schema_for!(Hosting),
        "updates" => schemars::schema_for!(Updates),
        "testing-protocol" => schemars::schema_for!(TestingProtocol),
        "audit-rights" => schemars::schema_for!(AuditRights),
        "rollback" => schemars::schema_for!(Rollback),
        "incident-escalation" => schemars::schema_for!(IncidentEscalation),
        "liability" => schemars::schema_for!(Liability),
        "use-restrictions" => schemars::schema_for!(UseRestrictions),
        "data-handling" => schemars::schema_for!(DataHandling),
        "service-levels" => schemars::schema_for!(ServiceLevels),
        _ => return None,
    };
    serde_json::to_value(schema).ok()
}
