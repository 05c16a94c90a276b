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

/// The year and month of a text date (`2024-03-05`, `2024-03-05 10:20:30`,
/// `2024-03-05T10:20:30Z`): the date must be valid and anything after it
/// must start a time.
fn text_year_month(v: &str) -> Option<(i32, i8)> {
    let day = v.get(..10)?;
    let rest = &v[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    Some((d.year(), i8::try_from(d.month()).ok()?))
}

fn year_month(c: &Column, name: &str, what: &str) -> Result<(Int32Chunked, Int8Chunked), Error> {
    let s = c.as_materialized_series();
    match s.dtype() {
        DataType::Date => {
            let d = s.date().map_err(|_| err(name, what))?;
            Ok((d.year(), d.month()))
        }
        DataType::Datetime(..) => {
            let d = s.datetime().map_err(|_| err(name, what))?;
            Ok((d.year(), d.month()))
        }
        DataType::String => {
            let ca = s.str().map_err(|_| err(name, what))?;
            let mut years = Vec::with_capacity(ca.len());
            let mut months = Vec::with_capacity(ca.len());
            for v in ca.iter() {
                match v {
                    None => {
                        years.push(None);
                        months.push(None);
                    }
                    Some(v) => {
                        // A value that is not a date fails the whole column:
                        // showing it raw, or dropping it silently, would not
                        // be a generalization.
                        let (y, m) = text_year_month(v.trim()).ok_or_else(|| err(name, what))?;
                        years.push(Some(y));
                        months.push(Some(m));
                    }
                }
            }
            Ok((
                Int32Chunked::from_iter(years),
                Int8Chunked::from_iter(months),
            ))
        }
        _ => Err(err(name, what)),
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
            // `+ 0.0` turns -0.0 into 0.0: a signed zero would tell the sign.
            let out: Float64Chunked = f.apply_values(|x| (x / w).floor() * w + 0.0);
            out.with_name(name).into_column()
        }
        Generalization::Round(w) => {
            let f = numbers(c, shown, &what)?;
            let out: Float64Chunked = f.apply_values(|x| (x / w).round() * w + 0.0);
            out.with_name(name).into_column()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_dates() {
        assert_eq!(text_year_month("2024-03-05"), Some((2024, 3)));
        assert_eq!(text_year_month("2024-03-05 10:20:30"), Some((2024, 3)));
        assert_eq!(text_year_month("2024-03-05T10:20:30Z"), Some((2024, 3)));
        assert_eq!(text_year_month("2024-13-05"), None);
        assert_eq!(text_year_month("2024-03-05x"), None);
        assert_eq!(text_year_month("Harriet"), None);
    }

    #[test]
    fn no_signed_zero() {
        let c = Series::new("x".into(), [-0.4f64, -0.0, 0.3, -2.6]).into_column();
        for (g, want) in [
            (Generalization::Round(1.0), [0.0, 0.0, 0.0, -3.0]),
            (Generalization::Round(10.0), [0.0, 0.0, 0.0, 0.0]),
            (Generalization::Bucket(1.0), [-1.0, 0.0, 0.0, -3.0]),
        ] {
            let out = generalize(&c, g).unwrap();
            let v: Vec<f64> = out.f64().unwrap().into_no_null_iter().collect();
            assert_eq!(v, want);
            assert!(
                v.iter().all(|x| *x != 0.0 || x.is_sign_positive()),
                "{g}: {v:?}"
            );
            assert!(!format!("{out:?}").contains("-0"), "{g}");
        }
    }

    #[test]
    fn datetimes_and_bad_text() {
        let s = Series::new("t".into(), [Some(0i64), None, Some(86_400_000 * 40)])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
            .into_column();
        let y = generalize(&s, Generalization::Month).unwrap();
        let v: Vec<Option<&str>> = y.str().unwrap().iter().collect();
        assert_eq!(v, [Some("1970-01"), None, Some("1970-02")]);
        let bad = Series::new("t".into(), ["2024-01-01", "secret"]).into_column();
        let e = generalize(&bad, Generalization::Year).unwrap_err();
        assert!(!e.to_string().contains("secret"));
    }
}
