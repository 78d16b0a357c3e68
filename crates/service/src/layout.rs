//! The instance directory's layout, in one place: where `init` keeps the keys, where tokens
//! and deposits live, and where a running server says it is.
//!
//! ```text
//! log.db, writer.lock            the store (see `store`)
//! keys/log.key                   signs checkpoints (0600)
//! keys/operator.key              signs as the operator party (0600)
//! tokens.json                    bearer tokens, as SHA-256 hashes (0600)
//! sealed/addenda/<contract>/<addendum>.sealed.toml   sealed addenda, for cleared parties
//! sealed/evidence/<entry>.sealed.toml        sealed evaluation results
//! sealed/usage-records/<contract>/<hex>.jsonl usage records, by their SHA-256, deposited
//!                                            before the entry that counts them
//! serve.url                      while a server runs: where to send entries instead
//! nonces.jsonl                   nonces of signed requests the server answered, kept until
//!                                their signatures expire
//! ```

use std::path::{Path, PathBuf};

use crate::ServiceError;

/// Checks that an id that becomes part of a path is an id of the one grammar of
/// [`domain::ids`] — so no `..`, no `/`, no hidden file, whoever sent it.
pub fn check_segment(what: &str, id: &str) -> Result<(), ServiceError> {
    domain::ids::check_id(what, id).map_err(|e| ServiceError::BadRequest(e.to_string()))
}

pub const KEYS_DIR: &str = "keys";
pub const LOG_KEY_FILE: &str = "log.key";
pub const OPERATOR_KEY_FILE: &str = "operator.key";
pub const TOKENS_FILE: &str = "tokens.json";
pub const SEALED_DIR: &str = "sealed";
pub const SEALED_ADDENDA_DIR: &str = "addenda";
pub const SEALED_EVIDENCE_DIR: &str = "evidence";
pub const USAGE_DIR: &str = "usage";
pub const USAGE_RECORDS_DIR: &str = "usage-records";
pub const SERVE_URL_FILE: &str = "serve.url";
pub const NONCES_FILE: &str = "nonces.jsonl";

/// The paths of one instance directory, and where its deposits are kept: under those paths,
/// or — for an instance whose log is in PostgreSQL, which several nodes serve — in that
/// database, keyed by the same paths (relative to the directory).
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
    /// The PostgreSQL database that keeps the deposits, when not the directory.
    deposits: Option<String>,
}

impl Layout {
    pub fn new(dir: impl Into<PathBuf>) -> Layout {
        Layout {
            dir: dir.into(),
            deposits: None,
        }
    }

    /// The layout of the instance whose directory and log `database` names.
    pub fn of(database: &store::Database) -> Layout {
        Layout {
            dir: database.dir().to_owned(),
            deposits: match database {
                store::Database::Postgres { url, .. } => Some(url.clone()),
                store::Database::Sqlite(_) => None,
            },
        }
    }

    /// The key a deposit at `path` is kept under in a database: its path in the directory.
    fn deposit_key(&self, path: &Path) -> Result<String, ServiceError> {
        path.strip_prefix(&self.dir)
            .ok()
            .and_then(Path::to_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                ServiceError::internal(format!(
                    "`{}` is not inside the instance directory",
                    path.display()
                ))
            })
    }

    /// Keeps a deposit at `path` once (see [`crate::deposit::write_once`]): in the directory,
    /// or in the instance's database.
    pub fn keep(&self, path: &Path, bytes: &[u8]) -> Result<crate::deposit::Kept, ServiceError> {
        let Some(url) = &self.deposits else {
            return crate::deposit::write_once(path, bytes);
        };
        match store::pg::deposit_once(url, &self.deposit_key(path)?, bytes)? {
            store::pg::Deposited::Written => Ok(crate::deposit::Kept::Written),
            store::pg::Deposited::AlreadyThere => Ok(crate::deposit::Kept::AlreadyThere),
            store::pg::Deposited::Different => Err(ServiceError::Conflict(
                "something else was deposited here first; the operator replaces deposits"
                    .to_owned(),
            )),
        }
    }

    /// The PostgreSQL database the instance's nodes share, when its log is there.
    pub fn shared_database(&self) -> Option<&str> {
        self.deposits.as_deref()
    }

    /// The deposit kept at `path`, if any.
    pub fn kept(&self, path: &Path) -> Result<Option<Vec<u8>>, ServiceError> {
        let Some(url) = &self.deposits else {
            return match std::fs::read(path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ServiceError::internal(format!(
                    "cannot read `{}`: {e}",
                    path.display()
                ))),
            };
        };
        Ok(store::pg::deposited(url, &self.deposit_key(path)?)?)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join(KEYS_DIR)
    }

    pub fn log_key(&self) -> PathBuf {
        self.keys_dir().join(LOG_KEY_FILE)
    }

    pub fn operator_key(&self) -> PathBuf {
        self.keys_dir().join(OPERATOR_KEY_FILE)
    }

    pub fn tokens(&self) -> PathBuf {
        self.dir.join(TOKENS_FILE)
    }

    /// Where the sealed half of addendum `id` of `contract` is deposited; both ids must be
    /// file-name segments (see [`check_segment`]), so the path stays beneath the instance.
    pub fn sealed_addendum(&self, contract: &str, id: &str) -> Result<PathBuf, ServiceError> {
        check_segment("contract id", contract)?;
        check_segment("addendum id", id)?;
        Ok(self
            .dir
            .join(SEALED_DIR)
            .join(SEALED_ADDENDA_DIR)
            .join(contract)
            .join(format!("{id}.sealed.toml")))
    }

    /// Where instances before 0.2 kept a sealed addendum (`sealed/<contract>/`, beside the
    /// sealed results and usage records, which a contract named `evidence` or `usage` would
    /// have shared): read when nothing is at [`Layout::sealed_addendum`], never written.
    pub fn legacy_sealed_addendum(&self, contract: &str, id: &str) -> Option<PathBuf> {
        let shared = [SEALED_EVIDENCE_DIR, USAGE_DIR, SEALED_ADDENDA_DIR].contains(&contract);
        (!shared
            && check_segment("contract id", contract).is_ok()
            && check_segment("addendum id", id).is_ok())
        .then(|| {
            self.dir
                .join(SEALED_DIR)
                .join(contract)
                .join(format!("{id}.sealed.toml"))
        })
    }

    pub fn sealed_result(&self, entry: u64) -> PathBuf {
        self.dir
            .join(SEALED_DIR)
            .join(SEALED_EVIDENCE_DIR)
            .join(format!("{entry}.sealed.toml"))
    }

    /// Where the usage records of `contract` whose digest is `digest` (`sha256:<hex>`) are
    /// deposited.
    pub fn usage_records_for(&self, contract: &str, digest: &str) -> Result<PathBuf, ServiceError> {
        check_segment("contract id", contract)?;
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "digest `{}` is not `sha256:` and 64 lowercase hex digits",
                    digest.escape_debug()
                ))
            })?;
        Ok(self
            .dir
            .join(SEALED_DIR)
            .join(USAGE_RECORDS_DIR)
            .join(contract)
            .join(format!("{hex}.jsonl")))
    }

    /// Where instances before 0.2 kept a batch's records, deposited after its entry: read
    /// when nothing is at [`Layout::usage_records_for`], never written.
    pub fn legacy_usage_records(&self, entry: u64) -> PathBuf {
        self.dir
            .join(SEALED_DIR)
            .join(USAGE_DIR)
            .join(format!("{entry}.jsonl"))
    }

    pub fn nonces(&self) -> PathBuf {
        self.dir.join(NONCES_FILE)
    }

    pub fn serve_url_file(&self) -> PathBuf {
        self.dir.join(SERVE_URL_FILE)
    }

    /// The URL of the server holding this instance, if one says it is running.
    pub fn serving_url(&self) -> Option<String> {
        std::fs::read_to_string(self.serve_url_file())
            .ok()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
    }
}
