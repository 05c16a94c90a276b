//! Literals: read from the model's SQL into a canonical form, or refused.
//!
//! Only plain forms pass: numbers, single-quoted strings, booleans, NULL,
//! `DATE`/`TIMESTAMP` strings that parse as such, and intervals of a whole
//! number of one unit. Placeholders, national, escape, dollar-quoted, byte,
//! hex and raw strings are refused, so every literal an engine or the audit
//! log sees is one the guard wrote.

use sqlparser::ast::{DataType, DateTimeField, Expr as SqlExpr, Value, ValueWithSpan};

use super::unsupported;
use crate::guard::plan::{IntervalUnit, Lit, Ty};
use crate::guard::{Reason, Refusal};

/// A literal value as the guard writes it, with its type.
pub(super) fn value(v: &ValueWithSpan) -> Result<(Lit, Ty), Refusal> {
    match &v.value {
        Value::Null => Ok((Lit::Null, Ty::Null)),
        Value::Boolean(b) => Ok((Lit::Bool(*b), Ty::Bool)),
        Value::Number(n, long) => {
            if *long {
                return Err(unsupported("a long number suffix"));
            }
            number(n)
        }
        Value::SingleQuotedString(s) => Ok((Lit::Str(s.clone()), Ty::Text)),
        Value::Placeholder(_) => Err(Refusal::new(
            Reason::UnsupportedConstruct,
            "a query may not hold placeholders ($1, ?, :name); write the value as a literal",
        )
        .construct("placeholder")),
        other => {
            let kind = crate::guard::variant_name(other);
            Err(Refusal::new(
                Reason::UnsupportedConstruct,
                format!(
                    "a {kind} literal is not allowed; write strings in plain single quotes ('…')"
                ),
            )
            .construct(kind))
        }
    }
}

/// A number as written: digits, at most one point, an optional exponent.
pub(super) fn number(n: &str) -> Result<(Lit, Ty), Refusal> {
    let bad = || {
        Refusal::new(
            Reason::UnsupportedConstruct,
            "a number literal must be digits with at most one decimal point and an exponent",
        )
        .construct("number")
    };
    let (mant, exp) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], Some(&n[i + 1..])),
        None => (n, None),
    };
    let mut points = 0;
    let mut digits = 0;
    for ch in mant.chars() {
        match ch {
            '0'..='9' => digits += 1,
            '.' => points += 1,
            _ => return Err(bad()),
        }
    }
    if digits == 0 || points > 1 || mant.len() > 40 {
        return Err(bad());
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || e.len() > 3 || !e.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    let ty = if points == 0 && exp.is_none() {
        Ty::Int
    } else {
        Ty::Float
    };
    Ok((Lit::Number(n.to_string()), ty))
}

/// `DATE '…'`, `TIMESTAMP '…'`: the value must parse, and is written back
/// in ISO form.
pub(super) fn typed(data_type: &DataType, value: &ValueWithSpan) -> Result<(Lit, Ty), Refusal> {
    let Value::SingleQuotedString(s) = &value.value else {
        return Err(unsupported("a typed literal that is not a plain string"));
    };
    let bad = |what: &str| {
        Refusal::new(
            Reason::UnsupportedConstruct,
            format!("a {what} literal must be written as in {what} '2024-01-31'"),
        )
        .construct(what.to_string())
    };
    match data_type {
        DataType::Date => {
            let d = parse_date(s).ok_or_else(|| bad("DATE"))?;
            Ok((Lit::Date(d.format("%Y-%m-%d").to_string()), Ty::Date))
        }
        DataType::Timestamp(_, tz) if *tz == sqlparser::ast::TimezoneInfo::None => {
            let t = parse_timestamp(s).ok_or_else(|| bad("TIMESTAMP"))?;
            Ok((
                Lit::Timestamp(t.format("%Y-%m-%d %H:%M:%S").to_string()),
                Ty::Timestamp,
            ))
        }
        other => Err(unsupported(format!("a {other} literal"))),
    }
}

pub(super) fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn parse_timestamp(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// `INTERVAL '3 days'`, `INTERVAL '3' DAY`, `INTERVAL 3 DAY`: one whole
/// number of one unit.
pub(super) fn interval(iv: &sqlparser::ast::Interval) -> Result<(Lit, Ty), Refusal> {
    let bad = || {
        Refusal::new(
            Reason::UnsupportedConstruct,
            "an interval must be one whole number of one unit, as in INTERVAL '3 days'",
        )
        .construct("INTERVAL")
    };
    if iv.last_field.is_some() || iv.fractional_seconds_precision.is_some() {
        return Err(bad());
    }
    let text = match &*iv.value {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            Value::Number(n, false) => n.clone(),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let mut words = text.split_whitespace();
    let n: i64 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    let unit_word = match (&iv.leading_field, words.next()) {
        (Some(f), None) => field_word(f).ok_or_else(bad)?.to_string(),
        (None, Some(w)) => w.to_ascii_lowercase(),
        _ => return Err(bad()),
    };
    if words.next().is_some() || n.unsigned_abs() > 100_000 {
        return Err(bad());
    }
    let unit = match unit_word.trim_end_matches('s') {
        "second" | "sec" => IntervalUnit::Second,
        "minute" | "min" => IntervalUnit::Minute,
        "hour" => IntervalUnit::Hour,
        "day" => IntervalUnit::Day,
        "week" => IntervalUnit::Week,
        "month" | "mon" => IntervalUnit::Month,
        "year" => IntervalUnit::Year,
        _ => return Err(bad()),
    };
    Ok((Lit::Interval(n, unit), Ty::Interval))
}

fn field_word(f: &DateTimeField) -> Option<&'static str> {
    Some(match f {
        DateTimeField::Second | DateTimeField::Seconds => "second",
        DateTimeField::Minute | DateTimeField::Minutes => "minute",
        DateTimeField::Hour | DateTimeField::Hours => "hour",
        DateTimeField::Day | DateTimeField::Days => "day",
        DateTimeField::Week(None) | DateTimeField::Weeks => "week",
        DateTimeField::Month | DateTimeField::Months => "month",
        DateTimeField::Year | DateTimeField::Years => "year",
        _ => return None,
    })
}

/// A PostgreSQL `to_date` format as a Java (Spark) date pattern, for the
/// patterns both read the same way; separators are limited to those a Java
/// pattern reads as themselves.
pub(crate) fn java_format(pg: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = pg;
    while !rest.is_empty() {
        let (pat, java) = [
            ("YYYY", "yyyy"),
            ("MM", "MM"),
            ("DD", "dd"),
            ("HH24", "HH"),
            ("MI", "mm"),
            ("SS", "ss"),
        ]
        .into_iter()
        .find(|(p, _)| rest.starts_with(p))
        .unwrap_or(("", ""));
        if pat.is_empty() {
            let ch = rest.chars().next()?;
            if !matches!(ch, ' ' | '-' | '/' | '.' | ':' | ',' | '_') {
                return None;
            }
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
        } else {
            out.push_str(java);
            rest = &rest[pat.len()..];
        }
    }
    Some(out)
}

/// A PostgreSQL `to_date` format as a chrono/polars format, for the
/// patterns both read the same way.
pub(crate) fn chrono_format(pg: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = pg;
    while !rest.is_empty() {
        let (pat, chrono) = [
            ("YYYY", "%Y"),
            ("MM", "%m"),
            ("DD", "%d"),
            ("HH24", "%H"),
            ("MI", "%M"),
            ("SS", "%S"),
        ]
        .into_iter()
        .find(|(p, _)| rest.starts_with(p))
        .unwrap_or(("", ""));
        if pat.is_empty() {
            let ch = rest.chars().next()?;
            if ch.is_ascii_alphanumeric() || ch == '%' {
                return None;
            }
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
        } else {
            out.push_str(chrono);
            rest = &rest[pat.len()..];
        }
    }
    Some(out)
}
