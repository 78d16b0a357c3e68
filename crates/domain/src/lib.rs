//! Concordat's governance domain: who the parties are, which keys speak for them, and the
//! rules every entry must pass.
//!
//! An entry is a DSSE envelope of an in-toto Statement whose `predicateType` is a versioned
//! Concordat [`Kind`]. The ledger verifies its signatures and hands [`apply`] the statement and
//! the keys that signed it; `apply` decides, against the current [`State`], whether the entry
//! is allowed and what it changes. A [`Rejection`] names the rule and says why in words.
//!
//! Pure: no IO, no clock: time-bearing entries carry their own `at` (see [`updates::time`]).
//! Each kind plugs in the same way: a predicate type, a schema, a rule.

mod apply;
pub mod compliance;
pub mod contract;
pub mod designation;
pub mod federation;
pub mod gateway;
pub mod ids;
pub mod incident;
mod kinds;
mod state;
pub mod updates;

pub use apply::{
    Entry, KEYS_PER_PARTY_MAX, Rejection, STATEMENT_TEXT_BYTES_MAX, apply, check_entry_time,
    verification_keys,
};
pub use kinds::{
    AddendumDisclosed, AddendumSealed, Assurance, ClockMode, ContractAmended, ContractPublished,
    DeploymentActivated, DeploymentRolledBack, EndpointRegistered, EvidenceRecorded, Harness,
    HostingAttested, HostingEvidence, InstanceTerms, KeyAdded, KeyRevoked, KeyRotated, Kind,
    LATENCY_BUCKETS_MS, LEDGER_KIND, ModelRef, ModelVersionRegistered, PREDICATE_TYPE_PREFIX,
    PartyRegistered, PartyStatement, Predicate, RecognitionPublished, RestrictedRead, Role,
    SEV_SNP, TokenCounts, UPSTREAM_MAX, Upstream, UpstreamKind, UsageRecorded, VersionApproved,
    VersionRevoked,
};
pub use state::{
    Change, ContractRecord, ContractVersion, Endpoint, KeyRecord, KeyStatus, Party,
    RecordedAddendum, State, StateRow,
};
