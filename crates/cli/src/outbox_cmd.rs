//! `outbox endpoint | list`: where a party's notifications go, and what the instance delivered.

use clap::Subcommand;
use domain::updates::time;
use service::Draft;
use std::path::PathBuf;

use crate::output::{Format, Outcome, print, print_json};
use crate::updates_cmd::{Submit, act};

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Name the HTTPS endpoint the instance delivers your party's notifications to: the
    /// duties you owe under an incident, the designations that concern you.
    #[command(after_help = "Example:
  concordat outbox endpoint --server http://127.0.0.1:8700 --key vendor.key \\
      --url https://hooks.acme.example/concordat

Each notification is a JSON POST signed with the operator's key (RFC 9421: @method, @authority,
@path, content-digest, idempotency-key), retried with backoff until your endpoint answers 2xx;
the same notification always carries the same Idempotency-Key. Plain http:// is accepted only
for a loopback receiver.")]
    Endpoint {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        url: String,
    },
    /// The operator's view: notifications pending and delivered, and every delivery attempt.
    #[command(after_help = "Example:\n  concordat outbox list --dir ./concordat --format json")]
    List {
        /// The instance directory (the outbox is kept beside the ledger).
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: crate::instance::DatabaseUrl,
    },
}

pub fn run(command: OutboxCommand, format: Format) -> Outcome {
    match command {
        OutboxCommand::Endpoint { submit, url } => act(
            &submit,
            |_, party, at| {
                let what = format!("notifications of `{party}` go to {url}");
                let predicate = domain::EndpointRegistered {
                    party: party.to_owned(),
                    url,
                    at: at.to_owned(),
                };
                Ok((Draft::new(&predicate)?, what))
            },
            format,
        ),
        OutboxCommand::List { dir, database } => {
            let outbox = service::outbox::Outbox::of(&service::Layout::of(&database.at(&dir)?))?;
            let (pending, delivered, attempts) =
                (outbox.pending(), outbox.delivered(), outbox.attempts());
            match format {
                Format::Json => print_json(&serde_json::json!({
                    "cursor": outbox.cursor(), "pending": pending,
                    "delivered": delivered, "attempts": attempts,
                })),
                Format::Text => {
                    let mut out = format!(
                        "{} pending, {} delivered, {} attempts; the log is read up to entry {}\n",
                        pending.len(),
                        delivered.len(),
                        attempts.len(),
                        outbox.cursor()
                    );
                    for n in &pending {
                        out.push_str(&format!(
                            "  pending   {} to {} ({}), {} attempts, next at {}\n",
                            n.key,
                            n.party,
                            n.url,
                            n.attempts,
                            time::format_instant(n.next_at)
                        ));
                    }
                    for a in &attempts {
                        out.push_str(&format!(
                            "  attempt   {} {} to {}: {}\n",
                            time::format_instant(a.at),
                            a.key,
                            a.url,
                            match (&a.status, &a.error) {
                                (Some(status), _) => format!("HTTP {status}"),
                                (None, Some(error)) => error.clone(),
                                (None, None) => "no answer".to_owned(),
                            }
                        ));
                    }
                    print(&out)
                }
            }
        }
    }
}
