//! What a ledger is and which clock it runs on, read from its first entry — signed by its
//! operator and covered by every checkpoint — never from the database's metadata, which anyone
//! with write access to the file can change. The metadata keeps a copy for tools that only read
//! the store; where the two disagree, the entry wins and `replay` says so.

use domain::{ClockMode, Kind, PartyRegistered};
use store::Reader;

use crate::LEDGER_META;
use crate::error::LedgerError;

/// Whose clock an entry's own time (`at`) is checked against when it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The machine's: an entry's `at` must be within minutes of the time it is written.
    System,
    /// None: entries may carry any time that keeps the ledger's time moving forward. For demos
    /// and rehearsals; recorded in the log's metadata at creation, for everyone to see.
    Simulated,
}

/// The metadata of a ledger whose clock is simulated.
pub const SIMULATED_CLOCK_META: (&str, &str) = ("clock", "simulated");

impl Clock {
    /// The clock the ledger `reader` reads runs on, as its first entry records it (see
    /// [`crate::terms`]); the system clock for an empty log.
    pub fn of(reader: &Reader) -> Result<Clock, LedgerError> {
        Ok(genesis(reader)?.map_or(Clock::System, |g| g.clock()))
    }

    /// As the first entry records it.
    pub fn mode(self) -> domain::ClockMode {
        match self {
            Clock::System => domain::ClockMode::System,
            Clock::Simulated => domain::ClockMode::Simulated,
        }
    }
}

/// What the first entry of a log says, if it begins a Concordat ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// The operator's registration.
    pub operator: PartyRegistered,
}

impl Genesis {
    /// The clock the ledger runs on. A ledger made before its terms were recorded runs on the
    /// system clock, whatever its metadata says.
    pub fn clock(&self) -> Clock {
        match self.operator.instance.as_ref().map(|terms| terms.clock) {
            Some(ClockMode::Simulated) => Clock::Simulated,
            Some(ClockMode::System) | None => Clock::System,
        }
    }
}

/// The first entry of the log `reader` reads, if it registers a party as a Concordat ledger's
/// first entry does (`None` for an empty log or a bare log of other entries).
pub fn genesis(reader: &Reader) -> Result<Option<Genesis>, LedgerError> {
    if reader.latest_checkpoint()?.size == 0 {
        return Ok(None);
    }
    let bytes = reader.entry(0)?;
    let Ok(envelope) = attest::Envelope::parse(&bytes) else {
        return Ok(None);
    };
    let Ok(statement) = attest::Statement::parse(&envelope.payload) else {
        return Ok(None);
    };
    if Kind::from_predicate_type(&statement.predicate_type) != Some(Kind::PartyRegistered) {
        return Ok(None);
    }
    Ok(serde_json::from_value(statement.predicate)
        .ok()
        .map(|operator| Genesis { operator }))
}

/// Whether the log holds a Concordat ledger: its metadata says so, or its first entry does.
pub fn is_ledger(reader: &Reader) -> Result<bool, LedgerError> {
    Ok(meta_says_ledger(reader) || genesis(reader)?.is_some())
}

fn meta_says_ledger(reader: &Reader) -> bool {
    reader.info().extra.get(LEDGER_META.0).map(String::as_str) == Some(LEDGER_META.1)
}

/// Where the metadata disagrees with the first entry, in words.
pub fn metadata_differences(reader: &Reader) -> Result<Vec<String>, LedgerError> {
    let genesis = genesis(reader)?;
    let mut differences = Vec::new();
    let meta_ledger = meta_says_ledger(reader);
    match (&genesis, meta_ledger) {
        (Some(_), false) => differences.push(format!(
            "metadata `{}` is not `{}`, but entry 0 begins a Concordat ledger: the metadata was changed",
            LEDGER_META.0, LEDGER_META.1
        )),
        (None, true) if reader.latest_checkpoint()?.size > 0 => differences.push(
            "metadata says the log holds a Concordat ledger, but entry 0 does not register its operator"
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(genesis) = &genesis {
        let meta_simulated = reader
            .info()
            .extra
            .get(SIMULATED_CLOCK_META.0)
            .map(String::as_str)
            == Some(SIMULATED_CLOCK_META.1);
        let recorded = genesis.clock();
        if meta_simulated != (recorded == Clock::Simulated) {
            differences.push(format!(
                "metadata says the clock is {}, but entry 0 records {}: the entry's terms apply",
                if meta_simulated { "simulated" } else { "the system's" },
                match (recorded, genesis.operator.instance.is_some()) {
                    (Clock::Simulated, _) => "a simulated clock",
                    (Clock::System, true) => "the system clock",
                    (Clock::System, false) => "no terms (a ledger made before they were recorded runs on the system clock)",
                }
            ));
        }
    }
    Ok(differences)
}
