//! Where one statement ends: completeness of typed input (the REPL's multi-line rule) and the
//! split of a script into SQL chunks and backslash commands.
//!
//! Both tokenize with sqlparser rather than searching for `;`, so a `;` inside a string literal,
//! a quoted identifier or a comment does not end a statement.

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Words that finish input without a `;`, as in psql.
const BARE_COMMANDS: [&str; 2] = ["exit", "quit"];

/// Whether `text` can be run as it is: blank, a backslash command, `exit`/`quit`, or SQL whose
/// last token (comments and whitespace aside) is `;`.
pub fn is_complete(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty()
        || trimmed.starts_with('\\')
        || BARE_COMMANDS.contains(&trimmed.to_ascii_lowercase().as_str())
    {
        return true;
    }
    match Tokenizer::new(&PostgreSqlDialect {}, text).tokenize() {
        Ok(tokens) => {
            let last = tokens
                .iter()
                .rev()
                .find(|t| !matches!(t, Token::Whitespace(_)));
            match last {
                Some(Token::SemiColon) => true,
                // Only comments: nothing to run, nothing to wait for.
                None => true,
                Some(_) => false,
            }
        }
        // An open string, quoted identifier or comment needs more lines; any other tokenizer
        // error is for the parser to report, so the user is not stuck in continuation lines.
        Err(e) => !(e.message.contains("EOF") || e.message.starts_with("Unterminated")),
    }
}

/// Whether `text` holds nothing but whitespace and comments.
pub fn is_blank(text: &str) -> bool {
    match Tokenizer::new(&PostgreSqlDialect {}, text).tokenize() {
        Ok(tokens) => tokens.iter().all(|t| matches!(t, Token::Whitespace(_))),
        Err(_) => text.trim().is_empty(),
    }
}

/// One unit of a script.
#[derive(Debug, PartialEq, Eq)]
pub enum Unit {
    /// SQL text holding one or more statements.
    Sql(String),
    /// A backslash command line, e.g. `\dt raw.*`.
    Meta(String),
}

/// Splits a script into SQL and backslash-command lines. A line starting with `\` is a command
/// only between statements; inside an unfinished statement it is part of the SQL.
pub fn split_script(text: &str) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut sql = String::new();
    for line in text.lines() {
        if is_blank(&sql) && line.trim_start().starts_with('\\') {
            sql.clear();
            units.push(Unit::Meta(line.trim().to_string()));
            continue;
        }
        sql.push_str(line);
        sql.push('\n');
        if !is_blank(&sql) && is_complete(&sql) {
            units.push(Unit::Sql(std::mem::take(&mut sql)));
        }
    }
    // A last statement may lack its `;`; comments alone are dropped.
    if !is_blank(&sql) {
        units.push(Unit::Sql(sql));
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness() {
        assert!(is_complete(""));
        assert!(is_complete("  \n"));
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- trailing\n  "));
        assert!(is_complete("SELECT 1 /* c */ ;  /* more */"));
        assert!(is_complete("\\dt raw.*"));
        assert!(is_complete("quit"));
        assert!(is_complete("-- only a comment"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';'"));
        assert!(!is_complete("SELECT 'open;"));
        assert!(!is_complete("SELECT \"col;"));
        assert!(!is_complete("SELECT 1 /* ; "));
        assert!(!is_complete("SELECT 1; SELECT 2"));
    }

    #[test]
    fn scripts() {
        let units = split_script(
            "-- header\nSET strata.as_of = '2026-01-01';\n\\dt\nSELECT\n  1;\nSELECT ';'\n",
        );
        assert_eq!(
            units,
            vec![
                Unit::Sql("-- header\nSET strata.as_of = '2026-01-01';\n".into()),
                Unit::Meta("\\dt".into()),
                Unit::Sql("SELECT\n  1;\n".into()),
                Unit::Sql("SELECT ';'\n".into()),
            ]
        );
        assert_eq!(split_script("-- nothing\n"), vec![]);
        assert_eq!(
            split_script("SELECT '\n\\x\n';"),
            vec![Unit::Sql("SELECT '\n\\x\n';\n".into())]
        );
    }
}
