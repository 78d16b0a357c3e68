//! `token issue|revoke|list`: bearer tokens for restricted reads on a server, bound to a
//! party. Only their SHA-256 is kept (in the instance's `tokens.json`, mode 0600); a token is
//! shown once, when issued.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;
use service::Instance as _;
use service::Layout;
use service::access::Tokens;

use crate::output::{Format, Outcome, print, print_json};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a party; it is printed once and stored only as a hash.
    #[command(after_help = "Example:
  concordat token issue --dir ./concordat --party defense-agency --label 'records office'
  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8700/api/contracts/defense-imagery-analysis/addenda/annex-c")]
    Issue {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: crate::instance::DatabaseUrl,
        #[arg(long)]
        party: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id; a running server refuses it from the next request.
    #[command(after_help = "Example:\n  concordat token revoke --dir ./concordat 3f9a1c2d")]
    Revoke {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: crate::instance::DatabaseUrl,
        id: String,
    },
    /// List the tokens issued (ids, parties, labels; never the tokens).
    #[command(after_help = "Example:\n  concordat token list --dir ./concordat")]
    List {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        database: crate::instance::DatabaseUrl,
    },
}

fn now() -> String {
    domain::updates::time::format_instant(service::build::now())
}

pub fn run(command: TokenCommand, format: Format) -> Outcome {
    match command {
        TokenCommand::Issue {
            dir,
            database,
            party,
            label,
        } => {
            let database = database.at(&dir)?;
            service::Local::open_at(&database)?
                .party(&party)
                .map_err(|_| anyhow!("party `{party}` is not registered in `{}`", dir.display()))?;
            let (record, token) =
                service::access::issue_token(&Layout::of(&database), &party, &label, &now())?;
            let id = record.id;
            match format {
                Format::Json => print_json(&json!({"id": id, "party": party, "token": token})),
                Format::Text => print(&format!(
                    "{token}\n# token {id} for `{party}`: shown once, stored only as its hash\n"
                )),
            }
        }
        TokenCommand::Revoke { dir, database, id } => {
            service::access::revoke_token(&Layout::of(&database.at(&dir)?), &id, &now())
                .map_err(|e| anyhow!("{e} in `{}`", dir.display()))?;
            print(&format!("revoked token {id}\n"))
        }
        TokenCommand::List { dir, database } => {
            let tokens = Tokens::read(&Layout::of(&database.at(&dir)?))?;
            if format == Format::Json {
                let list: Vec<_> = tokens.tokens.iter().map(|t| json!({"id": t.id, "party": t.party, "label": t.label, "issued_at": t.issued_at, "revoked_at": t.revoked_at})).collect();
                return print_json(&json!(list));
            }
            let mut out = String::new();
            for t in &tokens.tokens {
                out.push_str(&format!(
                    "{}  {}  issued {}{}  {}\n",
                    t.id,
                    t.party,
                    t.issued_at,
                    t.revoked_at
                        .as_deref()
                        .map(|r| format!(", revoked {r}"))
                        .unwrap_or_default(),
                    t.label
                ));
            }
            if out.is_empty() {
                out.push_str("no tokens issued\n");
            }
            print(&out)
        }
    }
}
