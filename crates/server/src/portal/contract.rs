//! Contracts: the list, and each contract in words — who is bound and when, what it forbids
//! and permits, its terms module by module, its sealed addenda, the versions and deployments
//! under it, its usage and its history.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::updates::{self, DeploymentAction, time};
use serde::Deserialize;

use super::listing::{Cell, Format, Listing, downloads};
use super::words::{self, Scope};
use super::{
    Section, Tone, and_list, answer, badge, day, deployment_link, entry_link, model_link, now,
    page, party_link, short, terms,
};
use crate::render::{escape, inline};
use crate::{ApiError, Instance};
use service::Instance as _;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub(crate) format: Format,
}

/// Whether a contract is in force at `now`, in words.
fn in_force(file: &domain::contract::ContractFile, now: i64) -> (Tone, &'static str) {
    let from = time::parse_day("effective_from", &file.effective_from).ok();
    let until = file
        .effective_until
        .as_deref()
        .and_then(|d| time::parse_day("effective_until", d).ok());
    match (from, until) {
        (Some(from), _) if now < from => (Tone::Info, "not yet in force"),
        (_, Some(until)) if now >= until + 86_400 => (Tone::Off, "ended"),
        _ => (Tone::Ok, "in force"),
    }
}

pub async fn contracts(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query?;
        let state = instance.state();
        let now = now(&state);
        let mut listing = Listing::new(
            "Published contracts",
            &[
                "Status",
                "Contract",
                "Parties",
                "In force",
                "Version",
                "Sealed addenda",
            ],
        );
        for c in state.contracts() {
            let Some(package) = state.package(&c.id) else {
                continue;
            };
            let file = &package.contract;
            let (tone, status) = in_force(file, now);
            let parties: Vec<String> = c.parties.iter().map(|p| party_link(&state, p)).collect();
            let names: Vec<String> = c
                .parties
                .iter()
                .map(|p| super::party_name(&state, p))
                .collect();
            let period = format!(
                "{} to {}",
                file.effective_from,
                file.effective_until.as_deref().unwrap_or("no end date")
            );
            listing.row(vec![
                Cell::html(badge(tone, status), status),
                Cell::html(
                    format!(
                        "<a href=\"/contracts/{}\">{}</a> <span class=\"id\">{}</span>",
                        escape(&c.id),
                        escape(&c.title),
                        escape(&c.id)
                    ),
                    c.id.clone(),
                ),
                Cell::html(and_list(&parties), names.join("; ")),
                Cell::text(period),
                Cell::text(c.current().map_or("", |v| v.version.as_str())),
                Cell::text(c.addenda.len().to_string()),
            ]);
        }
        if let Some(download) = listing.download(query.format, "contracts") {
            return Ok(download);
        }
        let mut body = String::from(
            "<h1>Contracts</h1>\n<p class=\"lead\">Each contract is code: its modules say what is delivered and how it is governed, and its use restrictions are enforced on every request.</p>\n",
        );
        if listing.is_empty() {
            body.push_str("<p>No contract has been published yet.</p>\n");
        } else {
            body.push_str(&listing.table());
            body.push_str(&downloads("/contracts", "", "this list"));
        }
        Ok(page(&instance, Section::Contracts, "Contracts", &body))
    })();
    answer(&instance, result)
}

/// A contract's compliance: each regime it names, and the NIST AI RMF, requirement by
/// requirement.
pub async fn compliance(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let result = (|| {
        let Path(id) = path?;
        let state = instance.state();
        let record = state
            .contract(&id)
            .ok_or_else(|| ApiError::not_found(format!("No contract `{id}` is published here.")))?;
        let reports = instance.local.compliance(&id, &[], None)?;
        let mut lines: Vec<String> = reports
            .iter()
            .map(|r| {
                use domain::compliance::Status;
                let gaps = r.count(Status::Gap);
                format!(
                    "{} <a href=\"#{}\">{}</a>: {} met, {gaps} {}, {} not applicable.",
                    if gaps == 0 {
                        badge(Tone::Ok, "no gap")
                    } else {
                        badge(Tone::Bad, "gaps")
                    },
                    escape(&r.catalog),
                    escape(&r.title),
                    r.count(Status::Met),
                    if gaps == 1 { "gap" } else { "gaps" },
                    r.count(Status::NotApplicable)
                )
            })
            .collect();
        lines.push(format!(
            "Read from the ledger alone, through Concordat's crosswalk (version {}); a gap says what would close it.",
            escape(&domain::compliance::crosswalk().map(|c| c.version.clone()).unwrap_or_default())
        ));
        let mut body = format!(
            "<h1>Compliance of {}</h1>\n<p class=\"id\">contract {}</p>\n",
            escape(&record.title),
            escape(&id)
        );
        body.push_str(&words::summary_block(&lines, ""));
        body.push_str(&format!(
            "<p>For assessors' tools: <a href=\"/api/compliance/oscal?contract={id}\">this contract's compliance as OSCAL 1.2 documents</a> (catalogs, component definition, system security plan, assessment results, POA&amp;M, mapping collection; JSON, citing entries with their inclusion proofs) and <a href=\"/api/compliance?contract={id}\">this report as JSON</a>.</p>\n",
            id = escape(&id)
        ));
        body.push_str(&crate::render::compliance_fragment(&reports, 2, &|entry| {
            entry_link(entry, "")
        }));
        Ok(page(
            &instance,
            Section::Contracts,
            &format!("Compliance of {}", record.title),
            &body,
        ))
    })();
    answer(&instance, result)
}

/// A contract's page.
pub async fn contract(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let result = (|| {
        let Path(id) = path?;
        let state = instance.state();
        let record = state
            .contract(&id)
            .ok_or_else(|| ApiError::not_found(format!("No contract `{id}` is published here.")))?;
        let package = state
            .package(&id)
            .ok_or_else(|| ApiError::not_found(format!("No contract `{id}` is published here.")))?;
        let now = now(&state);
        let published = record
            .versions
            .first()
            .and_then(|v| super::entries::logged_at(&instance, v.entry));
        let mut body = heading(record, package, published, now);
        let mut lines = conflicts(&state, package, now);
        lines.extend(words::summary(
            &state,
            Scope {
                contract: Some(&id),
                ..Scope::default()
            },
            now,
        ));
        body.push_str(&words::summary_block(
            &lines,
            "Nothing has been offered or deployed under this contract yet.",
        ));
        body.push_str(&bound(&state, package));
        body.push_str(&format!(
            "<p><a href=\"/contracts/{}/compliance\">Compliance of this contract with each regime it names, requirement by requirement</a></p>\n",
            escape(&id)
        ));
        if let Ok(policies) = policy::from_files(&record.files) {
            let digest = record.current().map_or("", |v| v.digest.as_str());
            body.push_str(&terms::restrictions(
                &policies,
                &terms::purposes(&policies, digest),
            ));
        }
        body.push_str(&terms::modules(&state, package));
        body.push_str(&addenda(record));
        body.push_str(&under(&state, &id, now));
        body.push_str(&usage(&state, record, &id));
        body.push_str(&history(record));
        Ok(page(&instance, Section::Contracts, &record.title, &body))
    })();
    answer(&instance, result)
}

fn heading(
    record: &domain::ContractRecord,
    package: &domain::contract::Package,
    published: Option<i64>,
    now: i64,
) -> String {
    let (tone, status) = in_force(&package.contract, now);
    let purpose = crate::render::header_comment(
        package
            .source(domain::contract::CONTRACT_FILE)
            .unwrap_or_default(),
    );
    let first = record.versions.first();
    format!(
        "<h1>{}</h1>\n<p>{} <span class=\"id\">contract {} · version {}</span> · first published {}{}</p>\n{}",
        escape(&record.title),
        badge(tone, status),
        escape(&record.id),
        escape(record.current().map_or("", |v| v.version.as_str())),
        published.map_or(String::new(), |at| format!("{} ", day(at))),
        first.map_or(String::new(), |v| format!("in {}", entry_link(v.entry, ""))),
        if purpose.is_empty() {
            String::new()
        } else {
            format!("<p class=\"lead\">{}</p>\n", inline(&purpose))
        }
    )
}

/// Dates that disagree: a deployment running before the contract is in force or after it
/// ended.
fn conflicts(state: &domain::State, package: &domain::contract::Package, now: i64) -> Vec<String> {
    let file = &package.contract;
    let from = time::parse_day("effective_from", &file.effective_from).ok();
    let until = file
        .effective_until
        .as_deref()
        .and_then(|d| time::parse_day("effective_until", d).ok());
    let mut lines = Vec::new();
    for d in state.deployments().filter(|d| d.contract == file.id) {
        if let (Some(from), Some(first)) = (
            from,
            d.events
                .iter()
                .find(|e| e.action == DeploymentAction::Activated),
        ) && first.at < from
        {
            lines.push(format!(
                "{} {} was activated on {} ({}), before the contract is in force (from {}).",
                badge(Tone::Bad, "date conflict"),
                deployment_link(&d.contract, &d.name),
                day(first.at),
                entry_link(first.entry, "the activation"),
                escape(&file.effective_from)
            ));
        }
        if let (Some(until), Some(_)) = (until, &d.active)
            && now >= until + 86_400
        {
            lines.push(format!(
                "{} {} still serves a version, though the contract ended on {}.",
                badge(Tone::Bad, "date conflict"),
                deployment_link(&d.contract, &d.name),
                escape(file.effective_until.as_deref().unwrap_or(""))
            ));
        }
    }
    lines
}

/// Who is bound, where, when, and under which regimes.
fn bound(state: &domain::State, package: &domain::contract::Package) -> String {
    let file = &package.contract;
    let mut html = String::from("<h2>Who is bound, where and when</h2>\n<dl class=\"terms\">\n");
    for id in &file.parties {
        let roles: Vec<&str> = state
            .party(id)
            .map(|p| p.roles.iter().map(|r| r.name()).collect())
            .unwrap_or_default();
        html.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(&roles.join(", ")),
            party_link(state, id)
        ));
    }
    let regimes: Vec<&str> = file.regimes.iter().map(|r| r.name()).collect();
    html.push_str(&format!(
        "<dt>Jurisdictions</dt><dd>{}</dd>\n<dt>In force</dt><dd>from {} {}</dd>\n<dt>Regimes</dt><dd>{}</dd>\n</dl>\n",
        escape(&file.jurisdictions.join(", ")),
        escape(&file.effective_from),
        file.effective_until.as_deref().map_or("with no end date".to_owned(), |u| format!("until {}", escape(u))),
        if regimes.is_empty() { "none named".to_owned() } else { escape(&regimes.join(", ")) }
    ));
    html
}

fn addenda(record: &domain::ContractRecord) -> String {
    if record.addenda.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2>Sealed addenda</h2>\n<p>Classified terms stay sealed. The log holds a commitment to each text (SHA-256 of a random salt and the text); anyone later shown the text can check it with <code>concordat addendum verify</code>.</p>\n",
    );
    let mut listing = Listing::new(
        "Sealed addenda",
        &["Status", "Addendum", "Classification", "Commitment"],
    );
    for a in &record.addenda {
        let (status, text) = match a.disclosed_at {
            Some(at) => (
                format!(
                    "{} in {}",
                    badge(Tone::Info, "disclosed"),
                    entry_link(at, "the disclosure")
                ),
                "disclosed",
            ),
            None => (badge(Tone::Off, "sealed"), "sealed"),
        };
        listing.row(vec![
            Cell::html(status, text),
            Cell::html(
                format!(
                    "{} <span class=\"id\">{}</span>",
                    escape(&a.title),
                    escape(&a.id)
                ),
                a.id.clone(),
            ),
            Cell::text(a.classification.clone()),
            Cell::html(
                format!("<code>{}</code>", escape(&a.commitment)),
                a.commitment.clone(),
            ),
        ]);
    }
    html.push_str(&listing.table());
    html
}

/// The model versions offered and the deployments running under the contract.
fn under(state: &domain::State, id: &str, now: i64) -> String {
    let mut html = String::new();
    let mut versions = Listing::new(
        "Model versions offered under this contract",
        &["Standing", "Version", "Vendor", "Service from"],
    );
    for m in state.models() {
        if let Some(offer) = m.offers.get(id) {
            let (tone, words) = words::standing(state, m, offer, now);
            versions.row(vec![
                Cell::html(badge(tone, &words), words.clone()),
                Cell::html(model_link(&m.key()), m.key()),
                Cell::html(party_link(state, &m.vendor), m.vendor.clone()),
                Cell::text(m.service_from.clone()),
            ]);
        }
    }
    if !versions.is_empty() {
        html.push_str("<h2>Model versions and deployments</h2>\n");
        html.push_str(&versions.table());
    }
    let mut deployments = Listing::new("Deployments", &["In service", "Deployment", "Changes"]);
    for d in state.deployments().filter(|d| d.contract == id) {
        deployments.row(vec![
            Cell::html(
                d.active
                    .as_deref()
                    .map_or(badge(Tone::Bad, "nothing"), model_link),
                d.active.clone().unwrap_or_default(),
            ),
            Cell::html(deployment_link(&d.contract, &d.name), d.name.clone()),
            Cell::text(d.events.len().to_string()),
        ]);
    }
    if !deployments.is_empty() {
        html.push_str(&deployments.table());
    }
    html
}

fn usage(state: &domain::State, record: &domain::ContractRecord, id: &str) -> String {
    let batches: Vec<&updates::UsageBatch> = state.usage(Some(id)).collect();
    if batches.is_empty() {
        return String::new();
    }
    let policies = policy::from_files(&record.files).ok();
    let mut html = String::from("<h2>Usage</h2>\n");
    let mut names: Vec<&str> = batches.iter().map(|b| b.deployment.as_str()).collect();
    names.dedup();
    for name in names {
        let of: Vec<&updates::UsageBatch> = batches
            .iter()
            .copied()
            .filter(|b| b.deployment == name)
            .collect();
        html.push_str(&format!(
            "<p>{}: {} <a href=\"/deployments/{}/{}/usage\">Usage of {} in detail</a>.</p>\n",
            deployment_link(id, name),
            words::usage_sentences(&of, policies.as_ref()),
            escape(id),
            escape(name),
            escape(name)
        ));
    }
    html
}

fn history(record: &domain::ContractRecord) -> String {
    let mut listing = Listing::new(
        "Versions of the contract",
        &["Version", "Published in", "Digest", "What changed"],
    );
    for v in &record.versions {
        let diff = if v.diff.is_empty() {
            "first version".to_owned()
        } else {
            format!(
                "<details><summary>the changes</summary><pre><code>{}</code></pre></details>",
                escape(&v.diff)
            )
        };
        listing.row(vec![
            Cell::text(v.version.clone()),
            Cell::html(
                entry_link(v.entry, &format!("version {}", v.version)),
                v.entry.to_string(),
            ),
            Cell::html(
                format!("<code>{}</code>", escape(&short(&v.digest))),
                v.digest.clone(),
            ),
            Cell::html(
                diff,
                if v.diff.is_empty() {
                    "first version".to_owned()
                } else {
                    v.diff.clone()
                },
            ),
        ]);
    }
    format!("<h2>History</h2>\n{}", listing.table())
}
