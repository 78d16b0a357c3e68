//! Loading policy files: parse, name each policy by its clause id, validate against the schema.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::sync::OnceLock;

use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use domain::contract::{Diagnostic, Source, line_column};
use miette::Diagnostic as _;

use crate::SCHEMA;

/// Whether a clause permits or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Permit,
    Forbid,
}

/// A clause: one policy, where it is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Clause {
    pub id: String,
    pub effect: Effect,
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// The policy as written, from its first annotation to its `;`.
    pub text: String,
    /// The `//` comment lines just above it, without the slashes: the clause in words.
    pub comment: String,
}

/// Validated policies, each named by its clause id.
#[derive(Debug, Clone)]
pub struct Policies {
    pub(crate) set: PolicySet,
    pub(crate) clauses: BTreeMap<String, Clause>,
    /// The purposes the contract declares (its use-restrictions modules' `purposes`); a
    /// request for another is refused. `None`: policies loaded without their contract.
    pub(crate) purposes: Option<std::collections::BTreeSet<String>>,
}

/// The clause a decision cites when the policies would allow a request whose purpose the
/// contract does not declare, and it is refused instead. No policy may take this id.
pub const PURPOSE_VOCABULARY: &str = "purpose-vocabulary";

impl Policies {
    pub fn clauses(&self) -> impl Iterator<Item = &Clause> {
        self.clauses.values()
    }

    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clauses.get(id)
    }

    /// These policies under a contract that declares `purposes`.
    pub fn with_purposes(mut self, purposes: impl IntoIterator<Item = String>) -> Policies {
        self.purposes = Some(purposes.into_iter().collect());
        self
    }

    /// The purposes declared, if the policies were loaded with their contract.
    pub fn purposes(&self) -> Option<&std::collections::BTreeSet<String>> {
        self.purposes.as_ref()
    }
}

pub(crate) fn schema() -> &'static Schema {
    static PARSED: OnceLock<Schema> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The schema ships with the binary and is tested; failing to parse it is a build bug.
        #[expect(
            clippy::expect_used,
            reason = "the shipped schema is checked by the tests"
        )]
        Schema::from_cedarschema_str(SCHEMA)
            .map(|(schema, _warnings)| schema)
            .expect("the shipped Cedar schema parses")
    })
}

fn diagnostic(
    source: &Source,
    offset: usize,
    message: impl Into<String>,
    hint: &str,
) -> Diagnostic {
    Diagnostic::at(&source.path, &source.text, offset, message, hint)
}

/// Where each policy of a Cedar file starts and ends (just past its top-level `;`), in order.
/// A policy starts at the first character that is not whitespace or a comment after the start
/// of the file or the previous policy's `;`.
fn policy_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let (mut index, mut expecting, mut depth, mut in_string) = (0usize, true, 0i32, false);
    while let Some(&byte) = bytes.get(index) {
        if in_string {
            match byte {
                b'\\' => index += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'/' && bytes.get(index + 1) == Some(&b'/') {
            while bytes.get(index).is_some_and(|b| *b != b'\n') {
                index += 1;
            }
            continue;
        } else if !byte.is_ascii_whitespace() {
            if expecting {
                starts.push((index, text.len()));
                expecting = false;
            }
            match byte {
                b'"' => in_string = true,
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => depth -= 1,
                b';' if depth == 0 => {
                    expecting = true;
                    if let Some(last) = starts.last_mut() {
                        last.1 = index + 1;
                    }
                }
                _ => {}
            }
        }
        index += 1;
    }
    starts
}

/// The `//` lines directly above `offset`, joined, without their slashes.
fn comment_above(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or_default();
    let mut lines: Vec<&str> = before
        .lines()
        .rev()
        .map(str::trim)
        .take_while(|line| line.starts_with("//"))
        .map(|line| line.trim_start_matches('/').trim())
        .collect();
    lines.reverse();
    lines.join(" ")
}

/// Parses and validates policy files; every problem is located in its file.
/// The policies of a contract as the ledger holds it: its public files, by path; every
/// `.cedar` file among them.
pub fn from_files(
    files: &std::collections::BTreeMap<String, String>,
) -> Result<Policies, Vec<Diagnostic>> {
    let sources: Vec<Source> = domain::contract::sources(files)
        .into_iter()
        .filter(|s| s.path.ends_with(".cedar"))
        .collect();
    let policies = load(&sources)?;
    // The purposes, where the package declares them (a package that does not load has its
    // own problems, reported by `contract check`).
    let declared: Vec<String> = domain::contract::load(domain::contract::sources(files))
        .map(|package| package.purposes())
        .unwrap_or_default();
    Ok(if declared.is_empty() {
        policies
    } else {
        policies.with_purposes(declared)
    })
}

// tidy: long function: a policy file's checks in order, each problem located where it is found.
pub fn load(files: &[Source]) -> Result<Policies, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut set = PolicySet::new();
    let mut clauses = BTreeMap::new();
    let mut origins: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (file_index, source) in files.iter().enumerate() {
        let parsed = match PolicySet::from_str(&source.text) {
            Ok(parsed) => parsed,
            Err(errors) => {
                for error in errors.iter() {
                    let offset = error
                        .labels()
                        .and_then(|mut labels| labels.next())
                        .map_or(0, |label| label.offset());
                    problems.push(diagnostic(
                        source,
                        offset,
                        error.to_string(),
                        "see https://docs.cedarpolicy.com for Cedar's syntax",
                    ));
                }
                continue;
            }
        };
        let spans = policy_spans(&source.text);
        // Policies come back in the order they are written, named policy0, policy1, ...
        let mut policies: Vec<_> = parsed.policies().collect();
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        for (position, policy) in policies.into_iter().enumerate() {
            let (offset, end) = spans.get(position).copied().unwrap_or((0, 0));
            let Some(id) = policy.annotation("id") else {
                problems.push(diagnostic(
                    source,
                    offset,
                    "policy has no `@id` annotation",
                    "write `@id(\"clause-id\")` before it, so decisions can cite the clause",
                ));
                continue;
            };
            if let Some(first) = clauses.get(id) {
                let first: &Clause = first;
                problems.push(diagnostic(
                    source,
                    offset,
                    format!(
                        "clause id `{id}` is already used at {}:{}:{}",
                        first.path, first.line, first.column
                    ),
                    "give every policy its own `@id`",
                ));
                continue;
            }
            if id == PURPOSE_VOCABULARY {
                problems.push(diagnostic(
                    source,
                    offset,
                    format!("clause id `{id}` is Concordat's own: it names refusals of purposes the contract does not declare"),
                    "give the policy another `@id`",
                ));
                continue;
            }
            let (line, column) = line_column(&source.text, offset);
            let effect = match policy.effect() {
                cedar_policy::Effect::Permit => Effect::Permit,
                cedar_policy::Effect::Forbid => Effect::Forbid,
            };
            let renamed = policy.new_id(PolicyId::new(id));
            if let Err(error) = set.add(renamed) {
                problems.push(diagnostic(source, offset, error.to_string(), ""));
                continue;
            }
            clauses.insert(
                id.to_owned(),
                Clause {
                    id: id.to_owned(),
                    effect,
                    path: source.path.clone(),
                    line,
                    column,
                    text: source.text.get(offset..end).unwrap_or_default().to_owned(),
                    comment: comment_above(&source.text, offset),
                },
            );
            origins.insert(id.to_owned(), (file_index, offset));
        }
    }
    let validation = Validator::new(schema().clone()).validate(&set, ValidationMode::Strict);
    for error in validation.validation_errors() {
        let id = error.policy_id().to_string();
        let Some(&(file_index, policy_offset)) = origins.get(&id) else {
            continue;
        };
        let Some(source) = files.get(file_index) else {
            continue;
        };
        let offset = error
            .labels()
            .and_then(|mut labels| labels.next())
            .map_or(policy_offset, |label| label.offset());
        let hint = error.help().map(|h| h.to_string()).unwrap_or_else(|| {
            "`concordat policy schema` prints the entities, attributes and context requests have".to_owned()
        });
        problems.push(diagnostic(source, offset, error.to_string(), &hint));
    }
    if problems.is_empty() {
        Ok(Policies {
            set,
            clauses,
            purposes: None,
        })
    } else {
        Err(problems)
    }
}
