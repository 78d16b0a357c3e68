//! The governance state that entries build: parties and their keys.

use std::collections::BTreeMap;

use attest::PublicKey;
use serde::{Deserialize, Serialize};

use crate::kinds::Role;

/// A registered party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub jurisdictions: Vec<String>,
    /// The index of the entry that registered it.
    pub registered_at: u64,
}

/// Where a key stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum KeyStatus {
    Active,
    Rotated { at: u64, replaced_by: String },
    Revoked { at: u64, reason: String },
}

/// A key of a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub keyid: String,
    pub party: String,
    pub algorithm: String,
    /// The key as registered (PEM or C2SP text).
    pub public_key: String,
    pub added_at: u64,
    #[serde(flatten)]
    pub status: KeyStatus,
}

impl KeyRecord {
    pub fn is_active(&self) -> bool {
        self.status == KeyStatus::Active
    }
}

/// A version of a contract in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractVersion {
    pub version: String,
    pub digest: String,
    /// The entry that published or amended it.
    pub entry: u64,
    /// What changed from the version before, file by file (empty for the first).
    pub diff: String,
}

/// A sealed addendum as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedAddendum {
    pub id: String,
    pub title: String,
    pub classification: String,
    pub commitment: String,
    /// The entry that disclosed its text, once it is public.
    pub disclosed_at: Option<u64>,
}

/// A contract in the ledger: its parties, its current public files and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRecord {
    pub id: String,
    pub title: String,
    pub parties: Vec<String>,
    pub files: BTreeMap<String, String>,
    pub versions: Vec<ContractVersion>,
    pub addenda: Vec<RecordedAddendum>,
}

impl ContractRecord {
    pub fn current(&self) -> Option<&ContractVersion> {
        self.versions.last()
    }
}

/// One change an entry makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    PutParty(Party),
    PutKey(KeyRecord),
    PutContract(Box<ContractRecord>),
}

/// A row of the stored projection: a space, a key and the JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub space: &'static str,
    pub key: String,
    pub value: Vec<u8>,
}

pub const PARTY_SPACE: &str = "party";
pub const KEY_SPACE: &str = "key";
pub const CONTRACT_SPACE: &str = "contract";

/// The whole governance state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    parties: BTreeMap<String, Party>,
    keys: BTreeMap<String, KeyRecord>,
    contracts: BTreeMap<String, ContractRecord>,
    /// Parsed public keys, by key ID (derived from `keys`).
    public_keys: BTreeMap<String, PublicKey>,
}

/// Why stored rows cannot be read back into a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored state row {space}/{key}: {reason}")]
pub struct RowError {
    pub space: String,
    pub key: String,
    pub reason: String,
}

impl State {
    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties.get(id)
    }

    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.parties.values()
    }

    pub fn contract(&self, id: &str) -> Option<&ContractRecord> {
        self.contracts.get(id)
    }

    pub fn contracts(&self) -> impl Iterator<Item = &ContractRecord> {
        self.contracts.values()
    }

    pub fn key(&self, keyid: &str) -> Option<&KeyRecord> {
        self.keys.get(keyid)
    }

    pub fn keys_of<'a>(&'a self, party: &'a str) -> impl Iterator<Item = &'a KeyRecord> + 'a {
        self.keys.values().filter(move |key| key.party == party)
    }

    pub fn public_key(&self, keyid: &str) -> Option<&PublicKey> {
        self.public_keys.get(keyid)
    }

    /// The keys (active or not) of the named parties and of every operator: the keys worth
    /// trying for a signature whose key ID names no registered key.
    pub fn keys_for_signers<'a>(&'a self, parties: &[&str]) -> Vec<&'a PublicKey> {
        self.keys
            .values()
            .filter(|record| {
                parties.contains(&record.party.as_str())
                    || self
                        .parties
                        .get(&record.party)
                        .is_some_and(|party| party.roles.contains(&crate::Role::Operator))
            })
            .filter_map(|record| self.public_keys.get(&record.keyid))
            .collect()
    }

    /// Every registered key (active or not), for signature verification.
    pub fn public_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.public_keys.values()
    }

    pub fn is_empty(&self) -> bool {
        self.parties.is_empty()
    }

    /// Applies changes that [`crate::apply`] returned.
    pub fn commit(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::PutParty(party) => {
                    self.parties.insert(party.id.clone(), party.clone());
                }
                Change::PutKey(record) => {
                    if let Ok(public) = PublicKey::parse(&record.public_key) {
                        self.public_keys.insert(record.keyid.clone(), public);
                    }
                    self.keys.insert(record.keyid.clone(), record.clone());
                }
                Change::PutContract(record) => {
                    self.contracts.insert(record.id.clone(), (**record).clone());
                }
            }
        }
    }

    /// The stored rows a list of changes writes.
    pub fn rows_of(changes: &[Change]) -> Vec<StateRow> {
        changes
            .iter()
            .map(|change| match change {
                Change::PutParty(party) => StateRow {
                    space: PARTY_SPACE,
                    key: party.id.clone(),
                    value: serde_json::to_vec(party).unwrap_or_default(),
                },
                Change::PutKey(record) => StateRow {
                    space: KEY_SPACE,
                    key: record.keyid.clone(),
                    value: serde_json::to_vec(record).unwrap_or_default(),
                },
                Change::PutContract(record) => StateRow {
                    space: CONTRACT_SPACE,
                    key: record.id.clone(),
                    value: serde_json::to_vec(record).unwrap_or_default(),
                },
            })
            .collect()
    }

    /// Every row of the state, as the projection stores it.
    pub fn rows(&self) -> Vec<StateRow> {
        let changes: Vec<Change> = self
            .parties
            .values()
            .cloned()
            .map(Change::PutParty)
            .chain(self.keys.values().cloned().map(Change::PutKey))
            .chain(
                self.contracts
                    .values()
                    .cloned()
                    .map(|record| Change::PutContract(Box::new(record))),
            )
            .collect();
        State::rows_of(&changes)
    }

    /// Rebuilds a state from stored rows.
    pub fn from_rows(
        rows: impl IntoIterator<Item = (String, String, Vec<u8>)>,
    ) -> Result<State, RowError> {
        let mut changes = Vec::new();
        for (space, key, value) in rows {
            let fail = |reason: String| RowError {
                space: space.clone(),
                key: key.clone(),
                reason,
            };
            match space.as_str() {
                PARTY_SPACE => changes.push(Change::PutParty(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                )),
                KEY_SPACE => changes.push(Change::PutKey(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                )),
                CONTRACT_SPACE => changes.push(Change::PutContract(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                _ => {}
            }
        }
        let mut state = State::default();
        state.commit(&changes);
        Ok(state)
    }
}
