//! Splitting SQL text into statements at top-level semicolons, using sqlparser's tokenizer so
//! semicolons inside strings, quoted names and comments do not split.
use crate::dialect::StrataDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The statements of `sql`, each without its `;`, empty ones dropped.
pub fn split_statements(sql: &str) -> Result<Vec<String>, String> {
    let dialect = StrataDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| e.to_string())?;
    let mut out = vec![];
    let mut current = String::new();
    for t in tokens {
        if t == Token::SemiColon {
            push(&mut out, &mut current);
        } else {
            current.push_str(&t.to_string());
        }
    }
    push(&mut out, &mut current);
    Ok(out)
}

fn push(out: &mut Vec<String>, current: &mut String) {
    let has_code = {
        let dialect = StrataDialect::default();
        Tokenizer::new(&dialect, current)
            .tokenize()
            .map(|ts| ts.iter().any(|t| !matches!(t, Token::Whitespace(_))))
            .unwrap_or(true)
    };
    if has_code {
        out.push(current.trim().to_string());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let s =
            split_statements("select ';' as a; -- c;\n select \"x;y\" from t;; /* ; */").unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0], "select ';' as a");
        assert!(s[1].contains("\"x;y\""));
    }
}
