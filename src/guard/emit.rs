//! The emitter: writes the SQL an engine runs from the guard's plan.
//!
//! Every relation is `t{n}` (a CTE's definition `q{n}`), every column `c{n}`,
//! unique in the statement, always quoted and always qualified; policy
//! tables are read through a projection that renames their columns, so that
//! two relations never share a column name and no engine has to choose
//! between two readings of a name. Nothing the model wrote is copied except
//! literals, which are re-written in a canonical form. Operators are always
//! parenthesised.

use std::fmt::Write;

use super::functions::{DatePart, Func, TruncUnit};
use super::plan::{
    BinOp, Body, Call, CastTo, ColId, Cte, Expr, From, IntervalUnit, IsTest, Item, JoinKind, Lit,
    OrderKey, Query, RelId, Select, SetOp, TrimSide, Ty, Wrap,
};
use super::Dialect;

/// The polars user-defined function that computes the keyed order hash.
pub(crate) const POLARS_ORDER_HASH: &str = "sqlveil_order_hash";

pub(crate) struct Emitter<'a> {
    dialect: Dialect,
    /// Which columns the statement reads (base and CTE projections list only
    /// these).
    used: &'a [bool],
    /// The order key, in hex.
    order_key: &'a str,
    next_rel: RelId,
    /// Whether ties are broken (see [`Wrap::tie`]).
    ties: bool,
    /// polars: the counts of the grouped select being wrapped that are
    /// written in a form its partitioned group-by computes, and widened to
    /// signed 64 bits by the wrapper (see [`Emitter::wrapped`]).
    counts: Vec<(ColId, Widen)>,
    /// The wrapper's relation while its counts are widened.
    widen_rel: Option<RelId>,
    /// The group's row count added beside [`Widen::Share`] counts.
    rows_col: Option<ColId>,
    /// A column id no column of the plan has.
    next_col: ColId,
    out: String,
}

/// How a count of a wrapped grouped select is written on polars.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Widen {
    /// `count(*)`, unsigned inside, `CAST(… AS BIGINT)` in the wrapper.
    Rows,
    /// `count(x)`: the share of rows where `x` is not null inside, times
    /// the group's rows (rounded) in the wrapper.
    Share,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(
        dialect: Dialect,
        used: &'a [bool],
        order_key: &'a str,
        next_rel: RelId,
        next_col: ColId,
        ties: bool,
    ) -> Emitter<'a> {
        Emitter {
            dialect,
            used,
            order_key,
            next_rel,
            ties,
            counts: Vec::new(),
            widen_rel: None,
            rows_col: None,
            next_col,
            out: String::with_capacity(512),
        }
    }

    pub(crate) fn finish(mut self, q: &Query) -> String {
        if self.dialect == Dialect::Polars {
            // polars reads CTEs only at the top of a statement: every CTE
            // goes there, each after those it reads (names are unique).
            let mut ctes = Vec::new();
            hoist(q, &mut ctes);
            if !ctes.is_empty() {
                self.s("WITH ");
                for (i, c) in ctes.iter().enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.cte_name(c.rel);
                    self.s(" AS (");
                    self.query_body(&c.query);
                    self.s(")");
                }
                self.s(" ");
            }
            self.query_body(q);
        } else {
            self.query(q);
        }
        self.out
    }

    fn used(&self, c: ColId) -> bool {
        self.used.get(c as usize).copied().unwrap_or(false)
    }

    fn s(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// The identifier quote: Spark SQL reads a double-quoted text as a
    /// string, and quotes names in backticks.
    fn q(&self) -> char {
        match self.dialect {
            Dialect::Spark => '`',
            Dialect::Polars | Dialect::Postgres => '"',
        }
    }

    fn rel(&mut self, r: RelId) {
        let q = self.q();
        let _ = write!(self.out, "{q}t{r}{q}");
    }

    fn cte_name(&mut self, r: RelId) {
        let q = self.q();
        let _ = write!(self.out, "{q}q{r}{q}");
    }

    fn col(&mut self, c: ColId) {
        let q = self.q();
        let _ = write!(self.out, "{q}c{c}{q}");
    }

    fn qcol(&mut self, r: RelId, c: ColId) {
        let q = self.q();
        if self.widen_rel == Some(r) {
            match self.counts.iter().find(|(id, _)| *id == c).map(|x| x.1) {
                Some(Widen::Rows) => {
                    let _ = write!(self.out, "CAST({q}t{r}{q}.{q}c{c}{q} AS BIGINT)");
                    return;
                }
                Some(Widen::Share) => {
                    // Always set beside a share; a column no plan has otherwise.
                    let n = self.rows_col.unwrap_or(ColId::MAX);
                    let _ = write!(
                        self.out,
                        "CAST(round({q}t{r}{q}.{q}c{c}{q} * {q}t{r}{q}.{q}c{n}{q}) AS BIGINT)"
                    );
                    return;
                }
                None => {}
            }
        }
        let _ = write!(self.out, "{q}t{r}{q}.{q}c{c}{q}");
    }

    /// A name from the policy (a table or one of its columns), quoted; the
    /// quote character doubled inside.
    fn policy_name(&mut self, name: &str) {
        let q = self.q();
        self.out.push(q);
        for ch in name.chars() {
            if ch == q {
                self.out.push(q);
            }
            self.out.push(ch);
        }
        self.out.push(q);
    }

    fn fresh_rel(&mut self) -> RelId {
        let r = self.next_rel;
        self.next_rel += 1;
        r
    }

    // ------------------------------------------------------------ queries

    fn query(&mut self, q: &Query) {
        if self.dialect == Dialect::Polars {
            self.query_body(q);
            return;
        }
        if !q.ctes.is_empty() {
            self.s("WITH ");
            for (i, c) in q.ctes.iter().enumerate() {
                if i > 0 {
                    self.s(", ");
                }
                self.cte_name(c.rel);
                self.s(" AS (");
                self.query(&c.query);
                self.s(")");
            }
            self.s(" ");
        }
        self.query_body(q);
    }

    /// A query without its CTEs.
    fn query_body(&mut self, q: &Query) {
        match &q.wrap {
            None => self.body(&q.body, &q.outputs),
            Some(w) => self.wrapped(q, w),
        }
    }

    fn wrapped(&mut self, q: &Query, w: &Wrap) {
        // polars computes a group-by with only plain aggregates (`count(*)`,
        // `sum`, `avg`, `min`, `max` of columns) partitioned over its
        // threads, and anything else, a cast around a count or a count of
        // a column's values, one group at a time: two to three times
        // slower. So the counts of a grouped select wrapped here are
        // written in the plain form inside and made signed in the wrapper,
        // where there is one row per group. `count(x)` is the share of rows
        // with a value (an average of 0 and 1, exact in a double) times the
        // group's rows: equal to the count after rounding.
        let saved = (
            std::mem::take(&mut self.counts),
            self.widen_rel.take(),
            self.rows_col.take(),
        );
        if let (Dialect::Polars, Body::Select(s)) = (self.dialect, &q.body) {
            if !s.group_by.is_empty() && !s.distinct {
                self.counts = s
                    .items
                    .iter()
                    .filter_map(|it| match &it.expr {
                        Expr::Call(c)
                            if c.func == Func::Count
                                && !c.distinct
                                && c.filter.is_none()
                                && c.over.is_none() =>
                        {
                            match (c.star, c.args.len()) {
                                (true, _) => Some((it.id, Widen::Rows)),
                                (false, 1) => Some((it.id, Widen::Share)),
                                _ => None,
                            }
                        }
                        _ => None,
                    })
                    .collect();
            }
        }
        if !self.counts.is_empty() {
            self.widen_rel = Some(w.rel);
        }
        if self.counts.iter().any(|c| c.1 == Widen::Share) {
            self.rows_col = Some(self.next_col);
            self.next_col += 1;
        }
        self.s("SELECT ");
        for (i, &c) in w.select.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.qcol(w.rel, c);
            self.s(" AS ");
            self.col(c);
        }
        self.s(" FROM (");
        self.body(&q.body, &q.outputs);
        self.s(") AS ");
        self.rel(w.rel);
        for (i, f) in w.filters.iter().enumerate() {
            self.s(if i == 0 { " WHERE " } else { " AND " });
            self.qcol(w.rel, f.distinct);
            let _ = write!(self.out, " >= {}", f.min);
            if let Some(rows) = f.rows {
                self.s(" AND ");
                self.qcol(w.rel, f.distinct);
                self.s(" = ");
                self.qcol(w.rel, rows);
            }
        }
        let mut keys: Vec<&OrderKey> = w.order.iter().collect();
        if self.ties {
            keys.extend(w.tie.iter());
        }
        self.order_by(&keys);
        if let Some(l) = w.limit {
            let _ = write!(self.out, " LIMIT {l}");
        }
        if let Some(o) = w.offset.filter(|&o| o > 0) {
            let _ = write!(self.out, " OFFSET {o}");
        }
        (self.counts, self.widen_rel, self.rows_col) = saved;
    }

    fn order_by(&mut self, keys: &[&OrderKey]) {
        if !keys.is_empty() {
            self.s(" ORDER BY ");
        }
        self.order_keys(keys);
    }

    fn order_keys(&mut self, keys: &[&OrderKey]) {
        // A key repeated adds nothing, and polars refuses it.
        let mut seen: Vec<String> = Vec::with_capacity(keys.len());
        for k in keys {
            let start = self.out.len();
            if !seen.is_empty() {
                self.s(", ");
            }
            let at = self.out.len();
            self.expr(&k.expr);
            let text = self.out[at..].to_string();
            if seen.contains(&text) {
                self.out.truncate(start);
                continue;
            }
            seen.push(text);
            self.s(if k.desc { " DESC" } else { " ASC" });
            let first = k.nulls_first.unwrap_or(k.desc);
            self.s(if first { " NULLS FIRST" } else { " NULLS LAST" });
        }
    }

    fn body(&mut self, b: &Body, outputs: &[ColId]) {
        match b {
            Body::Select(s) => self.select(s),
            Body::SetOp {
                op,
                all,
                left,
                right,
            } => {
                self.branch(left);
                self.s(match op {
                    SetOp::Union => " UNION ",
                    SetOp::Intersect => " INTERSECT ",
                    SetOp::Except => " EXCEPT ",
                });
                if *all {
                    self.s("ALL ");
                }
                self.branch(right);
            }
            Body::Nested(q) => self.branch(q),
            Body::Values(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    if i > 0 {
                        self.s(" UNION ALL ");
                    }
                    self.s("SELECT ");
                    for (j, e) in row.iter().enumerate() {
                        if j > 0 {
                            self.s(", ");
                        }
                        self.expr(e);
                        if let Some(&c) = outputs.get(j) {
                            self.s(" AS ");
                            self.col(c);
                        }
                    }
                }
            }
        }
    }

    /// A set operation's branch: a plain select as it is, anything else (a
    /// set operation, an ordered or capped query, CTEs) as a derived table
    /// whose columns are taken by position.
    fn branch(&mut self, q: &Query) {
        if let (true, None, Body::Select(s)) = (q.ctes.is_empty(), &q.wrap, &q.body) {
            // A select with hidden items (order keys, a column that keeps
            // polars row by row) is wrapped: a branch has its outputs only.
            if s.items.len() == q.outputs.len() {
                self.select(s);
                return;
            }
        }
        self.branch_always(q);
    }

    /// A query as a derived table whose columns are selected by name.
    fn branch_always(&mut self, q: &Query) {
        let r = self.fresh_rel();
        self.s("SELECT ");
        for (i, &c) in q.outputs.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.qcol(r, c);
            self.s(" AS ");
            self.col(c);
        }
        self.s(" FROM (");
        self.query(q);
        self.s(") AS ");
        self.rel(r);
    }

    fn select(&mut self, s: &Select) {
        self.s("SELECT ");
        if s.distinct {
            self.s("DISTINCT ");
        }
        let mut share = false;
        for (i, Item { expr, id }) in s.items.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            match (self.counts.iter().find(|c| c.0 == *id), expr) {
                (Some((_, Widen::Rows)), _) => self.s("count(*)"),
                (Some((_, Widen::Share)), Expr::Call(c)) if c.args.len() == 1 => {
                    share = true;
                    self.s("avg(CAST(");
                    self.list(&c.args);
                    self.s(" IS NOT NULL AS DOUBLE))");
                }
                _ => self.expr(expr),
            }
            self.s(" AS ");
            self.col(*id);
        }
        if let (true, Some(n)) = (share, self.rows_col) {
            self.s(", count(*) AS ");
            self.col(n);
        }
        for (i, f) in s.from.iter().enumerate() {
            self.s(if i == 0 { " FROM " } else { " CROSS JOIN " });
            self.from(f);
        }
        if let Some(w) = &s.filter {
            self.s(" WHERE ");
            self.expr(w);
        }
        // A key that is an item is written as the item's position: polars
        // names a computed key after its first column, so two keys over one
        // column would collide (both engines read positions alike).
        let items: Vec<String> = if s.group_by.is_empty() {
            Vec::new()
        } else {
            s.items.iter().map(|it| self.render(&it.expr)).collect()
        };
        for (i, g) in s.group_by.iter().enumerate() {
            self.s(if i == 0 { " GROUP BY " } else { ", " });
            let text = self.render(g);
            match items.iter().position(|t| *t == text) {
                Some(p) if !matches!(g, Expr::Col(..)) => {
                    let _ = write!(self.out, "{}", p + 1);
                }
                _ => self.s(&text),
            }
        }
        if let Some(h) = &s.having {
            self.s(" HAVING ");
            self.expr(h);
        }
    }

    /// A `FROM` item: every relation under its generated name.
    fn from(&mut self, f: &From) {
        match f {
            From::Base { rel, table, cols } => self.base_table(*rel, table, cols),
            From::Derived { rel, query } => {
                self.s("(");
                self.query(query);
                self.s(") AS ");
                self.rel(*rel);
            }
            From::CteRef { rel, cte, cols } => {
                self.s("(SELECT ");
                let shown = self.shown(cols.iter().map(|c| c.1));
                for (i, &(src, c)) in cols.iter().filter(|c| shown.contains(&c.1)).enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.col(src);
                    self.s(" AS ");
                    self.col(c);
                }
                self.s(" FROM ");
                self.cte_name(*cte);
                self.s(") AS ");
                self.rel(*rel);
            }
            From::Filtered {
                rel,
                inner_rel,
                inner,
                cols,
                filter,
            } => {
                self.s("(SELECT ");
                let shown: Vec<ColId> = match &**inner {
                    From::Derived { query, .. } => query.outputs.clone(),
                    _ => self.shown(cols.iter().copied()),
                };
                for (i, &c) in shown.iter().enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.qcol(*inner_rel, c);
                    self.s(" AS ");
                    self.col(c);
                }
                self.s(" FROM ");
                self.from(inner);
                self.s(" WHERE ");
                self.expr(filter);
                self.s(") AS ");
                self.rel(*rel);
            }
            From::Join {
                kind,
                left,
                right,
                on,
            } => self.join(*kind, left, right, on.as_ref()),
        }
    }

    /// A policy table read through a projection that renames the columns
    /// the query reads: `(SELECT "name" AS c1, … FROM "schema"."table") AS t1`.
    fn base_table(&mut self, rel: RelId, table: &str, cols: &[(String, ColId)]) {
        self.s("(SELECT ");
        let shown = self.shown(cols.iter().map(|c| c.1));
        for (i, (name, c)) in cols.iter().filter(|c| shown.contains(&c.1)).enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.policy_name(name);
            self.s(" AS ");
            self.col(*c);
        }
        self.s(" FROM ");
        for (i, part) in table.split('.').enumerate() {
            if i > 0 {
                self.s(".");
            }
            self.policy_name(part);
        }
        self.s(") AS ");
        self.rel(rel);
    }

    /// `left KIND JOIN right [ON …]`, a join on the right in parentheses.
    fn join(&mut self, kind: JoinKind, left: &From, right: &From, on: Option<&Expr>) {
        self.from(left);
        self.s(match kind {
            JoinKind::Inner => " INNER JOIN ",
            JoinKind::Left => " LEFT JOIN ",
            JoinKind::Right => " RIGHT JOIN ",
            JoinKind::Full => " FULL JOIN ",
            JoinKind::Cross => " CROSS JOIN ",
        });
        if matches!(right, From::Join { .. }) {
            self.s("(");
            self.from(right);
            self.s(")");
        } else {
            self.from(right);
        }
        if let Some(on) = on {
            self.s(" ON ");
            self.on(on);
        }
    }

    /// An expression as text, apart from the statement.
    fn render(&mut self, e: &Expr) -> String {
        let start = self.out.len();
        self.expr(e);
        let text = self.out[start..].to_string();
        self.out.truncate(start);
        text
    }

    /// The columns a relation's projection lists: those the statement reads,
    /// or the first one when it reads none (`count(*)`), so the projection
    /// keeps the rows.
    fn shown(&self, cols: impl Iterator<Item = ColId> + Clone) -> Vec<ColId> {
        let used: Vec<ColId> = cols.clone().filter(|&c| self.used(c)).collect();
        if used.is_empty() {
            cols.take(1).collect()
        } else {
            used
        }
    }

    /// A join condition: its terms joined by `AND` and its equalities written
    /// without outer parentheses, the form polars reads as join keys.
    fn on(&mut self, e: &Expr) {
        match e {
            Expr::Bin(BinOp::And, a, b) => {
                self.on(a);
                self.s(" AND ");
                self.on(b);
            }
            Expr::Bin(BinOp::Eq, a, b) => {
                self.expr(a);
                self.s(" = ");
                self.expr(b);
            }
            other => self.expr(other),
        }
    }

    // ------------------------------------------------------------ expressions

    fn lit(&mut self, l: &Lit) {
        match l {
            Lit::Null => self.s("NULL"),
            Lit::Bool(true) => self.s("TRUE"),
            Lit::Bool(false) => self.s("FALSE"),
            // polars reads no exponent: written out in full.
            Lit::Number(n) if self.dialect == Dialect::Polars && n.contains(['e', 'E']) => {
                match n.parse::<f64>() {
                    Ok(f) if f.is_finite() => {
                        let text = format!("{f}");
                        self.s(&text);
                        if !text.contains('.') {
                            self.s(".0");
                        }
                    }
                    _ => self.s(n),
                }
            }
            Lit::Number(n) => self.s(n),
            Lit::Str(s) => self.string(s),
            // polars reads a typed string through a deprecated cast (and
            // says so on stderr): parse it instead.
            Lit::Date(d) if self.dialect == Dialect::Polars => {
                self.s("CAST(strptime(");
                self.string(d);
                self.s(", '%Y-%m-%d') AS DATE)");
            }
            Lit::Timestamp(t) if self.dialect == Dialect::Polars => {
                self.s("strptime(");
                self.string(t);
                self.s(", '%Y-%m-%d %H:%M:%S')");
            }
            Lit::Date(d) => {
                self.s("DATE ");
                self.string(d);
            }
            Lit::Timestamp(t) => {
                self.s("TIMESTAMP ");
                self.string(t);
            }
            // Spark's typed intervals (a day-time or a year-month one),
            // which it adds to dates and timestamps as PostgreSQL does.
            Lit::Interval(n, unit) if self.dialect == Dialect::Spark => {
                let (n, unit) = match unit {
                    IntervalUnit::Week => (n.saturating_mul(7), "DAY"),
                    IntervalUnit::Second => (*n, "SECOND"),
                    IntervalUnit::Minute => (*n, "MINUTE"),
                    IntervalUnit::Hour => (*n, "HOUR"),
                    IntervalUnit::Day => (*n, "DAY"),
                    IntervalUnit::Month => (*n, "MONTH"),
                    IntervalUnit::Year => (*n, "YEAR"),
                };
                let _ = write!(self.out, "INTERVAL '{n}' {unit}");
            }
            Lit::Interval(n, unit) => {
                let _ = write!(self.out, "INTERVAL '{n} {}'", unit.word());
            }
        }
    }

    /// A string literal: single quotes doubled, nothing else escaped (polars
    /// and PostgreSQL read backslashes as they are: polars through
    /// sqlparser's generic dialect, PostgreSQL with
    /// `standard_conforming_strings`).
    ///
    /// Spark reads a backslash as an escape, so there a backslash and a
    /// quote are escaped with one; `$` is written as `\u0024`, so that no
    /// `${…}` of a literal can ever meet Spark's variable substitution (the
    /// engine turns substitution off too).
    fn string(&mut self, s: &str) {
        self.out.push('\'');
        let spark = self.dialect == Dialect::Spark;
        for ch in s.chars() {
            match ch {
                '\'' if spark => self.out.push_str("\\'"),
                '\\' if spark => self.out.push_str("\\\\"),
                '$' if spark => self.out.push_str("\\u0024"),
                '\'' => self.out.push_str("''"),
                other => self.out.push(other),
            }
        }
        self.out.push('\'');
    }

    fn cast_type(&self, t: CastTo) -> &'static str {
        match (t, self.dialect) {
            (CastTo::Int, _) => "INTEGER",
            (CastTo::BigInt, _) => "BIGINT",
            (CastTo::Float, Dialect::Postgres) => "DOUBLE PRECISION",
            (CastTo::Float, Dialect::Polars | Dialect::Spark) => "DOUBLE",
            (CastTo::Numeric, Dialect::Postgres) => "NUMERIC",
            // Spark's bare DECIMAL is DECIMAL(10, 0), which drops decimals.
            (CastTo::Numeric, Dialect::Polars | Dialect::Spark) => "DOUBLE",
            (CastTo::Text, Dialect::Postgres) => "TEXT",
            (CastTo::Text, Dialect::Polars) => "VARCHAR",
            (CastTo::Text, Dialect::Spark) => "STRING",
            (CastTo::Bool, _) => "BOOLEAN",
            (CastTo::Date, _) => "DATE",
            (CastTo::Timestamp, _) => "TIMESTAMP",
        }
    }

    fn list(&mut self, es: &[Expr]) {
        for (i, e) in es.iter().enumerate() {
            if i > 0 {
                self.s(", ");
            }
            self.expr(e);
        }
    }

    /// An expression, every operator parenthesised.
    pub(crate) fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Col(r, c) => self.qcol(*r, *c),
            Expr::Lit(l) => self.lit(l),
            // A negative number as one literal (polars takes only literals
            // in IN lists); operators around it are spaced, so no `--`.
            Expr::Neg(x) if matches!(**x, Expr::Lit(Lit::Number(_))) => {
                self.s("-");
                self.expr(x);
            }
            Expr::Neg(x) => self.enclosed("(- ", x, ")"),
            Expr::Not(x) => self.enclosed("(NOT ", x, ")"),
            Expr::Bin(op, a, b) => self.infix(a, op.sql(), b),
            Expr::Is(t, x) => self.is_test(*t, x),
            Expr::Distinct { not, left, right } => {
                let op = if *not {
                    "IS NOT DISTINCT FROM"
                } else {
                    "IS DISTINCT FROM"
                };
                self.infix(left, op, right);
            }
            Expr::Between {
                not,
                expr,
                low,
                high,
            } => self.between(*not, expr, low, high),
            Expr::Like {
                not,
                ilike,
                expr,
                pattern,
            } => self.like(*not, *ilike, expr, pattern),
            Expr::InList { not, expr, list } => self.in_list(*not, expr, list),
            Expr::InQuery { not, expr, query } => self.in_query(*not, expr, query),
            Expr::Exists { not, query } => {
                self.s(if *not { "(NOT EXISTS (" } else { "(EXISTS (" });
                self.query(query);
                self.s("))");
            }
            Expr::Scalar(q) => {
                self.s("(");
                self.query(q);
                self.s(")");
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => self.case(operand.as_deref(), whens, otherwise.as_deref()),
            Expr::Cast(x, t) => {
                self.s("CAST(");
                self.expr(x);
                self.s(" AS ");
                let t = self.cast_type(*t);
                self.s(t);
                self.s(")");
            }
            Expr::Call(c) => self.call(c),
            Expr::Part(p, x) => self.part(*p, x),
            Expr::Trunc(u, x, ty) => self.trunc(*u, x, *ty),
            Expr::ToDate(x, fmt) => self.parse_date(x, fmt),
            Expr::Trim { side, expr, chars } => self.trim(*side, expr, chars.as_deref()),
            Expr::OrderHash(x) => self.order_hash(x),
        }
    }

    /// `pre`, the expression, `post`.
    fn enclosed(&mut self, pre: &str, x: &Expr, post: &str) {
        self.s(pre);
        self.expr(x);
        self.s(post);
    }

    /// `(a op b)`.
    fn infix(&mut self, a: &Expr, op: &str, b: &Expr) {
        self.s("(");
        self.expr(a);
        self.s(" ");
        self.s(op);
        self.s(" ");
        self.expr(b);
        self.s(")");
    }

    /// `(x IS [NOT] NULL | TRUE | FALSE)`.
    fn is_test(&mut self, t: IsTest, x: &Expr) {
        self.s("(");
        self.expr(x);
        self.s(match t {
            IsTest::Null => " IS NULL",
            IsTest::NotNull => " IS NOT NULL",
            IsTest::True => " IS TRUE",
            IsTest::NotTrue => " IS NOT TRUE",
            IsTest::False => " IS FALSE",
            IsTest::NotFalse => " IS NOT FALSE",
        });
        self.s(")");
    }

    /// `(x [NOT] BETWEEN low AND high)`.
    fn between(&mut self, not: bool, x: &Expr, low: &Expr, high: &Expr) {
        self.s("(");
        self.expr(x);
        self.s(if not { " NOT BETWEEN " } else { " BETWEEN " });
        self.expr(low);
        self.s(" AND ");
        self.expr(high);
        self.s(")");
    }

    /// `(x [NOT] LIKE | ILIKE pattern)`.
    fn like(&mut self, not: bool, ilike: bool, x: &Expr, pattern: &Expr) {
        self.s("(");
        self.expr(x);
        if not {
            self.s(" NOT");
        }
        self.s(if ilike { " ILIKE " } else { " LIKE " });
        self.expr(pattern);
        self.s(")");
    }

    /// `(x [NOT] IN (…))`; on polars, which takes only plain literals in an
    /// IN list, other lists as the same test written with equalities.
    fn in_list(&mut self, not: bool, x: &Expr, list: &[Expr]) {
        if self.dialect == Dialect::Polars && !list.iter().all(plain_literal) {
            self.s(if not { "(NOT (" } else { "((" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    self.s(" OR ");
                }
                self.expr(x);
                self.s(" = ");
                self.expr(item);
            }
            self.s("))");
            return;
        }
        self.s("(");
        self.expr(x);
        self.s(if not { " NOT IN (" } else { " IN (" });
        self.list(list);
        self.s("))");
    }

    /// `(x [NOT] IN (SELECT …))`.
    fn in_query(&mut self, not: bool, x: &Expr, query: &Query) {
        self.s("(");
        self.expr(x);
        self.s(if not { " NOT IN (" } else { " IN (" });
        if self.dialect == Dialect::Polars {
            // polars semi-joins on the subquery's expression, which
            // must then be a plain column.
            self.branch_always(query);
        } else {
            self.query(query);
        }
        self.s("))");
    }

    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    fn case(&mut self, operand: Option<&Expr>, whens: &[(Expr, Expr)], otherwise: Option<&Expr>) {
        self.s("CASE");
        if let Some(o) = operand {
            self.s(" ");
            self.expr(o);
        }
        for (w, t) in whens {
            self.s(" WHEN ");
            self.expr(w);
            self.s(" THEN ");
            self.expr(t);
        }
        if let Some(o) = otherwise {
            self.s(" ELSE ");
            self.expr(o);
        }
        self.s(" END");
    }

    /// A text parsed as a date with a PostgreSQL format, in each engine's
    /// own function and format.
    fn parse_date(&mut self, x: &Expr, fmt: &str) {
        match self.dialect {
            Dialect::Spark => {
                // The walker admits only formats with a Java equivalent.
                self.s("to_date(");
                self.expr(x);
                self.s(", ");
                let java = super::walk::java_format(fmt).unwrap_or_default();
                self.string(&java);
                self.s(")");
            }
            Dialect::Postgres => {
                self.s("to_date(");
                self.expr(x);
                self.s(", ");
                self.string(fmt);
                self.s(")");
            }
            Dialect::Polars => {
                self.s("CAST(strptime(");
                self.expr(x);
                self.s(", ");
                let chrono = super::walk::chrono_format(fmt).unwrap_or_default();
                self.string(&chrono);
                self.s(") AS DATE)");
            }
        }
    }

    /// `TRIM(BOTH | LEADING | TRAILING [chars] FROM x)`.
    fn trim(&mut self, side: TrimSide, x: &Expr, chars: Option<&Expr>) {
        self.s("TRIM(");
        self.s(match side {
            TrimSide::Both => "BOTH ",
            TrimSide::Leading => "LEADING ",
            TrimSide::Trailing => "TRAILING ",
        });
        if let Some(c) = chars {
            self.expr(c);
            self.s(" ");
        }
        self.s("FROM ");
        self.expr(x);
        self.s(")");
    }

    /// The keyed hash that orders a protected value: SHA-256 of the
    /// guard's order key and the value as text.
    fn order_hash(&mut self, x: &Expr) {
        match self.dialect {
            Dialect::Postgres => {
                let _ = write!(self.out, "sha256(convert_to('{}' || CAST(", self.order_key);
                self.expr(x);
                self.s(" AS TEXT), 'UTF8'))");
            }
            Dialect::Polars => {
                let _ = write!(self.out, "{POLARS_ORDER_HASH}('{}', ", self.order_key);
                self.expr(x);
                self.s(")");
            }
            // The hex SHA-256, which sorts as PostgreSQL's bytes do.
            Dialect::Spark => {
                let _ = write!(self.out, "sha2(concat('{}', CAST(", self.order_key);
                self.expr(x);
                self.s(" AS STRING)), 256)");
            }
        }
    }

    fn part(&mut self, p: DatePart, x: &Expr) {
        // Whole fields are integers on both engines (PostgreSQL's numeric
        // and polars' i8/i32 otherwise differ).
        let whole = p.is_whole();
        if whole {
            self.s("CAST(");
        }
        // Spark counts the day of the week from 1 (Sunday), PostgreSQL from
        // 0; its ISO day of the week is `dow_iso`. (The walker refuses
        // `epoch` on Spark.)
        let (word, minus_one) = match (self.dialect, p) {
            (Dialect::Spark, DatePart::DayOfWeek) => ("dow", true),
            (Dialect::Spark, DatePart::IsoDayOfWeek) => ("dow_iso", false),
            _ => (p.word(), false),
        };
        if minus_one {
            self.s("(");
        }
        let _ = write!(self.out, "date_part('{word}', ");
        self.expr(x);
        self.s(")");
        if minus_one {
            self.s(" - 1)");
        }
        if whole {
            self.s(" AS INTEGER)");
        }
    }

    fn trunc(&mut self, u: TruncUnit, x: &Expr, ty: Ty) {
        match self.dialect {
            Dialect::Postgres | Dialect::Spark => {
                // A date stays a date (PostgreSQL and Spark would return a
                // timestamp).
                let date = ty == Ty::Date;
                if date {
                    self.s("CAST(");
                }
                let _ = write!(self.out, "date_trunc('{}', ", u.word());
                self.expr(x);
                self.s(")");
                if date {
                    self.s(" AS DATE)");
                }
            }
            Dialect::Polars => {
                let (fmt, to) = match u {
                    TruncUnit::Year => ("%Y-01-01 00:00:00", "DATE"),
                    TruncUnit::Month => ("%Y-%m-01 00:00:00", "DATE"),
                    TruncUnit::Day => ("%Y-%m-%d 00:00:00", "DATE"),
                    TruncUnit::Hour => ("%Y-%m-%d %H:00:00", "TIMESTAMP"),
                    TruncUnit::Minute => ("%Y-%m-%d %H:%M:00", "TIMESTAMP"),
                    // The walker refuses the others on polars.
                    TruncUnit::Quarter | TruncUnit::Week => ("%Y-%m-%d 00:00:00", "DATE"),
                };
                let to = if ty == Ty::Timestamp { "TIMESTAMP" } else { to };
                // Format, then parse back (a cast from text is deprecated in
                // polars).
                self.s("CAST(strptime(strftime(");
                self.expr(x);
                let _ = write!(self.out, ", '{fmt}'), '%Y-%m-%d %H:%M:%S') AS {to})");
            }
        }
    }

    fn call(&mut self, c: &Call) {
        // polars counts and measures in unsigned 32-bit integers, which wrap
        // below zero in arithmetic (`length(x) - 57`): made signed 64-bit.
        let unsigned = self.dialect == Dialect::Polars
            && matches!(
                c.func,
                Func::Count
                    | Func::Length
                    | Func::RowNumber
                    | Func::Rank
                    | Func::DenseRank
                    | Func::Strpos
            );
        if unsigned {
            self.s("CAST(");
            self.call_inner(c);
            self.s(" AS BIGINT)");
        } else {
            self.call_inner(c);
        }
    }

    fn call_inner(&mut self, c: &Call) {
        if self.dialect == Dialect::Spark && self.spark_call(c) {
            return;
        }
        let name = match (c.func, self.dialect) {
            (Func::StartsWith, Dialect::Spark) => "startswith",
            (Func::EndsWith, Dialect::Spark) => "endswith",
            (Func::Strpos, Dialect::Spark) => "instr",
            (Func::Median, Dialect::Postgres) => {
                // PostgreSQL has no median(): the continuous percentile.
                self.s("percentile_cont(0.5) WITHIN GROUP (ORDER BY ");
                self.list(&c.args);
                self.s(")");
                self.filter_over(c);
                return;
            }
            (Func::Log10, Dialect::Postgres) => "log",
            (Func::Stddev, _) => "stddev",
            (Func::Variance, _) => "variance",
            (f, _) => func_name(f),
        };
        self.s(name);
        self.s("(");
        if c.distinct {
            self.s("DISTINCT ");
        }
        if c.star {
            self.s("*");
        } else {
            self.list(&c.args);
        }
        self.s(")");
        self.filter_over(c);
    }

    /// Calls that Spark computes otherwise than PostgreSQL, written as
    /// PostgreSQL computes them; `false` for every other call.
    fn spark_call(&mut self, c: &Call) -> bool {
        let args = c.args.as_slice();
        match (c.func, args) {
            // Spark's two-argument ltrim and rtrim take the characters
            // first.
            (Func::Ltrim | Func::Rtrim, [x, chars]) => {
                self.s(if c.func == Func::Ltrim {
                    "TRIM(LEADING "
                } else {
                    "TRIM(TRAILING "
                });
                self.expr(chars);
                self.s(" FROM ");
                self.expr(x);
                self.s(")");
            }
            // PostgreSQL's concat skips NULLs (and gives '' for none); Spark's
            // gives NULL.
            (Func::Concat, _) => {
                self.s("concat(");
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.s(", ");
                    }
                    self.s("coalesce(CAST(");
                    self.expr(a);
                    self.s(" AS STRING), '')");
                }
                self.s(")");
            }
            // A start before 1 counts positions before the string in
            // PostgreSQL; Spark reads 0 as 1 and a negative start from the
            // end.
            (Func::Substr, [x, start, rest @ ..]) if !positive_literal(start) => {
                self.s("substr(");
                self.expr(x);
                self.s(", greatest(");
                self.expr(start);
                self.s(", 1)");
                if let [len] = rest {
                    // Characters from max(start, 1) to start + len - 1.
                    self.s(", greatest((");
                    self.expr(start);
                    self.s(" + ");
                    self.expr(len);
                    self.s(") - greatest(");
                    self.expr(start);
                    self.s(", 1), 0)");
                }
                self.s(")");
            }
            // A negative count is all but that many in PostgreSQL, nothing
            // in Spark.
            (Func::Left | Func::Right, [x, n]) if !non_negative_literal(n) => {
                let name = if c.func == Func::Left {
                    "left"
                } else {
                    "right"
                };
                self.s("CASE WHEN ");
                self.expr(n);
                let _ = write!(self.out, " >= 0 THEN {name}(");
                self.expr(x);
                self.s(", ");
                self.expr(n);
                let _ = write!(self.out, ") ELSE {name}(");
                self.expr(x);
                self.s(", greatest(length(");
                self.expr(x);
                self.s(") + ");
                self.expr(n);
                self.s(", 0)) END");
            }
            _ => return false,
        }
        true
    }

    fn filter_over(&mut self, c: &Call) {
        if let Some(f) = &c.filter {
            self.s(" FILTER (WHERE ");
            self.expr(f);
            self.s(")");
        }
        if let Some(w) = &c.over {
            self.s(" OVER (");
            for (i, p) in w.partition.iter().enumerate() {
                self.s(if i == 0 { "PARTITION BY " } else { ", " });
                self.expr(p);
            }
            // polars sorts a window in one direction: ties follow the first
            // key's.
            let ties: Vec<OrderKey> = match (self.dialect, w.order.first()) {
                (Dialect::Polars, Some(first)) => w
                    .tie
                    .iter()
                    .map(|t| OrderKey {
                        desc: first.desc,
                        ..t.clone()
                    })
                    .collect(),
                _ => w.tie.clone(),
            };
            let mut keys: Vec<&OrderKey> = w.order.iter().collect();
            if self.ties {
                keys.extend(ties.iter());
            }
            if !keys.is_empty() {
                if !w.partition.is_empty() {
                    self.s(" ");
                }
                self.s("ORDER BY ");
                self.order_keys(&keys);
            }
            if w.rows_to_current {
                self.s(" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW");
            }
            self.s(")");
        }
    }
}

/// A whole number literal of at least 1.
fn positive_literal(e: &Expr) -> bool {
    matches!(e, Expr::Lit(Lit::Number(n)) if n.parse::<u64>().is_ok_and(|n| n >= 1))
}

/// A whole number literal of at least 0.
fn non_negative_literal(e: &Expr) -> bool {
    matches!(e, Expr::Lit(Lit::Number(n)) if n.parse::<u64>().is_ok())
}

/// A literal polars takes in an IN list.
fn plain_literal(e: &Expr) -> bool {
    match e {
        Expr::Lit(l) => matches!(l, Lit::Null | Lit::Bool(_) | Lit::Number(_) | Lit::Str(_)),
        Expr::Neg(x) => matches!(**x, Expr::Lit(Lit::Number(_))),
        _ => false,
    }
}

/// The SQL name of a function, the same on both engines.
fn func_name(f: Func) -> &'static str {
    match f {
        Func::Abs => "abs",
        Func::Ceil => "ceil",
        Func::Floor => "floor",
        Func::Round => "round",
        Func::Trunc => "trunc",
        Func::Sqrt => "sqrt",
        Func::Cbrt => "cbrt",
        Func::Power => "power",
        Func::Exp => "exp",
        Func::Ln => "ln",
        Func::Log10 => "log10",
        Func::Sign => "sign",
        Func::Mod => "mod",
        Func::Greatest => "greatest",
        Func::Least => "least",
        Func::Coalesce => "coalesce",
        Func::Nullif => "nullif",
        Func::Lower => "lower",
        Func::Upper => "upper",
        Func::Length => "length",
        Func::Ltrim => "ltrim",
        Func::Rtrim => "rtrim",
        Func::Substr => "substr",
        Func::Left => "left",
        Func::Right => "right",
        Func::Replace => "replace",
        Func::Reverse => "reverse",
        Func::Concat => "concat",
        Func::ConcatWs => "concat_ws",
        Func::Lpad => "lpad",
        Func::Rpad => "rpad",
        Func::StartsWith => "starts_with",
        Func::EndsWith => "ends_with",
        Func::Strpos => "strpos",
        Func::SplitPart => "split_part",
        Func::Initcap => "initcap",
        Func::DatePart => "date_part",
        Func::DateTrunc => "date_trunc",
        Func::ToDate => "to_date",
        Func::Count => "count",
        Func::Sum => "sum",
        Func::Avg => "avg",
        Func::Min => "min",
        Func::Max => "max",
        Func::Median => "median",
        Func::Stddev => "stddev",
        Func::StddevPop => "stddev_pop",
        Func::Variance => "variance",
        Func::VarPop => "var_pop",
        Func::BoolAnd => "bool_and",
        Func::BoolOr => "bool_or",
        Func::RowNumber => "row_number",
        Func::Rank => "rank",
        Func::DenseRank => "dense_rank",
        Func::Ntile => "ntile",
        Func::PercentRank => "percent_rank",
        Func::CumeDist => "cume_dist",
        Func::Lag => "lag",
        Func::Lead => "lead",
        Func::FirstValue => "first_value",
        Func::DateDiff => "datediff",
    }
}

/// Every CTE of a statement, each after the CTEs it reads: a CTE's own
/// nested CTEs first, then the CTE, then those of the query's body.
fn hoist<'q>(q: &'q Query, out: &mut Vec<&'q Cte>) {
    for c in &q.ctes {
        hoist(&c.query, out);
        out.push(c);
    }
    for child in q.children() {
        hoist(child, out);
    }
}
