//! One of several nodes serving one log on PostgreSQL. Every node serves reads from the
//! database; the one that holds the sequencer's lead (see `store::pg::Sequencer`) also writes,
//! and the others forward writes to it. [`run`] is each node's watch: it takes the lead when
//! no node holds it, gives it up the moment its session with the database is gone (its
//! appends would be refused by the fencing check anyway), and while following, brings the
//! state up to date from the entries added whenever the log has grown.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ledger::Ledger;
use store::pg::Sequencer;
use store::{Database, GroupCommit};

use crate::local::Local;
use crate::{Instance, Result, ServiceError};

/// What the watch saw, for the server's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// This node took the lead; it sequences the log at this epoch.
    Leading { epoch: i64 },
    /// This node's session with the database is gone: it no longer writes.
    SteppedDown,
    /// Something failed; the watch tries again.
    Trouble(String),
}

impl Local {
    /// The instance `database` (on PostgreSQL) names, served as one of several nodes: reads
    /// now, writes once [`run`] has taken the lead, forwarded to the leading node until then.
    /// Its name — the URL the other nodes reach it at — is given by [`Local::name_node`].
    pub fn serve_node(database: &Database, readers: usize) -> Result<Local> {
        if !database.is_postgres() {
            return Err(ServiceError::BadRequest(
                "several nodes serve one log only on PostgreSQL (--database)".to_owned(),
            ));
        }
        let mut local = Local::with_readers(database, readers)?;
        local.node = Some(OnceLock::new());
        local.reload()?;
        Ok(local)
    }

    /// Names this node: the URL other nodes forward writes to while it leads.
    pub fn name_node(&self, url: &str) {
        if let Some(name) = &self.node {
            let _ = name.set(url.to_owned());
        }
    }

    /// This node's name, once it has one.
    pub fn node_name(&self) -> Option<&str> {
        self.node
            .as_ref()
            .and_then(OnceLock::get)
            .map(String::as_str)
    }

    /// Whether this process writes the log.
    pub fn leads(&self) -> bool {
        self.open_ledger().is_some()
    }

    /// Opens the ledger under the lead of `epoch`, which the caller holds.
    fn lead(&self, epoch: i64, node: &str) -> Result<()> {
        let log_key = self.log_key()?;
        let rules = Box::new(crate::admission::Rules::new(
            self.layout.clone(),
            log_key.name(),
        ));
        let ledger = Ledger::open_fenced(
            &self.database,
            log_key,
            GroupCommit::default(),
            rules,
            epoch,
            node,
        )?;
        self.install(ledger);
        Ok(())
    }

    /// Stops writing: the ledger is closed once the requests using it are done; reads go on.
    fn step_down(&self) {
        let ledger = self
            .ledger
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        drop(ledger);
        let _ = self.reload();
    }

    /// The URL of the node that leads, as it named itself when it took the lead.
    fn leader(&self) -> Result<String> {
        let Database::Postgres { url, .. } = &self.database else {
            return Err(ServiceError::Unavailable(
                "no other node writes this log".to_owned(),
            ));
        };
        let holder = store::pg::leader(url)?;
        match holder {
            Some(holder) if Some(holder.as_str()) != self.node_name() => Ok(holder),
            _ => Err(ServiceError::Unavailable(
                "no node leads the log at the moment (one is taking over): try again in a second"
                    .to_owned(),
            )),
        }
    }

    /// Where a write goes: this node's ledger while it leads, else the leading node. While no
    /// node leads (one is taking over), waits for one, up to [`TAKEOVER_WAIT`].
    pub(crate) fn route(&self) -> Result<Route> {
        let until = std::time::Instant::now() + TAKEOVER_WAIT;
        loop {
            if let Some(ledger) = self.open_ledger() {
                return Ok(Route::Here(ledger));
            }
            match self.leader() {
                Ok(leader) => return Ok(Route::To(leader)),
                Err(error) if std::time::Instant::now() >= until => return Err(error),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends a write to the node `leader`.
    pub(crate) fn forward<T>(
        leader: &str,
        write: impl FnOnce(&dyn Instance) -> Result<T>,
    ) -> Result<T> {
        let remote = crate::Remote::new(leader)?;
        write(&remote).map_err(|error| match error {
            ServiceError::Unavailable(message) => ServiceError::Unavailable(format!(
                "the leading node {leader} did not answer ({message}): try again in a second"
            )),
            other => other,
        })
    }

    /// Whether this process is one of several nodes (its writes routed by [`Local::route`]).
    pub(crate) fn is_node(&self) -> bool {
        self.node.is_some()
    }
}

/// How long a write waits for a node to take the lead before it is refused.
pub const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Where a node's write goes.
pub(crate) enum Route {
    /// This node leads: its own ledger.
    Here(std::sync::Arc<Ledger>),
    /// The URL of the node that leads.
    To(String),
}

/// The watch of a node, every `every` until `stopping`: takes the lead when it is free,
/// gives it up when its session ends, and follows the log while another node leads.
pub fn run(local: &Local, every: Duration, stopping: &AtomicBool, tell: &dyn Fn(Event)) {
    let Database::Postgres { url, .. } = local.database().clone() else {
        return;
    };
    let Some(node) = local.node_name().map(str::to_owned) else {
        tell(Event::Trouble("the node has no name yet".to_owned()));
        return;
    };
    let mut lead: Option<Sequencer> = None;
    let mut followed = 0u64;
    while !stopping.load(Ordering::Relaxed) {
        match &mut lead {
            Some(held) => {
                if !held.holds() {
                    local.step_down();
                    lead = None;
                    tell(Event::SteppedDown);
                }
            }
            None => match Sequencer::try_lead(&url, &node) {
                Ok(Some(taken)) => match local.lead(taken.epoch(), &node) {
                    Ok(()) => {
                        tell(Event::Leading {
                            epoch: taken.epoch(),
                        });
                        lead = Some(taken);
                    }
                    // The lead is given back (the session ends with `taken`).
                    Err(error) => tell(Event::Trouble(format!("cannot take the lead: {error}"))),
                },
                Ok(None) => {
                    match store::pg::leader(&url) {
                        Ok(holder) => {
                            *local
                                .leader
                                .write()
                                .unwrap_or_else(std::sync::PoisonError::into_inner) = holder;
                        }
                        Err(error) => tell(Event::Trouble(error.to_string())),
                    }
                    follow(local, &mut followed, tell);
                }
                Err(error) => tell(Event::Trouble(error.to_string())),
            },
        }
        std::thread::sleep(every);
    }
    if lead.is_some() {
        local.step_down();
    }
}

/// Brings the state up to date if the log grew since `followed`.
fn follow(local: &Local, followed: &mut u64, tell: &dyn Fn(Event)) {
    match local.read(|reader| reader.latest_checkpoint()) {
        Ok(latest) if latest.size != *followed => {
            if let Err(error) = local.reload() {
                tell(Event::Trouble(format!("cannot follow the log: {error}")));
            } else {
                *followed = latest.size;
            }
        }
        Ok(_) => {}
        Err(error) => tell(Event::Trouble(format!("cannot read the log: {error}"))),
    }
}
