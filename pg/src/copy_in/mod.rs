//! `COPY … FROM STDIN` input to Arrow: the statement's options, and decoders for PostgreSQL's
//! three COPY formats (`text.rs`, `csv.rs`, `binary.rs`) that read the client's bytes and
//! yield record batches of the table's writable columns. A row that does not fit (too few or
//! too many fields, a value that is not of its column's type) is an error naming its line, as
//! PostgreSQL's are (docs/server.md#writing); the caller writes nothing then.
mod binary;
mod csv;
mod text;
mod values;

use crate::sqlstate::{PgError, BAD_FILE_FORMAT, FEATURE_NOT_SUPPORTED};
use datafusion::arrow::array::{new_null_array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use std::io::BufRead;
use strata_sql::{CopyFormat, CopyOptions};

/// Rows per decoded batch.
pub const BATCH_ROWS: usize = 8192;

/// How the input is written, with PostgreSQL's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFormat {
    pub format: CopyFormat,
    pub delimiter: u8,
    /// The text that means NULL (text: `\N`, CSV: an unquoted empty field).
    pub null: String,
    pub header: bool,
    pub quote: u8,
    pub escape: u8,
}

impl InputFormat {
    /// The statement's options, checked as PostgreSQL checks them.
    pub fn new(o: &CopyOptions) -> Result<InputFormat, PgError> {
        let csv = o.format == CopyFormat::Csv;
        let byte = |c: Option<char>, what: &str, default: u8| match c {
            None => Ok(default),
            Some(c) if c.is_ascii() => Ok(c as u8),
            Some(_) => Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                format!("COPY {what} must be a single one-byte character"),
            )),
        };
        let delimiter = byte(o.delimiter, "delimiter", if csv { b',' } else { b'\t' })?;
        let quote = byte(o.quote, "quote", b'"')?;
        let escape = byte(o.escape, "escape", quote)?;
        if o.format == CopyFormat::Binary && (o.delimiter.is_some() || o.null.is_some() || o.header)
        {
            return Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                "cannot specify DELIMITER, NULL or HEADER in BINARY mode",
            ));
        }
        if !csv && (o.quote.is_some() || o.escape.is_some()) {
            return Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                "COPY QUOTE and ESCAPE are available only in CSV mode",
            ));
        }
        if matches!(delimiter, b'\r' | b'\n') || (!csv && delimiter == b'\\') {
            return Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                "COPY delimiter cannot be newline, carriage return or backslash",
            ));
        }
        if csv && delimiter == quote {
            return Err(PgError::new(
                FEATURE_NOT_SUPPORTED,
                "COPY delimiter and quote must be different",
            ));
        }
        Ok(InputFormat {
            format: o.format,
            delimiter,
            null: o
                .null
                .clone()
                .unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header: o.header,
            quote,
            escape,
        })
    }
}

/// What the rows go into: the table's writable columns, and which of them the input gives
/// (in input order; the others are NULL).
#[derive(Debug, Clone)]
pub struct Target {
    /// For messages: `zone.schema.table`.
    pub table: String,
    pub schema: SchemaRef,
    pub columns: Vec<usize>,
}

impl Target {
    /// Builds a batch of the table's schema from the given columns (in input order).
    fn batch(&self, given: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch, PgError> {
        let mut columns: Vec<Option<ArrayRef>> = vec![None; self.schema.fields().len()];
        for (i, array) in self.columns.iter().zip(given) {
            columns[*i] = Some(array);
        }
        let columns = columns
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| c.unwrap_or_else(|| new_null_array(f.data_type(), rows)))
            .collect();
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| PgError::new(crate::sqlstate::INTERNAL_ERROR, e.to_string()))
    }

    /// The name of the `i`th input column.
    fn column_name(&self, i: usize) -> &str {
        self.schema.field(self.columns[i]).name()
    }

    /// A format error at a line: `… (COPY t, line n)`; line 0 is the binary header.
    fn bad_line(&self, line: u64, message: impl std::fmt::Display) -> PgError {
        let at = match line {
            0 => String::new(),
            n => format!(", line {n}"),
        };
        PgError::new(
            BAD_FILE_FORMAT,
            format!("{message} (COPY {}{at})", self.table),
        )
    }
}

/// Decodes all of `input`, handing each batch to `emit`, which says whether to go on (false:
/// the receiver is gone). Returns the number of rows decoded.
pub fn decode(
    input: &mut dyn BufRead,
    format: &InputFormat,
    target: &Target,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<u64, PgError> {
    match format.format {
        CopyFormat::Text => text::decode(input, format, target, emit),
        CopyFormat::Csv => csv::decode(input, format, target, emit),
        CopyFormat::Binary => binary::decode(input, target, emit),
    }
}

/// Rows of text fields gathered column by column until a batch is full (text and CSV).
struct TextRows<'a> {
    target: &'a Target,
    columns: Vec<Vec<Option<String>>>,
    lines: Vec<u64>,
    rows: u64,
}

impl<'a> TextRows<'a> {
    fn new(target: &'a Target) -> Self {
        TextRows {
            target,
            columns: vec![Vec::with_capacity(BATCH_ROWS); target.columns.len()],
            lines: Vec::with_capacity(BATCH_ROWS),
            rows: 0,
        }
    }

    /// Adds one row; its field count must match the columns.
    fn push(
        &mut self,
        line: u64,
        fields: Vec<Option<String>>,
        emit: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> Result<bool, PgError> {
        let want = self.columns.len();
        if fields.len() < want {
            let missing = self.target.column_name(fields.len());
            return Err(self
                .target
                .bad_line(line, format!("missing data for column \"{missing}\"")));
        }
        if fields.len() > want {
            return Err(self
                .target
                .bad_line(line, "extra data after last expected column"));
        }
        for (column, value) in self.columns.iter_mut().zip(fields) {
            column.push(value);
        }
        self.lines.push(line);
        if self.lines.len() >= BATCH_ROWS {
            return self.flush(emit);
        }
        Ok(true)
    }

    /// Converts the gathered rows into a batch and emits it.
    fn flush(&mut self, emit: &mut dyn FnMut(RecordBatch) -> bool) -> Result<bool, PgError> {
        let rows = self.lines.len();
        if rows == 0 {
            return Ok(true);
        }
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (i, column) in self.columns.iter_mut().enumerate() {
            let field = self.target.schema.field(self.target.columns[i]);
            let values = std::mem::replace(column, Vec::with_capacity(BATCH_ROWS));
            arrays.push(values::from_text(&values, field, &self.lines, self.target)?);
        }
        self.lines.clear();
        self.rows += rows as u64;
        Ok(emit(self.target.batch(arrays, rows)?))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use std::sync::Arc;

    /// id bigint, name text, score double, day date, at timestamptz, ok boolean.
    pub fn target() -> Target {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("score", DataType::Float64, true),
            Field::new("day", DataType::Date32, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("ok", DataType::Boolean, true),
        ]);
        Target {
            table: "raw.t.x".into(),
            schema: Arc::new(schema),
            columns: (0..6).collect(),
        }
    }

    pub fn options(format: CopyFormat) -> CopyOptions {
        CopyOptions {
            format,
            header: false,
            delimiter: None,
            null: None,
            quote: None,
            escape: None,
        }
    }

    /// Decodes `input` and prints the rows as a table (or the error's code and message).
    pub fn run(input: &[u8], o: &CopyOptions, target: &Target) -> Result<String, String> {
        let format = InputFormat::new(o).map_err(|e| format!("{}: {}", e.code, e.message))?;
        let mut batches = vec![];
        let mut reader = std::io::BufReader::new(input);
        let n = decode(&mut reader, &format, target, &mut |b| {
            batches.push(b);
            true
        })
        .map_err(|e| format!("{}: {}", e.code, e.message))?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows as u64, n);
        Ok(pretty_format_batches(&batches).unwrap().to_string())
    }
}
