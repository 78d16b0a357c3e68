//! Bearer tokens: issued concurrently without losing one, revoked at once.

use service::ServiceError;
use service::layout::Layout;

#[test]
fn concurrent_token_issues_are_all_kept() {
    use service::access::{Tokens, by_token, issue_token, revoke_token};
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let issued: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|n| {
                let layout = &layout;
                scope.spawn(move || {
                    issue_token(
                        layout,
                        "auditor",
                        &format!("desk {n}"),
                        "2026-11-30T00:00:00Z",
                    )
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(Tokens::read(&layout).unwrap().tokens.len(), 10);
    for (_, token) in &issued {
        assert_eq!(by_token(&layout, token).unwrap().party, "auditor");
    }
    let (record, token) = &issued[3];
    revoke_token(&layout, &record.id, "2026-11-30T01:00:00Z").unwrap();
    assert!(matches!(
        by_token(&layout, token),
        Err(ServiceError::Unauthenticated(_))
    ));
    assert!(matches!(
        revoke_token(&layout, "nope", "2026-11-30T01:00:00Z"),
        Err(ServiceError::NotFound(_))
    ));
}
