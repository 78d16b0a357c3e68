//! Project automation, in Rust rather than shell: `cargo xtask ci | bench | walkthrough |
//! screenshots`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

mod screenshots;
mod tidy;

const HELP: &str = "cargo xtask <task>

Tasks:
  ci            format check, clippy with warnings denied, tidy, and every test (what .ci/run runs)
  tidy          ARCHITECTURE.md's invariants: the dependency rule, single owners of foreign
                dependencies, no IO in pure crates, `//!` headers, functions of at most 100 lines
  bench         the benchmarks, as JSON lines (see BENCHMARKS.md)
  bench-http    only the HTTP benchmark
  bench-gateway only the gateway benchmark, beside LiteLLM's proxy (pinned, installed in a venv)
  demo          build and run `concordat demo`: a seeded engagement served on 127.0.0.1:8700
  walkthrough   a short tour of a ledger on the embedded SQLite default
  screenshots   each portal page type of the demo at 390 and 1280 px, into target/screenshots
                (Debian's Chromium and the browser tests' pinned Playwright)
";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "ci" => ci(),
        "tidy" => tidy::run(&root),
        "bench" => bench(),
        "bench-http" => http_bench(&workspace_root()?),
        "bench-gateway" => gateway_bench(&root),
        "walkthrough" => walkthrough(&root),
        "screenshots" => screenshots::run(&root),
        "demo" => {
            let mut args = vec!["run", "--release", "--locked", "-p", "cli", "--", "demo"];
            let extra: Vec<String> = std::env::args().skip(2).collect();
            args.extend(extra.iter().map(String::as_str));
            cargo(&args)
        }
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
    tidy::run(&workspace_root()?)?;
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
    cargo(&["bench", "--locked", "-p", "store", "--bench", "log"])?;
    cargo(&["bench", "--locked", "-p", "store", "--bench", "witness"])?;
    cargo(&["bench", "--locked", "-p", "ledger", "--bench", "write_path"])?;
    cargo(&["bench", "--locked", "-p", "ledger", "--bench", "gate"])?;
    cargo(&["bench", "--locked", "-p", "policy", "--bench", "decisions"])?;
    cargo(&["bench", "--locked", "-p", "cli", "--bench", "failover"])?;
    cargo(&["bench", "--locked", "-p", "cli", "--bench", "witness_http"])?;
    http_bench(&workspace_root()?)?;
    gateway_bench(&workspace_root()?)
}

/// The gateway's added latency and throughput (`crates/gateway/benches/gateway.rs`), with
/// LiteLLM's proxy beside it: LiteLLM 1.106.12 is installed from `xtask/bench/litellm-
/// requirements.txt` (every package pinned with its hashes, wheels only) into a venv under the
/// target directory, once.
fn gateway_bench(root: &Path) -> anyhow::Result<()> {
    let requirements = root.join("xtask/bench/litellm-requirements.txt");
    let venv = root.join("target/tmp/litellm-venv");
    let litellm = venv.join("bin/litellm");
    let marker = venv.join("requirements.installed");
    let wanted = std::fs::read_to_string(&requirements)?;
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!(
            "$ python3 -m venv {} && pip install --require-hashes -r {}",
            venv.display(),
            requirements.display()
        );
        let created = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()?;
        let installed = created.success()
            && Command::new(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--require-hashes",
                    "--only-binary=:all:",
                    "-r",
                ])
                .arg(&requirements)
                .status()?
                .success();
        if !installed {
            bail!(
                "LiteLLM could not be installed from {}",
                requirements.display()
            );
        }
        std::fs::write(&marker, &wanted)?;
    }
    eprintln!(
        "$ CONCORDAT_LITELLM={} cargo bench -p gateway --bench gateway",
        litellm.display()
    );
    let status = Command::new(env!("CARGO"))
        .args(["bench", "--locked", "-p", "gateway", "--bench", "gateway"])
        .env("CONCORDAT_LITELLM", &litellm)
        .status()?;
    if !status.success() {
        bail!("the gateway benchmark failed ({status})");
    }
    Ok(())
}

/// Runs the binary on a fresh ledger in a temporary directory, showing each command.
// tidy: long function: the walkthrough script, one command after another.
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
    println!("A Concordat ledger in {}", dir.display());
    let init = run(
        &[
            "init",
            "--dir",
            "ledger",
            "--origin",
            "ledger.example.gov/ai",
        ],
        None,
    )?;
    let log_vkey = init
        .lines()
        .find_map(|line| line.strip_prefix("log verifier key:"))
        .map(str::trim)
        .context("init prints the log verifier key")?;
    std::fs::write(dir.join("log.vkey"), log_vkey)?;
    println!("\n(the vendor makes its own key; only the public half goes to the ledger)");
    let vendor_vkey = run(
        &["key", "generate", "--name", "acme-ai", "--out", "acme.key"],
        None,
    )?;
    run(
        &[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            "Acme AI",
            "--role",
            "vendor",
            "--key",
            vendor_vkey.trim(),
            "--jurisdiction",
            "US",
        ],
        None,
    )?;
    std::fs::write(
        dir.join("notice.json"),
        "{\"party\":\"acme-ai\",\"topic\":\"disclosure\",\"text\":\"Model line frontier-2 moves to version 2026-11 on 1 December.\"}",
    )?;
    println!("\n(the vendor signs a public statement and submits it)");
    let envelope = run(
        &[
            "sign",
            "--key",
            "acme.key",
            "--kind",
            "party-statement",
            "notice.json",
        ],
        None,
    )?;
    std::fs::write(dir.join("notice.envelope.json"), envelope)?;
    run(&["submit", "--dir", "ledger", "notice.envelope.json"], None)?;
    run(&["entry", "show", "--dir", "ledger", "2"], None)?;
    println!("\n(anyone can check the receipt offline with the log's verifier key)");
    run(
        &[
            "proof",
            "verify",
            "--key",
            "log.vkey",
            "--entry",
            "notice.envelope.json",
            "notice.envelope.tlog-proof",
        ],
        None,
    )?;
    run(&["party", "list", "--dir", "ledger"], None)?;
    run(&["log", "verify", "--dir", "ledger"], None)?;
    println!(
        "\nTry it yourself: cd {} and run `{} --help`.",
        dir.display(),
        binary.display()
    );
    Ok(())
}

/// Proof and tile requests over HTTP on loopback: a release `concordat serve` of a ledger with
/// 100,000 entries, loaded by `wrk` (Debian's, installed if missing) for 20 seconds with 64
/// connections. Prints one JSON line.
// tidy: long function: the HTTP benchmark's setup, load and report in order.
fn http_bench(root: &Path) -> anyhow::Result<()> {
    const ENTRIES: usize = 100_000;
    if Command::new("wrk").arg("--version").output().is_err() {
        let apt = |args: &[&str]| {
            // One apt-get at a time across the tests (each also waits for dpkg's lock).
            let shared = std::fs::File::create(std::env::temp_dir().join("concordat-apt.lock"));
            let _held = shared.as_ref().map(|f| f.lock());
            Command::new("apt-get")
                // Other tests may be installing at the same time: wait for dpkg's lock.
                .args(["-o", "DPkg::Lock::Timeout=600"])
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !(apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "wrk=4.1.0-3+b2"])) {
            bail!("the HTTP benchmark needs wrk: apt-get install wrk=4.1.0-3+b2 (as root)");
        }
    }
    cargo(&["build", "--release", "--locked", "-p", "cli"])?;
    let binary = root.join("target/release/concordat");
    let dir = std::env::temp_dir().join(format!("concordat-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let run = |args: &[&str], stdin: Option<&[u8]>| -> anyhow::Result<String> {
        use std::io::Write as _;
        let mut child = Command::new(&binary)
            .args(args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut input = child.stdin.take().context("stdin")?;
        let bytes = stdin.map(<[u8]>::to_vec).unwrap_or_default();
        // Fed from a thread: the child answers line by line while it reads.
        let feeder = std::thread::spawn(move || input.write_all(&bytes));
        let output = child.wait_with_output()?;
        feeder
            .join()
            .map_err(|_| anyhow::anyhow!("stdin feeder panicked"))??;
        if !output.status.success() {
            bail!("concordat {} failed", args.join(" "));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(
        &["init", "--dir", "ledger", "--origin", "bench.example/http"],
        None,
    )?;
    let vkey = run(
        &["key", "generate", "--name", "vendor", "--out", "vendor.key"],
        None,
    )?;
    run(
        &[
            "party",
            "register",
            "--dir",
            "ledger",
            "--name",
            "Vendor",
            "--id",
            "vendor",
            "--role",
            "vendor",
            "--key",
            vkey.trim(),
        ],
        None,
    )?;
    // A ledger logs each statement once: one statement a line, each its own.
    let statements: String = (0..ENTRIES)
        .map(|i| {
            format!("{{\"party\":\"vendor\",\"topic\":\"disclosure\",\"text\":\"benchmark entry {i}\"}}\n")
        })
        .collect();
    std::fs::write(dir.join("statements.jsonl"), statements)?;
    let lines = run(
        &[
            "sign",
            "--key",
            "vendor.key",
            "--kind",
            "party-statement",
            "--lines",
            "statements.jsonl",
        ],
        None,
    )?;
    run(&["submit", "--dir", "ledger", "-"], Some(lines.as_bytes()))?;
    let mut server = Command::new(&binary)
        .args(["serve", "--dir", "ledger", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().context("stdout")?),
        &mut first,
    )?;
    let url = first.trim().trim_start_matches("serving at ").to_owned();
    let size = ENTRIES + 2;
    let output = Command::new("wrk")
        .args(["-t", "1", "-c", "64", "-d", "20s", "--latency", "-s"])
        .arg(root.join("xtask/bench/http.lua"))
        .arg(&url)
        .env("CONCORDAT_SIZE", size.to_string())
        .output();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let output = output?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|line| {
                line.trim()
                    .strip_prefix(prefix)
                    .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
            })
            .unwrap_or_default()
    };
    let errors = text
        .lines()
        .any(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    println!(
        "{{\"bench\":\"http_proofs_and_tiles\",\"entries\":{size},\"connections\":64,\"requests_per_second\":{},\"p50\":\"{}\",\"p90\":\"{}\",\"p99\":\"{}\",\"errors\":{errors}}}",
        field("Requests/sec:"),
        field("50%"),
        field("90%"),
        field("99%")
    );
    if errors {
        eprintln!("{text}");
    }
    Ok(())
}
