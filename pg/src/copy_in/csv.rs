//! COPY's CSV format, as PostgreSQL reads it: fields split by the delimiter (`,`), quoted
//! fields may hold delimiters, quotes (doubled, or after ESCAPE) and newlines, an unquoted
//! field equal to NULL (empty by default) is NULL while a quoted one never is, HEADER skips
//! the first line, and a line `\.` ends the data. Errors name the line the row starts on.
use super::{InputFormat, Target, TextRows};
use crate::sqlstate::{PgError, CHARACTER_NOT_IN_REPERTOIRE};
use datafusion::arrow::array::RecordBatch;
use std::io::BufRead;

pub(super) fn decode(
    input: &mut dyn BufRead,
    format: &InputFormat,
    target: &Target,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<u64, PgError> {
    let mut rows = TextRows::new(target);
    let mut reader = Lines {
        input,
        line: Vec::new(),
        number: 0,
        target,
    };
    let mut first = true;
    while reader.next()? {
        let start = reader.number;
        if first && format.header {
            // The header is one record: its quoted fields may span lines too.
            first = false;
            record(&mut reader, format)?;
            continue;
        }
        first = false;
        if trimmed(&reader.line) == b"\\." {
            break;
        }
        let fields = record(&mut reader, format)?;
        if !rows.push(start, fields, emit)? {
            return Ok(rows.rows);
        }
    }
    rows.flush(emit)?;
    Ok(rows.rows)
}

/// The input line by line, newlines kept (a quoted field may hold them).
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    line: Vec<u8>,
    number: u64,
    target: &'a Target,
}

impl Lines<'_> {
    /// Reads the next line into `line`; false at the end.
    fn next(&mut self) -> Result<bool, PgError> {
        self.line.clear();
        let read = self.input.read_until(b'\n', &mut self.line).map_err(|e| {
            self.target
                .bad_line(self.number + 1, format!("cannot read the data: {e}"))
        })?;
        if read == 0 {
            return Ok(false);
        }
        self.number += 1;
        Ok(true)
    }
}

/// A line without its line end.
fn trimmed(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The fields of the record starting at the current line, reading more lines while a quoted
/// field is open.
fn record(lines: &mut Lines<'_>, format: &InputFormat) -> Result<Vec<Option<String>>, PgError> {
    let start = lines.number;
    let (delimiter, quote, escape) = (format.delimiter, format.quote, format.escape);
    let mut fields = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut quoted = false; // the field had a quoted part (so it is never NULL)
    let mut in_quotes = false;
    let mut line = std::mem::take(&mut lines.line);
    let mut i = 0;
    loop {
        if i >= line.len() {
            if in_quotes {
                // The quoted field goes on on the next line.
                lines.line = std::mem::take(&mut line);
                if !lines.next()? {
                    return Err(lines
                        .target
                        .bad_line(start, "unterminated CSV quoted field"));
                }
                line = std::mem::take(&mut lines.line);
                i = 0;
                continue;
            }
            break;
        }
        let b = line[i];
        if in_quotes {
            if b == escape && line.get(i + 1).is_some_and(|&n| n == quote || n == escape) {
                value.push(line[i + 1]);
                i += 2;
            } else if b == quote {
                in_quotes = false;
                i += 1;
            } else {
                value.push(b);
                i += 1;
            }
            continue;
        }
        match b {
            b'\n' => break,
            b'\r' if line.get(i + 1) == Some(&b'\n') || i + 1 == line.len() => break,
            _ if b == delimiter => {
                fields.push(field(&mut value, quoted, format, lines.target, start)?);
                quoted = false;
                i += 1;
            }
            _ if b == quote => {
                in_quotes = true;
                quoted = true;
                i += 1;
            }
            _ => {
                value.push(b);
                i += 1;
            }
        }
    }
    fields.push(field(&mut value, quoted, format, lines.target, start)?);
    lines.line = line;
    Ok(fields)
}

fn field(
    value: &mut Vec<u8>,
    quoted: bool,
    format: &InputFormat,
    target: &Target,
    line: u64,
) -> Result<Option<String>, PgError> {
    let bytes = std::mem::take(value);
    if !quoted && bytes == format.null.as_bytes() {
        return Ok(None);
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        PgError::new(
            CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\" (COPY {}, line {line})",
                target.table
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{options, run, target};
    use strata_sql::CopyFormat;

    #[test]
    fn csv_with_header_quotes_newlines_and_nulls() {
        let mut o = options(CopyFormat::Csv);
        o.header = true;
        let input = b"id,name,score,day,at,ok\n\
                      1,\"a, \"\"quoted\"\" name\",1.5,2026-01-02,2026-01-25 08:15:00+00,true\n\
                      2,\"two\nlines\",,,,false\r\n\
                      3,\"\",-1e3,2026-03-01,2026-01-25 08:15:00Z,1\n";
        let out = run(input, &o, &target()).unwrap();
        assert_eq!(
            out,
            "+----+------------------+---------+------------+----------------------+-------+\n\
             | id | name             | score   | day        | at                   | ok    |\n\
             +----+------------------+---------+------------+----------------------+-------+\n\
             | 1  | a, \"quoted\" name | 1.5     | 2026-01-02 | 2026-01-25T08:15:00Z | true  |\n\
             | 2  | two              |         |            |                      | false |\n\
             |    | lines            |         |            |                      |       |\n\
             | 3  |                  | -1000.0 | 2026-03-01 | 2026-01-25T08:15:00Z | true  |\n\
             +----+------------------+---------+------------+----------------------+-------+"
        );
    }

    #[test]
    fn quoted_empty_is_text_and_unquoted_empty_is_null() {
        let mut t = target();
        t.columns = vec![0, 1];
        let mut batches_text = run(b"1,\"\"\n2,\n", &options(CopyFormat::Csv), &t).unwrap();
        batches_text.retain(|c| c != ' ');
        assert!(batches_text.contains("|1||"), "{batches_text}");
        // A NULL string of its own: empty fields are then text.
        let mut o = options(CopyFormat::Csv);
        o.null = Some("NULL".into());
        let out = run(b"1,NULL\n2,\n", &o, &t).unwrap();
        assert_eq!(out.matches("|      |").count(), 2, "{out}");
    }

    #[test]
    fn delimiter_quote_and_escape_options() {
        let mut o = options(CopyFormat::Csv);
        o.delimiter = Some(';');
        o.quote = Some('\'');
        o.escape = Some('\\');
        let mut t = target();
        t.columns = vec![0, 1];
        let out = run(b"1;'it\\'s; fine'\n\\.\n", &o, &t).unwrap();
        assert!(out.contains("| 1  | it's; fine |"), "{out}");
    }

    #[test]
    fn ragged_and_bad_rows_name_their_line() {
        let mut t = target();
        t.columns = vec![0, 1];
        let e = run(b"1,a\n2\n", &options(CopyFormat::Csv), &t).unwrap_err();
        assert_eq!(
            e,
            "22P04: missing data for column \"name\" (COPY raw.t.x, line 2)"
        );
        let e = run(b"1,\"a\nb\"\n2,b,c\n", &options(CopyFormat::Csv), &t).unwrap_err();
        assert_eq!(
            e,
            "22P04: extra data after last expected column (COPY raw.t.x, line 3)"
        );
        let e = run(b"1,a\nzz,b\n", &options(CopyFormat::Csv), &t).unwrap_err();
        assert_eq!(
            e,
            "22P02: invalid input syntax for type bigint: \"zz\" (COPY raw.t.x, line 2, column id)"
        );
        let e = run(b"1,\"open\n", &options(CopyFormat::Csv), &t).unwrap_err();
        assert_eq!(
            e,
            "22P04: unterminated CSV quoted field (COPY raw.t.x, line 1)"
        );
    }
}
