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
    Action, Detector, Engine, Error, ErrorKind, FileVault, Guard, KnownValuesOptions, MasterKey,
    PolarsEngine, Policy, Protector, TokenResolver, TokenVault, Tokens,
};

use sqlveil::audit::{
    summarize, verify_head, AuditEvent, AuditLog, AuditLogBuilder, AuditSink, Decision, Digester,
    Reasons, Redaction, Revealed, SummaryFilter,
};

use crate::args::{AuditArgs, AuditCommand, Cli, Command, Keys, RulesCommand, Source};

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

/// An output column's name and action, as `check` and `query` print it.
fn column_json(c: &sqlveil::OutputColumn) -> Value {
    let mut v = action_json(&c.action);
    v["name"] = json!(c.name);
    v
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Check { source, audit, sql } => {
            let (policy, engine) = open(&source)?;
            let key = MasterKey::from_env().ok();
            let auditor = Auditor::new(&audit, "check", key.as_ref(), &policy)?;
            let guard = Guard::new(&policy, engine.catalog())?;
            let result = guard.check(&sql);
            let mut ev = auditor.event(Some(&sql), None, None);
            match &result {
                Ok(q) => {
                    ev.decision = Some(Decision::Allowed);
                    ev.redactions = q
                        .columns()
                        .iter()
                        .map(|c| Redaction {
                            column: c.name.clone(),
                            action: c.action.action.as_tag().to_string(),
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
        Command::Reveal {
            rules,
            role,
            audit,
            keys,
        } => reveal(&rules, &role, &audit, &keys),
    }
}

/// A detector that also knows the data's protected values; capped columns
/// are warned about on stderr (by name, never a value).
fn known_detector(policy: &Policy, engine: &dyn Engine) -> Result<Detector, Error> {
    let d = Detector::with_known_values(policy, engine, &KnownValuesOptions::new())?;
    for w in d
        .known_values_report()
        .map(|r| r.warnings)
        .unwrap_or_default()
    {
        eprintln!("sqlveil: warning: {w}");
    }
    Ok(d)
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

fn query(source: &Source, audit: &AuditArgs, keys: &Keys, sql: &str) -> Result<u8, Error> {
    let (policy, engine) = open(source)?;
    let (key, tokens) = tokens(&policy, keys)?;
    let auditor = Auditor::new(audit, "query", Some(&key), &policy)?;
    let detector = known_detector(&policy, &engine)?;
    let guard = Guard::new(&policy, engine.catalog())?;
    let result = guard.check_with(sql, &tokens).and_then(|q| {
        let rows = engine.run(&q)?;
        let protector = Protector::new(&tokens, &detector, &key)?;
        Ok((protector.protect(rows, &q)?, q))
    });
    let mut ev = auditor.event(Some(sql), None, Some(&tokens));
    match &result {
        Ok((out, _)) => {
            ev.decision = Some(Decision::Allowed);
            ev.rows = Some(out.frame.height() as u64);
            ev.redactions = out
                .columns
                .iter()
                .map(|c| Redaction {
                    column: c.column.clone(),
                    action: c.action.to_string(),
                    count: c.values as u64,
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
        Some(dir) => known_detector(&policy, &PolarsEngine::open(dir, &policy)?)?,
        None => Detector::new(&policy)?,
    };
    let text = stdin_text();
    let hits: Vec<Value> = detector
        .find(&text)
        .into_iter()
        .map(|h| json!({"start": h.range.start, "end": h.range.end, "detector": h.detector, "class": h.class}))
        .collect();
    let result = detector.redact(&text, &tokens);
    let mut ev = auditor.event(None, Some(&text), None);
    match &result {
        Ok(r) => {
            ev.decision = Some(Decision::Allowed);
            ev.detector_hits = counts(&r.counts);
        }
        Err(e) => auditor.failed(&mut ev, e),
    }
    auditor.record(ev)?;
    let redacted = result?;
    print(&json!({
        "hits": hits,
        "counts": redacted.counts,
        "text": redacted.text,
    }));
    Ok(0)
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
            Some(path) => Some(AuditLogBuilder::new().open(path, key)?),
            None => None,
        };
        let digester = match key {
            Some(k) => Some(Digester::new(k, policy)?),
            None => None,
        };
        let request_id = args.request_id.clone().unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{:x}-{:x}", t, std::process::id())
        });
        Ok(Auditor {
            log,
            digester,
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
        AuditEvent {
            kind: self.kind.to_string(),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            sql: match (sql, &self.digester) {
                (Some(s), Some(d)) => Some(d.sql(s, resolver)),
                _ => None,
            },
            question_digest: match (text, &self.digester) {
                (Some(t), Some(d)) => Some(d.digest(t)),
                _ => None,
            },
            ..AuditEvent::default()
        }
    }

    fn failed(&self, ev: &mut AuditEvent, e: &Error) {
        ev.decision = Some(if e.refusal().is_some() {
            Decision::Refused
        } else {
            Decision::Error
        });
        // Names in a refusal come from the model's SQL: logged through the
        // digester (policy names as they are, others digested), or not at
        // all without a key.
        let d = self.digester.as_ref();
        let column = e.refusal().and_then(|r| r.column_name());
        let construct = e.refusal().and_then(|r| r.construct_name());
        ev.reason = Some(Reasons {
            code: e.code().to_string(),
            // A `table.column` name is logged part by part.
            column: column.zip(d).map(|(c, d)| {
                c.split('.')
                    .map(|p| d.name(p))
                    .collect::<Vec<_>>()
                    .join(".")
            }),
            construct: construct.zip(d).map(|(c, d)| d.construct(c)),
        });
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
            unkeyed,
            head,
        } => {
            let key = match (&key_file, unkeyed) {
                (_, true) => None,
                (Some(f), false) => Some(MasterKey::from_file(f)?),
                (None, false) => match std::env::var(sqlveil::tokens::KEY_ENV) {
                    Ok(_) => Some(MasterKey::from_env()?),
                    Err(_) => None,
                },
            };
            let v = verify_head(&files, key.as_ref(), head.as_deref())?;
            let broken = v.broken.as_ref().map(|(f, line, what)| {
                json!({"file": f.display().to_string(), "line": line, "what": what})
            });
            print(&json!({
                "intact": v.is_intact(),
                "lines": v.lines,
                "head": v.head,
                "keyed": key.is_some(),
                "broken": broken,
            }));
            if let Some((f, line, what)) = &v.broken {
                eprintln!(
                    "sqlveil: the audit chain breaks at {}:{line} ({what:?})",
                    f.display()
                );
                return Ok(1);
            }
            Ok(0)
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
