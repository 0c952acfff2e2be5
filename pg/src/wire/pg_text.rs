//! Dates, times, timestamps, intervals and floats as PostgreSQL prints them (DateStyle `ISO`,
//! IntervalStyle `postgres`, extra_float_digits ≥ 1), byte for byte: fractional seconds
//! without trailing zeros, `BC` years, `infinity`, timestamptz in the session's TimeZone,
//! `1e+20`, `-0`, `Infinity`. pgwire's chrono formatting prints six fractional digits and no
//! `BC`, and its floats `1e20`, `inf` and `0` for -0, so every text value of these types that
//! reaches a client (DataRows and COPY) is written here instead. The rules follow PostgreSQL
//! 15's `EncodeDateTime`, `EncodeTimezone` and `EncodeInterval` (utils/adt/datetime.c) and
//! its Ryu output (common/d2s.c, f2s.c).
use chrono::{Offset, TimeZone};
use datafusion::arrow::array::timezone::Tz;

const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// The zone timestamptz values are printed in: the session's TimeZone. UTC needs no lookup.
#[derive(Debug, Clone, Default)]
pub enum Zone {
    #[default]
    Utc,
    Named(Tz),
}

impl Zone {
    /// The zone a TimeZone setting names (`UTC`, `Europe/Paris`, `+05:30`); UTC when the name
    /// is unknown (the session refuses such a SET, so this only guards defaults).
    pub fn parse(name: &str) -> Zone {
        match name {
            "" | "UTC" | "Etc/UTC" | "utc" | "GMT" | "Z" | "+00:00" | "+00" => Zone::Utc,
            other => other.parse::<Tz>().map_or(Zone::Utc, Zone::Named),
        }
    }

    /// Seconds east of Greenwich at the instant `us` (microseconds since the epoch, UTC).
    fn offset_at(&self, us: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Named(tz) => {
                let secs = us.div_euclid(US_PER_SEC);
                match chrono::DateTime::from_timestamp(secs, 0) {
                    Some(t) => tz
                        .offset_from_utc_datetime(&t.naive_utc())
                        .fix()
                        .local_minus_utc(),
                    None => 0,
                }
            }
        }
    }
}

fn two(n: i64, out: &mut Vec<u8>) {
    out.push(b'0' + (n / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// At least `width` digits, zero-padded (`%0Nd` of a non-negative number).
fn padded(n: i64, width: usize, out: &mut Vec<u8>) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits.as_bytes());
}

/// (year, month, day) of a day number counted from 1970-01-01, proleptic Gregorian as
/// PostgreSQL's Julian day arithmetic is; year 0 is 1 BC.
fn civil(days: i64) -> (i64, i64, i64) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `YYYY-MM-DD` without the era; returns whether the year is BC (the caller appends ` BC`
/// after everything else, as PostgreSQL does).
fn date_part(days: i64, out: &mut Vec<u8>) -> bool {
    let (year, month, day) = civil(days);
    let bc = year <= 0;
    padded(if bc { 1 - year } else { year }, 4, out);
    out.push(b'-');
    two(month, out);
    out.push(b'-');
    two(day, out);
    bc
}

/// `SS` and, when there is one, the fraction without trailing zeros (`AppendSeconds`).
fn seconds(sec: i64, frac_us: i64, out: &mut Vec<u8>) {
    two(sec, out);
    if frac_us != 0 {
        let mut digits = [b'0'; 6];
        let mut f = frac_us;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        let len = 6 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
}

/// `HH:MM:SS[.ffffff]` of microseconds into a day.
fn clock(us: i64, out: &mut Vec<u8>) {
    let secs = us / US_PER_SEC;
    two(secs / 3600, out);
    out.push(b':');
    two(secs / 60 % 60, out);
    out.push(b':');
    seconds(secs % 60, us % US_PER_SEC, out);
}

/// A `date` from days since 1970-01-01; `i32::MAX`/`i32::MIN` are `infinity`/`-infinity`, as
/// in PostgreSQL's binary format.
pub fn date(days: i32, out: &mut Vec<u8>) {
    match days {
        i32::MAX => out.extend_from_slice(b"infinity"),
        i32::MIN => out.extend_from_slice(b"-infinity"),
        d => {
            if date_part(i64::from(d), out) {
                out.extend_from_slice(b" BC");
            }
        }
    }
}

/// A `time` from microseconds since midnight.
pub fn time(us: i64, out: &mut Vec<u8>) {
    clock(us.rem_euclid(US_PER_DAY), out);
}

/// A `timestamp` (zone None) or `timestamptz` (printed in `zone`, with its offset) from
/// microseconds since the epoch; `i64::MAX`/`i64::MIN` are `infinity`/`-infinity`, as in
/// PostgreSQL's binary format.
pub fn timestamp(us: i64, zone: Option<&Zone>, out: &mut Vec<u8>) {
    match us {
        i64::MAX => return out.extend_from_slice(b"infinity"),
        i64::MIN => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    let offset = zone.map(|z| z.offset_at(us));
    let local = us.saturating_add(i64::from(offset.unwrap_or(0)) * US_PER_SEC);
    let bc = date_part(local.div_euclid(US_PER_DAY), out);
    out.push(b' ');
    clock(local.rem_euclid(US_PER_DAY), out);
    if let Some(offset) = offset {
        // EncodeTimezone: `+hh`, then `:mm` and `:ss` only when not zero.
        out.push(if offset < 0 { b'-' } else { b'+' });
        let abs = i64::from(offset.unsigned_abs());
        two(abs / 3600, out);
        if abs % 3600 != 0 {
            out.push(b':');
            two(abs / 60 % 60, out);
            if abs % 60 != 0 {
                out.push(b':');
                two(abs % 60, out);
            }
        }
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
}

/// An `interval` in IntervalStyle `postgres`: `1 year 2 mons 3 days 04:05:06.5`, units only
/// when not zero, a sign on a time part that follows a negative unit (`-3 days +04:00:00`),
/// `00:00:00` for zero.
pub fn interval(months: i32, days: i32, us: i64, out: &mut Vec<u8>) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |value: i64, unit: &[u8], out: &mut Vec<u8>| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.push(b' ');
        }
        if is_before && value > 0 {
            out.push(b'+');
        }
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        out.push(b' ');
        out.extend_from_slice(unit);
        if value != 1 {
            out.push(b's');
        }
        is_before = value < 0;
        is_zero = false;
    };
    let months = i64::from(months);
    part(months / 12, b"year", out);
    part(months % 12, b"mon", out);
    part(i64::from(days), b"day", out);
    // C division truncates toward zero: every part of the time has the sign of the whole.
    let hour = us / (3600 * US_PER_SEC);
    let min = us / (60 * US_PER_SEC) % 60;
    let sec = us / US_PER_SEC % 60;
    let frac = us % US_PER_SEC;
    if is_zero || us != 0 {
        if !is_zero {
            out.push(b' ');
        }
        if us < 0 {
            out.push(b'-');
        } else if is_before {
            out.push(b'+');
        }
        padded(hour.abs(), 2, out);
        out.push(b':');
        two(min.abs(), out);
        out.push(b':');
        seconds(sec.abs(), frac.abs(), out);
    }
}

/// A `float8` as PostgreSQL prints it with `extra_float_digits` ≥ 1 (its default since 12, and
/// what drivers set): the shortest text that reads back exactly, fixed-point for decimal
/// exponents -4 to 14 and `1e+20` style outside them, `-0`, `Infinity`, `NaN`.
pub fn float8(v: f64, out: &mut Vec<u8>) {
    if v.is_finite() && v != 0.0 {
        shortest(ryu::Buffer::new().format_finite(v), 15, out);
    } else {
        special_float(v.is_nan(), v.is_sign_negative(), v == 0.0, out);
    }
}

/// A `float4` likewise (fixed-point for exponents -4 to 5).
pub fn float4(v: f32, out: &mut Vec<u8>) {
    if v.is_finite() && v != 0.0 {
        shortest(ryu::Buffer::new().format_finite(v), 6, out);
    } else {
        special_float(v.is_nan(), v.is_sign_negative(), v == 0.0, out);
    }
}

fn special_float(nan: bool, negative: bool, zero: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(match (nan, negative, zero) {
        (true, _, _) => b"NaN",
        (_, true, true) => b"-0",
        (_, false, true) => b"0",
        (_, true, false) => b"-Infinity",
        (_, false, false) => b"Infinity",
    });
}

/// Rewrites Ryu's shortest digits (`1.0`, `1e20`, `1.2345e-7`, `0.001`) in PostgreSQL's layout
/// (its `d2s.c`/`f2s.c` `to_chars`): the same digits, fixed-point when the decimal exponent is
/// in `-4..fixed_below`, else `d.ddde±XX`.
fn shortest(ryu: &str, fixed_below: i32, out: &mut Vec<u8>) {
    let (negative, ryu) = match ryu.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, ryu),
    };
    let (mantissa, exp) = match ryu.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (ryu, 0),
    };
    // Digits without the point; `point` digits stand before it.
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let mut point = int.len() as i32 + exp;
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..lead);
    point -= lead as i32;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return out.push(b'0');
    }
    if negative {
        out.push(b'-');
    }
    let exp10 = point - 1;
    let n = digits.len() as i32;
    if (-4..fixed_below).contains(&exp10) {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(&digits);
        } else if point >= n {
            out.extend_from_slice(&digits);
            out.extend(std::iter::repeat_n(b'0', (point - n) as usize));
        } else {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        }
    } else {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp10 < 0 { b'-' } else { b'+' });
        padded(i64::from(exp10.abs()), 2, out);
    }
}

#[cfg(test)]
mod tests {
    //! Every expected string is what PostgreSQL 15.18 printed for the same value (psql, text
    //! format, TimeZone as named in the case).
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = vec![];
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Microseconds since the epoch of a UTC date and time.
    fn us(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micro: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_micro_opt(h, mi, s, micro)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn timestamps_drop_trailing_fractional_zeros() {
        let naive = |v| text(|o| timestamp(v, None, o));
        assert_eq!(
            naive(us(2026, 1, 25, 8, 15, 0, 500_000)),
            "2026-01-25 08:15:00.5"
        );
        assert_eq!(
            naive(us(2026, 1, 25, 8, 15, 0, 123_000)),
            "2026-01-25 08:15:00.123"
        );
        assert_eq!(naive(us(1970, 1, 1, 0, 0, 0, 0)), "1970-01-01 00:00:00");
        assert_eq!(naive(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(
            naive(us(9999, 12, 31, 23, 59, 59, 999_999)),
            "9999-12-31 23:59:59.999999"
        );
        assert_eq!(naive(us(1, 1, 1, 0, 0, 0, 0)), "0001-01-01 00:00:00");
        assert_eq!(
            naive(us(0, 12, 31, 23, 59, 59, 500_000)),
            "0001-12-31 23:59:59.5 BC"
        );
        assert_eq!(naive(i64::MAX), "infinity");
        let utc = |v| text(|o| timestamp(v, Some(&Zone::Utc), o));
        assert_eq!(utc(us(2026, 1, 25, 8, 15, 0, 0)), "2026-01-25 08:15:00+00");
        assert_eq!(
            utc(us(2026, 1, 25, 8, 15, 0, 1)),
            "2026-01-25 08:15:00.000001+00"
        );
        assert_eq!(utc(us(0, 1, 1, 0, 0, 0, 0)), "0001-01-01 00:00:00+00 BC");
        assert_eq!(utc(i64::MIN), "-infinity");
    }

    #[test]
    fn timestamptz_is_printed_in_the_session_zone() {
        let at = |zone: &str, v| text(|o| timestamp(v, Some(&Zone::parse(zone)), o));
        let t = us(2026, 1, 25, 8, 15, 0, 0);
        assert_eq!(at("Europe/Paris", t), "2026-01-25 09:15:00+01");
        assert_eq!(
            at("Europe/Paris", us(2026, 7, 25, 8, 15, 0, 250_000)),
            "2026-07-25 10:15:00.25+02"
        );
        assert_eq!(at("Asia/Kolkata", t), "2026-01-25 13:45:00+05:30");
        assert_eq!(at("America/St_Johns", t), "2026-01-25 04:45:00-03:30");
        // Local mean time before standard zones: seconds in the offset.
        assert_eq!(
            at("Europe/Paris", us(1900, 1, 1, 0, 0, 0, 0)),
            "1900-01-01 00:09:21+00:09:21"
        );
    }

    #[test]
    fn dates_and_times() {
        let d = |v| text(|o| date(v, o));
        assert_eq!(d(0), "1970-01-01");
        assert_eq!(d(-719_162), "0001-01-01");
        // 0044-03-15 BC is year -43.
        let ides = chrono::NaiveDate::from_ymd_opt(-43, 3, 15).unwrap();
        let days = (ides - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
        assert_eq!(d(days as i32), "0044-03-15 BC");
        assert_eq!(d(i32::MAX), "infinity");
        assert_eq!(d(i32::MIN), "-infinity");
        let t = |v| text(|o| time(v, o));
        assert_eq!(t(45_296_500_000), "12:34:56.5");
        assert_eq!(t(0), "00:00:00");
        assert_eq!(t(US_PER_DAY - 1), "23:59:59.999999");
    }

    #[test]
    fn floats_in_the_shortest_exact_form() {
        let f8 = |v: f64| text(|o| float8(v, o));
        let cases: [(f64, &str); 22] = [
            (1e20, "1e+20"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (-0.0, "-0"),
            (0.0, "0"),
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e300, "1.5e+300"),
            (1.0 / 3.0, "0.3333333333333333"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (-2.5e-10, "-2.5e-10"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (v, want) in cases {
            assert_eq!(f8(v), want, "{v:e}");
        }
        let f4 = |v: f32| text(|o| float4(v, o));
        let cases: [(f32, &str); 12] = [
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e-7, "1e-07"),
            (-0.0, "-0"),
            (3.0, "3"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (123456.7, "123456.7"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-40, "1.5e-40"),
            (f32::MAX, "3.4028235e+38"),
        ];
        for (v, want) in cases {
            assert_eq!(f4(v), want, "{v:e}");
        }
    }

    #[test]
    fn intervals_in_the_postgres_style() {
        let i = |m, d, u| text(|o| interval(m, d, u, o));
        let h = 3600 * US_PER_SEC;
        assert_eq!(i(0, 1, 2 * h + 184_500_000), "1 day 02:03:04.5");
        assert_eq!(i(14, 0, 0), "1 year 2 mons");
        assert_eq!(i(0, 0, -US_PER_SEC), "-00:00:01");
        assert_eq!(i(0, 3, 0), "3 days");
        assert_eq!(i(0, 0, 0), "00:00:00");
        assert_eq!(i(-14, 0, 0), "-1 years -2 mons");
        assert_eq!(
            i(10, 3, -(4 * h + 306 * US_PER_SEC)),
            "10 mons 3 days -04:05:06"
        );
        assert_eq!(i(0, -3, 4 * h), "-3 days +04:00:00");
        assert_eq!(i(0, 0, 100 * h), "100:00:00");
        assert_eq!(i(0, 0, 1), "00:00:00.000001");
        assert_eq!(i(-1, 0, 0), "-1 mons");
        assert_eq!(i(1, 0, 0), "1 mon");
        assert_eq!(i(24, 0, 0), "2 years");
        assert_eq!(i(0, -1, -500_000), "-1 days -00:00:00.5");
        assert_eq!(i(0, 1, -US_PER_SEC), "1 day -00:00:01");
        assert_eq!(i(12, 0, 0), "1 year");
        assert_eq!(i(-12, 0, 0), "-1 years");
        assert_eq!(i(13, 1, US_PER_SEC), "1 year 1 mon 1 day 00:00:01");
        assert_eq!(i(0, 0, 2_562_047_788 * h), "2562047788:00:00");
    }
}
