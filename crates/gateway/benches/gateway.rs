//! The gateway's cost, measured (`cargo xtask bench-gateway`; JSON lines on stdout).
//!
//! One process holds a Concordat server over the seeded demo, the stand-in model, a gateway
//! enforcing the demo's workbench (policies decided, records synced to disk and sealed into
//! the ledger as in production), and the load generator, so everything shares the machine's
//! cores. Added latency is measured at a fixed rate (open loop: every request is sent when it
//! is due, whatever the ones before it are doing), as via-gateway minus direct to the same
//! stand-in in the same run, with a 0 ms and a 5 ms stand-in; throughput with 64 connections
//! for 60 s. First, before any load, what the disk itself gives for one record's append and
//! `fdatasync`: the floor under any durable record. When `CONCORDAT_LITELLM` names LiteLLM's `litellm` program, its proxy runs in
//! front of the same stand-in under the same loads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const BODY: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Describe the vehicles in the image."}]}"#;

/// Where a request goes and what it carries.
#[derive(Clone)]
struct Target {
    url: String,
    headers: Vec<(&'static str, String)>,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut builder = Request::post(&self.url).header("content-type", "application/json");
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        builder
            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
            .unwrap()
    }
}

/// Latencies (microseconds) and failures of a run.
struct Run {
    latencies: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Run {
    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.sort_unstable();
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank] as f64 / 1000.0
    }
}

async fn send(client: &HttpClient, target: &Target) -> bool {
    match tokio::time::timeout(Duration::from_secs(10), client.request(target.request())).await {
        Ok(Ok(response)) => {
            let ok = response.status().is_success();
            let body = response.into_body().collect().await;
            ok && body.is_ok()
        }
        _ => false,
    }
}

/// `rate` requests a second for `seconds`, each timed from when it was due.
async fn open_loop(client: &HttpClient, target: &Target, rate: u64, seconds: u64) -> Run {
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let total = rate * seconds;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval * u32::try_from(i).unwrap();
        let (client, target) = (client.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            // Timed from the send: the timer wheel's millisecond would blur the figure, and
            // each request is its own task, so a stall of the server delays no other send.
            let sent = Instant::now();
            let ok = send(&client, &target).await;
            (ok, sent.elapsed())
        }));
    }
    let mut run = Run {
        latencies: Vec::with_capacity(tasks.len()),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (ok, latency) = task.await.unwrap();
        if ok {
            run.latencies
                .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        } else {
            run.errors += 1;
        }
    }
    run.elapsed = start.elapsed();
    run
}

/// `connections` clients sending back to back for `seconds`.
async fn closed_loop(
    client: &HttpClient,
    target: &Target,
    connections: usize,
    seconds: u64,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, target, stop, errors) = (
                client.clone(),
                target.clone(),
                Arc::clone(&stop),
                Arc::clone(&errors),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    if send(&client, &target).await {
                        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(0));
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Run {
        latencies,
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

/// A Concordat server over the seeded demo, on its own thread.
fn serve_ledger(dir: &Path) -> String {
    service::demo::seed_for_load(dir).unwrap();
    let instance = Arc::new(server::Instance::open(dir, 2).unwrap());
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
    std::thread::spawn(move || {
        let _ = runtime.block_on(server::serve(
            listener,
            None,
            instance,
            server::Limits::default(),
            std::future::pending(),
        ));
    });
    format!("http://{addr}")
}

fn start_gateway(ledger: &str, dir: &Path, upstream: &str) -> gateway::Running {
    let instance: Arc<dyn service::Instance> =
        Arc::from(service::open(None, Some(ledger), None).unwrap());
    let keys = dir.join("keys");
    let config = gateway::Config {
        instance,
        contract: service::demo::GATEWAY_CONTRACT.to_owned(),
        deployment: service::demo::GATEWAY_DEPLOYMENT.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.to_owned(),
        upstream_key: Some("bench".to_owned()),
        key: service::keys::read_signer(&keys.join("workbench-gateway.key")).unwrap(),
        party: service::demo::GATEWAY_PARTY.to_owned(),
        records: dir.join("../records"),
        poll: Duration::from_millis(250),
        ledger_grace: Duration::from_secs(30),
        seal_interval: Duration::from_secs(10),
        seal_records: 10_000,
        replicas: 1,
    };
    gateway::start(config, 2).unwrap()
}

/// LiteLLM's master key: its proxy refuses to start without one (and then checks it on every
/// request, as the gateway checks its API keys).
const LITELLM_KEY: &str = "sk-concordat-bench-0123456789abcdef";

/// LiteLLM's proxy in front of `upstream`, if `CONCORDAT_LITELLM` names its program.
struct LiteLlm {
    child: std::process::Child,
    url: String,
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_litellm(dir: &Path, upstream: &str) -> Option<LiteLlm> {
    let program = std::env::var_os("CONCORDAT_LITELLM")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/standin\n      api_base: {upstream}\n      api_key: bench\ngeneral_settings:\n  master_key: {LITELLM_KEY}\nlitellm_settings:\n  telemetry: false\n"
        ),
    )
    .unwrap();
    let child = std::process::Command::new(program)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_TELEMETRY", "False")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("litellm.log")).unwrap())
        .spawn()
        .unwrap();
    let proxy = LiteLlm {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if ureq::get(&format!("{}/health/liveliness", proxy.url))
            .call()
            .is_ok()
        {
            return Some(proxy);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "LiteLLM did not start; see {}",
        dir.join("litellm.log").display()
    );
    None
}

/// Milliseconds as a JSON number, or `null` when there is none (a run nothing answered).
fn ms(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        "null".to_owned()
    }
}

fn report(bench: &str, fields: &[(&str, String)]) {
    let body: Vec<String> = std::iter::once(format!("\"bench\":\"{bench}\""))
        .chain(fields.iter().map(|(k, v)| format!("\"{k}\":{v}")))
        .collect();
    println!("{{{}}}", body.join(","));
}

fn latency_fields(run: &mut Run) -> Vec<(&'static str, String)> {
    vec![
        ("requests", run.latencies.len().to_string()),
        ("errors", run.errors.to_string()),
        ("p50_ms", ms(run.percentile(50.0))),
        ("p99_ms", ms(run.percentile(99.0))),
    ]
}

/// What the disk itself gives: a record-sized append and `fdatasync` each millisecond for
/// `seconds`, in the directory the gateway's records go to. No durable record can be faster
/// than this; the gateway's added latency is compared against it.
fn disk_floor(dir: &Path, seconds: u64) {
    use std::io::Write;
    let path = dir.join("disk-floor.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let line = [b'x'; 700];
    let mut run = Run {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let sent = Instant::now();
        file.write_all(&line).unwrap();
        file.sync_data().unwrap();
        run.latencies
            .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        std::thread::sleep(Duration::from_millis(1).saturating_sub(sent.elapsed()));
    }
    std::fs::remove_file(&path).unwrap();
    report(
        "records_disk_fdatasync",
        &[
            ("writes", run.latencies.len().to_string()),
            ("p50_ms", ms(run.percentile(50.0))),
            ("p99_ms", ms(run.percentile(99.0))),
            ("p99_9_ms", ms(run.percentile(99.9))),
        ],
    );
}

/// `count` requests one after another: the latency of a lone caller.
async fn one_at_a_time(client: &HttpClient, target: &Target, count: usize) -> Run {
    let started = Instant::now();
    let mut run = Run {
        latencies: Vec::with_capacity(count),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for _ in 0..count {
        let sent = Instant::now();
        if send(client, target).await {
            run.latencies
                .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(0));
        } else {
            run.errors += 1;
        }
    }
    run.elapsed = started.elapsed();
    run
}

/// Reports a run's latency beside the direct one: what the proxy added.
fn added(bench: &str, rate: u64, delay_ms: u64, run: &mut Run, direct: &mut Run) {
    let mut fields = vec![
        ("rate", rate.to_string()),
        ("upstream_delay_ms", delay_ms.to_string()),
        (
            "added_p50_ms",
            ms(run.percentile(50.0) - direct.percentile(50.0)),
        ),
        (
            "added_p99_ms",
            ms(run.percentile(99.0) - direct.percentile(99.0)),
        ),
    ];
    fields.extend(latency_fields(run));
    fields.push(("direct_p50_ms", ms(direct.percentile(50.0))));
    fields.push(("direct_p99_ms", ms(direct.percentile(99.0))));
    report(bench, &fields);
}

async fn throughput(bench: &str, client: &HttpClient, target: &Target, seconds: u64) {
    let mut run = closed_loop(client, target, 64, seconds).await;
    let mut fields = vec![
        ("connections", "64".to_owned()),
        ("seconds", seconds.to_string()),
        (
            "requests_per_second",
            format!(
                "{:.0}",
                run.latencies.len() as f64 / run.elapsed.as_secs_f64()
            ),
        ),
    ];
    fields.extend(latency_fields(&mut run));
    report(bench, &fields);
}

// tidy: long function: the benchmark's setup, in the order BENCHMARKS.md describes it.
fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `--list`: nothing to run as a test.
    }
    let rate: u64 = std::env::var("CONCORDAT_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let seconds: u64 = std::env::var("CONCORDAT_BENCH_SECONDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let throughput_seconds: u64 = std::env::var("CONCORDAT_BENCH_THROUGHPUT_SECONDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(60);
    let tmp = tempfile::tempdir().unwrap();
    disk_floor(tmp.path(), seconds);
    let dir = tmp.path().join("instance");
    let ledger = serve_ledger(&dir);
    let standin = gateway::standin::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        gateway::standin::Options::default(),
        1,
    )
    .unwrap();
    let gateway = start_gateway(&ledger, &dir, &standin.url());
    let litellm = start_litellm(tmp.path(), &standin.url());
    let key = std::fs::read_to_string(dir.join("keys/analyst-17.api-key")).unwrap();
    let via = Target {
        url: format!("http://{}/v1/chat/completions", gateway.addr),
        headers: vec![
            ("authorization", format!("Bearer {}", key.trim())),
            ("concordat-purpose", "imagery-analysis".to_owned()),
            ("concordat-data-classification", "secret".to_owned()),
            ("concordat-human-review", "true".to_owned()),
            ("concordat-target-domain", "foreign".to_owned()),
        ],
    };
    let direct = Target {
        url: format!("{}/chat/completions", standin.url()),
        headers: vec![("authorization", "Bearer bench".to_owned())],
    };
    let through_litellm = litellm.as_ref().map(|proxy| Target {
        url: format!("{}/v1/chat/completions", proxy.url),
        headers: vec![("authorization", format!("Bearer {LITELLM_KEY}"))],
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        .build_http();
    runtime.block_on(async {
        // Warm the connections and the gateway's view.
        open_loop(&client, &via, 200, 1).await;
        open_loop(&client, &direct, 200, 1).await;
        let mut direct_by_delay = Vec::new();
        for delay_ms in [0u64, 5] {
            standin.set_options(gateway::standin::Options {
                delay: Duration::from_millis(delay_ms),
                answer_as: None,
            });
            let mut direct_run = open_loop(&client, &direct, rate, seconds).await;
            let mut via_run = open_loop(&client, &via, rate, seconds).await;
            added(
                "gateway_added_latency",
                rate,
                delay_ms,
                &mut via_run,
                &mut direct_run,
            );
            direct_by_delay.push((delay_ms, direct_run));
        }
        standin.set_options(gateway::standin::Options::default());
        throughput("gateway_throughput", &client, &via, throughput_seconds).await;
        let mut direct_one = one_at_a_time(&client, &direct, 1000).await;
        let mut via_one = one_at_a_time(&client, &via, 1000).await;
        added(
            "gateway_added_latency_one_in_flight",
            1,
            0,
            &mut via_one,
            &mut direct_one,
        );
        // LiteLLM last, so that whatever it still works through does not slow the gateway's runs.
        let Some(target) = &through_litellm else {
            return;
        };
        one_at_a_time(&client, target, 50).await; // its first calls load what it needs
        let mut litellm_one = one_at_a_time(&client, target, 300).await;
        added(
            "litellm_1_106_12_added_latency_one_in_flight",
            1,
            0,
            &mut litellm_one,
            &mut direct_one,
        );
        for (delay_ms, direct_run) in &mut direct_by_delay {
            standin.set_options(gateway::standin::Options {
                delay: Duration::from_millis(*delay_ms),
                answer_as: None,
            });
            for litellm_rate in [100, rate] {
                let mut run = open_loop(&client, target, litellm_rate, seconds).await;
                added(
                    "litellm_1_106_12_added_latency",
                    litellm_rate,
                    *delay_ms,
                    &mut run,
                    direct_run,
                );
            }
        }
        standin.set_options(gateway::standin::Options::default());
        throughput(
            "litellm_1_106_12_throughput",
            &client,
            target,
            throughput_seconds.min(20),
        )
        .await;
    });
    drop(litellm);
    gateway.stop();
    let usage = service::open(None, Some(&ledger), None)
        .unwrap()
        .usage(Some(service::demo::GATEWAY_CONTRACT))
        .unwrap();
    let sealed: u64 = usage
        .iter()
        .filter(|b| b.party == service::demo::GATEWAY_PARTY)
        .map(|b| b.records)
        .sum();
    report("gateway_records_sealed", &[("records", sealed.to_string())]);
}
