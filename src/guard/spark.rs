//! How the guard reads a model's Spark SQL.
//!
//! sqlparser's Databricks dialect is the closest to what Spark SQL parses
//! (backtick-quoted names, double-quoted text as a string, Spark's
//! extensions), but it reads a backslash in a string literal as an
//! ordinary character where Spark reads it as an escape (`'It\'s'`). The
//! guard's Spark dialect is Databricks' with Spark's string escapes, so that
//! the guard and Spark read a literal alike. It does not matter for safety
//! (the engine runs only the guard's own SQL, whose literals the emitter
//! escapes for Spark), but it makes the guard read what a model writes for
//! Spark as Spark would.
//!
//! Spark-only constructs that read data the guard did not check (`LATERAL
//! VIEW`, `TABLESAMPLE`, `TRANSFORM`, table-valued functions, file paths as
//! tables, time travel) either do not parse or parse into forms the walk
//! refuses; statements other than a query (`SET`, `CACHE TABLE`, `ANALYZE`,
//! `ADD JAR`, `CREATE TEMPORARY VIEW`, `CREATE FUNCTION`) are refused before
//! the walk.

use std::any::TypeId;

use sqlparser::dialect::{DatabricksDialect, Dialect};

/// Databricks' dialect with Spark's backslash escapes in string literals.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SparkSqlDialect;

const DB: DatabricksDialect = DatabricksDialect {};

impl Dialect for SparkSqlDialect {
    // The parser's own checks for Databricks apply.
    fn dialect(&self) -> TypeId {
        TypeId::of::<DatabricksDialect>()
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        DB.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        DB.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        DB.is_identifier_part(ch)
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }

    fn supports_numeric_prefix(&self) -> bool {
        DB.supports_numeric_prefix()
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        DB.supports_filter_during_aggregation()
    }

    fn supports_group_by_expr(&self) -> bool {
        DB.supports_group_by_expr()
    }

    fn supports_table_versioning(&self) -> bool {
        DB.supports_table_versioning()
    }

    fn supports_lambda_functions(&self) -> bool {
        DB.supports_lambda_functions()
    }

    fn supports_select_wildcard_except(&self) -> bool {
        DB.supports_select_wildcard_except()
    }

    // Spark reads `INTERVAL '1 month'` (a unit inside the string) as well
    // as `INTERVAL '1' MONTH`; the guard reads both, and writes the second.
    fn require_interval_qualifier(&self) -> bool {
        false
    }

    fn supports_struct_literal(&self) -> bool {
        DB.supports_struct_literal()
    }

    fn supports_nested_comments(&self) -> bool {
        DB.supports_nested_comments()
    }

    fn supports_group_by_with_modifier(&self) -> bool {
        DB.supports_group_by_with_modifier()
    }

    fn supports_values_as_table_factor(&self) -> bool {
        DB.supports_values_as_table_factor()
    }

    fn supports_optimize_table(&self) -> bool {
        DB.supports_optimize_table()
    }

    fn supports_bang_not_operator(&self) -> bool {
        DB.supports_bang_not_operator()
    }

    fn supports_cte_without_as(&self) -> bool {
        DB.supports_cte_without_as()
    }

    fn supports_select_item_multi_column_alias(&self) -> bool {
        DB.supports_select_item_multi_column_alias()
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::parser::Parser;

    use super::*;

    fn one(sql: &str) -> String {
        let mut s = Parser::parse_sql(&SparkSqlDialect, sql).unwrap();
        assert_eq!(s.len(), 1);
        s.remove(0).to_string()
    }

    #[test]
    fn reads_names_and_strings_as_spark_does() {
        // Backticks quote names; a backslash escapes a quote.
        let s = one(r"SELECT `a b` FROM t WHERE c = 'It\'s'");
        assert!(s.contains("`a b`"), "{s}");
        let q = Parser::parse_sql(&SparkSqlDialect, r"SELECT 'It\'s' AS x").unwrap();
        let text = format!("{q:?}");
        assert!(text.contains(r#"SingleQuotedString("It's")"#), "{text}");
        // A double-quoted text is a string, not a name.
        let q = Parser::parse_sql(&SparkSqlDialect, r#"SELECT "ssn" FROM t"#).unwrap();
        assert!(format!("{q:?}").contains("DoubleQuotedString"));
    }
}
