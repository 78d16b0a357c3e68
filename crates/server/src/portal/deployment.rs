//! Deployments: what serves now and how it got there, on a timeline by date (steps, incidents
//! and their deadlines, and now), each incident with its duties and liability, the service
//! levels measured, and usage — per deployment with its trend, and for the whole register.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::incident::Incident;
use domain::incident::clocks::{DutyStatus, duties};
use domain::updates::{self, DeploymentAction, UsageBatch};

use super::contract::ListQuery;
use super::listing::{Cell, Listing, downloads};
use super::words::{self, Scope};
use super::{
    Section, Tone, answer, badge, contract_link, day, deployment_link, entry_link, model_link, now,
    page, party_link, span, when,
};
use crate::render::escape;
use crate::{ApiError, Instance};

type PathResult<T> = Result<Path<T>, axum::extract::rejection::PathRejection>;
type QueryResult = Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>;

pub async fn deployment(
    State(instance): State<Arc<Instance>>,
    path: PathResult<(String, String)>,
) -> Response {
    let result = (|| {
        let Path((contract, name)) = path?;
        let state = instance.state();
        let d = find(&state, &contract, &name)?;
        let now = now(&state);
        let mut body = format!(
            "<h1>Deployment {} <span class=\"id\">of {}</span></h1>\n<p>Under {}. In service now: {}.</p>\n",
            escape(&name),
            escape(&contract),
            contract_link(&state, &contract),
            d.active
                .as_deref()
                .map_or("nothing".to_owned(), |v| format!(
                    "<strong>{}</strong>",
                    model_link(v)
                ))
        );
        let lines = words::summary(
            &state,
            Scope {
                contract: Some(&contract),
                deployment: Some(&name),
                ..Scope::default()
            },
            now,
        );
        body.push_str(&words::summary_block(
            &lines,
            "Nothing has happened in this deployment yet.",
        ));
        let incidents: Vec<&Incident> = state
            .incidents(Some(&contract))
            .filter(|i| i.deployment == name)
            .collect();
        body.push_str("<h2>Timeline</h2>\n");
        body.push_str(&format!(
            "<figure class=\"chart\">{}</figure>\n",
            timeline(&state, d, &incidents, now)
        ));
        body.push_str(&steps(&state, d).table());
        for incident in &incidents {
            body.push_str(&incident_section(&state, incident, now));
        }
        body.push_str(&service_levels(&state, &contract, &name, now));
        let batches: Vec<&UsageBatch> = state
            .usage(Some(&contract))
            .filter(|b| b.deployment == name)
            .collect();
        if !batches.is_empty() {
            let policies = state
                .contract(&contract)
                .and_then(|c| policy::from_files(&c.files).ok());
            body.push_str(&format!(
                "<h2>Usage</h2>\n<p>{}</p>\n<p><a href=\"/deployments/{}/{}/usage\">Usage of {} over time, batch by batch</a></p>\n",
                words::usage_sentences(&batches, policies.as_ref()),
                escape(&contract),
                escape(&name),
                escape(&name)
            ));
        }
        Ok(page(
            &instance,
            Section::Contracts,
            &format!("Deployment {name}"),
            &body,
        ))
    })();
    answer(&instance, result)
}

/// Every change of version, as a listing.
fn steps(state: &domain::State, d: &updates::Deployment) -> Listing {
    let mut steps = Listing::new(
        "Every change of version",
        &["What", "When", "By", "Why", "Entry"],
    );
    for e in &d.events {
        let (what, text) = match e.action {
            DeploymentAction::Activated => (
                format!(
                    "{} {}",
                    badge(Tone::Ok, "activated"),
                    model_link(&e.version)
                ),
                format!("activated {}", e.version),
            ),
            DeploymentAction::Suspended => (
                format!(
                    "{} {}",
                    badge(Tone::Bad, "suspended"),
                    model_link(&e.version)
                ),
                format!("suspended {}", e.version),
            ),
            DeploymentAction::RolledBack => {
                let from = e.previous.as_deref().unwrap_or("?");
                (
                    format!(
                        "{} from {} to {}",
                        badge(Tone::Bad, "rolled back"),
                        model_link(from),
                        model_link(&e.version)
                    ),
                    format!("rolled back from {from} to {}", e.version),
                )
            }
        };
        steps.row(vec![
            Cell::html(what, text),
            Cell::text(when(e.at)),
            Cell::html(party_link(state, &e.party), e.party.clone()),
            Cell::inline(e.reason.as_deref().unwrap_or_default()),
            Cell::html(entry_link(e.entry, "the step"), e.entry.to_string()),
        ]);
    }
    steps
}

fn find<'a>(
    state: &'a domain::State,
    contract: &str,
    name: &str,
) -> Result<&'a updates::Deployment, ApiError> {
    state
        .deployment(&updates::deployment_key(contract, name))
        .ok_or_else(|| {
            ApiError::not_found(format!("Contract `{contract}` has no deployment `{name}`."))
        })
}

/// A mark on a timeline.
struct Mark {
    at: i64,
    href: String,
    label: String,
    shape: Shape,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Activated,
    RolledBack,
    Suspended,
    Incident,
    Deadline,
}

impl Shape {
    fn draw(self, x: f64, y: f64) -> String {
        match self {
            Shape::Activated => {
                format!("<circle cx=\"{x:.1}\" cy=\"{y}\" r=\"8\" fill=\"#0b4f9c\"/>")
            }
            Shape::RolledBack => format!(
                "<circle cx=\"{x:.1}\" cy=\"{y}\" r=\"8\" fill=\"#fff\" stroke=\"#a1000e\" stroke-width=\"4\"/>"
            ),
            Shape::Suspended => format!(
                "<rect x=\"{:.1}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"#444\"/>",
                x - 7.0,
                y - 7.0
            ),
            Shape::Incident => format!(
                "<path d=\"M{x:.1} {} l9 9 l-9 9 l-9 -9 z\" fill=\"#a1000e\"/>",
                y - 9.0
            ),
            Shape::Deadline => format!(
                "<path d=\"M{x:.1} {} l7 12 l-14 0 z\" fill=\"#8a6100\"/>",
                y - 6.0
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Shape::Activated => "version activated",
            Shape::RolledBack => "rolled back",
            Shape::Suspended => "suspended",
            Shape::Incident => "incident reported",
            Shape::Deadline => "duty deadline",
        }
    }
}

/// The deployment's history on a time axis: dates marked, each step, incident and deadline a
/// link, a line at now, and a legend.
// tidy: long function: scale, axis, marks, now and legend of one picture.
fn timeline(
    state: &domain::State,
    d: &updates::Deployment,
    incidents: &[&Incident],
    now: i64,
) -> String {
    let base = format!("/deployments/{}/{}", d.contract, d.name);
    let mut marks: Vec<Mark> = d
        .events
        .iter()
        .map(|e| Mark {
            at: e.at,
            href: format!("/log/{}", e.entry),
            label: format!(
                "{} {}",
                match e.action {
                    DeploymentAction::Activated => "activated",
                    DeploymentAction::RolledBack => "rolled back to",
                    DeploymentAction::Suspended => "suspended",
                },
                e.version
            ),
            shape: match e.action {
                DeploymentAction::Activated => Shape::Activated,
                DeploymentAction::RolledBack => Shape::RolledBack,
                DeploymentAction::Suspended => Shape::Suspended,
            },
        })
        .collect();
    for incident in incidents {
        if let Some(report) = incident.reports.first() {
            marks.push(Mark {
                at: report.at,
                href: format!("{base}#{}", incident.id),
                label: format!("incident {} reported", incident.id),
                shape: Shape::Incident,
            });
        }
        for duty in duties(state, incident, now) {
            if let Some(due) = duty
                .due
                .filter(|_| !matches!(duty.status, DutyStatus::NotApplicable { .. }))
            {
                marks.push(Mark {
                    at: due,
                    href: format!("{base}#{}", incident.id),
                    label: format!("deadline: {}", duty.what),
                    shape: Shape::Deadline,
                });
            }
        }
    }
    if marks.is_empty() {
        return "<p>No step yet.</p>\n".to_owned();
    }
    let first = marks.iter().map(|m| m.at).min().unwrap_or(now).min(now);
    let last = marks.iter().map(|m| m.at).max().unwrap_or(now).max(now);
    let pad = ((last - first) / 20).max(86_400);
    let (t0, t1) = (first - pad, last + pad);
    let (left, right, width) = (30.0, 30.0, 900.0);
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (width - left - right);
    let mut svg = format!(
        "<svg role=\"group\" aria-labelledby=\"timeline-title timeline-desc\" viewBox=\"0 0 {width} 215\" width=\"{width}\">\n<title id=\"timeline-title\">Timeline of {}, {} to {}</title>\n<desc id=\"timeline-desc\">Each step, incident and deadline at its date; the table below lists the same steps.</desc>\n<line x1=\"{left}\" y1=\"90\" x2=\"{}\" y2=\"90\" stroke=\"#555\" stroke-width=\"2\"/>\n",
        escape(&d.name),
        day(t0),
        day(t1),
        width - right
    );
    for tick in 0..=4 {
        let t = t0 + (t1 - t0) * tick / 4;
        let tx = x(t);
        svg.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"86\" x2=\"{tx:.1}\" y2=\"94\" stroke=\"#555\"/><text x=\"{tx:.1}\" y=\"110\" text-anchor=\"{}\">{}</text>\n",
            match tick { 0 => "start", 4 => "end", _ => "middle" },
            day(t)
        ));
    }
    let nx = x(now);
    svg.push_str(&format!("<line x1=\"{nx:.1}\" y1=\"20\" x2=\"{nx:.1}\" y2=\"120\" stroke=\"#111\" stroke-dasharray=\"4 3\"/><text x=\"{nx:.1}\" y=\"14\" text-anchor=\"middle\" font-weight=\"700\">now</text>\n"));
    marks.sort_by_key(|m| m.at);
    // Labels on three rows, each on the first row where it clears the one before it.
    let mut row_ends = [f64::MIN; 3];
    for mark in &marks {
        let mx = x(mark.at);
        let y = if mark.shape == Shape::Deadline {
            70.0
        } else {
            90.0
        };
        let half = short_label(&mark.label).chars().count() as f64 * 3.5;
        let row = row_ends
            .iter()
            .position(|end| *end < mx - half)
            .unwrap_or(2);
        row_ends[row] = mx + half + 4.0;
        let label_y = 56 - 14 * row;
        svg.push_str(&format!(
            "<a href=\"{}\"><title>{} — {}</title>{}<text x=\"{mx:.1}\" y=\"{label_y}\" text-anchor=\"middle\" font-size=\"11\">{}</text></a>\n",
            escape(&mark.href),
            escape(&mark.label),
            when(mark.at),
            mark.shape.draw(mx, y),
            escape(&short_label(&mark.label))
        ));
    }
    let shapes = [
        Shape::Activated,
        Shape::RolledBack,
        Shape::Suspended,
        Shape::Incident,
        Shape::Deadline,
    ];
    for (i, shape) in shapes.iter().enumerate() {
        let lx = left + 10.0 + 170.0 * i as f64;
        svg.push_str(&format!(
            "{}<text x=\"{:.1}\" y=\"164\">{}</text>\n",
            shape.draw(lx, 160.0),
            lx + 14.0,
            shape.name()
        ));
    }
    svg.push_str(&format!("<line x1=\"{left}\" y1=\"190\" x2=\"{}\" y2=\"190\" stroke=\"#111\" stroke-dasharray=\"4 3\"/><text x=\"{}\" y=\"194\">now ({})</text>\n", left + 24.0, left + 30.0, day(now)));
    svg.push_str("</svg>\n");
    svg
}

/// The label under a mark, kept short: the version or the incident id.
fn short_label(label: &str) -> String {
    let word = label.rsplit(' ').next().unwrap_or(label);
    match word.split_once('@') {
        Some((_, version)) => version.to_owned(),
        None if label.starts_with("deadline") => String::new(),
        None => label.split(' ').nth(1).unwrap_or(word).to_owned(),
    }
}

/// An incident: what happened, its rollback, its duties as they stand, liability, closure.
// tidy: long function: an incident's facts, duties, liability and closure, in the order a reader asks.
fn incident_section(state: &domain::State, incident: &Incident, now: i64) -> String {
    let (tone, status) = if incident.closed.is_some() {
        (Tone::Off, "closed")
    } else {
        (Tone::Warn, "open")
    };
    let mut html = format!(
        "<h2 id=\"{}\">Incident {}</h2>\n<p>{} {} {} Reported {} by {} ({}). Harms: {}.</p>\n",
        escape(&incident.id),
        escape(&incident.id),
        badge(tone, status),
        badge(Tone::Bad, incident.severity.name()),
        escape(&incident.summary),
        incident
            .reports
            .first()
            .map_or(String::new(), |r| when(r.at)),
        incident
            .reporter()
            .map_or("?".to_owned(), |p| party_link(state, p)),
        incident
            .reports
            .first()
            .map_or(String::new(), |r| entry_link(r.entry, "the report")),
        escape(&incident.harms.join(", "))
    );
    if let Some(step) = &incident.rollback {
        html.push_str(&format!(
            "<p>Rolled back from {} to {} by {} on {} ({}){}.</p>\n",
            model_link(&step.from),
            model_link(&step.to),
            party_link(state, &step.party),
            when(step.at),
            entry_link(step.entry, "the rollback"),
            if step.automatic {
                ", automatically on the report, as the contract says"
            } else {
                ""
            }
        ));
    }
    let mut listing = Listing::new(
        format!("Duties of {}, as of {}", incident.id, when(now)),
        &["Status", "Duty", "Owed by", "To", "Due", "Source"],
    );
    for duty in duties(state, incident, now) {
        let (status, text) = match &duty.status {
            DutyStatus::Met {
                entry, early_by, ..
            } => (
                format!(
                    "{} {} early, {}",
                    badge(Tone::Ok, "met"),
                    span(*early_by),
                    entry_link(*entry, "the notice")
                ),
                "met".to_owned(),
            ),
            DutyStatus::MetLate { entry, late_by, .. } => (
                format!(
                    "{} {} late, {}",
                    badge(Tone::Warn, "met late"),
                    span(*late_by),
                    entry_link(*entry, "the notice")
                ),
                "met late".to_owned(),
            ),
            DutyStatus::Due { left } => (
                format!("{} {} left", badge(Tone::Info, "due"), span(*left)),
                "due".to_owned(),
            ),
            DutyStatus::Overdue { by } => (
                format!("{} by {}", badge(Tone::Bad, "overdue"), span(*by)),
                "overdue".to_owned(),
            ),
            DutyStatus::NotStarted => (
                format!(
                    "{} the party is not aware yet",
                    badge(Tone::Off, "not started")
                ),
                "not started".to_owned(),
            ),
            DutyStatus::NotApplicable { why } => (
                format!("{} {}", badge(Tone::Off, "does not apply"), escape(why)),
                format!("does not apply: {why}"),
            ),
        };
        listing.row(vec![
            Cell::html(status, text),
            Cell::inline(&duty.what),
            Cell::html(
                duty.owed_by
                    .as_deref()
                    .map_or("nobody".to_owned(), |p| party_link(state, p)),
                duty.owed_by.clone().unwrap_or_default(),
            ),
            Cell::html(
                if state.party(&duty.to).is_some() {
                    party_link(state, &duty.to)
                } else {
                    escape(&duty.to)
                },
                duty.to.clone(),
            ),
            Cell::text(duty.due.map_or(String::new(), when)),
            Cell::inline(&duty.source),
        ]);
    }
    html.push_str(&listing.table());
    html.push_str(&liability(state, incident));
    if let Some(closed) = &incident.closed {
        html.push_str(&format!(
            "<p>Closed by {} on {} ({}): {} Remediation: {}</p>\n",
            party_link(state, &closed.party),
            when(closed.at),
            entry_link(closed.entry, "the closure"),
            escape(&closed.review),
            escape(&closed.remediation)
        ));
    }
    html
}

/// Who pays what for an incident, once a finding allocates its damages.
fn liability(state: &domain::State, incident: &Incident) -> String {
    let Some(finding) = &incident.finding else {
        return String::new();
    };
    let money = |amount: u64| format!("{amount} {}", finding.currency);
    let mut html = format!(
        "<p>Finding by {} ({}): the fault was in the <strong>{}</strong>; damages {}. {}</p>\n",
        party_link(state, &finding.party),
        entry_link(finding.entry, "the finding"),
        escape(&finding.root_cause),
        escape(&money(finding.damages)),
        escape(&finding.summary)
    );
    match domain::incident::liability::allocate(state, incident) {
        Ok(allocation) => {
            let mut listing = Listing::new(
                format!(
                    "Who pays for {}, under the contract's liability module",
                    incident.id
                ),
                &["Party", "Share", "Owes", "Cap", "May recover"],
            );
            for part in &allocation.parts {
                listing.row(vec![
                    Cell::html(party_link(state, &part.party), part.party.clone()),
                    Cell::text(format!("{} %", part.share)),
                    Cell::text(money(part.owed)),
                    Cell::text(
                        part.capped_by
                            .clone()
                            .unwrap_or_else(|| "not reached".to_owned()),
                    ),
                    Cell::text(part.recoverable.as_ref().map_or(String::new(), |r| {
                        format!("{} from {}", money(r.amount), r.from)
                    })),
                ]);
            }
            html.push_str(&listing.table());
            html.push_str(&format!(
                "<p>Beyond the caps: {}.</p>\n",
                escape(&money(allocation.uncovered))
            ));
        }
        Err(why) => html.push_str(&format!(
            "<p>Not allocated: {}.</p>\n",
            escape(&why.to_string())
        )),
    }
    html
}

/// The deployment's service levels over the contract's window, from its gateways' usage.
fn service_levels(state: &domain::State, contract: &str, name: &str, now: i64) -> String {
    let Some(targets) = state
        .contract(contract)
        .and_then(|record| service::sla::targets(&record.files))
    else {
        return String::new();
    };
    let batches: Vec<UsageBatch> = state.usage(Some(contract)).cloned().collect();
    let Ok(report) = service::sla::report(contract, name, &targets, &batches, now) else {
        return String::new();
    };
    let mut html = format!(
        "<h2>Service levels</h2>\n<p>Measured by the gateways over the last {} days: {} calls answered by the provider, {} failed there, from {} usage entries.</p>\n",
        targets.window_days,
        report.served,
        report.upstream_errors,
        report.batches.len()
    );
    let mut listing = Listing::new(
        "The contract's targets, and what the records give",
        &["Status", "Term", "Target", "Measured"],
    );
    for check in &report.checks {
        let measured = match check.measured {
            None => "nothing measured yet".to_owned(),
            Some(m) if m >= u64::MAX as f64 => "beyond 60 s".to_owned(),
            Some(m) => format!("{m:.2}"),
        };
        let (tone, word) = if check.met {
            (Tone::Ok, "met")
        } else {
            (Tone::Bad, "breached")
        };
        listing.row(vec![
            Cell::html(badge(tone, word), word),
            Cell::text(super::terms::label(&check.term)),
            Cell::text(check.target.to_string()),
            Cell::text(measured),
        ]);
    }
    html.push_str(&listing.table());
    html
}

/// Usage batches as a listing, newest first.
fn batch_listing(
    state: &domain::State,
    batches: &[&UsageBatch],
    policies: Option<&policy::Policies>,
    caption: &str,
) -> Listing {
    let mut listing = Listing::new(
        caption,
        &[
            "Period",
            "Deployment",
            "Requests",
            "Allowed",
            "Refused",
            "In words",
            "Entry",
        ],
    );
    for b in batches.iter().rev() {
        listing.row(vec![
            Cell::text(format!("{} to {}", when(b.from), when(b.to))),
            Cell::html(
                deployment_link(&b.contract, &b.deployment),
                format!("{}/{}", b.contract, b.deployment),
            ),
            Cell::text(b.records.to_string()),
            Cell::text(b.allowed.to_string()),
            Cell::text(b.denied.to_string()),
            Cell::html(
                words::usage_sentences(&[*b], policies),
                strip_tags(&words::usage_sentences(&[*b], policies)),
            ),
            Cell::html(
                entry_link(
                    b.entry,
                    &format!("usage recorded by {}", super::party_name(state, &b.party)),
                ),
                b.entry.to_string(),
            ),
        ]);
    }
    listing
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
}

/// Requests per batch over time: allowed and refused, stacked, each bar a link to its entry.
fn trend(batches: &[&UsageBatch]) -> String {
    if batches.is_empty() {
        return String::new();
    }
    let (t0, t1) = (
        batches.iter().map(|b| b.from).min().unwrap_or(0),
        batches.iter().map(|b| b.to).max().unwrap_or(0),
    );
    let (t0, t1) = (t0 - 3_600, t1.max(t0 + 1) + 3_600);
    let top = batches.iter().map(|b| b.records).max().unwrap_or(1).max(1);
    let (left, width, base, height) = (50.0, 900.0, 170.0, 140.0);
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (width - left - 20.0);
    let y = |n: u64| n as f64 / top as f64 * height;
    let mut svg = format!(
        "<svg role=\"group\" aria-labelledby=\"trend-title\" viewBox=\"0 0 {width} 230\" width=\"{width}\">\n<title id=\"trend-title\">Requests per usage batch, {} to {}: allowed and refused</title>\n<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#555\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{top}</text><text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>\n<text x=\"{left}\" y=\"190\">{}</text><text x=\"{}\" y=\"190\" text-anchor=\"end\">{}</text>\n",
        day(t0),
        day(t1),
        width - 20.0,
        left - 6.0,
        base - height + 4.0,
        left - 6.0,
        day(t0),
        width - 20.0,
        day(t1)
    );
    let bar = (((width - left) / batches.len() as f64) * 0.6).clamp(6.0, 40.0);
    for b in batches {
        let bx = (x(b.from) + x(b.to)) / 2.0 - bar / 2.0;
        let (a, d) = (y(b.allowed), y(b.denied));
        svg.push_str(&format!(
            "<a href=\"/log/{}\"><title>{} to {}: {} allowed, {} refused</title><rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{a:.1}\" fill=\"#0b4f9c\"/><rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{d:.1}\" fill=\"#a1000e\"/></a>\n",
            b.entry, when(b.from), when(b.to), b.allowed, b.denied, base - a, base - a - d
        ));
    }
    svg.push_str(&format!("<rect x=\"{left}\" y=\"205\" width=\"12\" height=\"12\" fill=\"#0b4f9c\"/><text x=\"{}\" y=\"216\">allowed</text><rect x=\"{}\" y=\"205\" width=\"12\" height=\"12\" fill=\"#a1000e\"/><text x=\"{}\" y=\"216\">refused</text>\n</svg>\n", left + 16.0, left + 100.0, left + 116.0));
    svg
}

/// One deployment's usage: in words, over time, and batch by batch.
pub async fn deployment_usage(
    State(instance): State<Arc<Instance>>,
    path: PathResult<(String, String)>,
    query: QueryResult,
) -> Response {
    let result = (|| {
        let Path((contract, name)) = path?;
        let Query(query) = query?;
        let state = instance.state();
        find(&state, &contract, &name)?;
        let policies = state
            .contract(&contract)
            .and_then(|c| policy::from_files(&c.files).ok());
        let batches: Vec<&UsageBatch> = state
            .usage(Some(&contract))
            .filter(|b| b.deployment == name)
            .collect();
        let listing = batch_listing(
            &state,
            &batches,
            policies.as_ref(),
            &format!("Usage batches of {name}, newest first"),
        );
        if let Some(download) = listing.download(query.format, &format!("usage-{contract}-{name}"))
        {
            return Ok(download);
        }
        let mut body = format!(
            "<h1>Usage of {} <span class=\"id\">under {}</span></h1>\n<p class=\"lead\">{}</p>\n<p>What the deployment's gateway was asked, counted in batches the agency signs into the log. The requests themselves are open only to the auditors whose audit rights include usage records; each of their reads is logged.</p>\n",
            deployment_link(&contract, &name),
            contract_link(&state, &contract),
            words::usage_sentences(&batches, policies.as_ref())
        );
        if !batches.is_empty() {
            body.push_str("<h2>Over time</h2>\n");
            body.push_str(&format!(
                "<figure class=\"chart\">{}</figure>\n",
                trend(&batches)
            ));
            body.push_str("<h2>Batch by batch</h2>\n");
            body.push_str(&listing.table());
            body.push_str(&downloads(
                &format!("/deployments/{contract}/{name}/usage"),
                "",
                "these batches",
            ));
        }
        Ok(page(
            &instance,
            Section::Usage,
            &format!("Usage of {name}"),
            &body,
        ))
    })();
    answer(&instance, result)
}

/// Usage across the register: each deployment in a sentence, and every batch.
pub async fn usage(State(instance): State<Arc<Instance>>, query: QueryResult) -> Response {
    let result = (|| {
        let Query(query) = query?;
        let state = instance.state();
        let batches: Vec<&UsageBatch> = state.usage(None).collect();
        let mut listing = batch_listing(&state, &batches, None, "Every usage batch, newest first");
        // The sentences per row need each contract's policies.
        for (row, b) in listing.rows.iter_mut().zip(batches.iter().rev()) {
            let policies = state
                .contract(&b.contract)
                .and_then(|c| policy::from_files(&c.files).ok());
            let words = words::usage_sentences(&[*b], policies.as_ref());
            row[5] = Cell::html(words.clone(), strip_tags(&words));
        }
        if let Some(download) = listing.download(query.format, "usage") {
            return Ok(download);
        }
        let mut body = String::from(
            "<h1>Usage</h1>\n<p class=\"lead\">What each deployment was asked, and what its contract's use restrictions answered.</p>\n",
        );
        if batches.is_empty() {
            body.push_str("<p>No usage has been recorded yet.</p>\n");
        } else {
            body.push_str("<ul>\n");
            for d in state.deployments() {
                let of: Vec<&UsageBatch> = batches
                    .iter()
                    .copied()
                    .filter(|b| b.contract == d.contract && b.deployment == d.name)
                    .collect();
                if of.is_empty() {
                    continue;
                }
                let policies = state
                    .contract(&d.contract)
                    .and_then(|c| policy::from_files(&c.files).ok());
                body.push_str(&format!(
                    "<li>{} under {}: {} <a href=\"/deployments/{}/{}/usage\">Usage of {} in detail</a></li>\n",
                    deployment_link(&d.contract, &d.name),
                    contract_link(&state, &d.contract),
                    words::usage_sentences(&of, policies.as_ref()),
                    escape(&d.contract),
                    escape(&d.name),
                    escape(&d.name)
                ));
            }
            body.push_str("</ul>\n");
            body.push_str(&listing.table());
            body.push_str(&downloads("/usage", "", "every batch"));
        }
        Ok(page(&instance, Section::Usage, "Usage", &body))
    })();
    answer(&instance, result)
}
