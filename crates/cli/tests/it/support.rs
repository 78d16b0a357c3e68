//! Running the binary and a log directory to run it on.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_concordat");

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }

    pub fn fails(self, code: i32, message: &str) -> Run {
        assert_eq!(self.code, code, "unexpected exit: {self:?}");
        assert!(
            self.stderr.contains(message),
            "stderr lacks `{message}`: {self:?}"
        );
        self
    }
}

pub fn concordat(args: &[&str], stdin: Option<&[u8]>, dir: &Path) -> Run {
    let mut child = Command::new(BINARY)
        .args(args)
        .current_dir(dir)
        // Checkpoints `log verify` remembers stay with the test that made them.
        .env("CONCORDAT_STATE_DIR", dir.join(".concordat-state"))
        // A database the developer's shell names is not the test's.
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        // A command that fails early may exit without reading its input.
        if let Err(error) = input.write_all(bytes) {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
        }
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Makes a key for `party` (`PARTY.key` in `dir`) and registers the party in the instance
/// `dir/ledger` with `role` (and `jurisdiction`), signed by the operator: the party's verifier
/// key. The one helper the tests use to add a party, instead of each spelling it out.
pub fn new_party(dir: &Path, party: &str, role: &str, jurisdiction: Option<&str>) -> String {
    let vkey = concordat(
        &[
            "key",
            "generate",
            "--name",
            party,
            "--out",
            &format!("{party}.key"),
        ],
        None,
        dir,
    )
    .ok()
    .stdout
    .trim()
    .to_owned();
    let mut register = vec![
        "party", "register", "--dir", "ledger", "--name", party, "--id", party, "--role", role,
        "--key", &vkey,
    ];
    if let Some(jurisdiction) = jurisdiction {
        register.extend(["--jurisdiction", jurisdiction]);
    }
    concordat(&register, None, dir).ok();
    vkey
}

/// A working directory with a signer key and an initialised log in `ledger/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub verifier_key: String,
}

pub const ORIGIN: &str = "log.test.example/ai";

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let verifier_key = concordat(
            &["key", "generate", "--name", ORIGIN, "--out", "log.key"],
            None,
            dir.path(),
        )
        .ok()
        .stdout
        .trim()
        .to_owned();
        std::fs::write(dir.path().join("log.vkey"), &verifier_key).unwrap();
        concordat(
            &[
                "log", "init", "--dir", "ledger", "--origin", ORIGIN, "--key", "log.key",
            ],
            None,
            dir.path(),
        )
        .ok();
        Workspace { dir, verifier_key }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        concordat(args, None, self.dir.path())
    }

    pub fn run_with_input(&self, args: &[&str], stdin: &[u8]) -> Run {
        concordat(args, Some(stdin), self.dir.path())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }
}
