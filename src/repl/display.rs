//! Output settings and charts: `\pset` (rows and width of fitted tables, the pager) and
//! `\chart`, which runs a query and draws its result sized to the terminal (docs/repl.md).

use crate::chart::{self, ChartKind, ChartOptions};
use crate::pager::PagerMode;
use crate::shell::Shell;
use anyhow::{anyhow, bail, Result};

/// Rows a chart reads at most: a chart of more points than the screen has cells shows no
/// more, and the rows are held in memory to draw them. `\pset chartrows` changes it.
pub const CHART_ROWS: usize = 1_000_000;

/// Tallest a line chart or histogram is drawn on a tall terminal: taller charts read no
/// better and push the query off the screen.
const CHART_MAX_HEIGHT: usize = 25;

/// The narrowest width tables are fitted to: narrower shows no data (a chart's minimum too).
const MIN_COLUMNS: usize = chart::MIN_WIDTH as usize;

/// Size of a chart when output is not a terminal (a file, a pipe).
const CHART_DEFAULT: (u16, u16) = (80, 20);

impl Shell {
    /// `\pset [option [value]]`: with no option, every setting; with no value, one.
    pub(super) fn pset(&mut self, option: Option<&str>, value: Option<&str>) -> Result<()> {
        let Some(option) = option else {
            for name in ["maxrows", "columns", "pager", "chartrows"] {
                println!("{}", self.pset_line(name)?);
            }
            return Ok(());
        };
        let name = option.to_ascii_lowercase();
        if let Some(value) = value {
            let v = value.trim().to_ascii_lowercase();
            match name.as_str() {
                "maxrows" => {
                    self.style.max_rows = match v.as_str() {
                        "off" | "all" | "0" => None,
                        n => Some(count(n, "maxrows")?),
                    }
                }
                "columns" => {
                    self.style.columns = match v.as_str() {
                        "0" | "auto" => None,
                        n => match count(n, "columns")? {
                            c if c < MIN_COLUMNS => bail!(
                                "\\pset columns takes at least {MIN_COLUMNS} (or 0 for the \
                                 terminal's width), not {c}"
                            ),
                            c => Some(c),
                        },
                    }
                }
                "pager" => {
                    self.style.pager = match v.as_str() {
                        "on" | "true" | "1" | "yes" => PagerMode::On,
                        "off" | "false" | "0" | "no" => PagerMode::Off,
                        "always" => PagerMode::Always,
                        _ => bail!("\\pset pager takes on, off or always, not \"{value}\""),
                    }
                }
                "chartrows" => self.chart_rows = count(&v, "chartrows")?,
                _ => {}
            }
        }
        println!("{}", self.pset_line(&name)?);
        Ok(())
    }

    fn pset_line(&self, name: &str) -> Result<String> {
        Ok(match name {
            "maxrows" => match self.style.max_rows {
                Some(n) => {
                    format!("maxrows is {n}: longer results show their first and last rows.")
                }
                None => "maxrows is off: every row is shown, in plain tables drawn as rows arrive."
                    .to_string(),
            },
            "columns" => match self.style.columns {
                Some(n) => format!("columns is {n}: tables are fitted to {n} columns."),
                None => "columns is 0: tables are fitted to the terminal's width.".to_string(),
            },
            "pager" => format!(
                "pager is {}.",
                match self.style.pager {
                    PagerMode::On => "on (for results taller than the screen)",
                    PagerMode::Off => "off",
                    PagerMode::Always => "always",
                }
            ),
            "chartrows" => format!(
                "chartrows is {}: rows a chart reads at most.",
                self.chart_rows
            ),
            other => bail!(
                "\\pset: unknown option \"{other}\"; options are maxrows, columns, pager, chartrows"
            ),
        })
    }

    /// `\chart [kind] query`.
    pub(super) async fn chart(&mut self, kind: Option<&str>, query: &str) -> Result<()> {
        let (schema, batches) = self.collect_rows(query, self.chart_rows).await?;
        let kind = match kind {
            Some(k) => k.parse::<ChartKind>()?,
            None => ChartKind::guess(&schema).ok_or_else(|| {
                anyhow!(
                    "\\chart cannot tell which chart fits these columns; name one: \
                     \\chart bar (a label and a number), \\chart line (a time or number, then \
                     numbers) or \\chart hist (one number)"
                )
            })?,
        };
        let (width, height) = match self.screen() {
            Some(s) => (
                self.style.columns.unwrap_or(s.columns),
                s.lines.saturating_sub(4).min(CHART_MAX_HEIGHT),
            ),
            None => (CHART_DEFAULT.0 as usize, CHART_DEFAULT.1 as usize),
        };
        let options = ChartOptions {
            width: width.min(u16::MAX as usize) as u16,
            height: height.max(chart::MIN_HEIGHT as usize) as u16,
            ..ChartOptions::default()
        };
        let mut text = chart::draw(kind, &schema, &batches, &options)?;
        text.push('\n');
        self.show(&text)?;
        self.out().flush()?;
        Ok(())
    }
}

fn count(text: &str, option: &str) -> Result<usize> {
    text.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow!("\\pset {option} takes a positive number, not \"{text}\""))
}
