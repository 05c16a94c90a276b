//! The `sqlveil` command-line tool.
//!
//! Exit codes: 0 done, 1 refused by policy (or, for `rules lint`, rules that
//! name something missing), 2 bad usage or bad input, 3 engine failure. Every
//! error is one sentence on stderr; results are JSON on stdout.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::unreachable)]

mod args;

// mimalloc serves the many small allocations of the SQL parser, the guard
// and polars faster than the system allocator (benches/guard.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;

use polars::prelude::{AnyValue, DataFrame};
use sqlveil::chat::AnswerSegment;
use sqlveil::detect::{Detector, KnownIndexStore, KnownPhase, KnownProgress, KnownValuesOptions};
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::llm::OpenAiModel;
use sqlveil::protect::Protector;
use sqlveil::rules::Action;
use sqlveil::tokens::{role_classes, FileVault, TokenResolver, TokenVault, Tokens};
use sqlveil::{
    Chat, Context, Engine, Error, ErrorKind, MasterKey, PolarsEngine, Policy, PostgresEngine,
    SparkEngine,
};

use sqlveil::audit::{
    summarize, verify_with, AuditEvent, AuditKey, AuditLog, AuditLogBuilder, AuditSink, Break,
    Decision, Digester, Redaction, Revealed, SummaryFilter, VerifyOptions,
};

use crate::args::{
    AskArgs, AuditArgs, AuditCommand, Cli, Command, KeyFile, Keys, RulesCommand, Source,
};

mod eval;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sqlveil: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Refused(_) => 1,
        ErrorKind::Engine { .. } | ErrorKind::Connection { .. } => 3,
        ErrorKind::Vault { .. } | ErrorKind::Audit { .. } | ErrorKind::Crypto => 3,
        ErrorKind::Model(_) | ErrorKind::NoSql => 3,
        _ => 2,
    }
}

/// Prints JSON on stdout. A closed pipe is success; any other write failure
/// ends the process with exit 2.
fn print(v: &Value) {
    print_serialize(v);
}

/// Prints a serialisable value as pretty JSON on stdout, through a buffer.
/// A closed pipe is success; any other write failure ends the process with
/// exit 2.
fn print_serialize<T: serde::Serialize>(v: &T) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let r = serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    if let Err(e) = r {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sqlveil: cannot write the result to stdout: {e}");
            std::process::exit(2);
        }
    }
}

/// Where the data is: a folder of files, or a PostgreSQL server.
enum Data<'a> {
    Files(&'a std::path::Path),
    Postgres(String),
    Spark(String),
}

fn data(source: &Source) -> Result<Data<'_>, Error> {
    if let Some(dir) = &source.data {
        return Ok(Data::Files(dir));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|u| !u.is_empty());
    if let Some(url) = source.pg.clone() {
        return Ok(Data::Postgres(url));
    }
    if let Some(url) = source.spark.clone() {
        return Ok(Data::Spark(url));
    }
    match (env("SQLVEIL_PG_URL"), env("SQLVEIL_SPARK_URL")) {
        (Some(url), _) => Ok(Data::Postgres(url)),
        (None, Some(url)) => Ok(Data::Spark(url)),
        (None, None) => Err(Error::from(ErrorKind::Usage(
            "no data is given: pass --data DIR (CSV, Parquet or NDJSON files), --pg URL or --spark URL (or set SQLVEIL_PG_URL or SQLVEIL_SPARK_URL)".into(),
        ))),
    }
}

/// The data folder, when the data is files.
fn data_dir(source: &Source) -> Option<&std::path::Path> {
    source.data.as_deref()
}

fn open(source: &Source) -> Result<(Policy, Arc<dyn Engine>), Error> {
    let policy = Policy::from_path(&source.rules)?;
    let engine: Arc<dyn Engine> = match data(source)? {
        Data::Files(dir) => Arc::new(PolarsEngine::open(dir, &policy)?),
        Data::Postgres(url) => Arc::new(PostgresEngine::connect(&url, &policy)?),
        Data::Spark(url) => Arc::new(SparkEngine::connect(&url, &policy)?),
    };
    Ok((policy, engine))
}

/// The guard for an engine's dialect.
fn guard_for(policy: &Policy, engine: &dyn Engine) -> Result<Guard, Error> {
    GuardBuilder::new()
        .dialect(engine.dialect())
        .build(policy, engine.catalog())
}

fn action_filter_json(action: &Action, filter: sqlveil::rules::Filter) -> Value {
    let mut v = json!({ "action": action.as_tag(), "filter": filter.as_tag() });
    match action {
        Action::Tokenize { class } => v["class"] = json!(class.as_str()),
        Action::Mask(m) => v["mask"] = json!(m.as_tag()),
        Action::Generalize(g) => v["to"] = json!(g.to_string()),
        Action::Aggregate {
            functions,
            min_group_size,
        } => {
            v["functions"] = json!(functions.iter().map(|f| f.as_tag()).collect::<Vec<_>>());
            v["min_group_size"] = json!(min_group_size);
        }
        _ => {}
    }
    v
}

/// An output column's name and action, as `check` and `query` print it.
fn column_json(c: &sqlveil::guard::OutputColumn) -> Value {
    let mut v = action_filter_json(&c.action, c.filter);
    v["name"] = json!(c.name);
    v
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Check {
            source,
            audit,
            key,
            sql,
        } => {
            let (policy, engine) = open(&source)?;
            let key = optional_master_key(&key)?;
            let auditor = Auditor::new(&audit, "check", key.as_ref(), &policy)?;
            let guard = guard_for(&policy, engine.as_ref())?;
            let result = guard.check(&sql);
            let mut ev = auditor.event(Some(&sql), None, None);
            match &result {
                Ok(q) => {
                    ev.decision = Some(Decision::Allowed);
                    ev.redactions = q
                        .columns()
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Redaction {
                            column: auditor.column_name(i, &c.name),
                            action: c.action.as_tag().to_string(),
                            count: 0,
                        })
                        .collect();
                }
                Err(e) => auditor.failed(&mut ev, e),
            }
            auditor.record(ev)?;
            match result {
                Ok(q) => {
                    let columns: Vec<Value> = q
                        .columns()
                        .iter()
                        .map(|c| {
                            let mut v = column_json(c);
                            v["sources"] =
                                json!(c.sources.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                            v
                        })
                        .collect();
                    let checks: Vec<Value> = q
                        .group_checks()
                        .iter()
                        .map(|g| json!({"column": g.column, "min_group_size": g.min_group_size}))
                        .collect();
                    print(&json!({
                        "verdict": "allowed",
                        "sql": q.sql(),
                        "columns": columns,
                        "group_checks": checks,
                        "max_rows": q.max_rows(),
                    }));
                    Ok(0)
                }
                Err(e) => match e.refusal() {
                    Some(r) => {
                        print(&json!({
                            "verdict": "refused",
                            "reason": r.reason().code(),
                            "column": r.column_name(),
                            "construct": r.construct_name(),
                            "suggestion": r.suggestion(),
                            "message": r.to_string(),
                        }));
                        eprintln!("sqlveil: {e}");
                        Ok(1)
                    }
                    None => Err(e),
                },
            }
        }
        Command::Audit { command } => audit_command(command),
        Command::Eval { command, run } => eval::command(&run, command.as_ref()),
        Command::Rules {
            command: RulesCommand::Lint { source },
        } => lint(&source),
        Command::Query {
            source,
            audit,
            keys,
            sql,
        } => query(&source, &audit, &keys, &sql),
        Command::Scan {
            rules,
            data,
            audit,
            keys,
        } => scan(&rules, data.as_deref(), &audit, &keys),
        Command::Ask {
            source,
            audit,
            keys,
            ask: args,
        } => ask(&source, &audit, &keys, &args),
        Command::Reveal {
            rules,
            role,
            audit,
            keys,
        } => reveal(&rules, &role, &audit, &keys),
    }
}

/// A detector that also knows the data's protected values. With a data
/// folder, the index is saved in `DIR/.sqlveil/` and read from there while
/// the data is unchanged. Building for more than a second prints progress on
/// stderr; warnings go there too (by name, never a value).
fn known_detector(
    policy: &Policy,
    engine: &dyn Engine,
    key: &MasterKey,
    dir: Option<&std::path::Path>,
) -> Result<Detector, Error> {
    let mut d = Detector::new(policy)?;
    d.known_values_options(&KnownValuesOptions::new());
    if let Some(dir) = dir {
        d.save_known_values(KnownIndexStore::new(dir.join(".sqlveil"), key)?);
    }
    let mut last: Option<std::time::Duration> = None;
    let mut progress = |p: &KnownProgress| {
        let second = std::time::Duration::from_secs(1);
        let early = p.elapsed < second || last.is_some_and(|l| p.elapsed < l + second);
        // The closing line comes whenever a line came before it.
        let closing = p.phase == KnownPhase::Done && last.is_some();
        if early && !closing {
            return;
        }
        last = Some(p.elapsed);
        let what = match &p.column {
            Some(c) => format!("{} of `{c}`", p.phase.as_str()),
            None => p.phase.as_str().to_string(),
        };
        eprintln!(
            "sqlveil: known values: {what} ({} of {} columns, {} values, {:.1} s)",
            p.columns_done,
            p.columns,
            p.values,
            p.elapsed.as_secs_f64()
        );
    };
    let report = d.refresh_with_progress(engine, &mut progress)?;
    for w in report.warnings {
        eprintln!("sqlveil: warning: {w}");
    }
    Ok(d)
}

/// Warns on stderr when a key file can be read by other users.
fn warn_key_file(path: &std::path::Path) {
    if let Some(w) = sqlveil::tokens::key_file_warning(path) {
        eprintln!("sqlveil: warning: {w}");
    }
}

/// The master key: `--key-file`, else SQLVEIL_KEY.
fn master_key(keys: &Keys) -> Result<MasterKey, Error> {
    match &keys.key_file {
        Some(f) => {
            warn_key_file(f);
            MasterKey::from_file(f)
        }
        None => MasterKey::from_env(),
    }
}

/// The master key where it is optional (`check`): `--key-file`, else
/// SQLVEIL_KEY when set; a malformed key is an error, never ignored.
fn optional_master_key(key: &KeyFile) -> Result<Option<MasterKey>, Error> {
    match &key.key_file {
        Some(f) => {
            warn_key_file(f);
            MasterKey::from_file(f).map(Some)
        }
        None if std::env::var_os(sqlveil::tokens::KEY_ENV).is_some_and(|v| !v.is_empty()) => {
            MasterKey::from_env().map(Some)
        }
        None => Ok(None),
    }
}

/// The audit chain's key: `--audit-key-file`, else SQLVEIL_AUDIT_KEY, else
/// the one derived from the master key, else none (an unkeyed log).
fn audit_key(
    audit_key_file: Option<&std::path::Path>,
    master: Option<&MasterKey>,
) -> Result<Option<AuditKey>, Error> {
    if let Some(f) = audit_key_file {
        warn_key_file(f);
        return AuditKey::from_file(f).map(Some);
    }
    if let Some(k) = AuditKey::from_env()? {
        return Ok(Some(k));
    }
    master.map(AuditKey::from_master).transpose()
}

/// The vault file given by `--vault`, if any.
fn vault(keys: &Keys, key: &MasterKey) -> Result<Option<Arc<dyn TokenVault>>, Error> {
    Ok(match &keys.vault {
        Some(path) => Some(Arc::new(FileVault::open(path, key)?)),
        None => None,
    })
}

fn tokens(policy: &Policy, keys: &Keys) -> Result<(MasterKey, Tokens), Error> {
    let key = master_key(keys)?;
    // Tokens::new refuses hash tokens without a vault.
    let tokens = Tokens::new(policy, key.clone(), vault(keys, &key)?)?;
    Ok((key, tokens))
}

/// Standard input as text; a read failure ends the process with exit 2.
fn stdin_text() -> String {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("sqlveil: cannot read standard input: {e}");
        std::process::exit(2);
    }
    text
}

fn cell(v: AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => json!(b),
        AnyValue::String(s) => json!(s),
        AnyValue::StringOwned(s) => json!(s.as_str()),
        AnyValue::Int8(n) => json!(n),
        AnyValue::Int16(n) => json!(n),
        AnyValue::Int32(n) => json!(n),
        AnyValue::Int64(n) => json!(n),
        AnyValue::UInt8(n) => json!(n),
        AnyValue::UInt16(n) => json!(n),
        AnyValue::UInt32(n) => json!(n),
        AnyValue::UInt64(n) => json!(n),
        AnyValue::Float32(n) => json!(n),
        AnyValue::Float64(n) => json!(n),
        other => json!(other.to_string()),
    }
}

fn rows_json(df: &DataFrame) -> Vec<Value> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    (0..df.height())
        .map(|i| {
            let mut row = serde_json::Map::new();
            for (c, name) in df.columns().iter().zip(&names) {
                row.insert(name.clone(), c.get(i).map(cell).unwrap_or(Value::Null));
            }
            Value::Object(row)
        })
        .collect()
}

fn query(source: &Source, audit: &AuditArgs, keys: &Keys, sql: &str) -> Result<u8, Error> {
    let (policy, engine) = open(source)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "query", Some(&key), &policy)?;
    let detector = known_detector(&policy, engine.as_ref(), &key, data_dir(source))?;
    let guard = guard_for(&policy, engine.as_ref())?;
    let result = guard.check_with(sql, &tokens).and_then(|q| {
        let rows = sqlveil::run(&*engine, &q)?;
        // One vault lock and one append for the whole result.
        let out = tokens.batch(|t| Protector::new(t, &detector, &key)?.protect(rows, &q))?;
        Ok((out, q))
    });
    let mut ev = auditor.event(Some(sql), None, Some(&tokens));
    match &result {
        Ok((out, _)) => {
            ev.decision = Some(Decision::Allowed);
            ev.rows = Some(out.frame.height() as u64);
            ev.redactions = out
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut r = Redaction::from(c);
                    r.column = auditor.column_name(i, &r.column);
                    r
                })
                .collect();
            ev.detector_hits = counts(&out.detector_hits);
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let (out, q) = result?;
    let columns: Vec<Value> = q.columns().iter().map(column_json).collect();
    print(&json!({
        "columns": columns,
        "rows": rows_json(&out.frame),
        "row_count": out.frame.height(),
        "detector_hits": out.detector_hits,
    }));
    Ok(0)
}

fn env_or(value: &Option<String>, var: &str) -> Option<String> {
    value
        .clone()
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.is_empty())
}

fn ask(source: &Source, audit: &AuditArgs, keys: &Keys, args: &AskArgs) -> Result<u8, Error> {
    let Some(url) = env_or(&args.model_url, "SQLVEIL_MODEL_URL") else {
        eprintln!("sqlveil: no model is given: pass --model-url URL (an OpenAI-compatible endpoint such as http://127.0.0.1:8080/v1) and --model NAME, or set SQLVEIL_MODEL_URL and SQLVEIL_MODEL");
        return Ok(2);
    };
    let Some(name) = env_or(&args.model, "SQLVEIL_MODEL") else {
        eprintln!("sqlveil: no model name is given: pass --model NAME (the server's model id) or set SQLVEIL_MODEL");
        return Ok(2);
    };
    let model = OpenAiModel::builder(url, name)
        .timeout(std::time::Duration::from_secs(args.timeout.max(1)))
        .api_key_from_env()
        .build()?;
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
    let chat = chat.build()?;
    let mut ctx = Context::new(audit.actor.clone());
    if let Some(r) = &args.role {
        ctx = ctx.role(r.clone());
    }
    if let Some(id) = &audit.request_id {
        ctx = ctx.request_id(id.clone());
    }
    let a = chat.ask(&args.question, &ctx)?;
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
    print(&json!({
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
    }));
    Ok(0)
}

fn scan(
    rules: &std::path::Path,
    data: Option<&std::path::Path>,
    audit: &AuditArgs,
    keys: &Keys,
) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "scan", Some(&key), &policy)?;
    let detector = match data {
        Some(dir) => known_detector(&policy, &PolarsEngine::open(dir, &policy)?, &key, Some(dir))?,
        None => Detector::new(&policy)?,
    };
    let raw = stdin_text();
    // Token look-alikes in the text are made harmless first: text scanned
    // here goes to a model, and a look-alike could be revealed as another
    // person's value. Offsets are in the text after that step.
    let (text, lookalikes) = tokens.neutralize(&raw);
    // One search gives both the hits and the redacted text; one vault lock
    // and one append for the whole text.
    let result = tokens
        .batch(|t| detector.redact_with_hits(&text, t))
        .map(|(mut r, hits)| {
            if lookalikes > 0 {
                *r.counts.entry("token_lookalike".to_string()).or_insert(0) += lookalikes;
            }
            (r, hits)
        });
    let mut ev = auditor.event(None, Some(&text), None);
    match &result {
        Ok((r, _)) => {
            ev.decision = Some(Decision::Allowed);
            ev.detector_hits = counts(&r.counts);
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let (redacted, hits) = result?;
    print_serialize(&ScanOutput {
        hits: hits
            .iter()
            .map(|h| ScanHit {
                start: h.range.start,
                end: h.range.end,
                detector: &h.detector,
                class: &h.class,
            })
            .collect(),
        counts: &redacted.counts,
        text: &redacted.text,
    });
    // The process ends here: the vault's map (two strings per token) and
    // the hits (two per hit) are left to the OS instead of being freed one
    // allocation at a time, which took a tenth of a large scan. The vault
    // file was written and flushed when its batch was committed.
    std::mem::forget((tokens, hits));
    Ok(0)
}

/// What `scan` prints, serialised as it is written (a large text has many
/// hits: no intermediate JSON tree).
#[derive(serde::Serialize)]
struct ScanOutput<'a> {
    hits: Vec<ScanHit<'a>>,
    counts: &'a std::collections::BTreeMap<String, usize>,
    text: &'a str,
}

#[derive(serde::Serialize)]
struct ScanHit<'a> {
    start: usize,
    end: usize,
    detector: &'a str,
    class: &'a str,
}

fn reveal(
    rules: &std::path::Path,
    role: &str,
    audit: &AuditArgs,
    keys: &Keys,
) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let classes = role_classes(&policy, role)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "reveal", Some(&key), &policy)?;
    let text = stdin_text();
    let result = tokens.reveal(&text, classes);
    let mut ev = auditor.event(None, None, None);
    ev.role = Some(role.to_string());
    match &result {
        Ok((_, n)) => {
            ev.decision = Some(Decision::Allowed);
            ev.revealed = Some(Revealed {
                classes: classes.iter().map(|c| c.as_str().to_string()).collect(),
                tokens: *n as u64,
            });
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let (out, n) = result?;
    print(&json!({ "text": out, "revealed": n }));
    Ok(0)
}

fn counts(
    m: &std::collections::BTreeMap<String, usize>,
) -> std::collections::BTreeMap<String, u64> {
    m.iter().map(|(k, v)| (k.clone(), *v as u64)).collect()
}

/// Builds and records this request's audit event, when `--audit` is given.
struct Auditor {
    log: Option<AuditLog>,
    digester: Option<Digester>,
    rules_digest: String,
    kind: &'static str,
    actor: String,
    request_id: String,
    start: std::time::Instant,
}

impl Auditor {
    fn new(
        args: &AuditArgs,
        kind: &'static str,
        key: Option<&MasterKey>,
        policy: &Policy,
    ) -> Result<Auditor, Error> {
        let log = match &args.audit {
            Some(path) => {
                let k = audit_key(args.audit_key_file.as_deref(), key)?;
                Some(AuditLogBuilder::new().open_with(path, k.as_ref())?)
            }
            None => None,
        };
        let digester = match key {
            Some(k) => Some(Digester::new(k, policy)?),
            None => None,
        };
        let request_id = args
            .request_id
            .clone()
            .unwrap_or_else(sqlveil::audit::new_request_id);
        Ok(Auditor {
            log,
            digester,
            rules_digest: policy.digest().to_string(),
            kind,
            actor: args.actor.clone(),
            request_id,
            start: std::time::Instant::now(),
        })
    }

    fn event(
        &self,
        sql: Option<&str>,
        text: Option<&str>,
        resolver: Option<&dyn TokenResolver>,
    ) -> AuditEvent {
        // The digests go only to the log: without one, they are not
        // computed (a keyed hash of a whole scanned text is not free).
        let digester = self.digester.as_ref().filter(|_| self.log.is_some());
        AuditEvent {
            kind: self.kind.to_string(),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            sql: match (sql, digester) {
                (Some(s), Some(d)) => Some(d.sql(s, resolver)),
                _ => None,
            },
            question_digest: match (text, digester) {
                (Some(t), Some(d)) => Some(d.digest(t)),
                _ => None,
            },
            rules_digest: Some(self.rules_digest.clone()),
            ..AuditEvent::default()
        }
    }

    /// An output column's name as logged: the name is the model's or the
    /// user's alias and can hold anything, so it goes through the digester
    /// (policy names stay), or is logged as its position without a key.
    fn column_name(&self, i: usize, name: &str) -> String {
        match &self.digester {
            Some(d) => d.name(name),
            None => format!("#{}", i + 1),
        }
    }

    fn failed(&self, ev: &mut AuditEvent, e: &Error) {
        // Names in a refusal come from the model's SQL: logged through the
        // digester, or not at all without a key.
        ev.set_failure(e, self.digester.as_ref());
    }

    /// Records the event; a request whose event cannot be written fails.
    fn record(&self, mut ev: AuditEvent) -> Result<(), Error> {
        ev.duration_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        match &self.log {
            Some(log) => log.record(ev),
            None => Ok(()),
        }
    }
}

fn audit_command(command: AuditCommand) -> Result<u8, Error> {
    match command {
        AuditCommand::Verify {
            files,
            key_file,
            audit_key_file,
            unkeyed,
            start,
            head,
        } => {
            let key = if unkeyed {
                None
            } else {
                let master = match &key_file {
                    Some(f) => {
                        warn_key_file(f);
                        Some(MasterKey::from_file(f)?)
                    }
                    None => optional_master_key(&KeyFile { key_file: None })?,
                };
                audit_key(audit_key_file.as_deref(), master.as_ref())?
            };
            let mut options = VerifyOptions::new();
            if let Some(k) = &key {
                options = options.key(k.clone());
            }
            if let Some(h) = &start {
                options = options.start(h.clone());
            }
            if let Some(h) = &head {
                options = options.head(h.clone());
            }
            let v = verify_with(&files, &options)?;
            let broken = v.broken.as_ref().map(|(f, line, what)| {
                json!({"file": f.display().to_string(), "line": line, "what": what, "meaning": what.describe()})
            });
            // Without a key and without --unkeyed, nothing is passed: an
            // unkeyed chain can be recomputed by anyone who can write it.
            let refused = key.is_none() && !unkeyed;
            print(&json!({
                "intact": v.is_intact() && !refused,
                "lines": v.lines,
                "head": v.head,
                "keyed": key.is_some(),
                "key": v.key,
                "broken": broken,
            }));
            match &v.broken {
                Some((_, _, Break::KeyNeeded)) => {
                    eprintln!(
                        "sqlveil: this log is keyed (key {}); give the key: --audit-key-file FILE or SQLVEIL_AUDIT_KEY, or the master key with --key-file FILE or SQLVEIL_KEY",
                        v.key.as_deref().unwrap_or("?")
                    );
                    Ok(2)
                }
                Some((f, line, Break::OtherKey)) => {
                    eprintln!(
                        "sqlveil: {}:{line} was written under a different key (key {}, the key given is {}): give the key the log was written with; if it is the right one, the line was forged",
                        f.display(),
                        v.key.as_deref().unwrap_or("?"),
                        key.as_ref().map_or("none", |k| k.fingerprint())
                    );
                    Ok(1)
                }
                Some((f, line, what)) => {
                    eprintln!(
                        "sqlveil: the audit chain breaks at {}:{line}: {}",
                        f.display(),
                        what.describe()
                    );
                    Ok(1)
                }
                None if refused => {
                    eprintln!("sqlveil: no key is given and this log is not keyed: a plain SHA-256 chain can be rebuilt by anyone who can write the file; pass --unkeyed to check it as such");
                    Ok(2)
                }
                None => Ok(0),
            }
        }
        AuditCommand::Summary {
            files,
            since,
            until,
            actor,
            json,
        } => {
            let s = summarize(
                &files,
                &SummaryFilter {
                    since,
                    until,
                    actor,
                },
            )?;
            if json {
                print(&serde_json::to_value(&s).unwrap_or(Value::Null));
            } else {
                let mut out = format!("events: {}\n", s.events);
                for (title, map) in [
                    ("decision", &s.decisions),
                    ("reason", &s.reasons),
                    ("column/action", &s.redactions),
                    ("detector", &s.detectors),
                    ("actor", &s.actors),
                    ("kind", &s.kinds),
                ] {
                    if map.is_empty() {
                        continue;
                    }
                    out.push_str(&format!("\n{title:<32} count\n"));
                    for (k, v) in map {
                        out.push_str(&format!("{k:<32} {v}\n"));
                    }
                }
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(out.as_bytes());
            }
            Ok(0)
        }
    }
}

fn lint(source: &Source) -> Result<u8, Error> {
    let (policy, engine) = match data(source)? {
        // Files are read in full: a malformed row deep in a file is found.
        Data::Files(dir) => {
            let policy = Policy::from_path(&source.rules)?;
            let engine = PolarsEngine::open(dir, &policy)?;
            engine.validate()?;
            let engine: Arc<dyn Engine> = Arc::new(engine);
            (policy, engine)
        }
        Data::Postgres(_) | Data::Spark(_) => open(source)?,
    };
    let unlisted_as = policy.defaults().unlisted_columns.as_tag();
    let mut tables = Vec::new();
    let mut missing_tables = Vec::new();
    let mut missing_any = false;
    for tp in policy.tables() {
        let Some(ct) = engine.catalog().table(&tp.name) else {
            missing_tables.push(tp.name.clone());
            missing_any = true;
            continue;
        };
        let unlisted: Vec<Value> = ct
            .columns
            .iter()
            .filter(|c| tp.column(&c.name).is_none())
            .map(|c| json!({"column": c.name, "type": c.ty.to_string(), "treated_as": unlisted_as}))
            .collect();
        let mut missing: Vec<&str> = tp
            .columns
            .iter()
            .filter(|c| !ct.columns.iter().any(|d| d.name == c.name))
            .map(|c| c.name.as_str())
            .collect();
        if let Some(s) = &tp.subject {
            if !ct.columns.iter().any(|d| &d.name == s) {
                missing.push(s.as_str());
            }
        }
        missing_any |= !missing.is_empty();
        tables.push(json!({
            "table": tp.name,
            "unlisted_columns": unlisted,
            "missing_columns": missing,
        }));
    }
    print(&json!({
        "ok": !missing_any,
        "tables": tables,
        "missing_tables": missing_tables,
    }));
    Ok(u8::from(missing_any))
}
