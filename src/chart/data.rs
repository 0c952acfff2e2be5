//! Reading a query result's columns for a chart: which types count as numbers and x values,
//! the column list that shape errors show, and the values as `f64` or display text.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How many columns a shape error lists before eliding the rest.
const DESCRIBE_MAX_COLUMNS: usize = 8;

/// A query result seen column by column across its batches.
pub(super) struct Columns<'a> {
    schema: &'a SchemaRef,
    batches: &'a [RecordBatch],
}

impl<'a> Columns<'a> {
    pub(super) fn new(schema: &'a SchemaRef, batches: &'a [RecordBatch]) -> Self {
        Columns { schema, batches }
    }

    pub(super) fn len(&self) -> usize {
        self.schema.fields().len()
    }

    pub(super) fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    pub(super) fn name(&self, i: usize) -> &str {
        self.schema.field(i).name()
    }

    pub(super) fn data_type(&self, i: usize) -> &DataType {
        self.schema.field(i).data_type()
    }

    pub(super) fn is_number(&self, i: usize) -> bool {
        is_number(self.data_type(i))
    }

    /// Whether column `i` can be a line chart's x: a number, a date or a timestamp.
    pub(super) fn is_x(&self, i: usize) -> bool {
        self.is_number(i) || is_temporal(self.data_type(i))
    }

    /// "3 columns (a text, b bigint, c date)", for shape errors.
    pub(super) fn describe(&self) -> String {
        let n = self.len();
        if n == 0 {
            return "no columns".to_string();
        }
        let mut listed: Vec<String> = self
            .schema
            .fields()
            .iter()
            .take(DESCRIBE_MAX_COLUMNS)
            .map(|f| format!("{} {}", f.name(), type_name(f.data_type())))
            .collect();
        if n > DESCRIBE_MAX_COLUMNS {
            listed.push("…".to_string());
        }
        let noun = if n == 1 { "column" } else { "columns" };
        format!("{n} {noun} ({})", listed.join(", "))
    }

    /// Column `i` of every batch, checked against the schema's column count.
    fn arrays(&self, i: usize) -> Result<Vec<&'a ArrayRef>, ArrowError> {
        self.batches
            .iter()
            .map(|b| {
                if b.num_columns() == self.len() {
                    Ok(b.column(i))
                } else {
                    Err(ArrowError::SchemaError(format!(
                        "a batch has {} columns where the schema has {}",
                        b.num_columns(),
                        self.len()
                    )))
                }
            })
            .collect()
    }

    /// A number column as `f64` (`None` for NULL); decimals and 64-bit integers are rounded.
    pub(super) fn numbers(&self, i: usize) -> Result<Vec<Option<f64>>, ArrowError> {
        let mut out = Vec::with_capacity(self.rows());
        for array in self.arrays(i)? {
            let floats = cast(array, &DataType::Float64)?;
            out.extend(floats.as_primitive::<Float64Type>().iter());
        }
        Ok(out)
    }

    /// A line chart's x column as `f64`: numbers as they are, dates and timestamps in their
    /// own unit (days for Date32, milliseconds for Date64, the timestamp's unit), which
    /// [`format_temporal`] turns back into text.
    pub(super) fn x_values(&self, i: usize) -> Result<Vec<Option<f64>>, ArrowError> {
        if !is_temporal(self.data_type(i)) {
            return self.numbers(i);
        }
        let mut out = Vec::with_capacity(self.rows());
        for array in self.arrays(i)? {
            let ints = cast(array, &DataType::Int64)?;
            out.extend(
                ints.as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|v| v as f64)),
            );
        }
        Ok(out)
    }

    /// Any column as the text a table would show (`None` for NULL), one line each.
    pub(super) fn texts(&self, i: usize) -> Result<Vec<Option<String>>, ArrowError> {
        let mut out = Vec::with_capacity(self.rows());
        let options = FormatOptions::new();
        for array in self.arrays(i)? {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
            for row in 0..array.len() {
                out.push(if array.is_null(row) {
                    None
                } else {
                    // A label is one line of the chart: tabs and newlines become spaces.
                    let text = formatter.value(row).try_to_string()?;
                    Some(
                        text.chars()
                            .map(|c| if c.is_control() { ' ' } else { c })
                            .collect(),
                    )
                });
            }
        }
        Ok(out)
    }
}

/// Ints, unsigned ints, floats and decimals, also dictionary-encoded.
pub(super) fn is_number(data_type: &DataType) -> bool {
    use DataType::*;
    if let Dictionary(_, value) = data_type {
        return is_number(value);
    }
    matches!(
        data_type,
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(..)
            | Decimal64(..)
            | Decimal128(..)
            | Decimal256(..)
    )
}

/// Dates and timestamps, the time-like x values of a line chart.
pub(super) fn is_temporal(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    )
}

/// Seconds per unit of an x value read by [`Columns::x_values`] (1 for numbers).
pub(super) fn seconds_per_unit(data_type: &DataType) -> f64 {
    match data_type {
        DataType::Date32 => 86_400.0,
        DataType::Date64 => 1e-3,
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => 1.0,
            TimeUnit::Millisecond => 1e-3,
            TimeUnit::Microsecond => 1e-6,
            TimeUnit::Nanosecond => 1e-9,
        },
        _ => 1.0,
    }
}

/// Formats x values (in the unit of [`Columns::x_values`]) of a date or timestamp column with a
/// strftime `format`, in the column's time zone.
pub(super) fn format_temporal(
    values: &[f64],
    data_type: &DataType,
    format: &str,
) -> Result<Vec<String>, ArrowError> {
    let ints: Vec<i64> = values.iter().map(|v| v.round() as i64).collect();
    let ints: ArrayRef = std::sync::Arc::new(datafusion::arrow::array::Int64Array::from(ints));
    // Int64 casts to timestamps and Date64 directly; Date32 goes through its own Int32.
    let typed = match data_type {
        DataType::Date32 => cast(&cast(&ints, &DataType::Int32)?, data_type)?,
        _ => cast(&ints, data_type)?,
    };
    let options = FormatOptions::new()
        .with_null("?")
        .with_date_format(Some(format))
        .with_datetime_format(Some(format))
        .with_timestamp_format(Some(format))
        .with_timestamp_tz_format(Some(format));
    let formatter = ArrayFormatter::try_new(typed.as_ref(), &options)?;
    // A value beyond chrono's dates (e.g. i64::MIN microseconds) cannot be written: "?".
    Ok((0..typed.len())
        .map(|i| {
            formatter
                .value(i)
                .try_to_string()
                .unwrap_or_else(|_| "?".into())
        })
        .collect())
}

/// The name a person reads for an Arrow type in chart errors: the SQL name `\d` shows.
pub(super) fn type_name(data_type: &DataType) -> String {
    strata_sql::sql_type_display(data_type)
}
