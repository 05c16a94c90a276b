//! Execution match: two results compared as Spider's and sql-eval's
//! execution accuracy compares them.

use std::cmp::Ordering;

use polars::prelude::{AnyValue, DataFrame};
use serde::{Deserialize, Serialize};
use sqlparser::ast::Statement;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// One cell, normalised for comparison: every number is a float (so `3`
/// and `3.0` are equal), dates and times are their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Cell {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any number.
    Num(f64),
    /// Text, dates and times.
    Text(String),
}

impl Cell {
    fn from_any(v: AnyValue<'_>) -> Cell {
        match v {
            AnyValue::Null => Cell::Null,
            AnyValue::Boolean(b) => Cell::Bool(b),
            AnyValue::String(s) => Cell::Text(s.to_string()),
            AnyValue::StringOwned(s) => Cell::Text(s.to_string()),
            AnyValue::Int8(x) => Cell::Num(f64::from(x)),
            AnyValue::Int16(x) => Cell::Num(f64::from(x)),
            AnyValue::Int32(x) => Cell::Num(f64::from(x)),
            AnyValue::Int64(x) => Cell::Num(x as f64),
            AnyValue::UInt8(x) => Cell::Num(f64::from(x)),
            AnyValue::UInt16(x) => Cell::Num(f64::from(x)),
            AnyValue::UInt32(x) => Cell::Num(f64::from(x)),
            AnyValue::UInt64(x) => Cell::Num(x as f64),
            AnyValue::Float32(x) => Cell::Num(f64::from(x)),
            AnyValue::Float64(x) => Cell::Num(x),
            other => Cell::Text(other.to_string()),
        }
    }

    /// A cell from a TOML value of a question set's expected rows.
    pub(crate) fn from_toml(v: &toml::Value) -> Cell {
        match v {
            toml::Value::String(s) if s == "NULL" => Cell::Null,
            toml::Value::String(s) => Cell::Text(s.clone()),
            toml::Value::Integer(i) => Cell::Num(*i as f64),
            toml::Value::Float(f) => Cell::Num(*f),
            toml::Value::Boolean(b) => Cell::Bool(*b),
            other => Cell::Text(format!("{other:?}")),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Cell::Null => 0,
            Cell::Bool(_) => 1,
            Cell::Num(_) => 2,
            Cell::Text(_) => 3,
        }
    }

    /// A total order for sorting (numbers by value).
    fn order(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Bool(a), Cell::Bool(b)) => a.cmp(b),
            (Cell::Num(a), Cell::Num(b)) => a.total_cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn close(&self, other: &Cell, tol: f64) -> bool {
        match (self, other) {
            (Cell::Num(a), Cell::Num(b)) => {
                a == b || (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
            }
            _ => self == other,
        }
    }
}

/// A frame as columns of cells.
pub(crate) fn frame_columns(df: &DataFrame) -> Vec<Vec<Cell>> {
    df.columns()
        .iter()
        .map(|c| {
            (0..c.len())
                .map(|i| c.get(i).map_or(Cell::Null, Cell::from_any))
                .collect()
        })
        .collect()
}

/// Whether a SQL text's outermost query orders its rows.
pub(crate) fn orders(sql: &str) -> bool {
    match Parser::parse_sql(&GenericDialect {}, sql) {
        Ok(stmts) => stmts
            .first()
            .is_some_and(|s| matches!(s, Statement::Query(q) if q.order_by.is_some())),
        Err(_) => false,
    }
}

/// Execution match of two results: the same number of rows, each column of
/// `gold` matched to a distinct column of `got` (names ignored, extra
/// columns of `got` accepted), and the rows, projected on those columns,
/// equal as multisets (as sequences when `ordered`), numbers within a
/// relative `tolerance`.
///
/// # Example
/// ```
/// use polars::prelude::*;
/// let gold = df!("n" => [1i64, 2])?;
/// let got = df!("x" => ["a", "b"], "count" => [2.0f64, 1.0])?;
/// // Unordered, and every gold column is among the result's.
/// assert!(sqlveil::eval::execution_match(&gold, &got, false, 1e-6));
/// assert!(!sqlveil::eval::execution_match(&gold, &got, true, 1e-6));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn execution_match(gold: &DataFrame, got: &DataFrame, ordered: bool, tolerance: f64) -> bool {
    columns_match(
        &frame_columns(gold),
        &frame_columns(got),
        ordered,
        tolerance,
    )
}

/// Whether `got` holds `gold`'s result: the same number of rows, each gold
/// column matched to a distinct column of `got` (names ignored), and the
/// rows, projected on those columns, equal as multisets (as sequences when
/// `ordered`), numbers within a relative `tolerance`.
pub(crate) fn columns_match(
    gold: &[Vec<Cell>],
    got: &[Vec<Cell>],
    ordered: bool,
    tol: f64,
) -> bool {
    let rows = |cols: &[Vec<Cell>]| cols.first().map_or(0, Vec::len);
    if gold.is_empty() {
        return got.is_empty() || rows(got) == 0;
    }
    if rows(gold) != rows(got) || got.len() < gold.len() {
        return false;
    }
    // Candidates per gold column: got columns holding the same multiset.
    let sorted = |c: &Vec<Cell>| {
        let mut c = c.clone();
        c.sort_by(Cell::order);
        c
    };
    let got_sorted: Vec<Vec<Cell>> = got.iter().map(sorted).collect();
    let candidates: Vec<Vec<usize>> = gold
        .iter()
        .map(|g| {
            let g = sorted(g);
            got_sorted
                .iter()
                .enumerate()
                .filter(|(_, c)| same(&g, c, tol))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    if candidates.iter().any(Vec::is_empty) {
        return false;
    }
    let mut chosen = Vec::with_capacity(gold.len());
    assign(gold, got, &candidates, &mut chosen, ordered, tol)
}

/// Tries assignments of gold columns to got columns, depth first.
fn assign(
    gold: &[Vec<Cell>],
    got: &[Vec<Cell>],
    candidates: &[Vec<usize>],
    chosen: &mut Vec<usize>,
    ordered: bool,
    tol: f64,
) -> bool {
    let k = chosen.len();
    if k == gold.len() {
        return rows_match(gold, got, chosen, ordered, tol);
    }
    for &c in &candidates[k] {
        if chosen.contains(&c) {
            continue;
        }
        chosen.push(c);
        if assign(gold, got, candidates, chosen, ordered, tol) {
            return true;
        }
        chosen.pop();
    }
    false
}

fn rows_match(
    gold: &[Vec<Cell>],
    got: &[Vec<Cell>],
    chosen: &[usize],
    ordered: bool,
    tol: f64,
) -> bool {
    let n = gold.first().map_or(0, Vec::len);
    let mut a: Vec<Vec<&Cell>> = (0..n)
        .map(|i| gold.iter().map(|c| &c[i]).collect())
        .collect();
    let mut b: Vec<Vec<&Cell>> = (0..n)
        .map(|i| chosen.iter().map(|&j| &got[j][i]).collect())
        .collect();
    if !ordered {
        let by = |x: &Vec<&Cell>, y: &Vec<&Cell>| {
            x.iter()
                .zip(y)
                .map(|(p, q)| p.order(q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        a.sort_by(by);
        b.sort_by(by);
    }
    a.iter()
        .zip(&b)
        .all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.close(q, tol)))
}

fn same(a: &[Cell], b: &[Cell], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.close(y, tol))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(v: &[f64]) -> Vec<Cell> {
        v.iter().map(|x| Cell::Num(*x)).collect()
    }
    fn texts(v: &[&str]) -> Vec<Cell> {
        v.iter().map(|x| Cell::Text(x.to_string())).collect()
    }

    #[test]
    fn multisets_order_tolerance_and_subsets() {
        let gold = vec![texts(&["a", "b", "b"]), nums(&[1.0, 2.0, 3.0])];
        // Rows in another order, columns swapped, an extra column.
        let got = vec![
            nums(&[3.0, 1.0 + 1e-9, 2.0]),
            texts(&["x", "y", "z"]),
            texts(&["b", "a", "b"]),
        ];
        assert!(columns_match(&gold, &got, false, 1e-6));
        assert!(!columns_match(&gold, &got, true, 1e-6));
        // Pairing matters: the same columns as multisets, rows paired otherwise.
        let wrong = vec![texts(&["b", "a", "b"]), nums(&[1.0, 2.0, 3.0])];
        assert!(!columns_match(&gold, &wrong, false, 1e-6));
        // A row more or less, a missing column.
        assert!(!columns_match(
            &gold,
            &[texts(&["a", "b", "b"])],
            false,
            1e-6
        ));
        assert!(!columns_match(
            &gold,
            &[texts(&["a", "b"]), nums(&[1.0, 2.0])],
            false,
            1e-6
        ));
        // Beyond the tolerance.
        let off = vec![texts(&["a", "b", "b"]), nums(&[1.0, 2.0, 3.01])];
        assert!(!columns_match(&gold, &off, false, 1e-6));
        assert!(columns_match(&gold, &off, false, 1e-2));
    }

    #[test]
    fn duplicate_rows_count() {
        let gold = vec![texts(&["a", "a", "b"])];
        assert!(!columns_match(
            &gold,
            &[texts(&["a", "b", "b"])],
            false,
            0.0
        ));
    }

    #[test]
    fn only_the_outermost_order_by_orders() {
        assert!(orders("SELECT a FROM t ORDER BY a"));
        assert!(!orders(
            "SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3) x"
        ));
        assert!(!orders("not sql"));
    }
}
