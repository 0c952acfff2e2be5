//! `COPY … TO STDOUT` in text and CSV, a batch at a time.
//!
//! Each column is rendered into one buffer by a loop specialised for its Arrow type, escaped
//! (or quoted) only when the rendered column holds a byte that needs it, and the rows are then
//! stitched into one allocation that every row's CopyData shares. Clients expect one CopyData
//! per row (psycopg's `Copy.rows()` parses each message as a row), so rows stay separate
//! messages. The value-at-a-time path through arrow-pg streamed lineitem at 0.3× PostgreSQL.
use super::pg_text::{self, Zone};
use arrow_pg::encoder::{encode_value, Encoder};
use bytes::{Bytes, BytesMut};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, LargeStringArray, ListArray,
    PrimitiveArray, RecordBatch, StringArray,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, Field, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, IntervalDayTimeType, IntervalMonthDayNanoType,
    IntervalUnit, IntervalYearMonthType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt8Type,
};
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::copy::CopyData;
use pgwire::types::format::FormatOptions;
use pgwire::types::ToSqlText;
use postgres_types::{IsNull, ToSql};
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

/// Whether PostgreSQL's text for this type is Strata's own (see [`pg_text`]), not pgwire's
/// (whose floats print `1e20`, `inf` and `0` for -0, and timestamps `.000000`).
pub(super) fn pg_text_type(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float32
            | DataType::Float64
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(..)
            | DataType::Interval(_)
            | DataType::Duration(_)
    )
}

/// A list of floats or dates/times with its elements as PostgreSQL's text (a list of Utf8,
/// which arrow-pg prints as an array literal, quoting elements with spaces as PostgreSQL
/// does: `{"2026-01-25 08:15:00"}`); None for any other column.
pub(super) fn text_list(array: &ArrayRef, zone: &Zone) -> PgWireResult<Option<ArrayRef>> {
    let DataType::List(inner) = array.data_type() else {
        return Ok(None);
    };
    if !pg_text_type(inner.data_type()) {
        return Ok(None);
    }
    let list = array.as_list::<i32>();
    let values = render_values(list.values(), inner, zone)?.into_strings();
    let item = Arc::new(Field::new(inner.name(), values.data_type().clone(), true));
    let list = ListArray::try_new(item, list.offsets().clone(), values, list.nulls().cloned())
        .map_err(|e| pgwire::error::PgWireError::ApiError(Box::new(e)))?;
    Ok(Some(Arc::new(list)))
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
        DataType::Float32 => primitive::<Float32Type, _>(array, 12, pg_text::float4),
        DataType::Float64 => primitive::<Float64Type, _>(array, 12, pg_text::float8),
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
                TimeUnit::Second => {
                    timestamps::<TimestampSecondType>(array, zone, |v| v.checked_mul(1_000_000))
                }
                TimeUnit::Millisecond => {
                    timestamps::<TimestampMillisecondType>(array, zone, |v| v.checked_mul(1_000))
                }
                TimeUnit::Microsecond => timestamps::<TimestampMicrosecondType>(array, zone, Some),
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
            let micros = cast(array, &DataType::Int64)
                .map_err(|e| pgwire::error::PgWireError::ApiError(Box::new(e)))?;
            let mut overflow = false;
            // A duration comes from `timestamp - timestamp`, which PostgreSQL justifies into
            // days and time (`1 day 02:15:00`, not `26:15:00`).
            let col = text_column::<Int64Type, _>(&micros, 12, |v, out| match scale(v) {
                Some(us) => match i32::try_from(us / 86_400_000_000) {
                    Ok(days) => pg_text::interval(0, days, us % 86_400_000_000, out),
                    Err(_) => pg_text::interval(0, 0, us, out),
                },
                None => overflow = true,
            });
            if overflow {
                return generic(array, field);
            }
            col
        }
        DataType::List(_) => match text_list(array, zone)? {
            Some(list) => {
                let field = field.clone().with_data_type(list.data_type().clone());
                generic(&list, &field)?
            }
            None => generic(array, field)?,
        },
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
mod tests;
