//! The functions the guard knows: what kind each is, how many arguments it
//! takes, what it returns, and on which engines it runs. A function not in
//! this table is refused; a function the table marks as missing on an engine
//! is refused on that engine with a suggestion, not left to fail there.

use super::plan::Ty;
use super::Dialect;

/// A function of the guard's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Func {
    // Numbers.
    Abs,
    Ceil,
    Floor,
    Round,
    Trunc,
    Sqrt,
    Cbrt,
    Power,
    Exp,
    Ln,
    Log10,
    Sign,
    Mod,
    // Choices.
    Greatest,
    Least,
    Coalesce,
    Nullif,
    // Text.
    Lower,
    Upper,
    Length,
    Ltrim,
    Rtrim,
    Substr,
    Left,
    Right,
    Replace,
    Reverse,
    Concat,
    ConcatWs,
    Lpad,
    Rpad,
    StartsWith,
    EndsWith,
    Strpos,
    SplitPart,
    Initcap,
    // Dates.
    DatePart,
    DateTrunc,
    ToDate,
    // Aggregates.
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Median,
    Stddev,
    StddevPop,
    Variance,
    VarPop,
    BoolAnd,
    BoolOr,
    // Window functions.
    RowNumber,
    Rank,
    DenseRank,
    Ntile,
    PercentRank,
    CumeDist,
    Lag,
    Lead,
    FirstValue,
    // Written by the guard only (not a name a query may call).
    /// Days between two dates, `datediff(a, b)`: Spark's `a - b` is an
    /// interval.
    DateDiff,
}

/// What kind of function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    Aggregate,
    /// Only with `OVER`.
    Window,
}

/// The return type of a call.
#[derive(Debug, Clone, Copy)]
enum Ret {
    Fixed(Ty),
    /// The first argument's type.
    First,
    /// The first non-null argument's type.
    Common,
    /// The second argument's type (date_trunc's value).
    Second,
}

/// One entry of the table.
#[derive(Debug)]
pub(crate) struct Def {
    pub(crate) func: Func,
    pub(crate) kind: Kind,
    pub(crate) min_args: usize,
    pub(crate) max_args: usize,
    ret: Ret,
    /// `Some(suggestion)` when the polars engine cannot run it.
    polars_missing: Option<&'static str>,
    /// `Some(suggestion)` when PostgreSQL cannot run it.
    postgres_missing: Option<&'static str>,
    /// `Some(suggestion)` when Spark cannot run it as PostgreSQL does.
    spark_missing: Option<&'static str>,
}

const ANY: usize = usize::MAX;

const fn def(func: Func, kind: Kind, min_args: usize, max_args: usize, ret: Ret) -> Def {
    Def {
        func,
        kind,
        min_args,
        max_args,
        ret,
        polars_missing: None,
        postgres_missing: None,
        spark_missing: None,
    }
}

const fn no_polars(d: Def, why: &'static str) -> Def {
    Def {
        polars_missing: Some(why),
        ..d
    }
}

const fn no_spark(d: Def, why: &'static str) -> Def {
    Def {
        spark_missing: Some(why),
        ..d
    }
}

use Func as F;
use Kind::{Aggregate as A, Scalar as S, Window as W};

/// The table, by the names a query may use (lowercase).
const TABLE: &[(&str, Def)] = &[
    ("abs", def(F::Abs, S, 1, 1, Ret::First)),
    ("ceil", def(F::Ceil, S, 1, 1, Ret::First)),
    ("ceiling", def(F::Ceil, S, 1, 1, Ret::First)),
    ("floor", def(F::Floor, S, 1, 1, Ret::First)),
    ("round", def(F::Round, S, 1, 2, Ret::First)),
    (
        "trunc",
        no_spark(
            def(F::Trunc, S, 1, 2, Ret::First),
            "use round(x, n), or floor(x) / ceil(x)",
        ),
    ),
    ("sqrt", def(F::Sqrt, S, 1, 1, Ret::Fixed(Ty::Float))),
    ("cbrt", def(F::Cbrt, S, 1, 1, Ret::Fixed(Ty::Float))),
    ("power", def(F::Power, S, 2, 2, Ret::Fixed(Ty::Float))),
    ("pow", def(F::Power, S, 2, 2, Ret::Fixed(Ty::Float))),
    ("exp", def(F::Exp, S, 1, 1, Ret::Fixed(Ty::Float))),
    ("ln", def(F::Ln, S, 1, 1, Ret::Fixed(Ty::Float))),
    ("log10", def(F::Log10, S, 1, 1, Ret::Fixed(Ty::Float))),
    ("sign", def(F::Sign, S, 1, 1, Ret::First)),
    ("mod", def(F::Mod, S, 2, 2, Ret::Common)),
    ("greatest", def(F::Greatest, S, 1, ANY, Ret::Common)),
    ("least", def(F::Least, S, 1, ANY, Ret::Common)),
    ("coalesce", def(F::Coalesce, S, 1, ANY, Ret::Common)),
    ("nullif", def(F::Nullif, S, 2, 2, Ret::First)),
    ("lower", def(F::Lower, S, 1, 1, Ret::Fixed(Ty::Text))),
    ("upper", def(F::Upper, S, 1, 1, Ret::Fixed(Ty::Text))),
    ("length", def(F::Length, S, 1, 1, Ret::Fixed(Ty::Int))),
    ("char_length", def(F::Length, S, 1, 1, Ret::Fixed(Ty::Int))),
    (
        "character_length",
        def(F::Length, S, 1, 1, Ret::Fixed(Ty::Int)),
    ),
    ("ltrim", def(F::Ltrim, S, 1, 2, Ret::Fixed(Ty::Text))),
    ("rtrim", def(F::Rtrim, S, 1, 2, Ret::Fixed(Ty::Text))),
    ("substr", def(F::Substr, S, 2, 3, Ret::Fixed(Ty::Text))),
    ("left", def(F::Left, S, 2, 2, Ret::Fixed(Ty::Text))),
    ("right", def(F::Right, S, 2, 2, Ret::Fixed(Ty::Text))),
    ("replace", def(F::Replace, S, 3, 3, Ret::Fixed(Ty::Text))),
    ("reverse", def(F::Reverse, S, 1, 1, Ret::Fixed(Ty::Text))),
    ("concat", def(F::Concat, S, 1, ANY, Ret::Fixed(Ty::Text))),
    (
        "concat_ws",
        def(F::ConcatWs, S, 2, ANY, Ret::Fixed(Ty::Text)),
    ),
    ("lpad", def(F::Lpad, S, 2, 3, Ret::Fixed(Ty::Text))),
    ("rpad", def(F::Rpad, S, 2, 3, Ret::Fixed(Ty::Text))),
    (
        "starts_with",
        def(F::StartsWith, S, 2, 2, Ret::Fixed(Ty::Bool)),
    ),
    ("ends_with", def(F::EndsWith, S, 2, 2, Ret::Fixed(Ty::Bool))),
    ("strpos", def(F::Strpos, S, 2, 2, Ret::Fixed(Ty::Int))),
    (
        "split_part",
        def(F::SplitPart, S, 3, 3, Ret::Fixed(Ty::Text)),
    ),
    (
        "initcap",
        no_polars(
            def(F::Initcap, S, 1, 1, Ret::Fixed(Ty::Text)),
            "use upper(left(x, 1)) || lower(substr(x, 2))",
        ),
    ),
    ("date_part", def(F::DatePart, S, 2, 2, Ret::Fixed(Ty::Int))),
    ("date_trunc", def(F::DateTrunc, S, 2, 2, Ret::Second)),
    ("to_date", def(F::ToDate, S, 2, 2, Ret::Fixed(Ty::Date))),
    ("count", def(F::Count, A, 0, 1, Ret::Fixed(Ty::Int))),
    ("sum", def(F::Sum, A, 1, 1, Ret::First)),
    ("avg", def(F::Avg, A, 1, 1, Ret::Fixed(Ty::Float))),
    ("min", def(F::Min, A, 1, 1, Ret::First)),
    ("max", def(F::Max, A, 1, 1, Ret::First)),
    ("median", def(F::Median, A, 1, 1, Ret::Fixed(Ty::Float))),
    ("stddev", def(F::Stddev, A, 1, 1, Ret::Fixed(Ty::Float))),
    (
        "stddev_samp",
        def(F::Stddev, A, 1, 1, Ret::Fixed(Ty::Float)),
    ),
    (
        "stddev_pop",
        no_polars(
            def(F::StddevPop, A, 1, 1, Ret::Fixed(Ty::Float)),
            "use stddev (the sample standard deviation)",
        ),
    ),
    ("variance", def(F::Variance, A, 1, 1, Ret::Fixed(Ty::Float))),
    ("var_samp", def(F::Variance, A, 1, 1, Ret::Fixed(Ty::Float))),
    (
        "var_pop",
        no_polars(
            def(F::VarPop, A, 1, 1, Ret::Fixed(Ty::Float)),
            "use variance (the sample variance)",
        ),
    ),
    (
        "bool_and",
        no_polars(
            def(F::BoolAnd, A, 1, 1, Ret::Fixed(Ty::Bool)),
            "use min(CASE WHEN x THEN 1 ELSE 0 END) = 1",
        ),
    ),
    (
        "bool_or",
        no_polars(
            def(F::BoolOr, A, 1, 1, Ret::Fixed(Ty::Bool)),
            "use max(CASE WHEN x THEN 1 ELSE 0 END) = 1",
        ),
    ),
    (
        "row_number",
        def(F::RowNumber, W, 0, 0, Ret::Fixed(Ty::Int)),
    ),
    ("rank", def(F::Rank, W, 0, 0, Ret::Fixed(Ty::Int))),
    (
        "dense_rank",
        def(F::DenseRank, W, 0, 0, Ret::Fixed(Ty::Int)),
    ),
    (
        "ntile",
        no_polars(
            def(F::Ntile, W, 1, 1, Ret::Fixed(Ty::Int)),
            "use row_number() and arithmetic",
        ),
    ),
    (
        "percent_rank",
        no_polars(
            def(F::PercentRank, W, 0, 0, Ret::Fixed(Ty::Float)),
            "use rank() and count(*) OVER ()",
        ),
    ),
    (
        "cume_dist",
        no_polars(
            def(F::CumeDist, W, 0, 0, Ret::Fixed(Ty::Float)),
            "use rank() and count(*) OVER ()",
        ),
    ),
    ("lag", def(F::Lag, W, 1, 2, Ret::First)),
    ("lead", def(F::Lead, W, 1, 2, Ret::First)),
    ("first_value", def(F::FirstValue, W, 1, 1, Ret::First)),
];

/// Names refused with a reason of their own: they depend on the order rows
/// arrive in, or on the clock, or they exist under another name.
const REFUSED: &[(&str, &str)] = &[
    (
        "first",
        "it depends on the order rows arrive in; use min or max",
    ),
    (
        "last",
        "it depends on the order rows arrive in; use min or max",
    ),
    (
        "last_value",
        "its frame differs between engines; use first_value with the opposite order",
    ),
    ("nth_value", "use row_number() in a subquery"),
    (
        "string_agg",
        "it depends on the order rows arrive in; return the rows instead",
    ),
    (
        "array_agg",
        "it depends on the order rows arrive in; return the rows instead",
    ),
    ("now", "use a date literal such as DATE '2024-01-31'"),
    (
        "current_timestamp",
        "use a timestamp literal such as TIMESTAMP '2024-01-31 12:00:00'",
    ),
    ("strftime", "use date_part or date_trunc"),
    ("to_char", "use date_part or date_trunc"),
];

/// Looks a function up by the name a query uses.
pub(crate) fn lookup(name: &str) -> Option<&'static Def> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, d)| d)
}

/// Why a known name is refused anyway, if it is.
pub(crate) fn refused(name: &str) -> Option<&'static str> {
    REFUSED.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}

/// Date and time functions written as functions of one value (`year(d)`),
/// turned into `date_part`.
pub(crate) fn part_function(name: &str) -> Option<DatePart> {
    Some(match name {
        "year" => DatePart::Year,
        "quarter" => DatePart::Quarter,
        "month" => DatePart::Month,
        "week" => DatePart::Week,
        "day" => DatePart::Day,
        "hour" => DatePart::Hour,
        "minute" => DatePart::Minute,
        "second" => DatePart::Second,
        _ => return None,
    })
}

impl Def {
    /// Whether `dialect` can run the function; `Err(suggestion)` when not.
    pub(crate) fn available(&self, dialect: Dialect) -> Result<(), &'static str> {
        let missing = match dialect {
            Dialect::Polars => self.polars_missing,
            Dialect::Postgres => self.postgres_missing,
            Dialect::Spark => self.spark_missing,
        };
        match missing {
            Some(s) => Err(s),
            None => Ok(()),
        }
    }

    /// The call's type from its arguments' types.
    pub(crate) fn ret(&self, args: &[Ty]) -> Ty {
        match self.ret {
            Ret::Fixed(t) => t,
            Ret::First => args.first().copied().unwrap_or(Ty::Unknown),
            Ret::Second => args.get(1).copied().unwrap_or(Ty::Unknown),
            Ret::Common => common(args),
        }
    }
}

/// The type several values share: the first known one, widened to a float
/// when integers meet floats.
pub(crate) fn common(tys: &[Ty]) -> Ty {
    let mut out = Ty::Null;
    for &t in tys {
        out = match (out, t) {
            (Ty::Null, t) | (t, Ty::Null) => t,
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Ty::Float,
            (a, b) if a == b => a,
            _ => Ty::Unknown,
        };
    }
    out
}

/// A field of a date or time that `date_part`, `EXTRACT` and `year(…)` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    DayOfWeek,
    IsoDayOfWeek,
    DayOfYear,
    Hour,
    Minute,
    Second,
    Epoch,
}

impl DatePart {
    pub(crate) fn parse(s: &str) -> Option<DatePart> {
        Some(match s.to_ascii_lowercase().as_str() {
            "year" | "years" | "yyyy" => DatePart::Year,
            "quarter" => DatePart::Quarter,
            "month" | "months" | "mon" => DatePart::Month,
            "week" | "weeks" => DatePart::Week,
            "day" | "days" => DatePart::Day,
            "dow" | "dayofweek" => DatePart::DayOfWeek,
            "isodow" => DatePart::IsoDayOfWeek,
            "doy" | "dayofyear" => DatePart::DayOfYear,
            "hour" | "hours" => DatePart::Hour,
            "minute" | "minutes" => DatePart::Minute,
            "second" | "seconds" => DatePart::Second,
            "epoch" => DatePart::Epoch,
            _ => return None,
        })
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Quarter => "quarter",
            DatePart::Month => "month",
            DatePart::Week => "week",
            DatePart::Day => "day",
            DatePart::DayOfWeek => "dow",
            DatePart::IsoDayOfWeek => "isodow",
            DatePart::DayOfYear => "doy",
            DatePart::Hour => "hour",
            DatePart::Minute => "minute",
            DatePart::Second => "second",
            DatePart::Epoch => "epoch",
        }
    }

    /// Whole numbers, so both engines return an integer.
    pub(crate) fn is_whole(self) -> bool {
        !matches!(self, DatePart::Second | DatePart::Epoch)
    }
}

/// The units `date_trunc` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TruncUnit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
}

impl TruncUnit {
    pub(crate) fn parse(s: &str) -> Option<TruncUnit> {
        Some(match s.to_ascii_lowercase().as_str() {
            "year" => TruncUnit::Year,
            "quarter" => TruncUnit::Quarter,
            "month" => TruncUnit::Month,
            "week" => TruncUnit::Week,
            "day" => TruncUnit::Day,
            "hour" => TruncUnit::Hour,
            "minute" => TruncUnit::Minute,
            _ => return None,
        })
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            TruncUnit::Year => "year",
            TruncUnit::Quarter => "quarter",
            TruncUnit::Month => "month",
            TruncUnit::Week => "week",
            TruncUnit::Day => "day",
            TruncUnit::Hour => "hour",
            TruncUnit::Minute => "minute",
        }
    }
}

/// The kind of a function.
pub(crate) fn kind_of(f: Func) -> Kind {
    TABLE
        .iter()
        .find(|(_, d)| d.func == f)
        .map_or(Kind::Scalar, |(_, d)| d.kind)
}

/// A function's name, for messages.
pub(crate) fn display_name(f: Func) -> &'static str {
    TABLE
        .iter()
        .find(|(_, d)| d.func == f)
        .map_or("function", |(n, _)| *n)
}
