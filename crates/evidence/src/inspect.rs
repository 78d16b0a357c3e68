//! Inspect AI eval logs. A `.json` log is one document; an `.eval` log is a zip archive whose
//! `header.json` holds the same top-level fields without the samples. Only the fields Concordat
//! needs are read; the samples are skipped.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use crate::{EvalSummary, EvidenceError, normalise_time};

/// The most of `header.json` read from an archive (it holds no samples).
const HEADER_BYTES_MAX: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct Log {
    status: Option<String>,
    eval: Option<Eval>,
    results: Option<Results>,
    stats: Option<Stats>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Eval {
    task: Option<String>,
    model: Option<String>,
    created: Option<String>,
    #[serde(default)]
    dataset: Dataset,
    #[serde(default)]
    packages: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Dataset {
    name: Option<String>,
    location: Option<String>,
    samples: Option<u64>,
}

#[derive(Deserialize)]
struct Results {
    total_samples: Option<u64>,
    completed_samples: Option<u64>,
    #[serde(default)]
    scores: Vec<Score>,
}

#[derive(Deserialize)]
struct Score {
    name: String,
    #[serde(default)]
    metrics: BTreeMap<String, Metric>,
}

#[derive(Deserialize)]
struct Metric {
    value: Option<f64>,
}

#[derive(Deserialize)]
struct Stats {
    completed_at: Option<String>,
    started_at: Option<String>,
}

/// Reads an Inspect AI log: `.eval` archives through `header.json`, anything else as JSON.
pub fn read(path: &Path) -> Result<EvalSummary, EvidenceError> {
    let bytes = std::fs::read(path).map_err(|e| EvidenceError::io(path, e))?;
    let is_archive =
        bytes.starts_with(b"PK\x03\x04") || path.extension().is_some_and(|ext| ext == "eval");
    let header = if is_archive {
        header_of_archive(path, &bytes)?
    } else {
        bytes
    };
    let log: Log = serde_json::from_slice(&header).map_err(|e| {
        EvidenceError::format(
            path,
            format!(
                "not an Inspect AI log: line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    summarise(path, log)
}

fn header_of_archive(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, EvidenceError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| EvidenceError::format(path, format!("not a readable .eval archive: {e}")))?;
    let mut header = archive.by_name("header.json").map_err(|e| {
        EvidenceError::format(
            path,
            format!("the .eval archive has no readable `header.json` (is the run finished?): {e}"),
        )
    })?;
    let mut out = Vec::new();
    (&mut header)
        .take(HEADER_BYTES_MAX)
        .read_to_end(&mut out)
        .map_err(|e| EvidenceError::format(path, format!("`header.json`: {e}")))?;
    Ok(out)
}

fn summarise(path: &Path, log: Log) -> Result<EvalSummary, EvidenceError> {
    let missing = |field: &str| EvidenceError::format(path, format!("field `{field}` is missing"));
    let eval = log.eval.ok_or_else(|| missing("eval"))?;
    let status = log.status.ok_or_else(|| missing("status"))?;
    let task = eval.task.ok_or_else(|| missing("eval.task"))?;
    let model = eval.model.ok_or_else(|| missing("eval.model"))?;
    let results = match (log.results, status.as_str()) {
        (Some(results), _) => results,
        (None, "success") => return Err(missing("results")),
        (None, other) => {
            let error = log
                .error
                .as_ref()
                .and_then(|e| e.get("message"))
                .and_then(|m| m.as_str())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(EvidenceError::format(
                path,
                format!("the run's status is `{other}` and it has no results{error}"),
            ));
        }
    };
    let single_scorer = results.scores.len() == 1;
    let mut metrics = BTreeMap::new();
    for (index, score) in results.scores.iter().enumerate() {
        for (name, metric) in &score.metrics {
            let Some(value) = metric.value.filter(|v| v.is_finite()) else {
                return Err(EvidenceError::format(
                    path,
                    format!("field `results.scores[{index}].metrics.{name}.value` is not a number"),
                ));
            };
            let key = if single_scorer {
                name.clone()
            } else {
                format!("{}/{name}", score.name)
            };
            metrics.insert(key, value);
        }
    }
    if metrics.is_empty() && status == "success" {
        return Err(EvidenceError::format(
            path,
            "field `results.scores` holds no metrics",
        ));
    }
    let finished = log
        .stats
        .as_ref()
        .and_then(|s| s.completed_at.as_deref().or(s.started_at.as_deref()))
        .or(eval.created.as_deref())
        .ok_or_else(|| missing("stats.completed_at"))?;
    let evaluated_at = normalise_time(finished).ok_or_else(|| {
        EvidenceError::format(
            path,
            format!("field `stats.completed_at` is `{finished}`, not an RFC 3339 time"),
        )
    })?;
    Ok(EvalSummary {
        harness: "inspect-ai".to_owned(),
        harness_version: eval.packages.get("inspect_ai").cloned(),
        task,
        model,
        dataset: eval.dataset.name.or(eval.dataset.location),
        samples: results
            .completed_samples
            .or(results.total_samples)
            .or(eval.dataset.samples)
            .unwrap_or(0),
        metrics,
        status,
        evaluated_at,
    })
}
