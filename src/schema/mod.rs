//! What the data looks like to the guard and the engines: the [`Catalog`]
//! of tables, columns and their [`ColumnType`]s, and the SQL [`Dialect`].
//!
//! The guard reads the catalog and parses in the dialect; an engine builds
//! the catalog and runs the dialect. Both import this module, and it imports
//! neither.

mod catalog;
mod dialect;

pub use self::catalog::{Catalog, CatalogColumn, CatalogTable, ColumnType};
pub use self::dialect::Dialect;
