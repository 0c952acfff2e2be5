//! `\chart line`: number series over an x column, drawn with ratatui's `Chart` (braille for the
//! first series, a distinct character for each further one), min/max labels on the y axis and
//! dates, times or numbers along the x axis.

use datafusion::arrow::datatypes::DataType;
use ratatui_core::buffer::Buffer;
use ratatui_core::layout::{Alignment, Rect};
use ratatui_core::symbols::Marker;
use ratatui_core::text::Line;
use ratatui_core::widgets::Widget;
use ratatui_widgets::chart::{Axis, Chart, Dataset, GraphType};

use super::data::{self, Columns};
use super::text;
use super::{ChartError, ChartOptions, Skipped};

/// Markers of the second and later series (the first is braille), with a legend sample each.
const MARKERS: [char; 5] = ['•', '+', '×', 'o', '#'];
const ASCII_MARKERS: [char; 6] = ['*', 'o', '+', 'x', '#', '@'];
/// Legend sample of the braille series: two cells of a flat line.
const BRAILLE_SAMPLE: &str = "⠒⠒";
/// Most labels along the x axis, and the fewest blank columns between two of them.
const MAX_X_LABELS: usize = 9;
const X_LABEL_GAP: usize = 4;
/// Plot rows from which the y axis gets a middle label besides min and max.
const Y_MIDDLE_LABEL_ROWS: u16 = 8;

pub(super) fn draw(columns: &Columns, options: &ChartOptions) -> Result<Vec<String>, ChartError> {
    let xs = columns.x_values(0)?;
    let series: Vec<Vec<Option<f64>>> = (1..columns.len())
        .map(|i| columns.numbers(i))
        .collect::<Result<_, _>>()?;
    let mut skipped = Skipped::default();
    let mut rows: Vec<(f64, Vec<Option<f64>>)> = Vec::with_capacity(xs.len());
    for (i, x) in xs.iter().enumerate() {
        let mut this_row = Skipped::default();
        let x = this_row.check(*x);
        let ys: Vec<Option<f64>> = series.iter().map(|s| this_row.check(s[i])).collect();
        // Each row counts once in the note; a NULL in one series still draws the others.
        if this_row.null > 0 {
            skipped.null += 1;
        } else if this_row.non_finite > 0 {
            skipped.non_finite += 1;
        }
        if let Some(x) = x {
            if ys.iter().any(Option::is_some) {
                rows.push((x, ys));
            }
        }
    }
    if rows.is_empty() {
        return Err(skipped.nothing_left());
    }
    // Lines join points in x order, whatever order the query returned.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));

    let (x_min, x_max) = (rows[0].0, rows[rows.len() - 1].0);
    let all_ys = rows.iter().flat_map(|(_, ys)| ys.iter().flatten().copied());
    let (y_min, y_max) = all_ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let points: Vec<Vec<(f64, f64)>> = (0..series.len())
        .map(|s| {
            rows.iter()
                .filter_map(|(x, ys)| Some((unit(*x, x_min, x_max), unit(ys[s]?, y_min, y_max))))
                .collect()
        })
        .collect();

    let note = skipped.note();
    let width = options.width;
    let chart_h = options.height - 1 - u16::from(note.is_some());
    // The chart's own layout: x labels on the last row, the x axis above, the plot above that.
    let plot_h = chart_h.saturating_sub(2).max(1);
    let y_labels = y_labels(y_min, y_max, plot_h);
    let y_label_w = y_labels.iter().map(|l| text::width(l)).max().unwrap_or(0);
    // ratatui gives the y labels at most a third of the width, then one column to the axis.
    let plot_w = (width as usize).saturating_sub(y_label_w.min(width as usize / 3) + 1);
    let x_labels = x_labels(columns.data_type(0), x_min, x_max, plot_w)?;

    let datasets: Vec<Dataset> = points
        .iter()
        .enumerate()
        .map(|(s, pts)| {
            Dataset::default()
                .marker(marker(s, options.unicode))
                .graph_type(GraphType::Line)
                .data(pts)
        })
        .collect();
    let chart = Chart::new(datasets)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(x_labels.into_iter().map(Line::from))
                .labels_alignment(Alignment::Right),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(y_labels.into_iter().map(Line::from))
                .labels_alignment(Alignment::Right),
        );
    let mut buf = Buffer::empty(Rect::new(0, 0, width, chart_h));
    chart.render(buf.area, &mut buf);

    let mut lines = vec![header(columns, options.unicode)];
    lines.extend(text::buffer_lines(&buf));
    lines.extend(note);
    Ok(lines)
}

/// `v` in `lo..=hi` mapped to 0..=1 (0.5 when the range is a single value). Halving first keeps
/// the range of huge values finite.
fn unit(v: f64, lo: f64, hi: f64) -> f64 {
    let range = hi / 2.0 - lo / 2.0;
    if range > 0.0 {
        (v / 2.0 - lo / 2.0) / range
    } else {
        0.5
    }
}

/// The value at `t` (0..=1) of `lo..=hi`, the inverse of [`unit`].
pub(super) fn at(t: f64, lo: f64, hi: f64) -> f64 {
    2.0 * ((lo / 2.0) * (1.0 - t) + (hi / 2.0) * t)
}

fn marker(series: usize, unicode: bool) -> Marker {
    match (series, unicode) {
        (0, true) => Marker::Braille,
        (s, true) => Marker::Custom(MARKERS[(s - 1) % MARKERS.len()]),
        (s, false) => Marker::Custom(ASCII_MARKERS[s % ASCII_MARKERS.len()]),
    }
}

/// "revenue by day", or with several series a legend: "⠒⠒ revenue  •• cost  by day".
fn header(columns: &Columns, unicode: bool) -> String {
    let x = columns.name(0);
    if columns.len() == 2 {
        return format!("{} by {x}", columns.name(1));
    }
    let legend: Vec<String> = (1..columns.len())
        .map(|i| {
            let sample = match marker(i - 1, unicode) {
                Marker::Custom(c) => format!("{c}{c}"),
                _ => BRAILLE_SAMPLE.to_string(),
            };
            format!("{sample} {}", columns.name(i))
        })
        .collect();
    format!("{}  by {x}", legend.join("  "))
}

/// Labels for the y axis, bottom to top: min and max, and the middle on a tall plot. ratatui
/// puts label `i` of `n` on row `i * (h - 1) / (n - 1)` from the bottom; each label shows the
/// value of its own row. A flat line gets its one value in the middle.
fn y_labels(lo: f64, hi: f64, plot_h: u16) -> Vec<String> {
    if hi <= lo {
        return vec![String::new(), text::axis(lo, lo.abs()), String::new()];
    }
    let n: u16 = if plot_h >= Y_MIDDLE_LABEL_ROWS { 3 } else { 2 };
    let step = at(1.0 / f64::from(n - 1), lo, hi) - lo;
    (0..n)
        .map(|i| {
            let row = i * (plot_h - 1) / (n - 1);
            let t = f64::from(row) / f64::from((plot_h - 1).max(1));
            text::axis(at(t, lo, hi), step)
        })
        .collect()
}

/// Labels for the x axis, as many as fit with room between them. ratatui draws the first at
/// the left end, the last at the right end and label `i` of `n` centred on column
/// `i * (w / n) + 1 + (w / n - 1) / 2`; each label shows the x value of that column.
fn x_labels(
    data_type: &DataType,
    lo: f64,
    hi: f64,
    plot_w: usize,
) -> Result<Vec<String>, ChartError> {
    if hi <= lo {
        return Ok(vec![
            String::new(),
            format_x(data_type, &[lo], hi - lo)?.remove(0),
            String::new(),
        ]);
    }
    let formats = if data::is_temporal(data_type) {
        time_formats(data_type, (hi - lo) * data::seconds_per_unit(data_type))
    } else {
        vec![""]
    };
    let last_w = plot_w.saturating_sub(1).max(1) as f64;
    let mut fallback = None;
    for format in &formats {
        for n in (2..=MAX_X_LABELS).rev() {
            let slot = plot_w / n;
            let columns = (0..n).map(|i| match i {
                0 => 0.0,
                i if i == n - 1 => last_w,
                i => (i * slot + 1 + slot.saturating_sub(1) / 2) as f64,
            });
            let values: Vec<f64> = columns.map(|c| at(c / last_w, lo, hi)).collect();
            let labels = if format.is_empty() {
                let step = (hi - lo) / (n - 1) as f64;
                values.iter().map(|v| text::axis(*v, step)).collect()
            } else {
                data::format_temporal(&values, data_type, format)?
            };
            let widest = labels.iter().map(|l| text::width(l)).max().unwrap_or(0);
            let fits = if n == 2 {
                widest <= slot
            } else {
                widest + X_LABEL_GAP <= slot
            };
            if fits {
                return Ok(labels);
            }
            if n == 2 {
                fallback.get_or_insert(labels);
            }
        }
    }
    // Nothing fits: the shortest form, cut by the chart.
    Ok(fallback.unwrap_or_default())
}

/// One x value as a label (for a single-valued x).
fn format_x(data_type: &DataType, values: &[f64], step: f64) -> Result<Vec<String>, ChartError> {
    if !data::is_temporal(data_type) {
        return Ok(values
            .iter()
            .map(|v| text::axis(*v, step.max(v.abs())))
            .collect());
    }
    let format = if matches!(data_type, DataType::Date32 | DataType::Date64) {
        "%Y-%m-%d"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    Ok(data::format_temporal(values, data_type, format)?)
}

/// strftime formats for time labels spanning `span` seconds, most to least detailed.
fn time_formats(data_type: &DataType, span: f64) -> Vec<&'static str> {
    const DAY: f64 = 86_400.0;
    const YEAR: f64 = 365.0 * DAY;
    let is_date = matches!(data_type, DataType::Date32 | DataType::Date64);
    if span >= 2.0 * YEAR {
        vec!["%Y-%m", "%Y"]
    } else if is_date || span >= 10.0 * DAY {
        vec!["%Y-%m-%d", "%m-%d"]
    } else if span >= DAY {
        vec!["%m-%d %H:%M", "%m-%d %Hh", "%m-%d"]
    } else if span >= 600.0 {
        vec!["%H:%M"]
    } else if span >= 10.0 {
        vec!["%H:%M:%S", "%M:%S"]
    } else {
        vec!["%H:%M:%S%.3f", "%S%.3f"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_at_are_inverse_even_near_the_float_limit() {
        assert_eq!(unit(5.0, 0.0, 10.0), 0.5);
        assert_eq!(at(0.5, 0.0, 10.0), 5.0);
        assert_eq!(unit(f64::MAX, -f64::MAX, f64::MAX), 1.0);
        assert_eq!(at(1.0, -f64::MAX, f64::MAX), f64::MAX);
        assert_eq!(unit(3.0, 3.0, 3.0), 0.5);
    }

    #[test]
    fn y_labels_show_the_value_of_their_row() {
        assert_eq!(y_labels(0.0, 100.0, 5), ["0", "100"]);
        // Nine rows: the middle label sits on row 4 of 8, half way.
        assert_eq!(y_labels(0.0, 100.0, 9), ["0", "50", "100"]);
        assert_eq!(y_labels(7.0, 7.0, 9), ["", "7", ""]);
    }
}
