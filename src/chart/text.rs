//! Text helpers shared by the charts: widths in terminal columns, truncation with "…", number
//! labels, reading a ratatui buffer back as lines, and the ASCII fallback.

use ratatui_core::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

/// Magnitudes from which numbers are written in e-notation ("1.23e15"), so labels stay short.
const E_NOTATION_ABOVE: f64 = 1e12;
const E_NOTATION_BELOW: f64 = 1e-4;
/// Significant digits of a value printed at a bar's end.
const VALUE_DIGITS: i32 = 7;
/// Most decimals of an axis label.
const AXIS_MAX_DECIMALS: i32 = 9;

/// Terminal columns `s` takes.
pub(super) fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, ending in `ellipsis` when cut.
pub(super) fn truncate(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    if width(ellipsis) <= max {
        out.push_str(ellipsis);
    }
    out
}

/// `s` followed by spaces up to `cols` columns.
pub(super) fn pad_right(s: &str, cols: usize) -> String {
    format!("{s}{}", " ".repeat(cols.saturating_sub(width(s))))
}

/// Spaces then `s`, up to `cols` columns.
pub(super) fn pad_left(s: &str, cols: usize) -> String {
    format!("{}{s}", " ".repeat(cols.saturating_sub(width(s))))
}

/// A value as printed at the end of its bar: integers in full, others to 7 significant digits.
pub(super) fn value(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(E_NOTATION_BELOW..E_NOTATION_ABOVE).contains(&a) {
        return format!("{v:.2e}");
    }
    if v.fract() == 0.0 {
        return format!("{v:.0}");
    }
    let decimals = (VALUE_DIGITS - 1 - a.log10().floor() as i32).clamp(0, AXIS_MAX_DECIMALS);
    trim_zeros(format!("{v:.*}", decimals as usize))
}

/// An axis label for `v` where labels are `step` apart: enough decimals to tell neighbours apart.
pub(super) fn axis(v: f64, step: f64) -> String {
    let a = v.abs().max(step.abs());
    if v == 0.0 {
        return "0".into();
    }
    if a >= E_NOTATION_ABOVE || (a < E_NOTATION_BELOW && a > 0.0) {
        return format!("{v:.2e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (1 - step.log10().floor() as i32).clamp(0, AXIS_MAX_DECIMALS)
    } else {
        2
    };
    let s = trim_zeros(format!("{v:.*}", decimals as usize));
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// "12.50" → "12.5", "3.00" → "3".
fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The buffer's rows as strings (a wide character's hidden neighbour cells are left out).
pub(super) fn buffer_lines(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut line = String::new();
            let mut x = area.left();
            while x < area.right() {
                let symbol = buf[(x, y)].symbol();
                line.push_str(symbol);
                x += width(symbol).max(1) as u16;
            }
            line
        })
        .collect()
}

/// The chart's lines as one string: trailing spaces trimmed, no line over `cols` columns, and
/// with `unicode` off, chart symbols replaced by ASCII.
pub(super) fn finish(lines: Vec<String>, cols: u16, unicode: bool) -> String {
    let ellipsis = if unicode { "…" } else { "~" };
    lines
        .into_iter()
        .map(|line| {
            let line = if unicode { line } else { ascii(&line) };
            let line = truncate(&line, cols as usize, ellipsis);
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Box lines, blocks and braille as ASCII.
fn ascii(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '│' => '|',
            '─' => '-',
            '└' | '┴' | '┼' => '+',
            '▁' | '▂' | '▃' => '.',
            '▄' | '▅' | '▆' | '▇' | '█' | '▉' | '▊' | '▋' | '▌' | '▍' | '▐' => {
                '#'
            }
            '▎' | '▏' | '▕' => '|',
            '•' => 'o',
            '×' => 'x',
            '…' => '~',
            '\u{2801}'..='\u{28ff}' => '*',
            '\u{2800}' => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(value(1234.0), "1234");
        assert_eq!(value(-200.0), "-200");
        assert_eq!(value(12345.67), "12345.67");
        assert_eq!(value(0.5), "0.5");
        assert_eq!(value(1e300), "1.00e300");
        assert_eq!(value(-1.5e-7), "-1.50e-7");
        assert_eq!(axis(2.5, 2.5), "2.5");
        assert_eq!(axis(10.0, 10.0), "10");
        assert_eq!(axis(0.37, 0.37), "0.37");
        assert_eq!(axis(-0.001, 10.0), "0");
        assert_eq!(axis(12345.678, 5000.0), "12346");
    }

    #[test]
    fn truncation_counts_terminal_columns() {
        assert_eq!(truncate("Deutschland", 6, "…"), "Deuts…");
        assert_eq!(truncate("日本語テキスト", 6, "…"), "日本…");
        assert_eq!(truncate("short", 6, "…"), "short");
        assert_eq!(truncate("abc", 0, "…"), "");
        assert_eq!(width(&truncate("日本語テキスト", 5, "…")), 5);
    }
}
