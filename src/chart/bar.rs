//! `\chart bar`: one horizontal bar per row, label on the left, value at the bar's end, and a
//! zero axis with negative bars growing to its left. Drawn here rather than with ratatui's
//! `BarChart`, which holds `u64` values only.

use super::data::Columns;
use super::text::{self, pad_left, pad_right, truncate};
use super::{ChartError, ChartOptions, Skipped};

/// The label column takes at most 1/LABEL_SHARE of the width, so bars keep the rest.
const LABEL_SHARE: usize = 3;
/// Bar cells wanted before labels are cut below their own width or `max_label_width`.
const MIN_BAR_CELLS: usize = 8;
/// Labels are not cut below this many columns to make room for bars.
const MIN_LABEL_CELLS: usize = 6;
/// Left ⅛ blocks for the end of a positive bar, by eighths 0..8.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// Draws the bar chart as lines: a header of the two column names, then one line per row.
pub(super) fn draw(columns: &Columns, options: &ChartOptions) -> Result<Vec<String>, ChartError> {
    let rows = columns.rows();
    if rows > options.max_bars {
        return Err(ChartError::TooManyBars {
            rows,
            max: options.max_bars,
        });
    }
    let labels = columns.texts(0)?;
    let values = columns.numbers(1)?;
    let mut skipped = Skipped::default();
    let bars: Vec<(String, f64)> = labels
        .into_iter()
        .zip(values)
        .filter_map(|(label, v)| {
            let v = skipped.check(v)?;
            // A NULL label is a group of its own (GROUP BY makes one), so it is drawn.
            Some((label.unwrap_or_else(|| "NULL".to_string()), v))
        })
        .collect();
    if bars.is_empty() {
        return Err(skipped.nothing_left());
    }
    let layout = Layout::new(&bars, columns, options);
    let mut lines = vec![layout.header(columns.name(0), columns.name(1))];
    lines.extend(bars.iter().map(|(label, v)| layout.row(label, *v)));
    lines.extend(skipped.note());
    Ok(lines)
}

/// Columns of the chart, left to right: labels, a space, the negative side (value texts and
/// bars), the zero axis, the positive side (bars and value texts).
struct Layout {
    label_w: usize,
    /// Columns left of the axis: widest negative value text, a space, `neg_cells`.
    neg_side: usize,
    /// Whether negative values are printed right of the axis (a narrow terminal) rather than
    /// at their bar's end.
    neg_text_right: bool,
    /// Bar cells for the most negative value (0 when none is negative).
    neg_cells: usize,
    /// Bar cells for the largest positive value.
    pos_cells: usize,
    /// The largest magnitude, drawn `max(neg_cells, pos_cells)` long.
    scale_max: f64,
    unicode: bool,
    ellipsis: &'static str,
}

impl Layout {
    fn new(bars: &[(String, f64)], columns: &Columns, options: &ChartOptions) -> Self {
        let width = options.width as usize;
        let texts_w = |neg: bool| {
            bars.iter()
                .filter(|(_, v)| (*v < 0.0) == neg)
                .map(|(_, v)| text::width(&text::value(*v)))
                .max()
        };
        let (pos_w, neg_w) = (texts_w(false), texts_w(true));
        let widest_label = bars
            .iter()
            .map(|(l, _)| text::width(l))
            .chain([text::width(columns.name(0))])
            .max()
            .unwrap_or(1);
        let label_w = widest_label
            .min(options.max_label_width)
            .min(width / LABEL_SHARE)
            .max(1);
        // Label width and bar cells left once `reserve` columns are set aside: a narrow
        // terminal cuts labels further (down to MIN_LABEL_CELLS) so the bars keep a few cells.
        let fit = |reserve: usize| {
            let short = (MIN_BAR_CELLS + reserve + label_w + 1).saturating_sub(width);
            let label_w = label_w
                .saturating_sub(short)
                .max(label_w.min(MIN_LABEL_CELLS));
            (label_w, width.saturating_sub(label_w + 1 + reserve))
        };
        // Axis column, plus the value texts and their spaces on each side that has bars.
        let (mut label_w, mut cells) =
            fit(1 + pos_w.map_or(0, |w| w + 1) + neg_w.map_or(0, |w| w + 1));
        // Too narrow for value texts on both sides: negative values go right of the axis too.
        let neg_text_right = cells < MIN_BAR_CELLS && pos_w.is_some() && neg_w.is_some();
        if neg_text_right {
            (label_w, cells) = fit(1 + pos_w.max(neg_w).unwrap_or(0) + 1);
        }

        let max_pos = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
        let max_neg = bars.iter().map(|(_, v)| -*v).fold(0.0_f64, f64::max);
        let scale_max = max_pos.max(max_neg);
        // Split the cells in proportion; dividing by the larger magnitude first keeps huge
        // values (near f64::MAX) from overflowing the sum.
        let neg_cells = if neg_w.is_some() && scale_max > 0.0 {
            let (p, n) = (max_pos / scale_max, max_neg / scale_max);
            ((cells as f64) * n / (p + n)).round() as usize
        } else {
            0
        };
        let pos_cells = cells - neg_cells;
        Layout {
            label_w,
            neg_side: if neg_text_right {
                neg_cells
            } else {
                neg_w.map_or(0, |w| w + 1) + neg_cells
            },
            neg_text_right,
            neg_cells,
            pos_cells,
            scale_max,
            unicode: options.unicode,
            ellipsis: if options.unicode { "…" } else { "~" },
        }
    }

    /// Bar length of `v` in cells (fractional).
    fn length(&self, v: f64) -> f64 {
        if self.scale_max == 0.0 {
            return 0.0;
        }
        let side = if v < 0.0 {
            self.neg_cells
        } else {
            self.pos_cells
        };
        // The cells were split by rounding: a bar never passes its side's share.
        ((v.abs() / self.scale_max) * self.neg_cells.max(self.pos_cells) as f64).min(side as f64)
    }

    fn axis(&self) -> &'static str {
        if self.unicode {
            "│"
        } else {
            "|"
        }
    }

    /// The label column's name over the labels and the value column's name over the bars.
    fn header(&self, label_name: &str, value_name: &str) -> String {
        format!(
            "{} {value_name}",
            pad_right(
                &truncate(label_name, self.label_w, self.ellipsis),
                self.label_w
            )
        )
    }

    fn row(&self, label: &str, v: f64) -> String {
        let label = pad_right(&truncate(label, self.label_w, self.ellipsis), self.label_w);
        let value = text::value(v);
        let len = self.length(v);
        if v < 0.0 && self.neg_text_right {
            let bar = pad_left(&self.negative_bar(len), self.neg_side);
            format!("{label} {bar}{} {value}", self.axis())
        } else if v < 0.0 {
            let left = format!("{value} {}", self.negative_bar(len));
            format!("{label} {}{}", pad_left(&left, self.neg_side), self.axis())
        } else {
            format!(
                "{label} {}{}{} {value}",
                " ".repeat(self.neg_side),
                self.axis(),
                self.positive_bar(len)
            )
        }
    }

    /// A bar growing right from the axis, its end in ⅛ blocks.
    fn positive_bar(&self, len: f64) -> String {
        if !self.unicode {
            return "#".repeat(len.round() as usize);
        }
        let eighths = (len * 8.0).round() as usize;
        format!("{}{}", "█".repeat(eighths / 8), EIGHTHS[eighths % 8])
    }

    /// A bar growing left from the axis. Unicode has right-aligned blocks only for ½ (▐) and ⅛,
    /// so its end is rounded to half a cell.
    fn negative_bar(&self, len: f64) -> String {
        if !self.unicode {
            return "#".repeat(len.round() as usize);
        }
        let halves = (len * 2.0).round() as usize;
        let half = if halves % 2 == 1 { "▐" } else { "" };
        format!("{half}{}", "█".repeat(halves / 2))
    }
}
