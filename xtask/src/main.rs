//! Project automation, in Rust rather than shell: `cargo xtask ci | bench | walkthrough`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

const HELP: &str = "cargo xtask <task>

Tasks:
  ci            format check, clippy with warnings denied, and every test (what .ci/run runs)
  bench         the benchmarks, as JSON lines (see BENCHMARKS.md)
  walkthrough   a short tour of the transparency log on the embedded SQLite default
";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "ci" => ci(),
        "bench" => bench(),
        "walkthrough" => walkthrough(&root),
        "" | "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_owned)
        .context("xtask lives in the workspace root")
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn has_nextest() -> bool {
    Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    // Two jobs: CI machines have two cores, and linking is the slow part.
    if has_nextest() {
        cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "-j",
            "2",
            "--no-fail-fast",
        ])
    } else {
        cargo(&[
            "test",
            "--workspace",
            "--locked",
            "-j",
            "2",
            "--no-fail-fast",
        ])
    }
}

fn bench() -> anyhow::Result<()> {
    cargo(&["bench", "--locked", "-p", "tlog", "--bench", "hashing"])?;
    cargo(&["bench", "--locked", "-p", "store", "--bench", "log"])
}

/// Runs the binary on a fresh log in a temporary directory, showing each command.
fn walkthrough(root: &Path) -> anyhow::Result<()> {
    cargo(&["build", "--release", "--locked", "-p", "cli"])?;
    let binary = root.join("target/release/concordat");
    let dir = std::env::temp_dir().join(format!("concordat-walkthrough-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let run = |args: &[&str], stdin: Option<&str>| -> anyhow::Result<String> {
        println!("\n$ concordat {}", args.join(" "));
        let mut command = Command::new(&binary);
        command.args(args).current_dir(&dir);
        let output = if let Some(input) = stdin {
            use std::io::Write as _;
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()?;
            child
                .stdin
                .take()
                .context("stdin")?
                .write_all(input.as_bytes())?;
            child.wait_with_output()?
        } else {
            command.output()?
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        print!("{stdout}");
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        Ok(stdout)
    };
    println!("A transparency log in {}", dir.display());
    let verifier = run(
        &[
            "key",
            "generate",
            "--name",
            "log.example.gov/ai",
            "--out",
            "log.key",
        ],
        None,
    )?;
    std::fs::write(dir.join("log.vkey"), verifier.trim())?;
    run(
        &[
            "log",
            "init",
            "--dir",
            "ledger",
            "--origin",
            "log.example.gov/ai",
            "--key",
            "log.key",
        ],
        None,
    )?;
    std::fs::write(
        dir.join("contract.json"),
        "{\"contract\":\"acme-frontier-2026\",\"version\":1}",
    )?;
    println!("\n(the entry to prove: contract.json)");
    run(&["log", "append", "--dir", "ledger", "contract.json"], None)?;
    run(
        &["log", "append", "--dir", "ledger"],
        Some(
            "model version v1 registered\nevidence: eval suite cyber-v2 passed\napproval: agency A\n",
        ),
    )?;
    run(&["log", "checkpoint", "--dir", "ledger"], None)?;
    let proof = run(&["log", "prove", "--dir", "ledger", "--index", "0"], None)?;
    std::fs::write(dir.join("contract.tlog-proof"), proof)?;
    run(
        &[
            "proof",
            "verify",
            "--key",
            "log.vkey",
            "--entry",
            "contract.json",
            "contract.tlog-proof",
        ],
        None,
    )?;
    run(
        &["log", "consistency", "--dir", "ledger", "--old", "1"],
        None,
    )?;
    run(&["log", "verify", "--dir", "ledger"], None)?;
    println!(
        "\nTry it yourself: cd {} and run `{} --help`.",
        dir.display(),
        binary.display()
    );
    Ok(())
}
