//! The portal in a real browser: headless Chromium (Debian's `chromium` package, installed by
//! this test when missing) loads the front page and follows links to a contract and to a log
//! entry, as a reader would.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::Served;

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
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        apt(&["update", "-qq"]),
        "apt-get update failed: the browser test installs Debian's chromium (run as root)"
    );
    if !apt(&["install", "-y", "-qq", "--no-install-recommends", CHROMIUM]) {
        eprintln!("{CHROMIUM} is no longer on the mirror; installing the current chromium");
        assert!(
            apt(&[
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "chromium"
            ]),
            "apt-get install chromium failed"
        );
    }
    found("chromium").expect("chromium is installed")
}

/// The DOM Chromium builds for `url`.
fn dom(browser: &Path, profile: &Path, url: &str) -> String {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=390,844",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The first link in `page` whose target starts with `prefix`.
fn link(page: &str, prefix: &str) -> String {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(target, _)| target))
        .find(|target| target.starts_with(prefix))
        .unwrap_or_else(|| panic!("no link to {prefix}… in:\n{page}"))
        .replace("&amp;", "&")
}

#[test]
fn a_reader_follows_the_portal_from_the_front_page_to_a_contract_and_an_entry() {
    let browser = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let profile = tmp.path().join("profile");
    let url = &served.url;
    let sealed: toml::Table = std::fs::read_to_string(
        served
            .dir
            .join("sealed/addenda/defense-imagery-analysis/annex-c.sealed.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    let canary = sealed["text"].as_str().unwrap()[..40].to_owned();

    let home = dom(&browser, &profile, &format!("{url}/"));
    assert!(home.contains("Check it yourself"), "{home}");
    let contracts = dom(
        &browser,
        &profile,
        &format!("{url}{}", link(&home, "/contracts")),
    );
    let contract_path = link(&contracts, "/contracts/");
    assert_eq!(contract_path, "/contracts/defense-imagery-analysis");
    let contract = dom(&browser, &profile, &format!("{url}{contract_path}"));
    assert!(
        contract.contains("Imagery analysis assistant for defense analysts"),
        "{contract}"
    );
    assert!(contract.contains("<h3>Forbidden</h3>"), "{contract}");
    assert!(contract.contains("Target-set handling"), "{contract}");
    let entry_path = link(&contract, "/log/");
    let entry = dom(&browser, &profile, &format!("{url}{entry_path}"));
    assert!(entry.contains("contract-published"), "{entry}");
    assert!(entry.contains("Inclusion proof"), "{entry}");
    for page in [&home, &contracts, &contract, &entry] {
        assert!(!page.contains(&canary), "a page shows sealed text");
    }
}
