//! Rewrites for Postgres semantics DataFusion lacks, applied after datafusion-pg-catalog's:
//! `ARRAY(subquery)`, `LIKE … ESCAPE` with another escape character, `information_schema`
//! views DataFusion lacks, and PostgreSQL's names for result columns (`count`, not
//! `count(*)`; `?column?` for an expression; duplicates allowed), which clients that read
//! columns by name rely on.
use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArguments, Ident, Query, SelectItem, SetExpr, Statement, VisitMut,
    VisitorMut,
};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Marks the second and later of duplicate column names: DataFusion needs unique names, so
/// the plan carries `name<MARK>n` and the wire shows `name` (see [`wire_name`]).
pub const DUPLICATE_MARK: char = '\u{1}';

/// A column's name as clients see it.
pub fn wire_name(name: &str) -> &str {
    name.split(DUPLICATE_MARK).next().unwrap_or(name)
}

pub(crate) fn rewrite(stmt: &mut Statement) {
    let _ = stmt.visit(&mut CatalogSubqueryInCase);
    let _ = stmt.visit(&mut ArraySubquery);
    let _ = stmt.visit(&mut ExpandArray);
    let _ = stmt.visit(&mut Compat);
    if let Statement::Query(q) = stmt {
        name_columns(q);
    }
    // After naming, so `x::regtype::text` keeps PostgreSQL's column name.
    super::catalog_sql::rewrite(stmt);
}

/// DataFusion cannot run a scalar subquery inside CASE. Catalog queries (SQLAlchemy's column
/// reflection) put correlated lookups of column defaults, identity sequences and collations
/// there; lake tables have none of these, so such a lookup over `pg_catalog` is NULL.
struct CatalogSubqueryInCase;

impl VisitorMut for CatalogSubqueryInCase {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Case { .. } = expr {
            let _ = expr.visit(&mut NullCatalogSubqueries);
        }
        ControlFlow::Continue(())
    }
}

struct NullCatalogSubqueries;

impl VisitorMut for NullCatalogSubqueries {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Subquery(q) = expr {
            if reads_only_pg_catalog(q) {
                *expr = Expr::Value(ast::Value::Null.into());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether every relation `q` reads, at any depth, is a `pg_catalog` table or one of its own
/// CTEs (asyncpg walks domain base types with a recursive CTE over `pg_type`).
fn reads_only_pg_catalog(q: &Query) -> bool {
    let mut ctes = std::collections::HashSet::new();
    let mut names: Vec<String> = vec![];
    collect(q, &mut ctes, &mut names);
    !names.is_empty()
        && names
            .iter()
            .all(|n| n.starts_with("pg_") || n.starts_with("pg_catalog.") || ctes.contains(n))
}

fn collect(q: &Query, ctes: &mut std::collections::HashSet<String>, names: &mut Vec<String>) {
    struct Walk<'a> {
        ctes: &'a mut std::collections::HashSet<String>,
        names: &'a mut Vec<String>,
    }
    impl ast::Visitor for Walk<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    self.ctes.insert(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, name: &ast::ObjectName) -> ControlFlow<()> {
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
                .collect();
            self.names.push(parts.join("."));
            ControlFlow::Continue(())
        }
    }
    let _ = ast::Visit::visit(q, &mut Walk { ctes, names });
}

/// `information_schema._pg_expandarray(a)`, the set-returning function pgJDBC's
/// `getPrimaryKeys`/`getIndexInfo` use to pair each key column with its position, becomes an
/// `unnest` (DataFusion zips several unnests of one select list, as PostgreSQL runs several
/// set-returning functions in lockstep): `(…(a)).x` is `unnest(a)`, `(…(a)).n` the 1-based
/// positions, and the bare call a struct of both. `(composite).field` on any other
/// parenthesised expression becomes `expr['field']`, which DataFusion plans as a field access.
struct ExpandArray;

fn expandarray_arg(e: &Expr) -> Option<Expr> {
    let e = match e {
        Expr::Nested(inner) => inner.as_ref(),
        e => e,
    };
    let Expr::Function(f) = e else { return None };
    let last = f.name.0.last()?.as_ident()?.value.to_lowercase();
    if last != "_pg_expandarray" {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))] => Some(arg.clone()),
        _ => None,
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

impl VisitorMut for ExpandArray {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::CompoundFieldAccess { root, access_chain } = expr {
            if let [ast::AccessExpr::Dot(Expr::Identifier(field))] = access_chain.as_slice() {
                let field = field.value.to_lowercase();
                if let Some(arg) = expandarray_arg(root) {
                    let list = match field.as_str() {
                        "x" => arg,
                        "n" => call("strata_pg_expandarray_n", vec![arg]),
                        _ => return ControlFlow::Continue(()),
                    };
                    *expr = call("unnest", vec![list]);
                    return ControlFlow::Continue(());
                }
                if matches!(root.as_ref(), Expr::Nested(_)) {
                    access_chain[0] = ast::AccessExpr::Subscript(ast::Subscript::Index {
                        index: Expr::Value(ast::Value::SingleQuotedString(field).into()),
                    });
                }
            }
        } else if let Some(arg) = expandarray_arg(expr) {
            *expr = call("unnest", vec![call("strata_pg_expandarray", vec![arg])]);
        }
        ControlFlow::Continue(())
    }
}

/// Relation renames and `LIKE … ESCAPE`.
struct Compat;

impl VisitorMut for Compat {
    type Break = ();

    fn post_visit_relation(&mut self, name: &mut ast::ObjectName) -> ControlFlow<()> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| {
                p.as_ident()
                    .map(|i| i.value.to_lowercase())
                    .unwrap_or_default()
            })
            .collect();
        if let [.., schema, table] = parts.as_slice() {
            let known = super::overlay::INFORMATION_SCHEMA_EXTRAS
                .iter()
                .any(|(t, _)| t == table);
            if schema == "information_schema" && known {
                *name = ast::ObjectName::from(vec![
                    Ident::new("pg_catalog"),
                    Ident::new(format!("{}{table}", super::overlay::EXTRA_PREFIX)),
                ]);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // DataFusion's LIKE only escapes with a backslash: re-escape literal patterns.
        let (Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        }) = expr
        else {
            return ControlFlow::Continue(());
        };
        let esc = match escape_char.as_ref().map(|v| &v.value) {
            Some(ast::Value::SingleQuotedString(e)) if e.chars().count() == 1 && e != "\\" => {
                e.chars().next().expect("one char")
            }
            _ => return ControlFlow::Continue(()),
        };
        // SQLAlchemy writes the pattern as 'pg/_' || '%': fold literal concatenations first.
        if let Some(folded) = literal_text(pattern) {
            **pattern = Expr::Value(ast::Value::SingleQuotedString(folded).into());
        }
        let Expr::Value(v) = pattern.as_mut() else {
            return ControlFlow::Continue(());
        };
        let ast::Value::SingleQuotedString(p) = &v.value else {
            return ControlFlow::Continue(());
        };
        let mut out = String::new();
        let mut chars = p.chars();
        while let Some(c) = chars.next() {
            if c == esc {
                if let Some(next) = chars.next() {
                    out.push('\\');
                    out.push(next);
                }
            } else if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        v.value = ast::Value::SingleQuotedString(out);
        *escape_char = None;
        ControlFlow::Continue(())
    }
}

/// `ARRAY(SELECT x …)` → `(SELECT array_agg(x) FROM (SELECT x …))`. psql's `\d+` and catalog
/// queries of JDBC tools use it. (An empty subquery gives NULL rather than `{}`.)
struct ArraySubquery;

impl VisitorMut for ArraySubquery {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // pg_class has no reloptions here (no storage options on lake tables): NULL, as
        // PostgreSQL reports for a table without options.
        if let Expr::CompoundIdentifier(parts) = expr {
            if parts.last().is_some_and(|p| p.value == "reloptions") {
                *expr = Expr::Value(ast::Value::Null.into());
                return ControlFlow::Continue(());
            }
        }
        let is_null = |e: &Expr| matches!(e, Expr::Value(v) if v.value == ast::Value::Null);
        if let Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::StringConcat,
            right,
        } = expr
        {
            if is_null(left) && is_null(right) {
                *expr = Expr::Value(ast::Value::Null.into());
                return ControlFlow::Continue(());
            }
        }
        if let Expr::Function(f) = expr {
            // array_to_string(NULL, …) is NULL; DataFusion cannot type an untyped NULL array.
            if f.name
                .to_string()
                .to_lowercase()
                .ends_with("array_to_string")
            {
                if let FunctionArguments::List(l) = &f.args {
                    if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(first))) =
                        l.args.first()
                    {
                        if is_null(first) {
                            *expr = Expr::Value(ast::Value::Null.into());
                            return ControlFlow::Continue(());
                        }
                    }
                }
            }
        }
        if let Some(replacement) = generate_subscripts(expr) {
            *expr = replacement;
            return ControlFlow::Continue(());
        }
        if let Expr::Subquery(q) = expr {
            first_value_scalar(q);
            return ControlFlow::Continue(());
        }
        if let Expr::Function(f) = expr {
            let is_array = f.name.0.len() == 1 && f.name.to_string().eq_ignore_ascii_case("array");
            if let (true, FunctionArguments::Subquery(q)) = (is_array, &f.args) {
                let mut q = q.clone();
                let SetExpr::Select(select) = q.body.as_mut() else {
                    return ControlFlow::Continue(());
                };
                // `ARRAY(SELECT … FROM unnest(outer.col) x)` (psql's \d+ over reloptions) needs
                // a correlated table function, which DataFusion cannot plan; Strata's catalog
                // arrays (reloptions and the like) are always NULL, so the answer is NULL too.
                let over_unnest = select.from.iter().any(|t| {
                    matches!(&t.relation, ast::TableFactor::Table { name, args: Some(_), .. }
                        if name.0.last().is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest")))
                        || matches!(&t.relation, ast::TableFactor::UNNEST { .. })
                });
                if over_unnest {
                    *expr = Expr::Value(ast::Value::Null.into());
                    return ControlFlow::Continue(());
                }
                let [item] = select.projection.as_mut_slice() else {
                    return ControlFlow::Continue(());
                };
                let value = match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        e.clone()
                    }
                    _ => return ControlFlow::Continue(()),
                };
                *item = SelectItem::ExprWithAlias {
                    expr: value,
                    alias: Ident::new("__strata_v"),
                };
                let sql = format!("(SELECT array_agg(__strata_v) FROM ({q}) AS __strata_array)");
                let dialect = strata_sql::StrataDialect::default();
                if let Ok(parsed) = datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                    .try_with_sql(&sql)
                    .and_then(|mut p| p.parse_expr())
                {
                    *expr = parsed;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `generate_subscripts(arr, 1)` → `unnest(range(1, array_length(arr, 1) + 1))`: the same rows
/// through the one set-returning function DataFusion plans in a select list.
fn generate_subscripts(expr: &Expr) -> Option<Expr> {
    let Expr::Function(f) = expr else { return None };
    if !f
        .name
        .to_string()
        .to_lowercase()
        .ends_with("generate_subscripts")
    {
        return None;
    }
    let FunctionArguments::List(l) = &f.args else {
        return None;
    };
    let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arr)) = l.args.first()? else {
        return None;
    };
    let sql = format!("unnest(range(1, CAST(coalesce(array_length({arr}, 1), 0) AS BIGINT) + 1))");
    let dialect = strata_sql::StrataDialect::default();
    datafusion::sql::sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// A scalar subquery returning one plain column: PostgreSQL allows it correlated (catalog
/// queries do that: the default of a column from pg_attrdef), DataFusion only if it
/// aggregates. `first_value` gives the same answer when there is at most one row, which is
/// what PostgreSQL requires anyway.
fn first_value_scalar(q: &mut Query) {
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    if !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
        || select.having.is_some()
        || select.distinct.is_some()
    {
        return;
    }
    let [item] = select.projection.as_mut_slice() else {
        return;
    };
    let (expr, alias) = match item {
        SelectItem::UnnamedExpr(e) => (e, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.clone())),
        _ => return,
    };
    if let Expr::Function(f) = expr {
        let name = f.name.to_string().to_lowercase();
        const AGGREGATES: &[&str] = &[
            "count",
            "sum",
            "min",
            "max",
            "avg",
            "array_agg",
            "string_agg",
            "bool_and",
            "bool_or",
            "first_value",
            "last_value",
            "every",
        ];
        if AGGREGATES.iter().any(|a| name.ends_with(a)) {
            return;
        }
    }
    if matches!(expr, Expr::Value(_)) || select.from.is_empty() {
        return;
    }
    // `(SELECT x … ORDER BY k LIMIT 1)`: the first value in that order.
    let order = match &q.order_by {
        None => String::new(),
        Some(ast::OrderBy {
            kind: ast::OrderByKind::Expressions(keys),
            ..
        }) => {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            format!(" ORDER BY {}", keys.join(", "))
        }
        Some(_) => return,
    };
    let sql = format!("first_value({expr}{order})");
    let dialect = strata_sql::StrataDialect::default();
    if let Ok(wrapped) = datafusion::sql::sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
    {
        *item = match alias {
            Some(alias) => SelectItem::ExprWithAlias {
                expr: wrapped,
                alias,
            },
            None => SelectItem::UnnamedExpr(wrapped),
        };
        // The aggregate returns one row; the ordering now lives inside it.
        q.order_by = None;
        q.limit_clause = None;
    }
}

/// The text of a string literal or a concatenation of them.
fn literal_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        Expr::Nested(inner) => literal_text(inner),
        Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::StringConcat,
            right,
        } => Some(literal_text(left)? + &literal_text(right)?),
        _ => None,
    }
}

/// Gives select items PostgreSQL's names: an unnamed function call is named after the function,
/// any other unnamed expression `?column?`; duplicate names are marked (see [`DUPLICATE_MARK`]).
fn name_columns(q: &mut Query) {
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in select.projection.iter_mut() {
        let (expr, name, explicit) = match &*item {
            SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), alias.value.clone(), true),
            SelectItem::UnnamedExpr(e) => match e {
                Expr::Identifier(i) => (e.clone(), i.value.clone(), false),
                Expr::CompoundIdentifier(p) => {
                    let Some(last) = p.last() else { continue };
                    (e.clone(), last.value.clone(), false)
                }
                _ => (e.clone(), pg_name(e), true),
            },
            _ => continue,
        };
        let n = seen.entry(name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', format!("{name}{DUPLICATE_MARK}{n}")),
            };
        } else if explicit && matches!(item, SelectItem::UnnamedExpr(_)) {
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::with_quote('"', name),
            };
        }
    }
}

/// The name PostgreSQL gives an unnamed result column.
fn pg_name(e: &Expr) -> String {
    let name = match e {
        Expr::Function(f) => f
            .name
            .0
            .last()
            .map(|p| p.to_string().trim_matches('"').to_lowercase()),
        Expr::Cast {
            expr, data_type, ..
        } => match expr.as_ref() {
            Expr::Identifier(i) => Some(i.value.clone()),
            Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
            Expr::Value(_) => Some(type_name(data_type)),
            inner => Some(pg_name(inner)),
        },
        Expr::Nested(inner) => Some(pg_name(inner)),
        Expr::Case { .. } => Some("case".into()),
        Expr::Exists { .. } => Some("exists".into()),
        Expr::Array(_) => Some("array".into()),
        Expr::Subquery(q) => match q.body.as_ref() {
            SetExpr::Select(s) => match s.projection.as_slice() {
                [SelectItem::ExprWithAlias { alias, .. }] => Some(alias.value.clone()),
                [SelectItem::UnnamedExpr(Expr::Identifier(i))] => Some(i.value.clone()),
                [SelectItem::UnnamedExpr(inner)] => Some(pg_name(inner)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    name.filter(|n| !n.is_empty())
        .unwrap_or_else(|| "?column?".into())
}

/// PostgreSQL's internal name of a type, which names a cast literal's column (`1::int` → int4).
fn type_name(t: &ast::DataType) -> String {
    let text = t.to_string().to_lowercase();
    match text.split('(').next().unwrap_or("").trim() {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "boolean" | "bool" => "bool",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "double" => "float8",
        "varchar" | "character varying" => "varchar",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => return other.to_string(),
    }
    .to_string()
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
    fn unnamed_columns_get_postgres_names() {
        assert_eq!(
            rewritten("SELECT count(*), 1, current_database(), a + 1, 1::int, b::text FROM t"),
            "SELECT count(*) AS \"count\", 1 AS \"?column?\", current_database() AS \"current_database\", a + 1 AS \"?column?\u{1}2\", 1::INT AS \"int4\", b::TEXT AS \"b\" FROM t"
        );
    }

    #[test]
    fn duplicate_names_are_marked_for_the_wire() {
        let sql = rewritten("SELECT count(a) AS count, count(b), x, x FROM t");
        assert_eq!(
            sql,
            "SELECT count(a) AS count, count(b) AS \"count\u{1}2\", x, x AS \"x\u{1}2\" FROM t"
        );
        assert_eq!(wire_name("count\u{1}2"), "count");
    }

    #[test]
    fn like_escape_becomes_backslash() {
        assert_eq!(
            rewritten("SELECT 1 FROM t WHERE n NOT LIKE 'pg/_%' ESCAPE '/'"),
            "SELECT 1 AS \"?column?\" FROM t WHERE n NOT LIKE 'pg\\_%'"
        );
    }

    #[test]
    fn missing_information_schema_views_come_from_pg_catalog() {
        assert!(
            rewritten("SELECT * FROM information_schema.table_constraints")
                .contains("pg_catalog.strata_information_schema_table_constraints")
        );
    }

    #[test]
    fn array_subquery_becomes_array_agg() {
        let sql = rewritten("SELECT array(SELECT x FROM t)");
        assert!(sql.contains("array_agg"), "{sql}");
    }

    #[test]
    fn pg_expandarray_becomes_unnest() {
        let sql = rewritten(
            "SELECT (information_schema._pg_expandarray(i.indkey)).n AS seq, \
             information_schema._pg_expandarray(i.indkey) AS keys FROM r WHERE a = (r.keys).x",
        );
        assert!(
            sql.contains("unnest(strata_pg_expandarray_n(i.indkey)) AS seq"),
            "{sql}"
        );
        assert!(
            sql.contains("unnest(strata_pg_expandarray(i.indkey)) AS keys"),
            "{sql}"
        );
        assert!(sql.contains("(r.keys)['x']"), "{sql}");
    }
}
