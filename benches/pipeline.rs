//! The chat pipeline's own cost per question: scrub, prompt, extract, guard,
//! engine (polars over the sample CSV files), protect, answer prompt and
//! reveal, on a 1,000-row result, with a scripted model whose time is
//! excluded. Beside it: one call to an OpenAI-compatible endpoint on a local
//! HTTP server (the adapter's round trip, no model thinking).
//!
//! Run: `cargo bench --bench pipeline`.

#[path = "../tests/mock_server.rs"]
mod mock_server;

use std::sync::Arc;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sqlveil::llm::{Message, ModelRequest, OpenAiModel, ScriptedModel};
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, Context, LanguageModel, MasterKey, PolarsEngine, Policy};

use crate::mock_server::{MockServer, Reply};

const SQL: &str = "SELECT order_id, customer_id, order_date, amount, status, ship_city FROM orders ORDER BY order_id LIMIT 1000";
const QUESTION: &str =
    "List the first 1000 orders with their customer; my email is someone@example.com";

fn chat(model: Arc<dyn LanguageModel>, answer: bool) -> Chat {
    // The sample rules, with a row cap that lets 1,000 rows through.
    let text = std::fs::read_to_string("rules/sample.toml").expect("sample rules");
    let policy =
        Policy::from_toml_str(&text.replace("max_rows = 200", "max_rows = 1000")).expect("rules");
    let engine = Arc::new(PolarsEngine::open("examples/data", &policy).expect("sample data"));
    Chat::builder(policy, engine, model, MasterKey::from_bytes(&[7; 32]))
        .vault(Arc::new(MemoryVault::new()))
        // Every question goes through the model call and the guard.
        .cache_capacity(0)
        .write_answer(answer)
        .build()
        .expect("chat")
}

fn scripted() -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::from_fn(|req: &ModelRequest| {
        Ok(if req.system.starts_with("You answer") {
            "The first order is 10001.".to_string()
        } else {
            format!("```sql\n{SQL}\n```")
        })
    }))
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.measurement_time(Duration::from_secs(10));
    let ctx = Context::new("bench").role("support");

    let full = chat(scripted(), true);
    let a = full.ask(QUESTION, &ctx).expect("ask");
    assert_eq!(a.rows.height(), 1000);
    assert_eq!(a.model_calls, 2);

    // The pipeline's own time: the whole request less the model calls.
    g.bench_function("overhead_1000_rows_with_answer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let a = full.ask(QUESTION, &ctx).expect("ask");
                total += a.timings.overhead();
            }
            total
        })
    });
    let rows_only = chat(scripted(), false);
    g.bench_function("overhead_1000_rows_rows_only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let a = rows_only.ask(QUESTION, &ctx).expect("ask");
                total += a.timings.overhead();
            }
            total
        })
    });

    // The engine alone on the same query, for scale.
    let policy_text = std::fs::read_to_string("rules/sample.toml").expect("rules");
    let policy = Policy::from_toml_str(&policy_text.replace("max_rows = 200", "max_rows = 1000"))
        .expect("rules");
    let engine = PolarsEngine::open("examples/data", &policy).expect("data");
    g.bench_function("engine_only_1000_rows", |b| {
        use sqlveil::Engine;
        b.iter(|| black_box(engine.execute(SQL, 1000).expect("run")))
    });

    // One model call over HTTP to a local server that answers at once.
    let server = MockServer::start(vec![Reply::completion("```sql\nSELECT 1 AS x\n```")]);
    let http = OpenAiModel::builder(&server.url, "local")
        .build()
        .expect("client");
    let request = ModelRequest {
        system: full.sql_prompt("orders"),
        messages: vec![Message::user(format!("Question: {QUESTION}"))],
        stop: vec![],
        max_tokens: 512,
        temperature: 0.0,
    };
    g.bench_function("http_model_round_trip_local", |b| {
        b.iter(|| black_box(http.complete(&request).expect("model")))
    });
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
