//! The `sqlveil` command-line tool.
//!
//! Exit codes: 0 done, 1 refused by policy (or, for `rules lint`, rules that
//! name something missing), 2 bad usage or bad input, 3 engine failure. Every
//! error is one sentence on stderr; results are JSON on stdout.

mod args;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;

use polars::prelude::{AnyValue, DataFrame};
use sqlveil::tokens::role_classes;
use sqlveil::{
    Action, Detector, Engine, Error, ErrorKind, FileVault, Guard, MasterKey, PolarsEngine, Policy,
    Protector, TokenVault, Tokens,
};

use crate::args::{Cli, Command, Keys, RulesCommand, Source};

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
        ErrorKind::Engine { .. } => 3,
        ErrorKind::Vault { .. } | ErrorKind::Crypto => 3,
        _ => 2,
    }
}

/// Prints JSON on stdout. A closed pipe is success; any other write failure
/// ends the process with exit 2.
fn print(v: &Value) {
    let mut out = std::io::stdout().lock();
    let r = serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out));
    if let Err(e) = r {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sqlveil: cannot write the result to stdout: {e}");
            std::process::exit(2);
        }
    }
}

fn open(source: &Source) -> Result<(Policy, PolarsEngine), Error> {
    let policy = Policy::from_path(&source.rules)?;
    let engine = PolarsEngine::open(&source.data, &policy)?;
    Ok((policy, engine))
}

fn action_json(a: &sqlveil::ColumnPolicy) -> Value {
    let mut v = json!({ "action": a.action.as_tag(), "filter": a.filter.as_tag() });
    match &a.action {
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

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Check { source, sql } => {
            let (policy, engine) = open(&source)?;
            let guard = Guard::new(&policy, engine.catalog())?;
            match guard.check(&sql) {
                Ok(q) => {
                    let columns: Vec<Value> = q
                        .columns()
                        .iter()
                        .map(|c| {
                            let mut v = action_json(&c.action);
                            v["name"] = json!(c.name);
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
        Command::Rules {
            command: RulesCommand::Lint { source },
        } => lint(&source),
        Command::Query { source, keys, sql } => query(&source, &keys, &sql),
        Command::Scan { rules, keys } => scan(&rules, &keys),
        Command::Reveal { rules, role, keys } => reveal(&rules, &role, &keys),
    }
}

fn tokens(policy: &Policy, keys: &Keys) -> Result<(MasterKey, Tokens), Error> {
    let key = match &keys.key_file {
        Some(f) => MasterKey::from_file(f)?,
        None => MasterKey::from_env()?,
    };
    let vault: Option<Arc<dyn TokenVault>> = match &keys.vault {
        Some(path) => Some(Arc::new(FileVault::open(path, &key)?)),
        None => None,
    };
    // Tokens::new refuses hash tokens without a vault.
    let tokens = Tokens::new(policy, key.clone(), vault)?;
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

fn query(source: &Source, keys: &Keys, sql: &str) -> Result<u8, Error> {
    let (policy, engine) = open(source)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let detector = Detector::new(&policy)?;
    let guard = Guard::new(&policy, engine.catalog())?;
    let q = guard.check_with(sql, &tokens)?;
    let rows = engine.run(&q)?;
    let protector = Protector::new(&tokens, &detector, &key)?;
    let out = protector.protect(rows, &q)?;
    let columns: Vec<Value> = q
        .columns()
        .iter()
        .map(|c| {
            let mut v = action_json(&c.action);
            v["name"] = json!(c.name);
            v
        })
        .collect();
    print(&json!({
        "columns": columns,
        "rows": rows_json(&out.frame),
        "row_count": out.frame.height(),
        "detector_hits": out.detector_hits,
    }));
    Ok(0)
}

fn scan(rules: &std::path::Path, keys: &Keys) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let (_, tokens) = tokens(&policy, keys)?;
    let detector = Detector::new(&policy)?;
    let text = stdin_text();
    let hits: Vec<Value> = detector
        .find(&text)
        .into_iter()
        .map(|h| json!({"start": h.range.start, "end": h.range.end, "detector": h.detector, "class": h.class}))
        .collect();
    let redacted = detector.redact(&text, &tokens)?;
    print(&json!({
        "hits": hits,
        "counts": redacted.counts,
        "text": redacted.text,
    }));
    Ok(0)
}

fn reveal(rules: &std::path::Path, role: &str, keys: &Keys) -> Result<u8, Error> {
    let policy = Policy::from_path(rules)?;
    let classes = role_classes(&policy, role)?;
    let (_, tokens) = tokens(&policy, keys)?;
    let text = stdin_text();
    let (out, n) = tokens.reveal(&text, classes)?;
    print(&json!({ "text": out, "revealed": n }));
    Ok(0)
}

fn lint(source: &Source) -> Result<u8, Error> {
    let (policy, engine) = open(source)?;
    engine.validate()?;
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
