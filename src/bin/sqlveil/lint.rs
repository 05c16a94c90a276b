//! `sqlveil rules lint`: checks a rule file against the data.

use crate::args::Source;
use crate::output::print;
use crate::setup::{data, open, Data};
use serde_json::{json, Value};
use sqlveil::{Engine, Error, PolarsEngine, Policy};
use std::sync::Arc;

pub(crate) fn lint(source: &Source) -> Result<u8, Error> {
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
