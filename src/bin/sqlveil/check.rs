//! `sqlveil check`: guards one query and prints the verdict.

use crate::args::{AuditArgs, KeyFile, Source};
use crate::auditor::Auditor;
use crate::output::{column_json, print};
use crate::setup::{guard_for, open, optional_master_key};
use serde_json::{json, Value};
use sqlveil::audit::{Decision, Redaction};
use sqlveil::Error;

/// `sqlveil check`: guards one query and prints the verdict, without running it.
pub(crate) fn check(
    source: &Source,
    audit: &AuditArgs,
    key: &KeyFile,
    sql: &str,
) -> Result<u8, Error> {
    let (policy, engine) = open(source)?;
    let key = optional_master_key(key)?;
    let auditor = Auditor::new(audit, "check", key.as_ref(), &policy)?;
    let guard = guard_for(&policy, engine.as_ref())?;
    let result = guard.check(sql);
    let mut ev = auditor.event(Some(sql), None, None);
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
