//! Strata's Delta maintenance statements, which SQL dialects do not share (docs/delta.md):
//! `OPTIMIZE t`, `VACUUM t [RETAIN n HOURS] [FORCE]` and `CONVERT TO DELTA t`, parsed here by
//! keyword like `REFRESH`, before sqlparser sees the text.
use crate::dialect::StrataDialect;
use crate::{Result, SqlError};
use datafusion::sql::sqlparser::ast::ObjectName;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Word};

/// A maintenance statement and its table (as written: resolved against the session's zone).
#[derive(Debug, Clone, PartialEq)]
pub enum Maintenance {
    /// Small files rewritten into files near the target size (bytes; None: the default).
    Optimize {
        table: ObjectName,
        target_size: Option<u64>,
    },
    /// Files no retained version needs deleted; `force` allows a retention below a week.
    Vacuum {
        table: ObjectName,
        retain_hours: Option<u64>,
        force: bool,
    },
    /// A plain-Parquet table made a Delta table in place.
    Convert { table: ObjectName },
}

impl Maintenance {
    /// The command tag of its status line.
    pub fn tag(&self) -> &'static str {
        match self {
            Maintenance::Optimize { .. } => "OPTIMIZE",
            Maintenance::Vacuum { .. } => "VACUUM",
            Maintenance::Convert { .. } => "CONVERT TO DELTA",
        }
    }
}

fn keyword(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(word))
}

/// Parses `text` when it starts with OPTIMIZE, VACUUM or CONVERT TO DELTA; None otherwise.
pub fn parse(text: &str) -> Result<Option<Maintenance>> {
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if !matches!(first.as_str(), "OPTIMIZE" | "VACUUM" | "CONVERT") {
        return Ok(None);
    }
    let dialect = StrataDialect::default();
    let syntax =
        |e: datafusion::sql::sqlparser::parser::ParserError| SqlError::Syntax(e.to_string());
    let mut p = Parser::new(&dialect).try_with_sql(text).map_err(syntax)?;
    let expect = |p: &mut Parser, word: &str| -> Result<()> {
        let t = p.next_token();
        match keyword(&t.token, word) {
            true => Ok(()),
            false => Err(SqlError::Syntax(format!(
                "expected {word}, found {}",
                t.token
            ))),
        }
    };
    p.next_token();
    let statement = match first.as_str() {
        "OPTIMIZE" => Maintenance::Optimize {
            table: p.parse_object_name(false).map_err(syntax)?,
            target_size: None,
        },
        "VACUUM" => {
            let table = p.parse_object_name(false).map_err(syntax)?;
            let mut retain_hours = None;
            let mut force = false;
            loop {
                let t = p.peek_token();
                if keyword(&t.token, "RETAIN") {
                    p.next_token();
                    let n = p.parse_literal_uint().map_err(syntax)?;
                    expect(&mut p, "HOURS")?;
                    retain_hours = Some(n);
                } else if keyword(&t.token, "FORCE") {
                    p.next_token();
                    force = true;
                } else {
                    break;
                }
            }
            Maintenance::Vacuum {
                table,
                retain_hours,
                force,
            }
        }
        _ => {
            expect(&mut p, "TO")?;
            expect(&mut p, "DELTA")?;
            Maintenance::Convert {
                table: p.parse_object_name(false).map_err(syntax)?,
            }
        }
    };
    let _ = p.consume_token(&Token::SemiColon);
    let rest = p.peek_token();
    if rest.token != Token::EOF {
        return Err(SqlError::Syntax(format!(
            "unexpected {} after {}",
            rest.token,
            statement.tag()
        )));
    }
    Ok(Some(statement))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ObjectName {
        Parser::new(&StrataDialect::default())
            .try_with_sql(s)
            .unwrap()
            .parse_object_name(false)
            .unwrap()
    }

    #[test]
    fn the_three_statements_parse_with_their_options() {
        assert_eq!(
            parse("optimize raw.crm.orders").unwrap(),
            Some(Maintenance::Optimize {
                table: name("raw.crm.orders"),
                target_size: None
            })
        );
        assert_eq!(
            parse("VACUUM raw.crm.orders RETAIN 0 HOURS FORCE;").unwrap(),
            Some(Maintenance::Vacuum {
                table: name("raw.crm.orders"),
                retain_hours: Some(0),
                force: true
            })
        );
        assert_eq!(
            parse("CONVERT TO DELTA raw.crm.orders").unwrap(),
            Some(Maintenance::Convert {
                table: name("raw.crm.orders")
            })
        );
        assert_eq!(parse("SELECT 1").unwrap(), None);
    }

    #[test]
    fn bad_maintenance_statements_say_what_was_expected() {
        let e = parse("VACUUM t RETAIN 5 DAYS").unwrap_err().to_string();
        assert!(e.contains("expected HOURS"), "{e}");
        let e = parse("CONVERT t").unwrap_err().to_string();
        assert!(e.contains("expected TO"), "{e}");
        let e = parse("OPTIMIZE t please").unwrap_err().to_string();
        assert!(e.contains("unexpected"), "{e}");
    }
}
