//! Engines: where a guarded query runs.
//!
//! An [`Engine`] lists its tables and columns (a [`Catalog`]) and runs SQL that
//! the guard has validated, with a row cap. [`run`] is the one way a
//! [`GuardedQuery`](crate::guard::GuardedQuery) is run: it applies the row cap, removes groups smaller
//! than their `min_group_size` and the guard's hidden columns, and checks
//! that the result has exactly the columns the guard described. It is a
//! function, not a method an engine could override.

pub(crate) mod contract;
pub(crate) mod polars;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "spark")]
pub(crate) mod spark;

pub(crate) use self::contract::{run, Engine};
#[cfg(feature = "postgres")]
pub use self::postgres::PostgresEngineBuilder;
#[cfg(feature = "spark")]
pub use self::spark::SparkEngineBuilder;
use crate::error::Error;
use crate::schema::{Catalog, CatalogColumn};

/// An SQL identifier in double quotes (the same in polars and PostgreSQL),
/// for SQL that sqlveil itself sends to an engine.
#[cfg(any(feature = "postgres", feature = "spark"))]
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The column of the catalog a value read names, or a usage error.
pub(crate) fn catalog_column<'c>(
    catalog: &'c Catalog,
    table: &str,
    column: &str,
) -> Result<&'c CatalogColumn, Error> {
    catalog
        .table(table)
        .and_then(|t| t.columns.iter().find(|c| c.name == column))
        .ok_or_else(|| {
            Error::usage(format!(
                "column `{table}.{column}` is not in the engine's catalog"
            ))
        })
}

/// A policy table's name as SQL: `schema.table` is two quoted names.
#[cfg(any(feature = "postgres", feature = "spark"))]
pub(crate) fn quote_table(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}
