//! Use restrictions in Cedar: the only crate that sees `cedar-policy`.
//!
//! A contract's `use-restrictions` module names `.cedar` files. [`load`] parses them, checks
//! that every policy carries `@id("clause-id")` (its policy id becomes that clause id, so a
//! decision cites clauses), and validates them strictly against [`SCHEMA`]. [`Policies::decide`]
//! answers a request: `forbid` wins, nothing is allowed that no `permit` allows. [`prove`]
//! evaluates every request of a finite space and returns each one a mandatory prohibition
//! says must be denied but the policies allow. [`usage`] reads usage records (decisions, one a
//! line), counts them, and decides them again to check what was recorded.

mod decide;
mod load;
mod prove;
mod symbolic;
pub mod usage;

pub use decide::{Decision, Request, Resource};
pub use load::{Clause, Effect, PURPOSE_VOCABULARY, Policies, from_files, load};
pub use prove::{
    Counterexample, PROHIBITIONS, Prohibition, PurposeUse, RequestSpace, prove, purposes,
};
pub use symbolic::{SmtSolver, SymbolicCounterexample, prove_symbolically};

/// Concordat's Cedar schema, in Cedar's schema syntax.
pub const SCHEMA: &str = include_str!("concordat.cedarschema");

/// Why a request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("request field `{field}`: {reason}")]
    Request { field: String, reason: String },
    #[error("the symbolic proof could not be run: {0}")]
    Proof(String),
}

/// Classification names in order; a level is the index.
pub const CLASSIFICATIONS: [&str; 5] = ["public", "cui", "confidential", "secret", "top-secret"];

pub(crate) fn classification_level(name: &str) -> Option<i64> {
    CLASSIFICATIONS
        .iter()
        .position(|c| *c == name)
        .and_then(|i| i64::try_from(i).ok())
}
