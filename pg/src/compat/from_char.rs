//! `to_date(text, template)` and `to_timestamp(text, template)`: reads text by PostgreSQL's
//! template patterns the way PostgreSQL 15's DCH_from_char and do_to_timestamp do: separators
//! match any separator or nothing, numbers take their field's width unless a separator follows,
//! names match case-insensitively, text after the template is ignored.
use super::format_template::{Key, Node, DAYS, MONTHS, ROMAN_MONTHS};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

/// A failed conversion: PostgreSQL's SQLSTATE and message.
#[derive(Debug, PartialEq, Eq)]
pub struct FormatError {
    pub code: &'static str,
    pub message: String,
}

fn invalid(message: String) -> FormatError {
    FormatError {
        code: crate::sqlstate::INVALID_DATETIME_FORMAT,
        message,
    }
}

fn out_of_range(message: String) -> FormatError {
    FormatError {
        code: crate::sqlstate::DATETIME_FIELD_OVERFLOW,
        message,
    }
}

/// The fields read from the text (PostgreSQL's TmFromChar).
#[derive(Default, Debug)]
struct Fields {
    year: Option<i64>,
    /// Digits read for the year (YY means 19xx/20xx only when two were read).
    year_digits: usize,
    bc: bool,
    cc: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    ddd: Option<i64>,
    ww: Option<i64>,
    w: Option<i64>,
    d: Option<i64>,
    j: Option<i64>,
    iso_year: Option<i64>,
    iso_year_digits: usize,
    iw: Option<i64>,
    iso_dow: Option<i64>,
    iddd: Option<i64>,
    hour: Option<i64>,
    twelve_hour: bool,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    sssss: Option<i64>,
    micros: i64,
    tzh: Option<i64>,
    tzm: Option<i64>,
}

/// What was read: the wall-clock time and, if the text gave one, its UTC offset in seconds.
pub struct Parsed {
    pub local: NaiveDateTime,
    pub offset_secs: Option<i32>,
}

pub fn parse(input: &str, nodes: &[Node]) -> Result<Parsed, FormatError> {
    let mut f = Fields::default();
    let mut s = input;
    let mut fx = false;
    let mut extra_skip: i64 = 0;
    for (i, node) in nodes.iter().enumerate() {
        if s.is_empty() {
            break;
        }
        let is_fx = matches!(node, Node::Field { key: Key::Fx, .. });
        if is_fx {
            fx = true;
            continue;
        }
        // Spaces at the start of the text and before fields are skipped unless in FX mode.
        if !fx && (matches!(node, Node::Field { .. }) || i == 0) {
            let trimmed = s.trim_start();
            extra_skip += (s.len() - trimmed.len()) as i64;
            s = trimmed;
        }
        match node {
            Node::Space(_) | Node::Separator(_) => {
                if fx {
                    s = skip_char(s);
                } else {
                    extra_skip -= 1;
                    if s.starts_with(|c: char| c.is_whitespace() || Node::is_separator_char(c)) {
                        s = skip_char(s);
                        extra_skip += 1;
                    }
                }
            }
            Node::Char(_) => {
                if !fx && extra_skip > 0 {
                    extra_skip -= 1;
                } else {
                    s = skip_char(s);
                }
            }
            Node::Field {
                key, text, fill, ..
            } => {
                let greedy = *fill || next_is_separator(nodes, i);
                read_field(&mut f, *key, text, greedy, &mut s)?;
            }
        }
    }
    assemble(f)
}

fn skip_char(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

/// PostgreSQL's is_next_separator: whether a number may take all the digits it finds.
fn next_is_separator(nodes: &[Node], i: usize) -> bool {
    if let Node::Field { th: Some(_), .. } = nodes[i] {
        return true;
    }
    match nodes.get(i + 1) {
        None => true,
        Some(Node::Field { key, .. }) => !key.is_digit(),
        Some(Node::Char(c)) | Some(Node::Space(c)) | Some(Node::Separator(c)) => {
            !c.is_ascii_digit()
        }
    }
}

/// Reads an integer of `width` characters (all its digits when `greedy`), as strtol would:
/// leading spaces and a sign allowed. Returns the value and how many characters it used.
fn read_int(
    s: &mut &str,
    width: usize,
    greedy: bool,
    field: &str,
) -> Result<(i64, usize), FormatError> {
    *s = s.trim_start();
    let cur: &str = *s;
    let candidate: &str = if greedy {
        cur
    } else {
        let end = cur.char_indices().nth(width).map_or(cur.len(), |(i, _)| i);
        let taken = &cur[..end];
        if taken.chars().count() < width {
            return Err(invalid(format!(
                "source string too short for \"{field}\" formatting field"
            )));
        }
        taken
    };
    let bytes = candidate.as_bytes();
    let mut end = 0;
    if end < bytes.len() && (bytes[end] == b'+' || bytes[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end == digits_start {
        let shown: String = cur.chars().take(width.max(1)).collect();
        return Err(invalid(format!(
            "invalid value \"{shown}\" for \"{field}\""
        )));
    }
    if !greedy && end < width {
        return Err(invalid(format!(
            "invalid value \"{candidate}\" for \"{field}\""
        )));
    }
    let value: i64 = candidate[..end].parse().map_err(|_| {
        out_of_range(format!(
            "value for \"{field}\" in source string is out of range"
        ))
    })?;
    *s = &cur[end..];
    Ok((value, end - digits_start))
}

/// Matches one of `names` case-insensitively at the start of `s`; returns its index.
fn read_name(s: &mut &str, names: &[&str], field: &str) -> Result<usize, FormatError> {
    for (i, name) in names.iter().enumerate() {
        if s.len() >= name.len()
            && s.is_char_boundary(name.len())
            && s[..name.len()].eq_ignore_ascii_case(name)
        {
            *s = &s[name.len()..];
            return Ok(i);
        }
    }
    let shown: String = s.chars().take(field.len().max(3)).collect();
    Err(invalid(format!(
        "invalid value \"{shown}\" for \"{field}\""
    )))
}

fn set(slot: &mut Option<i64>, value: i64, field: &str) -> Result<(), FormatError> {
    match slot {
        Some(old) if *old != value => Err(invalid(format!(
            "conflicting values for \"{field}\" field in formatting string"
        ))),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

fn read_field(
    f: &mut Fields,
    key: Key,
    field: &str,
    greedy: bool,
    s: &mut &str,
) -> Result<(), FormatError> {
    let mut int = |width: usize| read_int(s, width, greedy, field);
    match key {
        Key::Fx => {}
        Key::Era(dots, _) => {
            let names: &[&str] = if dots {
                &["A.D.", "B.C."]
            } else {
                &["AD", "BC"]
            };
            f.bc = read_name(s, names, field)? == 1;
        }
        Key::Meridiem(dots, _) => {
            let names: &[&str] = if dots {
                &["A.M.", "P.M."]
            } else {
                &["AM", "PM"]
            };
            f.pm = Some(read_name(s, names, field)? == 1);
            f.twelve_hour = true;
        }
        Key::Hh12 => {
            set(&mut f.hour, int(2)?.0, field)?;
            f.twelve_hour = true;
        }
        Key::Hh24 => set(&mut f.hour, int(2)?.0, field)?,
        Key::Mi => set(&mut f.minute, int(2)?.0, field)?,
        Key::Ss => set(&mut f.second, int(2)?.0, field)?,
        Key::Ms => {
            let (v, n) = int(3)?;
            f.micros = v * 10i64.pow(3u32.saturating_sub(n as u32)) * 1000;
        }
        Key::Us | Key::Ff(_) => {
            let width = match key {
                Key::Ff(n) => n as usize,
                _ => 6,
            };
            let (v, n) = int(width)?;
            if n > 6 {
                return Err(out_of_range(format!(
                    "value for \"{field}\" in source string is out of range"
                )));
            }
            f.micros = v * 10i64.pow(6 - n as u32);
        }
        Key::Sssss => set(&mut f.sssss, int(5)?.0, field)?,
        Key::Tz(_) | Key::Of => {
            return Err(FormatError {
                code: crate::sqlstate::FEATURE_NOT_SUPPORTED,
                message: format!("formatting field \"{field}\" is only supported in to_char"),
            })
        }
        Key::Tzh => {
            // The sign belongs to the hours; "-05" and "- 5" both read as minus five.
            let negative = s.starts_with('-');
            if negative || s.starts_with('+') {
                *s = &s[1..];
            }
            let (v, _) = read_int(s, 2, greedy, field)?;
            f.tzh = Some(if negative { -v.abs() } else { v });
        }
        Key::Tzm => f.tzm = Some(int(2)?.0),
        Key::Month(_) => set(
            &mut f.month,
            read_name(s, &MONTHS, field)? as i64 + 1,
            field,
        )?,
        Key::Mon(_) => {
            let abbrevs: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
            set(
                &mut f.month,
                read_name(s, &abbrevs, field)? as i64 + 1,
                field,
            )?
        }
        Key::Mm => set(&mut f.month, int(2)?.0, field)?,
        Key::Day(_) => set(&mut f.d, read_name(s, &DAYS, field)? as i64 + 1, field)?,
        Key::Dy(_) => {
            let abbrevs: Vec<&str> = DAYS.iter().map(|d| &d[..3]).collect();
            set(&mut f.d, read_name(s, &abbrevs, field)? as i64 + 1, field)?
        }
        Key::Ddd => set(&mut f.ddd, int(3)?.0, field)?,
        Key::Iddd => set(&mut f.iddd, int(3)?.0, field)?,
        Key::Dd => set(&mut f.day, int(2)?.0, field)?,
        Key::D => set(&mut f.d, int(1)?.0, field)?,
        Key::Id => set(&mut f.iso_dow, int(1)?.0, field)?,
        Key::Ww => set(&mut f.ww, int(2)?.0, field)?,
        Key::Iw => set(&mut f.iw, int(2)?.0, field)?,
        Key::W => set(&mut f.w, int(1)?.0, field)?,
        Key::Q => {
            int(1)?;
        }
        Key::Cc => set(&mut f.cc, int(2)?.0, field)?,
        Key::J => set(&mut f.j, int(1)?.0, field)?,
        Key::Rm(_) => {
            // Longest numerals first so "VIII" is not read as "V".
            let mut order: Vec<usize> = (0..12).collect();
            order.sort_by_key(|i| std::cmp::Reverse(ROMAN_MONTHS[*i].len()));
            let names: Vec<&str> = order.iter().map(|i| ROMAN_MONTHS[*i]).collect();
            let i = read_name(s, &names, field)?;
            set(&mut f.month, order[i] as i64 + 1, field)?
        }
        Key::YComma => {
            let (thousands, _) = int(1)?;
            let rest = s
                .strip_prefix(',')
                .ok_or_else(|| invalid(format!("invalid input string for \"{field}\"")))?;
            *s = rest;
            let (units, n) = read_int(s, 3, false, field)?;
            set(&mut f.year, thousands * 1000 + units, field)?;
            f.year_digits = n + 4;
        }
        Key::Yyyy | Key::Yyy | Key::Yy | Key::Y => {
            let width = match key {
                Key::Yyyy => 4,
                Key::Yyy => 3,
                Key::Yy => 2,
                _ => 1,
            };
            let (v, n) = int(width)?;
            set(&mut f.year, adjust_partial_year(v, n), field)?;
            f.year_digits = n;
        }
        Key::Iyyy | Key::Iyy | Key::Iy | Key::I => {
            let width = match key {
                Key::Iyyy => 4,
                Key::Iyy => 3,
                Key::Iy => 2,
                _ => 1,
            };
            let (v, n) = int(width)?;
            set(&mut f.iso_year, adjust_partial_year(v, n), field)?;
            f.iso_year_digits = n;
        }
    }
    Ok(())
}

/// PostgreSQL's adjust_partial_year_to_2020: a 1-, 2- or 3-digit year is the one nearest 2020.
fn adjust_partial_year(year: i64, digits: usize) -> i64 {
    match digits {
        1 => year + 2000,
        2 if year < 70 => year + 2000,
        2 => year + 1900,
        3 if year < 100 => year + 2000,
        3 => year + 1000,
        _ => year,
    }
}

fn assemble(f: Fields) -> Result<Parsed, FormatError> {
    let _ = f.iso_year_digits;
    let mut year = f.year.or(f.iso_year);
    if let Some(cc) = f.cc {
        year = match year {
            Some(y) if f.year_digits <= 2 && f.year.is_some() => Some(if cc >= 0 {
                (cc - 1) * 100 + y % 100
            } else {
                cc * 100 + y % 100 + 1
            }),
            Some(y) => Some(y),
            None => Some(if cc >= 0 {
                (cc - 1) * 100 + 1
            } else {
                cc * 100 + 1
            }),
        };
    }
    let mut year = year.unwrap_or(0);
    if f.bc {
        year = 1 - year;
    }
    let ymd = |y: i64, m: i64, d: i64| -> Result<NaiveDate, FormatError> {
        i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m.try_into().ok()?, d.try_into().ok()?))
            .ok_or_else(|| {
                out_of_range(format!(
                    "date/time field value out of range: \"{y:04}-{m:02}-{d:02}\""
                ))
            })
    };
    let date = if let Some(j) = f.j {
        NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.checked_add_signed(chrono::Duration::days(j - 2_451_545)))
            .ok_or_else(|| out_of_range("date out of range".into()))?
    } else if f.iso_year.is_some() && (f.iw.is_some() || f.iddd.is_some()) {
        let iso_year = i32::try_from(f.iso_year.unwrap_or(0))
            .map_err(|_| out_of_range("date out of range".into()))?;
        let week1 = NaiveDate::from_isoywd_opt(iso_year, 1, chrono::Weekday::Mon)
            .ok_or_else(|| out_of_range("date out of range".into()))?;
        let days = match f.iddd {
            Some(iddd) => iddd - 1,
            None => (f.iw.unwrap_or(1) - 1) * 7 + f.iso_dow.unwrap_or(1) - 1,
        };
        week1 + chrono::Duration::days(days)
    } else {
        let ddd = f.ddd.or_else(|| f.ww.map(|ww| (ww - 1) * 7 + 1));
        let day = f.day.or_else(|| f.w.map(|w| (w - 1) * 7 + 1));
        match (ddd, f.month, day) {
            (Some(ddd), m, d) if m.unwrap_or(1) <= 1 || d.unwrap_or(1) <= 1 => {
                let jan1 = ymd(year, 1, 1)?;
                let date = jan1 + chrono::Duration::days(ddd - 1);
                if ddd < 1 || date.year() as i64 != year {
                    return Err(out_of_range(format!(
                        "date/time field value out of range: \"{ddd}\""
                    )));
                }
                date
            }
            (_, m, d) => ymd(year, m.unwrap_or(1), d.unwrap_or(1))?,
        }
    };
    let (mut hour, mut minute, mut second) = (
        f.hour.unwrap_or(0),
        f.minute.unwrap_or(0),
        f.second.unwrap_or(0),
    );
    if let Some(sssss) = f.sssss {
        hour = sssss / 3600;
        minute = sssss % 3600 / 60;
        second = sssss % 60;
    }
    if f.twelve_hour {
        if f.hour.is_some() && !(1..=12).contains(&hour) {
            return Err(FormatError {
                code: crate::sqlstate::DATETIME_FIELD_OVERFLOW,
                message: format!("hour \"{hour}\" is invalid for the 12-hour clock"),
            });
        }
        match f.pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
    }
    if !(0..=24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
        || (hour == 24 && (minute, second, f.micros) != (0, 0, 0))
    {
        return Err(out_of_range(format!(
            "date/time field value out of range: \"{hour:02}:{minute:02}:{second:02}\""
        )));
    }
    let time = NaiveTime::from_hms_micro_opt(0, minute as u32, 0, 0).expect("valid time");
    let local = date.and_time(time)
        + chrono::Duration::hours(hour)
        + chrono::Duration::seconds(second)
        + chrono::Duration::microseconds(f.micros);
    let offset_secs = match (f.tzh, f.tzm) {
        (None, None) => None,
        (h, m) => {
            let h = h.unwrap_or(0);
            let m = m.unwrap_or(0);
            let secs = h.abs() * 3600 + m * 60;
            Some((if h < 0 { -secs } else { secs }) as i32)
        }
    };
    Ok(Parsed { local, offset_secs })
}

#[cfg(test)]
mod tests {
    use super::super::format_template::parse as template;
    use super::*;

    fn ts(text: &str, fmt: &str) -> String {
        parse(text, &template(fmt))
            .map(|p| p.local.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            .unwrap_or_else(|e| format!("{}: {}", e.code, e.message))
    }

    // Expected values from PostgreSQL 15.
    #[test]
    fn reads_what_bi_tools_write() {
        assert_eq!(
            ts("2026-01-12 00:00:00.000000", "YYYY-MM-DD HH24:MI:SS.US"),
            "2026-01-12 00:00:00.000000"
        );
        assert_eq!(ts("20260112", "YYYYMMDD"), "2026-01-12 00:00:00.000000");
        assert_eq!(ts("12.3", "SS.MS"), "0000-01-01 00:00:12.300000");
        assert_eq!(
            ts("05 Dec 2000 11pm", "DD Mon YYYY HHam"),
            "2000-12-05 23:00:00.000000"
        );
        assert_eq!(
            ts("2026-02-30", "YYYY-MM-DD").split(':').next(),
            Some("22008")
        );
    }
}
