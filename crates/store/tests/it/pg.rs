//! The log's ground on PostgreSQL, on a throwaway cluster the test starts itself: migrations
//! applied once however many nodes start together, a newer schema refused, and one sequencer
//! at a time whose deposed predecessor's writes are fenced off.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use store::StoreError;
use store::pg::{MIGRATIONS, Sequencer, check_fence, connect, migrate, schema_version};

fn database(cluster: &pgcluster::Cluster, name: &str) -> String {
    let url = cluster.database(name).unwrap();
    migrate(&mut connect(&url, "setup").unwrap()).unwrap();
    url
}

#[test]
fn migrations_apply_once_in_order_and_a_newer_schema_is_refused() {
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = cluster.database("ledger").unwrap();
    assert_eq!(schema_version(&mut connect(&url, "t").unwrap()).unwrap(), 0);
    // Four nodes start at once: the migrations run once.
    let start = Arc::new(Barrier::new(4));
    let applied: Vec<Vec<i32>> = (0..4)
        .map(|n| {
            let (url, start) = (url.clone(), start.clone());
            std::thread::spawn(move || {
                let mut client = connect(&url, &format!("node-{n}")).unwrap();
                start.wait();
                migrate(&mut client).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(
        applied.iter().filter(|a| **a == all).count(),
        1,
        "{applied:?}"
    );
    assert_eq!(
        applied.iter().filter(|a| a.is_empty()).count(),
        3,
        "{applied:?}"
    );
    let mut client = connect(&url, "t").unwrap();
    assert_eq!(schema_version(&mut client).unwrap(), *all.last().unwrap());
    // A database a newer binary migrated is not written by this one.
    client
        .execute(
            "INSERT INTO concordat_migrations (version, name) VALUES (999, 'from the future')",
            &[],
        )
        .unwrap();
    let refused = migrate(&mut client).unwrap_err().to_string();
    assert!(
        refused.contains("version 999, newer than this binary's"),
        "{refused}"
    );
}

/// An append as the writer makes it: the fence first, then the entry at the next index.
fn append(client: &mut postgres::Client, epoch: i64, data: &[u8]) -> Result<i64, StoreError> {
    let mut tx = client.transaction()?;
    check_fence(&mut tx, epoch)?;
    let index: i64 = tx
        .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", &[])?
        .get(0);
    tx.execute(
        "INSERT INTO entries (idx, data) VALUES ($1, $2)",
        &[&index, &data],
    )?;
    tx.commit()?;
    Ok(index)
}

#[test]
fn one_sequencer_leads_and_a_deposed_one_is_fenced_off() {
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = database(&cluster, "ledger");
    let a = Sequencer::try_lead(&url, "node-a").unwrap().unwrap();
    assert!(
        Sequencer::try_lead(&url, "node-b").unwrap().is_none(),
        "one leader at a time"
    );
    // Node a writes on its own connection, as its writer does.
    let mut a_writes = connect(&url, "node-a writer").unwrap();
    assert_eq!(append(&mut a_writes, a.epoch(), b"a0").unwrap(), 0);

    // Node a's lead ends with its session (as when its process dies); b takes over on its
    // next try.
    let deposed = a.epoch();
    drop(a);
    let started = Instant::now();
    let b = Sequencer::lead(
        &url,
        "node-b",
        Duration::from_millis(50),
        Duration::from_secs(10),
    )
    .unwrap()
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(b.epoch() > deposed);
    // Node a's writer connection still works, but its late write is refused.
    match append(&mut a_writes, deposed, b"a1 late") {
        Err(StoreError::Fenced {
            epoch,
            current,
            holder,
        }) => assert_eq!(
            (epoch, current, holder.as_str()),
            (deposed, b.epoch(), "node-b")
        ),
        other => panic!("the deposed leader's write went through: {other:?}"),
    }
    let mut b_writes = connect(&url, "node-b writer").unwrap();
    assert_eq!(append(&mut b_writes, b.epoch(), b"b1").unwrap(), 1);
    let rows: Vec<(i64, Vec<u8>)> = b_writes
        .query("SELECT idx, data FROM entries ORDER BY idx", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [(0, b"a0".to_vec()), (1, b"b1".to_vec())]);
}

#[test]
fn a_new_leader_waits_for_the_old_leaders_append_in_flight() {
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = database(&cluster, "ledger");
    let a = Sequencer::try_lead(&url, "node-a").unwrap().unwrap();
    let epoch = a.epoch();
    let mut a_writes = connect(&url, "node-a writer").unwrap();
    // An append of a's is in flight (fence checked, entry written, not yet committed) when
    // a's lead ends and b takes over.
    let mut tx = a_writes.transaction().unwrap();
    check_fence(&mut tx, epoch).unwrap();
    tx.execute(
        "INSERT INTO entries (idx, data) VALUES (0, 'in flight')",
        &[],
    )
    .unwrap();
    drop(a);
    let (led, lead) = std::sync::mpsc::channel();
    let taking = {
        let url = url.clone();
        std::thread::spawn(move || {
            let b = Sequencer::lead(
                &url,
                "node-b",
                Duration::from_millis(20),
                Duration::from_secs(20),
            )
            .unwrap()
            .unwrap();
            led.send(()).unwrap();
            b
        })
    };
    assert!(
        lead.recv_timeout(Duration::from_millis(500)).is_err(),
        "b must not lead while a's append holds the sequencer"
    );
    tx.commit().unwrap();
    lead.recv_timeout(Duration::from_secs(10)).unwrap();
    let b = taking.join().unwrap();
    // b leads from a log that includes a's committed append: nothing lost, nothing forked.
    let mut b_writes = connect(&url, "node-b writer").unwrap();
    assert_eq!(append(&mut b_writes, b.epoch(), b"b").unwrap(), 1);
    assert!(matches!(
        append(&mut a_writes, epoch, b"late"),
        Err(StoreError::Fenced { .. })
    ));
}

/// TLS to the database: with `sslmode=require` the connection is encrypted and the server's
/// certificate must chain to the CA named by `sslrootcert`; a server that cannot prove who it
/// is, or no TLS at all, is refused rather than used.
#[test]
fn tls_to_the_database_is_required_and_verified() {
    let refusal = |url: &str| match connect(url, "t") {
        Ok(_) => panic!("connected to {url}"),
        Err(error) => error.to_string(),
    };
    let cluster = pgcluster::Cluster::start().unwrap();
    let url = cluster.database("ledger").unwrap();
    // Without TLS on the server, sslmode=require refuses to go on in the clear.
    let refused = refusal(&format!("{url}?sslmode=require"));
    assert!(refused.contains("cannot connect"), "{refused}");

    let certificates = tempfile::tempdir().unwrap();
    pgcluster::test_certificates(certificates.path()).unwrap();
    let read = |name: &str| std::fs::read_to_string(certificates.path().join(name)).unwrap();
    cluster
        .enable_tls(&read("cert.pem"), &read("key.pem"))
        .unwrap();
    let ca = certificates.path().join("ca.pem");
    let verified = format!("{url}?sslmode=require&sslrootcert={}", ca.display());
    let mut client = connect(&verified, "t").unwrap();
    let encrypted: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted);
    // The log works over it.
    migrate(&mut client).unwrap();

    // A certificate the client cannot verify: the system's trust store does not know the
    // test CA, and another CA did not sign it.
    let error = refusal(&format!("{url}?sslmode=require"));
    assert!(error.contains("certificate"), "{error}");
    let other = tempfile::tempdir().unwrap();
    pgcluster::test_certificates(other.path()).unwrap();
    let error = refusal(&format!(
        "{url}?sslmode=require&sslrootcert={}",
        other.path().join("ca.pem").display()
    ));
    assert!(error.contains("certificate"), "{error}");
    // Nor is a missing CA file quietly ignored.
    let error = refusal(&format!("{url}?sslrootcert=/nonexistent/ca.pem"));
    assert!(
        error.contains("sslrootcert `/nonexistent/ca.pem`"),
        "{error}"
    );
}
