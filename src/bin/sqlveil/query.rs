//! `sqlveil query`: guards and runs a query, prints the protected rows.

use crate::args::{AuditArgs, Keys, Source};
use crate::auditor::Auditor;
use crate::output::{column_json, counts, print, rows_json};
use crate::setup::{data_dir, guard_for, known_detector, open, tokens};
use serde_json::{json, Value};
use sqlveil::audit::{Decision, Redaction};
use sqlveil::protect::Protector;
use sqlveil::Error;

pub(crate) fn query(
    source: &Source,
    audit: &AuditArgs,
    keys: &Keys,
    sql: &str,
) -> Result<u8, Error> {
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
