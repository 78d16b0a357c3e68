//! Sealing records into the ledger: each closed records file is deposited with the instance
//! and counted by a `usage-recorded` entry signed with the gateway's own key, then moved to
//! `sealed/`. A file is sealed at most once: if the gateway stops between the entry and the
//! move, the ledger refuses the same records again (`usage-once`) and the file is moved then.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use service::{Credential, Draft, Instance, ServiceError};
use tlog::note::SignerKey;

use crate::journal::{Journal, RecordsDir};

/// A records file is closed for sealing at this size, well within what an instance accepts
/// in one deposit (16 MiB).
pub const SEAL_BYTES: usize = 8 << 20;

/// Where and as whom records are sealed.
pub struct Sealer {
    pub instance: Arc<dyn Instance>,
    pub key: SignerKey,
    /// The gateway's party id.
    pub party: String,
    pub contract: String,
    pub deployment: String,
    pub dir: RecordsDir,
    pub journal: Journal,
    /// A file is closed when it is this old...
    pub interval: Duration,
    /// ...or holds this many records.
    pub records: usize,
    pub stop: Arc<AtomicBool>,
    pub status: Arc<SealStatus>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("instance", &self.instance.name())
            .field("party", &self.party)
            .field("contract", &self.contract)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

/// What the sealer has done, for `/healthz` and `/metrics`.
#[derive(Debug, Default)]
pub struct SealStatus {
    pub batches: AtomicU64,
    pub records: AtomicU64,
    /// The last entry a batch was logged as (0: none yet).
    pub last_entry: AtomicU64,
    pub failing: AtomicBool,
}

impl Sealer {
    /// Runs until stopped: closes the current file when it is due, and seals every closed one.
    pub fn run(self) {
        let mut opened = Instant::now();
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            let state = self.journal.state();
            let due = opened.elapsed() >= self.interval
                || state.in_current.load(Ordering::Acquire) >= self.records
                || state.bytes_in_current.load(Ordering::Acquire) >= SEAL_BYTES;
            if due || stopping {
                if let Err(error) = self.journal.close_current() {
                    tracing::error!(%error, "the records file could not be closed");
                }
                opened = Instant::now();
                self.seal_pending();
            }
            if stopping {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Seals every closed file, oldest first; stops at the first that fails (to retry later).
    pub fn seal_pending(&self) {
        let files = match self.dir.pending_files() {
            Ok(files) => files,
            Err(error) => {
                tracing::error!(%error, "the pending records could not be listed");
                return;
            }
        };
        for file in files {
            match self.seal(&file) {
                Ok(()) => self.status.failing.store(false, Ordering::Release),
                Err(error) => {
                    tracing::warn!(file = %file.display(), %error, "records not sealed yet");
                    self.status.failing.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }

    fn seal(&self, file: &Path) -> Result<(), String> {
        let original = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let read = original.len();
        let (text, records) = readable(original);
        let done = |outcome: &str| -> Result<(), String> {
            let name = file.file_name().unwrap_or_default();
            std::fs::rename(file, self.dir.sealed().join(name)).map_err(|e| e.to_string())?;
            tracing::info!(file = %file.display(), outcome, "records sealed");
            Ok(())
        };
        if text.len() != read {
            // The file kept is the file the ledger counts, byte for byte.
            std::fs::write(file, &text)
                .and_then(|()| std::fs::File::open(file)?.sync_all())
                .map_err(|e| e.to_string())?;
        }
        if records.is_empty() {
            return done("empty");
        }
        let summary = policy::usage::summarize(records.iter().map(|(_, r)| r));
        let credential = Credential::Key(Box::new(self.key.clone()));
        self.instance
            .deposit_usage(Some(&credential), &self.contract, text.as_bytes())
            .map_err(|e| format!("deposit: {e}"))?;
        let digest = service::access::sha256_digest(text.as_bytes());
        let at = domain::updates::time::format_instant(service::build::now().max(summary.to));
        let predicate = service::usage::batch(
            &self.party,
            &self.contract,
            &self.deployment,
            digest,
            at,
            &summary,
        );
        let envelope = Draft::new(&predicate)
            .and_then(|draft| draft.signed_bytes(&[&self.key]))
            .map_err(|e| e.to_string())?;
        match self.instance.submit(envelope) {
            Ok(reply) => {
                self.status.batches.fetch_add(1, Ordering::AcqRel);
                self.status
                    .records
                    .fetch_add(summary.records, Ordering::AcqRel);
                self.status.last_entry.store(reply.index, Ordering::Release);
                done("logged")
            }
            Err(ServiceError::Rejected { rule, .. })
                if rule == "usage-once" || rule == "logged-once" =>
            {
                done("already logged")
            }
            Err(error) => Err(format!("entry: {error}")),
        }
    }
}

/// The records of a file and its text without the lines that are not records: a group whose
/// write failed may have left a torn line, and its callers were refused, so it is not a record.
fn readable(text: String) -> (String, Vec<(usize, policy::usage::UsageRecord)>) {
    let torn: std::collections::BTreeMap<usize, String> = match policy::usage::read(&text) {
        Ok(records) if !text.lines().any(|l| l.trim().is_empty()) => return (text, records),
        Ok(_) => std::collections::BTreeMap::new(),
        Err(problems) => problems.into_iter().map(|p| (p.line, p.message)).collect(),
    };
    let mut kept = String::with_capacity(text.len());
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(problem) = torn.get(&(number + 1)) {
            tracing::warn!(line = number + 1, %problem, "a records line is left out (a torn write: its callers were refused)");
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    let records = policy::usage::read(&kept).unwrap_or_default();
    (kept, records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::usage::Outcome;

    #[test]
    fn a_torn_line_is_left_out_and_the_records_around_it_are_kept() {
        let line = |id: &str| {
            let call = crate::call::CallRecord::new(
                id.to_owned(),
                "/v1/models",
                "vision@1".to_owned(),
                "sha256:00".to_owned(),
            );
            serde_json::to_string(&call.finish(Outcome::Unauthenticated, 401, None)).unwrap()
        };
        let (r1, r2) = (line("r1"), line("r2"));
        let whole = format!("{r1}\n{r2}\n");
        let (text, records) = readable(whole.clone());
        assert_eq!((text.as_str(), records.len()), (whole.as_str(), 2));

        let torn = format!("{r1}\n{{\"at\":\"20\n{r2}\n\n");
        let (text, records) = readable(torn);
        assert_eq!(text, whole);
        let ids: Vec<&str> = records.iter().map(|(_, r)| r.id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2"]);
    }
}
