//! `contract render`: a contract for people, module by module with clause ids, as Markdown or
//! HTML. Sealed addenda show their title, label and commitment; their text only in a cleared
//! edition, from sealed halves that open their commitments.

use domain::contract::{self, Module, Package, Sealed};

/// A block of the rendered document.
#[derive(Debug, serde::Serialize)]
#[serde(tag = "type", content = "content", rename_all = "kebab-case")]
enum Block {
    Heading(u8, String),
    Paragraph(String),
    /// Words the drafters wrote (module comments), set apart.
    Quote(String),
    /// Term and value.
    Terms(Vec<(String, String)>),
    Code(String),
    /// A warning people must not miss.
    Notice(String),
}

/// The comment lines at the top of a module file: the module in words.
pub(crate) fn header_comment(text: &str) -> String {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .map(|line| line.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A module's terms: every value but the header, as `key.path = value`.
fn terms(text: &str) -> Vec<(String, String)> {
    fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::Table(table) => {
                for (key, inner) in table {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    flatten(&path, inner, out);
                }
            }
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for (index, item) in items.iter().enumerate() {
                    flatten(&format!("{prefix}[{}]", index + 1), item, out);
                }
            }
            toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => {
                let words: Vec<&str> = items.iter().filter_map(toml::Value::as_str).collect();
                out.push((prefix.to_owned(), words.join(", ")));
            }
            toml::Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        for (key, value) in &table {
            if !matches!(key.as_str(), "id" | "kind" | "version") {
                flatten(key, value, &mut out);
            }
        }
    }
    out
}

/// Builds the document. `revealed` holds sealed halves already checked against their
/// commitments; with none, this is the public edition.
// tidy: long function: a contract document's sections in document order.
fn document(
    package: &Package,
    policies: Option<&policy::Policies>,
    revealed: &[Sealed],
) -> Vec<Block> {
    let contract = &package.contract;
    let mut blocks = vec![Block::Heading(1, contract.title.clone())];
    let purpose = header_comment(package.source(contract::CONTRACT_FILE).unwrap_or_default());
    if !purpose.is_empty() {
        blocks.push(Block::Quote(purpose));
    }
    if !revealed.is_empty() {
        blocks.push(Block::Notice(
            "Cleared edition: contains the text of classified addenda. Not for public release."
                .to_owned(),
        ));
    }
    let regimes: Vec<&str> = contract.regimes.iter().map(|r| r.name()).collect();
    blocks.push(Block::Terms(vec![
        (
            "contract".to_owned(),
            format!("{} version {}", contract.id, contract.version),
        ),
        ("parties".to_owned(), contract.parties.join(", ")),
        (
            "jurisdictions".to_owned(),
            contract.jurisdictions.join(", "),
        ),
        (
            "in force".to_owned(),
            format!(
                "from {} until {}",
                contract.effective_from,
                contract.effective_until.as_deref().unwrap_or("terminated")
            ),
        ),
        (
            "regimes".to_owned(),
            if regimes.is_empty() {
                "none named".to_owned()
            } else {
                regimes.join(", ")
            },
        ),
    ]));
    for (class, title) in [
        ("capability", "What is delivered"),
        ("governance", "How it is governed"),
    ] {
        blocks.push(Block::Heading(2, title.to_owned()));
        for module in &package.modules {
            let kind_class = contract::MODULE_KINDS
                .iter()
                .find(|(kind, _)| *kind == module.header.kind)
                .map_or("governance", |(_, class)| *class);
            if kind_class != class {
                continue;
            }
            blocks.push(Block::Heading(
                3,
                format!(
                    "Module `{}`: {} {}",
                    module.header.id, module.header.kind, module.header.version
                ),
            ));
            let text = package.source(&module.path).unwrap_or_default();
            let words = header_comment(text);
            if !words.is_empty() {
                blocks.push(Block::Quote(words));
            }
            blocks.push(Block::Terms(terms(text)));
            if let (Module::UseRestrictions(_), Some(policies)) = (&module.module, policies) {
                for clause in policies.clauses() {
                    let verb = match clause.effect {
                        policy::Effect::Permit => "permits",
                        policy::Effect::Forbid => "forbids",
                    };
                    blocks.push(Block::Heading(
                        4,
                        format!("Clause `{}` ({verb})", clause.id),
                    ));
                    if !clause.comment.is_empty() {
                        blocks.push(Block::Quote(clause.comment.clone()));
                    }
                    blocks.push(Block::Code(clause.text.clone()));
                }
            }
        }
    }
    if !contract.addenda.is_empty() {
        blocks.push(Block::Heading(2, "Sealed addenda".to_owned()));
        for addendum in &contract.addenda {
            blocks.push(Block::Heading(
                3,
                format!(
                    "Addendum `{}`: {} ({})",
                    addendum.id, addendum.title, addendum.classification
                ),
            ));
            match revealed.iter().find(|sealed| sealed.id == addendum.id) {
                Some(sealed) => {
                    blocks.push(Block::Paragraph(format!("Revealed; matches commitment `{}`.", addendum.commitment)));
                    blocks.push(Block::Code(sealed.text.clone()));
                }
                None => blocks.push(Block::Paragraph(format!(
                    "Sealed. Its text is held by the cleared parties; anyone shown it can check it against commitment `{}` with `concordat addendum verify`.",
                    addendum.commitment
                ))),
            }
        }
    }
    blocks
}

pub fn markdown(
    package: &Package,
    policies: Option<&policy::Policies>,
    revealed: &[Sealed],
) -> String {
    let mut out = String::new();
    for block in document(package, policies, revealed) {
        match block {
            Block::Heading(level, text) => {
                out.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(level))));
            }
            Block::Paragraph(text) => out.push_str(&format!("{text}\n\n")),
            Block::Quote(text) => out.push_str(&format!("> {text}\n\n")),
            Block::Notice(text) => out.push_str(&format!("**{text}**\n\n")),
            Block::Terms(rows) => {
                out.push_str("| term | value |\n|---|---|\n");
                for (term, value) in rows {
                    out.push_str(&format!(
                        "| {} | {} |\n",
                        term.replace('|', "\\|"),
                        value.replace('|', "\\|")
                    ));
                }
                out.push('\n');
            }
            Block::Code(text) => out.push_str(&format!("```\n{}\n```\n\n", text.trim_end())),
        }
    }
    out
}

/// The document as JSON, for tools: the contract, the edition (`public`, or `cleared` when
/// sealed text is revealed) and its blocks in order, each `{"type", "content"}` (`heading`:
/// `[level, text]`, `terms`: `[[term, value], …]`, `paragraph`, `quote`, `code`, `notice`:
/// text).
pub fn json(
    package: &Package,
    policies: Option<&policy::Policies>,
    revealed: &[Sealed],
) -> serde_json::Value {
    serde_json::json!({
        "contract": package.contract.id,
        "version": package.contract.version,
        "title": package.contract.title,
        "edition": if revealed.is_empty() { "public" } else { "cleared" },
        "blocks": document(package, policies, revealed),
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes text for HTML; backticked spans become `<code>`.
pub fn inline(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

/// The contract as an HTML fragment (headings from h2 down), for embedding in a page.
pub fn html_fragment(package: &Package, policies: Option<&policy::Policies>) -> String {
    html_body(package, policies, &[], 1)
}

fn html_body(
    package: &Package,
    policies: Option<&policy::Policies>,
    revealed: &[Sealed],
    shift: u8,
) -> String {
    let mut body = String::new();
    for block in document(package, policies, revealed) {
        push_block(&mut body, block, shift);
    }
    body
}

fn push_block(body: &mut String, block: Block, shift: u8) {
    match block {
        Block::Heading(level, text) => {
            let level = (level + shift).min(6);
            body.push_str(&format!("<h{level}>{}</h{level}>\n", inline(&text)))
        }
        Block::Paragraph(text) => body.push_str(&format!("<p>{}</p>\n", inline(&text))),
        Block::Quote(text) => {
            body.push_str(&format!("<blockquote>{}</blockquote>\n", inline(&text)))
        }
        Block::Notice(text) => body.push_str(&format!(
            "<p role=\"alert\"><strong>{}</strong></p>\n",
            inline(&text)
        )),
        Block::Terms(rows) => {
            body.push_str("<table>\n<thead><tr><th scope=\"col\">Term</th><th scope=\"col\">Value</th></tr></thead>\n<tbody>\n");
            for (term, value) in rows {
                body.push_str(&format!(
                    "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>\n",
                    escape(&term),
                    escape(&value)
                ));
            }
            body.push_str("</tbody>\n</table>\n");
        }
        Block::Code(text) => body.push_str(&format!(
            "<pre><code>{}</code></pre>\n",
            escape(text.trim_end())
        )),
    }
}

/// The contract as a standalone HTML document.
pub fn html(package: &Package, policies: Option<&policy::Policies>, revealed: &[Sealed]) -> String {
    let body = html_body(package, policies, revealed, 0);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\nbody {{ font-family: system-ui, sans-serif; max-width: 50rem; margin: 0 auto; padding: 1rem; color: #111; background: #fff; line-height: 1.5; }}\ntable {{ border-collapse: collapse; width: 100%; }}\nth, td {{ border: 1px solid #767676; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }}\nblockquote {{ border-left: 4px solid #1a4d8f; margin: 0; padding-left: 1rem; }}\npre {{ background: #f3f3f3; padding: 0.75rem; overflow-x: auto; }}\n[role=alert] {{ background: #fde8e8; padding: 0.5rem; }}\n</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&package.contract.title)
    )
}

/// Compliance reports as HTML (headings from `h{level}` down): per catalog its counts, then
/// each requirement with its status in words, what meets it (module files, and entries linked
/// by `link`) or what is missing, or why it does not apply.
pub fn compliance_fragment(
    reports: &[domain::compliance::Coverage],
    level: u8,
    link: &dyn Fn(u64) -> String,
) -> String {
    use domain::compliance::Status;
    let mut body = String::new();
    for r in reports {
        body.push_str(&format!(
            "<h{level} id=\"{}\">{} <span class=\"id\">{} {}</span></h{level}>\n<p>{} met, {} gaps, {} not applicable, as of {}. Source: {}. Crosswalk version {}.</p>\n",
            escape(&r.catalog),
            escape(&r.title),
            escape(&r.catalog),
            escape(&r.catalog_version),
            r.count(Status::Met),
            r.count(Status::Gap),
            r.count(Status::NotApplicable),
            escape(&r.at),
            escape(&r.source),
            escape(&r.crosswalk_version)
        ));
        body.push_str(&format!("<table class=\"stack\"><caption>{} requirements for {}</caption><thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Requirement</th><th scope=\"col\">How it stands</th></tr></thead><tbody>\n", escape(&r.title), escape(&r.contract)));
        for row in &r.rows {
            let (class, word) = match row.status {
                Status::Met => ("ok", "met"),
                Status::Gap => ("bad", "gap"),
                Status::NotApplicable => ("off", "not applicable"),
            };
            let detail = match row.status {
                Status::Met => row
                    .met_by
                    .iter()
                    .map(|p| {
                        let shown: Vec<String> = p
                            .shown
                            .iter()
                            .map(|w| match (&w.file, w.entry) {
                                (Some(file), _) => format!("<code>{}</code>", escape(file)),
                                (None, Some(entry)) => link(entry),
                                (None, None) => String::new(),
                            })
                            .collect();
                        format!(
                            "{} ({}: {}) — {}",
                            inline(&p.words),
                            escape(p.relationship.name()),
                            escape(&p.rationale),
                            shown.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>"),
                Status::Gap => format!("Missing: {}.", inline(&row.missing.join("; or "))),
                Status::NotApplicable => format!(
                    "Does not apply: {}.",
                    escape(row.why.as_deref().unwrap_or(""))
                ),
            };
            body.push_str(&format!(
                "<tr><td data-label=\"Status\"><span class=\"badge {class}\">{word}</span></td><td data-label=\"Requirement\"><strong>{}</strong>{} {}</td><td data-label=\"How it stands\">{detail}</td></tr>\n",
                escape(&row.id),
                row.title.as_deref().map(|t| format!(" {}:", escape(t))).unwrap_or_default(),
                escape(&row.text)
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    body
}

/// Compliance reports as a standalone HTML document.
pub fn compliance_html(reports: &[domain::compliance::Coverage]) -> String {
    let contract = reports.first().map_or("", |r| r.contract.as_str());
    let body = compliance_fragment(reports, 2, &|entry| format!("entry {entry}"));
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Compliance of {}</title>\n<style>\nbody {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #111; background: #fff; line-height: 1.5; overflow-wrap: anywhere; }}\ntable {{ border-collapse: collapse; width: 100%; }}\nth, td {{ border: 1px solid #767676; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }}\ncaption {{ text-align: left; font-weight: 600; }}\n.id {{ font-size: .8rem; color: #444; font-family: monospace; }}\n.badge {{ border: 1px solid; border-radius: .3rem; padding: 0 .35rem; font-weight: 600; }}\n.ok {{ color: #0a5a1f; }} .bad {{ color: #a1000e; }} .off {{ color: #444; }}\n</style>\n</head>\n<body>\n<main>\n<h1>Compliance of {}</h1>\n<p>From the ledger alone: each requirement met (by which module or entries, with the crosswalk's relationship), a gap (what is missing), or not applicable (why).</p>\n{body}</main>\n</body>\n</html>\n",
        escape(contract),
        escape(contract)
    )
}
