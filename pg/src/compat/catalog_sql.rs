//! Rewrites for the catalog SQL of JDBC tools and Metabase: `information_schema.columns` as
//! PostgreSQL defines it, `'name'::regproc` compared with pg_type's procedure columns, and
//! `oid::regtype::text`. Applied after datafusion-pg-catalog's rewrites.
use datafusion::sql::sqlparser::ast::{
    self, Expr, Query, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;
use std::sync::OnceLock;

pub(crate) fn rewrite(stmt: &mut Statement) {
    let _ = stmt.visit(&mut CatalogSql);
}

/// PostgreSQL's `information_schema.columns` over `pg_catalog`, for the connected database.
/// DataFusion's own view names Arrow types (`Int64`, `Utf8View`) and lacks the `udt_*`,
/// identity and generation columns Metabase's sync reads; Grafana shows `data_type` to users.
const COLUMNS_VIEW: &str = "\
SELECT current_database() AS table_catalog, n.nspname AS table_schema, c.relname AS table_name, \
  a.attname AS column_name, CAST(a.attnum AS INT) AS ordinal_position, \
  CAST(NULL AS TEXT) AS column_default, \
  CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable, \
  CASE WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE format_type(a.atttypid, NULL) END AS data_type, \
  CAST(NULL AS INT) AS character_maximum_length, CAST(NULL AS INT) AS character_octet_length, \
  CAST(NULL AS INT) AS numeric_precision, CAST(NULL AS INT) AS numeric_precision_radix, \
  CAST(NULL AS INT) AS numeric_scale, CAST(NULL AS INT) AS datetime_precision, \
  CAST(NULL AS TEXT) AS interval_type, CAST(NULL AS INT) AS interval_precision, \
  current_database() AS udt_catalog, COALESCE(tn.nspname, 'pg_catalog') AS udt_schema, \
  t.typname AS udt_name, CAST(a.attnum AS INT) AS dtd_identifier, \
  'NO' AS is_self_referencing, 'NO' AS is_identity, CAST(NULL AS TEXT) AS identity_generation, \
  'NEVER' AS is_generated, CAST(NULL AS TEXT) AS generation_expression, 'NO' AS is_updatable \
FROM pg_catalog.pg_attribute a \
  JOIN pg_catalog.pg_class c ON a.attrelid = c.oid \
  JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
  JOIN pg_catalog.pg_type t ON a.atttypid = t.oid \
  LEFT JOIN pg_catalog.pg_namespace tn ON t.typnamespace = tn.oid \
WHERE a.attnum > 0 AND c.relkind IN ('r', 'v', 'p', 'm', 'f')";

/// `(COLUMNS_VIEW) AS alias` as a table factor, parsed once.
fn columns_view(alias: &str) -> Option<TableFactor> {
    static VIEW: OnceLock<Option<Box<Query>>> = OnceLock::new();
    let query = VIEW.get_or_init(|| {
        let dialect = strata_sql::StrataDialect::default();
        let mut stmts =
            datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, COLUMNS_VIEW).ok()?;
        match stmts.pop()? {
            Statement::Query(q) => Some(q),
            _ => None,
        }
    });
    Some(TableFactor::Derived {
        lateral: false,
        subquery: query.clone()?,
        alias: Some(ast::TableAlias {
            explicit: true,
            name: ast::Ident::new(alias),
            columns: vec![],
            at: None,
        }),
        sample: None,
    })
}

/// pg_type's columns that hold a procedure (`regproc`); the static catalog stores the name.
const REGPROC_COLUMNS: &[&str] = &[
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
];

/// The name a `'name'::regproc` / `'name'::regtype` lookup (as the crate rewrites it:
/// `(SELECT oid FROM pg_catalog.pg_proc WHERE proname = 'name')`) searches for.
fn lookup_literal(q: &mut Query) -> Option<&mut String> {
    let SetExpr::Select(select) = q.body.as_mut() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    let TableFactor::Table { name, .. } = &from.relation else {
        return None;
    };
    let table = name.0.last()?.as_ident()?.value.to_lowercase();
    if table != "pg_proc" && table != "pg_type" {
        return None;
    }
    let Some(Expr::BinaryOp {
        left,
        op: ast::BinaryOperator::Eq,
        right,
    }) = select.selection.as_mut()
    else {
        return None;
    };
    let column = match left.as_ref() {
        Expr::Identifier(i) => i.value.to_lowercase(),
        _ => return None,
    };
    if column != "proname" && column != "typname" {
        return None;
    }
    match right.as_mut() {
        Expr::Value(v) => match &mut v.value {
            ast::Value::SingleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn last_ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_lowercase()),
        _ => None,
    }
}

fn type_is(t: &ast::DataType, names: &[&str]) -> bool {
    let name = t.to_string().to_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    names.contains(&name)
}

/// Replaces a regproc lookup subquery with the name it looks up.
fn name_instead_of_oid(e: &mut Expr) {
    if let Expr::Subquery(q) = e {
        if let Some(name) = lookup_literal(q) {
            *e = Expr::Value(ast::Value::SingleQuotedString(name.clone()).into());
        }
    }
}

struct CatalogSql;

impl VisitorMut for CatalogSql {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name, alias, args, ..
        } = factor
        {
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
                .collect();
            let is_columns = matches!(parts.as_slice(), [.., s, t] if s == "information_schema" && t == "columns");
            if is_columns && args.is_none() {
                let alias = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_else(|| "columns".into());
                if let Some(view) = columns_view(&alias) {
                    *factor = view;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // Lake objects have no comments, so a comment lookup is NULL whatever its arguments;
        // Metabase passes `format('%I.%I', schema, table)::regclass`, a cast of a computed name
        // that DataFusion cannot resolve.
        if let Expr::Function(f) = expr {
            let name = f
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.to_lowercase());
            if matches!(name.as_deref(), Some("col_description" | "obj_description")) {
                *expr = Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: Box::new(Expr::Value(ast::Value::Null.into())),
                    data_type: ast::DataType::Text,
                    array: false,
                    format: None,
                };
                return ControlFlow::Continue(());
            }
        }
        // A qualified name ('pg_catalog.array_in'::regproc) names the same procedure.
        if let Expr::Subquery(q) = expr {
            if let Some(name) = lookup_literal(q) {
                if let Some(bare) = name.strip_prefix("pg_catalog.") {
                    *name = bare.to_string();
                }
            }
        }
        // pg_type.typinput = 'array_in'::regproc: the column holds the name, so compare names.
        if let Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Eq | ast::BinaryOperator::NotEq,
            right,
        } = expr
        {
            let is_regproc =
                |e: &Expr| last_ident(e).is_some_and(|c| REGPROC_COLUMNS.contains(&c.as_str()));
            if is_regproc(left) {
                name_instead_of_oid(right);
            } else if is_regproc(right) {
                name_instead_of_oid(left);
            }
        }
        // oid::regtype::text is the type's name.
        if let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        {
            if type_is(data_type, &["text", "varchar", "character varying", "name"]) {
                if let Expr::Cast {
                    expr: oid,
                    data_type: reg,
                    ..
                } = inner.as_ref()
                {
                    if type_is(reg, &["regtype"]) {
                        // PostgreSQL prints the invalid type 0 as '-'.
                        let sql = format!(
                            "CASE WHEN CAST({oid} AS INT) = 0 THEN '-' \
                             ELSE format_type(CAST({oid} AS INT), NULL) END"
                        );
                        let dialect = strata_sql::StrataDialect::default();
                        if let Ok(e) = datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                            .try_with_sql(&sql)
                            .and_then(|mut p| p.parse_expr())
                        {
                            *expr = e;
                        }
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let dialect = strata_sql::StrataDialect::default();
        let mut stmt = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, sql)
            .unwrap()
            .pop()
            .unwrap();
        rewrite(&mut stmt);
        stmt.to_string()
    }

    #[test]
    fn information_schema_columns_is_the_postgres_view() {
        let sql = rewritten("SELECT udt_name FROM information_schema.columns AS c");
        assert!(
            sql.contains("FROM (SELECT current_database() AS table_catalog"),
            "{sql}"
        );
        assert!(sql.ends_with(") AS c"), "{sql}");
    }

    #[test]
    fn regproc_column_compares_names() {
        let sql = rewritten(
            "SELECT typinput = (SELECT oid FROM pg_catalog.pg_proc WHERE proname = 'pg_catalog.array_in') FROM pg_type",
        );
        assert_eq!(sql, "SELECT typinput = 'array_in' FROM pg_type");
    }

    #[test]
    fn regtype_text_is_format_type() {
        let sql = rewritten("SELECT CAST(CAST(23 AS regtype) AS TEXT)");
        assert!(
            sql.contains("ELSE format_type(CAST(23 AS INT), NULL) END"),
            "{sql}"
        );
    }
}
