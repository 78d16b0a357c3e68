//! Every command explains itself with an example.

use crate::support::concordat;

#[test]
fn every_command_has_help_with_an_example() {
    let commands: &[&[&str]] = &[
        &[],
        &["key", "generate"],
        &["note", "sign"],
        &["note", "verify"],
        &["log", "init"],
        &["log", "append"],
        &["log", "checkpoint"],
        &["log", "prove"],
        &["log", "consistency"],
        &["log", "verify"],
        &["proof", "verify"],
        &["init"],
        &["party", "register"],
        &["party", "list"],
        &["party", "show"],
        &["key", "rotate"],
        &["key", "revoke"],
        &["sign"],
        &["statement"],
        &["kinds"],
        &["submit"],
        &["entry", "show"],
        &["replay"],
        &["contract", "check"],
        &["contract", "schema"],
        &["contract", "new"],
        &["contract", "render"],
        &["contract", "publish"],
        &["contract", "amend"],
        &["contract", "show"],
        &["contract", "history"],
        &["contract", "diff"],
        &["addendum", "seal"],
        &["policy", "eval"],
        &["policy", "schema"],
        &["addendum", "verify"],
    ];
    let dir = tempfile::tempdir().unwrap();
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = concordat(&args, None, dir.path()).ok();
        assert!(
            run.stdout.contains("Example"),
            "{command:?} --help has no example:\n{}",
            run.stdout
        );
    }
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(concordat(&["log", "frobnicate"], None, dir.path()).code, 2);
    assert_eq!(
        concordat(&["log", "prove", "--dir", "x"], None, dir.path()).code,
        2
    );
}
