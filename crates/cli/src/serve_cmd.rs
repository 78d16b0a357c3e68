//! `serve` and `demo`: the instance over HTTP.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};

use crate::output::{Failure, Outcome};

/// Where and how a server listens: its address, TLS and its bounds.
#[derive(Debug, Clone, clap::Args)]
pub struct Bind {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: String,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client may take to send a request's head (also how long a kept-alive
    /// connection may sit idle).
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a request may take from its head to its response.
    #[arg(long, default_value_t = 60)]
    pub request_timeout: u64,
    /// Connections held at once.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Connections held at once from one client address.
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_client: usize,
}

impl Bind {
    pub fn limits(&self) -> server::Limits {
        server::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_client: self.max_connections_per_client.max(1),
            ..server::Limits::default()
        }
    }

    /// The TLS configuration, when --tls-cert and --tls-key are given.
    pub fn tls(&self) -> anyhow::Result<Option<server::TlsConfig>> {
        self.tls_cert
            .as_deref()
            .zip(self.tls_key.as_deref())
            .map(|(cert, key)| server::tls_config(cert, key))
            .transpose()
            .map_err(|e| anyhow!("{e}"))
    }
}

/// How an instance's server listens: where, and the names it answers for.
#[derive(Debug, Clone, clap::Args)]
pub struct Listen {
    #[command(flatten)]
    pub bind: Bind,
    /// A name (`host` or `host:port`) clients reach this server by, beyond those its listen
    /// address and certificate give; repeatable. Signed requests for other names are refused.
    #[arg(long = "authority")]
    pub authorities: Vec<String>,
    /// Deliver notifications to endpoints on loopback, private or link-local addresses too
    /// (refused by default, so that no party's endpoint reaches inside the operator's network).
    #[arg(long)]
    pub webhooks_to_private: bool,
    /// With --database, the URL the other nodes reach this one at, to forward writes while it
    /// leads (default: the URL it listens at).
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,
    /// With --database, how often (milliseconds) this node checks that it still leads, and
    /// tries to take the lead when no node holds it.
    #[arg(long, default_value_t = 250, value_name = "MS")]
    pub node_watch_ms: u64,
    /// A C2SP tlog-policy naming the witnesses (each with its URL) asked to cosign every new
    /// checkpoint, and the quorum they must reach. `/checkpoint` then serves the cosigned
    /// checkpoint, marked `Concordat-Witnessed: quorum` or `provisional`, and proofs carry the
    /// cosignatures.
    #[arg(long, value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// With --witness-policy, serve at `/checkpoint` only checkpoints that met the quorum (the
    /// log waits for its witnesses) instead of newer ones marked provisional.
    #[arg(long, requires = "witness_policy")]
    pub witness_wait: bool,
}

/// Serves the instance `database` names as `how` says until interrupted. `banner` is printed
/// (to standard output) once the socket is bound, after the URL line.
pub fn serve(database: &store::Database, how: &Listen, banner: &dyn Fn(&str) -> String) -> Outcome {
    let dir = database.dir();
    let listen = how.bind.listen.as_str();
    let tls = how.bind.tls()?;
    let certificate_names = how
        .bind
        .tls_cert
        .as_deref()
        .map(server::certificate_names)
        .unwrap_or_default();
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let layout = service::Layout::new(dir);
    let witnessing = how
        .witness_policy
        .as_deref()
        .map(|path| {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            service::cosign::Witnessing::from_policy(&text)
                .with_context(|| format!("`{}`", path.display()))
        })
        .transpose()?;
    let instance = match server::Instance::open_at(database, readers) {
        Ok(instance) => Arc::new(match witnessing {
            Some(witnessing) => instance.witnessed_by(witnessing, how.witness_wait),
            None => instance,
        }),
        Err(error) => {
            let hint = layout
                .serving_url()
                .map(|url| format!(" (a server for it says it is at {url})"))
                .unwrap_or_default();
            return Err(anyhow!("{error}{hint}").into());
        }
    };
    let outbox = instance.start_outbox(how.webhooks_to_private);
    let cosigner = instance.start_cosigner(std::time::Duration::from_millis(500));
    let mut node = None;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url_file = layout.serve_url_file();
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        instance.answer_as(server::Authorities::new(
            address,
            tls.is_some(),
            &how.authorities,
            &certificate_names,
        ));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        node = instance.start_node(
            how.advertise.as_deref().unwrap_or(&url),
            std::time::Duration::from_millis(how.node_watch_ms.max(10)),
        );
        std::fs::write(&url_file, format!("{url}\n"))
            .with_context(|| format!("cannot write `{}`", url_file.display()))?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "serving at {url}")?;
        write!(stdout, "{}", banner(&url))?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(%url, dir = %dir.display(), "serving");
        server::serve(
            listener,
            tls,
            Arc::clone(&instance),
            how.bind.limits(),
            gateway::interrupted(),
        )
        .await
        .context("the server stopped")?;
        anyhow::Ok(())
    });
    let _ = std::fs::remove_file(&url_file);
    drop(node);
    drop(cosigner);
    drop(outbox);
    if let Ok(instance) = Arc::try_unwrap(instance) {
        instance.close()?;
    }
    served.map_err(Failure::from)
}

/// Logs to standard error: `CONCORDAT_LOG` sets the level (default `info`).
pub fn init_logging() {
    let level = std::env::var("CONCORDAT_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// `demo`: a temporary instance seeded with an engagement, served.
pub fn demo(dir: Option<PathBuf>, how: &Listen) -> Outcome {
    let (dir, _temporary) = match dir {
        Some(dir) => (dir, None),
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("concordat-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (temporary.path().to_owned(), Some(temporary))
        }
    };
    let mut seeded = service::demo::seed(&dir)?;
    let (coalition, entries) = demo_coalition(&dir)?;
    seeded.grown_to(entries);
    // The demo runs on this machine: its parties' receivers may be too.
    let how = &Listen {
        webhooks_to_private: true,
        ..how.clone()
    };
    let api_keys = seeded.api_keys.clone();
    let gateway_dir = dir.clone();
    serve(&store::Database::Sqlite(dir.clone()), how, &|url| {
        // The gateway reads its rules from the server, which answers once this returns.
        let (served, dir, api_keys) = (url.to_owned(), gateway_dir.clone(), api_keys.clone());
        std::thread::spawn(move || match demo_gateway(&served, &dir) {
            Ok((gateway, standin)) => {
                print!("{}", gateway_banner(&gateway, &api_keys));
                let _ = std::io::Write::flush(&mut std::io::stdout());
                // Both serve until the process ends.
                std::mem::forget(gateway);
                std::mem::forget(standin);
            }
            Err(error) => eprintln!("the demo's gateway did not start: {error}"),
        });
        let mut banner = seeded.banner(url, &gateway_dir, &program());
        let at = banner.rfind("\nStop with Ctrl-C.").unwrap_or(banner.len());
        banner.insert_str(at, &coalition);
        banner
    })
}

/// The demo's coalition: the British instance and a witness of its log, served in the
/// background of this process; the British evaluation brought into the demo's instance with
/// its cosigned proof. The banner's lines about it, and the entries the demo's instance holds
/// then.
fn demo_coalition(dir: &Path) -> anyhow::Result<(String, u64)> {
    use service::demo::coalition;
    let base = dir.join("coalition");
    let member_dir = base.join(coalition::MEMBER);
    let member = coalition::seed_member(&member_dir)?;
    let witness_dir = base.join("witness");
    let witness_key = service::witness::init(&witness_dir, "witness.demo.concordat.example/w1")?;
    service::witness::add_log(
        &witness_dir,
        member.log_key.name(),
        &[member.log_key.to_text()],
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bind = || -> anyhow::Result<(std::net::TcpListener, String)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok((listener, url))
    };
    let limits = server::Limits::default();
    let witness = Arc::new(service::witness::Witness::open(&witness_dir)?);
    let (listener, witness_url) = bind()?;
    let router = server::witness::router(witness, &limits);
    let witness_limits = limits.clone();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        server::serve_router(
            listener,
            None,
            router,
            witness_limits,
            || {},
            std::future::pending(),
        )
        .await
    });
    let policy = format!(
        "log {}\nwitness w1 {} {witness_url}\nquorum w1\n",
        member.log_key.to_text(),
        witness_key.to_text()
    );
    let witnessing = service::cosign::Witnessing::from_policy(policy.as_bytes())?;
    let instance = Arc::new(
        server::Instance::open_at(&store::Database::Sqlite(member_dir.clone()), 2)?
            .witnessed_by(witnessing, false),
    );
    let (listener, member_url) = bind()?;
    instance.answer_as(server::Authorities::new(
        listener.local_addr()?,
        false,
        &[],
        &[],
    ));
    let cosigner = instance.start_cosigner(std::time::Duration::from_millis(500));
    let served = Arc::clone(&instance);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        server::serve(listener, None, served, limits, std::future::pending()).await
    });
    let started = std::time::Instant::now();
    while instance
        .cosigned_size()
        .is_none_or(|size| size <= member.evidence)
    {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            return Err(anyhow!(
                "the demo's witness did not cosign the British instance's checkpoint within 20 s"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let joined = coalition::join(dir, &member, &policy, &member_url)?;
    // Both serve until the process ends.
    std::mem::forget(cosigner);
    std::mem::forget(runtime);
    let program = program();
    let banner = format!(
        "\nA coalition: this instance and a British one at {member_url}, whose checkpoints the witness at {witness_url} cosigns.\n  The UK lab's evaluation of vision-analyst@{version} was logged there (entry {evidence}) and brought here with its cosigned proof\n  (entry {mirrored}); the UK authority recognises the lab as `uk-test-lab@{name}` (entry {recognition}), so it meets\n  the accuracy requirement of {version}'s gate here — one test, counted in two instances:\n  {program} gate status --dir {dir} --contract {contract} --model vision-analyst@{version}\n  {program} recognition report --dir {dir}\n  {program} coalition show --dir {dir}\n  curl -s {member_url}/checkpoint\n",
        version = coalition::VERSION,
        evidence = member.evidence,
        mirrored = joined.mirrored,
        name = coalition::MEMBER,
        recognition = joined.recognition,
        dir = dir.display(),
        contract = service::demo::GATEWAY_CONTRACT,
    );
    Ok((banner, joined.mirrored + 1))
}

/// How the reader's shell runs this binary: `concordat` when that name on PATH is this very
/// program, else the program's full path (quoted when it needs to be).
fn program() -> String {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("concordat"))
            .find(|candidate| candidate.is_file())
    });
    let same = match (&me, on_path.and_then(|p| std::fs::canonicalize(p).ok())) {
        (Some(me), Some(found)) => *me == found,
        _ => false,
    };
    match me {
        Some(path) if !same => {
            let text = path.display().to_string();
            if text.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", text.replace('\'', "'\\''"))
            } else {
                text
            }
        }
        _ => "concordat".to_owned(),
    }
}

/// The demo's gateway for the workbench, in front of the stand-in model, on the port after the
/// server's (or any free one).
fn demo_gateway(
    url: &str,
    dir: &Path,
) -> anyhow::Result<(gateway::Running, gateway::standin::StandIn)> {
    let standin = gateway::standin::start(
        "127.0.0.1:0".parse()?,
        gateway::standin::Options::default(),
        1,
    )?;
    let server: std::net::SocketAddr = url.trim_start_matches("http://").parse()?;
    let key = service::keys::read_signer(&dir.join("keys/workbench-gateway.key"))?;
    let config = |port: u16| -> anyhow::Result<gateway::Config> {
        Ok(gateway::Config {
            instance: std::sync::Arc::from(service::open(None, Some(url), None)?),
            contract: service::demo::GATEWAY_CONTRACT.to_owned(),
            deployment: service::demo::GATEWAY_DEPLOYMENT.to_owned(),
            listen: std::net::SocketAddr::new(server.ip(), port),
            upstream: standin.url(),
            upstream_key: None,
            key: key.clone(),
            party: service::demo::GATEWAY_PARTY.to_owned(),
            records: dir.join("gateway-records"),
            poll: std::time::Duration::from_millis(250),
            ledger_grace: std::time::Duration::from_secs(30),
            seal_interval: std::time::Duration::from_secs(10),
            seal_records: 10_000,
            replicas: 1,
        })
    };
    let preferred = if server.port() == 0 {
        0
    } else {
        server.port().saturating_add(100)
    };
    let gateway = match gateway::start(config(preferred)?, 2) {
        Ok(gateway) => gateway,
        Err(gateway::GatewayError::Listen(..)) => gateway::start(config(0)?, 2)?,
        Err(error) => return Err(error.into()),
    };
    Ok((gateway, standin))
}

fn gateway_banner(gateway: &gateway::Running, api_keys: &[(String, String, String)]) -> String {
    let url = format!("http://{}/v1", gateway.addr);
    let mut text = format!(
        "\nThe workbench's enforcement gateway, in front of a stand-in model (not a real one: it answers a fixed text):\n  OpenAI base URL: {url}\n"
    );
    for (user, role, key) in api_keys {
        text.push_str(&format!("  API key of {user} ({role}): {key}\n"));
    }
    let analyst = api_keys.first().map_or("KEY", |(_, _, key)| key.as_str());
    let curl = |purpose: &str, domain: &str| {
        format!(
            "  curl -s {url}/chat/completions -H 'Authorization: Bearer {analyst}' -H 'Content-Type: application/json' \\\n    -H 'Concordat-Purpose: {purpose}' -H 'Concordat-Data-Classification: secret' -H 'Concordat-Human-Review: true' \\\n    -H 'Concordat-Target-Domain: {domain}' -d '{{\"model\":\"any\",\"messages\":[{{\"role\":\"user\",\"content\":\"Describe the image\"}}]}}'\n"
        )
    };
    text.push_str("Allowed (imagery analysis, abroad):\n");
    text.push_str(&curl("imagery-analysis", "foreign"));
    text.push_str("Denied by clause no-domestic-surveillance (403, never reaches the model):\n");
    text.push_str(&curl("surveillance", "domestic"));
    text.push_str("Every call is recorded; the gateway seals its records into the ledger every 10 s (a usage entry on /log).\n");
    text
}
