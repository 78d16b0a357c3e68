//! `cargo xtask tidy`: ARCHITECTURE.md's invariants as a test — which crate may depend on
//! which, the one owner of each foreign dependency, no IO in the pure crates, a `//!` header on
//! every file, and functions short enough to read in one screen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Each workspace crate and the workspace crates it may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("tlog", &[]),
    // Test support only: a throwaway PostgreSQL cluster (a dev-dependency of the others).
    ("pgcluster", &[]),
    ("attest", &["tlog"]),
    ("domain", &["attest", "tlog"]),
    ("policy", &["domain", "attest", "tlog"]),
    ("evidence", &["attest", "tlog"]),
    ("store", &["tlog"]),
    ("ledger", &["attest", "domain", "store", "tlog"]),
    (
        "service",
        &["attest", "domain", "ledger", "policy", "store", "tlog"],
    ),
    (
        "server",
        &[
            "attest", "domain", "ledger", "policy", "service", "store", "tlog",
        ],
    ),
    ("gateway", &["domain", "policy", "service", "tlog"]),
    (
        "cli",
        &[
            "attest", "domain", "evidence", "gateway", "ledger", "policy", "server", "service",
            "store", "tlog",
        ],
    ),
];

/// Foreign dependencies only one crate may import (tests and benches aside).
const OWNERS: &[(&str, &str)] = &[
    ("rusqlite", "store"),
    ("postgres", "store"),
    ("cedar-policy", "policy"),
    ("cedar-policy-symcc", "policy"),
    ("axum", "server"),
    ("ureq", "service"),
    ("sev", "service"),
    ("hyper-rustls", "gateway"),
];

/// The pure crates, and what would mean IO in their sources.
const PURE: &[&str] = &["tlog", "attest", "domain", "policy"];
const IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "File::open",
    "tokio",
    "SystemTime::now",
];

/// Files of pure crates that do one kind of IO, and why.
const IO_EXEMPT: &[(&str, &str)] = &[(
    "crates/policy/src/symbolic.rs",
    "starts the SMT solver the caller found, a program of its own, for the symbolic proof",
)];

/// The longest function, in lines, before it must be split or say why it is not.
const FUNCTION_LINES_MAX: usize = 100;
/// The comment that justifies a longer function, on the line above it.
const LONG_FUNCTION_REASON: &str = "// tidy: long function:";

pub fn run(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let crates = workspace_crates(root)?;
    for (name, manifest) in &crates {
        check_dependencies(name, manifest, &crates, &mut problems)?;
    }
    for file in rust_files(root)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        check_file(&shown, &text, &mut problems);
    }
    if problems.is_empty() {
        println!(
            "tidy: {} crates and their files keep the rules",
            crates.len()
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("tidy: {} problems", problems.len())
}

fn workspace_crates(root: &Path) -> anyhow::Result<BTreeMap<String, toml::Table>> {
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("`{}`", manifest.display()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crates.insert(name, table);
    }
    Ok(crates)
}

fn check_dependencies(
    name: &str,
    manifest: &toml::Table,
    crates: &BTreeMap<String, toml::Table>,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    let Some((_, allowed)) = ALLOWED.iter().find(|(crate_name, _)| *crate_name == name) else {
        problems.push(format!(
            "crates/{name}: not in tidy's dependency rule; add it to ARCHITECTURE.md and xtask/src/tidy.rs"
        ));
        return Ok(());
    };
    let dependencies = manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .cloned()
        .unwrap_or_default();
    for dependency in dependencies.keys() {
        if crates.contains_key(dependency) && !allowed.contains(&dependency.as_str()) {
            problems.push(format!(
                "crates/{name}/Cargo.toml: `{name}` may not depend on `{dependency}` (dependencies point one way; see ARCHITECTURE.md)"
            ));
        }
        if let Some((_, owner)) = OWNERS.iter().find(|(foreign, _)| foreign == dependency)
            && *owner != name
        {
            problems.push(format!(
                "crates/{name}/Cargo.toml: only `{owner}` imports `{dependency}`"
            ));
        }
    }
    Ok(())
}

fn rust_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![root.join("crates"), root.join("xtask")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                if !path.ends_with("target") && !path.ends_with("fixtures") {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn check_file(shown: &str, text: &str, problems: &mut Vec<String>) {
    if !text.starts_with("//!") {
        problems.push(format!(
            "{shown}:1: every file opens with a `//!` line saying what it is for"
        ));
    }
    let in_source = shown.contains("/src/");
    if in_source
        && PURE
            .iter()
            .any(|c| shown.starts_with(&format!("crates/{c}/")))
        && !IO_EXEMPT.iter().any(|(file, _)| *file == shown)
    {
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(io) = IO.iter().find(|io| code.contains(*io)) {
                problems.push(format!(
                    "{shown}:{}: `{io}` in a pure crate: IO happens at the edges",
                    number + 1
                ));
            }
        }
    }
    if in_source {
        long_functions(shown, text, problems);
    }
}

/// Finds functions longer than [`FUNCTION_LINES_MAX`] lines, by their braces, unless the
/// line above says why.
fn long_functions(shown: &str, text: &str, problems: &mut Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn {
            continue;
        }
        // A declaration without a body (in a trait), its signature on one line or several.
        let declaration = lines[start..]
            .iter()
            .find(|l| l.contains('{') || l.trim_end().ends_with(';'))
            .is_some_and(|l| !l.contains('{'));
        if declaration {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let closing = " ".repeat(indent) + "}";
        let Some(length) = lines[start..].iter().position(|l| *l == closing) else {
            continue;
        };
        let justified = start > 0
            && lines[start - 1]
                .trim_start()
                .starts_with(LONG_FUNCTION_REASON);
        if length + 1 > FUNCTION_LINES_MAX && !justified {
            problems.push(format!(
                "{shown}:{}: a function of {} lines; split it by meaning, or say why not in `{LONG_FUNCTION_REASON} …` above it",
                start + 1,
                length + 1
            ));
        }
    }
}
