//! The SQL dialects: the one the guard parses is the one the engine runs.

/// The SQL dialect the guard parses and the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// polars SQL (the embedded engine).
    Polars,
    /// PostgreSQL.
    Postgres,
    /// Apache Spark SQL (over Spark Connect).
    Spark,
}

impl Dialect {
    /// The dialect's name, for prompts and reports.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Polars => "polars",
            Dialect::Postgres => "postgres",
            Dialect::Spark => "spark",
        }
    }
}
