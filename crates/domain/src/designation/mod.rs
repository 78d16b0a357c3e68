//! Supply-chain-risk designations: an authority designates a party or a model line, with a
//! structured justification, a scope and an appeal window; the designated party may appeal,
//! the authority decides, and lifts it.
//!
//! While a designation is in force, the gate refuses the approval of a version that depends on
//! what it designates (the line itself, its vendor, or a supplier the contract's liability
//! module names upstream of a party), and each running deployment of a contract in scope whose
//! version depends on it is suspended or rolled back on the designation's own entry, as the
//! contract's rollback module says (`on_designation`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::incident::SealedDescription;

mod rules;
mod scope;

pub(crate) use rules::{
    designation_appealed, designation_decided, designation_issued, designation_lifted,
};
pub use scope::{against, reaches};

/// What a designation names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Subject {
    Party { id: String },
    ModelLine { line: String },
}

/// Why: the grounds (from a fixed list), public words, and the evidence as a sealed
/// commitment where it cannot be public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Justification {
    /// `foreign-ownership-control-or-influence`, `security-vulnerability`,
    /// `compromised-supply-chain`, `sanctions`, `unreliable-performance` or
    /// `contract-noncompliance`.
    pub grounds: Vec<String>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedDescription>,
}

/// The grounds a justification may give.
pub const GROUNDS: [&str; 6] = [
    "foreign-ownership-control-or-influence",
    "security-vulnerability",
    "compromised-supply-chain",
    "sanctions",
    "unreliable-performance",
    "contract-noncompliance",
];

/// An authority designates a party or a model line a supply-chain risk. Signed by the
/// authority (a party with the `overseer` role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationIssued {
    pub party: String,
    /// The designation's id, e.g. `scr-2027-003`.
    pub designation: String,
    pub subject: Subject,
    pub justification: Justification,
    /// The jurisdictions whose contracts it covers (ISO 3166 or `EU`); a contract is in scope
    /// when it names one of them.
    pub scope: Vec<String>,
    /// When the authority's decision took effect (RFC 3339), never after the entry: a
    /// designation is logged when it takes effect, so its effect on running deployments is
    /// made by its own entry. In the ledger it is in force from the entry.
    pub effective_at: String,
    /// Days from its effect during which it may be appealed.
    pub appeal_days: u32,
    pub at: String,
}

/// The designated party (or the vendor of a designated line) appeals. Signed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationAppealed {
    pub party: String,
    pub designation: String,
    pub grounds: String,
    pub at: String,
}

/// The authority decides an appeal: upheld (the designation is lifted) or dismissed. Signed by
/// the authority that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationDecided {
    pub party: String,
    pub designation: String,
    pub upheld: bool,
    pub reasons: String,
    pub at: String,
}

/// The authority lifts a designation. Signed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationLifted {
    pub party: String,
    pub designation: String,
    pub reason: String,
    pub at: String,
}

/// A designation as the ledger knows it, with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Designation {
    pub id: String,
    pub entry: u64,
    pub authority: String,
    pub subject: Subject,
    pub justification: Justification,
    pub scope: Vec<String>,
    pub effective_at: i64,
    pub appeal_until: i64,
    pub appeal: Option<Step>,
    pub decision: Option<Decision>,
    pub lifted: Option<Step>,
    /// The deployments its entry suspended or rolled back (`contract/deployment`).
    pub affected: Vec<String>,
}

/// A step in a designation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub entry: u64,
    pub party: String,
    pub text: String,
    pub at: i64,
}

/// An appeal's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub entry: u64,
    pub upheld: bool,
    pub reasons: String,
    pub at: i64,
}

impl Designation {
    /// Whether it is in force at `now`.
    pub fn in_force(&self, now: i64) -> bool {
        self.effective_at <= now && self.lifted.is_none()
    }

    /// Whether it covers contracts of these jurisdictions.
    pub fn covers(&self, jurisdictions: &[String]) -> bool {
        self.scope.iter().any(|s| jurisdictions.contains(s))
    }

    pub fn names(&self) -> String {
        match &self.subject {
            Subject::Party { id } => format!("party `{id}`"),
            Subject::ModelLine { line } => format!("model line `{line}`"),
        }
    }
}
