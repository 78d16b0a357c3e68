//! `compliance report | catalogs`: a contract's coverage of each regime's requirements, from
//! the ledger alone, as text, JSON or HTML; and the catalogs shipped with the binary.

use anyhow::anyhow;
use clap::Subcommand;
use domain::compliance::{Coverage, Status};

use crate::instance::Where;
use crate::output::{Format, Outcome, print, print_json, verification_failed};
use crate::updates_cmd::entry_time;

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Each requirement of each regime, for one contract: met (by which module or entries), a
    /// gap (what is missing), or not applicable (why). Exits 1 while a regime has a gap.
    #[command(after_help = "Examples:
  concordat compliance report --dir ./concordat --contract defense-imagery-analysis
  concordat compliance report --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --regime eu-ai-act --regime nist-ai-rmf --format json
  concordat compliance report --dir ./concordat --contract defense-imagery-analysis --format html > report.html

--regime names a regime a contract may name (eu-ai-act, us-omb-m-25-21, us-omb-m-25-22, uk,
india) or a catalog (nist-ai-rmf, nist-ai-600-1, eu-ai-act, uk-aisi, india-ai-governance,
us-omb); without it the report reads the NIST AI RMF and every regime the contract names.
--at reckons dates (what applies yet, what evidence has expired) at another time; the same log
and the same --at give the same bytes.")]
    Report {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        /// A regime or catalog; repeatable.
        #[arg(long = "regime")]
        regimes: Vec<String>,
        /// RFC 3339; default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// The contract's compliance as OSCAL 1.2 JSON documents written into a directory: every
    /// catalog, a component definition, a profile and system security plan, assessment results,
    /// a POA&M and the crosswalk as a mapping collection.
    #[command(after_help = "Example:
  concordat compliance export --dir ./concordat --contract defense-imagery-analysis --oscal ./oscal

Writes catalogs/*.json (each regime's, and concordat-records.json: the facts the crosswalk maps
from), component-definition.json, profile.json, system-security-plan.json (sealed addenda only
as their commitment and label), assessment-results.json, poam.json and mapping-collection.json. The
documents are read from the ledger as it stands at its last entry, so the same log gives the
same bytes; the entries they cite carry their inclusion proofs in back-matter.")]
    Export {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        /// The directory to write into (created if missing).
        #[arg(long)]
        oscal: std::path::PathBuf,
    },
    /// The catalogs shipped with this binary: id, version, source, and how many items of
    /// each kind.
    #[command(after_help = "Example:\n  concordat compliance catalogs --format json")]
    Catalogs,
}

pub fn run(command: ComplianceCommand, format: Format, html: bool) -> Outcome {
    match command {
        ComplianceCommand::Report {
            source,
            contract,
            regimes,
            at,
        } => {
            let at = at
                .as_deref()
                .map(|at| entry_time(Some(at)))
                .transpose()?
                .map(|(s, _)| s);
            let instance = source.open()?;
            let reports = instance.compliance(&contract, &regimes, at)?;
            instance.close()?;
            if html {
                print(&server::render::compliance_html(&reports))?;
            } else {
                match format {
                    Format::Json => print_json(&serde_json::to_value(&reports)?)?,
                    Format::Text => print(&text(&reports))?,
                }
            }
            let gaps: Vec<String> = reports
                .iter()
                .filter(|r| r.count(Status::Gap) > 0)
                .map(|r| format!("{} ({} gaps)", r.catalog, r.count(Status::Gap)))
                .collect();
            if gaps.is_empty() {
                Ok(())
            } else {
                Err(verification_failed(anyhow!("gaps in {}", gaps.join(", "))))
            }
        }
        ComplianceCommand::Export {
            source,
            contract,
            oscal,
        } => {
            let instance = source.open()?;
            let files = instance.oscal(&contract)?;
            instance.close()?;
            let mut written = Vec::new();
            for (name, document) in &files {
                let path = oscal.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| anyhow!("cannot create `{}`: {e}", parent.display()))?;
                }
                std::fs::write(&path, format!("{document:#}\n"))
                    .map_err(|e| anyhow!("cannot write `{}`: {e}", path.display()))?;
                written.push(path.display().to_string());
            }
            match format {
                Format::Json => print_json(&serde_json::json!({ "written": written }))?,
                Format::Text => print(&format!(
                    "wrote {} OSCAL documents:\n  {}\n",
                    written.len(),
                    written.join("\n  ")
                ))?,
            }
            Ok(())
        }
        ComplianceCommand::Catalogs => {
            let catalogs = domain::compliance::catalogs().map_err(|e| anyhow!(e))?;
            match format {
                Format::Json => print_json(&serde_json::to_value(catalogs)?)?,
                Format::Text => {
                    let mut out = String::new();
                    for c in catalogs {
                        let mut kinds: Vec<(String, usize)> = Vec::new();
                        for item in &c.items {
                            match kinds.iter_mut().find(|(k, _)| *k == item.kind) {
                                Some((_, n)) => *n += 1,
                                None => kinds.push((item.kind.clone(), 1)),
                            }
                        }
                        let counts: Vec<String> =
                            kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
                        out.push_str(&format!(
                            "{}  {} (version {})\n  {}\n  source: {}\n",
                            c.id,
                            c.title,
                            c.version,
                            counts.join(", "),
                            c.source
                        ));
                    }
                    print(&out)?;
                }
            }
            Ok(())
        }
    }
}

/// The reports as text: per catalog, its counts and each requirement's line.
fn text(reports: &[Coverage]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "{} ({} {}) for {} at {}: {} met, {} gaps, {} not applicable\n",
            r.title,
            r.catalog,
            r.catalog_version,
            r.contract,
            r.at,
            r.count(Status::Met),
            r.count(Status::Gap),
            r.count(Status::NotApplicable)
        ));
        for row in &r.rows {
            let detail = match row.status {
                Status::Met => row
                    .met_by
                    .iter()
                    .map(|p| {
                        let shown: Vec<String> = p
                            .shown
                            .iter()
                            .map(|w| match (&w.file, w.entry) {
                                (Some(file), _) => file.clone(),
                                (None, Some(entry)) => format!("entry {entry}"),
                                (None, None) => String::new(),
                            })
                            .collect();
                        format!(
                            "{} [{}] ({})",
                            p.words,
                            p.relationship.name(),
                            shown.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                Status::Gap => format!("missing: {}", row.missing.join("; or ")),
                Status::NotApplicable => row.why.clone().unwrap_or_default(),
            };
            out.push_str(&format!(
                "  {:<15} {:<14} {}\n",
                row.id,
                row.status.name().to_uppercase(),
                detail
            ));
        }
        out.push('\n');
    }
    out
}
