//! Lineage and the per-action rules: what a protected column may do where it
//! stands.

use super::Walker;
use crate::guard::plan::Ty;
use crate::guard::{Reason, Refusal};
use crate::rules::{Action, ColumnPolicy, Filter};

/// A source column: (table index, column index) into the guard's tables.
pub(super) type Src = (u32, u32);

/// The lineage of a value: its source columns and the source whose policy is
/// the strictest (`None` when every source is `allow` or there is none).
#[derive(Debug, Clone, Default)]
pub(super) struct Lin {
    pub(super) sources: Vec<Src>,
    pub(super) eff: Option<Src>,
}

/// What an expression is, beyond its lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
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

/// An expression's lineage, shape and type.
#[derive(Debug, Clone)]
pub(super) struct Info {
    pub(super) lin: Lin,
    pub(super) shape: Shape,
    pub(super) ty: Ty,
}

impl Info {
    pub(super) fn allow(shape: Shape, ty: Ty) -> Info {
        Info {
            lin: Lin::default(),
            shape,
            ty,
        }
    }

    pub(super) fn computed(lin: Lin, ty: Ty) -> Info {
        Info {
            lin,
            shape: Shape::Computed,
            ty,
        }
    }

    /// Whether the value the model sees is protected (a protected source,
    /// or an aggregate over an `aggregate` column, whose small groups are
    /// hidden).
    pub(super) fn protected(&self) -> bool {
        self.lin.eff.is_some() || self.shape == Shape::AggResult
    }
}

/// Where an expression stands, which decides what a protected column may do
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
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
    pub(super) fn comp(self) -> Ctx {
        match self {
            Ctx::Pred | Ctx::CompPred => Ctx::CompPred,
            _ => Ctx::CompOut,
        }
    }

    pub(super) fn is_pred(self) -> bool {
        matches!(self, Ctx::Pred | Ctx::CompPred)
    }

    pub(super) fn place(self) -> &'static str {
        match self {
            Ctx::Out { .. } => "the select list",
            Ctx::Pred => "WHERE / ON / HAVING",
            Ctx::Group => "GROUP BY / PARTITION BY",
            Ctx::Order => "ORDER BY",
            Ctx::CompOut | Ctx::CompPred => "an expression",
        }
    }
}

impl<'g> Walker<'g> {
    /// The policy of a source column. Sources index the guard's own
    /// tables, never the SQL; were one ever out of range, the column reads
    /// as `deny`, the strictest policy, and is refused.
    pub(super) fn policy(&self, s: Src) -> &'g ColumnPolicy {
        self.g
            .tables
            .get(s.0 as usize)
            .and_then(|t| t.columns.get(s.1 as usize))
            .map_or(&LOST_COLUMN, |c| &c.policy)
    }

    pub(super) fn src_name(&self, s: Src) -> String {
        self.g
            .tables
            .get(s.0 as usize)
            .and_then(|t| t.columns.get(s.1 as usize).map(|c| (t, c)))
            .map_or_else(
                || "an unknown column".to_string(),
                |(t, c)| format!("{}.{}", t.name, c.name),
            )
    }

    pub(super) fn lin_of(&self, s: Src) -> Lin {
        Lin {
            sources: vec![s],
            eff: (self.policy(s).action != Action::Allow).then_some(s),
        }
    }

    /// The union of two lineages; the strictest source wins, and two different
    /// protections of the same strictness conflict.
    pub(super) fn merge(&self, a: &Lin, b: &Lin) -> Result<Lin, Refusal> {
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
    pub(super) fn merge_pass(&self, a: &Info, b: &Info, construct: &str) -> Result<Info, Refusal> {
        if a.shape == Shape::AggResult || b.shape == Shape::AggResult {
            return Err(agg_misuse(construct));
        }
        let ty = crate::guard::functions::common(&[a.ty, b.ty]);
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
                ty,
            });
        }
        if b.shape == Shape::Null {
            return Ok(Info {
                lin: a.lin.clone(),
                shape: shape(a),
                ty,
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
        // Types last: a protection conflict says more.
        if let Some(advice) = super::expr::type_clash((a.ty, None), (b.ty, None), self.g.dialect) {
            return Err(Refusal::new(
                Reason::UnsupportedConstruct,
                format!("{construct} combines values of types that do not mix; {advice}"),
            )
            .construct(construct.to_string())
            .advise(advice));
        }
        Ok(Info::computed(self.merge(&a.lin, &b.lin)?, ty))
    }

    /// The rules for a value with lineage `lin` standing in `ctx`; `bare` when
    /// it is a column reference itself.
    pub(super) fn leaf(&mut self, lin: &Lin, ctx: Ctx, bare: bool) -> Result<(), Refusal> {
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
            if ctx == Ctx::Group {
                // Grouping or partitioning by a protected value lets an
                // engine order rows by it.
                self.protected_order = true;
            }
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
    pub(super) fn equality_between(
        &mut self,
        a: &Lin,
        b: &Lin,
        construct: &str,
    ) -> Result<(), Refusal> {
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
            // A join or semi-join on a protected key lets an engine order
            // rows by it (merge joins).
            self.protected_order = true;
        }
        Ok(())
    }

    pub(super) fn deny_or_agg(&mut self, s: Src) -> Result<(), Refusal> {
        self.leaf(
            &Lin {
                sources: vec![s],
                eff: Some(s),
            },
            Ctx::Out { agg_ok: false },
            true,
        )
    }

    /// A value that rows are grouped or deduplicated by (DISTINCT, UNION,
    /// INTERSECT, EXCEPT): protected values need a filter that allows equality.
    pub(super) fn grouping(&mut self, info: &Info, construct: &str) -> Result<(), Refusal> {
        if info.shape == Shape::AggResult {
            return Err(agg_misuse(construct));
        }
        if let Some(s) = info.lin.eff {
            self.deny_or_agg(s)?;
            self.need_filter(s, Filter::Equality, construct)?;
            self.protected_order = true;
        }
        Ok(())
    }

    pub(super) fn need_filter(&self, s: Src, need: Filter, construct: &str) -> Result<(), Refusal> {
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
}

pub(super) fn describe_action(a: &Action) -> String {
    match a {
        Action::Tokenize { class } => format!("tokenize, class {class}"),
        other => other.as_tag().to_string(),
    }
}

pub(super) fn agg_misuse(place: &str) -> Refusal {
    Refusal::new(
        Reason::AggregateMisuse,
        format!(
            "the result of an aggregate over an `aggregate` column may only be an output column of the outermost SELECT, not used in {place}"
        ),
    )
    .construct(place.to_string())
}

pub(super) fn agg_misuse_col(col: &str, name: &str, ctx: Ctx) -> Refusal {
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

/// A construct the guard refuses on one engine, with what to write instead.
pub(super) fn not_on_engine(construct: &str, engine: &str, instead: &'static str) -> Refusal {
    Refusal::new(
        Reason::UnsupportedConstruct,
        format!("{construct} cannot run on the {engine} engine; {instead}"),
    )
    .construct(construct.to_string())
    .advise(instead)
}

/// The policy of a source the guard's tables do not hold: `deny`.
static LOST_COLUMN: ColumnPolicy = ColumnPolicy {
    name: String::new(),
    action: Action::Deny,
    filter: Filter::None,
    description: None,
    detect_values: None,
    match_parts: false,
    class: None,
};
