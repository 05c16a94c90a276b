//! Spark's Arrow result batches as polars columns.
//!
//! Spark Connect streams a result as Arrow IPC messages; each is read with
//! arrow-rs and converted column by column into the same polars types the
//! other engines give (integers as `i64`, decimals and floats as `f64`,
//! text, booleans, dates, timestamps as UTC microseconds), from the arrays'
//! values, never through text. A type sqlveil does not show is an engine
//! error that names the column.

use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_schema::{DataType as ArrowType, TimeUnit as ArrowUnit};
use polars::prelude::{Column, DataFrame, DataType, IntoColumn, NamedFrom, Series, TimeUnit};

use crate::error::Error;

/// The record batches of one Arrow IPC stream (one `ArrowBatch` message).
pub(super) fn decode(ipc: &[u8]) -> Result<Vec<RecordBatch>, Error> {
    let reader = StreamReader::try_new(Cursor::new(ipc), None)
        .map_err(|e| Error::engine("schema", format!("an Arrow batch cannot be read: {e}")))?;
    reader
        .map(|b| {
            b.map_err(|e| Error::engine("schema", format!("an Arrow batch cannot be read: {e}")))
        })
        .collect()
}

/// A record batch as a polars frame with the batch's column names.
pub(super) fn to_frame(batch: &RecordBatch) -> Result<DataFrame, Error> {
    let schema = batch.schema();
    let mut columns: Vec<Column> = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        columns.push(convert(field.name(), array.as_ref())?.into_column());
    }
    DataFrame::new_infer_height(columns).map_err(|e| Error::engine("schema", e.to_string()))
}

/// The values of an array of a primitive type, mapped, with NULLs.
fn values<T: ArrowPrimitiveType, U>(
    array: &dyn Array,
    f: impl Fn(T::Native) -> U,
) -> Vec<Option<U>> {
    let a = array.as_primitive::<T>();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| f(a.value(i))))
        .collect()
}

fn unsupported(name: &str, ty: &ArrowType) -> Error {
    Error::engine(
        "unsupported_type",
        format!(
            "column `{name}` has type `{ty}`, which the Spark engine does not convert; cast it to text or a number in the query"
        ),
    )
}

/// One result column as a polars series.
fn convert(name: &str, array: &dyn Array) -> Result<Series, Error> {
    let n = name.into();
    Ok(match array.data_type() {
        ArrowType::Null => Series::full_null(n, array.len(), &DataType::Null),
        ArrowType::Boolean => {
            let a = array.as_boolean();
            let v: Vec<Option<bool>> = (0..a.len())
                .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                .collect();
            Series::new(n, v)
        }
        ArrowType::Int8 => Series::new(n, values::<Int8Type, i64>(array, i64::from)),
        ArrowType::Int16 => Series::new(n, values::<Int16Type, i64>(array, i64::from)),
        ArrowType::Int32 => Series::new(n, values::<Int32Type, i64>(array, i64::from)),
        ArrowType::Int64 => Series::new(n, values::<Int64Type, i64>(array, |v| v)),
        ArrowType::Float32 => Series::new(n, values::<Float32Type, f64>(array, f64::from)),
        ArrowType::Float64 => Series::new(n, values::<Float64Type, f64>(array, |v| v)),
        ArrowType::Decimal128(_, scale) => {
            let scale = i32::from(*scale);
            Series::new(
                n,
                values::<Decimal128Type, f64>(array, |v| decimal_to_f64(v, scale)),
            )
        }
        ArrowType::Utf8 => {
            let a = array.as_string::<i32>();
            let v: Vec<Option<&str>> = a.iter().collect();
            Series::new(n, v)
        }
        ArrowType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            let v: Vec<Option<&str>> = a.iter().collect();
            Series::new(n, v)
        }
        ArrowType::Utf8View => {
            let a = array.as_string_view();
            let v: Vec<Option<&str>> = a.iter().collect();
            Series::new(n, v)
        }
        ArrowType::Date32 | ArrowType::Date64 | ArrowType::Timestamp(..) => temporal(name, array)?,
        other => return Err(unsupported(name, other)),
    })
}

/// A date column as polars dates; a timestamp column as UTC microseconds
/// without a zone.
fn temporal(name: &str, array: &dyn Array) -> Result<Series, Error> {
    let n = name.into();
    let (series, to) = match array.data_type() {
        ArrowType::Date32 => (
            Series::new(n, values::<Date32Type, i32>(array, |d| d)),
            DataType::Date,
        ),
        ArrowType::Date64 => (
            Series::new(
                n,
                values::<Date64Type, i32>(array, |ms| {
                    i32::try_from(ms.div_euclid(86_400_000)).unwrap_or(i32::MAX)
                }),
            ),
            DataType::Date,
        ),
        // Spark sends timestamps as UTC instants (with the session's time
        // zone, which the engine sets to UTC, as their label); both kinds
        // become UTC microseconds without a zone, as on PostgreSQL.
        ArrowType::Timestamp(unit, _) => {
            let us = match unit {
                ArrowUnit::Second => {
                    values::<TimestampSecondType, i64>(array, |s| s.saturating_mul(1_000_000))
                }
                ArrowUnit::Millisecond => {
                    values::<TimestampMillisecondType, i64>(array, |ms| ms.saturating_mul(1_000))
                }
                ArrowUnit::Microsecond => values::<TimestampMicrosecondType, i64>(array, |us| us),
                ArrowUnit::Nanosecond => {
                    values::<TimestampNanosecondType, i64>(array, |ns| ns.div_euclid(1_000))
                }
            };
            (
                Series::new(n, us),
                DataType::Datetime(TimeUnit::Microseconds, None),
            )
        }
        other => return Err(unsupported(name, other)),
    };
    series
        .cast(&to)
        .map_err(|e| Error::engine("schema", e.to_string()))
}

/// A decimal's unscaled value and scale as the nearest `f64` (one correctly
/// rounded parse of its decimal digits).
fn decimal_to_f64(unscaled: i128, scale: i32) -> f64 {
    format!("{unscaled}e{}", -scale).parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow_ipc::writer::StreamWriter;
    use arrow_schema::{Field, Schema};

    use super::*;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    #[test]
    fn every_type_spark_sends_converts_by_value() {
        let b = batch(vec![
            (
                "i",
                Arc::new(Int32Array::from(vec![Some(1), None, Some(-3)])),
            ),
            (
                "d",
                Arc::new(
                    Decimal128Array::from(vec![Some(7999), Some(-12345), None])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a'b"), None, Some("ü")])),
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            ),
            (
                "day",
                Arc::new(Date32Array::from(vec![Some(19_752), None, Some(0)])),
            ),
            (
                "ts",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(1_706_702_400_000_000),
                        None,
                        Some(-1),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
        ]);
        // Through IPC, as Spark sends it.
        let mut ipc = Vec::new();
        {
            let mut w = StreamWriter::try_new(&mut ipc, &b.schema()).unwrap();
            w.write(&b).unwrap();
            w.finish().unwrap();
        }
        let batches = decode(&ipc).unwrap();
        let df = to_frame(&batches[0]).unwrap();
        let types: Vec<String> = df.dtypes().iter().map(|d| d.to_string()).collect();
        assert_eq!(types, ["i64", "f64", "str", "bool", "date", "datetime[μs]"]);
        let text = format!("{df}");
        for want in [
            "79.99",
            "-123.45",
            "a'b",
            "2024-01-31",
            "2024-01-31 12:00:00",
            "1969-12-31 23:59:59.999999",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        assert_eq!(df.column("i").unwrap().null_count(), 1);
    }

    #[test]
    fn another_type_is_an_error_naming_the_column() {
        let b = batch(vec![(
            "bytes",
            Arc::new(arrow_array::BinaryArray::from(vec![Some(&b"x"[..])])) as ArrayRef,
        )]);
        let e = to_frame(&b).unwrap_err();
        assert!(matches!(
            e.kind(),
            crate::ErrorKind::Engine {
                category: "unsupported_type"
            }
        ));
        assert!(e.engine_detail_less_safe().unwrap().contains("`bytes`"));
    }

    #[test]
    fn decimals_round_once() {
        assert_eq!(decimal_to_f64(1, 1), 0.1);
        assert_eq!(decimal_to_f64(-5, 0), -5.0);
        assert_eq!(decimal_to_f64(12_345, -2), 1_234_500.0);
        assert_eq!(decimal_to_f64(i128::MAX, 38), 1.7014118346046923);
    }
}
