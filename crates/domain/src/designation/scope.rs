//! Whom a designation reaches: a model version under a contract in its scope that is of the
//! designated line, or depends on the designated party (its vendor, or a supplier the
//! contract's liability module names).

use super::{Designation, Subject};
use crate::contract::Module;
use crate::state::State;

/// The parties `model` (`line@version`) depends on under `contract`: its vendor and the
/// suppliers the contract's liability module names.
fn depends_on(state: &State, contract: &str, model: &str) -> Vec<String> {
    let mut parties: Vec<String> = state
        .model(model)
        .map(|m| vec![m.vendor.clone()])
        .unwrap_or_default();
    if let Some(package) = state.package(contract) {
        for loaded in &package.modules {
            if let Module::Liability(liability) = &loaded.module {
                parties.extend(liability.suppliers.iter().map(|s| s.party.clone()));
            }
        }
    }
    parties
}

/// Whether `designation` reaches `model` under `contract`.
pub fn reaches(state: &State, designation: &Designation, contract: &str, model: &str) -> bool {
    let in_scope = state
        .package(contract)
        .is_some_and(|p| designation.covers(&p.contract.jurisdictions));
    in_scope
        && match &designation.subject {
            Subject::ModelLine { line } => model.split_once('@').is_some_and(|(l, _)| l == line),
            Subject::Party { id } => depends_on(state, contract, model).contains(id),
        }
}

/// The designations in force at `now` that reach `model` under `contract`.
pub fn against<'s>(
    state: &'s State,
    contract: &'s str,
    model: &'s str,
    now: i64,
) -> impl Iterator<Item = &'s Designation> {
    state
        .designations()
        .filter(move |d| d.in_force(now) && reaches(state, d, contract, model))
}
