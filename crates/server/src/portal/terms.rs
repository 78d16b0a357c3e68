//! A contract's terms in words: per module, the sentences a reader needs (notice, testing,
//! rollback, escalation) and every other term as a labelled field, never as a key path; and
//! the purposes its use restrictions permit, restrict and refuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use domain::contract::{
    self, Comparison, Fallback, Module, OnDesignation, Package, RollbackApproval, ShortNotice,
};

use super::{and_list, count, party_link};
use crate::render::{escape, header_comment, inline};

/// A term's name as a label: `max_evidence_age_days` → `Max evidence age (days)`.
pub(crate) fn label(key: &str) -> String {
    let units = [
        ("_days", "days"),
        ("_hours", "hours"),
        ("_ms", "ms"),
        ("_percent", "%"),
    ];
    let (stem, unit) = units
        .iter()
        .find_map(|(suffix, unit)| key.strip_suffix(suffix).map(|stem| (stem, Some(*unit))))
        .unwrap_or((key, None));
    let words = stem.replace(['_', '-'], " ");
    let mut chars = words.chars();
    let words = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    match unit {
        Some(unit) => format!("{words} ({unit})"),
        None => words,
    }
}

/// A value in words: `yes`/`no`, lists joined, tables as `label: value` pairs.
fn value(v: &toml::Value) -> String {
    match v {
        toml::Value::Boolean(true) => "yes".to_owned(),
        toml::Value::Boolean(false) => "no".to_owned(),
        toml::Value::String(text) => escape(text),
        toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
            let lines: Vec<String> = items
                .iter()
                .map(|item| format!("<li>{}</li>", value(item)))
                .collect();
            format!("<ol>{}</ol>", lines.concat())
        }
        toml::Value::Array(items) => {
            let words: Vec<String> = items.iter().map(value).collect();
            words.join(", ")
        }
        toml::Value::Table(table) => {
            let pairs: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{}: {}", escape(&label(k)).to_lowercase(), value(v)))
                .collect();
            pairs.join("; ")
        }
        other => escape(&other.to_string()),
    }
}

/// Every term of a module file but its header, as a definition list.
fn fields(text: &str) -> String {
    let Ok(table) = text.parse::<toml::Table>() else {
        return String::new();
    };
    let mut html = String::from("<dl class=\"terms\">\n");
    for (key, v) in &table {
        if matches!(key.as_str(), "id" | "kind" | "version") {
            continue;
        }
        html.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(&label(key)),
            value(v)
        ));
    }
    html.push_str("</dl>\n");
    html
}

/// What a module kind is for, as a heading.
fn kind_title(kind: &str) -> &'static str {
    match kind {
        "model-delivery" => "What is delivered",
        "hosting" => "Where it runs",
        "updates" => "New model versions",
        "service-levels" => "Capacity and service levels",
        "testing-protocol" => "Testing before service",
        "audit-rights" => "Audits",
        "rollback" => "Rollback",
        "incident-escalation" => "Incidents: who hears, how fast",
        "liability" => "Liability",
        "use-restrictions" => "Use restrictions",
        "data-handling" => "Data",
        _ => "Other terms",
    }
}

/// The sentences a module's terms amount to, where they need more than fields.
// tidy: long function: one arm per module kind that reads as sentences.
fn sentences(state: &domain::State, package: &Package, module: &Module) -> Vec<String> {
    let parties =
        |ids: &[String]| and_list(&ids.iter().map(|p| party_link(state, p)).collect::<Vec<_>>());
    match module {
        Module::Updates(u) => {
            let minimum = package.contract.minimum_notice_days;
            let required = u.notice_days.max(minimum.unwrap_or(0));
            let why = match minimum {
                Some(m) if m > u.notice_days => format!(
                    "the contract's own minimum ({m} days) is longer than this module's {} days, and the longer applies",
                    u.notice_days
                ),
                Some(m) if m < u.notice_days => format!(
                    "this module asks {} days, more than the contract's own minimum of {m} days; the longer applies",
                    u.notice_days
                ),
                Some(_) => "this module and the contract's own minimum agree".to_owned(),
                None => "this module sets it; the contract names no minimum of its own".to_owned(),
            };
            vec![
                format!(
                    "A new model version must be announced at least <strong>{}</strong> before it enters service: {why}. The gate holds every version to it.",
                    count(u64::from(required), "day", "days")
                ),
                format!(
                    "Notice that is shorter is {}.",
                    match u.short_notice {
                        ShortNotice::Flag => "accepted but flagged",
                        ShortNotice::Reject => "refused",
                    }
                ),
                format!(
                    "{} A superseded version stays available for {}.",
                    if u.pinning {
                        "The agency may pin the version it approved."
                    } else {
                        "The agency may not pin a version."
                    },
                    count(u64::from(u.deprecation_days), "day", "days")
                ),
            ]
        }
        Module::TestingProtocol(t) => {
            let mut lines: Vec<String> = t
                .evaluations
                .iter()
                .map(|e| {
                    format!(
                        "<strong>{}</strong> {} {} on <code>{}</code>, from evidence {}at most {} old.",
                        escape(&e.metric.replace('_', " ")),
                        match e.comparison { Comparison::AtLeast => "at least", Comparison::AtMost => "at most" },
                        e.threshold,
                        escape(&e.suite),
                        if e.recognised_in.is_empty() { String::new() } else { format!("recognised in {}, ", escape(&e.recognised_in.join(" or "))) },
                        count(u64::from(e.max_evidence_age_days), "day", "days")
                    )
                })
                .collect();
            lines.push(format!(
                "Then {} of {} must approve it.",
                t.approvals_required,
                parties(&t.approvers)
            ));
            if t.incidents_closed {
                lines.push("Every serious incident of the line must be closed first.".to_owned());
            }
            lines
        }
        Module::Rollback(r) => {
            let to = match &r.fallback {
                Fallback::LastApproved => "the last approved version".to_owned(),
                Fallback::Pinned { line, version } => {
                    format!("<code>{}@{}</code>", escape(line), escape(version))
                }
            };
            let mut lines = vec![format!(
                "On {}, the deployment returns to {to} within {}.",
                and_list(
                    &r.triggers
                        .iter()
                        .map(|t| escape(&t.replace('-', " ")))
                        .collect::<Vec<_>>()
                ),
                count(u64::from(r.max_hours), "hour", "hours")
            )];
            if let Some(severity) = r.trigger_severity {
                lines.push(format!(
                    "An incident reported as {} or worse rolls it back {}.",
                    escape(severity.name()),
                    match &r.approval {
                        RollbackApproval::Automatic =>
                            "at once, on the report's own entry".to_owned(),
                        RollbackApproval::Approver { party } =>
                            format!("once {} approves", party_link(state, party)),
                    }
                ));
            }
            lines.push(format!(
                "A supply-chain-risk designation that reaches the version {}.",
                match r.on_designation {
                    OnDesignation::Continue => "leaves it running",
                    OnDesignation::Suspend => "suspends the deployment",
                    OnDesignation::RollBack => "rolls the deployment back",
                }
            ));
            lines
        }
        Module::IncidentEscalation(e) => e
            .steps
            .iter()
            .map(|step| {
                format!(
                    "A <strong>{}</strong> incident: {} must hear within {}.",
                    escape(step.severity.name()),
                    parties(&step.notify),
                    count(u64::from(step.within_hours), "hour", "hours")
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every module, grouped as the contract groups them (what is delivered, how it is governed),
/// each with its drafters' words, its sentences and its fields.
pub(crate) fn modules(state: &domain::State, package: &Package) -> String {
    let mut html = String::new();
    for (class, title) in [
        ("capability", "Terms: what is delivered"),
        ("governance", "Terms: how it is governed"),
    ] {
        html.push_str(&format!("<h2>{title}</h2>\n"));
        for module in &package.modules {
            let kind_class = contract::MODULE_KINDS
                .iter()
                .find(|(kind, _)| *kind == module.header.kind)
                .map_or("governance", |(_, class)| *class);
            if kind_class != class {
                continue;
            }
            let text = package.source(&module.path).unwrap_or_default();
            html.push_str(&format!(
                "<h3 id=\"module-{}\">{}</h3>\n<p class=\"id\">module {} · {} {}</p>\n",
                escape(&module.header.id),
                kind_title(&module.header.kind),
                escape(&module.header.id),
                escape(&module.header.kind),
                escape(&module.header.version)
            ));
            let words = header_comment(text);
            if !words.is_empty() {
                html.push_str(&format!("<blockquote>{}</blockquote>\n", inline(&words)));
            }
            let lines = sentences(state, package, &module.module);
            if !lines.is_empty() {
                html.push_str("<ul>\n");
                for line in lines {
                    html.push_str(&format!("<li>{line}</li>\n"));
                }
                html.push_str("</ul>\n");
            }
            html.push_str(&format!(
                "<details><summary>Every term of this module</summary>\n{}</details>\n",
                fields(text)
            ));
        }
    }
    html
}

/// The purposes of a contract's use restrictions, worked out once per policy text.
pub(crate) fn purposes(policies: &policy::Policies, digest: &str) -> Arc<Vec<policy::PurposeUse>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<policy::PurposeUse>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(digest).cloned()) {
        return found;
    }
    let uses = Arc::new(
        policy::purposes(policies, &policy::RequestSpace::for_policies(policies))
            .unwrap_or_default(),
    );
    if let Ok(mut cache) = cache.lock() {
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(digest.to_owned(), Arc::clone(&uses));
    }
    uses
}

/// What the use restrictions forbid and permit: each forbidding clause in its own words, each
/// purpose permitted (with the clauses that restrict it; sensitive ones marked), the purposes
/// never permitted, and the default refusal.
pub(crate) fn restrictions(policies: &policy::Policies, uses: &[policy::PurposeUse]) -> String {
    let words = |id: &str| {
        policies
            .clause(id)
            .map(|c| c.comment.replace('\n', " "))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "(no description)".to_owned())
    };
    let purpose = |p: &str| escape(&p.replace('-', " "));
    let mut html = String::from(
        "<h2>What it forbids and what it permits</h2>\n<p>These restrictions are enforced on every request by the agency's gateway: a forbidding clause always wins, and anything not permitted is refused.</p>\n<h3>Forbidden</h3>\n<ul>\n",
    );
    for clause in policies
        .clauses()
        .filter(|c| c.effect == policy::Effect::Forbid)
    {
        html.push_str(&format!(
            "<li>{} <span class=\"id\">clause {}</span></li>\n",
            escape(&words(&clause.id)),
            escape(&clause.id)
        ));
    }
    html.push_str("</ul>\n<h3>Permitted purposes</h3>\n");
    let permitted: Vec<&policy::PurposeUse> =
        uses.iter().filter(|u| !u.permitted_by.is_empty()).collect();
    if permitted.is_empty() {
        html.push_str("<p>No purpose is permitted: every request is refused.</p>\n");
    } else {
        html.push_str("<ul>\n");
        for u in &permitted {
            html.push_str(&format!(
                "<li><strong>{}</strong>{}{}</li>\n",
                purpose(&u.purpose),
                if u.sensitive {
                    " — <strong>sensitive</strong>: a mandatory prohibition speaks of it"
                } else {
                    ""
                },
                if u.restricted_by.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; limited by {}",
                        and_list(
                            &u.restricted_by
                                .iter()
                                .map(|c| format!("<code>{}</code>", escape(c)))
                                .collect::<Vec<_>>()
                        )
                    )
                }
            ));
        }
        html.push_str("</ul>\n");
        let permits: Vec<String> = permitted
            .iter()
            .flat_map(|u| u.permitted_by.iter())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|c| {
                format!(
                    "{} <span class=\"id\">clause {}</span>",
                    escape(&words(c)),
                    escape(c)
                )
            })
            .collect();
        html.push_str(&format!("<p>Permitted by: {}</p>\n", permits.join("; ")));
    }
    let never: Vec<String> = uses
        .iter()
        .filter(|u| u.permitted_by.is_empty())
        .map(|u| purpose(&u.purpose))
        .collect();
    if !never.is_empty() {
        html.push_str(&format!(
            "<p>Never permitted: {}. Any purpose the contract does not name is refused too.</p>\n",
            and_list(&never)
        ));
    }
    html.push_str("<details><summary>The clauses as written (Cedar)</summary>\n");
    for clause in policies.clauses() {
        html.push_str(&format!(
            "<h4>Clause <code>{}</code></h4>\n<pre><code>{}</code></pre>\n",
            escape(&clause.id),
            escape(clause.text.trim_end())
        ));
    }
    html.push_str("</details>\n");
    html
}
