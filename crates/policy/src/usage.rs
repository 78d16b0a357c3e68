//! Usage records: what a deployment was asked and what the contract's use restrictions
//! answered, one JSON object a line (JSON Lines). A batch's counts go into the ledger as a
//! `usage-recorded` entry, its records by digest; the records stay restricted to the auditors
//! whose scope includes them. Anyone holding the records can decide each request again and see
//! whether the recorded answer is the one the contract's policies give.

use std::collections::BTreeMap;

use domain::updates::time::parse_instant;
use serde::{Deserialize, Serialize};

use crate::{Policies, Request};

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRecord {
    /// When it was decided, RFC 3339.
    pub at: String,
    /// The request's id where it was decided (the gateway's).
    pub id: String,
    /// The model version asked for, `LINE@VERSION`.
    pub model: String,
    pub request: Request,
    pub allowed: bool,
    /// The clauses that decided it (none for a denial by default).
    pub clauses: Vec<String>,
}

/// A batch's public counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub records: u64,
    pub allowed: u64,
    pub denied: u64,
    pub clauses: BTreeMap<String, u64>,
    /// The first and the last decision's time (unix seconds).
    pub from: i64,
    pub to: i64,
}

/// A problem with one line of a records file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// Reads a records file: each line one record; blank lines are skipped. Every bad line is
/// reported, not only the first.
pub fn read(text: &str) -> Result<Vec<(usize, UsageRecord)>, Vec<LineError>> {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fail = |message: String| LineError {
            line: number,
            message,
        };
        match serde_json::from_str::<UsageRecord>(line) {
            Ok(record) => match check(&record) {
                Ok(()) => records.push((number, record)),
                Err(message) => problems.push(fail(message)),
            },
            Err(e) => problems.push(fail(format!("column {}: {e}", e.column()))),
        }
    }
    if records.is_empty() && problems.is_empty() {
        problems.push(LineError {
            line: 1,
            message: "no records".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(records)
    } else {
        Err(problems)
    }
}

fn check(record: &UsageRecord) -> Result<(), String> {
    parse_instant("at", &record.at)?;
    if record.id.trim().is_empty() {
        return Err("`id` is empty".to_owned());
    }
    if !record
        .model
        .split_once('@')
        .is_some_and(|(line, version)| !line.is_empty() && !version.is_empty())
    {
        return Err(format!("`model` `{}` is not LINE@VERSION", record.model));
    }
    record.request.validate().map_err(|e| e.to_string())
}

/// The counts of a batch.
pub fn summarize<'a>(records: impl IntoIterator<Item = &'a UsageRecord>) -> Summary {
    let mut summary = Summary {
        from: i64::MAX,
        to: i64::MIN,
        ..Summary::default()
    };
    for record in records {
        summary.records += 1;
        if record.allowed {
            summary.allowed += 1;
        } else {
            summary.denied += 1;
        }
        for clause in &record.clauses {
            *summary.clauses.entry(clause.clone()).or_default() += 1;
        }
        if let Ok(at) = parse_instant("at", &record.at) {
            summary.from = summary.from.min(at);
            summary.to = summary.to.max(at);
        }
    }
    if summary.records == 0 {
        summary.from = 0;
        summary.to = 0;
    }
    summary
}

/// Decides each record's request again; every record whose recorded answer or clauses differ
/// from the policies', with the line and the difference in words.
pub fn recheck(policies: &Policies, records: &[(usize, UsageRecord)]) -> Vec<LineError> {
    let mut differences = Vec::new();
    for (line, record) in records {
        let verdict = |allowed: bool| if allowed { "allowed" } else { "denied" };
        let because = |clauses: &[String]| {
            if clauses.is_empty() {
                "by default".to_owned()
            } else {
                format!("by {}", clauses.join(", "))
            }
        };
        match policies.decide(&record.request) {
            Ok(decision) => {
                let mut recorded = record.clauses.clone();
                recorded.sort();
                if decision.allowed != record.allowed || decision.clauses != recorded {
                    differences.push(LineError {
                        line: *line,
                        message: format!(
                            "request `{}` is recorded as {} {}; the contract's policies answer {} {}",
                            record.id,
                            verdict(record.allowed),
                            because(&recorded),
                            verdict(decision.allowed),
                            because(&decision.clauses)
                        ),
                    });
                }
            }
            Err(e) => differences.push(LineError {
                line: *line,
                message: format!("request `{}` cannot be decided: {e}", record.id),
            }),
        }
    }
    differences
}
