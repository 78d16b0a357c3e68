//! The entry kinds: their predicate types, predicate shapes and JSON Schemas.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::designation::{
    DesignationAppealed, DesignationDecided, DesignationIssued, DesignationLifted,
};
use crate::federation::{CoalitionPublished, EvidenceMirrored};
use crate::gateway::{CredentialIssued, CredentialRevoked, GatewayAuthorized};
use crate::incident::{
    IncidentClosed, IncidentNotified, IncidentReported, IncidentUpdated, LiabilityFound,
};

/// Every Concordat predicate type is this prefix, the kind's name, `/v` and a version.
pub const PREDICATE_TYPE_PREFIX: &str = "https://concordat.dev/entry/";

/// A party's roles in engagements.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agency,
    Vendor,
    Lab,
    Auditor,
    Overseer,
    Witness,
    Operator,
    /// An enforcement gateway: it decides every model request against a contract and signs
    /// the deployment's usage batches.
    Gateway,
    /// Builds the system the model runs in for an agency (a component a contract names).
    Integrator,
    /// Supplies a party of a contract from upstream, e.g. the model the vendor serves.
    Supplier,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Agency,
        Role::Vendor,
        Role::Lab,
        Role::Auditor,
        Role::Overseer,
        Role::Witness,
        Role::Operator,
        Role::Gateway,
        Role::Integrator,
        Role::Supplier,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Agency => "agency",
            Role::Vendor => "vendor",
            Role::Lab => "lab",
            Role::Auditor => "auditor",
            Role::Overseer => "overseer",
            Role::Witness => "witness",
            Role::Operator => "operator",
            Role::Gateway => "gateway",
            Role::Integrator => "integrator",
            Role::Supplier => "supplier",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

/// A new party joins the ledger. Signed by an operator; the very first entry of a ledger
/// registers the operator itself, signed by its own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyRegistered {
    /// The party's ledger id: lowercase letters, digits and `-`, at most 63 characters.
    pub party: String,
    /// The name people know the party by.
    pub name: String,
    pub roles: Vec<Role>,
    /// ISO 3166 codes (`US`, `GB`, `IN`, `US-CA`) or `EU`.
    #[serde(default)]
    pub jurisdictions: Vec<String>,
    /// Public keys: PEM `PUBLIC KEY` (Ed25519 or ECDSA P-256) or C2SP verifier-key text.
    pub keys: Vec<String>,
    /// How the public reaches the party: an e-mail address or an `https://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Only in a ledger's first entry: the terms the ledger runs on, signed by its operator
    /// and so read from here, never from the database's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceTerms>,
}

/// What changes a ledger's rules, fixed when it is created and recorded in its first entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceTerms {
    /// Always `concordat-ledger`.
    pub kind: String,
    /// Whose clock entries' own times are checked against.
    pub clock: ClockMode,
}

/// The value of [`InstanceTerms::kind`].
pub const LEDGER_KIND: &str = "concordat-ledger";

/// Whose clock entries' own times (`at`) are checked against when they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// The machine's: an entry's `at` must be within minutes of the time it is written.
    System,
    /// None: entries may carry any time that keeps the ledger's time moving forward. For
    /// demos and rehearsals, and shown to everyone who reads the log.
    Simulated,
}

impl InstanceTerms {
    pub fn ledger(clock: ClockMode) -> InstanceTerms {
        InstanceTerms {
            kind: LEDGER_KIND.to_owned(),
            clock,
        }
    }
}

/// A party adds a key. Signed by the party or an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAdded {
    pub party: String,
    pub key: String,
}

/// A party replaces a key: the old one stops signing, the new one starts. Signed by the party
/// or an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotated {
    pub party: String,
    /// The key ID (hex SHA-256 of the SPKI DER) of the key being replaced.
    pub old_keyid: String,
    pub new_key: String,
}

/// A key is revoked: entries it signs from now on are rejected; what it signed before stays
/// valid. Signed by the party or an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    pub party: String,
    pub keyid: String,
    pub reason: String,
}

/// A party's public, signed declaration: a supply-chain designation notice, a disclosure, a
/// position. Parties named in `cosigners` must sign it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyStatement {
    pub party: String,
    /// What the statement is about, e.g. `supply-chain-designation` or `disclosure`.
    pub topic: String,
    pub text: String,
    #[serde(default)]
    pub cosigners: Vec<String>,
    /// When the party made it, RFC 3339. A ledger logs a statement once; the time is what lets
    /// a party say the same words again later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A contract enters the ledger: its public package, every file, and the digest of them all.
/// Valid only when every party of the contract has signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPublished {
    /// The contract's id, as in its contract.toml.
    pub contract: String,
    pub version: String,
    /// `sha256:<hex>` of the files (see [`crate::contract::package_digest`]).
    pub digest: String,
    /// The public package: path → text (contract.toml, modules/*.toml, policies/*.cedar).
    pub files: std::collections::BTreeMap<String, String>,
}

/// A new version of a published contract. Every party signs; the ledger records what changed.
pub type ContractAmended = ContractPublished;

/// A classified addendum is sealed after publication: only its commitment is public. Signed
/// by a party of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddendumSealed {
    pub contract: String,
    pub id: String,
    pub title: String,
    pub classification: String,
    pub commitment: String,
}

/// A sealed addendum's text is made public (declassified); it must open the commitment.
/// Signed by a party of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddendumDisclosed {
    pub contract: String,
    pub id: String,
    /// The salt, 64 hex digits.
    pub salt: String,
    pub text: String,
}

/// A party names the HTTPS endpoint the instance delivers its notifications to (the duties it
/// owes, the designations that concern it), as webhooks signed with the operator's key.
/// Signed by the party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRegistered {
    pub party: String,
    /// `https://…` (or `http://` to a loopback host).
    pub url: String,
    pub at: String,
}

/// The kinds of entry the ledger accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    PartyRegistered,
    KeyAdded,
    KeyRotated,
    KeyRevoked,
    PartyStatement,
    ContractPublished,
    ContractAmended,
    AddendumSealed,
    AddendumDisclosed,
    ModelVersionRegistered,
    EvidenceRecorded,
    RecognitionPublished,
    VersionApproved,
    VersionRevoked,
    HostingAttested,
    DeploymentActivated,
    DeploymentRolledBack,
    RestrictedRead,
    UsageRecorded,
    CredentialIssued,
    CredentialRevoked,
    GatewayAuthorized,
    IncidentReported,
    IncidentUpdated,
    IncidentNotified,
    IncidentClosed,
    LiabilityFound,
    DesignationIssued,
    DesignationAppealed,
    DesignationDecided,
    DesignationLifted,
    EndpointRegistered,
    CoalitionPublished,
    EvidenceMirrored,
}

impl Kind {
    pub const ALL: [Kind; 34] = [
        Kind::PartyRegistered,
        Kind::KeyAdded,
        Kind::KeyRotated,
        Kind::KeyRevoked,
        Kind::PartyStatement,
        Kind::ContractPublished,
        Kind::ContractAmended,
        Kind::AddendumSealed,
        Kind::AddendumDisclosed,
        Kind::ModelVersionRegistered,
        Kind::EvidenceRecorded,
        Kind::RecognitionPublished,
        Kind::VersionApproved,
        Kind::VersionRevoked,
        Kind::HostingAttested,
        Kind::DeploymentActivated,
        Kind::DeploymentRolledBack,
        Kind::RestrictedRead,
        Kind::UsageRecorded,
        Kind::CredentialIssued,
        Kind::CredentialRevoked,
        Kind::GatewayAuthorized,
        Kind::IncidentReported,
        Kind::IncidentUpdated,
        Kind::IncidentNotified,
        Kind::IncidentClosed,
        Kind::LiabilityFound,
        Kind::DesignationIssued,
        Kind::DesignationAppealed,
        Kind::DesignationDecided,
        Kind::DesignationLifted,
        Kind::EndpointRegistered,
        Kind::CoalitionPublished,
        Kind::EvidenceMirrored,
    ];

    /// The kind's name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PartyRegistered => "party-registered",
            Kind::KeyAdded => "key-added",
            Kind::KeyRotated => "key-rotated",
            Kind::KeyRevoked => "key-revoked",
            Kind::PartyStatement => "party-statement",
            Kind::ContractPublished => "contract-published",
            Kind::ContractAmended => "contract-amended",
            Kind::AddendumSealed => "addendum-sealed",
            Kind::AddendumDisclosed => "addendum-disclosed",
            Kind::ModelVersionRegistered => "model-version-registered",
            Kind::EvidenceRecorded => "evidence-recorded",
            Kind::RecognitionPublished => "recognition-published",
            Kind::VersionApproved => "version-approved",
            Kind::VersionRevoked => "version-revoked",
            Kind::HostingAttested => "hosting-attested",
            Kind::DeploymentActivated => "deployment-activated",
            Kind::DeploymentRolledBack => "deployment-rolled-back",
            Kind::RestrictedRead => "restricted-read",
            Kind::UsageRecorded => "usage-recorded",
            Kind::CredentialIssued => "credential-issued",
            Kind::CredentialRevoked => "credential-revoked",
            Kind::GatewayAuthorized => "gateway-authorized",
            Kind::IncidentReported => "incident-reported",
            Kind::IncidentUpdated => "incident-updated",
            Kind::IncidentNotified => "incident-notified",
            Kind::IncidentClosed => "incident-closed",
            Kind::LiabilityFound => "liability-found",
            Kind::DesignationIssued => "designation-issued",
            Kind::DesignationAppealed => "designation-appealed",
            Kind::DesignationDecided => "designation-decided",
            Kind::DesignationLifted => "designation-lifted",
            Kind::EndpointRegistered => "endpoint-registered",
            Kind::CoalitionPublished => "coalition-published",
            Kind::EvidenceMirrored => "evidence-mirrored",
        }
    }

    pub fn version(self) -> u32 {
        1
    }

    pub fn predicate_type(self) -> String {
        format!("{PREDICATE_TYPE_PREFIX}{}/v{}", self.name(), self.version())
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::PartyRegistered => "a party joins the ledger (signed by an operator)",
            Kind::KeyAdded => "a party adds a signing key (signed by the party or an operator)",
            Kind::KeyRotated => "a party replaces a key (signed by the party or an operator)",
            Kind::KeyRevoked => "a key stops signing (signed by the party or an operator)",
            Kind::PartyStatement => "a party's public declaration (signed by it and its cosigners)",
            Kind::ContractPublished => "a contract's public package (signed by every party)",
            Kind::ContractAmended => {
                "a new version of a contract (signed by every party; the diff is recorded)"
            }
            Kind::AddendumSealed => {
                "a classified addendum's commitment (signed by a party of the contract)"
            }
            Kind::AddendumDisclosed => {
                "a sealed addendum's text made public (signed by a party of the contract)"
            }
            Kind::ModelVersionRegistered => {
                "a vendor announces a model version for its contracts (signed by the vendor)"
            }
            Kind::EvidenceRecorded => {
                "an evaluation result about a model version (signed by the lab that ran it)"
            }
            Kind::RecognitionPublished => {
                "which labs, suites and assurance a jurisdiction recognises (signed by its authority)"
            }
            Kind::VersionApproved => {
                "an approver approves a model version under a contract (only when the gate is met)"
            }
            Kind::VersionRevoked => {
                "a model version is withdrawn from a contract (signed by its vendor or an agency)"
            }
            Kind::HostingAttested => {
                "the vendor attests the hosting environment a contract requires"
            }
            Kind::DeploymentActivated => {
                "an approved version enters service in a deployment (signed by an agency of the contract)"
            }
            Kind::DeploymentRolledBack => {
                "a deployment returns to its previous approved version (signed by a party of the contract)"
            }
            Kind::RestrictedRead => {
                "a restricted read the server answered: who read what (signed by an operator)"
            }
            Kind::UsageRecorded => {
                "a batch of a deployment's usage: the decisions' counts by clause in public, the records by digest (signed by a party of the contract or its gateway)"
            }
            Kind::CredentialIssued => {
                "an agency gives one of its users an API key for a contract's gateway (only the key's hash is recorded)"
            }
            Kind::CredentialRevoked => {
                "an agency revokes an API key it issued (every gateway refuses it at once)"
            }
            Kind::GatewayAuthorized => {
                "an agency names the gateway that enforces a deployment and records its usage"
            }
            Kind::IncidentReported => {
                "a party of the contract or an authority reports incidents in a deployment (their clocks start; a grave one may roll it back)"
            }
            Kind::IncidentUpdated => {
                "what became known about an incident: severity, harms, techniques, usage, evidence"
            }
            Kind::IncidentNotified => {
                "a party tells another party, or a regime's authority, of an incident (meets a notification duty)"
            }
            Kind::IncidentClosed => {
                "an incident is closed: the review, the remediation and any redress (signed by a party of the contract)"
            }
            Kind::LiabilityFound => {
                "an incident's root-cause component and damages, from which the contract allocates who pays (signed by a party it names)"
            }
            Kind::DesignationIssued => {
                "an authority designates a party or a model line a supply-chain risk, with its grounds, scope and appeal window"
            }
            Kind::DesignationAppealed => {
                "the designated party appeals a designation within its window"
            }
            Kind::DesignationDecided => {
                "the authority decides an appeal: upheld (the designation is lifted) or dismissed"
            }
            Kind::DesignationLifted => "the authority lifts a designation",
            Kind::EndpointRegistered => {
                "a party names the HTTPS endpoint its notifications are delivered to (signed by the party)"
            }
            Kind::CoalitionPublished => {
                "an operator names the coalition's member logs and the witness policy each must meet"
            }
            Kind::EvidenceMirrored => {
                "evidence another coalition member logged, with its witness-cosigned inclusion proof"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn from_predicate_type(predicate_type: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.predicate_type() == predicate_type)
    }

    /// The JSON Schema of the kind's predicate.
    pub fn schema(self) -> serde_json::Value {
        let schema = match self {
            Kind::PartyRegistered => schemars::schema_for!(PartyRegistered),
            Kind::KeyAdded => schemars::schema_for!(KeyAdded),
            Kind::KeyRotated => schemars::schema_for!(KeyRotated),
            Kind::KeyRevoked => schemars::schema_for!(KeyRevoked),
            Kind::PartyStatement => schemars::schema_for!(PartyStatement),
            Kind::ContractPublished | Kind::ContractAmended => {
                schemars::schema_for!(ContractPublished)
            }
            Kind::AddendumSealed => schemars::schema_for!(AddendumSealed),
            Kind::AddendumDisclosed => schemars::schema_for!(AddendumDisclosed),
            Kind::ModelVersionRegistered => schemars::schema_for!(ModelVersionRegistered),
            Kind::EvidenceRecorded => schemars::schema_for!(EvidenceRecorded),
            Kind::RecognitionPublished => schemars::schema_for!(RecognitionPublished),
            Kind::VersionApproved => schemars::schema_for!(VersionApproved),
            Kind::VersionRevoked => schemars::schema_for!(VersionRevoked),
            Kind::HostingAttested => schemars::schema_for!(HostingAttested),
            Kind::DeploymentActivated => schemars::schema_for!(DeploymentActivated),
            Kind::DeploymentRolledBack => schemars::schema_for!(DeploymentRolledBack),
            Kind::RestrictedRead => schemars::schema_for!(RestrictedRead),
            Kind::UsageRecorded => schemars::schema_for!(UsageRecorded),
            Kind::CredentialIssued => schemars::schema_for!(CredentialIssued),
            Kind::CredentialRevoked => schemars::schema_for!(CredentialRevoked),
            Kind::GatewayAuthorized => schemars::schema_for!(GatewayAuthorized),
            Kind::IncidentReported => schemars::schema_for!(IncidentReported),
            Kind::IncidentUpdated => schemars::schema_for!(IncidentUpdated),
            Kind::IncidentNotified => schemars::schema_for!(IncidentNotified),
            Kind::IncidentClosed => schemars::schema_for!(IncidentClosed),
            Kind::LiabilityFound => schemars::schema_for!(LiabilityFound),
            Kind::DesignationIssued => schemars::schema_for!(DesignationIssued),
            Kind::DesignationAppealed => schemars::schema_for!(DesignationAppealed),
            Kind::DesignationDecided => schemars::schema_for!(DesignationDecided),
            Kind::DesignationLifted => schemars::schema_for!(DesignationLifted),
            Kind::EndpointRegistered => schemars::schema_for!(EndpointRegistered),
            Kind::CoalitionPublished => schemars::schema_for!(CoalitionPublished),
            Kind::EvidenceMirrored => schemars::schema_for!(EvidenceMirrored),
        };
        serde_json::to_value(schema).unwrap_or_default()
    }
}

/// How a model version is delivered: an API version or weights.
pub use crate::contract::DeliveryForm;

/// A vendor announces a model version for its contracts: the notice the contract's `updates`
/// module counts from. Signed by the vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelVersionRegistered {
    /// The vendor, by ledger id.
    pub vendor: String,
    /// The model line, e.g. `vision-analyst`. A line belongs to the vendor that first
    /// registers a version of it.
    pub line: String,
    /// The version label: a semantic version.
    pub version: String,
    pub form: DeliveryForm,
    /// `sha256:<hex>` identifying the version: the root digest of its OpenSSF model-signing
    /// manifest (weights), or the vendor's fingerprint of the hosted version (API).
    pub digest: String,
    /// The provider's identifier of the hosted version (required for API delivery).
    #[serde(default)]
    pub api_version: Option<String>,
    pub release_notes: String,
    /// The day the version is meant to enter service, `YYYY-MM-DD`.
    pub service_from: String,
    /// The contracts the version is offered under, by id.
    pub contracts: Vec<String>,
    /// When the notice is given (RFC 3339).
    pub at: String,
    /// The models and datasets the version is built from, as the vendor declares them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<Upstream>,
}

/// A model or dataset a version is built from, as its vendor declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub kind: UpstreamKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `sha256:<hex>`, when the vendor knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Who supplies it: a party's ledger id, or a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
}

/// What an upstream component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamKind {
    Model,
    Dataset,
}

impl UpstreamKind {
    pub fn name(self) -> &'static str {
        match self {
            UpstreamKind::Model => "model",
            UpstreamKind::Dataset => "dataset",
        }
    }
}

/// The most upstream components one version may declare.
pub const UPSTREAM_MAX: usize = 64;

/// How independent a piece of evidence is, from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Assurance {
    /// The vendor tested its own model.
    SelfAttested,
    /// A lab independent of the vendor ran the evaluation.
    ThirdParty,
    /// A lab independent of the vendor re-ran an evaluation and reproduced its result.
    Reproduced,
}

impl Assurance {
    pub fn name(self) -> &'static str {
        match self {
            Assurance::SelfAttested => "self-attested",
            Assurance::ThirdParty => "third-party",
            Assurance::Reproduced => "reproduced",
        }
    }

    pub fn parse(name: &str) -> Option<Assurance> {
        [
            Assurance::SelfAttested,
            Assurance::ThirdParty,
            Assurance::Reproduced,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// The model version a statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub line: String,
    pub version: String,
}

/// The harness that ran an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Harness {
    /// e.g. `inspect-ai`, `lm-evaluation-harness`.
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

/// An evaluation result about a model version, signed by the lab that ran it. The statement's
/// subjects are the model version's digest and the SHA-256 of the evaluation log. The predicate
/// follows the in-toto convention of camelCase fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EvidenceRecorded {
    /// The party that ran the evaluation and signs it.
    pub lab: String,
    pub model: ModelRef,
    /// The evaluation suite, as testing protocols name it.
    pub suite: String,
    pub harness: Harness,
    /// The harness's task name.
    #[serde(default)]
    pub task: Option<String>,
    /// The dataset evaluated on.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Metric name → value. Empty when the result is sealed.
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Samples scored.
    pub samples: u64,
    /// The run's status as the harness reported it (`success`, `error`, ...).
    pub status: String,
    /// When the evaluation ran (RFC 3339).
    pub evaluated_at: String,
    pub assurance: Assurance,
    /// The jurisdiction the evaluation was produced for (ISO 3166 or `EU`).
    pub produced_for: String,
    /// A government test whose result is classified: `sha256:` commitment to the result. The
    /// test is disclosed; only its result is sealed.
    #[serde(default)]
    pub sealed_result: Option<String>,
    /// When the lab submits it (RFC 3339).
    pub at: String,
}

/// An authority says which labs' evidence its jurisdiction accepts, for which suites, at what
/// assurance and age. Signed by the authority (an agency or overseer of that jurisdiction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionPublished {
    pub authority: String,
    /// One of the authority's jurisdictions.
    pub jurisdiction: String,
    /// Recognised labs, by ledger id.
    pub labs: Vec<String>,
    /// Recognised suites or methods.
    pub suites: Vec<String>,
    pub min_assurance: Assurance,
    pub max_evidence_age_days: u32,
    pub at: String,
}

/// An approver of a contract's testing protocol approves a model version for service under
/// it. Accepted only when every other requirement of the gate is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionApproved {
    pub approver: String,
    pub contract: String,
    pub model: ModelRef,
    pub at: String,
}

/// A model version is withdrawn from a contract: it may no longer be approved or activated.
/// Signed by the vendor or an agency of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRevoked {
    pub party: String,
    pub contract: String,
    pub model: ModelRef,
    pub reason: String,
    pub at: String,
}

/// The vendor attests the hosting environment a contract requires (its attestation report is
/// identified by digest). Signed by the vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostingAttested {
    pub party: String,
    pub contract: String,
    pub environment: crate::contract::Environment,
    /// `sha256:<hex>` of the attestation report.
    pub report: String,
    pub description: String,
    pub at: String,
    /// The report itself, when it is one the instance verifies (AMD SEV-SNP): without it, the
    /// attestation is the vendor's word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<HostingEvidence>,
}

/// A hardware attestation report and the certificate of the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostingEvidence {
    /// `sev-snp`: an AMD SEV-SNP attestation report.
    pub format: String,
    /// The processor generation whose AMD root and signing keys certify the VCEK: `milan`,
    /// `genoa` or `turin`.
    pub processor: String,
    /// The report's bytes, base64.
    pub report: String,
    /// The VCEK certificate (DER), base64.
    pub vcek: String,
    /// The report's launch measurement, 96 lowercase hex digits (checked against the report).
    pub measurement: String,
}

/// The one hardware attestation format the instance verifies.
pub const SEV_SNP: &str = "sev-snp";

/// An approved version becomes the one in service for a deployment. Signed by an agency of the
/// contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentActivated {
    pub party: String,
    pub contract: String,
    /// The deployment's name within the contract, e.g. `analyst-workbench`.
    pub deployment: String,
    pub model: ModelRef,
    pub at: String,
}

/// A deployment returns to its previous approved version in one step; who and why are
/// recorded. Signed by a party of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRolledBack {
    pub party: String,
    pub contract: String,
    pub deployment: String,
    pub reason: String,
    pub at: String,
    /// The incident the rollback answers (its `rollback` duty is then met by this entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// A restricted read the server answered (a sealed addendum's text, records within an
/// auditor's scope): who read what, and when. Signed by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictedRead {
    /// The party whose credential was used.
    pub reader: String,
    /// The credential: `token ID` (a bearer token) or `key KEYID` (a signed request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// What was read, e.g. `contract/defense-imagery-analysis/addendum/annex-c`.
    pub resource: String,
    pub at: String,
    /// 32 random hex digits naming this read: two reads of one resource within a second are
    /// two entries, and neither is a replay of the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
}

/// A batch of a deployment's usage: what its gateway was asked and what the contract's use
/// restrictions answered. The counts are public; the records themselves (one JSON object a
/// line) are identified by digest and served only to the auditors whose scope includes
/// `usage-records`. Signed by the party of the contract that ran the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageRecorded {
    pub party: String,
    pub contract: String,
    pub deployment: String,
    /// The first and the last decision's time, RFC 3339.
    pub from: String,
    pub to: String,
    pub records: u64,
    pub allowed: u64,
    pub denied: u64,
    /// How many decisions each clause made (a denial by default counts under no clause).
    pub clauses: std::collections::BTreeMap<String, u64>,
    /// `sha256:<hex>` of the records file.
    pub digest: String,
    pub at: String,
    /// How many calls ended each way (`served`, `denied`, `unauthenticated`, ...), when a
    /// gateway made the records.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// Tokens the model read and wrote over the batch, when a gateway made the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenCounts>,
    /// How long the served calls took, as the gateway measured them: how many fell in each of
    /// [`LATENCY_BUCKETS_MS`] (at most that many milliseconds), and one more count for slower.
    /// Batches' counts add up, so a service level holds or not over any window of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_ms: Vec<u64>,
}

/// The upper bounds, in milliseconds, of the latency counts a usage batch states.
pub const LATENCY_BUCKETS_MS: [u64; 15] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
];

/// Tokens in and out, as the model's provider counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCounts {
    pub prompt: u64,
    pub completion: u64,
}

/// A typed predicate of an entry kind: what an entry of [`Predicate::KIND`] says, as `apply`
/// reads it. Entries are built from these types, never from untyped JSON.
pub trait Predicate: Serialize + serde::de::DeserializeOwned {
    const KIND: Kind;
}

macro_rules! predicates {
    ($($predicate:ty => $kind:ident),* $(,)?) => {
        $(impl Predicate for $predicate { const KIND: Kind = Kind::$kind; })*

        impl Kind {
            /// Checks that `predicate` has this kind's shape, by reading it as the ledger will,
            /// so a field error shows before anything is signed.
            pub fn check_predicate(self, predicate: &serde_json::Value) -> Result<(), String> {
                fn read<P: Predicate>(value: &serde_json::Value) -> Result<(), String> {
                    P::deserialize(value).map(|_| ()).map_err(|e| format!("predicate: {e}"))
                }
                match self {
                    // An amendment has a publication's shape.
                    Kind::ContractAmended => read::<ContractPublished>(predicate),
                    $(Kind::$kind => read::<$predicate>(predicate),)*
                }
            }
        }
    };
}

predicates! {
    PartyRegistered => PartyRegistered,
    KeyAdded => KeyAdded,
    KeyRotated => KeyRotated,
    KeyRevoked => KeyRevoked,
    PartyStatement => PartyStatement,
    ContractPublished => ContractPublished,
    AddendumSealed => AddendumSealed,
    AddendumDisclosed => AddendumDisclosed,
    ModelVersionRegistered => ModelVersionRegistered,
    EvidenceRecorded => EvidenceRecorded,
    RecognitionPublished => RecognitionPublished,
    VersionApproved => VersionApproved,
    VersionRevoked => VersionRevoked,
    HostingAttested => HostingAttested,
    DeploymentActivated => DeploymentActivated,
    DeploymentRolledBack => DeploymentRolledBack,
    RestrictedRead => RestrictedRead,
    UsageRecorded => UsageRecorded,
    CredentialIssued => CredentialIssued,
    CredentialRevoked => CredentialRevoked,
    GatewayAuthorized => GatewayAuthorized,
    IncidentReported => IncidentReported,
    IncidentUpdated => IncidentUpdated,
    IncidentNotified => IncidentNotified,
    IncidentClosed => IncidentClosed,
    LiabilityFound => LiabilityFound,
    DesignationIssued => DesignationIssued,
    DesignationAppealed => DesignationAppealed,
    DesignationDecided => DesignationDecided,
    DesignationLifted => DesignationLifted,
    EndpointRegistered => EndpointRegistered,
    CoalitionPublished => CoalitionPublished,
    EvidenceMirrored => EvidenceMirrored,
}
