//! Queries and set operations: `WITH`, `UNION`/`INTERSECT`/`EXCEPT`,
//! `VALUES`, `ORDER BY` and `LIMIT` (a `SELECT` itself is in `select`).

use sqlparser::ast::{
    Expr as SqlExpr, LimitClause, OrderBy, OrderByKind, Query as SqlQuery, SetExpr, SetOperator,
    SetQuantifier, TableAlias, Value, Values, With,
};

use super::rules::{agg_misuse, not_on_engine, Ctx, Info, Shape};
use super::scope::{has_column, ident_matches, CteDef, RelCol, Scope};
use super::{reserved, unsupported, Walker};
use crate::error::Error;
use crate::guard::plan::{
    Body, Call, ColId, Cte, Expr, OrderKey, Query, RelId, SetOp, Window, Wrap,
};
use crate::guard::{variant_name, Dialect, Reason, Refusal, HIDDEN_PREFIX};

/// An output column of a query level.
#[derive(Debug, Clone)]
pub(super) struct OutCol {
    /// The name the query gives it (alias or column name); `None` for an
    /// unnamed computed item.
    pub(super) name: Option<String>,
    /// A name for an unnamed item of the outermost query (a function's
    /// name).
    pub(super) fallback: Option<String>,
    pub(super) info: Info,
    pub(super) id: ColId,
}

/// A `GROUP BY` or `ORDER BY` item: an output (by position or name) or an
/// expression over the input.
pub(super) enum By {
    Output(usize),
    Expr(Expr),
}

impl Walker<'_> {
    /// A query: `WITH`, its body (a `SELECT`, a set operation, `VALUES`),
    /// `ORDER BY` and `LIMIT`. The outermost query (`top`) and one with a
    /// limit are wrapped in a select that orders, caps and filters groups.
    pub(super) fn query(
        &mut self,
        q: &SqlQuery,
        scope: &Scope<'_>,
        top: bool,
    ) -> Result<(Query, Vec<OutCol>), Error> {
        self.enter()?;
        refuse_clauses(q)?;
        let mut qs = Scope::child(scope);
        let ctes = match &q.with {
            Some(with) => self.with(with, &mut qs)?,
            None => Vec::new(),
        };
        let capped = top || q.limit_clause.is_some();
        let wrap_rel = if capped { self.rel_id() } else { 0 };
        let (body, outs, order, filters) = match &*q.body {
            SetExpr::Select(s) => {
                let so = self.select(s, &qs, top, q.order_by.as_ref(), wrap_rel)?;
                (
                    Body::Select(Box::new(so.select)),
                    so.outs,
                    so.order,
                    so.filters,
                )
            }
            other => {
                let (inner, outs) = self.set_operand(other, &qs)?;
                let order = match &q.order_by {
                    Some(ob) => self.order_by_outputs(ob, &outs, wrap_rel)?,
                    None => Vec::new(),
                };
                let body = match inner {
                    Query {
                        ctes,
                        body,
                        wrap: None,
                        ..
                    } if ctes.is_empty() => body,
                    nested => Body::Nested(Box::new(nested)),
                };
                (body, outs, order, Vec::new())
            }
        };
        let (limit, offset) = self.limit(q, top)?;
        let outputs: Vec<ColId> = outs.iter().map(|o| o.id).collect();
        let wrap = capped.then(|| {
            let mut select = outputs.clone();
            for f in &filters {
                select.push(f.distinct);
                select.extend(f.rows);
            }
            Wrap {
                rel: wrap_rel,
                select,
                filters,
                order,
                tie: outs.iter().map(|o| tie_key(wrap_rel, o)).collect(),
                limit,
                offset,
            }
        });
        self.leave();
        Ok((
            Query {
                ctes,
                body,
                outputs,
                wrap,
            },
            outs,
        ))
    }

    /// `WITH`: each CTE walked in the scope of those before it (not
    /// `RECURSIVE`), its name introduced and its columns renamed by its
    /// alias.
    fn with(&mut self, with: &With, qs: &mut Scope<'_>) -> Result<Vec<Cte>, Error> {
        if with.recursive {
            return Err(unsupported("WITH RECURSIVE").into());
        }
        let mut ctes = Vec::new();
        for cte in &with.cte_tables {
            if cte.from.is_some() {
                return Err(unsupported("CTE FROM").into());
            }
            self.introduce(&cte.alias.name, None)?;
            let start = self.occ.len();
            let (cq, outs) = self.query(&cte.query, qs, false)?;
            let occ = self.occ.split_off(start);
            let cols = rename(outs, &cte.alias)?;
            let rel = self.rel_id();
            qs.ctes.push(CteDef {
                name: cte.alias.name.clone(),
                rel,
                cols,
                occ,
            });
            ctes.push(Cte { rel, query: cq });
        }
        Ok(ctes)
    }

    /// A branch of a set operation (or a parenthesised query standing as a
    /// query's body).
    fn set_operand(
        &mut self,
        e: &SetExpr,
        scope: &Scope<'_>,
    ) -> Result<(Query, Vec<OutCol>), Error> {
        self.enter()?;
        let out = match e {
            SetExpr::Select(s) => {
                let so = self.select(s, scope, false, None, 0)?;
                let outputs = so.outs.iter().map(|o| o.id).collect();
                (
                    Query {
                        ctes: Vec::new(),
                        body: Body::Select(Box::new(so.select)),
                        outputs,
                        wrap: None,
                    },
                    so.outs,
                )
            }
            SetExpr::Query(q) => self.query(q, scope, false)?,
            SetExpr::SetOperation {
                left,
                right,
                op,
                set_quantifier,
            } => self.set_operation(left, right, op, set_quantifier, scope)?,
            SetExpr::Values(values) => self.values(values)?,
            other => {
                return Err(Refusal::new(
                    Reason::NotASelect,
                    format!(
                        "only a read-only SELECT may run, not {}",
                        variant_name(other)
                    ),
                )
                .construct(variant_name(other))
                .into())
            }
        };
        self.leave();
        Ok(out)
    }

    /// `UNION`, `INTERSECT` or `EXCEPT` (`ALL` only with `UNION` on
    /// polars): branches of as many columns, each pair merged; one that
    /// compares rows checks them as a grouping.
    fn set_operation(
        &mut self,
        left: &SetExpr,
        right: &SetExpr,
        op: &SetOperator,
        set_quantifier: &SetQuantifier,
        scope: &Scope<'_>,
    ) -> Result<(Query, Vec<OutCol>), Error> {
        let (lq, l) = self.set_operand(left, scope)?;
        let (rq, r) = self.set_operand(right, scope)?;
        if l.len() != r.len() {
            return Err(Refusal::new(
                Reason::UnsupportedConstruct,
                format!(
                    "the branches of {op} have {} and {} columns",
                    l.len(),
                    r.len()
                ),
            )
            .construct(op.to_string())
            .into());
        }
        let all = match set_quantifier {
            SetQuantifier::All => true,
            SetQuantifier::None | SetQuantifier::Distinct => false,
            other => return Err(unsupported(format!("{op} {other}")).into()),
        };
        let sop = match op {
            SetOperator::Union => SetOp::Union,
            SetOperator::Intersect => SetOp::Intersect,
            SetOperator::Except => SetOp::Except,
            other => return Err(unsupported(other.to_string()).into()),
        };
        if all && sop != SetOp::Union && self.dialect() == Dialect::Polars {
            return Err(not_on_engine(
                &format!("{op} ALL"),
                "polars",
                "use INTERSECT or EXCEPT without ALL",
            )
            .into());
        }
        // UNION (without ALL), INTERSECT and EXCEPT compare rows.
        let compares = !(all && sop == SetOp::Union);
        let construct = op.to_string();
        let mut outs = Vec::with_capacity(l.len());
        for (a, b) in l.into_iter().zip(r) {
            let info = self.merge_pass(&a.info, &b.info, &construct)?;
            if compares {
                self.grouping(&info, &construct)?;
            }
            outs.push(OutCol {
                name: a.name,
                fallback: a.fallback,
                info,
                id: a.id,
            });
        }
        let outputs = lq.outputs.clone();
        Ok((
            Query {
                ctes: Vec::new(),
                body: Body::SetOp {
                    op: sop,
                    all,
                    left: Box::new(lq),
                    right: Box::new(rq),
                },
                outputs,
                wrap: None,
            },
            outs,
        ))
    }

    /// `VALUES`: rows of literals, all of one length; each column's
    /// protections merged over its rows.
    fn values(&mut self, values: &Values) -> Result<(Query, Vec<OutCol>), Error> {
        let mut outs: Vec<OutCol> = Vec::new();
        let mut rows = Vec::with_capacity(values.rows.len());
        for row in &values.rows {
            if row.content.len() != outs.len() && !outs.is_empty() {
                return Err(unsupported("VALUES rows of different lengths").into());
            }
            let mut ir = Vec::with_capacity(row.content.len());
            for (i, e) in row.content.iter().enumerate() {
                let (info, x) = self.values_item(e)?;
                match outs.get_mut(i) {
                    Some(o) => o.info = self.merge_pass(&o.info, &info, "VALUES")?,
                    None => {
                        let id = self.col_id();
                        outs.push(OutCol {
                            name: Some(format!("column{}", i + 1)),
                            fallback: None,
                            info,
                            id,
                        });
                    }
                }
                ir.push(x);
            }
            rows.push(ir);
        }
        let outputs = outs.iter().map(|o| o.id).collect();
        Ok((
            Query {
                ctes: Vec::new(),
                body: Body::Values(rows),
                outputs,
                wrap: None,
            },
            outs,
        ))
    }

    /// A `VALUES` item: a literal.
    fn values_item(&mut self, e: &SqlExpr) -> Result<(Info, Expr), Error> {
        let root = Scope::default();
        let mut inner = e;
        while let SqlExpr::Nested(x) = inner {
            inner = x;
        }
        let literal = match inner {
            SqlExpr::Value(_) | SqlExpr::TypedString(_) => true,
            SqlExpr::UnaryOp { expr, .. } => matches!(&**expr, SqlExpr::Value(_)),
            _ => false,
        };
        if !literal {
            return Err(unsupported("an expression in VALUES (only literals)").into());
        }
        self.expr(inner, Ctx::CompOut, &root)
    }

    pub(super) fn by_item(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        outs: &[OutCol],
        cur: &Scope<'_>,
    ) -> Result<By, Error> {
        if let SqlExpr::Value(v) = e {
            if let Value::Number(n, _) = &v.value {
                let i = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .filter(|&i| i < outs.len())
                    .ok_or_else(|| {
                        Refusal::new(
                            Reason::UnknownColumn,
                            format!("{} position {n} is not in the select list", ctx.place()),
                        )
                        .construct(ctx.place())
                    })?;
                self.by_output(output(outs, i)?, ctx)?;
                return Ok(By::Output(i));
            }
        }
        if let SqlExpr::Identifier(id) = e {
            // An input column wins in GROUP BY; an output name wins in ORDER BY.
            let out = outs
                .iter()
                .position(|o| o.name.as_deref().is_some_and(|n| ident_matches(id, n)));
            let input = has_column(cur, id);
            if let Some(i) = out {
                if ctx == Ctx::Order || !input {
                    self.by_output(output(outs, i)?, ctx)?;
                    return Ok(By::Output(i));
                }
            }
        }
        let (_, x) = self.expr(e, ctx, cur)?;
        Ok(By::Expr(x))
    }

    fn by_output(&mut self, o: &OutCol, ctx: Ctx) -> Result<(), Refusal> {
        if o.info.shape == Shape::AggResult {
            return Err(agg_misuse(ctx.place()));
        }
        self.leaf(&o.info.lin, ctx, o.info.shape == Shape::Column)
    }

    fn order_by_outputs(
        &mut self,
        ob: &OrderBy,
        outs: &[OutCol],
        wrap_rel: RelId,
    ) -> Result<Vec<OrderKey>, Error> {
        let OrderByKind::Expressions(keys) = &ob.kind else {
            return Err(unsupported("ORDER BY ALL").into());
        };
        let empty = Scope::default();
        let mut order = Vec::with_capacity(keys.len());
        for k in keys {
            if k.with_fill.is_some() {
                return Err(unsupported("WITH FILL").into());
            }
            match self.by_item(&k.expr, Ctx::Order, outs, &empty)? {
                By::Output(i) => order.push(OrderKey {
                    expr: Expr::Col(wrap_rel, output(outs, i)?.id),
                    desc: k.options.asc == Some(false),
                    nulls_first: k.options.nulls_first,
                }),
                By::Expr(..) => {
                    return Err(Refusal::new(
                        Reason::UnsupportedConstruct,
                        "ORDER BY after UNION, INTERSECT or EXCEPT may only name output columns",
                    )
                    .construct("ORDER BY")
                    .into())
                }
            }
        }
        Ok(order)
    }

    /// The row cap: `LIMIT` within `max_rows` at the top, `OFFSET` never
    /// reaching past it.
    fn limit(&self, q: &SqlQuery, top: bool) -> Result<(Option<u64>, Option<u64>), Refusal> {
        let cap = self.g.max_rows;
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(unsupported("LIMIT BY"));
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        let as_number = |e: &SqlExpr, what: &str| -> Result<u64, Refusal> {
            match e {
                SqlExpr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<u64>().ok(),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| {
                Refusal::new(
                    Reason::RowCap,
                    format!("{what} must be a whole number literal"),
                )
                .construct(what.to_string())
            })
        };
        let limit = limit.map(|l| as_number(l, "LIMIT")).transpose()?;
        let offset = offset.map(|o| as_number(o, "OFFSET")).transpose()?;
        if limit.is_none() && offset.is_none() && !top {
            return Ok((None, None));
        }
        let off = offset.unwrap_or(0);
        if off >= cap {
            return Err(Refusal::new(
                Reason::RowCap,
                format!("OFFSET {off} reaches past the row cap of {cap}; paging around the cap is not allowed"),
            )
            .construct("OFFSET"));
        }
        let lim = limit.unwrap_or(cap).min(cap - off);
        Ok((Some(lim), offset))
    }
}

/// Refuses what a query may hold but the guard does not read: `FETCH`,
/// locks, `FOR`/`SETTINGS`/`FORMAT` clauses and pipe operators.
fn refuse_clauses(q: &SqlQuery) -> Result<(), Refusal> {
    if q.fetch.is_some() {
        return Err(unsupported("FETCH"));
    }
    if !q.locks.is_empty() {
        return Err(unsupported("FOR UPDATE / FOR SHARE"));
    }
    if q.for_clause.is_some() || q.settings.is_some() || q.format_clause.is_some() {
        return Err(unsupported("FOR / SETTINGS / FORMAT clauses"));
    }
    if !q.pipe_operators.is_empty() {
        return Err(unsupported("pipe operators"));
    }
    Ok(())
}

/// The key that breaks ties on one output: its value when it is shown as
/// it is, a keyed hash of it when it is protected.
fn tie_key(wrap: RelId, o: &OutCol) -> OrderKey {
    let col = Expr::Col(wrap, o.id);
    OrderKey {
        expr: if o.info.protected() {
            Expr::OrderHash(Box::new(col))
        } else {
            col
        },
        desc: false,
        nulls_first: None,
    }
}

/// Applies `AS t(a, b)` column renames to a relation's columns, and checks
/// that the relation's column names are unique.
pub(super) fn rename_cols(cols: &mut [RelCol], alias: &TableAlias) -> Result<(), Refusal> {
    if !alias.columns.is_empty() && alias.columns.len() != cols.len() {
        return Err(unsupported(format!(
            "an alias naming {} columns of a relation that has {}",
            alias.columns.len(),
            cols.len()
        )));
    }
    for (c, a) in cols.iter_mut().zip(alias.columns.iter()) {
        if a.data_type.is_some() {
            return Err(unsupported("typed alias columns"));
        }
        if a.name.value.starts_with(HIDDEN_PREFIX) {
            return Err(reserved(&a.name.value));
        }
        c.name = a.name.value.clone();
    }
    for (i, c) in cols.iter().enumerate() {
        if !c.name.is_empty()
            && cols
                .iter()
                .take(i)
                .any(|d| d.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(Refusal::new(
                Reason::AmbiguousColumn,
                format!(
                    "a subquery or CTE has two columns named `{}`; give them distinct names",
                    c.name
                ),
            )
            .column(c.name.clone()));
        }
    }
    Ok(())
}

/// A query level's outputs as the columns of a relation (a derived table or
/// a CTE), renamed by the alias's column list.
pub(super) fn rename(outs: Vec<OutCol>, alias: &TableAlias) -> Result<Vec<RelCol>, Refusal> {
    let mut cols: Vec<RelCol> = outs
        .into_iter()
        .map(|o| RelCol {
            name: o.name.unwrap_or_default(),
            lin: o.info.lin,
            id: o.id,
            ty: o.info.ty,
        })
        .collect();
    rename_cols(&mut cols, alias)?;
    Ok(cols)
}

/// Whether an expression holds an aggregate call (outside subqueries).
pub(super) fn contains_aggregate(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if let Expr::Call(c) = x {
            found |= is_aggregate_call(c);
        }
    });
    found
}

/// Whether `c` is an aggregate call (not a window).
pub(super) fn is_aggregate_call(c: &Call) -> bool {
    c.over.is_none()
        && crate::guard::functions::kind_of(c.func) == crate::guard::functions::Kind::Aggregate
}

/// Calls `f` on `e` and every expression inside it, not entering subqueries.
pub(super) fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Col(..) | Expr::Lit(_) | Expr::Scalar(_) | Expr::Exists { .. } => {}
        Expr::Neg(x) | Expr::Not(x) | Expr::Is(_, x) | Expr::Cast(x, _) | Expr::OrderHash(x) => {
            visit(x, f)
        }
        Expr::Part(_, x) | Expr::Trunc(_, x, _) | Expr::ToDate(x, _) => visit(x, f),
        Expr::Bin(_, a, b)
        | Expr::Distinct {
            left: a, right: b, ..
        } => {
            visit(a, f);
            visit(b, f);
        }
        Expr::Like { expr, pattern, .. } => {
            visit(expr, f);
            visit(pattern, f);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            visit(expr, f);
            visit(low, f);
            visit(high, f);
        }
        Expr::InList { expr, list, .. } => {
            visit(expr, f);
            for x in list {
                visit(x, f);
            }
        }
        Expr::InQuery { expr, .. } => visit(expr, f),
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            if let Some(o) = operand {
                visit(o, f);
            }
            for (w, t) in whens {
                visit(w, f);
                visit(t, f);
            }
            if let Some(o) = otherwise {
                visit(o, f);
            }
        }
        Expr::Trim { expr, chars, .. } => {
            visit(expr, f);
            if let Some(c) = chars {
                visit(c, f);
            }
        }
        Expr::Call(c) => {
            for a in &c.args {
                visit(a, f);
            }
            if let Some(flt) = &c.filter {
                visit(flt, f);
            }
            if let Some(w) = &c.over {
                visit_window(w, f);
            }
        }
    }
}

fn visit_window(w: &Window, f: &mut dyn FnMut(&Expr)) {
    for p in &w.partition {
        visit(p, f);
    }
    for k in &w.order {
        visit(&k.expr, f);
    }
}

pub(super) fn visit_mut(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    f(e);
    match e {
        Expr::Col(..) | Expr::Lit(_) | Expr::Scalar(_) | Expr::Exists { .. } => {}
        Expr::Neg(x) | Expr::Not(x) | Expr::Is(_, x) | Expr::Cast(x, _) | Expr::OrderHash(x) => {
            visit_mut(x, f)
        }
        Expr::Part(_, x) | Expr::Trunc(_, x, _) | Expr::ToDate(x, _) => visit_mut(x, f),
        Expr::Bin(_, a, b)
        | Expr::Distinct {
            left: a, right: b, ..
        } => {
            visit_mut(a, f);
            visit_mut(b, f);
        }
        Expr::Like { expr, pattern, .. } => {
            visit_mut(expr, f);
            visit_mut(pattern, f);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            visit_mut(expr, f);
            visit_mut(low, f);
            visit_mut(high, f);
        }
        Expr::InList { expr, list, .. } => {
            visit_mut(expr, f);
            for x in list {
                visit_mut(x, f);
            }
        }
        Expr::InQuery { expr, .. } => visit_mut(expr, f),
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            if let Some(o) = operand {
                visit_mut(o, f);
            }
            for (w, t) in whens {
                visit_mut(w, f);
                visit_mut(t, f);
            }
            if let Some(o) = otherwise {
                visit_mut(o, f);
            }
        }
        Expr::Trim { expr, chars, .. } => {
            visit_mut(expr, f);
            if let Some(c) = chars {
                visit_mut(c, f);
            }
        }
        Expr::Call(c) => {
            for a in &mut c.args {
                visit_mut(a, f);
            }
            if let Some(flt) = &mut c.filter {
                visit_mut(flt, f);
            }
        }
    }
}

/// The select list's `i`th output, found by position or name from the
/// select list itself; out of range is refused, not guessed.
pub(super) fn output(outs: &[OutCol], i: usize) -> Result<&OutCol, Refusal> {
    outs.get(i)
        .ok_or_else(|| unsupported("a position outside the select list"))
}
