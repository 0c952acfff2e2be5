//! `COPY (query) TO STDOUT` and `COPY table TO STDOUT`: how psql's `\copy` and drivers export
//! fast. The statement becomes a query and its output options; a front end (the Postgres server)
//! writes the rows in that format. `COPY table FROM STDIN` is read here too (table, columns,
//! options); the front end receives and decodes the rows.
use crate::{Result, SqlError};
use datafusion::sql::sqlparser::ast::{
    self, CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// How the rows of a COPY TO STDOUT are written.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub format: CopyFormat,
    pub header: bool,
    pub delimiter: Option<char>,
    pub null: Option<String>,
    pub quote: Option<char>,
    pub escape: Option<char>,
}

/// The query and options of a `COPY … TO STDOUT`; None for any other statement.
pub fn copy_to_stdout(stmt: &ast::Statement) -> Option<Result<(ast::Statement, CopyOptions)>> {
    let ast::Statement::Copy {
        source,
        to,
        target,
        options,
        legacy_options,
        ..
    } = stmt
    else {
        return None;
    };
    if !*to || !matches!(target, CopyTarget::Stdout) {
        return None;
    }
    Some(build(source, options, legacy_options))
}

/// The table, columns and options of a `COPY table [(columns)] FROM STDIN`; None for any other
/// statement. The rows come from the front end (the Postgres server's COPY protocol).
pub fn copy_from_stdin(
    stmt: &ast::Statement,
) -> Option<Result<(ast::ObjectName, Vec<ast::Ident>, CopyOptions)>> {
    let ast::Statement::Copy {
        source: CopySource::Table {
            table_name,
            columns,
        },
        to: false,
        target: CopyTarget::Stdin,
        options,
        legacy_options,
        ..
    } = stmt
    else {
        return None;
    };
    Some(parse_options(options, legacy_options).map(|o| (table_name.clone(), columns.clone(), o)))
}

fn build(
    source: &CopySource,
    options: &[CopyOption],
    legacy: &[CopyLegacyOption],
) -> Result<(ast::Statement, CopyOptions)> {
    let query = match source {
        CopySource::Query(q) => ast::Statement::Query(q.clone()),
        CopySource::Table {
            table_name,
            columns,
        } => {
            let cols = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sql = format!("SELECT {cols} FROM {table_name}");
            let dialect = crate::dialect::StrataDialect::default();
            let mut stmts = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, &sql)
                .map_err(|e| SqlError::Syntax(e.to_string()))?;
            stmts.pop().expect("one statement")
        }
    };
    Ok((query, parse_options(options, legacy)?))
}

/// FORMAT, HEADER, DELIMITER, NULL, QUOTE and ESCAPE, in the new and the legacy syntax.
fn parse_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyOptions> {
    let mut o = CopyOptions {
        format: CopyFormat::Text,
        header: false,
        delimiter: None,
        null: None,
        quote: None,
        escape: None,
    };
    for opt in options {
        match opt {
            CopyOption::Format(f) => {
                o.format = match f.value.to_ascii_lowercase().as_str() {
                    "text" => CopyFormat::Text,
                    "csv" => CopyFormat::Csv,
                    "binary" => CopyFormat::Binary,
                    other => {
                        return Err(SqlError::Syntax(format!(
                            "COPY format \"{other}\" not recognized"
                        )))
                    }
                }
            }
            CopyOption::Header(h) => o.header = *h,
            CopyOption::Delimiter(c) => o.delimiter = Some(*c),
            CopyOption::Null(n) => o.null = Some(n.clone()),
            CopyOption::Quote(c) => o.quote = Some(*c),
            CopyOption::Escape(c) => o.escape = Some(*c),
            _ => {}
        }
    }
    for opt in legacy {
        match opt {
            CopyLegacyOption::Binary => o.format = CopyFormat::Binary,
            CopyLegacyOption::Header => o.header = true,
            CopyLegacyOption::Delimiter(c) => o.delimiter = Some(*c),
            CopyLegacyOption::Null(n) => o.null = Some(n.clone()),
            CopyLegacyOption::Csv(csv) => {
                o.format = CopyFormat::Csv;
                for c in csv {
                    match c {
                        CopyLegacyCsvOption::Header => o.header = true,
                        CopyLegacyCsvOption::Quote(q) => o.quote = Some(*q),
                        CopyLegacyCsvOption::Escape(e) => o.escape = Some(*e),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if o.header && o.format != CopyFormat::Csv {
        return Err(SqlError::new(
            crate::ErrorKind::NotSupported,
            "COPY HEADER is available only in CSV mode",
        ));
    }
    Ok(o)
}
