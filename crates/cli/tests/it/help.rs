//! Every command explains itself with an example.

use crate::support::concordat;

/// The subcommands a `--help` page lists under `Commands:`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // Names sit two spaces in; wrapped descriptions deeper.
        .filter(|line| !line[2..].starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    // Walk the command tree from the top, so a new command cannot be missed.
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = Vec::new();
    while let Some(command) = pending.pop() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let run = concordat(&args, None, dir.path()).ok();
        let children = subcommands(&run.stdout);
        // Each listed command says what it is for.
        for line in run
            .stdout
            .lines()
            .skip_while(|line| !line.starts_with("Commands:"))
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .filter(|line| !line[2..].starts_with(' '))
        {
            assert!(
                line.split_whitespace().count() > 1,
                "{command:?}: `{}` has no description",
                line.trim()
            );
        }
        if children.is_empty() || command.is_empty() {
            assert!(
                run.stdout.contains("Example"),
                "{command:?} --help has no example:\n{}",
                run.stdout
            );
        }
        for child in children {
            let mut next = command.clone();
            next.push(child);
            pending.push(next);
        }
        seen.push(command.join(" "));
    }
    for expected in [
        "log verify",
        "contract publish",
        "gate status",
        "deploy rollback",
        "evidence import",
        "usage fetch",
        "addendum deposit",
    ] {
        assert!(
            seen.iter().any(|c| c == expected),
            "`{expected}` not found in {seen:?}"
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
