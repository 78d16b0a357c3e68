//! One writer per log directory: an advisory lock on `writer.lock`, which names its holder.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::StoreError;

/// Held for as long as a writer has the directory; the operating system releases it when the
/// process ends, however it ends.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    pub(crate) fn acquire(dir: &Path) -> Result<WriterLock, StoreError> {
        let path = dir.join(crate::LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(format!("cannot open `{}`", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_owned(),
                    holder: read_holder(&mut file),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::io(
                    format!("cannot lock `{}`", path.display()),
                    e,
                ));
            }
        }
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let command: Vec<String> = std::env::args().take(3).collect();
        let holder = format!(
            "pid {} `{}`, since unix time {since}",
            std::process::id(),
            command.join(" ")
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(|e| StoreError::io(format!("cannot write `{}`", path.display()), e))?;
        Ok(WriterLock { _file: file })
    }
}

/// The holder writes its name just after taking the lock: give it a moment to finish.
fn read_holder(file: &mut File) -> String {
    for _ in 0..20 {
        let mut holder = String::new();
        let read = file
            .rewind()
            .and_then(|()| file.read_to_string(&mut holder));
        let holder = holder.trim();
        if read.is_ok() && !holder.is_empty() {
            return holder.to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "holder unknown".to_owned()
}
