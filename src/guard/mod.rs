//! The SQL guard: parses a model's SQL, resolves every name, follows every
//! output column back to its source columns, and refuses or rewrites the
//! query according to the policy.
//!
//! # What it does
//!
//! [`Guard::check`] takes SQL text and returns a [`GuardedQuery`]: the
//! rewritten SQL that an engine may run, and for every output column its
//! action and source columns, which the protection stage consumes. Anything
//! else is a [`Refusal`] with a machine-readable [`Reason`].
//!
//! # Design choices
//!
//! - **One scope-aware walk.** Name resolution, lineage, the per-action rules
//!   and the rewrite happen in a single pass over the AST. Every variant of
//!   every AST node the walk meets is either handled or refused: there is no
//!   catch-all that lets an unknown construct through.
//! - **Canonical identifiers.** Every column and table reference the guard
//!   resolves is rewritten to its exact, double-quoted name, so the engine can
//!   never resolve a name to a different column than the guard did.
//! - **Aggregates over `aggregate` columns** are allowed only as whole items of
//!   the outermost `SELECT`. The guard appends a hidden count of distinct
//!   subjects per group (see [`GroupCheck`]); the engine removes groups below
//!   `min_group_size` and the hidden columns before anything leaves it.
//! - **Untrusted input is bounded**: SQL longer than
//!   [`GuardBuilder::max_sql_bytes`], operator chains longer than a fixed
//!   bound, and nesting deeper than [`GuardBuilder::max_depth`] are refused
//!   before they can exhaust the stack.

mod dialect;
mod emit;
mod functions;
mod plan;
mod spark;
mod walk;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use regex::Regex;
use sqlparser::dialect::{Dialect as SqlDialect, GenericDialect, PostgreSqlDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use self::dialect::Quick;
pub(crate) use self::emit::POLARS_ORDER_HASH;
// The guard's files name these `super::Refusal`/`crate::guard::Reason`;
// their public path is `sqlveil::error::{Refusal, Reason}`.
pub(crate) use crate::error::{Reason, Refusal};
// The resolver the guard calls is the tokens' (`sqlveil::tokens::TokenResolver`).
pub(crate) use crate::tokens::{NoTokens, TokenResolver};
// The guard's files name the dialect `super::Dialect`/`crate::guard::Dialect`.
use crate::error::Error;
use crate::rules::{Action, ColumnPolicy, Filter, Policy};
pub(crate) use crate::schema::Dialect;
use crate::schema::{Catalog, ColumnType};

/// The prefix of the hidden columns the guard adds; user aliases may not use it.
pub const HIDDEN_PREFIX: &str = "__sqlveil_";

/// A source column of an output column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct ColumnRef {
    /// The table's name.
    pub table: String,
    /// The column's name.
    pub column: String,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// An output column of a guarded query: its name, the action the protection
/// stage must apply, where it may be compared, and the source columns it
/// derives from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutputColumn {
    /// The column's name in the result.
    pub name: String,
    /// What the protection stage does with it. `Allow` for values computed
    /// only from `allow` columns and for counts; the strictest source action
    /// for columns that pass protected values through; `Aggregate` for the
    /// result of a permitted aggregate over an `aggregate` column, shown as is
    /// once small groups are removed. The action's details (the mask, the
    /// generalization, the token class) are the source column's.
    pub action: Action,
    /// Where the column may be compared: the filter of the source column
    /// whose action it took (`any` for an `allow` result).
    pub filter: Filter,
    /// The source columns, in name order.
    pub sources: Vec<ColumnRef>,
}

/// Hidden columns that count, per result row, the distinct subjects with a
/// value of one summarised `aggregate` column, and the rows with a value; the
/// smallest count a row must have to leave the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupCheck {
    /// The hidden column counting distinct subjects (or rows, for a table
    /// without a subject). Its name starts with [`HIDDEN_PREFIX`].
    pub column: String,
    /// The hidden column counting rows with a value, for tables with a
    /// subject: a row is kept only when it equals [`GroupCheck::column`], so
    /// that nobody is counted twice.
    pub rows_column: Option<String>,
    /// The smallest number of distinct subjects a row's group must have.
    pub min_group_size: u32,
    /// The subject column whose uniqueness lets [`GroupCheck::column`]
    /// count rows with a value in place of distinct subjects (the table is
    /// read on its own, and the catalog found the column unique and never
    /// empty); [`run`](crate::run) asks the engine that it still is before
    /// the query runs. `None` when the column counts distinct subjects.
    pub unique_subject: Option<ColumnRef>,
}

/// A query the guard let through: the SQL to run and what each output column
/// is.
#[derive(Clone, PartialEq)]
pub struct GuardedQuery {
    sql: String,
    columns: Vec<OutputColumn>,
    engine_names: Vec<String>,
    group_checks: Vec<GroupCheck>,
    max_rows: u64,
    tables: Vec<String>,
}

impl fmt::Debug for GuardedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SQL can hold the values that resolved tokens stand for.
        f.debug_struct("GuardedQuery")
            .field("columns", &self.columns)
            .field("group_checks", &self.group_checks)
            .field("max_rows", &self.max_rows)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl GuardedQuery {
    /// The SQL the engine runs, written by the guard: every relation is
    /// `t{n}`, every column `c{n}`, each unique in the statement, quoted and
    /// qualified; policy tables are read through projections that rename
    /// their columns; `*` expanded; tokens turned into values; `LIMIT`
    /// within the cap; the hidden group-size columns and their filter added;
    /// a total order on shown values (and keyed hashes of protected ones)
    /// where an engine could otherwise order rows by protected values. No
    /// name the model wrote is in it.
    ///
    /// It can hold values that resolved tokens stand for: give it to the
    /// engine, not to a model or a log.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The output columns, in order (hidden columns excluded), with the
    /// names the result carries.
    pub fn columns(&self) -> &[OutputColumn] {
        &self.columns
    }

    /// The names the engine gives the output columns (`c{n}`), in the order
    /// of [`GuardedQuery::columns`]; [`run`](crate::run)
    /// renames them.
    pub fn engine_columns(&self) -> &[String] {
        &self.engine_names
    }

    /// The group-size checks the engine applies.
    pub fn group_checks(&self) -> &[GroupCheck] {
        &self.group_checks
    }

    /// The row cap.
    pub fn max_rows(&self) -> u64 {
        self.max_rows
    }

    /// The policy tables the query reads.
    pub fn tables(&self) -> &[String] {
        &self.tables
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GuardColumn {
    pub(crate) name: String,
    pub(crate) policy: ColumnPolicy,
    pub(crate) ty: ColumnType,
}

#[derive(Debug, Clone)]
pub(crate) struct GuardTable {
    pub(crate) name: String,
    pub(crate) subject: Option<String>,
    /// The catalog found the subject column unique and never empty: the
    /// catalog's flag, which its engine clears when that stops being true.
    pub(crate) subject_unique: Option<Arc<AtomicBool>>,
    pub(crate) columns: Vec<GuardColumn>,
}

/// Configures and builds a [`Guard`].
#[derive(Clone)]
pub struct GuardBuilder {
    dialect: Dialect,
    max_sql_bytes: usize,
    max_depth: usize,
    order_key: Option<[u8; 16]>,
    total_order: bool,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("dialect", &self.dialect)
            .field("max_sql_bytes", &self.max_sql_bytes)
            .field("max_depth", &self.max_depth)
            .finish_non_exhaustive()
    }
}

impl Default for GuardBuilder {
    fn default() -> Self {
        GuardBuilder::new()
    }
}

impl GuardBuilder {
    /// A builder with the defaults: polars dialect, 64 KiB of SQL, depth 64.
    pub fn new() -> GuardBuilder {
        GuardBuilder {
            dialect: Dialect::Polars,
            max_sql_bytes: 64 * 1024,
            max_depth: 64,
            order_key: None,
            total_order: true,
        }
    }

    /// Whether every result, row cap and order-sensitive window gets the
    /// guard's total order (shown values, then keyed hashes of protected
    /// ones) even when no operation of the query compares protected values.
    ///
    /// On by default. An engine otherwise returns rows in the order it
    /// stores them, and data is often stored sorted by an identifier that
    /// is protected: the position of a row (or `row_number() OVER ()`)
    /// would then tell the raw identifier behind each token. Turning it off
    /// saves a sort per query and gives that up. With it on, two engines
    /// with the same [`order_key`](Self::order_key) return the same rows
    /// for the same query.
    pub fn total_order(mut self, yes: bool) -> GuardBuilder {
        self.total_order = yes;
        self
    }

    /// Sets the key of the hash that orders protected values where a query
    /// needs a total order (the default is random per guard). Give two
    /// guards the same key to have them order rows alike, as tests comparing
    /// engines do; the key says nothing about the data.
    pub fn order_key(mut self, key: [u8; 16]) -> GuardBuilder {
        self.order_key = Some(key);
        self
    }

    /// Sets the SQL dialect.
    pub fn dialect(mut self, d: Dialect) -> GuardBuilder {
        self.dialect = d;
        self
    }

    /// Sets the longest SQL text the guard reads, in bytes.
    pub fn max_sql_bytes(mut self, n: usize) -> GuardBuilder {
        self.max_sql_bytes = n;
        self
    }

    /// Sets the deepest nesting of expressions and subqueries the guard follows.
    pub fn max_depth(mut self, n: usize) -> GuardBuilder {
        self.max_depth = n.clamp(4, 256);
        self
    }

    /// Builds a guard for a policy over an engine's catalog. Only tables that
    /// are both in the policy and in the catalog can be queried.
    ///
    /// # Errors
    /// The policy's token format cannot be turned into a matcher (cannot
    /// happen for a validated policy, but is not assumed); no random order
    /// key could be drawn.
    pub fn build(&self, policy: &Policy, catalog: &Catalog) -> Result<Guard, Error> {
        let key = match self.order_key {
            Some(k) => k,
            None => {
                let mut k = [0u8; 16];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k)
                    .map_err(|_| Error::crypto())?;
                k
            }
        };
        let mut tables = Vec::new();
        for tp in policy.tables() {
            let Some(ct) = catalog.table(&tp.name) else {
                continue;
            };
            let mut columns = Vec::new();
            for cc in &ct.columns {
                let Some(policy) = policy.effective_column(&tp.name, &cc.name) else {
                    continue;
                };
                columns.push(GuardColumn {
                    name: cc.name.clone(),
                    policy,
                    ty: cc.ty.clone(),
                });
            }
            tables.push(GuardTable {
                name: tp.name.clone(),
                subject: tp.subject.clone(),
                subject_unique: tp
                    .subject
                    .as_deref()
                    .and_then(|s| catalog.flag(&tp.name, s))
                    .cloned(),
                columns,
            });
        }
        Ok(Guard {
            tables,
            token_re: token_regex(&policy.defaults().token_format)?,
            max_rows: policy.defaults().max_rows,
            dialect: self.dialect,
            max_sql_bytes: self.max_sql_bytes,
            max_depth: self.max_depth,
            order_key: data_encoding::HEXLOWER.encode(&key),
            total_order: self.total_order,
        })
    }
}

/// Whether a (lowercase) name is a function the guard lets a query call.
pub(crate) fn is_function_name(name: &str) -> bool {
    functions::lookup(name).is_some() || functions::part_function(name).is_some()
}

/// A regex that matches a whole literal of the token format's shape.
pub(crate) fn token_regex(format: &str) -> Result<Regex, Error> {
    let mut pat = String::from("^");
    let mut rest = format;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{class}") {
            pat.push_str("[a-z][a-z0-9_]*");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("{token}") {
            pat.push_str("[A-Za-z0-9_+/=-]+");
            rest = r;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            pat.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    pat.push('$');
    Regex::new(&pat).map_err(|_| Error::rules(None, "the token format cannot be matched"))
}

/// The SQL guard for one policy and one engine catalog.
///
/// # Example
/// ```
/// use sqlveil::Policy;
/// use sqlveil::error::Reason;
/// use sqlveil::guard::Guard;
/// use sqlveil::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType};
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [tables.people.columns]
///     name = { action = "tokenize", class = "person" }
///     city = { action = "allow" }
///     ssn  = { action = "deny" }
/// "#)?;
/// let col = |n: &str| CatalogColumn { name: n.into(), ty: ColumnType::Text };
/// let catalog = Catalog::new(vec![CatalogTable {
///     name: "people".into(),
///     columns: vec![col("name"), col("city"), col("ssn")],
/// }]);
/// let guard = Guard::new(&policy, &catalog)?;
///
/// let ok = guard.check("SELECT * FROM people AS p")?;
/// // The engine runs the guard's own SQL: generated names, the policy's
/// // table and columns, no name of the model's, `ssn` never read, and the
/// // rows in the guard's order (city, then a keyed hash of the name).
/// assert!(ok.sql().starts_with(concat!(
///     r#"SELECT "t1"."c4" AS "c4", "t1"."c5" AS "c5" FROM (SELECT "t2"."c1" AS "c4", "#,
///     r#""t2"."c2" AS "c5" FROM (SELECT "name" AS "c1", "city" AS "c2" FROM "people") "#,
///     r#"AS "t2") AS "t1" ORDER BY "#
/// )));
/// assert!(ok.sql().ends_with("LIMIT 200") && !ok.sql().contains("ssn"));
/// // The result's columns carry the query's names.
/// let names: Vec<&str> = ok.columns().iter().map(|c| c.name.as_str()).collect();
/// assert_eq!(names, ["name", "city"]);
///
/// let err = guard.check("SELECT substr(ssn, 1, 3) FROM people").unwrap_err();
/// assert_eq!(err.refusal().unwrap().reason(), Reason::DeniedColumn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Guard {
    pub(crate) tables: Vec<GuardTable>,
    pub(crate) token_re: Regex,
    pub(crate) max_rows: u64,
    pub(crate) dialect: Dialect,
    max_sql_bytes: usize,
    pub(crate) max_depth: usize,
    /// The order hash's key, in hex.
    pub(crate) order_key: String,
    /// Always break ties (see [`GuardBuilder::total_order`]).
    pub(crate) total_order: bool,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field(
                "tables",
                &self.tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("max_rows", &self.max_rows)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// The longest run of operator tokens at one parenthesis level; longer chains
/// build left-deep trees whose recursive drop could exhaust the stack.
const MAX_OPERATOR_RUN: usize = 512;

impl Guard {
    /// A guard with the default settings (see [`GuardBuilder`]).
    ///
    /// # Errors
    /// As [`GuardBuilder::build`].
    pub fn new(policy: &Policy, catalog: &Catalog) -> Result<Guard, Error> {
        GuardBuilder::new().build(policy, catalog)
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Checks a query with no token resolution: a token literal compared with
    /// a protected column is refused as unresolvable.
    ///
    /// # Errors
    /// [`ErrorKind::Refused`](crate::ErrorKind::Refused) with the refusal.
    pub fn check(&self, sql: &str) -> Result<GuardedQuery, Error> {
        self.check_with(sql, &NoTokens)
    }

    /// Checks a query, resolving token literals through `resolver`.
    ///
    /// # Errors
    /// [`ErrorKind::Refused`](crate::ErrorKind::Refused) with the refusal, or
    /// the resolver's error.
    pub fn check_with(
        &self,
        sql: &str,
        resolver: &dyn TokenResolver,
    ) -> Result<GuardedQuery, Error> {
        if sql.len() > self.max_sql_bytes {
            return Err(Refusal::new(
                Reason::TooLong,
                format!(
                    "the SQL is {} bytes long; the guard reads at most {}",
                    sql.len(),
                    self.max_sql_bytes
                ),
            )
            .into());
        }
        let generic = Quick(GenericDialect {});
        let pg = Quick(PostgreSqlDialect {});
        let spark = Quick(self::spark::SparkSqlDialect);
        let dialect: &dyn SqlDialect = match self.dialect {
            Dialect::Polars => &generic,
            Dialect::Postgres => &pg,
            Dialect::Spark => &spark,
        };
        let tokens = Tokenizer::new(dialect, sql)
            .tokenize_with_location()
            .map_err(|e| parse_refusal(&e.message))?;
        check_operator_runs(tokens.iter().map(|t| &t.token))?;
        let mut statements = Parser::new(dialect)
            .with_recursion_limit(self.max_depth)
            .with_tokens_with_locations(tokens)
            .parse_statements()
            .map_err(|e| match e {
                ParserError::RecursionLimitExceeded => Refusal::new(
                    Reason::TooDeep,
                    format!("the SQL nests deeper than {} levels", self.max_depth),
                ),
                ParserError::TokenizerError(m) | ParserError::ParserError(m) => parse_refusal(&m),
            })?;
        if statements.len() != 1 {
            return Err(Refusal::new(
                if statements.is_empty() {
                    Reason::NotASelect
                } else {
                    Reason::MultipleStatements
                },
                format!(
                    "expected exactly one SELECT statement, found {}",
                    statements.len()
                ),
            )
            .into());
        }
        let stmt = statements.remove(0);
        let query = match stmt {
            sqlparser::ast::Statement::Query(q) => q,
            other => {
                let kind = variant_name(&other);
                return Err(Refusal::new(
                    Reason::NotASelect,
                    format!("only a read-only SELECT may run, not a {kind} statement"),
                )
                .construct(kind)
                .into());
            }
        };
        let mut walker = walk::Walker::new(self, resolver);
        let out = walker.top(&query)?;
        let tables: BTreeSet<String> = walker
            .tables_read()
            .map(|t| self.tables[t].name.clone())
            .collect();
        Ok(GuardedQuery {
            sql: out.sql,
            columns: label_columns(out.columns, &out.fallbacks),
            engine_names: out.engine_names,
            group_checks: out.group_checks,
            max_rows: self.max_rows,
            tables: tables.into_iter().collect(),
        })
    }

    /// The columns a model may see of a table, with their policies: every
    /// column but `deny` ones (for prompts).
    pub fn visible_columns(&self, table: &str) -> Vec<(&str, &ColumnPolicy, &ColumnType)> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| t.columns.iter())
            .filter(|c| c.policy.action != Action::Deny)
            .map(|c| (c.name.as_str(), &c.policy, &c.ty))
            .collect()
    }
}

/// Gives every output column a unique name: its own, or its function's
/// name, or `column{n}`; a repeated name gets `_2`, `_3`, ….
fn label_columns(
    mut columns: Vec<OutputColumn>,
    fallbacks: &[Option<String>],
) -> Vec<OutputColumn> {
    let mut used: Vec<String> = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter_mut().enumerate() {
        let base = if c.name.is_empty() {
            fallbacks
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or_else(|| format!("column{}", i + 1))
        } else {
            c.name.clone()
        };
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        used.push(name.clone());
        c.name = name;
    }
    columns
}

fn parse_refusal(message: &str) -> Refusal {
    // sqlparser's messages quote the token it stopped at, which may be a
    // literal from the SQL: keep the position, drop the token.
    let at = message
        .rfind(" at Line:")
        .map(|i| message[i..].trim().to_string())
        .unwrap_or_default();
    let head = message.split(", found:").next().unwrap_or("").trim();
    let head = if head.contains('\'') || head.contains('"') {
        "unexpected input"
    } else {
        head
    };
    Refusal::new(
        Reason::ParseError,
        format!("the SQL does not parse: {head} {at}")
            .trim()
            .to_string(),
    )
}

pub(crate) fn check_operator_runs<'a>(
    tokens: impl Iterator<Item = &'a Token>,
) -> Result<(), Refusal> {
    // One counter per parenthesis level, reset by commas.
    let mut runs: Vec<usize> = vec![0];
    for t in tokens {
        match t {
            Token::LParen => runs.push(0),
            Token::RParen => {
                if runs.len() > 1 {
                    runs.pop();
                }
            }
            Token::Comma => {
                if let Some(r) = runs.last_mut() {
                    *r = 0;
                }
            }
            Token::Whitespace(_) | Token::Number(..) | Token::SingleQuotedString(_) => {}
            Token::Word(_) => {
                if let Some(r) = runs.last_mut() {
                    *r += 1;
                }
            }
            _ => {
                if let Some(r) = runs.last_mut() {
                    *r += 1;
                }
            }
        }
        if runs.last().is_some_and(|&r| r > MAX_OPERATOR_RUN * 2) {
            return Err(Refusal::new(
                Reason::TooDeep,
                format!("an expression chains more than {MAX_OPERATOR_RUN} operators at one level"),
            ));
        }
    }
    Ok(())
}

/// The name of an enum variant from its `Debug` form (never its payload).
pub(crate) fn variant_name<T: fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("unknown")
        .to_string()
}
