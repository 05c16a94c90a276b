//! The scope-aware walk: name resolution, lineage, the per-action rules and
//! the rewrite, in one pass over a mutable AST.

use std::collections::BTreeSet;

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    BinaryOperator, CaseWhen, CastFormat, Distinct, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, LimitClause, ObjectName,
    ObjectNamePart, Offset, OffsetRows, OrderBy, OrderByExpr, OrderByKind, Query, Select,
    SelectFlavor, SelectItem, SetExpr, TableAlias, TableFactor, TableWithJoins, UnaryOperator,
    Value, ValueWithSpan, WindowFrameBound, WindowType,
};

use super::{
    variant_name, ColumnRef, GroupCheck, Guard, OutputColumn, Reason, Refusal, TokenResolver,
    HIDDEN_PREFIX,
};
use crate::engine::ColumnType;
use crate::error::Error;
use crate::rules::{Action, AggregateFunction, ColumnPolicy, Filter};

/// A source column: (table index, column index) into the guard's tables.
type Src = (u32, u32);

/// The lineage of a value: its source columns and the source whose policy is
/// the strictest (`None` when every source is `allow` or there is none).
#[derive(Debug, Clone, Default)]
struct Lin {
    sources: Vec<Src>,
    eff: Option<Src>,
}

/// What an expression is, beyond its lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A bare column reference.
    Column,
    /// A literal.
    Literal,
    /// The literal NULL, which carries no value.
    Null,
    /// Anything computed, or passed through CASE or a scalar subquery.
    Computed,
    /// The result of a permitted aggregate over an `aggregate` column.
    AggResult,
    /// A `COUNT` over a column whose filter allows equality: a plain number.
    Count,
}

#[derive(Debug, Clone)]
struct Info {
    lin: Lin,
    shape: Shape,
}

impl Info {
    fn allow(shape: Shape) -> Info {
        Info {
            lin: Lin::default(),
            shape,
        }
    }
}

/// Where an expression stands, which decides what a protected column may do
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// A projection item; `agg_ok` at the root of an outermost item.
    Out { agg_ok: bool },
    /// A predicate: WHERE, ON, HAVING, FILTER.
    Pred,
    /// GROUP BY or PARTITION BY.
    Group,
    /// ORDER BY.
    Order,
    /// Inside a computation whose result is shown.
    CompOut,
    /// Inside a computation whose result only feeds a predicate.
    CompPred,
}

impl Ctx {
    fn comp(self) -> Ctx {
        match self {
            Ctx::Pred | Ctx::CompPred => Ctx::CompPred,
            _ => Ctx::CompOut,
        }
    }

    fn is_pred(self) -> bool {
        matches!(self, Ctx::Pred | Ctx::CompPred)
    }

    fn place(self) -> &'static str {
        match self {
            Ctx::Out { .. } => "the select list",
            Ctx::Pred => "WHERE / ON / HAVING",
            Ctx::Group => "GROUP BY / PARTITION BY",
            Ctx::Order => "ORDER BY",
            Ctx::CompOut | Ctx::CompPred => "an expression",
        }
    }
}

#[derive(Debug, Clone)]
struct RelCol {
    name: String,
    lin: Lin,
}

#[derive(Debug, Clone)]
struct Rel {
    /// The declared qualifier (alias, or table / CTE name).
    qual: Option<Ident>,
    /// The qualifier is a table's own name, not an alias.
    qual_is_table: bool,
    /// The guard table, for base tables.
    base: Option<u32>,
    cols: Vec<RelCol>,
}

#[derive(Debug, Clone)]
struct CteDef {
    name: Ident,
    cols: Vec<RelCol>,
}

#[derive(Debug, Default)]
struct Scope<'a> {
    rels: Vec<Rel>,
    ctes: Vec<CteDef>,
    using: Vec<String>,
    parent: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    fn child(parent: &'a Scope<'a>) -> Scope<'a> {
        Scope {
            parent: Some(parent),
            ..Scope::default()
        }
    }
}

#[derive(Debug, Clone)]
struct OutCol {
    name: Option<String>,
    info: Info,
}

/// A resolved column reference.
struct Found {
    lin: Lin,
    /// 0 for the innermost scope.
    level: usize,
    base: Option<u32>,
    qual: Option<Ident>,
    display: String,
}

/// The walk's result for the outermost query.
pub(crate) struct TopOut {
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) group_checks: Vec<GroupCheck>,
}

/// A group-size check for one `aggregate` column of one relation.
struct PendingCheck {
    qual: Option<Ident>,
    table: u32,
    column: u32,
    min: u32,
}

pub(crate) struct Walker<'g> {
    g: &'g Guard,
    resolver: &'g dyn TokenResolver,
    depth: usize,
    checks: Vec<PendingCheck>,
    read: BTreeSet<usize>,
    cur_fn: Option<String>,
    /// Every alias, derived-table and CTE name of the statement, folded to
    /// lowercase.
    names: Vec<String>,
}

/// Unquoted identifiers match case-insensitively; quoted ones exactly.
fn ident_matches(id: &Ident, name: &str) -> bool {
    if id.quote_style.is_some() {
        id.value == name
    } else {
        id.value.eq_ignore_ascii_case(name)
    }
}

/// Two identifiers name the same alias: unquoted ones fold to lowercase,
/// quoted ones keep their case (as PostgreSQL does).
fn idents_match(a: &Ident, b: &Ident) -> bool {
    let fold = |i: &Ident| {
        if i.quote_style.is_some() {
            i.value.clone()
        } else {
            i.value.to_lowercase()
        }
    };
    fold(a) == fold(b)
}

/// Whether a qualifier names a relation: a table's own name matches as a
/// column name does (case-insensitive unless quoted); an alias as an alias.
fn rel_matches(r: &Rel, q: &Ident) -> bool {
    match &r.qual {
        None => false,
        Some(d) if r.qual_is_table => ident_matches(q, &d.value),
        Some(d) => idents_match(d, q),
    }
}

fn quoted(name: &str) -> Ident {
    Ident::with_quote('"', name)
}

fn unsupported(construct: impl Into<String>) -> Refusal {
    let c = construct.into();
    Refusal::new(
        Reason::UnsupportedConstruct,
        format!("the guard does not allow {c} in a query"),
    )
    .construct(c)
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn number_value(v: &ValueWithSpan) -> Option<u64> {
    match &v.value {
        Value::Number(n, _) => n.parse::<u64>().ok(),
        _ => None,
    }
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "first",
    "last",
    "bool_and",
    "bool_or",
    "string_agg",
    "array_agg",
];

const WINDOW_ONLY: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// Scalar functions without side effects, file access or session state.
const SCALARS: &[&str] = &[
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "sqrt",
    "cbrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "sign",
    "mod",
    "greatest",
    "least",
    "coalesce",
    "nullif",
    "ifnull",
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "btrim",
    "ltrim",
    "rtrim",
    "substr",
    "left",
    "right",
    "replace",
    "reverse",
    "concat",
    "concat_ws",
    "lpad",
    "rpad",
    "starts_with",
    "ends_with",
    "strpos",
    "initcap",
    "split_part",
    "date_part",
    "date_trunc",
    "date",
    "year",
    "month",
    "day",
    "quarter",
    "week",
    "hour",
    "minute",
    "second",
    "strftime",
    "to_char",
    "to_date",
    "current_date",
];

fn aggregate_function(name: &str) -> Option<AggregateFunction> {
    AggregateFunction::from_tag(name)
}

impl<'g> Walker<'g> {
    pub(crate) fn new(g: &'g Guard, resolver: &'g dyn TokenResolver) -> Walker<'g> {
        Walker {
            g,
            resolver,
            depth: 0,
            checks: Vec::new(),
            read: BTreeSet::new(),
            cur_fn: None,
            names: Vec::new(),
        }
    }

    /// Registers a name that a query introduces (a table alias, a derived
    /// table's alias, a CTE). polars keeps these names in maps shared by the
    /// whole statement, where a later one can shadow a policy table or an
    /// earlier alias; so every introduced name must be new, and must not be a
    /// policy table's name (unless it aliases that very table).
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

    pub(crate) fn tables_read(&self) -> impl Iterator<Item = usize> + '_ {
        self.read.iter().copied()
    }

    fn policy(&self, s: Src) -> &'g ColumnPolicy {
        &self.g.tables[s.0 as usize].columns[s.1 as usize].policy
    }

    fn col_type(&self, s: Src) -> &'g ColumnType {
        &self.g.tables[s.0 as usize].columns[s.1 as usize].ty
    }

    fn src_name(&self, s: Src) -> String {
        let t = &self.g.tables[s.0 as usize];
        format!("{}.{}", t.name, t.columns[s.1 as usize].name)
    }

    fn lin_of(&self, s: Src) -> Lin {
        Lin {
            sources: vec![s],
            eff: (self.policy(s).action != Action::Allow).then_some(s),
        }
    }

    /// The union of two lineages; the strictest source wins, and two different
    /// protections of the same strictness conflict.
    fn merge(&self, a: &Lin, b: &Lin) -> Result<Lin, Refusal> {
        let mut sources = a.sources.clone();
        for s in &b.sources {
            if !sources.contains(s) {
                sources.push(*s);
            }
        }
        let eff = match (a.eff, b.eff) {
            (None, e) | (e, None) => e,
            (Some(x), Some(y)) => {
                let (px, py) = (self.policy(x), self.policy(y));
                let (sx, sy) = (px.action.strictness(), py.action.strictness());
                if sx > sy {
                    Some(x)
                } else if sy > sx {
                    Some(y)
                } else if px.action == py.action && px.filter == py.filter {
                    Some(x)
                } else {
                    return Err(Refusal::new(
                        Reason::ConflictingLineage,
                        format!(
                            "one output combines `{}` and `{}`, which are protected differently",
                            self.src_name(x),
                            self.src_name(y)
                        ),
                    )
                    .column(self.src_name(x)));
                }
            }
        };
        Ok(Lin { sources, eff })
    }

    /// The union of two values that one output passes through as they are
    /// (CASE branches, set operation branches): a protected value may only
    /// meet a value of the very same protection, or NULL. Anything else would
    /// show a raw value under a protection that was not made for it (a
    /// guessed name turned into a token, a birth date cut by `last4`), or let
    /// a value pass under a looser filter.
    fn merge_pass(&self, a: &Info, b: &Info, construct: &str) -> Result<Info, Refusal> {
        if a.shape == Shape::AggResult || b.shape == Shape::AggResult {
            return Err(agg_misuse(construct));
        }
        let shape = |i: &Info| {
            if i.shape == Shape::Null {
                Shape::Null
            } else {
                Shape::Computed
            }
        };
        if a.shape == Shape::Null {
            return Ok(Info {
                lin: b.lin.clone(),
                shape: shape(b),
            });
        }
        if b.shape == Shape::Null {
            return Ok(Info {
                lin: a.lin.clone(),
                shape: shape(a),
            });
        }
        let same = match (a.lin.eff, b.lin.eff) {
            (None, None) => true,
            (Some(x), Some(y)) => {
                let (px, py) = (self.policy(x), self.policy(y));
                px.action == py.action && px.filter == py.filter
            }
            _ => false,
        };
        if !same {
            let name = |l: &Lin| match l.eff {
                Some(s) => format!(
                    "`{}` ({})",
                    self.src_name(s),
                    self.policy(s).action.as_tag()
                ),
                None => "a raw value".to_string(),
            };
            let col = a.lin.eff.or(b.lin.eff).map(|s| self.src_name(s));
            let mut r = Refusal::new(
                Reason::ConflictingLineage,
                format!(
                    "{construct} combines {} with {} in one column; a protected column may only be combined with columns of the same protection",
                    name(&a.lin),
                    name(&b.lin)
                ),
            )
            .construct(construct.to_string());
            if let Some(c) = col {
                r = r.column(c);
            }
            return Err(r);
        }
        Ok(Info {
            lin: self.merge(&a.lin, &b.lin)?,
            shape: Shape::Computed,
        })
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

    // ---------------------------------------------------------------- queries

    pub(crate) fn top(&mut self, q: &mut Query) -> Result<TopOut, Error> {
        let root = Scope::default();
        let outs = self.query(q, &root, true)?;
        let mut columns = Vec::with_capacity(outs.len());
        for (i, o) in outs.iter().enumerate() {
            let mut sources: Vec<ColumnRef> = o
                .info
                .lin
                .sources
                .iter()
                .map(|&s| {
                    let t = &self.g.tables[s.0 as usize];
                    ColumnRef {
                        table: t.name.clone(),
                        column: t.columns[s.1 as usize].name.clone(),
                    }
                })
                .collect();
            sources.sort();
            sources.dedup();
            let action = match o.info.lin.eff {
                None => ColumnPolicy {
                    name: String::new(),
                    action: Action::Allow,
                    filter: Filter::Any,
                    description: None,
                    detect_values: None,
                    match_parts: false,
                },
                Some(s) => self.policy(s).clone(),
            };
            columns.push(OutputColumn {
                name: o.name.clone().unwrap_or_else(|| format!("column{}", i + 1)),
                action,
                sources,
            });
        }
        let group_checks = self
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| GroupCheck {
                column: format!("{HIDDEN_PREFIX}group_{i}"),
                rows_column: self.g.tables[c.table as usize]
                    .subject
                    .as_ref()
                    .map(|_| format!("{HIDDEN_PREFIX}rows_{i}")),
                min_group_size: c.min,
            })
            .collect();
        Ok(TopOut {
            columns,
            group_checks,
        })
    }

    fn query(&mut self, q: &mut Query, scope: &Scope<'_>, top: bool) -> Result<Vec<OutCol>, Error> {
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
        if let Some(with) = &mut q.with {
            if with.recursive {
                return Err(unsupported("WITH RECURSIVE").into());
            }
            for cte in &mut with.cte_tables {
                if cte.from.is_some() {
                    return Err(unsupported("CTE FROM").into());
                }
                self.introduce(&cte.alias.name, None)?;
                let outs = self.query(&mut cte.query, &qs, false)?;
                let cols = rename(outs, &mut cte.alias)?;
                let name = cte.alias.name.clone();
                cte.alias.name = quoted(&name.value);
                qs.ctes.push(CteDef { name, cols });
            }
        }
        let outs = match &mut *q.body {
            SetExpr::Select(s) => self.select(s, &qs, top, q.order_by.as_mut())?,
            body => {
                let outs = self.set_expr(body, &qs)?;
                if let Some(ob) = &mut q.order_by {
                    self.order_by_outputs(ob, &outs)?;
                }
                if top {
                    name_leftmost(body, &outs);
                }
                outs
            }
        };
        self.limit(q, top)?;
        self.depth -= 1;
        Ok(outs)
    }

    fn set_expr(&mut self, e: &mut SetExpr, scope: &Scope<'_>) -> Result<Vec<OutCol>, Error> {
        self.enter()?;
        let outs = match e {
            SetExpr::Select(s) => self.select(s, scope, false, None)?,
            SetExpr::Query(q) => self.query(q, scope, false)?,
            SetExpr::SetOperation {
                left,
                right,
                op,
                set_quantifier,
            } => {
                let l = self.set_expr(left, scope)?;
                let r = self.set_expr(right, scope)?;
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
                // UNION (without ALL), INTERSECT and EXCEPT compare rows.
                let compares = !matches!(op, sqlparser::ast::SetOperator::Union)
                    || !matches!(
                        set_quantifier,
                        sqlparser::ast::SetQuantifier::All
                            | sqlparser::ast::SetQuantifier::AllByName
                    );
                let construct = op.to_string();
                let mut outs = Vec::with_capacity(l.len());
                for (a, b) in l.into_iter().zip(r) {
                    let info = self.merge_pass(&a.info, &b.info, &construct)?;
                    if compares {
                        self.grouping(&info, &construct)?;
                    }
                    outs.push(OutCol { name: a.name, info });
                }
                outs
            }
            SetExpr::Values(values) => {
                let mut outs: Vec<OutCol> = Vec::new();
                let root = Scope::default();
                for row in &mut values.rows {
                    for (i, e) in row.content.iter_mut().enumerate() {
                        let info = self.expr(e, Ctx::CompOut, &root)?;
                        match outs.get_mut(i) {
                            Some(o) => o.info = self.merge_pass(&o.info, &info, "VALUES")?,
                            None => outs.push(OutCol {
                                name: Some(format!("column{}", i + 1)),
                                info,
                            }),
                        }
                    }
                }
                outs
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
        self.depth -= 1;
        Ok(outs)
    }

    fn select(
        &mut self,
        s: &mut Select,
        scope: &Scope<'_>,
        top: bool,
        order_by: Option<&mut OrderBy>,
    ) -> Result<Vec<OutCol>, Error> {
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
        for twj in &mut s.from {
            self.table_with_joins(twj, &mut cur, scope)?;
        }
        if let Some(w) = &mut s.selection {
            self.expr(w, Ctx::Pred, &cur)?;
        }
        // The select list.
        let mut outs: Vec<OutCol> = Vec::new();
        let mut items = Vec::with_capacity(s.projection.len());
        for item in std::mem::take(&mut s.projection) {
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
                    for r in &cur.rels {
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
                    {
                        return Err(
                            unsupported("wildcard options (EXCLUDE, EXCEPT, REPLACE)").into()
                        );
                    }
                    let sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                    else {
                        return Err(unsupported("expression wildcard").into());
                    };
                    let q =
                        single_ident(&name).ok_or_else(|| unsupported("multi-part wildcard"))?;
                    let matches: Vec<&Rel> =
                        cur.rels.iter().filter(|r| rel_matches(r, q)).collect();
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
                    let rel = rel.clone();
                    self.expand(&rel, &mut items, &mut outs);
                    if items.len() == before {
                        return Err(nothing_to_show(&format!("{}.*", q.value)).into());
                    }
                }
                SelectItem::UnnamedExpr(mut e) => {
                    let info = self.item_expr(&mut e, top, &cur)?;
                    let name = match &e {
                        Expr::Identifier(i) => Some(i.value.clone()),
                        Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
                        _ => None,
                    };
                    outs.push(OutCol { name, info });
                    items.push(SelectItem::UnnamedExpr(e));
                }
                SelectItem::ExprWithAlias { mut expr, alias } => {
                    if alias.value.starts_with(HIDDEN_PREFIX) {
                        return Err(reserved(&alias.value).into());
                    }
                    let info = self.item_expr(&mut expr, top, &cur)?;
                    outs.push(OutCol {
                        name: Some(alias.value.clone()),
                        info,
                    });
                    items.push(SelectItem::ExprWithAlias { expr, alias });
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(unsupported("multiple aliases for one item").into())
                }
            }
        }
        s.projection = items;
        if matches!(s.distinct, Some(Distinct::Distinct)) {
            for o in &outs {
                self.grouping(&o.info, "SELECT DISTINCT")?;
            }
        }
        self.shadowing(&outs, &cur)?;
        // GROUP BY.
        match &mut s.group_by {
            GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL").into()),
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(unsupported("GROUP BY modifiers (ROLLUP, CUBE, TOTALS)").into());
                }
                for e in exprs {
                    self.by_item(e, Ctx::Group, &outs, &cur)?;
                }
            }
        }
        if let Some(h) = &mut s.having {
            self.expr(h, Ctx::Pred, &cur)?;
        }
        if let Some(ob) = order_by {
            match &mut ob.kind {
                OrderByKind::All(_) => return Err(unsupported("ORDER BY ALL").into()),
                OrderByKind::Expressions(items) => {
                    if ob.interpolate.is_some() {
                        return Err(unsupported("INTERPOLATE").into());
                    }
                    for it in items {
                        if it.with_fill.is_some() {
                            return Err(unsupported("WITH FILL").into());
                        }
                        self.by_item(&mut it.expr, Ctx::Order, &outs, &cur)?;
                    }
                }
            }
        }
        if top {
            name_items(s, &mut outs);
            // Hidden group-size columns, two per summarised `aggregate`
            // column: the distinct subjects that have a value, and the rows
            // that have one. The engine keeps a group only when the first
            // reaches `min_group_size` and both are equal, so that a join
            // cannot weigh one person many times.
            for (i, c) in self.checks.iter().enumerate() {
                let t = &self.g.tables[c.table as usize];
                let col_name = &t.columns[c.column as usize].name;
                let col = |name: &str| match &c.qual {
                    Some(q) => Expr::CompoundIdentifier(vec![quoted(&q.value), quoted(name)]),
                    None => Expr::Identifier(quoted(name)),
                };
                let (group, rows) = match &t.subject {
                    Some(subject) => (
                        count_call(
                            Some(Expr::Case {
                                case_token: AttachedToken::empty(),
                                end_token: AttachedToken::empty(),
                                operand: None,
                                conditions: vec![CaseWhen {
                                    condition: Expr::IsNotNull(Box::new(col(col_name))),
                                    result: col(subject),
                                }],
                                else_result: None,
                            }),
                            true,
                        ),
                        Some(count_call(Some(col(col_name)), false)),
                    ),
                    None => (count_call(Some(col(col_name)), false), None),
                };
                s.projection.push(SelectItem::ExprWithAlias {
                    expr: group,
                    alias: quoted(&format!("{HIDDEN_PREFIX}group_{i}")),
                });
                if let Some(rows) = rows {
                    s.projection.push(SelectItem::ExprWithAlias {
                        expr: rows,
                        alias: quoted(&format!("{HIDDEN_PREFIX}rows_{i}")),
                    });
                }
            }
        }
        Ok(outs)
    }

    /// Adds a relation's showable columns to a select list.
    fn expand(&self, r: &Rel, items: &mut Vec<SelectItem>, outs: &mut Vec<OutCol>) {
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
            let expr = match &r.qual {
                Some(q) => Expr::CompoundIdentifier(vec![quoted(&q.value), quoted(&c.name)]),
                None => Expr::Identifier(quoted(&c.name)),
            };
            items.push(SelectItem::UnnamedExpr(expr));
            outs.push(OutCol {
                name: Some(c.name.clone()),
                info: Info {
                    lin: c.lin.clone(),
                    shape: Shape::Column,
                },
            });
        }
    }

    /// A GROUP BY or ORDER BY item: a position, an output name, or an
    /// expression over the input.
    fn by_item(
        &mut self,
        e: &mut Expr,
        ctx: Ctx,
        outs: &[OutCol],
        cur: &Scope<'_>,
    ) -> Result<(), Error> {
        if let Expr::Value(v) = e {
            if let Some(n) = number_value(v) {
                let o = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| outs.get(i))
                    .ok_or_else(|| {
                        Refusal::new(
                            Reason::UnknownColumn,
                            format!("{} position {n} is not in the select list", ctx.place()),
                        )
                        .construct(ctx.place())
                    })?;
                return self.by_output(o, ctx).map_err(Error::from);
            }
        }
        if let Expr::Identifier(id) = e {
            // An input column wins in GROUP BY; an output name wins in ORDER BY.
            let out = outs
                .iter()
                .find(|o| o.name.as_deref().is_some_and(|n| ident_matches(id, n)));
            let input = has_column(cur, id);
            if let Some(o) = out {
                if ctx == Ctx::Order || !input {
                    let name = o.name.clone().unwrap_or_default();
                    self.by_output(o, ctx)?;
                    *id = quoted(&name);
                    return Ok(());
                }
            }
        }
        self.expr(e, ctx, cur)?;
        Ok(())
    }

    fn by_output(&self, o: &OutCol, ctx: Ctx) -> Result<(), Refusal> {
        if o.info.shape == Shape::AggResult {
            return Err(agg_misuse(ctx.place()));
        }
        self.leaf(&o.info.lin, ctx, o.info.shape == Shape::Column)
    }

    fn order_by_outputs(&mut self, ob: &mut OrderBy, outs: &[OutCol]) -> Result<(), Error> {
        let OrderByKind::Expressions(items) = &mut ob.kind else {
            return Err(unsupported("ORDER BY ALL").into());
        };
        let empty = Scope::default();
        for it in items {
            let OrderByExpr {
                expr, with_fill, ..
            } = it;
            if with_fill.is_some() {
                return Err(unsupported("WITH FILL").into());
            }
            self.by_item(expr, Ctx::Order, outs, &empty)?;
        }
        Ok(())
    }

    fn limit(&mut self, q: &mut Query, top: bool) -> Result<(), Refusal> {
        let cap = self.g.max_rows;
        let (limit, offset) = match q.limit_clause.take() {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(unsupported("LIMIT BY"));
                }
                (limit, offset.map(|o| o.value))
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        let as_number = |e: &Expr, what: &str| -> Result<u64, Refusal> {
            match e {
                Expr::Value(v) => number_value(v),
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
        let limit = limit.map(|l| as_number(&l, "LIMIT")).transpose()?;
        let offset = offset.map(|o| as_number(&o, "OFFSET")).transpose()?;
        if limit.is_none() && offset.is_none() && !top {
            return Ok(());
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
        q.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(Expr::Value(
                Value::Number(lim.to_string(), false).with_empty_span(),
            )),
            offset: offset.map(|o| Offset {
                value: Expr::Value(Value::Number(o.to_string(), false).with_empty_span()),
                rows: OffsetRows::None,
            }),
            limit_by: vec![],
        });
        Ok(())
    }

    // ---------------------------------------------------------------- FROM

    fn table_with_joins(
        &mut self,
        twj: &mut TableWithJoins,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<(), Error> {
        self.table_factor(&mut twj.relation, cur, outer)?;
        for j in &mut twj.joins {
            let left_len = cur.rels.len();
            self.table_factor(&mut j.relation, cur, outer)?;
            let constraint = match &mut j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c) => c,
                other => return Err(unsupported(format!("{} join", variant_name(other))).into()),
            };
            match constraint {
                JoinConstraint::None => {}
                JoinConstraint::Natural => return Err(unsupported("NATURAL JOIN").into()),
                JoinConstraint::On(e) => {
                    self.expr(e, Ctx::Pred, cur)?;
                }
                JoinConstraint::Using(names) => {
                    for n in names.iter_mut() {
                        let id = single_ident(n)
                            .ok_or_else(|| unsupported("qualified name in USING"))?
                            .clone();
                        self.using(&id, cur, left_len)?;
                        *n = ObjectName(vec![ObjectNamePart::Identifier(quoted(&id.value))]);
                        cur.using.push(id.value.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// `JOIN … USING (c)`: an equality between the left and right `c`.
    fn using(&mut self, id: &Ident, cur: &mut Scope<'_>, left_len: usize) -> Result<(), Error> {
        let find = |rels: &[Rel]| -> Vec<RelCol> {
            rels.iter()
                .flat_map(|r| r.cols.iter())
                .filter(|c| ident_matches(id, &c.name))
                .cloned()
                .collect()
        };
        let left = find(&cur.rels[..left_len]);
        let right = find(&cur.rels[left_len..]);
        let (Some(l), Some(r)) = (left.first(), right.first()) else {
            return Err(Refusal::new(
                Reason::UnknownColumn,
                format!(
                    "USING column `{}` is not on both sides of the join",
                    id.value
                ),
            )
            .construct("JOIN … USING")
            .into());
        };
        if left.len() > 1 || right.len() > 1 || l.name != r.name {
            return Err(Refusal::new(
                Reason::AmbiguousColumn,
                format!("USING column `{}` is ambiguous", id.value),
            )
            .construct("JOIN … USING")
            .into());
        }
        let (l, r) = (l.clone(), r.clone());
        self.equality_between(&l.lin, &r.lin, "JOIN … USING")?;
        Ok(())
    }

    fn table_factor(
        &mut self,
        tf: &mut TableFactor,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<(), Error> {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if args.is_some() {
                    let n = name.to_string();
                    return Err(Refusal::new(
                        Reason::UnknownFunction,
                        format!("table function `{n}` is not allowed; query the policy's tables"),
                    )
                    .construct(n)
                    .into());
                }
                if !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_hints.is_empty()
                {
                    return Err(unsupported("table hints, versions, partitions or samples").into());
                }
                let (qual, base, cols) = self.named_table(name, outer)?;
                if let Some(a) = alias {
                    if a.at.is_some() {
                        return Err(unsupported("AT in a table alias").into());
                    }
                    // polars ignores column lists on a table's alias, so the
                    // guard and the engine would read different columns.
                    if !a.columns.is_empty() {
                        return Err(unsupported("column names in a table's alias").into());
                    }
                    self.introduce(&a.name, base)?;
                    let q = a.name.clone();
                    a.name = quoted(&q.value);
                    cur.rels.push(Rel {
                        qual: Some(q),
                        qual_is_table: false,
                        base,
                        cols,
                    });
                } else {
                    cur.rels.push(Rel {
                        qual: Some(qual),
                        qual_is_table: base.is_some(),
                        base,
                        cols,
                    });
                }
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if *lateral {
                    return Err(unsupported("LATERAL").into());
                }
                if sample.is_some() {
                    return Err(unsupported("TABLESAMPLE").into());
                }
                let outs = self.query(subquery, outer, false)?;
                let rel = match alias {
                    Some(a) => {
                        if a.at.is_some() {
                            return Err(unsupported("AT in a table alias").into());
                        }
                        self.introduce(&a.name, None)?;
                        let cols = rename(outs, a)?;
                        let q = a.name.clone();
                        a.name = quoted(&q.value);
                        Rel {
                            qual: Some(q),
                            qual_is_table: false,
                            base: None,
                            cols,
                        }
                    }
                    None => Rel {
                        qual: None,
                        qual_is_table: false,
                        base: None,
                        cols: rename(
                            outs,
                            &mut TableAlias {
                                explicit: false,
                                name: Ident::new(""),
                                columns: vec![],
                                at: None,
                            },
                        )?,
                    },
                };
                cur.rels.push(rel);
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    return Err(unsupported("an alias on a parenthesised join").into());
                }
                self.table_with_joins(table_with_joins, cur, outer)?;
            }
            other => {
                let kind = variant_name(other);
                return Err(Refusal::new(
                    Reason::UnknownFunction,
                    format!("{kind} in FROM is not allowed; query the policy's tables"),
                )
                .construct(kind)
                .into());
            }
        }
        Ok(())
    }

    /// Resolves a table name to a CTE or a policy table, rewriting it to its
    /// exact quoted name.
    fn named_table(
        &mut self,
        name: &mut ObjectName,
        outer: &Scope<'_>,
    ) -> Result<(Ident, Option<u32>, Vec<RelCol>), Refusal> {
        let parts: Vec<&Ident> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i),
                ObjectNamePart::Function(_) => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| unsupported("computed table name"))?;
        let display = name.to_string();
        if let [one] = parts.as_slice() {
            // CTEs shadow tables.
            let mut s = Some(outer);
            while let Some(sc) = s {
                if let Some(c) = sc.ctes.iter().rev().find(|c| idents_match(&c.name, one)) {
                    let q = c.name.clone();
                    let cols = c.cols.clone();
                    name.0 = vec![ObjectNamePart::Identifier(quoted(&q.value))];
                    return Ok((q, None, cols));
                }
                s = sc.parent;
            }
        }
        // Policy tables may be named `table` or `schema.table`.
        let wanted: String = parts
            .iter()
            .map(|p| p.value.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let exact = parts.iter().any(|p| p.quote_style.is_some());
        let hits: Vec<usize> = self
            .g
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                if exact {
                    t.name == wanted
                } else {
                    t.name.eq_ignore_ascii_case(&wanted)
                }
            })
            .map(|(i, _)| i)
            .collect();
        let idx = match hits.as_slice() {
            [i] => *i,
            // Several tables differ only in case: the exact name wins.
            _ if hits.iter().any(|&i| self.g.tables[i].name == wanted) => hits
                .iter()
                .copied()
                .find(|&i| self.g.tables[i].name == wanted)
                .unwrap_or_default(),
            _ => {
                return Err(Refusal::new(
                    Reason::UnknownTable,
                    format!("table `{display}` is not in the policy"),
                )
                .construct(display.clone())
                .suggest(closest(
                    &wanted,
                    self.g.tables.iter().map(|t| t.name.as_str()),
                )))
            }
        };
        self.read.insert(idx);
        let t = &self.g.tables[idx];
        let cols = t
            .columns
            .iter()
            .enumerate()
            .map(|(ci, c)| RelCol {
                name: c.name.clone(),
                lin: self.lin_of((idx as u32, ci as u32)),
            })
            .collect();
        let qual_name = t.name.rsplit('.').next().unwrap_or(&t.name).to_string();
        name.0 = t
            .name
            .split('.')
            .map(|p| ObjectNamePart::Identifier(quoted(p)))
            .collect();
        Ok((Ident::with_quote('"', qual_name), Some(idx as u32), cols))
    }

    // ---------------------------------------------------------------- names

    fn lookup(
        &self,
        scope: &Scope<'_>,
        qual: Option<&Ident>,
        col: &Ident,
    ) -> Result<Found, Refusal> {
        let mut level = 0;
        let mut s = Some(scope);
        while let Some(sc) = s {
            match qual {
                Some(q) => {
                    let rels: Vec<&Rel> = sc.rels.iter().filter(|r| rel_matches(r, q)).collect();
                    match rels.as_slice() {
                        [] => {}
                        [r] => {
                            let hits: Vec<&RelCol> = r
                                .cols
                                .iter()
                                .filter(|c| ident_matches(col, &c.name))
                                .collect();
                            return match hits.as_slice() {
                                [c] => Ok(Found {
                                    lin: c.lin.clone(),
                                    level,
                                    base: r.base,
                                    qual: r.qual.clone(),
                                    display: c.name.clone(),
                                }),
                                [] => Err(self.unknown_column(
                                    &format!("{}.{}", q.value, col.value),
                                    &col.value,
                                    r.cols.iter(),
                                )),
                                _ => Err(Refusal::new(
                                    Reason::AmbiguousColumn,
                                    format!(
                                        "`{}.{}` matches several columns that differ only in case; quote it",
                                        q.value, col.value
                                    ),
                                )
                                .column(format!("{}.{}", q.value, col.value))),
                            };
                        }
                        _ => {
                            return Err(Refusal::new(
                                Reason::AmbiguousColumn,
                                format!("`{}` names several tables in FROM", q.value),
                            )
                            .construct(q.value.clone()))
                        }
                    }
                }
                None => {
                    let mut hits: Vec<(&Rel, &RelCol)> = Vec::new();
                    for r in &sc.rels {
                        for c in &r.cols {
                            if ident_matches(col, &c.name) {
                                hits.push((r, c));
                            }
                        }
                    }
                    let using = hits.len() > 1
                        && hits.iter().all(|(_, c)| c.name == hits[0].1.name)
                        && sc.using.iter().any(|u| ident_matches(col, u));
                    match hits.as_slice() {
                        [] => {}
                        [(r, c), ..] if hits.len() == 1 || using => {
                            // A USING column derives from both sides.
                            let mut lin = c.lin.clone();
                            for (_, other) in &hits[1..] {
                                lin = self.merge(&lin, &other.lin)?;
                            }
                            return Ok(Found {
                                lin,
                                level,
                                base: r.base,
                                qual: None,
                                display: c.name.clone(),
                            });
                        }
                        _ => {
                            return Err(Refusal::new(
                                Reason::AmbiguousColumn,
                                format!(
                                    "column `{}` is in several tables in FROM; qualify it",
                                    col.value
                                ),
                            )
                            .column(col.value.clone()))
                        }
                    }
                }
            }
            level += 1;
            s = sc.parent;
        }
        if let Some(q) = qual {
            let mut all = Vec::new();
            let mut s = Some(scope);
            while let Some(sc) = s {
                all.extend(
                    sc.rels
                        .iter()
                        .filter_map(|r| r.qual.as_ref().map(|i| i.value.clone())),
                );
                s = sc.parent;
            }
            return Err(Refusal::new(
                Reason::UnknownTable,
                format!(
                    "no table or alias `{}` in scope for column `{}`",
                    q.value, col.value
                ),
            )
            .column(format!("{}.{}", q.value, col.value))
            .suggest(closest(&q.value, all.iter().map(String::as_str))));
        }
        let mut cols = Vec::new();
        let mut s = Some(scope);
        while let Some(sc) = s {
            for r in &sc.rels {
                cols.extend(r.cols.iter());
            }
            s = sc.parent;
        }
        Err(self.unknown_column(&col.value, &col.value, cols.into_iter()))
    }

    fn unknown_column<'c>(
        &self,
        shown: &str,
        name: &str,
        candidates: impl Iterator<Item = &'c RelCol>,
    ) -> Refusal {
        // Never suggest a column the model may not see.
        let visible: Vec<&str> = candidates
            .filter(|c| {
                c.lin
                    .eff
                    .is_none_or(|e| self.policy(e).action != Action::Deny)
            })
            .map(|c| c.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        Refusal::new(
            Reason::UnknownColumn,
            format!("column `{shown}` does not exist"),
        )
        .column(shown.to_string())
        .suggest(closest(name, visible.into_iter()))
    }

    /// Resolves a column reference and rewrites it to exact quoted names.
    fn column_ref(&mut self, e: &mut Expr, scope: &Scope<'_>) -> Result<Found, Refusal> {
        let f = self.column_ref_inner(e, scope)?;
        if f.level > 0 && self.g.dialect == super::Dialect::Polars {
            return Err(unsupported(format!(
                "a correlated reference to `{}` from a subquery (the polars engine does not resolve them reliably)",
                f.display
            ))
            .column(f.display));
        }
        Ok(f)
    }

    fn column_ref_inner(&mut self, e: &mut Expr, scope: &Scope<'_>) -> Result<Found, Refusal> {
        match e {
            Expr::Identifier(id) => {
                let f = self.lookup(scope, None, id)?;
                *id = quoted(&f.display);
                Ok(f)
            }
            Expr::CompoundIdentifier(parts) => {
                let [q, c] = parts.as_slice() else {
                    return Err(unsupported(format!("a {}-part column name", parts.len())));
                };
                let f = self.lookup(scope, Some(q), c)?;
                let qv = f.qual.as_ref().map_or(q.value.clone(), |d| d.value.clone());
                *parts = vec![quoted(&qv), quoted(&f.display)];
                Ok(f)
            }
            _ => Err(unsupported("a non-column")),
        }
    }

    // ---------------------------------------------------------------- rules

    /// The rules for a value with lineage `lin` standing in `ctx`; `bare` when
    /// it is a column reference itself.
    fn leaf(&self, lin: &Lin, ctx: Ctx, bare: bool) -> Result<(), Refusal> {
        let Some(src) = lin.eff else {
            return Ok(());
        };
        let p = self.policy(src);
        let col = self.src_name(src);
        let place = self
            .cur_fn
            .clone()
            .unwrap_or_else(|| ctx.place().to_string());
        match &p.action {
            Action::Deny => {
                return Err(Refusal::new(
                    Reason::DeniedColumn,
                    format!("column `{col}` is denied by the policy and may not be used anywhere"),
                )
                .column(col))
            }
            Action::Aggregate { .. } => {
                return Err(Refusal::new(
                    Reason::AggregateMisuse,
                    format!(
                        "column `{col}` may only appear as the bare argument of a listed aggregate function that is a whole item of the outermost SELECT, not in {place}"
                    ),
                )
                .column(col)
                .construct(place))
            }
            _ => {}
        }
        let (ok, reason) = match ctx {
            Ctx::Out { .. } => (true, Reason::ProtectedInExpression),
            Ctx::Pred => (p.filter == Filter::Any, Reason::FilterNotAllowed),
            Ctx::Group => (
                p.filter >= Filter::Equality && bare,
                Reason::FilterNotAllowed,
            ),
            Ctx::Order => (false, Reason::ProtectedOrdering),
            Ctx::CompOut => (false, Reason::ProtectedInExpression),
            Ctx::CompPred => (p.filter == Filter::Any, Reason::ProtectedInExpression),
        };
        if ok {
            return Ok(());
        }
        let action = p.action.as_tag();
        let msg = match reason {
            Reason::ProtectedOrdering => format!(
                "column `{col}` ({action}) may not be used in {place}: ordering by it would reveal its values"
            ),
            Reason::FilterNotAllowed => format!(
                "column `{col}` ({action}, filter {}) may not be used in {place}",
                p.filter.as_tag()
            ),
            _ => format!(
                "column `{col}` ({action}) may not be computed on in {place}: the result could reveal its values"
            ),
        };
        Err(Refusal::new(reason, msg).column(col).construct(place))
    }

    /// An equality between two values that are not literals (a join key, an
    /// `IN (SELECT …)`): protected values may only meet the same protection.
    fn equality_between(&self, a: &Lin, b: &Lin, construct: &str) -> Result<(), Refusal> {
        for (p, q) in [(a, b), (b, a)] {
            let Some(ps) = p.eff else { continue };
            let pp = self.policy(ps);
            self.deny_or_agg(ps)?;
            if pp.filter < Filter::Equality {
                return Err(Refusal::new(
                    Reason::FilterNotAllowed,
                    format!(
                        "column `{}` ({}, filter none) may not be compared in {construct}",
                        self.src_name(ps),
                        pp.action.as_tag()
                    ),
                )
                .column(self.src_name(ps))
                .construct(construct.to_string()));
            }
            let same = q.eff.is_some_and(|qs| {
                let qp = self.policy(qs);
                qp.action == pp.action
            });
            if !same && pp.filter != Filter::Any {
                let other = q
                    .eff
                    .map(|qs| {
                        format!(
                            "`{}` ({})",
                            self.src_name(qs),
                            self.policy(qs).action.as_tag()
                        )
                    })
                    .unwrap_or_else(|| "a raw value".to_string());
                return Err(Refusal::new(
                    Reason::JoinMismatch,
                    format!(
                        "column `{}` ({}) may only be compared in {construct} with a column of the same action and class, not with {other}",
                        self.src_name(ps),
                        describe_action(&pp.action)
                    ),
                )
                .column(self.src_name(ps))
                .construct(construct.to_string()));
            }
        }
        Ok(())
    }

    fn deny_or_agg(&self, s: Src) -> Result<(), Refusal> {
        self.leaf(
            &Lin {
                sources: vec![s],
                eff: Some(s),
            },
            Ctx::Out { agg_ok: false },
            true,
        )
    }

    /// A literal compared with protected column `p`: it must be a token
    /// sqlveil issued, which is rewritten into its value.
    fn literal_for(&self, e: &mut Expr, ps: Src, construct: &str) -> Result<(), Error> {
        let p = self.policy(ps);
        let col = self.src_name(ps);
        let text = match e {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        let token = text.filter(|t| self.g.token_re.is_match(t));
        let Some(token) = token else {
            if p.filter == Filter::Any {
                return Ok(());
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
        let Some(resolved) = self.resolver.resolve(&token)? else {
            if p.filter == Filter::Any {
                return Ok(());
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
        if let Action::Tokenize { class } = &p.action {
            if &resolved.class != class {
                return Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "a token of class `{}` was compared with column `{col}` of class `{class}`",
                        resolved.class
                    ),
                )
                .column(col)
                .construct(construct.to_string())
                .into());
            }
        }
        let value = if self.col_type(ps).is_numeric() {
            if resolved.value.trim().parse::<f64>().is_err() {
                return Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "a token compared with numeric column `{col}` does not stand for a number"
                    ),
                )
                .column(col)
                .into());
            }
            Value::Number(resolved.value.trim().to_string(), false)
        } else {
            Value::SingleQuotedString(resolved.value)
        };
        *e = Expr::Value(value.with_empty_span());
        Ok(())
    }

    // ---------------------------------------------------------------- expressions

    /// A projection item's root: the one place an aggregate over an
    /// `aggregate` column may stand.
    fn item_expr(&mut self, e: &mut Expr, top: bool, scope: &Scope<'_>) -> Result<Info, Error> {
        let mut root = e;
        while let Expr::Nested(inner) = root {
            root = inner;
        }
        self.expr(root, Ctx::Out { agg_ok: top }, scope)
    }

    fn expr(&mut self, e: &mut Expr, ctx: Ctx, scope: &Scope<'_>) -> Result<Info, Error> {
        self.enter()?;
        let r = self.expr_inner(e, ctx, scope);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &mut Expr, ctx: Ctx, scope: &Scope<'_>) -> Result<Info, Error> {
        let sub = ctx.comp();
        let info = match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let f = self.column_ref(e, scope)?;
                self.leaf(&f.lin, ctx, true)?;
                Info {
                    lin: f.lin,
                    shape: Shape::Column,
                }
            }
            Expr::Value(v) if v.value == Value::Null => Info::allow(Shape::Null),
            Expr::Value(_) | Expr::TypedString(_) => Info::allow(Shape::Literal),
            Expr::Interval(iv) => {
                self.expr(&mut iv.value, sub, scope)?;
                Info::allow(Shape::Literal)
            }
            Expr::Nested(inner) => self.expr(inner, ctx, scope)?,
            Expr::BinaryOp { left, op, right } => {
                let logical = matches!(
                    op,
                    BinaryOperator::And | BinaryOperator::Or | BinaryOperator::Xor
                );
                let compare = matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                );
                if logical && ctx.is_pred() {
                    self.expr(left, ctx, scope)?;
                    self.expr(right, ctx, scope)?;
                    Info::allow(Shape::Computed)
                } else if compare && ctx.is_pred() {
                    let eq = matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq);
                    self.comparison(left, right, eq, &op.to_string(), scope)?;
                    Info::allow(Shape::Computed)
                } else {
                    let a = self.expr(left, sub, scope)?;
                    let b = self.expr(right, sub, scope)?;
                    Info {
                        lin: self.merge(&a.lin, &b.lin)?,
                        shape: Shape::Computed,
                    }
                }
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                if ctx.is_pred() {
                    self.comparison(a, b, true, "IS DISTINCT FROM", scope)?;
                } else {
                    self.expr(a, sub, scope)?;
                    self.expr(b, sub, scope)?;
                }
                Info::allow(Shape::Computed)
            }
            Expr::UnaryOp { op, expr } => {
                if *op == UnaryOperator::Not && ctx.is_pred() {
                    self.expr(expr, ctx, scope)?;
                    Info::allow(Shape::Computed)
                } else if *op == UnaryOperator::Minus && matches!(&**expr, Expr::Value(_)) {
                    Info::allow(Shape::Literal)
                } else {
                    let i = self.expr(expr, sub, scope)?;
                    Info {
                        lin: i.lin,
                        shape: Shape::Computed,
                    }
                }
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                if ctx.is_pred() && is_column(inner) {
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
                } else {
                    self.expr(inner, sub, scope)?;
                }
                Info::allow(Shape::Computed)
            }
            Expr::IsTrue(inner)
            | Expr::IsFalse(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsNotFalse(inner)
            | Expr::IsUnknown(inner)
            | Expr::IsNotUnknown(inner) => {
                let i = self.expr(inner, sub, scope)?;
                Info {
                    lin: i.lin,
                    shape: Shape::Computed,
                }
            }
            Expr::InList { expr, list, .. } => {
                if ctx.is_pred() && is_column(expr) {
                    let f = self.column_ref(expr, scope)?;
                    match f.lin.eff {
                        None => {
                            for item in list.iter_mut() {
                                let i = self.expr(item, sub, scope)?;
                                if i.lin.eff.is_some() {
                                    self.equality_between(&f.lin, &i.lin, "IN (…)")?;
                                }
                            }
                        }
                        Some(s) => {
                            self.deny_or_agg(s)?;
                            self.need_filter(s, Filter::Equality, "IN (…)")?;
                            for item in list.iter_mut() {
                                if is_literal(item) {
                                    self.literal_for(item, s, "IN (…)")?;
                                } else if is_column(item) {
                                    let g = self.column_ref(item, scope)?;
                                    self.equality_between(&f.lin, &g.lin, "IN (…)")?;
                                } else {
                                    let i = self.expr(item, sub, scope)?;
                                    self.equality_between(&f.lin, &i.lin, "IN (…)")?;
                                }
                            }
                        }
                    }
                    Info::allow(Shape::Computed)
                } else {
                    let mut lin = self.expr(expr, sub, scope)?.lin;
                    for item in list.iter_mut() {
                        let i = self.expr(item, sub, scope)?;
                        lin = self.merge(&lin, &i.lin)?;
                    }
                    Info {
                        lin,
                        shape: Shape::Computed,
                    }
                }
            }
            Expr::InSubquery { expr, subquery, .. } => {
                let outs = self.query(subquery, scope, false)?;
                let [o] = outs.as_slice() else {
                    return Err(unsupported("IN with a subquery of several columns").into());
                };
                if o.info.shape == Shape::AggResult {
                    return Err(agg_misuse("IN (SELECT …)").into());
                }
                let left = if ctx.is_pred() && is_column(expr) {
                    self.column_ref(expr, scope)?.lin
                } else {
                    self.expr(expr, sub, scope)?.lin
                };
                self.equality_between(&left, &o.info.lin, "IN (SELECT …)")?;
                Info::allow(Shape::Computed)
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let a = self.expr(expr, sub, scope)?;
                let b = self.expr(low, sub, scope)?;
                let c = self.expr(high, sub, scope)?;
                let l = self.merge(&a.lin, &b.lin)?;
                Info {
                    lin: self.merge(&l, &c.lin)?,
                    shape: Shape::Computed,
                }
            }
            Expr::Like {
                expr, pattern, any, ..
            }
            | Expr::ILike {
                expr, pattern, any, ..
            } => {
                if *any {
                    return Err(unsupported("LIKE ANY").into());
                }
                let a = self.expr(expr, sub, scope)?;
                let b = self.expr(pattern, sub, scope)?;
                Info {
                    lin: self.merge(&a.lin, &b.lin)?,
                    shape: Shape::Computed,
                }
            }
            Expr::SimilarTo { expr, pattern, .. } => {
                let a = self.expr(expr, sub, scope)?;
                let b = self.expr(pattern, sub, scope)?;
                Info {
                    lin: self.merge(&a.lin, &b.lin)?,
                    shape: Shape::Computed,
                }
            }
            Expr::Function(f) => self.function(f, ctx, scope)?,
            Expr::Cast {
                expr,
                format,
                array,
                ..
            } => {
                if format.is_some() || *array {
                    let _: Option<&CastFormat> = format.as_ref();
                    return Err(unsupported("CAST with FORMAT").into());
                }
                let i = self.expr(expr, sub, scope)?;
                Info {
                    lin: i.lin,
                    shape: Shape::Computed,
                }
            }
            Expr::Extract { expr, .. } | Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                let i = self.expr(expr, sub, scope)?;
                Info {
                    lin: i.lin,
                    shape: Shape::Computed,
                }
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let a = self.expr(timestamp, sub, scope)?;
                let b = self.expr(time_zone, sub, scope)?;
                Info {
                    lin: self.merge(&a.lin, &b.lin)?,
                    shape: Shape::Computed,
                }
            }
            Expr::Position { expr, r#in } => {
                let a = self.expr(expr, sub, scope)?;
                let b = self.expr(r#in, sub, scope)?;
                Info {
                    lin: self.merge(&a.lin, &b.lin)?,
                    shape: Shape::Computed,
                }
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut lin = self.expr(expr, sub, scope)?.lin;
                for x in [substring_from, substring_for].into_iter().flatten() {
                    let i = self.expr(x, sub, scope)?;
                    lin = self.merge(&lin, &i.lin)?;
                }
                Info {
                    lin,
                    shape: Shape::Computed,
                }
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                let mut lin = self.expr(expr, sub, scope)?.lin;
                if let Some(w) = trim_what {
                    let i = self.expr(w, sub, scope)?;
                    lin = self.merge(&lin, &i.lin)?;
                }
                for c in trim_characters.iter_mut().flatten() {
                    let i = self.expr(c, sub, scope)?;
                    lin = self.merge(&lin, &i.lin)?;
                }
                Info {
                    lin,
                    shape: Shape::Computed,
                }
            }
            Expr::Case {
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
                // Conditions only add sources (they are `allow` columns
                // once they pass); results must share one protection.
                let mut conds = Lin::default();
                if let Some(o) = operand {
                    let i = self.expr(o, cond_ctx, scope)?;
                    conds = self.merge(&conds, &i.lin)?;
                }
                let mut out = Info::allow(Shape::Null);
                for cw in conditions.iter_mut() {
                    let c = self.expr(&mut cw.condition, cond_ctx, scope)?;
                    conds = self.merge(&conds, &c.lin)?;
                    let r = self.expr(&mut cw.result, res_ctx, scope)?;
                    out = self.merge_pass(&out, &r, "CASE")?;
                }
                if let Some(el) = else_result {
                    let r = self.expr(el, res_ctx, scope)?;
                    out = self.merge_pass(&out, &r, "CASE")?;
                }
                Info {
                    lin: self.merge(&out.lin, &conds)?,
                    shape: Shape::Computed,
                }
            }
            Expr::Subquery(q) => {
                let outs = self.query(q, scope, false)?;
                let [o] = outs.as_slice() else {
                    return Err(unsupported("a scalar subquery of several columns").into());
                };
                if o.info.shape == Shape::AggResult {
                    return Err(agg_misuse("a scalar subquery").into());
                }
                // A scalar subquery stands where a column would.
                self.leaf(&o.info.lin, ctx, false)?;
                Info {
                    lin: o.info.lin.clone(),
                    shape: Shape::Computed,
                }
            }
            Expr::Exists { subquery, .. } => {
                self.query(subquery, scope, false)?;
                Info::allow(Shape::Computed)
            }
            other => {
                return Err(unsupported(format!("the {} expression", variant_name(other))).into())
            }
        };
        Ok(info)
    }

    /// A value that rows are grouped or deduplicated by (DISTINCT, UNION,
    /// INTERSECT, EXCEPT): protected values need a filter that allows equality.
    fn grouping(&self, info: &Info, construct: &str) -> Result<(), Refusal> {
        if info.shape == Shape::AggResult {
            return Err(agg_misuse(construct));
        }
        if let Some(s) = info.lin.eff {
            self.deny_or_agg(s)?;
            self.need_filter(s, Filter::Equality, construct)?;
        }
        Ok(())
    }

    /// An output name that is also the name of a column in scope, with another
    /// protection: engines resolve such a name in ORDER BY, GROUP BY and
    /// HAVING differently (polars prefers the output), so the guard could
    /// check one column while the engine uses the other.
    fn shadowing(&self, outs: &[OutCol], cur: &Scope<'_>) -> Result<(), Refusal> {
        let key = |lin: &Lin, shape: Shape| {
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

    fn need_filter(&self, s: Src, need: Filter, construct: &str) -> Result<(), Refusal> {
        let p = self.policy(s);
        if p.filter >= need {
            return Ok(());
        }
        Err(Refusal::new(
            Reason::FilterNotAllowed,
            format!(
                "column `{}` ({}, filter {}) may not be used with {construct}",
                self.src_name(s),
                p.action.as_tag(),
                p.filter.as_tag()
            ),
        )
        .column(self.src_name(s))
        .construct(construct.to_string()))
    }

    /// A comparison inside a predicate.
    fn comparison(
        &mut self,
        left: &mut Expr,
        right: &mut Expr,
        eq: bool,
        op: &str,
        scope: &Scope<'_>,
    ) -> Result<(), Error> {
        let need = if eq { Filter::Equality } else { Filter::Any };
        let l = self.side(left, scope)?;
        let r = self.side(right, scope)?;
        for (p, q, q_expr) in [(&l, &r, &mut *right), (&r, &l, &mut *left)] {
            let Side::Col(plin) = p else { continue };
            let Some(ps) = plin.eff else { continue };
            self.deny_or_agg(ps)?;
            self.need_filter(ps, need, op)?;
            match q {
                Side::Lit => self.literal_for(q_expr, ps, op)?,
                Side::Col(qlin) => self.equality_between(plin, qlin, op)?,
                Side::Other => {
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
        Ok(())
    }

    fn side(&mut self, e: &mut Expr, scope: &Scope<'_>) -> Result<Side, Error> {
        let mut e = e;
        while let Expr::Nested(inner) = e {
            e = inner;
        }
        if is_column(e) {
            let f = self.column_ref(e, scope)?;
            return Ok(Side::Col(f.lin));
        }
        if is_literal(e) {
            return Ok(Side::Lit);
        }
        self.expr(e, Ctx::CompPred, scope)?;
        Ok(Side::Other)
    }

    fn function(&mut self, f: &mut Function, ctx: Ctx, scope: &Scope<'_>) -> Result<Info, Error> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(i)] => i.value.to_ascii_lowercase(),
            _ => {
                let n = f.name.to_string();
                return Err(Refusal::new(
                    Reason::UnknownFunction,
                    format!("function `{n}` is not one the guard allows"),
                )
                .construct(n)
                .into());
            }
        };
        let is_agg = AGGREGATES.contains(&name.as_str());
        let is_window = WINDOW_ONLY.contains(&name.as_str());
        if !is_agg && !is_window && !SCALARS.contains(&name.as_str()) {
            return Err(Refusal::new(
                Reason::UnknownFunction,
                format!("function `{name}` is not one the guard allows"),
            )
            .construct(name.clone())
            .into());
        }
        if !matches!(f.parameters, FunctionArguments::None)
            || f.null_treatment.is_some()
            || !f.within_group.is_empty()
            || f.uses_odbc_syntax
        {
            return Err(unsupported(format!("{name} with dialect-specific modifiers")).into());
        }
        if is_window && f.over.is_none() {
            return Err(unsupported(format!("{name} without OVER")).into());
        }
        let args: Vec<&mut FunctionArg> = match &mut f.args {
            FunctionArguments::None => vec![],
            FunctionArguments::Subquery(_) => {
                return Err(unsupported(format!("{name} over a bare subquery")).into())
            }
            FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(unsupported(format!(
                        "clauses inside {name}(…) (ORDER BY, LIMIT, SEPARATOR)"
                    ))
                    .into());
                }
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(sqlparser::ast::DuplicateTreatment::Distinct)
                );
                if distinct && !is_agg {
                    return Err(unsupported(format!("DISTINCT in {name}")).into());
                }
                list.args.iter_mut().collect()
            }
        };
        let mut exprs: Vec<&mut Expr> = Vec::new();
        let mut star = false;
        for a in args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => exprs.push(e),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if name == "count" => star = true,
                _ => {
                    return Err(
                        unsupported(format!("named or wildcard arguments of {name}")).into(),
                    )
                }
            }
        }
        if star && !exprs.is_empty() {
            return Err(unsupported("COUNT(*) with more arguments").into());
        }
        // The one permitted use of an `aggregate` column, and COUNT over a
        // column whose filter allows equality.
        if is_agg && exprs.len() == 1 && is_column(exprs[0]) {
            let found = self.column_ref(exprs[0], scope)?;
            if let Some(s) = found.lin.eff {
                let p = self.policy(s);
                if let Action::Aggregate {
                    functions,
                    min_group_size,
                } = &p.action
                {
                    let col = self.src_name(s);
                    if ctx != (Ctx::Out { agg_ok: true }) {
                        return Err(agg_misuse_col(&col, &name, ctx).into());
                    }
                    if f.over.is_some() {
                        return Err(Refusal::new(
                            Reason::AggregateMisuse,
                            format!(
                                "column `{col}` may not be aggregated in a window (OVER keeps one row per person)"
                            ),
                        )
                        .column(col)
                        .construct("OVER")
                        .into());
                    }
                    if f.filter.is_some() {
                        return Err(Refusal::new(
                            Reason::AggregateMisuse,
                            format!("column `{col}` may not be aggregated with FILTER (WHERE …)"),
                        )
                        .column(col)
                        .construct("FILTER")
                        .into());
                    }
                    let allowed =
                        aggregate_function(&name).is_some_and(|af| functions.contains(&af));
                    if !allowed {
                        let list: Vec<&str> = functions.iter().map(|f| f.as_tag()).collect();
                        return Err(Refusal::new(
                            Reason::AggregateFunctionNotAllowed,
                            format!(
                                "column `{col}` may only be summarised with {}, not {name}",
                                list.join(", ")
                            ),
                        )
                        .column(col)
                        .construct(name)
                        .into());
                    }
                    if found.level != 0 || found.base.is_none() {
                        return Err(Refusal::new(
                            Reason::AggregateMisuse,
                            format!(
                                "column `{col}` must be aggregated directly from its table in the outermost SELECT, not through a subquery or CTE"
                            ),
                        )
                        .column(col)
                        .into());
                    }
                    let table = s.0;
                    let qual = found.qual.clone().or_else(|| {
                        scope
                            .rels
                            .iter()
                            .find(|r| r.base == Some(table))
                            .and_then(|r| r.qual.clone())
                    });
                    let column = s.1;
                    let same_rel = |c: &PendingCheck| {
                        c.table == table
                            && c.column == column
                            && match (&c.qual, &qual) {
                                (Some(a), Some(b)) => a.value == b.value,
                                (None, None) => true,
                                _ => false,
                            }
                    };
                    if let Some(c) = self.checks.iter_mut().find(|c| same_rel(c)) {
                        c.min = c.min.max(*min_group_size);
                    } else {
                        self.checks.push(PendingCheck {
                            qual,
                            table,
                            column,
                            min: *min_group_size,
                        });
                    }
                    return Ok(Info {
                        lin: found.lin,
                        shape: Shape::AggResult,
                    });
                }
                if name == "count" && f.over.is_none() {
                    self.deny_or_agg(s)?;
                    if p.filter >= Filter::Equality {
                        if let Some(flt) = &mut f.filter {
                            self.expr(flt, Ctx::Pred, scope)?;
                        }
                        // A count is a plain number: it keeps its sources but
                        // no protection.
                        return Ok(Info {
                            lin: Lin {
                                sources: found.lin.sources,
                                eff: None,
                            },
                            shape: Shape::Count,
                        });
                    }
                }
            }
            // Not special: fall through to the general rules, with the
            // reference already resolved.
            let saved = self.cur_fn.replace(format!("{name}(…)"));
            let r = self.leaf(&found.lin, ctx.comp(), true);
            self.cur_fn = saved;
            r?;
            return self.function_rest(f, scope, found.lin, &name);
        }
        let saved = self.cur_fn.replace(format!("{name}(…)"));
        let mut lin = Lin::default();
        let mut res = Ok(());
        for e in exprs {
            match self.expr(e, ctx.comp(), scope) {
                Ok(i) => match self.merge(&lin, &i.lin) {
                    Ok(l) => lin = l,
                    Err(r) => {
                        res = Err(Error::from(r));
                        break;
                    }
                },
                Err(err) => {
                    res = Err(err);
                    break;
                }
            }
        }
        self.cur_fn = saved;
        res?;
        self.function_rest(f, scope, lin, &name)
    }

    /// FILTER and OVER of a function whose arguments passed.
    fn function_rest(
        &mut self,
        f: &mut Function,
        scope: &Scope<'_>,
        lin: Lin,
        name: &str,
    ) -> Result<Info, Error> {
        if let Some(flt) = &mut f.filter {
            self.expr(flt, Ctx::Pred, scope)?;
        }
        match &mut f.over {
            None => {}
            Some(WindowType::NamedWindow(_)) => {
                return Err(unsupported(format!("{name} OVER a named window")).into())
            }
            Some(WindowType::WindowSpec(spec)) => {
                if spec.window_name.is_some() {
                    return Err(unsupported("a named window").into());
                }
                for p in &mut spec.partition_by {
                    self.expr(p, Ctx::Group, scope)?;
                }
                for o in &mut spec.order_by {
                    if o.with_fill.is_some() {
                        return Err(unsupported("WITH FILL").into());
                    }
                    self.expr(&mut o.expr, Ctx::Order, scope)?;
                }
                if let Some(frame) = &spec.window_frame {
                    for b in [Some(&frame.start_bound), frame.end_bound.as_ref()]
                        .into_iter()
                        .flatten()
                    {
                        if let WindowFrameBound::Preceding(Some(x))
                        | WindowFrameBound::Following(Some(x)) = b
                        {
                            if !is_literal(x) {
                                return Err(unsupported(
                                    "a window frame bound that is not a literal",
                                )
                                .into());
                            }
                        }
                    }
                }
            }
        }
        Ok(Info {
            lin,
            shape: Shape::Computed,
        })
    }
}

enum Side {
    Col(Lin),
    Lit,
    /// A computed value (already checked as a computation inside a predicate).
    Other,
}

fn is_column(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Value(_) => true,
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => matches!(&**expr, Expr::Value(_)),
        _ => false,
    }
}

/// Whether an unqualified name is a column of the innermost scope, without
/// building the refusal (and its suggestions) that a failed lookup makes.
fn has_column(scope: &Scope<'_>, id: &Ident) -> bool {
    scope
        .rels
        .iter()
        .flat_map(|r| r.cols.iter())
        .any(|c| ident_matches(id, &c.name))
}

fn single_ident(n: &ObjectName) -> Option<&Ident> {
    match n.0.as_slice() {
        [ObjectNamePart::Identifier(i)] => Some(i),
        _ => None,
    }
}

fn describe_action(a: &Action) -> String {
    match a {
        Action::Tokenize { class } => format!("tokenize, class {class}"),
        other => other.as_tag().to_string(),
    }
}

fn reserved(name: &str) -> Refusal {
    Refusal::new(
        Reason::ReservedName,
        format!("the name `{name}` uses the prefix `{HIDDEN_PREFIX}`, which sqlveil reserves"),
    )
    .construct(name.to_string())
}

fn nothing_to_show(w: &str) -> Refusal {
    Refusal::new(
        Reason::NothingToShow,
        format!("`{w}` leaves no column that the policy lets the model see"),
    )
    .construct(w.to_string())
}

fn agg_misuse(place: &str) -> Refusal {
    Refusal::new(
        Reason::AggregateMisuse,
        format!(
            "the result of an aggregate over an `aggregate` column may only be an output column of the outermost SELECT, not used in {place}"
        ),
    )
    .construct(place.to_string())
}

fn agg_misuse_col(col: &str, name: &str, ctx: Ctx) -> Refusal {
    let place = match ctx {
        Ctx::Out { .. } => "a nested query or inside an expression".to_string(),
        other => other.place().to_string(),
    };
    Refusal::new(
        Reason::AggregateMisuse,
        format!(
            "{name}({col}) may only be a whole item of the outermost SELECT, not in {place}: its result may not be combined, compared, ordered or passed on"
        ),
    )
    .column(col.to_string())
    .construct(format!("{name}(…)"))
}

fn count_call(arg: Option<Expr>, distinct: bool) -> Expr {
    use sqlparser::ast::{DuplicateTreatment, FunctionArgumentList};
    let dup = distinct.then_some(DuplicateTreatment::Distinct);
    let a = match arg {
        Some(e) => FunctionArgExpr::Expr(e),
        None => FunctionArgExpr::Wildcard,
    };
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new("count"))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: dup,
            args: vec![FunctionArg::Unnamed(a)],
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// Applies `AS t(a, b)` column renames to a relation's columns, and checks
/// that the relation's column names are unique.
fn rename_cols(cols: &mut [RelCol], alias: &mut TableAlias) -> Result<(), Refusal> {
    if !alias.columns.is_empty() && alias.columns.len() != cols.len() {
        return Err(unsupported(format!(
            "an alias naming {} columns of a relation that has {}",
            alias.columns.len(),
            cols.len()
        )));
    }
    for (c, a) in cols.iter_mut().zip(alias.columns.iter_mut()) {
        if a.data_type.is_some() {
            return Err(unsupported("typed alias columns"));
        }
        if a.name.value.starts_with(HIDDEN_PREFIX) {
            return Err(reserved(&a.name.value));
        }
        c.name = a.name.value.clone();
        a.name = quoted(&c.name);
    }
    for (i, c) in cols.iter().enumerate() {
        if !c.name.is_empty()
            && cols[..i]
                .iter()
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

fn rename(outs: Vec<OutCol>, alias: &mut TableAlias) -> Result<Vec<RelCol>, Refusal> {
    let mut cols: Vec<RelCol> = outs
        .into_iter()
        .map(|o| RelCol {
            name: o.name.unwrap_or_default(),
            lin: o.info.lin,
        })
        .collect();
    rename_cols(&mut cols, alias)?;
    Ok(cols)
}

/// Gives every item of the outermost select an explicit, unique alias, so that
/// the engine's column names are the guard's.
fn name_items(s: &mut Select, outs: &mut [OutCol]) {
    let mut used: Vec<String> = Vec::new();
    for (i, (item, out)) in s.projection.iter_mut().zip(outs.iter_mut()).enumerate() {
        let base = out.name.clone().unwrap_or_else(|| match item {
            SelectItem::UnnamedExpr(Expr::Function(f)) => f.name.to_string().to_ascii_lowercase(),
            _ => format!("column{}", i + 1),
        });
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        used.push(name.clone());
        out.name = Some(name.clone());
        match item {
            SelectItem::ExprWithAlias { alias, .. } => *alias = quoted(&name),
            SelectItem::UnnamedExpr(expr) => {
                let expr = std::mem::replace(expr, Expr::Value(Value::Null.with_empty_span()));
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: quoted(&name),
                };
            }
            _ => {}
        }
    }
}

fn name_leftmost(body: &mut SetExpr, outs: &[OutCol]) {
    match body {
        SetExpr::Select(s) => {
            let mut o = outs.to_vec();
            name_items(s, &mut o);
        }
        SetExpr::SetOperation { left, .. } => name_leftmost(left, outs),
        SetExpr::Query(q) => name_leftmost(&mut q.body, outs),
        _ => {}
    }
}
