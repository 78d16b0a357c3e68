//! The recognition report: per contract, how many of its evaluation requirements are met, and
//! how many of those by evidence produced for another jurisdiction — a duplicate test avoided.

use serde::{Deserialize, Serialize};

use super::evaluate;
use crate::State;

/// One contract's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractReuse {
    pub contract: String,
    /// The jurisdictions the contract is made under.
    pub jurisdictions: Vec<String>,
    /// Evaluation requirements over every model version offered under the contract.
    pub evaluation_requirements: usize,
    pub met: usize,
    /// Met by evidence produced for another jurisdiction or logged by another instance.
    pub met_by_evidence_from_elsewhere: usize,
    /// Of those, met by evidence another member of the coalition logged.
    #[serde(default)]
    pub met_by_evidence_from_other_instances: usize,
    pub reused: Vec<Reuse>,
}

/// An evaluation requirement met by evidence produced for another jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reuse {
    /// `LINE@VERSION`.
    pub model: String,
    /// `evaluation:<suite>/<metric>`.
    pub requirement: String,
    /// The evidence entries that meet it.
    pub entries: Vec<u64>,
    /// The jurisdiction the evidence was produced for.
    pub produced_for: String,
    /// The coalition member whose instance logged it first, for evidence mirrored here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in: Option<String>,
}

/// The report at `now` (unix seconds), for every contract or only `only`; `None` when `only`
/// names no published contract.
pub fn recognition_report(
    state: &State,
    only: Option<&str>,
    now: i64,
) -> Option<Vec<ContractReuse>> {
    let mut rows = Vec::new();
    for contract in state
        .contracts()
        .filter(|c| only.is_none_or(|id| id == c.id))
    {
        let mut row = ContractReuse {
            contract: contract.id.clone(),
            jurisdictions: state
                .package(&contract.id)
                .map(|p| p.contract.jurisdictions.clone())
                .unwrap_or_default(),
            evaluation_requirements: 0,
            met: 0,
            met_by_evidence_from_elsewhere: 0,
            met_by_evidence_from_other_instances: 0,
            reused: Vec::new(),
        };
        for model in state
            .models()
            .filter(|m| m.offers.contains_key(&contract.id))
        {
            let Ok(gate) = evaluate(state, &contract.id, &model.line, &model.version, now) else {
                continue;
            };
            for requirement in gate
                .requirements
                .iter()
                .filter(|r| r.id.starts_with("evaluation:"))
            {
                row.evaluation_requirements += 1;
                if !requirement.met {
                    continue;
                }
                row.met += 1;
                if requirement.recognised_from.is_some() || requirement.logged_in.is_some() {
                    let produced_for = requirement
                        .by
                        .first()
                        .and_then(|entry| state.evidence(*entry))
                        .map(|e| e.produced_for.clone())
                        .unwrap_or_default();
                    row.reused.push(Reuse {
                        model: model.key(),
                        requirement: requirement.id.clone(),
                        entries: requirement.by.clone(),
                        produced_for,
                        logged_in: requirement.logged_in.clone(),
                    });
                }
            }
        }
        row.met_by_evidence_from_elsewhere = row.reused.len();
        row.met_by_evidence_from_other_instances =
            row.reused.iter().filter(|r| r.logged_in.is_some()).count();
        rows.push(row);
    }
    if only.is_some() && rows.is_empty() {
        return None;
    }
    Some(rows)
}
