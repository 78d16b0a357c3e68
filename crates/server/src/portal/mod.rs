//! The public portal: server-rendered HTML, no JavaScript, readable on a phone. Each page leads
//! with what it means in plain words (what is in service, what is blocked and why, incidents,
//! anything overdue), then the detail, then how to check it. Landmarks (header, nav, main,
//! footer), a skip link, headings in order, tables that become stacked rows on narrow screens,
//! text that does not rely on colour, and contrast above WCAG AA. Every listing downloads as
//! CSV or JSON; unknown pages answer with an HTML page in the same layout (the API keeps its
//! JSON errors).

mod contract;
mod deployment;
mod entries;
mod home;
mod listing;
mod model;
mod party;
mod terms;
mod words;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use domain::updates::time;

pub use contract::{compliance, contract, contracts};
pub use deployment::{deployment, deployment_usage, usage};
pub use entries::{entry, log};
pub use home::home;
pub use model::{model, models};
pub use party::{designations, parties, party};

use crate::render::escape;
use crate::{ApiError, Instance};

const STYLE: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111;background:#fff;line-height:1.55;overflow-wrap:anywhere}
a{color:#0b4f9c}a:focus,a:hover{outline:2px solid #0b4f9c;outline-offset:2px}
.skip{position:absolute;left:-999px}.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
header,main,footer{max-width:62rem;margin:0 auto;padding:0 1rem}
header{border-bottom:1px solid #767676;padding-top:.5rem}
.brand{font-weight:700;margin:.25rem 0}.brand span{font-weight:400;color:#333}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.5rem 0}
nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}
h1{font-size:1.6rem;line-height:1.25;margin:1rem 0 .5rem}h2{font-size:1.3rem;margin-top:1.75rem}h3{font-size:1.1rem}
.id{font-size:.8rem;color:#444;font-family:ui-monospace,monospace}
.lead{font-size:1.08rem}
.summary{border:1px solid #767676;border-left:6px solid #0b4f9c;padding:.25rem 1rem;margin:1rem 0}
.summary li{margin:.3rem 0}
.badge{display:inline-block;border:1px solid;border-radius:.3rem;padding:0 .35rem;font-size:.85rem;font-weight:600}
.ok{color:#0a5a1f;background:#e8f5ec}.warn{color:#6b4a00;background:#fff4d6}.bad{color:#a1000e;background:#fde8e8}.info{color:#0b4f9c;background:#e8f0fb}.off{color:#444;background:#f0f0f0}
table{border-collapse:collapse;width:100%;margin:.75rem 0}
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th{overflow-wrap:normal}
dl.terms{display:grid;grid-template-columns:minmax(8rem,16rem) 1fr;gap:.2rem 1rem;margin:.5rem 0}
dl.terms dt{font-weight:600}dl.terms dd{margin:0}
pre{background:#f3f3f3;padding:.75rem;white-space:pre-wrap;overflow-wrap:anywhere}
code{font-size:.92em}
blockquote{border-left:4px solid #0b4f9c;margin:0;padding-left:1rem}
.notice{background:#fff4d6;border:1px solid #8a6100;padding:.5rem}
.flag{background:#fde8e8;border:1px solid #a1000e;padding:.5rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.75rem 0}
form.filters label{display:flex;flex-direction:column;font-size:.9rem;min-width:0;max-width:100%}
form.filters select{max-width:100%}
input,select,button{font:inherit;padding:.2rem .3rem;max-width:100%}
footer{border-top:1px solid #767676;margin-top:2rem;font-size:.9rem}
figure.chart{overflow-x:auto;margin:.5rem 0}figure.chart svg{min-width:640px}
svg{max-width:100%;height:auto}svg text{font-family:system-ui,sans-serif;font-size:12px}
@media (max-width:40rem){
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack,table.stack tbody,table.stack tr,table.stack td,table.stack th,table.stack caption{display:block;width:100%}
table.stack tr{border:1px solid #767676;margin:.5rem 0}
table.stack td,table.stack th{border:0;border-bottom:1px solid #ddd}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:.8rem;font-weight:600;color:#444}
dl.terms{grid-template-columns:1fr}dl.terms dd{margin-bottom:.4rem}
}
";

/// The sections of the navigation; a page names the one it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Contracts,
    Models,
    Usage,
    Parties,
    Designations,
    Log,
    Nowhere,
}

const NAV: [(Section, &str, &str); 7] = [
    (Section::Overview, "/", "Overview"),
    (Section::Contracts, "/contracts", "Contracts"),
    (Section::Models, "/models", "Model versions"),
    (Section::Usage, "/usage", "Usage"),
    (Section::Parties, "/parties", "Parties"),
    (Section::Designations, "/designations", "Designations"),
    (Section::Log, "/log", "Log"),
];

/// A page in the portal's layout, answered with `status`.
pub(crate) fn page_with(
    instance: &Instance,
    status: StatusCode,
    section: Section,
    title: &str,
    body: &str,
) -> Response {
    let nav: String = NAV
        .iter()
        .map(|(s, href, label)| {
            let current = if *s == section {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<li><a href=\"{href}\"{current}>{label}</a></li>")
        })
        .collect();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — Concordat</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n<p class=\"brand\"><a href=\"/\">Concordat</a> <span>public register {}</span></p>\n<nav aria-label=\"Main\"><ul>{nav}</ul></nav>\n</header>\n<main id=\"main\">\n{body}</main>\n<footer><p>Everything here is read from a public, signed transparency log; check it yourself with the commands on the <a href=\"/#verify\">overview page</a>. Machine-readable: <a href=\"/openapi.json\">API description</a>, <a href=\"/checkpoint\">latest checkpoint</a>.</p></footer>\n</body>\n</html>\n",
        escape(title),
        escape(instance.local.origin())
    );
    (status, [(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

pub(crate) fn page(instance: &Instance, section: Section, title: &str, body: &str) -> Response {
    page_with(instance, StatusCode::OK, section, title, body)
}

/// An error as a page: the status, what went wrong in words, and where to go instead.
pub(crate) fn error_page(instance: &Instance, error: &ApiError) -> Response {
    let heading = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "That address is not valid",
        s if s.is_server_error() => "Something went wrong on our side",
        _ => "This page cannot be shown",
    };
    let body = format!(
        "<h1>{heading}</h1>\n<p class=\"lead\">{}</p>\n<p>Status {}. Try the <a href=\"/\">overview</a>, the <a href=\"/contracts\">contracts</a> or <a href=\"/log\">search the log</a>.</p>\n",
        escape(&error.message),
        error.status.as_u16()
    );
    page_with(instance, error.status, Section::Nowhere, heading, &body)
}

/// A page handler's result as a response: an error becomes an error page.
pub(crate) fn answer(instance: &Instance, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|error| error_page(instance, &error))
}

/// What no route answers: JSON under the machine paths, a page everywhere else.
pub async fn not_found(State(instance): State<Arc<Instance>>, uri: Uri) -> Response {
    let path = uri.path();
    let machine = ["/api/", "/tile/"].iter().any(|p| path.starts_with(p))
        || [
            "/api",
            "/checkpoint",
            "/openapi.json",
            "/metrics",
            "/healthz",
        ]
        .contains(&path);
    let error = crate::error::no_route(uri.clone()).await;
    if machine {
        error.into_response()
    } else {
        error_page(
            &instance,
            &ApiError::not_found(format!("There is no page at {path}.")),
        )
    }
}

/// How a status reads, and how it is marked: words first, colour only as a second cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Ok,
    Warn,
    Bad,
    Info,
    Off,
}

pub(crate) fn badge(tone: Tone, words: &str) -> String {
    let class = match tone {
        Tone::Ok => "ok",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Info => "info",
        Tone::Off => "off",
    };
    format!("<span class=\"badge {class}\">{}</span>", escape(words))
}

/// A link to an entry that says what it is: `approval by defense-agency (entry 19)`.
pub(crate) fn entry_link(index: u64, what: &str) -> String {
    if what.is_empty() {
        format!("<a href=\"/log/{index}\">entry {index}</a>")
    } else {
        format!(
            "<a href=\"/log/{index}\">{} (entry {index})</a>",
            escape(what)
        )
    }
}

/// Entries as links: `entries 19 and 20`, each linked.
pub(crate) fn entry_links(indices: &[u64]) -> String {
    let links: Vec<String> = indices
        .iter()
        .map(|i| format!("<a href=\"/log/{i}\">{i}</a>"))
        .collect();
    match links.as_slice() {
        [] => String::new(),
        [one] => format!("entry {one}"),
        [rest @ .., last] => format!("entries {} and {last}", rest.join(", ")),
    }
}

/// A party by name, linked to its page, its id in small type.
pub(crate) fn party_link(state: &domain::State, id: &str) -> String {
    match state.party(id) {
        Some(p) => format!(
            "<a href=\"/parties/{}\">{}</a> <span class=\"id\">{}</span>",
            escape(id),
            escape(&p.name),
            escape(id)
        ),
        None => format!("<span class=\"id\">{}</span>", escape(id)),
    }
}

/// A party's name for running text, without a link.
pub(crate) fn party_name(state: &domain::State, id: &str) -> String {
    state
        .party(id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}

pub(crate) fn model_link(key: &str) -> String {
    format!("<a href=\"/models/{}\">{}</a>", escape(key), escape(key))
}

pub(crate) fn contract_link(state: &domain::State, id: &str) -> String {
    let title = state.contract(id).map_or(id, |c| c.title.as_str());
    format!(
        "<a href=\"/contracts/{}\">{}</a> <span class=\"id\">{}</span>",
        escape(id),
        escape(title),
        escape(id)
    )
}

pub(crate) fn deployment_link(contract: &str, name: &str) -> String {
    format!(
        "<a href=\"/deployments/{}/{}\">{}</a>",
        escape(contract),
        escape(name),
        escape(name)
    )
}

/// Names joined for a sentence: `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `1 request`, `2 requests`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn day(seconds: i64) -> String {
    time::format_day(seconds)
}

/// A time people read: `2026-10-03 06:13 UTC`.
pub(crate) fn when(seconds: i64) -> String {
    let instant = time::format_instant(seconds);
    match instant.split_once('T') {
        Some((date, rest)) => format!("{date} {} UTC", rest.get(..5).unwrap_or(rest)),
        None => instant,
    }
}

/// A span of seconds in words: `3 d 4 h`, `5 h 10 min`, `12 min`.
pub(crate) fn span(seconds: i64) -> String {
    time::format_span(seconds)
}

/// The first 12 hex digits of a digest, for tables (the full digest is on the entry).
pub(crate) fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}…", hex.get(..12).unwrap_or(hex))
}

/// The time the portal shows things as of: the wall clock, or the ledger's own clock when a
/// rehearsal's simulated clock has run ahead of it.
pub(crate) fn now(state: &domain::State) -> i64 {
    service::build::now().max(state.clock())
}
