//! Predicates: comparisons (where a literal meets a protected column and
//! a token is resolved), `IN`, `BETWEEN`, `LIKE`, `IS [NOT] NULL`,
//! `IS [NOT] DISTINCT FROM` and `IN (SELECT …)`.

use sqlparser::ast::{Expr as SqlExpr, Query as SqlQuery, UnaryOperator, Value};

use super::expr::{is_column, type_clash};
use super::literal;
use super::rules::{agg_misuse, Ctx, Info, Lin, Shape, Src};
use super::scope::Scope;
use super::{unsupported, Walker};
use crate::error::Error;
use crate::guard::plan::{Expr, IsTest, Lit, Ty};
use crate::guard::{variant_name, Reason, Refusal};
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

/// Refuses `LIKE ANY` and `LIKE … ESCAPE`.
fn like_options(any: bool, escape: bool) -> Result<(), Refusal> {
    if any {
        return Err(unsupported("LIKE ANY"));
    }
    if escape {
        return Err(unsupported("LIKE … ESCAPE"));
    }
    Ok(())
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

impl Walker<'_> {
    /// The tests of a predicate: `IS [NOT] NULL`, `IS [NOT] TRUE`/`FALSE`,
    /// `IN` (a list or a subquery), `BETWEEN`, `LIKE`/`ILIKE`.
    pub(super) fn test(
        &mut self,
        e: &SqlExpr,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let sub = ctx.comp();
        let out = match e {
            SqlExpr::IsNull(inner) => self.is_null(inner, IsTest::Null, ctx, scope)?,
            SqlExpr::IsNotNull(inner) => self.is_null(inner, IsTest::NotNull, ctx, scope)?,
            SqlExpr::IsTrue(inner) => self.is_truth(inner, IsTest::True, sub, scope)?,
            SqlExpr::IsFalse(inner) => self.is_truth(inner, IsTest::False, sub, scope)?,
            SqlExpr::IsNotTrue(inner) => self.is_truth(inner, IsTest::NotTrue, sub, scope)?,
            SqlExpr::IsNotFalse(inner) => self.is_truth(inner, IsTest::NotFalse, sub, scope)?,
            SqlExpr::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated, ctx, scope)?,
            SqlExpr::InSubquery {
                expr,
                subquery,
                negated,
            } => self.in_subquery(expr, subquery, *negated, ctx, scope)?,
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => self.between(expr, *negated, low, high, sub, scope)?,
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
                like_options(*any, escape_char.is_some())?;
                let ilike = matches!(e, SqlExpr::ILike { .. });
                self.like(expr, pattern, *negated, ilike, sub, scope)?
            }
            other => {
                return Err(unsupported(format!("the {} expression", variant_name(other))).into())
            }
        };
        Ok(out)
    }

    /// `IS [NOT] DISTINCT FROM`: an equality filter in a predicate, a
    /// computation elsewhere.
    pub(super) fn distinct_from(
        &mut self,
        a: &SqlExpr,
        b: &SqlExpr,
        not: bool,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (x, y) = if ctx.is_pred() {
            self.comparison(a, b, true, "IS DISTINCT FROM", scope)?
        } else {
            let sub = ctx.comp();
            let (_, x) = self.expr(a, sub, scope)?;
            let (_, y) = self.expr(b, sub, scope)?;
            (x, y)
        };
        Ok((
            Info::allow(Shape::Computed, Ty::Bool),
            Expr::Distinct {
                not,
                left: Box::new(x),
                right: Box::new(y),
            },
        ))
    }

    /// `IS [NOT] TRUE` and `IS [NOT] FALSE`: a computation.
    fn is_truth(
        &mut self,
        inner: &SqlExpr,
        test: IsTest,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (i, x) = self.expr(inner, sub, scope)?;
        Ok((Info::computed(i.lin, Ty::Bool), Expr::Is(test, Box::new(x))))
    }

    /// `IS [NOT] NULL`: in a predicate over a bare column, a filter that the
    /// column's `filter` must allow (and never on `deny` or `aggregate`).
    fn is_null(
        &mut self,
        inner: &SqlExpr,
        test: IsTest,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
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
            self.expr(inner, ctx.comp(), scope)?.1
        };
        Ok((
            Info::allow(Shape::Computed, Ty::Bool),
            Expr::Is(test, Box::new(x)),
        ))
    }

    /// `x [NOT] IN (SELECT …)`: a one-column subquery, not an aggregate's
    /// result, compared for equality with `x`.
    fn in_subquery(
        &mut self,
        expr: &SqlExpr,
        subquery: &SqlQuery,
        negated: bool,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
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
            let (i, x) = self.expr(expr, ctx.comp(), scope)?;
            (i.lin, x)
        };
        self.equality_between(&left, &o.info.lin, "IN (SELECT …)")?;
        Ok((
            Info::allow(Shape::Computed, Ty::Bool),
            Expr::InQuery {
                not: negated,
                expr: Box::new(x),
                query: Box::new(q),
            },
        ))
    }

    /// `x [NOT] BETWEEN low AND high`: a computation over comparable types.
    fn between(
        &mut self,
        expr: &SqlExpr,
        negated: bool,
        low: &SqlExpr,
        high: &SqlExpr,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (a, x) = self.expr(expr, sub, scope)?;
        let (b, lo) = self.expr(low, sub, scope)?;
        let (c, hi) = self.expr(high, sub, scope)?;
        self.comparable(kind_of(expr, &a), kind_of(low, &b), "BETWEEN")?;
        self.comparable(kind_of(expr, &a), kind_of(high, &c), "BETWEEN")?;
        let l = self.merge(&a.lin, &b.lin)?;
        Ok((
            Info::computed(self.merge(&l, &c.lin)?, Ty::Bool),
            Expr::Between {
                not: negated,
                expr: Box::new(x),
                low: Box::new(lo),
                high: Box::new(hi),
            },
        ))
    }

    /// `[NOT] LIKE` / `ILIKE`: a computation over text only.
    fn like(
        &mut self,
        expr: &SqlExpr,
        pattern: &SqlExpr,
        negated: bool,
        ilike: bool,
        sub: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (a, x) = self.expr(expr, sub, scope)?;
        let (b, p) = self.expr(pattern, sub, scope)?;
        for t in [a.ty, b.ty] {
            if !matches!(t, Ty::Text | Ty::Unknown | Ty::Null) {
                return Err(
                    Refusal::new(Reason::UnsupportedConstruct, "LIKE compares text only")
                        .construct("LIKE")
                        .advise("CAST the value to TEXT first")
                        .into(),
                );
            }
        }
        Ok((
            Info::computed(self.merge(&a.lin, &b.lin)?, Ty::Bool),
            Expr::Like {
                not: negated,
                ilike,
                expr: Box::new(x),
                pattern: Box::new(p),
            },
        ))
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
    pub(super) fn comparison(
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
        self.token_class(ps, &col, &resolved.class, construct)?;
        Ok(self.resolved_literal(ps, &col, resolved.value)?)
    }

    /// Refuses a token whose class is not the column's, or any token for a
    /// column whose rule names no token class.
    fn token_class(
        &self,
        ps: Src,
        col: &str,
        class_of_token: &TokenClass,
        construct: &str,
    ) -> Result<(), Refusal> {
        match self.column_class(ps) {
            Some(class) if class == class_of_token => Ok(()),
            Some(class) => Err(Refusal::new(
                Reason::TokenClassMismatch,
                format!(
                    "a token of class `{class_of_token}` was compared with column `{col}` of class `{class}`"
                ),
            )
            .column(col)
            .construct(construct.to_string())),
            None => Err(Refusal::new(
                Reason::TokenClassMismatch,
                format!(
                    "column `{col}` ({}) takes no tokens: its rule names no token class",
                    self.policy(ps).action.as_tag()
                ),
            )
            .column(col)
            .construct(construct.to_string())),
        }
    }

    /// A resolved token's value as the literal a column compares with: a
    /// number for a numeric column (refused when it is not one), else text.
    fn resolved_literal(&self, ps: Src, col: &str, value: String) -> Result<Expr, Refusal> {
        let numeric = self
            .g
            .tables
            .get(ps.0 as usize)
            .and_then(|t| t.columns.get(ps.1 as usize))
            .ok_or_else(|| unsupported("a token for a column the guard lost track of"))?
            .ty
            .is_numeric();
        if numeric {
            let v = value.trim();
            return match literal::number(v.strip_prefix('-').unwrap_or(v)) {
                Ok((lit, _)) if v.starts_with('-') => Ok(Expr::Neg(Box::new(Expr::Lit(lit)))),
                Ok((lit, _)) => Ok(Expr::Lit(lit)),
                Err(_) => Err(Refusal::new(
                    Reason::TokenClassMismatch,
                    format!(
                        "a token compared with numeric column `{col}` does not stand for a number"
                    ),
                )
                .column(col)),
            };
        }
        Ok(Expr::Lit(Lit::Str(value)))
    }
}
