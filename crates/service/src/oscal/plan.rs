//! The contract as an OSCAL system: a profile selecting the requirements of the regimes it
//! must meet, and a system security plan — the engagement as the system, its parties, its
//! modules and deployments as components, each requirement implemented (by which component,
//! shown by which entries), planned (a gap) or not applicable. Sealed addenda appear only as
//! their commitment and classification label.

use std::collections::BTreeSet;

use domain::compliance::{Coverage, Fact, Status};
use domain::updates::time;
use serde_json::{Value, json};

use super::{NS, links, metadata, token};
use crate::build::name_uuid;

/// The requirements the contract must meet — each catalog of `reports`, only the items the
/// report covers — as an OSCAL profile.
pub fn profile(contract: &str, version: &str, reports: &[Coverage], at: i64) -> Value {
    let imports: Vec<Value> = reports
        .iter()
        .map(|r| {
            let ids: Vec<String> = r.rows.iter().map(|row| token(&row.id)).collect();
            json!({
                "href": format!("catalogs/{}.json", r.catalog),
                "include-controls": [{"with-ids": ids}],
            })
        })
        .collect();
    json!({"profile": {
        "uuid": name_uuid(&format!("profile:{contract}:{version}")),
        "metadata": metadata(&format!("What contract {contract} must meet"), version, at),
        "imports": imports,
        "merge": {"as-is": true},
    }})
}

/// `text` with its first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The parties by name, their ids in brackets: "Acme AI (acme-ai), … and Office (office)".
fn names(state: &domain::State, parties: &[String]) -> String {
    let named: Vec<String> = parties
        .iter()
        .map(|id| match state.party(id) {
            Some(party) => format!("{} ({id})", party.name),
            None => id.clone(),
        })
        .collect();
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => named.join(""),
    }
}

fn party_uuid(id: &str) -> String {
    name_uuid(&format!("party:{id}"))
}

fn this_system(contract: &str) -> String {
    name_uuid(&format!("component:{contract}:this-system"))
}

fn module_uuid(contract: &str, module: &str) -> String {
    name_uuid(&format!("component:{contract}:{module}"))
}

/// The parties of the contract and the roles they hold, as OSCAL metadata.
fn parties(state: &domain::State, contract: &domain::ContractRecord, at: i64) -> Value {
    let mut document = metadata(
        &format!("System security plan of {}", contract.title),
        contract.current().map_or("0", |v| v.version.as_str()),
        at,
    );
    let mut roles = BTreeSet::new();
    let mut parties = Vec::new();
    for id in &contract.parties {
        let Some(party) = state.party(id) else {
            continue;
        };
        let mut entry = json!({
            "uuid": party_uuid(id),
            "type": "organization",
            "name": party.name,
            "short-name": id,
        });
        match party.contact.as_deref() {
            Some(mail) if mail.contains('@') && !mail.contains("://") => {
                entry["email-addresses"] = json!([mail]);
            }
            Some(url) => entry["links"] = json!([{"href": url, "rel": "homepage"}]),
            None => {}
        }
        parties.push(entry);
        for role in &party.roles {
            roles.insert((role.name(), id.as_str()));
        }
    }
    let names: BTreeSet<&str> = roles.iter().map(|(role, _)| *role).collect();
    document["roles"] = json!(
        names
            .iter()
            .map(|r| json!({"id": r, "title": capitalized(r)}))
            .collect::<Vec<_>>()
    );
    document["parties"] = json!(parties);
    document["responsible-parties"] = json!(
        names
            .iter()
            .map(|r| json!({
                "role-id": r,
                "party-uuids": roles.iter().filter(|(role, _)| role == r).map(|(_, id)| party_uuid(id)).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    );
    document
}

/// Where the engagement stands at `at`: before, in or after its term.
fn operating_state(file: &domain::contract::ContractFile, at: i64) -> &'static str {
    let from = time::parse_day("effective_from", &file.effective_from).ok();
    let until = file
        .effective_until
        .as_deref()
        .and_then(|d| time::parse_day("effective_until", d).ok());
    match (from, until) {
        (Some(from), _) if at < from => "under-development",
        (_, Some(until)) if at >= until + 86_400 => "disposition",
        _ => "operational",
    }
}

/// The engagement itself, each module of the contract and each deployment, as components.
fn components(state: &domain::State, package: &domain::contract::Package, at: i64) -> Vec<Value> {
    let contract = package.contract.id.as_str();
    let mut components = vec![json!({
        "uuid": this_system(contract),
        "type": "this-system",
        "title": package.contract.title,
        "description": format!("The engagement under contract {contract}: its model versions in service through the gateway, governed by its modules, every step an entry in the ledger."),
        "status": {"state": operating_state(&package.contract, at)},
    })];
    for module in &package.modules {
        let capability = domain::contract::MODULE_KINDS
            .iter()
            .any(|(kind, class)| *kind == module.header.kind && *class == "capability");
        components.push(json!({
            "uuid": module_uuid(contract, &module.header.id),
            "type": if capability { "service" } else { "policy" },
            "title": format!("{} ({} {})", module.header.id, module.header.kind, module.header.version),
            "description": format!("The contract's `{}` module: {} terms.", module.header.kind, if capability { "capability" } else { "governance" }),
            "status": {"state": "operational"},
        }));
    }
    for deployment in state.deployments().filter(|d| d.contract == contract) {
        let (status, words) = match &deployment.active {
            Some(version) => ("operational", format!("serving {version}")),
            None => ("other", "with no version in service".to_owned()),
        };
        components.push(json!({
            "uuid": name_uuid(&format!("component:{contract}:deployment:{}", deployment.name)),
            "type": "service",
            "title": format!("Deployment {}", deployment.name),
            "description": format!("Deployment `{}` of contract {contract}, {words}; the gateway decides every request to it against the contract.", deployment.name),
            "status": {"state": status},
        }));
    }
    components
}

/// Each requirement of each report: who implements it and where that is shown, what would
/// close it, or why it does not apply.
fn implemented_requirements(
    package: &domain::contract::Package,
    reports: &[Coverage],
    cited: &mut BTreeSet<u64>,
) -> Vec<Value> {
    let contract = package.contract.id.as_str();
    let mut requirements = Vec::new();
    for report in reports {
        for row in &report.rows {
            let mut by = Vec::new();
            match row.status {
                Status::Met => {
                    for proof in &row.met_by {
                        let component = match Fact::parse(&proof.source) {
                            Some(Fact::Module { kind, .. }) => module_component(package, &kind, proof),
                            _ => this_system(contract),
                        };
                        let mut entry = json!({
                            "component-uuid": component,
                            "uuid": name_uuid(&format!("by:{contract}:{}:{}:{}", report.catalog, row.id, proof.source)),
                            "description": format!("{} ({}): {}", capitalized(&proof.words.replace('`', "")), proof.relationship.name(), proof.rationale.replace('`', "")),
                            "implementation-status": {"state": "implemented"},
                        });
                        let found = links(&proof.shown, cited);
                        if !found.is_empty() {
                            entry["links"] = json!(found);
                        }
                        by.push(entry);
                    }
                }
                Status::Gap => by.push(json!({
                    "component-uuid": this_system(contract),
                    "uuid": name_uuid(&format!("by:{contract}:{}:{}:gap", report.catalog, row.id)),
                    "description": format!("Not yet met. To meet it: {}.", row.missing.join("; or ").replace('`', "")),
                    "implementation-status": {"state": "planned"},
                })),
                Status::NotApplicable => by.push(json!({
                    "component-uuid": this_system(contract),
                    "uuid": name_uuid(&format!("by:{contract}:{}:{}:na", report.catalog, row.id)),
                    "description": format!("Does not apply: {}.", row.why.as_deref().unwrap_or("outside the engagement")),
                    "implementation-status": {"state": "not-applicable"},
                })),
            }
            requirements.push(json!({
                "uuid": name_uuid(&format!("ir:{contract}:{}:{}", report.catalog, row.id)),
                "control-id": token(&row.id),
                "props": [{"name": "catalog", "ns": NS, "value": report.catalog}],
                "by-components": by,
            }));
        }
    }
    requirements
}

/// The component a module fact names: the contract's module whose file shows it.
fn module_component(
    package: &domain::contract::Package,
    kind: &str,
    proof: &domain::compliance::Proof,
) -> String {
    let contract = package.contract.id.as_str();
    package
        .modules
        .iter()
        .filter(|m| m.header.kind == kind)
        .find(|m| {
            proof
                .shown
                .iter()
                .any(|w| w.file.as_deref() == Some(m.path.as_str()))
        })
        .map_or_else(
            || this_system(contract),
            |m| module_uuid(contract, &m.header.id),
        )
}

/// The system security plan of `contract` as the ledger stands at `at`. `reports` are its
/// coverage of the regimes it must meet (those of [`profile`]).
pub fn system_security_plan(
    state: &domain::State,
    contract: &str,
    reports: &[Coverage],
    at: i64,
    cited: &mut BTreeSet<u64>,
) -> Option<Value> {
    let record = state.contract(contract)?;
    let package = state.package(contract)?;
    let mut sealed = Vec::new();
    for addendum in &record.addenda {
        let mut resource = json!({
            "uuid": name_uuid(&format!("addendum:{contract}:{}", addendum.commitment)),
            "title": format!("Sealed addendum {} ({})", addendum.id, addendum.classification),
            "description": "Sealed: only its commitment and classification label are public; cleared parties open it with the salt and text.",
            // The public package, which shows the commitment the ledger holds.
            "rlinks": [{"href": format!("/contracts/{contract}"), "media-type": "text/html"}],
            "props": [
                {"name": "classification", "ns": NS, "value": addendum.classification},
                {"name": "commitment", "ns": NS, "value": addendum.commitment},
            ],
        });
        if let Some(entry) = addendum.disclosed_at {
            cited.insert(entry);
            resource["remarks"] = json!(format!("Disclosed in ledger entry {entry}."));
        }
        sealed.push(resource);
    }
    let mut characteristics = json!({
        "system-ids": [{"identifier-type": format!("{NS}/contract-id"), "id": contract}],
        "system-name": package.contract.title,
        "system-name-short": contract,
        "description": format!(
            "An engagement between {} under contract {contract} (version {}), in force from {}{}, in the jurisdictions {}.",
            names(state, &package.contract.parties),
            package.contract.version,
            package.contract.effective_from,
            package.contract.effective_until.as_deref().map(|u| format!(" until {u}")).unwrap_or_default(),
            if package.contract.jurisdictions.is_empty() { "not named".to_owned() } else { package.contract.jurisdictions.join(", ") },
        ),
        "system-information": {"information-types": [{
            "uuid": name_uuid(&format!("information-type:{contract}:requests")),
            "title": "Requests to the model and its responses",
            "description": "What the agency's users send through the gateway and what the model answers. The ledger records only the gateway's decisions and counts (usage batches), never the content.",
        }]},
        "status": {"state": operating_state(&package.contract, at)},
        "authorization-boundary": {"description": format!("The deployments of contract {contract}, the gateway that decides each of their requests against the contract's use restrictions, and the ledger in which each step of the engagement is a signed entry.")},
    });
    if !sealed.is_empty() {
        characteristics["links"] = json!(
            sealed
                .iter()
                .map(|r| json!({"href": format!("#{}", r["uuid"].as_str().unwrap_or_default()), "rel": "sealed-addendum"}))
                .collect::<Vec<_>>()
        );
    }
    let mut plan = json!({
        "uuid": name_uuid(&format!("system-security-plan:{contract}:{at}")),
        "metadata": parties(state, record, at),
        "import-profile": {"href": "profile.json"},
        "system-characteristics": characteristics,
        "system-implementation": {"components": components(state, package, at)},
        "control-implementation": {
            "description": format!("How contract {contract} meets the requirements of the regimes it must meet, read from the ledger alone."),
            "implemented-requirements": implemented_requirements(package, reports, cited),
        },
    });
    if !sealed.is_empty() {
        plan["back-matter"] = json!({"resources": sealed});
    }
    Some(json!({"system-security-plan": plan}))
}
