//! Lake discovery: one recursive listing of the store, sorted into zones, schemas and tables,
//! with partition folders parsed and the files Spark, Kafka Connect and Firehose leave behind
//! that must never be read filtered out (docs/lake.md#what-is-never-read).
use crate::config::LakeConfig;
use crate::error::{CatalogError, Result};
use crate::store::LakeStore;
use crate::{TableName, ZONES};
use futures::TryStreamExt;
use object_store::ObjectMeta;
use std::collections::BTreeMap;
use std::time::Instant;

/// One data file of a table.
#[derive(Debug, Clone)]
pub struct LakeFile {
    pub meta: ObjectMeta,
    /// Path relative to the lake root, for messages.
    pub rel: String,
    /// `key=value` folders between the table folder and the file, outermost first.
    pub partitions: Vec<(String, String)>,
}

/// A table as discovered: its folder and files, before schemas are read.
#[derive(Debug, Clone)]
pub struct DiscoveredTable {
    pub name: TableName,
    /// Folder relative to the lake root.
    pub dir: String,
    pub files: Vec<LakeFile>,
    /// The files of `_delta_log/` when the folder is a Delta table (docs/delta.md). Its data
    /// files then come from the log; `files` only says which of them are still in the store.
    pub delta_log: Option<Vec<ObjectMeta>>,
}

impl DiscoveredTable {
    pub fn is_delta(&self) -> bool {
        self.delta_log.is_some()
    }
}

/// The folder name of a Delta table's transaction log.
pub const DELTA_LOG: &str = "_delta_log";

/// One complete listing of the lake.
#[derive(Debug, Clone)]
pub struct Listing {
    pub tables: BTreeMap<TableName, DiscoveredTable>,
    pub listed_at: Instant,
}

/// True for path components Strata never reads: hidden and underscore names (`_SUCCESS`,
/// `_temporary/`, `.crc`), except `key=value` folders such as `_ingested_at=…`.
fn is_ignored_component(c: &str) -> bool {
    (c.starts_with('_') || c.starts_with('.')) && !c.contains('=')
}

fn is_ignored(rel: &str, meta: &ObjectMeta) -> bool {
    meta.size == 0 || rel.ends_with(".crc") || rel.split('/').any(is_ignored_component)
}

/// Splits `key=value`, decoding the `%XX` escapes Spark and Hive write.
pub fn parse_partition(component: &str) -> Option<(String, String)> {
    let (k, v) = component.split_once('=')?;
    if k.is_empty() {
        return None;
    }
    Some((k.to_string(), percent_decode(v)))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lists the whole lake once and sorts the files into tables.
pub async fn list_lake(store: &LakeStore, config: &LakeConfig) -> Result<Listing> {
    let started = Instant::now();
    let objects: Vec<ObjectMeta> = store
        .store
        .list(Some(&store.root))
        .try_collect()
        .await
        .map_err(|source| CatalogError::Store {
            uri: store.uri.clone(),
            source,
        })?;
    let mut files: Vec<(String, ObjectMeta)> = vec![];
    let mut logs: BTreeMap<String, Vec<ObjectMeta>> = BTreeMap::new();
    for m in objects {
        let Some(rel) = store.relative(&m.location).map(str::to_string) else {
            continue;
        };
        if let Some(dir) = delta_table_dir(&rel) {
            logs.entry(dir.to_string()).or_default().push(m);
        } else if !is_ignored(&rel, &m) {
            files.push((rel, m));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Listing {
        tables: sort_into_tables(files, logs, config)?,
        listed_at: started,
    })
}

/// The table folder of a file inside a Delta log (`<dir>/_delta_log/<file>`), for the log's
/// commits and checkpoints; None for anything else (temporary files of a commit included).
fn delta_table_dir(rel: &str) -> Option<&str> {
    let (dir, file) = rel.rsplit_once(&format!("/{DELTA_LOG}/"))?;
    let wanted = file.ends_with(".json")
        || file.ends_with(".checkpoint.parquet")
        || file.contains(".checkpoint.")
        || file == "_last_checkpoint";
    (wanted && !file.contains('/') && !file.starts_with('.')).then_some(dir)
}

/// Assigns listed files (relative path, metadata) to tables; `logs` are the Delta logs found,
/// by table folder.
pub fn sort_into_tables(
    files: Vec<(String, ObjectMeta)>,
    logs: BTreeMap<String, Vec<ObjectMeta>>,
    config: &LakeConfig,
) -> Result<BTreeMap<TableName, DiscoveredTable>> {
    let mut tables: BTreeMap<TableName, DiscoveredTable> = BTreeMap::new();
    // Configured paths win over the folder layout, longest first so nested paths behave.
    let mut configured: Vec<(&str, TableName)> = config
        .tables
        .iter()
        .filter_map(|(name, t)| Some((t.path.as_deref()?, TableName::parse(name)?)))
        .collect();
    configured.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for (_, name) in &configured {
        let dir = config.tables[&name.to_string()]
            .path
            .clone()
            .unwrap_or_default();
        tables.insert(
            name.clone(),
            DiscoveredTable {
                name: name.clone(),
                dir,
                files: vec![],
                delta_log: None,
            },
        );
    }

    // Which zone/<x> folders are tables of schema `public`: they hold files or k=v folders,
    // or a Delta log.
    let mut public_tables: std::collections::BTreeSet<(String, String)> = Default::default();
    for dir in logs.keys() {
        let parts: Vec<&str> = dir.split('/').collect();
        if parts.len() == 2 && ZONES.contains(&parts[0]) {
            public_tables.insert((parts[0].to_string(), parts[1].to_string()));
        }
    }
    for (rel, _) in &files {
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.len() >= 3
            && ZONES.contains(&parts[0])
            && (parts.len() == 3 || parts[2].contains('='))
        {
            public_tables.insert((parts[0].to_string(), parts[1].to_string()));
        }
    }

    for (rel, meta) in files {
        if let Some((dir, name)) = configured
            .iter()
            .find(|(p, _)| rel.starts_with(&format!("{p}/")))
        {
            let inner = &rel[dir.len() + 1..];
            push_file(
                tables.get_mut(name).expect("configured table inserted"),
                inner,
                meta,
            );
            continue;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.len() < 3 || !ZONES.contains(&parts[0]) {
            continue; // strata.toml, files directly under a zone, folders that are not zones
        }
        let (schema, table, depth) =
            if public_tables.contains(&(parts[0].to_string(), parts[1].to_string())) {
                ("public", parts[1], 2)
            } else if parts.len() >= 4 {
                (parts[1], parts[2], 3)
            } else {
                continue;
            };
        let name = TableName::new(parts[0], schema, table);
        if configured.iter().any(|(_, n)| *n == name)
            && config.tables[&name.to_string()].path.is_some()
        {
            continue; // the configured table reads from its own path
        }
        let dir = parts[..depth].join("/");
        let entry = tables
            .entry(name.clone())
            .or_insert_with(|| DiscoveredTable {
                name,
                dir,
                files: vec![],
                delta_log: None,
            });
        let inner = parts[depth..].join("/");
        push_file(entry, &inner, meta);
    }

    // Delta logs make their folders Delta tables, also before the first data file is written.
    for (dir, log) in logs {
        let name = match configured.iter().find(|(p, _)| *p == dir) {
            Some((_, name)) => name.clone(),
            None => {
                let parts: Vec<&str> = dir.split('/').collect();
                match parts.as_slice() {
                    [zone, table] if ZONES.contains(zone) => TableName::new(zone, "public", table),
                    [zone, schema, table]
                        if ZONES.contains(zone)
                            && !public_tables.contains(&(zone.to_string(), schema.to_string())) =>
                    {
                        TableName::new(zone, schema, table)
                    }
                    _ => continue, // a log deeper inside a table is that table's data
                }
            }
        };
        if configured.iter().any(|(p, n)| *n == name && *p != dir) {
            continue; // the configured table reads from its own path
        }
        let entry = tables
            .entry(name.clone())
            .or_insert_with(|| DiscoveredTable {
                name,
                dir: dir.clone(),
                files: vec![],
                delta_log: None,
            });
        if entry.dir == dir {
            entry.delta_log = Some(log);
        }
    }
    Ok(tables)
}

fn push_file(table: &mut DiscoveredTable, inner: &str, meta: ObjectMeta) {
    let comps: Vec<&str> = inner.split('/').collect();
    let partitions = comps[..comps.len() - 1]
        .iter()
        .filter_map(|c| parse_partition(c))
        .collect();
    table.files.push(LakeFile {
        meta,
        rel: format!("{}/{inner}", table.dir),
        partitions,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::path::Path;

    fn meta(size: u64) -> ObjectMeta {
        ObjectMeta {
            location: Path::from("x"),
            last_modified: Default::default(),
            size,
            e_tag: None,
            version: None,
        }
    }

    fn tables(paths: &[&str]) -> BTreeMap<TableName, DiscoveredTable> {
        let files = paths
            .iter()
            .map(|p| (p.to_string(), meta(10)))
            .filter(|(p, m)| !is_ignored(p, m))
            .collect();
        sort_into_tables(files, Default::default(), &LakeConfig::default()).unwrap()
    }

    fn names(t: &BTreeMap<TableName, DiscoveredTable>) -> Vec<String> {
        t.keys().map(|k| k.to_string()).collect()
    }

    #[test]
    fn zone_schema_table_layout() {
        let t = tables(&[
            "raw/crm/customers/a.parquet",
            "raw/crm/customers/sub/b.parquet",
            "enhanced/sales/x/dt=2026-01-01/c.parquet",
        ]);
        assert_eq!(names(&t), ["enhanced.sales.x", "raw.crm.customers"]);
        assert_eq!(t[&TableName::new("raw", "crm", "customers")].files.len(), 2);
        let x = &t[&TableName::new("enhanced", "sales", "x")].files[0];
        assert_eq!(
            x.partitions,
            vec![("dt".to_string(), "2026-01-01".to_string())]
        );
    }

    #[test]
    fn folder_with_files_directly_under_zone_is_public_table() {
        let t = tables(&[
            "sanitized/countries/c.csv",
            "raw/events/year=2026/month=01/e.json",
        ]);
        assert_eq!(
            names(&t),
            ["raw.public.events", "sanitized.public.countries"]
        );
    }

    #[test]
    fn spark_leftovers_and_hidden_files_are_never_read() {
        let t = tables(&[
            "raw/crm/customers/_temporary/0/part-1.parquet",
            "raw/crm/customers/_SUCCESS",
            "raw/crm/customers/.part-0.parquet.crc",
            "raw/crm/customers/part-0.parquet.crc",
            "raw/crm/customers/_committed_123",
            "raw/crm/customers/part-0.parquet",
            "raw/crm/_hidden/part-0.parquet",
        ]);
        assert_eq!(names(&t), ["raw.crm.customers"]);
        assert_eq!(t[&TableName::new("raw", "crm", "customers")].files.len(), 1);
    }

    #[test]
    fn a_delta_log_makes_its_folder_a_delta_table_even_without_data_files() {
        let logs: BTreeMap<String, Vec<ObjectMeta>> = [
            ("raw/crm/orders".to_string(), vec![meta(10)]),
            ("raw/events".to_string(), vec![meta(10)]),
        ]
        .into();
        let files = vec![("raw/crm/orders/part-0.parquet".to_string(), meta(10))];
        let t = sort_into_tables(files, logs, &LakeConfig::default()).unwrap();
        assert_eq!(names(&t), ["raw.crm.orders", "raw.public.events"]);
        let orders = &t[&TableName::new("raw", "crm", "orders")];
        assert!(orders.is_delta());
        assert_eq!(orders.files.len(), 1);
        assert!(t[&TableName::new("raw", "public", "events")].is_delta());
    }

    #[test]
    fn only_commits_and_checkpoints_are_log_files() {
        assert_eq!(
            delta_table_dir("raw/s/t/_delta_log/00000000000000000000.json"),
            Some("raw/s/t")
        );
        assert_eq!(
            delta_table_dir("raw/s/t/_delta_log/00000000000000000010.checkpoint.parquet"),
            Some("raw/s/t")
        );
        assert_eq!(
            delta_table_dir("raw/s/t/_delta_log/_last_checkpoint"),
            Some("raw/s/t")
        );
        assert_eq!(delta_table_dir("raw/s/t/_delta_log/.0.json.tmp"), None);
        assert_eq!(delta_table_dir("raw/s/t/_delta_log/_commits/x.json"), None);
        assert_eq!(delta_table_dir("raw/s/t/part-0.parquet"), None);
    }

    #[test]
    fn empty_files_are_ignored() {
        assert!(is_ignored("raw/a/b/x.parquet", &meta(0)));
        assert!(!is_ignored(
            "raw/a/b/_ingested_at=2026-01-01/x.parquet",
            &meta(1)
        ));
    }

    #[test]
    fn partition_values_are_url_decoded() {
        assert_eq!(
            parse_partition("ts=2026-01-01 10%3A00%3A00"),
            Some(("ts".into(), "2026-01-01 10:00:00".into()))
        );
        assert_eq!(parse_partition("=x"), None);
    }
}
