//! `sqlveil audit`: verifies and summarises audit logs.

use crate::args::{AuditCommand, KeyFile};
use crate::output::print;
use crate::setup::{audit_key, optional_master_key};
use serde_json::{json, Value};
use sqlveil::audit::{
    summarize, verify_with, AuditKey, Break, Summary, SummaryFilter, Verification, VerifyOptions,
};
use sqlveil::Error;
use std::io::Write;
use std::path::PathBuf;

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
                let master = optional_master_key(&KeyFile { key_file })?;
                audit_key(audit_key_file.as_deref(), master.as_ref())?
            };
            let mut options = VerifyOptions::new();
            if let Some(k) = &key {
                options = options.key(k.clone());
            }
            if let Some(h) = start {
                options = options.start(h);
            }
            if let Some(h) = head {
                options = options.head(h);
            }
            verify_command(&files, &options, key.as_ref(), unkeyed)
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
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(summary_table(&s).as_bytes());
            }
            Ok(0)
        }
    }
}

/// Verifies a log: the verification as JSON on stdout, what a failure
/// means on stderr; the exit code.
fn verify_command(
    files: &[PathBuf],
    options: &VerifyOptions,
    key: Option<&AuditKey>,
    unkeyed: bool,
) -> Result<u8, Error> {
    let v = verify_with(files, options)?;
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
    let (code, message) = explain(&v, key, refused);
    if let Some(m) = message {
        eprintln!("sqlveil: {m}");
    }
    Ok(code)
}

/// The exit code of a verification and what to tell the user: 0 when the
/// chain holds and was checked as asked, 2 when a key (or `--unkeyed`) is
/// needed, 1 when a line was written under another key or the chain breaks.
fn explain(v: &Verification, key: Option<&AuditKey>, refused: bool) -> (u8, Option<String>) {
    let log_key = v.key.as_deref().unwrap_or("?");
    match &v.broken {
        Some((_, _, Break::KeyNeeded)) => (
            2,
            Some(format!(
                "this log is keyed (key {log_key}); give the key: --audit-key-file FILE or SQLVEIL_AUDIT_KEY, or the master key with --key-file FILE or SQLVEIL_KEY"
            )),
        ),
        Some((f, line, Break::OtherKey)) => (
            1,
            Some(format!(
                "{}:{line} was written under a different key (key {log_key}, the key given is {}): give the key the log was written with; if it is the right one, the line was forged",
                f.display(),
                key.map_or("none", |k| k.fingerprint())
            )),
        ),
        // No line before carries a key either: the log may never have had
        // one, which is not a break of its chain.
        Some((f, line, Break::Unkeyed)) if v.key.is_none() => (
            1,
            Some(format!(
                "{}:{line} carries no key, and no line before it does, although a key is given (key {}): the log was written without a key (check it as such with --unkeyed), or forged without the key",
                f.display(),
                key.map_or("none", |k| k.fingerprint())
            )),
        ),
        Some((f, line, what)) => (
            1,
            Some(format!(
                "the audit chain breaks at {}:{line}: {}",
                f.display(),
                what.describe()
            )),
        ),
        None if refused => (
            2,
            Some("no key is given and this log is not keyed: a plain SHA-256 chain can be rebuilt by anyone who can write the file; pass --unkeyed to check it as such".to_string()),
        ),
        None => (0, None),
    }
}

/// A summary as a table: the event count, then one block per count.
fn summary_table(s: &Summary) -> String {
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlveil::audit::{AuditEvent, AuditLogBuilder, AuditSink};

    type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    /// A log of two events in `dir`, chained under `key` if any.
    fn log(dir: &std::path::Path, key: Option<&AuditKey>) -> Result<PathBuf> {
        let path = dir.join("audit.jsonl");
        let log = AuditLogBuilder::new().open_with(&path, key)?;
        for _ in 0..2 {
            log.record(AuditEvent {
                kind: "query".into(),
                ..Default::default()
            })?;
        }
        Ok(path)
    }

    /// A log written without a key, verified with one (SQLVEIL_KEY set for
    /// other commands): it fails, and the message says the log has no key
    /// rather than that its chain breaks.
    #[test]
    fn an_unkeyed_log_verified_with_a_key_says_it_has_none() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let files = [log(dir.path(), None)?];
        let key = AuditKey::from_bytes(&[9; 32]);
        let v = verify_with(&files, &VerifyOptions::new().key(key.clone()))?;
        let (code, message) = explain(&v, Some(&key), false);
        let message = message.unwrap_or_default();
        assert_eq!(code, 1);
        assert!(
            message.contains("carries no key, and no line before it does"),
            "{message}"
        );
        assert!(message.contains("--unkeyed"), "{message}");
        assert!(!message.contains("breaks"), "{message}");
        // Checked as what it is, it holds.
        let v = verify_with(&files, &VerifyOptions::new())?;
        assert_eq!(explain(&v, None, false), (0, None));
        Ok(())
    }

    /// An unkeyed line after keyed ones is a break of the chain.
    #[test]
    fn an_unkeyed_line_in_a_keyed_log_is_a_break() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let key = AuditKey::from_bytes(&[9; 32]);
        let keyed = log(dir.path(), Some(&key))?;
        let plain_dir = tempfile::tempdir()?;
        let plain = std::fs::read_to_string(log(plain_dir.path(), None)?)?;
        let mut text = std::fs::read_to_string(&keyed)?;
        text.push_str(plain.lines().last().unwrap_or_default());
        text.push('\n');
        std::fs::write(&keyed, text)?;
        let v = verify_with(&[keyed], &VerifyOptions::new().key(key.clone()))?;
        assert_eq!(
            v.broken.as_ref().map(|b| (b.1, b.2)),
            Some((3, Break::Unkeyed))
        );
        let (code, message) = explain(&v, Some(&key), false);
        assert_eq!(code, 1);
        assert!(message
            .unwrap_or_default()
            .contains("the audit chain breaks at"));
        Ok(())
    }
}
