//! `sqlveil ask`: one question through the chat pipeline.

use crate::args::{AskArgs, AuditArgs, Keys, Source};
use crate::output::{column_json, print, rows_json};
use crate::setup::{audit_key, data_dir, env_or, known_detector, master_key, open, vault};
use serde_json::{json, Value};
use sqlveil::audit::AuditLogBuilder;
use sqlveil::chat::AnswerSegment;
use sqlveil::llm::OpenAiModel;
use sqlveil::tokens::Tokens;
use sqlveil::{Chat, ChatAnswer, Context, Error};
use std::sync::Arc;

pub(crate) fn ask(
    source: &Source,
    audit: &AuditArgs,
    keys: &Keys,
    args: &AskArgs,
) -> Result<u8, Error> {
    let Some(model) = model(args)? else {
        return Ok(2);
    };
    let chat = chat(source, audit, keys, args, model)?;
    let mut ctx = Context::new(audit.actor.clone());
    if let Some(r) = &args.role {
        ctx = ctx.role(r.clone());
    }
    if let Some(id) = &audit.request_id {
        ctx = ctx.request_id(id.clone());
    }
    let a = chat.ask(&args.question, &ctx)?;
    print(&answer_json(&a));
    Ok(0)
}

/// The model `--model-url` and `--model` (or their variables) name; `None`,
/// with what is missing on stderr, when one is not given.
fn model(args: &AskArgs) -> Result<Option<OpenAiModel>, Error> {
    let Some(url) = env_or(&args.model_url, "SQLVEIL_MODEL_URL") else {
        eprintln!("sqlveil: no model is given: pass --model-url URL (an OpenAI-compatible endpoint such as http://127.0.0.1:8080/v1) and --model NAME, or set SQLVEIL_MODEL_URL and SQLVEIL_MODEL");
        return Ok(None);
    };
    let Some(name) = env_or(&args.model, "SQLVEIL_MODEL") else {
        eprintln!("sqlveil: no model name is given: pass --model NAME (the server's model id) or set SQLVEIL_MODEL");
        return Ok(None);
    };
    let model = OpenAiModel::builder(url, name)
        .timeout(std::time::Duration::from_secs(args.timeout.max(1)))
        .api_key_from_env()
        .build()?;
    Ok(Some(model))
}

/// The chat pipeline over the data, keys, vault, examples and audit log
/// the arguments give.
fn chat(
    source: &Source,
    audit: &AuditArgs,
    keys: &Keys,
    args: &AskArgs,
    model: OpenAiModel,
) -> Result<Chat, Error> {
    let model = Arc::new(model);
    let (policy, engine) = open(source)?;
    let key = master_key(keys)?;
    let vault = vault(keys, &key)?;
    if vault.is_none() {
        // A library `Chat` keeps `hash` tokens in memory without a vault;
        // the CLI's must outlive the run (`sqlveil reveal`), so `hash`
        // tokens without `--vault` are refused, with `Tokens::new`'s message.
        Tokens::new(&policy, key.clone(), None)?;
    }
    let detector = Arc::new(known_detector(
        &policy,
        engine.as_ref(),
        &key,
        data_dir(source),
    )?);
    let mut chat = Chat::builder(policy, engine, model, key.clone())
        .detector(detector)
        .max_repairs(args.max_repairs)
        .write_answer(!args.no_answer);
    if let Some(path) = &args.examples {
        chat = chat.examples(sqlveil::chat::ExampleSet::from_path(path)?);
    }
    if args.strip_links || !args.allow_link_host.is_empty() {
        chat = chat.link_hosts(args.allow_link_host.iter().cloned());
    }
    if let Some(v) = vault {
        chat = chat.vault(v);
    }
    if let Some(path) = &audit.audit {
        let k = audit_key(audit.audit_key_file.as_deref(), Some(&key))?;
        chat = chat.audit(Arc::new(
            AuditLogBuilder::new().open_with(path, k.as_ref())?,
        ));
    }
    chat.build()
}

/// The answer as the command prints it.
fn answer_json(a: &ChatAnswer) -> Value {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let attempts: Vec<Value> = a
        .attempts
        .iter()
        .map(|t| {
            json!({
                "sql": t.sql,
                "error": t.error.as_ref().map(|e| json!({"code": e.code, "feedback": e.feedback})),
            })
        })
        .collect();
    let segments = a.answer_segments.as_ref().map(|segs| {
        segs.iter()
            .map(|s| match s {
                AnswerSegment::Value {
                    class,
                    token,
                    value,
                } => json!({"value": value, "class": class.as_str(), "token": token}),
                AnswerSegment::Text(t) => json!({"text": t}),
                _ => json!({}),
            })
            .collect::<Vec<_>>()
    });
    json!({
        "answer": a.answer,
        "answer_segments": segments,
        "model_answer": a.model_answer,
        "question_sent": a.question_sent,
        "sql": a.sql,
        "cached": a.cached,
        "direct": a.direct.as_ref().map(|d| json!({"example": d.example, "score": d.score})),
        "examples": a.examples,
        "columns": a.columns.iter().map(column_json).collect::<Vec<_>>(),
        "rows": rows_json(&a.rows),
        "model_rows": rows_json(&a.model_rows),
        "row_count": a.rows.height(),
        "revealed": a.revealed,
        "attempts": attempts,
        "model_calls": a.model_calls,
        "usage": {"prompt_tokens": a.usage.prompt_tokens, "completion_tokens": a.usage.completion_tokens},
        "detector_hits": a.detector_hits,
        "timings_ms": {
            "total": ms(a.timings.total),
            "model": ms(a.timings.model),
            "overhead": ms(a.timings.overhead()),
        },
    })
}
