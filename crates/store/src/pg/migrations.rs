//! The schema on PostgreSQL as numbered migrations, applied in order, each once, in one
//! transaction under an advisory lock so that nodes starting together do not race; a database
//! whose schema is newer than the binary is refused rather than written.

use crate::StoreError;

/// One step of the schema.
#[derive(Debug)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Append; never edit one that has shipped.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "the log, its state and its sequencer",
        sql: "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- One row an entry; idx is its position in the log.
CREATE TABLE entries (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    data BYTEA NOT NULL
);
-- One row a C2SP tile with the complete interior hashes of its eight levels.
CREATE TABLE tiles (
    level  SMALLINT NOT NULL,
    idx    BIGINT NOT NULL,
    width  INTEGER NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Every checkpoint the log signed, by tree size, chained by previous_size.
CREATE TABLE checkpoints (
    size          BIGINT PRIMARY KEY,
    previous_size BIGINT,
    root          BYTEA NOT NULL,
    note          TEXT NOT NULL,
    signed_ms     BIGINT NOT NULL
);
-- State projected from entries in the same transaction as the append.
CREATE TABLE state (
    space TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (space, key)
);
-- The digest that names each entry once.
CREATE TABLE digests (
    digest BYTEA PRIMARY KEY,
    idx    BIGINT NOT NULL
);
-- The sequencer: one row; each node that takes the lead raises the epoch, and every append
-- checks, in its own transaction, that the epoch is still its own.
CREATE TABLE sequencer (
    one    BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    epoch  BIGINT NOT NULL,
    holder TEXT NOT NULL,
    since  TIMESTAMPTZ NOT NULL
);
INSERT INTO sequencer (epoch, holder, since) VALUES (0, '', now());
",
    },
    Migration {
        version: 2,
        name: "deposits every node serves",
        sql: "
-- What parties deposit beside the log (sealed halves, usage records), by the path it would
-- have in an instance directory; written once.
CREATE TABLE deposits (
    key     TEXT PRIMARY KEY,
    bytes   BYTEA NOT NULL,
    kept_ms BIGINT NOT NULL
);
",
    },
    Migration {
        version: 3,
        name: "what the nodes must agree on beside the log: tokens and nonces",
        sql: "
-- Small documents the nodes share and update in turn (the instance's bearer tokens).
CREATE TABLE documents (
    name  TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL
);
-- The nonce of every signed request within its window, so that no node accepts one twice.
CREATE TABLE nonces (
    key       TEXT PRIMARY KEY,
    forget_at BIGINT NOT NULL
);
CREATE INDEX nonces_by_forget_at ON nonces (forget_at);
",
    },
];

/// The advisory lock key migrations take (`concordat` as ASCII in a 64-bit key).
const MIGRATION_LOCK: i64 = 0x636f_6e63_6f72_6401;

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS concordat_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// The schema version of the database: the last migration applied, 0 for none.
pub fn schema_version(client: &mut postgres::Client) -> Result<i32, StoreError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('concordat_migrations') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM concordat_migrations",
            &[],
        )?
        .get(0))
}

/// Applies the migrations the database lacks, in order, in one transaction; returns the
/// versions applied (none when it is current).
pub fn migrate(client: &mut postgres::Client) -> Result<Vec<i32>, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(LEDGER)?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM concordat_migrations",
            &[],
        )?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > newest {
        return Err(StoreError::Invalid(format!(
            "the database's schema is version {current}, newer than this binary's {newest}: run a newer concordat"
        )));
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(migration.sql).map_err(|e| {
            StoreError::Postgres(format!(
                "migration {} ({}): {e}",
                migration.version, migration.name
            ))
        })?;
        tx.execute(
            "INSERT INTO concordat_migrations (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
        )?;
        applied.push(migration.version);
    }
    tx.commit()?;
    Ok(applied)
}
