//! A small HTTP chat backend that links sqlveil.
//!
//! ```text
//! SQLVEIL_KEY=$(openssl rand -hex 32) \
//! SQLVEIL_MODEL_URL=http://127.0.0.1:8080/v1 SQLVEIL_MODEL=qwen2.5-coder \
//!     cargo run --example chatbot_backend
//!
//! curl -s localhost:3000/ask -H 'content-type: application/json' \
//!     -d '{"question": "How many customers per segment?", "role": "analyst", "user": "alice"}'
//! ```
//!
//! Without `SQLVEIL_MODEL_URL` it answers with a scripted model (every
//! question gets the same demo query), so the endpoint can be tried offline.
//! Without `SQLVEIL_KEY` it uses a fixed demo key and says so.
//!
//! `POST /ask` takes `{"question", "role", "user"}` and returns the answer
//! for that role, the SQL, the rows, and the pipeline's timings. The
//! pipeline blocks (polars, the model call), so each request runs on tokio's
//! blocking pool; one `Chat` serves them all.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlveil::chat::{Chat, Context};
use sqlveil::llm::{LanguageModel, OpenAiModel, ScriptedModel};
use sqlveil::{ErrorKind, MasterKey, MemoryVault, PolarsEngine, Policy};

#[derive(Deserialize)]
struct Ask {
    question: String,
    role: Option<String>,
    user: String,
}

fn rows_json(df: &polars::prelude::DataFrame) -> Vec<Value> {
    let names = df.get_column_names();
    (0..df.height())
        .map(|i| {
            let mut row = serde_json::Map::new();
            for (c, name) in df.columns().iter().zip(&names) {
                let v = match c.get(i) {
                    Ok(polars::prelude::AnyValue::Null) | Err(_) => Value::Null,
                    Ok(polars::prelude::AnyValue::String(s)) => json!(s),
                    Ok(v) => json!(v.to_string()),
                };
                row.insert(name.to_string(), v);
            }
            Value::Object(row)
        })
        .collect()
}

async fn ask(State(chat): State<Arc<Chat>>, Json(req): Json<Ask>) -> (StatusCode, Json<Value>) {
    let result = tokio::task::spawn_blocking(move || {
        let mut ctx = Context::new(req.user);
        if let Some(role) = req.role {
            ctx = ctx.role(role);
        }
        chat.ask(&req.question, &ctx)
    })
    .await;
    match result {
        Ok(Ok(a)) => (
            StatusCode::OK,
            Json(json!({
                "answer": a.answer,
                "sql": a.sql,
                "rows": rows_json(&a.rows),
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
    let engine = Arc::new(PolarsEngine::open("examples/data", &policy)?);
    let chat = Chat::builder(policy, engine, model, key)
        .vault(Arc::new(MemoryVault::new()))
        .build()?;
    let app = Router::new()
        .route("/ask", post(ask))
        .with_state(Arc::new(chat));
    let addr: SocketAddr = std::env::var("SQLVEIL_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("listening on http://{addr}/ask");
    axum::serve(listener, app).await?;
    Ok(())
}
