//! The guard's own form of a checked query: every relation and column is a
//! number the guard made up, every reference is resolved, every function is
//! one of the guard's table. The emitter writes SQL from this, never from the
//! model's text, so no name the model chose reaches an engine.

use super::functions::{DatePart, Func, TruncUnit};

/// A relation: `t{n}` (a table, derived table or CTE reference in `FROM`) or
/// `q{n}` (a CTE's definition).
pub(crate) type RelId = u32;
/// A column: `c{n}`, unique in the whole statement.
pub(crate) type ColId = u32;

/// A statement or a subquery.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) ctes: Vec<Cte>,
    pub(crate) body: Body,
    /// The output columns (of the body; the wrapper, if any, passes them on).
    pub(crate) outputs: Vec<ColId>,
    /// Set when the query has an `ORDER BY`, a `LIMIT`, an `OFFSET` or
    /// group-size filters: the body is wrapped as `t{wrap}` and ordered,
    /// filtered and cut outside.
    pub(crate) wrap: Option<Wrap>,
}

/// What is done around a body: order, row cap, group-size filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wrap {
    pub(crate) rel: RelId,
    /// The columns the wrapper selects: the outputs, then (at the top) the
    /// hidden group-size counts.
    pub(crate) select: Vec<ColId>,
    pub(crate) filters: Vec<GroupFilter>,
    pub(crate) order: Vec<OrderKey>,
    /// A total order on the outputs (shown values, keyed hashes of
    /// protected ones), added after `order` when some operation of the
    /// statement may order rows by protected values.
    pub(crate) tie: Vec<OrderKey>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
}

/// Keep a row only when `distinct >= min` and, when `rows` is set,
/// `distinct = rows`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupFilter {
    pub(crate) distinct: ColId,
    pub(crate) rows: Option<ColId>,
    pub(crate) min: u32,
    /// The guard table whose unique subject column lets `distinct` count
    /// rows with a value.
    pub(crate) unique_subject: Option<u32>,
}

/// One key of an `ORDER BY` (over the wrapper's columns, or a window's rows).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderKey {
    pub(crate) expr: Expr,
    pub(crate) desc: bool,
    /// `None`: the engine's default for the direction, written out by the
    /// emitter (nulls last ascending, first descending) so every engine
    /// agrees.
    pub(crate) nulls_first: Option<bool>,
}

/// A common table expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cte {
    pub(crate) rel: RelId,
    pub(crate) query: Query,
}

/// A query's body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Select(Box<Select>),
    SetOp {
        op: SetOp,
        all: bool,
        left: Box<Query>,
        right: Box<Query>,
    },
    /// Rows of literals, written as a `UNION ALL` of one-row selects.
    Values(Vec<Vec<Expr>>),
    /// A parenthesised query standing as a body (with its own CTEs, order
    /// or cap): written as a derived table.
    Nested(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    Union,
    Intersect,
    Except,
}

/// One `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub(crate) distinct: bool,
    /// `FROM a, b` is a list; each item may be a tree of joins.
    pub(crate) from: Vec<From>,
    pub(crate) filter: Option<Expr>,
    /// The items: the outputs, then hidden ones (order keys, group counts).
    pub(crate) items: Vec<Item>,
    pub(crate) group_by: Vec<Expr>,
    pub(crate) having: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) expr: Expr,
    pub(crate) id: ColId,
}

/// A relation in `FROM`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum From {
    /// A policy table, read through a projection that renames its columns:
    /// `(SELECT "name" AS "c4", … FROM "table") AS "t1"`. Only the columns a
    /// query uses are listed.
    Base {
        rel: RelId,
        /// The table's name, `schema.table` for PostgreSQL schemas.
        table: String,
        /// Every column of the table: its real name and its id here.
        cols: Vec<(String, ColId)>,
    },
    /// A subquery: `(…) AS "t2"`; its columns are the query's outputs.
    Derived { rel: RelId, query: Box<Query> },
    /// A CTE's rows, renamed: `(SELECT "c7" AS "c9", … FROM "q1") AS "t3"`.
    CteRef {
        rel: RelId,
        cte: RelId,
        /// (the CTE's output, this reference's id)
        cols: Vec<(ColId, ColId)>,
    },
    /// A relation filtered before a join (a term of an outer join's `ON`
    /// on the side that can be all NULL), under the relation's own id:
    /// `(SELECT "t9"."c4" AS "c4", … FROM <inner as t9> WHERE …) AS "t2"`.
    Filtered {
        rel: RelId,
        inner_rel: RelId,
        inner: Box<From>,
        cols: Vec<ColId>,
        filter: Expr,
    },
    Join {
        kind: JoinKind,
        left: Box<From>,
        right: Box<From>,
        on: Option<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

/// A literal, in a canonical form the emitter writes the same way for every
/// engine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    /// A number as written (checked: digits, one point, an exponent).
    Number(String),
    Str(String),
    Date(String),
    Timestamp(String),
    /// A whole number of a unit (`3 day`, `1 month`).
    Interval(i64, IntervalUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntervalUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl IntervalUnit {
    pub(crate) fn word(self) -> &'static str {
        match self {
            IntervalUnit::Second => "seconds",
            IntervalUnit::Minute => "minutes",
            IntervalUnit::Hour => "hours",
            IntervalUnit::Day => "days",
            IntervalUnit::Week => "weeks",
            IntervalUnit::Month => "months",
            IntervalUnit::Year => "years",
        }
    }
}

/// The types the guard follows, as far as it can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
    Interval,
    Null,
    Unknown,
}

impl Ty {
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
}

/// Binary operators the guard allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        )
    }

    pub(crate) fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Concat => "||",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }
}

/// Types a `CAST` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CastTo {
    Int,
    BigInt,
    Float,
    Numeric,
    Text,
    Bool,
    Date,
    Timestamp,
}

/// Tests a predicate form can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IsTest {
    Null,
    NotNull,
    True,
    NotTrue,
    False,
    NotFalse,
}

/// An expression: a column of a relation in scope, a literal, an operator,
/// a function of the guard's table, a subquery.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Col(RelId, ColId),
    Lit(Lit),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Is(IsTest, Box<Expr>),
    Distinct {
        not: bool,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Between {
        not: bool,
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    Like {
        not: bool,
        ilike: bool,
        expr: Box<Expr>,
        pattern: Box<Expr>,
    },
    InList {
        not: bool,
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    InQuery {
        not: bool,
        expr: Box<Expr>,
        query: Box<Query>,
    },
    Exists {
        not: bool,
        query: Box<Query>,
    },
    /// A scalar subquery.
    Scalar(Box<Query>),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast(Box<Expr>, CastTo),
    Call(Box<Call>),
    /// `date_part('year', x)`, `EXTRACT(YEAR FROM x)`, `year(x)`.
    Part(DatePart, Box<Expr>),
    /// `date_trunc('month', x)` of a date (returns a date) or a timestamp.
    Trunc(TruncUnit, Box<Expr>, Ty),
    /// `to_date(text, format)` with a PostgreSQL format.
    ToDate(Box<Expr>, String),
    /// `TRIM([BOTH|LEADING|TRAILING] [chars] FROM x)`.
    Trim {
        side: TrimSide,
        expr: Box<Expr>,
        chars: Option<Box<Expr>>,
    },
    /// A keyed hash of a value, for orders that must not follow protected
    /// values.
    OrderHash(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrimSide {
    Both,
    Leading,
    Trailing,
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) func: Func,
    pub(crate) args: Vec<Expr>,
    /// `count(*)`.
    pub(crate) star: bool,
    pub(crate) distinct: bool,
    pub(crate) filter: Option<Expr>,
    pub(crate) over: Option<Window>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub(crate) partition: Vec<Expr>,
    pub(crate) order: Vec<OrderKey>,
    /// `ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`, the one frame
    /// every engine computes alike (set for running aggregates).
    pub(crate) rows_to_current: bool,
    /// Keys that break ties, for functions whose result depends on the order
    /// of tied rows (`row_number`, `lag`, …), used when some operation may
    /// order rows by protected values.
    pub(crate) tie: Vec<OrderKey>,
    /// The function's own arguments as keys (a keyed hash where they read a
    /// protected column): the first of the tie keys, since rows tied on
    /// the window's order can differ in them, and a running result then
    /// follows the order the engine read the rows in.
    pub(crate) arg_tie: Vec<OrderKey>,
}

impl Query {
    /// The queries directly inside this one's body (set operation branches,
    /// derived tables, subqueries of expressions), not its CTEs.
    pub(crate) fn children(&self) -> Vec<&Query> {
        let mut out = Vec::new();
        match &self.body {
            Body::Select(s) => s.children(&mut out),
            Body::SetOp { left, right, .. } => {
                out.push(left);
                out.push(right);
            }
            Body::Nested(q) => out.push(q),
            Body::Values(_) => {}
        }
        out
    }
}

impl Select {
    fn children<'q>(&'q self, out: &mut Vec<&'q Query>) {
        for f in &self.from {
            f.children(out);
        }
        for e in self.exprs() {
            e.subqueries(out);
        }
    }

    /// Every expression of the select (items, WHERE, GROUP BY, HAVING).
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.items
            .iter()
            .map(|i| &i.expr)
            .chain(self.filter.iter())
            .chain(self.group_by.iter())
            .chain(self.having.iter())
    }
}

impl From {
    fn children<'q>(&'q self, out: &mut Vec<&'q Query>) {
        match self {
            From::Base { .. } | From::CteRef { .. } => {}
            From::Derived { query, .. } => out.push(query),
            From::Filtered { inner, filter, .. } => {
                inner.children(out);
                filter.subqueries(out);
            }
            From::Join {
                left, right, on, ..
            } => {
                left.children(out);
                right.children(out);
                if let Some(on) = on {
                    on.subqueries(out);
                }
            }
        }
    }
}

impl Expr {
    /// The subqueries directly inside an expression.
    pub(crate) fn subqueries<'q>(&'q self, out: &mut Vec<&'q Query>) {
        match self {
            Expr::Scalar(q) | Expr::Exists { query: q, .. } => out.push(q),
            Expr::InQuery { expr, query, .. } => {
                expr.subqueries(out);
                out.push(query);
            }
            Expr::Col(..) | Expr::Lit(_) => {}
            Expr::Neg(x)
            | Expr::Not(x)
            | Expr::Is(_, x)
            | Expr::Cast(x, _)
            | Expr::OrderHash(x)
            | Expr::Part(_, x)
            | Expr::Trunc(_, x, _)
            | Expr::ToDate(x, _) => x.subqueries(out),
            Expr::Bin(_, a, b)
            | Expr::Distinct {
                left: a, right: b, ..
            } => {
                a.subqueries(out);
                b.subqueries(out);
            }
            Expr::Like { expr, pattern, .. } => {
                expr.subqueries(out);
                pattern.subqueries(out);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.subqueries(out);
                low.subqueries(out);
                high.subqueries(out);
            }
            Expr::InList { expr, list, .. } => {
                expr.subqueries(out);
                for x in list {
                    x.subqueries(out);
                }
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                for x in operand.iter().chain(otherwise.iter()) {
                    x.subqueries(out);
                }
                for (w, t) in whens {
                    w.subqueries(out);
                    t.subqueries(out);
                }
            }
            Expr::Trim { expr, chars, .. } => {
                expr.subqueries(out);
                if let Some(c) = chars {
                    c.subqueries(out);
                }
            }
            Expr::Call(c) => {
                for a in &c.args {
                    a.subqueries(out);
                }
                if let Some(f) = &c.filter {
                    f.subqueries(out);
                }
            }
        }
    }

    /// Whether a column reference is in the expression (outside subqueries).
    pub(crate) fn refs_col(&self) -> bool {
        match self {
            Expr::Col(..) => true,
            Expr::Call(c) => {
                c.args.iter().any(Expr::refs_col)
                    || c.over.as_ref().is_some_and(|w| {
                        w.partition.iter().any(Expr::refs_col)
                            || w.order.iter().any(|k| k.expr.refs_col())
                    })
            }
            other => {
                other.reads_column()
                    && !matches!(
                        other,
                        Expr::InQuery { .. } | Expr::Exists { .. } | Expr::Scalar(_)
                    )
            }
        }
    }

    /// Whether the expression reads a column (a constant breaks no tie).
    pub(crate) fn reads_column(&self) -> bool {
        match self {
            Expr::Col(..) => true,
            Expr::Lit(_) => false,
            Expr::Neg(x)
            | Expr::Not(x)
            | Expr::Is(_, x)
            | Expr::Cast(x, _)
            | Expr::OrderHash(x)
            | Expr::Part(_, x)
            | Expr::Trunc(_, x, _)
            | Expr::ToDate(x, _) => x.reads_column(),
            Expr::Bin(_, a, b)
            | Expr::Distinct {
                left: a, right: b, ..
            } => a.reads_column() || b.reads_column(),
            Expr::Like { expr, pattern, .. } => expr.reads_column() || pattern.reads_column(),
            Expr::Between {
                expr, low, high, ..
            } => expr.reads_column() || low.reads_column() || high.reads_column(),
            Expr::InList { expr, list, .. } => {
                expr.reads_column() || list.iter().any(Expr::reads_column)
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand
                    .iter()
                    .chain(otherwise.iter())
                    .any(|x| x.reads_column())
                    || whens
                        .iter()
                        .any(|(w, t)| w.reads_column() || t.reads_column())
            }
            Expr::Trim { expr, chars, .. } => {
                expr.reads_column() || chars.iter().any(|c| c.reads_column())
            }
            Expr::Call(c) => c.args.iter().any(Expr::reads_column) || c.star,
            // A subquery's value can vary with an outer row.
            Expr::InQuery { .. } | Expr::Exists { .. } | Expr::Scalar(_) => true,
        }
    }
}
