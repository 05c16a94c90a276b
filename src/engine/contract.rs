//! The contract an engine meets ([`Engine`]) and the one way a guarded query
//! runs on any engine ([`run`]).

use ::polars::prelude::{DataFrame, DataType};

use crate::error::Error;
use crate::guard::GuardedQuery;
use crate::schema::{Catalog, Dialect};

/// A data source that runs guarded SQL.
///
/// The trait is open: implement it for another database. `execute` receives
/// only SQL that [`Guard`](crate::guard::Guard) produced.
pub trait Engine: Send + Sync {
    /// The tables and columns the engine holds (only those the policy names).
    fn catalog(&self) -> &Catalog;

    /// The SQL dialect the engine runs.
    fn dialect(&self) -> Dialect;

    /// Runs SQL that the guard produced, returning at most `max_rows` rows.
    ///
    /// # Errors
    /// An engine failure, as an [`ErrorKind::Engine`](crate::ErrorKind::Engine)
    /// whose message holds no data value.
    fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error>;

    /// Reads the distinct non-null values of one column of the catalog, as
    /// text, passing each to `each`: all of them when `limit` is `None` (in
    /// no particular order, streamed where the engine can), else the first
    /// `limit` in ascending order. This is how sqlveil reads a column's
    /// values for itself (known-value detection, sample values for the
    /// model's schema), instead of SQL of its own through
    /// [`execute`](Self::execute). An error from `each` stops the read and
    /// is returned.
    ///
    /// # Errors
    /// A table or column not in the catalog (a usage error); an engine
    /// failure, as an [`ErrorKind::Engine`](crate::ErrorKind::Engine) whose
    /// message holds no data value.
    ///
    /// # Example
    /// ```
    /// use sqlveil::{Engine, PolarsEngine, Policy};
    /// let policy = Policy::from_path("rules/sample.toml")?;
    /// let engine = PolarsEngine::open("examples/data", &policy)?;
    /// let mut cities = Vec::new();
    /// engine.distinct_values("customers", "city", Some(3), &mut |v| {
    ///     cities.push(v.to_string());
    ///     Ok(())
    /// })?;
    /// assert_eq!(cities.len(), 3);
    /// assert!(cities.windows(2).all(|w| w[0] < w[1]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// What identifies the current state of the data of `tables` (for a
    /// file, its path, size, modification time, inode and status-change
    /// time), so that a saved known-value index is used only for the data
    /// it was built from. `None` (the default) when the engine cannot tell:
    /// the index is then rebuilt at every start.
    ///
    /// # Errors
    /// A table's data cannot be examined.
    fn data_identity(&self, tables: &[&str]) -> Result<Option<String>, Error> {
        let _ = tables;
        Ok(None)
    }

    /// Whether, in the data as it is now, every row of `table` has a value
    /// of `column` and no two rows share one.
    ///
    /// [`run`] asks this before it runs a query whose small-group check
    /// counts rows in place of distinct subjects because the catalog said
    /// the subject column was unique ([`Catalog::with_unique`]): a person
    /// with two rows would otherwise count twice. `false` (the default)
    /// refuses such a query once and clears the claim in the engine's
    /// catalog ([`Catalog::set_unique`]), so that the guards built from it
    /// count distinct subjects from their next check on; an engine that
    /// never records uniqueness in its catalog never gets such a query.
    ///
    /// # Errors
    /// The table's data cannot be read.
    fn is_unique(&self, table: &str, column: &str) -> Result<bool, Error> {
        let _ = (table, column);
        Ok(false)
    }
}

/// An engine behind a reference or a smart pointer is an engine, so that
/// [`run`] takes `&engine` whether it is a `PolarsEngine`, an
/// `Arc<dyn Engine>` or a `&dyn Engine`.
macro_rules! forward_engine {
    ($($ty:ty),*) => {$(
        impl<E: Engine + ?Sized> Engine for $ty {
            fn catalog(&self) -> &Catalog {
                (**self).catalog()
            }
            fn dialect(&self) -> Dialect {
                (**self).dialect()
            }
            fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
                (**self).execute(sql, max_rows)
            }
            fn distinct_values(
                &self,
                table: &str,
                column: &str,
                limit: Option<u64>,
                each: &mut dyn FnMut(&str) -> Result<(), Error>,
            ) -> Result<(), Error> {
                (**self).distinct_values(table, column, limit, each)
            }
            fn data_identity(&self, tables: &[&str]) -> Result<Option<String>, Error> {
                (**self).data_identity(tables)
            }
            fn is_unique(&self, table: &str, column: &str) -> Result<bool, Error> {
                (**self).is_unique(table, column)
            }
        }
    )*};
}
forward_engine!(&E, Box<E>, std::sync::Arc<E>);

/// Every engine is a source of values for known-value and known-date
/// detection, which sits below the engines and reads through this trait.
impl<E: Engine + ?Sized> crate::detect::ValueSource for E {
    fn catalog(&self) -> &Catalog {
        Engine::catalog(self)
    }
    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        Engine::distinct_values(self, table, column, limit, each)
    }
    fn data_identity(&self, tables: &[&str]) -> Result<Option<String>, Error> {
        Engine::data_identity(self, tables)
    }
}

/// Runs a guarded query on an engine: executes the guard's SQL with its row
/// cap, removes the rows of groups below their `min_group_size` (again: the
/// SQL filters them too) and the hidden columns, and checks that the
/// result's columns are the guard's output columns.
///
/// This is the one way sqlveil runs a query, and it is a function, not a
/// method of [`Engine`]: an engine supplies [`Engine::execute`] and cannot
/// replace these checks.
///
/// # Errors
/// As [`Engine::execute`], and an engine error when the result's shape is
/// not the one the guard described.
///
/// # Example
/// ```
/// use sqlveil::{Engine, PolarsEngine, Policy};
/// use sqlveil::guard::Guard;
///
/// let policy = Policy::from_path("rules/sample.toml")?;
/// let engine = PolarsEngine::open("examples/data", &policy)?;
/// let guard = Guard::new(&policy, engine.catalog())?;
/// let q = guard.check("SELECT city, COUNT(*) AS n FROM customers GROUP BY city")?;
/// let rows = sqlveil::run(&engine, &q)?;
/// assert_eq!(rows.get_column_names(), ["city", "n"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run<E: Engine + ?Sized>(engine: &E, query: &GuardedQuery) -> Result<DataFrame, Error> {
    // A group check that counts rows for people holds only while the
    // subject column is unique: ask the engine about the data as it is now.
    for check in query.group_checks() {
        if let Some(c) = &check.unique_subject {
            if !engine.is_unique(&c.table, &c.column)? {
                // Guards built from the engine's catalog share its claim:
                // cleared here, their next check counts distinct subjects,
                // whatever the engine does with its catalog itself.
                engine.catalog().set_unique(&c.table, &c.column, false);
                return Err(Error::engine(
                    "stale_catalog",
                    format!(
                        "the engine's catalog said `{}.{}` was unique, and the engine does not confirm it for the data as it is now (Engine::is_unique); the claim is cleared, and the query checked again counts distinct subjects",
                        c.table, c.column
                    ),
                ));
            }
        }
    }
    let df = engine.execute(query.sql(), query.max_rows())?;
    enforce(df, query)
}

/// Removes small groups (again: the guard's SQL filters them too), keeps
/// exactly the guard's output columns in order, names them as the query
/// does, and cuts the rows to the cap. A result whose columns are not the
/// ones the guard wrote is an error.
pub(crate) fn enforce(mut df: DataFrame, query: &GuardedQuery) -> Result<DataFrame, Error> {
    let want = query.engine_columns();
    let mut expected: Vec<&str> = want.iter().map(String::as_str).collect();
    for check in query.group_checks() {
        expected.push(&check.column);
        if let Some(r) = &check.rows_column {
            expected.push(r);
        }
    }
    let got: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
    if got != expected {
        return Err(Error::engine(
            "schema",
            format!("the engine returned columns {got:?}, the guard expected {expected:?}"),
        ));
    }
    for check in query.group_checks() {
        let counts = df
            .column(&check.column)
            .and_then(|c| c.cast(&DataType::UInt64))
            .map_err(|e| Error::engine("schema", e.to_string()))?;
        let counts = counts
            .as_materialized_series()
            .u64()
            .map_err(|e| Error::engine("schema", e.to_string()))?
            .clone();
        let rows = match &check.rows_column {
            Some(r) => Some(
                df.column(r)
                    .and_then(|c| c.cast(&DataType::UInt64))
                    .and_then(|c| c.as_materialized_series().u64().cloned())
                    .map_err(|e| Error::engine("schema", e.to_string()))?,
            ),
            None => None,
        };
        let min = u64::from(check.min_group_size);
        let keep: ::polars::prelude::BooleanChunked = match &rows {
            Some(rows) => counts
                .iter()
                .zip(rows.iter())
                .map(|(n, r)| n.is_some_and(|n| n >= min) && n == r)
                .collect(),
            None => counts.iter().map(|n| n.is_some_and(|n| n >= min)).collect(),
        };
        df = df
            .filter(&keep)
            .map_err(|e| Error::engine("compute", e.to_string()))?;
    }
    let mut df = df
        .select(want.iter().map(|s| s.as_str()))
        .map_err(|e| Error::engine("schema", e.to_string()))?;
    let labels: Vec<&str> = query.columns().iter().map(|c| c.name.as_str()).collect();
    df.set_column_names(&labels)
        .map_err(|e| Error::engine("schema", e.to_string()))?;
    let cap = usize::try_from(query.max_rows()).unwrap_or(usize::MAX);
    Ok(if df.height() > cap {
        df.head(Some(cap))
    } else {
        df
    })
}
