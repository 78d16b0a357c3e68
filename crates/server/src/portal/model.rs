//! Model versions: the list with each version's standing, and each version's page — what it
//! is, where it serves, its gate when it was approved beside its gate today (evidence that
//! aged out since shows as a re-evaluation due), and the evidence behind it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::updates::{Gate, ModelVersion, Offer, Requirement, Terms};

use super::contract::ListQuery;
use super::listing::{Cell, Listing, downloads};
use super::words::{self, GateStory, Scope};
use super::{
    Section, Tone, and_list, answer, badge, contract_link, day, entry_link, entry_links, now, page,
    party_link, short,
};
use crate::render::{escape, inline};
use crate::{ApiError, Instance};

pub async fn models(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query?;
        let state = instance.state();
        let now = now(&state);
        let mut listing = Listing::new(
            "Announced model versions, under each contract",
            &["Standing", "Version", "Contract", "Vendor", "Service from"],
        );
        for m in state.models() {
            for offer in m.offers.values() {
                let (tone, words) = words::standing(&state, m, offer, now);
                listing.row(vec![
                    Cell::html(badge(tone, &words), words.clone()),
                    Cell::html(super::model_link(&m.key()), m.key()),
                    Cell::html(
                        contract_link(&state, &offer.contract),
                        offer.contract.clone(),
                    ),
                    Cell::html(party_link(&state, &m.vendor), m.vendor.clone()),
                    Cell::text(m.service_from.clone()),
                ]);
            }
        }
        if let Some(download) = listing.download(query.format, "model-versions") {
            return Ok(download);
        }
        let mut body = String::from(
            "<h1>Model versions</h1>\n<p class=\"lead\">A version enters service only when its contract's gate is met: notice given, recognised evidence meeting each threshold, and the approvers' signatures.</p>\n",
        );
        if listing.is_empty() {
            body.push_str("<p>No model version has been announced yet.</p>\n");
        } else {
            body.push_str(&listing.table());
            body.push_str(&downloads("/models", "", "this list"));
        }
        Ok(page(&instance, Section::Models, "Model versions", &body))
    })();
    answer(&instance, result)
}

pub async fn model(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let result = (|| {
        let Path(key) = path?;
        let state = instance.state();
        let m = state.model(&key).ok_or_else(|| {
            ApiError::not_found(format!("No model version `{key}` is registered here."))
        })?;
        let now = now(&state);
        let mut body = format!(
            "<h1>{}</h1>\n<p>Announced by {} on {} ({}), for service from {}.{}</p>\n<p>Digest <code>{}</code></p>\n",
            escape(&key),
            party_link(&state, &m.vendor),
            m.offers
                .values()
                .map(|o| o.notice_given)
                .min()
                .map_or(String::new(), day),
            entry_link(m.registered_at, "the notice"),
            escape(&m.service_from),
            m.api_version
                .as_deref()
                .map(|v| format!(" API version <code>{}</code>.", escape(v)))
                .unwrap_or_default(),
            escape(&m.digest)
        );
        let mut lines = Vec::new();
        let stories: Vec<(&Offer, GateStory)> = m
            .offers
            .values()
            .filter_map(|o| GateStory::of(&state, m, o, now).map(|s| (o, s)))
            .collect();
        for (offer, story) in &stories {
            lines.push(story_sentence(&state, m, offer, story, now));
        }
        lines.extend(words::summary(
            &state,
            Scope {
                model: Some(&key),
                ..Scope::default()
            },
            now,
        ));
        body.push_str(&words::summary_block(
            &lines,
            "This version is not offered under any contract.",
        ));
        if !m.upstream.is_empty() {
            let parts: Vec<String> = m
                .upstream
                .iter()
                .map(|u| {
                    format!(
                        "<li>{} <strong>{}</strong>{}{}</li>",
                        u.kind.name(),
                        escape(&u.name),
                        u.version
                            .as_deref()
                            .map(|v| format!(" {}", escape(v)))
                            .unwrap_or_default(),
                        u.supplier
                            .as_deref()
                            .map(|s| format!(", from {}", party_link(&state, s)))
                            .unwrap_or_default()
                    )
                })
                .collect();
            body.push_str(&format!(
                "<h2>Built from</h2>\n<p>As its vendor declared in the notice.</p>\n<ul>\n{}\n</ul>\n",
                parts.join("\n")
            ));
        }
        body.push_str(&format!(
            "<p>Download this version as a <a href=\"/api/models/{}/bom\">CycloneDX ML-BOM of {}</a> (JSON).</p>\n",
            escape(&key),
            escape(&key)
        ));
        if !m.release_notes.is_empty() {
            body.push_str(&format!(
                "<h2>Release notes</h2>\n<blockquote>{}</blockquote>\n",
                inline(&m.release_notes)
            ));
        }
        for (offer, story) in &stories {
            body.push_str(&gate_section(&state, offer, story));
        }
        body.push_str(&evidence(&state, &key));
        Ok(page(&instance, Section::Models, &key, &body))
    })();
    answer(&instance, result)
}

/// One sentence: how the version stands under a contract, when it was approved and on what,
/// and what has changed since.
fn story_sentence(
    state: &domain::State,
    m: &ModelVersion,
    offer: &Offer,
    story: &GateStory,
    now: i64,
) -> String {
    let (tone, standing) = words::standing(state, m, offer, now);
    let mut text = format!(
        "{} Under {}: ",
        badge(tone, &standing),
        contract_link(state, &offer.contract)
    );
    match &story.then {
        Some(then) => text.push_str(&format!(
            "{}; the gate was {} then.",
            words::approvals(state, offer),
            if then.met() { "met" } else { "not met" }
        )),
        None => text.push_str(&format!("not approved. {}", words::notice(offer))),
    }
    for expiry in &story.expired {
        text.push_str(&format!(
            " The evidence on {} ({}, evaluated {}) passed the contract's {}-day limit on {}: <strong>re-evaluation due by {}</strong>.",
            escape(
                words::requirement_words(&expiry.requirement)
                    .trim_start_matches("recognised evidence on ")
            ),
            entry_link(expiry.evidence, "the evaluation"),
            day(expiry.evaluated),
            expiry.max_days,
            day(expiry.due),
            day(expiry.due)
        ));
    }
    if !story.expired.is_empty() {
        let triggers = state
            .package(&offer.contract)
            .and_then(|p| Terms::of(p).rollback.map(|r| r.triggers.clone()))
            .unwrap_or_default();
        text.push_str(if triggers.iter().any(|t| t == "failed-re-evaluation") {
            " Under the contract's rollback module a <em>failed</em> re-evaluation rolls the deployment back; a late one does not by itself, so the version stays in service meanwhile."
        } else {
            " The contract's rollback module names no re-evaluation trigger, so the version stays in service meanwhile."
        });
    } else if story.then.is_some() && !story.today.met() {
        let missing: Vec<String> = story
            .today
            .unmet()
            .map(|r| escape(&words::requirement_words(&r.id)))
            .collect();
        text.push_str(&format!(" Today it lacks {}.", and_list(&missing)));
    }
    text
}

fn cell(requirement: Option<&Requirement>) -> Cell {
    let Some(r) = requirement else {
        return Cell::text("—");
    };
    let entries = if r.by.is_empty() {
        String::new()
    } else {
        format!(" ({})", entry_links(&r.by))
    };
    let (tone, word) = if r.met {
        (Tone::Ok, "met")
    } else {
        (Tone::Bad, "not met")
    };
    Cell::html(
        format!("{} {}{entries}", badge(tone, word), inline(&r.detail)),
        format!("{word}: {}", r.detail),
    )
}

/// The gate when the version was approved, beside the gate today.
fn gate_section(state: &domain::State, offer: &Offer, story: &GateStory) -> String {
    let today: &Gate = &story.today;
    let mut html = format!(
        "<h2>The gate under {}</h2>\n",
        contract_link(state, &offer.contract)
    );
    let caption = match story.approved_at {
        Some(at) => format!(
            "Each requirement when approved ({}) and today ({})",
            day(at),
            day_of(&today.at)
        ),
        None => format!("Each requirement today ({})", day_of(&today.at)),
    };
    let mut listing = if story.then.is_some() {
        Listing::new(caption, &["Requirement", "When approved", "Today"])
    } else {
        Listing::new(caption, &["Requirement", "Today"])
    };
    for r in &today.requirements {
        let name = Cell::html(
            format!(
                "{} <span class=\"id\">{}</span>",
                escape(&words::requirement_words(&r.id)),
                escape(&r.id)
            ),
            r.id.clone(),
        );
        let mut row = vec![name];
        if let Some(then) = &story.then {
            row.push(cell(then.requirements.iter().find(|x| x.id == r.id)));
        }
        row.push(cell(Some(r)));
        listing.row(row);
    }
    html.push_str(&listing.table());
    html
}

fn day_of(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_owned()
}

fn evidence(state: &domain::State, key: &str) -> String {
    let evidence = state.evidence_for(key);
    let mut html = String::from("<h2>Evidence</h2>\n");
    if evidence.is_empty() {
        html.push_str("<p>No evidence about this version yet.</p>\n");
        return html;
    }
    let mut listing = Listing::new(
        "Evaluations of this version",
        &["Suite", "Result", "Lab", "Assurance", "Evaluated", "Entry"],
    );
    for e in evidence {
        let result = match &e.sealed_result {
            Some(c) => Cell::html(
                format!(
                    "sealed: open to the lab and to auditors in scope (commitment <code>{}</code>)",
                    escape(&short(c))
                ),
                format!("sealed {c}"),
            ),
            None => Cell::text(
                e.metrics
                    .iter()
                    .map(|(k, v)| format!("{} = {v}", k.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        listing.row(vec![
            Cell::text(e.suite.clone()),
            result,
            Cell::html(
                format!(
                    "{} for {}",
                    party_link(state, &e.lab),
                    escape(&e.produced_for)
                ),
                format!("{} for {}", e.lab, e.produced_for),
            ),
            Cell::text(e.assurance.name()),
            Cell::text(day(e.evaluated_at)),
            Cell::html(
                entry_link(e.entry, &format!("{} evidence", e.suite)),
                e.entry.to_string(),
            ),
        ]);
    }
    html.push_str(&listing.table());
    html
}
