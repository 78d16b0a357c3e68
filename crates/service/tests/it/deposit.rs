//! A deposit is written once: the same bytes again are accepted, other bytes refused, and
//! concurrent depositors of different bytes cannot both win.

use service::ServiceError;
use service::deposit::{Kept, write_once};
use service::layout::{Layout, check_segment};

#[test]
fn a_deposit_is_written_once_and_synced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealed/usage/7.jsonl");
    assert_eq!(write_once(&path, b"one\n").unwrap(), Kept::Written);
    assert_eq!(write_once(&path, b"one\n").unwrap(), Kept::AlreadyThere);
    assert!(matches!(
        write_once(&path, b"two\n"),
        Err(ServiceError::Conflict(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );
}

#[test]
fn concurrent_depositors_of_different_bytes_do_not_both_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deposit");
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let path = &path;
                scope.spawn(move || write_once(path, format!("deposit {n}\n").as_bytes()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let written = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Kept::Written)))
        .count();
    assert_eq!(written, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(Kept::Written) | Err(ServiceError::Conflict(_))))
    );
}

#[test]
fn identifiers_that_become_paths_are_plain_names() {
    for good in ["annex-c", "defense-imagery-analysis", "2027-pilot"] {
        check_segment("addendum id", good).unwrap();
    }
    for bad in [
        "",
        "..",
        "../../tmp/x",
        "a/b",
        ".hidden",
        "a\0b",
        "x\\y",
        "Annex",
        &"a".repeat(64),
    ] {
        let error = check_segment("addendum id", bad).unwrap_err();
        assert!(matches!(error, ServiceError::BadRequest(_)), "{bad:?}");
    }
    let layout = Layout::new("/srv/instance");
    assert!(layout.sealed_addendum("c", "../../../../tmp/x").is_err());
    assert!(layout.sealed_addendum("../evil", "annex").is_err());
    // Addenda have their own folder: a contract named `evidence` or `usage` cannot reach the
    // sealed results or the usage records.
    assert_eq!(
        layout.sealed_addendum("evidence", "12").unwrap(),
        std::path::Path::new("/srv/instance/sealed/addenda/evidence/12.sealed.toml")
    );
    assert_ne!(
        layout.sealed_addendum("evidence", "12").unwrap().parent(),
        layout.sealed_result(12).parent()
    );
    assert_eq!(layout.legacy_sealed_addendum("evidence", "12"), None);
    assert_eq!(
        layout.legacy_sealed_addendum("c", "annex-c"),
        Some(std::path::PathBuf::from(
            "/srv/instance/sealed/c/annex-c.sealed.toml"
        ))
    );
}
