//! Service levels, measured: a contract's `service-levels` targets against what its gateways
//! recorded in a deployment's public usage batches over the targets' window — availability
//! (calls the provider answered among those it was asked) and latency percentiles (from the
//! batches' latency counts, which add up across batches, so the figure is the window's own).

use domain::LATENCY_BUCKETS_MS;
use domain::contract::{Module, ServiceTargets};
use domain::updates::UsageBatch;
use serde::{Deserialize, Serialize};

use crate::{Result, ServiceError};

/// One target, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `availability_percent`, `p50_ms` or `p99_ms`.
    pub term: String,
    pub target: f64,
    /// What the records give (none when no call was measured).
    pub measured: Option<f64>,
    /// Whether the target holds (a target with nothing measured holds).
    pub met: bool,
}

/// A deployment's service levels over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub contract: String,
    pub deployment: String,
    /// The window, unix seconds.
    pub from: i64,
    pub to: i64,
    /// The usage entries counted.
    pub batches: Vec<u64>,
    pub served: u64,
    pub upstream_errors: u64,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn breached(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.met)
    }
}

/// The `service-levels` targets of a contract's files, if it states any.
pub fn targets(files: &std::collections::BTreeMap<String, String>) -> Option<ServiceTargets> {
    let package = domain::contract::load(domain::contract::sources(files)).ok()?;
    package
        .modules
        .into_iter()
        .find_map(|loaded| match loaded.module {
            Module::ServiceLevels(levels) => levels.targets,
            _ => None,
        })
}

/// The latency (milliseconds, a bucket's upper bound) at or under which `percent` of the counted
/// calls fell; `u64::MAX` when it is beyond the last bound.
fn percentile(counts: &[u64], percent: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((percent / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(LATENCY_BUCKETS_MS.get(bucket).copied().unwrap_or(u64::MAX));
        }
    }
    Some(u64::MAX)
}

/// Measures `targets` over the batches of `deployment` under `contract` whose period ends in
/// the window of `targets.window_days` up to `at`.
pub fn report(
    contract: &str,
    deployment: &str,
    targets: &ServiceTargets,
    batches: &[UsageBatch],
    at: i64,
) -> Result<Report> {
    if targets.window_days == 0 {
        return Err(ServiceError::BadRequest(
            "the service-level window is 0 days".to_owned(),
        ));
    }
    let from = at - i64::from(targets.window_days) * 86_400;
    let mut report = Report {
        contract: contract.to_owned(),
        deployment: deployment.to_owned(),
        from,
        to: at,
        batches: Vec::new(),
        served: 0,
        upstream_errors: 0,
        checks: Vec::new(),
    };
    let mut latency = vec![0u64; LATENCY_BUCKETS_MS.len() + 1];
    for batch in batches.iter().filter(|b| {
        b.contract == contract && b.deployment == deployment && b.to > from && b.to <= at
    }) {
        report.batches.push(batch.entry);
        report.served += batch.outcomes.get("served").copied().unwrap_or(0);
        report.upstream_errors += batch.outcomes.get("upstream-error").copied().unwrap_or(0);
        for (total, count) in latency.iter_mut().zip(&batch.latency_ms) {
            *total += count;
        }
    }
    let asked = report.served + report.upstream_errors;
    let availability = (asked > 0).then(|| 100.0 * report.served as f64 / asked as f64);
    report.checks.push(Check {
        term: "availability_percent".to_owned(),
        target: targets.availability_percent,
        measured: availability,
        met: availability.is_none_or(|a| a >= targets.availability_percent),
    });
    for (term, percent, target) in [
        ("p50_ms", 50.0, targets.p50_ms),
        ("p99_ms", 99.0, targets.p99_ms),
    ] {
        let measured = percentile(&latency, percent);
        report.checks.push(Check {
            term: term.to_owned(),
            target: target as f64,
            measured: measured.map(|m| m as f64),
            met: measured.is_none_or(|m| m <= target),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(entry: u64, to: i64, served: u64, errors: u64, latency: Vec<u64>) -> UsageBatch {
        UsageBatch {
            entry,
            party: "gw".into(),
            contract: "c".into(),
            deployment: "d".into(),
            from: to - 10,
            to,
            records: served + errors,
            allowed: served + errors,
            denied: 0,
            clauses: Default::default(),
            digest: String::new(),
            at: to,
            outcomes: [
                ("served".to_owned(), served),
                ("upstream-error".to_owned(), errors),
            ]
            .into(),
            tokens: None,
            latency_ms: latency,
        }
    }

    #[test]
    fn availability_and_percentiles_over_the_window() {
        let targets = ServiceTargets {
            availability_percent: 99.0,
            p50_ms: 2,
            p99_ms: 100,
            window_days: 1,
        };
        let mut fast = vec![0; LATENCY_BUCKETS_MS.len() + 1];
        fast[1] = 98; // ≤ 2 ms
        let mut slow = vec![0; LATENCY_BUCKETS_MS.len() + 1];
        slow[8] = 2; // ≤ 500 ms
        let at = 1_000_000;
        let batches = [
            batch(5, at - 100, 98, 0, fast),
            batch(6, at - 50, 2, 2, slow),
            batch(1, at - 2 * 86_400, 0, 50, Vec::new()), // outside the window
        ];
        let report = report("c", "d", &targets, &batches, at).unwrap();
        assert_eq!(report.batches, vec![5, 6]);
        let measured: Vec<(String, Option<f64>, bool)> = report
            .checks
            .iter()
            .map(|c| (c.term.clone(), c.measured, c.met))
            .collect();
        assert_eq!(
            measured,
            [
                (
                    "availability_percent".to_owned(),
                    Some(100.0 * 100.0 / 102.0),
                    false
                ),
                ("p50_ms".to_owned(), Some(2.0), true),
                ("p99_ms".to_owned(), Some(500.0), false),
            ]
        );
    }
}
