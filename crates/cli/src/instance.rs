//! Which instance a command works on (`--dir` or `--server`), opened as a
//! [`service::Instance`]; the command then asks it and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::Args;
use service::Instance;
use service::wire::SubmitReply;
use tlog::note::SignerKey;

use crate::output::Failure;

/// Where a log is stored when not in its directory's `log.db`.
#[derive(Debug, Clone, Default, Args)]
pub struct DatabaseUrl {
    /// Keep the log in PostgreSQL instead of DIR/log.db, e.g.
    /// postgres://concordat@db.example:5432/ledger?sslmode=require (the password from
    /// PGPASSWORD, or in the URL). DIR still holds the instance's keys and files.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

impl DatabaseUrl {
    /// The log of the instance in `dir`.
    pub fn at(&self, dir: &Path) -> anyhow::Result<store::Database> {
        Ok(store::Database::select(dir, self.database_url.as_deref())?)
    }
}

/// An instance: its directory, written and read directly, or a running server that holds it.
#[derive(Debug, Args)]
pub struct Where {
    /// The instance directory.
    #[arg(long, required_unless_present = "server", conflicts_with = "server")]
    pub dir: Option<PathBuf>,
    /// A running server (`concordat serve`) instead, e.g. http://127.0.0.1:8700.
    #[arg(long)]
    pub server: Option<String>,
    #[command(flatten)]
    pub database: DatabaseUrl,
}

impl Where {
    /// The instance, local or remote.
    pub fn open(&self) -> Result<Box<dyn Instance>, Failure> {
        Ok(service::open(
            self.dir.as_deref(),
            self.server.as_deref(),
            self.database.database_url.as_deref(),
        )?)
    }
}

/// Submits one envelope, to the instance directory or its server, and waits for its index.
/// A refusal names `source`.
pub fn submit_to(place: &Where, source: &str, envelope: Vec<u8>) -> Result<SubmitReply, Failure> {
    let instance = place.open()?;
    let reply = instance.submit(envelope);
    instance.close()?;
    reply.map_err(|e| anyhow::Error::new(e).context(source.to_owned()).into())
}

/// The key that signs operator entries (parties, keys): `--signer-key`, or the operator key
/// of the instance directory. A server's operator key stays on the server's machine.
pub fn operator_signer(place: &Where, signer: Option<&Path>) -> anyhow::Result<SignerKey> {
    if let Some(path) = signer {
        return read_signer(path);
    }
    match &place.dir {
        Some(dir) => {
            let layout = service::Layout::new(dir);
            read_signer(&layout.operator_key()).with_context(|| {
                format!(
                    "no --signer-key given and no operator key in `{}`",
                    layout.keys_dir().display()
                )
            })
        }
        None => Err(anyhow!(
            "with --server, give --signer-key: the operator key stays in the instance directory"
        )),
    }
}

/// Reads a signer key file, warning on standard error when others can read or change it.
pub fn read_signer(path: &Path) -> anyhow::Result<SignerKey> {
    let key = service::keys::read_signer(path)?;
    if let Some(warning) = service::keys::exposure(path) {
        eprintln!("warning: {warning}");
    }
    Ok(key)
}
