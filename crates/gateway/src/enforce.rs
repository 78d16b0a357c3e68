//! What the gateway enforces, kept current from the ledger.
//!
//! A [`Rules`] is one size of the log compiled for the hot path: the contract's policies
//! loaded, the credentials by hash, the version in service. A watcher thread asks the server
//! for the log's size every poll interval and, when it grew, reads the deployment's gateway
//! view and swaps in new rules, so a revocation, a rollback or an activation reaches every
//! replica within one interval and a round trip. When the ledger has not answered for longer
//! than the grace, [`Enforcement::current`] says so and the gateway refuses (fail closed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use domain::gateway::Credential;
use service::Instance;
use service::wire::{ActiveVersion, GatewayView};

/// One size of the log, compiled.
#[derive(Debug)]
pub struct Rules {
    pub size: u64,
    pub contract: String,
    pub deployment: String,
    /// The contract's policies, or why they do not load (every request is then refused).
    pub policies: Result<policy::Policies, String>,
    /// `sha256:<hex>` of the contract's policy files, recorded with each decision.
    pub policy_digest: String,
    pub active: Option<ActiveVersion>,
    pub pinning: bool,
    /// Credentials issued under the contract, active or revoked, by the key's hash.
    pub credentials: HashMap<String, Credential>,
    /// Whether this gateway is authorized for the deployment.
    pub authorized: bool,
    /// The contract's capacity terms (none limited when it has no `service-levels` module).
    pub capacity: domain::contract::Capacity,
    /// Decisions already made under these policies: a decision depends on the request alone,
    /// and one deployment's callers send few distinct ones.
    decided: Mutex<HashMap<policy::Request, Decided>>,
}

/// A decision, or why the request cannot be decided.
pub type Decided = Result<policy::Decision, String>;

/// The most decisions remembered; past it the memory starts again.
const DECIDED_MAX: usize = 4096;

impl Rules {
    pub fn compile(view: GatewayView, gateway: &str) -> Rules {
        let policy_files: std::collections::BTreeMap<&String, &String> = view
            .files
            .iter()
            .filter(|(path, _)| path.ends_with(".cedar"))
            .collect();
        let mut hashed = String::new();
        for (path, text) in &policy_files {
            hashed.push_str(path);
            hashed.push('\0');
            hashed.push_str(text);
            hashed.push('\0');
        }
        let policies = policy::from_files(&view.files).map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        });
        let capacity = domain::contract::load(domain::contract::sources(&view.files))
            .ok()
            .and_then(|package| {
                package
                    .modules
                    .into_iter()
                    .find_map(|loaded| match loaded.module {
                        domain::contract::Module::ServiceLevels(levels) => Some(levels.capacity),
                        _ => None,
                    })
            })
            .unwrap_or_default();
        Rules {
            capacity,
            size: view.size,
            policy_digest: service::access::sha256_digest(hashed.as_bytes()),
            policies,
            authorized: view.gateways.iter().any(|g| g == gateway),
            credentials: view
                .credentials
                .into_iter()
                .map(|c| (c.credential.clone(), c))
                .collect(),
            active: view.active,
            pinning: view.pinning,
            contract: view.contract,
            deployment: view.deployment,
            decided: Mutex::new(HashMap::new()),
        }
    }

    /// The contract's decision on `asked` (`Ok(Err(..))` when it cannot be decided), or why
    /// the policies do not load.
    pub fn decide(&self, asked: &policy::Request) -> Result<Decided, String> {
        let policies = self.policies.as_ref().map_err(Clone::clone)?;
        let remembered = |decided: &HashMap<policy::Request, Decided>| decided.get(asked).cloned();
        if let Some(decided) = self.decided.lock().ok().and_then(|d| remembered(&d)) {
            return Ok(decided);
        }
        let decided = policies.decide(asked).map_err(|e| e.to_string());
        if let Ok(mut memory) = self.decided.lock() {
            if memory.len() >= DECIDED_MAX {
                memory.clear();
            }
            memory.insert(asked.clone(), decided.clone());
        }
        Ok(decided)
    }

    /// The model name the provider is asked for: the version's API id, else its line.
    pub fn upstream_model(&self) -> Option<String> {
        let active = self.active.as_ref()?;
        Some(match &active.api_version {
            Some(id) => id.clone(),
            None => active
                .model
                .split_once('@')
                .map_or(active.model.clone(), |(line, _)| line.to_owned()),
        })
    }
}

/// The rules in force, shared by every request, and how fresh they are.
#[derive(Debug)]
pub struct Enforcement {
    rules: RwLock<Arc<Rules>>,
    /// When the ledger last answered (milliseconds since the watcher started).
    last_contact_ms: AtomicI64,
    started: Instant,
    grace: Duration,
    stop: AtomicBool,
}

/// Why the gateway cannot enforce right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error(
        "the ledger has not answered for {0} s, longer than the gateway's grace: requests are refused until it does"
    )]
    LedgerUnreachable(u64),
    #[error("no model version is in service in deployment `{0}`")]
    NothingInService(String),
    #[error(
        "this gateway is not authorized for deployment `{0}`: an agency of the contract names it (`concordat gateway authorize`)"
    )]
    NotAuthorized(String),
}

impl Enforcement {
    fn new(rules: Rules, grace: Duration) -> Enforcement {
        Enforcement {
            rules: RwLock::new(Arc::new(rules)),
            last_contact_ms: AtomicI64::new(0),
            started: Instant::now(),
            grace,
            stop: AtomicBool::new(false),
        }
    }

    /// The rules in force, whatever their age.
    pub fn rules(&self) -> Arc<Rules> {
        Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The rules in force, if the ledger answered within the grace.
    pub fn current(&self) -> Result<Arc<Rules>, Unavailable> {
        let age = self.ledger_age();
        if age > self.grace {
            return Err(Unavailable::LedgerUnreachable(age.as_secs()));
        }
        let rules = self.rules();
        if !rules.authorized {
            return Err(Unavailable::NotAuthorized(rules.deployment.clone()));
        }
        if rules.active.is_none() {
            return Err(Unavailable::NothingInService(rules.deployment.clone()));
        }
        Ok(rules)
    }

    /// How long since the ledger last answered.
    pub fn ledger_age(&self) -> Duration {
        let now = self.elapsed_ms();
        let last = self.last_contact_ms.load(Ordering::Acquire);
        Duration::from_millis(u64::try_from(now - last).unwrap_or(0))
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    fn contact(&self) {
        self.last_contact_ms
            .store(self.elapsed_ms(), Ordering::Release);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Reads the rules once (the gateway does not start without them) and starts the watcher.
pub fn start(
    instance: Arc<dyn Instance>,
    gateway: String,
    contract: &str,
    deployment: &str,
    poll: Duration,
    grace: Duration,
) -> service::Result<Arc<Enforcement>> {
    let view = instance.gateway_view(contract, deployment)?;
    let enforcement = Arc::new(Enforcement::new(Rules::compile(view, &gateway), grace));
    enforcement.contact();
    let watched = Arc::clone(&enforcement);
    let (contract, deployment) = (contract.to_owned(), deployment.to_owned());
    std::thread::Builder::new()
        .name("gateway-watch".to_owned())
        .spawn(move || watch(&*instance, &watched, &gateway, &contract, &deployment, poll))
        .map_err(service::ServiceError::internal)?;
    Ok(enforcement)
}

fn watch(
    instance: &dyn Instance,
    enforcement: &Enforcement,
    gateway: &str,
    contract: &str,
    deployment: &str,
    poll: Duration,
) {
    while !enforcement.stop.load(Ordering::Acquire) {
        std::thread::sleep(poll);
        let known = enforcement.rules().size;
        let grown = match instance.info() {
            Ok(info) => {
                enforcement.contact();
                info.size > known
            }
            Err(error) => {
                tracing::warn!(%error, "the ledger did not answer");
                continue;
            }
        };
        if !grown {
            continue;
        }
        match instance.gateway_view(contract, deployment) {
            Ok(view) => {
                let rules = Rules::compile(view, gateway);
                tracing::info!(size = rules.size, active = ?rules.active.as_ref().map(|a| &a.model), "rules updated");
                *enforcement.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
                enforcement.contact();
            }
            Err(error) => tracing::warn!(%error, "the gateway view did not load"),
        }
    }
}
