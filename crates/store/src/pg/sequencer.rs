//! One sequencer among the nodes of an instance, chosen through the database: the node that
//! holds a session advisory lock leads, and on taking the lead raises the sequencer's epoch —
//! its fencing token. Every append checks the token in its own transaction ([`check_fence`]),
//! holding the sequencer row so that a new leader's raise waits for that append to finish;
//! after the raise, the deposed leader's next append finds another epoch and is refused.
//! When the leader's process dies its session ends, the lock is free, and another node takes
//! it on its next try.

use std::time::{Duration, Instant};

use crate::StoreError;

/// The advisory lock key of the sequencer (`concordat` as ASCII, then 2).
const SEQUENCER_LOCK: i64 = 0x636f_6e63_6f72_6402;

/// This node's lead, while its session lives.
pub struct Sequencer {
    /// The session that holds the lock; the lead ends with it.
    session: postgres::Client,
    epoch: i64,
    node: String,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("node", &self.node)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Takes the lead if no other node holds it: `None` when one does.
    pub fn try_lead(url: &str, node: &str) -> Result<Option<Sequencer>, StoreError> {
        // A follower tries every few hundred milliseconds: on a kept connection, given back
        // when another node leads.
        let mut session = super::pool::take(url, node)?;
        let locked: bool = session
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SEQUENCER_LOCK])?
            .get(0);
        if !locked {
            super::pool::give(url, session);
            return Ok(None);
        }
        // The session is the lead's from now on; the database names it for the node.
        session.execute(
            "SELECT set_config('application_name', $1, false)",
            &[&format!("concordat {node}")],
        )?;
        // Waits for any append of the deposed leader still holding the row to finish.
        let epoch: i64 = session
            .query_one(
                "UPDATE sequencer SET epoch = epoch + 1, holder = $1, since = now() RETURNING epoch",
                &[&node],
            )?
            .get(0);
        Ok(Some(Sequencer {
            session,
            epoch,
            node: node.to_owned(),
        }))
    }

    /// Tries to take the lead every `every` until it does or `within` has passed.
    pub fn lead(
        url: &str,
        node: &str,
        every: Duration,
        within: Duration,
    ) -> Result<Option<Sequencer>, StoreError> {
        let until = Instant::now() + within;
        loop {
            match Sequencer::try_lead(url, node) {
                Ok(Some(lead)) => return Ok(Some(lead)),
                Ok(None) | Err(StoreError::Postgres(_)) if Instant::now() + every < until => {
                    std::thread::sleep(every);
                }
                other => return other,
            }
        }
    }

    /// The fencing token: what every append of this lead checks.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether the session that holds the lead still answers: false once the database or the
    /// connection is gone, when the lead must be given up.
    pub fn holds(&mut self) -> bool {
        self.session.is_valid(Duration::from_secs(2)).is_ok()
    }
}

/// Refuses the transaction unless `epoch` still leads; holds the sequencer row until the
/// transaction ends, so no new leader takes over in the middle of it. Call it first in every
/// append.
pub fn check_fence(tx: &mut postgres::Transaction<'_>, epoch: i64) -> Result<(), StoreError> {
    let row = tx.query_one("SELECT epoch, holder FROM sequencer FOR SHARE", &[])?;
    let current: i64 = row.get(0);
    if current != epoch {
        let holder: String = row.get(1);
        return Err(StoreError::Fenced {
            epoch,
            current,
            holder,
        });
    }
    Ok(())
}
