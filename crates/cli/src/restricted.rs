//! Restricted reads from a server, as a party: the credential (a bearer token, or the request
//! signed with the party's key — RFC 9421 HTTP Message Signatures) and a check of what comes
//! back against what the ledger publishes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use attest::http_signature::{self, Message, Params};
use domain::contract::{self, Sealed};
use serde_json::{Value, json};
use tlog::note::SignerKey;

use crate::instance::{fetch, query_value};
use crate::keys::read_signer;
use crate::output::{Failure, Format, Outcome, print, print_json, verification_failed};

/// How a party proves who it is to a server: `--key` or `--token-file`.
#[derive(Debug, clap::Args)]
pub struct CredentialArgs {
    /// Sign each request with this key of the party (an RFC 9421 HTTP message signature).
    #[arg(long, conflicts_with = "token_file")]
    pub key: Option<PathBuf>,
    /// A file holding a bearer token of the party, from `concordat token issue`
    /// (CONCORDAT_TOKEN also works).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

impl CredentialArgs {
    pub fn credential(&self) -> Result<Credential, Failure> {
        Credential::from_args(self.key.as_deref(), self.token_file.as_deref())
    }
}

/// A restricted read of one entry's data from a server, written to a file.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The server, e.g. http://127.0.0.1:8700.
    #[arg(long)]
    pub server: String,
    /// The entry's index.
    #[arg(long)]
    pub entry: u64,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// Where to write what is read (mode 0600; must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}

/// How a request proves which party sends it.
pub enum Credential {
    Token(String),
    Key(Box<SignerKey>),
}

impl Credential {
    /// `--key`, else `--token-file`, else `CONCORDAT_TOKEN`.
    pub fn from_args(key: Option<&Path>, token_file: Option<&Path>) -> Result<Credential, Failure> {
        if let Some(path) = key {
            return Ok(Credential::Key(Box::new(read_signer(path)?)));
        }
        if let Some(path) = token_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let token = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .ok_or_else(|| anyhow!("`{}` holds no token", path.display()))?;
            return Ok(Credential::Token(token.to_owned()));
        }
        match std::env::var("CONCORDAT_TOKEN") {
            Ok(token) if !token.trim().is_empty() => Ok(Credential::Token(token.trim().to_owned())),
            _ => Err(anyhow!("give --key or --token-file (or set CONCORDAT_TOKEN)").into()),
        }
    }
}

/// A server URL's parts: `http://host:port/prefix`.
struct Target<'a> {
    authority: String,
    prefix: &'a str,
}

fn target(server: &str) -> anyhow::Result<Target<'_>> {
    let (scheme, rest) = server
        .split_once("://")
        .ok_or_else(|| anyhow!("--server `{server}`: expected http://HOST[:PORT]"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(anyhow!("--server `{server}`: no host"));
    }
    let authority = authority.to_ascii_lowercase();
    // The authority as the Host field carries it: no default port.
    let authority = match (scheme, authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        _ => authority,
    };
    Ok(Target { authority, prefix })
}

/// GETs a restricted resource with the credential; the server's refusal says why.
pub fn get_restricted(server: &str, path: &str, credential: &Credential) -> Result<Value, Failure> {
    request_restricted("GET", server, path, credential, None)
}

/// Sends a request with the credential (a PUT carries `body`); the server's refusal says why:
/// 401/403 and 422 are exit 1, anything else exit 2.
pub fn request_restricted(
    method: &str,
    server: &str,
    path: &str,
    credential: &Credential,
    body: Option<&[u8]>,
) -> Result<Value, Failure> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    let mut request = crate::instance::agent().request(method, &url);
    match credential {
        Credential::Token(token) => {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        Credential::Key(key) => {
            let target = target(server)?;
            let public = attest::PublicKey::parse(&key.verifier().to_text())
                .map_err(|e| anyhow!("the signing key: {e}"))?;
            let mut nonce = [0u8; 16];
            getrandom::fill(&mut nonce).map_err(|e| anyhow!("cannot get random bytes: {e}"))?;
            let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
            let created = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let params = Params::new(
                &["@method", "@authority", "@path"],
                created,
                &public.keyid(),
                Some(public.algorithm()),
                Some(&nonce),
            );
            let full_path = format!("{}{path}", target.prefix);
            let message = Message {
                method,
                authority: &target.authority,
                path: &full_path,
                query: None,
                headers: &[],
            };
            let (input, signature) = http_signature::sign(&message, "concordat", &params, key)
                .map_err(|e| anyhow!("cannot sign the request: {e}"))?;
            request = request
                .set("Signature-Input", &input)
                .set("Signature", &signature);
        }
    }
    let response = match body {
        Some(bytes) => request
            .set("Content-Type", "application/jsonl")
            .send_bytes(bytes),
        None => request.call(),
    };
    match response {
        Ok(response) => Ok(response
            .into_json()
            .with_context(|| format!("{url}: the answer is not JSON"))?),
        Err(ureq::Error::Status(status, response)) => {
            let message =
                crate::instance::refusal_reason(response, "the server refused the request");
            match status {
                401 | 403 | 422 => Err(verification_failed(anyhow!(
                    "refused ({status}): {message}"
                ))),
                _ => Err(anyhow!("{message}").into()),
            }
        }
        Err(error) => Err(crate::instance::unreachable(server, &error).into()),
    }
}

/// Reads a sealed text from `path` with the credential, checks it against `commitment` (from
/// the public record, read first), and writes it to `out` (mode 0600) in the form
/// `addendum verify` opens. Returns the server's answer.
fn reveal(
    server: &str,
    path: &str,
    commitment: &str,
    credential: &Credential,
    out: &Path,
) -> Result<Value, Failure> {
    let answer = get_restricted(server, path, credential)?;
    let sealed = Sealed {
        id: answer["id"].as_str().unwrap_or_default().to_owned(),
        salt: answer["salt"].as_str().unwrap_or_default().to_owned(),
        text: answer["text"].as_str().unwrap_or_default().to_owned(),
    };
    contract::open_commitment(commitment, &sealed).map_err(|e| {
        verification_failed(anyhow!(
            "the text the server sent does not open the public commitment {commitment}: {e}"
        ))
    })?;
    crate::contract_cmd::write_sealed(out, commitment, &sealed)?;
    Ok(answer)
}

fn recorded_at(answer: &Value) -> String {
    answer["read_recorded_at"]
        .as_u64()
        .map_or_else(|| "?".to_owned(), |i| i.to_string())
}

/// `addendum fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The server, e.g. http://127.0.0.1:8700.
    #[arg(long)]
    pub server: String,
    #[arg(long)]
    pub contract: String,
    /// The addendum's id.
    #[arg(long)]
    pub addendum: String,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// Where to write the sealed half (mode 0600; must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn fetch_addendum(args: FetchArgs, format: Format) -> Outcome {
    let credential = args.credential.credential()?;
    let record: domain::ContractRecord = serde_json::from_value(fetch(
        &args.server,
        &format!("/api/contracts/{}", query_value(&args.contract)),
    )?)
    .context("the server's contract")?;
    let public = record
        .addenda
        .iter()
        .find(|a| a.id == args.addendum)
        .ok_or_else(|| {
            anyhow!(
                "contract `{}` has no addendum `{}`",
                args.contract,
                args.addendum
            )
        })?;
    let answer = reveal(
        &args.server,
        &format!(
            "/api/contracts/{}/addenda/{}",
            query_value(&args.contract),
            query_value(&args.addendum)
        ),
        &public.commitment,
        &credential,
        &args.out,
    )?;
    match format {
        Format::Json => print_json(&json!({
            "contract": args.contract, "addendum": args.addendum, "commitment": public.commitment,
            "out": args.out, "read_recorded_at": answer["read_recorded_at"],
        })),
        Format::Text => print(&format!(
            "wrote `{}`: addendum `{}` of `{}` ({}), which opens its public commitment {}\nthe read is recorded in the ledger at entry {}\n",
            args.out.display(),
            args.addendum,
            args.contract,
            public.classification,
            public.commitment,
            recorded_at(&answer),
        )),
    }
}

/// `evidence reveal`.
pub fn reveal_result(args: ReadArgs, format: Format) -> Outcome {
    let credential = args.credential.credential()?;
    let entry = fetch(&args.server, &format!("/api/entries/{}", args.entry))?;
    let predicate = &entry["statement"]["predicate"];
    let commitment = match (entry["kind"].as_str(), predicate["sealedResult"].as_str()) {
        (Some("evidence-recorded"), Some(commitment)) => commitment.to_owned(),
        (Some("evidence-recorded"), None) => {
            return Err(anyhow!(
                "evidence entry {} has no sealed result: its metrics are public",
                args.entry
            )
            .into());
        }
        _ => return Err(anyhow!("entry {} is not evidence", args.entry).into()),
    };
    let answer = reveal(
        &args.server,
        &format!("/api/evidence/{}/sealed", args.entry),
        &commitment,
        &credential,
        &args.out,
    )?;
    match format {
        Format::Json => print_json(&json!({
            "entry": args.entry, "commitment": commitment, "metrics": answer["metrics"],
            "out": args.out, "read_recorded_at": answer["read_recorded_at"],
        })),
        Format::Text => {
            let metrics: Vec<String> = answer["metrics"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            print(&format!(
                "wrote `{}`: the sealed result of evidence entry {} ({} on {}: {}), which opens its public commitment {}\nthe read is recorded in the ledger at entry {}\n",
                args.out.display(),
                args.entry,
                answer["suite"].as_str().unwrap_or_default(),
                answer["model"].as_str().unwrap_or_default(),
                metrics.join(", "),
                commitment,
                recorded_at(&answer),
            ))
        }
    }
}

/// Where a deposit goes, with which credential, and the file deposited.
#[derive(Debug, clap::Args)]
pub struct DepositArgs {
    #[command(flatten)]
    pub to: crate::instance::Where,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// The sealed half (from `addendum seal` or `evidence import --seal`).
    pub sealed: PathBuf,
}

fn read_sealed(path: &Path) -> Result<Sealed, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(toml::from_str(&text).map_err(|e| anyhow!("`{}`: {e}", path.display()))?)
}

/// Puts `body` at `path` on the server, or writes it to `file` in the instance directory.
fn deposit(
    args: &DepositArgs,
    path: &str,
    file: &Path,
    body: &str,
) -> Result<&'static str, Failure> {
    match &args.to.server {
        Some(server) => {
            let credential = args.credential.credential()?;
            let answer =
                request_restricted("PUT", server, path, &credential, Some(body.as_bytes()))?;
            Ok(if answer["already_stored"] == true {
                "was already deposited"
            } else {
                "deposited"
            })
        }
        None => {
            let dir = args.to.dir()?;
            let target = dir.join(server::SEALED_DIR).join(file);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create `{}`", parent.display()))?;
            }
            match std::fs::read_to_string(&target) {
                Ok(existing) if existing == body => Ok("was already deposited"),
                Ok(_) => Err(anyhow!(
                    "`{}` holds another deposit; remove it first to replace it",
                    target.display()
                )
                .into()),
                Err(_) => {
                    crate::contract_cmd::write_private(&target, body)?;
                    Ok("deposited")
                }
            }
        }
    }
}

/// `addendum deposit`: a sealed addendum's text, for the parties cleared for it.
pub fn deposit_addendum(
    args: DepositArgs,
    contract: &str,
    cleared: &[String],
    format: Format,
) -> Outcome {
    let sealed = read_sealed(&args.sealed)?;
    let record: domain::ContractRecord = match &args.to.server {
        Some(server) => serde_json::from_value(fetch(
            server,
            &format!("/api/contracts/{}", query_value(contract)),
        )?)
        .context("the server's contract")?,
        None => {
            let dir = args.to.dir()?;
            crate::updates_cmd::load_state(dir)?
                .contract(contract)
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "contract `{contract}` is not published in `{}`",
                        dir.display()
                    )
                })?
        }
    };
    let public = record
        .addenda
        .iter()
        .find(|a| a.id == sealed.id)
        .ok_or_else(|| anyhow!("contract `{contract}` has no addendum `{}`", sealed.id))?;
    contract::open_commitment(&public.commitment, &sealed)
        .map_err(|e| verification_failed(anyhow!("`{}`: {e}", args.sealed.display())))?;
    if let Some(outsider) = cleared.iter().find(|p| !record.parties.contains(p)) {
        return Err(anyhow!("--cleared `{outsider}` is not a party of `{contract}`").into());
    }
    let mut table = toml::Table::new();
    table.insert("id".into(), sealed.id.clone().into());
    table.insert("salt".into(), sealed.salt.clone().into());
    table.insert("text".into(), sealed.text.clone().into());
    if !cleared.is_empty() {
        table.insert(
            "cleared".into(),
            toml::Value::Array(cleared.iter().map(|p| p.clone().into()).collect()),
        );
    }
    let body = toml::to_string(&table)?;
    let done = deposit(
        &args,
        &format!(
            "/api/contracts/{}/addenda/{}",
            query_value(contract),
            query_value(&sealed.id)
        ),
        &Path::new(contract).join(format!("{}.sealed.toml", sealed.id)),
        &body,
    )?;
    let readers = if cleared.is_empty() {
        record.parties.join(", ")
    } else {
        cleared.join(", ")
    };
    match format {
        Format::Json => print_json(&json!({
            "contract": contract, "addendum": sealed.id, "status": done, "cleared": readers,
        })),
        Format::Text => print(&format!(
            "addendum `{}` of `{contract}` {done}: it opens its public commitment; readable by {readers}, each read logged\n",
            sealed.id
        )),
    }
}

/// `evidence deposit`: a sealed evaluation result, for the auditors in scope.
pub fn deposit_result(args: DepositArgs, entry: u64, format: Format) -> Outcome {
    let sealed = read_sealed(&args.sealed)?;
    let commitment = match &args.to.server {
        Some(server) => fetch(server, &format!("/api/entries/{entry}"))?["statement"]["predicate"]
            ["sealedResult"]
            .as_str()
            .map(str::to_owned),
        None => {
            let dir = args.to.dir()?;
            crate::updates_cmd::load_state(dir)?
                .evidence(entry)
                .and_then(|e| e.sealed_result.clone())
        }
    }
    .ok_or_else(|| anyhow!("entry {entry} is not evidence with a sealed result"))?;
    contract::open_commitment(&commitment, &sealed)
        .map_err(|e| verification_failed(anyhow!("`{}`: {e}", args.sealed.display())))?;
    let body = std::fs::read_to_string(&args.sealed)
        .with_context(|| format!("cannot read `{}`", args.sealed.display()))?;
    let done = deposit(
        &args,
        &format!("/api/evidence/{entry}/sealed"),
        &Path::new(server::SEALED_EVIDENCE_DIR).join(format!("{entry}.sealed.toml")),
        &body,
    )?;
    match format {
        Format::Json => print_json(&json!({"entry": entry, "status": done})),
        Format::Text => print(&format!(
            "the sealed result of evidence entry {entry} {done}: it opens the entry's commitment; readable by its lab and auditors in scope, each read logged\n"
        )),
    }
}
