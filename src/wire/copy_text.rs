//! `COPY … TO STDOUT` in text and CSV, a batch at a time.
//!
//! Each column is rendered into one buffer by a loop specialised for its Arrow type, escaped
//! (or quoted) only when the rendered column holds a byte that needs it, and the rows are then
//! stitched into one allocation that every row's CopyData shares. Clients expect one CopyData
//! per row (psycopg's `Copy.rows()` parses each message as a row), so rows stay separate
//! messages. The value-at-a-time path through arrow-pg streamed lineitem at 0.3× PostgreSQL.
use arrow_pg::encoder::{encode_value, Encoder};
use bytes::{Bytes, BytesMut};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, LargeStringArray, PrimitiveArray,
    RecordBatch, StringArray,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::cast;
use super::pg_text::{self, Zone};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, Field, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, IntervalDayTimeType, IntervalMonthDayNanoType,
    IntervalUnit, IntervalYearMonthType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt8Type,
};
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::copy::CopyData;
use pgwire::types::format::FormatOptions;
use pgwire::types::ToSqlText;
use postgres_types::{IsNull, ToSql, Type};
use std::sync::Arc;

/// How values are separated, written when NULL, and quoted.
#[derive(Debug, Clone)]
pub struct TextFormat {
    pub delimiter: u8,
    pub null: Vec<u8>,
    /// CSV's quote character; None for the text format (backslash escapes).
    pub quote: Option<u8>,
    /// CSV's escape for a quote (or itself) inside a quoted value; the quote by default.
    pub escape: u8,
    /// The session's TimeZone, which timestamptz values are printed in.
    pub time_zone: Zone,
}

/// One column rendered: value `i` is `bytes[ends[i - 1]..ends[i]]`; NULLs are empty and
/// flagged.
pub(super) struct Column {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    null: Vec<bool>,
    /// Rendered by a loop for numbers, dates, timestamps or booleans: the bytes come from
    /// [`TYPED_ALPHABET`] and no value is empty.
    typed: bool,
}

/// Every byte a typed column's text can hold (digits, signs, separators, `t`/`f`, `NaN`,
/// `Infinity`, exponents, `infinity` and ` BC` of dates).
const TYPED_ALPHABET: &[u8] = b"0123456789-+.: tfeEaNIinfyBC";

impl Column {
    fn with_capacity(rows: usize, bytes: usize) -> Column {
        Column {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
            null: Vec::with_capacity(rows),
            typed: false,
        }
    }

    fn end_value(&mut self, is_null: bool) {
        self.ends.push(self.bytes.len());
        self.null.push(is_null);
    }

    fn value(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// The values as a string array (before [`Column::pad`]).
    pub(super) fn into_strings(self) -> ArrayRef {
        let nulls = NullBuffer::from_iter(self.null.iter().map(|n| !n));
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let values = Buffer::from_vec(self.bytes);
        let ends = self.ends;
        // Every value was written whole from a &str or ASCII, so the bytes are UTF-8.
        if let Ok(offsets) = std::iter::once(0)
            .chain(ends.iter().copied())
            .map(i32::try_from)
            .collect::<Result<Vec<i32>, _>>()
        {
            let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
            Arc::new(StringArray::new(offsets, values, nulls))
        } else {
            let offsets: Vec<i64> = std::iter::once(0)
                .chain(ends.iter().map(|&e| e as i64))
                .collect();
            let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
            Arc::new(LargeStringArray::new(offsets, values, nulls))
        }
    }

    /// Padding after the last value, so a short value can be copied as a fixed 16 bytes.
    fn pad(&mut self) {
        self.bytes.extend_from_slice(&[0; PAD]);
    }
}

const PAD: usize = 16;

/// Appends `col`'s value `row`. Most values are short, and a fixed-size 16-byte copy is much
/// cheaper than a call to memmove for each of them.
#[inline]
fn put_value(out: &mut Vec<u8>, col: &Column, row: usize) {
    let start = if row == 0 { 0 } else { col.ends[row - 1] };
    let len = col.ends[row] - start;
    if len <= PAD {
        out.reserve(PAD);
        // SAFETY: `col.bytes` holds PAD bytes of padding after its last value, so PAD bytes
        // from `start` are in bounds; `out` has PAD bytes of spare capacity after `reserve`,
        // and only the `len` bytes copied from the value become part of it.
        unsafe {
            std::ptr::copy_nonoverlapping(
                col.bytes.as_ptr().add(start),
                out.as_mut_ptr().add(out.len()),
                PAD,
            );
            out.set_len(out.len() + len);
        }
    } else {
        out.extend_from_slice(&col.bytes[start..start + len]);
    }
}

fn primitive<T, F>(array: &ArrayRef, width: usize, mut write: F) -> Column
where
    T: ArrowPrimitiveType,
    F: FnMut(T::Native, &mut Vec<u8>),
{
    let array: &PrimitiveArray<T> = array.as_primitive();
    let mut col = Column::with_capacity(array.len(), array.len() * width);
    col.typed = true;
    for i in 0..array.len() {
        let is_null = array.is_null(i);
        if !is_null {
            write(array.value(i), &mut col.bytes);
        }
        col.end_value(is_null);
    }
    col
}

fn integer<T>(array: &ArrayRef) -> Column
where
    T: ArrowPrimitiveType,
    T::Native: itoa::Integer,
{
    let mut buf = itoa::Buffer::new();
    primitive::<T, _>(array, 8, |v, out| {
        out.extend_from_slice(buf.format(v).as_bytes())
    })
}

/// A float as PostgreSQL prints it (shortest exact form, `Infinity`, `NaN`): pgwire's own.
fn float<T>(array: &ArrayRef, ty: &Type) -> Column
where
    T: ArrowPrimitiveType,
    T::Native: ToSqlText,
{
    let mut scratch = BytesMut::new();
    let options = FormatOptions::default();
    primitive::<T, _>(array, 12, |v, out| {
        scratch.clear();
        // Formatting a float into memory cannot fail.
        let _ = v.to_sql_text(ty, &mut scratch, &options);
        out.extend_from_slice(&scratch);
    })
}

/// `numeric` text: the unscaled integer with the point `scale` digits from the right, as
/// PostgreSQL (and rust_decimal, which arrow-pg used) print it.
fn decimal(array: &ArrayRef, scale: i8) -> Column {
    let array: &Decimal128Array = array.as_primitive();
    let mut col = Column::with_capacity(array.len(), array.len() * 12);
    col.typed = true;
    let mut buf = itoa::Buffer::new();
    for i in 0..array.len() {
        let is_null = array.is_null(i);
        if !is_null {
            let v = array.value(i);
            if v < 0 {
                col.bytes.push(b'-');
            }
            let digits = buf.format(v.unsigned_abs()).as_bytes();
            if scale <= 0 {
                col.bytes.extend_from_slice(digits);
                col.bytes
                    .extend(std::iter::repeat_n(b'0', (-scale as usize).min(38)));
            } else {
                let scale = scale as usize;
                if digits.len() > scale {
                    let (int, frac) = digits.split_at(digits.len() - scale);
                    col.bytes.extend_from_slice(int);
                    col.bytes.push(b'.');
                    col.bytes.extend_from_slice(frac);
                } else {
                    col.bytes.extend_from_slice(b"0.");
                    col.bytes
                        .extend(std::iter::repeat_n(b'0', scale - digits.len()));
                    col.bytes.extend_from_slice(digits);
                }
            }
        }
        col.end_value(is_null);
    }
    col
}

/// Recently rendered dates: a column's dates repeat (order and ship dates, ingestion days),
/// and a lookup is cheaper than the calendar arithmetic.
struct DateCache {
    slots: Vec<(i32, [u8; 10])>,
}

impl DateCache {
    const SLOTS: usize = 1024;
    /// Days of 0001-01-01 and 9999-12-31: the dates whose text is ten bytes.
    const CIVIL: std::ops::RangeInclusive<i32> = -719_162..=2_932_896;

    fn new() -> DateCache {
        DateCache {
            slots: vec![(i32::MIN, [0; 10]); Self::SLOTS],
        }
    }

    /// Writes the date as PostgreSQL does (see [`pg_text::date`]).
    fn write(&mut self, days: i32, out: &mut Vec<u8>) {
        if !Self::CIVIL.contains(&days) {
            return pg_text::date(days, out);
        }
        let slot = &mut self.slots[days as u32 as usize % Self::SLOTS];
        if slot.0 != days {
            let mut text = Vec::with_capacity(10);
            pg_text::date(days, &mut text);
            slot.0 = days;
            slot.1.copy_from_slice(&text);
        }
        out.extend_from_slice(&slot.1);
    }
}

/// Collects the text arrow-pg writes for one value: the path for every type without a
/// specialised loop, so their text is exactly what DataRows carry.
struct RawText<'a> {
    out: &'a mut Vec<u8>,
    is_null: bool,
}

impl Encoder for RawText<'_> {
    type Item = ();

    fn encode_field<T>(&mut self, value: &T, pg_field: &FieldInfo) -> PgWireResult<()>
    where
        T: ToSql + ToSqlText + Sized,
    {
        let mut buf = BytesMut::new();
        let is_null = value
            .to_sql_text(pg_field.datatype(), &mut buf, &FormatOptions::default())
            .map_err(pgwire::error::PgWireError::ApiError)?;
        self.is_null = matches!(is_null, IsNull::Yes);
        self.out.extend_from_slice(&buf);
        Ok(())
    }

    fn take_row(&mut self) -> Self::Item {}
}

fn generic(array: &ArrayRef, field: &Field) -> PgWireResult<Column> {
    let pg_field = FieldInfo::new(
        field.name().clone(),
        None,
        None,
        super::pg_type(&Arc::new(field.clone())),
        FieldFormat::Text,
    );
    let mut col = Column::with_capacity(array.len(), array.len() * 16);
    for i in 0..array.len() {
        let mut raw = RawText {
            out: &mut col.bytes,
            is_null: false,
        };
        encode_value(&mut raw, array, i, field, &pg_field)?;
        let is_null = raw.is_null || array.is_null(i);
        col.end_value(is_null);
    }
    Ok(col)
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>, rows: usize) -> Column {
    let mut col = Column::with_capacity(rows, rows * 16);
    for v in values {
        if let Some(s) = v {
            col.bytes.extend_from_slice(s.as_bytes());
        }
        col.end_value(v.is_none());
    }
    col
}

/// The unescaped text of every value of one column, padded (see [`put_value`]).
fn render(array: &ArrayRef, field: &Field, zone: &Zone) -> PgWireResult<Column> {
    let mut col = render_values(array, field, zone)?;
    col.pad();
    Ok(col)
}

/// The text PostgreSQL prints for every value of one column (timestamptz in `zone`).
pub(super) fn render_values(array: &ArrayRef, field: &Field, zone: &Zone) -> PgWireResult<Column> {
    Ok(match array.data_type() {
        DataType::Int8 => integer::<Int8Type>(array),
        DataType::Int16 => integer::<Int16Type>(array),
        DataType::Int32 => integer::<Int32Type>(array),
        DataType::Int64 => integer::<Int64Type>(array),
        DataType::UInt8 => integer::<UInt8Type>(array),
        DataType::UInt16 => integer::<UInt16Type>(array),
        DataType::UInt32 => integer::<UInt32Type>(array),
        DataType::Float32 => float::<Float32Type>(array, &Type::FLOAT4),
        DataType::Float64 => float::<Float64Type>(array, &Type::FLOAT8),
        DataType::Decimal128(_, scale) => decimal(array, *scale),
        DataType::Utf8 => strings(array.as_string::<i32>().iter(), array.len()),
        DataType::LargeUtf8 => strings(array.as_string::<i64>().iter(), array.len()),
        DataType::Utf8View => strings(array.as_string_view().iter(), array.len()),
        DataType::Boolean => {
            let array: &BooleanArray = array.as_boolean();
            let mut col = Column::with_capacity(array.len(), array.len());
            col.typed = true;
            for v in array.iter() {
                if let Some(b) = v {
                    col.bytes.push(if b { b't' } else { b'f' });
                }
                col.end_value(v.is_none());
            }
            col
        }
        DataType::Date32 => {
            let mut cache = DateCache::new();
            primitive::<Date32Type, _>(array, 10, |d, out| cache.write(d, out))
        }
        DataType::Date64 => {
            let mut cache = DateCache::new();
            primitive::<Date64Type, _>(array, 10, |ms, out| {
                match i32::try_from(ms.div_euclid(86_400_000)) {
                    Ok(d) => cache.write(d, out),
                    Err(_) => pg_text::date(if ms < 0 { i32::MIN } else { i32::MAX }, out),
                }
            })
        }
        DataType::Timestamp(unit, tz) => {
            let zone = tz.as_ref().map(|_| zone);
            match unit {
                TimeUnit::Second => timestamps::<TimestampSecondType>(array, zone, |v| {
                    v.checked_mul(1_000_000)
                }),
                TimeUnit::Millisecond => {
                    timestamps::<TimestampMillisecondType>(array, zone, |v| v.checked_mul(1_000))
                }
                TimeUnit::Microsecond => {
                    timestamps::<TimestampMicrosecondType>(array, zone, Some)
                }
                // PostgreSQL keeps microseconds; the nanoseconds below them are dropped.
                TimeUnit::Nanosecond => timestamps::<TimestampNanosecondType>(array, zone, |v| {
                    Some(v.div_euclid(1_000))
                }),
            }
            .map_or_else(|| generic(array, field), Ok)?
        }
        DataType::Time32(TimeUnit::Second) => {
            primitive::<Time32SecondType, _>(array, 8, |s, out| {
                pg_text::time(i64::from(s) * 1_000_000, out)
            })
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            primitive::<Time32MillisecondType, _>(array, 12, |ms, out| {
                pg_text::time(i64::from(ms) * 1_000, out)
            })
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            primitive::<Time64MicrosecondType, _>(array, 15, pg_text::time)
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            primitive::<Time64NanosecondType, _>(array, 15, |ns, out| {
                pg_text::time(ns / 1_000, out)
            })
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            text_column::<IntervalYearMonthType, _>(array, 16, |m, out| {
                pg_text::interval(m, 0, 0, out)
            })
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            text_column::<IntervalDayTimeType, _>(array, 16, |v, out| {
                pg_text::interval(0, v.days, i64::from(v.milliseconds) * 1_000, out)
            })
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            text_column::<IntervalMonthDayNanoType, _>(array, 16, |v, out| {
                pg_text::interval(v.months, v.days, v.nanoseconds / 1_000, out)
            })
        }
        DataType::Duration(unit) => {
            let scale: fn(i64) -> Option<i64> = match unit {
                TimeUnit::Second => |v| v.checked_mul(1_000_000),
                TimeUnit::Millisecond => |v| v.checked_mul(1_000),
                TimeUnit::Microsecond => Some,
                TimeUnit::Nanosecond => |v| Some(v / 1_000),
            };
            let micros = cast(array, &DataType::Int64).map_err(|e| {
                pgwire::error::PgWireError::ApiError(Box::new(e))
            })?;
            let mut overflow = false;
            let col = text_column::<Int64Type, _>(&micros, 12, |v, out| match scale(v) {
                Some(us) => pg_text::interval(0, 0, us, out),
                None => overflow = true,
            });
            if overflow {
                return generic(array, field);
            }
            col
        }
        _ => return generic(array, field),
    })
}

/// A column of primitives rendered by `write` whose text may hold bytes outside
/// [`TYPED_ALPHABET`] (interval units), so it is checked for escaping like text.
fn text_column<T, F>(array: &ArrayRef, width: usize, write: F) -> Column
where
    T: ArrowPrimitiveType,
    F: FnMut(T::Native, &mut Vec<u8>),
{
    let mut col = primitive::<T, F>(array, width, write);
    col.typed = false;
    col
}

/// Timestamps of any unit (`to_micros` converts one value; None when it overflows, and the
/// generic path prints the column); timestamptz (zone Some) in the session's zone.
fn timestamps<T>(
    array: &ArrayRef,
    zone: Option<&Zone>,
    to_micros: impl Fn(i64) -> Option<i64>,
) -> Option<Column>
where
    T: ArrowPrimitiveType<Native = i64>,
{
    let values: &PrimitiveArray<T> = array.as_primitive();
    let mut col = Column::with_capacity(values.len(), values.len() * 26);
    col.typed = true;
    let mut dates = DateCache::new();
    // UTC and naive timestamps take the cached-date path; other zones need a lookup per value.
    let fast = !matches!(zone, Some(Zone::Named(_)));
    for i in 0..values.len() {
        let is_null = values.is_null(i);
        if !is_null {
            let us = to_micros(values.value(i))?;
            let days = us.div_euclid(86_400_000_000);
            match i32::try_from(days) {
                Ok(d) if fast && DateCache::CIVIL.contains(&d) => {
                    dates.write(d, &mut col.bytes);
                    col.bytes.push(b' ');
                    pg_text::time(us.rem_euclid(86_400_000_000), &mut col.bytes);
                    if zone.is_some() {
                        col.bytes.extend_from_slice(b"+00");
                    }
                }
                _ => pg_text::timestamp(us, zone, &mut col.bytes),
            }
        }
        col.end_value(is_null);
    }
    Some(col)
}

/// Whether the value must be escaped (text) or quoted (CSV).
fn special(value: &[u8], format: &TextFormat) -> bool {
    match format.quote {
        None => value
            .iter()
            .any(|&b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t') || b == format.delimiter),
        Some(q) => {
            value == format.null.as_slice()
                || value == b"\\."
                || value
                    .iter()
                    .any(|&b| b == q || b == format.delimiter || b == b'\n' || b == b'\r')
        }
    }
}

fn write_value(value: &[u8], format: &TextFormat, out: &mut Vec<u8>) {
    if !special(value, format) {
        out.extend_from_slice(value);
        return;
    }
    match format.quote {
        None => {
            for &b in value {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b if b == format.delimiter => out.extend_from_slice(&[b'\\', b]),
                    b => out.push(b),
                }
            }
        }
        Some(q) => {
            out.push(q);
            for &b in value {
                if b == q || b == format.escape {
                    out.push(format.escape);
                }
                out.push(b);
            }
            out.push(q);
        }
    }
}

/// The rows of `batch`, each a CopyData over one shared buffer.
pub fn encode_batch(batch: &RecordBatch, format: &TextFormat) -> PgWireResult<Vec<CopyData>> {
    let schema = batch.schema();
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| render(array, field, &format.time_zone))
        .collect::<PgWireResult<_>>()?;
    let plain: Vec<bool> = columns.iter().map(|c| plain(c, format)).collect();
    let rows = batch.num_rows();
    let size: usize = columns.iter().map(|c| c.bytes.len()).sum::<usize>()
        + rows * (columns.len() + 1) * (1 + format.null.len());
    let mut out = Vec::with_capacity(size + size / 8);
    let mut ends = Vec::with_capacity(rows);
    for row in 0..rows {
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push(format.delimiter);
            }
            if col.null[row] {
                out.extend_from_slice(&format.null);
            } else if plain[i] {
                put_value(&mut out, col, row);
            } else {
                write_value(col.value(row), format, &mut out);
            }
        }
        out.push(b'\n');
        ends.push(out.len());
    }
    let shared = Bytes::from(out);
    let mut start = 0;
    Ok(ends
        .into_iter()
        .map(|end| {
            let row = shared.slice(start..end);
            start = end;
            CopyData::new(row)
        })
        .collect())
}

/// Whether no value of the column needs escaping or quoting: most columns (numbers, dates,
/// plain text) are checked once here instead of value by value.
fn plain(c: &Column, format: &TextFormat) -> bool {
    let mut special = [false; 256];
    let marks: &[u8] = match format.quote {
        None => b"\\\n\r\t",
        Some(q) => &[q, b'\n', b'\r'],
    };
    for &b in marks.iter().chain([&format.delimiter]) {
        special[b as usize] = true;
    }
    let typed_safe = c.typed && !TYPED_ALPHABET.iter().any(|&b| special[b as usize]);
    let text = &c.bytes[..c.ends.last().copied().unwrap_or(0)];
    let bytes_ok = typed_safe || !text.iter().any(|&b| special[b as usize]);
    if typed_safe && format.null.is_empty() {
        return true;
    }
    // In CSV a value that reads as the NULL marker (or as end-of-data) must be quoted.
    bytes_ok
        && (format.quote.is_none()
            || (0..c.ends.len()).all(|i| {
                c.null[i] || (c.value(i) != format.null.as_slice() && c.value(i) != b"\\.")
            }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
        Int32Array, Int64Array, ListArray, StringArray, StringViewArray, TimestampMicrosecondArray,
        UInt32Array,
    };
    use datafusion::arrow::datatypes::Int32Type as I32;
    use pgwire::api::results::{CopyEncoder, CopyTextOptions};

    fn sample() -> RecordBatch {
        let rows = 7;
        let strings = vec![
            Some("plain"),
            Some("tab\there"),
            Some("back\\slash"),
            Some("new\nline"),
            Some(""),
            None,
            Some("\\N"),
        ];
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "i64",
                Arc::new(Int64Array::from(vec![
                    Some(0),
                    Some(-1),
                    None,
                    Some(i64::MAX),
                    Some(i64::MIN),
                    Some(42),
                    Some(7),
                ])),
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![1, -2, 3, -4, 5, 6, 7])),
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![1, -2, 3, -4, 5, 6, i16::MIN])),
            ),
            (
                "u32",
                Arc::new(UInt32Array::from(vec![0, 1, 2, 3, 4, 5, u32::MAX])),
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    0.1,
                    1.0,
                    1e20,
                    -0.0,
                    f64::NAN,
                    f64::INFINITY,
                    1.0 / 3.0,
                ])),
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    0.1,
                    1.0,
                    1e20,
                    -2.5,
                    f32::NAN,
                    3.0,
                    1e-7,
                ])),
            ),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(1700),
                        Some(-5),
                        Some(0),
                        None,
                        Some(123_456_789),
                        Some(-100),
                        Some(99),
                    ])
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
                ),
            ),
            (
                "dec0",
                Arc::new(
                    Decimal128Array::from(vec![1, -2, 0, 4, 5, 6, 7])
                        .with_precision_and_scale(5, 0)
                        .unwrap(),
                ),
            ),
            ("s", Arc::new(StringArray::from(strings.clone()))),
            ("sv", Arc::new(StringViewArray::from(strings))),
            (
                "b",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(true),
                    Some(false),
                    Some(true),
                ])),
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(19_000),
                    Some(-1),
                    None,
                    Some(-719_162),
                    Some(2_932_896),
                    Some(11_016),
                ])),
            ),
            (
                "ts",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(0),
                        Some(1_767_225_600_123_456),
                        None,
                        Some(-1),
                        Some(1),
                        Some(2),
                        Some(3),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                "ts_naive",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(500_000),
                    Some(-1),
                    Some(1_767_225_600_000_001),
                    None,
                    Some(-62_135_596_800_000_000),
                    Some(253_402_300_799_999_999),
                    Some(86_400_000_000),
                ])),
            ),
            (
                "ts_ms",
                Arc::new(
                    datafusion::arrow::array::TimestampMillisecondArray::from(vec![
                        1, -1, 0, 1000, 1500, 86_399_999, 7,
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                "list",
                Arc::new(ListArray::from_iter_primitive::<I32, _, _>(vec![
                    Some(vec![Some(1), Some(2)]),
                    None,
                    Some(vec![]),
                    Some(vec![None]),
                    Some(vec![Some(3)]),
                    Some(vec![Some(4)]),
                    Some(vec![Some(5)]),
                ])),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        assert_eq!(batch.num_rows(), rows);
        batch
    }

    /// What arrow-pg and pgwire's CopyEncoder send, row by row: the reference.
    fn reference(batch: &RecordBatch) -> Vec<Vec<u8>> {
        let fields: Arc<Vec<FieldInfo>> = Arc::new(
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    FieldInfo::new(
                        f.name().clone(),
                        None,
                        None,
                        super::super::pg_type(f),
                        FieldFormat::Text,
                    )
                })
                .collect(),
        );
        let mut encoder = CopyEncoder::new_text(
            fields.clone(),
            CopyTextOptions {
                delimiter: "\t".into(),
                null_string: "\\N".into(),
            },
        );
        let schema = batch.schema();
        (0..batch.num_rows())
            .map(|row| {
                for (col, field) in schema.fields().iter().enumerate() {
                    encode_value(&mut encoder, batch.column(col), row, field, &fields[col])
                        .unwrap();
                }
                encoder.take_copy().data.to_vec()
            })
            .collect()
    }

    #[test]
    fn text_copy_matches_the_value_at_a_time_encoder() {
        // Timestamps are left out: arrow-pg prints them with six fractional digits, which
        // PostgreSQL does not (see `timestamps_print_as_postgresql_does`).
        let batch = sample();
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| !matches!(batch.column(i).data_type(), DataType::Timestamp(..)))
            .collect();
        let batch = batch.project(&keep).unwrap();
        let format = TextFormat {
            delimiter: b'\t',
            null: b"\\N".to_vec(),
            quote: None,
            escape: b'\\',
            time_zone: Zone::Utc,
        };
        let ours: Vec<Vec<u8>> = encode_batch(&batch, &format)
            .unwrap()
            .into_iter()
            .map(|c| c.data.to_vec())
            .collect();
        let want = reference(&batch);
        for (row, (a, b)) in ours.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b),
                "row {row}"
            );
        }
        assert_eq!(ours.len(), want.len());
    }

    fn copy_rows(batch: &RecordBatch, zone: Zone) -> Vec<String> {
        let format = TextFormat {
            delimiter: b'\t',
            null: b"\\N".to_vec(),
            quote: None,
            escape: b'\\',
            time_zone: zone,
        };
        encode_batch(batch, &format)
            .unwrap()
            .into_iter()
            .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
            .collect()
    }

    /// Expected text from PostgreSQL 15.18 (`COPY (SELECT …) TO STDOUT`, TimeZone UTC).
    #[test]
    fn timestamps_print_as_postgresql_does() {
        let batch = sample().project(&[12, 13, 14]).unwrap();
        assert_eq!(
            copy_rows(&batch, Zone::Utc),
            [
                "1970-01-01 00:00:00+00\t1970-01-01 00:00:00.5\t1970-01-01 00:00:00.001+00\n",
                "2026-01-01 00:00:00.123456+00\t1969-12-31 23:59:59.999999\t1969-12-31 23:59:59.999+00\n",
                "\\N\t2026-01-01 00:00:00.000001\t1970-01-01 00:00:00+00\n",
                "1969-12-31 23:59:59.999999+00\t\\N\t1970-01-01 00:00:01+00\n",
                "1970-01-01 00:00:00.000001+00\t0001-01-01 00:00:00\t1970-01-01 00:00:01.5+00\n",
                "1970-01-01 00:00:00.000002+00\t9999-12-31 23:59:59.999999\t1970-01-01 23:59:59.999+00\n",
                "1970-01-01 00:00:00.000003+00\t1970-01-02 00:00:00\t1970-01-01 00:00:00.007+00\n",
            ]
        );
        // timestamptz follows the session's zone; timestamp without time zone does not.
        let paris = copy_rows(&batch.slice(0, 1), Zone::parse("Europe/Paris"));
        assert_eq!(
            paris,
            ["1970-01-01 01:00:00+01\t1970-01-01 00:00:00.5\t1970-01-01 01:00:00.001+01\n"]
        );
    }

    /// Expected text from PostgreSQL 15.18 for the same values.
    #[test]
    fn dates_times_and_intervals_print_as_postgresql_does() {
        use datafusion::arrow::array::{
            Date32Array, DurationMicrosecondArray, IntervalMonthDayNanoArray,
            IntervalYearMonthArray, Time64MicrosecondArray,
        };
        use datafusion::arrow::datatypes::IntervalMonthDayNano;
        let batch = RecordBatch::try_from_iter(vec![
            (
                "d",
                Arc::new(Date32Array::from(vec![-735_160, i32::MAX, 20_478])) as ArrayRef,
            ),
            (
                "t",
                Arc::new(Time64MicrosecondArray::from(vec![45_296_500_000, 0, 1])) as ArrayRef,
            ),
            (
                "i",
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    IntervalMonthDayNano::new(0, 1, 7_384_500_000_000),
                    IntervalMonthDayNano::new(0, -3, 14_400_000_000_000),
                    IntervalMonthDayNano::new(0, 0, 0),
                ])) as ArrayRef,
            ),
            (
                "ym",
                Arc::new(IntervalYearMonthArray::from(vec![14, -1, 0])) as ArrayRef,
            ),
            (
                "dur",
                Arc::new(DurationMicrosecondArray::from(vec![-1_000_000, 360_000_000_000, 0]))
                    as ArrayRef,
            ),
        ])
        .unwrap();
        assert_eq!(
            copy_rows(&batch, Zone::Utc),
            [
                "0044-03-15 BC\t12:34:56.5\t1 day 02:03:04.5\t1 year 2 mons\t-00:00:01\n",
                "infinity\t00:00:00\t-3 days +04:00:00\t-1 mons\t100:00:00\n",
                "2026-01-25\t00:00:00.000001\t00:00:00\t00:00:00\t00:00:00\n",
            ]
        );
    }

    #[test]
    fn a_delimiter_that_numbers_contain_is_escaped() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "d",
                Arc::new(
                    Decimal128Array::from(vec![1700, 5])
                        .with_precision_and_scale(15, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec!["a.b", "c"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let format = TextFormat {
            delimiter: b'.',
            null: b"\\N".to_vec(),
            quote: None,
            escape: b'\\',
            time_zone: Zone::Utc,
        };
        let rows: Vec<String> = encode_batch(&batch, &format)
            .unwrap()
            .into_iter()
            .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
            .collect();
        assert_eq!(rows, ["17\\.00.a\\.b\n", "0\\.05.c\n"]);
    }

    #[test]
    fn csv_quotes_what_would_misread() {
        let batch = RecordBatch::try_from_iter(vec![(
            "s",
            Arc::new(StringArray::from(vec![
                Some("a,b"),
                Some("say \"hi\""),
                Some(""),
                None,
                Some("plain"),
                Some("\\."),
            ])) as ArrayRef,
        )])
        .unwrap();
        let format = TextFormat {
            delimiter: b',',
            null: vec![],
            quote: Some(b'"'),
            escape: b'"',
            time_zone: Zone::Utc,
        };
        let rows: Vec<String> = encode_batch(&batch, &format)
            .unwrap()
            .into_iter()
            .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                "\"a,b\"\n",
                "\"say \"\"hi\"\"\"\n",
                "\"\"\n",
                "\n",
                "plain\n",
                "\"\\.\"\n"
            ]
        );
    }
}
