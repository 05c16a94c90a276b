//! `SELECT`, step by step in the order the walk reads it: `FROM`, `WHERE`,
//! the select list, `GROUP BY`, `HAVING`, `ORDER BY`; then the hidden
//! group-size columns, the ties of order-sensitive windows, and the checks
//! of a query that aggregates.

use sqlparser::ast::{
    Distinct, GroupByExpr, OrderBy, OrderByKind, Select as SqlSelect, SelectFlavor, SelectItem,
    SelectItemQualifiedWildcardKind, WildcardAdditionalOptions,
};

use super::expr::{Lifted, Phase};
use super::query::{contains_aggregate, is_aggregate_call, output, visit, visit_mut, By, OutCol};
use super::rules::{not_on_engine, Ctx, Info, Shape};
use super::scope::{rel_matches, Rel, Scope};
use super::{closest, nothing_to_show, reserved, single_ident, unsupported, PendingCheck, Walker};
use crate::error::Error;
use crate::guard::functions::Func;
use crate::guard::plan::{Call, Expr, GroupFilter, IsTest, Item, OrderKey, RelId, Select};
use crate::guard::{Dialect, GuardTable, Reason, Refusal, HIDDEN_PREFIX};
use crate::rules::Action;

/// What a `SELECT` produced.
pub(super) struct SelOut {
    pub(super) select: Select,
    pub(super) outs: Vec<OutCol>,
    pub(super) order: Vec<OrderKey>,
    pub(super) filters: Vec<GroupFilter>,
}

/// A select list as the walk builds it.
struct List {
    /// The plan's items: the outputs first, then hidden ones (`ORDER BY`
    /// keys, group-size counts, a column that keeps rows).
    items: Vec<Item>,
    /// What the query level shows, one per leading item.
    outs: Vec<OutCol>,
}

impl Walker<'_> {
    /// A `SELECT`: its clauses checked and walked in SQL's order of
    /// evaluation; `top` for the outermost query, which carries the
    /// group-size checks; `wrap_rel` the wrapper that orders and caps it.
    pub(super) fn select(
        &mut self,
        s: &SqlSelect,
        scope: &Scope<'_>,
        top: bool,
        order_by: Option<&OrderBy>,
        wrap_rel: RelId,
    ) -> Result<SelOut, Error> {
        refuse_clauses(s)?;
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
        let mut list = self.projection(&s.projection, top, &cur)?;
        let distinct = matches!(s.distinct, Some(Distinct::Distinct));
        if distinct {
            for o in &list.outs {
                self.grouping(&o.info, "SELECT DISTINCT")?;
            }
        }
        self.shadowing(&list.outs, &cur)?;
        let mut group_by = self.group_by(&s.group_by, &list, &cur)?;
        let having = match &s.having {
            Some(h) => Some(self.expr(h, Ctx::Pred, &cur)?.1),
            None => None,
        };
        let having = self.constant_keys(&mut group_by, having)?;
        let order = match order_by {
            Some(ob) => self.select_order_by(ob, distinct, &mut list, &cur, wrap_rel)?,
            None => Vec::new(),
        };
        let filters = if top {
            self.group_size_columns(&cur, &group_by, &mut list.items)?
        } else {
            Vec::new()
        };
        window_ties(&mut list)?;
        // Subqueries polars runs as one-row joins.
        self.phase = saved_phase;
        let lifted = self.lifted.pop().unwrap_or_default();
        let aggregating = !group_by.is_empty()
            || having.is_some()
            || list.items.iter().any(|it| contains_aggregate(&it.expr));
        if aggregating {
            aggregate_checks(&list.items, having.as_ref(), &group_by, &lifted)?;
        }
        from.extend(lifted.into_iter().map(|l| l.from));
        if !aggregating && !distinct {
            self.keep_rows(&cur, &mut list.items);
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
                items: list.items,
                group_by,
                having,
            },
            outs: list.outs,
            order,
            filters,
        })
    }

    /// The select list: expressions walked in the `SELECT`'s scope,
    /// wildcards expanded to the columns that may be shown; an alias with
    /// the hidden prefix and multiple aliases are refused.
    fn projection(
        &mut self,
        projection: &[SelectItem],
        top: bool,
        cur: &Scope<'_>,
    ) -> Result<List, Error> {
        let mut list = List {
            items: Vec::with_capacity(projection.len()),
            outs: Vec::new(),
        };
        for item in projection {
            match item {
                SelectItem::Wildcard(opts) => {
                    no_wildcard_options(opts)?;
                    let before = list.items.len();
                    for r in &cur.rels {
                        self.expand(r, &mut list);
                    }
                    if list.items.len() == before {
                        return Err(nothing_to_show("*").into());
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    no_wildcard_options(opts)?;
                    self.qualified_wildcard(kind, cur, &mut list)?;
                }
                SelectItem::UnnamedExpr(e) => {
                    let (info, x) = self.item_expr(e, top, cur)?;
                    let (name, fallback) = item_name(e);
                    let id = self.col_id();
                    list.outs.push(OutCol {
                        name,
                        fallback,
                        info,
                        id,
                    });
                    list.items.push(Item { expr: x, id });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    if alias.value.starts_with(HIDDEN_PREFIX) {
                        return Err(reserved(&alias.value).into());
                    }
                    let (info, x) = self.item_expr(expr, top, cur)?;
                    let id = self.col_id();
                    list.outs.push(OutCol {
                        name: Some(alias.value.clone()),
                        fallback: None,
                        info,
                        id,
                    });
                    list.items.push(Item { expr: x, id });
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(unsupported("multiple aliases for one item").into())
                }
            }
        }
        Ok(list)
    }

    /// `t.*`: the showable columns of the one relation in `FROM` that `t`
    /// names; an unknown or ambiguous `t`, or one with nothing to show, is
    /// refused.
    fn qualified_wildcard(
        &mut self,
        kind: &SelectItemQualifiedWildcardKind,
        cur: &Scope<'_>,
        list: &mut List,
    ) -> Result<(), Refusal> {
        let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
            return Err(unsupported("expression wildcard"));
        };
        let q = single_ident(name).ok_or_else(|| unsupported("multi-part wildcard"))?;
        let matches: Vec<&Rel> = cur.rels.iter().filter(|r| rel_matches(r, q)).collect();
        let rel = match matches.as_slice() {
            [one] => *one,
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
                )))
            }
            _ => {
                return Err(Refusal::new(
                    Reason::AmbiguousColumn,
                    format!("`{}` names several tables in FROM", q.value),
                )
                .construct(format!("{}.*", q.value)))
            }
        };
        let before = list.items.len();
        self.expand(rel, list);
        if list.items.len() == before {
            return Err(nothing_to_show(&format!("{}.*", q.value)));
        }
        Ok(())
    }

    /// Adds a relation's showable columns to a select list.
    fn expand(&mut self, r: &Rel, list: &mut List) {
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
            list.items.push(Item { expr: x, id });
            list.outs.push(OutCol {
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

    /// `GROUP BY` keys: an output named by position or name (never an
    /// aggregate), or an expression over the input; `GROUP BY ALL`,
    /// `ROLLUP`, `CUBE` and `TOTALS` are refused.
    fn group_by(
        &mut self,
        g: &GroupByExpr,
        list: &List,
        cur: &Scope<'_>,
    ) -> Result<Vec<Expr>, Error> {
        let mut group_by = Vec::new();
        match g {
            GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL").into()),
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(unsupported("GROUP BY modifiers (ROLLUP, CUBE, TOTALS)").into());
                }
                for e in exprs {
                    match self.by_item(e, Ctx::Group, &list.outs, cur)? {
                        By::Output(i) => {
                            let x = list
                                .items
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
        Ok(group_by)
    }

    /// Leaves constant `GROUP BY` keys out: a constant key groups nothing,
    /// and engines read an integer in `GROUP BY` as a position. A query
    /// grouped only by constants still has no row over no rows, through
    /// `HAVING count(*) > 0` (refused on polars); returns the `HAVING`.
    fn constant_keys(
        &self,
        group_by: &mut Vec<Expr>,
        having: Option<Expr>,
    ) -> Result<Option<Expr>, Refusal> {
        let keys = group_by.len();
        group_by.retain(Expr::reads_column);
        if keys == 0 || !group_by.is_empty() {
            return Ok(having);
        }
        if self.dialect() == Dialect::Polars {
            return Err(not_on_engine(
                "a GROUP BY of constants only",
                "polars",
                "leave the GROUP BY out",
            ));
        }
        let nonempty = Expr::Bin(
            crate::guard::plan::BinOp::Gt,
            Box::new(count_star()),
            Box::new(Expr::Lit(crate::guard::plan::Lit::Number("0".into()))),
        );
        Ok(Some(match having {
            None => nonempty,
            Some(h) => Expr::Bin(
                crate::guard::plan::BinOp::And,
                Box::new(h),
                Box::new(nonempty),
            ),
        }))
    }

    /// `ORDER BY` of a `SELECT`: outputs by reference, anything else as a
    /// hidden item the wrapper orders by (refused under `SELECT DISTINCT`);
    /// `ORDER BY ALL`, `INTERPOLATE` and `WITH FILL` are refused.
    fn select_order_by(
        &mut self,
        ob: &OrderBy,
        distinct: bool,
        list: &mut List,
        cur: &Scope<'_>,
        wrap_rel: RelId,
    ) -> Result<Vec<OrderKey>, Error> {
        let OrderByKind::Expressions(keys) = &ob.kind else {
            return Err(unsupported("ORDER BY ALL").into());
        };
        if ob.interpolate.is_some() {
            return Err(unsupported("INTERPOLATE").into());
        }
        let mut order = Vec::new();
        for k in keys {
            if k.with_fill.is_some() {
                return Err(unsupported("WITH FILL").into());
            }
            let expr = match self.by_item(&k.expr, Ctx::Order, &list.outs, cur)? {
                By::Output(i) => Expr::Col(wrap_rel, output(&list.outs, i)?.id),
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
                    list.items.push(Item { expr: x, id });
                    Expr::Col(wrap_rel, id)
                }
            };
            order.push(OrderKey {
                expr,
                desc: k.options.asc == Some(false),
                nulls_first: k.options.nulls_first,
            });
        }
        Ok(order)
    }

    /// Hidden group-size columns, two per summarised `aggregate` column:
    /// the distinct subjects that have a value, and the rows that have one.
    /// A group is kept only when the first reaches `min_group_size` and
    /// both are equal, so that a join cannot weigh one person many times.
    fn group_size_columns(
        &mut self,
        cur: &Scope<'_>,
        group_by: &[Expr],
        items: &mut Vec<Item>,
    ) -> Result<Vec<GroupFilter>, Error> {
        let mut filters = Vec::new();
        let checks = std::mem::take(&mut self.checks);
        for c in &checks {
            filters.push(self.group_filter(c, cur, group_by, items)?);
        }
        Ok(filters)
    }

    /// The hidden counts of one summarised `aggregate` column, added to
    /// `items`; refused when the groups are keyed by another relation.
    fn group_filter(
        &mut self,
        c: &PendingCheck,
        cur: &Scope<'_>,
        group_by: &[Expr],
        items: &mut Vec<Item>,
    ) -> Result<GroupFilter, Error> {
        let rel =
            cur.rels.iter().find(|r| r.id == c.rel).ok_or_else(|| {
                unsupported("an aggregate over a column of a relation out of scope")
            })?;
        let t = self
            .g
            .tables
            .get(c.table as usize)
            .ok_or_else(|| unsupported("an aggregate over a table the guard lost track of"))?;
        groups_split_rows(group_by, c, t)?;
        let value = rel
            .cols
            .get(c.column as usize)
            .map(|rc| Expr::Col(rel.id, rc.id))
            .ok_or_else(|| unsupported("an aggregate over an unknown column"))?;
        let subject = subject_of(t, rel)?;
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
        Ok(GroupFilter {
            distinct: distinct_id,
            rows,
            min: c.min,
            unique_subject: one_per_row.then_some(c.table),
        })
    }

    /// polars computes a select of constants and whole-frame windows as
    /// one row, whatever the rows: a hidden column keeps it row by row.
    fn keep_rows(&mut self, cur: &Scope<'_>, items: &mut Vec<Item>) {
        if self.dialect() != Dialect::Polars || items.iter().any(|i| i.expr.refs_col()) {
            return;
        }
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

/// Refuses what a `SELECT` may hold but the guard does not read:
/// `DISTINCT ON`, `TOP`, `SELECT INTO` and dialect-specific clauses.
fn refuse_clauses(s: &SqlSelect) -> Result<(), Refusal> {
    if matches!(s.distinct, Some(Distinct::On(_))) {
        return Err(unsupported("DISTINCT ON"));
    }
    if s.top.is_some() {
        return Err(unsupported("TOP"));
    }
    if s.into.is_some() {
        return Err(Refusal::new(
            Reason::NotASelect,
            "SELECT INTO writes a table; only a read-only SELECT may run",
        )
        .construct("SELECT INTO"));
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
        ));
    }
    Ok(())
}

/// Refuses a wildcard's `ILIKE`, `EXCLUDE`, `EXCEPT`, `REPLACE`, `RENAME`
/// and alias options.
fn no_wildcard_options(opts: &WildcardAdditionalOptions) -> Result<(), Refusal> {
    if opts.opt_ilike.is_some()
        || opts.opt_exclude.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
        || opts.opt_alias.is_some()
    {
        return Err(unsupported("wildcard options (EXCLUDE, EXCEPT, REPLACE)"));
    }
    Ok(())
}

/// Groups must not overlap: keyed by the summarised table's own columns,
/// they split its rows, each into one group. A key from another relation
/// (a join to products, VALUES, a DISTINCT subquery) copies its rows into
/// several groups, and two groups that differ by one person give that
/// person's value as the difference of their sums.
fn groups_split_rows(group_by: &[Expr], c: &PendingCheck, t: &GuardTable) -> Result<(), Refusal> {
    if group_by.iter().all(|k| reads_only(k, c.rel)) {
        return Ok(());
    }
    let col = t
        .columns
        .get(c.column as usize)
        .map(|gc| format!("{}.{}", t.name, gc.name))
        .unwrap_or_default();
    Err(Refusal::new(
        Reason::AggregateMisuse,
        format!(
            "column `{col}` is summarised in groups keyed by something other than columns of table `{}`: a joined row can fall into several groups, and two groups that differ by one person single them out; group by columns of `{}` only",
            t.name, t.name
        ),
    )
    .column(col)
    .construct("GROUP BY"))
}

/// The relation's column for the table's subject, if the table has one; a
/// subject column missing from the data is refused.
fn subject_of(t: &GuardTable, rel: &Rel) -> Result<Option<Expr>, Refusal> {
    let Some(subj) = &t.subject else {
        return Ok(None);
    };
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
    Ok(rel.cols.get(i).map(|rc| Expr::Col(rel.id, rc.id)))
}

/// Order-sensitive windows break ties by the select's other outputs.
/// An output that is itself a window or a subquery cannot be a key
/// (SQL does not nest them): rows tied on every key could differ in
/// it, and which of them gets which row number would follow the
/// engine's storage order. Such a select is refused; computing the
/// other value in a subquery makes it a column, and a key.
fn window_ties(list: &mut List) -> Result<(), Refusal> {
    let List { items, outs } = list;
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
            .advise("compute the other window function or subquery in a subquery (or CTE) and select its result beside the order-sensitive window"));
        }
    }
    let tie: Vec<OrderKey> = items
        .iter()
        .take(outs.len())
        .zip(outs.iter())
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
    for it in items.iter_mut() {
        set_window_ties(&mut it.expr, &tie);
    }
    Ok(())
}

/// In a query that aggregates, a column outside an aggregate must be a
/// `GROUP BY` key: engines refuse the rest (PostgreSQL allows columns that
/// a grouped primary key determines, which the guard cannot know), and the
/// guard refuses first, with advice. A scalar subquery in its select list
/// is refused too (polars runs it as a join).
fn aggregate_checks(
    items: &[Item],
    having: Option<&Expr>,
    group_by: &[Expr],
    lifted: &[Lifted],
) -> Result<(), Refusal> {
    let ungrouped = items
        .iter()
        .map(|it| &it.expr)
        .chain(having)
        .any(|e| !grouped(e, group_by));
    if ungrouped {
        return Err(Refusal::new(
            Reason::UnsupportedConstruct,
            "a query that aggregates uses a column outside an aggregate that is not a GROUP BY key",
        )
        .construct("GROUP BY")
        .advise("add the column to GROUP BY, or aggregate it"));
    }
    if lifted.iter().any(|l| l.phase == Phase::After) {
        return Err(not_on_engine(
            "a scalar subquery in the select list of a query that aggregates",
            "polars",
            "compute it in a CTE and join it",
        ));
    }
    Ok(())
}

/// The name an unnamed item gets: a column reference keeps its column's
/// name (parentheses aside); a function call, at the outermost level, its
/// function's name.
fn item_name(e: &sqlparser::ast::Expr) -> (Option<String>, Option<String>) {
    use sqlparser::ast::Expr as SqlExpr;
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
