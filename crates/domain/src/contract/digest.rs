//! The digest of a public package, and the diff between two versions of it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of the files: for each path in order, the path, a NUL, the text's length in
/// decimal, a NUL and the text. Unambiguous, and independent of any JSON encoding.
pub fn package_digest(files: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (path, text) in files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(text.len().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// What changed between two versions of a package: added and removed files, and for changed
/// files the removed (`-`) and added (`+`) lines.
pub fn package_diff(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (path, text) in new {
        match old.get(path) {
            None => out.push_str(&format!("added {path}\n")),
            Some(before) if before != text => {
                out.push_str(&format!("changed {path}\n"));
                out.push_str(&line_diff(before, text));
            }
            Some(_) => {}
        }
    }
    for path in old.keys().filter(|path| !new.contains_key(*path)) {
        out.push_str(&format!("removed {path}\n"));
    }
    out
}

/// Lines only in `old` (`-`) and only in `new` (`+`), in order, by longest common subsequence.
fn line_diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lengths[i][j]: the LCS of a[i..] and b[j..].
    let mut lengths = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i][j] = if a[i] == b[j] {
                lengths[i + 1][j + 1] + 1
            } else {
                lengths[i + 1][j].max(lengths[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lengths[i][j + 1] > lengths[i + 1][j]) {
            out.push_str(&format!("  + {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("  - {}\n", a[i]));
            i += 1;
        }
    }
    out
}
