//! Parties and designations: who is registered, each party's page (name, roles,
//! jurisdictions, contact, full key fingerprints, contracts, versions, evidence and entries),
//! and supply-chain-risk designations with their histories.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::updates::time;

use super::contract::ListQuery;
use super::listing::{Cell, Listing, downloads};
use super::{
    Section, Tone, answer, badge, contract_link, day, entry_link, model_link, now, page,
    party_link, when,
};
use crate::render::escape;
use crate::{ApiError, Instance};

pub async fn parties(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query?;
        let state = instance.state();
        let mut listing = Listing::new(
            "Registered parties",
            &["Party", "Roles", "Jurisdictions", "Contact", "Active keys"],
        );
        for p in state.parties() {
            let roles: Vec<&str> = p.roles.iter().map(|r| r.name()).collect();
            let keys = state.keys_of(&p.id).filter(|k| k.is_active()).count();
            listing.row(vec![
                Cell::html(party_link(&state, &p.id), format!("{} ({})", p.name, p.id)),
                Cell::text(roles.join(", ")),
                Cell::text(p.jurisdictions.join(", ")),
                Cell::text(p.contact.clone().unwrap_or_default()),
                Cell::text(keys.to_string()),
            ]);
        }
        if let Some(download) = listing.download(query.format, "parties") {
            return Ok(download);
        }
        let body = format!(
            "<h1>Parties</h1>\n<p class=\"lead\">The agencies, vendors, labs, auditors and authorities registered here, each with the keys it signs with.</p>\n{}{}",
            listing.table(),
            downloads("/parties", "", "this list")
        );
        Ok(page(&instance, Section::Parties, "Parties", &body))
    })();
    answer(&instance, result)
}

fn contact(text: &str) -> String {
    if text.starts_with("https://") {
        format!("<a href=\"{}\">{}</a>", escape(text), escape(text))
    } else {
        format!("<a href=\"mailto:{}\">{}</a>", escape(text), escape(text))
    }
}

// tidy: long function: a party's facts, keys, contracts, versions and evidence, each a short block.
pub async fn party(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let result = (|| {
        let Path(id) = path?;
        let state = instance.state();
        let p = state
            .party(&id)
            .ok_or_else(|| ApiError::not_found(format!("No party `{id}` is registered here.")))?;
        let roles: Vec<&str> = p.roles.iter().map(|r| r.name()).collect();
        let mut body = format!(
            "<h1>{} <span class=\"id\">{}</span></h1>\n<dl class=\"terms\">\n<dt>Roles</dt><dd>{}</dd>\n<dt>Jurisdictions</dt><dd>{}</dd>\n<dt>Contact</dt><dd>{}</dd>\n<dt>Notifications</dt><dd>{}</dd>\n<dt>Registered</dt><dd>{}</dd>\n</dl>\n",
            escape(&p.name),
            escape(&p.id),
            escape(&roles.join(", ")),
            if p.jurisdictions.is_empty() {
                "none stated".to_owned()
            } else {
                escape(&p.jurisdictions.join(", "))
            },
            p.contact
                .as_deref()
                .map_or("none registered".to_owned(), contact),
            p.endpoint
                .as_ref()
                .map_or("no endpoint registered".to_owned(), |e| format!(
                    "sent to <code>{}</code> ({})",
                    escape(&e.url),
                    entry_link(e.entry, "the registration")
                )),
            entry_link(p.registered_at, &format!("registration of {}", p.name))
        );
        let mut keys = Listing::new(
            format!(
                "Keys of {}: fingerprints are the SHA-256 of each public key",
                p.name
            ),
            &["Status", "Fingerprint (key ID)", "Algorithm", "Added"],
        );
        for k in state.keys_of(&id) {
            let (tone, words) = match &k.status {
                domain::KeyStatus::Active => (Tone::Ok, "active".to_owned()),
                other => (
                    Tone::Off,
                    serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned))
                        .unwrap_or_else(|| "retired".to_owned()),
                ),
            };
            keys.row(vec![
                Cell::html(badge(tone, &words), words.clone()),
                Cell::html(
                    format!("<code>{}</code>", escape(&k.keyid)),
                    k.keyid.clone(),
                ),
                Cell::text(k.algorithm.clone()),
                Cell::html(
                    entry_link(k.added_at, "the key's entry"),
                    k.added_at.to_string(),
                ),
            ]);
        }
        body.push_str(&format!("<h2>Keys</h2>\n{}", keys.table()));
        let contracts: Vec<String> = state
            .contracts()
            .filter(|c| c.parties.contains(&id))
            .map(|c| format!("<li>{}</li>", contract_link(&state, &c.id)))
            .collect();
        body.push_str("<h2>Contracts</h2>\n");
        if contracts.is_empty() {
            body.push_str("<p>A party to no contract.</p>\n");
        } else {
            body.push_str(&format!("<ul>\n{}\n</ul>\n", contracts.join("\n")));
        }
        let versions: Vec<String> = state
            .models()
            .filter(|m| m.vendor == id)
            .map(|m| format!("<li>{}</li>", model_link(&m.key())))
            .collect();
        if !versions.is_empty() {
            body.push_str(&format!(
                "<h2>Model versions it announced</h2>\n<ul>\n{}\n</ul>\n",
                versions.join("\n")
            ));
        }
        let evidence: Vec<String> = state
            .all_evidence()
            .filter(|e| e.lab == id)
            .map(|e| {
                format!(
                    "<li>{} of {} ({})</li>",
                    escape(&e.suite),
                    model_link(&format!("{}@{}", e.line, e.version)),
                    entry_link(e.entry, "the evidence")
                )
            })
            .collect();
        if !evidence.is_empty() {
            body.push_str(&format!(
                "<h2>Evidence it produced</h2>\n<ul>\n{}\n</ul>\n",
                evidence.join("\n")
            ));
        }
        body.push_str(&format!(
            "<h2>Entries</h2>\n<p><a href=\"/log?party={}\">Every entry {} signed or is named in</a>.</p>\n",
            escape(&id),
            escape(&p.name)
        ));
        Ok(page(&instance, Section::Parties, &p.name, &body))
    })();
    answer(&instance, result)
}

/// Supply-chain-risk designations, each with its grounds, scope and history.
// tidy: long function: a designation's standing and each step of its history.
pub async fn designations(State(instance): State<Arc<Instance>>) -> Response {
    use domain::designation::Subject;
    let state = instance.state();
    let now = now(&state);
    let mut body = String::from(
        "<h1>Supply-chain-risk designations</h1>\n<p class=\"lead\">An authority may designate a party or a model line a supply-chain risk; a designation reaches the contracts in the jurisdictions it names, may be appealed, and is lifted when an appeal is upheld.</p>\n",
    );
    let mut any = false;
    for d in state.designations() {
        any = true;
        let subject = match &d.subject {
            Subject::Party { id } => party_link(&state, id),
            Subject::ModelLine { line } => format!("model line <code>{}</code>", escape(line)),
        };
        let (tone, standing) = if d.lifted.is_some() {
            (Tone::Off, "lifted")
        } else if d.in_force(now) {
            if d.appeal.is_some() && d.decision.is_none() {
                (Tone::Warn, "in force, under appeal")
            } else {
                (Tone::Warn, "in force")
            }
        } else {
            (Tone::Info, "not yet in force")
        };
        body.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n<p>{} {subject}, designated by {} on {} ({}), for contracts in {}. Grounds: {}. {}</p>\n",
            escape(&d.id),
            escape(&d.id),
            badge(tone, standing),
            party_link(&state, &d.authority),
            day(d.effective_at),
            entry_link(d.entry, "the designation"),
            escape(&d.scope.join(", ")),
            escape(&d.justification.grounds.join(", ")),
            escape(&d.justification.summary)
        ));
        let mut history = Listing::new(format!("History of {}", d.id), &["When", "What", "Entry"]);
        let mut row = |at: i64, entry: u64, what: String, text: String| {
            history.row(vec![
                Cell::text(when(at)),
                Cell::html(what, text),
                Cell::html(entry_link(entry, "the step"), entry.to_string()),
            ]);
        };
        let until = time::format_instant(d.appeal_until);
        row(
            d.effective_at,
            d.entry,
            format!("in force; appeal open until {}", escape(&until)),
            format!("in force; appeal open until {until}"),
        );
        if let Some(appeal) = &d.appeal {
            row(
                appeal.at,
                appeal.entry,
                format!(
                    "appealed by {}: {}",
                    party_link(&state, &appeal.party),
                    escape(&appeal.text)
                ),
                format!("appealed by {}: {}", appeal.party, appeal.text),
            );
        }
        if let Some(decision) = &d.decision {
            let outcome = if decision.upheld {
                "appeal upheld"
            } else {
                "appeal dismissed"
            };
            row(
                decision.at,
                decision.entry,
                format!("{outcome}: {}", escape(&decision.reasons)),
                format!("{outcome}: {}", decision.reasons),
            );
        }
        if let Some(lifted) = d
            .lifted
            .as_ref()
            .filter(|_| !d.decision.as_ref().is_some_and(|x| x.upheld))
        {
            row(
                lifted.at,
                lifted.entry,
                format!("lifted: {}", escape(&lifted.text)),
                format!("lifted: {}", lifted.text),
            );
        }
        body.push_str(&history.table());
        if !d.affected.is_empty() {
            body.push_str(&format!(
                "<p>Deployments it suspended or rolled back: {}.</p>\n",
                escape(&d.affected.join(", "))
            ));
        }
    }
    if !any {
        body.push_str("<p>No designation has been issued.</p>\n");
    }
    page(&instance, Section::Designations, "Designations", &body)
}
