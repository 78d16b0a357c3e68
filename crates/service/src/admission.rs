//! The instance's own rules on the ledger's write path (see [`ledger::Admission`]): what
//! `domain::apply` cannot decide because it needs the Cedar policies or the files beside the
//! log. They hold for every entry, whether the CLI built it or someone POSTed it:
//!
//! - a contract is published or amended only if its use-restrictions policies load and the
//!   mandatory prohibitions hold over them (`policy::prove`);
//! - a usage batch is counted only if its records were deposited first, each request was made
//!   to the batch's deployment, each decision is the one the contract's policies give, and the
//!   batch's counts and period are the records'.
//! - a coalition lists other instances, never this one's own log: evidence logged here counts
//!   here already, and mirrored it would appear twice.

use domain::contract::{self, Module};
use domain::federation::CoalitionPublished;
use domain::{ContractPublished, Entry, HostingAttested, Kind, Rejection, State, UsageRecorded};

use crate::layout::Layout;

/// The rules, for the instance in `layout`.
#[derive(Debug, Clone)]
pub struct Rules {
    layout: Layout,
    /// This instance's log's origin.
    origin: String,
    /// The SMT solver for the symbolic prohibition proof, if this machine has one; without,
    /// the enumerated proof over the contract's declared purposes still runs.
    solver: Option<policy::SmtSolver>,
}

impl Rules {
    /// The rules of the instance in `layout`, whose log is named `origin`.
    pub fn new(layout: Layout, origin: &str) -> Rules {
        Rules {
            layout,
            origin: origin.to_owned(),
            solver: smt_solver(),
        }
    }
}

/// The SMT solver for the symbolic proof: the program `CONCORDAT_SMT_SOLVER` names, else the
/// first of `cvc5` and `z3` on the `PATH` (cvc5 first: z3 cannot read set literals).
pub fn smt_solver() -> Option<policy::SmtSolver> {
    if let Some(program) = std::env::var_os("CONCORDAT_SMT_SOLVER").filter(|p| !p.is_empty()) {
        return Some(policy::SmtSolver::for_program(program.into()));
    }
    let path = std::env::var_os("PATH")?;
    ["cvc5", "z3"].into_iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
            .map(policy::SmtSolver::for_program)
    })
}

fn reject(rule: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        rule,
        message: message.into(),
    }
}

impl ledger::Admission for Rules {
    fn admit(&self, state: &State, entry: &Entry<'_>) -> Result<(), Rejection> {
        let statement = entry.statement;
        match Kind::from_predicate_type(&statement.predicate_type) {
            Some(Kind::ContractPublished | Kind::ContractAmended) => prohibitions_hold(
                &predicate::<ContractPublished>(statement)?,
                self.solver.as_ref(),
            ),
            Some(Kind::HostingAttested) => {
                hardware_verified(state, &predicate::<HostingAttested>(statement)?)
            }
            Some(Kind::UsageRecorded) => {
                records_agree(state, &self.layout, &predicate::<UsageRecorded>(statement)?)
            }
            Some(Kind::CoalitionPublished) => {
                others_only(&self.origin, &predicate::<CoalitionPublished>(statement)?)
            }
            _ => Ok(()),
        }
    }
}

/// A coalition names the other instances: none of its members' logs is this one's.
fn others_only(origin: &str, coalition: &CoalitionPublished) -> Result<(), Rejection> {
    for member in &coalition.members {
        if member.origin() == origin {
            return Err(reject(
                "coalition",
                format!(
                    "member `{}` is this instance's own log (`{origin}`): a coalition lists the other instances, and evidence logged here counts here already",
                    member.name
                ),
            ));
        }
    }
    Ok(())
}

fn predicate<P: serde::de::DeserializeOwned>(
    statement: &attest::Statement,
) -> Result<P, Rejection> {
    // `apply` accepted the entry, so its predicate reads; this is only a second reading.
    serde_json::from_value(statement.predicate.clone())
        .map_err(|e| reject("predicate", e.to_string()))
}

/// The package's policies load, every policy file its use-restrictions modules name is
/// published, and no request the prohibitions forbid is permitted.
fn prohibitions_hold(
    published: &ContractPublished,
    solver: Option<&policy::SmtSolver>,
) -> Result<(), Rejection> {
    let package = contract::load(contract::sources(&published.files))
        .map_err(|_| reject("contract-check", "the package does not load"))?;
    let mut named = 0;
    for module in &package.modules {
        if let Module::UseRestrictions(restrictions) = &module.module {
            for path in &restrictions.policies {
                named += 1;
                if !published.files.contains_key(path) {
                    return Err(reject(
                        "policies",
                        format!(
                            "`{}` names policy file `{path}`, which the package does not publish",
                            module.path
                        ),
                    ));
                }
            }
        }
    }
    if named == 0 {
        return Err(reject(
            "policies",
            "the contract has no use-restrictions module with policies: every contract states in Cedar what the model may be used for",
        ));
    }
    let policies = policy::from_files(&published.files)
        .map_err(|problems| reject("policies", contract::first_problems(&problems)))?;
    if let Some(solver) = solver {
        let found = policy::prove_symbolically(&policies, solver)
            .map_err(|e| reject("prohibitions", e.to_string()))?;
        if let Some(counterexample) = found.first() {
            return Err(reject(
                "prohibitions",
                format!(
                    "{}; every contract must forbid it (mandatory prohibition `{}`)",
                    counterexample.message(),
                    counterexample.prohibition
                ),
            ));
        }
    }
    let found = policy::prove(&policies, &policy::RequestSpace::for_policies(&policies))
        .map_err(|e| reject("prohibitions", e.to_string()))?;
    match found.first() {
        None => Ok(()),
        Some(counterexample) => Err(reject(
            "prohibitions",
            format!(
                "{}; every contract must forbid it (mandatory prohibition `{}`)",
                counterexample.message(),
                counterexample.prohibition
            ),
        )),
    }
}

/// An attestation that carries a hardware report is kept only if the report verifies against
/// AMD's chain and its measurement is one the contract names (where it names any).
fn hardware_verified(state: &State, attested: &HostingAttested) -> Result<(), Rejection> {
    let Some(evidence) = &attested.evidence else {
        return Ok(()); // The vendor's word; the gate weighs it.
    };
    let verified = crate::snp::verify_evidence(evidence, &attested.report)
        .map_err(|e| reject("hosting-evidence", e))?;
    let expected = state
        .package(&attested.contract)
        .map(|package| package.measurements())
        .unwrap_or_default();
    if !expected.is_empty() && !expected.contains(&verified.measurement) {
        return Err(reject(
            "hosting-measurement",
            format!(
                "the report verifies, but its launch measurement {} is not one contract `{}` names for its environment",
                verified.measurement, attested.contract
            ),
        ));
    }
    Ok(())
}

/// How long after a deployment's step a record may still name the version in service before
/// it: the time for every gateway to learn of the step, with clocks a little apart.
pub const DEPLOYMENT_PROPAGATION_SECONDS: i64 = 60;

/// Every record names the version the deployment had in service when it was made (or within
/// [`DEPLOYMENT_PROPAGATION_SECONDS`] before): usage of a version that was never approved, or
/// not in service then, is not counted.
fn versions_in_service(
    state: &State,
    batch: &UsageRecorded,
    records: &[(usize, policy::usage::UsageRecord)],
) -> Result<(), Rejection> {
    let key = domain::updates::deployment_key(&batch.contract, &batch.deployment);
    let deployment = state.deployment(&key);
    for (line, record) in records {
        let at = domain::updates::time::parse_instant("at", &record.at)
            .map_err(|e| reject("usage-records", format!("records:{line}: {e}")))?;
        let in_service = deployment.is_some_and(|d| {
            d.active_during(at - DEPLOYMENT_PROPAGATION_SECONDS, at)
                .contains(&record.model.as_str())
        });
        if !in_service {
            return Err(reject(
                "usage-version",
                format!(
                    "records:{line}: request `{}` at {} names `{}`, which was not in service in deployment `{}` of `{}` then",
                    record.id, record.at, record.model, batch.deployment, batch.contract
                ),
            ));
        }
    }
    Ok(())
}

/// The batch's records are deposited, decide again as recorded, and give its counts.
fn records_agree(state: &State, layout: &Layout, batch: &UsageRecorded) -> Result<(), Rejection> {
    let Some(record) = state.contract(&batch.contract) else {
        return Ok(()); // `apply` has refused it already.
    };
    let path = layout
        .usage_records_for(&batch.contract, &batch.digest)
        .map_err(|e| reject("usage-records", e.to_string()))?;
    let missing = || {
        reject(
            "usage-records",
            format!(
                "the records {} are not deposited with this instance: deposit them first (`concordat usage record` does both)",
                batch.digest
            ),
        )
    };
    let bytes = layout
        .kept(&path)
        .map_err(|e| reject("usage-records", e.to_string()))?
        .ok_or_else(missing)?;
    let text = String::from_utf8(bytes).map_err(|_| missing())?;
    if crate::access::sha256_digest(text.as_bytes()) != batch.digest {
        return Err(reject(
            "usage-records",
            format!("the deposited records do not hash to {}", batch.digest),
        ));
    }
    let records = crate::usage::check(&text, record, Some(&batch.deployment))
        .map_err(|e| reject("usage-records", e.located("records")))?;
    versions_in_service(state, batch, &records)?;
    let summary = policy::usage::summarize(records.iter().map(|(_, r)| r));
    let differences = crate::usage::count_differences(batch, &summary);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(reject(
            "usage-counts",
            format!(
                "the batch does not count its records: {}",
                differences.join("; ")
            ),
        ))
    }
}
