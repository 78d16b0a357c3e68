//! `replay`: rebuild the state from the log alone and compare it with the stored projection.

use std::collections::BTreeMap;
use std::path::Path;

use domain::{Entry, State, apply};
use store::{Reader, StoreError};

use crate::error::LedgerError;
use crate::verify_envelope;
use crate::write::check_is_ledger;

/// Progress: entries replayed so far, of how many.
#[derive(Debug, Clone, Copy)]
pub struct ReplayProgress {
    pub done: u64,
    pub total: u64,
}

/// What replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub entries: u64,
    pub parties: usize,
    pub keys: usize,
    /// Each way the stored state differs from the replayed one, or an entry replay rejects.
    pub differences: Vec<String>,
}

impl ReplayReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

enum Stop {
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Stop {
        Stop::Store(error)
    }
}

/// Replays every entry of the ledger in `dir` — verifying its signatures and applying its rules
/// — and compares the resulting state with the stored one.
pub fn replay(
    dir: &Path,
    progress: &mut dyn FnMut(ReplayProgress),
) -> Result<ReplayReport, LedgerError> {
    let reader = Reader::open(dir)?;
    check_is_ledger(&reader)?;
    let stored: BTreeMap<(String, String), Vec<u8>> = reader
        .state_rows()?
        .into_iter()
        .map(|(space, key, value)| ((space, key), value))
        .collect();
    let total = reader.latest_checkpoint()?.size;
    let mut state = State::default();
    let mut differences = Vec::new();
    let visited = reader.for_each_entry(0, |index, bytes| -> Result<(), Stop> {
        let outcome = verify_envelope(&state, bytes).and_then(|verified| {
            let entry = Entry {
                index,
                statement: &verified.statement,
                signers: &verified.signers,
            };
            apply(&state, &entry).map_err(crate::SubmitError::Rejected)
        });
        match outcome {
            Ok(changes) => state.commit(&changes),
            Err(error) => differences.push(format!(
                "entry {index} is in the log, but replay rejects it: {error}"
            )),
        }
        if index % 4096 == 0 {
            progress(ReplayProgress { done: index, total });
        }
        Ok(())
    });
    match visited {
        Ok(_) => {}
        Err(Stop::Store(error)) => return Err(error.into()),
    }
    progress(ReplayProgress { done: total, total });
    differences.extend(compare(&stored, &state));
    Ok(ReplayReport {
        entries: total,
        parties: state.parties().count(),
        keys: state.rows().len() - state.parties().count(),
        differences,
    })
}

/// Differences between the stored rows and the replayed ones, byte for byte.
fn compare(stored: &BTreeMap<(String, String), Vec<u8>>, replayed: &State) -> Vec<String> {
    let replayed: BTreeMap<(String, String), Vec<u8>> = replayed
        .rows()
        .into_iter()
        .map(|row| ((row.space.to_owned(), row.key), row.value))
        .collect();
    let mut differences = Vec::new();
    for (key, value) in &replayed {
        match stored.get(key) {
            None => differences.push(format!(
                "state {}/{} is missing from the stored state",
                key.0, key.1
            )),
            Some(stored_value) if stored_value != value => differences.push(format!(
                "state {}/{} differs: stored {}, replay gives {}",
                key.0,
                key.1,
                String::from_utf8_lossy(stored_value),
                String::from_utf8_lossy(value)
            )),
            Some(_) => {}
        }
    }
    for key in stored.keys() {
        if !replayed.contains_key(key) {
            differences.push(format!(
                "state {}/{} is stored but no entry creates it",
                key.0, key.1
            ));
        }
    }
    differences
}
