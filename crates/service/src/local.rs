//! An instance directory, read and written in this process: state from the store (loaded
//! once), entries through the ledger's write path, deposits and restricted reads decided by
//! [`crate::access`] and recorded by the operator key the directory holds. The server serves
//! one of these.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use attest::{Envelope, Statement};
use domain::updates::{
    self, ContractReuse, Deployment, EvidenceRecord, HostingRecord, ModelVersion, Recognition,
    UsageBatch,
};
use domain::{ContractRecord, KeyRecord, Kind, Party, State};
use ledger::{Clock, Ledger};
use store::{Database, GroupCommit, Reader};
use tlog::note::{KeyType, SignerKey};

use crate::access::{self, Caller, Credential};
use crate::build::{Draft, now};
use crate::keys::{keyid_of, new_key, read_signer, write_key_file};
use crate::layout::Layout;
use crate::wire::{
    AddendumText, ContractSummary, DepositReply, EntryView, GateView, InstanceInfo, PartyView,
    SealedResult, Signer, SubmitReply, UsageRecords,
};
use crate::{Instance, Result, ServiceError, split_model};

/// How many submissions `submit_each` keeps in flight.
const PIPELINE_DEPTH_MAX: usize = 4096;

/// An instance directory.
#[derive(Debug)]
pub struct Local {
    pub(crate) layout: Layout,
    pub(crate) database: Database,
    name: String,
    origin: String,
    verifier_key: String,
    clock: Clock,
    readers: Vec<Mutex<Reader>>,
    next_reader: AtomicUsize,
    /// Opened for the first write (or at once, for a server): it holds the writer lock. On
    /// one of several nodes, present while this node sequences the log.
    pub(crate) ledger: RwLock<Option<Arc<Ledger>>>,
    /// The state as loaded from the store, and the log size it is the state of: before any
    /// write, or on a node that follows another's writes.
    loaded: RwLock<Option<(Arc<State>, u64)>>,
    /// This process's name among the nodes serving one database (its URL), when it is one of
    /// them (named once it listens).
    pub(crate) node: Option<std::sync::OnceLock<String>>,
    /// The node that leads, as this node's watch last saw it.
    pub(crate) leader: RwLock<Option<String>>,
    operator: Option<SignerKey>,
}

impl Local {
    /// The instance in `dir`, for one command: the state is loaded when first asked for and
    /// the ledger opened at the first write.
    pub fn open(dir: &Path) -> Result<Local> {
        Local::open_at(&Database::Sqlite(dir.to_owned()))
    }

    /// The instance whose directory and log `database` names, for one command.
    pub fn open_at(database: &Database) -> Result<Local> {
        Local::with_readers(database, 1)
    }

    /// The instance in `dir`, for a server: the ledger is opened now (taking the writer lock)
    /// and `readers` store readers serve reads.
    pub fn serve(dir: &Path, readers: usize) -> Result<Local> {
        Local::serve_at(&Database::Sqlite(dir.to_owned()), readers)
    }

    /// As [`Local::serve`], for the instance `database` names.
    pub fn serve_at(database: &Database, readers: usize) -> Result<Local> {
        let local = Local::with_readers(database, readers)?;
        local.ledger()?;
        Ok(local)
    }

    pub(crate) fn with_readers(database: &Database, readers: usize) -> Result<Local> {
        let first = Reader::open_at(database, store::CACHED_TILES_DEFAULT)?;
        let origin = first.info().origin.clone();
        let verifier_key = first.info().verifier_key.to_text();
        let clock = Clock::of(&first)?;
        let mut pool = vec![Mutex::new(first)];
        for _ in 1..readers.max(1) {
            pool.push(Mutex::new(Reader::open_at(
                database,
                store::CACHED_TILES_DEFAULT,
            )?));
        }
        let layout = Layout::of(database);
        let operator = std::fs::read_to_string(layout.operator_key())
            .ok()
            .and_then(|text| SignerKey::parse(&text).ok());
        Ok(Local {
            name: match database {
                Database::Sqlite(dir) => format!("`{}`", dir.display()),
                Database::Postgres { .. } => database.describe(),
            },
            layout,
            database: database.clone(),
            origin,
            verifier_key,
            clock,
            readers: pool,
            next_reader: AtomicUsize::new(0),
            ledger: RwLock::new(None),
            loaded: RwLock::new(None),
            node: None,
            leader: RwLock::new(None),
            operator,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where the instance's log is stored.
    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    pub fn simulated_clock(&self) -> bool {
        self.clock == Clock::Simulated
    }

    /// Runs `read` with a store reader from the pool: a free one if there is, else waits for
    /// the next in turn.
    pub fn read<T>(&self, read: impl FnOnce(&Reader) -> T) -> T {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for offset in 0..count {
            if let Ok(reader) = self.readers[(start + offset) % count].try_lock() {
                return read(&reader);
            }
        }
        let reader = match self.readers[start % count].lock() {
            Ok(reader) => reader,
            Err(poisoned) => poisoned.into_inner(),
        };
        read(&reader)
    }

    /// The ledger, if open.
    pub(crate) fn open_ledger(&self) -> Option<Arc<Ledger>> {
        self.ledger
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The state as last loaded from the store, loading it when there is none.
    fn loaded(&self) -> Result<(Arc<State>, u64)> {
        if let Some(loaded) = self
            .loaded
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Ok(loaded);
        }
        self.reload()
    }

    /// Loads the state from the store again, with the size it is the state of: the entries
    /// added since the state last loaded, applied to it, or (the first time, or when they do
    /// not follow from it) the state's rows whole.
    pub(crate) fn reload(&self) -> Result<(Arc<State>, u64)> {
        let before = self
            .loaded
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (state, size) = self.read(|reader| -> Result<(State, u64)> {
            if let Some((state, from)) = &before
                && let Ok(followed) = ledger::follow(reader, state, *from)
            {
                return Ok(followed);
            }
            let size = reader.latest_checkpoint()?.size;
            Ok((ledger::load_state(reader)?, size))
        })?;
        let loaded = (Arc::new(state), size);
        *self
            .loaded
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(loaded.clone());
        Ok(loaded)
    }

    /// The state: the ledger's latest once it is open, else as loaded from the store.
    pub fn state(&self) -> Result<Arc<State>> {
        match self.open_ledger() {
            Some(ledger) => Ok(ledger.state()),
            None => Ok(self.loaded()?.0),
        }
    }

    /// The state with the size of the log it is the state of.
    fn state_at(&self) -> Result<(Arc<State>, u64)> {
        match self.open_ledger() {
            Some(ledger) => Ok(ledger.state_at()),
            None => self.loaded(),
        }
    }

    /// The state a server answers from: the ledger's latest (always open, for
    /// [`Local::serve`]), or on a node that follows another, the state as last followed.
    pub fn published(&self) -> Option<Arc<State>> {
        match self.open_ledger() {
            Some(ledger) => Some(ledger.state()),
            None if self.node.is_some() => self.loaded().ok().map(|(state, _)| state),
            None => None,
        }
    }

    /// The ledger, opened with the log key the store records. A node that does not
    /// sequence the log has none: its writes go to the node that does.
    fn ledger(&self) -> Result<Arc<Ledger>> {
        if let Some(ledger) = self.open_ledger() {
            return Ok(ledger);
        }
        if self.node.is_some() {
            return Err(ServiceError::Unavailable(
                "this node does not sequence the log".to_owned(),
            ));
        }
        let log_key = self.log_key()?;
        let rules = Box::new(crate::admission::Rules::new(
            self.layout.clone(),
            log_key.name(),
        ));
        let ledger = Ledger::open_at(&self.database, log_key, GroupCommit::default(), rules)
            .map_err(|error| match self.layout.serving_url() {
                Some(url) => ServiceError::Unavailable(format!(
                    "{error}\n  a server holds it: run the command with `--server {url}` instead of `--dir` (envelopes: `concordat submit --server {url} ENVELOPE`)"
                )),
                None => error.into(),
            })?;
        Ok(self.install(ledger))
    }

    /// Keeps `ledger` as the instance's, unless another was installed first.
    pub(crate) fn install(&self, ledger: Ledger) -> Arc<Ledger> {
        let mut slot = self
            .ledger
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slot.get_or_insert_with(|| Arc::new(ledger)))
    }

    /// The log's signer key: the instance directory's own (`keys/log.key`, where every node
    /// of a log on PostgreSQL keeps it), else where the store records it.
    pub(crate) fn log_key(&self) -> Result<SignerKey> {
        let own = self.layout.log_key();
        let key_path = if own.exists() {
            own
        } else {
            self.read(|r| r.info().signer_key_path.clone())
                .ok_or_else(|| {
                    ServiceError::Unavailable(format!(
                        "the ledger in {} does not record its log key",
                        self.name
                    ))
                })?
        };
        read_signer(&key_path).map_err(|e| ServiceError::Unavailable(e.to_string()))
    }

    /// Who a credential speaks for, here.
    fn caller(&self, credential: &Credential) -> Result<Caller> {
        match credential {
            Credential::Token(token) => access::by_token(&self.layout, token),
            Credential::Key(key) => {
                let keyid = keyid_of(key).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
                access::by_key(&*self.state()?, &keyid)
            }
        }
    }

    /// Logs a restricted read, signed with the operator key: the entry's index. No record, no
    /// data: callers hand the data over only after this returns.
    pub fn record_read(&self, caller: &Caller, resource: &str) -> Result<u64> {
        let operator = self.operator.as_ref().ok_or_else(|| {
            ServiceError::Unavailable(
                "this instance has no operator key, so it cannot record restricted reads and serves none"
                    .to_owned(),
            )
        })?;
        let at = now().max(self.state()?.clock());
        let read = domain::RestrictedRead {
            reader: caller.party.clone(),
            credential: Some(caller.credential.clone()),
            resource: resource.to_owned(),
            at: updates::time::format_instant(at),
            read: Some(
                crate::keys::random_hex(16).map_err(|e| ServiceError::Internal(e.to_string()))?,
            ),
        };
        let envelope = Draft::new(&read)?.signed_bytes(&[operator])?;
        Ok(self.submit(envelope)?.index)
    }

    /// A sealed addendum's text for `caller`, after its read is logged.
    pub fn read_addendum_as(
        &self,
        caller: &Caller,
        contract: &str,
        id: &str,
    ) -> Result<AddendumText> {
        let mut text = access::addendum_text(&*self.state()?, &self.layout, caller, contract, id)?;
        text.read_recorded_at =
            self.record_read(caller, &format!("contract/{contract}/addendum/{id}"))?;
        Ok(text)
    }

    /// A sealed evaluation result for `caller`, after its read is logged.
    pub fn read_result_as(&self, caller: &Caller, entry: u64) -> Result<SealedResult> {
        let mut result = access::sealed_result(&*self.state()?, &self.layout, caller, entry)?;
        result.read_recorded_at =
            self.record_read(caller, &format!("evidence/{entry}/sealed-result"))?;
        Ok(result)
    }

    /// A usage batch's records for `caller`, after its read is logged.
    pub fn read_usage_as(&self, caller: &Caller, entry: u64) -> Result<UsageRecords> {
        let mut records = access::usage_records(&*self.state()?, &self.layout, caller, entry)?;
        records.read_recorded_at = self.record_read(caller, &format!("usage/{entry}/records"))?;
        Ok(records)
    }

    pub fn deposit_addendum_as(
        &self,
        caller: Option<&Caller>,
        contract: &str,
        id: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        access::deposit_addendum(&*self.state()?, &self.layout, caller, contract, id, body)
    }

    pub fn deposit_result_as(
        &self,
        caller: Option<&Caller>,
        entry: u64,
        body: &[u8],
    ) -> Result<DepositReply> {
        access::deposit_result(&*self.state()?, &self.layout, caller, entry, body)
    }

    pub fn deposit_usage_as(
        &self,
        caller: Option<&Caller>,
        contract: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        access::deposit_usage(&*self.state()?, &self.layout, caller, contract, body)
    }

    /// The bytes logged at `index`, or a refusal that says how long the log is.
    pub fn logged_entry(&self, index: u64) -> Result<Vec<u8>> {
        let size = self.read(|r| r.latest_checkpoint())?.size;
        if index >= size {
            return Err(ServiceError::NotFound(format!(
                "entry {index} is not in the log (it holds {size} entries)"
            )));
        }
        Ok(self.read(|r| r.entry(index))?)
    }

    fn credential_caller(&self, credential: Option<&Credential>) -> Result<Option<Caller>> {
        credential.map(|c| self.caller(c)).transpose()
    }

    /// Commits what is queued and releases the writer lock.
    pub fn close_ledger(self) -> Result<()> {
        let ledger = self
            .ledger
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match ledger.map(Arc::try_unwrap) {
            Some(Ok(ledger)) => Ok(ledger.close()?),
            // Still in use elsewhere: its batcher commits what is queued when the last goes.
            Some(Err(_)) | None => Ok(()),
        }
    }
}

fn at_or_now(at: Option<i64>) -> i64 {
    at.unwrap_or_else(now)
}

impl Instance for Local {
    fn name(&self) -> &str {
        &self.name
    }

    fn info(&self) -> Result<InstanceInfo> {
        let checkpoint = self.read(|r| r.latest_checkpoint())?;
        Ok(InstanceInfo {
            origin: self.origin.clone(),
            verifier_key: self.verifier_key.clone(),
            size: checkpoint.size,
            checkpoint: checkpoint.note,
            simulated_clock: self.simulated_clock(),
        })
    }

    fn parties(&self) -> Result<Vec<Party>> {
        Ok(self.state()?.parties().cloned().collect())
    }

    fn party(&self, id: &str) -> Result<PartyView> {
        let state = self.state()?;
        let party = state
            .party(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("party `{id}` is not registered")))?;
        Ok(PartyView {
            party,
            keys: state.keys_of(id).cloned().collect(),
        })
    }

    fn key(&self, keyid: &str) -> Result<KeyRecord> {
        self.state()?
            .key(keyid)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("no party registered key `{keyid}`")))
    }

    fn contracts(&self) -> Result<Vec<ContractSummary>> {
        Ok(self
            .state()?
            .contracts()
            .map(|c| ContractSummary {
                id: c.id.clone(),
                title: c.title.clone(),
                parties: c.parties.clone(),
                version: c.current().map(|v| v.version.clone()),
                addenda: c.addenda.len(),
            })
            .collect())
    }

    fn contract(&self, id: &str) -> Result<ContractRecord> {
        self.state()?
            .contract(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("contract `{id}` is not published")))
    }

    fn models(&self) -> Result<Vec<ModelVersion>> {
        Ok(self.state()?.models().cloned().collect())
    }

    fn model(&self, key: &str) -> Result<ModelVersion> {
        self.state()?.model(key).cloned().ok_or_else(|| {
            ServiceError::NotFound(format!("model version `{key}` is not registered"))
        })
    }

    fn evidence(&self, model: Option<&str>) -> Result<Vec<EvidenceRecord>> {
        let state = self.state()?;
        Ok(match model {
            Some(model) => state
                .evidence_for(model)
                .iter()
                .map(|e| (**e).clone())
                .collect(),
            None => state.all_evidence().cloned().collect(),
        })
    }

    fn recognitions(&self) -> Result<Vec<Recognition>> {
        Ok(self.state()?.recognitions().cloned().collect())
    }

    fn recognition_report(
        &self,
        contract: Option<&str>,
        at: Option<i64>,
    ) -> Result<Vec<ContractReuse>> {
        updates::recognition_report(&*self.state()?, contract, at_or_now(at)).ok_or_else(|| {
            ServiceError::NotFound(format!(
                "contract `{}` is not published",
                contract.unwrap_or_default()
            ))
        })
    }

    fn attestations(&self, contract: Option<&str>) -> Result<Vec<HostingRecord>> {
        let state = self.state()?;
        Ok(match contract {
            Some(contract) => state.attestations_for(contract).cloned().collect(),
            None => state.attestations().cloned().collect(),
        })
    }

    fn deployments(&self) -> Result<Vec<Deployment>> {
        Ok(self.state()?.deployments().cloned().collect())
    }

    fn deployment(&self, contract: &str, name: &str) -> Result<Deployment> {
        self.state()?
            .deployment(&updates::deployment_key(contract, name))
            .cloned()
            .ok_or_else(|| {
                ServiceError::NotFound(format!("contract `{contract}` has no deployment `{name}`"))
            })
    }

    fn gate(&self, contract: &str, model: &str, at: Option<i64>) -> Result<GateView> {
        let (line, version) = split_model(model)?;
        updates::evaluate(&*self.state()?, contract, line, version, at_or_now(at))
            .map(GateView::from)
            .map_err(|e| ServiceError::NotFound(e.to_string()))
    }

    fn usage(&self, contract: Option<&str>) -> Result<Vec<UsageBatch>> {
        Ok(self.state()?.usage(contract).cloned().collect())
    }

    fn designations(&self) -> Result<Vec<domain::designation::Designation>> {
        Ok(self.state()?.designations().cloned().collect())
    }

    fn oscal(
        &self,
        contract: &str,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>> {
        let state = self.state()?;
        // The ledger's own clock, not the wall's: the same log gives the same bytes.
        let at = state.clock();
        let all: Vec<String> = domain::compliance::catalogs()
            .map_err(ServiceError::internal)?
            .iter()
            .map(|c| c.id.clone())
            .collect();
        let reports = self.compliance(contract, &all, Some(at))?;
        let selected = self.compliance(contract, &[], Some(at))?;
        crate::oscal::export(&state, contract, &reports, &selected, at, &|entry| {
            self.proof(entry).ok()
        })
        .map_err(ServiceError::internal)
    }

    fn model_bom(&self, key: &str) -> Result<serde_json::Value> {
        crate::bom::model_bom(&*self.state()?, key).ok_or_else(|| {
            ServiceError::NotFound(format!("model version `{key}` is not registered"))
        })
    }

    fn compliance(
        &self,
        contract: &str,
        regimes: &[String],
        at: Option<i64>,
    ) -> Result<Vec<domain::compliance::Coverage>> {
        let state = self.state()?;
        let package = state.package(contract).ok_or_else(|| {
            ServiceError::NotFound(format!("contract `{contract}` is not published"))
        })?;
        let at = at_or_now(at);
        domain::compliance::selection(regimes, &package.contract.regimes)
            .map_err(ServiceError::BadRequest)?
            .into_iter()
            .map(|(catalog, prefix)| {
                domain::compliance::coverage(&state, contract, catalog, prefix, at)
                    .map_err(ServiceError::internal)
            })
            .collect()
    }

    fn incidents(
        &self,
        contract: Option<&str>,
        at: Option<i64>,
    ) -> Result<Vec<crate::wire::IncidentView>> {
        let state = self.state()?;
        let at = at_or_now(at);
        Ok(state
            .incidents(contract)
            .map(|incident| crate::wire::IncidentView::of(&state, incident, at))
            .collect())
    }

    fn gateway_view(&self, contract: &str, deployment: &str) -> Result<crate::wire::GatewayView> {
        let (state, size) = self.state_at()?;
        crate::gateway::view(&state, size, contract, deployment)
    }

    fn entry(&self, index: u64) -> Result<EntryView> {
        let bytes = self.logged_entry(index)?;
        let envelope = Envelope::parse(&bytes).map_err(ServiceError::internal)?;
        let statement = Statement::parse(&envelope.payload).map_err(ServiceError::internal)?;
        let state = self.state()?;
        let signers = ledger::signing_keys(&state, &envelope)
            .into_iter()
            .map(|record| Signer {
                party: record.party.clone(),
                keyid: record.keyid.clone(),
                algorithm: record.algorithm.clone(),
            })
            .collect();
        Ok(EntryView {
            index,
            kind: Kind::from_predicate_type(&statement.predicate_type).map(|k| k.name().to_owned()),
            statement,
            signers,
        })
    }

    fn envelope(&self, index: u64) -> Result<Vec<u8>> {
        self.logged_entry(index)
    }

    fn coalition(&self) -> Result<Option<domain::federation::Coalition>> {
        Ok(self.state()?.coalition().cloned())
    }

    fn proof(&self, index: u64) -> Result<String> {
        Ok(self.read(|r| r.proof_file(index, None))?.to_text())
    }

    fn consistency(&self, old: u64, new: Option<u64>) -> Result<crate::wire::ConsistencyView> {
        self.read(|reader| {
            let checkpoint = match new {
                Some(new) => reader.checkpoint_at(new)?,
                None => reader.latest_checkpoint()?,
            };
            if old > checkpoint.size {
                return Err(ServiceError::NotFound(format!(
                    "size {old} is past the checkpoint of size {}: this log never signed a tree that large{}",
                    checkpoint.size,
                    if new.is_none() {
                        " (a log that shows a smaller tree than one it signed before was rolled back or forked)"
                    } else {
                        ""
                    }
                )));
            }
            let proof = reader.consistency_proof(old, checkpoint.size)?;
            Ok(crate::wire::ConsistencyView {
                old,
                new: checkpoint.size,
                proof: proof.iter().map(tlog::Hash::to_base64).collect(),
                checkpoint: checkpoint.note,
            })
        })
    }

    fn submit(&self, envelope: Vec<u8>) -> Result<SubmitReply> {
        let ledger = if self.is_node() {
            match self.route()? {
                crate::node::Route::Here(ledger) => ledger,
                crate::node::Route::To(leader) => {
                    return Local::forward(&leader, |node| node.submit(envelope));
                }
            }
        } else {
            self.ledger()?
        };
        let receipt = ledger.submit_and_wait(envelope)?;
        Ok(SubmitReply::from(&receipt))
    }

    fn submit_each(
        &self,
        envelopes: &mut dyn Iterator<Item = Result<Vec<u8>>>,
        reply: &mut dyn FnMut(Result<SubmitReply>) -> Result<()>,
    ) -> Result<()> {
        let ledger = if self.is_node() {
            match self.route()? {
                crate::node::Route::Here(ledger) => ledger,
                crate::node::Route::To(leader) => {
                    return Local::forward(&leader, |node| node.submit_each(envelopes, reply));
                }
            }
        } else {
            self.ledger()?
        };
        let mut in_flight = VecDeque::new();
        let answer = |pending: ledger::Pending| {
            pending
                .wait()
                .map(|receipt| SubmitReply::from(&receipt))
                .map_err(ServiceError::from)
        };
        for envelope in envelopes {
            in_flight.push_back(ledger.submit(envelope?)?);
            if in_flight.len() >= PIPELINE_DEPTH_MAX
                && let Some(oldest) = in_flight.pop_front()
            {
                reply(answer(oldest))?;
            }
        }
        for pending in in_flight {
            reply(answer(pending))?;
        }
        Ok(())
    }

    fn deposit_addendum(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        id: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        let caller = self.credential_caller(credential)?;
        self.deposit_addendum_as(caller.as_ref(), contract, id, body)
    }

    fn deposit_result(
        &self,
        credential: Option<&Credential>,
        entry: u64,
        body: &[u8],
    ) -> Result<DepositReply> {
        let caller = self.credential_caller(credential)?;
        self.deposit_result_as(caller.as_ref(), entry, body)
    }

    fn deposit_usage(
        &self,
        credential: Option<&Credential>,
        contract: &str,
        body: &[u8],
    ) -> Result<DepositReply> {
        let caller = self.credential_caller(credential)?;
        self.deposit_usage_as(caller.as_ref(), contract, body)
    }

    fn read_addendum(
        &self,
        credential: &Credential,
        contract: &str,
        id: &str,
    ) -> Result<AddendumText> {
        self.read_addendum_as(&self.caller(credential)?, contract, id)
    }

    fn read_result(&self, credential: &Credential, entry: u64) -> Result<SealedResult> {
        self.read_result_as(&self.caller(credential)?, entry)
    }

    fn read_usage(&self, credential: &Credential, entry: u64) -> Result<UsageRecords> {
        self.read_usage_as(&self.caller(credential)?, entry)
    }

    fn operator_key(&self) -> Option<SignerKey> {
        self.operator.clone()
    }

    fn close(self: Box<Self>) -> Result<()> {
        (*self).close_ledger()
    }
}

/// What [`create`] made.
#[derive(Debug)]
pub struct Created {
    pub layout: Layout,
    pub log_key: SignerKey,
    pub operator: SignerKey,
    pub genesis_index: u64,
}

/// Creates an instance in `dir`: the store and log, `keys/log.key` and `keys/operator.key`
/// (0600), and entry 0, which registers the operator party. A simulated clock lets entries
/// carry any time that moves forward (rehearsals, demos); the log records it.
pub fn create(dir: &Path, origin: &str, operator_name: &str, clock: Clock) -> Result<Created> {
    create_at(
        &Database::Sqlite(dir.to_owned()),
        origin,
        operator_name,
        clock,
    )
}

/// As [`create`], with the log in `database` (the keys in its directory).
pub fn create_at(
    database: &Database,
    origin: &str,
    operator_name: &str,
    clock: Clock,
) -> Result<Created> {
    let dir = database.dir();
    if database.is_postgres() && Reader::open_at(database, 1).is_ok() {
        return Err(ServiceError::BadRequest(format!(
            "{} already holds a log",
            database.describe()
        )));
    }
    if !database.is_postgres() && dir.join(store::DATABASE_FILE).exists() {
        return Err(ServiceError::BadRequest(format!(
            "`{}` already holds a log",
            dir.display()
        )));
    }
    let layout = Layout::new(dir);
    let keys_dir = layout.keys_dir();
    std::fs::create_dir_all(&keys_dir).map_err(|e| {
        ServiceError::BadRequest(format!("cannot create `{}`: {e}", keys_dir.display()))
    })?;
    let bad = |e: crate::keys::KeyError| ServiceError::BadRequest(e.to_string());
    let log_key = new_key(origin, KeyType::Ed25519).map_err(bad)?;
    let operator = new_key(&format!("{origin}/operator"), KeyType::Ed25519).map_err(bad)?;
    let log_key_path = std::path::absolute(layout.log_key())
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    write_key_file(&log_key_path, &log_key, false).map_err(bad)?;
    write_key_file(&layout.operator_key(), &operator, false).map_err(bad)?;
    let genesis = crate::build::genesis(operator_name, &operator, clock)?;
    let receipt = ledger::init_at(
        database,
        origin,
        &log_key,
        Some(&log_key_path),
        genesis,
        clock,
    )?;
    Ok(Created {
        layout,
        log_key,
        operator,
        genesis_index: receipt.index,
    })
}
