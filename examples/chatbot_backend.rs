//! A small HTTP chat backend that links sqlveil.
//!
//! ```text
//! SQLVEIL_KEY=$(openssl rand -hex 32) \
//! SQLVEIL_API_TOKENS='s3cret-a=alice:analyst;s3cret-s=sam:support' \
//! SQLVEIL_MODEL_URL=http://127.0.0.1:8080/v1 SQLVEIL_MODEL=qwen2.5-coder \
//!     cargo run --example chatbot_backend
//!
//! curl -s localhost:3000/ask -H 'authorization: Bearer s3cret-a' \
//!     -H 'content-type: application/json' \
//!     -d '{"question": "How many customers per segment?"}'
//! ```
//!
//! Who asks, and so which token classes the answer reveals, comes from the
//! caller's bearer token, never from the request body: `SQLVEIL_API_TOKENS`
//! maps each token to a user and a role (`TOKEN=USER:ROLE`, separated by
//! `;`). Without it the example makes one random token for a demo user with
//! the `analyst` role and prints it. A real backend takes the identity from
//! its own authentication (a session, an OIDC token) the same way.
//!
//! Without `SQLVEIL_MODEL_URL` it answers with a scripted model (every
//! question gets the same demo query), so the endpoint can be tried offline.
//! Without `SQLVEIL_KEY` it uses a fixed demo key and says so.
//!
//! `POST /ask` takes `{"question"}` and returns the answer for the caller's
//! role, the SQL, the rows (as JSON through [`sqlveil::protect::JsonRows`]) and the
//! pipeline's timings. The pipeline blocks (polars, the model call), so each
//! request runs on tokio's blocking pool; one `Chat` serves them all.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use ring::digest::{digest, SHA256};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlveil::llm::{OpenAiModel, ScriptedModel};
use sqlveil::protect::JsonRows;
use sqlveil::{Chat, Context, ErrorKind, LanguageModel, MasterKey, PolarsEngine, Policy};

/// The request body: the question only. Who asks is not the body's to say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ask {
    question: String,
}

/// A caller the backend knows: the SHA-256 of their bearer token (so the
/// tokens themselves are not kept, and comparing digests does not time the
/// token), their user name and their role.
struct Caller {
    token_sha256: Vec<u8>,
    user: String,
    role: String,
}

struct App {
    chat: Chat,
    callers: Vec<Caller>,
}

/// Reads `TOKEN=USER:ROLE;…`. A token may hold `=` (base64 padding): an
/// entry is split at its last `=`.
fn callers_from(spec: &str) -> Result<Vec<Caller>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (token, who) = entry
                .rsplit_once('=')
                .ok_or("an entry of SQLVEIL_API_TOKENS is not TOKEN=USER:ROLE")?;
            let (user, role) = who
                .split_once(':')
                .ok_or("an entry of SQLVEIL_API_TOKENS is not TOKEN=USER:ROLE")?;
            if token.len() < 8 || user.is_empty() || role.is_empty() {
                return Err("an entry of SQLVEIL_API_TOKENS has a token shorter than 8 characters or no user or role".to_string());
            }
            Ok(Caller {
                token_sha256: digest(&SHA256, token.as_bytes()).as_ref().to_vec(),
                user: user.to_string(),
                role: role.to_string(),
            })
        })
        .collect()
}

/// The token of an `Authorization` header value `Bearer <token>`; the
/// scheme is case-insensitive (RFC 7235), white space around the token is
/// not part of it.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller a request's `Authorization: Bearer …` header names.
fn authenticate<'a>(app: &'a App, headers: &HeaderMap) -> Option<&'a Caller> {
    let token = bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)?;
    let d = digest(&SHA256, token.as_bytes());
    app.callers
        .iter()
        .find(|c| c.token_sha256.as_slice() == d.as_ref())
}

async fn ask(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(req): Json<Ask>,
) -> (StatusCode, Json<Value>) {
    let Some(caller) = authenticate(&app, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "a known bearer token is required"})),
        );
    };
    let ctx = Context::new(caller.user.clone()).role(caller.role.clone());
    let worker = Arc::clone(&app);
    let result = tokio::task::spawn_blocking(move || worker.chat.ask(&req.question, &ctx)).await;
    match result {
        Ok(Ok(a)) => (
            StatusCode::OK,
            Json(json!({
                "answer": a.answer,
                "sql": a.sql,
                "rows": JsonRows::new(&a.rows),
                "attempts": a.attempts.len(),
                "overhead_ms": a.timings.overhead().as_secs_f64() * 1000.0,
                "model_ms": a.timings.model.as_secs_f64() * 1000.0,
            })),
        ),
        // Errors carry no data values; refusals are the user's to see.
        Ok(Err(e)) => {
            let status = match e.kind() {
                ErrorKind::Refused(_) | ErrorKind::NoSql => StatusCode::UNPROCESSABLE_ENTITY,
                ErrorKind::Usage(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            (
                status,
                Json(json!({"error": e.to_string(), "code": e.code()})),
            )
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "the request's task failed"})),
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = match MasterKey::from_env() {
        Ok(k) => k,
        Err(_) => {
            eprintln!(
                "SQLVEIL_KEY is not set: using a fixed demo key (never do this with real data)"
            );
            MasterKey::from_bytes(&[42; 32])
        }
    };
    let model: Arc<dyn LanguageModel> = match OpenAiModel::from_env()? {
        Some(m) => Arc::new(m),
        None => {
            eprintln!("SQLVEIL_MODEL_URL is not set: answering with a scripted model");
            Arc::new(ScriptedModel::from_fn(|req| {
                Ok(if req.system.starts_with("You answer") {
                    "Customers per segment are listed in the rows.".to_string()
                } else {
                    "```sql\nSELECT segment, COUNT(*) AS customers FROM customers \
                     GROUP BY segment ORDER BY segment\n```"
                        .to_string()
                })
            }))
        }
    };
    let policy = Policy::from_path("rules/sample.toml")?;
    let engine = PolarsEngine::open("examples/data", &policy)?;
    // `hash` tokens live in memory (no `.vault(..)`): a restart forgets
    // them. Give `.vault(FileVault::open(..)?)` to keep them.
    let chat = Chat::new(policy, engine, model, key)?;
    let callers = match std::env::var("SQLVEIL_API_TOKENS") {
        Ok(spec) => callers_from(&spec)?,
        Err(_) => {
            let mut bytes = [0u8; 24];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                .map_err(|_| "no randomness for a demo token")?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!(
                "SQLVEIL_API_TOKENS is not set: the demo user `demo` (role analyst) has the bearer token {token}"
            );
            callers_from(&format!("{token}=demo:analyst"))?
        }
    };
    if callers.is_empty() {
        return Err("SQLVEIL_API_TOKENS names no caller".into());
    }
    let app = Router::new()
        .route("/ask", post(ask))
        .with_state(Arc::new(App { chat, callers }));
    let addr: SocketAddr = std::env::var("SQLVEIL_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("listening on http://{addr}/ask");
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_may_hold_equals_signs() {
        let c = callers_from("YWJjZGVmZ2g==alice:analyst; s3cret-s=sam:support").unwrap();
        assert_eq!(
            (c[0].user.as_str(), c[0].role.as_str()),
            ("alice", "analyst")
        );
        assert_eq!(
            c[0].token_sha256,
            digest(&SHA256, b"YWJjZGVmZ2g=").as_ref().to_vec()
        );
        assert_eq!(c[1].user, "sam");
        assert!(callers_from("short=a:b").is_err());
        assert!(callers_from("no-equals-sign:analyst").is_err());
        assert!(callers_from("long-enough-token=alice").is_err());
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer abc", "bearer abc", "BEARER abc", "BeArEr   abc  "] {
            assert_eq!(bearer_token(v), Some("abc"), "{v}");
        }
        for v in ["Basic abc", "Bearerabc", "Bearer ", "abc"] {
            assert_eq!(bearer_token(v), None, "{v}");
        }
    }
}
