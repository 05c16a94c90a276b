//! Expressions and predicates.

use sqlparser::ast::{
    BinaryOperator, CaseWhen, CastKind, CeilFloorKind, DataType, DateTimeField, Expr as SqlExpr,
    Query as SqlQuery, TrimWhereField, UnaryOperator, ValueWithSpan,
};

use super::literal;
use super::rules::{agg_misuse, not_on_engine, Ctx, Info, Lin, Shape};
use super::scope::Scope;
use super::{unsupported, Walker};
use crate::error::Error;
use crate::guard::functions::{DatePart, Func};
use crate::guard::plan::{
    BinOp, Body, Call, CastTo, Expr, From, IntervalUnit, Item, Lit, Query, Select, TrimSide, Ty,
};
use crate::guard::{variant_name, Dialect, Reason, Refusal};

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

/// A plain literal (`NULL` has a shape of its own).
fn value_expr(v: &ValueWithSpan) -> Result<(Info, Expr), Refusal> {
    let (lit, ty) = literal::value(v)?;
    let shape = if lit == Lit::Null {
        Shape::Null
    } else {
        Shape::Literal
    };
    Ok((Info::allow(shape, ty), Expr::Lit(lit)))
}

/// Refuses `TRY_CAST`, `SAFE_CAST` and a cast with `FORMAT` (or to an
/// array).
fn cast_options(kind: &CastKind, format_or_array: bool) -> Result<(), Refusal> {
    if !matches!(kind, CastKind::Cast | CastKind::DoubleColon) {
        return Err(unsupported("TRY_CAST / SAFE_CAST"));
    }
    if format_or_array {
        return Err(unsupported("CAST with FORMAT"));
    }
    Ok(())
}

/// A date plus or minus an interval literal of days or more (not an
/// interval minus a date); a date on every engine.
fn date_interval(
    op: BinOp,
    at: Ty,
    ax: Expr,
    bx: Expr,
    polars: bool,
) -> Result<(Expr, Ty), Refusal> {
    let unit = match (&ax, &bx) {
        (Expr::Lit(Lit::Interval(_, u)), _) | (_, Expr::Lit(Lit::Interval(_, u))) => *u,
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
    Ok((x, Ty::Date))
}

/// A number of days added to a date on polars, which needs an interval:
/// only a literal (PostgreSQL adds days).
fn days(n: &Expr) -> Result<Expr, Refusal> {
    let n = match n {
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
    Ok(Expr::Lit(Lit::Interval(n, IntervalUnit::Day)))
}

pub(super) fn is_column(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_))
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

    /// One expression: dispatches on its kind to the step that checks and
    /// plans it; a kind not listed is refused.
    fn expr_inner(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let sub = ctx.comp();
        let out = match e {
            SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_) => {
                self.column_expr(e, ctx, scope)?
            }
            SqlExpr::Value(v) => value_expr(v)?,
            SqlExpr::TypedString(ts) => {
                let (lit, ty) = literal::typed(&ts.data_type, &ts.value)?;
                (Info::allow(Shape::Literal, ty), Expr::Lit(lit))
            }
            SqlExpr::Interval(iv) => {
                let (lit, ty) = literal::interval(iv)?;
                (Info::allow(Shape::Literal, ty), Expr::Lit(lit))
            }
            SqlExpr::Nested(inner) => self.expr(inner, ctx, scope)?,
            SqlExpr::BinaryOp { left, op, right } => self.binary_op(left, op, right, ctx, scope)?,
            SqlExpr::IsDistinctFrom(a, b) => self.distinct_from(a, b, false, ctx, scope)?,
            SqlExpr::IsNotDistinctFrom(a, b) => self.distinct_from(a, b, true, ctx, scope)?,
            SqlExpr::UnaryOp { op, expr } => self.unary_op(*op, expr, ctx, scope)?,
            SqlExpr::IsNull(_)
            | SqlExpr::IsNotNull(_)
            | SqlExpr::IsTrue(_)
            | SqlExpr::IsFalse(_)
            | SqlExpr::IsNotTrue(_)
            | SqlExpr::IsNotFalse(_)
            | SqlExpr::InList { .. }
            | SqlExpr::InSubquery { .. }
            | SqlExpr::Between { .. }
            | SqlExpr::Like { .. }
            | SqlExpr::ILike { .. } => self.test(e, ctx, scope)?,
            SqlExpr::Function(f) => self.function(f, ctx, scope)?,
            SqlExpr::Cast { .. }
            | SqlExpr::Extract { .. }
            | SqlExpr::Ceil { .. }
            | SqlExpr::Floor { .. }
            | SqlExpr::Position { .. }
            | SqlExpr::Substring { .. }
            | SqlExpr::Trim { .. } => self.special_form(e, sub, scope)?,
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand, conditions, else_result, ctx, scope)?,
            SqlExpr::Subquery(q) => self.scalar_subquery(q, ctx, scope)?,
            SqlExpr::Exists { subquery, negated } => self.exists(subquery, *negated, scope)?,
            other => {
                return Err(unsupported(format!("the {} expression", variant_name(other))).into())
            }
        };
        Ok(out)
    }

    /// SQL's functions with a syntax of their own: `CAST`, `EXTRACT`,
    /// `CEIL`/`FLOOR`, `POSITION`, `SUBSTRING`, `TRIM`.
    fn special_form(
        &mut self,
        e: &SqlExpr,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let out = match e {
            SqlExpr::Cast {
                kind,
                expr,
                data_type,
                format,
                array,
            } => {
                cast_options(kind, format.is_some() || *array)?;
                self.cast(expr, data_type, sub, scope)?
            }
            SqlExpr::Extract { field, expr, .. } => self.extract(field, expr, sub, scope)?,
            SqlExpr::Ceil { expr, field } => {
                self.ceil_floor(expr, field, Func::Ceil, sub, scope)?
            }
            SqlExpr::Floor { expr, field } => {
                self.ceil_floor(expr, field, Func::Floor, sub, scope)?
            }
            SqlExpr::Position { expr, r#in } => self.position(expr, r#in, sub, scope)?,
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => self.substring(expr, substring_from, substring_for, sub, scope)?,
            SqlExpr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(unsupported("TRIM with a list of characters").into());
                }
                self.trim(expr, trim_where.as_ref(), trim_what, sub, scope)?
            }
            other => {
                return Err(unsupported(format!("the {} expression", variant_name(other))).into())
            }
        };
        Ok(out)
    }

    /// A column reference, resolved in scope and checked as a leaf in
    /// `ctx`.
    fn column_expr(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let f = self.column_ref(e, scope)?;
        self.leaf(&f.lin, ctx, true)?;
        Ok((
            Info {
                lin: f.lin,
                shape: Shape::Column,
                ty: f.ty,
            },
            f.expr,
        ))
    }

    /// A binary operator: `AND`/`OR` and comparisons in a predicate are
    /// checked as filters; anything else is arithmetic over computed values.
    fn binary_op(
        &mut self,
        left: &SqlExpr,
        op: &BinaryOperator,
        right: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let bop = bin_op(op).ok_or_else(|| unsupported(format!("the operator {op}")))?;
        let logical = matches!(bop, BinOp::And | BinOp::Or);
        let compare = matches!(
            bop,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        );
        Ok(if logical && ctx.is_pred() {
            let (_, a) = self.expr(left, ctx, scope)?;
            let (_, b) = self.expr(right, ctx, scope)?;
            (Info::allow(Shape::Computed, Ty::Bool), bin(bop, a, b))
        } else if compare && ctx.is_pred() {
            let eq = matches!(bop, BinOp::Eq | BinOp::NotEq);
            let (a, b) = self.comparison(left, right, eq, &op.to_string(), scope)?;
            (Info::allow(Shape::Computed, Ty::Bool), bin(bop, a, b))
        } else {
            let sub = ctx.comp();
            let a = self.expr(left, sub, scope)?;
            let b = self.expr(right, sub, scope)?;
            let lin = self.merge(&a.0.lin, &b.0.lin)?;
            let (x, ty) = self.arith(bop, a, b)?;
            (Info::computed(lin, ty), x)
        })
    }

    /// `NOT` (a predicate's, or a computation's), unary minus and plus; a
    /// minus before a literal makes a literal, and only before a number.
    fn unary_op(
        &mut self,
        op: UnaryOperator,
        expr: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let sub = ctx.comp();
        Ok(match op {
            UnaryOperator::Not if ctx.is_pred() => {
                let (_, x) = self.expr(expr, ctx, scope)?;
                (
                    Info::allow(Shape::Computed, Ty::Bool),
                    Expr::Not(Box::new(x)),
                )
            }
            UnaryOperator::Minus if matches!(expr, SqlExpr::Value(_)) => {
                let (i, x) = self.expr(expr, sub, scope)?;
                if !i.ty.is_numeric() {
                    return Err(
                        unsupported("a minus sign before a literal that is not a number").into(),
                    );
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
                let ty = if op == UnaryOperator::Not {
                    Ty::Bool
                } else {
                    i.ty
                };
                (Info::computed(i.lin, ty), x)
            }
            other => return Err(unsupported(format!("the operator {other}")).into()),
        })
    }

    /// `CAST(x AS type)` to a type the plan knows; a date is never cast to a
    /// number, and a float cast to an integer rounds on every engine.
    fn cast(
        &mut self,
        expr: &SqlExpr,
        data_type: &DataType,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (to, ty) =
            cast_to(data_type).ok_or_else(|| unsupported(format!("a cast to {data_type}")))?;
        let (i, x) = self.expr(expr, sub, scope)?;
        if matches!(i.ty, Ty::Date | Ty::Timestamp) && matches!(ty, Ty::Int | Ty::Float) {
            return Err(unsupported(
                "a cast of a date to a number (use date_part, or subtract two dates)",
            )
            .into());
        }
        let polars = self.dialect() == Dialect::Polars;
        let truncates = polars || self.dialect() == Dialect::Spark;
        let x = if matches!(to, CastTo::Int | CastTo::BigInt) && i.ty == Ty::Float && truncates {
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
        Ok((Info::computed(i.lin, ty), x))
    }

    /// `EXTRACT(field FROM x)` of a date part the engine can compute.
    fn extract(
        &mut self,
        field: &DateTimeField,
        expr: &SqlExpr,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let part = part_of(field).ok_or_else(|| unsupported(format!("EXTRACT of {field}")))?;
        self.part_on_engine(part)?;
        let (i, x) = self.expr(expr, sub, scope)?;
        let ty = if part.is_whole() { Ty::Int } else { Ty::Float };
        Ok((Info::computed(i.lin, ty), Expr::Part(part, Box::new(x))))
    }

    /// `CEIL(x)` / `FLOOR(x)`, without a scale or a field.
    fn ceil_floor(
        &mut self,
        expr: &SqlExpr,
        field: &CeilFloorKind,
        func: Func,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        if !matches!(
            field,
            CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)
        ) {
            return Err(unsupported("CEIL/FLOOR with a scale or a field").into());
        }
        let (i, x) = self.expr(expr, sub, scope)?;
        Ok((Info::computed(i.lin, i.ty), call(func, vec![x])))
    }

    /// `POSITION(x IN y)`, as `strpos(y, x)`.
    fn position(
        &mut self,
        expr: &SqlExpr,
        within: &SqlExpr,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (a, x) = self.expr(expr, sub, scope)?;
        let (b, y) = self.expr(within, sub, scope)?;
        Ok((
            Info::computed(self.merge(&a.lin, &b.lin)?, Ty::Int),
            call(Func::Strpos, vec![y, x]),
        ))
    }

    /// `SUBSTRING(x FROM start FOR length)`, as `substr(x, start, length)`.
    fn substring(
        &mut self,
        expr: &SqlExpr,
        from: &Option<Box<SqlExpr>>,
        length: &Option<Box<SqlExpr>>,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (i, x) = self.expr(expr, sub, scope)?;
        let mut lin = i.lin;
        let mut args = vec![x];
        match from {
            Some(f) => {
                let (fi, fx) = self.expr(f, sub, scope)?;
                lin = self.merge(&lin, &fi.lin)?;
                args.push(fx);
            }
            None => args.push(Expr::Lit(Lit::Number("1".into()))),
        }
        if let Some(n) = length {
            let (ni, nx) = self.expr(n, sub, scope)?;
            lin = self.merge(&lin, &ni.lin)?;
            args.push(nx);
        }
        Ok((Info::computed(lin, Ty::Text), call(Func::Substr, args)))
    }

    /// `TRIM([BOTH | LEADING | TRAILING] [chars] FROM x)`.
    fn trim(
        &mut self,
        expr: &SqlExpr,
        trim_where: Option<&TrimWhereField>,
        trim_what: &Option<Box<SqlExpr>>,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
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
        Ok((
            Info::computed(lin, Ty::Text),
            Expr::Trim {
                side,
                expr: Box::new(x),
                chars,
            },
        ))
    }

    /// `CASE`: conditions compute on their columns; results pass values
    /// through, so a protected result keeps its protection.
    fn case(
        &mut self,
        operand: &Option<Box<SqlExpr>>,
        conditions: &[CaseWhen],
        else_result: &Option<Box<SqlExpr>>,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let cond_ctx = ctx.comp();
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
        Ok((
            Info::computed(self.merge(&out.lin, &conds)?, out.ty),
            Expr::Case {
                operand: op,
                whens,
                otherwise,
            },
        ))
    }

    /// A scalar subquery: one column, not an aggregate's result, standing
    /// where a column would (polars runs it as a one-row join).
    fn scalar_subquery(
        &mut self,
        q: &SqlQuery,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
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
        Ok((info, x))
    }

    /// `[NOT] EXISTS (SELECT …)` (polars runs it as a one-row join).
    fn exists(
        &mut self,
        subquery: &SqlQuery,
        negated: bool,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (qq, _) = self.query(subquery, scope, false)?;
        let x = match self.dialect() {
            Dialect::Postgres | Dialect::Spark => Expr::Exists {
                not: negated,
                query: Box::new(qq),
            },
            Dialect::Polars => self.lift_exists(qq, negated)?,
        };
        Ok((Info::allow(Shape::Computed, Ty::Bool), x))
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
            BinOp::Add | BinOp::Sub => self.add_sub(op, (at, ax), (bt, bx))?,
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

    /// `+` and `-`, where dates, timestamps and intervals meet: a date plus
    /// an interval of days or more, or a number of days; days between two
    /// dates; never a difference of timestamps.
    fn add_sub(
        &self,
        op: BinOp,
        (at, ax): (Ty, Expr),
        (bt, bx): (Ty, Expr),
    ) -> Result<(Expr, Ty), Refusal> {
        let polars = self.dialect() == Dialect::Polars;
        Ok(match (at, bt) {
            (Ty::Date, Ty::Interval) | (Ty::Interval, Ty::Date) => {
                date_interval(op, at, ax, bx, polars)?
            }
            (Ty::Timestamp, Ty::Interval) | (Ty::Interval, Ty::Timestamp) => {
                if op == BinOp::Sub && at == Ty::Interval {
                    return Err(unsupported("an interval minus a timestamp"));
                }
                (bin(op, ax, bx), Ty::Timestamp)
            }
            (Ty::Date, Ty::Int) if polars => (bin(op, ax, days(&bx)?), Ty::Date),
            (Ty::Date, Ty::Int) => (bin(op, ax, bx), Ty::Date),
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
        })
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
