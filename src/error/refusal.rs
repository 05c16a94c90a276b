//! Refusals: why the guard would not let a query through.

use std::fmt;

/// Why a query was refused: a stable, machine-readable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The SQL does not parse.
    ParseError,
    /// The SQL is longer than the guard reads.
    TooLong,
    /// The SQL nests deeper than the guard follows.
    TooDeep,
    /// Not a single read-only `SELECT` / `WITH … SELECT`.
    NotASelect,
    /// Several statements.
    MultipleStatements,
    /// A table the rules do not name (or a system catalog).
    UnknownTable,
    /// A column that does not exist.
    UnknownColumn,
    /// A column name that several tables in scope have.
    AmbiguousColumn,
    /// A SQL construct the guard does not understand or allow.
    UnsupportedConstruct,
    /// A function the guard does not know, or a table function.
    UnknownFunction,
    /// A `deny` column referenced anywhere.
    DeniedColumn,
    /// A function, operator or `CASE` condition computing on a protected column.
    ProtectedInExpression,
    /// A protected column used in a predicate, grouping or partition beyond
    /// what its `filter` allows.
    FilterNotAllowed,
    /// A protected column in `ORDER BY` or a window's `ORDER BY`.
    ProtectedOrdering,
    /// A protected column compared with a raw literal instead of an issued token.
    RawLiteral,
    /// A token literal that sqlveil did not issue (or cannot resolve).
    UnresolvedToken,
    /// A token of one class compared with a column of another.
    TokenClassMismatch,
    /// A protected column compared or joined with a column of another action
    /// or class, a literal list, or a computed value.
    JoinMismatch,
    /// An `aggregate` column used other than as the bare argument of a listed
    /// aggregate function in the outermost projection.
    AggregateMisuse,
    /// An aggregate function that the column's policy does not list.
    AggregateFunctionNotAllowed,
    /// Sources with different protections of the same strictness combined in
    /// one output column.
    ConflictingLineage,
    /// `OFFSET` at or past the row cap, or a `LIMIT`/`OFFSET` that is not a
    /// plain number.
    RowCap,
    /// An alias that uses the prefix sqlveil reserves for its own columns.
    ReservedName,
    /// A wildcard that leaves no column that may be shown.
    NothingToShow,
}

impl Reason {
    /// The stable snake_case code of the reason.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ParseError => "parse_error",
            Reason::TooLong => "too_long",
            Reason::TooDeep => "too_deep",
            Reason::NotASelect => "not_a_select",
            Reason::MultipleStatements => "multiple_statements",
            Reason::UnknownTable => "unknown_table",
            Reason::UnknownColumn => "unknown_column",
            Reason::AmbiguousColumn => "ambiguous_column",
            Reason::UnsupportedConstruct => "unsupported_construct",
            Reason::UnknownFunction => "unknown_function",
            Reason::DeniedColumn => "denied_column",
            Reason::ProtectedInExpression => "protected_in_expression",
            Reason::FilterNotAllowed => "filter_not_allowed",
            Reason::ProtectedOrdering => "protected_ordering",
            Reason::RawLiteral => "raw_literal",
            Reason::UnresolvedToken => "unresolved_token",
            Reason::TokenClassMismatch => "token_class_mismatch",
            Reason::JoinMismatch => "join_mismatch",
            Reason::AggregateMisuse => "aggregate_misuse",
            Reason::AggregateFunctionNotAllowed => "aggregate_function_not_allowed",
            Reason::ConflictingLineage => "conflicting_lineage",
            Reason::RowCap => "row_cap",
            Reason::ReservedName => "reserved_name",
            Reason::NothingToShow => "nothing_to_show",
        }
    }
}

impl Reason {
    /// What the reason means for whoever wrote the query, in one fixed
    /// sentence: safe to send back to a model, since it holds nothing from
    /// the query or the data.
    pub fn hint(self) -> &'static str {
        match self {
            Reason::ParseError => "The SQL does not parse; write one plain SELECT statement.",
            Reason::TooLong => "The SQL is too long; write a shorter query.",
            Reason::TooDeep => "The SQL nests too deeply; flatten it.",
            Reason::NotASelect => "Only one read-only SELECT statement may run.",
            Reason::MultipleStatements => "Write exactly one SELECT statement.",
            Reason::UnknownTable => "The query names a table that is not in the schema.",
            Reason::UnknownColumn => "The query names a column that is not in the schema.",
            Reason::AmbiguousColumn => "A name in the query is ambiguous or used twice; qualify every column and give each table, subquery and CTE its own alias.",
            Reason::UnsupportedConstruct => "The query uses a construct that is not allowed here.",
            Reason::UnknownFunction => "The query calls a function that is not allowed here.",
            Reason::DeniedColumn => "The query uses a column that may not be read; remove it.",
            Reason::ProtectedInExpression => "A protected column may not be computed on; select it as it is.",
            Reason::FilterNotAllowed => "A protected column may not be filtered, grouped or joined that way.",
            Reason::ProtectedOrdering => "A protected column may not be used to order rows.",
            Reason::RawLiteral => "A protected column may only be compared with a token given in the question or an earlier result, not with a literal value.",
            Reason::UnresolvedToken => "A token in the query was not issued; use tokens exactly as they were given.",
            Reason::TokenClassMismatch => "A token was compared with a column of another kind.",
            Reason::JoinMismatch => "A protected column may only be compared or joined with a column of the same kind.",
            Reason::AggregateMisuse => "A statistics-only column may only be summarised by a listed aggregate that is a whole item of the outermost SELECT, over one reading of its table.",
            Reason::AggregateFunctionNotAllowed => "That aggregate function is not allowed on this column.",
            Reason::ConflictingLineage => "One output column mixes differently protected columns; keep them in separate columns.",
            Reason::RowCap => "LIMIT and OFFSET must be plain numbers within the row cap.",
            Reason::ReservedName => "An alias uses a reserved prefix; rename it.",
            Reason::NothingToShow => "The wildcard leaves no column that may be shown; name the columns instead.",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused query: the reason, the construct and column at fault, a
/// suggestion when one helps a model repair the query, and one sentence.
///
/// The sentence never quotes a literal from the SQL or a value from the data,
/// so it is safe to send back to the model and to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    reason: Reason,
    construct: Option<String>,
    column: Option<String>,
    suggestion: Option<String>,
    advice: Option<&'static str>,
    message: String,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            construct: None,
            column: None,
            suggestion: None,
            advice: None,
            message: message.into(),
        }
    }

    pub(crate) fn construct(mut self, c: impl Into<String>) -> Refusal {
        self.construct = Some(c.into());
        self
    }

    pub(crate) fn column(mut self, c: impl Into<String>) -> Refusal {
        self.column = Some(c.into());
        self
    }

    pub(crate) fn suggest(mut self, s: Option<String>) -> Refusal {
        self.suggestion = s;
        self
    }

    pub(crate) fn advise(mut self, a: &'static str) -> Refusal {
        self.advice = Some(a);
        self
    }

    /// The machine-readable reason.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The SQL construct at fault (`ORDER BY`, `substr`, `JOIN … ON`, …).
    pub fn construct_name(&self) -> Option<&str> {
        self.construct.as_deref()
    }

    /// The column at fault, as `table.column` for table columns.
    pub fn column_name(&self) -> Option<&str> {
        self.column.as_deref()
    }

    /// The closest visible name, for unknown tables and columns.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }

    /// What to write instead, when the guard knows (a construct one engine
    /// cannot run): fixed text of the guard's, never from the query.
    pub fn advice(&self) -> Option<&'static str> {
        self.advice
    }

    /// The human sentence.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}
