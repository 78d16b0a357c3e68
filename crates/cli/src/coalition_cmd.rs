//! `concordat coalition publish|show` and `concordat evidence mirror`: the coalition an
//! instance belongs to, and evidence another member logged, brought in with its proof.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};
use domain::federation::{CoalitionPublished, EvidenceMirrored, prove};
use service::{Draft, Instance};

use crate::instance::Where;
use crate::output::{Format, Outcome, print, print_json};
use crate::updates_cmd::{Submit, act};

#[derive(Debug, Subcommand)]
pub enum CoalitionCommand {
    /// Log the coalition this instance belongs to (signed by an operator): each member's log
    /// key and the witness policy its checkpoints must meet. Replaces the one logged before.
    #[command(after_help = "Example:
  concordat coalition publish --dir ./us --key operator.key coalition.toml

coalition.toml lists the members, each with its name (mirrored labs are `LAB@NAME`), its log's
verifier key (whose name is the log's origin) and a C2SP tlog-policy file, relative to the
coalition file, that its checkpoints must meet:

  [[member]]
  name = \"gb\"
  log = \"gb.concordat.example/ai+1a2b3c4d+AZ...\"
  witness_policy = \"gb.policy\"")]
    Publish {
        #[command(flatten)]
        submit: Submit,
        /// The coalition file.
        file: PathBuf,
    },
    /// Show the coalition the instance logged last.
    #[command(after_help = "Examples:
  concordat coalition show --dir ./us
  concordat coalition show --server http://127.0.0.1:8700 --format json")]
    Show {
        #[command(flatten)]
        source: Where,
    },
}

/// `evidence mirror`: where the evidence is, and who brings it.
#[derive(Debug, Args)]
pub struct MirrorArgs {
    #[command(flatten)]
    pub submit: Submit,
    /// The coalition member whose log holds the evidence, as this instance's coalition names
    /// it.
    #[arg(long)]
    pub member: String,
    /// The member's server: the envelope and its cosigned proof are fetched from it.
    #[arg(long, value_name = "URL", required_unless_present = "envelope")]
    pub from: Option<String>,
    /// The evidence's index in the member's log (with --from).
    #[arg(long, requires = "from")]
    pub entry: Option<u64>,
    /// Instead of --from: the entry's envelope, byte for byte as the member's log holds it.
    #[arg(long, requires = "proof", conflicts_with = "from")]
    pub envelope: Option<PathBuf>,
    /// With --envelope: its tlog-proof, cosigned as the member's witness policy requires.
    #[arg(long, requires = "envelope")]
    pub proof: Option<PathBuf>,
}

pub fn run(command: CoalitionCommand, format: Format) -> Outcome {
    match command {
        CoalitionCommand::Publish { submit, file } => {
            let coalition = service::federation::Coalition::load(&file)?;
            act(
                &submit,
                |_, party, at| {
                    let names: Vec<&str> =
                        coalition.logged.iter().map(|m| m.name.as_str()).collect();
                    let predicate = CoalitionPublished {
                        operator: party.to_owned(),
                        members: coalition.logged.clone(),
                        at: at.to_owned(),
                    };
                    Ok((
                        Draft::new(&predicate)?,
                        format!("coalition of {}", names.join(", ")),
                    ))
                },
                format,
            )
        }
        CoalitionCommand::Show { source } => show(&source, format),
    }
}

fn show(source: &Where, format: Format) -> Outcome {
    let instance = source.open()?;
    let coalition = instance.coalition()?;
    instance.close()?;
    if format == Format::Json {
        return print_json(&serde_json::to_value(&coalition)?);
    }
    let Some(coalition) = coalition else {
        return print("no coalition: an operator logs one with `concordat coalition publish`\n");
    };
    let mut out = format!("coalition, logged at entry {}:\n", coalition.entry);
    for member in &coalition.members {
        out.push_str(&format!(
            "  {}: log {} (quorum {})\n",
            member.name,
            member.log,
            member.quorum()
        ));
    }
    print(&out)
}

/// The envelope and proof to mirror: fetched from the member's server, or read from files.
fn fetch(args: &MirrorArgs) -> anyhow::Result<(String, String, String)> {
    if let (Some(envelope), Some(proof)) = (&args.envelope, &args.proof) {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))
        };
        return Ok((
            read(envelope)?,
            read(proof)?,
            format!("`{}`", envelope.display()),
        ));
    }
    let url = args.from.as_deref().unwrap_or_default();
    let index = args
        .entry
        .ok_or_else(|| anyhow!("--from needs --entry: the evidence's index in that log"))?;
    let member = service::Remote::new(url)?;
    let envelope = String::from_utf8(member.envelope(index)?)
        .map_err(|_| anyhow!("{url}: entry {index} is not a JSON envelope"))?;
    let proof = member.proof(index)?;
    Ok((envelope, proof, format!("entry {index} of {url}")))
}

/// Brings evidence another member logged into this instance, checked first as the ledger
/// will check it.
pub fn mirror(args: MirrorArgs, format: Format) -> Outcome {
    let (envelope, proof, source) = fetch(&args)?;
    act(
        &args.submit,
        |instance: &dyn Instance, party, at| {
            let coalition = instance.coalition()?.ok_or_else(|| {
                anyhow!("the instance names no coalition: an operator logs one first (`concordat coalition publish`)")
            })?;
            let member = coalition.member(&args.member).ok_or_else(|| {
                anyhow!(
                    "`{}` is not a member of the instance's coalition",
                    args.member
                )
            })?;
            let proven = prove(member, envelope.as_bytes(), &proof)
                .map_err(|e| service::ServiceError::Unverified(format!("{source}: {e}")))?;
            let predicate = EvidenceMirrored {
                party: party.to_owned(),
                member: args.member.clone(),
                envelope: envelope.clone(),
                proof: proof.clone(),
                at: at.to_owned(),
            };
            Ok((
                Draft::new(&predicate)?,
                format!(
                    "mirrored entry {} of `{}` ({})",
                    proven.index, args.member, proven.origin
                ),
            ))
        },
        format,
    )
}
