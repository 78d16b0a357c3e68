//! The prohibition proof: every request of a finite space is decided, and each one a
//! mandatory prohibition says must be denied but the policies allow is a counterexample.

use serde::Serialize;

use crate::decide::{Request, Resource};
use crate::load::Policies;
use crate::{CLASSIFICATIONS, PolicyError};

/// A prohibition every contract must enforce, whatever it says elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Prohibition {
    pub id: &'static str,
    pub description: &'static str,
    pub applies: fn(&Request) -> bool,
}

/// The mandatory prohibitions.
pub const PROHIBITIONS: [Prohibition; 2] = [
    Prohibition {
        id: "no-domestic-surveillance",
        description: "surveillance of the contracting state's own population",
        applies: |r| r.purpose == "surveillance" && r.target_domain == "domestic",
    },
    Prohibition {
        id: "no-lethal-targeting-without-human",
        description: "lethal-force targeting without a human in the loop",
        applies: |r| r.purpose == "lethal-targeting" && !r.human_in_the_loop,
    },
];

/// The finite space of requests the proof covers.
#[derive(Debug, Clone)]
pub struct RequestSpace {
    pub purposes: Vec<String>,
    pub roles: Vec<String>,
}

impl Default for RequestSpace {
    fn default() -> RequestSpace {
        RequestSpace {
            purposes: [
                "imagery-analysis",
                "translation",
                "logistics",
                "benefits-eligibility",
                "border-screening",
                "health-resource-allocation",
                "cyber-defense",
                "research",
                "surveillance",
                "lethal-targeting",
            ]
            .map(str::to_owned)
            .to_vec(),
            roles: [
                "analyst",
                "operator",
                "commander",
                "case-worker",
                "administrator",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl RequestSpace {
    /// The space for `policies`: with the purposes their contract declares (any other is
    /// refused, so these are all there are) and the prohibited ones; the default otherwise.
    pub fn for_policies(policies: &Policies) -> RequestSpace {
        let mut space = RequestSpace::default();
        if let Some(declared) = policies.purposes() {
            let mut purposes: Vec<String> = declared.iter().cloned().collect();
            for prohibited in ["surveillance", "lethal-targeting"] {
                if !purposes.iter().any(|p| p == prohibited) {
                    purposes.push(prohibited.to_owned());
                }
            }
            space.purposes = purposes;
        }
        space
    }
}

/// A request the policies allow though a prohibition forbids it.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub prohibition: &'static str,
    pub description: &'static str,
    pub request: Request,
    /// The permits that allowed it.
    pub clauses: Vec<String>,
}

/// Clause ids as a message cites them: `a`, `b`.
pub(crate) fn cited(clauses: &[String]) -> String {
    clauses
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Counterexample {
    /// What is permitted, by which clauses, for which request, in words.
    pub fn message(&self) -> String {
        let request = &self.request;
        format!(
            "{} is permitted (by {}): purpose={}, target_domain={}, human_in_the_loop={}, data_classification={}, role={}, clearance={}",
            self.description,
            cited(&self.clauses),
            request.purpose,
            request.target_domain,
            request.human_in_the_loop,
            request.data_classification,
            request.role,
            request.clearance
        )
    }
}

/// What a contract lets its users do for one purpose, found by deciding every request of the
/// space with that purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeUse {
    pub purpose: String,
    /// A purpose a mandatory prohibition speaks of (surveillance, lethal targeting).
    pub sensitive: bool,
    /// The permits that allow some request for it; empty when it is never allowed.
    pub permitted_by: Vec<String>,
    /// The forbids that refuse some request for it the permits would allow.
    pub restricted_by: Vec<String>,
}

/// Each purpose of `space` and what the policies make of it.
pub fn purposes(policies: &Policies, space: &RequestSpace) -> Result<Vec<PurposeUse>, PolicyError> {
    let mut uses = Vec::new();
    for purpose in &space.purposes {
        let mut permitted_by = std::collections::BTreeSet::new();
        let mut restricted_by = std::collections::BTreeSet::new();
        for request in requests(space, purpose) {
            let decision = policies.decide(&request)?;
            if decision.allowed {
                permitted_by.extend(decision.clauses);
            } else {
                restricted_by.extend(decision.clauses);
            }
        }
        uses.push(PurposeUse {
            purpose: purpose.clone(),
            sensitive: PROHIBITIONS.iter().any(|p| {
                (p.applies)(&Request {
                    purpose: purpose.clone(),
                    human_in_the_loop: false,
                    target_domain: "domestic".to_owned(),
                    ..template(purpose)
                })
            }),
            permitted_by: permitted_by.into_iter().collect(),
            restricted_by: restricted_by.into_iter().collect(),
        });
    }
    Ok(uses)
}

fn template(purpose: &str) -> Request {
    Request {
        user: "someone".to_owned(),
        agency: "agency".to_owned(),
        role: String::new(),
        clearance: String::new(),
        resource: Resource::Deployment {
            id: "deployment".to_owned(),
        },
        purpose: purpose.to_owned(),
        data_classification: String::new(),
        human_in_the_loop: false,
        target_domain: String::new(),
    }
}

/// Every request of the space for one purpose.
fn requests<'a>(space: &'a RequestSpace, purpose: &'a str) -> impl Iterator<Item = Request> + 'a {
    CLASSIFICATIONS.into_iter().flat_map(move |classification| {
        [false, true]
            .into_iter()
            .flat_map(move |human_in_the_loop| {
                ["domestic", "foreign"]
                    .into_iter()
                    .flat_map(move |target_domain| {
                        space.roles.iter().flat_map(move |role| {
                            CLASSIFICATIONS.into_iter().map(move |clearance| Request {
                                role: role.clone(),
                                clearance: clearance.to_owned(),
                                data_classification: classification.to_owned(),
                                human_in_the_loop,
                                target_domain: target_domain.to_owned(),
                                ..template(purpose)
                            })
                        })
                    })
            })
    })
}

/// Decides every request of purposes × classifications × human in the loop × target domains ×
/// roles × clearances, and returns the first counterexample to each prohibition.
pub fn prove(
    policies: &Policies,
    space: &RequestSpace,
) -> Result<Vec<Counterexample>, PolicyError> {
    let mut found: Vec<Counterexample> = Vec::new();
    for purpose in &space.purposes {
        for request in requests(space, purpose) {
            let violated: Vec<&Prohibition> = PROHIBITIONS
                .iter()
                .filter(|p| (p.applies)(&request))
                .filter(|p| !found.iter().any(|c| c.prohibition == p.id))
                .collect();
            if violated.is_empty() {
                continue;
            }
            let decision = policies.decide(&request)?;
            if decision.allowed {
                for prohibition in violated {
                    found.push(Counterexample {
                        prohibition: prohibition.id,
                        description: prohibition.description,
                        request: request.clone(),
                        clauses: decision.clauses.clone(),
                    });
                }
            }
        }
    }
    Ok(found)
}
