//! Strata's SQL dialect: PostgreSQL's, plus the time-travel clauses `FOR SYSTEM_TIME AS OF`
//! and `TIMESTAMP AS OF` after a table name (which sqlparser parses only for some dialects).
use datafusion::sql::sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use std::any::TypeId;

/// PostgreSQL with table versioning. Every method PostgreSqlDialect overrides is delegated,
/// and `dialect()` reports PostgreSqlDialect so sqlparser's `dialect_of!` checks still match.
#[derive(Debug, Default)]
pub struct StrataDialect(PostgreSqlDialect);

macro_rules! delegate {
    ($($name:ident),* $(,)?) => {
        $(fn $name(&self) -> bool { self.0.$name() })*
    };
}

impl Dialect for StrataDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn supports_table_versioning(&self) -> bool {
        true
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }
    fn is_reserved_for_identifier(&self, kw: Keyword) -> bool {
        self.0.is_reserved_for_identifier(kw)
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }

    delegate!(
        supports_unicode_string_literal,
        supports_filter_during_aggregation,
        supports_group_by_expr,
        allow_extract_custom,
        allow_extract_single_quotes,
        supports_create_index_with_clause,
        supports_explain_with_utility_options,
        supports_listen_notify,
        supports_factorial_operator,
        supports_bitwise_shift_operators,
        supports_comment_on,
        supports_load_extension,
        supports_named_fn_args_with_colon_operator,
        supports_named_fn_args_with_expr_name,
        supports_empty_projections,
        supports_nested_comments,
        supports_string_escape_constant,
        supports_numeric_literal_underscores,
        supports_array_typedef_with_brackets,
        supports_geometric_types,
        supports_set_names,
        supports_alter_column_type_using,
        supports_notnull_operator,
        supports_interval_options,
        supports_insert_table_alias,
        supports_create_table_like_parenthesized,
        supports_select_wildcard_with_alias,
        supports_comma_separated_trim,
        supports_xml_expressions,
        supports_comment_optimizer_hint,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::parser::Parser;

    #[test]
    fn parses_both_time_travel_forms_and_postgres_syntax() {
        let d = StrataDialect::default();
        for sql in [
            "SELECT * FROM raw.crm.customers FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12' AS c",
            "SELECT * FROM raw.crm.customers TIMESTAMP AS OF '2026-01-12'",
            "SELECT a::int, b ->> 'x' FROM t WHERE c ILIKE 'x%'",
        ] {
            Parser::parse_sql(&d, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}
