//! Durable storage of a Concordat log: entries, tile hashes and signed checkpoints in one
//! database, written by one process at a time.
//!
//! - [`Writer`] appends batches in one transaction each: entries, the tile hashes they complete,
//!   the caller's own state writes ([`StateTx`]) and a checkpoint signed only after the new root
//!   was read back from storage and proved consistent with the previous checkpoint.
//! - [`Appender`] batches concurrent appends into those transactions (group commit) and
//!   acknowledges each entry, with its index, once its batch is durable.
//! - [`Reader`] answers proofs, tiles and entries from stored hashes on its own connection, so
//!   reads never block the writer.
//! - [`verify`] recomputes everything from the entries and reports the first difference.
//!
//! A log lives in a [`Database`]: SQLite (WAL mode, `synchronous=FULL`), the embedded default,
//! or PostgreSQL ([`pg`]: the schema as versioned migrations, and one sequencer among several
//! nodes with a fencing token that every append checks). Both sit behind one interface
//! (`backend`), so everything above it is written once.

mod appender;
mod backend;
mod batch;
mod error;
mod lock;
mod migrate;
mod nodes;
pub mod pg;
mod published;
mod reader;
mod schema;
mod verify;
pub mod witness;
mod writer;

pub use appender::{Appended, Appender, Ticket};
pub use backend::Database;
pub use batch::{Batcher, GroupCommit};
pub use error::StoreError;
pub use migrate::{MigrateProgress, MigrateReport, migrate};
pub use nodes::CACHED_TILES_DEFAULT;
pub use published::PUBLISHED_FILE;
pub use reader::Reader;
pub use schema::{LogInfo, init, init_at, init_with_meta};
pub use verify::{Problem, VerifyFailure, VerifyProgress, VerifyReport, verify, verify_at};
pub use writer::{BatchCommit, StateTx, Writer};

/// The database file inside a log directory.
pub const DATABASE_FILE: &str = "log.db";
/// The lock file that names the process writing a log directory.
pub const LOCK_FILE: &str = "writer.lock";
/// The largest entry: the C2SP entry bundle's u16 length prefix.
pub const ENTRY_BYTES_MAX: usize = tlog::tile::ENTRY_BYTES_MAX;

/// A signed checkpoint as stored: its size, root and full note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: tlog::Hash,
    pub note: String,
}
