//! What an engine holds: tables, columns and their types.

use std::fmt;

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
}

impl Catalog {
    /// A catalog of the given tables.
    ///
    /// # Example
    /// ```
    /// use sqlveil::{Catalog, CatalogColumn, CatalogTable, ColumnType};
    /// let catalog = Catalog::new(vec![CatalogTable {
    ///     name: "people".into(),
    ///     columns: vec![CatalogColumn { name: "name".into(), ty: ColumnType::Text }],
    /// }]);
    /// assert!(catalog.table("people").is_some());
    /// ```
    pub fn new(tables: Vec<CatalogTable>) -> Catalog {
        Catalog { tables }
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
