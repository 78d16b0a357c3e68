//! Contracts as code: a contract package is `contract.toml` plus one TOML file a module, each
//! module versioned on its own. Capability modules (what is delivered) are kept apart from
//! governance modules (how it is tested, audited, rolled back, escalated, shared, restricted).
//!
//! Pure: callers read the files and hand over their text; [`load`] parses them and [`check`]
//! finds where the modules disagree, each finding located as `path:line:column` with a hint.
//! Sealed addenda stay outside the public package; it carries only a commitment ([`seal`]).

mod check;
mod digest;
mod load;
mod model;
mod seal;

pub use check::check;
pub use digest::{package_diff, package_digest};
pub use load::{
    CONTRACT_FILE, Diagnostic, LoadedModule, Package, Source, Step, first_problems, line_column,
    load, sources,
};
pub use model::*;
pub use seal::{SealError, Sealed, commitment, open_commitment, seal};
