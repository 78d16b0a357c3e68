//! The shapes of OpenAI's API the gateway speaks: its error body, so that the `openai` SDKs
//! raise their typed errors (`AuthenticationError` for 401, `PermissionDeniedError` for 403,
//! `RateLimitError` for 429), and what a response says about its model and its tokens.

use bytes::Bytes;
use serde_json::{Value, json};

/// A refusal, in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: &'static str,
    pub param: Option<String>,
    pub message: String,
    /// Seconds to wait before trying again (a 429's `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            kind,
            code,
            param: None,
            message,
            retry_after: None,
        }
    }

    pub fn with_param(mut self, param: &str) -> ApiError {
        self.param = Some(param.to_owned());
        self
    }

    pub fn body(&self) -> Bytes {
        let body = json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }});
        Bytes::from(body.to_string())
    }
}

/// Tokens the provider counted for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
}

/// The `usage` of a chat completion, a response or an embedding (whichever names it has),
/// from a JSON value that may be the object itself or carry it under `response`.
pub fn usage_of(value: &Value) -> Option<Usage> {
    let usage = value
        .get("usage")
        .or_else(|| value.get("response").and_then(|r| r.get("usage")))?;
    if usage.is_null() {
        return None;
    }
    let count = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| usage.get(*name).and_then(Value::as_u64))
            .unwrap_or(0)
    };
    Some(Usage {
        prompt: count(&["prompt_tokens", "input_tokens"]),
        completion: count(&["completion_tokens", "output_tokens"]),
    })
}

/// The model a response (or a streamed chunk, or a `response.*` event) says answered.
pub fn model_of(value: &Value) -> Option<&str> {
    value
        .get("model")
        .or_else(|| value.get("response").and_then(|r| r.get("model")))
        .and_then(Value::as_str)
}

/// What the gateway reads of a whole answer: its model and its token counts, without building
/// the rest (the text) into a tree.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Answered {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<Value>,
}

impl Answered {
    pub fn read(bytes: &[u8]) -> Answered {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    pub fn usage(&self) -> Usage {
        self.usage
            .as_ref()
            .and_then(|usage| usage_of(&serde_json::json!({ "usage": usage })))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_reads_chat_responses_and_embeddings() {
        let chat = json!({"usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let responses = json!({"type": "response.completed", "response": {"model": "m", "usage": {"input_tokens": 7, "output_tokens": 2}}});
        let embeddings = json!({"usage": {"prompt_tokens": 4, "total_tokens": 4}});
        assert_eq!(
            usage_of(&chat),
            Some(Usage {
                prompt: 3,
                completion: 5
            })
        );
        assert_eq!(
            usage_of(&responses),
            Some(Usage {
                prompt: 7,
                completion: 2
            })
        );
        assert_eq!(model_of(&responses), Some("m"));
        assert_eq!(
            usage_of(&embeddings),
            Some(Usage {
                prompt: 4,
                completion: 0
            })
        );
        assert_eq!(usage_of(&json!({"usage": null})), None);
        let answered = Answered::read(br#"{"model":"m","choices":[{"text":"long"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#);
        assert_eq!(
            (answered.model(), answered.usage()),
            (
                Some("m"),
                Usage {
                    prompt: 1,
                    completion: 2
                }
            )
        );
    }
}
