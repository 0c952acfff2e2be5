//! `to_char(timestamp|timestamptz|date, template)` with PostgreSQL's template patterns
//! (see format_template.rs), printing field by field as PostgreSQL's DCH_to_char does.
use super::format_template::{cased, ordinal, Key, Node, DAYS, MONTHS, ROMAN_MONTHS};
use chrono::{Datelike, NaiveDateTime, Timelike};

/// A moment as `to_char` sees it: wall-clock time, its UTC offset in seconds and, for
/// `timestamp with time zone`, the zone's abbreviation.
pub struct Moment {
    pub local: NaiveDateTime,
    pub offset_secs: i32,
    pub zone: Option<String>,
}

/// PostgreSQL prints years <= 0 as BC years counted from 1.
fn adjust_year(year: i32) -> i32 {
    if year <= 0 {
        1 - year
    } else {
        year
    }
}

fn pad(n: i64, width: usize, fill: bool) -> String {
    if fill {
        n.to_string()
    } else if n < 0 {
        format!("-{:0w$}", -n, w = width.saturating_sub(1))
    } else {
        format!("{n:0width$}")
    }
}

/// Formats `m` by the parsed template.
pub fn to_char(m: &Moment, nodes: &[Node]) -> String {
    let t = &m.local;
    let mut out = String::new();
    let hour = t.hour() as i64;
    let (iso_year, iso_week) = (t.iso_week().year(), t.iso_week().week() as i64);
    for node in nodes {
        let (key, fill, th) = match node {
            Node::Field { key, fill, th, .. } => (*key, *fill, *th),
            Node::Space(c) | Node::Separator(c) | Node::Char(c) => {
                out.push(*c);
                continue;
            }
        };
        // Numeric fields print a number the TH suffix may follow.
        let number = |n: i64, width: usize| (pad(n, width, fill), Some(n));
        let (text, num) = match key {
            Key::Era(dots, case) => {
                let s = match (t.year() <= 0, dots) {
                    (true, true) => "B.C.",
                    (true, false) => "BC",
                    (false, true) => "A.D.",
                    (false, false) => "AD",
                };
                (cased(s, case), None)
            }
            Key::Meridiem(dots, case) => {
                let s = match (hour >= 12, dots) {
                    (true, true) => "P.M.",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (false, false) => "AM",
                };
                (cased(s, case), None)
            }
            Key::Hh12 => number(if hour % 12 == 0 { 12 } else { hour % 12 }, 2),
            Key::Hh24 => number(hour, 2),
            Key::Mi => number(t.minute() as i64, 2),
            Key::Ss => number(t.second() as i64, 2),
            Key::Ms => (format!("{:03}", micros(t) / 1000), Some(micros(t) / 1000)),
            Key::Us => (format!("{:06}", micros(t)), Some(micros(t))),
            Key::Ff(n) => {
                let v = micros(t) / 10i64.pow(6 - n as u32);
                (format!("{v:0w$}", w = n as usize), Some(v))
            }
            Key::Sssss => {
                let v = t.num_seconds_from_midnight() as i64;
                (v.to_string(), Some(v))
            }
            Key::Tz(case) => (cased(m.zone.as_deref().unwrap_or(""), case), None),
            Key::Tzh => {
                let sign = if m.offset_secs >= 0 { '+' } else { '-' };
                (format!("{sign}{:02}", m.offset_secs.abs() / 3600), None)
            }
            Key::Tzm => (format!("{:02}", (m.offset_secs.abs() % 3600) / 60), None),
            Key::Of => {
                let sign = if m.offset_secs >= 0 { '+' } else { '-' };
                let hours = pad((m.offset_secs.abs() / 3600) as i64, 2, fill);
                let mut s = format!("{sign}{hours}");
                if m.offset_secs.abs() % 3600 != 0 {
                    s.push_str(&format!(":{:02}", (m.offset_secs.abs() % 3600) / 60));
                }
                (s, None)
            }
            Key::Month(case) => {
                let name = cased(MONTHS[t.month0() as usize], case);
                (if fill { name } else { format!("{name:<9}") }, None)
            }
            Key::Mon(case) => (cased(&MONTHS[t.month0() as usize][..3], case), None),
            Key::Mm => number(t.month() as i64, 2),
            Key::Day(case) => {
                let name = cased(DAYS[t.weekday().num_days_from_sunday() as usize], case);
                (if fill { name } else { format!("{name:<9}") }, None)
            }
            Key::Dy(case) => (
                cased(
                    &DAYS[t.weekday().num_days_from_sunday() as usize][..3],
                    case,
                ),
                None,
            ),
            Key::Ddd => number(t.ordinal() as i64, 3),
            Key::Iddd => {
                let day = (iso_week - 1) * 7 + t.weekday().number_from_monday() as i64;
                number(day, 3)
            }
            Key::Dd => number(t.day() as i64, 2),
            Key::D => number(t.weekday().number_from_sunday() as i64, 1),
            Key::Id => number(t.weekday().number_from_monday() as i64, 1),
            Key::Ww => number((t.ordinal() as i64 - 1) / 7 + 1, 2),
            Key::Iw => number(iso_week, 2),
            Key::Q => number((t.month0() / 3 + 1) as i64, 1),
            Key::Cc => {
                let y = t.year() as i64;
                let c = if y > 0 { (y + 99) / 100 } else { y / 100 - 1 };
                let width = if c >= 0 { 2 } else { 3 };
                number(c, if (-99..=99).contains(&c) { width } else { 0 })
            }
            Key::YComma => {
                let y = adjust_year(t.year()) as i64;
                (format!("{},{:03}", y / 1000, y % 1000), Some(y))
            }
            Key::Yyyy => number(adjust_year(t.year()) as i64, 4),
            Key::Yyy => number(adjust_year(t.year()) as i64 % 1000, 3),
            Key::Yy => number(adjust_year(t.year()) as i64 % 100, 2),
            Key::Y => number(adjust_year(t.year()) as i64 % 10, 1),
            Key::Iyyy => number(adjust_year(iso_year) as i64, 4),
            Key::Iyy => number(adjust_year(iso_year) as i64 % 1000, 3),
            Key::Iy => number(adjust_year(iso_year) as i64 % 100, 2),
            Key::I => number(adjust_year(iso_year) as i64 % 10, 1),
            Key::Rm(case) => {
                let r = cased(ROMAN_MONTHS[t.month0() as usize], case);
                (if fill { r } else { format!("{r:<4}") }, None)
            }
            Key::W => number((t.day() as i64 - 1) / 7 + 1, 1),
            Key::J => number(julian_day(t), 0),
            Key::Fx => (String::new(), None),
        };
        out.push_str(&text);
        if let (Some(upper), Some(n)) = (th, num) {
            out.push_str(ordinal(n, upper));
        }
    }
    out
}

fn micros(t: &NaiveDateTime) -> i64 {
    (t.nanosecond() % 1_000_000_000) as i64 / 1000
}

/// The Julian day number of a date (PostgreSQL's date2j).
pub fn julian_day(t: &NaiveDateTime) -> i64 {
    // 2000-01-01 is Julian day 2451545.
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
    2_451_545 + (t.date() - epoch).num_days()
}

#[cfg(test)]
mod tests {
    use super::super::format_template::parse;
    use super::*;

    fn fmt(ts: &str, template: &str) -> String {
        let local = NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        let m = Moment {
            local,
            offset_secs: 0,
            zone: Some("UTC".into()),
        };
        to_char(&m, &parse(template))
    }

    // Expected values from PostgreSQL 15.
    #[test]
    fn matches_postgres_for_common_templates() {
        let ts = "2026-01-05 13:04:05.123456";
        assert_eq!(
            fmt(ts, "YYYY-MM-DD HH24:MI:SS.US"),
            "2026-01-05 13:04:05.123456"
        );
        assert_eq!(
            fmt(ts, "Day Mon FMMonth Q IW"),
            "Monday    Jan January 1 02"
        );
        assert_eq!(fmt(ts, "HH12:MI AM DDth"), "01:04 PM 05th");
        assert_eq!(fmt(ts, "J"), "2461046");
    }
}
