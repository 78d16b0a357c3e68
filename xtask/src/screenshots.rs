//! `cargo xtask screenshots`: the demo's portal photographed for review — each page type at a
//! phone's width (390 px) and a desktop's (1280 px), full length, into `target/screenshots`.
//! The browser is Debian's Chromium, driven by the pinned Playwright of the browser tests
//! (`crates/cli/tests/browser`), installed under `target/tmp/browser`.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// One page of each type the portal has.
const PAGES: [&str; 17] = [
    "/",
    "/contracts",
    "/contracts/defense-imagery-analysis",
    "/contracts/defense-imagery-analysis/compliance",
    "/models",
    "/models/vision-analyst@2027.1.0",
    "/models/vision-analyst@2027.3.0",
    "/deployments/defense-imagery-analysis/analyst-workbench",
    "/deployments/defense-imagery-analysis/analyst-workbench/usage",
    "/usage",
    "/parties",
    "/parties/acme-ai",
    "/designations",
    "/log",
    "/log?kind=usage-recorded",
    "/log/10",
    "/no/such/page",
];

/// Kills the demo when the task ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), std::path::PathBuf::from);
    if !chromium.is_file() {
        bail!(
            "screenshots need Debian's Chromium at {}: apt-get install chromium (as root), or set CHROMIUM",
            chromium.display()
        );
    }
    crate::cargo(&["build", "--locked", "-p", "cli"])?;
    let tools = root.join("target/tmp/browser");
    std::fs::create_dir_all(&tools)?;
    for file in ["package.json", "package-lock.json", "probe.mjs"] {
        std::fs::copy(
            root.join("crates/cli/tests/browser").join(file),
            tools.join(file),
        )
        .with_context(|| format!("cannot copy {file}"))?;
    }
    if !tools.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&tools)
            .status()
            .context("cannot run npm (Node.js 20 and npm are needed)")?;
        if !status.success() {
            bail!("npm ci failed in {}", tools.display());
        }
    }
    let work = std::env::temp_dir().join(format!("concordat-screenshots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let mut demo = Demo(
        Command::new(root.join("target/debug/concordat"))
            .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
            .arg(work.join("demo"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the demo")?,
    );
    let mut first = String::new();
    std::io::BufReader::new(demo.0.stdout.as_mut().context("the demo's output")?)
        .read_line(&mut first)?;
    let url = first
        .trim()
        .strip_prefix("serving at ")
        .with_context(|| format!("the demo said `{first}`, not where it serves"))?
        .to_owned();
    let list = work.join("pages.txt");
    std::fs::write(&list, PAGES.join("\n"))?;
    let shots = root.join("target/screenshots");
    let output = Command::new("node")
        .arg(tools.join("probe.mjs"))
        .args([url.as_str(), "390,1280"])
        .arg(&list)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .context("cannot run node")?;
    drop(demo);
    let _ = std::fs::remove_dir_all(&work);
    if !output.status.success() {
        bail!(
            "the browser failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!(
        "{} screenshots of {} page types at 390 and 1280 px in {}",
        PAGES.len() * 2,
        PAGES.len(),
        shots.display()
    );
    Ok(())
}
