//! `gateway serve|authorize|credential|standin`: the enforcement gateway in front of a
//! vendor's model API, the agency's part (naming the gateway, issuing and revoking its users'
//! API keys through the ledger), and a stand-in model to try it with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use domain::contract::Classification;
use domain::gateway::{CredentialIssued, CredentialRevoked, GatewayAuthorized};
use serde_json::json;
use service::{Draft, Instance};

use crate::instance::{Where, read_signer};
use crate::output::{Format, Outcome, print, print_json};
use crate::updates_cmd::{Submit, act, entry_time, party_of};

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Serve an OpenAI-compatible proxy that enforces a deployment's contract on every request.
    #[command(after_help = "Examples:
  concordat gateway serve --server http://127.0.0.1:8700 --contract defense-imagery-analysis \\
      --deployment analyst-workbench --listen 127.0.0.1:8800 \\
      --upstream https://models.vendor.example/v1 --upstream-key-env VENDOR_API_KEY --key gateway.key

  # then, with the openai SDK or curl:
  curl http://127.0.0.1:8800/v1/chat/completions -H \"Authorization: Bearer $KEY\" \\
      -H 'Concordat-Purpose: imagery-analysis' -H 'Concordat-Data-Classification: secret' \\
      -H 'Concordat-Human-Review: true' -H 'Concordat-Target-Domain: foreign' \\
      -H 'content-type: application/json' -d '{\"model\":\"any\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'

Every request needs an API key the agency issued (`gateway credential issue`) and says what it
is for in the Concordat-Purpose, -Data-Classification, -Human-Review and -Target-Domain headers
(or the same names in the body's `metadata`). The contract's policies decide it: a denial is a
403 that never reaches the provider. Whatever model the client names, the provider is asked for
the version in service. Every call is recorded (digests, never text) and synced to disk before
the answer leaves; records are sealed into `usage-recorded` entries signed with --key. A
rollback, revocation or activation in the ledger takes effect within --poll-ms. Without the
ledger for --ledger-grace seconds, or unable to write records, the gateway answers 503.
Stops on Ctrl-C, sealing what it recorded.")]
    Serve(Box<ServeArgs>),
    /// Name the gateway that enforces a deployment (signed by an agency of the contract).
    #[command(after_help = "Example:
  concordat gateway authorize --server http://127.0.0.1:8700 --key agency.key \\
      --contract defense-imagery-analysis --deployment analyst-workbench --gateway agency-gateway

The gateway is a party with the `gateway` role, registered by an operator
(`concordat party register --role gateway ...`). It then signs the deployment's usage batches.")]
    Authorize {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        deployment: String,
        /// The gateway's party id.
        #[arg(long)]
        gateway: String,
    },
    /// Issue, revoke and list the API keys of an agency's users.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Serve a stand-in model (OpenAI-compatible, answering a fixed labelled text), to try a
    /// gateway without a vendor.
    #[command(after_help = "Example:
  concordat gateway standin --listen 127.0.0.1:8900   # then --upstream http://127.0.0.1:8900/v1")]
    Standin {
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: SocketAddr,
        /// Wait this long before each answer (a slow provider).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Answer as this model whatever is asked (to see drift).
        #[arg(long)]
        answer_as: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The Concordat server whose ledger holds the contract.
    #[arg(long)]
    server: String,
    #[arg(long)]
    contract: String,
    #[arg(long)]
    deployment: String,
    #[arg(long, default_value = "127.0.0.1:8800")]
    listen: SocketAddr,
    /// The provider's OpenAI-compatible base URL, e.g. https://api.vendor.example/v1 (its
    /// certificate checked against the system's trust store, or SSL_CERT_FILE's bundle).
    #[arg(long)]
    upstream: String,
    /// The environment variable holding the provider's API key.
    #[arg(long, conflicts_with = "upstream_key_file")]
    upstream_key_env: Option<String>,
    /// A file holding the provider's API key (its first line).
    #[arg(long)]
    upstream_key_file: Option<PathBuf>,
    /// The gateway's signer key (its party has the `gateway` role).
    #[arg(long)]
    key: PathBuf,
    /// Where records wait to be sealed (one gateway process per directory).
    #[arg(long, default_value = "gateway-records")]
    records: PathBuf,
    /// How often the ledger is asked whether anything changed, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// Seconds without the ledger before the gateway refuses requests.
    #[arg(long, default_value_t = 30)]
    ledger_grace: u64,
    /// Seconds between sealed usage batches.
    #[arg(long, default_value_t = 10)]
    seal_interval: u64,
    /// Seal sooner when this many records wait (or 8 MiB of them).
    #[arg(long, default_value_t = 10_000)]
    seal_records: usize,
    /// How many gateways serve this deployment side by side: each enforces its share of the
    /// contract's capacity terms (requests and tokens per user and agency).
    #[arg(long, default_value_t = 1)]
    replicas: u64,
    /// Threads serving requests (default: the machine's cores).
    #[arg(long)]
    workers: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Issue an API key to one of the agency's users; the key is printed once, only its hash
    /// goes into the ledger.
    #[command(after_help = "Example:
  concordat gateway credential issue --server http://127.0.0.1:8700 --key agency.key \\
      --user analyst-17 --role analyst --clearance secret

--contract is needed only when the agency is a party of several contracts. The user may be a
pseudonym. Every gateway of the contract accepts the key within a second.")]
    Issue {
        #[command(flatten)]
        submit: Submit,
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        user: String,
        /// The user's role as the contract's policies name it, e.g. analyst.
        #[arg(long)]
        role: String,
        /// public, cui, confidential, secret or top-secret.
        #[arg(long)]
        clearance: String,
    },
    /// Revoke an API key: every gateway refuses it within a second.
    #[command(after_help = "Examples:
  concordat gateway credential revoke --server http://127.0.0.1:8700 --key agency.key \\
      --credential sha256:3f1c... --reason 'left the programme'
  concordat gateway credential revoke --server http://127.0.0.1:8700 --key agency.key \\
      --api-key-file analyst-17.key --reason 'key exposed'")]
    Revoke {
        #[command(flatten)]
        submit: Submit,
        /// The key's hash, as `credential list` shows it.
        #[arg(
            long,
            required_unless_present = "api_key_file",
            conflicts_with = "api_key_file"
        )]
        credential: Option<String>,
        /// A file holding the API key itself.
        #[arg(long)]
        api_key_file: Option<PathBuf>,
        #[arg(long)]
        reason: String,
    },
    /// List the credentials issued under a contract (hashes, users, roles, status).
    #[command(after_help = "Example:
  concordat gateway credential list --server http://127.0.0.1:8700 --contract defense-imagery-analysis")]
    List {
        #[command(flatten)]
        source: Where,
        #[arg(long)]
        contract: String,
        /// Any deployment of the contract (credentials hold for all of them).
        #[arg(long, default_value = "any")]
        deployment: String,
    },
}

pub fn run(command: GatewayCommand, format: Format) -> Outcome {
    match command {
        GatewayCommand::Serve(args) => serve(*args),
        GatewayCommand::Authorize {
            submit,
            contract,
            deployment,
            gateway,
        } => act(
            &submit,
            |_, party, at| {
                let predicate = GatewayAuthorized {
                    party: party.to_owned(),
                    contract: contract.clone(),
                    deployment: deployment.clone(),
                    gateway: gateway.clone(),
                    at: at.to_owned(),
                };
                Ok((
                    Draft::new(&predicate)?,
                    format!("gateway `{gateway}` enforces `{deployment}` of `{contract}`"),
                ))
            },
            format,
        ),
        GatewayCommand::Credential(command) => credential(command, format),
        GatewayCommand::Standin {
            listen,
            delay_ms,
            answer_as,
        } => standin(listen, delay_ms, answer_as),
    }
}

fn upstream_key(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    if let Some(name) = &args.upstream_key_env {
        let key = std::env::var(name)
            .with_context(|| format!("--upstream-key-env: `{name}` is not set"))?;
        return Ok(Some(key.trim().to_owned()));
    }
    if let Some(path) = &args.upstream_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--upstream-key-file: cannot read `{}`", path.display()))?;
        let key = text.lines().next().unwrap_or_default().trim().to_owned();
        if key.is_empty() {
            return Err(anyhow!(
                "--upstream-key-file: `{}` is empty",
                path.display()
            ));
        }
        return Ok(Some(key));
    }
    Ok(None)
}

fn serve(args: ServeArgs) -> Outcome {
    let upstream_key = upstream_key(&args)?;
    let key = read_signer(&args.key)?;
    let instance: Arc<dyn Instance> = Arc::from(service::open(None, Some(&args.server), None)?);
    let party = party_of(&*instance, &key, &args.key)?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let config = gateway::Config {
        instance,
        contract: args.contract.clone(),
        deployment: args.deployment.clone(),
        listen: args.listen,
        upstream: args.upstream.clone(),
        upstream_key,
        key,
        party: party.clone(),
        records: args.records.clone(),
        poll: Duration::from_millis(args.poll_ms.max(10)),
        ledger_grace: Duration::from_secs(args.ledger_grace),
        seal_interval: Duration::from_secs(args.seal_interval.max(1)),
        seal_records: args.seal_records.max(1),
        replicas: args.replicas.max(1),
    };
    let running = gateway::start(config, workers).map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "gateway `{party}` enforcing `{}` of `{}`, records in {}",
        args.deployment,
        args.contract,
        args.records.display()
    );
    print(&format!("serving at http://{}/v1\n", running.addr))?;
    running.wait_for_signal();
    Ok(())
}

fn standin(listen: SocketAddr, delay_ms: u64, answer_as: Option<String>) -> Outcome {
    let options = gateway::standin::Options {
        delay: Duration::from_millis(delay_ms),
        answer_as,
    };
    let running = gateway::standin::start(listen, options, 2)
        .with_context(|| format!("cannot listen on {listen}"))?;
    eprintln!("a stand-in model, not a real one: it answers every call with a fixed text");
    print(&format!("serving at {}\n", running.url()))?;
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        runtime.block_on(gateway::interrupted());
    }
    running.stop();
    Ok(())
}

/// The one contract `party` is an agency of, when `--contract` is not given.
fn contract_of(
    instance: &dyn Instance,
    party: &str,
    named: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(contract) = named {
        return Ok(contract.to_owned());
    }
    let mine: Vec<String> = instance
        .contracts()?
        .into_iter()
        .filter(|c| c.parties.iter().any(|p| p == party))
        .map(|c| c.id)
        .collect();
    match mine.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(anyhow!("`{party}` is a party of no contract")),
        many => Err(anyhow!(
            "`{party}` is a party of {} contracts ({}): name one with --contract",
            many.len(),
            many.join(", ")
        )),
    }
}

fn credential(command: CredentialCommand, format: Format) -> Outcome {
    match command {
        CredentialCommand::Issue {
            submit,
            contract,
            user,
            role,
            clearance,
        } => issue(
            &submit,
            contract.as_deref(),
            &user,
            &role,
            &clearance,
            format,
        ),
        CredentialCommand::Revoke {
            submit,
            credential,
            api_key_file,
            reason,
        } => {
            let credential = match (credential, api_key_file) {
                (Some(hash), _) => hash,
                (None, Some(path)) => service::gateway::api_key_hash(api_key_of(&path)?.as_str()),
                (None, None) => return Err(anyhow!("--credential or --api-key-file").into()),
            };
            act(
                &submit,
                |_, party, at| {
                    let predicate = CredentialRevoked {
                        party: party.to_owned(),
                        credential: credential.clone(),
                        reason: reason.clone(),
                        at: at.to_owned(),
                    };
                    Ok((
                        Draft::new(&predicate)?,
                        format!("credential {credential} revoked"),
                    ))
                },
                format,
            )
        }
        CredentialCommand::List {
            source,
            contract,
            deployment,
        } => list(&source, &contract, &deployment, format),
    }
}

fn api_key_of(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

fn issue(
    submit: &Submit,
    contract: Option<&str>,
    user: &str,
    role: &str,
    clearance: &str,
    format: Format,
) -> Outcome {
    let clearance = Classification::parse(clearance).ok_or_else(|| {
        anyhow!("--clearance `{clearance}`: one of public, cui, confidential, secret, top-secret")
    })?;
    let key = read_signer(&submit.key)?;
    let instance = submit.to.open()?;
    let party = party_of(&*instance, &key, &submit.key)?;
    let contract = contract_of(&*instance, &party, contract)?;
    let (_, at) = entry_time(submit.at.as_deref())?;
    let api_key = service::gateway::new_api_key()?;
    let hash = service::gateway::api_key_hash(&api_key);
    let predicate = CredentialIssued {
        party: party.clone(),
        contract: contract.clone(),
        user: user.to_owned(),
        role: role.to_owned(),
        clearance,
        credential: hash.clone(),
        at,
    };
    let envelope = Draft::new(&predicate)?.signed_bytes(&[&key])?;
    let receipt = instance
        .submit(envelope)
        .map_err(|e| anyhow::Error::new(e).context(format!("credential for `{user}`")))?;
    instance.close()?;
    match format {
        Format::Json => print_json(&json!({
            "api_key": api_key, "credential": hash, "user": user, "role": role,
            "clearance": clearance.name(), "contract": contract, "index": receipt.index,
        })),
        Format::Text => print(&format!(
            "{api_key}\n\nThe API key above is shown once: hand it to `{user}`. The ledger keeps only its hash, {hash} (entry {}); `{user}` may call the gateways of `{contract}` as {role}, cleared for {}.\n",
            receipt.index,
            clearance.name()
        )),
    }
}

fn list(source: &Where, contract: &str, deployment: &str, format: Format) -> Outcome {
    let instance = source.open()?;
    let view = instance.gateway_view(contract, deployment)?;
    if format == Format::Json {
        return print_json(&serde_json::to_value(&view.credentials)?);
    }
    if view.credentials.is_empty() {
        return print(&format!("no credentials issued under `{contract}`\n"));
    }
    let mut out = String::from("CREDENTIAL\tUSER\tROLE\tCLEARANCE\tAGENCY\tENTRY\tSTATUS\n");
    for c in &view.credentials {
        let status = match &c.revoked {
            None => "active".to_owned(),
            Some(r) => format!("revoked (entry {}): {}", r.entry, r.reason),
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{status}\n",
            c.credential,
            c.user,
            c.role,
            c.clearance.name(),
            c.agency,
            c.entry
        ));
    }
    print(&out)
}
