//! A usage batch's records, checked: every line read, every request made to the batch's
//! deployment, every decision decided again against the contract's policies. The same check
//! runs where the records are made (`usage record`), where they are deposited and on the write
//! path of the entry that counts them.

use domain::ContractRecord;
use policy::usage::{self, LineError, Summary, UsageRecord};

/// Why a records file does not stand: each bad line, or why the contract cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// Lines that do not read, or name another deployment.
    #[error("{}", lines(.0))]
    Lines(Vec<LineError>),
    /// Decisions the contract's policies do not give.
    #[error("{} of {records} decisions differ from what the contract's policies answer:\n{}", .differences.len(), lines(.differences))]
    Differ {
        records: usize,
        differences: Vec<LineError>,
    },
    #[error("the policies of contract `{contract}` do not load: {problems}")]
    Policies { contract: String, problems: String },
}

fn lines(problems: &[LineError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl RecordsError {
    /// The problems, each line prefixed with `source:` (a file name).
    pub fn located(&self, source: &str) -> String {
        let prefixed = |problems: &[LineError]| {
            problems
                .iter()
                .map(|p| format!("{source}:{p}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match self {
            RecordsError::Lines(problems) => prefixed(problems),
            RecordsError::Differ {
                records,
                differences,
            } => format!(
                "{} of {records} decisions differ from what the contract's policies answer:\n{}",
                differences.len(),
                prefixed(differences)
            ),
            RecordsError::Policies { .. } => self.to_string(),
        }
    }

    /// Whether the records were read but answer otherwise than the contract.
    pub fn is_difference(&self) -> bool {
        matches!(self, RecordsError::Differ { .. })
    }
}

/// The records of `text`, each made to `deployment` (when named) and each decided again by the
/// policies of `contract`.
pub fn check(
    text: &str,
    contract: &ContractRecord,
    deployment: Option<&str>,
) -> Result<Vec<(usize, UsageRecord)>, RecordsError> {
    let records = usage::read(text).map_err(RecordsError::Lines)?;
    if let Some(deployment) = deployment {
        let elsewhere: Vec<LineError> = records
            .iter()
            .filter_map(|(line, record)| {
                let named = match &record.request.as_ref()?.resource {
                    policy::Resource::Deployment { id } => id,
                    policy::Resource::ModelVersion { deployment, .. } => deployment,
                };
                (named != deployment).then(|| LineError {
                    line: *line,
                    message: format!(
                        "request `{}` was made to deployment `{named}`, not `{deployment}`",
                        record.id
                    ),
                })
            })
            .collect();
        if !elsewhere.is_empty() {
            return Err(RecordsError::Lines(elsewhere));
        }
    }
    let policies =
        policy::from_files(&contract.files).map_err(|problems| RecordsError::Policies {
            contract: contract.id.clone(),
            problems: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
    let differences = usage::recheck(&policies, &records);
    if !differences.is_empty() {
        return Err(RecordsError::Differ {
            records: records.len(),
            differences,
        });
    }
    Ok(records)
}

/// Where a batch's stated counts differ from its records', in words (empty when they agree).
pub fn count_differences(batch: &domain::UsageRecorded, summary: &Summary) -> Vec<String> {
    use domain::updates::time::format_instant;
    let mut differences = Vec::new();
    let mut compare = |field: &str, stated: String, counted: String| {
        if stated != counted {
            differences.push(format!("`{field}` is {stated}, the records give {counted}"));
        }
    };
    compare(
        "records",
        batch.records.to_string(),
        summary.records.to_string(),
    );
    compare(
        "allowed",
        batch.allowed.to_string(),
        summary.allowed.to_string(),
    );
    compare(
        "denied",
        batch.denied.to_string(),
        summary.denied.to_string(),
    );
    compare(
        "clauses",
        format!("{:?}", batch.clauses),
        format!("{:?}", summary.clauses),
    );
    compare(
        "outcomes",
        format!("{:?}", batch.outcomes),
        format!("{:?}", summary.outcomes),
    );
    let counted_tokens = (summary.prompt_tokens > 0 || summary.completion_tokens > 0).then_some(
        domain::TokenCounts {
            prompt: summary.prompt_tokens,
            completion: summary.completion_tokens,
        },
    );
    compare(
        "latency_ms",
        format!("{:?}", batch.latency_ms),
        format!("{:?}", summary.latency_ms),
    );
    compare(
        "tokens",
        format!(
            "{:?}",
            batch
                .tokens
                .filter(|t| *t != domain::TokenCounts::default())
        ),
        format!("{counted_tokens:?}"),
    );
    let instant = |text: &str| {
        domain::updates::time::parse_instant("time", text).map_or(text.to_owned(), format_instant)
    };
    compare("from", instant(&batch.from), format_instant(summary.from));
    compare("to", instant(&batch.to), format_instant(summary.to));
    differences
}

/// The `usage-recorded` predicate that counts records summarized as `summary`.
pub fn batch(
    party: &str,
    contract: &str,
    deployment: &str,
    digest: String,
    at: String,
    summary: &Summary,
) -> domain::UsageRecorded {
    use domain::updates::time::format_instant;
    domain::UsageRecorded {
        party: party.to_owned(),
        contract: contract.to_owned(),
        deployment: deployment.to_owned(),
        from: format_instant(summary.from),
        to: format_instant(summary.to),
        records: summary.records,
        allowed: summary.allowed,
        denied: summary.denied,
        clauses: summary.clauses.clone(),
        digest,
        at,
        outcomes: summary.outcomes.clone(),
        tokens: (summary.prompt_tokens > 0 || summary.completion_tokens > 0).then_some(
            domain::TokenCounts {
                prompt: summary.prompt_tokens,
                completion: summary.completion_tokens,
            },
        ),
        latency_ms: summary.latency_ms.clone(),
    }
}
