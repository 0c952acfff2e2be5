//! Result-set output: aligned tables, psql-style expanded records, CSV, JSON and NDJSON,
//! written batch by batch so a large result never has to fit in memory (tables excepted, which
//! are drawn in chunks). On a terminal, tables are fitted to the screen instead
//! (`crate::render`), keeping only the rows they show.

use crate::cli::Format;
use crate::pager::PagerMode;
use crate::render::{RenderOptions, TableCollector};
use crate::terminal::Screen;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter, WriterBuilder as JsonBuilder};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches_with_options;
use std::io::Write;

/// Rows drawn per table: column widths need the rows first, so a table is buffered; beyond
/// this many rows a table is drawn and a new one starts rather than holding the whole result.
const TABLE_CHUNK_ROWS: usize = 10_000;

/// How results look; shared by `-c`/`-f` and the REPL (where `\x` and `\pset` change it).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    /// psql's `\x`: one block per record. Applies to the table format only.
    pub expanded: Expanded,
    /// No `(n rows)` footer.
    pub quiet: bool,
    /// `\pset maxrows`: rows a table on a terminal shows, the middle ones elided (None: all).
    pub max_rows: Option<usize>,
    /// `\pset columns`: the width tables on a terminal are fitted to (None: the terminal's).
    pub columns: Option<usize>,
    /// `\pset pager`.
    pub pager: PagerMode,
    /// A fitted table's second header line of SQL types; off for listings whose columns are
    /// all text (`\d`).
    pub types: bool,
}

impl Style {
    /// DuckDB's CLI shows 40 rows of a long result; psql pages results taller than the screen.
    pub const MAX_ROWS: usize = 40;

    pub fn new(format: Format, quiet: bool) -> Self {
        Style {
            format,
            expanded: Expanded::Off,
            quiet,
            max_rows: Some(Self::MAX_ROWS),
            columns: None,
            pager: PagerMode::On,
            types: true,
        }
    }
}

/// psql's `\x [on|off|auto]`: auto draws a table too wide for the screen as records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expanded {
    Off,
    On,
    Auto,
}

fn display_options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_display_error(true)
        .with_null("NULL")
}

/// Writes one result set to `out` as its batches arrive.
pub struct ResultWriter<'a> {
    schema: SchemaRef,
    rows: usize,
    quiet: bool,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Table {
        out: &'a mut dyn Write,
        pending: Vec<RecordBatch>,
        pending_rows: usize,
        drawn: bool,
    },
    Expanded {
        out: &'a mut dyn Write,
    },
    /// A table fitted to the screen, drawn when the result ends.
    Fitted {
        table: Box<TableCollector>,
        /// `\x`: records (on), or records if too wide (auto).
        expanded: Expanded,
    },
    Csv {
        writer: csv::Writer<&'a mut dyn Write>,
        wrote: bool,
    },
    Json(ArrayWriter<&'a mut dyn Write>),
    Ndjson(LineDelimitedWriter<&'a mut dyn Write>),
}

impl<'a> ResultWriter<'a> {
    /// A writer to `out`; `screen` is the terminal `out` is, if it is one (tables are then
    /// fitted to it).
    pub fn new(
        style: Style,
        schema: SchemaRef,
        out: &'a mut dyn Write,
        screen: Option<Screen>,
    ) -> Self {
        let kind = match (style.format, screen) {
            // Without a row limit the rows are not held for one fitted table: they stream in
            // plain tables, as to a pipe.
            (Format::Table, Some(screen)) if style.max_rows.is_some() => {
                let types = match style.types {
                    true => schema
                        .fields()
                        .iter()
                        .map(|f| strata_sql::sql_type_display(f.data_type()))
                        .collect(),
                    false => Vec::new(),
                };
                let options = RenderOptions {
                    max_width: Some(style.columns.unwrap_or(screen.columns)),
                    max_rows: style.max_rows,
                    row_count: !style.quiet,
                    ..RenderOptions::default()
                };
                Kind::Fitted {
                    table: Box::new(TableCollector::new(schema.clone(), types, options)),
                    expanded: style.expanded,
                }
            }
            (Format::Table, _) if style.expanded == Expanded::On => Kind::Expanded { out },
            (Format::Table, _) => Kind::Table {
                out,
                pending: Vec::new(),
                pending_rows: 0,
                drawn: false,
            },
            (Format::Csv, _) => Kind::Csv {
                writer: csv::WriterBuilder::new().with_header(true).build(out),
                wrote: false,
            },
            // Explicit nulls keep every object's keys identical, which is what a consumer
            // loading the output into a table expects.
            (Format::Json, _) => {
                Kind::Json(JsonBuilder::new().with_explicit_nulls(true).build(out))
            }
            (Format::Ndjson, _) => {
                Kind::Ndjson(JsonBuilder::new().with_explicit_nulls(true).build(out))
            }
        };
        ResultWriter {
            schema,
            rows: 0,
            quiet: style.quiet,
            kind,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let first_row = self.rows + 1;
        self.rows += batch.num_rows();
        match &mut self.kind {
            Kind::Table {
                out,
                pending,
                pending_rows,
                drawn,
            } => {
                if batch.num_rows() == 0 {
                    return Ok(());
                }
                pending.push(batch.clone());
                *pending_rows += batch.num_rows();
                if *pending_rows >= TABLE_CHUNK_ROWS {
                    draw_table(*out, pending)?;
                    pending.clear();
                    *pending_rows = 0;
                    *drawn = true;
                }
                Ok(())
            }
            Kind::Expanded { out } => write_expanded(*out, batch, first_row),
            Kind::Fitted { table, .. } => table.push(batch),
            Kind::Csv { writer, wrote } => {
                *wrote = true;
                writer.write(batch)
            }
            Kind::Json(w) => w.write(batch),
            Kind::Ndjson(w) => w.write(batch),
        }
    }

    /// Ends the result: draws what is buffered, closes the JSON array, adds the row count.
    /// A table fitted to the screen comes back drawn but not written: the shell shows it,
    /// through the pager when it is taller than the screen.
    pub fn finish(self) -> Result<Option<String>, ArrowError> {
        let rows = self.rows;
        let footer = !self.quiet;
        match self.kind {
            Kind::Fitted { table, expanded } => {
                let text = match expanded {
                    Expanded::On => table.render_expanded(),
                    Expanded::Auto if !table.fits() => table.render_expanded(),
                    _ => table.render(),
                };
                return Ok(Some(text));
            }
            Kind::Table {
                out,
                mut pending,
                drawn,
                ..
            } => {
                if !pending.is_empty() || !drawn {
                    if pending.is_empty() {
                        // An empty result still shows its column names.
                        pending.push(RecordBatch::new_empty(self.schema.clone()));
                    }
                    draw_table(out, &pending)?;
                }
                if footer {
                    writeln!(out, "{}", row_count(rows))?;
                }
                out.flush()?;
            }
            Kind::Expanded { out } => {
                if footer && rows == 0 {
                    writeln!(out, "(0 rows)")?;
                }
                out.flush()?;
            }
            Kind::Csv { mut writer, wrote } => {
                if !wrote {
                    // The header line is written with the first batch; a result without
                    // batches still owes it.
                    writer.write(&RecordBatch::new_empty(self.schema.clone()))?;
                }
                writer.into_inner().flush()?;
            }
            Kind::Json(mut w) => {
                w.finish()?;
                let out = w.into_inner();
                writeln!(out)?;
                out.flush()?;
            }
            Kind::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
        }
        Ok(None)
    }
}

fn row_count(rows: usize) -> String {
    if rows == 1 {
        "(1 row)".to_string()
    } else {
        format!("({rows} rows)")
    }
}

fn draw_table(out: &mut dyn Write, batches: &[RecordBatch]) -> Result<(), ArrowError> {
    let table = pretty_format_batches_with_options(batches, &display_options())?;
    writeln!(out, "{table}")?;
    Ok(())
}

/// psql's expanded display: `-[ RECORD n ]-` then one `column | value` line per column.
fn write_expanded(
    out: &mut dyn Write,
    batch: &RecordBatch,
    first_row: usize,
) -> Result<(), ArrowError> {
    let options = display_options();
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    for row in 0..batch.num_rows() {
        let values: Vec<String> = formatters
            .iter()
            .map(|f| f.value(row).to_string())
            .collect();
        let value_width = values
            .iter()
            .flat_map(|v| v.lines())
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let header = format!("-[ RECORD {} ]", first_row + row);
        let width = (name_width + 3 + value_width).max(header.len() + 1);
        writeln!(out, "{header:-<width$}")?;
        for (name, value) in names.iter().zip(&values) {
            let mut lines = value.lines();
            writeln!(out, "{name:<name_width$} | {}", lines.next().unwrap_or(""))?;
            for more in lines {
                writeln!(out, "{:<name_width$} | {more}", "")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a, \"b\""), None])),
            ],
        )
        .unwrap()
    }

    fn render(format: Format, expanded: bool, batches: &[RecordBatch]) -> String {
        let mut out: Vec<u8> = Vec::new();
        let mut style = Style::new(format, false);
        if expanded {
            style.expanded = Expanded::On;
        }
        let mut w = ResultWriter::new(style, batch().schema(), &mut out, None);
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_and_header() {
        assert_eq!(
            render(Format::Csv, false, &[batch()]),
            "id,name\n1,\"a, \"\"b\"\"\"\n2,\n"
        );
        assert_eq!(render(Format::Csv, false, &[]), "id,name\n");
    }

    #[test]
    fn json_forms() {
        assert_eq!(
            render(Format::Json, false, &[batch()]),
            "[{\"id\":1,\"name\":\"a, \\\"b\\\"\"},{\"id\":2,\"name\":null}]\n"
        );
        assert_eq!(render(Format::Json, false, &[]), "[]\n");
        assert_eq!(
            render(Format::Ndjson, false, &[batch()]),
            "{\"id\":1,\"name\":\"a, \\\"b\\\"\"}\n{\"id\":2,\"name\":null}\n"
        );
    }

    #[test]
    fn table_and_expanded() {
        assert_eq!(
            render(Format::Table, false, &[batch()]),
            "+----+--------+\n\
             | id | name   |\n\
             +----+--------+\n\
             | 1  | a, \"b\" |\n\
             | 2  | NULL   |\n\
             +----+--------+\n\
             (2 rows)\n"
        );
        assert_eq!(
            render(Format::Table, false, &[]),
            "+----+------+\n| id | name |\n+----+------+\n+----+------+\n(0 rows)\n"
        );
        assert_eq!(
            render(Format::Table, true, &[batch()]),
            "-[ RECORD 1 ]-\nid   | 1\nname | a, \"b\"\n\
             -[ RECORD 2 ]-\nid   | 2\nname | NULL\n"
        );
    }
}
