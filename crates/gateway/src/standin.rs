//! A stand-in model: a small OpenAI-compatible server that answers every call with a fixed,
//! clearly labelled text, for the demo, the tests and the benchmark. It is not a model. It
//! counts the calls that reach it, so a test can show that a denied request never did, and it
//! can be told to answer as another model (drift) or to take its time (a slow provider).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What every answer says.
pub const ANSWER: &str = "This is Concordat's stand-in model, not a real one: your request was allowed by the contract and reached the provider.";

/// How the stand-in behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Waits this long before answering.
    pub delay: Duration,
    /// Answers as this model, whatever it is asked for (to show drift).
    pub answer_as: Option<String>,
}

/// A running stand-in.
#[derive(Debug)]
pub struct StandIn {
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct State {
    calls: AtomicU64,
    options: std::sync::RwLock<Options>,
}

impl StandIn {
    /// The base URL a gateway's `--upstream` takes: `http://ADDR/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many model calls reached it.
    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::Acquire)
    }

    pub fn set_options(&self, options: Options) {
        *self
            .state
            .options
            .write()
            .unwrap_or_else(|p| p.into_inner()) = options;
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a stand-in on `listen`, on `workers` threads of its own.
pub fn start(listen: SocketAddr, options: Options, workers: usize) -> std::io::Result<StandIn> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("standin")
        .enable_all()
        .build()?;
    let listener = runtime.block_on(TcpListener::bind(listen))?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State {
        calls: AtomicU64::new(0),
        options: std::sync::RwLock::new(options),
    });
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let served = Arc::clone(&state);
    let thread = std::thread::Builder::new()
        .name("standin-accept".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                        _ = stopped.changed() => return,
                    };
                    let _ = stream.set_nodelay(true);
                    let state = Arc::clone(&served);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let state = Arc::clone(&state);
                            async move {
                                Ok::<_, std::convert::Infallible>(answer(&state, request).await)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(StandIn {
        addr,
        state,
        stop,
        thread: Some(thread),
    })
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn answer(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let options = state.options.read().map(|o| o.clone()).unwrap_or_default();
    let (parts, body) = request.into_parts();
    let body: Value = match Limited::new(body, 16 << 20).collect().await {
        Ok(collected) => serde_json::from_slice(&collected.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if parts.method == Method::GET && parts.uri.path() == "/v1/models" {
        let data = json!({"object": "list", "data": [{"id": "standin", "object": "model", "created": 0, "owned_by": "concordat"}]});
        return respond(StatusCode::OK, "application/json", data.to_string());
    }
    if parts.method != Method::POST {
        return respond(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}"#,
        );
    }
    state.calls.fetch_add(1, Ordering::AcqRel);
    if !options.delay.is_zero() {
        tokio::time::sleep(options.delay).await;
    }
    let model = options.answer_as.clone().unwrap_or_else(|| {
        body.get("model")
            .and_then(Value::as_str)
            .unwrap_or("standin")
            .to_owned()
    });
    let streaming = body.get("stream").and_then(Value::as_bool) == Some(true);
    match parts.uri.path() {
        "/v1/chat/completions" if streaming => {
            let usage = body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            respond(
                StatusCode::OK,
                "text/event-stream",
                chat_stream(&model, usage),
            )
        }
        "/v1/chat/completions" => {
            respond(StatusCode::OK, "application/json", chat(&model).to_string())
        }
        "/v1/responses" if streaming => respond(
            StatusCode::OK,
            "text/event-stream",
            responses_stream(&model),
        ),
        "/v1/responses" => respond(
            StatusCode::OK,
            "application/json",
            response(&model).to_string(),
        ),
        "/v1/embeddings" => respond(
            StatusCode::OK,
            "application/json",
            embeddings(&model, &body).to_string(),
        ),
        _ => respond(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}"#,
        ),
    }
}

const PROMPT_TOKENS: u64 = 12;
const COMPLETION_TOKENS: u64 = 24;

fn chat(model: &str) -> Value {
    json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop", "logprobs": null}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS, "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
    })
}

fn chat_stream(model: &str, usage: bool) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 0, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]})
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for word in ANSWER.split_inclusive(' ') {
        events.push(chunk(json!({"content": word}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if usage {
        events.push(json!({"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS, "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}}));
    }
    let mut text: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    text
}

fn response(model: &str) -> Value {
    json!({
        "id": "resp_standin",
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": model,
        "output": [{"type": "message", "id": "msg_standin", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": ANSWER, "annotations": []}]}],
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS, "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    })
}

fn responses_stream(model: &str) -> String {
    let done = response(model);
    let mut created = done.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    let events = [
        (
            "response.created",
            json!({"type": "response.created", "sequence_number": 0, "response": created}),
        ),
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_standin", "output_index": 0, "content_index": 0, "delta": ANSWER, "logprobs": []}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "sequence_number": 2, "response": done}),
        ),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

/// Eight dimensions a text, derived from its bytes: the same text always gets the same vector.
fn embeddings(model: &str, body: &Value) -> Value {
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items.iter().map(|i| i.to_string()).collect(),
        _ => vec![String::new()],
    };
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector: Vec<f32> = (0..8u8)
                .map(|d| {
                    let sum: u32 = text.bytes().map(|b| u32::from(b ^ d)).sum();
                    (sum % 1000) as f32 / 1000.0
                })
                .collect();
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens = inputs.len() as u64 * 4;
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
}
