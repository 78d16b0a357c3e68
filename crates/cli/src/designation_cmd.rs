//! `designation issue | appeal | decide | lift | list`: supply-chain-risk designations.

use anyhow::anyhow;
use clap::Subcommand;
use domain::designation::{
    Designation, DesignationAppealed, DesignationDecided, DesignationIssued, DesignationLifted,
    GROUNDS, Justification, Subject,
};
use domain::updates::time;
use service::Draft;

use crate::instance::Where;
use crate::output::{Format, Outcome, print, print_json};
use crate::updates_cmd::{Submit, act};

#[derive(Debug, Subcommand)]
pub enum DesignationCommand {
    /// Designate a party or a model line a supply-chain risk (an authority). While it is in
    /// force, the gate refuses versions that depend on it; running deployments are suspended or
    /// rolled back where their contracts say so.
    #[command(after_help = "Example:
  concordat designation issue --server http://127.0.0.1:8700 --key caisi.key \\
      --designation scr-2027-004 --party northwind-models --ground compromised-supply-chain \\
      --summary 'Unverifiable chain of custody of the 2027 releases.' --scope US --appeal-days 30

Grounds: foreign-ownership-control-or-influence, security-vulnerability, compromised-supply-chain,
sanctions, unreliable-performance, contract-noncompliance. --effective-at (when the decision
took effect) defaults to now and may not be later: a designation is logged when it takes effect,
and its own entry suspends or rolls back what the contracts say.")]
    Issue(IssueArgs),
    /// Appeal a designation (the designated party, or the vendor of a designated line).
    #[command(after_help = "Example:
  concordat designation appeal --server http://127.0.0.1:8700 --key northwind.key \\
      --designation scr-2027-003 --grounds 'Signed provenance for every release is attached.'")]
    Appeal {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        designation: String,
        #[arg(long)]
        grounds: String,
    },
    /// Decide an appeal (the authority that issued it): --upheld lifts the designation.
    #[command(after_help = "Example:
  concordat designation decide --server http://127.0.0.1:8700 --key caisi.key \\
      --designation scr-2027-003 --upheld --reasons 'Provenance verified.'")]
    Decide {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        designation: String,
        #[arg(long)]
        upheld: bool,
        #[arg(long)]
        reasons: String,
    },
    /// Lift a designation (the authority that issued it).
    #[command(after_help = "Example:
  concordat designation lift --server http://127.0.0.1:8700 --key caisi.key \\
      --designation scr-2027-003 --reason 'Remediated and re-audited.'")]
    Lift {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        designation: String,
        #[arg(long)]
        reason: String,
    },
    /// List designations with their histories.
    #[command(after_help = "Example:\n  concordat designation list --server http://127.0.0.1:8700")]
    List {
        #[command(flatten)]
        source: Where,
    },
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    #[command(flatten)]
    submit: Submit,
    #[arg(long)]
    designation: String,
    /// The designated party's ledger id.
    #[arg(long, required_unless_present = "line", conflicts_with = "line")]
    party: Option<String>,
    /// The designated model line.
    #[arg(long)]
    line: Option<String>,
    #[arg(long = "ground", required = true)]
    grounds: Vec<String>,
    #[arg(long)]
    summary: String,
    /// A jurisdiction whose contracts it covers (ISO 3166 or EU); repeatable.
    #[arg(long = "scope", required = true)]
    scope: Vec<String>,
    #[arg(long)]
    effective_at: Option<String>,
    #[arg(long, default_value_t = 30)]
    appeal_days: u32,
}

fn issue(args: IssueArgs, format: Format) -> Outcome {
    let IssueArgs {
        submit,
        designation,
        party,
        line,
        grounds,
        summary,
        scope,
        effective_at,
        appeal_days,
    } = args;
    if let Some(bad) = grounds.iter().find(|g| !GROUNDS.contains(&g.as_str())) {
        return Err(anyhow!("--ground `{bad}`: one of {}", GROUNDS.join(", ")).into());
    }
    let subject = match (party, line) {
        (Some(id), _) => Subject::Party { id },
        (None, Some(line)) => Subject::ModelLine { line },
        (None, None) => return Err(anyhow!("--party or --line").into()),
    };
    act(
        &submit,
        |_, authority, at| {
            let effective = match &effective_at {
                Some(text) => time::format_instant(
                    time::parse_instant("--effective-at", text).map_err(|e| anyhow!(e))?,
                ),
                None => at.to_owned(),
            };
            let what = format!("designation `{designation}` issued");
            let predicate = DesignationIssued {
                party: authority.to_owned(),
                designation,
                subject,
                justification: Justification {
                    grounds,
                    summary,
                    sealed: None,
                },
                scope,
                effective_at: effective,
                appeal_days,
                at: at.to_owned(),
            };
            Ok((Draft::new(&predicate)?, what))
        },
        format,
    )
}

pub fn run(command: DesignationCommand, format: Format) -> Outcome {
    match command {
        DesignationCommand::Issue(args) => issue(args, format),
        DesignationCommand::Appeal {
            submit,
            designation,
            grounds,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!("designation `{designation}` appealed");
                let predicate = DesignationAppealed {
                    party: party.to_owned(),
                    designation,
                    grounds,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        DesignationCommand::Decide {
            submit,
            designation,
            upheld,
            reasons,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!(
                    "appeal of designation `{designation}` {}",
                    if upheld {
                        "upheld: lifted"
                    } else {
                        "dismissed"
                    }
                );
                let predicate = DesignationDecided {
                    party: party.to_owned(),
                    designation,
                    upheld,
                    reasons,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        DesignationCommand::Lift {
            submit,
            designation,
            reason,
        } => act(
            &submit,
            |_, party, at| {
                let what = format!("designation `{designation}` lifted");
                let predicate = DesignationLifted {
                    party: party.to_owned(),
                    designation,
                    reason,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        DesignationCommand::List { source } => {
            let instance = source.open()?;
            let all = instance.designations()?;
            instance.close()?;
            match format {
                Format::Json => print_json(&serde_json::to_value(&all)?),
                Format::Text if all.is_empty() => print("no designations\n"),
                Format::Text => print(&all.iter().map(text).collect::<String>()),
            }
        }
    }
}

fn text(d: &Designation) -> String {
    let subject = match &d.subject {
        Subject::Party { id } => format!("party {id}"),
        Subject::ModelLine { line } => format!("model line {line}"),
    };
    let standing = match (&d.lifted, &d.appeal, &d.decision) {
        (Some(_), _, _) => "lifted",
        (None, Some(_), None) => "in force, under appeal",
        (None, _, Some(_)) => "in force, appeal dismissed",
        (None, None, _) => "in force",
    };
    let mut out = format!(
        "{} ({standing}): {subject}, by {} (entry {}) for {}; grounds {}\n  {}\n",
        d.id,
        d.authority,
        d.entry,
        d.scope.join(", "),
        d.justification.grounds.join(", "),
        d.justification.summary
    );
    if let Some(appeal) = &d.appeal {
        out.push_str(&format!(
            "  appealed by {} (entry {}): {}\n",
            appeal.party, appeal.entry, appeal.text
        ));
    }
    if let Some(decision) = &d.decision {
        out.push_str(&format!(
            "  decided (entry {}): {}: {}\n",
            decision.entry,
            if decision.upheld {
                "upheld"
            } else {
                "dismissed"
            },
            decision.reasons
        ));
    }
    if !d.affected.is_empty() {
        out.push_str(&format!(
            "  suspended or rolled back: {}\n",
            d.affected.join(", ")
        ));
    }
    out
}
