//! The log's tables in PostgreSQL: the same reads and writes as SQLite's, with each batch's
//! entries, digests and tiles written by one statement each (arrays through `UNNEST`), state
//! writes gathered in the transaction and written at its commit, and every append fenced by
//! the sequencer's epoch.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Statement, Transaction};

use crate::backend::{
    CheckpointRow, Conn, Rows, TileRow, Tx, from_sql_u64, now_ms, stored_checkpoint, tile_width,
    to_sql_u64,
};
use crate::{StoreError, StoredCheckpoint};

/// Runs `call`, which blocks on the client's own runtime, where that is allowed: an async
/// server's handler reads the store on a runtime worker, which must first hand its other tasks
/// on (a worker of a current-thread runtime cannot, so the call goes to a thread of its own).
pub(crate) fn outside_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Err(_) => call(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        Ok(_) => std::thread::scope(|scope| {
            scope
                .spawn(call)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
    }
}

/// Statements prepared once a connection.
#[derive(Default)]
struct Statements(HashMap<&'static str, Statement>);

/// One connection to the log's database.
pub(crate) struct PgConn {
    client: Client,
    statements: Statements,
    url: String,
    /// How the connection names itself to the server.
    role: String,
}

impl PgConn {
    /// Connects to a database that holds a log's schema (of a version this binary reads).
    pub(crate) fn open(url: &str, role: &str) -> Result<PgConn, StoreError> {
        let mut client = super::connect(url, role)?;
        let version = super::schema_version(&mut client)?;
        let newest = super::MIGRATIONS.last().map_or(0, |m| m.version);
        if version == 0 {
            return Err(StoreError::NoLogInDatabase(super::redact(url)));
        }
        if version > newest {
            return Err(StoreError::Invalid(format!(
                "the database's schema is version {version}, newer than this binary's {newest}: run a newer concordat"
            )));
        }
        Ok(PgConn {
            client,
            statements: Statements::default(),
            url: url.to_owned(),
            role: role.to_owned(),
        })
    }

    /// Connects again if the server ended the connection (it restarted, or a peer vanished):
    /// the call that found it closed failed; the next one works on a new connection.
    fn revive(&mut self) {
        if self.client.is_closed()
            && let Ok(client) = outside_runtime(|| super::connect(&self.url, &self.role))
        {
            self.client = client;
            self.statements = Statements::default();
        }
    }

    /// Connects as the writer (or `init`): the schema is brought up to date first.
    pub(crate) fn open_writer(url: &str, node: &str) -> Result<PgConn, StoreError> {
        let mut client = super::connect(url, node)?;
        super::migrate(&mut client)?;
        Ok(PgConn {
            client,
            statements: Statements::default(),
            url: url.to_owned(),
            role: node.to_owned(),
        })
    }
}

/// Queries on a client or a transaction, with the connection's prepared statements.
struct Pg<'a, C: GenericClient> {
    client: &'a mut C,
    statements: &'a mut Statements,
}

impl<C: GenericClient> Pg<'_, C> {
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.0.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let statement = self.prepared(sql)?;
        Ok(self.client.query(&statement, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, StoreError> {
        let statement = self.prepared(sql)?;
        Ok(self.client.query_opt(&statement, params)?)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.prepared(sql)?;
        Ok(self.client.execute(&statement, params)?)
    }

    fn count(&mut self, sql: &'static str) -> Result<u64, StoreError> {
        let row = self.query(sql, &[])?;
        let value: i64 = row.first().map_or(0, |row| row.get(0));
        from_sql_u64(value)
    }

    fn meta(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .query("SELECT key, value FROM meta", &[])?
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn latest_checkpoint(&mut self) -> Result<StoredCheckpoint, StoreError> {
        let row = self
            .query_opt(
                "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )?
            .ok_or_else(|| StoreError::Corrupt("the log has no checkpoint".to_owned()))?;
        stored_checkpoint(row.get(0), row.get(1), row.get(2))
    }

    fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.query_opt(
            "SELECT size, root, note FROM checkpoints WHERE size = $1",
            &[&to_sql_u64(size)?],
        )?
        .map(|row| stored_checkpoint(row.get(0), row.get(1), row.get(2)))
        .transpose()
    }

    fn checkpoints_around(&mut self, size: u64) -> Result<(Option<u64>, Option<u64>), StoreError> {
        let rows = self.query(
            "SELECT (SELECT MAX(size) FROM checkpoints WHERE size < $1), \
                    (SELECT MIN(size) FROM checkpoints WHERE size > $1)",
            &[&to_sql_u64(size)?],
        )?;
        let Some(row) = rows.first() else {
            return Ok((None, None));
        };
        let below: Option<i64> = row.get(0);
        let above: Option<i64> = row.get(1);
        Ok((
            below.map(from_sql_u64).transpose()?,
            above.map(from_sql_u64).transpose()?,
        ))
    }

    fn checkpoint_rows(&mut self) -> Result<Vec<CheckpointRow>, StoreError> {
        self.query(
            "SELECT size, previous_size, root, note, signed_ms FROM checkpoints ORDER BY size",
            &[],
        )?
        .into_iter()
        .map(|row| {
            let previous: Option<i64> = row.get(1);
            Ok(CheckpointRow {
                size: from_sql_u64(row.get(0))?,
                previous_size: previous.map(from_sql_u64).transpose()?,
                root: row.get(2),
                note: row.get(3),
                signed_ms: row.get(4),
            })
        })
        .collect()
    }

    fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .query_opt(
                "SELECT data FROM entries WHERE idx = $1",
                &[&to_sql_u64(index)?],
            )?
            .map(|row| row.get(0)))
    }

    fn entries(
        &mut self,
        start: u64,
        end: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let end = end.map_or(Ok(i64::MAX), to_sql_u64)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT idx, data FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3",
            &[&to_sql_u64(start)?, &end, &limit],
        )?
        .into_iter()
        .map(|row| Ok((from_sql_u64(row.get(0))?, row.get(1))))
        .collect()
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
        self.query_opt(
            "SELECT width, hashes FROM tiles WHERE level = $1 AND idx = $2",
            &[&i16::from(level), &to_sql_u64(index)?],
        )?
        .map(|row| Ok((tile_width(i64::from(row.get::<_, i32>(0)))?, row.get(1))))
        .transpose()
    }

    fn tile_widths(&mut self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        Ok(self
            .query("SELECT level::bigint, idx, width::bigint FROM tiles", &[])?
            .into_iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .query_opt(
                "SELECT value FROM state WHERE space = $1 AND key = $2",
                &[&space, &key],
            )?
            .map(|row| row.get(0)))
    }

    fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        Ok(self
            .query(
                "SELECT space, key, value FROM state ORDER BY space COLLATE \"C\", key COLLATE \"C\"",
                &[],
            )?
            .into_iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    fn digests(&mut self) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
        self.query("SELECT digest, idx FROM digests", &[])?
            .into_iter()
            .map(|row| Ok((row.get(0), from_sql_u64(row.get(1))?)))
            .collect()
    }

    fn logged_among(&mut self, digests: &[[u8; 32]]) -> Result<HashMap<[u8; 32], u64>, StoreError> {
        if digests.is_empty() {
            return Ok(HashMap::new());
        }
        let bytes: Vec<&[u8]> = digests.iter().map(<[u8; 32]>::as_slice).collect();
        self.query(
            // A join, not `= ANY($1)`: a plan that scans the table would test every row
            // against every digest asked.
            "SELECT d.digest, d.idx FROM UNNEST($1::bytea[]) AS q(digest) \
             JOIN digests d ON d.digest = q.digest",
            &[&bytes],
        )?
        .into_iter()
        .map(|row| {
            let digest: Vec<u8> = row.get(0);
            let digest = <[u8; 32]>::try_from(digest.as_slice())
                .map_err(|_| StoreError::Corrupt("a recorded digest is not 32 bytes".to_owned()))?;
            Ok((digest, from_sql_u64(row.get(1))?))
        })
        .collect()
    }

    fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.query_opt(
            "SELECT idx FROM digests WHERE digest = $1",
            &[&digest.as_slice()],
        )?
        .map(|row| from_sql_u64(row.get(0)))
        .transpose()
    }
}

/// Implements [`Rows`] through [`Pg`], with `state_get` and `state_rows` given.
macro_rules! pg_rows {
    ($type:ty; $($state:tt)*) => {
        impl Rows for $type {
            fn meta(&mut self) -> Result<Vec<(String, String)>, StoreError> {
                self.rows(|pg| pg.meta())
            }
            fn latest_checkpoint(&mut self) -> Result<StoredCheckpoint, StoreError> {
                self.rows(|pg| pg.latest_checkpoint())
            }
            fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
                self.rows(|pg| pg.checkpoint_at(size))
            }
            fn checkpoints_around(
                &mut self,
                size: u64,
            ) -> Result<(Option<u64>, Option<u64>), StoreError> {
                self.rows(|pg| pg.checkpoints_around(size))
            }
            fn checkpoint_count(&mut self) -> Result<u64, StoreError> {
                self.rows(|pg| pg.count("SELECT COUNT(*) FROM checkpoints"))
            }
            fn checkpoint_rows(&mut self) -> Result<Vec<CheckpointRow>, StoreError> {
                self.rows(|pg| pg.checkpoint_rows())
            }
            fn entry_end(&mut self) -> Result<u64, StoreError> {
                self.rows(|pg| pg.count("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries"))
            }
            fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
                self.rows(|pg| pg.entry(index))
            }
            fn entries(
                &mut self,
                start: u64,
                end: Option<u64>,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                self.rows(|pg| pg.entries(start, end, limit))
            }
            fn tile(
                &mut self,
                level: u8,
                index: u64,
            ) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
                self.rows(|pg| pg.tile(level, index))
            }
            fn tile_widths(&mut self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
                self.rows(|pg| pg.tile_widths())
            }
            fn digests(&mut self) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
                self.rows(|pg| pg.digests())
            }
            fn logged_at(&mut self, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
                self.rows(|pg| pg.logged_at(digest))
            }
            fn logged_among(
                &mut self,
                digests: &[[u8; 32]],
            ) -> Result<HashMap<[u8; 32], u64>, StoreError> {
                self.rows(|pg| pg.logged_among(digests))
            }
            $($state)*
        }
    };
}

impl PgConn {
    /// Runs a read, once more on a new connection if the server ended this one (a read is
    /// safe to repeat), where blocking is allowed.
    fn rows<T: Send>(
        &mut self,
        read: impl Fn(&mut Pg<'_, Client>) -> Result<T, StoreError> + Send + Sync,
    ) -> Result<T, StoreError> {
        outside_runtime(|| {
            let first = read(&mut self.pg());
            match first {
                Err(StoreError::Postgres(_)) if self.client.is_closed() => read(&mut self.pg()),
                other => other,
            }
        })
    }

    fn pg(&mut self) -> Pg<'_, Client> {
        self.revive();
        Pg {
            client: &mut self.client,
            statements: &mut self.statements,
        }
    }
}

pg_rows! {
    PgConn;
    fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.rows(|pg| pg.state_get(space, key))
    }
    fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        self.rows(|pg| pg.state_rows())
    }
}

impl Conn for PgConn {
    fn begin(&mut self, fence: Option<i64>) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.revive();
        let mut tx = self.client.transaction()?;
        if let Some(epoch) = fence {
            super::check_fence(&mut tx, epoch)?;
        }
        Ok(Box::new(PgTx {
            tx,
            statements: &mut self.statements,
            state: BTreeMap::new(),
            url: &self.url,
        }))
    }

    fn snapshot(&mut self) -> Result<(), StoreError> {
        self.revive();
        outside_runtime(|| {
            self.client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        })?;
        Ok(())
    }

    fn end_snapshot(&mut self) -> Result<(), StoreError> {
        outside_runtime(|| self.client.batch_execute("COMMIT"))?;
        Ok(())
    }
}

/// A write transaction. State writes are kept (the latest per key) and written at commit, a
/// statement for all puts and one for all deletes.
pub(crate) struct PgTx<'c> {
    tx: Transaction<'c>,
    statements: &'c mut Statements,
    state: BTreeMap<(String, String), Option<Vec<u8>>>,
    url: &'c str,
}

impl<'c> PgTx<'c> {
    /// Runs a read inside the transaction (never repeated: the transaction is gone with its
    /// connection).
    fn rows<T: Send>(
        &mut self,
        read: impl Fn(&mut Pg<'_, Transaction<'c>>) -> Result<T, StoreError> + Send + Sync,
    ) -> Result<T, StoreError> {
        read(&mut self.pg())
    }

    fn pg(&mut self) -> Pg<'_, Transaction<'c>> {
        Pg {
            client: &mut self.tx,
            statements: &mut *self.statements,
        }
    }

    fn flush_state(&mut self) -> Result<(), StoreError> {
        let state = std::mem::take(&mut self.state);
        let (mut put, mut deleted) = (
            (Vec::new(), Vec::new(), Vec::new()),
            (Vec::new(), Vec::new()),
        );
        for ((space, key), value) in state {
            match value {
                Some(value) => {
                    put.0.push(space);
                    put.1.push(key);
                    put.2.push(value);
                }
                None => {
                    deleted.0.push(space);
                    deleted.1.push(key);
                }
            }
        }
        if !deleted.0.is_empty() {
            self.pg().execute(
                "DELETE FROM state WHERE (space, key) IN \
                 (SELECT * FROM UNNEST($1::text[], $2::text[]))",
                &[&deleted.0, &deleted.1],
            )?;
        }
        if !put.0.is_empty() {
            self.pg().execute(
                "INSERT INTO state (space, key, value) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[]) \
                 ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value",
                &[&put.0, &put.1, &put.2],
            )?;
        }
        Ok(())
    }
}

pg_rows! {
    PgTx<'_>;
    fn state_get(&mut self, space: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.state.get(&(space.to_owned(), key.to_owned())) {
            return Ok(value.clone());
        }
        self.pg().state_get(space, key)
    }
    fn state_rows(&mut self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        self.flush_state()?;
        self.pg().state_rows()
    }
}

impl Tx for PgTx<'_> {
    fn make_log(&mut self, _dir: &Path) -> Result<(), StoreError> {
        if self.pg().count("SELECT COUNT(*) FROM meta")? > 0 {
            return Err(StoreError::DatabaseHoldsLog(super::redact(self.url)));
        }
        Ok(())
    }

    fn insert_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.pg().execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn insert_entries(&mut self, first: u64, entries: &[&[u8]]) -> Result<(), StoreError> {
        let indices = (first..)
            .take(entries.len())
            .map(to_sql_u64)
            .collect::<Result<Vec<_>, _>>()?;
        self.pg().execute(
            "INSERT INTO entries (idx, data) SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
            &[&indices, &entries],
        )?;
        Ok(())
    }

    fn insert_digests(&mut self, first: u64, digests: &[[u8; 32]]) -> Result<(), StoreError> {
        let indices = (first..)
            .take(digests.len())
            .map(to_sql_u64)
            .collect::<Result<Vec<_>, _>>()?;
        let bytes: Vec<&[u8]> = digests.iter().map(<[u8; 32]>::as_slice).collect();
        let inserted: std::collections::HashSet<i64> = self
            .pg()
            .query(
                "INSERT INTO digests (digest, idx) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bigint[]) \
                 ON CONFLICT (digest) DO NOTHING RETURNING idx",
                &[&bytes, &indices],
            )?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(index) = indices.iter().find(|index| !inserted.contains(index)) {
            return Err(StoreError::Invalid(format!(
                "entry {index}: its digest is already recorded for another entry"
            )));
        }
        Ok(())
    }

    fn record_digests(&mut self, digests: &[(u64, [u8; 32])]) -> Result<(), StoreError> {
        let indices = digests
            .iter()
            .map(|(index, _)| to_sql_u64(*index))
            .collect::<Result<Vec<_>, _>>()?;
        let bytes: Vec<&[u8]> = digests
            .iter()
            .map(|(_, digest)| digest.as_slice())
            .collect();
        self.pg().execute(
            "INSERT INTO digests (digest, idx) SELECT * FROM UNNEST($1::bytea[], $2::bigint[]) \
             ON CONFLICT (digest) DO NOTHING",
            &[&bytes, &indices],
        )?;
        Ok(())
    }

    fn put_tiles(&mut self, tiles: &[TileRow]) -> Result<(), StoreError> {
        let levels: Vec<i16> = tiles.iter().map(|t| i16::from(t.0)).collect();
        let indices = tiles
            .iter()
            .map(|t| to_sql_u64(t.1))
            .collect::<Result<Vec<_>, _>>()?;
        let widths: Vec<i32> = tiles.iter().map(|t| i32::from(t.2)).collect();
        let hashes: Vec<&[u8]> = tiles.iter().map(|t| t.3.as_slice()).collect();
        self.pg().execute(
            "INSERT INTO tiles (level, idx, width, hashes) \
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::int[], $4::bytea[]) \
             ON CONFLICT (level, idx) DO UPDATE SET width = EXCLUDED.width, hashes = EXCLUDED.hashes",
            &[&levels, &indices, &widths, &hashes],
        )?;
        Ok(())
    }

    fn insert_checkpoint(
        &mut self,
        checkpoint: &StoredCheckpoint,
        previous_size: Option<u64>,
    ) -> Result<(), StoreError> {
        let previous = previous_size.map(to_sql_u64).transpose()?;
        self.pg().execute(
            "INSERT INTO checkpoints (size, previous_size, root, note, signed_ms) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &to_sql_u64(checkpoint.size)?,
                &previous,
                &checkpoint.root.0.as_slice(),
                &checkpoint.note,
                &now_ms(),
            ],
        )?;
        Ok(())
    }

    fn copy_checkpoint(&mut self, row: &CheckpointRow) -> Result<(), StoreError> {
        let previous = row.previous_size.map(to_sql_u64).transpose()?;
        self.pg().execute(
            "INSERT INTO checkpoints (size, previous_size, root, note, signed_ms) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &to_sql_u64(row.size)?,
                &previous,
                &row.root,
                &row.note,
                &row.signed_ms,
            ],
        )?;
        Ok(())
    }

    fn state_put(&mut self, space: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.state
            .insert((space.to_owned(), key.to_owned()), Some(value.to_vec()));
        Ok(())
    }

    fn state_delete(&mut self, space: &str, key: &str) -> Result<(), StoreError> {
        self.state.insert((space.to_owned(), key.to_owned()), None);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.flush_state()?;
        self.tx.commit()?;
        Ok(())
    }
}
