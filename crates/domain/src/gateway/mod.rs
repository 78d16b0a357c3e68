//! Who may call a deployment's model through its gateway, and which gateways enforce it.
//!
//! An agency of a contract issues an API credential to one of its users (a pseudonym will do)
//! with a role and a clearance, and revokes it; the ledger keeps only the SHA-256 of the key,
//! so every gateway replica learns the credential from the log and nobody learns the key. An
//! agency also authorizes a gateway — a party with the `gateway` role, registered by an
//! operator — for one of its deployments: that gateway then signs the deployment's usage
//! batches itself, so usage comes from the enforcement point, not from the agency's report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::Classification;

mod rules;

pub(crate) use rules::{credential_issued, credential_revoked, gateway_authorized};

/// An agency issues an API credential to one of its users for a contract's deployments.
/// Signed by the agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialIssued {
    /// The agency, by ledger id: a party of the contract with the `agency` role.
    pub party: String,
    pub contract: String,
    /// The user the credential belongs to: the agency's own id for them, a pseudonym if it
    /// likes (lowercase letters, digits and `-`).
    pub user: String,
    /// The user's role, as the contract's policies read it (e.g. `analyst`).
    pub role: String,
    pub clearance: Classification,
    /// `sha256:<hex>` of the API key. The key itself is never recorded.
    pub credential: String,
    pub at: String,
}

/// An agency revokes a credential it issued. Signed by the agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRevoked {
    pub party: String,
    /// `sha256:<hex>` of the API key, as issued.
    pub credential: String,
    pub reason: String,
    pub at: String,
}

/// An agency names the gateway that enforces a deployment's contract and records its usage.
/// Signed by the agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayAuthorized {
    pub party: String,
    pub contract: String,
    pub deployment: String,
    /// The gateway, by ledger id: a party with the `gateway` role.
    pub gateway: String,
    pub at: String,
}

/// A credential as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// `sha256:<hex>` of the key.
    pub credential: String,
    pub entry: u64,
    pub agency: String,
    pub contract: String,
    pub user: String,
    pub role: String,
    pub clearance: Classification,
    pub issued_at: i64,
    #[serde(default)]
    pub revoked: Option<Revocation>,
}

impl Credential {
    pub fn is_active(&self) -> bool {
        self.revoked.is_none()
    }
}

/// When and why a credential stopped working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub entry: u64,
    pub at: i64,
    pub reason: String,
}

/// A gateway authorized for a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayGrant {
    pub entry: u64,
    pub contract: String,
    pub deployment: String,
    pub gateway: String,
    pub agency: String,
    pub at: i64,
}

impl GatewayGrant {
    pub fn key(&self) -> String {
        grant_key(&self.contract, &self.deployment, &self.gateway)
    }
}

pub fn grant_key(contract: &str, deployment: &str, gateway: &str) -> String {
    format!("{contract}/{deployment}/{gateway}")
}
