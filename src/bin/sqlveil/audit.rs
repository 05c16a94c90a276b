//! `sqlveil audit`: verifies and summarises audit logs.

use crate::args::{AuditCommand, KeyFile};
use crate::output::print;
use crate::setup::{audit_key, optional_master_key, warn_key_file};
use serde_json::{json, Value};
use sqlveil::audit::{summarize, verify_with, Break, SummaryFilter, VerifyOptions};
use sqlveil::{Error, MasterKey};
use std::io::Write;

pub(crate) fn audit_command(command: AuditCommand) -> Result<u8, Error> {
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
