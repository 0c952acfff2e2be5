//! COPY's binary format, as PostgreSQL writes it: the `PGCOPY` signature, flags and header
//! extension, then per row a field count and per field a length (-1 for NULL) and the value in
//! PostgreSQL's binary form (network byte order), and a count of -1 at the end. Lengths are
//! never trusted for allocation: a field is read as far as the data goes.
use super::{Target, BATCH_ROWS};
use crate::sqlstate::{PgError, CHARACTER_NOT_IN_REPERTOIRE, FEATURE_NOT_SUPPORTED};
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, LargeBinaryBuilder,
    LargeStringBuilder, RecordBatch, StringBuilder, StringViewBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder, TimestampNanosecondBuilder,
    TimestampSecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use std::io::{BufRead, Read};
use std::sync::Arc;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Days and microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const EPOCH_DAYS: i32 = 10_957;
const EPOCH_MICROS: i64 = 946_684_800_000_000;

pub(super) fn decode(
    input: &mut dyn BufRead,
    target: &Target,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<u64, PgError> {
    let bad = |row: u64, m: &str| target.bad_line(row, m);
    let mut header = [0u8; 19];
    read_exact(input, &mut header).map_err(|_| bad(0, "COPY file signature not recognized"))?;
    if &header[..11] != SIGNATURE {
        return Err(bad(0, "COPY file signature not recognized"));
    }
    let flags = u32::from_be_bytes(header[11..15].try_into().expect("4 bytes"));
    if flags & (1 << 16) != 0 {
        return Err(bad(0, "COPY with OIDs is not supported"));
    }
    if flags & 0xffff_0000 & !(1 << 16) != 0 {
        return Err(bad(0, "unrecognized critical flags in COPY file header"));
    }
    let extension = u32::from_be_bytes(header[15..19].try_into().expect("4 bytes"));
    let skipped = std::io::copy(
        &mut (&mut *input).take(extension as u64),
        &mut std::io::sink(),
    )
    .map_err(|_| bad(0, "invalid COPY file header (missing extension)"))?;
    if skipped != extension as u64 {
        return Err(bad(0, "invalid COPY file header (missing extension)"));
    }
    let width = target.columns.len();
    let mut columns: Vec<Vec<Option<Vec<u8>>>> = vec![Vec::with_capacity(BATCH_ROWS); width];
    let mut first_row = 1u64;
    let mut row = 0u64;
    loop {
        let mut count = [0u8; 2];
        if read_exact(input, &mut count).is_err() {
            // PostgreSQL accepts data that ends without the trailer only when nothing follows.
            return Err(bad(row + 1, "unexpected EOF in COPY data"));
        }
        let count = i16::from_be_bytes(count);
        if count == -1 {
            break;
        }
        row += 1;
        if count as usize != width || count < 0 {
            return Err(bad(
                row,
                &format!("row field count is {count}, expected {width}"),
            ));
        }
        for column in columns.iter_mut() {
            let mut len = [0u8; 4];
            read_exact(input, &mut len).map_err(|_| bad(row, "unexpected EOF in COPY data"))?;
            let len = i32::from_be_bytes(len);
            if len == -1 {
                column.push(None);
                continue;
            }
            if len < 0 {
                return Err(bad(row, "invalid field size"));
            }
            let mut value = Vec::new();
            (&mut *input)
                .take(len as u64)
                .read_to_end(&mut value)
                .map_err(|_| bad(row, "unexpected EOF in COPY data"))?;
            if value.len() != len as usize {
                return Err(bad(row, "unexpected EOF in COPY data"));
            }
            column.push(Some(value));
        }
        if (row - first_row + 1) as usize >= BATCH_ROWS {
            if !flush(&mut columns, target, first_row, emit)? {
                return Ok(row);
            }
            first_row = row + 1;
        }
    }
    flush(&mut columns, target, first_row, emit)?;
    Ok(row)
}

fn read_exact(input: &mut dyn BufRead, buf: &mut [u8]) -> std::io::Result<()> {
    input.read_exact(buf)
}

fn flush(
    columns: &mut [Vec<Option<Vec<u8>>>],
    target: &Target,
    first_row: u64,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<bool, PgError> {
    let rows = columns.first().map_or(0, |c| c.len());
    if rows == 0 {
        return Ok(true);
    }
    let mut arrays = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter_mut().enumerate() {
        let field = target.schema.field(target.columns[i]);
        let values = std::mem::replace(column, Vec::with_capacity(BATCH_ROWS));
        arrays.push(column_of(&values, field, target, first_row)?);
    }
    Ok(emit(target.batch(arrays, rows)?))
}

/// One column of binary values as an array of `field`'s type.
fn column_of(
    values: &[Option<Vec<u8>>],
    field: &Field,
    target: &Target,
    first_row: u64,
) -> Result<ArrayRef, PgError> {
    let bad = |row: usize, what: &str| {
        target.bad_line(
            first_row + row as u64,
            format!(
                "invalid binary {what} for column {} of type {}",
                field.name(),
                crate::pg_type_name(field.data_type())
            ),
        )
    };
    // An integer of 2, 4 or 8 bytes, whichever the client sent.
    let int = |row: usize, v: &[u8]| -> Result<i64, PgError> {
        Ok(match v.len() {
            2 => i16::from_be_bytes(v.try_into().expect("2")) as i64,
            4 => i32::from_be_bytes(v.try_into().expect("4")) as i64,
            8 => i64::from_be_bytes(v.try_into().expect("8")),
            _ => return Err(bad(row, "integer")),
        })
    };
    let float = |row: usize, v: &[u8]| -> Result<f64, PgError> {
        Ok(match v.len() {
            4 => f32::from_be_bytes(v.try_into().expect("4")) as f64,
            8 => f64::from_be_bytes(v.try_into().expect("8")),
            _ => return Err(bad(row, "float")),
        })
    };
    let text = |row: usize, v: &[u8]| -> Result<String, PgError> {
        String::from_utf8(v.to_vec()).map_err(|_| {
            PgError::new(
                CHARACTER_NOT_IN_REPERTOIRE,
                format!(
                    "invalid byte sequence for encoding \"UTF8\" (COPY {}, line {}, column {})",
                    target.table,
                    first_row + row as u64,
                    field.name()
                ),
            )
        })
    };
    let micros = |row: usize, v: &[u8]| -> Result<i64, PgError> {
        let v: [u8; 8] = v.try_into().map_err(|_| bad(row, "timestamp"))?;
        Ok(i64::from_be_bytes(v).saturating_add(EPOCH_MICROS))
    };
    macro_rules! build {
        ($builder:expr, |$row:ident, $v:ident| $convert:expr) => {{
            let mut b = $builder;
            for ($row, value) in values.iter().enumerate() {
                match value {
                    None => b.append_null(),
                    Some($v) => b.append_value($convert),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    let narrow = |row: usize, v: i64, min: i64, max: i64| -> Result<i64, PgError> {
        if v < min || v > max {
            Err(target.bad_line(
                first_row + row as u64,
                format!(
                    "value {v} is out of range for column {} of type {}",
                    field.name(),
                    crate::pg_type_name(field.data_type())
                ),
            ))
        } else {
            Ok(v)
        }
    };
    Ok(match field.data_type() {
        DataType::Boolean => build!(BooleanBuilder::new(), |row, v| match v.as_slice() {
            [b] => *b != 0,
            _ => return Err(bad(row, "boolean")),
        }),
        DataType::Int16 => build!(Int16Builder::new(), |row, v| narrow(
            row,
            int(row, v)?,
            i16::MIN as i64,
            i16::MAX as i64
        )? as i16),
        DataType::Int32 => build!(Int32Builder::new(), |row, v| narrow(
            row,
            int(row, v)?,
            i32::MIN as i64,
            i32::MAX as i64
        )? as i32),
        DataType::Int64 => build!(Int64Builder::new(), |row, v| int(row, v)?),
        DataType::Float32 => build!(Float32Builder::new(), |row, v| float(row, v)? as f32),
        DataType::Float64 => build!(Float64Builder::new(), |row, v| float(row, v)?),
        DataType::Utf8 => build!(StringBuilder::new(), |row, v| text(row, v)?),
        DataType::LargeUtf8 => build!(LargeStringBuilder::new(), |row, v| text(row, v)?),
        DataType::Utf8View => build!(StringViewBuilder::new(), |row, v| text(row, v)?),
        DataType::Binary => build!(BinaryBuilder::new(), |_row, v| v),
        DataType::LargeBinary => build!(LargeBinaryBuilder::new(), |_row, v| v),
        DataType::Date32 => build!(Date32Builder::new(), |row, v| {
            let v: [u8; 4] = v.as_slice().try_into().map_err(|_| bad(row, "date"))?;
            i32::from_be_bytes(v).saturating_add(EPOCH_DAYS)
        }),
        DataType::Time64(TimeUnit::Microsecond) => {
            build!(Time64MicrosecondBuilder::new(), |row, v| {
                let v: [u8; 8] = v.as_slice().try_into().map_err(|_| bad(row, "time"))?;
                i64::from_be_bytes(v)
            })
        }
        DataType::Timestamp(unit, tz) => {
            let tz = tz.clone();
            match unit {
                TimeUnit::Microsecond => build!(
                    TimestampMicrosecondBuilder::new().with_timezone_opt(tz),
                    |row, v| micros(row, v)?
                ),
                TimeUnit::Millisecond => build!(
                    TimestampMillisecondBuilder::new().with_timezone_opt(tz),
                    |row, v| micros(row, v)?.div_euclid(1000)
                ),
                TimeUnit::Second => build!(
                    TimestampSecondBuilder::new().with_timezone_opt(tz),
                    |row, v| micros(row, v)?.div_euclid(1_000_000)
                ),
                TimeUnit::Nanosecond => build!(
                    TimestampNanosecondBuilder::new().with_timezone_opt(tz),
                    |row, v| micros(row, v)?
                        .checked_mul(1000)
                        .ok_or_else(|| bad(row, "timestamp"))?
                ),
            }
        }
        DataType::Decimal128(precision, scale) => {
            let (p, s) = (*precision, *scale);
            let array = build!(Decimal128Builder::new(), |row, v| numeric(v, s)
                .ok_or_else(|| bad(row, "numeric"))?);
            let array = array
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Decimal128Array>()
                .expect("decimal")
                .clone()
                .with_precision_and_scale(p, s)
                .map_err(|e| bad(0, &e.to_string()))?;
            Arc::new(array)
        }
        other => {
            return Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "binary COPY into column {} of type {} is not supported; use FORMAT csv",
                    field.name(),
                    crate::pg_type_name(other)
                ),
            ))
        }
    })
}

/// PostgreSQL's binary numeric (digit count, weight, sign, display scale, base-10000 digits)
/// as an integer at `scale`; None for NaN, infinities, or a value that does not fit.
fn numeric(v: &[u8], scale: i8) -> Option<i128> {
    let word =
        |i: usize| -> Option<i16> { Some(i16::from_be_bytes(v.get(i..i + 2)?.try_into().ok()?)) };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i32;
    let sign = word(4)? as u16;
    if v.len() != 8 + 2 * ndigits || !(sign == 0 || sign == 0x4000) {
        return None;
    }
    // value = Σ digit_i × 10000^(weight − i); scaled by 10^scale.
    let mut value: i128 = 0;
    let mut exponent = 0i32; // power of 10 of the last digit taken
    for i in 0..ndigits {
        let digit = word(8 + 2 * i)? as i128;
        if !(0..10000).contains(&digit) {
            return None;
        }
        value = value.checked_mul(10000)?.checked_add(digit)?;
        exponent = 4 * (weight - i as i32);
    }
    if ndigits == 0 {
        return Some(0);
    }
    let shift = exponent + scale as i32;
    let scaled = if shift >= 0 {
        value.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else {
        let divisor = 10i128.checked_pow((-shift) as u32)?;
        if value % divisor != 0 {
            return None; // more fraction digits than the column keeps
        }
        value / divisor
    };
    Some(if sign == 0x4000 { -scaled } else { scaled })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{options, run, target};
    use super::*;
    use strata_sql::CopyFormat;

    /// A binary COPY stream of the given rows (each field already encoded).
    fn stream(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for f in row {
                match f {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(b) => {
                        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        out.extend_from_slice(b);
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn row(id: i64, name: &str) -> Vec<Option<Vec<u8>>> {
        vec![
            Some(id.to_be_bytes().to_vec()),
            Some(name.as_bytes().to_vec()),
            Some(2.5f64.to_be_bytes().to_vec()),
            // 2026-01-02 is 9498 days after 2000-01-01.
            Some(9498i32.to_be_bytes().to_vec()),
            // 2026-01-25 08:15:00 UTC in µs since 2000-01-01.
            Some(
                (1_769_328_900_000_000i64 - EPOCH_MICROS)
                    .to_be_bytes()
                    .to_vec(),
            ),
            Some(vec![1]),
        ]
    }

    #[test]
    fn binary_rows_decode() {
        let mut nulls = vec![None; 6];
        nulls[0] = Some(7i32.to_be_bytes().to_vec()); // an int4 into a bigint column
        let out = run(
            &stream(&[row(1, "ann"), nulls]),
            &options(CopyFormat::Binary),
            &target(),
        )
        .unwrap();
        assert_eq!(
            out,
            "+----+------+-------+------------+----------------------+------+\n\
             | id | name | score | day        | at                   | ok   |\n\
             +----+------+-------+------------+----------------------+------+\n\
             | 1  | ann  | 2.5   | 2026-01-02 | 2026-01-25T08:15:00Z | true |\n\
             | 7  |      |       |            |                      |      |\n\
             +----+------+-------+------------+----------------------+------+"
        );
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let o = options(CopyFormat::Binary);
        let e = run(b"not a copy file at all", &o, &target()).unwrap_err();
        assert_eq!(
            e,
            "22P04: COPY file signature not recognized (COPY raw.t.x)"
        );
        let full = stream(&[row(1, "a"), row(2, "b")]);
        for cut in 19..full.len() - 1 {
            let e = run(&full[..cut], &o, &target()).unwrap_err();
            assert!(e.starts_with("22P04: "), "cut at {cut}: {e}");
        }
        // A length far beyond the data allocates nothing big and is an error.
        let mut huge = stream(&[]);
        huge.truncate(huge.len() - 2);
        huge.extend_from_slice(&6i16.to_be_bytes());
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        let e = run(&huge, &o, &target()).unwrap_err();
        assert_eq!(
            e,
            "22P04: unexpected EOF in COPY data (COPY raw.t.x, line 1)"
        );
        let mut short = row(1, "a");
        short.pop();
        let e = run(&stream(&[short]), &o, &target()).unwrap_err();
        assert_eq!(
            e,
            "22P04: row field count is 5, expected 6 (COPY raw.t.x, line 1)"
        );
        let mut odd = row(1, "a");
        odd[0] = Some(vec![1, 2, 3]);
        let e = run(&stream(&[row(1, "a"), odd]), &o, &target()).unwrap_err();
        assert_eq!(
            e,
            "22P04: invalid binary integer for column id of type bigint (COPY raw.t.x, line 2)"
        );
    }

    #[test]
    fn numerics_scale_exactly() {
        // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3.
        let mut v = vec![];
        for w in [3i16, 1, 0, 3, 1, 2345, 6780] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&v, 3), Some(12_345_678));
        assert_eq!(numeric(&v, 4), Some(123_456_780));
        assert_eq!(numeric(&v, 2), None);
        v[4..6].copy_from_slice(&0x4000u16.to_be_bytes());
        assert_eq!(numeric(&v, 3), Some(-12_345_678));
        let zero = [0u8, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(numeric(&zero, 2), Some(0));
        // 0.05 = digit [500], weight -1.
        let mut v = vec![];
        for w in [1i16, -1, 0, 2, 500] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&v, 2), Some(5));
    }
}
