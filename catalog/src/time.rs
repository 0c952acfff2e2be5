//! Parsing of the timestamps users type for `strata.as_of`: RFC 3339 or PostgreSQL literals, UTC
//! when no zone is given. (Durations in settings are parsed by [`crate::units`].)
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

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
}
