//! Durations and sizes in settings: one parser for `strata.toml` and the command-line flags, so
//! a value means the same wherever it is written (docs/server.md, "Settings").
//!
//! A duration needs a unit (`500ms`, `5s`, `10m` or `10min`, `2h`, `1d`): a bare number would
//! be seconds to one reader and milliseconds (PostgreSQL's unit) to another, so only `0`, which
//! is zero in every unit, may go without one. Each setting says what zero means (no timeout,
//! list at every statement) or refuses it. A size is bytes or a number with a binary unit
//! (`64k`, `512MB`, `1.5G`, `1TiB`; 1 KB = 1024 bytes, as in DataFusion's memory settings).
//!
//! SQL `SET statement_timeout = 30` is not a setting of this kind: it is the PostgreSQL client
//! protocol, where a bare number is milliseconds (strata-sql's `pg::settings`).
use std::time::Duration;

/// The longest duration a setting may hold: a hundred years is "never" for every timeout and
/// interval, and keeps deadlines (`now + duration`) far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Why a duration or size was refused. The text names the value, not the setting: callers put
/// the key (`[server] idle_timeout`) or the flag (`--idle-timeout`) in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("\"{0}\" needs a unit: {0}s or {0}ms")]
    DurationNeedsUnit(String),
    #[error("\"{0}\" is not a duration: write a number and a unit, e.g. 500ms, 5s, 10min, 2h, 1d")]
    NotADuration(String),
    #[error("\"{text}\": unknown duration unit \"{unit}\" (use ms, s, m or min, h or d)")]
    UnknownDurationUnit { text: String, unit: String },
    #[error("\"{0}\" is too long (at most 36500d)")]
    DurationTooLong(String),
    #[error("\"{0}\": must be more than 0")]
    Zero(String),
    #[error("\"{0}\" is not a size: write bytes or a number and a unit, e.g. 64KB, 512MB, 2GB")]
    NotASize(String),
    #[error("\"{text}\": unknown size unit \"{unit}\" (use B, KB, MB, GB or TB)")]
    UnknownSizeUnit { text: String, unit: String },
    #[error("\"{0}\" is out of range (at least 1 byte)")]
    SizeOutOfRange(String),
}

/// Splits `12.5 min` into its number and its unit (trimmed), or `None` without a number.
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    number.is_finite().then_some((number, unit.trim()))
}

/// Parses a duration: `500ms`, `5s`, `10m` or `10min`, `2h`, `1d` (also `sec`, `hour`, `day`
/// and plurals), fractions allowed (`1.5s`). `0` alone is zero; any other number without a unit
/// is refused (see the module comment).
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (number, unit) =
        number_and_unit(text).ok_or_else(|| UnitError::NotADuration(text.trim().into()))?;
    let seconds_per_unit = match unit.to_ascii_lowercase().as_str() {
        "" if number == 0.0 => 0.0,
        "" => return Err(UnitError::DurationNeedsUnit(text.trim().into())),
        "ms" | "msec" | "msecs" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => {
            return Err(UnitError::UnknownDurationUnit {
                text: text.trim().into(),
                unit: unit.into(),
            })
        }
    };
    let seconds = number * seconds_per_unit;
    if seconds > MAX_DURATION.as_secs_f64() {
        return Err(UnitError::DurationTooLong(text.trim().into()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// [`parse_duration`] for settings where zero means nothing sensible (`startup_timeout`).
pub fn parse_positive_duration(text: &str) -> Result<Duration, UnitError> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(UnitError::Zero(text.trim().into())),
        d => Ok(d),
    }
}

/// Parses a size: `512MB`, `2GB`, `1.5G`, `64k`, `64 KiB`, `1TiB` or a number of bytes. Units
/// are binary and case-insensitive; a size is at least one byte.
pub fn parse_size(text: &str) -> Result<usize, UnitError> {
    let (number, unit) =
        number_and_unit(text).ok_or_else(|| UnitError::NotASize(text.trim().into()))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(UnitError::UnknownSizeUnit {
                text: text.trim().into(),
                unit: unit.into(),
            })
        }
    };
    let bytes = number * (1u64 << shift) as f64;
    if bytes < 1.0 || bytes > usize::MAX as f64 {
        return Err(UnitError::SizeOutOfRange(text.trim().into()));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u128 {
        parse_duration(text).unwrap().as_millis()
    }

    #[test]
    fn durations_in_every_unit_users_write() {
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("5s"), 5_000);
        assert_eq!(ms("1.5s"), 1_500);
        assert_eq!(ms("10m"), 600_000);
        assert_eq!(ms("10min"), 600_000);
        assert_eq!(ms("10 minutes"), 600_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms(" 30 sec "), 30_000);
        assert_eq!(ms("2S"), 2_000);
    }

    #[test]
    fn bare_zero_is_zero_and_other_bare_numbers_need_a_unit() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        let e = parse_duration("30").unwrap_err();
        assert_eq!(e, UnitError::DurationNeedsUnit("30".into()));
        assert_eq!(e.to_string(), "\"30\" needs a unit: 30s or 30ms");
        assert!(parse_duration("1.5").is_err());
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        let e = parse_duration("10x").unwrap_err().to_string();
        assert!(
            e.contains("\"10x\"") && e.contains("unknown duration unit \"x\""),
            "{e}"
        );
        let e = parse_duration("soon").unwrap_err().to_string();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("5 fortnights").is_err());
        // Overflowing durations are refused, never a panic.
        let e = parse_duration("99999999999999999999999d").unwrap_err();
        assert!(matches!(e, UnitError::DurationTooLong(_)), "{e}");
        assert!(parse_duration("36500d").is_ok());
        assert!(parse_duration("36501d").is_err());
    }

    #[test]
    fn positive_durations_refuse_zero() {
        assert_eq!(parse_positive_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(
            parse_positive_duration("0").unwrap_err().to_string(),
            "\"0\": must be more than 0"
        );
        assert!(parse_positive_duration("0ms").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2 << 30));
        assert_eq!(parse_size("2gb"), Ok(2 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("16b"), Ok(16));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let e = parse_size("lots").unwrap_err().to_string();
        assert!(e.contains("\"lots\" is not a size"), "{e}");
        let e = parse_size("5 parsecs").unwrap_err().to_string();
        assert!(e.contains("unknown size unit \"parsecs\""), "{e}");
        assert!(matches!(parse_size("0"), Err(UnitError::SizeOutOfRange(_))));
        assert!(parse_size("0.5").is_err());
        assert!(parse_size("99999999999999999999TB").is_err());
    }
}
