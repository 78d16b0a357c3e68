//! The one error type of the store.

use std::path::PathBuf;

/// What went wrong reading or writing a log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{}` holds no log (no {} inside); create one with `concordat log init`, or give --database URL (or DATABASE_URL) if its log is in PostgreSQL", .0.display(), crate::DATABASE_FILE)]
    NotALog(PathBuf),
    #[error("`{}` already holds a log", .0.display())]
    AlreadyExists(PathBuf),
    #[error(
        "the database {0} holds no Concordat log; create one with `concordat init --database URL`"
    )]
    NoLogInDatabase(String),
    #[error("the database {0} already holds a log")]
    DatabaseHoldsLog(String),
    #[error(
        "another node (`{holder}`) sequences the log in {database}; send entries to it, or stop it first"
    )]
    Led { database: String, holder: String },
    #[error("log directory `{}` is being written by another process ({holder}); stop it first, or send entries to it instead", .dir.display())]
    Locked { dir: PathBuf, holder: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error(
        "this node no longer sequences the log (its epoch {epoch}; the sequencer is now `{holder}` at epoch {current}): its write is refused"
    )]
    Fenced {
        epoch: i64,
        current: i64,
        holder: String,
    },
    #[error("the log database is damaged: {0}; run `concordat log verify` for details")]
    Corrupt(String),
    #[error("entry is {len} bytes; entries are at most {max} bytes", max = crate::ENTRY_BYTES_MAX)]
    EntryTooLarge { len: usize },
    #[error("the signer key `{got}` is not this log's key `{expected}`")]
    WrongKey { got: String, expected: String },
    #[error("index {index} is not in the log (size {size})")]
    NoSuchEntry { index: u64, size: u64 },
    #[error("size {size} is larger than the log's latest checkpoint ({latest})")]
    SizeBeyondCheckpoint { size: u64, latest: u64 },
    #[error("no checkpoint was signed at size {size}; signed sizes near it: {nearby}")]
    NoCheckpointAt { size: u64, nearby: String },
    #[error("{0}")]
    Invalid(String),
    #[error("refusing to sign: {0}")]
    Invariant(String),
    #[error(
        "the log database holds {stored} entries, but this log published a checkpoint of {published} (`{file}`): the database was restored from an older copy or lost its last commits. Restore the newest copy; if entries past {stored} are to be given up, move `{file}` away — every client that saw the newer checkpoint will see a fork"
    )]
    RolledBack {
        published: u64,
        stored: u64,
        file: String,
    },
    #[error(
        "the log database's tree at size {size} is not the one this log published (`{file}`): the log forked. Restore the database that published it"
    )]
    Forked { size: u64, file: String },
    #[error("the batch holding this entry failed: {0}")]
    BatchFailed(String),
    #[error("the log writer has stopped")]
    Closed,
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}
