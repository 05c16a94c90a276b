//! Scopes and name lookup: which relation and column a name means.

use sqlparser::ast::{Expr as SqlExpr, Ident};

use super::rules::Lin;
use super::{closest, unsupported, Occurrence, Walker};
use crate::guard::plan::{ColId, Expr, RelId, Ty};
use crate::guard::{Dialect, Reason, Refusal};
use crate::rules::Action;

/// A column of a relation in scope.
#[derive(Debug, Clone)]
pub(super) struct RelCol {
    /// The name a query uses for it (the model's alias, or the table's
    /// column name).
    pub(super) name: String,
    pub(super) lin: Lin,
    pub(super) id: ColId,
    pub(super) ty: Ty,
}

/// A relation in `FROM`.
#[derive(Debug, Clone)]
pub(super) struct Rel {
    /// The declared qualifier (alias, or table / CTE name).
    pub(super) qual: Option<Ident>,
    /// The qualifier is a table's own name, not an alias.
    pub(super) qual_is_table: bool,
    /// The guard table, for base tables.
    pub(super) base: Option<u32>,
    pub(super) id: RelId,
    pub(super) cols: Vec<RelCol>,
}

/// A CTE in scope.
#[derive(Debug, Clone)]
pub(super) struct CteDef {
    pub(super) name: Ident,
    pub(super) rel: RelId,
    pub(super) cols: Vec<RelCol>,
    /// The policy tables its body reads, counted at every reference.
    pub(super) occ: Vec<Occurrence>,
}

/// A column named by `JOIN … USING`: one name for two columns.
#[derive(Debug, Clone)]
pub(super) struct UsingCol {
    pub(super) name: String,
    /// The relations whose columns it joins.
    pub(super) rels: Vec<RelId>,
    pub(super) expr: Expr,
    pub(super) lin: Lin,
    pub(super) ty: Ty,
}

#[derive(Debug, Default)]
pub(super) struct Scope<'a> {
    pub(super) rels: Vec<Rel>,
    /// The first relation a name may resolve to at this level (a join's
    /// condition sees only its own `FROM` item).
    pub(super) first_visible: usize,
    pub(super) ctes: Vec<CteDef>,
    pub(super) using: Vec<UsingCol>,
    pub(super) parent: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    pub(super) fn child(parent: &'a Scope<'a>) -> Scope<'a> {
        Scope {
            parent: Some(parent),
            ..Scope::default()
        }
    }
}

/// A resolved column reference.
pub(super) struct Found {
    pub(super) lin: Lin,
    /// 0 for the innermost scope.
    pub(super) level: usize,
    pub(super) base: Option<u32>,
    pub(super) rel: RelId,
    pub(super) display: String,
    pub(super) expr: Expr,
    pub(super) ty: Ty,
}

/// Unquoted identifiers match case-insensitively; quoted ones exactly.
pub(super) fn ident_matches(id: &Ident, name: &str) -> bool {
    if id.quote_style.is_some() {
        id.value == name
    } else {
        id.value.eq_ignore_ascii_case(name)
    }
}

/// Two identifiers name the same alias: unquoted ones fold to lowercase,
/// quoted ones keep their case (as PostgreSQL does).
pub(super) fn idents_match(a: &Ident, b: &Ident) -> bool {
    match (a.quote_style.is_some(), b.quote_style.is_some()) {
        (true, true) => return a.value == b.value,
        // ASCII folds alike either way; only other text needs the
        // allocation of a full Unicode lowercase.
        (false, false) if a.value.is_ascii() && b.value.is_ascii() => {
            return a.value.eq_ignore_ascii_case(&b.value)
        }
        _ => {}
    }
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
pub(super) fn rel_matches(r: &Rel, q: &Ident) -> bool {
    match &r.qual {
        None => false,
        Some(d) if r.qual_is_table => ident_matches(q, &d.value),
        Some(d) => idents_match(d, q),
    }
}

/// Whether an unqualified name is a column of the innermost scope, without
/// building the refusal (and its suggestions) that a failed lookup makes.
pub(super) fn has_column(scope: &Scope<'_>, id: &Ident) -> bool {
    scope
        .rels
        .iter()
        .flat_map(|r| r.cols.iter())
        .any(|c| ident_matches(id, &c.name))
}

/// An unqualified `col` in one scope level: a `USING` column (one column,
/// though both sides have it), or the one column of that name in the
/// level's relations; `None` when there is none, refused when several.
fn unqualified_at(sc: &Scope<'_>, level: usize, col: &Ident) -> Result<Option<Found>, Refusal> {
    let several = || {
        Refusal::new(
            Reason::AmbiguousColumn,
            format!(
                "column `{}` is in several tables in FROM; qualify it",
                col.value
            ),
        )
        .column(col.value.clone())
    };
    if let Some(u) = sc.using.iter().find(|u| ident_matches(col, &u.name)) {
        let other = sc
            .rels
            .iter()
            .any(|r| !u.rels.contains(&r.id) && r.cols.iter().any(|c| ident_matches(col, &c.name)));
        if other {
            return Err(several());
        }
        return Ok(Some(Found {
            lin: u.lin.clone(),
            level,
            base: None,
            rel: 0,
            display: u.name.clone(),
            expr: u.expr.clone(),
            ty: u.ty,
        }));
    }
    let skip = if level == 0 { sc.first_visible } else { 0 };
    let mut hits: Vec<(&Rel, &RelCol)> = Vec::new();
    for r in sc.rels.iter().skip(skip) {
        for c in &r.cols {
            if ident_matches(col, &c.name) {
                hits.push((r, c));
            }
        }
    }
    match hits.as_slice() {
        [] => Ok(None),
        [(r, c)] => Ok(Some(found(r, c, level))),
        _ => Err(several()),
    }
}

/// Column `c` of relation `r`, found `level` scopes out.
fn found(r: &Rel, c: &RelCol, level: usize) -> Found {
    Found {
        lin: c.lin.clone(),
        level,
        base: r.base,
        rel: r.id,
        display: c.name.clone(),
        expr: Expr::Col(r.id, c.id),
        ty: c.ty,
    }
}

impl Walker<'_> {
    /// Resolves `[qual.]col` from the innermost scope outwards: the first
    /// level that has the name answers.
    fn lookup(
        &self,
        scope: &Scope<'_>,
        qual: Option<&Ident>,
        col: &Ident,
    ) -> Result<Found, Refusal> {
        let mut level = 0;
        let mut s = Some(scope);
        while let Some(sc) = s {
            let hit = match qual {
                Some(q) => self.qualified_at(sc, level, q, col)?,
                None => unqualified_at(sc, level, col)?,
            };
            if let Some(found) = hit {
                return Ok(found);
            }
            level += 1;
            s = sc.parent;
        }
        Err(self.not_found(scope, qual, col))
    }

    /// `q.col` in one scope level: `None` when no relation of the level is
    /// named `q`; refused when several are, or when `q` has no such column
    /// (or several that differ only in case).
    fn qualified_at(
        &self,
        sc: &Scope<'_>,
        level: usize,
        q: &Ident,
        col: &Ident,
    ) -> Result<Option<Found>, Refusal> {
        let skip = if level == 0 { sc.first_visible } else { 0 };
        let mut rels = sc.rels.iter().skip(skip).filter(|r| rel_matches(r, q));
        match (rels.next(), rels.next()) {
            (None, _) => Ok(None),
            (Some(r), None) => {
                let mut hits = r.cols.iter().filter(|c| ident_matches(col, &c.name));
                match (hits.next(), hits.next()) {
                    (Some(c), None) => Ok(Some(found(r, c, level))),
                    (None, _) => Err(self.unknown_column(
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
                }
            }
            _ => Err(Refusal::new(
                Reason::AmbiguousColumn,
                format!("`{}` names several tables in FROM", q.value),
            )
            .construct(q.value.clone())),
        }
    }

    /// The refusal for a name found at no level: an unknown qualifier (with
    /// the closest alias in scope) or an unknown column.
    fn not_found(&self, scope: &Scope<'_>, qual: Option<&Ident>, col: &Ident) -> Refusal {
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
            return Refusal::new(
                Reason::UnknownTable,
                format!(
                    "no table or alias `{}` in scope for column `{}`",
                    q.value, col.value
                ),
            )
            .column(format!("{}.{}", q.value, col.value))
            .suggest(closest(&q.value, all.iter().map(String::as_str)));
        }
        let mut cols = Vec::new();
        let mut s = Some(scope);
        while let Some(sc) = s {
            for r in &sc.rels {
                cols.extend(r.cols.iter());
            }
            s = sc.parent;
        }
        self.unknown_column(&col.value, &col.value, cols.into_iter())
    }

    pub(super) fn unknown_column<'c>(
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

    /// Resolves a column reference (an identifier or `qualifier.name`) and
    /// marks its column as read.
    pub(super) fn column_ref(&mut self, e: &SqlExpr, scope: &Scope<'_>) -> Result<Found, Refusal> {
        let f = match e {
            SqlExpr::Identifier(id) => self.lookup(scope, None, id)?,
            SqlExpr::CompoundIdentifier(parts) => {
                let [q, c] = parts.as_slice() else {
                    return Err(unsupported(format!("a {}-part column name", parts.len())));
                };
                self.lookup(scope, Some(q), c)?
            }
            _ => return Err(unsupported("a non-column")),
        };
        if f.level > 0 && self.g.dialect == Dialect::Polars {
            return Err(unsupported(format!(
                "a correlated reference to `{}` from a subquery (the polars engine cannot run them; join the tables instead)",
                f.display
            ))
            .column(f.display));
        }
        self.mark(&f.expr);
        Ok(f)
    }

    /// Marks the columns an expression reads, so the projections of tables
    /// and CTE references list them.
    pub(super) fn mark(&mut self, e: &Expr) {
        match e {
            Expr::Col(_, c) => {
                let i = *c as usize;
                if i >= self.used.len() {
                    self.used.resize(i + 1, false);
                }
                if let Some(u) = self.used.get_mut(i) {
                    *u = true;
                }
            }
            Expr::Call(c) => {
                for a in &c.args {
                    self.mark(a);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sqlparser::ast::Ident;

    use super::idents_match;

    fn ident(value: &str, quoted: bool) -> Ident {
        if quoted {
            Ident::with_quote('"', value)
        } else {
            Ident::new(value)
        }
    }

    proptest! {
        // The ASCII shortcut answers as the full Unicode fold does.
        #[test]
        fn aliases_match_as_their_lowercase_does(
            a in "[aAzZ_ΣσςİiI1]{0,4}",
            b in "[aAzZ_ΣσςİiI1]{0,4}",
            qa: bool,
            qb: bool,
        ) {
            let fold = |v: &str, q: bool| if q { v.to_string() } else { v.to_lowercase() };
            prop_assert_eq!(
                idents_match(&ident(&a, qa), &ident(&b, qb)),
                fold(&a, qa) == fold(&b, qb)
            );
        }
    }
}
