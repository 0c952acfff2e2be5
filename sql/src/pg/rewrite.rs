//! Rewrites for Postgres semantics DataFusion lacks, applied after datafusion-pg-catalog's:
//! `ARRAY(subquery)` and PostgreSQL's names for unnamed result columns (`count`, not
//! `count(*)`; `?column?` for a literal), which clients that read columns by name rely on.
use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArguments, Ident, Query, SelectItem, SetExpr, Statement, VisitMut,
    VisitorMut,
};
use std::collections::HashMap;
use std::ops::ControlFlow;

pub(crate) fn rewrite(stmt: &mut Statement) {
    let _ = stmt.visit(&mut ArraySubquery);
    if let Statement::Query(q) = stmt {
        name_columns(q);
    }
}

/// `ARRAY(SELECT x …)` → `(SELECT array_agg(x) FROM (SELECT x …))`. psql's `\d+` and catalog
/// queries of JDBC tools use it. (An empty subquery gives NULL rather than `{}`.)
struct ArraySubquery;

impl VisitorMut for ArraySubquery {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let is_array = f.name.0.len() == 1
                && f.name.to_string().eq_ignore_ascii_case("array");
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
                let sql = format!(
                    "(SELECT array_agg(__strata_v) FROM ({q}) AS __strata_array)"
                );
                let dialect = crate::dialect::StrataDialect::default();
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

/// Gives unnamed select items the names PostgreSQL gives them, where that keeps names unique
/// (DataFusion refuses duplicate names; PostgreSQL allows them).
fn name_columns(q: &mut Query) {
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    let names: Vec<Option<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => pg_name(e),
            _ => None,
        })
        .collect();
    let mut taken: HashMap<String, usize> = HashMap::new();
    for item in &select.projection {
        let name = match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(i.value.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(p)) => {
                p.last().map(|i| i.value.clone())
            }
            _ => None,
        };
        if let Some(n) = name {
            *taken.entry(n).or_default() += 1;
        }
    }
    for n in names.iter().flatten() {
        *taken.entry(n.clone()).or_default() += 1;
    }
    for (item, name) in select.projection.iter_mut().zip(names) {
        let Some(name) = name else { continue };
        if taken.get(&name) != Some(&1) {
            continue;
        }
        if let SelectItem::UnnamedExpr(e) = item {
            *item = SelectItem::ExprWithAlias {
                expr: e.clone(),
                alias: Ident::with_quote('"', name),
            };
        }
    }
}

/// The name PostgreSQL gives an unnamed result column, where it differs from DataFusion's.
fn pg_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Function(f) => f.name.0.last().map(|p| p.to_string().trim_matches('"').to_lowercase()),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
            inner => pg_name(inner).or(Some("?column?".into())),
        },
        Expr::Value(_) => Some("?column?".into()),
        Expr::Nested(inner) => pg_name(inner),
        Expr::Case { .. } => Some("case".into()),
        Expr::Exists { .. } => Some("exists".into()),
        Expr::Subquery(_) => None,
        Expr::TypedString(_) => None,
        _ => None,
    }
    .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let dialect = crate::dialect::StrataDialect::default();
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
            rewritten("SELECT count(*), 1, current_database()"),
            r#"SELECT count(*) AS "count", 1 AS "?column?", current_database() AS "current_database""#
        );
    }

    #[test]
    fn duplicate_names_stay_as_datafusion_names_them() {
        assert_eq!(rewritten("SELECT 1, 2"), "SELECT 1, 2");
        assert_eq!(
            rewritten("SELECT count(a) AS count, count(b)"),
            "SELECT count(a) AS count, count(b)"
        );
    }

    #[test]
    fn array_subquery_becomes_array_agg() {
        let sql = rewritten("SELECT array(SELECT x FROM t)");
        assert!(sql.contains("array_agg"), "{sql}");
    }
}
