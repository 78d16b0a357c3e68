//! Decisions: a request in Concordat's terms, answered with the clauses behind the answer.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Request as CedarRequest, RestrictedExpression,
};
use serde::{Deserialize, Serialize};

use crate::load::{Policies, schema};
use crate::{PolicyError, classification_level};

/// What a request is made against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Resource {
    Deployment { id: String },
    ModelVersion { id: String, deployment: String },
}

/// A request to invoke a model, in Concordat's terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub user: String,
    pub agency: String,
    pub role: String,
    /// The user's clearance: public, cui, confidential, secret or top-secret.
    pub clearance: String,
    pub resource: Resource,
    pub purpose: String,
    /// The classification of the data in the request.
    pub data_classification: String,
    pub human_in_the_loop: bool,
    /// `domestic` or `foreign`.
    pub target_domain: String,
}

/// The answer, and the clauses that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The clause ids of the policies that decided: the permits that allowed, or the forbids
    /// that denied. Empty when nothing permits (default deny).
    pub clauses: Vec<String>,
    /// Policies that could not be evaluated for this request.
    pub errors: Vec<String>,
}

/// The schema's entity types, parsed once: parsing them is a good part of a decision's cost.
struct Types {
    agency: EntityTypeName,
    user: EntityTypeName,
    deployment: EntityTypeName,
    model_version: EntityTypeName,
    action: EntityUid,
}

fn types() -> Result<&'static Types, PolicyError> {
    static TYPES: OnceLock<Option<Types>> = OnceLock::new();
    let parse =
        |name: &str| -> Option<EntityTypeName> { format!("Concordat::{name}").parse().ok() };
    TYPES
        .get_or_init(|| {
            Some(Types {
                agency: parse("Agency")?,
                user: parse("User")?,
                deployment: parse("Deployment")?,
                model_version: parse("ModelVersion")?,
                action: EntityUid::from_type_name_and_id(parse("Action")?, EntityId::new("invoke")),
            })
        })
        .as_ref()
        .ok_or_else(|| PolicyError::Request {
            field: "type".to_owned(),
            reason: "Concordat's entity types do not parse".to_owned(),
        })
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

fn level(field: &str, name: &str) -> Result<i64, PolicyError> {
    classification_level(name).ok_or_else(|| PolicyError::Request {
        field: field.to_owned(),
        reason: format!(
            "`{name}` is not a classification (public, cui, confidential, secret, top-secret)"
        ),
    })
}

impl Request {
    /// Checks the request and its entities against the schema. Decisions skip this (requests
    /// are built to the schema's shape, and policies were validated strictly when loaded);
    /// tests and `policy eval` run it.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.build(true).map(|_| ())
    }

    fn to_cedar(&self) -> Result<(CedarRequest, Entities), PolicyError> {
        self.build(false)
    }

    fn build(&self, validate: bool) -> Result<(CedarRequest, Entities), PolicyError> {
        let schema = validate.then(schema);
        if !matches!(self.target_domain.as_str(), "domestic" | "foreign") {
            return Err(PolicyError::Request {
                field: "target_domain".to_owned(),
                reason: format!(
                    "`{}` is neither `domestic` nor `foreign`",
                    self.target_domain
                ),
            });
        }
        let clearance_level = level("clearance", &self.clearance)?;
        let data_level = level("data_classification", &self.data_classification)?;
        let types = types()?;
        let agency = uid(&types.agency, &self.agency);
        let principal = uid(&types.user, &self.user);
        let user = Entity::new(
            principal.clone(),
            HashMap::from([
                (
                    "role".to_owned(),
                    RestrictedExpression::new_string(self.role.clone()),
                ),
                (
                    "clearance".to_owned(),
                    RestrictedExpression::new_string(self.clearance.clone()),
                ),
                (
                    "clearance_level".to_owned(),
                    RestrictedExpression::new_long(clearance_level),
                ),
            ]),
            HashSet::from([agency.clone()]),
        )
        .map_err(|e| PolicyError::Request {
            field: "user".to_owned(),
            reason: e.to_string(),
        })?;
        let mut entities = vec![user, Entity::new_no_attrs(agency, HashSet::new())];
        let resource = match &self.resource {
            Resource::Deployment { id } => {
                let resource = uid(&types.deployment, id);
                entities.push(Entity::new_no_attrs(resource.clone(), HashSet::new()));
                resource
            }
            Resource::ModelVersion { id, deployment } => {
                let deployment = uid(&types.deployment, deployment);
                let resource = uid(&types.model_version, id);
                entities.push(Entity::new_no_attrs(
                    resource.clone(),
                    HashSet::from([deployment.clone()]),
                ));
                entities.push(Entity::new_no_attrs(deployment, HashSet::new()));
                resource
            }
        };
        let context = Context::from_pairs([
            (
                "purpose".to_owned(),
                RestrictedExpression::new_string(self.purpose.clone()),
            ),
            (
                "data_classification".to_owned(),
                RestrictedExpression::new_string(self.data_classification.clone()),
            ),
            (
                "classification_level".to_owned(),
                RestrictedExpression::new_long(data_level),
            ),
            (
                "human_in_the_loop".to_owned(),
                RestrictedExpression::new_bool(self.human_in_the_loop),
            ),
            (
                "target_domain".to_owned(),
                RestrictedExpression::new_string(self.target_domain.clone()),
            ),
        ])
        .map_err(|e| PolicyError::Request {
            field: "context".to_owned(),
            reason: e.to_string(),
        })?;
        let request = CedarRequest::new(principal, types.action.clone(), resource, context, schema)
            .map_err(|e| PolicyError::Request {
                field: "request".to_owned(),
                reason: e.to_string(),
            })?;
        let entities =
            Entities::from_entities(entities, schema).map_err(|e| PolicyError::Request {
                field: "entities".to_owned(),
                reason: e.to_string(),
            })?;
        Ok((request, entities))
    }
}

impl Policies {
    /// Decides a request: `forbid` wins, and nothing is allowed that no `permit` allows.
    pub fn decide(&self, request: &Request) -> Result<Decision, PolicyError> {
        let purpose = request.purpose.as_str();
        let (request, entities) = request.to_cedar()?;
        let response = Authorizer::new().is_authorized(&request, &self.set, &entities);
        let mut clauses: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        clauses.sort();
        let allowed = response.decision() == CedarDecision::Allow;
        // A permit reaches no further than the purposes the contract declares.
        if allowed && self.purposes.as_ref().is_some_and(|p| !p.contains(purpose)) {
            return Ok(Decision {
                allowed: false,
                clauses: vec![crate::load::PURPOSE_VOCABULARY.to_owned()],
                errors: Vec::new(),
            });
        }
        Ok(Decision {
            allowed,
            clauses,
            errors: response
                .diagnostics()
                .errors()
                .map(ToString::to_string)
                .collect(),
        })
    }
}
