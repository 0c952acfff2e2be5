//! Terminal tables that fit the screen, after DuckDB's box renderer: middle columns elided,
//! long values cut with "…", numbers right-aligned, a footer saying what is hidden; plus
//! psql's expanded form. Rows are collected as they stream, keeping only what is shown.
//!
//! Use: `TableCollector::new(schema, type_names, options)`, `push` each batch, then write
//! `render()` (or `render_expanded()` for `\x`, and for `\x auto` when `!fits()`). Every
//! line of either ends with a newline and is at most `max_width` display columns wide.

mod expanded;
mod table;
mod text;
mod widths;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_snap;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::collections::VecDeque;
use std::fmt::Write as _;
use text::Cell;

/// How a result is drawn. Every limit is here, with DuckDB's CLI defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Terminal columns; `None` draws every column in full.
    pub max_width: Option<usize>,
    /// Rows shown; `None` shows all. When more would be hidden than the three marker lines
    /// cost (more than `max_rows + 3` rows), the first ceil(max_rows/2) and last
    /// floor(max_rows/2) rows are shown with "·" rows between them.
    pub max_rows: Option<usize>,
    /// Width every column is cut to before columns are elided (DuckDB: 20).
    pub max_col_width: usize,
    /// Narrowest the first and last columns get on a very narrow screen before the last one
    /// is dropped too (beyond DuckDB, which never goes under 80 columns).
    pub min_col_width: usize,
    /// Text for NULL.
    pub null: String,
    /// Box-drawing characters, "…" and "·"; false draws ASCII `+-|`, "..." and ".".
    pub unicode: bool,
    /// psql's "(N rows)" under a table shown whole (`-q` leaves it out); what is hidden is
    /// always said.
    pub row_count: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            max_width: None,
            max_rows: Some(40),
            max_col_width: 20,
            min_col_width: 3,
            null: "NULL".to_string(),
            unicode: true,
            row_count: true,
        }
    }
}

impl RenderOptions {
    /// Marker ending a cut value and standing for elided columns.
    fn marker(&self) -> &'static str {
        if self.unicode {
            "…"
        } else {
            "..."
        }
    }
}

/// Lines a hidden-rows marker takes; showing all rows is preferred when hiding would save no
/// more than this (DuckDB's rule).
const DIVIDER_ROWS: usize = 3;

/// Collects a result as it streams: keeps the first ceil(max_rows/2) rows and a ring of the
/// last floor(max_rows/2) + 3 (so a result only a little over max_rows is still shown whole),
/// formatted to strings and cut to `max_width`, and counts all rows. Memory stays bounded
/// whatever the result size (unless `max_rows` or `max_width` is `None`).
pub struct TableCollector {
    schema: SchemaRef,
    names: Vec<Cell>,
    /// Second header line; empty when no type names were given.
    types: Vec<Cell>,
    right: Vec<bool>,
    options: RenderOptions,
    null: String,
    head: Vec<Vec<Cell>>,
    tail: VecDeque<Vec<Cell>>,
    head_cap: usize,
    tail_cap: usize,
    rows: usize,
}

/// The rows to draw: `top`, then (if `hidden > 0`) a marker, then `bottom`.
struct Shown<'a> {
    top: Vec<&'a [Cell]>,
    bottom: Vec<&'a [Cell]>,
    /// Row number (0-based) of the first bottom row.
    bottom_start: usize,
    hidden: usize,
}

impl TableCollector {
    /// `type_names`: one per column (e.g. "bigint", "text"), drawn as a second header line;
    /// pass an empty vector for none. Missing names show empty, extra ones are ignored.
    pub fn new(schema: SchemaRef, type_names: Vec<String>, options: RenderOptions) -> Self {
        let cap = options.max_width;
        let n = schema.fields().len();
        let names = schema
            .fields()
            .iter()
            .map(|f| Cell::new(&text::clean(f.name()), cap))
            .collect();
        let types = if type_names.is_empty() {
            Vec::new()
        } else {
            (0..n)
                .map(|i| Cell::new(&text::clean(type_names.get(i).map_or("", |s| s)), cap))
                .collect()
        };
        let right = schema
            .fields()
            .iter()
            .map(|f| right_aligned(f.data_type()))
            .collect();
        let (head_cap, tail_cap) = match options.max_rows {
            Some(m) => (m.div_ceil(2), m / 2 + DIVIDER_ROWS),
            None => (usize::MAX, 0),
        };
        TableCollector {
            schema,
            names,
            types,
            right,
            null: options.null.clone(),
            options,
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap,
            rows: 0,
        }
    }

    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        if batch.num_columns() != self.schema.fields().len() {
            return Err(ArrowError::SchemaError(format!(
                "batch has {} columns, the result {}",
                batch.num_columns(),
                self.schema.fields().len()
            )));
        }
        let options = FormatOptions::new()
            .with_display_error(true)
            .with_null(&self.null);
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        let cap = self.options.max_width;
        let format_row = |row: usize| -> Result<Vec<Cell>, ArrowError> {
            formatters
                .iter()
                .map(|f| {
                    let mut s = String::new();
                    write!(s, "{}", f.value(row))
                        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
                    Ok(Cell::new(&s, cap))
                })
                .collect()
        };
        let mut row = 0;
        while row < n && self.head.len() < self.head_cap {
            self.head.push(format_row(row)?);
            row += 1;
        }
        // Only the rows that can still end up in the tail ring are formatted.
        let keep = (n - row).min(self.tail_cap);
        for r in n - keep..n {
            if self.tail.len() == self.tail_cap {
                self.tail.pop_front();
            }
            self.tail.push_back(format_row(r)?);
        }
        self.rows += n;
        Ok(())
    }

    /// Rows pushed so far.
    #[cfg(test)]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the table (of the rows shown) fits `max_width` without eliding columns or
    /// truncating values (psql's `\x auto` switches to the expanded form when it does not).
    /// Values cut at their first line break do not count: the expanded form shows first
    /// lines too.
    pub fn fits(&self) -> bool {
        match self.options.max_width {
            None => true,
            Some(max) => widths::line_width(self.natural_widths(&self.shown())) <= max,
        }
    }

    /// The table, then a footer line; every line ends with a newline and, when `max_width`
    /// is set, is at most that wide.
    pub fn render(&self) -> String {
        let (mut lines, footer) = table::draw(self, &self.shown());
        // psql's form of the footer is the one that starts with "(": it says nothing is hidden.
        let quiet = !self.options.row_count && footer.len() == 1 && footer[0].starts_with('(');
        if !quiet {
            lines.extend(footer);
        }
        table::finish(lines, self.options.max_width)
    }

    /// psql's expanded form (`-[ RECORD n ]`, then `name | value` lines) of the shown rows.
    pub fn render_expanded(&self) -> String {
        table::finish(expanded::draw(self, &self.shown()), self.options.max_width)
    }

    fn shown(&self) -> Shown<'_> {
        let kept = self.head.len() + self.tail.len();
        let all = self
            .options
            .max_rows
            .is_none_or(|m| self.rows <= m.saturating_add(DIVIDER_ROWS));
        let bottom_len = if all || kept == self.rows {
            // Nothing was dropped from the ring.
            self.tail.len()
        } else {
            self.options
                .max_rows
                .map_or(0, |m| m / 2)
                .min(self.tail.len())
        };
        let bottom: Vec<&[Cell]> = self
            .tail
            .iter()
            .skip(self.tail.len() - bottom_len)
            .map(Vec::as_slice)
            .collect();
        let top: Vec<&[Cell]> = self.head.iter().map(Vec::as_slice).collect();
        let hidden = self.rows - top.len() - bottom.len();
        Shown {
            bottom_start: self.rows - bottom.len(),
            top,
            bottom,
            hidden,
        }
    }

    /// Full width of each column: header, type name and every shown value.
    fn natural_widths(&self, shown: &Shown<'_>) -> Vec<usize> {
        let marker = self.options.marker();
        (0..self.names.len())
            .map(|c| {
                let header = self.names[c].natural_width(marker);
                let kind = self.types.get(c).map_or(0, |t| t.natural_width(marker));
                shown
                    .top
                    .iter()
                    .chain(&shown.bottom)
                    .map(|row| row[c].natural_width(marker))
                    .fold(header.max(kind), usize::max)
            })
            .collect()
    }
}

/// Numbers are right-aligned, everything else left (DuckDB's `TypeAlignment`).
fn right_aligned(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, value) => right_aligned(value),
        DataType::RunEndEncoded(_, values) => right_aligned(values.data_type()),
        t => t.is_numeric(),
    }
}

/// "1 row", "2 rows".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
