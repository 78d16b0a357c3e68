//! The governance state that entries build: parties and their keys.

use std::collections::BTreeMap;

use std::sync::Arc;

use attest::PublicKey;
use serde::{Deserialize, Serialize};

use crate::contract::Package;
use crate::designation::Designation;
use crate::federation::Coalition;
use crate::gateway::{Credential, GatewayGrant};
use crate::incident::Incident;
use crate::kinds::Role;
use crate::updates::{
    Deployment, EvidenceRecord, HostingRecord, ModelVersion, Recognition, UsageBatch,
    deployment_key,
};

/// A registered party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub jurisdictions: Vec<String>,
    /// The index of the entry that registered it.
    pub registered_at: u64,
    /// Where the instance delivers the party's notifications (duties, designations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// How the public reaches the party: an e-mail address or an `https://` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A party's notification endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub url: String,
    /// The entry that registered it.
    pub entry: u64,
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
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    PutParty(Party),
    PutKey(KeyRecord),
    PutContract(Box<ContractRecord>),
    PutModel(Box<ModelVersion>),
    PutEvidence(Box<EvidenceRecord>),
    PutRecognition(Box<Recognition>),
    PutAttestation(Box<HostingRecord>),
    PutDeployment(Box<Deployment>),
    PutUsage(Box<UsageBatch>),
    PutCredential(Box<Credential>),
    PutGatewayGrant(Box<GatewayGrant>),
    PutIncident(Box<Incident>),
    PutDesignation(Box<Designation>),
    PutCoalition(Box<Coalition>),
    /// The ledger's time moves forward to this (unix seconds).
    SetClock(i64),
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
pub const MODEL_SPACE: &str = "model";
pub const EVIDENCE_SPACE: &str = "evidence";
pub const RECOGNITION_SPACE: &str = "recognition";
pub const ATTESTATION_SPACE: &str = "attestation";
pub const DEPLOYMENT_SPACE: &str = "deployment";
pub const USAGE_SPACE: &str = "usage";
pub const CLOCK_SPACE: &str = "clock";
pub const CREDENTIAL_SPACE: &str = "credential";
pub const GATEWAY_SPACE: &str = "gateway";
pub const INCIDENT_SPACE: &str = "incident";
pub const DESIGNATION_SPACE: &str = "designation";
pub const COALITION_SPACE: &str = "coalition";

/// The whole governance state.
#[derive(Debug, Clone, Default)]
pub struct State {
    parties: BTreeMap<String, Party>,
    keys: BTreeMap<String, KeyRecord>,
    contracts: BTreeMap<String, ContractRecord>,
    models: BTreeMap<String, ModelVersion>,
    /// Evidence by model key (`line@version`), each list in entry order: the gate scans one
    /// version's evidence as a slice.
    /// Records are shared, so the write path's per-batch working copy stays cheap.
    evidence: BTreeMap<String, Vec<Arc<EvidenceRecord>>>,
    recognitions: BTreeMap<u64, Recognition>,
    attestations: BTreeMap<u64, HostingRecord>,
    deployments: BTreeMap<String, Deployment>,
    usage: BTreeMap<u64, UsageBatch>,
    /// Gateway credentials by the key's hash.
    credentials: BTreeMap<String, Credential>,
    /// Gateways by `contract/deployment/gateway`.
    gateway_grants: BTreeMap<String, GatewayGrant>,
    /// Incidents by `contract/id`.
    incidents: BTreeMap<String, Incident>,
    /// Supply-chain-risk designations by id.
    designations: BTreeMap<String, Designation>,
    /// The coalition an operator named last.
    coalition: Option<Coalition>,
    /// The entry that mirrored each member's entry, by its log's origin and index (derived
    /// from `evidence`).
    mirrored: BTreeMap<(String, u64), u64>,
    /// The latest `at` accepted (unix seconds).
    clock: i64,
    /// Parsed public keys, by key ID (derived from `keys`).
    public_keys: BTreeMap<String, PublicKey>,
    /// Parsed contract packages, by contract id (derived from `contracts`).
    packages: BTreeMap<String, Arc<Package>>,
    /// The model key of each evidence entry (derived from `evidence`).
    evidence_index: BTreeMap<u64, Arc<str>>,
    /// The key IDs of revoked keys (derived from `keys`).
    revoked_keys: std::collections::BTreeSet<String>,
    /// Which vendor each model line belongs to (derived from `models`).
    line_vendors: BTreeMap<String, String>,
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

    /// A published contract's parsed package.
    pub fn package(&self, contract: &str) -> Option<&Package> {
        self.packages.get(contract).map(|p| &**p)
    }

    pub fn model(&self, key: &str) -> Option<&ModelVersion> {
        self.models.get(key)
    }

    pub fn models(&self) -> impl Iterator<Item = &ModelVersion> {
        self.models.values()
    }

    /// The vendor a model line belongs to.
    pub fn line_vendor(&self, line: &str) -> Option<&str> {
        self.line_vendors.get(line).map(String::as_str)
    }

    pub fn evidence(&self, entry: u64) -> Option<&EvidenceRecord> {
        let list = self.evidence.get(&**self.evidence_index.get(&entry)?)?;
        list.binary_search_by_key(&entry, |e| e.entry)
            .ok()
            .and_then(|position| list.get(position))
            .map(|e| &**e)
    }

    /// The evidence about a model version (`line@version`), oldest first.
    pub fn evidence_for(&self, model: &str) -> &[Arc<EvidenceRecord>] {
        self.evidence.get(model).map_or(&[], Vec::as_slice)
    }

    /// The evidence about any version of a model line, in order of model key, then entry.
    pub fn evidence_for_line<'a>(
        &'a self,
        line: &'a str,
    ) -> impl Iterator<Item = &'a EvidenceRecord> + 'a {
        self.evidence
            .values()
            .flatten()
            .map(|e| &**e)
            .filter(move |e| e.line == line)
    }

    /// All evidence, in entry order.
    pub fn all_evidence(&self) -> impl Iterator<Item = &EvidenceRecord> {
        self.evidence_index
            .keys()
            .filter_map(|entry| self.evidence(*entry))
    }

    /// Whether a key was revoked.
    pub fn is_revoked(&self, keyid: &str) -> bool {
        !self.revoked_keys.is_empty() && self.revoked_keys.contains(keyid)
    }

    pub fn recognitions(&self) -> impl Iterator<Item = &Recognition> {
        self.recognitions.values()
    }

    /// Every hosting attestation, oldest first.
    pub fn attestations(&self) -> impl Iterator<Item = &HostingRecord> {
        self.attestations.values()
    }

    /// The hosting attestations recorded for a contract, oldest first.
    pub fn attestations_for<'a>(
        &'a self,
        contract: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a HostingRecord> + 'a {
        self.attestations
            .values()
            .filter(move |a| a.contract == contract)
    }

    pub fn deployment(&self, key: &str) -> Option<&Deployment> {
        self.deployments.get(key)
    }

    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.values()
    }

    /// Whether `model` is in service in a deployment of `contract` other than `except`.
    pub fn active_elsewhere(&self, contract: &str, except: &str, model: &str) -> bool {
        self.deployments.values().any(|d| {
            d.contract == contract
                && deployment_key(&d.contract, &d.name) != except
                && d.active.as_deref() == Some(model)
        })
    }

    /// The ledger's time: the latest `at` accepted (unix seconds; 0 before any).
    /// Usage batches, all or of one contract, in entry order.
    pub fn usage<'a>(
        &'a self,
        contract: Option<&'a str>,
    ) -> impl Iterator<Item = &'a UsageBatch> + 'a {
        self.usage
            .values()
            .filter(move |u| contract.is_none_or(|c| u.contract == c))
    }

    pub fn usage_batch(&self, entry: u64) -> Option<&UsageBatch> {
        self.usage.get(&entry)
    }

    /// A gateway credential, by the key's hash (`sha256:<hex>`).
    pub fn credential(&self, hash: &str) -> Option<&Credential> {
        self.credentials.get(hash)
    }

    /// The credentials issued under `contract`.
    pub fn credentials<'a>(&'a self, contract: &'a str) -> impl Iterator<Item = &'a Credential> {
        self.credentials
            .values()
            .filter(move |c| c.contract == contract)
    }

    pub fn gateway_grant(&self, key: &str) -> Option<&GatewayGrant> {
        self.gateway_grants.get(key)
    }

    /// The gateways authorized for any deployment of `contract`.
    pub fn gateways_of<'a>(&'a self, contract: &'a str) -> impl Iterator<Item = &'a GatewayGrant> {
        self.gateway_grants
            .values()
            .filter(move |g| g.contract == contract)
    }

    /// The gateways authorized for a deployment.
    pub fn gateways<'a>(
        &'a self,
        contract: &'a str,
        deployment: &'a str,
    ) -> impl Iterator<Item = &'a GatewayGrant> {
        self.gateway_grants
            .values()
            .filter(move |g| g.contract == contract && g.deployment == deployment)
    }

    /// An incident, by `contract/id`.
    pub fn incident(&self, key: &str) -> Option<&Incident> {
        self.incidents.get(key)
    }

    /// The incidents of `contract` (every contract's, when `None`), by id.
    pub fn incidents<'a>(
        &'a self,
        contract: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Incident> {
        self.incidents
            .values()
            .filter(move |i| contract.is_none_or(|c| i.contract == c))
    }

    pub fn designation(&self, id: &str) -> Option<&Designation> {
        self.designations.get(id)
    }

    pub fn designations(&self) -> impl Iterator<Item = &Designation> {
        self.designations.values()
    }

    /// The coalition this ledger belongs to, once an operator named one.
    pub fn coalition(&self) -> Option<&Coalition> {
        self.coalition.as_ref()
    }

    /// The entry that mirrored entry `index` of the log `origin`, if one did.
    pub fn mirrored_at(&self, origin: &str, index: u64) -> Option<u64> {
        self.mirrored.get(&(origin.to_owned(), index)).copied()
    }

    pub fn clock(&self) -> i64 {
        self.clock
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
                    if matches!(record.status, KeyStatus::Revoked { .. }) {
                        self.revoked_keys.insert(record.keyid.clone());
                    } else {
                        self.revoked_keys.remove(&record.keyid);
                    }
                    self.keys.insert(record.keyid.clone(), record.clone());
                }
                Change::PutContract(record) => {
                    match crate::contract::load(crate::contract::sources(&record.files)) {
                        Ok(package) => {
                            self.packages.insert(record.id.clone(), Arc::new(package));
                        }
                        Err(_) => {
                            self.packages.remove(&record.id);
                        }
                    }
                    self.contracts.insert(record.id.clone(), (**record).clone());
                }
                Change::PutModel(model) => {
                    self.line_vendors
                        .entry(model.line.clone())
                        .or_insert_with(|| model.vendor.clone());
                    self.models.insert(model.key(), (**model).clone());
                }
                Change::PutEvidence(evidence) => {
                    let key = crate::updates::model_key(&evidence.line, &evidence.version);
                    let list = self.evidence.entry(key.clone()).or_default();
                    match list.binary_search_by_key(&evidence.entry, |e| e.entry) {
                        Ok(position) => list[position] = Arc::new((**evidence).clone()),
                        Err(position) => list.insert(position, Arc::new((**evidence).clone())),
                    }
                    self.evidence_index.insert(evidence.entry, Arc::from(key));
                    if let Some(mirrored) = &evidence.mirrored {
                        self.mirrored
                            .insert((mirrored.origin.clone(), mirrored.index), evidence.entry);
                    }
                }
                Change::PutRecognition(recognition) => {
                    self.recognitions
                        .insert(recognition.entry, (**recognition).clone());
                }
                Change::PutAttestation(attestation) => {
                    self.attestations
                        .insert(attestation.entry, (**attestation).clone());
                }
                Change::PutDeployment(deployment) => {
                    self.deployments
                        .insert(deployment.key(), (**deployment).clone());
                }
                Change::PutUsage(usage) => {
                    self.usage.insert(usage.entry, (**usage).clone());
                }
                Change::PutCredential(credential) => {
                    self.credentials
                        .insert(credential.credential.clone(), (**credential).clone());
                }
                Change::PutGatewayGrant(grant) => {
                    self.gateway_grants.insert(grant.key(), (**grant).clone());
                }
                Change::PutIncident(incident) => {
                    self.incidents.insert(incident.key(), (**incident).clone());
                }
                Change::PutDesignation(designation) => {
                    self.designations
                        .insert(designation.id.clone(), (**designation).clone());
                }
                Change::PutCoalition(coalition) => self.coalition = Some((**coalition).clone()),
                Change::SetClock(time) => self.clock = self.clock.max(*time),
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
                Change::PutModel(model) => StateRow {
                    space: MODEL_SPACE,
                    key: model.key(),
                    value: serde_json::to_vec(model).unwrap_or_default(),
                },
                Change::PutEvidence(evidence) => StateRow {
                    space: EVIDENCE_SPACE,
                    key: format!("{:020}", evidence.entry),
                    value: serde_json::to_vec(evidence).unwrap_or_default(),
                },
                Change::PutRecognition(recognition) => StateRow {
                    space: RECOGNITION_SPACE,
                    key: format!("{:020}", recognition.entry),
                    value: serde_json::to_vec(recognition).unwrap_or_default(),
                },
                Change::PutAttestation(attestation) => StateRow {
                    space: ATTESTATION_SPACE,
                    key: format!("{:020}", attestation.entry),
                    value: serde_json::to_vec(attestation).unwrap_or_default(),
                },
                Change::PutDeployment(deployment) => StateRow {
                    space: DEPLOYMENT_SPACE,
                    key: deployment.key(),
                    value: serde_json::to_vec(deployment).unwrap_or_default(),
                },
                Change::PutUsage(usage) => StateRow {
                    space: USAGE_SPACE,
                    key: format!("{:020}", usage.entry),
                    value: serde_json::to_vec(usage).unwrap_or_default(),
                },
                Change::PutCredential(credential) => StateRow {
                    space: CREDENTIAL_SPACE,
                    key: credential.credential.clone(),
                    value: serde_json::to_vec(credential).unwrap_or_default(),
                },
                Change::PutGatewayGrant(grant) => StateRow {
                    space: GATEWAY_SPACE,
                    key: grant.key(),
                    value: serde_json::to_vec(grant).unwrap_or_default(),
                },
                Change::PutIncident(incident) => StateRow {
                    space: INCIDENT_SPACE,
                    key: incident.key(),
                    value: serde_json::to_vec(incident).unwrap_or_default(),
                },
                Change::PutDesignation(designation) => StateRow {
                    space: DESIGNATION_SPACE,
                    key: designation.id.clone(),
                    value: serde_json::to_vec(designation).unwrap_or_default(),
                },
                Change::PutCoalition(coalition) => StateRow {
                    space: COALITION_SPACE,
                    key: "coalition".to_owned(),
                    value: serde_json::to_vec(coalition).unwrap_or_default(),
                },
                Change::SetClock(time) => StateRow {
                    space: CLOCK_SPACE,
                    key: "ledger".to_owned(),
                    value: time.to_string().into_bytes(),
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
            .chain(
                self.models
                    .values()
                    .cloned()
                    .map(|m| Change::PutModel(Box::new(m))),
            )
            .chain(
                self.all_evidence()
                    .cloned()
                    .map(|e| Change::PutEvidence(Box::new(e))),
            )
            .chain(
                self.recognitions
                    .values()
                    .cloned()
                    .map(|r| Change::PutRecognition(Box::new(r))),
            )
            .chain(
                self.attestations
                    .values()
                    .cloned()
                    .map(|a| Change::PutAttestation(Box::new(a))),
            )
            .chain(
                self.deployments
                    .values()
                    .cloned()
                    .map(|d| Change::PutDeployment(Box::new(d))),
            )
            .chain(
                self.usage
                    .values()
                    .cloned()
                    .map(|u| Change::PutUsage(Box::new(u))),
            )
            .chain(
                self.credentials
                    .values()
                    .cloned()
                    .map(|c| Change::PutCredential(Box::new(c))),
            )
            .chain(
                self.gateway_grants
                    .values()
                    .cloned()
                    .map(|g| Change::PutGatewayGrant(Box::new(g))),
            )
            .chain(
                self.incidents
                    .values()
                    .cloned()
                    .map(|i| Change::PutIncident(Box::new(i))),
            )
            .chain(
                self.designations
                    .values()
                    .cloned()
                    .map(|d| Change::PutDesignation(Box::new(d))),
            )
            .chain(
                self.coalition
                    .clone()
                    .map(|c| Change::PutCoalition(Box::new(c))),
            )
            .chain((self.clock != 0).then_some(Change::SetClock(self.clock)))
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
                MODEL_SPACE => changes.push(Change::PutModel(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                EVIDENCE_SPACE => changes.push(Change::PutEvidence(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                RECOGNITION_SPACE => changes.push(Change::PutRecognition(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                ATTESTATION_SPACE => changes.push(Change::PutAttestation(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                DEPLOYMENT_SPACE => changes.push(Change::PutDeployment(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                USAGE_SPACE => changes.push(Change::PutUsage(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                CREDENTIAL_SPACE => changes.push(Change::PutCredential(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                GATEWAY_SPACE => changes.push(Change::PutGatewayGrant(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                INCIDENT_SPACE => changes.push(Change::PutIncident(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                DESIGNATION_SPACE => changes.push(Change::PutDesignation(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                COALITION_SPACE => changes.push(Change::PutCoalition(Box::new(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                ))),
                CLOCK_SPACE => changes.push(Change::SetClock(
                    serde_json::from_slice(&value).map_err(|e| fail(e.to_string()))?,
                )),
                _ => {}
            }
        }
        let mut state = State::default();
        state.commit(&changes);
        Ok(state)
    }
}
