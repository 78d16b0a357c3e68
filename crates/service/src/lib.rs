//! The instance as a library: what a command or a request handler does with a Concordat
//! instance — look things up, submit entries, deposit sealed halves and records, read
//! restricted data — behind one [`Instance`] interface with two implementations: [`Local`],
//! over an instance directory (`ledger` and `store`), and [`Remote`], over a running server's
//! HTTP API, through the same [`wire`] types the server sends.
//!
//! No argument parsing, no HTTP serving, no printing: the CLI parses and prints, the server
//! decodes and encodes, and both call this.

pub mod access;
pub mod admission;
pub mod bom;
pub mod build;
pub mod cosign;
pub mod demo;
pub mod deposit;
mod error;
pub mod federation;
pub mod gateway;
pub mod keys;
pub mod layout;
mod local;
pub mod node;
pub mod oscal;
pub mod outbox;
mod remote;
pub mod sealed;
pub mod sla;
pub mod snp;
pub mod templates;
pub mod usage;
pub mod wire;
pub mod witness;

use std::path::Path;

use domain::updates::{
    ContractReuse, Deployment, EvidenceRecord, HostingRecord, ModelVersion, Recognition, UsageBatch,
};
use domain::{ContractRecord, KeyRecord, Party};

pub use access::{Caller, Credential};
pub use build::Draft;
pub use error::{Result, ServiceError};
pub use layout::Layout;
pub use local::{Local, create, create_at};
pub use remote::Remote;
use wire::{
    AddendumText, ContractSummary, DepositReply, EntryView, GateView, InstanceInfo, PartyView,
    SealedResult, SubmitReply, UsageRecords,
};

/// A Concordat instance, wherever it is. Every method answers from one state: a local
/// instance loads it once per command (or takes the ledger's latest, while it writes).
pub trait Instance: Send + Sync {
    /// How to name the instance in messages: its directory or its server's URL.
    fn name(&self) -> &str;

    fn info(&self) -> Result<InstanceInfo>;
    fn parties(&self) -> Result<Vec<Party>>;
    fn party(&self, id: &str) -> Result<PartyView>;
    /// The key a party registered under `keyid`.
    fn key(&self, keyid: &str) -> Result<KeyRecord>;
    fn contracts(&self) -> Result<Vec<ContractSummary>>;
    fn contract(&self, id: &str) -> Result<ContractRecord>;
    fn models(&self) -> Result<Vec<ModelVersion>>;
    /// A model version, `LINE@VERSION`.
    fn model(&self, key: &str) -> Result<ModelVersion>;
    /// The evidence about one model version, or all.
    fn evidence(&self, model: Option<&str>) -> Result<Vec<EvidenceRecord>>;
    fn recognitions(&self) -> Result<Vec<Recognition>>;
    /// Per contract (or one): requirements met by evidence produced for another jurisdiction,
    /// at `at` (unix seconds; default now).
    fn recognition_report(
        &self,
        contract: Option<&str>,
        at: Option<i64>,
    ) -> Result<Vec<ContractReuse>>;
    fn attestations(&self, contract: Option<&str>) -> Result<Vec<HostingRecord>>;
    fn deployments(&self) -> Result<Vec<Deployment>>;
    fn deployment(&self, contract: &str, name: &str) -> Result<Deployment>;
    /// The gate of `model` (`LINE@VERSION`) under `contract` at `at` (default now).
    fn gate(&self, contract: &str, model: &str, at: Option<i64>) -> Result<GateView>;
    fn usage(&self, contract: Option<&str>) -> Result<Vec<UsageBatch>>;
    /// Supply-chain-risk designations, with their histories.
    fn designations(&self) -> Result<Vec<domain::designation::Designation>>;
    /// The incidents of `contract` (or all) with their duties reckoned at `at` (default now).
    fn incidents(&self, contract: Option<&str>, at: Option<i64>)
    -> Result<Vec<wire::IncidentView>>;
    /// The contract's compliance as OSCAL documents, by file name, as the ledger stands at its
    /// last entry: every catalog, the component definition, profile, system security plan,
    /// assessment results, POA&M and the crosswalk as a mapping collection.
    fn oscal(
        &self,
        contract: &str,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>>;
    /// Model version `key` (`LINE@VERSION`) as a CycloneDX 1.6 ML-BOM.
    fn model_bom(&self, key: &str) -> Result<serde_json::Value>;
    /// The contract's coverage of each catalog named (regimes or catalogs; by default the NIST
    /// AI RMF and every regime the contract names), reckoned at `at` (default now).
    fn compliance(
        &self,
        contract: &str,
        regimes: &[String],
        at: Option<i64>,
    ) -> Result<Vec<domain::compliance::Coverage>>;
    /// What a gateway enforces for a deployment: policies, version in service, credentials.
    fn gateway_view(&self, contract: &str, deployment: &str) -> Result<wire::GatewayView>;
    fn entry(&self, index: u64) -> Result<EntryView>;
    /// The exact bytes logged for an entry: its DSSE envelope.
    fn envelope(&self, index: u64) -> Result<Vec<u8>>;
    /// The coalition an operator named, once one did.
    fn coalition(&self) -> Result<Option<domain::federation::Coalition>>;
    /// The entry's tlog-proof against the latest checkpoint.
    fn proof(&self, index: u64) -> Result<String>;
    /// A consistency proof from size `old` to `new` (a size the log signed; the latest when
    /// absent), with the checkpoint signed at `new`.
    fn consistency(&self, old: u64, new: Option<u64>) -> Result<wire::ConsistencyView>;

    /// Submits one envelope (the exact bytes to log) and waits until it is durable.
    fn submit(&self, envelope: Vec<u8>) -> Result<SubmitReply>;
    /// Submits envelopes one after another, pipelined where the instance allows, handing
    /// each reply to `reply` in order; stops early when `reply` fails.
    fn submit_each(
        &self,
        envelopes: &mut dyn Iterator<Item = Result<Vec<u8>>>,
        reply: &mut dyn FnMut(Result<SubmitReply>) -> Result<()>,
    ) -> Result<()>;

    /// Deposits a sealed addendum (TOML `id`, `salt`, `text`, optional `cleared`). Locally,
    /// `None` deposits as the holder of the directory.
    fn deposit_addendum(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        id: &str,
        body: &[u8],
    ) -> Result<DepositReply>;
    fn deposit_result(
        &self,
        credential: Option<&Credential>,
        entry: u64,
        body: &[u8],
    ) -> Result<DepositReply>;
    /// A usage batch's records, deposited before the entry that counts them.
    fn deposit_usage(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        body: &[u8],
    ) -> Result<DepositReply>;

    /// Restricted reads: each is recorded in the ledger before it is answered.
    fn read_addendum(
        &self,
        credential: &Credential,
        contract: &str,
        id: &str,
    ) -> Result<AddendumText>;
    fn read_result(&self, credential: &Credential, entry: u64) -> Result<SealedResult>;
    fn read_usage(&self, credential: &Credential, entry: u64) -> Result<UsageRecords>;

    /// The key that signs as the operator, where the instance holds it (a local directory);
    /// a server keeps its own.
    fn operator_key(&self) -> Option<tlog::note::SignerKey>;

    /// Commits what is queued and releases the instance.
    fn close(self: Box<Self>) -> Result<()>;
}

/// The instance in `dir`, or the one served at `server`.
pub fn open(
    dir: Option<&Path>,
    server: Option<&str>,
    database: Option<&str>,
) -> Result<Box<dyn Instance>> {
    match (server, dir) {
        (Some(url), _) => Ok(Box::new(Remote::new(url)?)),
        (None, Some(dir)) => Ok(Box::new(Local::open_at(&store::Database::select(
            dir, database,
        )?)?)),
        (None, None) => Err(ServiceError::BadRequest(
            "give --dir or --server".to_owned(),
        )),
    }
}

/// Splits `LINE@VERSION`.
pub fn split_model(model: &str) -> Result<(&str, &str)> {
    model
        .split_once('@')
        .filter(|(line, version)| !line.is_empty() && !version.is_empty())
        .ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "model `{model}`: expected LINE@VERSION, e.g. vision-analyst@2027.2.0"
            ))
        })
}

/// The party a signer key speaks for, as `instance` has it.
pub fn party_of(instance: &dyn Instance, key: &tlog::note::SignerKey) -> Result<String> {
    let keyid = keys::keyid_of(key).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    match instance.key(&keyid) {
        Ok(record) => Ok(record.party),
        Err(ServiceError::NotFound(_)) => Err(ServiceError::BadRequest(format!(
            "the key `{}` (key ID {keyid}) is not registered to any party",
            key.name()
        ))),
        Err(other) => Err(other),
    }
}
