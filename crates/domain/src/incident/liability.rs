//! Who pays for an incident: a finding names the root-cause component, and the contract's
//! liability module turns it into each party's share and capped amount.
//!
//! The module says who bears a fault in each component (`components`: party → percent) and
//! each party's cap (`caps`: per incident and over the contract). A share that falls to an
//! upstream supplier is borne toward the contract by the party it supplies (`suppliers`), which
//! may recover it from the supplier up to the supplier's own cap: the chain is followed, the
//! agency's counterparty stays the party it contracted with.

use serde::{Deserialize, Serialize};

use super::Incident;
use crate::contract::{Amount, Liability, Module};
use crate::state::State;

/// A party's part of an incident's damages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The party that bears it toward the contract.
    pub party: String,
    /// Percent of the damages its component share gives it.
    pub share: u32,
    /// Its share of the damages, before the cap.
    pub uncapped: u64,
    /// What it owes after its per-incident cap and what is left of its aggregate cap.
    pub owed: u64,
    /// The cap that limited it, in words (none when it did not).
    pub capped_by: Option<String>,
    /// When the share is an upstream supplier's: the supplier, and what the party may recover
    /// from it under the supplier's cap.
    pub recoverable: Option<Recovery>,
}

/// What a party may recover from its supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub from: String,
    pub amount: u64,
}

/// An incident's damages, allocated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub contract: String,
    pub incident: String,
    pub root_cause: String,
    pub harm: String,
    pub currency: String,
    pub damages: u64,
    pub parts: Vec<Part>,
    /// Damages no party owes (beyond the caps).
    pub uncovered: u64,
    /// The finding's entry.
    pub finding: u64,
}

fn liability_of<'s>(state: &'s State, contract: &str) -> Option<&'s Liability> {
    state
        .package(contract)?
        .modules
        .iter()
        .find_map(|loaded| match &loaded.module {
            Module::Liability(liability) => Some(liability),
            _ => None,
        })
}

/// Why an incident's liability cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("incident `{0}` has no finding yet (a `liability-found` entry)")]
    NoFinding(String),
    #[error("contract `{0}` has no liability module with `components`")]
    NoTerms(String),
    #[error("the contract names nobody for a fault in `{0}`")]
    NoComponent(String),
}

/// What a party has owed under earlier findings of the same contract (for its aggregate cap).
fn owed_before(state: &State, contract: &str, party: &str, before: u64) -> u64 {
    state
        .incidents(Some(contract))
        .filter(|i| i.finding.as_ref().is_some_and(|f| f.entry < before))
        .filter_map(|i| allocate(state, i).ok())
        .flat_map(|a| a.parts)
        .filter(|p| p.party == party)
        .map(|p| p.owed)
        .sum()
}

/// Caps `amount` at `cap` less what was owed before under it.
fn capped(amount: u64, cap: Option<&Amount>, used: u64) -> (u64, Option<String>) {
    let Some(cap) = cap else {
        return (amount, None);
    };
    let left = cap.aggregate.saturating_sub(used);
    let limit = cap.per_incident.min(left);
    if amount <= limit {
        return (amount, None);
    }
    let words = if limit == cap.per_incident {
        format!("per incident {} {}", cap.per_incident, cap.currency)
    } else {
        format!(
            "aggregate {} {} ({} {} left)",
            cap.aggregate, cap.currency, left, cap.currency
        )
    };
    (limit, Some(words))
}

/// The allocation of `incident`'s damages under its contract, from its finding.
pub fn allocate(state: &State, incident: &Incident) -> Result<Allocation, AllocationError> {
    let finding = incident
        .finding
        .as_ref()
        .ok_or_else(|| AllocationError::NoFinding(incident.id.clone()))?;
    let liability = liability_of(state, &incident.contract)
        .filter(|l| !l.components.is_empty())
        .ok_or_else(|| AllocationError::NoTerms(incident.contract.clone()))?;
    let shares = liability
        .components
        .get(&finding.root_cause)
        .ok_or_else(|| AllocationError::NoComponent(finding.root_cause.clone()))?;
    let mut parts = Vec::new();
    for (party, share) in shares {
        let uncapped = finding.damages.saturating_mul(u64::from(*share)) / 100;
        let supplier = liability.suppliers.iter().find(|s| &s.party == party);
        let bearer = supplier.map_or(party.as_str(), |s| s.through.as_str());
        let used = owed_before(state, &incident.contract, bearer, finding.entry);
        let (owed, capped_by) = capped(uncapped, liability.caps.get(bearer), used);
        let recoverable = supplier.map(|s| Recovery {
            from: s.party.clone(),
            amount: capped(owed, s.cap.as_ref(), 0).0,
        });
        parts.push(Part {
            party: bearer.to_owned(),
            share: *share,
            uncapped,
            owed,
            capped_by,
            recoverable,
        });
    }
    let owed: u64 = parts.iter().map(|p| p.owed).sum();
    Ok(Allocation {
        contract: incident.contract.clone(),
        incident: incident.id.clone(),
        root_cause: finding.root_cause.clone(),
        harm: finding.harm.clone(),
        currency: finding.currency.clone(),
        damages: finding.damages,
        uncovered: finding.damages.saturating_sub(owed),
        parts,
        finding: finding.entry,
    })
}

/// The liability terms of `contract`, for the rule that checks a finding.
pub(crate) fn terms<'s>(state: &'s State, contract: &str) -> Option<&'s Liability> {
    liability_of(state, contract)
}
