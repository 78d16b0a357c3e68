//! The service's own tests: deposits, tokens and identifiers through its public surface.

mod deposit;
mod tokens;
