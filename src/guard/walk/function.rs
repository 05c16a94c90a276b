//! Function calls: scalar functions of the guard's table, aggregates (the one
//! place an `aggregate` column may stand), and window functions.

use sqlparser::ast::{
    DuplicateTreatment, Expr as SqlExpr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    ObjectNamePart, Value, WindowType,
};

use super::literal;
use super::rules::{agg_misuse_col, not_on_engine, Ctx, Info, Lin, Shape, Src};
use super::scope::{Found, Scope};
use super::{unsupported, PendingCheck, Walker};
use crate::error::Error;
use crate::guard::functions::{self, DatePart, Def, Func, Kind, TruncUnit};
use crate::guard::plan::{Call, CastTo, Expr, Lit, RelId, Ty};
use crate::guard::{Dialect, Reason, Refusal};
use crate::rules::{Action, AggregateFunction, Filter};

fn is_column(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_))
}

/// A string literal argument (`'month'` in `date_trunc('month', d)`).
fn string_arg(e: &SqlExpr) -> Option<&str> {
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// A function call as written: the call, its lowercased name and its
/// arguments.
struct Written<'f> {
    f: &'f Function,
    name: String,
    exprs: Vec<&'f SqlExpr>,
    /// `count(*)`.
    star: bool,
    distinct: bool,
    /// Without parentheses (`current_date`).
    no_parens: bool,
}

/// Reads a call's name (one identifier) and arguments (expressions, or `*`
/// for count); dialect-specific modifiers, clauses inside the parentheses,
/// a bare subquery and named arguments are refused.
fn written(f: &Function) -> Result<Written<'_>, Refusal> {
    let name = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(i)] => i.value.to_ascii_lowercase(),
        _ => {
            let n = f.name.to_string();
            return Err(Refusal::new(
                Reason::UnknownFunction,
                format!("function `{n}` is not one the guard allows"),
            )
            .construct(n));
        }
    };
    if !matches!(f.parameters, FunctionArguments::None)
        || f.null_treatment.is_some()
        || !f.within_group.is_empty()
        || f.uses_odbc_syntax
    {
        return Err(unsupported(format!(
            "{name} with dialect-specific modifiers"
        )));
    }
    let mut w = Written {
        f,
        exprs: Vec::new(),
        star: false,
        distinct: false,
        no_parens: matches!(f.args, FunctionArguments::None),
        name,
    };
    match &f.args {
        FunctionArguments::None => {}
        FunctionArguments::Subquery(_) => {
            return Err(unsupported(format!("{} over a bare subquery", w.name)))
        }
        FunctionArguments::List(list) => {
            if !list.clauses.is_empty() {
                return Err(unsupported(format!(
                    "clauses inside {}(…) (ORDER BY, LIMIT, SEPARATOR)",
                    w.name
                )));
            }
            w.distinct = match list.duplicate_treatment {
                Some(DuplicateTreatment::Distinct) => true,
                Some(DuplicateTreatment::All) | None => false,
            };
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => w.exprs.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if w.name == "count" => {
                        w.star = true
                    }
                    _ => {
                        return Err(unsupported(format!(
                            "named or wildcard arguments of {}",
                            w.name
                        )))
                    }
                }
            }
        }
    }
    Ok(w)
}

/// Checks a call against its entry in the function table: the engine can
/// run it, it has as many arguments as the function takes, a window
/// function has `OVER`, and only an aggregate takes `DISTINCT`.
fn signature(def: &Def, w: &Written<'_>, dialect: Dialect) -> Result<(), Refusal> {
    let name = w.name.as_str();
    if let Err(instead) = def.available(dialect) {
        return Err(not_on_engine(&format!("{name}()"), dialect.name(), instead));
    }
    let n = w.exprs.len() + usize::from(w.star);
    if n < def.min_args || n > def.max_args {
        return Err(Refusal::new(
            Reason::UnsupportedConstruct,
            format!(
                "{name} takes {} arguments, not {n}",
                arity(def.min_args, def.max_args)
            ),
        )
        .construct(format!("{name}(…)")));
    }
    if def.kind == Kind::Window && w.f.over.is_none() {
        return Err(unsupported(format!("{name} without OVER")));
    }
    if w.distinct && def.kind != Kind::Aggregate {
        return Err(unsupported(format!("DISTINCT in {name}")));
    }
    Ok(())
}

/// How an `aggregate` column may be summarised: at the root of an output
/// of the outermost query, with no window, `FILTER` or `DISTINCT`, by one
/// of its allowed functions, straight from its table.
fn aggregate_use(
    col: &str,
    w: &Written<'_>,
    ctx: Ctx,
    allowed_fns: &[AggregateFunction],
    found: &Found,
) -> Result<(), Refusal> {
    let (f, name) = (w.f, w.name.as_str());
    if ctx != (Ctx::Out { agg_ok: true }) {
        return Err(agg_misuse_col(col, name, ctx));
    }
    if f.over.is_some() {
        return Err(Refusal::new(
            Reason::AggregateMisuse,
            format!(
                "column `{col}` may not be aggregated in a window (OVER keeps one row per person)"
            ),
        )
        .column(col)
        .construct("OVER"));
    }
    if f.filter.is_some() {
        return Err(Refusal::new(
            Reason::AggregateMisuse,
            format!("column `{col}` may not be aggregated with FILTER (WHERE …)"),
        )
        .column(col)
        .construct("FILTER"));
    }
    if w.distinct {
        // sum(x) - sum(DISTINCT x) is a fact about duplicates,
        // which can be one person's.
        return Err(Refusal::new(
            Reason::AggregateMisuse,
            format!(
                "column `{col}` may not be aggregated with DISTINCT: compared with the plain aggregate it tells about single values"
            ),
        )
        .column(col)
        .construct("DISTINCT"));
    }
    let allowed = AggregateFunction::from_tag(name).is_some_and(|af| allowed_fns.contains(&af));
    if !allowed {
        let list: Vec<&str> = allowed_fns.iter().map(|f| f.as_tag()).collect();
        return Err(Refusal::new(
            Reason::AggregateFunctionNotAllowed,
            format!(
                "column `{col}` may only be summarised with {}, not {name}",
                list.join(", ")
            ),
        )
        .column(col)
        .construct(name));
    }
    if found.level != 0 || found.base.is_none() {
        return Err(Refusal::new(
            Reason::AggregateMisuse,
            format!(
                "column `{col}` must be aggregated directly from its table in the outermost SELECT, not through a subquery or CTE"
            ),
        )
        .column(col));
    }
    Ok(())
}

/// `greatest`, `least`, `coalesce`, `nullif`: refuses two arguments of
/// types that do not mix.
fn types_mix(name: &str, exprs: &[&SqlExpr], tys: &[Ty], dialect: Dialect) -> Result<(), Refusal> {
    for (i, a) in tys.iter().enumerate() {
        for (j, b) in tys.iter().enumerate().skip(i + 1) {
            let (ea, eb) = (exprs.get(i), exprs.get(j));
            let clash = super::expr::type_clash(
                (*a, ea.and_then(|e| string_arg(e))),
                (*b, eb.and_then(|e| string_arg(e))),
                dialect,
            );
            if let Some(advice) = clash {
                return Err(Refusal::new(
                    Reason::UnsupportedConstruct,
                    format!("{name} takes values of types that do not mix; {advice}"),
                )
                .construct(format!("{name}(…)"))
                .advise(advice));
            }
        }
    }
    Ok(())
}

impl Walker<'_> {
    /// A function call: its name and arguments as written, its entry in the
    /// function table, then the function's own rules (date functions, an
    /// aggregate over a bare column) or the general ones.
    pub(super) fn function(
        &mut self,
        f: &Function,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let w = written(f)?;
        let name = w.name.as_str();
        // Functions of the clock are read once, when the query is checked.
        if matches!(name, "current_date") && w.exprs.is_empty() && f.over.is_none() {
            return Ok((
                Info::allow(Shape::Literal, Ty::Date),
                Expr::Lit(Lit::Date(self.today.format("%Y-%m-%d").to_string())),
            ));
        }
        if w.no_parens {
            return Err(unsupported(format!("`{name}` without parentheses")).into());
        }
        if let Some(why) = functions::refused(name) {
            return Err(Refusal::new(
                Reason::UnknownFunction,
                format!("function `{name}` is not allowed: {why}"),
            )
            .construct(name)
            .into());
        }
        if let Some(part) = functions::part_function(name) {
            let [arg] = w.exprs.as_slice() else {
                return Err(unsupported(format!("{name} with other than one argument")).into());
            };
            return self.date_part(part, arg, ctx, f, scope);
        }
        let def = functions::lookup(name).ok_or_else(|| {
            Refusal::new(
                Reason::UnknownFunction,
                format!("function `{name}` is not one the guard allows"),
            )
            .construct(name)
        })?;
        signature(def, &w, self.dialect())?;
        match def.func {
            Func::DatePart => {
                let [field_arg, value] = w.exprs.as_slice() else {
                    return Err(unsupported("date_part with other than two arguments").into());
                };
                let field = string_arg(field_arg)
                    .and_then(DatePart::parse)
                    .ok_or_else(|| {
                        unsupported("date_part with a field that is not a literal such as 'year'")
                    })?;
                return self.date_part(field, value, ctx, f, scope);
            }
            Func::DateTrunc => return self.date_trunc(&w.exprs, ctx, f, scope),
            Func::ToDate => return self.parse_date_call(&w.exprs, ctx, f, scope),
            _ => {}
        }
        // The one permitted use of an `aggregate` column, and COUNT over a
        // column whose filter allows equality.
        match w.exprs.as_slice() {
            [only] if def.kind == Kind::Aggregate && is_column(only) => {
                self.column_call(only, def, &w, ctx, scope)
            }
            _ => self.general_call(def, &w, ctx, scope),
        }
    }

    /// An aggregate over a bare column: the one place an `aggregate` column
    /// may stand (registering its group-size check), `count` over a column
    /// whose filter allows equality, or else the general rules.
    fn column_call(
        &mut self,
        only: &SqlExpr,
        def: &Def,
        w: &Written<'_>,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (f, name) = (w.f, w.name.as_str());
        let found = self.column_ref(only, scope)?;
        if let Some(s) = found.lin.eff {
            let p = self.policy(s);
            if let Action::Aggregate {
                functions: allowed_fns,
                min_group_size,
            } = &p.action
            {
                let col = self.src_name(s);
                aggregate_use(&col, w, ctx, allowed_fns, &found)?;
                self.summarises = true;
                self.add_check(found.rel, s, *min_group_size);
                let ty = def.ret(&[found.ty]);
                return Ok((
                    Info {
                        lin: found.lin,
                        shape: Shape::AggResult,
                        ty,
                    },
                    Expr::Call(Box::new(Call {
                        func: def.func,
                        args: vec![found.expr],
                        star: false,
                        distinct: false,
                        filter: None,
                        over: None,
                    })),
                ));
            }
            if name == "count" && f.over.is_none() {
                self.deny_or_agg(s)?;
                if p.filter >= Filter::Equality {
                    let filter = self.agg_filter(f, scope)?;
                    // A count is a plain number: it keeps its sources
                    // but no protection.
                    return Ok((
                        Info {
                            lin: Lin {
                                sources: found.lin.sources,
                                eff: None,
                            },
                            shape: Shape::Count,
                            ty: Ty::Int,
                        },
                        filtered_call(def.func, vec![found.expr], false, w.distinct, filter),
                    ));
                }
            }
        }
        // Not special: the general rules, with the reference resolved.
        let saved = self.cur_fn.replace(format!("{name}(…)"));
        let r = self.leaf(&found.lin, ctx.comp(), true);
        self.cur_fn = saved;
        r?;
        numeric_summary(def.func, name, &[found.ty])?;
        let ty = def.ret(&[found.ty]);
        self.finish_call(def, vec![found.expr], found.lin, ty, w, scope)
    }

    /// Records the group-size check of an `aggregate` column read through
    /// relation `rel` (the largest `min_group_size` where it is summarised
    /// twice).
    fn add_check(&mut self, rel: RelId, s: Src, min: u32) {
        let (table, column) = (s.0, s.1);
        if let Some(c) = self
            .checks
            .iter_mut()
            .find(|c| c.table == table && c.column == column && c.rel == rel)
        {
            c.min = c.min.max(min);
        } else {
            self.checks.push(PendingCheck {
                rel,
                table,
                column,
                min,
            });
        }
    }

    /// A call under the general rules: each argument walked as a
    /// computation; `greatest`, `least`, `coalesce` and `nullif` refuse
    /// arguments of types that do not mix.
    fn general_call(
        &mut self,
        def: &Def,
        w: &Written<'_>,
        ctx: Ctx,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let name = w.name.as_str();
        let saved = self.cur_fn.replace(format!("{name}(…)"));
        let mut lin = Lin::default();
        let mut args = Vec::with_capacity(w.exprs.len());
        let mut tys = Vec::with_capacity(w.exprs.len());
        let mut res = Ok(());
        for e in &w.exprs {
            match self.expr(e, ctx.comp(), scope) {
                Ok((i, x)) => match self.merge(&lin, &i.lin) {
                    Ok(l) => {
                        lin = l;
                        tys.push(i.ty);
                        args.push(x);
                    }
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
        numeric_summary(def.func, name, &tys)?;
        // greatest, least, coalesce, nullif: one result from arguments of
        // one type; text against numbers fails in an engine, or compares
        // differently in two.
        if matches!(
            def.func,
            Func::Greatest | Func::Least | Func::Coalesce | Func::Nullif
        ) {
            types_mix(name, &w.exprs, &tys, self.dialect())?;
        }
        let ty = def.ret(&tys);
        let args = self.adjust_args(def.func, args, &tys);
        self.finish_call(def, args, lin, ty, w, scope)
    }

    /// Argument forms one engine needs to compute what the other does.
    fn adjust_args(&self, func: Func, mut args: Vec<Expr>, tys: &[Ty]) -> Vec<Expr> {
        if self.dialect() == Dialect::Postgres
            && matches!(func, Func::Round | Func::Trunc)
            && args.len() == 2
            && tys.first().is_some_and(|t| *t != Ty::Int)
        {
            // PostgreSQL rounds to decimals only a numeric.
            if let Some(first) = args.first_mut() {
                let x = std::mem::replace(first, Expr::Lit(Lit::Null));
                *first = Expr::Cast(Box::new(x), crate::guard::plan::CastTo::Numeric);
            }
        }
        args
    }

    /// FILTER (WHERE …) of an aggregate: written into its argument
    /// (`sum(CASE WHEN c THEN x END)`), which both engines compute.
    fn agg_filter(&mut self, f: &Function, scope: &Scope<'_>) -> Result<Option<Expr>, Error> {
        match &f.filter {
            Some(flt) => Ok(Some(self.expr(flt, Ctx::Pred, scope)?.1)),
            None => Ok(None),
        }
    }

    /// FILTER and OVER of a function whose arguments passed, and the forms
    /// an engine needs to compute what the others do.
    fn finish_call(
        &mut self,
        def: &Def,
        args: Vec<Expr>,
        lin: Lin,
        ty: Ty,
        w: &Written<'_>,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        let (func, f, star, distinct) = (def.func, w.f, w.star, w.distinct);
        let is_agg = def.kind == Kind::Aggregate && f.over.is_none();
        let constant = !star && !args.iter().any(Expr::reads_column);
        if is_agg && self.dialect() == Dialect::Polars && constant && !distinct {
            // polars sums a constant once per group, not once per row.
            return self.constant_aggregate(func, args, lin, ty, f, scope);
        }
        if distinct && (func != Func::Count || constant) && self.dialect() == Dialect::Polars {
            return Err(not_on_engine(
                &format!(
                    "{}(DISTINCT …)",
                    crate::guard::functions::display_name(func)
                ),
                "polars",
                "aggregate the distinct values of a subquery (SELECT DISTINCT …)",
            )
            .into());
        }
        let filter = self.agg_filter(f, scope)?;
        if filter.is_some() && !is_agg {
            return Err(unsupported("FILTER on a function that is not an aggregate").into());
        }
        let mut over = match &f.over {
            None => None,
            Some(WindowType::NamedWindow(_)) => {
                return Err(unsupported("a function OVER a named window").into())
            }
            Some(WindowType::WindowSpec(spec)) => Some(self.window(func, spec, scope)?),
        };
        if let Some(w) = over.as_mut() {
            self.arg_ties(w, &args, &lin)?;
        }
        if let (Func::Lag | Func::Lead, Some(n)) = (func, args.get(1)) {
            if !matches!(n, Expr::Lit(Lit::Number(_))) {
                return Err(
                    unsupported("lag/lead with an offset that is not a number literal").into(),
                );
            }
        }
        let spark_cast = match (self.dialect(), func, ty) {
            // Spark's ceil and floor of a float are integers, and its sign
            // of an integer is a float: the type PostgreSQL gives.
            (Dialect::Spark, Func::Ceil | Func::Floor, Ty::Float) => Some(CastTo::Float),
            (Dialect::Spark, Func::Sign, Ty::Int) => Some(CastTo::BigInt),
            _ => None,
        };
        Ok((
            Info::computed(lin, ty),
            Expr::Call(Box::new(Call {
                func,
                args: if star { Vec::new() } else { args },
                star,
                distinct,
                filter,
                over,
            })),
        ))
        .map(|(i, x)| (i, fold_filter(x, is_agg)))
        .map(|(i, x)| match spark_cast {
            Some(to) => (i, Expr::Cast(Box::new(x), to)),
            None => (i, x),
        })
    }

    /// An aggregate of a constant on polars, which computes it once per
    /// group: `sum(k)` is `k * count(*)`, `count(k)` is `count(*)` (or 0 for
    /// NULL), `avg`, `min`, `max` and `median` are `k` over a non-empty group.
    fn constant_aggregate(
        &mut self,
        func: Func,
        mut args: Vec<Expr>,
        lin: Lin,
        ty: Ty,
        f: &Function,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        if f.over.is_some() || f.filter.is_some() || args.len() != 1 {
            return Err(not_on_engine(
                "an aggregate of a constant with OVER or FILTER",
                "polars",
                "aggregate a column",
            )
            .into());
        }
        let _ = scope;
        let k = args.remove(0);
        let count = Expr::Call(Box::new(Call {
            func: Func::Count,
            args: Vec::new(),
            star: true,
            distinct: false,
            filter: None,
            over: None,
        }));
        let nonempty = Expr::Bin(
            crate::guard::plan::BinOp::Gt,
            Box::new(count.clone()),
            Box::new(Expr::Lit(Lit::Number("0".into()))),
        );
        let x = match func {
            Func::Sum => Expr::Bin(crate::guard::plan::BinOp::Mul, Box::new(k), Box::new(count)),
            Func::Count => match k {
                Expr::Lit(Lit::Null) => Expr::Lit(Lit::Number("0".into())),
                _ => count,
            },
            Func::Avg | Func::Min | Func::Max | Func::Median => Expr::Case {
                operand: None,
                whens: vec![(nonempty, k)],
                otherwise: None,
            },
            _ => {
                return Err(not_on_engine(
                    &format!(
                        "{}() of a constant",
                        crate::guard::functions::display_name(func)
                    ),
                    "polars",
                    "aggregate a column",
                )
                .into())
            }
        };
        Ok((Info::computed(lin, ty), x))
    }

    fn date_part(
        &mut self,
        part: DatePart,
        arg: &SqlExpr,
        ctx: Ctx,
        f: &Function,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        if f.over.is_some() || f.filter.is_some() {
            return Err(unsupported("OVER or FILTER on a date function").into());
        }
        self.part_on_engine(part)?;
        let saved = self.cur_fn.replace(format!("{}(…)", part.word()));
        let r = self.expr(arg, ctx.comp(), scope);
        self.cur_fn = saved;
        let (i, x) = r?;
        let ty = if part.is_whole() { Ty::Int } else { Ty::Float };
        Ok((Info::computed(i.lin, ty), Expr::Part(part, Box::new(x))))
    }

    fn date_trunc(
        &mut self,
        exprs: &[&SqlExpr],
        ctx: Ctx,
        f: &Function,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        if f.over.is_some() || f.filter.is_some() {
            return Err(unsupported("OVER or FILTER on date_trunc").into());
        }
        let [unit_arg, value] = exprs else {
            return Err(unsupported("date_trunc with other than two arguments").into());
        };
        let unit = string_arg(unit_arg)
            .and_then(TruncUnit::parse)
            .ok_or_else(|| {
                unsupported("date_trunc with a unit that is not a literal such as 'month'")
            })?;
        if self.dialect() == Dialect::Polars && matches!(unit, TruncUnit::Quarter | TruncUnit::Week)
        {
            return Err(not_on_engine(
                &format!("date_trunc('{}', …)", unit.word()),
                "polars",
                "group by date_part('year', …) and date_part('quarter', …) or date_part('week', …)",
            )
            .into());
        }
        let saved = self.cur_fn.replace("date_trunc(…)".to_string());
        let r = self.expr(value, ctx.comp(), scope);
        self.cur_fn = saved;
        let (i, x) = r?;
        if !matches!(i.ty, Ty::Date | Ty::Timestamp) {
            return Err(unsupported(
                "date_trunc of a value that is not a date or a timestamp (cast it first)",
            )
            .into());
        }
        if i.ty == Ty::Date && matches!(unit, TruncUnit::Hour | TruncUnit::Minute) {
            return Err(unsupported("date_trunc to an hour or minute of a date").into());
        }
        Ok((
            Info::computed(i.lin, i.ty),
            Expr::Trunc(unit, Box::new(x), i.ty),
        ))
    }

    fn parse_date_call(
        &mut self,
        exprs: &[&SqlExpr],
        ctx: Ctx,
        f: &Function,
        scope: &Scope<'_>,
    ) -> Result<(Info, Expr), Error> {
        if f.over.is_some() || f.filter.is_some() {
            return Err(unsupported("OVER or FILTER on to_date").into());
        }
        let [value, fmt_arg] = exprs else {
            return Err(unsupported("to_date with other than two arguments").into());
        };
        let fmt = string_arg(fmt_arg)
            .ok_or_else(|| unsupported("to_date with a format that is not a literal"))?;
        let chrono = literal::chrono_format(fmt).ok_or_else(|| {
            unsupported("a to_date format other than YYYY, MM, DD, HH24, MI, SS and separators")
        })?;
        if self.dialect() == Dialect::Spark && literal::java_format(fmt).is_none() {
            return Err(not_on_engine(
                "a to_date format with these separators",
                "spark",
                "separate YYYY, MM, DD, HH24, MI and SS with - / . : , _ or a space",
            )
            .into());
        }
        // A literal date is read now, the same on every engine.
        if let Some(text) = string_arg(value) {
            let d = chrono::NaiveDate::parse_from_str(text, &chrono).map_err(|_| {
                Refusal::new(
                    Reason::UnsupportedConstruct,
                    "to_date of a literal that does not match its format",
                )
                .construct("to_date")
            })?;
            return Ok((
                Info::allow(Shape::Literal, Ty::Date),
                Expr::Lit(Lit::Date(d.format("%Y-%m-%d").to_string())),
            ));
        }
        let saved = self.cur_fn.replace("to_date(…)".to_string());
        let r = self.expr(value, ctx.comp(), scope);
        self.cur_fn = saved;
        let (i, x) = r?;
        Ok((
            Info::computed(i.lin, Ty::Date),
            Expr::ToDate(Box::new(x), fmt.to_string()),
        ))
    }
}

/// Sums, averages and spreads take numbers only.
fn numeric_summary(func: Func, name: &str, tys: &[Ty]) -> Result<(), Refusal> {
    let numeric = matches!(
        func,
        Func::Sum
            | Func::Avg
            | Func::Stddev
            | Func::StddevPop
            | Func::Variance
            | Func::VarPop
            | Func::Median
    );
    if numeric
        && tys
            .iter()
            .any(|t| !(t.is_numeric() || matches!(t, Ty::Unknown | Ty::Null)))
    {
        return Err(Refusal::new(
            Reason::UnsupportedConstruct,
            format!("{name} summarises numbers only"),
        )
        .construct(format!("{name}(…)"))
        .advise("summarise a numeric column, or count the rows"));
    }
    Ok(())
}

fn arity(min: usize, max: usize) -> String {
    match (min, max) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("{a} or more"),
        (a, b) => format!("{a} to {b}"),
    }
}

fn filtered_call(
    func: Func,
    args: Vec<Expr>,
    star: bool,
    distinct: bool,
    filter: Option<Expr>,
) -> Expr {
    fold_filter(
        Expr::Call(Box::new(Call {
            func,
            args,
            star,
            distinct,
            filter,
            over: None,
        })),
        true,
    )
}

/// `agg(x) FILTER (WHERE c)` as `agg(CASE WHEN c THEN x END)`, and
/// `count(*) FILTER (WHERE c)` as `count(CASE WHEN c THEN 1 END)`: the
/// same result, and both engines compute it.
fn fold_filter(e: Expr, is_agg: bool) -> Expr {
    let Expr::Call(mut c) = e else { return e };
    if !is_agg {
        return Expr::Call(c);
    }
    let Some(cond) = c.filter.take() else {
        return Expr::Call(c);
    };
    let value = if c.star {
        c.star = false;
        Expr::Lit(Lit::Number("1".into()))
    } else {
        match c.args.pop() {
            Some(v) => v,
            None => Expr::Lit(Lit::Number("1".into())),
        }
    };
    c.args.push(Expr::Case {
        operand: None,
        whens: vec![(cond, value)],
        otherwise: None,
    });
    Expr::Call(c)
}

impl Walker<'_> {
    /// A date part the engine computes as PostgreSQL does, or a refusal.
    pub(super) fn part_on_engine(&self, part: DatePart) -> Result<(), Refusal> {
        if self.dialect() == Dialect::Spark && part == DatePart::Epoch {
            return Err(not_on_engine(
                "date_part('epoch', …)",
                "spark",
                "use the fields you need (date_part('year', …), …), or subtract two dates for days",
            ));
        }
        Ok(())
    }
}
