//! Text measuring and cleaning for the table renderer: display widths (not char counts),
//! truncation that ends with a marker, and escaping so a value cannot break the table.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns a string takes on a terminal (CJK and emoji count 2, combining marks 0).
pub(super) fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// One value as kept for drawing: its first line with control characters escaped, cut to a
/// bounded width. `cut` says something was dropped (more lines or more text), so a marker
/// ("…") must follow the text wherever it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cell {
    pub text: String,
    pub cut: bool,
}

impl Cell {
    /// Cleans `raw` and keeps at most `cap` display columns of it: nothing wider can be shown
    /// when the screen is that wide, and it keeps a huge value from being held in full.
    pub fn new(raw: &str, cap: Option<usize>) -> Cell {
        let (line, more_lines) = match raw.find('\n') {
            // A CRLF ending belongs to the line break, not to the value.
            Some(i) => (raw[..i].strip_suffix('\r').unwrap_or(&raw[..i]), true),
            None => (raw, false),
        };
        let mut text = String::new();
        let mut approx = 0usize;
        let mut stopped = false;
        for c in line.chars() {
            if let Some(cap) = cap {
                // Stop reading once clearly wider than the cap; `take` below settles the
                // exact cut with the string's own width, which can be a few times less than
                // the sum of its characters' widths (emoji joined by U+200D).
                if approx > cap.saturating_mul(4).saturating_add(LOOKAHEAD) {
                    stopped = true;
                    break;
                }
            }
            let before = text.len();
            push_escaped(c, &mut text);
            approx += width(&text[before..]);
        }
        let mut cut = more_lines || stopped;
        if let Some(cap) = cap {
            if width(&text) > cap {
                let keep = take(&text, cap).len();
                text.truncate(keep);
                cut = true;
            }
        }
        Cell { text, cut }
    }

    /// Width of the value as shown in full: its text plus the marker when it was cut.
    pub fn natural_width(&self, marker: &str) -> usize {
        width(&self.text) + if self.cut { width(marker) } else { 0 }
    }

    /// The value as shown in `columns` display columns: whole if it fits, else cut and ended
    /// with `marker`.
    pub fn fitted(&self, columns: usize, marker: &str) -> String {
        if self.natural_width(marker) <= columns {
            let mut s = self.text.clone();
            if self.cut {
                s.push_str(marker);
            }
            return s;
        }
        truncate(&self.text, columns, marker)
    }
}

/// Appends `c`, or a visible escape for characters that would move the cursor, ring the bell,
/// start a terminal escape sequence or reorder the line (bidi controls).
fn push_escaped(c: char, out: &mut String) {
    let short = match c {
        '\x07' => Some("\\a"),
        '\x08' => Some("\\b"),
        '\t' => Some("\\t"),
        '\n' => Some("\\n"),
        '\x0b' => Some("\\v"),
        '\x0c' => Some("\\f"),
        '\r' => Some("\\r"),
        '\x1b' => Some("\\e"),
        _ => None,
    };
    if let Some(s) = short {
        out.push_str(s);
    } else if c.is_control() {
        // C0, DEL and C1 controls.
        out.push_str(&format!("\\x{:02X}", c as u32));
    } else if matches!(c, '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    {
        out.push_str(&format!("\\u{:04X}", c as u32));
    } else {
        out.push(c);
    }
}

/// Cleans a header or type name: same rules as values, nothing cut.
pub(super) fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        push_escaped(c, &mut out);
    }
    out
}

/// Characters looked at past the first guess when cutting: emoji sequences joined by U+200D
/// are narrower than the sum of their characters, so a longer prefix may still fit.
const LOOKAHEAD: usize = 16;

/// The longest prefix of `s` at most `columns` wide.
pub(super) fn take(s: &str, columns: usize) -> &str {
    if width(s) <= columns {
        return s;
    }
    // First guess: the sum of the characters' own widths.
    let mut end = 0;
    let mut sum = 0;
    for (i, c) in s.char_indices() {
        let w = c.width().unwrap_or(0);
        if sum + w > columns {
            break;
        }
        sum += w;
        end = i + c.len_utf8();
    }
    // The string's width can be less (joined emoji) or more (an emoji presentation selector
    // widens the character before it) than that sum: look a little further, then step back.
    let mut best = end;
    for (i, c) in s[end..].char_indices().take(LOOKAHEAD) {
        let candidate = end + i + c.len_utf8();
        if width(&s[..candidate]) <= columns {
            best = candidate;
        }
    }
    let mut prefix = &s[..best];
    while width(prefix) > columns {
        let last = prefix.chars().next_back().map_or(0, char::len_utf8);
        prefix = &prefix[..prefix.len() - last];
    }
    prefix
}

/// `s` cut to `columns` display columns, ending with `marker` when anything was cut.
pub(super) fn truncate(s: &str, columns: usize, marker: &str) -> String {
    if width(s) <= columns {
        return s.to_string();
    }
    let marker_width = width(marker);
    if columns < marker_width {
        // Not even the whole marker fits (ASCII "..." in a 1- or 2-column slot).
        return take(marker, columns).to_string();
    }
    let mut out = take(s, columns - marker_width).to_string();
    out.push_str(marker);
    out
}

/// `s` padded with spaces to `columns` (which must be at least its width).
pub(super) fn pad(s: &str, columns: usize, align: Align) -> String {
    // Two spaces of border padding, as DuckDB counts them, so centring rounds the same way.
    let padding = columns.saturating_sub(width(s)) + 2;
    let left = match align {
        Align::Left => 1,
        Align::Centre => padding / 2,
        Align::Right => padding - 1,
    };
    let right = padding - left;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(right))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Centre,
    Right,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_display_widths() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("🦀"), 2);
    }

    #[test]
    fn truncation_by_width() {
        assert_eq!(truncate("日本語テキスト", 5, "…"), "日本…");
        assert_eq!(truncate("日本語テキスト", 6, "…"), "日本…");
        assert_eq!(truncate("abcdef", 4, "..."), "a...");
        assert_eq!(truncate("abcdef", 2, "..."), "..");
        assert_eq!(truncate("abcdef", 0, "…"), "");
        assert_eq!(truncate("abc", 3, "…"), "abc");
        assert_eq!(take("e\u{301}x", 1), "e\u{301}");
        // A joined family emoji is two columns wide, not six.
        assert_eq!(
            take("👩\u{200d}👩\u{200d}👧 xy", 3),
            "👩\u{200d}👩\u{200d}👧 "
        );
    }

    #[test]
    fn cells_escape_and_keep_first_line() {
        let c = Cell::new("a\tb\x1b[31mred\r\nsecond", None);
        assert_eq!(c.text, "a\\tb\\e[31mred");
        assert!(c.cut);
        assert_eq!(c.fitted(100, "…"), "a\\tb\\e[31mred…");
        let c = Cell::new("\u{202E}abc\u{7f}\u{85}", None);
        assert_eq!(c.text, "\\u202Eabc\\x7F\\x85");
        assert!(!c.cut);
        let c = Cell::new(&"x".repeat(1000), Some(10));
        assert_eq!(c.text, "x".repeat(10));
        assert!(c.cut);
        assert_eq!(c.fitted(5, "…"), "xxxx…");
    }
}
