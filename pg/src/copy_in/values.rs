//! PostgreSQL's text form of a value to Arrow, column by column (text and CSV COPY): text
//! columns take the value as it is, bytea its `\x` hex form, and the rest go through Arrow's
//! cast; a value the cast refuses is an error naming its line, column and value, with 22P02
//! as PostgreSQL's `invalid input syntax` has.
use super::Target;
use crate::sqlstate::{PgError, INVALID_TEXT_REPRESENTATION};
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, LargeBinaryBuilder, LargeStringArray, StringArray,
    StringViewArray,
};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field};
use std::sync::Arc;

/// One column of text values as an array of `field`'s type.
pub(super) fn from_text(
    values: &[Option<String>],
    field: &Field,
    lines: &[u64],
    target: &Target,
) -> Result<ArrayRef, PgError> {
    let bad = |row: usize, value: &str| {
        PgError::new(
            INVALID_TEXT_REPRESENTATION,
            format!(
                "invalid input syntax for type {}: \"{value}\" (COPY {}, line {}, column {})",
                crate::pg_type_name(field.data_type()),
                target.table,
                lines[row],
                field.name()
            ),
        )
    };
    let strs = || values.iter().map(|v| v.as_deref());
    Ok(match field.data_type() {
        DataType::Utf8 => Arc::new(StringArray::from_iter(strs())),
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from_iter(strs())),
        DataType::Utf8View => Arc::new(StringViewArray::from_iter(strs())),
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            for (row, v) in values.iter().enumerate() {
                match v {
                    None => b.append_null(),
                    Some(s) => b.append_value(bytea(s).ok_or_else(|| bad(row, s))?),
                }
            }
            Arc::new(b.finish())
        }
        DataType::LargeBinary => {
            let mut b = LargeBinaryBuilder::new();
            for (row, v) in values.iter().enumerate() {
                match v {
                    None => b.append_null(),
                    Some(s) => b.append_value(bytea(s).ok_or_else(|| bad(row, s))?),
                }
            }
            Arc::new(b.finish())
        }
        target_type => {
            // PostgreSQL allows blanks around numbers, booleans and dates, and writes a
            // whole-hour offset as `+01`, which Arrow reads as `+01:00`.
            let timestamptz = matches!(target_type, DataType::Timestamp(_, Some(_)));
            let input = StringArray::from_iter(values.iter().map(|v| {
                v.as_deref().map(|s| {
                    let s = s.trim();
                    if timestamptz {
                        whole_hour_offset(s)
                    } else {
                        s.to_string()
                    }
                })
            }));
            let options = CastOptions {
                safe: true,
                ..Default::default()
            };
            let out = cast_with_options(&input, target_type, &options).map_err(|e| {
                PgError::new(
                    crate::sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "COPY into column {} of type {} is not supported: {e}",
                        field.name(),
                        crate::pg_type_name(target_type)
                    ),
                )
            })?;
            // A value the cast could not read comes out NULL.
            if out.null_count() != input.null_count() {
                let row = (0..input.len())
                    .find(|&i| input.is_valid(i) && out.is_null(i))
                    .expect("a value became NULL");
                return Err(bad(row, values[row].as_deref().unwrap_or_default()));
            }
            out
        }
    })
}

/// bytea's text forms: `\x` and hex digits, or the escape form (backslash and three octal
/// digits, `\\` for a backslash, other bytes as they are).
fn bytea(s: &str) -> Option<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x") {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() % 2 != 0 {
            return None;
        }
        return digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
            .collect();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = b.get(i + 1..i + 4)?;
            if !octal.iter().all(|d| (b'0'..=b'7').contains(d)) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(octal).ok()?, 8).ok()?);
            i += 4;
        }
    }
    Some(out)
}

/// `2026-01-25 08:15:00+01` → `…+01:00`; anything else unchanged.
fn whole_hour_offset(s: &str) -> String {
    let b = s.as_bytes();
    let n = b.len();
    if n > 3
        && matches!(b[n - 3], b'+' | b'-')
        && b[n - 2].is_ascii_digit()
        && b[n - 1].is_ascii_digit()
        && b[n - 4].is_ascii_digit()
        && s[..n - 3].contains(':')
    {
        format!("{s}:00")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_reads_hex_and_escape_forms() {
        assert_eq!(bytea("\\x00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(bytea("a\\\\b\\001").unwrap(), b"a\\b\x01".to_vec());
        assert_eq!(bytea("\\x0"), None);
        assert_eq!(bytea("\\9zz"), None);
    }

    #[test]
    fn whole_hour_offsets_gain_minutes() {
        assert_eq!(
            whole_hour_offset("2026-01-25 08:15:00+01"),
            "2026-01-25 08:15:00+01:00"
        );
        assert_eq!(whole_hour_offset("2026-01-25"), "2026-01-25");
        assert_eq!(
            whole_hour_offset("2026-01-25 08:15:00-05:30"),
            "2026-01-25 08:15:00-05:30"
        );
    }
}
