//! One way to keep a deposit (a sealed half, a usage records file): checked by the caller,
//! then written once, whole, synced to disk, readable only by the instance's owner.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::ServiceError;

/// Whether a deposit was written now or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Written,
    AlreadyThere,
}

/// Writes `bytes` at `path` if nothing is there (mode 0600, through a temporary file that is
/// synced and then linked into place, so a reader never sees half a deposit and two depositors
/// cannot both win); accepts the same bytes again; refuses other bytes.
pub fn write_once(path: &Path, bytes: &[u8]) -> Result<Kept, ServiceError> {
    if let Some(kept) = already(path, bytes)? {
        return Ok(kept);
    }
    let parent = path
        .parent()
        .ok_or_else(|| ServiceError::internal(format!("`{}` has no folder", path.display())))?;
    let io = |action: &str, e: std::io::Error| {
        ServiceError::internal(format!("cannot {action} `{}`: {e}", path.display()))
    };
    std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = crate::keys::random_bytes()
        .map_err(ServiceError::internal)?
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let temporary = parent.join(format!(".{name}.{suffix}.part"));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            // The new name is durable once its folder is.
            std::fs::File::open(parent)
                .and_then(|folder| folder.sync_all())
                .map_err(|e| io("sync the folder of", e))?;
            Ok(Kept::Written)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => already(path, bytes)?
            .ok_or_else(|| ServiceError::internal("a deposit vanished while it was written")),
        Err(e) => Err(io("write", e)),
    }
}

fn already(path: &Path, bytes: &[u8]) -> Result<Option<Kept>, ServiceError> {
    match std::fs::read(path) {
        Ok(stored) if stored == bytes => Ok(Some(Kept::AlreadyThere)),
        Ok(_) => Err(ServiceError::Conflict(
            "something else was deposited here first; the operator replaces deposits".to_owned(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ServiceError::internal(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// Copies every deposit of the instance directory `dir` (the files under `sealed/`) into the
/// PostgreSQL database `url`, where the instance's nodes keep them, under the same paths:
/// for an instance whose log moves there. A deposit kept there with other bytes stops it.
/// Returns how many were copied.
pub fn copy_into_database(dir: &Path, url: &str) -> Result<usize, ServiceError> {
    let mut copied = 0;
    let mut folders = vec![dir.join(crate::layout::SEALED_DIR)];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ServiceError::internal(format!(
                    "cannot read `{}`: {e}",
                    folder.display()
                )));
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|e| ServiceError::internal(format!("`{}`: {e}", folder.display())))?
                .path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if path.is_dir() {
                folders.push(path);
            } else if name.is_some_and(|n| !n.starts_with('.')) {
                let bytes = std::fs::read(&path).map_err(|e| {
                    ServiceError::internal(format!("cannot read `{}`: {e}", path.display()))
                })?;
                let key = path
                    .strip_prefix(dir)
                    .ok()
                    .and_then(Path::to_str)
                    .ok_or_else(|| {
                        ServiceError::internal(format!("`{}`: not a UTF-8 path", path.display()))
                    })?;
                if store::pg::deposit_once(url, key, &bytes)? == store::pg::Deposited::Different {
                    return Err(ServiceError::Conflict(format!(
                        "the database keeps other bytes as `{key}`"
                    )));
                }
                copied += 1;
            }
        }
    }
    Ok(copied)
}
