//! The dialects the guard parses with: sqlparser's own, with a shortcut for
//! plain column names.
//!
//! sqlparser reads every expression that starts with a word by first trying
//! it as a typed literal (`DATE '2024-01-01'`, `INTERVAL '1' DAY`): it parses
//! a data type, fails for an ordinary name, formats an error and backs up.
//! For the typical analyst query that failed attempt is about a seventh of
//! the guard's whole check (`benches/guard.rs`). [`Quick`] answers the plain
//! case itself: a word that is no keyword, followed by a token after which
//! no typed literal, function call, lambda, string introducer or outer-join
//! marker can follow, is the column name sqlparser would have read, and
//! every other case goes down sqlparser's own path.
//!
//! Every other method of the [`Dialect`] trait is forwarded unchanged to the
//! wrapped dialect, including [`Dialect::dialect`], so the parser's checks
//! for a dialect (`dialect_of!`) see the wrapped one. The forwarding list is
//! sqlparser 0.62's whole trait: a method missing here would quietly take the
//! trait's default, so the tests parse the project's query corpora and
//! generated token soups with and without the wrapper and require the same
//! result.

use std::any::TypeId;
use std::iter::Peekable;
use std::str::Chars;

use sqlparser::ast::{ColumnOption, Expr, GranteesType, Ident, ObjectNamePart, Statement};
use sqlparser::dialect::{Dialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// A sqlparser dialect that reads plain column names without trying them
/// as typed literals first; everything else as the wrapped dialect does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quick<D>(pub(crate) D);

/// A plain column name at the parser's position, consumed, or `None` (and
/// nothing consumed) when sqlparser's own path must decide.
fn plain_column(parser: &mut Parser, lambdas: bool) -> Option<Expr> {
    let [first, second, third] = parser.peek_tokens_ref::<3>();
    let Token::Word(word) = &first.token else {
        return None;
    };
    if word.keyword != Keyword::NoKeyword {
        return None;
    }
    let plain = match &second.token {
        // After these no typed literal, call or lambda can start.
        Token::Comma
        | Token::Period
        | Token::RParen
        | Token::Eq
        | Token::DoubleEq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::SemiColon
        | Token::EOF => true,
        // `a b -> …` is a typed lambda parameter where lambdas exist.
        Token::Word(_) => !(lambdas && third.token == Token::Arrow),
        _ => false,
    };
    if !plain {
        return None;
    }
    let ident = word.to_ident(first.span);
    parser.advance_token();
    Some(Expr::Identifier(ident))
}

impl<D: Dialect> Dialect for Quick<D> {
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        if let Some(e) = self.0.parse_prefix(parser) {
            return Some(e);
        }
        plain_column(parser, self.0.supports_lambda_functions()).map(Ok)
    }

    // sqlparser 0.62's `Dialect` trait, every method but `parse_prefix`,
    // forwarded as it is.
    fn dialect(&self) -> TypeId {
        self.0.dialect()
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }
    fn is_nested_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_nested_delimited_identifier_start(ch)
    }
    fn peek_nested_delimited_identifier_quotes(
        &self,
        chars: Peekable<Chars<'_>>,
    ) -> Option<(char, Option<char>)> {
        self.0.peek_nested_delimited_identifier_quotes(chars)
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        self.0.supports_string_literal_backslash_escape()
    }
    fn ignores_wildcard_escapes(&self) -> bool {
        self.0.ignores_wildcard_escapes()
    }
    fn supports_unicode_string_literal(&self) -> bool {
        self.0.supports_unicode_string_literal()
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        self.0.supports_filter_during_aggregation()
    }
    fn supports_window_clause_named_window_reference(&self) -> bool {
        self.0.supports_window_clause_named_window_reference()
    }
    fn supports_within_after_array_aggregation(&self) -> bool {
        self.0.supports_within_after_array_aggregation()
    }
    fn supports_partition_by_after_order_by(&self) -> bool {
        self.0.supports_partition_by_after_order_by()
    }
    fn supports_array_join_syntax(&self) -> bool {
        self.0.supports_array_join_syntax()
    }
    fn supports_group_by_expr(&self) -> bool {
        self.0.supports_group_by_expr()
    }
    fn supports_group_by_with_modifier(&self) -> bool {
        self.0.supports_group_by_with_modifier()
    }
    fn supports_left_associative_joins_without_parens(&self) -> bool {
        self.0.supports_left_associative_joins_without_parens()
    }
    fn supports_outer_join_operator(&self) -> bool {
        self.0.supports_outer_join_operator()
    }
    fn supports_cross_join_constraint(&self) -> bool {
        self.0.supports_cross_join_constraint()
    }
    fn supports_connect_by(&self) -> bool {
        self.0.supports_connect_by()
    }
    fn supports_execute_immediate(&self) -> bool {
        self.0.supports_execute_immediate()
    }
    fn supports_match_recognize(&self) -> bool {
        self.0.supports_match_recognize()
    }
    fn supports_in_empty_list(&self) -> bool {
        self.0.supports_in_empty_list()
    }
    fn supports_start_transaction_modifier(&self) -> bool {
        self.0.supports_start_transaction_modifier()
    }
    fn supports_end_transaction_modifier(&self) -> bool {
        self.0.supports_end_transaction_modifier()
    }
    fn supports_named_fn_args_with_eq_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_eq_operator()
    }
    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_colon_operator()
    }
    fn supports_named_fn_args_with_assignment_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_assignment_operator()
    }
    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_rarrow_operator()
    }
    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.0.supports_named_fn_args_with_expr_name()
    }
    fn supports_numeric_prefix(&self) -> bool {
        self.0.supports_numeric_prefix()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }
    fn supports_window_function_null_treatment_arg(&self) -> bool {
        self.0.supports_window_function_null_treatment_arg()
    }
    fn supports_dictionary_syntax(&self) -> bool {
        self.0.supports_dictionary_syntax()
    }
    fn support_map_literal_syntax(&self) -> bool {
        self.0.support_map_literal_syntax()
    }
    fn supports_lambda_functions(&self) -> bool {
        self.0.supports_lambda_functions()
    }
    fn supports_parenthesized_set_variables(&self) -> bool {
        self.0.supports_parenthesized_set_variables()
    }
    fn supports_comma_separated_set_assignments(&self) -> bool {
        self.0.supports_comma_separated_set_assignments()
    }
    fn supports_update_order_by(&self) -> bool {
        self.0.supports_update_order_by()
    }
    fn supports_select_wildcard_except(&self) -> bool {
        self.0.supports_select_wildcard_except()
    }
    fn convert_type_before_value(&self) -> bool {
        self.0.convert_type_before_value()
    }
    fn supports_triple_quoted_string(&self) -> bool {
        self.0.supports_triple_quoted_string()
    }
    fn supports_trailing_commas(&self) -> bool {
        self.0.supports_trailing_commas()
    }
    fn supports_limit_comma(&self) -> bool {
        self.0.supports_limit_comma()
    }
    fn supports_string_literal_concatenation(&self) -> bool {
        self.0.supports_string_literal_concatenation()
    }
    fn supports_string_literal_concatenation_with_newline(&self) -> bool {
        self.0.supports_string_literal_concatenation_with_newline()
    }
    fn supports_projection_trailing_commas(&self) -> bool {
        self.0.supports_projection_trailing_commas()
    }
    fn supports_from_trailing_commas(&self) -> bool {
        self.0.supports_from_trailing_commas()
    }
    fn supports_column_definition_trailing_commas(&self) -> bool {
        self.0.supports_column_definition_trailing_commas()
    }
    fn supports_object_name_double_dot_notation(&self) -> bool {
        self.0.supports_object_name_double_dot_notation()
    }
    fn supports_struct_literal(&self) -> bool {
        self.0.supports_struct_literal()
    }
    fn supports_empty_projections(&self) -> bool {
        self.0.supports_empty_projections()
    }
    fn supports_select_expr_star(&self) -> bool {
        self.0.supports_select_expr_star()
    }
    fn supports_from_first_select(&self) -> bool {
        self.0.supports_from_first_select()
    }
    fn supports_from_first_insert(&self) -> bool {
        self.0.supports_from_first_insert()
    }
    fn supports_pipe_operator(&self) -> bool {
        self.0.supports_pipe_operator()
    }
    fn supports_user_host_grantee(&self) -> bool {
        self.0.supports_user_host_grantee()
    }
    fn supports_match_against(&self) -> bool {
        self.0.supports_match_against()
    }
    fn supports_select_wildcard_exclude(&self) -> bool {
        self.0.supports_select_wildcard_exclude()
    }
    fn supports_select_exclude(&self) -> bool {
        self.0.supports_select_exclude()
    }
    fn supports_create_table_multi_schema_info_sources(&self) -> bool {
        self.0.supports_create_table_multi_schema_info_sources()
    }
    fn supports_select_modifiers(&self) -> bool {
        self.0.supports_select_modifiers()
    }
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        self.0.parse_infix(parser, expr, precedence)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }
    fn get_next_precedence_default(&self, parser: &Parser) -> Result<u8, ParserError> {
        self.0.get_next_precedence_default(parser)
    }
    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        self.0.parse_statement(parser)
    }
    fn parse_column_option(
        &self,
        parser: &mut Parser,
    ) -> Result<Option<Result<Option<ColumnOption>, ParserError>>, ParserError> {
        self.0.parse_column_option(parser)
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }
    fn prec_unknown(&self) -> u8 {
        self.0.prec_unknown()
    }
    fn describe_requires_table_keyword(&self) -> bool {
        self.0.describe_requires_table_keyword()
    }
    fn allow_extract_custom(&self) -> bool {
        self.0.allow_extract_custom()
    }
    fn allow_extract_single_quotes(&self) -> bool {
        self.0.allow_extract_single_quotes()
    }
    fn supports_extract_comma_syntax(&self) -> bool {
        self.0.supports_extract_comma_syntax()
    }
    fn supports_subquery_as_function_arg(&self) -> bool {
        self.0.supports_subquery_as_function_arg()
    }
    fn supports_create_view_comment_syntax(&self) -> bool {
        self.0.supports_create_view_comment_syntax()
    }
    fn supports_array_typedef_without_element_type(&self) -> bool {
        self.0.supports_array_typedef_without_element_type()
    }
    fn supports_parens_around_table_factor(&self) -> bool {
        self.0.supports_parens_around_table_factor()
    }
    fn supports_values_as_table_factor(&self) -> bool {
        self.0.supports_values_as_table_factor()
    }
    fn supports_dollar_placeholder(&self) -> bool {
        self.0.supports_dollar_placeholder()
    }
    fn supports_dollar_as_money_prefix(&self) -> bool {
        self.0.supports_dollar_as_money_prefix()
    }
    fn supports_create_index_with_clause(&self) -> bool {
        self.0.supports_create_index_with_clause()
    }
    fn require_interval_qualifier(&self) -> bool {
        self.0.require_interval_qualifier()
    }
    fn supports_explain_with_utility_options(&self) -> bool {
        self.0.supports_explain_with_utility_options()
    }
    fn supports_asc_desc_in_column_definition(&self) -> bool {
        self.0.supports_asc_desc_in_column_definition()
    }
    fn supports_factorial_operator(&self) -> bool {
        self.0.supports_factorial_operator()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        self.0.supports_bitwise_shift_operators()
    }
    fn supports_nested_comments(&self) -> bool {
        self.0.supports_nested_comments()
    }
    fn supports_multiline_comment_hints(&self) -> bool {
        self.0.supports_multiline_comment_hints()
    }
    fn supports_eq_alias_assignment(&self) -> bool {
        self.0.supports_eq_alias_assignment()
    }
    fn supports_try_convert(&self) -> bool {
        self.0.supports_try_convert()
    }
    fn supports_bang_not_operator(&self) -> bool {
        self.0.supports_bang_not_operator()
    }
    fn supports_listen_notify(&self) -> bool {
        self.0.supports_listen_notify()
    }
    fn supports_load_data(&self) -> bool {
        self.0.supports_load_data()
    }
    fn supports_load_extension(&self) -> bool {
        self.0.supports_load_extension()
    }
    fn supports_top_before_distinct(&self) -> bool {
        self.0.supports_top_before_distinct()
    }
    fn supports_boolean_literals(&self) -> bool {
        self.0.supports_boolean_literals()
    }
    fn supports_show_like_before_in(&self) -> bool {
        self.0.supports_show_like_before_in()
    }
    fn supports_comment_on(&self) -> bool {
        self.0.supports_comment_on()
    }
    fn supports_create_table_select(&self) -> bool {
        self.0.supports_create_table_select()
    }
    fn supports_partiql(&self) -> bool {
        self.0.supports_partiql()
    }
    fn supports_constraint_keyword_without_name(&self) -> bool {
        self.0.supports_constraint_keyword_without_name()
    }
    fn supports_key_column_option(&self) -> bool {
        self.0.supports_key_column_option()
    }
    fn is_reserved_for_identifier(&self, kw: Keyword) -> bool {
        self.0.is_reserved_for_identifier(kw)
    }
    fn get_reserved_keywords_for_select_item_operator(&self) -> &[Keyword] {
        self.0.get_reserved_keywords_for_select_item_operator()
    }
    fn get_reserved_grantees_types(&self) -> &[GranteesType] {
        self.0.get_reserved_grantees_types()
    }
    fn supports_table_sample_before_alias(&self) -> bool {
        self.0.supports_table_sample_before_alias()
    }
    fn supports_insert_set(&self) -> bool {
        self.0.supports_insert_set()
    }
    fn supports_insert_table_function(&self) -> bool {
        self.0.supports_insert_table_function()
    }
    fn supports_insert_table_query(&self) -> bool {
        self.0.supports_insert_table_query()
    }
    fn supports_insert_format(&self) -> bool {
        self.0.supports_insert_format()
    }
    fn supports_insert_table_alias(&self) -> bool {
        self.0.supports_insert_table_alias()
    }
    fn supports_set_stmt_without_operator(&self) -> bool {
        self.0.supports_set_stmt_without_operator()
    }
    fn is_column_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.0.is_column_alias(kw, parser)
    }
    fn is_select_item_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        self.0.is_select_item_alias(explicit, kw, parser)
    }
    fn is_table_factor(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.0.is_table_factor(kw, parser)
    }
    fn is_table_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.0.is_table_alias(kw, parser)
    }
    fn is_table_factor_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        self.0.is_table_factor_alias(explicit, kw, parser)
    }
    fn supports_table_versioning(&self) -> bool {
        self.0.supports_table_versioning()
    }
    fn supports_string_escape_constant(&self) -> bool {
        self.0.supports_string_escape_constant()
    }
    fn supports_table_hints(&self) -> bool {
        self.0.supports_table_hints()
    }
    fn requires_single_line_comment_whitespace(&self) -> bool {
        self.0.requires_single_line_comment_whitespace()
    }
    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.0.supports_array_typedef_with_brackets()
    }
    fn supports_geometric_types(&self) -> bool {
        self.0.supports_geometric_types()
    }
    fn supports_order_by_all(&self) -> bool {
        self.0.supports_order_by_all()
    }
    fn supports_set_names(&self) -> bool {
        self.0.supports_set_names()
    }
    fn supports_space_separated_column_options(&self) -> bool {
        self.0.supports_space_separated_column_options()
    }
    fn supports_alter_column_type_using(&self) -> bool {
        self.0.supports_alter_column_type_using()
    }
    fn supports_comma_separated_drop_column_list(&self) -> bool {
        self.0.supports_comma_separated_drop_column_list()
    }
    fn is_identifier_generating_function_name(
        &self,
        ident: &Ident,
        name_parts: &[ObjectNamePart],
    ) -> bool {
        self.0
            .is_identifier_generating_function_name(ident, name_parts)
    }
    fn supports_notnull_operator(&self) -> bool {
        self.0.supports_notnull_operator()
    }
    fn supports_data_type_signed_suffix(&self) -> bool {
        self.0.supports_data_type_signed_suffix()
    }
    fn supports_interval_options(&self) -> bool {
        self.0.supports_interval_options()
    }
    fn supports_create_table_like_parenthesized(&self) -> bool {
        self.0.supports_create_table_like_parenthesized()
    }
    fn supports_semantic_view_table_factor(&self) -> bool {
        self.0.supports_semantic_view_table_factor()
    }
    fn supports_quote_delimited_string(&self) -> bool {
        self.0.supports_quote_delimited_string()
    }
    fn supports_comment_optimizer_hint(&self) -> bool {
        self.0.supports_comment_optimizer_hint()
    }
    fn supports_double_ampersand_operator(&self) -> bool {
        self.0.supports_double_ampersand_operator()
    }
    fn supports_binary_kw_as_cast(&self) -> bool {
        self.0.supports_binary_kw_as_cast()
    }
    fn supports_select_wildcard_replace(&self) -> bool {
        self.0.supports_select_wildcard_replace()
    }
    fn supports_select_wildcard_ilike(&self) -> bool {
        self.0.supports_select_wildcard_ilike()
    }
    fn supports_select_wildcard_rename(&self) -> bool {
        self.0.supports_select_wildcard_rename()
    }
    fn supports_select_wildcard_with_alias(&self) -> bool {
        self.0.supports_select_wildcard_with_alias()
    }
    fn supports_optimize_table(&self) -> bool {
        self.0.supports_optimize_table()
    }
    fn supports_install(&self) -> bool {
        self.0.supports_install()
    }
    fn supports_detach(&self) -> bool {
        self.0.supports_detach()
    }
    fn supports_prewhere(&self) -> bool {
        self.0.supports_prewhere()
    }
    fn supports_with_fill(&self) -> bool {
        self.0.supports_with_fill()
    }
    fn supports_limit_by(&self) -> bool {
        self.0.supports_limit_by()
    }
    fn supports_interpolate(&self) -> bool {
        self.0.supports_interpolate()
    }
    fn supports_settings(&self) -> bool {
        self.0.supports_settings()
    }
    fn supports_select_format(&self) -> bool {
        self.0.supports_select_format()
    }
    fn supports_comma_separated_trim(&self) -> bool {
        self.0.supports_comma_separated_trim()
    }
    fn supports_cte_without_as(&self) -> bool {
        self.0.supports_cte_without_as()
    }
    fn supports_select_item_multi_column_alias(&self) -> bool {
        self.0.supports_select_item_multi_column_alias()
    }
    fn supports_xml_expressions(&self) -> bool {
        self.0.supports_xml_expressions()
    }
    fn supports_create_table_using(&self) -> bool {
        self.0.supports_create_table_using()
    }
    fn supports_long_type_as_bigint(&self) -> bool {
        self.0.supports_long_type_as_bigint()
    }
    fn supports_map_literal_with_angle_brackets(&self) -> bool {
        self.0.supports_map_literal_with_angle_brackets()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;
    use sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect};
    use sqlparser::parser::Parser;

    use super::Quick;
    use crate::guard::spark::SparkSqlDialect;

    /// What sqlparser makes of `sql`, spans and error messages included.
    fn read(dialect: &dyn Dialect, sql: &str) -> String {
        format!("{:?}", Parser::parse_sql(dialect, sql))
    }

    fn same_everywhere(sql: &str) -> Result<(), String> {
        let pairs: [(&dyn Dialect, &dyn Dialect, &str); 3] = [
            (&GenericDialect {}, &Quick(GenericDialect {}), "generic"),
            (
                &PostgreSqlDialect {},
                &Quick(PostgreSqlDialect {}),
                "postgres",
            ),
            (&SparkSqlDialect, &Quick(SparkSqlDialect), "spark"),
        ];
        for (base, quick, name) in pairs {
            let (a, b) = (read(base, sql), read(quick, sql));
            if a != b {
                return Err(format!("{name} reads `{sql}` otherwise:\n{a}\n{b}"));
            }
        }
        Ok(())
    }

    /// Every query of the project's corpora: the guard's table-driven cases,
    /// the analyst queries and the bench queries.
    fn corpus() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        let read_dir = |dir: &str, ext: &str| {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            files.sort();
            files
        };
        for f in read_dir("tests/data/guard", "toml") {
            let doc: toml::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            for t in doc
                .get("test")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(sql) = t.get("sql").and_then(|s| s.as_str()) {
                    out.push(sql.to_string());
                }
            }
        }
        let analyst = std::fs::read_to_string(root.join("tests/data/analyst/queries.sql")).unwrap();
        out.extend(
            analyst
                .lines()
                .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
                .map(str::to_string),
        );
        for f in read_dir("benches/queries", "sql") {
            out.push(std::fs::read_to_string(f).unwrap());
        }
        out
    }

    #[test]
    fn the_corpora_read_alike_with_and_without_the_shortcut() {
        let corpus = corpus();
        assert!(corpus.len() > 300, "only {} queries found", corpus.len());
        for sql in &corpus {
            same_everywhere(sql).unwrap();
        }
    }

    #[test]
    fn constructs_next_to_a_name_read_alike() {
        for sql in [
            "SELECT a FROM t",
            "SELECT a.b, c FROM t",
            "SELECT xml 'x', date '2024-01-01', interval '1' day, _utf8 'x' FROM t",
            "SELECT a -> a * 2, a INT -> a FROM t",
            "SELECT a(+) FROM t WHERE a = b(+)",
            "SELECT a::int, a[1], a:b, a.b.c, \"Q\" 'x' FROM t",
            "SELECT f(a), a b, a AS b FROM t",
            "SELECT a == b, a || b, a % b FROM t;",
            "SELECT a",
            "SELECT t.* FROM t",
        ] {
            same_everywhere(sql).unwrap();
        }
    }

    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            "b",
            "x1",
            "_u",
            "xml",
            "\"Q\"",
            "`q`",
            "date",
            "interval",
            "name",
            "int",
            "select",
            "from",
            "where",
            "as",
            "case",
            "when",
            "then",
            "end",
            "null",
            "not",
            "in",
            "is",
            "and",
            "or",
            "cast",
            "exists",
            "over",
            "partition",
            "by",
            "(",
            ")",
            ",",
            ".",
            "*",
            "=",
            "==",
            "<>",
            "<",
            ">=",
            "+",
            "-",
            "/",
            "%",
            "||",
            "->",
            "=>",
            "::",
            "[",
            "]",
            ":",
            "{",
            "}",
            "(+)",
            "'s'",
            "\"d\"",
            "1",
            "2.5",
            ";",
            "?",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        // Token soups around the words the shortcut looks at.
        #[test]
        fn token_soups_read_alike(
            head in prop::collection::vec(piece(), 0..8),
            tail in prop::collection::vec(piece(), 0..8),
        ) {
            let sql = format!("SELECT {} FROM t WHERE {}", head.join(" "), tail.join(" "));
            prop_assert!(same_everywhere(&sql).is_ok(), "{}", same_everywhere(&sql).unwrap_err());
        }
    }
}
