//! PostgreSQL's date/time format templates (`YYYY-MM-DD HH24:MI:SS.US`, `FMMonth DD, YYYY`, …),
//! parsed once into nodes that `to_char` prints from and `to_date`/`to_timestamp` read by, as
//! PostgreSQL's formatting.c does. BI tools (Superset's time filters, Metabase, Tableau) write
//! these patterns, never strftime's.

/// One template keyword. `Upper`/`Lower`/`Cap` variants of text fields keep their case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `A.D.`/`AD`/`B.C.`/`BC` and lower case: era; the bool says with dots.
    Era(bool, Case),
    /// `A.M.`/`AM`/`P.M.`/`PM` and lower case: meridiem; the bool says with dots.
    Meridiem(bool, Case),
    Cc,
    Day(Case),
    Dy(Case),
    Ddd,
    Dd,
    D,
    /// `FF1`…`FF6`: fractional seconds to that many digits.
    Ff(u8),
    Fx,
    Hh24,
    Hh12,
    Iddd,
    Id,
    Iw,
    Iyyy,
    Iyy,
    Iy,
    I,
    J,
    Mi,
    Mm,
    Month(Case),
    Mon(Case),
    Ms,
    Of,
    Q,
    Rm(Case),
    Sssss,
    Ss,
    Tzh,
    Tzm,
    Tz(Case),
    Us,
    Ww,
    W,
    YComma,
    Yyyy,
    Yyy,
    Yy,
    Y,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Upper,
    Cap,
    Lower,
}

impl Key {
    /// Whether the field is read as digits (decides how greedily the field before it reads).
    pub fn is_digit(self) -> bool {
        !matches!(
            self,
            Key::Era(..)
                | Key::Meridiem(..)
                | Key::Day(_)
                | Key::Dy(_)
                | Key::Month(_)
                | Key::Mon(_)
                | Key::Rm(_)
                | Key::Tz(_)
                | Key::Of
                | Key::Fx
        )
    }
}

/// PostgreSQL's keyword table, longest first where one is a prefix of another.
const KEYWORDS: &[(&str, Key)] = {
    use Case::*;
    use Key::*;
    &[
        ("A.D.", Era(true, Upper)),
        ("A.M.", Meridiem(true, Upper)),
        ("AD", Era(false, Upper)),
        ("AM", Meridiem(false, Upper)),
        ("B.C.", Era(true, Upper)),
        ("BC", Era(false, Upper)),
        ("CC", Cc),
        ("DAY", Day(Upper)),
        ("DDD", Ddd),
        ("DD", Dd),
        ("DY", Dy(Upper)),
        ("Day", Day(Cap)),
        ("Dy", Dy(Cap)),
        ("D", D),
        ("FF1", Ff(1)),
        ("FF2", Ff(2)),
        ("FF3", Ff(3)),
        ("FF4", Ff(4)),
        ("FF5", Ff(5)),
        ("FF6", Ff(6)),
        ("FX", Fx),
        ("HH24", Hh24),
        ("HH12", Hh12),
        ("HH", Hh12),
        ("IDDD", Iddd),
        ("ID", Id),
        ("IW", Iw),
        ("IYYY", Iyyy),
        ("IYY", Iyy),
        ("IY", Iy),
        ("I", I),
        ("J", J),
        ("MI", Mi),
        ("MM", Mm),
        ("MONTH", Month(Upper)),
        ("MON", Mon(Upper)),
        ("MS", Ms),
        ("Month", Month(Cap)),
        ("Mon", Mon(Cap)),
        ("OF", Of),
        ("P.M.", Meridiem(true, Upper)),
        ("PM", Meridiem(false, Upper)),
        ("Q", Q),
        ("RM", Rm(Upper)),
        ("SSSSS", Sssss),
        ("SSSS", Sssss),
        ("SS", Ss),
        ("TZH", Tzh),
        ("TZM", Tzm),
        ("TZ", Tz(Upper)),
        ("US", Us),
        ("WW", Ww),
        ("W", W),
        ("Y,YYY", YComma),
        ("YYYY", Yyyy),
        ("YYY", Yyy),
        ("YY", Yy),
        ("Y", Y),
        ("a.d.", Era(true, Lower)),
        ("a.m.", Meridiem(true, Lower)),
        ("ad", Era(false, Lower)),
        ("am", Meridiem(false, Lower)),
        ("b.c.", Era(true, Lower)),
        ("bc", Era(false, Lower)),
        ("cc", Cc),
        ("day", Day(Lower)),
        ("ddd", Ddd),
        ("dd", Dd),
        ("dy", Dy(Lower)),
        ("d", D),
        ("ff1", Ff(1)),
        ("ff2", Ff(2)),
        ("ff3", Ff(3)),
        ("ff4", Ff(4)),
        ("ff5", Ff(5)),
        ("ff6", Ff(6)),
        ("fx", Fx),
        ("hh24", Hh24),
        ("hh12", Hh12),
        ("hh", Hh12),
        ("iddd", Iddd),
        ("id", Id),
        ("iw", Iw),
        ("iyyy", Iyyy),
        ("iyy", Iyy),
        ("iy", Iy),
        ("i", I),
        ("j", J),
        ("mi", Mi),
        ("mm", Mm),
        ("month", Month(Lower)),
        ("mon", Mon(Lower)),
        ("ms", Ms),
        ("of", Of),
        ("p.m.", Meridiem(true, Lower)),
        ("pm", Meridiem(false, Lower)),
        ("q", Q),
        ("rm", Rm(Lower)),
        ("sssss", Sssss),
        ("ssss", Sssss),
        ("ss", Ss),
        ("tzh", Tzh),
        ("tzm", Tzm),
        ("tz", Tz(Lower)),
        ("us", Us),
        ("ww", Ww),
        ("w", W),
        ("y,yyy", YComma),
        ("yyyy", Yyyy),
        ("yyy", Yyy),
        ("yy", Yy),
        ("y", Y),
    ]
};

/// One parsed piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Field {
        key: Key,
        /// The keyword as written (error messages name it).
        text: &'static str,
        /// `FM`: no padding, no leading zeros (and reading takes as many digits as there are).
        fill: bool,
        /// `TH`/`th`: ordinal suffix, upper case if true.
        th: Option<bool>,
    },
    /// A space in the template.
    Space(char),
    /// A non-alphanumeric ASCII character (`-`, `:`, `/`, `.`, …).
    Separator(char),
    /// Any other character, or one from a quoted "…" text.
    Char(char),
}

impl Node {
    /// PostgreSQL's is_separator_char: printable ASCII that is not a letter or digit.
    pub fn is_separator_char(c: char) -> bool {
        c.is_ascii_graphic() && !c.is_ascii_alphanumeric()
    }
}

/// Parses a template into nodes. Never fails: what is not a keyword is literal text.
pub fn parse(template: &str) -> Vec<Node> {
    let mut nodes = vec![];
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        // Prefixes: FM (fill mode) and TM (translation: a no-op in English).
        let mut fill = false;
        let mut after_prefix = rest;
        loop {
            if let Some(r) = after_prefix
                .strip_prefix("FM")
                .or_else(|| after_prefix.strip_prefix("fm"))
            {
                fill = true;
                after_prefix = r;
            } else if let Some(r) = after_prefix
                .strip_prefix("TM")
                .or_else(|| after_prefix.strip_prefix("tm"))
            {
                after_prefix = r;
            } else {
                break;
            }
        }
        if let Some((kw, key)) = KEYWORDS.iter().find(|(kw, _)| after_prefix.starts_with(kw)) {
            rest = &after_prefix[kw.len()..];
            let th = if let Some(r) = rest.strip_prefix("TH") {
                rest = r;
                Some(true)
            } else if let Some(r) = rest.strip_prefix("th") {
                rest = r;
                Some(false)
            } else {
                None
            };
            // SP (spell mode) is accepted and ignored, as PostgreSQL does.
            if let Some(r) = rest.strip_prefix("SP").or_else(|| rest.strip_prefix("sp")) {
                rest = r;
            }
            nodes.push(Node::Field {
                key: *key,
                text: *kw,
                fill,
                th,
            });
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == '"' {
            // Quoted text: literal characters up to the closing quote; \" is a quote.
            let mut chars = rest.char_indices();
            let mut end = rest.len();
            while let Some((i, q)) = chars.next() {
                match q {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            nodes.push(Node::Char(e));
                        }
                    }
                    q => nodes.push(Node::Char(q)),
                }
            }
            rest = &rest[end.min(rest.len())..];
        } else if c == '\\' && rest.starts_with('"') {
            nodes.push(Node::Char('"'));
            rest = &rest[1..];
        } else if c.is_whitespace() {
            nodes.push(Node::Space(c));
        } else if Node::is_separator_char(c) {
            nodes.push(Node::Separator(c));
        } else {
            nodes.push(Node::Char(c));
        }
    }
    nodes
}

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Sunday first, as PostgreSQL's `D` counts.
pub const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
pub const ROMAN_MONTHS: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

pub fn cased(s: &str, case: Case) -> String {
    match case {
        Case::Upper => s.to_uppercase(),
        Case::Lower => s.to_lowercase(),
        Case::Cap => s.to_string(),
    }
}

/// `st`, `nd`, `rd` or `th` for a number, as PostgreSQL's TH suffix prints it.
pub fn ordinal(n: i64, upper: bool) -> &'static str {
    let n = n.unsigned_abs();
    let s = if (11..=13).contains(&(n % 100)) {
        "th"
    } else {
        match n % 10 {
            1 => "st",
            2 => "nd",
            3 => "rd",
            _ => "th",
        }
    };
    if upper {
        match s {
            "st" => "ST",
            "nd" => "ND",
            "rd" => "RD",
            _ => "TH",
        }
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_keyword_wins_and_prefixes_apply() {
        let nodes = parse("FMMonth HH24:MI DDth \"at\"");
        let keys: Vec<_> = nodes
            .iter()
            .filter_map(|n| match n {
                Node::Field { key, fill, th, .. } => Some((*key, *fill, *th)),
                _ => None,
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (Key::Month(Case::Cap), true, None),
                (Key::Hh24, false, None),
                (Key::Mi, false, None),
                (Key::Dd, false, Some(false)),
            ]
        );
        assert!(nodes.ends_with(&[Node::Char('a'), Node::Char('t')]));
    }

    #[test]
    fn ordinals_follow_english() {
        let got: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .iter()
            .map(|n| ordinal(*n, false))
            .collect();
        assert_eq!(
            got,
            ["st", "nd", "rd", "th", "th", "th", "th", "st", "nd", "st", "th"]
        );
    }
}
