//! psql's expanded form (`\x`): a `-[ RECORD n ]` rule per row, then one `name | value` line
//! per column, values cut to the screen width.

use super::text::{width, Cell};
use super::{count, Shown, TableCollector};

/// The lines of the expanded form, before the final cut to `max_width` (needed only for
/// rules whose label is wider than the screen).
pub(super) fn draw(t: &TableCollector, shown: &Shown<'_>) -> Vec<String> {
    let o = &t.options;
    let marker = o.marker();
    let name_natural = t
        .names
        .iter()
        .map(|n| n.natural_width(marker))
        .max()
        .unwrap_or(0);
    let value_natural = shown
        .top
        .iter()
        .chain(&shown.bottom)
        .flat_map(|r| r.iter())
        .map(|c| c.natural_width(marker))
        .max()
        .unwrap_or(0);
    // Names keep their width unless values would get less than half the screen and less
    // than they need.
    let (name_width, value_width) = match o.max_width {
        None => (name_natural, usize::MAX),
        Some(m) => {
            let room = m.saturating_sub(3);
            let name = name_natural.min((room / 2).max(room.saturating_sub(value_natural)));
            (name, room - name)
        }
    };
    // With no width limit `value_width` is usize::MAX, so every value is shown whole.
    let fit = |row: &[Cell]| -> Vec<String> {
        row.iter().map(|c| c.fitted(value_width, marker)).collect()
    };
    let top: Vec<Vec<String>> = shown.top.iter().map(|r| fit(r)).collect();
    let bottom: Vec<Vec<String>> = shown.bottom.iter().map(|r| fit(r)).collect();
    let data_width = top
        .iter()
        .chain(&bottom)
        .flatten()
        .map(|v| width(v))
        .max()
        .unwrap_or(0);
    // psql's joins: the first rule starts the `|` line down, later ones cross it.
    let (horizontal, first_join, join, vertical) = if o.unicode {
        ("─", "┬", "┼", "│")
    } else {
        ("-", "+", "+", "|")
    };
    let header = |label: String, first: bool| {
        let j = if first { first_join } else { join };
        rule(&label, name_width, data_width, horizontal, j)
    };
    let names: Vec<String> = t
        .names
        .iter()
        .map(|n| {
            let s = n.fitted(name_width, marker);
            let fill = name_width.saturating_sub(width(&s));
            format!("{s}{}", " ".repeat(fill))
        })
        .collect();

    let mut lines = Vec::new();
    let record = |lines: &mut Vec<String>, number: usize, values: &[String]| {
        lines.push(header(format!("RECORD {number}"), lines.is_empty()));
        for (name, value) in names.iter().zip(values) {
            lines.push(format!("{name} {vertical} {value}").trim_end().to_string());
        }
    };
    for (i, values) in top.iter().enumerate() {
        record(&mut lines, i + 1, values);
    }
    if shown.hidden > 0 {
        let label = format!("{} not shown", count(shown.hidden, "record"));
        lines.push(header(label, false));
    }
    for (i, values) in bottom.iter().enumerate() {
        record(&mut lines, shown.bottom_start + i + 1, values);
    }
    if shown.hidden > 0 {
        lines.push(format!(
            "{} ({} shown)",
            count(t.rows, "row"),
            t.rows - shown.hidden
        ));
    } else if t.rows == 0 {
        lines.push("(0 rows)".to_string());
    }
    lines
}

/// psql's record rule (`print_aligned_vertical_line`, border 1): `-[ RECORD 1 ]`, dashes to the
/// name width, a join under the `|` if the label leaves room, then dashes over the values.
fn rule(label: &str, name_width: usize, data_width: usize, h: &str, join: &str) -> String {
    let mut line = format!("{h}[ {label} ]");
    let mut len = width(&line) as isize;
    for _ in len..name_width as isize {
        line.push_str(h);
    }
    len -= name_width as isize;
    for piece in [h, join, h] {
        if len <= 0 {
            line.push_str(piece);
        }
        len -= 1;
    }
    for _ in len.max(0)..data_width as isize {
        line.push_str(h);
    }
    line
}
