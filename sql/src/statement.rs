//! A parsed statement and how SQL text becomes one: split at semicolons, bounded in depth
//! before sqlparser sees it (see [`crate::limits`]), parsed with Strata's dialect, and for
//! Postgres sessions rewritten so client catalog queries plan.
use crate::limits::{Shape, StatementLimits};
use crate::split::split_statements;
use crate::{dialect::StrataDialect, Result, SqlError};
use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::parser::ParserError;

/// Splits SQL text into statements and parses each. A statement nesting deeper than
/// `max_expression_depth` is refused (54001) before it is parsed, and one naming a placeholder
/// no client could bind (`$0`, `$99999999999`) after (42P02).
pub(crate) fn parse(
    sql: &str,
    pg: Option<&crate::pg::PgState>,
    limits: &StatementLimits,
) -> Result<Vec<Statement>> {
    let pieces = split_statements(sql).map_err(SqlError::Syntax)?;
    pieces
        .into_iter()
        .map(|(text, tokens)| {
            let shape = Shape::of(&tokens, limits)?;
            drop(tokens);
            shape.grow(|| {
                let mut stmt = match pg {
                    Some(pg) => parse_pg(pg, text, limits, shape)?,
                    None => parse_one(text, limits)?,
                };
                stmt.shape = shape;
                check_placeholders(&stmt)?;
                Ok(stmt)
            })
        })
        .collect()
}

/// One parsed statement, ready for [`crate::Session::execute`].
#[derive(Debug)]
pub struct Statement {
    pub(crate) text: String,
    pub(crate) kind: Kind,
    /// How deep it nests: deep statements are cloned, planned, run and dropped on a stack
    /// grown for them (see [`crate::limits`]).
    pub(crate) shape: Shape,
}

impl Clone for Statement {
    fn clone(&self) -> Self {
        self.shape.grow(|| Statement {
            text: self.text.clone(),
            kind: self.kind.clone(),
            shape: self.shape,
        })
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        let kind = std::mem::replace(&mut self.kind, Kind::Refresh);
        self.shape.grow(move || drop(kind));
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Refresh,
    Sql(Box<DFStatement>),
    /// `COPY … TO STDOUT` (Postgres sessions): the query and how to write its rows.
    CopyOut(Box<DFStatement>, crate::pg::CopyOptions),
    /// A statement accepted without effect (LISTEN/UNLISTEN on a lake without notifications).
    Accepted(String),
    /// `MOVE …`: a FETCH whose rows are skipped (cursors only move forward).
    Move(Box<DFStatement>),
}

impl Statement {
    pub(crate) fn new(text: String, kind: Kind) -> Self {
        Statement {
            text,
            kind,
            shape: Shape::default(),
        }
    }

    /// Types a client declared for `$1`, `$2`… (the extended protocol's Parse): each declared
    /// placeholder becomes `CAST($n AS type)`, so planning and [`crate::Session::describe`] know it.
    /// `types` are SQL type names such as `int4` or `text[]`; None leaves a placeholder as is.
    pub fn declare_param_types(&mut self, types: &[Option<String>]) {
        use datafusion::sql::sqlparser::ast::{Expr, VisitMut, VisitorMut};
        struct Declare<'a>(&'a [Option<ast::DataType>]);
        impl VisitorMut for Declare<'_> {
            type Break = ();
            fn post_visit_expr(&mut self, e: &mut Expr) -> std::ops::ControlFlow<()> {
                if let Expr::Value(v) = e {
                    if let ast::Value::Placeholder(p) = &v.value {
                        let n = p.trim_start_matches('$').parse::<usize>().unwrap_or(0);
                        if let Some(Some(t)) = n.checked_sub(1).and_then(|i| self.0.get(i)) {
                            *e = Expr::Cast {
                                kind: ast::CastKind::Cast,
                                expr: Box::new(e.clone()),
                                data_type: t.clone(),
                                array: false,
                                format: None,
                            };
                        }
                    }
                }
                std::ops::ControlFlow::Continue(())
            }
        }
        let dialect = StrataDialect::default();
        let parsed: Vec<Option<ast::DataType>> = types
            .iter()
            .map(|t| {
                t.as_ref().and_then(|t| {
                    datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                        .try_with_sql(t)
                        .and_then(|mut p| p.parse_data_type())
                        .ok()
                })
            })
            .collect();
        if parsed.iter().all(Option::is_none) {
            return;
        }
        let shape = self.shape;
        if let Kind::Sql(ast) = &mut self.kind {
            if let DFStatement::Statement(s) = ast.as_mut() {
                let _ = shape.grow(|| s.visit(&mut Declare(&parsed)));
            }
        }
    }
}

/// The SQL type names placeholders are cast to in the statement's text, by position.
pub(crate) fn placeholder_sql_types(ast: &DFStatement, count: usize) -> Vec<Option<String>> {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    struct Find(Vec<Option<String>>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Cast {
                expr, data_type, ..
            } = e
            {
                if let Expr::Value(v) = expr.as_ref() {
                    if let ast::Value::Placeholder(p) = &v.value {
                        let n = p.trim_start_matches('$').parse::<usize>().unwrap_or(0);
                        if let Some(slot) = n.checked_sub(1).and_then(|i| self.0.get_mut(i)) {
                            slot.get_or_insert_with(|| data_type.to_string().to_lowercase());
                        }
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut find = Find(vec![None; count]);
    if let DFStatement::Statement(s) = ast {
        let _ = s.visit(&mut find);
    }
    find.0
}

impl Statement {
    /// Whether the statement is a query that reads only `pg_catalog` or `information_schema`
    /// (what psql's `\\d` and BI tools' metadata calls send): the server runs those apart
    /// from lake queries so they stay fast under load.
    pub fn reads_only_catalog(&self) -> bool {
        let Kind::Sql(stmt) = &self.kind else {
            return false;
        };
        let DFStatement::Statement(s) = stmt.as_ref() else {
            return false;
        };
        if !matches!(s.as_ref(), ast::Statement::Query(_)) {
            return false;
        }
        let mut any = false;
        let all = self.shape.grow(|| {
            ast::visit_relations(s.as_ref(), |name| {
                any = true;
                match crate::pg::is_catalog_relation(name) {
                    true => std::ops::ControlFlow::Continue(()),
                    false => std::ops::ControlFlow::Break(()),
                }
            })
        });
        any && all.is_continue()
    }
}

impl std::fmt::Display for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `FETCH 5 c` / `MOVE FORWARD 5 c`: PostgreSQL lets FROM/IN be left out (asyncpg does);
/// the parser needs it, so it goes in before the cursor name.
fn cursor_from(text: String) -> String {
    let trimmed = text.trim().trim_end_matches(';').trim_end();
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let is_cursor_command = words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("fetch") || w.eq_ignore_ascii_case("move"));
    let has_from = words
        .iter()
        .any(|w| w.eq_ignore_ascii_case("from") || w.eq_ignore_ascii_case("in"));
    // A quoted name may hold spaces; only a one-word name is moved behind FROM.
    let Some(name) = words.last() else {
        return text;
    };
    let whole_name = !name.starts_with('"') || (name.len() > 1 && name.ends_with('"'));
    if !is_cursor_command || has_from || words.len() < 2 || !whole_name {
        return text;
    }
    let head = &trimmed[..trimmed.len() - name.len()];
    format!("{head}FROM {name}")
}

/// Parses one statement of a Postgres session: the client catalog queries psql, JDBC and BI
/// tools send are rewritten into forms DataFusion plans (datafusion-pg-catalog's rules), and
/// `COPY … TO STDOUT` and LISTEN/UNLISTEN are recognised.
fn parse_pg(
    pg: &crate::pg::PgState,
    text: String,
    limits: &StatementLimits,
    shape: Shape,
) -> Result<Statement> {
    let text = cursor_from(text);
    let words: Vec<String> = text
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some(w @ ("LISTEN" | "UNLISTEN" | "NOTIFY")) => {
            return Ok(Statement::new(text, Kind::Accepted(w.to_string())))
        }
        Some("MOVE") => {
            let fetch = format!("FETCH{}", &text.trim_start()[4..]);
            let mut fetch = parse_one(fetch, limits)?;
            if let Kind::Sql(ast) = std::mem::replace(&mut fetch.kind, Kind::Refresh) {
                return Ok(Statement::new(text, Kind::Move(ast)));
            }
        }
        Some("COPY") => {
            let dialect = StrataDialect::default();
            let parsed = datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                .with_recursion_limit(recursion_limit(limits))
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_statements());
            if let Ok(mut stmts) = parsed {
                if let Some(found) = stmts.pop().as_ref().and_then(crate::pg::copy_to_stdout) {
                    let (query, options) = found?;
                    return Ok(Statement::new(
                        text,
                        Kind::CopyOut(
                            Box::new(DFStatement::Statement(Box::new(pg.parser.rewrite(query)))),
                            options,
                        ),
                    ));
                }
            }
        }
        _ => {}
    }
    let ours = parse_one(text.clone(), limits);
    let plain = match &ours {
        Ok(Statement {
            kind: Kind::Sql(ast),
            ..
        }) => matches!(ast.as_ref(), DFStatement::Statement(_)),
        Ok(_) => false,
        Err(_) => true,
    };
    if !plain {
        return ours;
    }
    // The rewriting parser keeps sqlparser's default recursion limit (50): deeper statements
    // fail there, and its way back from that limit is what spun on 48 nested `ARRAY[`. No
    // client catalog query nests that deep, so they keep Strata's parse, rewritten.
    if shape.depth > PG_PARSER_DEPTH {
        return ours.map(|stmt| rewritten(pg, stmt));
    }
    // The rewriting parser speaks plain PostgreSQL; Strata's own syntax (time travel) fails
    // there and keeps Strata's parse, rewritten by the same rules.
    match pg.parser.parse(&text) {
        Ok(mut stmts) if stmts.len() == 1 => {
            let mut s = stmts.pop().expect("one statement");
            crate::pg::rewrite(&mut s);
            Ok(Statement::new(
                text,
                Kind::Sql(Box::new(DFStatement::Statement(Box::new(s)))),
            ))
        }
        _ => ours.map(|stmt| rewritten(pg, stmt)),
    }
}

/// Strata's own parse with the client-query rewrites applied.
fn rewritten(pg: &crate::pg::PgState, mut stmt: Statement) -> Statement {
    if let Kind::Sql(ast) = &mut stmt.kind {
        if let DFStatement::Statement(s) = ast.as_mut() {
            **s = pg.parser.rewrite((**s).clone());
            crate::pg::rewrite(s);
        }
    }
    stmt
}

fn parse_one(text: String, limits: &StatementLimits) -> Result<Statement> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    if words == ["REFRESH"] {
        return Ok(Statement::new(text, Kind::Refresh));
    }
    let dialect = StrataDialect::default();
    let syntax = |e: DataFusionError| match e {
        DataFusionError::SQL(e, _) => SqlError::Syntax(match *e {
            ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
            other => other.to_string(),
        }),
        other => other.into(),
    };
    let mut parser = DFParserBuilder::new(text.as_str())
        .with_dialect(&dialect)
        .with_recursion_limit(recursion_limit(limits))
        .build()
        .map_err(syntax)?;
    let mut stmts = parser.parse_statements().map_err(syntax)?;
    let ast = match (stmts.pop_front(), stmts.is_empty()) {
        (Some(s), true) => s,
        _ => return Err(DataFusionError::Plan(format!("expected one statement: {text}")).into()),
    };
    Ok(Statement::new(text, Kind::Sql(Box::new(ast))))
}

/// Statements deeper than this skip datafusion-pg-catalog's parser (see [`parse_pg`]).
const PG_PARSER_DEPTH: usize = 24;

/// sqlparser's recursion limit: above what the depth check lets through (a nesting level
/// costs the parser a few recursions), so that check, not the parser, is what refuses. The
/// parser's own error on the way back from its limit is what made 48 nested `ARRAY[` spin.
fn recursion_limit(limits: &StatementLimits) -> usize {
    limits
        .max_expression_depth
        .saturating_mul(4)
        .saturating_add(64)
}

/// Placeholders a client can bind: `$1` to `$65535` (Bind's count is an Int16). A larger
/// number would have sized the parameter list it is planned with (PostgreSQL: 42P02).
fn check_placeholders(stmt: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    struct Find(Option<String>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let ast::Value::Placeholder(p) = &v.value {
                    let number = p.strip_prefix('$').map(|n| n.parse::<u64>());
                    if let Some(n) = number {
                        if !matches!(n, Ok(1..=crate::limits::MAX_PARAMETER)) {
                            self.0 = Some(p.clone());
                            return std::ops::ControlFlow::Break(());
                        }
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let ast = match &stmt.kind {
        Kind::Sql(ast) | Kind::CopyOut(ast, _) | Kind::Move(ast) => ast,
        Kind::Refresh | Kind::Accepted(_) => return Ok(()),
    };
    let DFStatement::Statement(s) = ast.as_ref() else {
        return Ok(());
    };
    let mut find = Find(None);
    let _ = s.visit(&mut find);
    match find.0 {
        Some(p) => Err(SqlError::Pg {
            code: "42P02",
            message: format!("there is no parameter {p}"),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fetch_and_move_without_from_name_the_cursor() {
        assert_eq!(super::cursor_from("FETCH 5 c".into()), "FETCH 5 FROM c");
        assert_eq!(
            super::cursor_from("MOVE FORWARD 5 \"c1\";".into()),
            "MOVE FORWARD 5 FROM \"c1\""
        );
        assert_eq!(super::cursor_from("FETCH 5 IN c".into()), "FETCH 5 IN c");
        assert_eq!(super::cursor_from("SELECT 1".into()), "SELECT 1");
    }
}
