//! A contract's compliance as OSCAL 1.2 JSON, read from the ledger alone so the same log gives
//! the same bytes: each catalog as an OSCAL catalog, a component definition with one component
//! per capability module (the requirements its facts meet), assessment results (the evidence
//! and gate of each model version offered under the contract, and a finding per requirement),
//! a plan of action and milestones (the gaps), a profile and system security plan for the
//! regimes the contract must meet ([`plan`]), and the crosswalk as a mapping collection over
//! a catalog of Concordat's own records ([`mapping`]). Every entry they cite is a back-matter
//! resource with its envelope's address and its inclusion proof.

mod mapping;
mod plan;

use std::collections::{BTreeMap, BTreeSet};

use domain::compliance::{Catalog, Coverage, Fact, Status};
use domain::updates::time;
use serde_json::{Value, json};

use crate::build::name_uuid;

/// The namespace of Concordat's own OSCAL properties.
pub(crate) const NS: &str = "https://concordat.dev/ns/oscal";

/// The OSCAL version the documents are written to.
pub const OSCAL_VERSION: &str = "1.2.1";

/// An item id as an OSCAL token: `GOVERN 1.1` → `govern-1.1`, `Art. 9` → `art-9`.
pub fn token(id: &str) -> String {
    let mut out = String::new();
    for c in id.to_lowercase().replace(". ", "-").chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out
    } else {
        format!("_{out}")
    }
}

pub(crate) fn metadata(title: &str, version: &str, at: i64) -> Value {
    json!({
        "title": title,
        "last-modified": time::format_instant(at),
        "version": version,
        "oscal-version": OSCAL_VERSION,
    })
}

/// Where a catalog comes from, as a back-matter resource linking to its publication.
fn source(c: &Catalog) -> Value {
    let mut resource = json!({
        "uuid": name_uuid(&format!("source:{}", c.id)),
        "title": "Source",
        "citation": {"text": c.source},
    });
    if let Some(url) = c
        .source
        .split([' ', ','])
        .find(|w| w.starts_with("https://"))
    {
        resource["rlinks"] = json!([{"href": url}]);
    }
    resource
}

/// A catalog as an OSCAL catalog: groups for its functions (or kinds), controls for its
/// categories and requirements, each requirement's text as its statement.
pub fn catalog(c: &Catalog, at: i64) -> Value {
    let control = |item: &domain::compliance::Item, children: Vec<Value>| {
        // Its label, where it sits in another catalog, and the risks it addresses.
        let mut props = vec![json!({"name": "label", "value": item.id})];
        props.extend(
            item.under
                .iter()
                .map(|u| json!({"name": "under", "ns": NS, "value": u})),
        );
        props.extend(
            item.addresses
                .iter()
                .map(|r| json!({"name": "addresses", "ns": NS, "value": r})),
        );
        let mut control = json!({
            "id": token(&item.id),
            "class": item.kind,
            "title": item.title.clone().unwrap_or_else(|| item.id.clone()),
            "props": props,
            "parts": [{"id": format!("{}_smt", token(&item.id)), "name": "statement", "prose": item.text}],
        });
        if !children.is_empty() {
            control["controls"] = json!(children);
        }
        control
    };
    let children_of = |parent: &str| -> Vec<&domain::compliance::Item> {
        c.items
            .iter()
            .filter(|i| i.parent.as_deref() == Some(parent))
            .collect()
    };
    let mut groups = Vec::new();
    for top in c.items.iter().filter(|i| i.parent.is_none()) {
        let kids = children_of(&top.id);
        if kids.is_empty() {
            continue;
        }
        let controls: Vec<Value> = kids
            .iter()
            .map(|k| {
                control(
                    k,
                    children_of(&k.id)
                        .iter()
                        .map(|g| control(g, Vec::new()))
                        .collect(),
                )
            })
            .collect();
        groups.push(json!({
            "id": token(&top.id),
            "class": top.kind,
            "title": top.title.clone().unwrap_or_else(|| top.id.clone()),
            "parts": [{"name": "overview", "prose": top.text}],
            "controls": controls,
        }));
    }
    let mut body = json!({
        "uuid": name_uuid(&format!("catalog:{}:{}", c.id, c.version)),
        "metadata": metadata(&c.title, &c.version, at),
        "back-matter": {"resources": [source(c)]},
    });
    let standalone: Vec<Value> = c
        .items
        .iter()
        .filter(|i| i.parent.is_none() && children_of(&i.id).is_empty())
        .map(|i| control(i, Vec::new()))
        .collect();
    if !groups.is_empty() {
        body["groups"] = json!(groups);
    }
    if !standalone.is_empty() {
        body["controls"] = json!(standalone);
    }
    json!({"catalog": body})
}

/// The entries the documents cite, as back-matter resources: each with the address of its
/// envelope and its inclusion proof (base64 of the tlog-proof text) when there is one.
fn resources(entries: &BTreeSet<u64>, proof: &dyn Fn(u64) -> Option<String>) -> Vec<Value> {
    use base64::Engine as _;
    entries
        .iter()
        .map(|entry| {
            let mut resource = json!({
                "uuid": entry_uuid(*entry),
                "title": format!("Ledger entry {entry}"),
                "rlinks": [{"href": format!("/api/entries/{entry}/envelope"), "media-type": "application/json"}],
            });
            if let Some(text) = proof(*entry) {
                resource["base64"] = json!({
                    "filename": format!("entry-{entry}.tlog-proof"),
                    "media-type": "text/plain",
                    "value": base64::engine::general_purpose::STANDARD.encode(text),
                });
            }
            resource
        })
        .collect()
}

fn entry_uuid(entry: u64) -> String {
    name_uuid(&format!("entry:{entry}"))
}

pub(crate) fn links(shown: &[domain::compliance::Where], cited: &mut BTreeSet<u64>) -> Vec<Value> {
    shown
        .iter()
        .filter_map(|w| w.entry)
        .map(|entry| {
            cited.insert(entry);
            json!({"href": format!("#{}", entry_uuid(entry)), "rel": "evidence"})
        })
        .collect()
}

/// One component per capability module of the contract, each implementing the requirements
/// its facts meet, per catalog.
fn component_definition(
    state: &domain::State,
    contract: &str,
    reports: &[Coverage],
    at: i64,
    cited: &mut BTreeSet<u64>,
) -> Value {
    let Some(package) = state.package(contract) else {
        return json!({});
    };
    let mut components = Vec::new();
    for module in &package.modules {
        let capability = domain::contract::MODULE_KINDS
            .iter()
            .any(|(kind, class)| *kind == module.header.kind && *class == "capability");
        if !capability {
            continue;
        }
        let mut implementations = Vec::new();
        for report in reports {
            let mut requirements = Vec::new();
            for row in &report.rows {
                for proof in row.met_by.iter().filter(|p| {
                    matches!(Fact::parse(&p.source), Some(Fact::Module { kind, .. }) if kind == module.header.kind)
                }) {
                    let mut requirement = json!({
                        "uuid": name_uuid(&format!("ir:{contract}:{}:{}:{}", module.header.id, report.catalog, row.id)),
                        "control-id": token(&row.id),
                        "description": format!("{} ({}): {}", proof.words.replace('`', ""), proof.relationship.name(), proof.rationale),
                        "props": [{"name": "relationship", "ns": NS, "value": proof.relationship.name()}],
                    });
                    let found = links(&proof.shown, cited);
                    if !found.is_empty() {
                        requirement["links"] = json!(found);
                    }
                    requirements.push(requirement);
                }
            }
            if !requirements.is_empty() {
                implementations.push(json!({
                    "uuid": name_uuid(&format!("ci:{contract}:{}:{}", module.header.id, report.catalog)),
                    "source": format!("catalogs/{}.json", report.catalog),
                    "description": format!("What the contract's `{}` module meets of {}.", module.header.id, report.title),
                    "implemented-requirements": requirements,
                }));
            }
        }
        let mut component = json!({
            "uuid": name_uuid(&format!("component:{contract}:{}", module.header.id)),
            "type": "service",
            "title": format!("{} ({} {})", module.header.id, module.header.kind, module.header.version),
            "description": format!("The `{}` module of contract `{contract}`: a capability the contract delivers.", module.header.kind),
        });
        if !implementations.is_empty() {
            component["control-implementations"] = json!(implementations);
        }
        components.push(component);
    }
    json!({"component-definition": {
        "uuid": name_uuid(&format!("component-definition:{contract}:{at}")),
        "metadata": metadata(&format!("Capabilities of contract {contract}"), &package.contract.version, at),
        "components": components,
    }})
}

/// The evidence and gate of each version offered under the contract as observations, and each
/// requirement of each catalog as a finding.
// tidy: long function: observations, then findings, then the document around them.
fn assessment_results(
    state: &domain::State,
    contract: &str,
    reports: &[Coverage],
    at: i64,
    cited: &mut BTreeSet<u64>,
) -> Value {
    let mut observations = Vec::new();
    for m in state.models().filter(|m| m.offers.contains_key(contract)) {
        for e in state.evidence_for(&m.key()) {
            cited.insert(e.entry);
            let metrics: Vec<String> = e
                .metrics
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            observations.push(json!({
                "uuid": name_uuid(&format!("obs:evidence:{}", e.entry)),
                "title": format!("{} of {}", e.suite, m.key()),
                "description": format!("{} by {} ({}), produced for {}: {}", e.suite, e.lab, e.assurance.name(), e.produced_for, if metrics.is_empty() { "result sealed".to_owned() } else { metrics.join(", ") }),
                "methods": ["TEST"],
                "collected": time::format_instant(e.evaluated_at),
                "links": [{"href": format!("#{}", entry_uuid(e.entry)), "rel": "evidence"}],
            }));
        }
        if let Ok(gate) = domain::updates::evaluate(state, contract, &m.line, &m.version, at) {
            let unmet: Vec<String> = gate.unmet().map(|r| r.id.clone()).collect();
            let mut observation = json!({
                "uuid": name_uuid(&format!("obs:gate:{contract}:{}", m.key())),
                "title": format!("Gate of {} under {contract}", m.key()),
                "description": if unmet.is_empty() { format!("Every requirement of the gate is met; the version stands {}.", m.offers[contract].status.name()) } else { format!("Unmet: {}; the version stands {}.", unmet.join(", "), m.offers[contract].status.name()) },
                "methods": ["EXAMINE"],
                "collected": time::format_instant(at),
            });
            let by: BTreeSet<u64> = gate
                .requirements
                .iter()
                .flat_map(|r| r.by.iter().copied())
                .collect();
            if !by.is_empty() {
                cited.extend(by.iter().copied());
                observation["links"] = json!(
                    by.iter()
                        .map(|e| json!({"href": format!("#{}", entry_uuid(*e)), "rel": "evidence"}))
                        .collect::<Vec<_>>()
                );
            }
            observations.push(observation);
        }
    }
    let mut findings = Vec::new();
    for report in reports {
        for row in report
            .rows
            .iter()
            .filter(|r| r.status != Status::NotApplicable)
        {
            let state_word = if row.status == Status::Met {
                "satisfied"
            } else {
                "not-satisfied"
            };
            let mut finding = json!({
                "uuid": name_uuid(&format!("finding:{contract}:{}:{}", report.catalog, row.id)),
                "title": format!("{} {}", report.catalog, row.id),
                "description": match row.status {
                    Status::Met => row.met_by.iter().map(|p| p.words.replace('`', "")).collect::<Vec<_>>().join("; "),
                    _ => format!("Missing: {}", row.missing.join("; or ").replace('`', "")),
                },
                "target": {"type": "objective-id", "target-id": token(&row.id), "status": {"state": state_word}},
            });
            let found: Vec<Value> = row
                .met_by
                .iter()
                .flat_map(|p| links(&p.shown, cited))
                .collect();
            if !found.is_empty() {
                finding["links"] = json!(found);
            }
            findings.push(finding);
        }
    }
    let mut result = json!({
        "uuid": name_uuid(&format!("result:{contract}:{at}")),
        "title": format!("Contract {contract}, as the ledger stands at {}", time::format_instant(at)),
        "description": "Read from the ledger alone: the evidence and gate of each version, and each requirement met or not.",
        "start": time::format_instant(at),
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
    });
    if !observations.is_empty() {
        result["observations"] = json!(observations);
    }
    if !findings.is_empty() {
        result["findings"] = json!(findings);
    }
    json!({"assessment-results": {
        "uuid": name_uuid(&format!("assessment-results:{contract}:{at}")),
        "metadata": metadata(&format!("Assessment of contract {contract}"), "1", at),
        "import-ap": {"href": format!("/contracts/{contract}/compliance")},
        "results": [result],
    }})
}

/// The gaps, each a POA&M item.
fn poam(contract: &str, reports: &[Coverage], at: i64) -> Value {
    let items: Vec<Value> = reports
        .iter()
        .flat_map(|r| r.rows.iter().filter(|row| row.status == Status::Gap).map(move |row| (r, row)))
        .map(|(r, row)| {
            json!({
                "uuid": name_uuid(&format!("poam:{contract}:{}:{}", r.catalog, row.id)),
                "title": format!("{} {}: {}", r.catalog, row.id, row.title.clone().unwrap_or_else(|| row.text.clone())),
                "description": format!("To close it: {}.", row.missing.join("; or ").replace('`', "")),
                "props": [{"name": "catalog", "ns": NS, "value": r.catalog}],
            })
        })
        .collect();
    json!({"plan-of-action-and-milestones": {
        "uuid": name_uuid(&format!("poam:{contract}:{at}")),
        "metadata": metadata(&format!("Gaps of contract {contract}"), "1", at),
        "poam-items": items,
    }})
}

/// Every document, by file name, for `contract` as the ledger stands at `at`. `reports` are
/// its coverage of each catalog; `selected` of the regimes it must meet; `proof` gives an
/// entry's tlog-proof.
pub fn export(
    state: &domain::State,
    contract: &str,
    reports: &[Coverage],
    selected: &[Coverage],
    at: i64,
    proof: &dyn Fn(u64) -> Option<String>,
) -> Result<BTreeMap<String, Value>, String> {
    let mut files = BTreeMap::new();
    for c in domain::compliance::catalogs()? {
        files.insert(format!("catalogs/{}.json", c.id), catalog(c, at));
    }
    let crosswalk = domain::compliance::crosswalk()?;
    files.insert(
        format!("catalogs/{}.json", mapping::RECORDS),
        mapping::records_catalog(crosswalk, at),
    );
    files.insert(
        "mapping-collection.json".to_owned(),
        mapping::mapping_collection(crosswalk, at),
    );
    let version = state
        .package(contract)
        .map_or("0", |p| p.contract.version.as_str());
    files.insert(
        "profile.json".to_owned(),
        plan::profile(contract, version, selected, at),
    );
    let mut cited = BTreeSet::new();
    let mut documents = vec![
        (
            "component-definition.json",
            component_definition(state, contract, reports, at, &mut cited),
        ),
        (
            "assessment-results.json",
            assessment_results(state, contract, reports, at, &mut cited),
        ),
        ("poam.json", poam(contract, reports, at)),
    ];
    if let Some(ssp) = plan::system_security_plan(state, contract, selected, at, &mut cited) {
        documents.push(("system-security-plan.json", ssp));
    }
    let cited_resources = resources(&cited, proof);
    for (name, document) in &mut documents {
        if let Some(root) = document.as_object_mut().and_then(|o| o.values_mut().next())
            && !cited.is_empty()
            && *name != "poam.json"
        {
            // The plan's own resources (its sealed addenda) come first.
            let mut all: Vec<Value> = root["back-matter"]["resources"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            all.extend(cited_resources.iter().cloned());
            root["back-matter"] = json!({"resources": all});
        }
        files.insert((*name).to_owned(), document.clone());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_become_tokens() {
        assert_eq!(token("GOVERN 1.1"), "govern-1.1");
        assert_eq!(token("Art. 9"), "art-9");
        assert_eq!(
            token("m-25-21/use-case-inventory"),
            "m-25-21-use-case-inventory"
        );
        assert_eq!(
            token("module:updates.deprecation_days"),
            "module-updates.deprecation_days"
        );
        assert_eq!(token("2.1"), "_2.1");
    }

    /// A profile imports several catalogs into one plan: their control ids must not collide,
    /// nor may two records of Concordat's.
    #[test]
    fn control_ids_are_unique_across_catalogs() {
        let mut seen = BTreeMap::new();
        for c in domain::compliance::catalogs().unwrap() {
            for item in &c.items {
                if let Some(other) = seen.insert(token(&item.id), &c.id) {
                    panic!("`{}` of {} collides with an id of {other}", item.id, c.id);
                }
            }
        }
        let records = mapping::records_catalog(domain::compliance::crosswalk().unwrap(), 0);
        let mut ids = BTreeSet::new();
        for group in records["catalog"]["groups"].as_array().unwrap() {
            for control in group["controls"].as_array().unwrap() {
                assert!(ids.insert(control["id"].as_str().unwrap().to_owned()));
            }
        }
        assert!(ids.len() > 20, "{ids:?}");
    }
}
