//! The service's own tests: deposits and identifiers through its public surface.

mod deposit;
