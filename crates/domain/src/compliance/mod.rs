//! Compliance across regimes: each regime's requirements as a versioned catalog shipped with
//! the binary (`catalogs/*.toml`: the sources' own ids, summaries in Concordat's words, the
//! version and source of each), a crosswalk from what the ledger records to those requirements
//! (and between catalogs) in the shape of OSCAL's mapping model, and the coverage of one
//! contract: per requirement met (by which module or entries), a gap (what is missing, in
//! words) or not applicable (why).

mod coverage;
mod facts;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use coverage::{Coverage, Proof, Row, Status, coverage};
pub use facts::Where;
pub use facts::{Fact, facts};

/// One catalog: a regime's or framework's requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub id: String,
    pub title: String,
    /// The version of the source this catalog reads.
    pub version: String,
    /// When the source was published, `YYYY-MM-DD`.
    pub published: String,
    pub source: String,
    pub items: Vec<Item>,
}

/// One item of a catalog: a group (function, category, pillar) or a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The source's own id (`GOVERN 1.1`, `Art. 73`), or Concordat's where it has none.
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it asks, in Concordat's words.
    pub text: String,
    /// Whom it binds (`provider-high-risk`, `deployer-high-risk`, `provider-gpai`, …); anyone
    /// when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
    /// `YYYY-MM-DD` it applies from, if not from publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<String>,
    /// Where in the source it is, when the id does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The item of another catalog it sits under, `CATALOG/ID`: a NIST AI 600-1 action under
    /// its AI RMF subcategory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under: Option<String>,
    /// The risks of this catalog it addresses, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// The kinds of item an engagement answers for; the others group them.
const REQUIREMENT_KINDS: [&str; 6] = [
    "subcategory",
    "risk",
    "obligation",
    "expectation",
    "principle",
    "requirement",
];

impl Item {
    pub fn is_requirement(&self) -> bool {
        REQUIREMENT_KINDS.contains(&self.kind.as_str())
    }
}

impl Catalog {
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The items an engagement answers for, in the catalog's order.
    pub fn requirements(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_requirement())
    }

    pub fn count(&self, kind: &str) -> usize {
        self.items.iter().filter(|i| i.kind == kind).count()
    }
}

/// How a source's scope relates to its target's (OSCAL's mapping relationships).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relationship {
    Equivalent,
    Subset,
    Superset,
    Intersects,
}

impl Relationship {
    pub fn name(self) -> &'static str {
        match self {
            Relationship::Equivalent => "equivalent",
            Relationship::Subset => "subset",
            Relationship::Superset => "superset",
            Relationship::Intersects => "intersects",
        }
    }
}

/// One map of the crosswalk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Map {
    /// A ledger fact (`module:rollback`, `entry:usage-recorded`, …) or `CATALOG/ITEM`.
    pub source: String,
    /// `CATALOG/ITEM`.
    pub target: String,
    pub relationship: Relationship,
    pub rationale: String,
}

/// The crosswalk, versioned like the catalogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crosswalk {
    pub id: String,
    pub version: String,
    pub maps: Vec<Map>,
}

impl Crosswalk {
    /// The maps onto `catalog`'s item `id`.
    pub fn onto<'a>(&'a self, catalog: &'a str, id: &'a str) -> impl Iterator<Item = &'a Map> {
        self.maps.iter().filter(move |m| {
            m.target
                .split_once('/')
                .is_some_and(|(c, i)| c == catalog && i == id)
        })
    }
}

const CATALOGS: [(&str, &str); 6] = [
    (
        "nist-ai-rmf.toml",
        include_str!("../../catalogs/nist-ai-rmf.toml"),
    ),
    (
        "nist-ai-600-1.toml",
        include_str!("../../catalogs/nist-ai-600-1.toml"),
    ),
    (
        "eu-ai-act.toml",
        include_str!("../../catalogs/eu-ai-act.toml"),
    ),
    ("uk-aisi.toml", include_str!("../../catalogs/uk-aisi.toml")),
    (
        "india-ai-governance.toml",
        include_str!("../../catalogs/india-ai-governance.toml"),
    ),
    ("us-omb.toml", include_str!("../../catalogs/us-omb.toml")),
];

/// Every catalog, read once from the data shipped with the binary and checked: ids unique,
/// parents known, dates well formed.
pub fn catalogs() -> Result<&'static [Catalog], String> {
    static READ: OnceLock<Result<Vec<Catalog>, String>> = OnceLock::new();
    READ.get_or_init(|| {
        CATALOGS
            .iter()
            .map(|(file, text)| {
                let catalog: Catalog =
                    toml::from_str(text).map_err(|e| format!("catalogs/{file}: {e}"))?;
                check(&catalog).map_err(|e| format!("catalogs/{file}: {e}"))?;
                Ok(catalog)
            })
            .collect::<Result<Vec<Catalog>, String>>()
            .and_then(|all| check_across(&all).map(|()| all))
    })
    .as_deref()
    .map_err(Clone::clone)
}

fn check(catalog: &Catalog) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    crate::updates::time::parse_day("published", &catalog.published)?;
    for item in &catalog.items {
        if !seen.insert(item.id.as_str()) {
            return Err(format!("item `{}` appears twice", item.id));
        }
        if let Some(parent) = &item.parent
            && !seen.contains(parent.as_str())
        {
            return Err(format!(
                "item `{}`: parent `{parent}` is not before it",
                item.id
            ));
        }
        for risk in &item.addresses {
            if !catalog
                .items
                .iter()
                .any(|i| &i.id == risk && i.kind == "risk")
            {
                return Err(format!(
                    "item `{}` addresses `{risk}`, which is no risk of this catalog",
                    item.id
                ));
            }
        }
        if let Some(day) = &item.applies_from {
            crate::updates::time::parse_day("applies_from", day)
                .map_err(|e| format!("item `{}`: {e}", item.id))?;
        }
    }
    Ok(())
}

/// Every item that sits under another catalog's item names one that exists.
fn check_across(all: &[Catalog]) -> Result<(), String> {
    for catalog in all {
        for item in &catalog.items {
            let Some(under) = &item.under else { continue };
            let known = under.split_once('/').is_some_and(|(other, id)| {
                all.iter()
                    .any(|c| c.id == other && c.id != catalog.id && c.item(id).is_some())
            });
            if !known {
                return Err(format!(
                    "catalogs/{}.toml: item `{}` is under `{under}`, which names no item of another catalog",
                    catalog.id, item.id
                ));
            }
        }
    }
    Ok(())
}

pub fn catalog(id: &str) -> Option<&'static Catalog> {
    catalogs().ok()?.iter().find(|c| c.id == id)
}

/// The crosswalk, read once and checked: every target, and every catalog source, names an
/// item that exists; every ledger source is one the coverage knows.
pub fn crosswalk() -> Result<&'static Crosswalk, String> {
    static READ: OnceLock<Result<Crosswalk, String>> = OnceLock::new();
    READ.get_or_init(|| {
        let crosswalk: Crosswalk = toml::from_str(include_str!("../../catalogs/crosswalk.toml"))
            .map_err(|e| format!("catalogs/crosswalk.toml: {e}"))?;
        for map in &crosswalk.maps {
            for end in [&map.source, &map.target] {
                if Fact::parse(end).is_some() && end == &map.source {
                    continue;
                }
                let known = end
                    .split_once('/')
                    .and_then(|(c, i)| catalog(c).and_then(|c| c.item(i)))
                    .is_some();
                if !known {
                    return Err(format!(
                        "catalogs/crosswalk.toml: `{end}` names no catalog item or ledger fact"
                    ));
                }
            }
        }
        Ok(crosswalk)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The catalogs a report reads, each with the prefix of the items it keeps: those named (a
/// regime of a contract, `eu-ai-act`, `us-omb-m-25-21`…, or a catalog, `nist-ai-rmf`,
/// `nist-ai-600-1`…), or by default the NIST AI RMF and every regime the contract names.
pub fn selection(
    named: &[String],
    contract_regimes: &[crate::contract::Regime],
) -> Result<Vec<(&'static str, Option<&'static str>)>, String> {
    let mut chosen: Vec<(&'static str, Option<&'static str>)> = Vec::new();
    let mut push = |entry: (&'static str, Option<&'static str>)| {
        if !chosen.contains(&entry) {
            chosen.push(entry);
        }
    };
    if named.is_empty() {
        push(("nist-ai-rmf", None));
        for regime in contract_regimes {
            push(catalog_of(*regime));
        }
    }
    for name in named {
        let regime: Option<crate::contract::Regime> =
            serde_json::from_value(serde_json::Value::String(name.clone())).ok();
        match (regime, catalogs()?.iter().find(|c| &c.id == name)) {
            (Some(regime), _) => push(catalog_of(regime)),
            (None, Some(catalog)) => push((catalog.id.as_str(), None)),
            (None, None) => {
                let known: Vec<&str> = catalogs()?.iter().map(|c| c.id.as_str()).collect();
                return Err(format!(
                    "no regime or catalog `{name}`: name a regime (eu-ai-act, us-omb-m-25-21, us-omb-m-25-22, uk, india) or a catalog ({})",
                    known.join(", ")
                ));
            }
        }
    }
    Ok(chosen)
}

/// The catalog a regime the contract names is read against.
pub fn catalog_of(regime: crate::contract::Regime) -> (&'static str, Option<&'static str>) {
    use crate::contract::Regime;
    match regime {
        Regime::EuAiAct => ("eu-ai-act", None),
        Regime::UsOmbM2521 => ("us-omb", Some("m-25-21/")),
        Regime::UsOmbM2522 => ("us-omb", Some("m-25-22/")),
        Regime::Uk => ("uk-aisi", None),
        Regime::India => ("india-ai-governance", None),
    }
}
