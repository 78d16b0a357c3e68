//! The prohibition proof over every request, not a list: each mandatory prohibition is written
//! as the Cedar policy that matches exactly the requests it forbids, and Cedar's symbolic
//! compiler (`cedar-policy-symcc`) asks an SMT solver whether any request the schema admits —
//! any role, any purpose string, any clearance — is matched by it and allowed by the contract's
//! policies. If one is, the solver's model is the counterexample.
//!
//! The solver is a separate program (cvc5; z3 reads only policies without set literals), which
//! the caller finds (`service::admission::smt_solver`). Starting it is the one thing this crate
//! does beyond computing, and only here.

use std::path::PathBuf;

use cedar_policy::PolicySet;
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicySet};

use crate::PolicyError;
use crate::load::{Policies, schema};
use crate::prove::PROHIBITIONS;

/// An SMT solver program and how to talk SMT-LIB to it on standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtSolver {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl SmtSolver {
    /// A solver program, with the arguments its name calls for (z3's or cvc5's).
    pub fn for_program(program: PathBuf) -> SmtSolver {
        let z3 = program
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("z3"));
        let args: &[&str] = if z3 {
            &["-in", "-smt2", "-T:60"]
        } else {
            &["--lang", "smt", "--tlimit=60000"]
        };
        SmtSolver {
            program,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    pub fn name(&self) -> String {
        self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// A request the policies allow though a prohibition forbids it, as the solver found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolicCounterexample {
    pub prohibition: &'static str,
    pub description: &'static str,
    /// The request and entities, as Cedar writes them.
    pub request: String,
    /// The permits that allow it.
    pub clauses: Vec<String>,
}

impl SymbolicCounterexample {
    /// What is permitted, by which clauses, for the request the solver found, in words.
    pub fn message(&self) -> String {
        format!(
            "{} is permitted (by {}) for a request the SMT solver found: {}",
            self.description,
            crate::prove::cited(&self.clauses),
            self.request.replace('\n', " ")
        )
    }
}

/// The Cedar policy matching exactly what a prohibition forbids.
fn forbidden(id: &str) -> Option<&'static str> {
    match id {
        "no-domestic-surveillance" => Some(
            r#"permit(principal, action, resource) when { context.purpose == "surveillance" && context.target_domain == "domestic" };"#,
        ),
        "no-lethal-targeting-without-human" => Some(
            r#"permit(principal, action, resource) when { context.purpose == "lethal-targeting" && !context.human_in_the_loop };"#,
        ),
        _ => None,
    }
}

fn failed(reason: impl std::fmt::Display) -> PolicyError {
    PolicyError::Proof(reason.to_string())
}

/// Proves the mandatory prohibitions over every request the schema admits, with `solver`;
/// returns a counterexample for each one the policies break.
pub fn prove_symbolically(
    policies: &Policies,
    solver: &SmtSolver,
) -> Result<Vec<SymbolicCounterexample>, PolicyError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    runtime.block_on(prove_all(policies, solver))
}

async fn prove_all(
    policies: &Policies,
    solver: &SmtSolver,
) -> Result<Vec<SymbolicCounterexample>, PolicyError> {
    let schema = schema();
    let mut found = Vec::new();
    for prohibition in &PROHIBITIONS {
        let text = forbidden(prohibition.id).ok_or_else(|| {
            failed(format!(
                "prohibition `{}` has no symbolic form",
                prohibition.id
            ))
        })?;
        let forbidden: PolicySet = text.parse().map_err(failed)?;
        // Every (principal, action, resource) the schema allows for `invoke`.
        for env in schema.request_envs() {
            let contract =
                CompiledPolicySet::compile(&policies.set, &env, schema).map_err(failed)?;
            let forbidden = CompiledPolicySet::compile(&forbidden, &env, schema).map_err(failed)?;
            let mut compiler = CedarSymCompiler::new(start(solver)?).map_err(failed)?;
            let counterexample = compiler
                .check_disjoint_with_counterexample_opt(&contract, &forbidden)
                .await
                .map_err(|e| failed(format!("{}: {e}", solver.name())))?;
            if let Some(model) = counterexample {
                let response = cedar_policy::Authorizer::new().is_authorized(
                    &model.request,
                    &policies.set,
                    &model.entities,
                );
                let mut clauses: Vec<String> = response
                    .diagnostics()
                    .reason()
                    .map(ToString::to_string)
                    .collect();
                clauses.sort();
                found.push(SymbolicCounterexample {
                    prohibition: prohibition.id,
                    description: prohibition.description,
                    request: model.to_string(),
                    clauses,
                });
                break;
            }
        }
    }
    Ok(found)
}

fn start(solver: &SmtSolver) -> Result<LocalSolver, PolicyError> {
    LocalSolver::from_command(tokio::process::Command::new(&solver.program).args(&solver.args))
        .map_err(|e| {
            failed(format!(
                "cannot run the SMT solver `{}`: {e}",
                solver.program.display()
            ))
        })
}
