//! `incident report | update | notify | close | status`: incidents as entries, and the clocks
//! they start.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use domain::contract::Severity;
use domain::incident::clocks::{Duty, DutyStatus};
use domain::incident::{
    IncidentClosed, IncidentNotified, IncidentReported, IncidentUpdated, SealedDescription,
    UsageLink,
};
use domain::updates::time;
use service::Draft;
use service::wire::IncidentView;

use crate::instance::Where;
use crate::output::{Format, Outcome, print, print_json, verification_failed};
use crate::updates_cmd::{Submit, act, entry_time};

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Report incidents in a deployment (a party of the contract, or an authority). Their
    /// clocks start at --aware-at; a grave one may roll the deployment back at once.
    #[command(after_help = "Example:
  concordat incident report --server http://127.0.0.1:8700 --key vendor.key \\
      --contract defense-imagery-analysis --deployment analyst-workbench --incident inc-2027-014 \\
      --severity serious --harm fundamental-rights --atlas AML.T0043 \\
      --occurred-at 2027-04-02T08:10:00Z --aware-at 2027-04-02T09:00:00Z \\
      --summary 'Captions misidentified civilian vehicles as military.'

Severities: minor, serious, death, critical-infrastructure, widespread-infringement. Harms:
health-or-safety, critical-infrastructure, fundamental-rights, property-or-environment (the AI
Act's Art. 3(49) (a)-(d)), cyber-security, or a harm of the contract's liability module.
--sealed-description FILE keeps the full text out of the log: its commitment is recorded and the
salted text written to FILE.sealed.toml for the parties cleared to read it.")]
    Report(ReportArgs),
    /// Add what became known: a new severity (which may set off the rollback), harms,
    /// techniques, usage, evidence, and a note.
    #[command(after_help = "Example:
  concordat incident update --server http://127.0.0.1:8700 --key agency.key \\
      --contract defense-imagery-analysis --incident inc-2027-014 --severity death \\
      --note 'A strike was called on a misidentified vehicle.'")]
    Update(UpdateArgs),
    /// Record that a party or a regime's authority was told: what meets a notification duty.
    #[command(after_help = "Examples:
  concordat incident notify --server http://127.0.0.1:8700 --key vendor.key \\
      --contract defense-imagery-analysis --incident inc-2027-014 --to defense-agency \\
      --summary 'Incident report sent to the programme office.'
  concordat incident notify --server http://127.0.0.1:8700 --key vendor.key \\
      --contract defense-imagery-analysis --incident inc-2027-014 --to eu-ai-act/art-73-2 \\
      --summary 'Reported to the market surveillance authority, ref. MSA-2027-0412.'")]
    Notify {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        incident: String,
        /// A party's ledger id, or a regime's duty as REGIME/DUTY (as `incident status` names it).
        #[arg(long)]
        to: String,
        #[arg(long)]
        summary: String,
    },
    /// Close an incident with its post-incident review, the remediation and any redress.
    #[command(after_help = "Example:
  concordat incident close --server http://127.0.0.1:8700 --key agency.key \\
      --contract defense-imagery-analysis --incident inc-2027-014 \\
      --review 'Root cause: a fine-tune regressed on low-light imagery.' \\
      --remediation '2027.2.0 withdrawn; the evaluation suite now covers low light.'")]
    Close {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        incident: String,
        #[arg(long)]
        review: String,
        #[arg(long)]
        remediation: String,
        #[arg(long)]
        redress: Option<String>,
    },
    /// Each incident's duties: met (by which entry, how early), due (time left) or overdue
    /// (by how much). Exit 1 while a duty is overdue.
    #[command(after_help = "Examples:
  concordat incident status --server http://127.0.0.1:8700 --contract defense-imagery-analysis
  concordat incident status --dir ./concordat --incident inc-2027-014 --format json")]
    Status {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        incident: Option<String>,
        /// Reckon the duties at this time, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    submit: Submit,
    #[arg(long)]
    contract: String,
    #[arg(long)]
    deployment: String,
    /// The incident's id, e.g. inc-2027-014; repeat for a report that covers several.
    #[arg(long = "incident", required = true)]
    incidents: Vec<String>,
    /// The version involved, LINE@VERSION (default: the one in service when it occurred).
    #[arg(long)]
    model: Option<String>,
    #[arg(long)]
    severity: String,
    #[arg(long = "harm", required = true)]
    harms: Vec<String>,
    #[arg(long)]
    occurred_at: String,
    #[arg(long)]
    aware_at: String,
    #[arg(long)]
    summary: String,
    /// The full description, public.
    #[arg(long, conflicts_with = "sealed_description")]
    description: Option<String>,
    /// A file with the full description, kept out of the log (its commitment is recorded).
    #[arg(long, requires = "classification")]
    sealed_description: Option<PathBuf>,
    /// The sealed description's classification, e.g. SECRET.
    #[arg(long)]
    classification: Option<String>,
    #[arg(long = "affected")]
    affected: Vec<String>,
    /// A MITRE ATLAS technique id, e.g. AML.T0043; repeatable.
    #[arg(long = "atlas")]
    atlas: Vec<String>,
    /// A usage entry, or ENTRY:REQUEST-ID; repeatable.
    #[arg(long = "usage")]
    usage: Vec<String>,
    /// An evidence entry; repeatable.
    #[arg(long = "evidence")]
    evidence: Vec<u64>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    submit: Submit,
    #[arg(long)]
    contract: String,
    #[arg(long)]
    incident: String,
    #[arg(long)]
    severity: Option<String>,
    #[arg(long = "harm")]
    harms: Vec<String>,
    #[arg(long = "atlas")]
    atlas: Vec<String>,
    #[arg(long = "usage")]
    usage: Vec<String>,
    #[arg(long = "evidence")]
    evidence: Vec<u64>,
    #[arg(long)]
    note: String,
}

fn severity(name: &str) -> anyhow::Result<Severity> {
    Severity::parse(name).ok_or_else(|| {
        anyhow!(
            "--severity `{name}`: one of {}",
            Severity::ALL.map(Severity::name).join(", ")
        )
    })
}

fn usage_links(values: &[String]) -> anyhow::Result<Vec<UsageLink>> {
    values
        .iter()
        .map(|value| {
            let (entry, request) = value
                .split_once(':')
                .map_or((value.as_str(), None), |(e, r)| (e, Some(r.to_owned())));
            let entry = entry
                .parse()
                .map_err(|_| anyhow!("--usage `{value}`: ENTRY or ENTRY:REQUEST-ID"))?;
            Ok(UsageLink { entry, request })
        })
        .collect()
}

fn instant(field: &str, text: &str) -> anyhow::Result<String> {
    let seconds = time::parse_instant(field, text).map_err(|e| anyhow!(e))?;
    Ok(time::format_instant(seconds))
}

pub fn run(command: IncidentCommand, format: Format) -> Outcome {
    match command {
        IncidentCommand::Report(args) => report(args, format),
        IncidentCommand::Update(args) => {
            let severity = args.severity.as_deref().map(severity).transpose()?;
            let usage = usage_links(&args.usage)?;
            act(
                &args.submit,
                |_, party, at| {
                    let predicate = IncidentUpdated {
                        party: party.to_owned(),
                        contract: args.contract.clone(),
                        incident: args.incident.clone(),
                        severity,
                        harms: args.harms,
                        atlas: args.atlas,
                        usage,
                        evidence: args.evidence,
                        note: args.note,
                        at: at.to_owned(),
                    };
                    Ok((
                        Draft::new(&predicate)?,
                        format!("incident `{}` updated", args.incident),
                    ))
                },
                format,
            )
        }
        IncidentCommand::Notify {
            submit,
            contract,
            incident,
            to,
            summary,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!("`{to}` notified of incident `{incident}`");
                let predicate = IncidentNotified {
                    party: party.to_owned(),
                    contract,
                    incident,
                    to,
                    summary,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        IncidentCommand::Close {
            submit,
            contract,
            incident,
            review,
            remediation,
            redress,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!("incident `{incident}` closed");
                let predicate = IncidentClosed {
                    party: party.to_owned(),
                    contract,
                    incident,
                    review,
                    remediation,
                    redress,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        IncidentCommand::Status {
            source,
            contract,
            incident,
            at,
        } => status(
            &source,
            contract.as_deref(),
            incident.as_deref(),
            at.as_deref(),
            format,
        ),
    }
}

fn report(args: ReportArgs, format: Format) -> Outcome {
    let severity = severity(&args.severity)?;
    let usage = usage_links(&args.usage)?;
    let occurred_at = instant("--occurred-at", &args.occurred_at)?;
    let aware_at = instant("--aware-at", &args.aware_at)?;
    let sealed = match (&args.sealed_description, &args.classification) {
        (Some(path), Some(classification)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let id = args.incidents.first().cloned().unwrap_or_default();
            let (opening, commitment) = service::sealed::seal(&id, text)?;
            let out = path.with_extension("sealed.toml");
            crate::output::write_private(&out, &service::sealed::headed(&commitment, &opening)?)?;
            eprintln!(
                "the sealed description's opening is in {} (keep it; the log holds its commitment)",
                out.display()
            );
            Some(SealedDescription {
                classification: classification.clone(),
                commitment,
            })
        }
        _ => None,
    };
    act(
        &args.submit,
        |_, party, at| {
            let what = format!("incident(s) {} reported", args.incidents.join(", "));
            let predicate = IncidentReported {
                party: party.to_owned(),
                contract: args.contract,
                incidents: args.incidents,
                deployment: args.deployment,
                model: args.model,
                severity,
                harms: args.harms,
                occurred_at,
                aware_at,
                summary: args.summary,
                description: args.description,
                sealed,
                affected: args.affected,
                atlas: args.atlas,
                usage,
                evidence: args.evidence,
                at: at.to_owned(),
            };
            Ok((Draft::new(&predicate)?, what))
        },
        format,
    )
}

fn status(
    source: &Where,
    contract: Option<&str>,
    incident: Option<&str>,
    at: Option<&str>,
    format: Format,
) -> Outcome {
    let instance = source.open()?;
    let at = at
        .map(|at| entry_time(Some(at)))
        .transpose()?
        .map(|(s, _)| s);
    let views: Vec<IncidentView> = instance
        .incidents(contract, at)?
        .into_iter()
        .filter(|v| incident.is_none_or(|id| v.incident.id == id))
        .collect();
    instance.close()?;
    if let Some(id) = incident.filter(|_| views.is_empty()) {
        return Err(anyhow!("no incident `{id}`").into());
    }
    match format {
        Format::Json => print_json(&serde_json::to_value(&views)?)?,
        Format::Text if views.is_empty() => print("no incidents\n")?,
        Format::Text => print(&views.iter().map(text).collect::<Vec<_>>().join("\n"))?,
    }
    let overdue: Vec<String> = views
        .iter()
        .flat_map(|v| {
            v.duties
                .iter()
                .filter(|d| matches!(d.status, DutyStatus::Overdue { .. }))
                .map(move |d| format!("{} {}", v.incident.id, d.id))
        })
        .collect();
    if overdue.is_empty() {
        Ok(())
    } else {
        Err(verification_failed(anyhow!(
            "duties overdue: {}",
            overdue.join(", ")
        )))
    }
}

fn duty_line(duty: &Duty) -> String {
    let (word, detail) = match &duty.status {
        DutyStatus::Met {
            entry, early_by, ..
        } => (
            "met",
            format!(
                "entry {entry}, {} early",
                domain::updates::time::format_span(*early_by)
            ),
        ),
        DutyStatus::MetLate { entry, late_by, .. } => (
            "met late",
            format!(
                "entry {entry}, {} late",
                domain::updates::time::format_span(*late_by)
            ),
        ),
        DutyStatus::Due { left } => (
            "due",
            format!("{} left", domain::updates::time::format_span(*left)),
        ),
        DutyStatus::Overdue { by } => (
            "OVERDUE",
            format!("by {}", domain::updates::time::format_span(*by)),
        ),
        DutyStatus::NotStarted => ("waiting", "the party is not aware yet".to_owned()),
        DutyStatus::NotApplicable { why } => ("n/a", why.clone()),
    };
    let due = duty
        .due
        .map(|d| format!(" (due {})", time::format_instant(d)))
        .unwrap_or_default();
    format!(
        "    {word:<9} {:<22} {} → {}: {detail}{due}\n              {}; {}\n",
        duty.id,
        duty.owed_by.as_deref().unwrap_or("nobody"),
        duty.to,
        duty.what,
        duty.source
    )
}

fn text(view: &IncidentView) -> String {
    let incident = &view.incident;
    let mut out = format!(
        "{} in {} of {}: {}, {}{}\n  {}\n",
        incident.id,
        incident.deployment,
        incident.contract,
        incident.severity.name(),
        incident.harms.join(", "),
        if incident.closed.is_some() {
            " (closed)"
        } else {
            ""
        },
        incident.summary
    );
    for report in &incident.reports {
        out.push_str(&format!(
            "  reported by {} (entry {}), aware {}\n",
            report.party,
            report.entry,
            time::format_instant(report.aware_at)
        ));
    }
    if let Some(step) = &incident.rollback {
        out.push_str(&format!(
            "  rolled back {} → {} by {} (entry {}{})\n",
            step.from,
            step.to,
            step.party,
            step.entry,
            if step.automatic {
                ", automatically on the report"
            } else {
                ""
            }
        ));
    }
    out.push_str(&format!(
        "  duties as of {}:\n",
        time::format_instant(view.as_of)
    ));
    for duty in &view.duties {
        out.push_str(&duty_line(duty));
    }
    if let Some(closed) = &incident.closed {
        out.push_str(&format!(
            "  closed by {} (entry {}): {} Remediation: {}\n",
            closed.party, closed.entry, closed.review, closed.remediation
        ));
    }
    out
}

#[derive(Debug, Subcommand)]
pub enum LiabilityCommand {
    /// Record an incident's root cause and damages (a party the contract's liability module
    /// names in `findings_by`); the contract then allocates who pays what.
    #[command(after_help = "Example:
  concordat liability find --server http://127.0.0.1:8700 --key auditor.key \\
      --contract defense-imagery-analysis --incident inc-2027-014 --root-cause model \\
      --harm fundamental-rights --damages 1200000 --currency USD \\
      --summary 'The fault was in the model: a retrained refusal head.'

Root causes: model, integration, integrator-system, agency-use, data.")]
    Find {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        incident: String,
        #[arg(long)]
        root_cause: String,
        #[arg(long)]
        harm: String,
        /// In whole units of --currency.
        #[arg(long)]
        damages: u64,
        #[arg(long)]
        currency: String,
        #[arg(long)]
        summary: String,
    },
    /// Who pays what for an incident: each party's share, the cap that limits it, what it may
    /// recover from an upstream supplier, and what no party owes.
    #[command(after_help = "Examples:
  concordat liability report --server http://127.0.0.1:8700 --incident inc-2027-014
  concordat liability report --dir ./concordat --contract defense-imagery-analysis \\
      --incident inc-2027-014 --format json")]
    Report {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        incident: String,
    },
}

pub fn liability(command: LiabilityCommand, format: Format) -> Outcome {
    match command {
        LiabilityCommand::Find {
            submit,
            contract,
            incident,
            root_cause,
            harm,
            damages,
            currency,
            summary,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!("finding on incident `{incident}` recorded");
                let predicate = domain::incident::LiabilityFound {
                    party: party.to_owned(),
                    contract,
                    incident,
                    root_cause,
                    harm,
                    damages,
                    currency,
                    summary,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        LiabilityCommand::Report {
            source,
            contract,
            incident,
        } => {
            let instance = source.open()?;
            let views = instance.incidents(contract.as_deref(), None)?;
            instance.close()?;
            let found: Vec<&IncidentView> =
                views.iter().filter(|v| v.incident.id == incident).collect();
            let view = match found.as_slice() {
                [] => return Err(anyhow!("no incident `{incident}`").into()),
                [one] => *one,
                _ => {
                    return Err(anyhow!(
                        "several contracts have an incident `{incident}`: name one with --contract"
                    )
                    .into());
                }
            };
            let allocation = view.liability.as_ref().ok_or_else(|| {
                anyhow!(
                    "{}",
                    view.liability_problem.clone().unwrap_or_else(|| format!(
                        "incident `{incident}` has no finding yet (`concordat liability find`)"
                    ))
                )
            })?;
            match format {
                Format::Json => print_json(&serde_json::to_value(allocation)?),
                Format::Text => print(&allocation_text(allocation)),
            }
        }
    }
}

fn allocation_text(a: &domain::incident::liability::Allocation) -> String {
    let money = |amount: u64| format!("{amount} {}", a.currency);
    let mut out = format!(
        "{} of {}: the fault was in the {} (finding, entry {}), harm {}: damages {}\n",
        a.incident,
        a.contract,
        a.root_cause,
        a.finding,
        a.harm,
        money(a.damages)
    );
    for part in &a.parts {
        out.push_str(&format!(
            "  {:<20} {:>3} %  owes {}{}\n",
            part.party,
            part.share,
            money(part.owed),
            part.capped_by
                .as_ref()
                .map(|cap| format!(" (of {}, capped: {cap})", money(part.uncapped)))
                .unwrap_or_default()
        ));
        if let Some(recovery) = &part.recoverable {
            out.push_str(&format!(
                "  {:<20}        may recover {} from its supplier {}\n",
                "",
                money(recovery.amount),
                recovery.from
            ));
        }
    }
    out.push_str(&format!("  beyond the caps: {}\n", money(a.uncovered)));
    out
}
