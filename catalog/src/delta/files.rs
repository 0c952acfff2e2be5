//! The data files of a Delta table over time: which files the newest version holds (from
//! deltalake's snapshot) and, for time travel, when each file was committed and removed (from
//! the commits deltalake parses), so one resolved table answers every as-of time
//! (docs/delta.md#time-travel).
use super::{check_readable, delta_error, open};
use crate::error::{CatalogError, Result};
use crate::listing::{percent_decode, DiscoveredTable, LakeFile};
use crate::store::LakeStore;
use datafusion::arrow::datatypes::SchemaRef;
use deltalake::kernel::Action;
use object_store::{ObjectMeta, ObjectStoreExt};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Operation name Strata records for `CONVERT TO DELTA` commits: their files count as committed
/// at their own ingestion times.
pub const CONVERT_OPERATION: &str = "CONVERT";

/// Parsed commits by location and size. Commits never change once written, so they are parsed
/// once per process however often the table is resolved again.
pub type LogCache = Mutex<HashMap<(String, u64), Arc<Vec<Action>>>>;

/// One data file and its life in the log.
#[derive(Debug, Clone)]
pub struct DeltaFile {
    pub file: LakeFile,
    /// When the commit that added it was written (µs, ms precision like delta-rs); None when
    /// it counts as old as its rows (a converted file, or one whose commit was cleaned up).
    pub committed_at: Option<i64>,
    /// When the commit that removed it was written; None while it is in the newest version.
    pub removed_at: Option<i64>,
    /// The statistics its Add recorded (JSON), kept for removed files: only time travel reads
    /// them, so their row counts and ingestion bounds come from the log, not their footers.
    pub stats: Option<String>,
}

/// What a file's log statistics say without opening it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogStats {
    pub rows: usize,
    /// Bounds (µs) of the ingestion-time column asked for. The log keeps timestamps to the
    /// millisecond, truncated, so the upper bound is widened to the millisecond's last µs.
    pub ingest: Option<(i64, i64)>,
}

impl DeltaFile {
    /// The file's row count and the bounds of `ingest_column` from its log statistics; None
    /// when the log has none for it (the footer is read instead).
    pub fn log_stats(&self, ingest_column: Option<&str>) -> Option<LogStats> {
        let raw = self.stats.as_deref()?;
        let stats: serde_json::Value = serde_json::from_str(raw).ok()?;
        let rows = usize::try_from(stats.get("numRecords")?.as_i64()?).ok()?;
        let micros = |side: &str| -> Option<i64> {
            let v = stats.get(side)?.get(ingest_column?)?.as_str()?;
            let t = chrono::DateTime::parse_from_rfc3339(v).ok()?;
            Some(t.timestamp_micros())
        };
        let ingest = micros("minValues").zip(micros("maxValues").map(|m| m + 999));
        Some(LogStats { rows, ingest })
    }
}

/// One commit of the log.
#[derive(Debug, Clone)]
pub struct Commit {
    pub version: i64,
    /// The commit file's last-modified time in µs, truncated to ms as delta-rs reads it.
    pub committed_at: i64,
    pub actions: Arc<Vec<Action>>,
}

impl Commit {
    /// From when time travel sees the commit: a batch Strata wrote is its rows' `_ingested_at`
    /// (the batch's commit time, taken just before the commit file was written, so as of its
    /// own rows' time a batch is there); another commit Strata made, the time it recorded (the
    /// commit file's time is whole seconds on S3, too coarse to order commits a second apart);
    /// any other commit, its file's time.
    pub fn visible_from(&self) -> i64 {
        self.actions
            .iter()
            .find_map(|a| match a {
                Action::CommitInfo(i) => [
                    super::write::INFO_INGESTED_AT,
                    super::maintain::INFO_COMMITTED_AT,
                ]
                .iter()
                .find_map(|k| i.info.get(*k).and_then(|v| v.as_i64())),
                _ => None,
            })
            .unwrap_or(self.committed_at)
    }
}

/// What a Delta table holds, for resolving it like any other table.
#[derive(Debug, Clone)]
pub struct DeltaFiles {
    pub version: i64,
    /// The table's schema from its metadata, partition columns included.
    pub schema: SchemaRef,
    pub partition_columns: Vec<String>,
    /// Files of the newest version, then removed files still in the store (for time travel).
    pub files: Vec<DeltaFile>,
    pub commits: Vec<Commit>,
}

/// The version of a commit file name (`00000000000000000012.json`).
pub fn commit_version(meta: &ObjectMeta) -> Option<i64> {
    let name = meta.location.filename()?;
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn micros_of(meta: &ObjectMeta) -> i64 {
    meta.last_modified.timestamp_millis() * 1000
}

/// Reads the commits of `log` (a table's `_delta_log/` listing) up to `version`, oldest first.
pub async fn read_commits(
    store: &LakeStore,
    dir: &str,
    log: &[ObjectMeta],
    version: i64,
    cache: &LogCache,
) -> Result<Vec<Commit>> {
    let mut metas: Vec<(i64, &ObjectMeta)> = log
        .iter()
        .filter_map(|m| Some((commit_version(m)?, m)))
        .filter(|(v, _)| *v <= version)
        .collect();
    metas.sort_by_key(|(v, _)| *v);
    let mut commits = Vec::with_capacity(metas.len());
    for (v, meta) in metas {
        let key = (meta.location.to_string(), meta.size);
        let cached = cache.lock().expect("log cache lock").get(&key).cloned();
        let actions = match cached {
            Some(a) => a,
            None => {
                let failed = |source| CatalogError::Store {
                    uri: store.uri.clone(),
                    source,
                };
                let got = store.store.get(&meta.location).await.map_err(failed)?;
                let bytes = got.bytes().await.map_err(failed)?;
                let parsed = deltalake::logstore::get_actions(v as u64, &bytes)
                    .map_err(|e| delta_error(dir, e))?;
                let parsed = Arc::new(parsed);
                cache
                    .lock()
                    .expect("log cache lock")
                    .insert(key, parsed.clone());
                parsed
            }
        };
        commits.push(Commit {
            version: v,
            committed_at: micros_of(meta),
            actions,
        });
    }
    Ok(commits)
}

/// The files of the Delta table `table` (a discovered folder with a log).
pub async fn delta_files(
    store: &LakeStore,
    table: &DiscoveredTable,
    cache: &LogCache,
) -> Result<DeltaFiles> {
    let dir = table.dir.as_str();
    let delta = open(store, dir).await?;
    check_readable(dir, &delta)?;
    let state = delta.snapshot().map_err(|e| delta_error(dir, e))?;
    let version = state.version() as i64;
    let schema = state.snapshot().arrow_schema();
    let partition_columns = state.metadata().partition_columns().to_vec();
    let log = table.delta_log.as_deref().unwrap_or_default();
    let commits = read_commits(store, dir, log, version, cache).await?;

    // When each path was added and removed, by the commits still in the log.
    let mut added: HashMap<String, Option<i64>> = HashMap::new();
    let mut removed: HashMap<String, i64> = HashMap::new();
    let mut removed_adds: HashMap<String, deltalake::kernel::Add> = HashMap::new();
    for c in &commits {
        let at = c.visible_from();
        // Spark names the operation CONVERT; deltalake's convert is a CREATE TABLE that Strata
        // marks in the commit info.
        let converted = c.actions.iter().any(|a| match a {
            Action::CommitInfo(i) => {
                i.operation.as_deref() == Some(CONVERT_OPERATION)
                    || i.info
                        .get(super::maintain::INFO_OPERATION)
                        .and_then(|v| v.as_str())
                        == Some(CONVERT_OPERATION)
            }
            _ => false,
        });
        for a in c.actions.iter() {
            match a {
                Action::Add(add) => {
                    let path = relative_path(dir, &add.path)?;
                    added.insert(path.clone(), (!converted).then_some(at));
                    removed.remove(&path);
                    removed_adds.insert(path, add.clone());
                }
                Action::Remove(r) => {
                    removed.insert(relative_path(dir, &r.path)?, at);
                }
                _ => {}
            }
        }
    }

    let mut files = vec![];
    let mut live: HashSet<String> = HashSet::new();
    for f in state.log_data().iter() {
        let path = relative_path(dir, &f.path())?;
        let partitions = partitions_in_order(&partition_columns, f.partition_values_map());
        let committed_at = added.get(&path).copied().flatten();
        files.push(DeltaFile {
            file: lake_file(
                store,
                dir,
                &path,
                f.size(),
                ingest_ms(f.modification_time(), committed_at),
                partitions,
            ),
            committed_at,
            removed_at: None,
            stats: None,
        });
        live.insert(path);
    }
    // Removed files still in the store keep answering time travel to before their removal;
    // VACUUM deletes them once no retained version needs them.
    let present: HashSet<&str> = table
        .files
        .iter()
        .filter_map(|f| f.rel.strip_prefix(dir)?.strip_prefix('/'))
        .collect();
    let mut gone: Vec<(&String, &i64)> = removed
        .iter()
        .filter(|(p, _)| !live.contains(*p) && present.contains(p.as_str()))
        .collect();
    gone.sort();
    for (path, at) in gone {
        let Some(add) = removed_adds.get(path) else {
            continue;
        };
        let partitions = partitions_in_order(&partition_columns, add.partition_values.clone());
        let committed_at = added.get(path).copied().flatten();
        files.push(DeltaFile {
            file: lake_file(
                store,
                dir,
                path,
                add.size,
                ingest_ms(add.modification_time, committed_at),
                partitions,
            ),
            committed_at,
            removed_at: Some(*at),
            stats: add.stats.clone(),
        });
    }
    Ok(DeltaFiles {
        version,
        schema,
        partition_columns,
        files,
        commits,
    })
}

/// The time (ms) a file's rows count as ingested when it has no `_ingested_at` column: the
/// `modificationTime` its Add records, but never after its commit became visible. Writers take
/// that time from a precise clock while the commit file's time comes from the file system's
/// coarser one, so it can be a few ms later than the commit, and as of its own version's time
/// the file's rows would be hidden.
fn ingest_ms(modification_ms: i64, committed_at: Option<i64>) -> i64 {
    committed_at.map_or(modification_ms, |c| modification_ms.min(c.div_euclid(1000)))
}

/// A log path (URL-encoded, relative to the table, or an absolute URI of a file inside it) as a
/// path relative to the table folder.
fn relative_path(dir: &str, raw: &str) -> Result<String> {
    if raw.contains("://") {
        let inner = raw
            .split_once(&format!("/{dir}/"))
            .map(|(_, rest)| percent_decode(rest));
        return inner.ok_or_else(|| CatalogError::Delta {
            table: dir.to_string(),
            message: format!(
                "the log names a file outside the table folder ({raw}); Strata reads only tables whose files are inside their folder"
            ),
        });
    }
    Ok(percent_decode(raw))
}

/// Partition values in the table's partition column order; a null value is written the way
/// Hive writes it, which Strata reads as NULL.
fn partitions_in_order(
    columns: &[String],
    mut values: HashMap<String, Option<String>>,
) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|c| {
            let v = values.remove(c).flatten();
            (
                c.clone(),
                v.unwrap_or_else(|| "__HIVE_DEFAULT_PARTITION__".into()),
            )
        })
        .collect()
}

fn lake_file(
    store: &LakeStore,
    dir: &str,
    path: &str,
    size: i64,
    modified_ms: i64,
    partitions: Vec<(String, String)>,
) -> LakeFile {
    let rel = format!("{dir}/{path}");
    LakeFile {
        meta: ObjectMeta {
            location: store.child(&rel),
            last_modified: chrono::DateTime::from_timestamp_millis(modified_ms).unwrap_or_default(),
            size: size.max(0) as u64,
            e_tag: None,
            version: None,
        },
        rel,
        partitions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_are_decoded_and_kept_inside_the_table() {
        assert_eq!(
            relative_path("raw/s/t", "dt=2026-01-01/part%20one.parquet").unwrap(),
            "dt=2026-01-01/part one.parquet"
        );
        assert_eq!(
            relative_path("raw/s/t", "s3://b/lake/raw/s/t/part-1.parquet").unwrap(),
            "part-1.parquet"
        );
        assert!(relative_path("raw/s/t", "s3://other/x/part-1.parquet").is_err());
    }

    #[test]
    fn removed_files_take_rows_and_ingest_bounds_from_the_log() {
        let file = |stats: Option<&str>| DeltaFile {
            file: LakeFile {
                meta: ObjectMeta {
                    location: "t/a.parquet".into(),
                    last_modified: Default::default(),
                    size: 1,
                    e_tag: None,
                    version: None,
                },
                rel: "t/a.parquet".into(),
                partitions: vec![],
            },
            committed_at: None,
            removed_at: Some(1),
            stats: stats.map(str::to_string),
        };
        let logged = file(Some(
            r#"{"numRecords":3,"minValues":{"_ingested_at":"2026-01-02T03:04:05.006Z"},"maxValues":{"_ingested_at":"2026-01-02T03:04:05.007Z"},"nullCount":{}}"#,
        ));
        let min = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.006Z")
            .unwrap()
            .timestamp_micros();
        assert_eq!(
            logged.log_stats(Some("_ingested_at")),
            Some(LogStats {
                rows: 3,
                // The log truncates to ms: any µs of the max's millisecond may be in the file.
                ingest: Some((min, min + 1000 + 999)),
            })
        );
        assert_eq!(logged.log_stats(Some("other")).unwrap().ingest, None);
        assert_eq!(logged.log_stats(None).unwrap().rows, 3);
        assert_eq!(file(None).log_stats(None), None);
        assert_eq!(file(Some("not json")).log_stats(None), None);
    }

    #[test]
    fn rows_without_a_stamp_are_never_ingested_after_their_commit() {
        // The Add's time is 3 ms after the commit file's (coarse file-system clock).
        assert_eq!(ingest_ms(1_003, Some(1_000_000)), 1_000);
        assert_eq!(ingest_ms(998, Some(1_000_000)), 998);
        assert_eq!(ingest_ms(1_003, None), 1_003);
    }

    #[test]
    fn only_commit_files_have_versions() {
        let meta = |name: &str| ObjectMeta {
            location: object_store::path::Path::from(format!("t/_delta_log/{name}")),
            last_modified: Default::default(),
            size: 1,
            e_tag: None,
            version: None,
        };
        assert_eq!(commit_version(&meta("00000000000000000012.json")), Some(12));
        assert_eq!(
            commit_version(&meta("00000000000000000012.checkpoint.parquet")),
            None
        );
        assert_eq!(commit_version(&meta("_last_checkpoint")), None);
    }
}
