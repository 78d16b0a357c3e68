//! The gateway end to end, in process: a real Concordat server over the seeded demo (its
//! agency has named the workbench's gateway and issued two API keys), the stand-in model on
//! loopback, and gateways between them, driven over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::standin;
use serde_json::{Value, json};
use service::{Draft, Instance};

const CONTRACT: &str = service::demo::GATEWAY_CONTRACT;
const DEPLOYMENT: &str = service::demo::GATEWAY_DEPLOYMENT;

/// A Concordat server over a seeded demo instance.
struct Ledger {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ledger {
    /// The demo, its story starting `days_ago` days ago, with `ship` put into service after it.
    fn start(days_ago: i64, ship: Option<&str>) -> Ledger {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("instance");
        service::demo::seed_from(&dir, days_ago).unwrap();
        if let Some(version) = ship {
            service::demo::ship_version(&dir, version).unwrap();
        }
        let instance = Arc::new(server::Instance::open(&dir, 2).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        instance.answer_as(server::Authorities::new(addr, false, &[], &[]));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime
                .block_on(server::serve(
                    listener,
                    None,
                    instance,
                    server::Limits::default(),
                    async move {
                        let _ = stopped.await;
                    },
                ))
                .unwrap();
        });
        Ledger {
            _tmp: tmp,
            dir,
            url: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn key(&self, party: &str) -> tlog::note::SignerKey {
        service::keys::read_signer(&self.dir.join("keys").join(format!("{party}.key"))).unwrap()
    }

    fn api_key(&self, user: &str) -> String {
        std::fs::read_to_string(self.dir.join("keys").join(format!("{user}.api-key")))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn remote(&self) -> Arc<dyn Instance> {
        Arc::from(service::open(None, Some(&self.url), None).unwrap())
    }

    /// Signs a predicate as `party` and logs it.
    fn submit<P: domain::Predicate>(&self, party: &str, predicate: &P) -> u64 {
        let envelope = Draft::new(predicate)
            .unwrap()
            .signed_bytes(&[&self.key(party)])
            .unwrap();
        self.remote().submit(envelope).unwrap().index
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Options {
    poll: Duration,
    grace: Duration,
    seal_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            poll: Duration::from_millis(250),
            grace: Duration::from_secs(30),
            seal_interval: Duration::from_secs(3600),
        }
    }
}

fn gateway(ledger: &Ledger, upstream: &str, records: &Path, options: Options) -> gateway::Running {
    let config = gateway::Config {
        instance: ledger.remote(),
        contract: CONTRACT.to_owned(),
        deployment: DEPLOYMENT.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.to_owned(),
        upstream_key: Some("vendor-secret-key".to_owned()),
        key: ledger.key(service::demo::GATEWAY_PARTY),
        party: service::demo::GATEWAY_PARTY.to_owned(),
        records: records.to_owned(),
        poll: options.poll,
        ledger_grace: options.grace,
        seal_interval: options.seal_interval,
        seal_records: 1_000_000,
        replicas: 1,
    };
    gateway::start(config, 2).unwrap()
}

/// What a request is for, as headers.
struct Purpose<'a> {
    purpose: &'a str,
    classification: &'a str,
    human: bool,
    domain: &'a str,
}

const ANALYSIS: Purpose<'static> = Purpose {
    purpose: "imagery-analysis",
    classification: "secret",
    human: true,
    domain: "foreign",
};

/// The status, headers we look at, and JSON (or text) body of a call.
struct Answer {
    status: u16,
    clauses: Option<String>,
    retry: Option<String>,
    request_id: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn call(
    gateway: &gateway::Running,
    route: &str,
    key: Option<&str>,
    purpose: Option<&Purpose<'_>>,
    body: &Value,
) -> Answer {
    let mut request = ureq::post(&format!("http://{}{route}", gateway.addr))
        .set("content-type", "application/json");
    if let Some(key) = key {
        request = request.set("authorization", &format!("Bearer {key}"));
    }
    if let Some(p) = purpose {
        request = request
            .set("Concordat-Purpose", p.purpose)
            .set("Concordat-Data-Classification", p.classification)
            .set(
                "Concordat-Human-Review",
                if p.human { "true" } else { "false" },
            )
            .set("Concordat-Target-Domain", p.domain);
    }
    let response = match request.send_string(&body.to_string()) {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{route}: {error}"),
    };
    Answer {
        status: response.status(),
        clauses: response.header("concordat-clauses").map(str::to_owned),
        retry: response.header("x-should-retry").map(str::to_owned),
        request_id: response.header("x-request-id").map(str::to_owned),
        body: response.into_string().unwrap(),
    }
}

fn chat(prompt: &str) -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
}

/// Every record in a records directory (closed, sealed and current), one JSON value a line.
fn records_in(dir: &Path) -> Vec<Value> {
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
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[test]
fn every_call_is_decided_pinned_and_recorded_once_then_sealed_by_the_gateway() {
    let ledger = Ledger::start(120, None);
    let upstream = standin::start(
        "127.0.0.1:0".parse().unwrap(),
        standin::Options::default(),
        1,
    )
    .unwrap();
    let records = ledger._tmp.path().join("records");
    let gw = gateway(&ledger, &upstream.url(), &records, Options::default());
    let analyst = ledger.api_key("analyst-17");
    let secret_prompt = "Describe the vehicles at grid 4471";

    // Allowed: whatever the client names, the version in service answers.
    let allowed = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&ANALYSIS),
        &chat(secret_prompt),
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.json()["model"], "vision-analyst-2027.1.0");
    assert_eq!(
        allowed.json()["choices"][0]["message"]["content"],
        standin::ANSWER
    );
    assert!(allowed.request_id.is_some());
    assert_eq!(upstream.calls(), 1);

    // Denied by a clause: a 403 that is final and never reaches the model.
    let surveillance = Purpose {
        purpose: "surveillance",
        domain: "domestic",
        ..ANALYSIS
    };
    let denied = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&surveillance),
        &chat("x"),
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.json()["error"]["code"], "policy_denied");
    assert_eq!(denied.json()["error"]["type"], "permission_denied");
    assert!(
        denied
            .clauses
            .as_deref()
            .unwrap()
            .contains("no-domestic-surveillance")
    );
    assert!(
        denied.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-domestic-surveillance")
    );
    assert_eq!(denied.retry.as_deref(), Some("false"));
    // A purpose outside the contract's vocabulary, and targeting by an administrator.
    let weather = Purpose {
        purpose: "weather",
        ..ANALYSIS
    };
    let outside = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&weather),
        &chat("x"),
    );
    assert_eq!(outside.status, 403);
    assert!(
        outside
            .body
            .contains("purpose `weather` is not one the contract declares"),
        "{}",
        outside.body
    );
    let targeting = Purpose {
        purpose: "lethal-targeting",
        ..ANALYSIS
    };
    let admin = call(
        &gw,
        "/v1/chat/completions",
        Some(&ledger.api_key("admin-1")),
        Some(&targeting),
        &chat("x"),
    );
    assert_eq!(admin.status, 403);
    assert!(
        admin
            .clauses
            .as_deref()
            .unwrap()
            .contains("targeting-roles")
    );
    assert_eq!(upstream.calls(), 1, "no denied request reaches the model");

    // Who is calling: no key, a key never issued.
    let nobody = call(
        &gw,
        "/v1/chat/completions",
        None,
        Some(&ANALYSIS),
        &chat("x"),
    );
    assert_eq!(nobody.status, 401);
    assert_eq!(nobody.json()["error"]["code"], "invalid_api_key");
    let forged = call(
        &gw,
        "/v1/chat/completions",
        Some("cgw-0000"),
        Some(&ANALYSIS),
        &chat("x"),
    );
    assert_eq!(forged.status, 401);
    // What for: a missing header is named.
    let unsaid = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        None,
        &chat("x"),
    );
    assert_eq!(unsaid.status, 400);
    assert_eq!(unsaid.json()["error"]["param"], "Concordat-Purpose");
    // A body past the 16 MiB a request may carry is refused unread past that.
    let oversized = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&ANALYSIS),
        &chat(&"x".repeat(gateway::proxy::REQUEST_BYTES_MAX)),
    );
    assert_eq!(oversized.status, 400);
    assert_eq!(oversized.json()["error"]["param"], "body");

    // The same context in the body's metadata; streaming with usage; responses; embeddings.
    let mut in_metadata = chat("x");
    in_metadata["metadata"] = json!({"Concordat-Purpose": "translation", "Concordat-Data-Classification": "cui",
        "Concordat-Human-Review": "false", "Concordat-Target-Domain": "foreign"});
    assert_eq!(
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            None,
            &in_metadata
        )
        .status,
        200
    );
    let mut streamed = chat("x");
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let stream = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&ANALYSIS),
        &streamed,
    );
    assert_eq!(stream.status, 200);
    assert!(
        stream.body.contains("vision-analyst-2027.1.0")
            && stream.body.ends_with("data: [DONE]\n\n"),
        "{}",
        stream.body
    );
    let response = call(
        &gw,
        "/v1/responses",
        Some(&analyst),
        Some(&ANALYSIS),
        &json!({"model": "x", "input": "hello"}),
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["usage"]["input_tokens"], 12);
    let embedded = call(
        &gw,
        "/v1/embeddings",
        Some(&analyst),
        Some(&ANALYSIS),
        &json!({"model": "x", "input": "hello", "encoding_format": "base64"}),
    );
    assert_eq!(embedded.status, 200);
    assert!(embedded.json()["data"][0]["embedding"].is_string());
    let models: Value = ureq::get(&format!("http://{}/v1/models", gw.addr))
        .set("authorization", &format!("Bearer {analyst}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(models["data"].as_array().unwrap().len(), 1);
    assert_eq!(models["data"][0]["id"], "vision-analyst-2027.1.0");
    assert_eq!(upstream.calls(), 5);

    // Exactly one record a call, durable before the answer; digests, never the text.
    let written = records_in(&records);
    assert_eq!(written.len(), 12, "{written:#?}");
    let outcomes = |name: &str| {
        written
            .iter()
            .filter(|r| r["call"]["outcome"] == name)
            .count()
    };
    assert_eq!(
        (
            outcomes("served"),
            outcomes("denied"),
            outcomes("unauthenticated"),
            outcomes("bad-request")
        ),
        (5, 3, 2, 2)
    );
    let raw = std::fs::read_to_string(records.join("current.jsonl")).unwrap();
    assert!(
        !raw.contains("grid 4471") && !raw.contains("vendor-secret-key") && !raw.contains(&analyst)
    );
    let first = &written[0];
    assert_eq!(first["model"], "vision-analyst@2027.1.0");
    assert!(
        first["call"]["prompt_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(first["call"]["prompt_tokens"], 12);

    // Stopping seals them: a usage batch signed by the gateway, its counts from the records.
    gw.stop();
    let batches = ledger.remote().usage(Some(CONTRACT)).unwrap();
    let batch = batches.last().unwrap();
    assert_eq!(batch.party, service::demo::GATEWAY_PARTY);
    assert_eq!((batch.records, batch.allowed, batch.denied), (12, 5, 7));
    assert_eq!(batch.outcomes.get("served"), Some(&5));
    assert_eq!(batch.outcomes.get("unauthenticated"), Some(&2));
    assert!(batch.tokens.is_some());
    assert!(
        records_in(&records).len() == 12
            && std::fs::read_dir(records.join("sealed")).unwrap().count() == 1
    );
}

/// Waits until `done` holds, at most `limit`; how long it took.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

#[test]
fn a_rollback_and_a_revocation_reach_two_replicas_within_a_second() {
    let ledger = Ledger::start(200, Some("2027.4.0"));
    let upstream = standin::start(
        "127.0.0.1:0".parse().unwrap(),
        standin::Options::default(),
        1,
    )
    .unwrap();
    let tmp = ledger._tmp.path().to_owned();
    let replicas = [
        gateway(
            &ledger,
            &upstream.url(),
            &tmp.join("records-a"),
            Options::default(),
        ),
        gateway(
            &ledger,
            &upstream.url(),
            &tmp.join("records-b"),
            Options::default(),
        ),
    ];
    let analyst = ledger.api_key("analyst-17");
    let model_of = |gw: &gateway::Running| {
        let answer = call(
            gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x"),
        );
        (
            answer.status,
            answer.json()["model"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    for gw in &replicas {
        assert_eq!(model_of(gw), (200, "vision-analyst-2027.4.0".to_owned()));
    }

    let now = domain::updates::time::format_instant(service::build::now());
    ledger.submit(
        "defense-agency",
        &domain::DeploymentRolledBack {
            party: "defense-agency".into(),
            contract: CONTRACT.into(),
            deployment: DEPLOYMENT.into(),
            reason: "incident 7: refusals regressed".into(),
            at: now.clone(),
            incident: None,
        },
    );
    let took = within(Duration::from_secs(1), || {
        replicas
            .iter()
            .all(|gw| model_of(gw).1 == "vision-analyst-2027.1.0")
    });
    eprintln!("rollback reached both replicas in {took:?}");

    ledger.submit(
        "defense-agency",
        &domain::gateway::CredentialRevoked {
            party: "defense-agency".into(),
            credential: service::gateway::api_key_hash(&analyst),
            reason: "left the programme".into(),
            at: now,
        },
    );
    let took = within(Duration::from_secs(1), || {
        replicas.iter().all(|gw| model_of(gw).0 == 401)
    });
    eprintln!("revocation reached both replicas in {took:?}");
    let refused = call(
        &replicas[0],
        "/v1/chat/completions",
        Some(&analyst),
        Some(&ANALYSIS),
        &chat("x"),
    );
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // Both replicas seal their records; each batch names only versions in service then.
    for gw in replicas {
        gw.stop();
    }
    let batches = ledger.remote().usage(Some(CONTRACT)).unwrap();
    let by_gateway = batches
        .iter()
        .filter(|b| b.party == service::demo::GATEWAY_PARTY)
        .count();
    assert_eq!(by_gateway, 2, "{batches:#?}");
}

#[test]
fn a_serious_incident_rolls_the_deployment_back_and_the_gateway_follows_on_its_next_request() {
    let ledger = Ledger::start(200, Some("2027.4.0"));
    let upstream = standin::start(
        "127.0.0.1:0".parse().unwrap(),
        standin::Options::default(),
        1,
    )
    .unwrap();
    let records = ledger._tmp.path().join("records");
    let gw = gateway(&ledger, &upstream.url(), &records, Options::default());
    let analyst = ledger.api_key("analyst-17");
    let model_of = || {
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x"),
        )
        .json()["model"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(model_of(), "vision-analyst-2027.4.0");

    // The vendor reports a serious incident in the version in service: the contract's
    // rollback module rolls the deployment back on the report's own entry.
    let now = service::build::now();
    let at = domain::updates::time::format_instant;
    let reported = ledger.submit(
        "acme-ai",
        &domain::incident::IncidentReported {
            party: "acme-ai".into(),
            contract: CONTRACT.into(),
            incidents: vec!["inc-2027-031".into()],
            deployment: DEPLOYMENT.into(),
            model: Some("vision-analyst@2027.4.0".into()),
            severity: domain::contract::Severity::Serious,
            harms: vec!["fundamental-rights".into()],
            occurred_at: at(now - 600),
            aware_at: at(now - 300),
            summary: "Refusals of targeting requests regressed.".into(),
            description: None,
            sealed: None,
            affected: Vec::new(),
            atlas: vec!["AML.T0054".into()],
            usage: Vec::new(),
            evidence: Vec::new(),
            at: at(now),
        },
    );
    let took = within(Duration::from_secs(1), || {
        model_of() == "vision-analyst-2027.1.0"
    });
    eprintln!("the incident's rollback reached the gateway in {took:?}");
    let views = ledger.remote().incidents(Some(CONTRACT), None).unwrap();
    let view = views
        .iter()
        .find(|v| v.incident.id == "inc-2027-031")
        .unwrap();
    let step = view.incident.rollback.as_ref().unwrap();
    assert_eq!(
        (step.entry, step.automatic, step.from.as_str()),
        (reported, true, "vision-analyst@2027.4.0")
    );
    let rollback = view.duties.iter().find(|d| d.id == "rollback").unwrap();
    assert!(
        matches!(rollback.status, domain::incident::clocks::DutyStatus::Met { entry, .. } if entry == reported),
        "{rollback:?}"
    );
}

#[test]
fn the_ledger_refuses_usage_of_a_version_not_in_service() {
    let ledger = Ledger::start(120, None);
    let records = json!({"at": domain::updates::time::format_instant(service::build::now() - 60), "id": "req-1",
        "model": "vision-analyst@2027.3.0", "allowed": false, "clauses": [],
        "call": {"outcome": "unauthenticated", "route": "/v1/chat/completions", "status": 401, "latency_us": 10}})
    .to_string()
        + "\n";
    let key = ledger.key(service::demo::GATEWAY_PARTY);
    let remote = ledger.remote();
    remote
        .deposit_usage(
            Some(&service::Credential::Key(Box::new(key.clone()))),
            CONTRACT,
            records.as_bytes(),
        )
        .unwrap();
    let read = policy::usage::read(&records).unwrap();
    let summary = policy::usage::summarize(read.iter().map(|(_, r)| r));
    let predicate = service::usage::batch(
        service::demo::GATEWAY_PARTY,
        CONTRACT,
        DEPLOYMENT,
        service::access::sha256_digest(records.as_bytes()),
        domain::updates::time::format_instant(service::build::now()),
        &summary,
    );
    let envelope = Draft::new(&predicate)
        .unwrap()
        .signed_bytes(&[&key])
        .unwrap();
    let refused = remote.submit(envelope).unwrap_err();
    assert!(
        refused.to_string().contains("usage-version")
            || refused.to_string().contains("not in service"),
        "{refused}"
    );

    // A registered party that is neither a party of the contract nor a gateway authorized
    // for it can neither deposit records under it nor log a batch of them.
    let outsider = ledger.key("uk-test-lab");
    let in_service = records.replace("vision-analyst@2027.3.0", "vision-analyst@2027.1.0");
    let deposit = remote.deposit_usage(
        Some(&service::Credential::Key(Box::new(outsider.clone()))),
        CONTRACT,
        in_service.as_bytes(),
    );
    assert!(
        matches!(deposit, Err(service::ServiceError::Forbidden(_))),
        "{deposit:?}"
    );
    let predicate = domain::UsageRecorded {
        party: "uk-test-lab".to_owned(),
        digest: service::access::sha256_digest(in_service.as_bytes()),
        ..predicate
    };
    let envelope = Draft::new(&predicate)
        .unwrap()
        .signed_bytes(&[&outsider])
        .unwrap();
    let refused = remote.submit(envelope).unwrap_err().to_string();
    assert!(refused.contains("uk-test-lab"), "{refused}");
    assert!(
        remote
            .usage(Some(CONTRACT))
            .unwrap()
            .iter()
            .all(|b| b.party != "uk-test-lab")
    );
}

#[test]
fn the_gateway_fails_closed_without_its_records_or_its_ledger() {
    let mut ledger = Ledger::start(120, None);
    let upstream = standin::start(
        "127.0.0.1:0".parse().unwrap(),
        standin::Options::default(),
        1,
    )
    .unwrap();
    let records = ledger._tmp.path().join("records");
    let gw = gateway(
        &ledger,
        &upstream.url(),
        &records,
        Options {
            grace: Duration::from_secs(2),
            seal_interval: Duration::from_millis(300),
            ..Options::default()
        },
    );
    let analyst = ledger.api_key("analyst-17");
    let health =
        |gw: &gateway::Running| match ureq::get(&format!("http://{}/healthz", gw.addr)).call() {
            Ok(response) => (response.status(), response.into_string().unwrap()),
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
            Err(error) => panic!("{error}"),
        };
    assert_eq!(
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x")
        )
        .status,
        200
    );
    assert_eq!(health(&gw).0, 200);

    // The records directory goes away: nothing more is answered unrecorded.
    std::fs::remove_dir_all(&records).unwrap();
    within(Duration::from_secs(3), || {
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x"),
        )
        .status
            == 503
    });
    let (status, body) = health(&gw);
    assert_eq!(status, 503);
    assert!(body.contains("records cannot be written"), "{body}");
    let calls = upstream.calls();
    // Put back, the gateway records and serves again.
    std::fs::create_dir_all(records.join("pending")).unwrap();
    std::fs::create_dir_all(records.join("sealed")).unwrap();
    within(Duration::from_secs(3), || {
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x"),
        )
        .status
            == 200
    });
    assert!(upstream.calls() > calls);

    // The ledger goes away: after the grace, 503 with the reason.
    ledger.stop();
    within(Duration::from_secs(5), || {
        call(
            &gw,
            "/v1/chat/completions",
            Some(&analyst),
            Some(&ANALYSIS),
            &chat("x"),
        )
        .status
            == 503
    });
    let refused = call(
        &gw,
        "/v1/chat/completions",
        Some(&analyst),
        Some(&ANALYSIS),
        &chat("x"),
    );
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ledger"),
        "{}",
        refused.body
    );
    assert!(health(&gw).1.contains("ledger"));
    // Refused for want of the ledger, the calls are still recorded (the records can be
    // written), under the version and policies last known.
    let unavailable: Vec<Value> = records_in(&records)
        .into_iter()
        .filter(|r| r["call"]["outcome"] == "unavailable")
        .collect();
    assert!(!unavailable.is_empty());
    let last = unavailable.last().unwrap();
    assert_eq!(last["call"]["status"], 503);
    assert!(last["model"].as_str().unwrap().contains('@'), "{last}");
    assert!(last["call"]["reason"].as_str().unwrap().contains("ledger"));
    assert_eq!(
        last["call"]["credential"],
        service::gateway::api_key_hash(&analyst).as_str()
    );
}
