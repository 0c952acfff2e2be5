//! `strata.toml`: the optional lake configuration (docs/lake.md#configuration), validated up
//! front so a bad file is refused at start with the file, the line and what is wrong.
use crate::error::{CatalogError, Result};
use crate::quality::anomaly::settings::{RawWatch, WatchSettings};
use crate::quality::expect::{Expectations, RawExpect};
use crate::units::{parse_duration, parse_positive_duration, parse_size, UnitError};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

/// Default age a listing may reach before it is read again (docs/metadata.md#refresh).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(5);

/// The parsed and validated configuration.
#[derive(Debug, Clone, Default)]
pub struct LakeConfig {
    pub refresh: Duration,
    /// Per-table settings keyed by `zone.schema.table`.
    pub tables: BTreeMap<String, TableConfig>,
    pub server: ServerConfig,
    pub users: BTreeMap<String, UserConfig>,
    /// `[lake] anomaly_*`: how tables are watched unless they say otherwise (docs/quality.md).
    pub anomaly: WatchSettings,
}

/// How a table's rows are presented (docs/tables.md#modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Keyed,
    Snapshot,
    Append,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Keyed => "keyed",
            Mode::Snapshot => "snapshot",
            Mode::Append => "append",
        })
    }
}

/// Where a table's ingestion time comes from, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestedAtConfig {
    Column(String),
    Partition(String),
    FileModified,
}

#[derive(Debug, Clone, Default)]
pub struct TableConfig {
    pub key: Vec<String>,
    pub mode: Option<Mode>,
    pub ingested_at: Option<IngestedAtConfig>,
    pub deleted_when: Option<String>,
    pub format: Option<String>,
    pub path: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Checked on every write before it commits, and by `strata check` (docs/quality.md).
    pub expect: Option<Expectations>,
    /// Its `anomaly_*` keys over the lake's, when it sets any.
    pub anomaly: Option<WatchSettings>,
    /// 1-based line of the table's section, for errors found later (e.g. an unknown key column).
    pub line: usize,
}

impl TableConfig {
    /// The effective mode: `key` makes a table keyed unless a mode says otherwise.
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or(if self.key.is_empty() {
            Mode::Append
        } else {
            Mode::Keyed
        })
    }
}

/// `[server]`: settings of `strata serve`, with durations and sizes parsed when the file loads
/// (by [`crate::units`], the parser the flags use too). A key left out is `None`: the flag or
/// the default applies.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub listen: Option<String>,
    pub max_connections: Option<usize>,
    /// Zero: sessions are never closed for being idle.
    pub idle_timeout: Option<Duration>,
    /// Zero: no limit.
    pub statement_timeout: Option<Duration>,
    pub query_memory_limit: Option<usize>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub require_tls: Option<bool>,
    pub max_query_size: Option<usize>,
    pub max_message_size: Option<usize>,
    /// Never zero.
    pub startup_timeout: Option<Duration>,
    pub max_expression_depth: Option<usize>,
    /// How much of a `COPY … FROM STDIN` is held in memory before the rest goes to a
    /// temporary file.
    pub copy_memory: Option<usize>,
}

/// `[server]` as written; [`LakeConfig::parse`] turns it into a [`ServerConfig`].
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    max_connections: Option<usize>,
    idle_timeout: Option<Spanned<SettingText>>,
    statement_timeout: Option<Spanned<SettingText>>,
    query_memory_limit: Option<Spanned<SettingText>>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    require_tls: Option<bool>,
    max_query_size: Option<Spanned<SettingText>>,
    max_message_size: Option<Spanned<SettingText>>,
    startup_timeout: Option<Spanned<SettingText>>,
    max_expression_depth: Option<usize>,
    copy_memory: Option<Spanned<SettingText>>,
}

/// A duration or size as written: a string, or a bare TOML number, which is judged as the same
/// text in quotes would be (`statement_timeout = 30` needs a unit as `"30"` does; `0` is zero).
struct SettingText(String);

impl<'de> Deserialize<'de> for SettingText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SettingText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string such as \"5s\" or \"64MB\"")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<SettingText, E> {
                Ok(SettingText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<SettingText, E> {
                Ok(SettingText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<SettingText, E> {
                Ok(SettingText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<SettingText, E> {
                Ok(SettingText(v.to_string()))
            }
        }
        d.deserialize_any(Text)
    }
}

/// The 1-based line of the first section header of table `name` (`[tables."name"]` or
/// `[tables."name".expect]`), 1 when it cannot be found.
fn table_line(text: &str, name: &str) -> usize {
    let quoted = [format!("\"{name}\""), format!("'{name}'")];
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with('[') && l.contains("tables") && quoted.iter().any(|q| l.contains(q))
        })
        .map_or(1, |i| i + 1)
}

/// Parses a setting if present; on error, where it was written (a byte offset) and why.
fn typed<T>(
    raw: Option<Spanned<SettingText>>,
    parse: fn(&str) -> std::result::Result<T, UnitError>,
) -> std::result::Result<Option<T>, (usize, UnitError)> {
    raw.map(|r| parse(&r.get_ref().0).map_err(|e| (r.span().start, e)))
        .transpose()
}

/// `[users.<name>]`: a server user (docs/server.md#users). Every zone in `write` must also be
/// in `zones`: a user writes only where it can read, so a write never lands in (or reveals
/// the tables of) a zone its author cannot see.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub password: String,
    /// Zones this user reads.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Zones this user may write (INSERT, COPY FROM STDIN, CREATE TABLE AS); default none.
    #[serde(default)]
    pub write: Vec<String>,
}

/// `[users.<name>]` as written, with where each zone list is, for errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    password: String,
    #[serde(default)]
    zones: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    write: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    lake: RawLake,
    #[serde(default)]
    // Not Spanned: a table written only as `[tables."t".expect]` has no span of its own.
    tables: BTreeMap<String, RawTable>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    users: BTreeMap<String, RawUser>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLake {
    refresh: Option<Spanned<SettingText>>,
    anomaly_window: Option<Spanned<usize>>,
    anomaly_min_points: Option<Spanned<usize>>,
    anomaly_threshold: Option<Spanned<f64>>,
    anomaly_freshness: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    key: Option<OneOrMany>,
    mode: Option<Mode>,
    ingested_at: Option<String>,
    deleted_when: Option<String>,
    format: Option<String>,
    path: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    expect: Option<RawExpect>,
    anomaly_window: Option<Spanned<usize>>,
    anomaly_min_points: Option<Spanned<usize>>,
    anomaly_threshold: Option<Spanned<f64>>,
    anomaly_freshness: Option<Spanned<bool>>,
}

/// Formats a table's `format` setting may name.
pub const FORMAT_NAMES: &[&str] = &[
    "parquet", "csv", "tsv", "json", "ndjson", "jsonl", "arrow", "ipc",
];

impl LakeConfig {
    /// Parses `text`, the contents of `file` (used in messages only).
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let err = |line: Option<usize>, message: String| CatalogError::Config {
            file: file.to_string(),
            message: match line {
                Some(l) => format!("line {l}: {message}"),
                None => message,
            },
        };
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start));
            err(line, e.message().trim().to_string())
        })?;
        // A duration or size refused names its key and line.
        let at = |key: &'static str| {
            let err = &err;
            let line_of = &line_of;
            move |(offset, e): (usize, UnitError)| err(Some(line_of(offset)), format!("{key}: {e}"))
        };
        let refresh = typed(raw.lake.refresh, parse_duration)
            .map_err(at("[lake] refresh"))?
            .unwrap_or(DEFAULT_REFRESH);
        let lake_watch = RawWatch::new(
            raw.lake.anomaly_window,
            raw.lake.anomaly_min_points,
            raw.lake.anomaly_threshold,
            raw.lake.anomaly_freshness,
        );
        let anomaly = lake_watch
            .apply(&WatchSettings::default())
            .map_err(|(offset, m)| err(Some(line_of(offset)), format!("[lake] {m}")))?
            .unwrap_or_default();
        let mut tables = BTreeMap::new();
        for (name, t) in raw.tables {
            let line = table_line(text, &name);
            let fail = |m: String| err(Some(line), format!("table \"{name}\": {m}"));
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                return Err(fail("table names are zone.schema.table".into()));
            }
            if !crate::ZONES.contains(&parts[0]) {
                return Err(fail(format!(
                    "unknown zone '{}' (zones are raw, sanitized, enhanced)",
                    parts[0]
                )));
            }
            let key = match t.key {
                None => vec![],
                Some(OneOrMany::One(k)) => vec![k],
                Some(OneOrMany::Many(k)) => k,
            };
            if key.iter().any(|k| k.trim().is_empty()) {
                return Err(fail("key names an empty column".into()));
            }
            if t.mode == Some(Mode::Keyed) && key.is_empty() {
                return Err(fail("mode = \"keyed\" needs a key".into()));
            }
            if t.mode.is_some_and(|m| m != Mode::Keyed) && !key.is_empty() {
                return Err(fail("key is only allowed on keyed tables".into()));
            }
            if t.deleted_when.is_some() && key.is_empty() {
                return Err(fail(
                    "deleted_when needs a key (tombstones remove keys)".into(),
                ));
            }
            let ingested_at = match t.ingested_at.as_deref() {
                None => None,
                Some("file_modified") => Some(IngestedAtConfig::FileModified),
                Some(s) if s.starts_with("partition:") => {
                    let p = &s["partition:".len()..];
                    if p.is_empty() {
                        return Err(fail(
                            "ingested_at = \"partition:\" needs a partition name".into(),
                        ));
                    }
                    Some(IngestedAtConfig::Partition(p.to_string()))
                }
                Some("") => return Err(fail("ingested_at is empty".into())),
                Some(c) => Some(IngestedAtConfig::Column(c.to_string())),
            };
            if let Some(f) = &t.format {
                if !FORMAT_NAMES.contains(&f.to_ascii_lowercase().as_str()) {
                    return Err(fail(format!(
                        "unknown format '{f}' (use one of {})",
                        FORMAT_NAMES.join(", ")
                    )));
                }
            }
            let expect = t
                .expect
                .map(RawExpect::validate)
                .transpose()
                .map_err(|m| fail(format!("expect: {m}")))?;
            let table_anomaly = RawWatch::new(
                t.anomaly_window,
                t.anomaly_min_points,
                t.anomaly_threshold,
                t.anomaly_freshness,
            )
            .apply(&anomaly)
            .map_err(|(offset, m)| err(Some(line_of(offset)), format!("table \"{name}\": {m}")))?;
            tables.insert(
                name.clone(),
                TableConfig {
                    key,
                    mode: t.mode,
                    ingested_at,
                    deleted_when: t.deleted_when,
                    format: t.format.map(|f| f.to_ascii_lowercase()),
                    path: t.path.map(|p| p.trim_matches('/').to_string()),
                    description: t.description,
                    tags: t.tags,
                    expect,
                    anomaly: table_anomaly,
                    line,
                },
            );
        }
        let s = raw.server;
        let server = ServerConfig {
            listen: s.listen,
            max_connections: s.max_connections,
            idle_timeout: typed(s.idle_timeout, parse_duration)
                .map_err(at("[server] idle_timeout"))?,
            statement_timeout: typed(s.statement_timeout, parse_duration)
                .map_err(at("[server] statement_timeout"))?,
            query_memory_limit: typed(s.query_memory_limit, parse_size)
                .map_err(at("[server] query_memory_limit"))?,
            tls_cert: s.tls_cert,
            tls_key: s.tls_key,
            require_tls: s.require_tls,
            max_query_size: typed(s.max_query_size, parse_size)
                .map_err(at("[server] max_query_size"))?,
            max_message_size: typed(s.max_message_size, parse_size)
                .map_err(at("[server] max_message_size"))?,
            startup_timeout: typed(s.startup_timeout, parse_positive_duration)
                .map_err(at("[server] startup_timeout"))?,
            max_expression_depth: s.max_expression_depth,
            copy_memory: typed(s.copy_memory, parse_size).map_err(at("[server] copy_memory"))?,
        };
        let mut users = BTreeMap::new();
        for (name, u) in raw.users {
            let zone_list = |list: Option<Spanned<Vec<String>>>, key: &str| {
                let Some(list) = list else {
                    return Ok(vec![]);
                };
                let line = line_of(list.span().start);
                let zones = list.into_inner();
                match zones.iter().find(|z| !crate::ZONES.contains(&z.as_str())) {
                    Some(bad) => Err(err(
                        Some(line),
                        format!(
                            "[users.{name}] {key}: unknown zone '{bad}' (zones are raw, \
                             sanitized, enhanced)"
                        ),
                    )),
                    None => Ok(zones),
                }
            };
            let write_line = u.write.as_ref().map(|w| line_of(w.span().start));
            let zones = zone_list(u.zones, "zones")?;
            let write = zone_list(u.write, "write")?;
            if let Some(unread) = write.iter().find(|z| !zones.contains(z)) {
                return Err(err(
                    write_line,
                    format!(
                        "[users.{name}] write: zone '{unread}' is not in zones; a user writes \
                         only zones it may read"
                    ),
                ));
            }
            users.insert(
                name,
                UserConfig {
                    password: u.password,
                    zones,
                    write,
                },
            );
        }
        Ok(LakeConfig {
            refresh,
            tables,
            server,
            users,
            anomaly,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LakeConfig> {
        LakeConfig::parse("strata.toml", text)
    }

    #[test]
    fn full_example_parses() {
        let c = parse(
            r#"
[lake]
refresh = "10s"
[tables."raw.crm.customers"]
key = ["customer_id"]
ingested_at = "_ingested_at"
deleted_when = "op = 'd'"
tags = ["pii"]
[tables."sanitized.crm.scores"]
mode = "snapshot"
ingested_at = "partition:snapshot_ts"
[server]
listen = "127.0.0.1:5433"
[users.analyst]
password = "SCRAM-SHA-256$4096:x"
zones = ["enhanced"]
"#,
        )
        .unwrap();
        assert_eq!(c.refresh, Duration::from_secs(10));
        let t = &c.tables["raw.crm.customers"];
        assert_eq!(t.mode(), Mode::Keyed);
        assert_eq!(t.line, 4);
        assert_eq!(
            c.tables["sanitized.crm.scores"].ingested_at,
            Some(IngestedAtConfig::Partition("snapshot_ts".into()))
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse("[lake]\nrefresh = \n").unwrap_err().to_string();
        assert!(e.starts_with("strata.toml: line 2:"), "{e}");
    }

    #[test]
    fn unknown_setting_is_refused_with_its_line() {
        let e = parse("[tables.\"raw.a.b\"]\nkey = \"id\"\nkeys = [\"x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("keys"), "{e}");
    }

    #[test]
    fn bad_values_are_refused() {
        let e = parse("[lake]\nrefresh = \"soon\"").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("soon"), "{e}");
        let e = parse("[tables.\"lake.a.b\"]\nkey = \"id\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown zone 'lake'"), "{e}");
        let e = parse("[tables.\"raw.a.b\"]\nformat = \"xlsx\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown format 'xlsx'"), "{e}");
        let e = parse("[tables.\"raw.a.b\"]\nmode = \"snapshot\"\nkey = \"id\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key is only allowed"), "{e}");
    }

    #[test]
    fn server_durations_and_sizes_are_typed_when_the_file_loads() {
        let c = parse(
            "[server]\nidle_timeout = \"10m\"\nstatement_timeout = \"300ms\"\n\
             startup_timeout = \"1.5s\"\nquery_memory_limit = \"1.5G\"\n\
             max_query_size = \"64k\"\nmax_message_size = 1048576\n",
        )
        .unwrap();
        let s = &c.server;
        assert_eq!(s.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(s.statement_timeout, Some(Duration::from_millis(300)));
        assert_eq!(s.startup_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(s.query_memory_limit, Some(3 << 29));
        assert_eq!(s.max_query_size, Some(64 << 10));
        assert_eq!(s.max_message_size, Some(1 << 20));
        let c = parse("[server]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        assert_eq!(c.server.idle_timeout, None);
    }

    #[test]
    fn zero_is_off_and_other_bare_numbers_need_a_unit() {
        let c = parse("[server]\nidle_timeout = \"0\"\nstatement_timeout = 0\n").unwrap();
        assert_eq!(c.server.idle_timeout, Some(Duration::ZERO));
        assert_eq!(c.server.statement_timeout, Some(Duration::ZERO));
        for text in ["\"30\"", "30"] {
            let e = parse(&format!("[server]\n\nstatement_timeout = {text}\n"))
                .unwrap_err()
                .to_string();
            assert_eq!(
                e,
                "strata.toml: line 3: [server] statement_timeout: \"30\" needs a unit: 30s or 30ms"
            );
        }
        let e = parse("[lake]\nrefresh = \"5\"").unwrap_err().to_string();
        assert!(
            e.contains("line 2: [lake] refresh: \"5\" needs a unit"),
            "{e}"
        );
        let e = parse("[server]\nstartup_timeout = \"0\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: [server] startup_timeout"), "{e}");
    }

    #[test]
    fn users_write_zones_parse_and_default_to_none() {
        let c = parse(
            "[users.analyst]\npassword = \"x\"\nzones = [\"enhanced\"]\nwrite = []\n\
             [users.loader]\npassword = \"y\"\nzones = [\"raw\", \"enhanced\"]\n\
             write = [\"raw\"]\n[users.reader]\npassword = \"z\"\n",
        )
        .unwrap();
        assert!(c.users["analyst"].write.is_empty());
        assert_eq!(c.users["loader"].write, vec!["raw".to_string()]);
        assert!(c.users["reader"].write.is_empty());
        assert!(c.users["reader"].zones.is_empty());
    }

    #[test]
    fn writing_a_zone_needs_reading_it() {
        let e = parse(
            "[users.u]\npassword = \"x\"\nzones = [\"enhanced\"]\n\
             write = [\"enhanced\", \"raw\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "strata.toml: line 4: [users.u] write: zone 'raw' is not in zones; a user writes \
             only zones it may read"
        );
    }

    #[test]
    fn unknown_user_zone_is_refused_with_its_line() {
        let e =
            parse("[users.u]\npassword = \"x\"\nzones = [\"raw\"]\nwrite = [\"raw\", \"lake\"]\n")
                .unwrap_err()
                .to_string();
        assert_eq!(
            e,
            "strata.toml: line 4: [users.u] write: unknown zone 'lake' (zones are raw, sanitized, enhanced)"
        );
        let e = parse("[users.u]\npassword = \"x\"\n\nzones = [\"gold\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("strata.toml: line 4: [users.u] zones: unknown zone 'gold'"),
            "{e}"
        );
        let e = parse("[users.u]\npassword = \"x\"\nwrite = \"raw\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn bad_server_values_name_key_and_line() {
        let e = parse("[server]\nlisten = \"x\"\nmax_query_size = \"lots\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3: [server] max_query_size: \"lots\""),
            "{e}"
        );
        let e = parse("[server]\nidle_timeout = \"10x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: [server] idle_timeout: \"10x\""), "{e}");
        let e = parse("[server]\nidle_timeout = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("\"5s\""), "{e}");
    }
}
