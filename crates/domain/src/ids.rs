//! The one grammar of the names the ledger gives things — parties, contracts, modules, addenda,
//! deployments, model lines — and of the file names inside a contract package. These names
//! become file names, URL path segments and keys, so they are checked where they are parsed,
//! whoever wrote them:
//!
//! - an **id** is 1 to 63 lowercase ASCII letters, digits and `-`, starting with a letter or a
//!   digit (`defense-imagery-analysis`, `annex-c`, `2027-pilot`): never `.`, `/`, `\`, a
//!   space or an upper-case letter, so never `..`, a hidden file or a second path segment;
//! - a **measurement** (AMD SEV-SNP) is 96 lowercase hex digits;
//! - a **package path** is 1 to 4 plain segments joined by `/` (`policies/restrictions.cedar`),
//!   each 1 to 128 ASCII letters, digits, `.`, `_` or `-` and not starting with `.`: never
//!   absolute, never `..`, never a backslash.

use std::fmt;

/// The longest id.
pub const ID_BYTES_MAX: usize = 63;

/// The longest segment of a package path, and the most segments.
pub const PATH_SEGMENT_BYTES_MAX: usize = 128;
pub const PATH_SEGMENTS_MAX: usize = 4;

/// A name that breaks the grammar: what it names, the name as written, and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    pub what: String,
    pub value: String,
    pub rule: &'static str,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` must be {}",
            self.what,
            self.value.escape_debug(),
            self.rule
        )
    }
}

impl std::error::Error for IdError {}

const ID_RULE: &str = "1 to 63 lowercase letters, digits or `-`, starting with a letter or digit";
const PATH_RULE: &str = "a path inside the package: up to 4 names joined by `/`, each 1 to 128 letters, digits, `.`, `_` or `-` and not starting with `.`";

/// Checks an id against the grammar; `what` names it in the error (`contract id`).
pub fn check_id(what: &str, id: &str) -> Result<(), IdError> {
    let valid = !id.is_empty()
        && id.len() <= ID_BYTES_MAX
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(IdError {
            what: what.to_owned(),
            value: id.to_owned(),
            rule: ID_RULE,
        })
    }
}

/// Checks a file name inside a contract package (a key of its `files`, a policy file a module
/// names).
pub fn check_package_path(what: &str, path: &str) -> Result<(), IdError> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment.len() <= PATH_SEGMENT_BYTES_MAX
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() <= PATH_SEGMENTS_MAX && segments.iter().all(|s| plain(s)) {
        Ok(())
    } else {
        Err(IdError {
            what: what.to_owned(),
            value: path.to_owned(),
            rule: PATH_RULE,
        })
    }
}

/// Checks an AMD SEV-SNP launch measurement: its 48 bytes as 96 lowercase hex digits.
pub fn check_measurement(measurement: &str) -> Result<(), IdError> {
    let valid = measurement.len() == 96
        && measurement
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if valid {
        Ok(())
    } else {
        Err(IdError {
            what: "measurement".to_owned(),
            value: measurement.to_owned(),
            rule: "96 lowercase hex digits (48 bytes)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_plain_lowercase_segment() {
        for good in ["a", "annex-c", "2027-pilot", &"x".repeat(63)] {
            assert_eq!(check_id("id", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-a",
            "A",
            "a b",
            "a/b",
            "..",
            ".hidden",
            "../../evilc",
            "a\\b",
            "a\0",
            "é",
            &"x".repeat(64),
        ] {
            assert!(check_id("id", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_id("contract id", "../x").unwrap_err().to_string(),
            "contract id `../x` must be 1 to 63 lowercase letters, digits or `-`, starting with a letter or digit"
        );
    }

    #[test]
    fn package_paths_stay_inside_the_package() {
        for good in [
            "contract.toml",
            "modules/use-restrictions.toml",
            "policies/Restrictions_v2.cedar",
        ] {
            assert_eq!(check_package_path("file", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/abs/outside.cedar",
            "../../outside.cedar",
            "policies/../../x.cedar",
            "policies//x.cedar",
            "policies/.x.cedar",
            "policies\\x.cedar",
            "C:x.cedar",
            "a/b/c/d/e.cedar",
            "policies/x.cedar/",
        ] {
            assert!(check_package_path("file", bad).is_err(), "{bad:?}");
        }
    }
}
