//! A fresh log in a temporary directory.

use std::path::PathBuf;

use store::{Writer, init};
use tlog::note::{KeyType, SignerKey};

pub const ORIGIN: &str = "test.concordat.example/log";

pub struct TestLog {
    pub dir: tempfile::TempDir,
    pub key: SignerKey,
}

impl TestLog {
    pub fn new() -> TestLog {
        let dir = tempfile::tempdir().unwrap();
        let key = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [42; 32]).unwrap();
        init(dir.path(), ORIGIN, &key, None).unwrap();
        TestLog { dir, key }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn writer(&self) -> Writer {
        Writer::open(self.dir.path(), self.key.clone()).unwrap()
    }

    /// A log holding `count` entries, appended in batches of `batch`.
    pub fn with_entries(count: u64, batch: usize) -> (TestLog, Vec<Vec<u8>>) {
        let log = TestLog::new();
        let entries: Vec<Vec<u8>> = (0..count)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        let mut writer = log.writer();
        for chunk in entries.chunks(batch) {
            writer.append_batch(chunk, |_| Ok(())).unwrap();
        }
        (log, entries)
    }
}
