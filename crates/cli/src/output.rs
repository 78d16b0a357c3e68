//! Output formats, exit-status classes, and the small input and output helpers the commands
//! share (private files among them: sealed halves, records).

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::Path;

use anyhow::Context as _;
use domain::contract::Sealed;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Why a command failed, which decides the exit status.
#[derive(Debug)]
pub enum Failure {
    /// Exit 1: something was checked and found wrong.
    Verification(anyhow::Error),
    /// Exit 2: bad usage or input, or the command could not run.
    Input(anyhow::Error),
    /// Standard output was closed (e.g. piped into `head`): stop quietly.
    BrokenPipe,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Input(error.into())
    }
}

pub type Outcome = Result<(), Failure>;

/// Whether an error is the instance refusing something it checked (exit 1), however it was
/// wrapped.
pub fn is_verification(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<service::ServiceError>()
            .is_some_and(service::ServiceError::is_verification)
    })
}

pub fn verification_failed(error: impl Into<anyhow::Error>) -> Failure {
    Failure::Verification(error.into())
}

/// Writes to standard output, treating a closed pipe as a quiet stop.
pub fn print(text: &str) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe),
        Err(e) => Err(Failure::Input(
            anyhow::Error::new(e).context("cannot write output"),
        )),
    }
}

/// Prints a JSON value on one line.
pub fn print_json(value: &serde_json::Value) -> Outcome {
    print(&format!("{value}\n"))
}

/// Reads a file, or standard input for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(path) if path != Path::new("-") => {
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
        }
        _ => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            Ok(bytes)
        }
    }
}

/// A progress bar for `what` ("verifying", "replaying"), drawn only for a person watching a
/// terminal; `None` when output goes elsewhere.
pub fn progress_bar(what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} entries ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Moves a progress bar, if there is one.
pub fn advance(bar: Option<&indicatif::ProgressBar>, done: u64, total: u64) {
    if let Some(bar) = bar {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// Writes a sealed half (mode 0600) headed by the commitment it opens, in the form
/// `addendum verify` reads.
pub fn write_sealed(path: &Path, commitment: &str, sealed: &Sealed) -> anyhow::Result<()> {
    write_private(path, &service::sealed::headed(commitment, sealed)?)
}

pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create `{}` (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))
}
