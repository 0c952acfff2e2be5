//! How a Postgres session parses one statement's text: the client catalog queries psql, JDBC
//! and BI tools send are rewritten into forms DataFusion plans (datafusion-pg-catalog's rules
//! and Strata's own), and `COPY … TO STDOUT`, MOVE and LISTEN/UNLISTEN are recognised.
use crate::compat::rewrite::rewrite;
use crate::engine::PgState;
use datafusion::sql::parser::Statement as DFStatement;
use strata_sql::{Result, Statement, StatementKind as Kind, StatementLimits, StrataDialect};

/// Statements deeper than this skip datafusion-pg-catalog's parser (see [`parse`]).
const PG_PARSER_DEPTH: usize = 24;

/// Parses one statement of a Postgres session (already split and depth-checked).
pub(crate) fn parse(
    pg: &PgState,
    text: String,
    limits: &StatementLimits,
    depth: usize,
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
            if let Kind::Sql(ast) = Statement::parse(fetch, limits)?.kind() {
                return Ok(Statement::new(text, Kind::Move(ast.clone())));
            }
        }
        Some("COPY") => {
            let dialect = StrataDialect::default();
            let parsed = datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                .with_recursion_limit(limits.parser_recursion_limit())
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_statements());
            if let Ok(mut stmts) = parsed {
                // COPY … FROM: STDIN is the server's COPY protocol (server/copy_in.rs); a
                // file or program the hook refuses.
                if stmts.len() == 1
                    && matches!(
                        stmts[0],
                        datafusion::sql::sqlparser::ast::Statement::Copy { to: false, .. }
                    )
                {
                    let stmt = stmts.pop().expect("one statement");
                    return Ok(Statement::new(
                        text,
                        Kind::Sql(Box::new(DFStatement::Statement(Box::new(stmt)))),
                    ));
                }
                if let Some(found) = stmts
                    .pop()
                    .as_ref()
                    .and_then(strata_sql::copy::copy_to_stdout)
                {
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
    let ours = Statement::parse(text.clone(), limits);
    let plain = match &ours {
        Ok(stmt) => matches!(stmt.ast(), Some(DFStatement::Statement(_))),
        Err(_) => true,
    };
    if !plain {
        return ours;
    }
    // The rewriting parser keeps sqlparser's default recursion limit (50): deeper statements
    // fail there, and its way back from that limit is what spun on 48 nested `ARRAY[`. No
    // client catalog query nests that deep, so they keep Strata's parse, rewritten.
    if depth > PG_PARSER_DEPTH {
        return ours.map(|stmt| rewritten(pg, stmt));
    }
    // The rewriting parser speaks plain PostgreSQL; Strata's own syntax (time travel) fails
    // there and keeps Strata's parse, rewritten by the same rules.
    match pg.parser.parse(&text) {
        Ok(mut stmts) if stmts.len() == 1 => {
            let mut s = stmts.pop().expect("one statement");
            rewrite(&mut s);
            Ok(Statement::new(
                text,
                Kind::Sql(Box::new(DFStatement::Statement(Box::new(s)))),
            ))
        }
        _ => ours.map(|stmt| rewritten(pg, stmt)),
    }
}

/// Strata's own parse with the client-query rewrites applied.
fn rewritten(pg: &PgState, stmt: Statement) -> Statement {
    let Some(DFStatement::Statement(s)) = stmt.ast() else {
        return stmt;
    };
    let mut s = pg.parser.rewrite((**s).clone());
    rewrite(&mut s);
    stmt.derived(
        stmt.to_string(),
        Kind::Sql(Box::new(DFStatement::Statement(Box::new(s)))),
    )
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
