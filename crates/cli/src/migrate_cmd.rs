//! `migrate`: an instance's log moved into another database, proved checkpoint for checkpoint.

use std::path::PathBuf;

use serde_json::json;
use store::MigrateProgress;

use crate::output::{
    Format, Outcome, advance, print, print_json, progress_bar, verification_failed,
};

/// `concordat migrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  concordat migrate --from ./concordat --to postgres://concordat@db.example:5432/ledger
  concordat serve --dir ./concordat --database postgres://concordat@db.example:5432/ledger

Verifies the log in DIR first and holds it against writers (stop its server first); copies
every entry, tile, signed checkpoint (as signed: nothing is signed again), state row and
statement digest in one transaction; then verifies the copy and compares it with the original
checkpoint for checkpoint, row for row; then copies the deposits (sealed halves, usage records
under DIR/sealed) into the database, where every node serves them. The target database must hold no log. The original is
left as it was: keep it until the copy serves. DIR still holds the instance's keys and files.")]
pub struct MigrateArgs {
    /// The instance directory whose log (DIR/log.db) moves.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The PostgreSQL database it moves to (see `--database` elsewhere for its form).
    #[arg(long, value_name = "URL")]
    to: String,
}

pub fn run(args: &MigrateArgs, format: Format) -> Outcome {
    let from = store::Database::Sqlite(args.from.clone());
    let to = store::Database::select(&args.from, Some(&args.to))?;
    let bar = progress_bar("migrating");
    let result = store::migrate(&from, &to, &mut |progress| {
        let (done, total) = match progress {
            MigrateProgress::VerifyingSource(p) | MigrateProgress::VerifyingTarget(p) => {
                (p.done, p.total)
            }
            MigrateProgress::Copying { done, total } => (done, total),
        };
        advance(bar.as_ref(), done, total);
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(store::VerifyFailure::Problem(problem)) => {
            if format == Format::Json {
                print_json(&json!({ "migrated": false, "problem": problem.to_string() }))?;
            }
            return Err(verification_failed(anyhow::anyhow!(
                "{}: {problem}",
                from.describe()
            )));
        }
        Err(store::VerifyFailure::Store(error)) => return Err(error.into()),
    };
    let store::Database::Postgres { url, .. } = &to else {
        return Err(anyhow::anyhow!("the target is not PostgreSQL").into());
    };
    let deposits = service::deposit::copy_into_database(&args.from, url)?;
    match format {
        Format::Text => print(&format!(
            "moved log `{}` from {} to {}: {} entries, {} tiles, {} checkpoints, {} state rows, {} digests; {} deposits\n\
             verified: the copy's tree, checkpoints, state and digests are the original's; root {} at size {}\n\
             serve it with: concordat serve --dir {} --database URL\n",
            report.origin,
            from.describe(),
            to.describe(),
            report.entries,
            report.tiles,
            report.checkpoints,
            report.state_rows,
            report.digests,
            deposits,
            report.root.to_base64(),
            report.size,
            args.from.display()
        )),
        Format::Json => print_json(&json!({
            "migrated": true,
            "origin": report.origin,
            "from": from.describe(),
            "to": to.describe(),
            "entries": report.entries,
            "tiles": report.tiles,
            "checkpoints": report.checkpoints,
            "state_rows": report.state_rows,
            "digests": report.digests,
            "deposits": deposits,
            "size": report.size,
            "root": report.root.to_base64(),
        })),
    }
}
