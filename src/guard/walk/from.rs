//! `FROM`: policy tables, derived tables, CTE references and joins.

use sqlparser::ast::{
    Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query as SqlQuery, TableAlias,
    TableFactor, TableWithJoins,
};

use super::query::{rename, visit};
use super::rules::{not_on_engine, Ctx};
use super::scope::{ident_matches, idents_match, Rel, RelCol, Scope, UsingCol};
use super::{closest, single_ident, unsupported, Occurrence, Walker};
use crate::error::Error;
use crate::guard::functions::Func;
use crate::guard::plan::{BinOp, Call, Expr, From, JoinKind, RelId, Ty};
use crate::guard::{variant_name, Dialect, Reason, Refusal};
use crate::schema::ColumnType;

/// The guard's type for a catalog type.
pub(super) fn ty_of(t: &ColumnType) -> Ty {
    match t {
        ColumnType::Text => Ty::Text,
        ColumnType::Integer => Ty::Int,
        ColumnType::Float => Ty::Float,
        ColumnType::Boolean => Ty::Bool,
        ColumnType::Date => Ty::Date,
        ColumnType::Datetime => Ty::Timestamp,
        _ => Ty::Unknown,
    }
}

impl Walker<'_> {
    pub(super) fn table_with_joins(
        &mut self,
        twj: &TableWithJoins,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<From, Error> {
        let start_occ = self.occ.len();
        let start_rels = cur.rels.len();
        let mut acc = self.table_factor(&twj.relation, cur, outer)?;
        for j in &twj.joins {
            let right_occ = self.occ.len();
            let right_start = cur.rels.len();
            let mut right = self.table_factor(&j.relation, cur, outer)?;
            let (kind, constraint) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
                JoinOperator::FullOuter(c) => (JoinKind::Full, c),
                JoinOperator::CrossJoin(c) => (JoinKind::Cross, c),
                other => return Err(unsupported(format!("{} join", variant_name(other))).into()),
            };
            // The side of an outer join that can be all NULL.
            let nullable = match kind {
                JoinKind::Left => right_occ..self.occ.len(),
                JoinKind::Right => start_occ..right_occ,
                JoinKind::Full => start_occ..self.occ.len(),
                JoinKind::Inner | JoinKind::Cross => 0..0,
            };
            for o in self.occ.get_mut(nullable).ok_or_else(out_of_range)? {
                o.nullable = true;
            }
            let left_rels: Vec<RelId> = cur
                .rels
                .get(start_rels..right_start)
                .ok_or_else(out_of_range)?
                .iter()
                .map(|r| r.id)
                .collect();
            let right_rels: Vec<RelId> = cur
                .rels
                .get(right_start..)
                .ok_or_else(out_of_range)?
                .iter()
                .map(|r| r.id)
                .collect();
            // The join's condition sees this item's relations only.
            let saved = std::mem::replace(&mut cur.first_visible, start_rels);
            let on = match constraint {
                JoinConstraint::None => {
                    if !matches!(kind, JoinKind::Inner | JoinKind::Cross) {
                        return Err(unsupported("an outer join without ON").into());
                    }
                    None
                }
                JoinConstraint::Natural => return Err(unsupported("NATURAL JOIN").into()),
                JoinConstraint::On(e) => {
                    if kind == JoinKind::Cross {
                        return Err(unsupported("CROSS JOIN with ON").into());
                    }
                    Some(self.expr(e, Ctx::Pred, cur)?.1)
                }
                JoinConstraint::Using(names) => {
                    Some(self.using(names, kind, cur, start_rels, right_start)?)
                }
            };
            cur.first_visible = saved;
            let kind = if kind == JoinKind::Inner && on.is_none() {
                JoinKind::Cross
            } else {
                kind
            };
            let on = match (self.dialect(), on) {
                (Dialect::Polars, Some(on)) => {
                    Some(self.polars_on(kind, on, &left_rels, &right_rels, &mut right)?)
                }
                (_, on) => on,
            };
            acc = From::Join {
                kind,
                left: Box::new(acc),
                right: Box::new(right),
                on,
            };
        }
        Ok(acc)
    }

    /// `JOIN … USING (c, …)`: equalities between the left and right `c`.
    fn using(
        &mut self,
        names: &[ObjectName],
        kind: JoinKind,
        cur: &mut Scope<'_>,
        left_start: usize,
        right_start: usize,
    ) -> Result<Expr, Error> {
        let mut out: Option<Expr> = None;
        for n in names {
            let id = single_ident(n).ok_or_else(|| unsupported("qualified name in USING"))?;
            let find = |rels: &[Rel]| -> Vec<(RelId, RelCol)> {
                rels.iter()
                    .flat_map(|r| r.cols.iter().map(move |c| (r.id, c)))
                    .filter(|(_, c)| ident_matches(id, &c.name))
                    .map(|(r, c)| (r, c.clone()))
                    .collect()
            };
            let left = find(
                cur.rels
                    .get(left_start..right_start)
                    .ok_or_else(out_of_range)?,
            );
            let right = find(cur.rels.get(right_start..).ok_or_else(out_of_range)?);
            let (Some((lr, l)), Some((rr, r))) = (left.first(), right.first()) else {
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
            self.equality_between(&l.lin, &r.lin, "JOIN … USING")?;
            let (lx, rx) = (Expr::Col(*lr, l.id), Expr::Col(*rr, r.id));
            self.mark(&lx);
            self.mark(&rx);
            let shown = match kind {
                JoinKind::Right => rx.clone(),
                JoinKind::Full => Expr::Call(Box::new(Call {
                    func: Func::Coalesce,
                    args: vec![lx.clone(), rx.clone()],
                    star: false,
                    distinct: false,
                    filter: None,
                    over: None,
                })),
                _ => lx.clone(),
            };
            cur.using.push(UsingCol {
                name: l.name.clone(),
                rels: vec![*lr, *rr],
                expr: shown,
                lin: self.merge(&l.lin, &r.lin)?,
                ty: l.ty,
            });
            let eq = Expr::Bin(BinOp::Eq, Box::new(lx), Box::new(rx));
            out = Some(match out {
                None => eq,
                Some(prev) => Expr::Bin(BinOp::And, Box::new(prev), Box::new(eq)),
            });
        }
        out.ok_or_else(|| unsupported("an empty USING list").into())
    }

    /// What polars can run of a join condition. polars joins on equalities
    /// between the two sides; an inner join also filters by other terms. An
    /// outer join's other terms are rewritten where that keeps the meaning —
    /// a term on the side that can be all NULL filters that side before the
    /// join, a term on the other side nulls its join key — and refused where
    /// not.
    fn polars_on(
        &mut self,
        kind: JoinKind,
        on: Expr,
        left: &[RelId],
        right: &[RelId],
        right_from: &mut From,
    ) -> Result<Expr, Refusal> {
        let mut terms = Vec::new();
        conjuncts(on, &mut terms);
        let mut subs = Vec::new();
        for t in &terms {
            t.subqueries(&mut subs);
        }
        if !subs.is_empty() {
            return Err(not_on_engine(
                "a subquery in a join's ON",
                "polars",
                "move the condition to WHERE",
            ));
        }
        let sides = Sides { left, right };
        if !terms.iter().any(|t| sides.is_key(t)) {
            return Err(not_on_engine(
                "a join without an equality between its two sides",
                "polars",
                "join on equal columns (a.x = b.y), or use CROSS JOIN with the condition in WHERE",
            ));
        }
        if kind == JoinKind::Inner {
            // Besides its keys, polars filters an inner join by plain
            // comparisons only.
            let plain = |e: &Expr| match e {
                Expr::Bin(op, a, b) if op.is_comparison() => simple(a) && simple(b),
                _ => false,
            };
            if terms.iter().any(|t| !sides.is_key(t) && !plain(t)) {
                return Err(not_on_engine(
                    "this condition in a join's ON",
                    "polars",
                    "keep equalities and plain comparisons in ON, and move the rest to WHERE",
                ));
            }
            return Ok(and_all(terms));
        }
        let OuterTerms {
            mut keys,
            keep_side_terms,
            null_side_terms,
        } = sides.outer_terms(kind, terms)?;
        if !null_side_terms.is_empty() {
            self.filter_null_side(kind, and_all(null_side_terms), right_from)?;
        }
        if !keep_side_terms.is_empty() {
            // A row of the kept side that fails its terms keeps its row but
            // matches nothing: its join key becomes NULL.
            let cond = and_all(keep_side_terms);
            let kept = match kind {
                JoinKind::Left => left,
                _ => right,
            };
            let first = keys.first_mut().ok_or_else(|| unsupported("a join key"))?;
            null_key_unless(first, kept, cond);
        }
        Ok(and_all(keys))
    }

    /// Filters the nullable side of a LEFT join by `filter` (a RIGHT join's
    /// is refused: written as the mirrored LEFT join would be too involved).
    fn filter_null_side(
        &mut self,
        kind: JoinKind,
        filter: Expr,
        right_from: &mut From,
    ) -> Result<(), Refusal> {
        let inner = std::mem::replace(
            right_from,
            From::Base {
                rel: 0,
                table: String::new(),
                cols: Vec::new(),
            },
        );
        let filtered = match kind {
            JoinKind::Left => self.filtered(inner, filter)?,
            _ => {
                return Err(not_on_engine(
                    "a condition on one side of a RIGHT JOIN's ON",
                    "polars",
                    "use a LEFT JOIN with the tables swapped",
                ))
            }
        };
        *right_from = filtered;
        Ok(())
    }

    /// A relation with a filter, keeping its relation id: the relation is
    /// renamed inside a projection that selects its columns by their ids.
    fn filtered(&mut self, inner: From, filter: Expr) -> Result<From, Refusal> {
        let (rel, cols) = match &inner {
            From::Base { rel, cols, .. } => (*rel, cols.iter().map(|c| c.1).collect::<Vec<_>>()),
            From::CteRef { rel, cols, .. } => (*rel, cols.iter().map(|c| c.1).collect()),
            From::Derived { rel, query } => (*rel, query.outputs.clone()),
            From::Join { .. } | From::Filtered { .. } => {
                return Err(not_on_engine(
                    "a condition on a nested join's side of an outer join",
                    "polars",
                    "filter that side in a subquery",
                ))
            }
        };
        let new = self.rel_id();
        let inner = rename_rel(inner, new);
        let mut filter = filter;
        retarget(&mut filter, rel, new);
        Ok(From::Filtered {
            rel,
            inner_rel: new,
            inner: Box::new(inner),
            cols,
            filter,
        })
    }

    /// A table or CTE named in `FROM`, in scope under its alias (without a
    /// column list) or its name.
    fn table(
        &mut self,
        name: &ObjectName,
        alias: Option<&TableAlias>,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<From, Error> {
        let (qual, base, cols, from) = self.named_table(name, outer)?;
        let rel = match &from {
            From::Base { rel, .. } | From::CteRef { rel, .. } => *rel,
            // A table name resolves to a table or a CTE; anything
            // else is refused rather than given another relation.
            _ => return Err(unsupported(format!("the table reference `{name}`")).into()),
        };
        if let Some(a) = alias {
            check_alias(a)?;
            // A column list on a table's alias is refused: it is
            // seldom meant, and easy to misread.
            if !a.columns.is_empty() {
                return Err(unsupported("column names in a table's alias").into());
            }
            self.introduce(&a.name, base)?;
            cur.rels.push(Rel {
                qual: Some(a.name.clone()),
                qual_is_table: false,
                base,
                id: rel,
                cols,
            });
        } else {
            cur.rels.push(Rel {
                qual: Some(qual),
                qual_is_table: base.is_some(),
                base,
                id: rel,
                cols,
            });
        }
        Ok(from)
    }

    /// A derived table: its query walked in the outer scope (not `LATERAL`),
    /// its columns renamed by its alias.
    fn derived(
        &mut self,
        subquery: &SqlQuery,
        alias: Option<&TableAlias>,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<From, Error> {
        let (query, outs) = self.query(subquery, outer, false)?;
        let rel = self.rel_id();
        let (qual, cols) = match alias {
            Some(a) => {
                check_alias(a)?;
                self.introduce(&a.name, None)?;
                (Some(a.name.clone()), rename(outs, a)?)
            }
            None => (
                None,
                rename(
                    outs,
                    &TableAlias {
                        explicit: false,
                        name: sqlparser::ast::Ident::new(""),
                        columns: vec![],
                        at: None,
                    },
                )?,
            ),
        };
        cur.rels.push(Rel {
            qual,
            qual_is_table: false,
            base: None,
            id: rel,
            cols,
        });
        Ok(From::Derived {
            rel,
            query: Box::new(query),
        })
    }

    fn table_factor(
        &mut self,
        tf: &TableFactor,
        cur: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<From, Error> {
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
                self.table(name, alias.as_ref(), cur, outer)
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
                self.derived(subquery, alias.as_ref(), cur, outer)
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    return Err(unsupported("an alias on a parenthesised join").into());
                }
                if self.dialect() == Dialect::Polars {
                    return Err(not_on_engine(
                        "a parenthesised join",
                        "polars",
                        "write the joins one after the other, without parentheses",
                    )
                    .into());
                }
                self.table_with_joins(table_with_joins, cur, outer)
            }
            other => {
                let kind = variant_name(other);
                Err(Refusal::new(
                    Reason::UnknownFunction,
                    format!("{kind} in FROM is not allowed; query the policy's tables"),
                )
                .construct(kind)
                .into())
            }
        }
    }

    /// A reference to the innermost CTE named `one`: fresh column ids
    /// mapped from the CTE's, and its readings of policy tables counted
    /// again.
    fn cte_ref(&mut self, one: &Ident, outer: &Scope<'_>) -> Option<Named> {
        let mut s = Some(outer);
        while let Some(sc) = s {
            if let Some(c) = sc.ctes.iter().rev().find(|c| idents_match(&c.name, one)) {
                let rel = self.rel_id();
                let mut cols = Vec::with_capacity(c.cols.len());
                let mut map = Vec::with_capacity(c.cols.len());
                for rc in &c.cols {
                    let id = self.col_id();
                    map.push((rc.id, id));
                    cols.push(RelCol {
                        name: rc.name.clone(),
                        lin: rc.lin.clone(),
                        id,
                        ty: rc.ty,
                    });
                }
                // Every reference reads the CTE's tables again.
                self.occ.extend(c.occ.iter().copied());
                return Some((
                    c.name.clone(),
                    None,
                    cols,
                    From::CteRef {
                        rel,
                        cte: c.rel,
                        cols: map,
                    },
                ));
            }
            s = sc.parent;
        }
        None
    }

    /// The policy table named `table` or `schema.table` (case-insensitive
    /// unless quoted; of tables that differ only in case, the exact name);
    /// refused, with the closest name, when there is none.
    fn policy_table(&self, parts: &[&Ident], display: &str) -> Result<usize, Refusal> {
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
        match hits.as_slice() {
            [i] => Ok(*i),
            // Several tables differ only in case: the exact name wins.
            _ => match hits
                .iter()
                .copied()
                .find(|&i| self.g.tables.get(i).is_some_and(|t| t.name == wanted))
            {
                Some(i) => Ok(i),
                None => Err(Refusal::new(
                    Reason::UnknownTable,
                    format!("table `{display}` is not in the policy"),
                )
                .construct(display)
                .suggest(closest(
                    &wanted,
                    self.g.tables.iter().map(|t| t.name.as_str()),
                ))),
            },
        }
    }

    /// Resolves a table name to a CTE or a policy table.
    fn named_table(&mut self, name: &ObjectName, outer: &Scope<'_>) -> Result<Named, Refusal> {
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
            if let Some(named) = self.cte_ref(one, outer) {
                return Ok(named);
            }
        }
        let idx = self.policy_table(&parts, &display)?;
        self.read.insert(idx);
        self.occ.push(Occurrence {
            table: idx as u32,
            nullable: false,
        });
        let rel = self.rel_id();
        let t = self.g.tables.get(idx).ok_or_else(out_of_range)?;
        let mut cols = Vec::with_capacity(t.columns.len());
        let mut names = Vec::with_capacity(t.columns.len());
        for (ci, c) in t.columns.iter().enumerate() {
            let id = self.next_col;
            self.next_col += 1;
            names.push((c.name.clone(), id));
            cols.push(RelCol {
                name: c.name.clone(),
                lin: self.lin_of((idx as u32, ci as u32)),
                id,
                ty: ty_of(&c.ty),
            });
        }
        let qual_name = t.name.rsplit('.').next().unwrap_or(&t.name).to_string();
        Ok((
            Ident::with_quote('"', qual_name),
            Some(idx as u32),
            cols,
            From::Base {
                rel,
                table: t.name.clone(),
                cols: names,
            },
        ))
    }
}

/// An outer join's `ON`, term by term.
struct OuterTerms {
    /// Equalities between the two sides.
    keys: Vec<Expr>,
    /// Terms on the side whose rows are all kept.
    keep_side_terms: Vec<Expr>,
    /// Terms on the side that can be all NULL.
    null_side_terms: Vec<Expr>,
}

/// The two sides of a join, by the relations each holds.
struct Sides<'a> {
    left: &'a [RelId],
    right: &'a [RelId],
}

impl Sides<'_> {
    /// Whether `e` reads the left side, the right side, and anything else
    /// (another relation, or a subquery).
    fn of(&self, e: &Expr) -> (bool, bool, bool) {
        let (mut l, mut r, mut other) = (false, false, false);
        visit(e, &mut |x| {
            if let Expr::Col(rel, _) = x {
                if self.left.contains(rel) {
                    l = true;
                } else if self.right.contains(rel) {
                    r = true;
                } else {
                    other = true;
                }
            }
            if matches!(
                x,
                Expr::Scalar(_) | Expr::Exists { .. } | Expr::InQuery { .. }
            ) {
                other = true;
            }
        });
        (l, r, other)
    }

    /// Whether `e` is a join key: an equality between one side and the
    /// other.
    fn is_key(&self, e: &Expr) -> bool {
        if let Expr::Bin(BinOp::Eq, a, b) = e {
            let (al, ar, ao) = self.of(a);
            let (bl, br, bo) = self.of(b);
            !ao && !bo && ((al && !ar && br && !bl) || (ar && !al && bl && !br))
        } else {
            false
        }
    }

    /// An outer join's `ON` terms as keys, terms on the kept side and terms
    /// on the nullable side; a term on both sides or on neither is refused.
    fn outer_terms(&self, kind: JoinKind, terms: Vec<Expr>) -> Result<OuterTerms, Refusal> {
        let mut keys = Vec::new();
        let mut keep_side_terms = Vec::new();
        let mut null_side_terms = Vec::new();
        for t in terms {
            if self.is_key(&t) {
                keys.push(t);
                continue;
            }
            let (l, r, other) = self.of(&t);
            let (on_kept, on_null) = match kind {
                JoinKind::Left => (l && !r, r && !l),
                JoinKind::Right => (r && !l, l && !r),
                _ => (false, false),
            };
            if other || !(on_kept || on_null) {
                return Err(not_on_engine(
                    "this condition in an outer join's ON",
                    "polars",
                    "keep to equalities between the two sides in ON, and filter one side in a subquery",
                ));
            }
            if on_null {
                null_side_terms.push(t);
            } else {
                keep_side_terms.push(t);
            }
        }
        Ok(OuterTerms {
            keys,
            keep_side_terms,
            null_side_terms,
        })
    }
}

/// Makes the kept side's half of a key equality NULL where `cond` fails
/// (`CASE WHEN cond THEN x END`), so that the row matches nothing.
fn null_key_unless(key: &mut Expr, kept: &[RelId], cond: Expr) {
    if let Expr::Bin(BinOp::Eq, a, b) = key {
        let a_is_kept = {
            let mut k = false;
            visit(a, &mut |x| {
                if let Expr::Col(rel, _) = x {
                    k |= kept.contains(rel);
                }
            });
            k
        };
        let target: &mut Box<Expr> = if a_is_kept { a } else { b };
        let old = std::mem::replace(&mut **target, Expr::Lit(crate::guard::plan::Lit::Null));
        **target = Expr::Case {
            operand: None,
            whens: vec![(cond, old)],
            otherwise: None,
        };
    }
}

/// A relation named in `FROM` as the scope holds it: its qualifier, the
/// policy table it reads (none for a CTE), its columns, and its plan.
type Named = (Ident, Option<u32>, Vec<RelCol>, From);

fn check_alias(a: &TableAlias) -> Result<(), Refusal> {
    if a.at.is_some() {
        return Err(unsupported("AT in a table alias"));
    }
    Ok(())
}

/// A column or a literal.
fn simple(e: &Expr) -> bool {
    match e {
        Expr::Col(..) | Expr::Lit(_) => true,
        Expr::Neg(x) => matches!(**x, Expr::Lit(_)),
        _ => false,
    }
}

/// Splits `a AND b AND c` into its terms.
fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Bin(BinOp::And, a, b) => {
            conjuncts(*a, out);
            conjuncts(*b, out);
        }
        other => out.push(other),
    }
}

fn and_all(terms: Vec<Expr>) -> Expr {
    let mut it = terms.into_iter();
    let first = it
        .next()
        .unwrap_or(Expr::Lit(crate::guard::plan::Lit::Bool(true)));
    it.fold(first, |a, b| {
        Expr::Bin(BinOp::And, Box::new(a), Box::new(b))
    })
}

/// The same relation under another id.
fn rename_rel(f: From, new: RelId) -> From {
    match f {
        From::Base { table, cols, .. } => From::Base {
            rel: new,
            table,
            cols,
        },
        From::CteRef { cte, cols, .. } => From::CteRef {
            rel: new,
            cte,
            cols,
        },
        From::Derived { query, .. } => From::Derived { rel: new, query },
        other => other,
    }
}

/// Points the references to relation `from` at relation `to`.
fn retarget(e: &mut Expr, from: RelId, to: RelId) {
    super::query::visit_mut(e, &mut |x| {
        if let Expr::Col(r, _) = x {
            if *r == from {
                *r = to;
            }
        }
    });
}

/// A join's relations are counted as they are added; a range outside them
/// is a bug in the walk, refused rather than guessed around.
fn out_of_range() -> Refusal {
    unsupported("a join whose relations the guard lost track of")
}
