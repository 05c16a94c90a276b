//! Result rows as JSON, for a backend that returns them to a client.

use polars::prelude::{AnyValue, DataFrame};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A serialisable view of result rows: an array with one object per row,
/// keyed by column name. Numbers and booleans stay numbers and booleans,
/// NULL is `null`, text is a string, and dates, times and other types are
/// written as polars displays them (`2024-03-01`). A float that JSON cannot
/// hold (NaN, infinity) is `null`.
///
/// Protected rows hold tokens, masks and generalised values only: the view
/// writes what is there and adds nothing.
///
/// # Example
/// ```
/// use polars::prelude::*;
/// use sqlveil::protect::JsonRows;
///
/// let rows = df!("city" => ["Oslo", "Bergen"], "n" => [12i64, 7])?;
/// let json = serde_json::to_string(&JsonRows::new(&rows))?;
/// assert_eq!(json, r#"[{"city":"Oslo","n":12},{"city":"Bergen","n":7}]"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct JsonRows<'a> {
    frame: &'a DataFrame,
}

impl std::fmt::Debug for JsonRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The rows are what a caller chose to show; Debug shows their shape.
        f.debug_struct("JsonRows")
            .field("rows", &self.frame.height())
            .field("columns", &self.frame.width())
            .finish()
    }
}

impl<'a> JsonRows<'a> {
    /// A view of `frame`'s rows.
    pub fn new(frame: &'a DataFrame) -> JsonRows<'a> {
        JsonRows { frame }
    }
}

impl Serialize for JsonRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let columns = self.frame.columns();
        let mut seq = serializer.serialize_seq(Some(self.frame.height()))?;
        for i in 0..self.frame.height() {
            seq.serialize_element(&Row { columns, index: i })?;
        }
        seq.end()
    }
}

struct Row<'a> {
    columns: &'a [polars::prelude::Column],
    index: usize,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for c in self.columns {
            let v = c.get(self.index).map_err(|e| {
                S::Error::custom(format!("column `{}` cannot be read: {e}", c.name()))
            })?;
            map.serialize_entry(c.name().as_str(), &Cell(v))?;
        }
        map.end()
    }
}

struct Cell<'a>(AnyValue<'a>);

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            AnyValue::Null => serializer.serialize_none(),
            AnyValue::Boolean(b) => serializer.serialize_bool(*b),
            AnyValue::String(s) => serializer.serialize_str(s),
            AnyValue::StringOwned(s) => serializer.serialize_str(s),
            AnyValue::Int8(n) => serializer.serialize_i8(*n),
            AnyValue::Int16(n) => serializer.serialize_i16(*n),
            AnyValue::Int32(n) => serializer.serialize_i32(*n),
            AnyValue::Int64(n) => serializer.serialize_i64(*n),
            AnyValue::UInt8(n) => serializer.serialize_u8(*n),
            AnyValue::UInt16(n) => serializer.serialize_u16(*n),
            AnyValue::UInt32(n) => serializer.serialize_u32(*n),
            AnyValue::UInt64(n) => serializer.serialize_u64(*n),
            AnyValue::Float32(x) if x.is_finite() => serializer.serialize_f32(*x),
            AnyValue::Float64(x) if x.is_finite() => serializer.serialize_f64(*x),
            AnyValue::Float32(_) | AnyValue::Float64(_) => serializer.serialize_none(),
            other => serializer.collect_str(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::JsonRows;

    #[test]
    fn cells_keep_their_json_types() {
        let mut rows = df!(
            "name" => [Some("<person_1a2b>"), None],
            "n" => [Some(3i64), None],
            "ok" => [true, false],
            "x" => [1.5f64, f64::NAN],
        )
        .unwrap();
        let day = Column::new("day".into(), [19_783i32, 0])
            .cast(&DataType::Date)
            .unwrap();
        rows.with_column(day).unwrap();
        let json = serde_json::to_value(JsonRows::new(&rows)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"name": "<person_1a2b>", "n": 3, "ok": true, "x": 1.5, "day": "2024-03-01"},
                {"name": null, "n": null, "ok": false, "x": null, "day": "1970-01-01"},
            ])
        );
        assert_eq!(
            format!("{:?}", JsonRows::new(&rows)),
            "JsonRows { rows: 2, columns: 5 }"
        );
    }
}
