//! An OpenAI-compatible chat-completions client.

use std::time::Duration;

use serde_json::{json, Value};

use super::{estimate_tokens, LanguageModel, ModelError, ModelRequest, ModelResponse, Usage};
use crate::error::Error;

/// The longest wait a `Retry-After` header is honoured for; a longer one is
/// returned to the caller as [`ModelError::RateLimited`].
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A client for an OpenAI-compatible `/chat/completions` endpoint: OpenAI,
/// vLLM, llama.cpp's `llama-server`, Ollama (`http://localhost:11434/v1`).
///
/// It retries, with exponential backoff, on 429 (honouring `Retry-After` up to
/// a minute) and on 5xx statuses and connection failures; other statuses are
/// [`ModelError::Refused`]. Calls block; see [`LanguageModel`].
///
/// # Example
/// ```no_run
/// use sqlveil::LanguageModel;
/// use sqlveil::llm::OpenAiModel;
/// use std::time::Duration;
///
/// // A local llama.cpp server: `llama-server -m model.gguf --port 8080`.
/// let model = OpenAiModel::builder("http://127.0.0.1:8080/v1", "qwen2.5-coder")
///     .timeout(Duration::from_secs(60))
///     .build()?;
/// assert_eq!(model.name(), "qwen2.5-coder");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OpenAiModel {
    client: reqwest::blocking::Client,
    url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl std::fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is never printed.
        f.debug_struct("OpenAiModel")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Builds an [`OpenAiModel`].
#[derive(Clone)]
pub struct OpenAiModelBuilder {
    base_url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl std::fmt::Debug for OpenAiModelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the API key: only whether there is one.
        f.debug_struct("OpenAiModelBuilder")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl OpenAiModelBuilder {
    /// The API key sent as a bearer token (none by default; local servers
    /// need none). [`OpenAiModel::from_env`] reads it from the environment.
    pub fn api_key(mut self, key: impl Into<String>) -> OpenAiModelBuilder {
        self.api_key = Some(key.into());
        self
    }

    /// The API key from `SQLVEIL_MODEL_API_KEY`, or else `OPENAI_API_KEY`,
    /// when either is set and not empty.
    pub fn api_key_from_env(mut self) -> OpenAiModelBuilder {
        if let Some(k) = ["SQLVEIL_MODEL_API_KEY", "OPENAI_API_KEY"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|k| !k.is_empty()))
        {
            self.api_key = Some(k);
        }
        self
    }

    /// How long one call may take, connection included (default 120 s).
    pub fn timeout(mut self, t: Duration) -> OpenAiModelBuilder {
        self.timeout = t;
        self
    }

    /// How many times a 429, a 5xx or a failed connection is retried
    /// (default 3).
    pub fn retries(mut self, n: u32) -> OpenAiModelBuilder {
        self.retries = n;
        self
    }

    /// The first retry's wait, doubled at each retry (default 500 ms).
    pub fn backoff(mut self, d: Duration) -> OpenAiModelBuilder {
        self.backoff = d;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// A base URL that is not `http://` or `https://`, or an empty model name.
    pub fn build(self) -> Result<OpenAiModel, Error> {
        let base = self.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::usage(format!(
                "the model URL `{base}` must start with http:// or https:// (for example http://127.0.0.1:8080/v1)"
            )));
        }
        if self.model.trim().is_empty() {
            return Err(Error::usage("the model name is empty"));
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(OpenAiModel {
            client,
            url: format!("{base}/chat/completions"),
            model: self.model,
            api_key: self.api_key.filter(|k| !k.is_empty()),
            timeout: self.timeout,
            retries: self.retries,
            backoff: self.backoff,
        })
    }
}

impl OpenAiModel {
    /// A client for a server at `base_url` with the builder's defaults (no
    /// API key, 120 s timeout, 3 retries): `builder(base_url, model).build()`.
    ///
    /// # Errors
    /// As [`OpenAiModelBuilder::build`].
    pub fn new(
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> Result<OpenAiModel, Error> {
        OpenAiModel::builder(base_url, model).build()
    }

    /// A builder for a server at `base_url` (the part before
    /// `/chat/completions`, e.g. `https://api.openai.com/v1`) and a model id.
    pub fn builder(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiModelBuilder {
        OpenAiModelBuilder {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }

    /// A client from the environment: `SQLVEIL_MODEL_URL`, `SQLVEIL_MODEL`,
    /// and the key from `SQLVEIL_MODEL_API_KEY` or else `OPENAI_API_KEY`.
    /// Returns `Ok(None)` when `SQLVEIL_MODEL_URL` is not set.
    ///
    /// # Errors
    /// `SQLVEIL_MODEL_URL` is set but `SQLVEIL_MODEL` is not, or the URL is
    /// not usable.
    pub fn from_env() -> Result<Option<OpenAiModel>, Error> {
        let Some(url) = std::env::var("SQLVEIL_MODEL_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let model = std::env::var("SQLVEIL_MODEL").map_err(|_| {
            Error::usage("SQLVEIL_MODEL_URL is set but SQLVEIL_MODEL (the model id) is not")
        })?;
        OpenAiModel::builder(url, model)
            .api_key_from_env()
            .build()
            .map(Some)
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let mut messages = vec![json!({"role": "system", "content": request.system})];
        messages.extend(
            request
                .messages
                .iter()
                .map(|m| json!({"role": m.role.as_str(), "content": m.content})),
        );
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": false,
        });
        if !request.stop.is_empty() {
            body["stop"] = json!(request.stop);
        }
        body
    }

    fn once(&self, body: &Value) -> Attempt {
        let mut req = self.client.post(&self.url).json(body);
        if let Some(k) = &self.api_key {
            req = req.bearer_auth(k);
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Attempt::Fail(ModelError::Timeout(self.timeout)),
            Err(e) => {
                return Attempt::Retry(ModelError::Transport(without_url(&e.to_string())), None)
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            // A wait too large for a Duration is as good as "much later".
            .and_then(|s| {
                Duration::try_from_secs_f64(s)
                    .ok()
                    .or((s > 0.0).then_some(Duration::MAX))
            });
        let text = match resp.text() {
            Ok(t) => t,
            Err(e) if e.is_timeout() => return Attempt::Fail(ModelError::Timeout(self.timeout)),
            Err(e) => {
                return Attempt::Retry(ModelError::Transport(without_url(&e.to_string())), None)
            }
        };
        if status.as_u16() == 429 {
            return Attempt::Retry(ModelError::RateLimited { retry_after }, retry_after);
        }
        if status.is_server_error() {
            return Attempt::Retry(
                ModelError::Transport(format!("the server answered {status}")),
                None,
            );
        }
        if !status.is_success() {
            // A server's message can echo the request, headers included:
            // one that quotes the key or an authorization is withheld.
            let message = server_message(&text).filter(|m| {
                let lower = m.to_lowercase();
                !lower.contains("bearer")
                    && !lower.contains("authorization")
                    && !self
                        .api_key
                        .as_deref()
                        .is_some_and(|k| k.len() >= 4 && m.contains(k))
            });
            return Attempt::Fail(ModelError::Refused(format!(
                "the server answered {status}{}",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            )));
        }
        Attempt::Done(parse_response(&text))
    }
}

enum Attempt {
    Done(Result<ModelResponse, ModelError>),
    Retry(ModelError, Option<Duration>),
    Fail(ModelError),
}

/// reqwest's messages name the URL, which may carry credentials in its
/// user-info part; keep the message's first clause only.
fn without_url(message: &str) -> String {
    message
        .split(" for url (")
        .next()
        .unwrap_or(message)
        .to_string()
}

/// The `error.message` of an OpenAI-style error body, cut to 200 characters.
fn server_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let m = v.pointer("/error/message").and_then(Value::as_str)?;
    Some(m.chars().take(200).collect())
}

fn parse_response(text: &str) -> Result<ModelResponse, ModelError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ModelError::BadResponse(format!("the body is not JSON ({e})")))?;
    let choice = v
        .pointer("/choices/0")
        .ok_or_else(|| ModelError::BadResponse("the body has no `choices[0]`".into()))?;
    if choice.get("finish_reason").and_then(Value::as_str) == Some("content_filter") {
        return Err(ModelError::Refused(
            "the server's content filter stopped the answer".into(),
        ));
    }
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ModelError::BadResponse("`choices[0].message.content` is not a string".into())
        })?;
    let reported = |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64);
    Ok(ModelResponse {
        usage: Usage {
            prompt_tokens: reported("prompt_tokens").unwrap_or(0),
            completion_tokens: reported("completion_tokens")
                .unwrap_or_else(|| estimate_tokens(content)),
        },
        text: content.to_string(),
    })
}

impl LanguageModel for OpenAiModel {
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
        let body = self.body(request);
        let mut wait = self.backoff;
        let mut attempt = 0;
        loop {
            let (err, asked) = match self.once(&body) {
                Attempt::Done(r) => return r,
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, asked) => (e, asked),
            };
            if attempt >= self.retries || asked.is_some_and(|a| a > MAX_RETRY_AFTER) {
                return Err(err);
            }
            attempt += 1;
            std::thread::sleep(asked.unwrap_or(wait));
            wait = wait.saturating_mul(2);
        }
    }

    fn name(&self) -> &str {
        &self.model
    }
}
