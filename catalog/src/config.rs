//! `strata.toml`: the optional lake configuration (docs/lake.md#configuration), validated up
//! front so a bad file is refused at start with the file, the line and what is wrong.
use crate::error::{CatalogError, Result};
use crate::time::parse_duration;
use serde::Deserialize;
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: Option<String>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<String>,
    pub statement_timeout: Option<String>,
    pub query_memory_limit: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub require_tls: Option<bool>,
    pub max_query_size: Option<String>,
    pub max_message_size: Option<String>,
    pub startup_timeout: Option<String>,
    pub max_expression_depth: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub password: String,
    #[serde(default)]
    pub zones: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    lake: RawLake,
    #[serde(default)]
    tables: BTreeMap<String, Spanned<RawTable>>,
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    users: BTreeMap<String, UserConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLake {
    refresh: Option<Spanned<String>>,
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
        let refresh = match raw.lake.refresh {
            None => DEFAULT_REFRESH,
            Some(r) => {
                parse_duration(r.get_ref()).map_err(|m| err(Some(line_of(r.span().start)), m))?
            }
        };
        let mut tables = BTreeMap::new();
        for (name, spanned) in raw.tables {
            let line = line_of(spanned.span().start);
            let t = spanned.into_inner();
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
                    line,
                },
            );
        }
        if let Some(t) = &raw.server.idle_timeout {
            parse_duration(t).map_err(|m| err(None, format!("[server] idle_timeout: {m}")))?;
        }
        if let Some(t) = &raw.server.statement_timeout {
            parse_duration(t).map_err(|m| err(None, format!("[server] statement_timeout: {m}")))?;
        }
        Ok(LakeConfig {
            refresh,
            tables,
            server: raw.server,
            users: raw.users,
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
}
