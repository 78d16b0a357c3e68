//! `concordat gateway serve` as a process: the real `openai` SDK against it, and a SIGKILL
//! under load that loses no record of an answered call.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server::Served;
use crate::support::BINARY;

const CONTRACT: &str = "defense-imagery-analysis";
const DEPLOYMENT: &str = "analyst-workbench";

/// A gateway process in front of `upstream`, enforcing the demo's workbench.
struct Gateway {
    child: Child,
    url: String,
}

impl Gateway {
    fn start(served: &Served, upstream: &str, records: &Path, seal_interval: u64) -> Gateway {
        Gateway::spawn(served, upstream, records, seal_interval, &[])
    }

    fn start_with(
        served: &Served,
        upstream: &str,
        records: &Path,
        env: &[(&str, PathBuf)],
    ) -> Gateway {
        Gateway::spawn(served, upstream, records, 3600, env)
    }

    fn spawn(
        served: &Served,
        upstream: &str,
        records: &Path,
        seal_interval: u64,
        env: &[(&str, PathBuf)],
    ) -> Gateway {
        let key = served.dir.join("keys/workbench-gateway.key");
        let mut child = Command::new(BINARY)
            .args([
                "gateway",
                "serve",
                "--server",
                &served.url,
                "--contract",
                CONTRACT,
            ])
            .args([
                "--deployment",
                DEPLOYMENT,
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                upstream,
            ])
            .arg("--key")
            .arg(&key)
            .arg("--records")
            .arg(records)
            .args(["--seal-interval", &seal_interval.to_string()])
            .env("VENDOR_KEY", "vendor-secret")
            .args(["--upstream-key-env", "VENDOR_KEY"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("serving at ")
            .unwrap_or_else(|| panic!("unexpected first line `{first}`"))
            .to_owned();
        Gateway { child, url }
    }

    /// Stops it as an operator would (SIGTERM): it seals what it recorded.
    fn terminate(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn api_key(served: &Served, user: &str) -> String {
    std::fs::read_to_string(served.dir.join(format!("keys/{user}.api-key")))
        .unwrap()
        .trim()
        .to_owned()
}

/// Every record line in a records directory.
fn record_lines(dir: &Path) -> Vec<serde_json::Value> {
    let mut files = vec![dir.join("current.jsonl")];
    for sub in ["pending", "sealed"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            files.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect()
}

#[test]
fn the_openai_sdk_gets_answers_and_typed_refusals_from_the_gateway() {
    let python = crate::interop::venv_python();
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let upstream = gateway::standin::start(
        "127.0.0.1:0".parse().unwrap(),
        gateway::standin::Options::default(),
        1,
    )
    .unwrap();
    let records = tmp.path().join("records");
    let gw = Gateway::start(&served, &upstream.url(), &records, 3600);
    let output = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/openai_sdk.py"
        ))
        .arg(&gw.url)
        .arg(api_key(&served, "analyst-17"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases: BTreeMap<String, serde_json::Value> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["case"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(cases["chat"]["model"], "vision-analyst-2027.1.0");
    assert_eq!(cases["chat"]["content"], gateway::standin::ANSWER);
    assert_eq!(cases["stream"]["content"], gateway::standin::ANSWER);
    assert_eq!(cases["stream"]["completion_tokens"], 24);
    assert_eq!(cases["responses"]["text"], gateway::standin::ANSWER);
    assert_eq!(cases["embeddings"]["dimensions"], 8);
    assert_eq!(
        cases["models"]["ids"],
        serde_json::json!(["vision-analyst-2027.1.0"])
    );
    assert_eq!(cases["bad-key"]["raised"], "AuthenticationError");
    assert_eq!(cases["surveillance"]["raised"], "PermissionDeniedError");
    assert_eq!(cases["surveillance"]["code"], "policy_denied");
    assert!(
        cases["surveillance"]["clauses"]
            .as_str()
            .unwrap()
            .contains("no-domestic-surveillance")
    );
    assert_eq!(cases["no-purpose"]["raised"], "BadRequestError");
    assert_eq!(cases["no-purpose"]["param"], "Concordat-Purpose");
    assert_eq!(cases["quota"]["raised"], "RateLimitError");
    assert!(
        cases["quota"]["retry_after"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    let within_quota = cases["quota"]["served"].as_u64().unwrap() as usize;
    // Only allowed calls within the quota reached the provider; the refusals did not, and were
    // not retried.
    assert_eq!(upstream.calls() as usize, 4 + within_quota);
    let lines = record_lines(&records);
    let count = |outcome: &str| {
        lines
            .iter()
            .filter(|r| r["call"]["outcome"] == outcome)
            .count()
    };
    assert_eq!(
        (
            count("served"),
            count("denied"),
            count("unauthenticated"),
            count("bad-request"),
            count("rate-limited")
        ),
        (4 + within_quota, 1, 1, 1, 1)
    );
}

#[test]
fn a_gateway_killed_under_load_loses_no_record_of_an_answered_call() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let upstream = gateway::standin::start(
        "127.0.0.1:0".parse().unwrap(),
        gateway::standin::Options::default(),
        1,
    )
    .unwrap();
    let records: PathBuf = tmp.path().join("records");
    let gw = Gateway::start(&served, &upstream.url(), &records, 3600);
    let analyst = api_key(&served, "analyst-17");
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (url, key) = (gw.url.clone(), analyst.clone());
            let (answered, stop) = (Arc::clone(&answered), Arc::clone(&stop));
            std::thread::spawn(move || {
                let purpose = if n == 3 {
                    "surveillance"
                } else {
                    "imagery-analysis"
                };
                while !stop.load(Ordering::Acquire) {
                    let sent = ureq::post(&format!("{url}/chat/completions"))
                        .set("authorization", &format!("Bearer {key}"))
                        .set("Concordat-Purpose", purpose)
                        .set("Concordat-Data-Classification", "secret")
                        .set("Concordat-Human-Review", "true")
                        .set("Concordat-Target-Domain", "domestic")
                        .send_string(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
                    let response = match sent {
                        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
                        Err(_) => return, // the gateway is gone
                    };
                    if let Some(id) = response.header("x-request-id") {
                        answered.lock().unwrap().push(id.to_owned());
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    drop(gw); // SIGKILL, mid-load
    stop.store(true, Ordering::Release);
    for client in clients {
        client.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 50, "only {} answers", answered.len());
    let lines = record_lines(&records);
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        *ids.entry(line["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for id in &answered {
        assert_eq!(
            ids.get(id),
            Some(&1),
            "answered call {id} has no single record"
        );
    }

    // A new gateway on the same records closes and seals what the killed one left.
    let restarted = Gateway::start(&served, &upstream.url(), &records, 1);
    let started = Instant::now();
    while std::fs::read_dir(records.join("pending")).unwrap().count() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the records were not sealed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    restarted.terminate();
    let batches: Vec<serde_json::Value> =
        ureq::get(&format!("{}/api/usage?contract={CONTRACT}", served.url))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
    let logged: Vec<&str> = batches
        .iter()
        .filter_map(|b| b["digest"].as_str())
        .collect();
    let mut sealed_records = 0;
    for file in std::fs::read_dir(records.join("sealed")).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        let digest = service::access::sha256_digest(&bytes);
        assert!(
            logged.contains(&digest.as_str()),
            "sealed file {digest} is not in the ledger"
        );
        sealed_records += bytes.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(sealed_records, lines.len(), "every record is sealed once");
}

#[test]
fn an_agency_issues_lists_and_revokes_api_keys_and_names_its_gateway() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let agency = served.dir.join("keys/defense-agency.key");
    let agency = agency.to_str().unwrap();
    let run = |args: &[&str]| crate::support::concordat(args, None, tmp.path());
    let issued = run(&[
        "--format",
        "json",
        "gateway",
        "credential",
        "issue",
        "--server",
        &served.url,
        "--key",
        agency,
        "--user",
        "analyst-99",
        "--role",
        "analyst",
        "--clearance",
        "secret",
    ])
    .ok();
    let issued: serde_json::Value = serde_json::from_str(&issued.stdout).unwrap();
    let key = issued["api_key"].as_str().unwrap();
    assert!(key.starts_with("cgw-"));
    let hash = issued["credential"].as_str().unwrap();
    assert_eq!(hash, service::gateway::api_key_hash(key));
    let listed = run(&[
        "gateway",
        "credential",
        "list",
        "--server",
        &served.url,
        "--contract",
        CONTRACT,
    ])
    .ok();
    assert!(
        listed.stdout.contains(hash) && listed.stdout.contains("analyst-99"),
        "{}",
        listed.stdout
    );
    assert!(
        !listed.stdout.contains(key),
        "the key itself is never shown again"
    );
    // The ledger refuses the same key twice, a clearance outside the scale, a stranger revoking.
    run(&[
        "gateway",
        "credential",
        "issue",
        "--server",
        &served.url,
        "--key",
        agency,
        "--user",
        "x",
        "--role",
        "analyst",
        "--clearance",
        "cosmic",
    ])
    .fails(2, "--clearance `cosmic`");
    let vendor = served.dir.join("keys/acme-ai.key");
    run(&[
        "gateway",
        "credential",
        "revoke",
        "--server",
        &served.url,
        "--key",
        vendor.to_str().unwrap(),
        "--credential",
        hash,
        "--reason",
        "no",
    ])
    .fails(1, "only it revokes it");
    run(&[
        "gateway",
        "credential",
        "revoke",
        "--server",
        &served.url,
        "--key",
        agency,
        "--credential",
        hash,
        "--reason",
        "left the programme",
    ])
    .ok();
    let listed = run(&[
        "gateway",
        "credential",
        "list",
        "--server",
        &served.url,
        "--contract",
        CONTRACT,
    ])
    .ok();
    assert!(listed.stdout.contains("revoked"), "{}", listed.stdout);
    // Only a registered gateway can be named, once.
    run(&[
        "gateway",
        "authorize",
        "--server",
        &served.url,
        "--key",
        agency,
        "--contract",
        CONTRACT,
        "--deployment",
        DEPLOYMENT,
        "--gateway",
        "acme-ai",
    ])
    .fails(1, "`gateway` role");
    run(&[
        "gateway",
        "authorize",
        "--server",
        &served.url,
        "--key",
        agency,
        "--contract",
        CONTRACT,
        "--deployment",
        DEPLOYMENT,
        "--gateway",
        "workbench-gateway",
    ])
    .fails(1, "already enforces");
}

/// A TLS front on loopback for a plain-HTTP server at `backend`, with the certificate in `dir`
/// (`cert.pem`, `key.pem`); its port. Serves until the process ends.
fn tls_front(dir: &Path, backend: std::net::SocketAddr) -> u16 {
    use rustls::pki_types::pem::PemObject as _;
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut plain = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    port
}

#[test]
fn the_gateway_reaches_a_provider_over_https_and_checks_its_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let upstream = gateway::standin::start(
        "127.0.0.1:0".parse().unwrap(),
        gateway::standin::Options::default(),
        1,
    )
    .unwrap();
    crate::server::test_certificates(tmp.path());
    let port = tls_front(tmp.path(), upstream.addr);
    let analyst = api_key(&served, "analyst-17");
    let ask = |gateway: &Gateway| match ureq::post(&format!("{}/chat/completions", gateway.url))
        .set("authorization", &format!("Bearer {analyst}"))
        .set("Concordat-Purpose", "imagery-analysis")
        .set("Concordat-Data-Classification", "secret")
        .set("Concordat-Human-Review", "true")
        .set("Concordat-Target-Domain", "foreign")
        .send_string(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
    {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            (response.status(), response.into_string().unwrap())
        }
        Err(error) => panic!("{error}"),
    };
    let https = format!("https://localhost:{port}/v1");
    // Trusting the test CA, the provider is reached over TLS.
    let trusted = Gateway::start_with(
        &served,
        &https,
        &tmp.path().join("a"),
        &[("SSL_CERT_FILE", tmp.path().join("ca.pem"))],
    );
    let (status, body) = ask(&trusted);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(gateway::standin::ANSWER));
    // Trusting only another bundle, the certificate is refused: 502, never answered in clear.
    let elsewhere = tmp.path().join("other-ca.pem");
    let other = tempfile::tempdir().unwrap();
    crate::server::test_certificates(other.path());
    std::fs::copy(other.path().join("ca.pem"), &elsewhere).unwrap();
    let untrusted = Gateway::start_with(
        &served,
        &https,
        &tmp.path().join("b"),
        &[("SSL_CERT_FILE", elsewhere)],
    );
    let (status, body) = ask(&untrusted);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("upstream_unreachable"), "{body}");
    assert_eq!(upstream.calls(), 1);
}

#[test]
fn service_levels_are_measured_from_the_gateways_usage_and_a_breach_is_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::demo(tmp.path());
    let upstream = gateway::standin::start(
        "127.0.0.1:0".parse().unwrap(),
        gateway::standin::Options::default(),
        1,
    )
    .unwrap();
    let analyst = api_key(&served, "analyst-17");
    let ask = |gateway: &Gateway| {
        let sent = ureq::post(&format!("{}/chat/completions", gateway.url))
            .set("authorization", &format!("Bearer {analyst}"))
            .set("Concordat-Purpose", "imagery-analysis")
            .set("Concordat-Data-Classification", "secret")
            .set("Concordat-Human-Review", "true")
            .set("Concordat-Target-Domain", "foreign")
            .send_string(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
        match sent {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response.status(),
            Err(error) => panic!("{error}"),
        }
    };
    let report = |extra: &[&str]| {
        let mut args = vec![
            "--format",
            "json",
            "sla",
            "report",
            "--server",
            &served.url,
            "--contract",
            CONTRACT,
            "--deployment",
            DEPLOYMENT,
        ];
        args.extend_from_slice(extra);
        crate::support::concordat(&args, None, tmp.path())
    };
    let gw = Gateway::start(&served, &upstream.url(), &tmp.path().join("a"), 3600);
    for _ in 0..3 {
        assert_eq!(ask(&gw), 200);
    }
    gw.terminate(); // seals
    let met: serde_json::Value = serde_json::from_str(&report(&[]).ok().stdout).unwrap();
    assert_eq!(met["served"], 3);
    assert!(
        met["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["met"] == true),
        "{met}"
    );

    // The provider goes away: every call is an upstream error, and availability is breached.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = Gateway::start(
        &served,
        &format!("http://{gone}/v1"),
        &tmp.path().join("b"),
        3600,
    );
    for _ in 0..3 {
        assert_eq!(ask(&dead), 502);
    }
    dead.terminate();
    report(&[]).fails(1, "availability_percent is 50.00 against a target of 99.5");
    let agency = served.dir.join("keys/defense-agency.key");
    report(&["--report-breach", "--key", agency.to_str().unwrap()])
        .fails(1, "the breach is logged as entry");
    // The deployment's page says so.
    let page = ureq::get(&format!(
        "{}/deployments/{CONTRACT}/{DEPLOYMENT}",
        served.url
    ))
    .call()
    .unwrap()
    .into_string()
    .unwrap();
    assert!(
        page.contains("Service levels")
            && page.contains("<span class=\"badge bad\">breached</span>"),
        "{page}"
    );
}
