//! Running the `concordat` binary, shared by the CLI's benchmarks and its PostgreSQL tests:
//! a command, a server and the URL it prints, and an instance on PostgreSQL set up for several
//! nodes.

#![allow(
    dead_code,
    reason = "each benchmark and the tests use the part they need"
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs `binary` with `args` in `dir`: its standard output. Panics when it fails.
pub fn run(binary: &str, dir: &Path, args: &[&str]) -> String {
    let output = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Starts `binary` with `args` (a `serve` or `witness serve` on a free port), quiet, and waits
/// for its `serving at URL` line: the process and the URL.
pub fn serve(binary: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(args)
        .env("CONCORDAT_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("serving at "),
        "unexpected first line `{first}`"
    );
    let url = first.trim().trim_start_matches("serving at ").to_owned();
    (child, url)
}

/// An instance named `origin` whose log is in `db`, for nodes with the directories `nodes`
/// under `tmp` (the first made by `init`, the keys copied into the others), with a vendor party
/// `acme-ai` whose key is `tmp/acme.key`.
pub fn several_nodes(binary: &str, tmp: &Path, db: &str, origin: &str, nodes: &[&str]) {
    run(
        binary,
        tmp,
        &[
            "init",
            "--dir",
            nodes[0],
            "--origin",
            origin,
            "--database",
            db,
        ],
    );
    let vkey = run(
        binary,
        tmp,
        &["key", "generate", "--name", "acme", "--out", "acme.key"],
    );
    run(
        binary,
        tmp,
        &[
            "party",
            "register",
            "--dir",
            nodes[0],
            "--database",
            db,
            "--name",
            "Acme AI",
            "--id",
            "acme-ai",
            "--role",
            "vendor",
            "--key",
            vkey.trim(),
        ],
    );
    for node in &nodes[1..] {
        copy_keys(&tmp.join(nodes[0]), &tmp.join(node));
    }
}

/// Every node has the instance's keys in its own directory: the log's and the operator's,
/// copied from the node in `from` to the one in `to`.
pub fn copy_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for key in ["log.key", "operator.key"] {
        std::fs::copy(from.join("keys").join(key), to.join("keys").join(key)).unwrap();
    }
}
