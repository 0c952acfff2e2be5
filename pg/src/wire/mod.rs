//! Arrow batches to Postgres rows: the RowDescription types, DataRows in text or binary (per
//! column, as the client binds), and COPY text/CSV/binary. Batches stream in and rows stream
//! out; nothing here holds more than one batch.
//!
//! Part of the library, not only of `strata serve`, so the benchmarks in `benches/` (and tools
//! of embedders) encode exactly as the server does.
mod copy_text;
pub mod pg_text;

use arrow_pg::datatypes::field_into_pg_type;
pub use copy_text::{encode_batch as copy_text_batch, TextFormat};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::{Stream, StreamExt};
pub use pg_text::Zone;
pub use pgwire::api::portal::Format;
use pgwire::api::results::{CopyEncoder, FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::CopyData;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use std::sync::Arc;
use strata_sql::{CopyFormat, CopyOptions};

/// Arrow types Postgres has no twin for are sent as text: the schema is rewritten to Utf8 for
/// those columns and each batch cast to match.
fn wire_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Map(..)
        | DataType::Union(..)
        | DataType::RunEndEncoded(..)
        | DataType::Decimal256(..)
        | DataType::Decimal32(..)
        | DataType::Decimal64(..) => Some(DataType::Utf8),
        // An untyped NULL column is text, as PostgreSQL 10+ resolves unknown output columns;
        // type 705 (unknown) sends asyncpg into endless type introspection.
        DataType::Null => Some(DataType::Utf8),
        DataType::Dictionary(_, v) => Some(wire_type(v).unwrap_or_else(|| (**v).clone())),
        DataType::UInt64 => Some(DataType::Decimal128(20, 0)),
        _ => None,
    }
}

/// The schema as it goes on the wire (see [`wire_type`]).
pub fn wire_schema(schema: &SchemaRef) -> SchemaRef {
    if schema
        .fields()
        .iter()
        .all(|f| wire_type(f.data_type()).is_none())
    {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match wire_type(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn to_wire(batch: RecordBatch, wire: &SchemaRef) -> PgWireResult<RecordBatch> {
    if batch.schema_ref() == wire {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(wire.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    RecordBatch::try_new(wire.clone(), columns).map_err(|e| PgWireError::ApiError(Box::new(e)))
}

/// The Postgres type of one column.
pub fn pg_type(field: &Arc<Field>) -> Type {
    let wire = match wire_type(field.data_type()) {
        Some(t) => Arc::new(field.as_ref().clone().with_data_type(t)),
        None => field.clone(),
    };
    field_into_pg_type(&wire).unwrap_or(Type::TEXT)
}

/// RowDescription fields for a result schema, each column in the format the client asked.
/// Text values are printed as in a session with PostgreSQL's defaults (TimeZone UTC); see
/// [`session_fields`].
pub fn fields(schema: &SchemaRef, format: &Format) -> Vec<FieldInfo> {
    session_fields(schema, format, &Arc::new(FormatOptions::default()))
}

/// The format options of a session whose TimeZone setting is `time_zone` (what ParameterStatus
/// and `SHOW TimeZone` report), for [`session_fields`].
pub fn session_format(time_zone: &str) -> Arc<FormatOptions> {
    let mut options = FormatOptions::default();
    options.time_zone = time_zone.to_string();
    Arc::new(options)
}

/// [`fields`] for a session whose settings are `options`: its `time_zone` (the session's
/// TimeZone, as ParameterStatus reports it) is the zone timestamptz text is printed in.
pub fn session_fields(
    schema: &SchemaRef,
    format: &Format,
    options: &Arc<FormatOptions>,
) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            FieldInfo::new(
                crate::wire_name(f.name()).to_string(),
                None,
                None,
                pg_type(f),
                // A format list shorter than the columns is a client error; text is safe.
                match format {
                    Format::Individual(v) if i >= v.len() => FieldFormat::Text,
                    other => other.format_for(i),
                },
            )
            .with_format_options(options.clone())
        })
        .collect()
}

/// Encodes a stream of batches as DataRows.
pub fn data_rows<S>(
    batches: S,
    schema: SchemaRef,
    fields: Arc<Vec<FieldInfo>>,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static
where
    S: Stream<Item = PgWireResult<RecordBatch>> + Send + 'static,
{
    let wire = wire_schema(&schema);
    let zone = fields
        .first()
        .map(|f| Zone::parse(&f.format_options().time_zone))
        .unwrap_or_default();
    batches.flat_map(move |batch| {
        let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send> = match batch
            .and_then(|b| to_wire(b, &wire).and_then(|b| pg_text_columns(b, &fields, &zone)))
        {
            Ok(b) => arrow_pg::encode_recordbatch(fields.clone(), b),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        futures::stream::iter(rows)
    })
}

/// The batch with every text-format column of a float or date/time type (or a list of one)
/// replaced by its PostgreSQL text (a Utf8 column that arrow-pg copies as is, under the
/// column's own type in the RowDescription). arrow-pg formats these types through pgwire
/// (`.000000`, no `BC`, `1e20`); this keeps DataRows and COPY on one renderer
/// ([`copy_text::render_values`]). Binary-format columns are left to arrow-pg.
fn pg_text_columns(
    batch: RecordBatch,
    fields: &[FieldInfo],
    zone: &Zone,
) -> PgWireResult<RecordBatch> {
    let schema = batch.schema();
    let text = |i: usize, f: &Field| {
        let own = match f.data_type() {
            DataType::List(inner) => copy_text::pg_text_type(inner.data_type()),
            t => copy_text::pg_text_type(t),
        };
        own && fields.get(i).map(|f| f.format()) == Some(FieldFormat::Text)
    };
    if !schema.fields().iter().enumerate().any(|(i, f)| text(i, f)) {
        return Ok(batch);
    }
    let mut columns = batch.columns().to_vec();
    let mut new_fields: Vec<Field> = Vec::with_capacity(columns.len());
    for (i, f) in schema.fields().iter().enumerate() {
        if text(i, f) {
            columns[i] = match copy_text::text_list(&columns[i], zone)? {
                Some(list) => list,
                None => copy_text::render_values(&columns[i], f, zone)?.into_strings(),
            };
            let t = columns[i].data_type().clone();
            new_fields.push(f.as_ref().clone().with_data_type(t));
        } else {
            new_fields.push(f.as_ref().clone());
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(
        new_fields,
        schema.metadata().clone(),
    ));
    RecordBatch::try_new(schema, columns).map_err(|e| PgWireError::ApiError(Box::new(e)))
}

/// Encodes a stream of batches as COPY data in the requested format, timestamptz in UTC
/// (see [`session_copy_data`]).
pub fn copy_data<S>(
    batches: S,
    schema: SchemaRef,
    options: &CopyOptions,
) -> impl Stream<Item = PgWireResult<CopyData>> + Send + 'static
where
    S: Stream<Item = PgWireResult<RecordBatch>> + Send + 'static,
{
    session_copy_data(batches, schema, options, Zone::Utc)
}

/// [`copy_data`] for a session whose TimeZone is `zone` (text and CSV print timestamptz in it).
pub fn session_copy_data<S>(
    batches: S,
    schema: SchemaRef,
    options: &CopyOptions,
    zone: Zone,
) -> impl Stream<Item = PgWireResult<CopyData>> + Send + 'static
where
    S: Stream<Item = PgWireResult<RecordBatch>> + Send + 'static,
{
    let wire = wire_schema(&schema);
    let format = if options.format == CopyFormat::Binary {
        FieldFormat::Binary
    } else {
        FieldFormat::Text
    };
    let fields: Arc<Vec<FieldInfo>> = Arc::new(
        wire.fields()
            .iter()
            .map(|f| FieldInfo::new(f.name().clone(), None, None, pg_type(f), format))
            .collect(),
    );
    let text = match options.format {
        CopyFormat::Text => Some(TextFormat {
            delimiter: options.delimiter.unwrap_or('\t') as u8,
            null: options
                .null
                .clone()
                .unwrap_or_else(|| "\\N".into())
                .into_bytes(),
            quote: None,
            escape: b'\\',
            time_zone: zone.clone(),
        }),
        CopyFormat::Csv => Some(TextFormat {
            delimiter: options.delimiter.unwrap_or(',') as u8,
            null: options.null.clone().unwrap_or_default().into_bytes(),
            quote: Some(options.quote.unwrap_or('"') as u8),
            escape: options.escape.or(options.quote).unwrap_or('"') as u8,
            time_zone: zone,
        }),
        CopyFormat::Binary => None,
    };
    let header = options.header.then(|| {
        let mut line = String::new();
        let delim = options.delimiter.unwrap_or(',');
        for (i, f) in wire.fields().iter().enumerate() {
            if i > 0 {
                line.push(delim);
            }
            line.push_str(&csv_quote(f.name(), options.quote.unwrap_or('"'), delim));
        }
        line.push('\n');
        Ok(CopyData::new(line.into_bytes().into()))
    });
    let body: std::pin::Pin<Box<dyn Stream<Item = PgWireResult<CopyData>> + Send>> = match text {
        // Text and CSV batches are encoded off the connection's thread, two at a time, while
        // the rows of the one before go out: encoding is the costly part of a COPY.
        Some(format) => Box::pin(
            batches
                .map(move |batch| {
                    let wire = wire.clone();
                    let format = format.clone();
                    async move {
                        let batch = batch.and_then(|b| to_wire(b, &wire))?;
                        tokio::task::spawn_blocking(move || {
                            copy_text::encode_batch(&batch, &format)
                        })
                        .await
                        .map_err(|e| PgWireError::ApiError(Box::new(e)))?
                    }
                })
                .buffered(2)
                .flat_map(rows_or_error),
        ),
        None => {
            let mut binary = CopyEncoder::new_binary(fields.clone());
            Box::pin(batches.flat_map(move |batch| {
                rows_or_error(
                    batch
                        .and_then(|b| to_wire(b, &wire))
                        .and_then(|b| encode_copy_batch(&mut binary, &fields, b)),
                )
            }))
        }
    };
    futures::stream::iter(header).chain(body)
}

fn rows_or_error(
    chunk: PgWireResult<Vec<CopyData>>,
) -> futures::stream::Iter<std::vec::IntoIter<PgWireResult<CopyData>>> {
    futures::stream::iter(match chunk {
        Ok(c) => c.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    })
}

/// Binary COPY: one CopyData per row, encoded through arrow-pg's value encoder into pgwire's
/// CopyEncoder.
fn encode_copy_batch(
    encoder: &mut CopyEncoder,
    fields: &Arc<Vec<FieldInfo>>,
    batch: RecordBatch,
) -> PgWireResult<Vec<CopyData>> {
    let schema = batch.schema();
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (col, field) in schema.fields().iter().enumerate() {
            arrow_pg::encoder::encode_value(encoder, batch.column(col), row, field, &fields[col])?;
        }
        out.push(encoder.take_copy());
    }
    Ok(out)
}

fn csv_quote(s: &str, quote: char, delim: char) -> String {
    if s.contains([quote, delim, '\n', '\r']) {
        let q = quote.to_string();
        format!("{q}{}{q}", s.replace(quote, &format!("{q}{q}")))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Float64Array, IntervalMonthDayNanoArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::IntervalMonthDayNano;

    /// 2026-01-25 08:15:00.5 UTC.
    const T: i64 = 1_769_328_900_500_000;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from(vec![Some(T), None])) as ArrayRef,
            ),
            (
                "tz",
                Arc::new(TimestampMicrosecondArray::from(vec![T, T]).with_timezone("UTC")),
            ),
            ("f", Arc::new(Float64Array::from(vec![1e20, -0.0]))),
            (
                "i",
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    IntervalMonthDayNano::new(14, 0, 0),
                    IntervalMonthDayNano::new(0, -3, 14_400_000_000_000),
                ])),
            ),
        ])
        .unwrap()
    }

    /// The values of each DataRow (None for NULL).
    fn rows(batch: RecordBatch, format: Format, zone: &str) -> Vec<Vec<Option<Vec<u8>>>> {
        let fields = Arc::new(session_fields(
            &batch.schema(),
            &format,
            &session_format(zone),
        ));
        let stream = data_rows(
            futures::stream::iter([Ok(batch.clone())]),
            batch.schema(),
            fields,
        );
        let rows: Vec<DataRow> =
            futures::executor::block_on(futures::StreamExt::collect::<Vec<_>>(stream))
                .into_iter()
                .map(Result::unwrap)
                .collect();
        rows.iter()
            .map(|r| {
                let mut data = &r.data[..];
                (0..r.field_count)
                    .map(|_| {
                        let len = i32::from_be_bytes(data[..4].try_into().unwrap());
                        data = &data[4..];
                        (len >= 0).then(|| {
                            let v = data[..len as usize].to_vec();
                            data = &data[len as usize..];
                            v
                        })
                    })
                    .collect()
            })
            .collect()
    }

    fn text(row: &[Option<Vec<u8>>]) -> Vec<Option<String>> {
        row.iter()
            .map(|v| v.as_ref().map(|b| String::from_utf8(b.clone()).unwrap()))
            .collect()
    }

    /// Expected text from PostgreSQL 15.18 for the same values.
    #[test]
    fn text_data_rows_carry_postgresql_text() {
        let got = rows(batch(), Format::UnifiedText, "UTC");
        let want = |v: &[Option<&str>]| v.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>();
        assert_eq!(
            text(&got[0]),
            want(&[
                Some("2026-01-25 08:15:00.5"),
                Some("2026-01-25 08:15:00.5+00"),
                Some("1e+20"),
                Some("1 year 2 mons")
            ])
        );
        assert_eq!(
            text(&got[1]),
            want(&[
                None,
                Some("2026-01-25 08:15:00.5+00"),
                Some("-0"),
                Some("-3 days +04:00:00")
            ])
        );
        // timestamptz in the session's zone.
        let paris = rows(batch(), Format::UnifiedText, "Europe/Paris");
        assert_eq!(
            text(&paris[0])[..2],
            want(&[
                Some("2026-01-25 08:15:00.5"),
                Some("2026-01-25 09:15:00.5+01")
            ])[..]
        );
    }

    #[test]
    fn binary_data_rows_are_postgresql_binary() {
        // Microseconds since 2000-01-01, big-endian, for both timestamp types; float8 bits.
        let since_2000 = (T - 946_684_800_000_000).to_be_bytes().to_vec();
        let got = rows(batch(), Format::UnifiedBinary, "Europe/Paris");
        assert_eq!(got[0][0].as_deref(), Some(&since_2000[..]));
        assert_eq!(got[0][1].as_deref(), Some(&since_2000[..]));
        assert_eq!(got[0][2].as_deref(), Some(&1e20f64.to_be_bytes()[..]));
        // A mix: text for the first column only.
        let mixed = rows(batch(), Format::Individual(vec![0, 1, 1, 1]), "UTC");
        assert_eq!(mixed[0][0].as_deref(), Some(&b"2026-01-25 08:15:00.5"[..]));
        assert_eq!(mixed[0][1].as_deref(), Some(&since_2000[..]));
    }
}
