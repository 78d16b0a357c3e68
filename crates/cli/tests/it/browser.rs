//! The portal in a real browser: headless Chromium (Debian's `chromium` package, installed by
//! this test when missing), driven by Playwright, with axe-core (both from npm, pinned in
//! `tests/browser/package-lock.json` and installed by this test), crawls the demo from its
//! front page at phone and desktop widths: every page fits the viewport, passes axe-core with
//! no serious or critical violation, has its headings in order, and says what the demo holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::{Served, get};

/// Debian bookworm's Chromium, pinned; the candidate version is used only if the mirror no
/// longer carries this one.
const CHROMIUM: &str = "chromium=156.0.8078.79-1~deb12u1";

fn chromium() -> PathBuf {
    let found = |name: &str| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    };
    let lock = std::fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium.lock"))
        .unwrap();
    lock.lock().unwrap();
    if let Some(path) = found("chromium") {
        return path;
    }
    pgcluster::debian_install(&[CHROMIUM], &["chromium"]).unwrap_or_else(|e| {
        panic!("the browser test installs Debian's chromium (run as root): {e}")
    });
    found("chromium").expect("chromium is installed")
}

/// The browser checks' npm packages (Playwright's core and axe-core), installed once from the
/// lock file into the target directory; the directory that holds `probe.mjs`.
fn browser_tools() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    let mut changed = false;
    for file in ["package.json", "package-lock.json", "probe.mjs"] {
        let text = std::fs::read(source.join(file)).unwrap();
        if std::fs::read(dir.join(file)).ok().as_deref() != Some(text.as_slice()) {
            std::fs::write(dir.join(file), text).unwrap();
            changed |= file != "probe.mjs";
        }
    }
    if changed || !dir.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .status()
            .expect("npm runs (Node.js 20 and npm are on the machine)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    dir
}

/// What the browser found on one page at one width.
#[derive(Debug, serde::Deserialize)]
struct Probe {
    path: String,
    width: u32,
    status: u16,
    viewport: u32,
    scroll_width: u32,
    wide: Vec<String>,
    headings: Vec<u8>,
    current: Vec<String>,
    text: String,
    violations: Vec<Violation>,
}

#[derive(Debug, serde::Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    nodes: Vec<String>,
}

/// Loads each of `paths` at each of `widths` in Chromium.
fn probe(
    browser: &Path,
    base: &str,
    widths: &[u32],
    paths: &[String],
    shots: Option<&Path>,
) -> Vec<Probe> {
    let tools = browser_tools();
    let list = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(list.path(), paths.join("\n")).unwrap();
    let widths: Vec<String> = widths.iter().map(u32::to_string).collect();
    let mut command = Command::new("node");
    command
        .arg(tools.join("probe.mjs"))
        .arg(base)
        .arg(widths.join(","))
        .arg(list.path())
        .env("CHROMIUM", browser);
    if let Some(shots) = shots {
        command.arg(shots);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "the browser probe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The kind of page a path is, or none for what is not a portal page.
fn page_type(path: &str) -> Option<&'static str> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Some(match segments.as_slice() {
        [""] => "home",
        ["contracts"] => "contracts",
        ["contracts", _] => "contract",
        ["contracts", _, "compliance"] => "compliance",
        ["models"] => "models",
        ["models", _] => "model",
        ["deployments", _, _] => "deployment",
        ["deployments", _, _, "usage"] => "deployment usage",
        ["usage"] => "usage",
        ["parties"] => "parties",
        ["parties", _] => "party",
        ["designations"] => "designations",
        ["log"] if query.is_empty() => "log",
        ["log"] => "log search",
        ["log", _] => "entry",
        _ => return None,
    })
}

/// The portal's pages reachable from the front page by links, at most `limit` of them and a
/// few of each kind.
fn crawl(base: &str, limit: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue = VecDeque::from(["/".to_owned()]);
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= limit {
            break;
        }
        let Some(kind) = page_type(&path) else {
            continue;
        };
        let count = per_type.entry(kind).or_default();
        if *count >= 4 {
            continue;
        }
        *count += 1;
        let answer = get(&format!("{base}{path}"));
        let body = String::from_utf8_lossy(&answer.body);
        assert_eq!(
            answer.status, 200,
            "{path} answers {}: {body}",
            answer.status
        );
        for link in body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(t, _)| t))
        {
            let link = link.replace("&amp;", "&");
            let link = link.split('#').next().unwrap_or_default().to_owned();
            if link.starts_with('/') && !link.contains("format=") && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
        pages.push(path);
    }
    pages
}

#[test]
fn the_demo_reads_well_on_phones_and_desktops_in_a_real_browser() {
    let browser = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let url = served.url.as_str();
    let sealed: toml::Table = std::fs::read_to_string(
        served
            .dir
            .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    let canary = sealed["text"].as_str().unwrap()[..40].to_owned();

    let mut pages = crawl(url, 60);
    let kinds: BTreeSet<&str> = pages.iter().filter_map(|p| page_type(p)).collect();
    for kind in [
        "home",
        "contracts",
        "contract",
        "compliance",
        "models",
        "model",
        "deployment",
        "deployment usage",
        "usage",
        "parties",
        "party",
        "designations",
        "log",
        "log search",
        "entry",
    ] {
        assert!(
            kinds.contains(kind),
            "the crawl found no {kind} page: {pages:?}"
        );
    }
    pages.push("/no/such/page".to_owned());
    let probes = probe(&browser, url, &[320, 390, 1280], &pages, None);
    assert_eq!(probes.len(), pages.len() * 3);
    let mut problems = Vec::new();
    for p in &probes {
        let at = format!("{} at {} px", p.path, p.width);
        let expected = if p.path == "/no/such/page" { 404 } else { 200 };
        if p.status != expected {
            problems.push(format!("{at}: status {}", p.status));
        }
        if p.scroll_width > p.viewport {
            problems.push(format!(
                "{at}: {} px wide in a {} px viewport: {:?}",
                p.scroll_width, p.viewport, p.wide
            ));
        }
        for v in &p.violations {
            if matches!(v.impact.as_deref(), Some("serious" | "critical")) {
                problems.push(format!(
                    "{at}: axe {} ({:?}): {} at {:?}",
                    v.id, v.impact, v.help, v.nodes
                ));
            }
        }
        if p.headings.first() != Some(&1) || p.headings.iter().filter(|h| **h == 1).count() != 1 {
            problems.push(format!("{at}: one h1 first, not {:?}", p.headings));
        }
        if p.headings.windows(2).any(|w| w[1] > w[0] + 1) {
            problems.push(format!("{at}: a heading skips a level: {:?}", p.headings));
        }
        if expected == 200 && p.current.len() != 1 {
            problems.push(format!(
                "{at}: the navigation marks {:?} as current",
                p.current
            ));
        }
        if p.text.contains(&canary) {
            problems.push(format!("{at}: shows sealed text"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The summaries say what the demo holds, in words, as a reader sees them.
    let text = |path: &str| {
        &probes
            .iter()
            .find(|p| p.path == path && p.width == 390)
            .unwrap_or_else(|| panic!("{path} was not crawled: {pages:?}"))
            .text
    };
    let home = text("/");
    for words in [
        "In short",
        "analyst-workbench runs vision-analyst@2027.1.0",
        "in service — re-evaluation due",
        "vision-analyst@2027.3.0 under",
        "rolled back from vision-analyst@2027.2.0 to vision-analyst@2027.1.0",
        "overdue by",
        "Incident inc-2027-014 (serious)",
        "designated a supply-chain risk",
        "Defense Imagery Agency",
    ] {
        assert!(
            home.contains(words),
            "the front page lacks {words:?}:\n{home}"
        );
    }
    let contract = text("/contracts/defense-imagery-analysis");
    for words in [
        "lethal targeting — sensitive",
        "Never permitted: surveillance",
        "at least 60 days before it enters service",
        "contract's own minimum of 30 days",
        "before the contract is in force (from 2027-01-01)",
        "A serious incident: Defense Imagery Agency",
    ] {
        assert!(
            contract.contains(words),
            "the contract page lacks {words:?}:\n{contract}"
        );
    }
    assert!(
        !contract.contains("steps[") && !contract.contains("within_hours"),
        "key paths on the contract page"
    );
    let model = text("/models/vision-analyst@2027.1.0");
    assert!(model.contains("re-evaluation due by"), "{model}");
    assert!(
        model.contains("When approved") && model.contains("Today"),
        "{model}"
    );
    let usage = text("/deployments/defense-imagery-analysis/analyst-workbench/usage");
    assert!(
        usage.contains("10 requests: 5 allowed")
            && usage.contains("1 because nothing in the contract permits it"),
        "{usage}"
    );
}
