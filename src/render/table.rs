//! Draws the box table (DuckDB's "duckbox" look) from the laid-out columns: header, type line,
//! rows with a "·" marker where rows are hidden, and the footer saying what is hidden.

use super::text::{pad, take, width, Align, Cell};
use super::widths::{layout, line_width, slot_widths, Limits, Slot};
use super::{count, Shown, TableCollector};

/// The characters a table is drawn with.
struct Chars {
    /// Corners and joins of the top, middle and bottom rules: (left, join, right).
    top: [&'static str; 3],
    middle: [&'static str; 3],
    bottom: [&'static str; 3],
    horizontal: &'static str,
    vertical: &'static str,
    dot: &'static str,
}

const UNICODE: Chars = Chars {
    top: ["┌", "┬", "┐"],
    middle: ["├", "┼", "┤"],
    bottom: ["└", "┴", "┘"],
    horizontal: "─",
    vertical: "│",
    dot: "·",
};

const ASCII: Chars = Chars {
    top: ["+", "+", "+"],
    middle: ["+", "+", "+"],
    bottom: ["+", "+", "+"],
    horizontal: "-",
    vertical: "|",
    dot: ".",
};

/// The box's lines and the footer's, before the final cut to `max_width` (which only a
/// screen narrower than a one-column box, or a footer, should ever need).
pub(super) fn draw(t: &TableCollector, shown: &Shown<'_>) -> (Vec<String>, Vec<String>) {
    let o = &t.options;
    if t.names.is_empty() {
        // Nothing to draw a box around.
        return (Vec::new(), footer(t.rows, 0, 0, 0, 0, o.max_width));
    }
    let marker = o.marker();
    let chars = if o.unicode { &UNICODE } else { &ASCII };
    let slots = layout(
        &t.natural_widths(shown),
        &Limits {
            max_width: o.max_width,
            max_col_width: o.max_col_width,
            min_col_width: o.min_col_width,
            marker_width: width(marker),
        },
    );
    let align = |c: usize| {
        if t.right[c] {
            Align::Right
        } else {
            Align::Left
        }
    };
    // One drawn row: each slot's text and alignment.
    let row_line = |cell: &dyn Fn(usize, usize) -> (String, Align)| -> String {
        let mut line = String::from(chars.vertical);
        for slot in &slots {
            let (text, a, w) = match *slot {
                Slot::Column { index, width } => {
                    let (text, a) = cell(index, width);
                    (text, a, width)
                }
                Slot::Elided { width } => (marker.to_string(), Align::Centre, width),
            };
            line.push_str(&pad(&text, w, a));
            line.push_str(chars.vertical);
        }
        line
    };
    let values = |row: &[Cell]| row_line(&|c, w| (row[c].fitted(w, marker), align(c)));

    let mut lines = vec![rule(&slots, &chars.top, chars.horizontal)];
    lines.push(row_line(&|c, w| {
        (t.names[c].fitted(w, marker), Align::Centre)
    }));
    if !t.types.is_empty() {
        lines.push(row_line(&|c, w| {
            (t.types[c].fitted(w, marker), Align::Centre)
        }));
    }
    if !shown.top.is_empty() || !shown.bottom.is_empty() {
        lines.push(rule(&slots, &chars.middle, chars.horizontal));
    }
    lines.extend(shown.top.iter().map(|r| values(r)));
    if shown.hidden > 0 && (!shown.top.is_empty() || !shown.bottom.is_empty()) {
        let prev = shown.top.last().copied();
        let next = shown.bottom.first().copied();
        let divider = row_line(&|c, w| {
            let shown_width = |r: Option<&[Cell]>| r.map_or(0, |r| width(&r[c].fitted(w, marker)));
            let (text, a) = dot(chars.dot, shown_width(prev), shown_width(next), align(c));
            // A column cut to nothing on a tiny screen has no room even for the dot.
            (take(&text, w).to_string(), a)
        });
        lines.extend(std::iter::repeat_n(divider, super::DIVIDER_ROWS));
    }
    lines.extend(shown.bottom.iter().map(|r| values(r)));
    lines.push(rule(&slots, &chars.bottom, chars.horizontal));

    let columns_shown = slots
        .iter()
        .filter(|s| matches!(s, Slot::Column { .. }))
        .count();
    let footer = footer(
        t.rows,
        shown.hidden,
        t.names.len(),
        columns_shown,
        line_width(slot_widths(&slots)),
        o.max_width,
    );
    (lines, footer)
}

/// A horizontal rule: `[left, join, right]` around a run of `horizontal` per slot.
fn rule(slots: &[Slot], ends: &[&str; 3], horizontal: &str) -> String {
    let runs: Vec<String> = slot_widths(slots)
        .map(|w| horizontal.repeat(w + 2))
        .collect();
    format!("{}{}{}", ends[0], runs.join(ends[1]), ends[2])
}

/// The "·" in a hidden-rows line, placed in the middle of the values around it as DuckDB
/// does: a numbers column gets its dot under the middle of the numbers, not the column.
fn dot(dot: &str, above: usize, below: usize, align: Align) -> (String, Align) {
    let span = match (above, below) {
        (0, b) => b,
        (a, 0) => a,
        (a, b) => a.min(b),
    };
    if span <= 1 {
        return (
            dot.to_string(),
            if span == 0 { Align::Centre } else { align },
        );
    }
    let padding = span - 1;
    let left = match align {
        Align::Right => padding - padding / 2,
        _ => padding / 2,
    };
    let text = format!("{}{dot}{}", " ".repeat(left), " ".repeat(padding - left));
    (text, align)
}

/// psql's "(N rows)" when everything is shown; DuckDB's "N rows (M shown)" on the left and
/// "C columns (K shown)" on the right when something is hidden, on two lines if one is too
/// narrow.
fn footer(
    rows: usize,
    hidden_rows: usize,
    columns: usize,
    columns_shown: usize,
    table_width: usize,
    max_width: Option<usize>,
) -> Vec<String> {
    if hidden_rows == 0 && columns_shown == columns {
        return vec![format!("({})", count(rows, "row"))];
    }
    let mut left = count(rows, "row");
    if hidden_rows > 0 {
        left.push_str(&format!(" ({} shown)", rows - hidden_rows));
    }
    let mut right = count(columns, "column");
    if columns_shown < columns {
        right.push_str(&format!(" ({columns_shown} shown)"));
    }
    // Indented by two and ending two short of the table's right edge, as DuckDB draws it.
    let need = 2 + left.len() + 2 + right.len();
    let line = table_width.saturating_sub(2).max(need);
    if line <= max_width.unwrap_or(usize::MAX) {
        let gap = line - 2 - left.len() - right.len();
        vec![format!("  {left}{}{right}", " ".repeat(gap))]
    } else {
        // Too narrow for one line: one part per line, indented only if that still fits.
        let indent = |s: String| {
            if 2 + s.len() <= max_width.unwrap_or(usize::MAX) {
                format!("  {s}")
            } else {
                s
            }
        };
        vec![indent(left), indent(right)]
    }
}

/// Joins lines, each cut to `max_width` as a last guard for screens narrower than a
/// one-column box.
pub(super) fn finish(lines: Vec<String>, max_width: Option<usize>) -> String {
    let mut out = String::new();
    for line in lines {
        match max_width {
            Some(m) if width(&line) > m => out.push_str(take(&line, m)),
            _ => out.push_str(&line),
        }
        out.push('\n');
    }
    out
}
