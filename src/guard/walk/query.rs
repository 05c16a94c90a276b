//! Queries, set operations and `SELECT`: the select list, `GROUP BY`,
//! `HAVING`, `ORDER BY`, `LIMIT` and the group-size checks.

use sqlparser::ast::{
    Distinct, Expr as SqlExpr, GroupByExpr, LimitClause, OrderBy, OrderByKind, Query as SqlQuery,
    Select as SqlSelect, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    SetOperator, SetQuantifier, TableAlias, Value,
};

use super::expr::Phase;
use super::rules::{agg_misuse, not_on_engine, Ctx, Info, Shape};
use super::scope::{has_column, ident_matches, rel_matches, CteDef, Rel, RelCol, Scope};
use super::{closest, nothing_to_show, reserved, single_ident, unsupported, Walker};
use crate::error::Error;
use crate::guard::functions::Func;
use crate::guard::plan::{
    Body, Call, ColId, Cte, Expr, GroupFilter, IsTest, Item, OrderKey, Query, RelId, Select, SetOp,
    Window, Wrap,
};
use crate::guard::{variant_name, Dialect, Reason, Refusal, HIDDEN_PREFIX};
use crate::rules::Action;

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

/// What a `SELECT` produced.
struct SelOut {
    select: Select,
    outs: Vec<OutCol>,
    order: Vec<OrderKey>,
    filters: Vec<GroupFilter>,
}

/// A `GROUP BY` or `ORDER BY` item: an output (by position or name) or an
/// expression over the input.
enum By {
    Output(usize),
    Expr(Expr),
}

impl Walker<'_> {
    pub(super) fn query(
        &mut self,
        q: &SqlQuery,
        scope: &Scope<'_>,
        top: bool,
    ) -> Result<(Query, Vec<OutCol>), Error> {
        self.enter()?;
        if q.fetch.is_some() {
            return Err(unsupported("FETCH").into());
        }
        if !q.locks.is_empty() {
            return Err(unsupported("FOR UPDATE / FOR SHARE").into());
        }
        if q.for_clause.is_some() || q.settings.is_some() || q.format_clause.is_some() {
            return Err(unsupported("FOR / SETTINGS / FORMAT clauses").into());
        }
        if !q.pipe_operators.is_empty() {
            return Err(unsupported("pipe operators").into());
        }
        let mut qs = Scope::child(scope);
        let mut ctes = Vec::new();
        if let Some(with) = &q.with {
            if with.recursive {
                return Err(unsupported("WITH RECURSIVE").into());
            }
            for cte in &with.cte_tables {
                if cte.from.is_some() {
                    return Err(unsupported("CTE FROM").into());
                }
                self.introduce(&cte.alias.name, None)?;
                let start = self.occ.len();
                let (cq, outs) = self.query(&cte.query, &qs, false)?;
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
        }
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
            } => {
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
                (
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
                )
            }
            SetExpr::Values(values) => {
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
                (
                    Query {
                        ctes: Vec::new(),
                        body: Body::Values(rows),
                        outputs,
                        wrap: None,
                    },
                    outs,
                )
            }
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

    fn select(
        &mut self,
        s: &SqlSelect,
        scope: &Scope<'_>,
        top: bool,
        order_by: Option<&OrderBy>,
        wrap_rel: RelId,
    ) -> Result<SelOut, Error> {
        if matches!(s.distinct, Some(Distinct::On(_))) {
            return Err(unsupported("DISTINCT ON").into());
        }
        if s.top.is_some() {
            return Err(unsupported("TOP").into());
        }
        if s.into.is_some() {
            return Err(Refusal::new(
                Reason::NotASelect,
                "SELECT INTO writes a table; only a read-only SELECT may run",
            )
            .construct("SELECT INTO")
            .into());
        }
        if !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || !s.named_window.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || s.exclude.is_some()
            || s.select_modifiers.is_some()
            || !s.optimizer_hints.is_empty()
            || s.flavor != SelectFlavor::Standard
        {
            return Err(unsupported(
                "dialect-specific SELECT clauses (QUALIFY, WINDOW, PREWHERE, CONNECT BY, hints, FROM-first)",
            )
            .into());
        }
        let mut cur = Scope::child(scope);
        let saved_phase = self.phase;
        self.lifted.push(Vec::new());
        self.phase = Phase::From;
        let mut from = Vec::with_capacity(s.from.len());
        for twj in &s.from {
            from.push(self.table_with_joins(twj, &mut cur, scope)?);
        }
        self.phase = Phase::Where;
        let filter = match &s.selection {
            Some(w) => Some(self.expr(w, Ctx::Pred, &cur)?.1),
            None => None,
        };
        self.phase = Phase::After;
        // The select list.
        let mut outs: Vec<OutCol> = Vec::new();
        let mut items: Vec<Item> = Vec::with_capacity(s.projection.len());
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(opts) => {
                    if opts.opt_ilike.is_some()
                        || opts.opt_exclude.is_some()
                        || opts.opt_except.is_some()
                        || opts.opt_replace.is_some()
                        || opts.opt_rename.is_some()
                        || opts.opt_alias.is_some()
                    {
                        return Err(
                            unsupported("wildcard options (EXCLUDE, EXCEPT, REPLACE)").into()
                        );
                    }
                    let before = items.len();
                    let rels = cur.rels.clone();
                    for r in &rels {
                        self.expand(r, &mut items, &mut outs);
                    }
                    if items.len() == before {
                        return Err(nothing_to_show("*").into());
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    if opts.opt_ilike.is_some()
                        || opts.opt_exclude.is_some()
                        || opts.opt_except.is_some()
                        || opts.opt_replace.is_some()
                        || opts.opt_rename.is_some()
                        || opts.opt_alias.is_some()
                    {
                        return Err(
                            unsupported("wildcard options (EXCLUDE, EXCEPT, REPLACE)").into()
                        );
                    }
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(unsupported("expression wildcard").into());
                    };
                    let q = single_ident(name).ok_or_else(|| unsupported("multi-part wildcard"))?;
                    let matches: Vec<&Rel> =
                        cur.rels.iter().filter(|r| rel_matches(r, q)).collect();
                    let rel = match matches.as_slice() {
                        [one] => (*one).clone(),
                        [] => {
                            return Err(Refusal::new(
                                Reason::UnknownTable,
                                format!(
                                    "no table or alias `{}` in FROM for `{}.*`",
                                    q.value, q.value
                                ),
                            )
                            .construct(format!("{}.*", q.value))
                            .suggest(closest(
                                &q.value,
                                cur.rels
                                    .iter()
                                    .filter_map(|r| r.qual.as_ref().map(|i| i.value.as_str())),
                            ))
                            .into())
                        }
                        _ => {
                            return Err(Refusal::new(
                                Reason::AmbiguousColumn,
                                format!("`{}` names several tables in FROM", q.value),
                            )
                            .construct(format!("{}.*", q.value))
                            .into())
                        }
                    };
                    let before = items.len();
                    self.expand(&rel, &mut items, &mut outs);
                    if items.len() == before {
                        return Err(nothing_to_show(&format!("{}.*", q.value)).into());
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    let (info, x) = self.item_expr(e, top, &cur)?;
                    let (name, fallback) = item_name(e);
                    let id = self.col_id();
                    outs.push(OutCol {
                        name,
                        fallback,
                        info,
                        id,
                    });
                    items.push(Item { expr: x, id });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    if alias.value.starts_with(HIDDEN_PREFIX) {
                        return Err(reserved(&alias.value).into());
                    }
                    let (info, x) = self.item_expr(expr, top, &cur)?;
                    let id = self.col_id();
                    outs.push(OutCol {
                        name: Some(alias.value.clone()),
                        fallback: None,
                        info,
                        id,
                    });
                    items.push(Item { expr: x, id });
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(unsupported("multiple aliases for one item").into())
                }
            }
        }
        let distinct = matches!(s.distinct, Some(Distinct::Distinct));
        if distinct {
            for o in &outs {
                self.grouping(&o.info, "SELECT DISTINCT")?;
            }
        }
        self.shadowing(&outs, &cur)?;
        // GROUP BY.
        let mut group_by = Vec::new();
        match &s.group_by {
            GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL").into()),
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(unsupported("GROUP BY modifiers (ROLLUP, CUBE, TOTALS)").into());
                }
                for e in exprs {
                    match self.by_item(e, Ctx::Group, &outs, &cur)? {
                        By::Output(i) => {
                            let x = items
                                .get(i)
                                .map(|it| it.expr.clone())
                                .ok_or_else(|| unsupported("GROUP BY position"))?;
                            if contains_aggregate(&x) {
                                return Err(Refusal::new(
                                    Reason::UnsupportedConstruct,
                                    "GROUP BY names an output that is an aggregate",
                                )
                                .construct("GROUP BY")
                                .into());
                            }
                            group_by.push(x);
                        }
                        By::Expr(x) => group_by.push(x),
                    }
                }
            }
        }
        let mut having = match &s.having {
            Some(h) => Some(self.expr(h, Ctx::Pred, &cur)?.1),
            None => None,
        };
        // A constant key groups nothing, and engines read an integer in
        // GROUP BY as a position: it is left out. A query grouped only by
        // constants still has no row over no rows.
        let keys = group_by.len();
        group_by.retain(Expr::reads_column);
        if keys > 0 && group_by.is_empty() && self.dialect() == Dialect::Polars {
            return Err(not_on_engine(
                "a GROUP BY of constants only",
                "polars",
                "leave the GROUP BY out",
            )
            .into());
        }
        if keys > 0 && group_by.is_empty() {
            let nonempty = Expr::Bin(
                crate::guard::plan::BinOp::Gt,
                Box::new(count_star()),
                Box::new(Expr::Lit(crate::guard::plan::Lit::Number("0".into()))),
            );
            having = Some(match having {
                None => nonempty,
                Some(h) => Expr::Bin(
                    crate::guard::plan::BinOp::And,
                    Box::new(h),
                    Box::new(nonempty),
                ),
            });
        }
        // ORDER BY: outputs by reference, anything else as a hidden item the
        // wrapper orders by.
        let mut order = Vec::new();
        if let Some(ob) = order_by {
            let OrderByKind::Expressions(keys) = &ob.kind else {
                return Err(unsupported("ORDER BY ALL").into());
            };
            if ob.interpolate.is_some() {
                return Err(unsupported("INTERPOLATE").into());
            }
            for k in keys {
                if k.with_fill.is_some() {
                    return Err(unsupported("WITH FILL").into());
                }
                let expr = match self.by_item(&k.expr, Ctx::Order, &outs, &cur)? {
                    By::Output(i) => Expr::Col(wrap_rel, output(&outs, i)?.id),
                    By::Expr(x) => {
                        if distinct {
                            return Err(Refusal::new(
                                Reason::UnsupportedConstruct,
                                "with SELECT DISTINCT, ORDER BY may only name columns of the select list",
                            )
                            .construct("ORDER BY")
                            .into());
                        }
                        let id = self.col_id();
                        items.push(Item { expr: x, id });
                        Expr::Col(wrap_rel, id)
                    }
                };
                order.push(OrderKey {
                    expr,
                    desc: k.options.asc == Some(false),
                    nulls_first: k.options.nulls_first,
                });
            }
        }
        // Hidden group-size columns, two per summarised `aggregate` column:
        // the distinct subjects that have a value, and the rows that have
        // one. A group is kept only when the first reaches `min_group_size`
        // and both are equal, so that a join cannot weigh one person many
        // times.
        let mut filters = Vec::new();
        if top {
            let checks = std::mem::take(&mut self.checks);
            for c in &checks {
                let rel = cur.rels.iter().find(|r| r.id == c.rel).ok_or_else(|| {
                    unsupported("an aggregate over a column of a relation out of scope")
                })?;
                let t = self.g.tables.get(c.table as usize).ok_or_else(|| {
                    unsupported("an aggregate over a table the guard lost track of")
                })?;
                // Groups must not overlap: keyed by the summarised table's
                // own columns, they split its rows, each into one group.
                // A key from another relation (a join to products, VALUES,
                // a DISTINCT subquery) copies its rows into several groups,
                // and two groups that differ by one person give that
                // person's value as the difference of their sums.
                if group_by.iter().any(|k| !reads_only(k, c.rel)) {
                    let col = t
                        .columns
                        .get(c.column as usize)
                        .map(|gc| format!("{}.{}", t.name, gc.name))
                        .unwrap_or_default();
                    return Err(Refusal::new(
                        Reason::AggregateMisuse,
                        format!(
                            "column `{col}` is summarised in groups keyed by something other than columns of table `{}`: a joined row can fall into several groups, and two groups that differ by one person single them out; group by columns of `{}` only",
                            t.name, t.name
                        ),
                    )
                    .column(col)
                    .construct("GROUP BY")
                    .into());
                }
                let value = rel
                    .cols
                    .get(c.column as usize)
                    .map(|rc| Expr::Col(rel.id, rc.id))
                    .ok_or_else(|| unsupported("an aggregate over an unknown column"))?;
                let subject = match &t.subject {
                    Some(subj) => {
                        let i = t
                            .columns
                            .iter()
                            .position(|gc| &gc.name == subj)
                            .ok_or_else(|| {
                                Refusal::new(
                                    Reason::UnknownColumn,
                                    format!(
                                        "the subject column `{subj}` of table `{}` is not in the data",
                                        t.name
                                    ),
                                )
                            })?;
                        rel.cols.get(i).map(|rc| Expr::Col(rel.id, rc.id))
                    }
                    None => None,
                };
                self.mark(&value);
                let distinct_id = self.col_id();
                // A table read on its own (no join, no derived table) whose
                // subject column the catalog found unique has one person
                // per row: rows with a value count the people, without the
                // cost of a distinct count. `run` asks the engine that the
                // column is still unique before the query runs.
                let one_per_row = t
                    .subject_unique
                    .as_ref()
                    .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
                    && rel.base == Some(c.table)
                    && cur.rels.len() == 1;
                let (count_arg, distinct) = match &subject {
                    Some(_) if one_per_row => (value.clone(), false),
                    Some(subj) => {
                        self.mark(subj);
                        (
                            Expr::Case {
                                operand: None,
                                whens: vec![(
                                    Expr::Is(IsTest::NotNull, Box::new(value.clone())),
                                    subj.clone(),
                                )],
                                otherwise: None,
                            },
                            true,
                        )
                    }
                    None => (value.clone(), false),
                };
                items.push(Item {
                    expr: count(count_arg, distinct),
                    id: distinct_id,
                });
                let rows = match subject {
                    Some(_) if one_per_row => None,
                    Some(_) => {
                        let id = self.col_id();
                        items.push(Item {
                            expr: count(value, false),
                            id,
                        });
                        Some(id)
                    }
                    None => None,
                };
                filters.push(GroupFilter {
                    distinct: distinct_id,
                    rows,
                    min: c.min,
                    unique_subject: one_per_row.then_some(c.table),
                });
            }
        }
        // Order-sensitive windows break ties by the select's other outputs.
        // An output that is itself a window or a subquery cannot be a key
        // (SQL does not nest them): rows tied on every key could differ in
        // it, and which of them gets which row number would follow the
        // engine's storage order. Such a select is refused; computing the
        // other value in a subquery makes it a column, and a key.
        if items.iter().any(|it| has_order_sensitive_window(&it.expr)) {
            let windows: usize = items
                .iter()
                .take(outs.len())
                .map(|it| windows_and_subqueries(&it.expr))
                .sum();
            if windows > 1 {
                return Err(Refusal::new(
                    Reason::UnsupportedConstruct,
                    "an order-sensitive window function (row_number, lag, lead, first_value, ntile, a ROWS frame) beside another window function or subquery in one select list: their rows cannot be put in one order; compute the other value in a subquery and select it",
                )
                .construct("OVER (…)")
                .advise("compute the other window function or subquery in a subquery (or CTE) and select its result beside the order-sensitive window")
                .into());
            }
        }
        let tie: Vec<OrderKey> = items
            .iter()
            .take(outs.len())
            .zip(&outs)
            .filter(|(it, _)| !has_window_or_subquery(&it.expr) && it.expr.reads_column())
            .map(|(it, o)| OrderKey {
                expr: if o.info.protected() {
                    Expr::OrderHash(Box::new(it.expr.clone()))
                } else {
                    it.expr.clone()
                },
                desc: false,
                nulls_first: None,
            })
            .collect();
        for it in &mut items {
            set_window_ties(&mut it.expr, &tie);
        }
        // Subqueries polars runs as one-row joins.
        self.phase = saved_phase;
        let lifted = self.lifted.pop().unwrap_or_default();
        let aggregating = !group_by.is_empty()
            || having.is_some()
            || items.iter().any(|it| contains_aggregate(&it.expr));
        // In a query that aggregates, a column outside an aggregate must be
        // a GROUP BY key: engines refuse the rest (PostgreSQL allows columns
        // that a grouped primary key determines, which the guard cannot
        // know), and the guard refuses first, with advice.
        if aggregating {
            let ungrouped = items
                .iter()
                .map(|it| &it.expr)
                .chain(having.as_ref())
                .any(|e| !grouped(e, &group_by));
            if ungrouped {
                return Err(Refusal::new(
                    Reason::UnsupportedConstruct,
                    "a query that aggregates uses a column outside an aggregate that is not a GROUP BY key",
                )
                .construct("GROUP BY")
                .advise("add the column to GROUP BY, or aggregate it")
                .into());
            }
        }
        if aggregating && lifted.iter().any(|l| l.phase == Phase::After) {
            return Err(not_on_engine(
                "a scalar subquery in the select list of a query that aggregates",
                "polars",
                "compute it in a CTE and join it",
            )
            .into());
        }
        from.extend(lifted.into_iter().map(|l| l.from));
        // polars computes a select of constants and whole-frame windows as
        // one row, whatever the rows: a hidden column keeps it row by row.
        if self.dialect() == Dialect::Polars
            && !aggregating
            && !distinct
            && !items.iter().any(|i| i.expr.refs_col())
        {
            if let Some(c) = cur
                .rels
                .first()
                .and_then(|r| r.cols.first().map(|c| Expr::Col(r.id, c.id)))
            {
                self.mark(&c);
                let id = self.col_id();
                items.push(Item { expr: c, id });
            }
        }
        if from.is_empty() {
            // Refused on polars once the rest is checked (the policy's
            // refusals say more).
            self.without_from = true;
        }
        Ok(SelOut {
            select: Select {
                distinct,
                from,
                filter,
                items,
                group_by,
                having,
            },
            outs,
            order,
            filters,
        })
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

    /// Adds a relation's showable columns to a select list.
    fn expand(&mut self, r: &Rel, items: &mut Vec<Item>, outs: &mut Vec<OutCol>) {
        for c in &r.cols {
            if c.name.is_empty() || c.name.starts_with(HIDDEN_PREFIX) {
                continue;
            }
            if let Some(e) = c.lin.eff {
                if matches!(
                    self.policy(e).action,
                    Action::Deny | Action::Aggregate { .. }
                ) {
                    continue;
                }
            }
            let x = Expr::Col(r.id, c.id);
            self.mark(&x);
            let id = self.col_id();
            items.push(Item { expr: x, id });
            outs.push(OutCol {
                name: Some(c.name.clone()),
                fallback: None,
                info: Info {
                    lin: c.lin.clone(),
                    shape: Shape::Column,
                    ty: c.ty,
                },
                id,
            });
        }
    }

    fn by_item(
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

    /// An output name that is also the name of a column in scope, with another
    /// protection: a reader could take one for the other in ORDER BY, GROUP BY
    /// and HAVING, where engines resolve such names differently.
    fn shadowing(&self, outs: &[OutCol], cur: &Scope<'_>) -> Result<(), Refusal> {
        let key = |lin: &super::rules::Lin, shape: Shape| {
            (
                lin.eff.map(|s| {
                    let p = self.policy(s);
                    (p.action.clone(), p.filter)
                }),
                shape == Shape::AggResult,
            )
        };
        for o in outs {
            let Some(name) = &o.name else { continue };
            let mine = key(&o.info.lin, o.info.shape);
            let mut s = Some(cur);
            while let Some(sc) = s {
                for r in &sc.rels {
                    for c in &r.cols {
                        if c.name.eq_ignore_ascii_case(name) && key(&c.lin, Shape::Column) != mine {
                            return Err(Refusal::new(
                                Reason::AmbiguousColumn,
                                format!(
                                    "the output name `{name}` is also a column in scope with another protection; choose another alias"
                                ),
                            )
                            .column(name.clone()));
                        }
                    }
                }
                s = sc.parent;
            }
        }
        Ok(())
    }
}

/// The name an unnamed item gets: a column reference keeps its column's
/// name (parentheses aside); a function call, at the outermost level, its
/// function's name.
fn item_name(e: &SqlExpr) -> (Option<String>, Option<String>) {
    let mut e = e;
    while let SqlExpr::Nested(inner) = e {
        e = inner;
    }
    match e {
        SqlExpr::Identifier(i) => (Some(i.value.clone()), None),
        SqlExpr::CompoundIdentifier(p) => (p.last().map(|i| i.value.clone()), None),
        SqlExpr::Function(f) => (None, Some(f.name.to_string().to_ascii_lowercase())),
        _ => (None, None),
    }
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

fn count_star() -> Expr {
    Expr::Call(Box::new(Call {
        func: Func::Count,
        args: Vec::new(),
        star: true,
        distinct: false,
        filter: None,
        over: None,
    }))
}

fn count(arg: Expr, distinct: bool) -> Expr {
    Expr::Call(Box::new(Call {
        func: Func::Count,
        args: vec![arg],
        star: false,
        distinct,
        filter: None,
        over: None,
    }))
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

fn has_window_or_subquery(e: &Expr) -> bool {
    windows_and_subqueries(e) > 0
}

/// How many window calls and subqueries `e` holds.
fn windows_and_subqueries(e: &Expr) -> usize {
    let mut n = 0;
    visit(e, &mut |x| match x {
        Expr::Call(c) if c.over.is_some() => n += 1,
        Expr::Scalar(_) | Expr::Exists { .. } | Expr::InQuery { .. } => n += 1,
        _ => {}
    });
    n
}

/// Whether `c` is an aggregate call (not a window).
fn is_aggregate_call(c: &Call) -> bool {
    c.over.is_none()
        && crate::guard::functions::kind_of(c.func) == crate::guard::functions::Kind::Aggregate
}

/// Whether `e` reads columns only through GROUP BY keys and aggregates.
fn grouped(e: &Expr, keys: &[Expr]) -> bool {
    // A window's partition and order are computed over the grouped rows:
    // they too may read only keys and aggregates.
    let mut windows_ok = true;
    visit(e, &mut |x| {
        if let Expr::Call(c) = x {
            if let Some(w) = &c.over {
                windows_ok &= w
                    .partition
                    .iter()
                    .chain(w.order.iter().map(|k| &k.expr))
                    .all(|p| grouped(p, keys));
            }
        }
    });
    if !windows_ok {
        return false;
    }
    let mut e = e.clone();
    visit_mut(&mut e, &mut |x| {
        let aggregate = matches!(x, Expr::Call(c) if is_aggregate_call(c));
        if aggregate || (x.reads_column() && keys.contains(x)) {
            *x = Expr::Lit(crate::guard::plan::Lit::Null);
        }
    });
    !e.reads_column()
}

/// Whether `e` reads columns of `rel` only (and no subquery).
fn reads_only(e: &Expr, rel: RelId) -> bool {
    let mut ok = true;
    visit(e, &mut |x| match x {
        Expr::Col(r, _) => ok &= *r == rel,
        Expr::Scalar(_) | Expr::Exists { .. } | Expr::InQuery { .. } => ok = false,
        _ => {}
    });
    ok
}

/// Whether a window call's result depends on the order of tied rows.
fn order_sensitive(c: &Call) -> bool {
    c.over.as_ref().is_some_and(|w| {
        w.rows_to_current
            || matches!(
                c.func,
                Func::RowNumber | Func::Lag | Func::Lead | Func::FirstValue | Func::Ntile
            )
    })
}

/// Whether `e` holds an order-sensitive window call.
fn has_order_sensitive_window(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if let Expr::Call(c) = x {
            found |= order_sensitive(c);
        }
    });
    found
}

/// Gives every order-sensitive window in `e` the tie-breaking keys.
fn set_window_ties(e: &mut Expr, tie: &[OrderKey]) {
    visit_mut(e, &mut |x| {
        if let Expr::Call(c) = x {
            if order_sensitive(c) {
                if let Some(w) = c.over.as_mut() {
                    w.tie = w.arg_tie.iter().chain(tie).cloned().collect();
                }
            }
        }
    });
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
fn output(outs: &[OutCol], i: usize) -> Result<&OutCol, Refusal> {
    outs.get(i)
        .ok_or_else(|| unsupported("a position outside the select list"))
}
