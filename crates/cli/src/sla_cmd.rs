//! `sla report`: a deployment's service levels over the contract's window, from the usage its
//! gateways logged; a breach can be reported as an entry.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Subcommand;
use domain::updates::time;
use service::Draft;

use crate::instance::{Where, read_signer};
use crate::output::{Format, Outcome, print, print_json, verification_failed};
use crate::updates_cmd::{entry_time, party_of};

#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Measure a deployment's service levels against the contract's `service-levels` targets:
    /// availability and latency percentiles over its window, from the usage the gateways logged.
    #[command(after_help = "Examples:
  concordat sla report --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --deployment analyst-workbench
  concordat sla report --dir ./concordat --contract defense-imagery-analysis \\
      --deployment analyst-workbench --report-breach --key agency.key

Exit 1 while a target is breached. --report-breach logs each breach as a party statement (topic
service-level-breach) signed with --key, so the breach is on the record.")]
    Report {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
        /// The end of the window, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Log a breach as an entry, signed with --key.
        #[arg(long, requires = "key")]
        report_breach: bool,
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

pub fn run(command: SlaCommand, format: Format) -> Outcome {
    let SlaCommand::Report {
        source,
        contract,
        deployment,
        at,
        report_breach,
        key,
    } = command;
    let instance = source.open()?;
    let record = instance.contract(&contract)?;
    let targets = service::sla::targets(&record.files).ok_or_else(|| {
        anyhow!("contract `{contract}` states no service-level targets (a `service-levels` module with `targets`)")
    })?;
    let (now, stamp) = entry_time(at.as_deref())?;
    let batches = instance.usage(Some(&contract))?;
    let report = service::sla::report(&contract, &deployment, &targets, &batches, now)?;
    let breached: Vec<String> = report
        .breached()
        .map(|c| {
            format!(
                "{} is {} against a target of {}",
                c.term,
                c.measured
                    .map_or("unmeasured".to_owned(), |m| format!("{m:.2}")),
                c.target
            )
        })
        .collect();
    if report_breach && !breached.is_empty() {
        let path = key
            .as_deref()
            .ok_or_else(|| anyhow!("--report-breach needs --key"))?;
        let signer = read_signer(path)?;
        let party = party_of(&*instance, &signer, path)?;
        let statement = domain::PartyStatement {
            party,
            topic: "service-level-breach".to_owned(),
            text: format!(
                "Deployment `{deployment}` of contract `{contract}` from {} to {}: {} (usage entries {:?}).",
                time::format_instant(report.from),
                time::format_instant(report.to),
                breached.join("; "),
                report.batches
            ),
            cosigners: Vec::new(),
            at: Some(stamp),
        };
        let reply = instance.submit(Draft::new(&statement)?.signed_bytes(&[&signer])?)?;
        eprintln!("the breach is logged as entry {}", reply.index);
    }
    instance.close()?;
    match format {
        Format::Json => print_json(&serde_json::to_value(&report)?)?,
        Format::Text => print(&text(&report))?,
    }
    if breached.is_empty() {
        Ok(())
    } else {
        Err(verification_failed(anyhow!(
            "service levels breached: {}",
            breached.join("; ")
        )))
    }
}

fn text(report: &service::sla::Report) -> String {
    let mut out = format!(
        "{} of {}, {} to {}: {} calls answered, {} provider errors, from {} usage entries\n",
        report.deployment,
        report.contract,
        time::format_instant(report.from),
        time::format_instant(report.to),
        report.served,
        report.upstream_errors,
        report.batches.len()
    );
    for check in &report.checks {
        let measured = match check.measured {
            None => "nothing measured".to_owned(),
            Some(m) if m >= u64::MAX as f64 => "beyond the last latency bound".to_owned(),
            Some(m) => format!("{m:.2}"),
        };
        out.push_str(&format!(
            "  {:<22} target {:<8} measured {:<12} {}\n",
            check.term,
            check.target,
            measured,
            if check.met { "met" } else { "BREACHED" }
        ));
    }
    out
}
