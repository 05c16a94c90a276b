//! Expressions and predicates.

use sqlparser::ast::{
    BinaryOperator, CastKind, CeilFloorKind, DataType, DateTimeField, Expr as SqlExpr,
    TrimWhereField, UnaryOperator, Value,
};

use super::literal;
use super::rules::{agg_misuse, not_on_engine, Ctx, Info, Lin, Shape, Src};
use super::scope::Scope;
use super::{unsupported, Walker};
use crate::error::Error;
use crate::guard::functions::{DatePart, Func};
use crate::guard::plan::{
    BinOp, Body, Call, CastTo, Expr, From, IntervalUnit, IsTest, Item, Lit, Query, Select,
    TrimSide, Ty,
};
use crate::guard::{variant_name, Dialect, Reason, Refusal};
use crate::rules::{Action, Filter, TokenClass};

/// One side of a comparison.
enum Side<'e> {
    Col(Lin, Expr, Ty),
    Lit(&'e SqlExpr),
    /// A computed value (already checked as a computation inside a predicate).
    Other(Expr, Ty),
}

impl Side<'_> {
    /// The side's type, and the text of a string literal.
    fn kind(&self) -> (Ty, Option<&str>) {
        match self {
            Side::Col(_, _, t) | Side::Other(_, t) => (*t, None),
            Side::Lit(e) => literal_kind(e),
        }
    }
}

/// An operand's type: a literal's own, else the walked expression's.
fn kind_of<'e>(e: &'e SqlExpr, i: &Info) -> (Ty, Option<&'e str>) {
    if is_literal(e) {
        literal_kind(e)
    } else {
        (i.ty, None)
    }
}

/// A literal's type, and its text when it is a string.
fn literal_kind(e: &SqlExpr) -> (Ty, Option<&str>) {
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => (Ty::Text, Some(s.as_str())),
            Value::Number(n, _) => match literal::number(n) {
                Ok((_, t)) => (t, None),
                Err(_) => (Ty::Unknown, None),
            },
            Value::Boolean(_) => (Ty::Bool, None),
            Value::Null => (Ty::Null, None),
            _ => (Ty::Unknown, None),
        },
        SqlExpr::UnaryOp { expr, .. } => literal_kind(expr),
        _ => (Ty::Unknown, None),
    }
}

/// Arithmetic needs numbers (dates are handled before).
fn arithmetic_types(a: Ty, b: Ty) -> Result<(), Refusal> {
    let fine = |t: Ty| t.is_numeric() || matches!(t, Ty::Unknown | Ty::Null);
    if fine(a) && fine(b) {
        return Ok(());
    }
    Err(Refusal::new(
        Reason::UnsupportedConstruct,
        "the query computes arithmetic on values that are not numbers",
    )
    .construct("arithmetic")
    .advise("CAST text to a number first, or use date arithmetic with an INTERVAL"))
}

/// Why two values of these types cannot be compared, if they cannot: both
/// engines refuse (or, worse, disagree on) text against numbers, dates
/// against numbers, booleans against anything else. A string literal stands
/// for a date or, on PostgreSQL, a number it spells.
pub(super) fn type_clash(
    a: (Ty, Option<&str>),
    b: (Ty, Option<&str>),
    dialect: Dialect,
) -> Option<&'static str> {
    let date = |t: Ty| matches!(t, Ty::Date | Ty::Timestamp);
    let ok = |(x, xs): (Ty, Option<&str>), (y, _): (Ty, Option<&str>)| {
        matches!(x, Ty::Unknown | Ty::Null)
            || x == y
            || (x.is_numeric() && y.is_numeric())
            || (date(x) && date(y))
            || (xs.is_some() && date(y))
            || (xs.is_some_and(|s| literal::number(s.trim()).is_ok())
                && y.is_numeric()
                && dialect == Dialect::Postgres)
    };
    if ok(a, b) || ok(b, a) {
        return None;
    }
    Some(match (a.0, b.0) {
        (Ty::Text, t) | (t, Ty::Text) if t.is_numeric() => {
            "compare a number with a number: write it without quotes, or CAST the text"
        }
        (Ty::Text, _) | (_, Ty::Text) => "CAST one side to the other's type",
        _ => "compare values of one type, or CAST one side",
    })
}

/// Where in a `SELECT` the walk is, for subqueries that polars runs as
/// joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// `FROM … ON`.
    From,
    /// `WHERE`.
    Where,
    /// The select list, `GROUP BY`, `HAVING`, `ORDER BY`.
    After,
}

/// A scalar or `EXISTS` subquery that polars runs as a one-row derived table
/// joined to its `SELECT`.
pub(super) struct Lifted {
    pub(super) from: From,
    pub(super) phase: Phase,
}

fn is_column(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_))
}

fn is_literal(e: &SqlExpr) -> bool {
    match e {
        SqlExpr::Value(_) => true,
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => matches!(&**expr, SqlExpr::Value(_)),
        _ => false,
    }
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Bin(op, Box::new(a), Box::new(b))
}

fn call(func: Func, args: Vec<Expr>) -> Expr {
    Expr::Call(Box::new(Call {
        func,
        args,
        star: false,
        distinct: false,
        filter: None,
        over: None,
    }))
}

fn bin_op(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Plus => BinOp::Add,
        BinaryOperator::Minus => BinOp::Sub,
        BinaryOperator::Multiply => BinOp::Mul,
        BinaryOperator::Divide => BinOp::Div,
        BinaryOperator::Modulo => BinOp::Mod,
        BinaryOperator::StringConcat => BinOp::Concat,
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::NotEq,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::LtEq,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::GtEq,
        BinaryOperator::And => BinOp::And,
        BinaryOperator::Or => BinOp::Or,
        _ => return None,
    })
}

pub(super) fn cast_to(dt: &DataType) -> Option<(CastTo, Ty)> {
    Some(match dt {
        DataType::Int(_)
        | DataType::Integer(_)
        | DataType::Int4(_)
        | DataType::SmallInt(_)
        | DataType::Int2(_) => (CastTo::Int, Ty::Int),
        DataType::BigInt(_) | DataType::Int8(_) | DataType::Int64 => (CastTo::BigInt, Ty::Int),
        DataType::Float(_)
        | DataType::Real
        | DataType::Double(_)
        | DataType::DoublePrecision
        | DataType::Float8
        | DataType::Float64
        | DataType::Float4 => (CastTo::Float, Ty::Float),
        DataType::Numeric(_) | DataType::Decimal(_) | DataType::Dec(_) => {
            (CastTo::Numeric, Ty::Float)
        }
        DataType::Text
        | DataType::Varchar(_)
        | DataType::CharacterVarying(_)
        | DataType::String(_) => (CastTo::Text, Ty::Text),
        DataType::Boolean | DataType::Bool => (CastTo::Bool, Ty::Bool),
        DataType::Date => (CastTo::Date, Ty::Date),
        DataType::Timestamp(_, tz) if *tz == sqlparser::ast::TimezoneInfo::None => {
            (CastTo::Timestamp, Ty::Timestamp)
        }
        _ => return None,
    })
}

pub(super) fn part_of(f: &DateTimeField) -> Option<DatePart> {
    Some(match f {
        DateTimeField::Year | DateTimeField::Years => DatePart::Year,
        DateTimeField::Quarter => DatePart::Quarter,
        DateTimeField::Month | DateTimeField::Months => DatePart::Month,
        DateTimeField::Week(None) | DateTimeField::Weeks => DatePart::Week,
        DateTimeField::Day | DateTimeField::Days => DatePart::Day,
        DateTimeField::Dow | DateTimeField::DayOfWeek => DatePart::DayOfWeek,
        DateTimeField::Isodow => DatePart::IsoDayOfWeek,
        DateTimeField::Doy | DateTimeField::DayOfYear => DatePart::DayOfYear,
        DateTimeField::Hour | DateTimeField::Hours => DatePart::Hour,
        DateTimeField::Minute | DateTimeField::Minutes => DatePart::Minute,
        DateTimeField::Second | DateTimeField::Seconds => DatePart::Second,
        DateTimeField::Epoch => DatePart::Epoch,
        DateTimeField::Custom(i) => DatePart::parse(&i.value)?,
        _ => return None,
    })
}

impl Walker<'_> {
    /// A projection item's root: the one place an aggregate over an
    /// `aggregate` column may stand.
    pub(super) fn item_expr(
        &mut self,
        e: &SqlExpr,
        top: bool,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let mut root = e;
        while let SqlExpr::Nested(inner) = root {
            root = inner;
        }
        let (info, x) = self.expr(root, Ctx::Out { agg_ok: top }, scope)?;
        if info.ty == Ty::Interval {
            return Err(unsupported("an interval as an output column").into());
        }
        Ok((info, x))
    }

    pub(super) fn expr(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        self.enter()?;
        let r = self.expr_inner(e, ctx, scope);
        self.leave();
        r
    }

    fn expr_inner(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let sub = ctx.comp();
        let out = match e {
            SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_) => {
                let f = self.column_ref(e, scope)?;
                self.leaf(&f.lin, ctx, true)?;
                (
                    Info {
                        lin: f.lin,
                        shape: Shape::Column,
                        ty: f.ty,
                    },
                    f.expr,
                )
            }
            SqlExpr::Value(v) => {
                let (lit, ty) = literal::value(v)?;
                let shape = if lit == Lit::Null {
                    Shape::Null
                } else {
                    Shape::Literal
                };
                (Info::allow(shape, ty), Expr::Lit(lit))
            }
            SqlExpr::TypedString(ts) => {
                let (lit, ty) = literal::typed(&ts.data_type, &ts.value)?;
                (Info::allow(Shape::Literal, ty), Expr::Lit(lit))
            }
            SqlExpr::Interval(iv) => {
                let (lit, ty) = literal::interval(iv)?;
                (Info::allow(Shape::Literal, ty), Expr::Lit(lit))
            }
            SqlExpr::Nested(inner) => self.expr(inner, ctx, scope)?,
            SqlExpr::BinaryOp { left, op, right } => {
                let bop = bin_op(op).ok_or_else(|| unsupported(format!("the operator {op}")))?;
                let logical = matches!(bop, BinOp::And | BinOp::Or);
                let compare = matches!(
                    bop,
                    BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
                );
                if logical && ctx.is_pred() {
                    let (_, a) = self.expr(left, ctx, scope)?;
                    let (_, b) = self.expr(right, ctx, scope)?;
                    (Info::allow(Shape::Computed, Ty::Bool), bin(bop, a, b))
                } else if compare && ctx.is_pred() {
                    let eq = matches!(bop, BinOp::Eq | BinOp::NotEq);
                    let (a, b) = self.comparison(left, right, eq, &op.to_string(), scope)?;
                    (Info::allow(Shape::Computed, Ty::Bool), bin(bop, a, b))
                } else {
                    let a = self.expr(left, sub, scope)?;
                    let b = self.expr(right, sub, scope)?;
                    let lin = self.merge(&a.0.lin, &b.0.lin)?;
                    let (x, ty) = self.arith(bop, a, b)?;
                    (Info::computed(lin, ty), x)
                }
            }
            SqlExpr::IsDistinctFrom(a, b) | SqlExpr::IsNotDistinctFrom(a, b) => {
                let not = matches!(e, SqlExpr::IsNotDistinctFrom(..));
                let (x, y) = if ctx.is_pred() {
                    self.comparison(a, b, true, "IS DISTINCT FROM", scope)?
                } else {
                    let (_, x) = self.expr(a, sub, scope)?;
                    let (_, y) = self.expr(b, sub, scope)?;
                    (x, y)
                };
                (
                    Info::allow(Shape::Computed, Ty::Bool),
                    Expr::Distinct {
                        not,
                        left: Box::new(x),
                        right: Box::new(y),
                    },
                )
            }
            SqlExpr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not if ctx.is_pred() => {
                    let (_, x) = self.expr(expr, ctx, scope)?;
                    (
                        Info::allow(Shape::Computed, Ty::Bool),
                        Expr::Not(Box::new(x)),
                    )
                }
                UnaryOperator::Minus if matches!(&**expr, SqlExpr::Value(_)) => {
                    let (i, x) = self.expr(expr, sub, scope)?;
                    if !i.ty.is_numeric() {
                        return Err(unsupported(
                            "a minus sign before a literal that is not a number",
                        )
                        .into());
                    }
                    (Info::allow(Shape::Literal, i.ty), Expr::Neg(Box::new(x)))
                }
                UnaryOperator::Minus | UnaryOperator::Plus | UnaryOperator::Not => {
                    let (i, x) = self.expr(expr, sub, scope)?;
                    let x = match op {
                        UnaryOperator::Minus => Expr::Neg(Box::new(x)),
                        UnaryOperator::Not => Expr::Not(Box::new(x)),
                        _ => x,
                    };
                    let ty = if *op == UnaryOperator::Not {
                        Ty::Bool
                    } else {
                        i.ty
                    };
                    (Info::computed(i.lin, ty), x)
                }
                other => return Err(unsupported(format!("the operator {other}")).into()),
            },
            SqlExpr::IsNull(inner) | SqlExpr::IsNotNull(inner) => {
                let test = if matches!(e, SqlExpr::IsNull(_)) {
                    IsTest::Null
                } else {
                    IsTest::NotNull
                };
                let x = if ctx.is_pred() && is_column(inner) {
                    let f = self.column_ref(inner, scope)?;
                    if let Some(s) = f.lin.eff {
                        self.deny_or_agg(s)?;
                        let p = self.policy(s);
                        if p.filter < Filter::Equality {
                            return Err(Refusal::new(
                                Reason::FilterNotAllowed,
                                format!(
                                    "column `{}` ({}, filter none) may not be tested in IS NULL",
                                    self.src_name(s),
                                    p.action.as_tag()
                                ),
                            )
                            .column(self.src_name(s))
                            .construct("IS NULL")
                            .into());
                        }
                    }
                    f.expr
                } else {
                    self.expr(inner, sub, scope)?.1
                };
                (
                    Info::allow(Shape::Computed, Ty::Bool),
                    Expr::Is(test, Box::new(x)),
                )
            }
            SqlExpr::IsTrue(inner)
            | SqlExpr::IsFalse(inner)
            | SqlExpr::IsNotTrue(inner)
            | SqlExpr::IsNotFalse(inner) => {
                let test = match e {
                    SqlExpr::IsTrue(_) => IsTest::True,
                    SqlExpr::IsFalse(_) => IsTest::False,
                    SqlExpr::IsNotTrue(_) => IsTest::NotTrue,
                    _ => IsTest::NotFalse,
                };
                let (i, x) = self.expr(inner, sub, scope)?;
                (Info::computed(i.lin, Ty::Bool), Expr::Is(test, Box::new(x)))
            }
            SqlExpr::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated, ctx, scope)?,
            SqlExpr::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let (q, outs) = self.query(subquery, scope, false)?;
                let [o] = outs.as_slice() else {
                    return Err(unsupported("IN with a subquery of several columns").into());
                };
                if o.info.shape == Shape::AggResult {
                    return Err(agg_misuse("IN (SELECT …)").into());
                }
                let (left, x) = if ctx.is_pred() && is_column(expr) {
                    let f = self.column_ref(expr, scope)?;
                    (f.lin, f.expr)
                } else {
                    let (i, x) = self.expr(expr, sub, scope)?;
                    (i.lin, x)
                };
                self.equality_between(&left, &o.info.lin, "IN (SELECT …)")?;
                (
                    Info::allow(Shape::Computed, Ty::Bool),
                    Expr::InQuery {
                        not: *negated,
                        expr: Box::new(x),
                        query: Box::new(q),
                    },
                )
            }
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (a, x) = self.expr(expr, sub, scope)?;
                let (b, lo) = self.expr(low, sub, scope)?;
                let (c, hi) = self.expr(high, sub, scope)?;
                self.comparable(kind_of(expr, &a), kind_of(low, &b), "BETWEEN")?;
                self.comparable(kind_of(expr, &a), kind_of(high, &c), "BETWEEN")?;
                let l = self.merge(&a.lin, &b.lin)?;
                (
                    Info::computed(self.merge(&l, &c.lin)?, Ty::Bool),
                    Expr::Between {
                        not: *negated,
                        expr: Box::new(x),
                        low: Box::new(lo),
                        high: Box::new(hi),
                    },
                )
            }
            SqlExpr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | SqlExpr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(unsupported("LIKE ANY").into());
                }
                if escape_char.is_some() {
                    return Err(unsupported("LIKE … ESCAPE").into());
                }
                let (a, x) = self.expr(expr, sub, scope)?;
                let (b, p) = self.expr(pattern, sub, scope)?;
                for t in [a.ty, b.ty] {
                    if !matches!(t, Ty::Text | Ty::Unknown | Ty::Null) {
                        return Err(Refusal::new(
                            Reason::UnsupportedConstruct,
                            "LIKE compares text only",
                        )
                        .construct("LIKE")
                        .advise("CAST the value to TEXT first")
                        .into());
                    }
                }
                (
                    Info::computed(self.merge(&a.lin, &b.lin)?, Ty::Bool),
                    Expr::Like {
                        not: *negated,
                        ilike: matches!(e, SqlExpr::ILike { .. }),
                        expr: Box::new(x),
                        pattern: Box::new(p),
                    },
                )
            }
            SqlExpr::Function(f) => self.function(f, ctx, scope)?,
            SqlExpr::Cast {
                kind,
                expr,
                data_type,
                format,
                array,
            } => {
                if !matches!(kind, CastKind::Cast | CastKind::DoubleColon) {
                    return Err(unsupported("TRY_CAST / SAFE_CAST").into());
                }
                if format.is_some() || *array {
                    return Err(unsupported("CAST with FORMAT").into());
                }
                let (to, ty) = cast_to(data_type)
                    .ok_or_else(|| unsupported(format!("a cast to {data_type}")))?;
                let (i, x) = self.expr(expr, sub, scope)?;
                if matches!(i.ty, Ty::Date | Ty::Timestamp) && matches!(ty, Ty::Int | Ty::Float) {
                    return Err(unsupported(
                        "a cast of a date to a number (use date_part, or subtract two dates)",
                    )
                    .into());
                }
                let polars = self.dialect() == Dialect::Polars;
                let truncates = polars || self.dialect() == Dialect::Spark;
                let x =
                    if matches!(to, CastTo::Int | CastTo::BigInt) && i.ty == Ty::Float && truncates
                    {
                        // polars and Spark truncate a float cast to an integer;
                        // PostgreSQL rounds it.
                        Expr::Cast(Box::new(call(Func::Round, vec![x])), to)
                    } else if to == CastTo::Date && i.ty == Ty::Text && polars {
                        // polars' cast from text to date is deprecated (and says
                        // so on stderr): parse it.
                        Expr::ToDate(Box::new(x), "YYYY-MM-DD".to_string())
                    } else {
                        Expr::Cast(Box::new(x), to)
                    };
                (Info::computed(i.lin, ty), x)
            }
            SqlExpr::Extract { field, expr, .. } => {
                let part =
                    part_of(field).ok_or_else(|| unsupported(format!("EXTRACT of {field}")))?;
                self.part_on_engine(part)?;
                let (i, x) = self.expr(expr, sub, scope)?;
                let ty = if part.is_whole() { Ty::Int } else { Ty::Float };
                (Info::computed(i.lin, ty), Expr::Part(part, Box::new(x)))
            }
            SqlExpr::Ceil { expr, field } | SqlExpr::Floor { expr, field } => {
                if !matches!(
                    field,
                    CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)
                ) {
                    return Err(unsupported("CEIL/FLOOR with a scale or a field").into());
                }
                let (i, x) = self.expr(expr, sub, scope)?;
                let func = if matches!(e, SqlExpr::Ceil { .. }) {
                    Func::Ceil
                } else {
                    Func::Floor
                };
                (Info::computed(i.lin, i.ty), call(func, vec![x]))
            }
            SqlExpr::Position { expr, r#in } => {
                let (a, x) = self.expr(expr, sub, scope)?;
                let (b, y) = self.expr(r#in, sub, scope)?;
                (
                    Info::computed(self.merge(&a.lin, &b.lin)?, Ty::Int),
                    call(Func::Strpos, vec![y, x]),
                )
            }
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let (i, x) = self.expr(expr, sub, scope)?;
                let mut lin = i.lin;
                let mut args = vec![x];
                match substring_from {
                    Some(f) => {
                        let (fi, fx) = self.expr(f, sub, scope)?;
                        lin = self.merge(&lin, &fi.lin)?;
                        args.push(fx);
                    }
                    None => args.push(Expr::Lit(Lit::Number("1".into()))),
                }
                if let Some(n) = substring_for {
                    let (ni, nx) = self.expr(n, sub, scope)?;
                    lin = self.merge(&lin, &ni.lin)?;
                    args.push(nx);
                }
                (Info::computed(lin, Ty::Text), call(Func::Substr, args))
            }
            SqlExpr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(unsupported("TRIM with a list of characters").into());
                }
                let (i, x) = self.expr(expr, sub, scope)?;
                let mut lin = i.lin;
                let chars = match trim_what {
                    Some(w) => {
                        let (wi, wx) = self.expr(w, sub, scope)?;
                        lin = self.merge(&lin, &wi.lin)?;
                        Some(Box::new(wx))
                    }
                    None => None,
                };
                let side = match trim_where {
                    None | Some(TrimWhereField::Both) => TrimSide::Both,
                    Some(TrimWhereField::Leading) => TrimSide::Leading,
                    Some(TrimWhereField::Trailing) => TrimSide::Trailing,
                };
                (
                    Info::computed(lin, Ty::Text),
                    Expr::Trim {
                        side,
                        expr: Box::new(x),
                        chars,
                    },
                )
            }
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                // Conditions compute on their columns; results pass values
                // through, so a protected result keeps its protection.
                let cond_ctx = sub;
                let res_ctx = match ctx {
                    Ctx::Out { .. } => Ctx::Out { agg_ok: false },
                    other => other.comp(),
                };
                let mut conds = Lin::default();
                let op = match operand {
                    Some(o) => {
                        let (i, x) = self.expr(o, cond_ctx, scope)?;
                        conds = self.merge(&conds, &i.lin)?;
                        Some(Box::new(x))
                    }
                    None => None,
                };
                let mut out = Info::allow(Shape::Null, Ty::Null);
                let mut whens = Vec::with_capacity(conditions.len());
                for cw in conditions {
                    let (c, cx) = self.expr(&cw.condition, cond_ctx, scope)?;
                    conds = self.merge(&conds, &c.lin)?;
                    let (r, rx) = self.expr(&cw.result, res_ctx, scope)?;
                    out = self.merge_pass(&out, &r, "CASE")?;
                    whens.push((cx, rx));
                }
                let otherwise = match else_result {
                    Some(el) => {
                        let (r, rx) = self.expr(el, res_ctx, scope)?;
                        out = self.merge_pass(&out, &r, "CASE")?;
                        Some(Box::new(rx))
                    }
                    None => None,
                };
                (
                    Info::computed(self.merge(&out.lin, &conds)?, out.ty),
                    Expr::Case {
                        operand: op,
                        whens,
                        otherwise,
                    },
                )
            }
            SqlExpr::Subquery(q) => {
                let (qq, outs) = self.query(q, scope, false)?;
                let [o] = outs.as_slice() else {
                    return Err(unsupported("a scalar subquery of several columns").into());
                };
                if o.info.shape == Shape::AggResult {
                    return Err(agg_misuse("a scalar subquery").into());
                }
                // A scalar subquery stands where a column would.
                self.leaf(&o.info.lin, ctx, false)?;
                let info = Info::computed(o.info.lin.clone(), o.info.ty);
                let id = o.id;
                let x = match self.dialect() {
                    Dialect::Postgres | Dialect::Spark => Expr::Scalar(Box::new(qq)),
                    Dialect::Polars => self.lift_scalar(qq, id)?,
                };
                (info, x)
            }
            SqlExpr::Exists { subquery, negated } => {
                let (qq, _) = self.query(subquery, scope, false)?;
                let x = match self.dialect() {
                    Dialect::Postgres | Dialect::Spark => Expr::Exists {
                        not: *negated,
                        query: Box::new(qq),
                    },
                    Dialect::Polars => self.lift_exists(qq, *negated)?,
                };
                (Info::allow(Shape::Computed, Ty::Bool), x)
            }
            other => {
                return Err(unsupported(format!("the {} expression", variant_name(other))).into())
            }
        };
        Ok(out)
    }

    /// Arithmetic and other operators outside predicates, with the meaning
    /// PostgreSQL gives them on both engines.
    fn arith(
        &mut self,
        op: BinOp,
        a: (Info, Expr),
        b: (Info, Expr),
    ) -> Result<(Expr, Ty), Refusal> {
        let (ai, ax) = a;
        let (bi, bx) = b;
        let polars = self.dialect() == Dialect::Polars;
        let (at, bt) = (ai.ty, bi.ty);
        Ok(match op {
            BinOp::Add | BinOp::Sub => match (at, bt) {
                (Ty::Date, Ty::Interval) | (Ty::Interval, Ty::Date) => {
                    let unit = match (&ax, &bx) {
                        (Expr::Lit(Lit::Interval(_, u)), _)
                        | (_, Expr::Lit(Lit::Interval(_, u))) => *u,
                        _ => return Err(unsupported("date arithmetic with a computed interval")),
                    };
                    if matches!(
                        unit,
                        IntervalUnit::Second | IntervalUnit::Minute | IntervalUnit::Hour
                    ) {
                        return Err(unsupported(
                            "adding hours, minutes or seconds to a date (cast it to a timestamp first)",
                        ));
                    }
                    if op == BinOp::Sub && at == Ty::Interval {
                        return Err(unsupported("an interval minus a date"));
                    }
                    let x = bin(op, ax, bx);
                    let x = if polars {
                        x
                    } else {
                        // PostgreSQL gives a timestamp; polars a date.
                        Expr::Cast(Box::new(x), CastTo::Date)
                    };
                    (x, Ty::Date)
                }
                (Ty::Timestamp, Ty::Interval) | (Ty::Interval, Ty::Timestamp) => {
                    if op == BinOp::Sub && at == Ty::Interval {
                        return Err(unsupported("an interval minus a timestamp"));
                    }
                    (bin(op, ax, bx), Ty::Timestamp)
                }
                (Ty::Date, Ty::Int) => {
                    if polars {
                        // PostgreSQL adds days; polars needs an interval.
                        let n = match &bx {
                            Expr::Lit(Lit::Number(n)) => n.parse::<i64>().ok(),
                            Expr::Neg(inner) => match &**inner {
                                Expr::Lit(Lit::Number(n)) => n.parse::<i64>().ok().map(|n| -n),
                                _ => None,
                            },
                            _ => None,
                        };
                        let n = n.ok_or_else(|| {
                            not_on_engine(
                                "adding a computed number of days to a date",
                                "polars",
                                "add an interval literal such as INTERVAL '3 days'",
                            )
                        })?;
                        (
                            bin(op, ax, Expr::Lit(Lit::Interval(n, IntervalUnit::Day))),
                            Ty::Date,
                        )
                    } else {
                        (bin(op, ax, bx), Ty::Date)
                    }
                }
                (Ty::Date, Ty::Date) if op == BinOp::Sub => {
                    // Days between two dates: an integer on every engine
                    // (Spark's `a - b` is an interval).
                    let x = if self.dialect() == Dialect::Spark {
                        call(Func::DateDiff, vec![ax, bx])
                    } else if polars {
                        bin(
                            BinOp::Sub,
                            Expr::Cast(Box::new(ax), CastTo::Int),
                            Expr::Cast(Box::new(bx), CastTo::Int),
                        )
                    } else {
                        bin(BinOp::Sub, ax, bx)
                    };
                    (x, Ty::Int)
                }
                (Ty::Timestamp, Ty::Timestamp)
                | (Ty::Date, Ty::Timestamp)
                | (Ty::Timestamp, Ty::Date) => {
                    return Err(unsupported(
                        "subtracting timestamps (compare date_part('epoch', …) instead)",
                    ))
                }
                _ => {
                    arithmetic_types(at, bt)?;
                    (bin(op, ax, bx), crate::guard::functions::common(&[at, bt]))
                }
            },
            BinOp::Mul => {
                arithmetic_types(at, bt)?;
                (bin(op, ax, bx), crate::guard::functions::common(&[at, bt]))
            }
            BinOp::Div => match (arithmetic_types(at, bt)?, at, bt) {
                ((), Ty::Int, Ty::Int) if polars || self.dialect() == Dialect::Spark => (
                    // Integer division truncates, as in PostgreSQL (polars
                    // and Spark divide integers into a float).
                    Expr::Cast(Box::new(bin(BinOp::Div, ax, bx)), CastTo::BigInt),
                    Ty::Int,
                ),
                ((), Ty::Int, Ty::Int) => (bin(op, ax, bx), Ty::Int),
                _ => (bin(op, ax, bx), Ty::Float),
            },
            BinOp::Mod => match (arithmetic_types(at, bt)?, at, bt) {
                ((), Ty::Int, Ty::Int) if polars => {
                    // The remainder takes the dividend's sign, as in
                    // PostgreSQL: a - b * trunc(a / b).
                    let q = Expr::Cast(
                        Box::new(bin(BinOp::Div, ax.clone(), bx.clone())),
                        CastTo::BigInt,
                    );
                    (bin(BinOp::Sub, ax, bin(BinOp::Mul, bx, q)), Ty::Int)
                }
                _ => (bin(op, ax, bx), crate::guard::functions::common(&[at, bt])),
            },
            BinOp::Concat => (bin(op, ax, bx), Ty::Text),
            _ => (bin(op, ax, bx), Ty::Bool),
        })
    }

    fn in_list(
        &mut self,
        expr: &SqlExpr,
        list: &[SqlExpr],
        not: bool,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let sub = ctx.comp();
        let mut items = Vec::with_capacity(list.len());
        if ctx.is_pred() && is_column(expr) {
            let f = self.column_ref(expr, scope)?;
            match f.lin.eff {
                None => {
                    for item in list {
                        let (i, x) = self.expr(item, sub, scope)?;
                        if i.lin.eff.is_some() {
                            self.equality_between(&f.lin, &i.lin, "IN (…)")?;
                        }
                        let kind = if is_literal(item) {
                            literal_kind(item)
                        } else {
                            (i.ty, None)
                        };
                        self.comparable((f.ty, None), kind, "IN (…)")?;
                        items.push(x);
                    }
                }
                Some(s) => {
                    self.deny_or_agg(s)?;
                    self.need_filter(s, Filter::Equality, "IN (…)")?;
                    for item in list {
                        if is_literal(item) {
                            items.push(self.literal_for(item, s, "IN (…)")?);
                        } else if is_column(item) {
                            let g = self.column_ref(item, scope)?;
                            self.equality_between(&f.lin, &g.lin, "IN (…)")?;
                            items.push(g.expr);
                        } else {
                            let (i, x) = self.expr(item, sub, scope)?;
                            self.equality_between(&f.lin, &i.lin, "IN (…)")?;
                            items.push(x);
                        }
                    }
                }
            }
            return Ok((
                Info::allow(Shape::Computed, Ty::Bool),
                Expr::InList {
                    not,
                    expr: Box::new(f.expr),
                    list: items,
                },
            ));
        }
        let (i, x) = self.expr(expr, sub, scope)?;
        let left = (i.ty, None);
        let mut lin = i.lin;
        for item in list {
            let (ii, ix) = self.expr(item, sub, scope)?;
            let kind = if is_literal(item) {
                literal_kind(item)
            } else {
                (ii.ty, None)
            };
            self.comparable(left, kind, "IN (…)")?;
            lin = self.merge(&lin, &ii.lin)?;
            items.push(ix);
        }
        Ok((
            Info::computed(lin, Ty::Bool),
            Expr::InList {
                not,
                expr: Box::new(x),
                list: items,
            },
        ))
    }

    /// Refuses values of types that do not compare.
    fn comparable(
        &self,
        a: (Ty, Option<&str>),
        b: (Ty, Option<&str>),
        op: &str,
    ) -> Result<(), Refusal> {
        match type_clash(a, b, self.dialect()) {
            None => Ok(()),
            Some(advice) => Err(Refusal::new(
                Reason::UnsupportedConstruct,
                format!("the query compares ({op}) values of types that do not compare; {advice}"),
            )
            .construct(op.to_string())
            .advise(advice)),
        }
    }

    /// A comparison inside a predicate.
    fn comparison(
        &mut self,
        left: &SqlExpr,
        right: &SqlExpr,
        eq: bool,
        op: &str,
        scope: &Scope<'_>,
    ) -> Result<(Expr, Expr), Error> {
        let need = if eq { Filter::Equality } else { Filter::Any };
        let l = self.side(left, scope)?;
        let r = self.side(right, scope)?;
        // Tokens are resolved below; a token against a protected column is
        // of its type then.
        let token_side = |s: &Side<'_>| matches!(s, Side::Lit(e) if literal_kind(e).1.is_some_and(|t| self.g.token_re.is_match(t)));
        let protected = |s: &Side<'_>| matches!(s, Side::Col(lin, _, _) if lin.eff.is_some());
        let tokened = (token_side(&l) && protected(&r)) || (token_side(&r) && protected(&l));
        let mut lx: Option<Expr> = None;
        let mut rx: Option<Expr> = None;
        for (p, q, q_out) in [(&l, &r, &mut rx), (&r, &l, &mut lx)] {
            let Side::Col(plin, _, _) = p else { continue };
            let Some(ps) = plin.eff else { continue };
            self.deny_or_agg(ps)?;
            self.need_filter(ps, need, op)?;
            match q {
                Side::Lit(e) => *q_out = Some(self.literal_for(e, ps, op)?),
                Side::Col(qlin, _, _) => self.equality_between(plin, qlin, op)?,
                Side::Other(..) => {
                    if self.policy(ps).filter != Filter::Any {
                        return Err(Refusal::new(
                            Reason::JoinMismatch,
                            format!(
                                "column `{}` ({}) may only be compared with a token sqlveil issued or a column of the same class, not with a computed value",
                                self.src_name(ps),
                                self.policy(ps).action.as_tag()
                            ),
                        )
                        .column(self.src_name(ps))
                        .construct(op.to_string())
                        .into());
                    }
                }
            }
        }
        // Types last: a protection's refusal says more.
        if !tokened {
            self.comparable(l.kind(), r.kind(), op)?;
        }
        let finish = |w: &mut Walker<'_>, s: Side<'_>, done: Option<Expr>| -> Result<Expr, Error> {
            if let Some(x) = done {
                return Ok(x);
            }
            match s {
                Side::Col(_, x, _) | Side::Other(x, _) => Ok(x),
                Side::Lit(e) => Ok(w.expr(e, Ctx::CompPred, &Scope::default())?.1),
            }
        };
        let a = finish(self, l, lx)?;
        let b = finish(self, r, rx)?;
        Ok((a, b))
    }

    fn side<'e>(&mut self, e: &'e SqlExpr, scope: &Scope<'_>) -> Result<Side<'e>, Error> {
        let mut e = e;
        while let SqlExpr::Nested(inner) = e {
            e = inner;
        }
        if is_column(e) {
            let f = self.column_ref(e, scope)?;
            return Ok(Side::Col(f.lin, f.expr, f.ty));
        }
        if is_literal(e) {
            return Ok(Side::Lit(e));
        }
        let (i, x) = self.expr(e, Ctx::CompPred, scope)?;
        Ok(Side::Other(x, i.ty))
    }

    /// The class whose tokens may be compared with a column: a `tokenize`
    /// column's class, or the `class` its rule names.
    fn column_class(&self, s: Src) -> Option<&TokenClass> {
        let p = self.policy(s);
        match &p.action {
            Action::Tokenize { class } => Some(class),
            _ => p.class.as_ref(),
        }
    }

    /// A literal compared with protected column `ps`: it must be a token
    /// sqlveil issued, of the column's class, which is rewritten into its
    /// value.
    pub(super) fn literal_for(
        &mut self,
        e: &SqlExpr,
        ps: Src,
        construct: &str,
    ) -> Result<Expr, Error> {
        let p = self.policy(ps);
        let col = self.src_name(ps);
        let text = match e {
            SqlExpr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        };
        let plain = |w: &mut Walker<'_>| -> Result<Expr, Error> {
            Ok(w.expr(e, Ctx::CompPred, &Scope::default())?.1)
        };
        let token = text.filter(|t| self.g.token_re.is_match(t));
        let Some(token) = token else {
            if p.filter == Filter::Any {
                return plain(self);
            }
            return Err(Refusal::new(
                Reason::RawLiteral,
                format!(
                    "column `{col}` ({}) may only be compared with a token sqlveil issued, not with a raw literal",
                    p.action.as_tag()
                ),
            )
            .column(col)
            .construct(construct.to_string())
            .into());
        };
        let Some(resolved) = self.resolver.resolve(token)? else {
            if p.filter == Filter::Any {
                return plain(self);
            }
            return Err(Refusal::new(
                Reason::UnresolvedToken,
                format!(
                    "a token compared with column `{col}` is not one sqlveil issued or can resolve"
                ),
            )
            .column(col)
            .construct(construct.to_string())
            .into());
        };
        // A token resolves only against a column of its own class, whatever
        // the column's action.
        match self.column_class(ps) {
            Some(class) if *class == resolved.class => {}
            Some(class) => {
                return Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "a token of class `{}` was compared with column `{col}` of class `{class}`",
                        resolved.class
                    ),
                )
                .column(col)
                .construct(construct.to_string())
                .into())
            }
            None => {
                return Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "column `{col}` ({}) takes no tokens: its rule names no token class",
                        p.action.as_tag()
                    ),
                )
                .column(col)
                .construct(construct.to_string())
                .into())
            }
        }
        let numeric = self
            .g
            .tables
            .get(ps.0 as usize)
            .and_then(|t| t.columns.get(ps.1 as usize))
            .ok_or_else(|| unsupported("a token for a column the guard lost track of"))?
            .ty
            .is_numeric();
        if numeric {
            let v = resolved.value.trim();
            return match literal::number(v.strip_prefix('-').unwrap_or(v)) {
                Ok((lit, _)) if v.starts_with('-') => Ok(Expr::Neg(Box::new(Expr::Lit(lit)))),
                Ok((lit, _)) => Ok(Expr::Lit(lit)),
                Err(_) => Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "a token compared with numeric column `{col}` does not stand for a number"
                    ),
                )
                .column(col)
                .into()),
            };
        }
        Ok(Expr::Lit(Lit::Str(resolved.value)))
    }

    /// A scalar subquery on polars, which has none: a query that returns
    /// exactly one row (aggregates, no `GROUP BY`) joined to the `SELECT`.
    fn lift_scalar(&mut self, q: Query, out: crate::guard::plan::ColId) -> Result<Expr, Refusal> {
        let one_row = q.ctes.is_empty()
            && q.wrap.is_none()
            && match &q.body {
                Body::Select(s) => {
                    s.group_by.is_empty()
                        && s.having.is_none()
                        && !s.items.is_empty()
                        && s.items
                            .iter()
                            .all(|it| super::query::contains_aggregate(&it.expr))
                }
                _ => false,
            };
        if !one_row {
            return Err(not_on_engine(
                "a scalar subquery that is not a single aggregate",
                "polars",
                "compute it in a CTE and join it",
            ));
        }
        let rel = self.lift(q)?;
        Ok(Expr::Col(rel, out))
    }

    /// `EXISTS (…)` on polars: a count of the subquery's rows, joined.
    fn lift_exists(&mut self, q: Query, not: bool) -> Result<Expr, Refusal> {
        let inner = self.rel_id();
        let id = self.col_id();
        let counted = Query {
            ctes: Vec::new(),
            body: Body::Select(Box::new(Select {
                distinct: false,
                from: vec![From::Derived {
                    rel: inner,
                    query: Box::new(q),
                }],
                filter: None,
                items: vec![Item {
                    expr: Expr::Call(Box::new(Call {
                        func: Func::Count,
                        args: Vec::new(),
                        star: true,
                        distinct: false,
                        filter: None,
                        over: None,
                    })),
                    id,
                }],
                group_by: Vec::new(),
                having: None,
            })),
            outputs: vec![id],
            wrap: None,
        };
        let rel = self.lift(counted)?;
        let op = if not { BinOp::Eq } else { BinOp::Gt };
        Ok(bin(
            op,
            Expr::Col(rel, id),
            Expr::Lit(Lit::Number("0".into())),
        ))
    }

    fn lift(&mut self, q: Query) -> Result<crate::guard::plan::RelId, Refusal> {
        let phase = self.phase;
        if phase == Phase::From {
            return Err(not_on_engine(
                "a subquery in a join's ON",
                "polars",
                "move the condition to WHERE",
            ));
        }
        let rel = self.rel_id();
        let frame = self.lifted.last_mut().ok_or_else(|| {
            not_on_engine(
                "a subquery here",
                "polars",
                "compute it in a CTE and join it",
            )
        })?;
        frame.push(Lifted {
            from: From::Derived {
                rel,
                query: Box::new(q),
            },
            phase,
        });
        Ok(rel)
    }
}
