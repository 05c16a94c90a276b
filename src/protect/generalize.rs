//! Generalizations: coarser versions of dates, texts and numbers, computed
//! over whole columns.

use polars::prelude::*;

use crate::error::Error;
use crate::rules::Generalization;

fn err(column: &str, what: &str) -> Error {
    Error::usage(format!(
        "column `{column}` cannot be generalized to {what}: its values are not of a fitting type"
    ))
}

/// A column as dates or datetimes: dates and datetimes as they are; text
/// parsed as dates, failing when any value does not parse.
fn temporal(c: &Column, name: &str, what: &str) -> Result<Column, Error> {
    match c.dtype() {
        DataType::Date | DataType::Datetime(..) => Ok(c.clone()),
        DataType::String => {
            let d = c.cast(&DataType::Date).map_err(|_| err(name, what))?;
            if d.null_count() != c.null_count() {
                return Err(err(name, what));
            }
            Ok(d)
        }
        _ => Err(err(name, what)),
    }
}

fn year_month(c: &Column, name: &str, what: &str) -> Result<(Int32Chunked, Int8Chunked), Error> {
    let c = temporal(c, name, what)?;
    let s = c.as_materialized_series();
    match s.dtype() {
        DataType::Date => {
            let d = s.date().map_err(|_| err(name, what))?;
            Ok((d.year(), d.month()))
        }
        _ => {
            let d = s.datetime().map_err(|_| err(name, what))?;
            Ok((d.year(), d.month()))
        }
    }
}

fn numbers(c: &Column, name: &str, what: &str) -> Result<Float64Chunked, Error> {
    if !c.dtype().is_primitive_numeric() {
        return Err(err(name, what));
    }
    let f = c.cast(&DataType::Float64).map_err(|_| err(name, what))?;
    f.as_materialized_series()
        .f64()
        .cloned()
        .map_err(|_| err(name, what))
}

/// Generalizes a column.
pub(crate) fn generalize(c: &Column, g: Generalization) -> Result<Column, Error> {
    let name = c.name().clone();
    let shown = name.as_str();
    let what = g.to_string();
    Ok(match g {
        Generalization::Year => {
            let (y, _) = year_month(c, shown, &what)?;
            y.with_name(name).into_column()
        }
        Generalization::Month => {
            let (y, m) = year_month(c, shown, &what)?;
            let out: StringChunked = y
                .iter()
                .zip(m.iter())
                .map(|(y, m)| match (y, m) {
                    (Some(y), Some(m)) => Some(format!("{y:04}-{m:02}")),
                    _ => None,
                })
                .collect();
            out.with_name(name).into_column()
        }
        Generalization::Prefix(n) => {
            let t = c.cast(&DataType::String).map_err(|_| err(shown, &what))?;
            let s = t.as_materialized_series();
            let ca = s.str().map_err(|_| err(shown, &what))?;
            let n = n as usize;
            let out: StringChunked = ca
                .iter()
                .map(|v| {
                    v.map(|v| match v.char_indices().nth(n) {
                        Some((i, _)) => &v[..i],
                        None => v,
                    })
                })
                .collect();
            out.with_name(name).into_column()
        }
        Generalization::Bucket(w) => {
            let f = numbers(c, shown, &what)?;
            let out: Float64Chunked = f.apply_values(|x| (x / w).floor() * w);
            out.with_name(name).into_column()
        }
        Generalization::Round(w) => {
            let f = numbers(c, shown, &what)?;
            let out: Float64Chunked = f.apply_values(|x| (x / w).round() * w);
            out.with_name(name).into_column()
        }
    })
}
