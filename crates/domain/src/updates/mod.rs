//! Update governance: model versions under contracts, the evidence about them, which
//! jurisdictions recognise which labs, the gate a version must pass, and deployments.
//!
//! A version moves registered → approved → active → superseded | rolled back | revoked, per
//! contract. Approval entries are accepted only when [`evaluate`] finds every other requirement
//! met; activation only for approved versions; a rollback returns a deployment to its previous
//! approved version in one entry.

mod gate;
mod report;
mod rules;
pub mod time;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::{
    ContractFile, DeliveryForm, Environment, Hosting, ModelDelivery, Module, Package, Rollback,
    TestingProtocol, Updates,
};
use crate::kinds::{Assurance, Harness};

pub use gate::{Gate, GateError, Requirement, evaluate};
pub use report::{ContractReuse, Reuse, recognition_report};
pub(crate) use rules::{
    RollBack, clock as clock_of, contract_party, evidence_of,
    require_signer as require_party_signer, roll_back,
};
pub(crate) use rules::{
    deployment_activated, deployment_rolled_back, evidence_recorded, hosting_attested,
    model_version_registered, recognition_published, usage_recorded, version_approved,
    version_revoked,
};

/// The key of a model version: `line@version`.
pub fn model_key(line: &str, version: &str) -> String {
    format!("{line}@{version}")
}

/// Where a model version stands under a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionStatus {
    /// Announced; not yet approved.
    Registered,
    /// Approved by enough approvers; may be activated.
    Approved,
    /// In service in a deployment.
    Active,
    /// Was in service; another approved version replaced it. May be activated again.
    Superseded,
    /// Taken out of service by a rollback; may not be activated again.
    RolledBack,
    /// Withdrawn; may not be approved or activated.
    Revoked,
}

impl VersionStatus {
    pub fn name(self) -> &'static str {
        match self {
            VersionStatus::Registered => "registered",
            VersionStatus::Approved => "approved",
            VersionStatus::Active => "active",
            VersionStatus::Superseded => "superseded",
            VersionStatus::RolledBack => "rolled back",
            VersionStatus::Revoked => "revoked",
        }
    }

    /// Whether a version in this status may be put into service.
    pub fn may_serve(self) -> bool {
        matches!(
            self,
            VersionStatus::Approved | VersionStatus::Active | VersionStatus::Superseded
        )
    }
}

/// An approver's approval of a version under a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub party: String,
    pub entry: u64,
    pub at: i64,
}

/// A model version as offered under one contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub contract: String,
    /// The registration entry that offered it: the notice.
    pub entry: u64,
    /// When the notice was given (unix seconds).
    pub notice_given: i64,
    /// Days between the notice and the service date.
    pub notice_days: i64,
    /// The notice the contract requires, in days.
    pub notice_required: u32,
    pub status: VersionStatus,
    pub approvals: Vec<Approval>,
    /// The entry that last changed the status, and why (for revocations and rollbacks).
    pub status_entry: u64,
    #[serde(default)]
    pub status_reason: Option<String>,
}

/// A model version, and the contracts it is offered under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub line: String,
    pub version: String,
    pub vendor: String,
    pub form: DeliveryForm,
    /// `sha256:<hex>`.
    pub digest: String,
    #[serde(default)]
    pub api_version: Option<String>,
    pub release_notes: String,
    /// `YYYY-MM-DD`.
    pub service_from: String,
    pub registered_at: u64,
    pub offers: BTreeMap<String, Offer>,
    /// The models and datasets it is built from, as its vendor declared them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<crate::kinds::Upstream>,
}

impl ModelVersion {
    pub fn key(&self) -> String {
        model_key(&self.line, &self.version)
    }

    /// The digest's hex, without `sha256:`.
    pub fn digest_hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}

/// A piece of evidence in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub entry: u64,
    pub lab: String,
    pub line: String,
    pub version: String,
    pub suite: String,
    pub harness: Harness,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub samples: u64,
    pub status: String,
    pub evaluated_at: i64,
    pub assurance: Assurance,
    pub produced_for: String,
    #[serde(default)]
    pub sealed_result: Option<String>,
    /// The lab's keys that signed it.
    pub signers: Vec<String>,
    /// The other subjects of the statement (the evaluation log): name and SHA-256.
    pub logs: Vec<(String, String)>,
    /// For evidence another member of the coalition logged: where, and how it was proved.
    /// Its `lab` is then `LAB@MEMBER` and its `signers` the key IDs the envelope names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrored: Option<crate::federation::Mirrored>,
}

/// A jurisdiction's recognition of labs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recognition {
    pub entry: u64,
    pub authority: String,
    pub jurisdiction: String,
    pub labs: Vec<String>,
    pub suites: Vec<String>,
    pub min_assurance: Assurance,
    pub max_evidence_age_days: u32,
    pub at: i64,
}

/// A vendor's attestation of a contract's hosting environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostingRecord {
    pub entry: u64,
    pub contract: String,
    pub party: String,
    pub environment: Environment,
    pub report: String,
    pub description: String,
    pub at: i64,
    /// The launch measurement of a verified SEV-SNP report; `None` for a self-declared
    /// attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<String>,
}

/// A batch of a deployment's usage as the ledger knows it: counts in public, records by
/// digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageBatch {
    pub entry: u64,
    pub party: String,
    pub contract: String,
    pub deployment: String,
    pub from: i64,
    pub to: i64,
    pub records: u64,
    pub allowed: u64,
    pub denied: u64,
    pub clauses: BTreeMap<String, u64>,
    pub digest: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outcomes: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::kinds::TokenCounts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_ms: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentAction {
    Activated,
    RolledBack,
    /// No version serves (a designation reached the one that did).
    Suspended,
}

/// One step in a deployment's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    pub entry: u64,
    pub action: DeploymentAction,
    /// The version in service after the step (`line@version`).
    pub version: String,
    /// The version in service before it.
    #[serde(default)]
    pub previous: Option<String>,
    pub party: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub at: i64,
}

/// A deployment of a contract: which version is in service, and how it got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub contract: String,
    pub name: String,
    /// The version in service (`line@version`).
    pub active: Option<String>,
    pub events: Vec<DeploymentEvent>,
}

impl Deployment {
    pub fn key(&self) -> String {
        deployment_key(&self.contract, &self.name)
    }

    /// The versions (`line@version`) in service at some time from `from` to `to` (unix
    /// seconds, both included), by the times its steps state.
    pub fn active_during(&self, from: i64, to: i64) -> Vec<&str> {
        let mut versions: Vec<&str> = Vec::new();
        let mut current: Option<&str> = None;
        for event in &self.events {
            let serving = (event.action != DeploymentAction::Suspended).then_some(&*event.version);
            if event.at <= from {
                current = serving;
            } else if event.at <= to {
                versions.extend(serving);
            }
        }
        versions.extend(current);
        versions
    }
}

pub fn deployment_key(contract: &str, name: &str) -> String {
    format!("{contract}/{name}")
}

/// The terms of a contract that update governance reads.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub contract: &'a ContractFile,
    pub delivery: Option<&'a ModelDelivery>,
    pub updates: Option<&'a Updates>,
    pub testing: Option<&'a TestingProtocol>,
    pub hosting: Option<&'a Hosting>,
    pub rollback: Option<&'a Rollback>,
}

impl<'a> Terms<'a> {
    pub fn of(package: &'a Package) -> Terms<'a> {
        let mut terms = Terms {
            contract: &package.contract,
            delivery: None,
            updates: None,
            testing: None,
            hosting: None,
            rollback: None,
        };
        for loaded in &package.modules {
            match &loaded.module {
                Module::ModelDelivery(m) => terms.delivery = Some(m),
                Module::Updates(m) => terms.updates = Some(m),
                Module::TestingProtocol(m) => terms.testing = Some(m),
                Module::Hosting(m) => terms.hosting = Some(m),
                Module::Rollback(m) => terms.rollback = Some(m),
                _ => {}
            }
        }
        terms
    }

    /// The notice a new version needs, in days: the longer of the `updates` module's and the
    /// contract's minimum.
    pub fn notice_required(&self) -> u32 {
        let module = self.updates.map_or(0, |u| u.notice_days);
        module.max(self.contract.minimum_notice_days.unwrap_or(0))
    }
}
