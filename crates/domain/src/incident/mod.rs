//! Incidents: what went wrong in a deployment, who must be told by when, and the rollback
//! the contract promises.
//!
//! A party of the contract, or an authority, reports an incident (`incident-reported`): the
//! deployment and model version, a severity on the contract's scale, harm categories (the EU AI
//! Act's Art. 3(49) (a)–(d) and the contract's own), when it occurred and when the reporter
//! became aware, a public summary (the description public, or sealed as a commitment), the
//! parties affected, MITRE ATLAS technique ids, and links to usage batches and evidence. One
//! report may cover several incidents, and an incident may have several reports.
//!
//! Each notification duty starts when the party that owes it became aware — the contract's
//! escalation steps and every named regime's deadlines ([`clocks`], the regimes' rules being
//! shipped data) — and is met by an `incident-notified` entry from that party. An incident at
//! or above the rollback module's trigger severity rolls the deployment back: on the write path
//! of the report itself when the contract says automatic, else by the named approver within the
//! module's `max_hours`. `incident-closed` records the review, remediation and redress.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::Severity;

pub mod clocks;
pub mod liability;
mod rules;

pub use rules::{HARMS, check_atlas_id};
pub(crate) use rules::{
    answered_by_rollback, incident_closed, incident_notified, incident_reported, incident_updated,
    liability_found,
};

/// A report of one or more incidents in a deployment of a contract. Signed by the reporter:
/// a party of the contract, or an authority (a party with the `overseer` role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReported {
    pub party: String,
    pub contract: String,
    /// The incidents the report covers, e.g. `inc-2027-014`: an id not yet known opens an
    /// incident; a known one adds this report to it.
    pub incidents: Vec<String>,
    pub deployment: String,
    /// The model version involved (`line@version`); when absent, the version in service when
    /// the incident occurred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub severity: Severity,
    /// Harm categories: `health-or-safety`, `critical-infrastructure`, `fundamental-rights`,
    /// `property-or-environment` (the AI Act's Art. 3(49) (a)–(d)), `cyber-security`, or a
    /// harm the contract's liability module names.
    pub harms: Vec<String>,
    pub occurred_at: String,
    /// When the reporter became aware: its duties' clocks start here.
    pub aware_at: String,
    /// What happened, in public words.
    pub summary: String,
    /// The full description, when it is public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The full description, when it is not: only its commitment is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedDescription>,
    /// Parties affected, by ledger id or in words (e.g. `civilians in the operating area`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<String>,
    /// MITRE ATLAS technique ids, e.g. `AML.T0043` or `AML.T0051.000`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub atlas: Vec<String>,
    /// Usage batches (and requests within them) that show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<UsageLink>,
    /// Evidence entries that bear on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<u64>,
    pub at: String,
}

/// A description kept out of the public log: its classification and commitment
/// (`sha256:` of a 32-byte salt followed by the text, as for sealed addenda).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedDescription {
    pub classification: String,
    pub commitment: String,
}

/// A usage batch that shows an incident, and the request in it when one is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageLink {
    /// The `usage-recorded` entry.
    pub entry: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// What became known about an incident since it was reported: a new severity (which may set
/// off the rollback), more harms, techniques, usage or evidence, and a note. Signed by a party
/// of the contract or an authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdated {
    pub party: String,
    pub contract: String,
    pub incident: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub harms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub atlas: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<UsageLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<u64>,
    pub note: String,
    pub at: String,
}

/// A party tells another party, or a regime's authority, of an incident: what meets a
/// notification duty. Signed by the party that notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNotified {
    pub party: String,
    pub contract: String,
    pub incident: String,
    /// A party by ledger id, or a regime's duty as `regime/duty` (e.g. `eu-ai-act/art-73-2`)
    /// for a report made to an authority outside the ledger.
    pub to: String,
    /// What was sent, or the authority's reference for it.
    pub summary: String,
    pub at: String,
}

/// An incident is closed: the post-incident review, the remediation and any redress owed.
/// Signed by a party of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentClosed {
    pub party: String,
    pub contract: String,
    pub incident: String,
    pub review: String,
    pub remediation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redress: Option<String>,
    pub at: String,
}

/// A finding of an incident's root cause and damages, from which the contract's liability
/// module allocates who pays what. Signed by a party the module names in `findings_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiabilityFound {
    pub party: String,
    pub contract: String,
    pub incident: String,
    /// The component the fault was in: `model`, `integration`, `integrator-system`,
    /// `agency-use` or `data`.
    pub root_cause: String,
    /// The harm category, as the incident names it.
    pub harm: String,
    /// The damages, in whole units of `currency`.
    pub damages: u64,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    pub summary: String,
    pub at: String,
}

/// A finding as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub entry: u64,
    pub party: String,
    pub root_cause: String,
    pub harm: String,
    pub damages: u64,
    pub currency: String,
    pub summary: String,
    pub at: i64,
}

/// An incident as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub contract: String,
    pub id: String,
    pub deployment: String,
    /// The version involved (`line@version`), when known.
    pub model: Option<String>,
    pub severity: Severity,
    pub harms: Vec<String>,
    pub occurred_at: i64,
    pub summary: String,
    pub description: Option<String>,
    pub sealed: Option<SealedDescription>,
    pub affected: Vec<String>,
    pub atlas: Vec<String>,
    pub usage: Vec<UsageLink>,
    pub evidence: Vec<u64>,
    pub reports: Vec<Report>,
    pub updates: Vec<Update>,
    pub notices: Vec<Notice>,
    /// The rollback the incident set off or was answered by.
    pub rollback: Option<RollbackStep>,
    pub closed: Option<Closure>,
    /// The finding of its root cause, once made.
    #[serde(default)]
    pub finding: Option<Finding>,
}

impl Incident {
    pub fn key(&self) -> String {
        incident_key(&self.contract, &self.id)
    }

    /// When `party` became aware: its own report's awareness, or the first notice it was
    /// given, whichever is earlier.
    pub fn aware(&self, party: &str) -> Option<i64> {
        let reported = self
            .reports
            .iter()
            .filter(|r| r.party == party)
            .map(|r| r.aware_at);
        let told = self.notices.iter().filter(|n| n.to == party).map(|n| n.at);
        reported.chain(told).min()
    }

    /// The party that opened the incident.
    pub fn reporter(&self) -> Option<&str> {
        self.reports.first().map(|r| r.party.as_str())
    }
}

pub fn incident_key(contract: &str, id: &str) -> String {
    format!("{contract}/{id}")
}

/// One report of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub entry: u64,
    pub party: String,
    pub aware_at: i64,
    pub at: i64,
}

/// An update of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub entry: u64,
    pub party: String,
    pub note: String,
    /// The severity it set, if it changed it.
    pub severity: Option<Severity>,
    pub at: i64,
}

/// A notification of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub entry: u64,
    pub party: String,
    pub to: String,
    pub summary: String,
    pub at: i64,
}

/// The deployment step an incident set off, or that answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackStep {
    pub entry: u64,
    pub party: String,
    /// Whether the ledger rolled back on the incident's own entry (the contract said so).
    pub automatic: bool,
    pub from: String,
    pub to: String,
    pub at: i64,
}

/// How an incident was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub entry: u64,
    pub party: String,
    pub review: String,
    pub remediation: String,
    pub redress: Option<String>,
    pub at: i64,
}
