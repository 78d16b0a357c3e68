//! Checkpoints cosigned by the instance's witnesses (see `service::cosign`): a thread asks
//! them after each new checkpoint; `/checkpoint` then serves the cosigned note — or, when the
//! witnesses' quorum is not met, either holds back (`wait`: the latest checkpoint that met it,
//! 503 before any did) or serves the newer one marked provisional — and an entry's tlog-proof
//! is made against the latest checkpoint that met the quorum and covers it, carrying its
//! cosignatures. Every answer says which in a `Concordat-Witnessed` header.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use service::cosign::Witnessing;

use crate::{Instance, OutboxRunner};

/// The header saying how a checkpoint (or a proof's checkpoint) is witnessed.
pub const HEADER: &str = "concordat-witnessed";

/// How long each witness has to answer.
const ASK_WITHIN: Duration = Duration::from_secs(5);

/// What the instance does with its witnesses.
#[derive(Debug)]
pub struct Witnessed {
    witnessing: Witnessing,
    /// Hold `/checkpoint` back to the latest checkpoint that met the quorum.
    wait: bool,
    /// The latest checkpoint the witnesses were asked about, with their cosignatures.
    latest: RwLock<Option<Cosigned>>,
    /// The latest one that met the quorum.
    quorum: RwLock<Option<Cosigned>>,
}

/// A checkpoint with the cosignatures its witnesses gave.
#[derive(Debug, Clone)]
pub struct Cosigned {
    pub size: u64,
    pub note: String,
    pub meets_quorum: bool,
}

/// What `/checkpoint` serves.
pub enum Published {
    /// The checkpoint note, and the header's value.
    Note(String, &'static str),
    /// Nothing met the quorum yet and the instance waits for one.
    Waiting(String),
}

impl Witnessed {
    pub fn new(witnessing: Witnessing, wait: bool) -> Witnessed {
        Witnessed {
            witnessing,
            wait,
            latest: RwLock::new(None),
            quorum: RwLock::new(None),
        }
    }

    fn latest(&self) -> Option<Cosigned> {
        self.latest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The latest checkpoint that met the quorum.
    pub fn quorum(&self) -> Option<Cosigned> {
        self.quorum
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// What `/checkpoint` serves, given the log's latest signed checkpoint.
    pub fn published(&self, size: u64, note: String) -> Published {
        if self.wait {
            return match self.quorum() {
                Some(cosigned) => Published::Note(cosigned.note, "quorum"),
                None => Published::Waiting(
                    "no checkpoint of this log has its witnesses' quorum yet".to_owned(),
                ),
            };
        }
        match self.latest().filter(|c| c.size == size) {
            Some(cosigned) if cosigned.meets_quorum => Published::Note(cosigned.note, "quorum"),
            Some(cosigned) => Published::Note(cosigned.note, "provisional"),
            None => Published::Note(note, "provisional"),
        }
    }

    /// Asks the witnesses about the log's latest checkpoint, if it is new to them.
    fn round(&self, instance: &Instance) -> Result<(), String> {
        let latest = instance
            .read(|r| r.latest_checkpoint())
            .map_err(|e| e.to_string())?;
        if self
            .latest()
            .is_some_and(|c| c.size == latest.size && c.meets_quorum)
        {
            return Ok(());
        }
        let prove = |old: u64, new: u64| -> service::Result<Vec<tlog::Hash>> {
            Ok(instance.read(|r| r.consistency_proof_unchecked(old, new))?)
        };
        let cosigning = self
            .witnessing
            .cosign(&latest.note, latest.size, &prove, ASK_WITHIN);
        let cosigned = Cosigned {
            size: latest.size,
            note: cosigning.note,
            meets_quorum: cosigning.meets_quorum,
        };
        if cosigned.meets_quorum {
            *self
                .quorum
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cosigned.clone());
        }
        *self
            .latest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cosigned);
        if cosigning.failed.is_empty() {
            Ok(())
        } else {
            Err(cosigning
                .failed
                .iter()
                .map(|(name, why)| format!("{name}: {why}"))
                .collect::<Vec<_>>()
                .join("; "))
        }
    }
}

impl Instance {
    /// Starts asking the instance's witnesses about each new checkpoint, every `every`; none
    /// when it names no witnesses.
    pub fn start_cosigner(self: &Arc<Self>, every: Duration) -> Option<OutboxRunner> {
        self.witnessed.as_ref()?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (instance, stopping) = (Arc::clone(self), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("cosigner".to_owned())
            .spawn(move || {
                let Some(witnessed) = instance.witnessed.as_ref() else {
                    return;
                };
                while !stopping.load(std::sync::atomic::Ordering::Acquire) {
                    if let Err(failed) = witnessed.round(&instance) {
                        tracing::warn!(%failed, "witnesses did not cosign");
                    }
                    std::thread::sleep(every);
                }
            })
            .ok()?;
        Some(OutboxRunner {
            stop,
            thread: Some(thread),
        })
    }
}
