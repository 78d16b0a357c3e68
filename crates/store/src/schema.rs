//! A log's metadata, its creation, and signing its checkpoints: the same on every database.

use std::path::{Path, PathBuf};

use tlog::checkpoint::{Checkpoint, check_origin};
use tlog::note::{Note, SignerKey, VerifierKey};

use crate::backend::{Conn, Database, Rows};
use crate::lock::WriterLock;
use crate::{StoreError, StoredCheckpoint};

const FORMAT_VERSION: &str = "1";

/// What a log directory says about itself.
#[derive(Debug, Clone)]
pub struct LogInfo {
    pub dir: PathBuf,
    pub origin: String,
    pub verifier_key: VerifierKey,
    /// Where the signer key was when the log was created, if the creator recorded it.
    pub signer_key_path: Option<PathBuf>,
    /// What the creator recorded beyond the log itself (e.g. that it holds a ledger).
    pub extra: std::collections::BTreeMap<String, String>,
}

/// Metadata keys the store itself uses; the rest belong to callers.
const OWN_META: [&str; 4] = [
    "format_version",
    "origin",
    "verifier_key",
    "signer_key_path",
];

/// Creates a log in `dir` (created if missing) and signs its empty checkpoint.
pub fn init(
    dir: &Path,
    origin: &str,
    signer: &SignerKey,
    signer_key_path: Option<&Path>,
) -> Result<LogInfo, StoreError> {
    init_with_meta(dir, origin, signer, signer_key_path, &[])
}

/// As [`init`], recording `extra` metadata (keys other than the store's own).
pub fn init_with_meta(
    dir: &Path,
    origin: &str,
    signer: &SignerKey,
    signer_key_path: Option<&Path>,
    extra: &[(&str, &str)],
) -> Result<LogInfo, StoreError> {
    init_at(
        &Database::Sqlite(dir.to_owned()),
        origin,
        signer,
        signer_key_path,
        extra,
    )
}

/// Creates a log in `database` and signs its empty checkpoint, recording `extra` metadata
/// (keys other than the store's own). The database's directory is created if missing.
pub fn init_at(
    database: &Database,
    origin: &str,
    signer: &SignerKey,
    signer_key_path: Option<&Path>,
    extra: &[(&str, &str)],
) -> Result<LogInfo, StoreError> {
    if let Some((key, _)) = extra.iter().find(|(key, _)| OWN_META.contains(key)) {
        return Err(StoreError::Invalid(format!(
            "metadata key `{key}` is the store's own"
        )));
    }
    check_origin(origin).map_err(|e| StoreError::Invalid(format!("origin `{origin}`: {e}")))?;
    let dir = database.dir();
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::io(format!("cannot create `{}`", dir.display()), e))?;
    let _lock = WriterLock::acquire(dir)?;
    let mut conn: Box<dyn Conn> = match database {
        Database::Sqlite(dir) => Box::new(crate::backend::sqlite::SqliteConn::create(dir)?),
        Database::Postgres { url, .. } => {
            Box::new(crate::pg::backend::PgConn::open_writer(url, "init")?)
        }
    };
    let mut tx = conn.begin(None)?;
    tx.make_log(dir)?;
    let verifier = signer.verifier();
    let mut meta = vec![
        ("format_version", FORMAT_VERSION.to_owned()),
        ("origin", origin.to_owned()),
        ("verifier_key", verifier.to_text()),
    ];
    if let Some(key_path) = signer_key_path {
        meta.push(("signer_key_path", key_path.display().to_string()));
    }
    meta.extend(extra.iter().map(|(key, value)| (*key, (*value).to_owned())));
    for (key, value) in meta {
        tx.insert_meta(key, &value)?;
    }
    let empty = sign_checkpoint(origin, 0, tlog::hash::empty_root(), signer)?;
    tx.insert_checkpoint(&empty, None)?;
    tx.commit()?;
    crate::published::write(dir, &empty).map_err(|e| {
        StoreError::io(
            format!("cannot write `{}`", crate::published::path(dir).display()),
            e,
        )
    })?;
    Ok(LogInfo {
        dir: dir.to_owned(),
        origin: origin.to_owned(),
        verifier_key: verifier,
        signer_key_path: signer_key_path.map(Path::to_owned),
        extra: extra
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    })
}

pub(crate) fn read_info(rows: &mut dyn Rows, dir: &Path) -> Result<LogInfo, StoreError> {
    let meta: std::collections::BTreeMap<String, String> = rows.meta()?.into_iter().collect();
    let required = |key: &str| -> Result<String, StoreError> {
        meta.get(key)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("metadata `{key}` is missing")))
    };
    let version = required("format_version")?;
    if version != FORMAT_VERSION {
        return Err(StoreError::Invalid(format!(
            "log format version {version} is not supported (this build reads version {FORMAT_VERSION})"
        )));
    }
    let verifier_text = required("verifier_key")?;
    let verifier_key = VerifierKey::parse(&verifier_text)
        .map_err(|e| StoreError::Corrupt(format!("metadata `verifier_key`: {e}")))?;
    let extra = meta
        .iter()
        .filter(|(key, _)| !OWN_META.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(LogInfo {
        dir: dir.to_owned(),
        origin: required("origin")?,
        verifier_key,
        signer_key_path: meta.get("signer_key_path").map(PathBuf::from),
        extra,
    })
}

pub(crate) fn sign_checkpoint(
    origin: &str,
    size: u64,
    root: tlog::Hash,
    signer: &SignerKey,
) -> Result<StoredCheckpoint, StoreError> {
    let text = Checkpoint::new(origin, size, root).to_text();
    let note = Note::sign(&text, signer)
        .map_err(|e| StoreError::Invariant(format!("cannot sign checkpoint: {e}")))?;
    Ok(StoredCheckpoint {
        size,
        root,
        note: note.to_text(),
    })
}
