//! `migrate`: moves a log from one database to another — an instance's SQLite file into
//! PostgreSQL, say — row for row, its signed checkpoints copied as signed (nothing is signed
//! again), and then proves the copy: the source is verified before anything is written, the
//! target after, and every checkpoint's size and root, every state row and every recorded
//! digest must be the same on both.

use crate::backend::{Conn, Database, Rows};
use crate::pg::Sequencer;
use crate::verify::{VerifyFailure, VerifyProgress, VerifyReport, verify_at};
use crate::{StoreError, StoredCheckpoint};

/// Entries copied a statement at a time.
const PAGE: usize = 4096;

/// What a migration moved and proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub origin: String,
    pub entries: u64,
    pub tiles: u64,
    pub checkpoints: u64,
    pub state_rows: u64,
    pub digests: u64,
    /// The latest checkpoint, the same on both.
    pub size: u64,
    pub root: tlog::Hash,
}

/// Where a migration is.
#[derive(Debug, Clone, Copy)]
pub enum MigrateProgress {
    /// Verifying the source (`done` of `total` entries).
    VerifyingSource(VerifyProgress),
    /// Copying entries.
    Copying { done: u64, total: u64 },
    /// Verifying the copy.
    VerifyingTarget(VerifyProgress),
}

/// Copies the log in `from` into `to`, which must hold no log yet, in one transaction, and
/// proves the copy. Nothing is written unless the source verifies; a copy that differs in
/// any checkpoint, state row or digest is reported (and the target should be dropped).
pub fn migrate(
    from: &Database,
    to: &Database,
    progress: &mut dyn FnMut(MigrateProgress),
) -> Result<MigrateReport, VerifyFailure> {
    if from == to {
        return Err(
            StoreError::Invalid("the source and the target are one database".into()).into(),
        );
    }
    // Nothing may write the source from its verification to the end of the copy.
    let _held = hold(from)?;
    let source_report = verify_at(from, None, &mut |p| {
        progress(MigrateProgress::VerifyingSource(p));
    })?;
    let mut source = from.read()?;
    source.snapshot()?;
    let copied = copy(&mut *source, to, source_report.size, progress);
    let _ = source.end_snapshot();
    copied?;
    let target_report = verify_at(to, None, &mut |p| {
        progress(MigrateProgress::VerifyingTarget(p));
    })?;
    let mut target = to.read()?;
    compare(&mut *source, &mut *target, &source_report, &target_report)
}

/// Keeps writers away from `database` while the value lives: its lock file, or the lead of
/// its sequencer.
fn hold(database: &Database) -> Result<Box<dyn std::any::Any>, StoreError> {
    match database {
        Database::Sqlite(dir) => Ok(Box::new(crate::lock::WriterLock::acquire(dir)?)),
        Database::Postgres { url, .. } => match Sequencer::try_lead(url, "migrate")? {
            Some(lead) => Ok(Box::new(lead)),
            None => Err(StoreError::Led {
                database: database.describe(),
                holder: crate::pg::sequencer_holder(url)?,
            }),
        },
    }
}

/// Copies every row of `source` (read in one snapshot, `size` entries) into `to`.
fn copy(
    source: &mut dyn Conn,
    to: &Database,
    size: u64,
    progress: &mut dyn FnMut(MigrateProgress),
) -> Result<(), StoreError> {
    let (mut target, lead): (Box<dyn Conn>, Option<Sequencer>) = match to {
        Database::Sqlite(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::io(format!("cannot create `{}`", dir.display()), e))?;
            (
                Box::new(crate::backend::sqlite::SqliteConn::create(dir)?),
                None,
            )
        }
        Database::Postgres { url, .. } => {
            let conn = crate::pg::backend::PgConn::open_writer(url, "migrate")?;
            // No node may sequence the log while it is being filled.
            let lead = Sequencer::try_lead(url, "migrate")?.ok_or_else(|| StoreError::Led {
                database: to.describe(),
                holder: crate::pg::sequencer_holder(url).unwrap_or_default(),
            })?;
            (Box::new(conn), Some(lead))
        }
    };
    let mut tx = target.begin(lead.as_ref().map(Sequencer::epoch))?;
    tx.make_log(to.dir())?;
    for (key, value) in source.meta()? {
        tx.insert_meta(&key, &value)?;
    }
    let mut next = 0;
    while next < size {
        let page = source.entries(next, Some(size), PAGE)?;
        let Some(first) = page.first().map(|(index, _)| *index) else {
            break;
        };
        if first != next {
            return Err(StoreError::Corrupt(format!("entry {next} is missing")));
        }
        let data: Vec<&[u8]> = page.iter().map(|(_, data)| data.as_slice()).collect();
        tx.insert_entries(next, &data)?;
        next += page.len() as u64;
        progress(MigrateProgress::Copying {
            done: next,
            total: size,
        });
    }
    let mut tiles = Vec::new();
    for (level, index, _) in source.tile_widths()? {
        let (Ok(level), Ok(index)) = (u8::try_from(level), u64::try_from(index)) else {
            return Err(StoreError::Corrupt(format!(
                "tile ({level}, {index}) is out of range"
            )));
        };
        if let Some((width, hashes)) = source.tile(level, index)? {
            tiles.push((level, index, width, hashes));
        }
    }
    for chunk in tiles.chunks(PAGE) {
        tx.put_tiles(chunk)?;
    }
    for row in source.checkpoint_rows()? {
        tx.copy_checkpoint(&row)?;
    }
    for (space, key, value) in source.state_rows()? {
        tx.state_put(&space, &key, &value)?;
    }
    let digests = source
        .digests()?
        .into_iter()
        .map(|(digest, index)| {
            <[u8; 32]>::try_from(digest.as_slice())
                .map(|digest| (index, digest))
                .map_err(|_| {
                    StoreError::Corrupt(format!("the digest of entry {index} is not 32 bytes"))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in digests.chunks(PAGE) {
        tx.record_digests(chunk)?;
    }
    tx.commit()?;
    // The copy's own record of the latest checkpoint, so that the node notices a rollback.
    let latest = source.latest_checkpoint()?;
    crate::published::write(to.dir(), &latest).map_err(|e| {
        StoreError::io(
            format!(
                "cannot write `{}`",
                crate::published::path(to.dir()).display()
            ),
            e,
        )
    })?;
    drop(lead);
    Ok(())
}

/// The proof that the copy is the log: every checkpoint (size, root, signed note), every
/// state row and every digest the same.
fn compare(
    source: &mut dyn Rows,
    target: &mut dyn Rows,
    from: &VerifyReport,
    to: &VerifyReport,
) -> Result<MigrateReport, VerifyFailure> {
    let differs = |what: String| VerifyFailure::Problem(crate::Problem(what));
    if (from.size, from.root, from.checkpoints) != (to.size, to.root, to.checkpoints) {
        return Err(differs(format!(
            "the copy verifies at size {} with root {} and {} checkpoints, the source at size {} with root {} and {}",
            to.size, to.root, to.checkpoints, from.size, from.root, from.checkpoints
        )));
    }
    let (ours, theirs) = (source.checkpoint_rows()?, target.checkpoint_rows()?);
    if let Some((a, b)) = ours.iter().zip(&theirs).find(|(a, b)| a != b) {
        return Err(differs(format!(
            "the checkpoint at size {} is not the source's at size {}",
            b.size, a.size
        )));
    }
    let state = source.state_rows()?;
    if state != target.state_rows()? {
        return Err(differs(
            "the copy's state rows are not the source's".to_owned(),
        ));
    }
    let mut digests = source.digests()?;
    let mut copied = target.digests()?;
    digests.sort_unstable();
    copied.sort_unstable();
    if digests != copied {
        return Err(differs(
            "the copy's recorded digests are not the source's".to_owned(),
        ));
    }
    let latest: StoredCheckpoint = target.latest_checkpoint()?;
    Ok(MigrateReport {
        origin: to.origin.clone(),
        entries: to.size,
        tiles: to.tiles,
        checkpoints: to.checkpoints,
        state_rows: state.len() as u64,
        digests: digests.len() as u64,
        size: latest.size,
        root: latest.root,
    })
}
