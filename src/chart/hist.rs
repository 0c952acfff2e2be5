//! `\chart hist`: one number column counted into equal-width bins between its min and max,
//! the counts drawn as vertical bars by ratatui's `BarChart`, with the count axis on the left
//! and the bin edges along the bottom.

use ratatui_core::buffer::Buffer;
use ratatui_core::layout::Rect;
use ratatui_core::widgets::Widget;
use ratatui_widgets::barchart::{Bar, BarChart};

use super::data::Columns;
use super::line::at;
use super::text::{self, pad_left};
use super::{ChartError, ChartOptions, Skipped};

/// Bins at least this many columns wide get a blank column between them.
const GAP_FROM_BIN_WIDTH: usize = 3;
/// Half-width of the range given to a column whose values are all equal, relative to the value
/// (at least ½, so that integers land in the middle of a bin).
const SINGLE_VALUE_HALF_RANGE: f64 = 1e-6;

pub(super) fn draw(columns: &Columns, options: &ChartOptions) -> Result<Vec<String>, ChartError> {
    let bins = options.bins;
    let width = options.width as usize;
    // Columns: count labels (no wider than the row count), the axis, at least one column per
    // bin and one for the last edge.
    let max_bins = width.saturating_sub(text::width(&columns.rows().to_string()) + 2);
    if bins == 0 || bins > max_bins {
        return Err(ChartError::Bins {
            bins,
            max: max_bins,
            width: options.width,
        });
    }
    let mut skipped = Skipped::default();
    let values: Vec<f64> = columns
        .numbers(0)?
        .into_iter()
        .filter_map(|v| skipped.check(v))
        .collect();
    if values.is_empty() {
        return Err(skipped.nothing_left());
    }
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    if hi == lo {
        // One distinct value: a bin range around it, so it shows as one bar in the middle.
        let half = (lo.abs() * SINGLE_VALUE_HALF_RANGE).max(0.5);
        (lo, hi) = ((lo - half).max(f64::MIN), (hi + half).min(f64::MAX));
    }

    let counts = count(&values, lo, hi, bins);
    let max_count = counts.iter().copied().max().unwrap_or(0);
    let count_w = text::width(&max_count.to_string());
    let plot_w = width - count_w - 1;
    let slot = (plot_w - 1) / bins;
    let gap = usize::from(slot >= GAP_FROM_BIN_WIDTH);

    let note = skipped.note();
    let chart_h = options.height - 1 - u16::from(note.is_some());
    let plot_h = chart_h.saturating_sub(2).max(1);
    let bars: Vec<Bar> = counts
        .iter()
        .map(|c| Bar::new(visible(*c, max_count, plot_h)).text_value(""))
        .collect();
    let x0 = (count_w + 1) as u16;
    let mut buf = Buffer::empty(Rect::new(0, 0, options.width, chart_h));
    BarChart::vertical(bars)
        .bar_width((slot - gap) as u16)
        .bar_gap(gap as u16)
        .max(max_count)
        .render(Rect::new(x0, 0, (slot * bins) as u16, plot_h), &mut buf);

    let (vertical, corner, horizontal, tick) = if options.unicode {
        ("│", "└", "─", "┴")
    } else {
        ("|", "+", "-", "+")
    };
    let style = ratatui_core::style::Style::default();
    for y in 0..plot_h {
        buf.set_string(count_w as u16, y, vertical, style);
    }
    buf.set_string(0, 0, pad_left(&max_count.to_string(), count_w), style);
    let axis_y = plot_h;
    buf.set_string(0, axis_y, pad_left("0", count_w), style);
    buf.set_string(count_w as u16, axis_y, corner, style);
    buf.set_string(x0, axis_y, horizontal.repeat(slot * bins + 1), style);

    // Half the bin width first: the whole one overflows for values near f64::MAX.
    let half_bin = (hi / 2.0 - lo / 2.0) / bins as f64;
    let bin_w = 2.0 * half_bin;
    let edges: Vec<(usize, String)> = (0..=bins)
        .map(|i| {
            let edge = at(i as f64 / bins as f64, lo, hi);
            // Edges sit between round numbers: one more digit than the bin width needs.
            (x0 as usize + i * slot, text::axis(edge, half_bin / 5.0))
        })
        .collect();
    for (x, _) in &edges {
        buf.set_string(*x as u16, axis_y, tick, style);
    }
    for (start, label) in place_labels(&edges, width) {
        buf.set_string(start as u16, axis_y + 1, label, style);
    }

    let mut lines = vec![format!(
        "{}: bins of {}, {} values",
        columns.name(0),
        text::axis(bin_w, half_bin / 50.0),
        values.len(),
    )];
    lines.extend(text::buffer_lines(&buf));
    lines.extend(note);
    Ok(lines)
}

/// Counts of `values` in `bins` equal bins of `lo..=hi` (the max goes in the last bin).
fn count(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<u64> {
    let mut counts = vec![0_u64; bins];
    if bins == 0 {
        return counts;
    }
    // Halves keep `hi - lo` finite for values near f64::MAX.
    let range = hi / 2.0 - lo / 2.0;
    for v in values {
        let t = (v / 2.0 - lo / 2.0) / range;
        let bin = ((t * bins as f64) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    counts
}

/// A count as given to `BarChart`: a non-empty bin too small for ⅛ of a cell is raised to ⅛,
/// so it is not mistaken for an empty one.
fn visible(count: u64, max: u64, plot_h: u16) -> u64 {
    let eighth = max.div_ceil(u64::from(plot_h) * 8);
    if count > 0 && count < eighth {
        eighth
    } else {
        count
    }
}

/// Edge labels that fit on one row without touching: the first starts at its edge, the last
/// ends at its edge, the others are centred; a label that would touch the previous one is left
/// out, except the last, which replaces the previous one instead.
/// Returns (start column, label).
fn place_labels(edges: &[(usize, String)], width: usize) -> Vec<(usize, String)> {
    let mut placed: Vec<(usize, String)> = Vec::new();
    let last = edges.len().saturating_sub(1);
    for (i, (x, label)) in edges.iter().enumerate() {
        let w = text::width(label);
        let start = match i {
            0 => *x,
            i if i == last => (x + 1).saturating_sub(w),
            _ => x.saturating_sub(w / 2),
        };
        if start + w > width {
            continue;
        }
        let clear =
            |p: &[(usize, String)]| p.last().is_none_or(|(s, l)| s + text::width(l) < start);
        if !clear(&placed) {
            if i != last {
                continue;
            }
            placed.pop();
            if !clear(&placed) {
                continue;
            }
        }
        placed.push((start, label.clone()));
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_put_the_max_in_the_last_bin() {
        assert_eq!(count(&[0.0, 1.0, 2.5, 10.0], 0.0, 10.0, 4), [2, 1, 0, 1]);
        assert_eq!(
            count(&[-f64::MAX, f64::MAX], -f64::MAX, f64::MAX, 3),
            [1, 0, 1]
        );
    }

    #[test]
    fn a_tiny_count_stays_visible() {
        assert_eq!(visible(1, 1000, 10), 13);
        assert_eq!(visible(0, 1000, 10), 0);
        assert_eq!(visible(500, 1000, 10), 500);
    }
}
