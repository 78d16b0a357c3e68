//! The public portal: server-rendered HTML, no JavaScript, readable on a phone. Landmarks
//! (header, nav, main, footer), a skip link, labelled tables, text that does not rely on colour,
//! and contrast above WCAG AA.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use domain::updates::{self, DeploymentAction, time};
use domain::{Kind, State as LedgerState};
use serde::Deserialize;

use service::Instance as _;

use crate::render::{escape, html_fragment, inline};
use crate::{ApiError, Instance};

const STYLE: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff;line-height:1.55}
a{color:#0b4f9c}a:focus,a:hover{outline:2px solid #0b4f9c;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
header{border-bottom:1px solid #767676;padding-top:.5rem}
.brand{font-weight:700;margin:.25rem 0}.brand span{font-weight:400;color:#333}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;padding:0;margin:.5rem 0}
table{border-collapse:collapse;width:100%;margin:.75rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.25rem 0}
pre{background:#f3f3f3;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
code{font-size:.92em}
blockquote{border-left:4px solid #0b4f9c;margin:0;padding-left:1rem}
.met{color:#0a5a1f;font-weight:700}.unmet{color:#a1000e;font-weight:700}
.notice{background:#fff4d6;border:1px solid #8a6100;padding:.5rem}
footer{border-top:1px solid #767676;margin-top:2rem;font-size:.9rem}
svg text{font-family:system-ui,sans-serif;font-size:12px}
";

fn page(instance: &Instance, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — Concordat</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n<p class=\"brand\"><a href=\"/\">Concordat</a> <span>{}</span></p>\n<nav aria-label=\"Main\"><ul><li><a href=\"/contracts\">Contracts</a></li><li><a href=\"/models\">Model versions</a></li><li><a href=\"/parties\">Parties</a></li><li><a href=\"/designations\">Designations</a></li><li><a href=\"/log\">Log</a></li></ul></nav>\n</header>\n<main id=\"main\">\n{body}</main>\n<footer><p>Everything here is read from a public, signed transparency log; check it yourself with the commands on the <a href=\"/\">front page</a>. Machine-readable: <a href=\"/openapi.json\">API</a>, <a href=\"/checkpoint\">checkpoint</a>.</p></footer>\n</body>\n</html>\n",
        escape(title),
        escape(instance.local.origin())
    );
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}…", hex.get(..12).unwrap_or(hex))
}

fn entry_link(index: u64) -> String {
    format!("<a href=\"/log/{index}\">entry {index}</a>")
}

pub async fn home(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let checkpoint = instance.read(|r| r.latest_checkpoint())?;
    let state = instance.state();
    let base = base_url(&headers);
    let example = checkpoint.size.saturating_sub(1);
    let mut body = format!(
        "<h1>{}</h1>\n<p>A public ledger of AI engagements between governments and vendors: who the parties are, what each contract permits and forbids, which model versions were approved on what evidence, and what was rolled back. Every step is an entry signed by the party that took it, in a tamper-evident log anyone can check.</p>\n",
        escape(instance.local.origin())
    );
    if instance.local.simulated_clock() {
        body.push_str("<p class=\"notice\">This instance is a rehearsal: its clock is simulated, so the times its entries carry were not checked against a real clock.</p>\n");
    }
    body.push_str(&format!(
        "<h2>At a glance</h2>\n<table><caption>This instance</caption><tbody>\n<tr><th scope=\"row\">Entries in the log</th><td>{}</td></tr>\n<tr><th scope=\"row\">Parties</th><td><a href=\"/parties\">{}</a></td></tr>\n<tr><th scope=\"row\">Contracts</th><td><a href=\"/contracts\">{}</a></td></tr>\n<tr><th scope=\"row\">Model versions</th><td><a href=\"/models\">{}</a></td></tr>\n<tr><th scope=\"row\">Deployments</th><td>{}</td></tr>\n</tbody></table>\n",
        checkpoint.size,
        state.parties().count(),
        state.contracts().count(),
        state.models().count(),
        deployment_links(&state)
    ));
    body.push_str(&format!(
        "<h2>Check it yourself</h2>\n<p>The log's verifier key:</p>\n<pre><code>{}</code></pre>\n<p>The latest signed checkpoint:</p>\n<pre><code>{}</code></pre>\n<p>Fetch an entry and its inclusion proof, then verify them offline with the <code>concordat</code> tool:</p>\n<pre><code>curl -s {base}/api/entries/{example}/envelope &gt; entry.json\ncurl -s {base}/api/entries/{example}/proof &gt; entry.tlog-proof\nconcordat proof verify --key '{}' --entry entry.json entry.tlog-proof</code></pre>\n<p>The log is also served as C2SP tiles (<code>/checkpoint</code>, <code>/tile/…</code>), so standard transparency-log tools can audit it.</p>\n",
        escape(instance.local.verifier_key()),
        escape(&checkpoint.note),
        escape(instance.local.verifier_key())
    ));
    Ok(page(&instance, "Overview", &body))
}

fn deployment_links(state: &LedgerState) -> String {
    let links: Vec<String> = state
        .deployments()
        .map(|d| {
            format!(
                "<a href=\"/deployments/{}/{}\">{} of {}</a>",
                escape(&d.contract),
                escape(&d.name),
                escape(&d.name),
                escape(&d.contract)
            )
        })
        .collect();
    if links.is_empty() {
        "none yet".to_owned()
    } else {
        links.join(", ")
    }
}

pub async fn contracts(State(instance): State<Arc<Instance>>) -> Response {
    let state = instance.state();
    let mut body = String::from("<h1>Contracts</h1>\n");
    if state.contracts().next().is_none() {
        body.push_str("<p>No contract has been published yet.</p>\n");
    } else {
        body.push_str("<table><caption>Published contracts</caption><thead><tr><th scope=\"col\">Contract</th><th scope=\"col\">Version</th><th scope=\"col\">Parties</th><th scope=\"col\">Sealed addenda</th></tr></thead><tbody>\n");
        for c in state.contracts() {
            body.push_str(&format!(
                "<tr><td><a href=\"/contracts/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&c.id),
                escape(&c.title),
                escape(c.current().map_or("", |v| v.version.as_str())),
                escape(&c.parties.join(", ")),
                c.addenda.len()
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    page(&instance, "Contracts", &body)
}

/// A contract's page: who is bound, what it forbids and permits, its sealed addenda, the
/// versions offered and deployed under it, its usage, its history and its modules.
pub async fn contract(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let state = instance.state();
    let record = state
        .contract(&id)
        .ok_or_else(|| ApiError::not_found(format!("contract `{id}` is not published")))?;
    let policies = policy::from_files(&record.files).ok();
    let mut body = contract_heading(record);
    if let Some(policies) = &policies {
        body.push_str(&restrictions_section(policies));
    }
    body.push_str(&addenda_section(record));
    body.push_str(&offered_section(&state, &id));
    body.push_str(&deployments_section(&state, &id));
    body.push_str(&usage_section(&state, &id));
    body.push_str(&history_section(record));
    // The ledger keeps each contract's package parsed; only its policies are loaded here.
    if let Some(package) = state.package(&id) {
        body.push_str("<h2>The contract, module by module</h2>\n");
        body.push_str(&html_fragment(package, policies.as_ref()));
    }
    Ok(page(&instance, &record.title, &body))
}

fn contract_heading(record: &domain::ContractRecord) -> String {
    let current = record.current();
    format!(
        "<h1>{}</h1>\n<p>Contract <code>{}</code>, version {}, published at {}. Parties: {}.</p>\n",
        escape(&record.title),
        escape(&record.id),
        escape(current.map_or("", |v| v.version.as_str())),
        record
            .versions
            .first()
            .map_or(String::new(), |v| entry_link(v.entry)),
        record
            .parties
            .iter()
            .map(|p| escape(p))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn restrictions_section(policies: &policy::Policies) -> String {
    let mut body = String::from(
        "<h2>What it forbids and what it permits</h2>\n<p>The use restrictions are enforced on every request; a forbidding clause always wins, and anything not permitted is refused.</p>\n",
    );
    for (effect, heading) in [
        (policy::Effect::Forbid, "Forbidden"),
        (policy::Effect::Permit, "Permitted"),
    ] {
        body.push_str(&format!("<h3>{heading}</h3>\n<ul>\n"));
        for clause in policies.clauses().filter(|c| c.effect == effect) {
            let words = if clause.comment.is_empty() {
                "(no description)".to_owned()
            } else {
                clause.comment.replace('\n', " ")
            };
            body.push_str(&format!(
                "<li><strong>{}</strong> (clause <code>{}</code>)</li>\n",
                escape(&words),
                escape(&clause.id)
            ));
        }
        body.push_str("</ul>\n");
    }
    body
}

fn addenda_section(record: &domain::ContractRecord) -> String {
    if record.addenda.is_empty() {
        return String::new();
    }
    let mut body = String::from(
        "<h2>Sealed addenda</h2>\n<p>Classified terms stay sealed; the ledger holds a commitment to each text (SHA-256 of a random salt and the text), which a party can later open.</p>\n<table><caption>Addenda</caption><thead><tr><th scope=\"col\">Addendum</th><th scope=\"col\">Classification</th><th scope=\"col\">Commitment</th><th scope=\"col\">Disclosed</th></tr></thead><tbody>\n",
    );
    for a in &record.addenda {
        body.push_str(&format!(
            "<tr><td>{} (<code>{}</code>)</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
            escape(&a.title),
            escape(&a.id),
            escape(&a.classification),
            escape(&a.commitment),
            a.disclosed_at.map_or("no".to_owned(), entry_link)
        ));
    }
    body.push_str("</tbody></table>\n");
    body
}

fn offered_section(state: &domain::State, id: &str) -> String {
    let offered: Vec<&updates::ModelVersion> = state
        .models()
        .filter(|m| m.offers.contains_key(id))
        .collect();
    if offered.is_empty() {
        return String::new();
    }
    let mut body = String::from("<h2>Model versions under this contract</h2>\n<ul>\n");
    for m in offered {
        let status = m.offers.get(id).map_or("", |o| o.status.name());
        body.push_str(&format!(
            "<li><a href=\"/models/{}\">{}</a>: {}</li>\n",
            escape(&m.key()),
            escape(&m.key()),
            status
        ));
    }
    body.push_str("</ul>\n");
    body
}

fn deployments_section(state: &domain::State, id: &str) -> String {
    let deployments: Vec<&updates::Deployment> =
        state.deployments().filter(|d| d.contract == id).collect();
    if deployments.is_empty() {
        return String::new();
    }
    let mut body = String::from("<h2>Deployments</h2>\n<ul>\n");
    for d in deployments {
        body.push_str(&format!(
            "<li><a href=\"/deployments/{}/{}\">{}</a>: in service {}</li>\n",
            escape(&d.contract),
            escape(&d.name),
            escape(&d.name),
            escape(d.active.as_deref().unwrap_or("nothing"))
        ));
    }
    body.push_str("</ul>\n");
    body
}

fn usage_section(state: &domain::State, id: &str) -> String {
    let usage: Vec<&updates::UsageBatch> = state.usage(Some(id)).collect();
    if usage.is_empty() {
        return String::new();
    }
    let mut body = String::from(
        "<h2>Usage</h2>\n<p>What the deployments were asked, in batches: how many requests the use restrictions allowed and denied, and which clauses decided. The requests themselves are open only to the auditors whose audit rights include usage records; each of their reads is logged.</p>\n<table><caption>Usage batches</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Deployment</th><th scope=\"col\">Period</th><th scope=\"col\">Requests</th><th scope=\"col\">Allowed</th><th scope=\"col\">Denied</th><th scope=\"col\">Decided by</th></tr></thead><tbody>\n",
    );
    for batch in usage {
        let clauses: Vec<String> = batch
            .clauses
            .iter()
            .map(|(clause, count)| format!("<code>{}</code> {count}", escape(clause)))
            .collect();
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            entry_link(batch.entry),
            escape(&batch.deployment),
            time::format_instant(batch.from),
            time::format_instant(batch.to),
            batch.records,
            batch.allowed,
            batch.denied,
            if clauses.is_empty() { "no clause".to_owned() } else { clauses.join(", ") }
        ));
    }
    body.push_str("</tbody></table>\n");
    body
}

fn history_section(record: &domain::ContractRecord) -> String {
    let mut body = String::from(
        "<h2>Version history</h2>\n<table><caption>Versions</caption><thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Digest</th><th scope=\"col\">Entry</th><th scope=\"col\">What changed</th></tr></thead><tbody>\n",
    );
    for v in &record.versions {
        let diff = if v.diff.is_empty() {
            "first version".to_owned()
        } else {
            format!(
                "<details><summary>diff</summary><pre><code>{}</code></pre></details>",
                escape(&v.diff)
            )
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{diff}</td></tr>\n",
            escape(&v.version),
            escape(&short(&v.digest)),
            entry_link(v.entry)
        ));
    }
    body.push_str("</tbody></table>\n");
    body
}

pub async fn models(State(instance): State<Arc<Instance>>) -> Response {
    let state = instance.state();
    let mut body = String::from(
        "<h1>Model versions</h1>\n<p>A version enters service only when its contract's gate is met: notice given, recognised evidence meeting each threshold, and the approvers' signatures.</p>\n",
    );
    if state.models().next().is_none() {
        body.push_str("<p>No model version has been announced yet.</p>\n");
    } else {
        body.push_str("<table><caption>Announced versions</caption><thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Vendor</th><th scope=\"col\">Service from</th><th scope=\"col\">Standing</th></tr></thead><tbody>\n");
        for m in state.models() {
            let standing: Vec<String> = m
                .offers
                .values()
                .map(|o| format!("{}: {}", escape(&o.contract), o.status.name()))
                .collect();
            body.push_str(&format!(
                "<tr><td><a href=\"/models/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&m.key()),
                escape(&m.key()),
                escape(&m.vendor),
                escape(&m.service_from),
                standing.join("; ")
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    page(&instance, "Model versions", &body)
}

pub async fn model(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(key) = path?;
    let state = instance.state();
    let m = state
        .model(&key)
        .ok_or_else(|| ApiError::not_found(format!("model version `{key}` is not registered")))?;
    let now = service::build::now().max(state.clock());
    let mut body = format!(
        "<h1>{}</h1>\n<p>Announced by <code>{}</code> at {} for service from {}. Digest <code>{}</code>{}.</p>\n",
        escape(&key),
        escape(&m.vendor),
        entry_link(m.registered_at),
        escape(&m.service_from),
        escape(&m.digest),
        m.api_version
            .as_deref()
            .map(|v| format!(", API version <code>{}</code>", escape(v)))
            .unwrap_or_default()
    );
    if !m.release_notes.is_empty() {
        body.push_str(&format!(
            "<blockquote>{}</blockquote>\n",
            escape(&m.release_notes)
        ));
    }
    for offer in m.offers.values() {
        let Ok(gate) = updates::evaluate(&state, &offer.contract, &m.line, &m.version, now) else {
            continue;
        };
        body.push_str(&format!(
            "<h2>Under <a href=\"/contracts/{}\">{}</a>: {} — gate {}</h2>\n<table><caption>Requirements, as of {}</caption><thead><tr><th scope=\"col\">Requirement</th><th scope=\"col\">Status</th><th scope=\"col\">Details</th></tr></thead><tbody>\n",
            escape(&offer.contract),
            escape(&offer.contract),
            offer.status.name(),
            if gate.met() { "met" } else { "not met" },
            escape(&gate.at)
        ));
        for r in &gate.requirements {
            let entries: Vec<String> = r.by.iter().map(|e| entry_link(*e)).collect();
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td>{}{}</td></tr>\n",
                escape(&r.id),
                if r.met { "met" } else { "unmet" },
                if r.met { "Met" } else { "Unmet" },
                inline(&r.detail),
                if entries.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", entries.join(", "))
                }
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    let evidence = state.evidence_for(&key);
    body.push_str("<h2>Evidence</h2>\n");
    if evidence.is_empty() {
        body.push_str("<p>No evidence about this version yet.</p>\n");
    } else {
        body.push_str("<table><caption>Evaluations of this version</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Suite</th><th scope=\"col\">Lab</th><th scope=\"col\">Assurance</th><th scope=\"col\">Result</th><th scope=\"col\">Evaluated</th></tr></thead><tbody>\n");
        for e in evidence {
            let result = match &e.sealed_result {
                Some(c) => format!(
                    "sealed: open to the lab and to auditors in scope (commitment <code>{}</code>)",
                    escape(&short(c))
                ),
                None => escape(
                    &e.metrics
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{} (for {})</td><td>{}</td><td>{result}</td><td>{}</td></tr>\n",
                entry_link(e.entry),
                escape(&e.suite),
                escape(&e.lab),
                escape(&e.produced_for),
                e.assurance.name(),
                time::format_day(e.evaluated_at)
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    Ok(page(&instance, &key, &body))
}

/// A version timeline: one mark per step, left to right, labelled in text.
fn timeline(deployment: &updates::Deployment) -> String {
    let steps = deployment.events.len();
    let width = 120 * steps.max(1) + 40;
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"timeline-title\" viewBox=\"0 0 {width} 110\" width=\"100%\" style=\"max-width:{width}px\">\n<title id=\"timeline-title\">Versions in service in {}, in order</title>\n<line x1=\"20\" y1=\"50\" x2=\"{}\" y2=\"50\" stroke=\"#555\" stroke-width=\"2\"/>\n",
        escape(&deployment.name),
        width - 20
    );
    for (i, event) in deployment.events.iter().enumerate() {
        let x = 60 + 120 * i;
        let (fill, verb) = match event.action {
            DeploymentAction::Activated => ("#0b4f9c", "activated"),
            DeploymentAction::RolledBack => ("#a1000e", "rolled back to"),
            DeploymentAction::Suspended => ("#5c5c5c", "suspended"),
        };
        let version = event
            .version
            .split_once('@')
            .map_or(event.version.as_str(), |(_, v)| v);
        svg.push_str(&format!(
            "<circle cx=\"{x}\" cy=\"50\" r=\"9\" fill=\"{fill}\"/>\n<text x=\"{x}\" y=\"28\" text-anchor=\"middle\">{verb}</text>\n<text x=\"{x}\" y=\"80\" text-anchor=\"middle\">{}</text>\n<text x=\"{x}\" y=\"98\" text-anchor=\"middle\">entry {}</text>\n",
            escape(version),
            event.entry
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

pub async fn deployment(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path((contract, name)) = path?;
    let state = instance.state();
    let d = state
        .deployment(&updates::deployment_key(&contract, &name))
        .ok_or_else(|| {
            ApiError::not_found(format!("contract `{contract}` has no deployment `{name}`"))
        })?;
    let mut body = format!(
        "<h1>Deployment {} of <a href=\"/contracts/{}\">{}</a></h1>\n<p>In service now: <strong>{}</strong>.</p>\n",
        escape(&name),
        escape(&contract),
        escape(&contract),
        d.active
            .as_deref()
            .map_or("nothing".to_owned(), |v| format!(
                "<a href=\"/models/{}\">{}</a>",
                escape(v),
                escape(v)
            ))
    );
    body.push_str("<h2>Timeline</h2>\n");
    body.push_str(&timeline(d));
    body.push_str("<table><caption>Every change of version</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">When</th><th scope=\"col\">What</th><th scope=\"col\">By</th><th scope=\"col\">Why</th></tr></thead><tbody>\n");
    for e in &d.events {
        let what = match e.action {
            DeploymentAction::Activated => format!("activated {}", escape(&e.version)),
            DeploymentAction::Suspended => format!("suspended {}", escape(&e.version)),
            DeploymentAction::RolledBack => format!(
                "rolled back from {} to {}",
                escape(e.previous.as_deref().unwrap_or("?")),
                escape(&e.version)
            ),
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{what}</td><td>{}</td><td>{}</td></tr>\n",
            entry_link(e.entry),
            time::format_instant(e.at),
            escape(&e.party),
            escape(e.reason.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&incidents(&state, &contract, &name));
    body.push_str(&service_levels(&state, &contract, &name));
    Ok(page(&instance, &format!("Deployment {name}"), &body))
}

/// A span of seconds in words: `3 d 4 h`, `5 h 10 min`, `12 min`.
fn span(seconds: i64) -> String {
    let seconds = seconds.abs();
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// Who pays what for an incident, once a finding allocates its damages.
fn liability(state: &domain::State, incident: &domain::incident::Incident) -> String {
    let Some(finding) = &incident.finding else {
        return String::new();
    };
    let money = |amount: u64| format!("{amount} {}", escape(&finding.currency));
    let mut html = format!(
        "<p>Finding by {} in entry {}: the fault was in the <strong>{}</strong>; damages {}. {}</p>\n",
        escape(&finding.party),
        entry_link(finding.entry),
        escape(&finding.root_cause),
        money(finding.damages),
        escape(&finding.summary)
    );
    match domain::incident::liability::allocate(state, incident) {
        Ok(allocation) => {
            html.push_str(&format!("<table><caption>Who pays for {}, under the contract's liability module</caption><thead><tr><th scope=\"col\">Party</th><th scope=\"col\">Share</th><th scope=\"col\">Owes</th><th scope=\"col\">Cap</th><th scope=\"col\">May recover</th></tr></thead><tbody>\n", escape(&incident.id)));
            for part in &allocation.parts {
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{} %</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(&part.party),
                    part.share,
                    money(part.owed),
                    part.capped_by
                        .as_deref()
                        .map_or("not reached".to_owned(), escape),
                    part.recoverable.as_ref().map_or(String::new(), |r| format!(
                        "{} from {}",
                        money(r.amount),
                        escape(&r.from)
                    ))
                ));
            }
            html.push_str(&format!(
                "</tbody></table>\n<p>Beyond the caps: {}.</p>\n",
                money(allocation.uncovered)
            ));
        }
        Err(why) => html.push_str(&format!(
            "<p>Not allocated: {}.</p>\n",
            escape(&why.to_string())
        )),
    }
    html
}

/// The deployment's incidents, each with its duties' clocks as they stand now.
fn incidents(state: &domain::State, contract: &str, name: &str) -> String {
    use domain::incident::clocks::{DutyStatus, duties};
    let now = service::build::now();
    let mut html = String::new();
    for incident in state
        .incidents(Some(contract))
        .filter(|i| i.deployment == name)
    {
        if html.is_empty() {
            html.push_str("<h2>Incidents</h2>\n");
        }
        html.push_str(&format!(
            "<h3 id=\"{}\">{}: {}{}</h3>\n<p>{} Reported by {}, entry {}. Harms: {}.</p>\n",
            escape(&incident.id),
            escape(&incident.id),
            escape(incident.severity.name()),
            if incident.closed.is_some() {
                " (closed)"
            } else {
                ""
            },
            escape(&incident.summary),
            escape(incident.reporter().unwrap_or("?")),
            incident
                .reports
                .first()
                .map_or(String::new(), |r| entry_link(r.entry)),
            escape(&incident.harms.join(", "))
        ));
        if let Some(step) = &incident.rollback {
            html.push_str(&format!(
                "<p>Rolled back from {} to {} by {} in entry {}{}.</p>\n",
                escape(&step.from),
                escape(&step.to),
                escape(&step.party),
                entry_link(step.entry),
                if step.automatic {
                    ", automatically on the report, as the contract says"
                } else {
                    ""
                }
            ));
        }
        html.push_str(&format!("<table><caption>Duties of {}, as of {}</caption><thead><tr><th scope=\"col\">Duty</th><th scope=\"col\">Owed by</th><th scope=\"col\">To</th><th scope=\"col\">Due</th><th scope=\"col\">Status</th><th scope=\"col\">Source</th></tr></thead><tbody>\n", escape(&incident.id), time::format_instant(now)));
        for duty in duties(state, incident, now) {
            let status = match &duty.status {
                DutyStatus::Met {
                    entry, early_by, ..
                } => {
                    format!(
                        "met by entry {}, {} early",
                        entry_link(*entry),
                        span(*early_by)
                    )
                }
                DutyStatus::MetLate { entry, late_by, .. } => {
                    format!(
                        "<strong>met late</strong> by entry {}, {} late",
                        entry_link(*entry),
                        span(*late_by)
                    )
                }
                DutyStatus::Due { left } => format!("due: {} left", span(*left)),
                DutyStatus::Overdue { by } => format!("<strong>overdue</strong> by {}", span(*by)),
                DutyStatus::NotStarted => "not started: the party is not aware yet".to_owned(),
                DutyStatus::NotApplicable { why } => format!("does not apply: {}", escape(why)),
            };
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>\n",
                escape(&duty.what),
                escape(duty.owed_by.as_deref().unwrap_or("nobody")),
                escape(&duty.to),
                duty.due.map_or(String::new(), time::format_instant),
                escape(&duty.source)
            ));
        }
        html.push_str("</tbody></table>\n");
        html.push_str(&liability(state, incident));
        if let Some(closed) = &incident.closed {
            html.push_str(&format!(
                "<p>Closed by {} in entry {}: {} Remediation: {}</p>\n",
                escape(&closed.party),
                entry_link(closed.entry),
                escape(&closed.review),
                escape(&closed.remediation)
            ));
        }
    }
    html
}

/// The deployment's service levels over the contract's window, from its gateways' usage.
fn service_levels(state: &domain::State, contract: &str, name: &str) -> String {
    let Some(targets) = state
        .contract(contract)
        .and_then(|record| service::sla::targets(&record.files))
    else {
        return String::new();
    };
    let batches: Vec<updates::UsageBatch> = state.usage(Some(contract)).cloned().collect();
    let Ok(report) =
        service::sla::report(contract, name, &targets, &batches, service::build::now())
    else {
        return String::new();
    };
    let mut html = format!(
        "<h2>Service levels</h2>\n<p>Measured by the gateways over the last {} days: {} calls answered by the provider, {} failed there, from {} usage entries.</p>\n<table><caption>The contract's targets, and what the records give</caption><thead><tr><th scope=\"col\">Term</th><th scope=\"col\">Target</th><th scope=\"col\">Measured</th><th scope=\"col\">Status</th></tr></thead><tbody>\n",
        targets.window_days,
        report.served,
        report.upstream_errors,
        report.batches.len()
    );
    for check in &report.checks {
        let measured = match check.measured {
            None => "nothing measured yet".to_owned(),
            Some(m) if m >= u64::MAX as f64 => "beyond 60 s".to_owned(),
            Some(m) => format!("{m:.2}"),
        };
        html.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{measured}</td><td>{}</td></tr>\n",
            escape(&check.term.replace('_', " ")),
            check.target,
            if check.met {
                "met"
            } else {
                "<strong>breached</strong>"
            }
        ));
    }
    html.push_str("</tbody></table>\n");
    html
}

pub async fn parties(State(instance): State<Arc<Instance>>) -> Response {
    let state = instance.state();
    let mut body = String::from(
        "<h1>Parties</h1>\n<table><caption>Registered parties</caption><thead><tr><th scope=\"col\">Party</th><th scope=\"col\">Roles</th><th scope=\"col\">Jurisdictions</th><th scope=\"col\">Registered</th><th scope=\"col\">Keys</th></tr></thead><tbody>\n",
    );
    for p in state.parties() {
        let roles: Vec<&str> = p.roles.iter().map(|r| r.name()).collect();
        let keys = state.keys_of(&p.id).filter(|k| k.is_active()).count();
        body.push_str(&format!(
            "<tr><td>{} (<code>{}</code>)</td><td>{}</td><td>{}</td><td>{}</td><td>{keys} active</td></tr>\n",
            escape(&p.name),
            escape(&p.id),
            roles.join(", "),
            escape(&p.jurisdictions.join(", ")),
            entry_link(p.registered_at)
        ));
    }
    body.push_str("</tbody></table>\n");
    page(&instance, "Parties", &body)
}

/// Supply-chain-risk designations, each with its grounds, scope and history.
pub async fn designations(State(instance): State<Arc<Instance>>) -> Response {
    use domain::designation::Subject;
    let state = instance.state();
    let now = service::build::now();
    let mut body = String::from("<h1>Supply-chain-risk designations</h1>\n");
    let mut any = false;
    for d in state.designations() {
        any = true;
        let subject = match &d.subject {
            Subject::Party { id } => format!("party <code>{}</code>", escape(id)),
            Subject::ModelLine { line } => format!("model line <code>{}</code>", escape(line)),
        };
        let standing = if d.lifted.is_some() {
            "lifted"
        } else if d.in_force(now) {
            "in force"
        } else {
            "not yet in force"
        };
        body.push_str(&format!(
            "<h2 id=\"{}\">{}: {subject} — {standing}</h2>\n<p>By {} in entry {}, for contracts in {}. Grounds: {}. {}</p>\n",
            escape(&d.id),
            escape(&d.id),
            escape(&d.authority),
            entry_link(d.entry),
            escape(&d.scope.join(", ")),
            escape(&d.justification.grounds.join(", ")),
            escape(&d.justification.summary)
        ));
        body.push_str(&format!("<table><caption>History of {}</caption><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Entry</th><th scope=\"col\">What</th></tr></thead><tbody>\n", escape(&d.id)));
        let mut row = |at: i64, entry: u64, what: String| {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{what}</td></tr>\n",
                time::format_instant(at),
                entry_link(entry)
            ));
        };
        row(
            d.effective_at,
            d.entry,
            format!(
                "in force; appeal open until {}",
                time::format_instant(d.appeal_until)
            ),
        );
        if let Some(appeal) = &d.appeal {
            row(
                appeal.at,
                appeal.entry,
                format!(
                    "appealed by {}: {}",
                    escape(&appeal.party),
                    escape(&appeal.text)
                ),
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
            );
        }
        body.push_str("</tbody></table>\n");
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
    page(&instance, "Designations", &body)
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    before: Option<u64>,
}

const LOG_PAGE: u64 = 50;

pub async fn log(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let size = instance.read(|r| r.latest_checkpoint())?.size;
    let end = query.before.unwrap_or(size).min(size);
    let start = end.saturating_sub(LOG_PAGE);
    let mut body = format!(
        "<h1>The log</h1>\n<p>{size} entries. Each links to its statement, its signers and its inclusion proof.</p>\n<table><caption>Entries {start} to {}</caption><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Kind</th><th scope=\"col\">Signed by</th></tr></thead><tbody>\n",
        end.saturating_sub(1)
    );
    for index in (start..end).rev() {
        let entry = instance.local.entry(index)?;
        let signers: Vec<&str> = entry.signers.iter().map(|s| s.party.as_str()).collect();
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            entry_link(index),
            escape(entry.kind.as_deref().unwrap_or("unknown")),
            escape(&signers.join(", "))
        ));
    }
    body.push_str("</tbody></table>\n");
    if start > 0 {
        body.push_str(&format!(
            "<p><a href=\"/log?before={start}\">Older entries</a></p>\n"
        ));
    }
    Ok(page(&instance, "Log", &body))
}

pub async fn entry(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Path(index) = path?;
    let entry = instance.local.entry(index)?;
    let size = instance.read(|r| r.latest_checkpoint())?.size;
    let proof = instance.local.proof(index)?;
    let kind = entry.kind.clone().unwrap_or_else(|| "unknown".to_owned());
    let description = Kind::from_name(&kind).map_or("", Kind::describe);
    let signers: Vec<String> = entry
        .signers
        .iter()
        .map(|s| {
            format!(
                "<code>{}</code> (key <code>{}…</code>)",
                escape(&s.party),
                escape(s.keyid.get(..16).unwrap_or(""))
            )
        })
        .collect();
    let statement = serde_json::to_string_pretty(&entry.statement).unwrap_or_default();
    let body = format!(
        "<h1>Entry {index}: {}</h1>\n<p>{}.</p>\n<p>Signed by {}.</p>\n<h2>Statement</h2>\n<pre><code>{}</code></pre>\n<h2>Inclusion proof</h2>\n<p>This proof ties the entry to the latest signed checkpoint. Fetch the <a href=\"/api/entries/{index}/envelope\">envelope</a> and the <a href=\"/api/entries/{index}/proof\">proof</a> and check them offline with <code>concordat proof verify</code>.</p>\n<pre><code>{}</code></pre>\n<p>{}{}</p>\n",
        escape(&kind),
        escape(description),
        if signers.is_empty() {
            "no registered key".to_owned()
        } else {
            signers.join(", ")
        },
        escape(&statement),
        escape(&proof),
        if index > 0 {
            format!("<a href=\"/log/{}\">Previous entry</a> ", index - 1)
        } else {
            String::new()
        },
        if index + 1 < size {
            format!("<a href=\"/log/{}\">Next entry</a>", index + 1)
        } else {
            String::new()
        }
    );
    Ok(page(&instance, &format!("Entry {index}"), &body))
}
