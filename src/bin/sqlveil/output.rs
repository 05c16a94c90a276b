//! Printing results: JSON on stdout, rows and cells as JSON.

use polars::prelude::{AnyValue, DataFrame};
use serde_json::{json, Value};
use sqlveil::rules::Action;
use std::io::Write;

/// Prints JSON on stdout. A closed pipe is success; any other write failure
/// ends the process with exit 2.
pub(crate) fn print(v: &Value) {
    print_serialize(v);
}

/// Prints a serialisable value as pretty JSON on stdout, through a buffer.
/// A closed pipe is success; any other write failure ends the process with
/// exit 2.
pub(crate) fn print_serialize<T: serde::Serialize>(v: &T) {
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

pub(crate) fn cell(v: AnyValue<'_>) -> Value {
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

pub(crate) fn rows_json(df: &DataFrame) -> Vec<Value> {
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

pub(crate) fn action_filter_json(action: &Action, filter: sqlveil::rules::Filter) -> Value {
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
pub(crate) fn column_json(c: &sqlveil::guard::OutputColumn) -> Value {
    let mut v = action_filter_json(&c.action, c.filter);
    v["name"] = json!(c.name);
    v
}

pub(crate) fn counts(
    m: &std::collections::BTreeMap<String, usize>,
) -> std::collections::BTreeMap<String, u64> {
    m.iter().map(|(k, v)| (k.clone(), *v as u64)).collect()
}
