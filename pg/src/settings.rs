//! A Postgres session's settings: the ones drivers read at connect (`server_version`, `DateStyle`,
//! `TimeZone`…), the ones they set (`extra_float_digits`, `application_name`…), and the ones
//! Strata acts on (`statement_timeout`, `search_path`, `strata.as_of`). Any setting may be SET;
//! Strata remembers it so SHOW and `current_setting` answer what was set.
use datafusion::config::ConfigOptions;
use std::collections::BTreeMap;
use std::sync::RwLock;
use strata_catalog::StrataOptions;

/// Settings and their values at connect, as PostgreSQL 16 reports them.
pub(crate) const DEFAULTS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("idle_session_timeout", "0"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("is_superuser", "off"),
    ("lc_collate", "C.UTF-8"),
    ("lc_ctype", "C.UTF-8"),
    ("lc_messages", "C.UTF-8"),
    ("lc_monetary", "C.UTF-8"),
    ("lc_numeric", "C.UTF-8"),
    ("lc_time", "C.UTF-8"),
    ("lock_timeout", "0"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    ("block_size", "8192"),
    ("server_encoding", "UTF8"),
    ("server_version", super::SERVER_VERSION),
    ("server_version_num", super::SERVER_VERSION_NUM),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

/// Names whose canonical spelling differs from lower case (ParameterStatus and SHOW use it).
pub fn display_name(name: &str) -> &str {
    match name {
        "datestyle" => "DateStyle",
        "timezone" => "TimeZone",
        "intervalstyle" => "IntervalStyle",
        other => other,
    }
}

#[derive(Debug)]
pub struct Settings {
    values: RwLock<BTreeMap<String, String>>,
    /// Server-wide ceiling on statement_timeout, in milliseconds (0 = none).
    max_statement_timeout_ms: u64,
}

impl Settings {
    pub fn new(max_statement_timeout_ms: u64) -> Self {
        let values = DEFAULTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([(
                "statement_timeout".to_string(),
                max_statement_timeout_ms.to_string(),
            )])
            .collect();
        Settings {
            values: RwLock::new(values),
            max_statement_timeout_ms,
        }
    }

    /// Records a setting. Names are case-insensitive, as in PostgreSQL.
    pub fn set(&self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        let value = match name.as_str() {
            // Clients may lower the server's ceiling, never raise it.
            "statement_timeout" => {
                let asked = parse_millis(value).unwrap_or(0);
                let max = self.max_statement_timeout_ms;
                let effective = match (asked, max) {
                    (0, m) => m,
                    (a, 0) => a,
                    (a, m) => a.min(m),
                };
                effective.to_string()
            }
            _ => value.to_string(),
        };
        self.values
            .write()
            .expect("settings lock")
            .insert(name, value);
    }

    /// Back to the value at connect.
    pub fn reset(&self, name: &str) {
        let name = name.to_ascii_lowercase();
        let default = DEFAULTS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string());
        let mut values = self.values.write().expect("settings lock");
        match default {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => {
                values.remove(&name);
            }
        }
        if name == "statement_timeout" {
            values.insert(name, self.max_statement_timeout_ms.to_string());
        }
    }

    pub fn reset_all(&self) {
        let fresh = Settings::new(self.max_statement_timeout_ms);
        let mut values = self.values.write().expect("settings lock");
        let keep = values.get("application_name").cloned();
        *values = fresh.values.into_inner().expect("settings lock");
        if let Some(app) = keep {
            values.insert("application_name".into(), app);
        }
    }

    /// The value SHOW and `current_setting` report; `config` supplies the ones DataFusion keeps.
    pub fn show(&self, name: &str, config: &ConfigOptions) -> Option<String> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "search_path" => {
                return Some(format!(
                    "{}, {}",
                    config.catalog.default_schema, config.catalog.default_catalog
                ))
            }
            "strata.as_of" => {
                return Some(match StrataOptions::as_of_from(config) {
                    None => "now".into(),
                    Some(us) => chrono::DateTime::from_timestamp_micros(us)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.f+00").to_string())
                        .unwrap_or_default(),
                })
            }
            "statement_timeout" => {
                let ms = self.statement_timeout_ms();
                return Some(if ms == 0 {
                    "0".into()
                } else {
                    format!("{ms}ms")
                });
            }
            _ => {}
        }
        if let Some(v) = self.values.read().expect("settings lock").get(&name) {
            return Some(v.clone());
        }
        config
            .entries()
            .into_iter()
            .find(|e| e.key == name)
            .map(|e| e.value.unwrap_or_default())
    }

    /// The session's statement timeout in milliseconds; 0 means none.
    pub fn statement_timeout_ms(&self) -> u64 {
        self.values
            .read()
            .expect("settings lock")
            .get("statement_timeout")
            .and_then(|v| parse_millis(v))
            .unwrap_or(0)
    }
}

/// A time value a client sends for a session setting (`SET statement_timeout = 30`, `-c
/// statement_timeout=5s` at connect), read as PostgreSQL reads it: a bare number is milliseconds;
/// units us, ms, s, min, h, d. Only for the client protocol: durations in strata.toml and flags
/// are parsed by `strata_catalog::units`, where a bare number needs a unit.
pub(crate) fn parse_millis(v: &str) -> Option<u64> {
    let v = v.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some((n * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeout_units_follow_postgres() {
        assert_eq!(parse_millis("1500"), Some(1500));
        assert_eq!(parse_millis("2s"), Some(2000));
        assert_eq!(parse_millis("'1min'"), Some(60_000));
        assert_eq!(parse_millis("soon"), None);
    }

    #[test]
    fn clients_cannot_raise_the_servers_statement_timeout() {
        let s = Settings::new(10_000);
        s.set("statement_timeout", "0");
        assert_eq!(s.statement_timeout_ms(), 10_000);
        s.set("STATEMENT_TIMEOUT", "60s");
        assert_eq!(s.statement_timeout_ms(), 10_000);
        s.set("statement_timeout", "500");
        assert_eq!(s.statement_timeout_ms(), 500);
        s.reset("statement_timeout");
        assert_eq!(s.statement_timeout_ms(), 10_000);
    }

    #[test]
    fn any_setting_can_be_set_and_shown() {
        let s = Settings::new(0);
        let config = ConfigOptions::default();
        assert_eq!(s.show("DateStyle", &config).as_deref(), Some("ISO, MDY"));
        s.set("my.custom", "42");
        assert_eq!(s.show("MY.CUSTOM", &config).as_deref(), Some("42"));
        s.reset_all();
        assert_eq!(s.show("my.custom", &config), None);
    }
}
