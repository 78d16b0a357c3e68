//! A fresh log on either database — SQLite in a temporary directory, or PostgreSQL on a
//! throwaway cluster the test starts — and raw access to its tables for tampering.

use std::path::PathBuf;

use store::{Database, Reader, Writer, init_at};
use tlog::note::{KeyType, SignerKey};

pub const ORIGIN: &str = "test.concordat.example/log";

pub use pgcluster::{Backend, on_both};

pub struct TestLog {
    pub dir: tempfile::TempDir,
    pub key: SignerKey,
    pub database: Database,
    /// The cluster of a log on PostgreSQL, stopped when the log is dropped.
    pub cluster: Option<pgcluster::Cluster>,
}

impl TestLog {
    /// An empty log on `backend`.
    pub fn on(backend: Backend) -> TestLog {
        let log = TestLog::uninitialised(backend);
        init_at(&log.database, ORIGIN, &log.key, None, &[]).unwrap();
        log
    }

    /// Where a log on `backend` would be, not yet created.
    pub fn uninitialised(backend: Backend) -> TestLog {
        let dir = tempfile::tempdir().unwrap();
        let key = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, [42; 32]).unwrap();
        let (database, cluster) = match backend {
            Backend::Sqlite => (Database::Sqlite(dir.path().to_owned()), None),
            Backend::Postgres => {
                let cluster = pgcluster::Cluster::start().unwrap();
                let url = cluster.database("ledger").unwrap();
                let database = Database::select(dir.path(), Some(&url)).unwrap();
                (database, Some(cluster))
            }
        };
        TestLog {
            dir,
            key,
            database,
            cluster,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    pub fn writer(&self) -> Writer {
        Writer::open_at(&self.database, self.key.clone()).unwrap()
    }

    pub fn reader(&self) -> Reader {
        Reader::open_at(&self.database, 64).unwrap()
    }

    pub fn verify(&self) -> Result<store::VerifyReport, store::VerifyFailure> {
        store::verify_at(&self.database, None, &mut |_| {})
    }

    /// A log on `backend` holding `count` entries, appended in batches of `batch`.
    pub fn with_entries_on(backend: Backend, count: u64, batch: usize) -> (TestLog, Vec<Vec<u8>>) {
        let log = TestLog::on(backend);
        let entries: Vec<Vec<u8>> = (0..count)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        let mut writer = log.writer();
        for chunk in entries.chunks(batch) {
            writer.append_batch(chunk, |_| Ok(())).unwrap();
        }
        (log, entries)
    }

    /// A raw connection to the log's tables.
    pub fn tables(&self) -> Tables {
        match &self.database {
            Database::Sqlite(dir) => {
                Tables::Sqlite(rusqlite::Connection::open(dir.join(store::DATABASE_FILE)).unwrap())
            }
            Database::Postgres { url, .. } => {
                Tables::Postgres(store::pg::connect(url, "tamper").unwrap())
            }
        }
    }
}

/// A value bound to a statement: SQL written with `$1`, `$2`, … runs on both databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

impl Value {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Value::Bytes(bytes) => bytes,
            other => panic!("{other:?} is not bytes"),
        }
    }

    pub fn int(self) -> i64 {
        match self {
            Value::Int(value) => value,
            other => panic!("{other:?} is not an integer"),
        }
    }

    pub fn text(self) -> String {
        match self {
            Value::Text(text) => text,
            other => panic!("{other:?} is not text"),
        }
    }
}

/// The three tables that hold the log itself, as rows: what a backup restores.
pub struct Snapshot {
    entries: Vec<Vec<Value>>,
    tiles: Vec<Vec<Value>>,
    checkpoints: Vec<Vec<Value>>,
}

const COPIED: [(&str, &str, &str); 3] = [
    ("entries", "idx, data", "$1, $2"),
    ("tiles", "level, idx, width, hashes", "$1, $2, $3, $4"),
    (
        "checkpoints",
        "size, previous_size, root, note, signed_ms",
        "$1, $2, $3, $4, $5",
    ),
];

pub enum Tables {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Tables {
    /// Runs one statement.
    pub fn execute(&mut self, sql: &str, params: &[Value]) {
        match self {
            Tables::Sqlite(conn) => {
                let params: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
                conn.execute(sql, rusqlite::params_from_iter(params))
                    .unwrap();
            }
            Tables::Postgres(client) => {
                let statement = client.prepare(sql).unwrap();
                let owned = to_postgres(params, statement.params());
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    owned.iter().map(|b| &**b).collect();
                client.execute(&statement, &refs).unwrap();
            }
        }
    }

    /// Every row a query gives, integers widened to `i64`.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        match self {
            Tables::Sqlite(conn) => {
                let params: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
                let mut statement = conn.prepare(sql).unwrap();
                let columns = statement.column_count();
                statement
                    .query_map(rusqlite::params_from_iter(params), |row| {
                        Ok((0..columns)
                            .map(|n| match row.get_ref(n).unwrap() {
                                rusqlite::types::ValueRef::Null => Value::Null,
                                rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                                rusqlite::types::ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                                rusqlite::types::ValueRef::Text(t) => {
                                    Value::Text(String::from_utf8(t.to_vec()).unwrap())
                                }
                                other => panic!("unexpected {other:?}"),
                            })
                            .collect())
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Tables::Postgres(client) => {
                let statement = client.prepare(sql).unwrap();
                let owned = to_postgres(params, statement.params());
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    owned.iter().map(|b| &**b).collect();
                client
                    .query(&statement, &refs)
                    .unwrap()
                    .into_iter()
                    .map(|row| (0..row.len()).map(|n| from_postgres(&row, n)).collect())
                    .collect()
            }
        }
    }

    /// The log's own tables as rows.
    pub fn snapshot(&mut self) -> Snapshot {
        if let Tables::Sqlite(conn) = self {
            conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
                .unwrap();
        }
        let mut read = |(table, columns, _): (&str, &str, &str)| {
            self.query(&format!("SELECT {columns} FROM {table}"), &[])
        };
        Snapshot {
            entries: read(COPIED[0]),
            tiles: read(COPIED[1]),
            checkpoints: read(COPIED[2]),
        }
    }

    /// Puts the log's tables back as `snapshot` holds them.
    pub fn restore(&mut self, snapshot: &Snapshot) {
        self.restore_only(snapshot, &["entries", "tiles", "checkpoints"]);
    }

    /// Puts the named tables back as `snapshot` holds them.
    pub fn restore_only(&mut self, snapshot: &Snapshot, tables: &[&str]) {
        let rows = [&snapshot.entries, &snapshot.tiles, &snapshot.checkpoints];
        let copied = COPIED
            .into_iter()
            .zip(rows)
            .filter(|((table, _, _), _)| tables.contains(table));
        match self {
            Tables::Sqlite(conn) => {
                let tx = conn.transaction().unwrap();
                for ((table, columns, placeholders), rows) in copied.clone() {
                    tx.execute(&format!("DELETE FROM {table}"), []).unwrap();
                    let mut insert = tx
                        .prepare(&format!(
                            "INSERT INTO {table} ({columns}) VALUES ({placeholders})"
                        ))
                        .unwrap();
                    for row in rows {
                        let row: Vec<rusqlite::types::Value> = row.iter().map(to_sqlite).collect();
                        insert.execute(rusqlite::params_from_iter(row)).unwrap();
                    }
                }
                tx.commit().unwrap();
            }
            Tables::Postgres(client) => {
                let mut tx = client.transaction().unwrap();
                // A test's restore need not survive a crash.
                tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
                    .unwrap();
                for ((table, columns, placeholders), rows) in copied {
                    tx.execute(&format!("DELETE FROM {table}"), &[]).unwrap();
                    let insert = tx
                        .prepare(&format!(
                            "INSERT INTO {table} ({columns}) VALUES ({placeholders})"
                        ))
                        .unwrap();
                    for row in rows {
                        let owned = to_postgres(row, insert.params());
                        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                            owned.iter().map(|b| &**b).collect();
                        tx.execute(&insert, &refs).unwrap();
                    }
                }
                tx.commit().unwrap();
            }
        }
    }
}

fn to_sqlite(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Bytes(b) => rusqlite::types::Value::Blob(b.clone()),
        Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

/// Values as the statement's parameter types ask: PostgreSQL does not widen integers.
fn to_postgres(
    values: &[Value],
    types: &[postgres::types::Type],
) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    use postgres::types::Type;
    values
        .iter()
        .zip(types)
        .map(|(value, kind)| -> Box<dyn postgres::types::ToSql + Sync> {
            match (value, kind) {
                (Value::Null, _) => Box::new(None::<i64>),
                (Value::Int(i), &Type::INT2) => Box::new(i16::try_from(*i).unwrap()),
                (Value::Int(i), &Type::INT4) => Box::new(i32::try_from(*i).unwrap()),
                (Value::Int(i), _) => Box::new(*i),
                (Value::Bytes(b), _) => Box::new(b.clone()),
                (Value::Text(t), _) => Box::new(t.clone()),
            }
        })
        .collect()
}

fn from_postgres(row: &postgres::Row, n: usize) -> Value {
    use postgres::types::Type;
    let kind = row.columns()[n].type_().clone();
    let value = match kind {
        Type::INT2 => row
            .get::<_, Option<i16>>(n)
            .map(|i| Value::Int(i64::from(i))),
        Type::INT4 => row
            .get::<_, Option<i32>>(n)
            .map(|i| Value::Int(i64::from(i))),
        Type::INT8 => row.get::<_, Option<i64>>(n).map(Value::Int),
        Type::BYTEA => row.get::<_, Option<Vec<u8>>>(n).map(Value::Bytes),
        Type::TEXT => row.get::<_, Option<String>>(n).map(Value::Text),
        other => panic!("unexpected column type {other}"),
    };
    value.unwrap_or(Value::Null)
}
