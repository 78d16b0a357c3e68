//! `token issue|revoke|list`: bearer tokens for restricted reads on a server, bound to a
//! party. Only their SHA-256 is kept (in the instance's `tokens.json`, mode 0600); a token is
//! shown once, when issued.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use clap::Subcommand;
use serde_json::json;
use service::Instance as _;
use service::Layout;
use service::access::{TokenRecord, Tokens};

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
        id: String,
    },
    /// List the tokens issued (ids, parties, labels; never the tokens).
    #[command(after_help = "Example:\n  concordat token list --dir ./concordat")]
    List {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn write_tokens(dir: &Path, tokens: &Tokens) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(tokens)?;
    let path = Layout::new(dir).tokens();
    let temporary = path.with_extension("json.new");
    crate::contract_cmd::write_private(&temporary, &format!("{text}\n"))?;
    std::fs::rename(&temporary, &path).with_context(|| format!("cannot write `{}`", path.display()))
}

fn now() -> String {
    domain::updates::time::format_instant(service::build::now())
}

pub fn run(command: TokenCommand, format: Format) -> Outcome {
    match command {
        TokenCommand::Issue { dir, party, label } => {
            service::Local::open(&dir)?
                .party(&party)
                .map_err(|_| anyhow!("party `{party}` is not registered in `{}`", dir.display()))?;
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness: {e}"))?;
            let token = format!(
                "cct_{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
            );
            let hash = service::build::sha256_hex(token.as_bytes());
            let id = hash[..8].to_owned();
            let mut tokens = Tokens::read(&Layout::new(&dir))?;
            tokens.tokens.push(TokenRecord {
                id: id.clone(),
                party: party.clone(),
                sha256: hash,
                label,
                issued_at: now(),
                revoked_at: None,
            });
            write_tokens(&dir, &tokens)?;
            match format {
                Format::Json => print_json(&json!({"id": id, "party": party, "token": token})),
                Format::Text => print(&format!(
                    "{token}\n# token {id} for `{party}`: shown once, stored only as its hash\n"
                )),
            }
        }
        TokenCommand::Revoke { dir, id } => {
            let mut tokens = Tokens::read(&Layout::new(&dir))?;
            let record = tokens
                .tokens
                .iter_mut()
                .find(|t| t.id == id)
                .ok_or_else(|| anyhow!("no token `{id}` in `{}`", dir.display()))?;
            if record.revoked_at.is_none() {
                record.revoked_at = Some(now());
            }
            write_tokens(&dir, &tokens)?;
            print(&format!("revoked token {id}\n"))
        }
        TokenCommand::List { dir } => {
            let tokens = Tokens::read(&Layout::new(&dir))?;
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
