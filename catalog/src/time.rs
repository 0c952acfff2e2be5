//! Parsing of the time values users type: as-of timestamps (RFC 3339 or PostgreSQL literals,
//! UTC when no zone is given) and durations such as `5s` or `10m`.
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::time::Duration;

/// Parses a timestamp as users write it for `strata.as_of`. Accepted: RFC 3339
/// (`2026-01-31T12:00:00Z`), PostgreSQL literals (`2026-01-31 12:00:00+00`, `...+05:30`,
/// fractional seconds), a bare date (midnight UTC) and, without a zone, UTC.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let normalized = s.replacen('T', " ", 1);
    let s2 = normalized
        .strip_suffix(" UTC")
        .or_else(|| normalized.strip_suffix("Z"))
        .unwrap_or(&normalized);
    // PostgreSQL prints offsets as `+00` or `+05:30`; chrono's %#z accepts both.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s2, fmt) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s2, fmt) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s2, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")));
    }
    Err(format!(
        "invalid timestamp '{text}': expected RFC 3339 (2026-01-31T12:00:00Z) or a PostgreSQL \
         timestamp ('2026-01-31 12:00:00+00'); without a zone it is UTC"
    ))
}

/// Parses a duration such as `500ms`, `5s`, `10m`, `2h`, `1d`; a bare number is seconds and
/// `0` means zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        format!("invalid duration '{text}': expected a number and a unit like 5s, 10m, 2h")
    })?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" | "mins" => value * 60.0,
        "h" | "hour" | "hours" => value * 3600.0,
        "d" | "day" | "days" => value * 86400.0,
        other => {
            return Err(format!(
                "invalid duration '{text}': unknown unit '{other}' (use ms, s, m, h or d)"
            ))
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        parse_timestamp(s).unwrap().to_rfc3339()
    }

    #[test]
    fn accepts_rfc3339_and_postgres_forms() {
        assert_eq!(ts("2026-01-31T12:00:00Z"), "2026-01-31T12:00:00+00:00");
        assert_eq!(ts("2026-01-31 12:00:00+00"), "2026-01-31T12:00:00+00:00");
        assert_eq!(ts("2026-01-31 14:00:00+02:00"), "2026-01-31T12:00:00+00:00");
        assert_eq!(ts("2026-01-31 12:00:00.5"), "2026-01-31T12:00:00.500+00:00");
        assert_eq!(ts("2026-01-31 12:00"), "2026-01-31T12:00:00+00:00");
        assert_eq!(ts("2026-01-31"), "2026-01-31T00:00:00+00:00");
    }

    #[test]
    fn timestamp_without_zone_is_utc() {
        assert_eq!(ts("2026-01-31 12:00:00"), "2026-01-31T12:00:00+00:00");
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        let e = parse_timestamp("yesterday").unwrap_err();
        assert!(e.contains("invalid timestamp 'yesterday'"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("5 fortnights").is_err());
    }
}
