//! The entry kinds: their predicate types, predicate shapes and JSON Schemas.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Agency,
        Role::Vendor,
        Role::Lab,
        Role::Auditor,
        Role::Overseer,
        Role::Witness,
        Role::Operator,
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
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::PartyRegistered,
        Kind::KeyAdded,
        Kind::KeyRotated,
        Kind::KeyRevoked,
        Kind::PartyStatement,
        Kind::ContractPublished,
        Kind::ContractAmended,
        Kind::AddendumSealed,
        Kind::AddendumDisclosed,
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
        };
        serde_json::to_value(schema).unwrap_or_default()
    }
}
