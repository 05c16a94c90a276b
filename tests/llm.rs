//! The OpenAI-compatible adapter against a local HTTP server, and the whole
//! pipeline through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlveil::error::ModelError;
use sqlveil::llm::{Message, ModelRequest, OpenAiModel};
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, Context, LanguageModel, MasterKey, PolarsEngine, Policy};

use crate::mock_server::{MockServer, Reply};
use crate::planted::{assert_no_secret, plant, secret_windows, RULES};
use crate::util::{run_cli, tempdir_with};

fn request() -> ModelRequest {
    ModelRequest {
        system: "Write SQL.".into(),
        messages: vec![Message::user("How many?")],
        stop: vec!["</sql>".into()],
        max_tokens: 64,
        temperature: 0.0,
    }
}

fn model(server: &MockServer) -> OpenAiModel {
    OpenAiModel::builder(&server.url, "test-model")
        .api_key("sk-test")
        .backoff(Duration::from_millis(10))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A client that retries `retries` times, 1 ms apart.
fn fast(server: &MockServer, retries: u32) -> OpenAiModel {
    OpenAiModel::builder(&server.url, "m")
        .retries(retries)
        .backoff(Duration::from_millis(1))
        .build()
        .unwrap()
}

#[test]
fn success_sends_the_openai_shape() {
    let server = MockServer::start(vec![Reply::completion("SELECT 1 AS one")]);
    let r = model(&server).complete(&request()).unwrap();
    assert_eq!(r.text, "SELECT 1 AS one");
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (11, 7));
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "Write SQL.");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["stop"][0], "</sql>");
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], 0.0);
}

#[test]
fn rate_limits_are_retried_after_the_asked_wait() {
    let mut limited = Reply::status(429, r#"{"error":{"message":"slow down"}}"#);
    limited.headers.push(("retry-after".into(), "1".into()));
    let server = MockServer::start(vec![limited.clone(), Reply::completion("ok")]);
    let t = Instant::now();
    let r = model(&server).complete(&request()).unwrap();
    assert_eq!(r.text, "ok");
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(server.bodies().len(), 2);

    // A wait too large for a Duration, or negative, or not a number: no
    // panic, no wait.
    for header in ["1e20", "99999999999999999999", "-5", "NaN", "inf"] {
        let mut odd = limited.clone();
        odd.headers = vec![("retry-after".into(), header.into())];
        let server = MockServer::start(vec![odd]);
        let m = fast(&server, 1);
        let e = m.complete(&request()).unwrap_err();
        assert!(
            matches!(e, ModelError::RateLimited { .. }),
            "{header}: {e:?}"
        );
    }

    // A wait longer than a minute is the caller's to decide.
    let mut long = limited;
    long.headers = vec![("retry-after".into(), "3600".into())];
    let server = MockServer::start(vec![long]);
    let e = model(&server).complete(&request()).unwrap_err();
    assert_eq!(
        e,
        ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(3600))
        }
    );
    assert_eq!(server.bodies().len(), 1);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = MockServer::start(vec![
        Reply::status(500, "oops"),
        Reply::status(503, "busy"),
        Reply::completion("fine"),
    ]);
    assert_eq!(model(&server).complete(&request()).unwrap().text, "fine");
    assert_eq!(server.bodies().len(), 3);

    let server = MockServer::start(vec![Reply::status(500, "oops")]);
    let m = fast(&server, 2);
    let e = m.complete(&request()).unwrap_err();
    assert!(
        matches!(&e, ModelError::Transport(m) if m.contains("500")),
        "{e:?}"
    );
    assert_eq!(server.bodies().len(), 3);
}

#[test]
fn a_slow_server_times_out() {
    let mut slow = Reply::completion("late");
    slow.delay = Duration::from_secs(3);
    let server = MockServer::start(vec![slow]);
    let m = OpenAiModel::builder(&server.url, "m")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let t = Instant::now();
    let e = m.complete(&request()).unwrap_err();
    assert_eq!(e, ModelError::Timeout(Duration::from_millis(300)));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn malformed_and_refused_answers_are_typed() {
    for (reply, want) in [
        (Reply::ok("{not json"), "not JSON"),
        (Reply::ok(r#"{"choices":[]}"#), "choices[0]"),
        (
            Reply::ok(r#"{"choices":[{"message":{"content":null}}]}"#),
            "not a string",
        ),
    ] {
        let server = MockServer::start(vec![reply]);
        let e = model(&server).complete(&request()).unwrap_err();
        assert!(
            matches!(&e, ModelError::BadResponse(m) if m.contains(want)),
            "{e:?}"
        );
    }
    let server = MockServer::start(vec![Reply::status(
        401,
        r#"{"error":{"message":"bad key"}}"#,
    )]);
    let e = model(&server).complete(&request()).unwrap_err();
    assert!(
        matches!(&e, ModelError::Refused(m) if m.contains("401") && m.contains("bad key")),
        "{e:?}"
    );
    assert_eq!(server.bodies().len(), 1, "a 401 is not retried");
    let server = MockServer::start(vec![Reply::ok(
        r#"{"choices":[{"finish_reason":"content_filter","message":{"content":""}}]}"#,
    )]);
    assert!(matches!(
        model(&server).complete(&request()).unwrap_err(),
        ModelError::Refused(_)
    ));
    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let m = OpenAiModel::builder(format!("http://127.0.0.1:{port}/v1"), "m")
        .retries(1)
        .backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    assert!(matches!(
        m.complete(&request()).unwrap_err(),
        ModelError::Transport(_)
    ));
    // Unusable settings.
    assert!(OpenAiModel::builder("localhost:8080", "m").build().is_err());
    assert!(OpenAiModel::builder("http://127.0.0.1:1/v1", " ")
        .build()
        .is_err());
}

/// Second review, F12: a server whose error echoes the request's headers
/// does not get the key into the error.
#[test]
fn an_error_body_that_echoes_the_key_is_withheld() {
    let server = MockServer::start(vec![Reply::status(
        401,
        r#"{"error":{"message":"invalid key in header Authorization: Bearer sk-test"}}"#,
    )]);
    let err = model(&server).complete(&request()).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("sk-test") && !text.contains("Bearer"),
        "{text}"
    );
    assert!(text.contains("401"), "{text}");
    // A plain message is still shown.
    let server = MockServer::start(vec![Reply::status(
        400,
        r#"{"error":{"message":"model not found"}}"#,
    )]);
    let err = model(&server).complete(&request()).unwrap_err();
    assert!(err.to_string().contains("model not found"), "{err}");
}

#[test]
fn the_api_key_is_sent_and_never_printed() {
    let server = MockServer::start(vec![Reply::completion("x")]);
    let m = model(&server);
    assert!(!format!("{m:?}").contains("sk-test"));
    // Nor by the builder.
    let b = OpenAiModel::builder(&server.url, "test-model").api_key("sk-test");
    let debug = format!("{b:?} {b:#?}");
    assert!(
        !debug.contains("sk-test") && debug.contains("<set>"),
        "{debug}"
    );
    m.complete(&request()).unwrap();
}

#[test]
fn the_http_model_receives_no_planted_value() {
    let planted = plant();
    let dir = tempdir_with(&[("people.csv", &planted.csv)]);
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = Arc::new(PolarsEngine::open(dir.path(), &policy).unwrap());
    let server = MockServer::start(vec![
        Reply::completion("```sql\nSELECT nmae FROM people\n```"),
        Reply::completion("```sql\nSELECT * FROM people\n```"),
        Reply::completion("Here they are."),
    ]);
    let chat = Chat::builder(
        policy,
        engine,
        Arc::new(model(&server)),
        MasterKey::from_bytes(&[42; 32]),
    )
    .vault(Arc::new(MemoryVault::new()))
    .build()
    .unwrap();
    let a = chat
        .ask(
            "Everything about quillon.secret07@plantedmail.test, +1 415 555 3007?",
            Context::new("t").role("support"),
        )
        .unwrap();
    assert_eq!(a.model_calls, 3);
    assert_eq!(a.answer.as_deref(), Some("Here they are."));
    assert_eq!((a.usage.prompt_tokens, a.usage.completion_tokens), (33, 21));
    // The schema's own words are not leaks (the column `notes`).
    let public = chat.sql_prompt("");
    let secret: std::collections::HashMap<_, _> = secret_windows(&planted)
        .into_iter()
        .filter(|(w, _)| !public.contains(w.as_str()))
        .collect();
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3);
    let mut checked = 0;
    for (i, b) in bodies.iter().enumerate() {
        // JSON escapes aside, the body is the text the model received.
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        for m in v["messages"].as_array().unwrap() {
            let text = m["content"].as_str().unwrap();
            checked += assert_no_secret(&format!("body {i}"), text, &secret);
            assert!(!text.contains("quillon.secret07"), "body {i}");
            assert!(!text.contains("555 3007"), "body {i}");
        }
    }
    assert!(checked > 10_000, "{checked}");
    // The answer call received the rows: tokens and masks.
    assert!(bodies[2].contains("<person_"), "{}", bodies[2]);
}

/// Runs `sqlveil ask` on the sample data with a test key and more arguments.
fn ask_cli(question: &str, more: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "ask",
        "--data",
        "examples/data",
        "--rules",
        "rules/sample.toml",
        "--question",
        question,
    ];
    args.extend_from_slice(more);
    run_cli(&args, Some(crate::util::TEST_KEY_HEX), "")
}

#[test]
fn cli_ask_runs_the_pipeline_and_needs_a_model() {
    let (code, out, err) = ask_cli("How many?", &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no model is given"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let server = MockServer::start(vec![
        Reply::completion("```sql\nSELECT full_name AS customer, city FROM customers WHERE city = 'Austin' LIMIT 2\n```"),
        Reply::completion("The first is FIRST."),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.jsonl");
    let vault = vault.to_str().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (code, out, err) = ask_cli(
        "Who lives in Austin?",
        &[
            "--role",
            "support",
            "--model-url",
            &server.url,
            "--model",
            "m",
            "--vault",
            vault,
            "--audit",
            audit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["answer"], "The first is FIRST.");
    // Rows come in the guard's keyed order: some customer in Austin.
    let first = v["rows"][0]["customer"].as_str().unwrap().to_string();
    let austin =
        std::fs::read_to_string(crate::util::root().join("examples/data/customers.csv")).unwrap();
    assert!(
        austin
            .lines()
            .any(|l| l.contains(&format!(",{first},")) && l.contains("Austin")),
        "{first}"
    );
    assert!(v["model_rows"][0]["customer"]
        .as_str()
        .unwrap()
        .starts_with("<person_"));
    assert_eq!(v["model_calls"], 2);
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"kind\":\"ask\""), "{log}");
    assert!(!log.contains(&first), "{log}");

    // A refusal after every repair: exit 1.
    let server = MockServer::start(vec![Reply::completion(
        "```sql\nSELECT ssn FROM customers\n```",
    )]);
    let (code, _, err) = ask_cli(
        "SSNs?",
        &[
            "--model-url",
            &server.url,
            "--model",
            "m",
            "--vault",
            vault,
            "--max-repairs",
            "1",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("denied"), "{err}");
    assert_eq!(server.bodies().len(), 2);
}
