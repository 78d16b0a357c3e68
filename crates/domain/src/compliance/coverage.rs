//! A contract's coverage of one catalog: each requirement met (by which facts, with the
//! crosswalk's relationship and the files or entries that show them), a gap (what is missing,
//! in words), or not applicable (why).

use serde::{Deserialize, Serialize};

use super::facts::{Fact, Where, facts};
use super::{Relationship, catalog, crosswalk};
use crate::state::State;
use crate::updates::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    Gap,
    NotApplicable,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Gap => "gap",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// A fact that meets a requirement, and where it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The crosswalk's source: `module:rollback`, `entry:usage-recorded`, …
    pub source: String,
    pub words: String,
    pub relationship: Relationship,
    pub rationale: String,
    pub shown: Vec<Where>,
}

/// One requirement of the catalog, for the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met_by: Vec<Proof>,
    /// For a gap: what would close it, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// For a requirement that does not apply: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The coverage of one catalog by one contract, at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub contract: String,
    pub catalog: String,
    pub title: String,
    pub catalog_version: String,
    pub source: String,
    pub crosswalk_version: String,
    /// RFC 3339.
    pub at: String,
    pub rows: Vec<Row>,
}

impl Coverage {
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// Whom an item binds that the ledger cannot show an engagement is: why it does not apply.
fn outside(applies_to: &[String]) -> Option<&'static str> {
    if !applies_to.is_empty() && applies_to.iter().all(|a| a == "provider-gpai-systemic") {
        return Some(
            "it binds providers of general-purpose models designated as having systemic risk, and no entry records such a designation of this model",
        );
    }
    None
}

/// The coverage of `catalog_id` (only the items whose ids start with `prefix`, if given) by
/// `contract` at `at` (unix seconds).
pub fn coverage(
    state: &State,
    contract: &str,
    catalog_id: &str,
    prefix: Option<&str>,
    at: i64,
) -> Result<Coverage, String> {
    let catalog = catalog(catalog_id).ok_or_else(|| format!("no catalog `{catalog_id}`"))?;
    let crosswalk = crosswalk()?;
    if state.package(contract).is_none() {
        return Err(format!("contract `{contract}` is not published"));
    }
    let mut rows = Vec::new();
    for item in catalog
        .requirements()
        .filter(|i| prefix.is_none_or(|p| i.id.starts_with(p)))
    {
        let mut row = Row {
            id: item.id.clone(),
            title: item.title.clone(),
            text: item.text.clone(),
            status: Status::Gap,
            met_by: Vec::new(),
            missing: Vec::new(),
            why: None,
        };
        let from = item
            .applies_from
            .as_deref()
            .and_then(|d| time::parse_day("applies_from", d).ok());
        if let Some(from) = from.filter(|from| *from > at) {
            row.status = Status::NotApplicable;
            row.why = Some(format!("it applies from {}", time::format_day(from)));
        } else if let Some(why) = outside(&item.applies_to) {
            row.status = Status::NotApplicable;
            row.why = Some(why.to_owned());
        } else {
            for map in crosswalk.onto(&catalog.id, &item.id) {
                let Some(fact) = Fact::parse(&map.source) else {
                    continue;
                };
                match facts(state, contract, &fact) {
                    Some(shown) => row.met_by.push(Proof {
                        source: map.source.clone(),
                        words: fact.words(),
                        relationship: map.relationship,
                        rationale: map.rationale.clone(),
                        shown,
                    }),
                    None => row.missing.push(fact.words()),
                }
            }
            if row.met_by.is_empty() {
                if row.missing.is_empty() {
                    row.missing.push(
                        "nothing the ledger records answers this: it has to be shown outside Concordat"
                            .to_owned(),
                    );
                }
            } else {
                row.status = Status::Met;
                row.missing.clear();
            }
        }
        rows.push(row);
    }
    Ok(Coverage {
        contract: contract.to_owned(),
        catalog: catalog.id.clone(),
        title: catalog.title.clone(),
        catalog_version: catalog.version.clone(),
        source: catalog.source.clone(),
        crosswalk_version: crosswalk.version.clone(),
        at: time::format_instant(at),
        rows,
    })
}
