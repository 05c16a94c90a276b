#![deny(clippy::indexing_slicing)]
//! The scope-aware walk over the model's AST: name resolution, lineage, the
//! per-action rules, and the guard's own plan of the query, from which the
//! emitter writes the SQL an engine runs.
//!
//! - `scope`: relations in scope and name lookup;
//! - `query`: queries, set operations, `ORDER BY`, `LIMIT`;
//! - `select`: `SELECT`, step by step, and the group-size columns;
//! - `from`: `FROM`, joins, tables, derived tables, CTE references;
//! - `expr`: expressions;
//! - `predicate`: comparisons and the other tests of a predicate;
//! - `function`: function calls and aggregates;
//! - `window`: window functions' `OVER`;
//! - `literal`: literals, in canonical form;
//! - `rules`: lineage and what each action allows where.

mod expr;
mod from;
mod function;
mod literal;
mod predicate;
mod query;
mod rules;
mod scope;
mod select;
mod window;

use std::collections::BTreeSet;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Query as SqlQuery};

use self::scope::Scope;
use super::emit::Emitter;
use super::plan::{Body, ColId, Expr, OrderKey, Query, RelId};
use super::{
    ColumnRef, Dialect, GroupCheck, Guard, OutputColumn, Reason, Refusal, TokenResolver,
    HIDDEN_PREFIX,
};
use crate::error::Error;
use crate::rules::{Action, Filter};

pub(crate) use self::literal::{chrono_format, java_format};

/// One reading of a policy table somewhere in the statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occurrence {
    table: u32,
    /// On the side of an outer join that can be all NULL.
    nullable: bool,
}

/// A group-size check for one `aggregate` column of one relation.
struct PendingCheck {
    rel: RelId,
    table: u32,
    column: u32,
    min: u32,
}

/// The walk's result for the outermost query.
pub(crate) struct TopOut {
    pub(crate) sql: String,
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) engine_names: Vec<String>,
    /// Names for unnamed outputs (a function's name).
    pub(crate) fallbacks: Vec<Option<String>>,
    pub(crate) group_checks: Vec<GroupCheck>,
}

pub(crate) struct Walker<'g> {
    g: &'g Guard,
    resolver: &'g dyn TokenResolver,
    depth: usize,
    next_rel: RelId,
    next_col: ColId,
    /// The columns the statement reads, by id.
    used: Vec<bool>,
    checks: Vec<PendingCheck>,
    /// Whether the statement summarises an `aggregate` column.
    summarises: bool,
    /// Whether some `SELECT` has no `FROM`.
    without_from: bool,
    read: BTreeSet<usize>,
    cur_fn: Option<String>,
    /// Every alias, derived-table and CTE name of the statement, folded to
    /// lowercase.
    names: Vec<String>,
    /// Every reading of a policy table, for the rule that a table whose
    /// `aggregate` column is summarised is read once, on a side that is never
    /// all NULL.
    occ: Vec<Occurrence>,
    /// Whether some operation compares protected values for equality
    /// (grouping, joining, deduplicating), so that an engine may order rows
    /// by them: then every row cap and order-sensitive window gets a total
    /// order on shown values and keyed hashes.
    protected_order: bool,
    /// The date `current_date` stands for (read once per query).
    today: chrono::NaiveDate,
    /// Where in its `SELECT` the walk is.
    phase: self::expr::Phase,
    /// Per `SELECT` being walked, the subqueries polars runs as joins.
    lifted: Vec<Vec<self::expr::Lifted>>,
}

impl<'g> Walker<'g> {
    pub(crate) fn new(g: &'g Guard, resolver: &'g dyn TokenResolver) -> Walker<'g> {
        Walker {
            g,
            resolver,
            depth: 0,
            next_rel: 1,
            next_col: 1,
            used: Vec::new(),
            checks: Vec::new(),
            summarises: false,
            without_from: false,
            read: BTreeSet::new(),
            cur_fn: None,
            names: Vec::new(),
            occ: Vec::new(),
            protected_order: false,
            today: chrono::Utc::now().date_naive(),
            phase: self::expr::Phase::After,
            lifted: Vec::new(),
        }
    }

    fn rel_id(&mut self) -> RelId {
        let r = self.next_rel;
        self.next_rel += 1;
        r
    }

    fn col_id(&mut self) -> ColId {
        let c = self.next_col;
        self.next_col += 1;
        c
    }

    fn dialect(&self) -> Dialect {
        self.g.dialect
    }

    pub(crate) fn tables_read(&self) -> impl Iterator<Item = usize> + '_ {
        self.read.iter().copied()
    }

    fn enter(&mut self) -> Result<(), Refusal> {
        self.depth += 1;
        if self.depth > self.g.max_depth {
            return Err(Refusal::new(
                Reason::TooDeep,
                format!("the SQL nests deeper than {} levels", self.g.max_depth),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Registers a name that a query introduces (a table alias, a derived
    /// table's alias, a CTE). Names are unique in a statement and never a
    /// policy table's name (unless they alias that very table), so that a
    /// reader of the query, human or model, cannot take one for another.
    fn introduce(&mut self, name: &Ident, base: Option<u32>) -> Result<(), Refusal> {
        if name.value.starts_with(HIDDEN_PREFIX) {
            return Err(reserved(&name.value));
        }
        let folded = name.value.to_lowercase();
        let table_clash = self
            .g
            .tables
            .iter()
            .enumerate()
            .any(|(i, t)| t.name.to_lowercase() == folded && base != Some(i as u32));
        if table_clash || self.names.contains(&folded) {
            return Err(Refusal::new(
                Reason::AmbiguousColumn,
                format!(
                    "the name `{}` is already a table or an alias in this query; give each table, subquery and CTE its own name",
                    name.value
                ),
            )
            .construct(name.value.clone()));
        }
        self.names.push(folded);
        Ok(())
    }

    /// Walks the outermost query and writes the SQL to run.
    pub(crate) fn top(&mut self, q: &SqlQuery) -> Result<TopOut, Error> {
        let root = Scope::default();
        let (plan, outs) = self.query(q, &root, true)?;
        self.aggregated_tables_once()?;
        if self.dialect() == Dialect::Polars && (self.protected_order || self.g.total_order) {
            polars_order_hashes(&plan, true)?;
        }
        if self.without_from && self.dialect() == Dialect::Polars {
            // polars computes functions of literals over no rows.
            return Err(self::rules::not_on_engine(
                "a SELECT without FROM",
                "polars",
                "select from one of the tables",
            )
            .into());
        }
        let mut columns = Vec::with_capacity(outs.len());
        let mut engine_names = Vec::with_capacity(outs.len());
        for o in &outs {
            columns.push(self.output_column(o)?);
            engine_names.push(format!("c{}", o.id));
        }
        let group_checks = self.group_checks(&plan);
        let sql = Emitter::new(
            self.dialect(),
            &self.used,
            &self.g.order_key,
            self.next_rel,
            self.next_col,
            self.protected_order || self.g.total_order,
        )
        .finish(&plan);
        Ok(TopOut {
            sql,
            columns,
            engine_names,
            fallbacks: outs.iter().map(|o| o.fallback.clone()).collect(),
            group_checks,
        })
    }

    /// What the caller learns of an output: its name, its effective action
    /// and filter, and the policy columns it reads.
    fn output_column(&self, o: &self::query::OutCol) -> Result<OutputColumn, Refusal> {
        let mut sources: Vec<ColumnRef> = o
            .info
            .lin
            .sources
            .iter()
            .map(|&s| {
                let t = self.g.tables.get(s.0 as usize);
                let c = t.and_then(|t| t.columns.get(s.1 as usize));
                match (t, c) {
                    (Some(t), Some(c)) => Ok(ColumnRef {
                        table: t.name.clone(),
                        column: c.name.clone(),
                    }),
                    _ => Err(unsupported("a source column the guard lost track of")),
                }
            })
            .collect::<Result<_, _>>()?;
        sources.sort();
        sources.dedup();
        let (action, filter) = match o.info.lin.eff {
            None => (Action::Allow, Filter::Any),
            Some(s) => {
                let p = self.policy(s);
                (p.action.clone(), p.filter)
            }
        };
        Ok(OutputColumn {
            name: o.name.clone().unwrap_or_default(),
            action,
            filter,
            sources,
        })
    }

    /// The group-size checks `run` applies to the result, one per hidden
    /// count of the outermost query.
    fn group_checks(&self, plan: &Query) -> Vec<GroupCheck> {
        match &plan.wrap {
            Some(w) => w
                .filters
                .iter()
                .map(|f| GroupCheck {
                    column: format!("c{}", f.distinct),
                    rows_column: f.rows.map(|r| format!("c{r}")),
                    min_group_size: f.min,
                    unique_subject: f
                        .unique_subject
                        .and_then(|t| self.g.tables.get(t as usize))
                        .and_then(|t| {
                            t.subject.as_ref().map(|s| ColumnRef {
                                table: t.name.clone(),
                                column: s.clone(),
                            })
                        }),
                })
                .collect(),
            None => Vec::new(),
        }
    }

    /// In a query that summarises an `aggregate` column, every policy table
    /// holding such columns is read once (across CTEs and subqueries), never
    /// on the side of an outer join that can be all NULL: two readings, or a
    /// reading that an outer join thins out, would let two sums of one row be
    /// taken over different people, and their difference single one out.
    fn aggregated_tables_once(&self) -> Result<(), Refusal> {
        if !self.summarises {
            return Ok(());
        }
        for (ti, t) in self.g.tables.iter().enumerate() {
            let agg_col = t
                .columns
                .iter()
                .find(|c| matches!(c.policy.action, Action::Aggregate { .. }));
            let Some(col) = agg_col else { continue };
            let mine: Vec<&Occurrence> = self.occ.iter().filter(|o| o.table == ti as u32).collect();
            let name = format!("{}.{}", t.name, col.name);
            if mine.len() > 1 {
                return Err(Refusal::new(
                    Reason::AggregateMisuse,
                    format!(
                        "table `{}` is read {} times in a query that summarises its `aggregate` columns; read it once (no self-join, and no second copy in a subquery or CTE)",
                        t.name,
                        mine.len()
                    ),
                )
                .column(name)
                .construct("a second reading of the table"));
            }
            if mine.iter().any(|o| o.nullable) {
                return Err(Refusal::new(
                    Reason::AggregateMisuse,
                    format!(
                        "table `{}` is on the side of an outer join that can be all NULL in a query that summarises its `aggregate` columns; use an inner join",
                        t.name
                    ),
                )
                .column(name)
                .construct("OUTER JOIN"));
            }
        }
        Ok(())
    }
}

/// polars runs a user-defined function only in a statement's outermost
/// `SELECT` (it drops them in subqueries, CTEs and set operation branches):
/// a row cap inside a subquery, or an order-sensitive window, whose tie
/// must be broken by a keyed hash of a protected value is refused there.
fn polars_order_hashes(q: &Query, top: bool) -> Result<(), Refusal> {
    let hashed = |keys: &[OrderKey]| keys.iter().any(|k| matches!(k.expr, Expr::OrderHash(_)));
    if let Some(w) = &q.wrap {
        if !top && (w.limit.is_some() || w.offset.is_some()) && hashed(&w.tie) {
            return Err(self::rules::not_on_engine(
                "a LIMIT inside a subquery whose rows show protected values",
                "polars",
                "put the LIMIT on the outermost query, or select only shown columns in the subquery",
            ));
        }
    }
    if let Body::Select(s) = &q.body {
        for e in s.exprs() {
            // polars names a computed sort key after its first column, so
            // two keys over one column collide: ties are kept to columns.
            let computed =
                |keys: &[OrderKey]| keys.iter().any(|k| !matches!(k.expr, Expr::Col(..)));
            let mut bad = false;
            self::query::visit(e, &mut |x| {
                if let Expr::Call(c) = x {
                    if c.over
                        .as_ref()
                        .is_some_and(|w| hashed(&w.tie) || computed(&w.tie))
                    {
                        bad = true;
                    }
                }
            });
            if bad {
                return Err(self::rules::not_on_engine(
                    "a window function whose order depends on ties between rows that differ only in protected or computed values",
                    "polars",
                    "order the window by columns that tell every row apart, or use rank() instead of row_number()",
                ));
            }
        }
    }
    for c in &q.ctes {
        polars_order_hashes(&c.query, false)?;
    }
    for child in q.children() {
        polars_order_hashes(child, false)?;
    }
    Ok(())
}

pub(super) fn unsupported(construct: impl Into<String>) -> Refusal {
    let c = construct.into();
    Refusal::new(
        Reason::UnsupportedConstruct,
        format!("the guard does not allow {c} in a query"),
    )
    .construct(c)
}

pub(super) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

pub(super) fn single_ident(n: &ObjectName) -> Option<&Ident> {
    match n.0.as_slice() {
        [ObjectNamePart::Identifier(i)] => Some(i),
        _ => None,
    }
}

pub(super) fn reserved(name: &str) -> Refusal {
    Refusal::new(
        Reason::ReservedName,
        format!("the name `{name}` uses the prefix `{HIDDEN_PREFIX}`, which sqlveil reserves"),
    )
    .construct(name.to_string())
}

pub(super) fn nothing_to_show(w: &str) -> Refusal {
    Refusal::new(
        Reason::NothingToShow,
        format!("`{w}` leaves no column that the policy lets the model see"),
    )
    .construct(w.to_string())
}
