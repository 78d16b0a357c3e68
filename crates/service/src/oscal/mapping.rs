//! The crosswalk as OSCAL: Concordat's records (the facts it maps from) as a catalog of their
//! own, and a mapping collection with one mapping per pair of catalogs, each map the
//! crosswalk's relationship in the set-theory terms of NIST IR 8477 and its rationale.

use std::collections::BTreeMap;

use domain::compliance::{Crosswalk, Fact, Relationship};
use serde_json::{Value, json};

use super::{metadata, token};
use crate::build::name_uuid;

/// The id of the catalog of Concordat's records.
pub const RECORDS: &str = "concordat-records";

/// A crosswalk end as (catalog, item): `eu-ai-act/Art. 9` → (`eu-ai-act`, `Art. 9`); a fact
/// about the ledger → ([`RECORDS`], the fact as written).
fn end(text: &str) -> (&str, &str) {
    match Fact::parse(text) {
        Some(_) => (RECORDS, text),
        None => text.split_once('/').unwrap_or((RECORDS, text)),
    }
}

/// The facts the crosswalk maps from, as an OSCAL catalog grouped by what they are about.
pub fn records_catalog(crosswalk: &Crosswalk, at: i64) -> Value {
    let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for map in &crosswalk.maps {
        let Some(fact) = Fact::parse(&map.source) else {
            continue;
        };
        if !seen.insert(map.source.as_str()) {
            continue;
        }
        let (scheme, _) = map.source.split_once(':').unwrap_or(("contract", ""));
        let words = fact.words().replace('`', "");
        groups.entry(scheme).or_default().push(json!({
            "id": token(&map.source),
            "class": "ledger-fact",
            "title": words,
            "props": [{"name": "label", "value": map.source}],
            "parts": [{"id": format!("{}_smt", token(&map.source)), "name": "statement", "prose": format!("The ledger shows {words}.")}],
        }));
    }
    let titles = [
        ("contract", "What the contract names"),
        ("entry", "Entries about the contract"),
        ("evidence", "Evidence about its versions"),
        ("module", "Its modules and their terms"),
    ];
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(scheme, controls)| {
            let title = titles
                .iter()
                .find(|(s, _)| *s == scheme)
                .map_or(scheme, |(_, t)| t);
            json!({"id": scheme, "class": "ledger-fact-kind", "title": title, "controls": controls})
        })
        .collect();
    json!({"catalog": {
        "uuid": name_uuid(&format!("catalog:{RECORDS}:{}", crosswalk.version)),
        "metadata": metadata("Concordat's records: the facts about a contract the ledger can show", &crosswalk.version, at),
        "groups": groups,
    }})
}

/// The relationship in the words OSCAL's mapping model takes from NIST IR 8477.
fn relationship(r: Relationship) -> &'static str {
    match r {
        Relationship::Equivalent => "equivalent-to",
        Relationship::Subset => "subset-of",
        Relationship::Superset => "superset-of",
        Relationship::Intersects => "intersects-with",
    }
}

/// The crosswalk as an OSCAL mapping collection: one mapping per (source catalog, target
/// catalog), each map relating one source item to one target item.
pub fn mapping_collection(crosswalk: &Crosswalk, at: i64) -> Value {
    let mut pairs: BTreeMap<(&str, &str), Vec<Value>> = BTreeMap::new();
    for map in &crosswalk.maps {
        let (source_catalog, source) = end(&map.source);
        let (target_catalog, target) = end(&map.target);
        pairs
            .entry((source_catalog, target_catalog))
            .or_default()
            .push(json!({
                "uuid": name_uuid(&format!("map:{}:{}:{}", crosswalk.version, map.source, map.target)),
                "relationship": relationship(map.relationship),
                "sources": [{"type": "control", "id-ref": token(source)}],
                "targets": [{"type": "control", "id-ref": token(target)}],
                "remarks": map.rationale.replace('`', ""),
            }));
    }
    let mappings: Vec<Value> = pairs
        .into_iter()
        .map(|((source, target), maps)| {
            json!({
                "uuid": name_uuid(&format!("mapping:{}:{source}:{target}", crosswalk.version)),
                "source-resource": {"type": "catalog", "href": format!("catalogs/{source}.json")},
                "target-resource": {"type": "catalog", "href": format!("catalogs/{target}.json")},
                "maps": maps,
            })
        })
        .collect();
    json!({"mapping-collection": {
        "uuid": name_uuid(&format!("mapping-collection:{}:{}", crosswalk.id, crosswalk.version)),
        "metadata": metadata("Concordat's crosswalk: its records onto the regimes' requirements, and the regimes onto each other", &crosswalk.version, at),
        "provenance": {
            "method": "human",
            "matching-rationale": "semantic",
            "status": "complete",
            "mapping-description": "Each map relates a source to a target by how much of the target's scope the source covers (NIST IR 8477 set-theory relationships), with the reason in its remarks. Sources are facts the ledger can show about a contract (catalogs/concordat-records.json) or a regime's requirement.",
        },
        "mappings": mappings,
    }})
}
