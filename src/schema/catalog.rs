//! What an engine holds: tables, columns and their types.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A column's type, as far as the guard and the protection stage care.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnType {
    /// Text.
    Text,
    /// A whole number.
    Integer,
    /// A floating-point or decimal number.
    Float,
    /// A boolean.
    Boolean,
    /// A calendar date.
    Date,
    /// A date and time.
    Datetime,
    /// Any other type, by the engine's name for it.
    Other(String),
}

impl ColumnType {
    /// Whether the type is a number.
    pub fn is_numeric(&self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Float)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Text => f.write_str("text"),
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::Float => f.write_str("float"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Datetime => f.write_str("datetime"),
            ColumnType::Other(s) => f.write_str(s),
        }
    }
}

/// A column of a catalog table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// The column's exact name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
}

/// A table an engine holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTable {
    /// The table's exact name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<CatalogColumn>,
}

/// The tables and columns an engine holds: what the guard resolves names
/// against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    tables: Vec<CatalogTable>,
    /// Columns the engine found unique and never empty.
    unique: Vec<UniqueColumn>,
}

/// A column the engine found unique, with a flag that the engine clears
/// when it finds the column no longer unique. Guards built from the catalog
/// share the flag, so they stop relying on it at once.
#[derive(Debug, Clone)]
struct UniqueColumn {
    table: String,
    column: String,
    still: Arc<AtomicBool>,
}

impl PartialEq for UniqueColumn {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table
            && self.column == other.column
            && self.still.load(Ordering::Relaxed) == other.still.load(Ordering::Relaxed)
    }
}

impl Eq for UniqueColumn {}

impl Catalog {
    /// A catalog of the given tables.
    ///
    /// # Example
    /// ```
    /// use sqlveil::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType};
    /// let catalog = Catalog::new(vec![CatalogTable {
    ///     name: "people".into(),
    ///     columns: vec![CatalogColumn { name: "name".into(), ty: ColumnType::Text }],
    /// }]);
    /// assert!(catalog.table("people").is_some());
    /// ```
    pub fn new(tables: Vec<CatalogTable>) -> Catalog {
        Catalog {
            tables,
            unique: Vec::new(),
        }
    }

    /// Records that every row of `table` has a value of `column` and no two
    /// rows share one, as the engine found when it built the catalog.
    ///
    /// The guard then counts the people behind an `aggregate` column of a
    /// table read on its own with a plain count of rows, not a count of
    /// distinct subjects, which is much cheaper on large tables. The claim
    /// is checked again at every run ([`Engine::is_unique`](crate::Engine::is_unique)),
    /// so data that changed since refuses to run rather than count one
    /// person twice.
    pub fn with_unique(mut self, table: &str, column: &str) -> Catalog {
        match self.flag(table, column) {
            Some(f) => f.store(true, Ordering::Relaxed),
            None => self.unique.push(UniqueColumn {
                table: table.to_string(),
                column: column.to_string(),
                still: Arc::new(AtomicBool::new(true)),
            }),
        }
        self
    }

    /// Whether [`with_unique`](Self::with_unique) recorded `table.column`
    /// and no [`set_unique`](Self::set_unique) has cleared it since.
    pub fn is_unique(&self, table: &str, column: &str) -> bool {
        self.flag(table, column)
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Records what an engine found when it examined `table.column` again
    /// ([`Engine::is_unique`](crate::Engine::is_unique)): `false` makes the
    /// guards built from this catalog count distinct subjects from their
    /// next check on; `true` lets them count rows again. A column that
    /// [`with_unique`](Self::with_unique) never recorded stays unrecorded.
    pub fn set_unique(&self, table: &str, column: &str, unique: bool) {
        if let Some(f) = self.flag(table, column) {
            f.store(unique, Ordering::Relaxed);
        }
    }

    /// The shared flag of a recorded column, for the guard.
    pub(crate) fn flag(&self, table: &str, column: &str) -> Option<&Arc<AtomicBool>> {
        self.unique
            .iter()
            .find(|u| u.table == table && u.column == column)
            .map(|u| &u.still)
    }

    /// The tables.
    pub fn tables(&self) -> &[CatalogTable] {
        &self.tables
    }

    /// A table by exact name.
    pub fn table(&self, name: &str) -> Option<&CatalogTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}
