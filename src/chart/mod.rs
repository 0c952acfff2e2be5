//! Terminal charts of a query result for `\chart [bar|line|hist] <query>`: the REPL runs the query
//! and hands its Arrow batches to [`draw`], which returns plain text sized to the terminal.
//!
//! Why ratatui-core/-widgets, into a plain `Buffer`: maintained, MIT, real axes, braille lines.
//!
//! - `bar`: a label column and a number column, one horizontal bar per row (drawn here with ⅛
//!   blocks, since ratatui's `BarChart` holds only `u64` and cannot draw negative values).
//! - `line`: an x column (timestamp, date or number) and one or more number columns.
//! - `hist`: one number column, counted into equal-width bins.
//!
//! Bad input is a [`ChartError`] that says which shape the chart needs; NULL, NaN and infinite
//! values are skipped and counted in the chart's last line.

mod bar;
mod data;
mod hist;
mod line;
mod text;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod input_types_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;

/// The narrowest chart drawn: room for an axis label, the axis and a few bars.
pub const MIN_WIDTH: u16 = 20;
/// The lowest chart drawn: a title, two plot rows, the axis and its labels.
pub const MIN_HEIGHT: u16 = 5;

/// Which chart `\chart` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// One horizontal bar per row: a label column and a number column.
    Bar,
    /// One or more number series over an x column (time, date or number).
    Line,
    /// Counts of one number column in equal-width bins.
    Hist,
}

impl ChartKind {
    /// The word the user types after `\chart`.
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Bar => "bar",
            ChartKind::Line => "line",
            ChartKind::Hist => "hist",
        }
    }

    /// The chart a result of this schema fits, for `\chart <query>` without a kind: one number
    /// column is a histogram, a date or timestamp followed by numbers a line, a label and a
    /// number a bar, a number followed by two or more numbers a line; `None` for anything else.
    pub fn guess(schema: &SchemaRef) -> Option<ChartKind> {
        let columns = data::Columns::new(schema, &[]);
        let numbers_after_first = (1..columns.len()).all(|i| columns.is_number(i));
        match columns.len() {
            1 if columns.is_number(0) => Some(ChartKind::Hist),
            n if n >= 2 && numbers_after_first && data::is_temporal(columns.data_type(0)) => {
                Some(ChartKind::Line)
            }
            2 if numbers_after_first => Some(ChartKind::Bar),
            n if n >= 3 && numbers_after_first && columns.is_number(0) => Some(ChartKind::Line),
            _ => None,
        }
    }

    /// The shape of query result this chart needs, as said in errors.
    fn needs(self) -> &'static str {
        match self {
            ChartKind::Bar => "two columns: a label and a number",
            ChartKind::Line => {
                "an x column (timestamp, date or number) followed by one or more number columns"
            }
            ChartKind::Hist => "one number column",
        }
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChartKind {
    type Err = ChartError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bar" => Ok(ChartKind::Bar),
            "line" => Ok(ChartKind::Line),
            "hist" | "histogram" => Ok(ChartKind::Hist),
            _ => Err(ChartError::UnknownKind(s.to_string())),
        }
    }
}

/// Size and limits of a chart; `Default` is an 80×20 Unicode chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOptions {
    /// Columns available (the terminal width); no output line is wider.
    pub width: u16,
    /// Rows available for `line` and `hist`, title and skipped-rows line included. A `bar` chart
    /// has one line per row instead (bounded by `max_bars`) and leaves paging to the caller.
    pub height: u16,
    /// Number of equal-width bins of a histogram.
    pub bins: usize,
    /// Most rows a bar chart draws; more is an error asking to aggregate or LIMIT.
    pub max_bars: usize,
    /// Widest label column of a bar chart, in terminal columns (also at most a third of `width`).
    pub max_label_width: usize,
    /// Unicode blocks, braille and box lines; `false` draws with ASCII only (`#`, `*`, `|`, `-`).
    pub unicode: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 80,
            height: 20,
            bins: 10,
            max_bars: 100,
            max_label_width: 30,
            unicode: true,
        }
    }
}

/// Why a chart could not be drawn; every message says what was needed.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// `\chart` followed by a word that is not a chart kind.
    #[error("unknown chart kind '{0}': use bar, line or hist")]
    UnknownKind(String),
    /// The query's columns do not fit the chart.
    #[error("\\chart {kind} needs {needs}; the query returned {got}", needs = kind.needs())]
    Shape {
        kind: ChartKind,
        /// The columns that came, e.g. "3 columns (a text, b bigint, c date)".
        got: String,
    },
    /// The query returned no rows.
    #[error("no rows to chart")]
    NoRows,
    /// Every row had NULL, NaN or an infinite value where the chart needs a number.
    #[error("no values to chart: {0}")]
    NoValues(String),
    /// The terminal is smaller than the smallest chart.
    #[error(
        "\\chart needs at least {min_width} columns and {min_height} rows; got {width}×{height}"
    )]
    TooSmall {
        width: u16,
        height: u16,
        min_width: u16,
        min_height: u16,
    },
    /// A bar chart of more rows than `max_bars`.
    #[error(
        "\\chart bar draws at most {max} bars and the query returned {rows} rows: aggregate \
         (GROUP BY) or add LIMIT {max}"
    )]
    TooManyBars { rows: usize, max: usize },
    /// A histogram with no bins, or more bins than columns to draw them in.
    #[error("\\chart hist needs between 1 and {max} bins at width {width}; got {bins}")]
    Bins { bins: usize, max: usize, width: u16 },
    /// Arrow could not read a column (e.g. a batch that does not match the schema).
    #[error("could not read the query result: {0}")]
    Arrow(#[from] ArrowError),
}

/// Draws `batches` (all with `schema`) as a `kind` chart of `options.width` columns.
///
/// Returns the chart as lines joined with `\n` (no trailing newline, no trailing spaces), the
/// last line saying how many rows were skipped for NULL, NaN or infinity, if any.
pub fn draw(
    kind: ChartKind,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: &ChartOptions,
) -> Result<String, ChartError> {
    if options.width < MIN_WIDTH || options.height < MIN_HEIGHT {
        return Err(ChartError::TooSmall {
            width: options.width,
            height: options.height,
            min_width: MIN_WIDTH,
            min_height: MIN_HEIGHT,
        });
    }
    let columns = data::Columns::new(schema, batches);
    // The shape is checked before the rows so that a wrong query says so even when it is empty.
    let shape_ok = match kind {
        ChartKind::Bar => columns.len() == 2 && columns.is_number(1),
        ChartKind::Line => {
            columns.len() >= 2
                && columns.is_x(0)
                && (1..columns.len()).all(|i| columns.is_number(i))
        }
        ChartKind::Hist => columns.len() == 1 && columns.is_number(0),
    };
    if !shape_ok {
        return Err(ChartError::Shape {
            kind,
            got: columns.describe(),
        });
    }
    if columns.rows() == 0 {
        return Err(ChartError::NoRows);
    }
    let lines = match kind {
        ChartKind::Bar => bar::draw(&columns, options)?,
        ChartKind::Line => line::draw(&columns, options)?,
        ChartKind::Hist => hist::draw(&columns, options)?,
    };
    Ok(text::finish(lines, options.width, options.unicode))
}

/// Rows left out of a chart, reported in its last line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Skipped {
    /// Rows with NULL in a charted column.
    null: usize,
    /// Rows (without NULL) with NaN or an infinite number.
    non_finite: usize,
}

impl Skipped {
    /// Counts one value: `None` is NULL. Returns the value when it can be drawn.
    fn check(&mut self, value: Option<f64>) -> Option<f64> {
        match value {
            None => {
                self.null += 1;
                None
            }
            Some(v) if !v.is_finite() => {
                self.non_finite += 1;
                None
            }
            Some(v) => Some(v),
        }
    }

    /// What was skipped, without parentheses: "2 rows with NULL", "1 row with NaN or infinity".
    fn describe(&self) -> Option<String> {
        let rows = |n: usize| if n == 1 { "row" } else { "rows" };
        match (self.null, self.non_finite) {
            (0, 0) => None,
            (n, 0) => Some(format!("{n} {} with NULL", rows(n))),
            (0, m) => Some(format!("{m} {} with NaN or infinity", rows(m))),
            (n, m) => Some(format!(
                "{n} {} with NULL and {m} with NaN or infinity",
                rows(n)
            )),
        }
    }

    /// The chart's last line, e.g. "(2 rows with NULL skipped)", if anything was skipped.
    fn note(&self) -> Option<String> {
        self.describe().map(|d| format!("({d} skipped)"))
    }

    /// The error when none of the rows could be drawn.
    fn nothing_left(&self) -> ChartError {
        let rows = |n: usize| {
            if n == 1 {
                "the only row is".to_string()
            } else {
                format!("all {n} rows are")
            }
        };
        ChartError::NoValues(match (self.null, self.non_finite) {
            (n, 0) => format!("{} NULL", rows(n)),
            (0, m) => format!("{} NaN or infinity", rows(m)),
            (n, m) => format!("every row is NULL, NaN or infinity ({n} NULL, {m} NaN or infinity)"),
        })
    }
}
