//! The log: a navigable listing (time, kind, subject, signers), filtered by kind, party,
//! contract and model, searched by index, id or digest, downloadable as CSV or JSON; and each
//! entry with every name it mentions linked, contract files as text, and its inclusion proof
//! checked here against the latest signed checkpoint.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Kind;
use serde::Deserialize;
use serde_json::Value;

use super::listing::{Cell, Format, Listing, downloads};
use super::{Section, Tone, and_list, answer, badge, page, party_link, when};
use crate::Instance;
use crate::render::escape;
use service::Instance as _;

/// When an entry says it was made (its predicate's `at`), if it says.
pub(crate) fn logged_at(instance: &Instance, index: u64) -> Option<i64> {
    let entry = instance.local.entry(index).ok()?;
    stated_at(&entry.statement.predicate)
}

fn stated_at(predicate: &Value) -> Option<i64> {
    let at = predicate.get("at")?.as_str()?;
    domain::updates::time::parse_instant("at", at).ok()
}

/// The names an entry mentions, as the ledger knows them.
#[derive(Debug, Default)]
struct Mentions {
    parties: BTreeSet<String>,
    contracts: BTreeSet<String>,
    models: BTreeSet<String>,
}

impl Mentions {
    fn of(state: &domain::State, predicate: &Value, signers: &[String]) -> Mentions {
        fn walk(state: &domain::State, value: &Value, found: &mut Mentions) {
            match value {
                Value::String(text) => {
                    if state.party(text).is_some() {
                        found.parties.insert(text.clone());
                    }
                    if state.contract(text).is_some() {
                        found.contracts.insert(text.clone());
                    }
                    if state.model(text).is_some() {
                        found.models.insert(text.clone());
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(state, v, found)),
                Value::Object(object) => {
                    if let (Some(Value::String(line)), Some(Value::String(version))) =
                        (object.get("line"), object.get("version"))
                    {
                        found.models.insert(format!("{line}@{version}"));
                    }
                    for (key, v) in object {
                        // A contract's files are text, not names.
                        if key != "files" {
                            walk(state, v, found);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut found = Mentions::default();
        walk(state, predicate, &mut found);
        // Mirrored evidence: the model the other member's entry is about. Its parties are that
        // ledger's, not this one's.
        if let Some(Value::String(envelope)) = predicate.get("envelope")
            && let Ok(envelope) = attest::Envelope::parse(envelope.as_bytes())
            && let Ok(statement) = attest::Statement::parse(&envelope.payload)
        {
            let mut mirrored = Mentions::default();
            walk(state, &statement.predicate, &mut mirrored);
            found.models.append(&mut mirrored.models);
        }
        found.parties.extend(signers.iter().cloned());
        found
    }

    /// The subject in a few links: the model, else the contract, else the parties.
    fn subject(&self, state: &domain::State) -> (String, String) {
        let links = |items: &BTreeSet<String>, link: &dyn Fn(&str) -> String| {
            items.iter().take(3).map(|i| link(i)).collect::<Vec<_>>()
        };
        let mut html = Vec::new();
        let mut text = Vec::new();
        if !self.models.is_empty() {
            html.extend(links(&self.models, &super::model_link));
            text.extend(self.models.iter().cloned());
        }
        if !self.contracts.is_empty() {
            html.extend(links(&self.contracts, &|c| super::contract_link(state, c)));
            text.extend(self.contracts.iter().cloned());
        }
        if html.is_empty() {
            html.extend(links(&self.parties, &|p| party_link(state, p)));
            text.extend(self.parties.iter().cloned());
        }
        (html.join(", "), text.join(" "))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    before: Option<u64>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    contract: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    format: Format,
}

impl LogQuery {
    fn filtered(&self) -> bool {
        !(self.kind.is_empty()
            && self.party.is_empty()
            && self.contract.is_empty()
            && self.model.is_empty()
            && self.q.is_empty())
    }

    /// The query string of the filters (without `before` and `format`).
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("kind", &self.kind),
            ("party", &self.party),
            ("contract", &self.contract),
            ("model", &self.model),
            ("q", &self.q),
        ] {
            if !value.is_empty() {
                parts.push(format!("{name}={}", percent(value)));
            }
        }
        parts.join("&")
    }
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Entries a page shows, and how many it reads at most looking for matches.
const LOG_PAGE: usize = 50;
const SCAN: u64 = 5_000;

/// Where a search for an exact name goes: the page of that party, contract or version.
fn named(state: &domain::State, q: &str) -> Option<String> {
    if let Ok(index) = q.parse::<u64>() {
        return Some(format!("/log/{index}"));
    }
    if state.party(q).is_some() {
        return Some(format!("/parties/{q}"));
    }
    if state.contract(q).is_some() {
        return Some(format!("/contracts/{q}"));
    }
    if state.model(q).is_some() {
        return Some(format!("/models/{q}"));
    }
    None
}

// tidy: long function: filters, scan, listing and page of the log in one place.
pub async fn log(
    State(instance): State<Arc<Instance>>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query?;
        let state = instance.state();
        let q = query.q.trim().to_lowercase();
        if query.format == Format::Html
            && let Some(target) = named(&state, query.q.trim())
            && query.kind.is_empty()
            && query.party.is_empty()
            && query.contract.is_empty()
            && query.model.is_empty()
        {
            return Ok(Redirect::to(&target).into_response());
        }
        let digest = q.strip_prefix("sha256:").unwrap_or(&q).to_owned();
        let size = instance.read(|r| r.latest_checkpoint())?.size;
        let end = query.before.unwrap_or(size).min(size);
        let mut listing = Listing::new("", &["Time", "Kind", "Subject", "Signed by", "Entry"]);
        let mut index = end;
        let mut scanned = 0;
        while index > 0 && listing.rows.len() < LOG_PAGE && scanned < SCAN {
            index -= 1;
            scanned += 1;
            let entry = instance.local.entry(index)?;
            let kind = entry.kind.clone().unwrap_or_else(|| "unknown".to_owned());
            let signers: Vec<String> = entry.signers.iter().map(|s| s.party.clone()).collect();
            let mentions = Mentions::of(&state, &entry.statement.predicate, &signers);
            let keep = (query.kind.is_empty() || query.kind == kind)
                && (query.party.is_empty() || mentions.parties.contains(&query.party))
                && (query.contract.is_empty() || mentions.contracts.contains(&query.contract))
                && (query.model.is_empty()
                    || mentions.models.contains(&query.model)
                    || mentions
                        .models
                        .iter()
                        .any(|m| m.split('@').next() == Some(query.model.as_str())))
                && (q.is_empty() || {
                    let text = serde_json::to_string(&entry.statement)
                        .unwrap_or_default()
                        .to_lowercase();
                    text.contains(&q) || (digest.len() >= 8 && text.contains(&digest))
                });
            if !keep {
                continue;
            }
            let (subject_html, subject_text) = mentions.subject(&state);
            let at = stated_at(&entry.statement.predicate);
            let signed: Vec<String> = signers.iter().map(|p| party_link(&state, p)).collect();
            listing.row(vec![
                Cell::text(at.map_or(String::new(), when)),
                Cell::html(
                    format!(
                        "<a href=\"/log?kind={}\">{}</a>",
                        escape(&kind),
                        escape(&kind)
                    ),
                    kind.clone(),
                ),
                Cell::html(subject_html, subject_text),
                Cell::html(and_list(&signed), signers.join(" ")),
                Cell::html(
                    format!(
                        "<a href=\"/log/{index}\">entry {index}<span class=\"vh\"> ({})</span></a>",
                        escape(&kind)
                    ),
                    index.to_string(),
                ),
            ]);
        }
        if let Some(download) = listing.download(query.format, "log") {
            return Ok(download);
        }
        listing.caption = if query.filtered() {
            format!("Matching entries from {index} to {}", end.saturating_sub(1))
        } else {
            format!("Entries {index} to {}, newest first", end.saturating_sub(1))
        };
        let mut body = format!(
            "<h1>The log</h1>\n<p class=\"lead\">{size} entries, each a step signed by the party that took it. Each links to its statement, its signers and its inclusion proof.</p>\n{}",
            filter_form(&state, &query)
        );
        if listing.is_empty() {
            body.push_str("<p>No entry matches in this stretch of the log.</p>\n");
        } else {
            body.push_str(&listing.table());
        }
        let filters = query.filters();
        let before_query = if filters.is_empty() {
            String::new()
        } else {
            format!("{filters}&")
        };
        body.push_str(&downloads(
            "/log",
            &format!("{before_query}before={end}"),
            "these entries",
        ));
        if index > 0 {
            body.push_str(&format!(
                "<p><a href=\"/log?{}before={index}\">Older entries{}</a></p>\n",
                escape(&before_query),
                if query.filtered() { " (search on)" } else { "" }
            ));
        }
        Ok(page(&instance, Section::Log, "Log", &body))
    })();
    answer(&instance, result)
}

fn filter_form(state: &domain::State, query: &LogQuery) -> String {
    let select = |name: &str, label: &str, current: &str, options: Vec<(String, String)>| {
        let mut html =
            format!("<label>{label}<select name=\"{name}\"><option value=\"\">any</option>");
        for (value, text) in options {
            let selected = if value == current { " selected" } else { "" };
            html.push_str(&format!(
                "<option value=\"{}\"{selected}>{}</option>",
                escape(&value),
                escape(&text)
            ));
        }
        html.push_str("</select></label>");
        html
    };
    let kinds = Kind::ALL
        .iter()
        .map(|k| (k.name().to_owned(), k.name().to_owned()))
        .collect();
    let parties = state
        .parties()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let contracts = state
        .contracts()
        .map(|c| (c.id.clone(), c.title.clone()))
        .collect();
    let mut lines: Vec<String> = state.models().map(|m| m.line.clone()).collect();
    lines.dedup();
    let mut models: Vec<(String, String)> = lines
        .into_iter()
        .map(|l| (l.clone(), format!("{l} (every version)")))
        .collect();
    models.extend(state.models().map(|m| (m.key(), m.key())));
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/log\" role=\"search\"><label>Search by entry number, id or digest<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"e.g. 12, acme-ai, sha256:…\"></label>{}{}{}{}<button type=\"submit\">Show</button> <a href=\"/log\">Clear</a></form>\n",
        escape(&query.q),
        select("kind", "Kind", &query.kind, kinds),
        select("party", "Party", &query.party, parties),
        select("contract", "Contract", &query.contract, contracts),
        select("model", "Model", &query.model, models)
    )
}

/// JSON as HTML, pretty-printed, with every string that names a party, contract or model
/// version linked to its page.
fn linked_json(state: &domain::State, value: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    match value {
        Value::String(text) => {
            let quoted = escape(&serde_json::to_string(text).unwrap_or_default());
            let href = if state.party(text).is_some() {
                Some(format!("/parties/{text}"))
            } else if state.contract(text).is_some() {
                Some(format!("/contracts/{text}"))
            } else if state.model(text).is_some() {
                Some(format!("/models/{text}"))
            } else {
                None
            };
            match href {
                Some(href) => out.push_str(&format!("<a href=\"{}\">{quoted}</a>", escape(&href))),
                None => out.push_str(&quoted),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                linked_json(state, item, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{close}]"));
        }
        Value::Object(object) if !object.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in object.iter().enumerate() {
                out.push_str(&format!(
                    "{pad}{}: ",
                    escape(&serde_json::to_string(key).unwrap_or_default())
                ));
                linked_json(state, item, indent + 1, out);
                out.push_str(if i + 1 < object.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{close}}}"));
        }
        other => out.push_str(&escape(&other.to_string())),
    }
}

/// Checks the entry's inclusion proof against the latest checkpoint with the log's key.
fn verified(instance: &Instance, index: u64, proof: &str) -> Result<String, String> {
    let bytes = instance
        .local
        .logged_entry(index)
        .map_err(|e| e.to_string())?;
    let key = tlog::VerifierKey::parse(instance.local.verifier_key()).map_err(|e| e.to_string())?;
    let file = tlog::proof_file::ProofFile::parse(proof).map_err(|e| e.to_string())?;
    let proven = file.verify(&bytes, &[key]).map_err(|e| e.to_string())?;
    Ok(format!(
        "included in the checkpoint of size {} (root <code>{}</code>), signed by the log's key",
        proven.checkpoint.size,
        escape(&proven.checkpoint.root.to_base64())
    ))
}

// tidy: long function: an entry's facts, statement, files and proof, each a short block.
pub async fn entry(
    State(instance): State<Arc<Instance>>,
    path: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Response {
    let result = (|| {
        let Path(index) = path?;
        let entry = instance.local.entry(index)?;
        let state = instance.state();
        let size = instance.read(|r| r.latest_checkpoint())?.size;
        let proof = instance.local.proof(index)?;
        let kind = entry.kind.clone().unwrap_or_else(|| "unknown".to_owned());
        let description = Kind::from_name(&kind).map_or("", Kind::describe);
        let signers: Vec<String> = entry
            .signers
            .iter()
            .map(|s| {
                format!(
                    "{} with key <code>{}</code>",
                    party_link(&state, &s.party),
                    escape(&s.keyid)
                )
            })
            .collect();
        let signer_ids: Vec<String> = entry.signers.iter().map(|s| s.party.clone()).collect();
        let mentions = Mentions::of(&state, &entry.statement.predicate, &signer_ids);
        let check = match verified(&instance, index, &proof) {
            Ok(words) => format!("{} {words}.", badge(Tone::Ok, "verified ✓")),
            Err(why) => format!("{} {}.", badge(Tone::Bad, "not verified"), escape(&why)),
        };
        let mut body = format!(
            "<h1>Entry {index}: {}</h1>\n<p class=\"lead\">{}.</p>\n<dl class=\"terms\">\n<dt>Made</dt><dd>{}</dd>\n<dt>Signed by</dt><dd>{}</dd>\n<dt>Mentions</dt><dd>{}</dd>\n<dt>In the log</dt><dd>{check}</dd>\n</dl>\n",
            escape(&kind),
            escape(description),
            stated_at(&entry.statement.predicate).map_or(
                "the entry states no time (this kind carries none)".to_owned(),
                when
            ),
            if signers.is_empty() {
                "no registered key".to_owned()
            } else {
                and_list(&signers)
            },
            {
                let (html, _) = mentions.subject(&state);
                let parties: Vec<String> = mentions
                    .parties
                    .iter()
                    .map(|p| party_link(&state, p))
                    .collect();
                format!(
                    "{html}{}{}",
                    if html.is_empty() || parties.is_empty() {
                        ""
                    } else {
                        "; "
                    },
                    if mentions.models.is_empty() && mentions.contracts.is_empty() {
                        String::new()
                    } else {
                        and_list(&parties)
                    }
                )
            }
        );
        let mut statement = entry.statement.clone();
        let files = statement
            .predicate
            .get_mut("files")
            .and_then(|f| f.as_object_mut())
            .map(std::mem::take);
        if let Some(files) = &files
            && let Some(object) = statement.predicate.as_object_mut()
        {
            object.insert(
                "files".to_owned(),
                Value::String(format!("{} files, shown below as text", files.len())),
            );
        }
        let mut json = String::new();
        let value = serde_json::to_value(&statement).unwrap_or_default();
        linked_json(&state, &value, 0, &mut json);
        body.push_str(&format!(
            "<h2>Statement</h2>\n<pre><code>{json}</code></pre>\n"
        ));
        if let Some(files) = files {
            body.push_str("<h2>Files of the contract</h2>\n");
            for (path, text) in &files {
                body.push_str(&format!(
                    "<details><summary>{}</summary>\n<pre><code>{}</code></pre>\n</details>\n",
                    escape(path),
                    escape(text.as_str().unwrap_or_default())
                ));
            }
        }
        body.push_str(&format!(
            "<h2>Inclusion proof</h2>\n<p>This proof ties the entry to the latest signed checkpoint. Check it yourself offline: fetch <a href=\"/api/entries/{index}/envelope\">the envelope of entry {index}</a> and <a href=\"/api/entries/{index}/proof\">its proof</a>, then run <code>concordat proof verify</code>.</p>\n<pre><code>{}</code></pre>\n<p>",
            escape(&proof)
        ));
        if index > 0 {
            body.push_str(&format!(
                "<a href=\"/log/{}\">Previous entry ({})</a> ",
                index - 1,
                index - 1
            ));
        }
        if index + 1 < size {
            body.push_str(&format!(
                "<a href=\"/log/{}\">Next entry ({})</a>",
                index + 1,
                index + 1
            ));
        }
        body.push_str("</p>\n");
        Ok(page(
            &instance,
            Section::Log,
            &format!("Entry {index}"),
            &body,
        ))
    })();
    answer(&instance, result)
}
