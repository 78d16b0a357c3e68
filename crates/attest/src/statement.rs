//! in-toto Statement v1: `{"_type","subject":[{"name","digest"}],"predicateType","predicate"}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// What a statement is about: a name and its digests (algorithm → lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

/// Why a payload is not an in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("statement is not valid: {0}")]
    Json(String),
    #[error("statement field `_type` is `{0}`, expected `{STATEMENT_TYPE}`")]
    Type(String),
    #[error("statement field `subject` must name at least one subject")]
    NoSubject,
    #[error(
        "statement field `subject[{index}].digest` must hold at least one digest, in lowercase hex"
    )]
    Digest { index: usize },
}

impl Statement {
    pub fn new(
        subject: Vec<Subject>,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            type_: STATEMENT_TYPE.to_owned(),
            subject,
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// Parses and checks a Statement, naming the field that is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Statement, StatementError> {
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Json(e.to_string()))?;
        if statement.type_ != STATEMENT_TYPE {
            return Err(StatementError::Type(statement.type_));
        }
        if statement.subject.is_empty() {
            return Err(StatementError::NoSubject);
        }
        for (index, subject) in statement.subject.iter().enumerate() {
            let valid = !subject.digest.is_empty()
                && subject.digest.values().all(|hex| {
                    !hex.is_empty()
                        && hex
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                });
            if !valid {
                return Err(StatementError::Digest { index });
            }
        }
        Ok(statement)
    }

    /// The exact payload bytes to sign: compact JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
