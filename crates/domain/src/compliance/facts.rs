//! The facts the crosswalk maps from: what the ledger records about one contract — its named
//! regimes, its modules and their fields, the entries about it, the assurance of the evidence
//! behind its versions — each with the proof a reader can follow.

use crate::contract::Package;
use crate::state::State;
use crate::updates::DeploymentAction;

/// A fact about a contract that the ledger can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The contract names the regimes it must meet.
    Regimes,
    /// The contract has a module of this kind (and, with a field, the field is set).
    Module { kind: String, field: Option<String> },
    /// The ledger holds an entry of this kind about the contract.
    Entry { kind: String },
    /// Evidence of this assurance about a version offered under the contract.
    Evidence { assurance: String },
}

/// Where a fact is shown: a file of the contract, or an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Where {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
}

impl Fact {
    pub fn parse(text: &str) -> Option<Fact> {
        let (scheme, rest) = text.split_once(':')?;
        match scheme {
            "contract" if rest == "regimes" => Some(Fact::Regimes),
            "module" => {
                let (kind, field) = match rest.split_once('.') {
                    Some((kind, field)) => (kind, Some(field.to_owned())),
                    None => (rest, None),
                };
                crate::contract::MODULE_KINDS
                    .iter()
                    .any(|(k, _)| *k == kind)
                    .then(|| Fact::Module {
                        kind: kind.to_owned(),
                        field,
                    })
            }
            "entry" => crate::Kind::from_name(rest).map(|_| Fact::Entry {
                kind: rest.to_owned(),
            }),
            "evidence" if ["self-attested", "third-party", "reproduced"].contains(&rest) => {
                Some(Fact::Evidence {
                    assurance: rest.to_owned(),
                })
            }
            _ => None,
        }
    }

    /// What the fact is, in words: what a gap lacks.
    pub fn words(&self) -> String {
        match self {
            Fact::Regimes => {
                "the regimes the contract must meet, named in contract.toml".to_owned()
            }
            Fact::Module { kind, field: None } => format!("a `{kind}` module"),
            Fact::Module {
                kind,
                field: Some(field),
            } => format!("`{field}` set in the `{kind}` module"),
            Fact::Entry { kind } => format!("a `{kind}` entry"),
            Fact::Evidence { assurance } => format!("{assurance} evidence about a version"),
        }
    }
}

/// Whether `fact` holds for `contract`, and where it is shown; `None` when it does not.
pub fn facts(state: &State, contract: &str, fact: &Fact) -> Option<Vec<Where>> {
    let package = state.package(contract)?;
    let shown = match fact {
        Fact::Regimes => {
            if !package.contract.regimes.is_empty() {
                vec![file(crate::contract::CONTRACT_FILE)]
            } else {
                Default::default()
            }
        }
        Fact::Module { kind, field } => module(package, kind, field.as_deref()),
        Fact::Entry { kind } => entries(state, contract, kind)
            .into_iter()
            .map(|entry| Where {
                file: None,
                entry: Some(entry),
            })
            .collect(),
        Fact::Evidence { assurance } => state
            .models()
            .filter(|m| m.offers.contains_key(contract))
            .flat_map(|m| state.evidence_for(&m.key()).iter())
            .filter(|e| e.assurance.name() == assurance)
            .map(|e| Where {
                file: None,
                entry: Some(e.entry),
            })
            .collect(),
    };
    (!shown.is_empty()).then_some(shown)
}

fn file(path: &str) -> Where {
    Where {
        file: Some(path.to_owned()),
        entry: None,
    }
}

/// The module's file when the package has one of `kind` (whose `field`, if named, is set).
fn module(package: &Package, kind: &str, field: Option<&str>) -> Vec<Where> {
    package
        .modules
        .iter()
        .filter(|m| m.header.kind == kind)
        .filter(|m| {
            let Some(field) = field else { return true };
            let table: Option<toml::Table> = package.source(&m.path).and_then(|t| t.parse().ok());
            table
                .and_then(|t| t.get(field).cloned())
                .is_some_and(|v| match v {
                    toml::Value::Boolean(b) => b,
                    toml::Value::String(s) => !s.is_empty(),
                    toml::Value::Integer(i) => i != 0,
                    toml::Value::Float(f) => f != 0.0,
                    toml::Value::Array(a) => !a.is_empty(),
                    toml::Value::Table(t) => !t.is_empty(),
                    toml::Value::Datetime(_) => true,
                })
        })
        .map(|m| file(&m.path))
        .collect()
}

/// The entries of `kind` about `contract`, as the state knows them.
fn entries(state: &State, contract: &str, kind: &str) -> Vec<u64> {
    let record = state.contract(contract);
    let offers = || {
        state
            .models()
            .filter_map(move |m| m.offers.get(contract).map(|o| (m, o)))
    };
    let deployments = || state.deployments().filter(|d| d.contract == contract);
    let steps = |action: DeploymentAction| -> Vec<u64> {
        deployments()
            .flat_map(|d| d.events.iter())
            .filter(|e| e.action == action)
            .map(|e| e.entry)
            .collect()
    };
    let incidents = || state.incidents(Some(contract));
    match kind {
        "contract-published" => record
            .iter()
            .flat_map(|r| r.versions.first())
            .map(|v| v.entry)
            .collect(),
        "contract-amended" => record
            .iter()
            .flat_map(|r| r.versions.iter().skip(1))
            .map(|v| v.entry)
            .collect(),
        "model-version-registered" => offers().map(|(_, o)| o.entry).collect(),
        "evidence-recorded" => offers()
            .flat_map(|(m, _)| state.evidence_for(&m.key()).iter())
            .map(|e| e.entry)
            .collect(),
        "version-approved" => offers()
            .flat_map(|(_, o)| o.approvals.iter())
            .map(|a| a.entry)
            .collect(),
        "hosting-attested" => state
            .attestations()
            .filter(|a| a.contract == contract)
            .map(|a| a.entry)
            .collect(),
        "deployment-activated" => steps(DeploymentAction::Activated),
        "deployment-rolled-back" => steps(DeploymentAction::RolledBack),
        "usage-recorded" => state.usage(Some(contract)).map(|b| b.entry).collect(),
        "incident-reported" => incidents()
            .flat_map(|i| i.reports.iter())
            .map(|r| r.entry)
            .collect(),
        "incident-notified" => incidents()
            .flat_map(|i| i.notices.iter())
            .map(|n| n.entry)
            .collect(),
        "incident-closed" => incidents()
            .filter_map(|i| i.closed.as_ref())
            .map(|c| c.entry)
            .collect(),
        "liability-found" => incidents()
            .filter_map(|i| i.finding.as_ref())
            .map(|f| f.entry)
            .collect(),
        "designation-issued" => {
            let jurisdictions = state
                .package(contract)
                .map(|p| p.contract.jurisdictions.clone())
                .unwrap_or_default();
            state
                .designations()
                .filter(|d| d.scope.iter().any(|j| jurisdictions.contains(j)))
                .map(|d| d.entry)
                .collect()
        }
        _ => Vec::new(),
    }
}
