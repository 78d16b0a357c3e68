//! lm-evaluation-harness results (`results_<date>.json`, as `--output_path` writes them):
//! `results.<task>` holds `<metric>,<filter>` values beside their `_stderr` twins,
//! `n-samples.<task>.effective` the samples, `config.model` the model, `date` the run's start
//! in unix seconds.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{EvalSummary, EvidenceError, unix_to_rfc3339};

#[derive(Deserialize)]
struct Results {
    results: Option<BTreeMap<String, BTreeMap<String, Value>>>,
    #[serde(rename = "n-samples", default)]
    n_samples: BTreeMap<String, Samples>,
    #[serde(default)]
    config: Config,
    date: Option<f64>,
    lm_eval_version: Option<String>,
    model_name: Option<String>,
}

#[derive(Deserialize)]
struct Samples {
    effective: Option<u64>,
    original: Option<u64>,
}

#[derive(Deserialize, Default)]
struct Config {
    model: Option<String>,
    model_args: Option<Value>,
}

/// Reads an lm-evaluation-harness results file.
pub fn read(path: &Path) -> Result<EvalSummary, EvidenceError> {
    let bytes = std::fs::read(path).map_err(|e| EvidenceError::io(path, e))?;
    let parsed: Results = serde_json::from_slice(&bytes).map_err(|e| {
        EvidenceError::format(
            path,
            format!(
                "not lm-evaluation-harness results: line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let results = parsed
        .results
        .filter(|r| !r.is_empty())
        .ok_or_else(|| EvidenceError::format(path, "field `results` is missing or empty"))?;
    let single_task = results.len() == 1;
    let mut metrics = BTreeMap::new();
    for (task, values) in &results {
        for (key, value) in values {
            if key == "alias" || key.contains("_stderr") {
                continue;
            }
            let Some(number) = value.as_f64() else {
                continue; // "N/A" and similar placeholders
            };
            let (metric, filter) = key.split_once(',').unwrap_or((key, "none"));
            let metric = if filter == "none" {
                metric.to_owned()
            } else {
                format!("{metric}/{filter}")
            };
            let name = if single_task {
                metric
            } else {
                format!("{task}/{metric}")
            };
            metrics.insert(name, number);
        }
    }
    if metrics.is_empty() {
        return Err(EvidenceError::format(
            path,
            "field `results` holds no numeric metrics",
        ));
    }
    let samples = results
        .keys()
        .filter_map(|task| parsed.n_samples.get(task))
        .map(|s| s.effective.or(s.original).unwrap_or(0))
        .sum();
    let date = parsed
        .date
        .ok_or_else(|| EvidenceError::format(path, "field `date` is missing"))?;
    let evaluated_at = unix_to_rfc3339(date)
        .ok_or_else(|| EvidenceError::format(path, format!("field `date` is `{date}`")))?;
    let model = parsed
        .model_name
        .filter(|m| !m.is_empty())
        .or_else(|| {
            parsed
                .config
                .model_args
                .as_ref()
                .and_then(|args| match args {
                    Value::String(text) => text
                        .split(',')
                        .find_map(|kv| kv.strip_prefix("pretrained="))
                        .map(str::to_owned),
                    Value::Object(map) => map
                        .get("pretrained")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    _ => None,
                })
        })
        .or(parsed.config.model)
        .unwrap_or_default();
    Ok(EvalSummary {
        harness: "lm-evaluation-harness".to_owned(),
        harness_version: parsed.lm_eval_version,
        task: results.keys().cloned().collect::<Vec<_>>().join(","),
        model,
        dataset: None,
        samples,
        metrics,
        status: "success".to_owned(),
        evaluated_at,
    })
}
