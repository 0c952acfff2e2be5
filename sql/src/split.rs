//! Splitting SQL text into statements at top-level semicolons, using sqlparser's tokenizer so
//! semicolons inside strings, quoted names and comments do not split.
use crate::dialect::StrataDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The statements of `sql`, each without its `;`, empty ones dropped, with its tokens (for the
/// depth check that runs before parsing). Each statement is a slice of the original text:
/// re-printing tokens would lose how literals were written (`'it''s'` prints back as `'it's'`).
pub fn split_statements(sql: &str) -> Result<Vec<(String, Vec<Token>)>, String> {
    let dialect = StrataDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| e.to_string())?;
    // Byte offset of each line's start; token locations are 1-based (line, character).
    let mut line_starts = vec![0usize];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u64, column: u64| -> usize {
        let start = line_starts[(line as usize).saturating_sub(1).min(line_starts.len() - 1)];
        sql[start..]
            .char_indices()
            .nth((column as usize).saturating_sub(1))
            .map(|(i, _)| start + i)
            .unwrap_or(sql.len())
    };
    let mut out = vec![];
    let mut from = 0;
    let mut current = vec![];
    for t in tokens {
        if t.token == Token::SemiColon {
            let at = offset(t.span.start.line, t.span.start.column);
            push(&mut out, &sql[from..at], std::mem::take(&mut current));
            from = at + 1;
        } else {
            current.push(t.token);
        }
    }
    push(&mut out, &sql[from.min(sql.len())..], current);
    Ok(out)
}

fn push(out: &mut Vec<(String, Vec<Token>)>, text: &str, tokens: Vec<Token>) {
    if tokens.iter().any(|t| !matches!(t, Token::Whitespace(_))) {
        out.push((text.trim().to_string(), tokens));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let s: Vec<String> =
            split_statements("select ';' as a; -- c;\n select \"x;y\" from t;; /* ; */")
                .unwrap()
                .into_iter()
                .map(|(text, _)| text)
                .collect();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0], "select ';' as a");
        assert!(s[1].contains("\"x;y\""));
    }

    #[test]
    fn literals_keep_their_escapes() {
        let s: Vec<String> = split_statements("select 'it''s'; select E'a\\'b', 'é;'")
            .unwrap()
            .into_iter()
            .map(|(text, _)| text)
            .collect();
        assert_eq!(s, vec!["select 'it''s'", "select E'a\\'b', 'é;'"]);
    }
}
