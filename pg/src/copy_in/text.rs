//! COPY's text format, as PostgreSQL reads it: one row per line, fields split by the delimiter
//! (tab by default), `\N` for NULL (compared before escapes are undone), and backslash escapes
//! (`\t`, `\n`, `\\`, octal `\123`, hex `\x41`, …). A line `\.` ends the data.
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
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|e| target.bad_line(number + 1, format!("cannot read the data: {e}")))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if line == b"\\." {
            break;
        }
        let fields = split(&line, format, target, number)?;
        if !rows.push(number, fields, emit)? {
            return Ok(rows.rows);
        }
    }
    rows.flush(emit)?;
    Ok(rows.rows)
}

/// One line's fields, escapes undone, NULLs as None.
fn split(
    line: &[u8],
    format: &InputFormat,
    target: &Target,
    number: u64,
) -> Result<Vec<Option<String>>, PgError> {
    let mut fields = Vec::new();
    let mut start = 0;
    loop {
        let mut value = Vec::new();
        let mut i = start;
        while i < line.len() && line[i] != format.delimiter {
            let b = line[i];
            if b != b'\\' {
                value.push(b);
                i += 1;
                continue;
            }
            let Some(&next) = line.get(i + 1) else {
                // A backslash ending the line: PostgreSQL keeps it as it is.
                value.push(b'\\');
                i += 1;
                continue;
            };
            i += 2;
            match next {
                b'b' => value.push(8),
                b'f' => value.push(12),
                b'n' => value.push(b'\n'),
                b'r' => value.push(b'\r'),
                b't' => value.push(b'\t'),
                b'v' => value.push(11),
                b'0'..=b'7' => {
                    let mut v = (next - b'0') as u32;
                    for _ in 0..2 {
                        match line.get(i) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + (d - b'0') as u32;
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    value.push(v as u8);
                }
                b'x' if line.get(i).is_some_and(|d| d.is_ascii_hexdigit()) => {
                    let mut v = 0u32;
                    for _ in 0..2 {
                        match line.get(i) {
                            Some(d) if d.is_ascii_hexdigit() => {
                                v = v * 16 + (*d as char).to_digit(16).expect("hex digit");
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    value.push(v as u8);
                }
                other => value.push(other),
            }
        }
        let raw = &line[start..i];
        if raw == format.null.as_bytes() {
            fields.push(None);
        } else {
            fields.push(Some(String::from_utf8(value).map_err(|_| {
                PgError::new(
                    CHARACTER_NOT_IN_REPERTOIRE,
                    format!(
                        "invalid byte sequence for encoding \"UTF8\" (COPY {}, line {number})",
                        target.table
                    ),
                )
            })?));
        }
        if i >= line.len() {
            return Ok(fields);
        }
        start = i + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{options, run, target};
    use strata_sql::CopyFormat;

    #[test]
    fn text_rows_with_nulls_and_escapes() {
        let input = b"1\tann\t1.5\t2026-01-02\t2026-01-25 08:15:00+00\tt\n\
                      2\ttab\\there\\nnew\t\\N\t\\N\t\\N\tno\n\
                      3\t\\101\\x42\\\\\t-2\t2026-02-28\t2026-01-25 10:00:00+02\toff\r\n\\.\nignored\n";
        let out = run(input, &options(CopyFormat::Text), &target()).unwrap();
        assert_eq!(
            out,
            "+----+----------+-------+------------+----------------------+-------+\n\
             | id | name     | score | day        | at                   | ok    |\n\
             +----+----------+-------+------------+----------------------+-------+\n\
             | 1  | ann      | 1.5   | 2026-01-02 | 2026-01-25T08:15:00Z | true  |\n\
             | 2  | tab\there |       |            |                      | false |\n\
             |    | new      |       |            |                      |       |\n\
             | 3  | AB\\      | -2.0  | 2026-02-28 | 2026-01-25T08:00:00Z | false |\n\
             +----+----------+-------+------------+----------------------+-------+"
        );
    }

    #[test]
    fn a_bad_value_names_line_column_and_value() {
        let input =
            b"1\ta\t1\t2026-01-01\t2026-01-01 00:00:00+00\tt\nx2\tb\t1\t2026-01-01\t\\N\tt\n";
        let e = run(input, &options(CopyFormat::Text), &target()).unwrap_err();
        assert_eq!(
            e,
            "22P02: invalid input syntax for type bigint: \"x2\" (COPY raw.t.x, line 2, column id)"
        );
    }

    #[test]
    fn ragged_rows_name_their_line() {
        let e = run(b"1\ta\n", &options(CopyFormat::Text), &target()).unwrap_err();
        assert_eq!(
            e,
            "22P04: missing data for column \"score\" (COPY raw.t.x, line 1)"
        );
        let e = run(
            b"1\ta\t1\t\\N\t\\N\tt\n2\tb\t1\t\\N\t\\N\tt\textra\n",
            &options(CopyFormat::Text),
            &target(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "22P04: extra data after last expected column (COPY raw.t.x, line 2)"
        );
    }

    #[test]
    fn delimiter_null_and_a_column_subset() {
        let mut o = options(CopyFormat::Text);
        o.delimiter = Some('|');
        o.null = Some("-".into());
        let mut t = target();
        t.columns = vec![1, 0];
        let out = run(b"x\\|y|7\n-|8\n", &o, &t).unwrap();
        assert!(out.contains("| 7  | x|y  |"), "{out}");
        assert!(out.contains("| 8  |      |"), "{out}");
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let e = run(
            b"1\t\\377\t1\t\\N\t\\N\tt\n",
            &options(CopyFormat::Text),
            &target(),
        )
        .unwrap_err();
        assert!(e.starts_with("22021: invalid byte sequence"), "{e}");
    }

    #[test]
    fn empty_input_is_no_rows() {
        assert_eq!(
            run(b"", &options(CopyFormat::Text), &target()).unwrap(),
            "++\n++"
        );
    }
}
