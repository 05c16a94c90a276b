//! Window functions: `OVER (PARTITION BY … ORDER BY … [ROWS …])`, its keys
//! and frame, the keys that break ties, and what an engine cannot compute
//! the standard's way.

use sqlparser::ast::{OrderByExpr, WindowFrameBound, WindowFrameUnits, WindowSpec};

use super::rules::{not_on_engine, Ctx, Lin};
use super::scope::Scope;
use super::{unsupported, Walker};
use crate::error::Error;
use crate::guard::functions::{self, Func, Kind};
use crate::guard::plan::{Expr, Lit, OrderKey, Ty, Window};
use crate::guard::{Dialect, Refusal};

impl Walker<'_> {
    /// The window of `func() OVER (…)`: its partition and order keys
    /// (constant keys left out), its frame, and what the engine cannot
    /// compute the standard's way.
    pub(super) fn window(
        &mut self,
        func: Func,
        spec: &WindowSpec,
        scope: &Scope<'_>,
    ) -> Result<Window, Error> {
        if spec.window_name.is_some() {
            return Err(unsupported("a named window").into());
        }
        let mut partition = Vec::with_capacity(spec.partition_by.len());
        for p in &spec.partition_by {
            partition.push(self.expr(p, Ctx::Group, scope)?.1);
        }
        let order = self.window_order(func, &spec.order_by, scope)?;
        // Constant keys partition and order nothing (and polars
        // cannot evaluate them in a window).
        partition.retain(Expr::reads_column);
        let mut keyed: Vec<(OrderKey, bool)> = order
            .into_iter()
            .filter(|(k, _)| k.expr.reads_column())
            .collect();
        if self.dialect() == Dialect::Polars {
            one_direction(&mut keyed)?;
        }
        let order: Vec<OrderKey> = keyed.into_iter().map(|(k, _)| k).collect();
        let rows_to_current = match &spec.window_frame {
            None => false,
            Some(frame) => {
                let whole = frame.units == WindowFrameUnits::Rows
                    && matches!(frame.start_bound, WindowFrameBound::Preceding(None))
                    && matches!(frame.end_bound, None | Some(WindowFrameBound::CurrentRow));
                if !whole {
                    return Err(unsupported(
                        "a window frame other than ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
                    )
                    .into());
                }
                true
            }
        };
        window_order_needed(func, &order, rows_to_current, self.dialect())?;
        Ok(Window {
            partition,
            order,
            rows_to_current,
            tie: Vec::new(),
            arg_tie: Vec::new(),
        })
    }

    /// A window's `ORDER BY` keys, each with whether it is a number
    /// (polars' one direction); on polars, `rank()` and `dense_rank()` rank
    /// a NULL key as the standard does.
    fn window_order(
        &mut self,
        func: Func,
        order_by: &[OrderByExpr],
        scope: &Scope<'_>,
    ) -> Result<Vec<(OrderKey, bool)>, Error> {
        let mut order = Vec::with_capacity(order_by.len());
        for o in order_by {
            if o.with_fill.is_some() {
                return Err(unsupported("WITH FILL").into());
            }
            let (info, x) = self.expr(&o.expr, Ctx::Order, scope)?;
            let desc = o.options.asc == Some(false);
            let nulls_first = o.options.nulls_first;
            if self.dialect() == Dialect::Polars
                && matches!(func, Func::Rank | Func::DenseRank)
                && x.reads_column()
            {
                // polars ranks a NULL key as NULL; the standard
                // ranks NULLs as peers, last or first: NULL is
                // replaced by a value past every other in the
                // direction NULLs go (one expression per key, named
                // after its column, as polars needs).
                let last_in_order = nulls_first.unwrap_or(desc) == desc;
                let fill = sentinel(info.ty, last_in_order).ok_or_else(|| {
                    not_on_engine(
                        "rank() over a key of this type with these NULLS FIRST/LAST",
                        "polars",
                        "order the window by a number or a date, or leave NULLS FIRST/LAST at its default",
                    )
                })?;
                let key = OrderKey {
                    expr: Expr::Case {
                        operand: None,
                        whens: vec![(
                            Expr::Is(crate::guard::plan::IsTest::NotNull, Box::new(x.clone())),
                            x,
                        )],
                        otherwise: Some(Box::new(Expr::Lit(fill))),
                    },
                    desc,
                    nulls_first: None,
                };
                order.push((key, false));
                continue;
            }
            let key = OrderKey {
                expr: x,
                desc,
                nulls_first,
            };
            order.push((key, info.ty.is_numeric()));
        }
        Ok(order)
    }

    /// The keys that break ties between rows equal on a window's keys: the
    /// call's arguments (hashed when protected). polars, which computes a
    /// window over an aggregate per group, refuses one.
    pub(super) fn arg_ties(&self, w: &mut Window, args: &[Expr], lin: &Lin) -> Result<(), Refusal> {
        if self.dialect() == Dialect::Polars && args.iter().any(super::query::contains_aggregate) {
            // polars computes a window over an aggregate per group, not
            // over the grouped rows.
            return Err(not_on_engine(
                "a window function over an aggregate",
                "polars",
                "aggregate in a subquery (or CTE) and compute the window over its rows",
            ));
        }
        let protected = lin.eff.is_some();
        w.arg_tie = args
            .iter()
            .filter(|a| a.reads_column())
            .map(|a| OrderKey {
                expr: if protected {
                    Expr::OrderHash(Box::new(a.clone()))
                } else {
                    a.clone()
                },
                desc: false,
                nulls_first: None,
            })
            .collect();
        Ok(())
    }
}

/// Refuses a window that its function needs ordered and is not: a running
/// aggregate on polars without a `ROWS` frame, a ranking or offset
/// function without `ORDER BY`, Spark's `row_number()` without it.
fn window_order_needed(
    func: Func,
    order: &[OrderKey],
    rows_to_current: bool,
    dialect: Dialect,
) -> Result<(), Refusal> {
    let kind = functions::kind_of(func);
    if dialect == Dialect::Polars
        && kind == Kind::Aggregate
        && !order.is_empty()
        && !rows_to_current
    {
        // polars computes running aggregates row by row; the
        // standard's default frame takes tied rows together.
        return Err(not_on_engine(
            "a running aggregate (an aggregate OVER (… ORDER BY …))",
            "polars",
            "add ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW to the window",
        ));
    }
    if kind == Kind::Window
        && order.is_empty()
        && matches!(
            func,
            Func::Rank
                | Func::DenseRank
                | Func::PercentRank
                | Func::CumeDist
                | Func::Lag
                | Func::Lead
                | Func::FirstValue
                | Func::Ntile
        )
    {
        return Err(unsupported(format!(
            "{} without ORDER BY in its window",
            crate::guard::functions::display_name(func)
        )));
    }
    if dialect == Dialect::Spark && func == Func::RowNumber && order.is_empty() {
        return Err(not_on_engine(
            "row_number() without ORDER BY in its window",
            "spark",
            "add ORDER BY to the window",
        ));
    }
    Ok(())
}

/// polars sorts a window's rows in one direction: a numeric key against the
/// others' direction is negated (its NULLs kept where they were); a
/// window whose keys cannot be turned so is refused.
fn one_direction(keys: &mut [(OrderKey, bool)]) -> Result<(), Refusal> {
    for target in [false, true] {
        if keys.iter().all(|(k, numeric)| k.desc == target || *numeric) {
            for (k, _) in keys.iter_mut() {
                if k.desc != target {
                    let nulls_first = k.nulls_first.unwrap_or(k.desc);
                    let x = std::mem::replace(&mut k.expr, Expr::Lit(Lit::Null));
                    k.expr = Expr::Neg(Box::new(x));
                    k.desc = target;
                    k.nulls_first = Some(nulls_first);
                }
            }
            return Ok(());
        }
    }
    Err(not_on_engine(
        "a window ordered up by one key and down by another",
        "polars",
        "order the window's keys in one direction",
    ))
}

/// A value past every other of a type (`greatest`) or before every other,
/// to stand in for NULL in a sort key.
fn sentinel(ty: Ty, greatest: bool) -> Option<Lit> {
    Some(match (ty, greatest) {
        (Ty::Int | Ty::Float, true) => Lit::Number("1000000000000000000000000000000.0".into()),
        (Ty::Int | Ty::Float, false) => return None,
        (Ty::Text, true) => Lit::Str("\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}".into()),
        (Ty::Date, true) => Lit::Date("9999-12-31".into()),
        (Ty::Date, false) => Lit::Date("0001-01-01".into()),
        (Ty::Timestamp, true) => Lit::Timestamp("9999-12-31 23:59:59".into()),
        (Ty::Timestamp, false) => Lit::Timestamp("0001-01-01 00:00:00".into()),
        _ => return None,
    })
}
