//! Changing a Delta table other than by appending (docs/delta.md): `DELETE` (reprocessing),
//! `OPTIMIZE` (small files into big ones), `VACUUM` (files no retained version needs) and
//! `CONVERT TO DELTA` (a plain-Parquet folder made a Delta table in place). Each is one commit
//! made by deltalake; Strata adds what it records with every commit and refreshes after.
use super::files::CONVERT_OPERATION;
use super::write::{INFO_SOURCE, INFO_USER};
use super::{delta_error, handle, open};
use crate::error::{CatalogError, Result};
use crate::{Lake, TableName};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::StructField;
use deltalake::operations::convert_to_delta::ConvertToDeltaBuilder;
use deltalake::operations::vacuum::VacuumMode;
use serde_json::Value;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::time::Duration;

/// Commit-info key with the time (µs) Strata made a commit other than a write.
pub const INFO_COMMITTED_AT: &str = "strata.committedAt";

/// Commit-info key naming the Strata operation where deltalake's name differs (CONVERT).
pub const INFO_OPERATION: &str = "strata.operation";

/// The retention VACUUM keeps by default: a week, Delta's own default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(168 * 3600);

/// What a maintenance statement did, for its status line.
#[derive(Debug, Clone, Default)]
pub struct Maintained {
    pub rows: u64,
    pub files_added: u64,
    pub files_removed: u64,
}

fn properties(source: &str, user: Option<&str>, operation: Option<&str>) -> CommitProperties {
    let mut info: HashMap<String, Value> = HashMap::new();
    info.insert(INFO_SOURCE.into(), Value::String(source.into()));
    if let Some(u) = user {
        info.insert(INFO_USER.into(), Value::String(u.into()));
    }
    if let Some(op) = operation {
        info.insert(INFO_OPERATION.into(), Value::String(op.into()));
    }
    // Time travel orders this commit by this time, not by its file's time, which S3 keeps in
    // whole seconds (see Commit::visible_from).
    info.insert(
        INFO_COMMITTED_AT.into(),
        Value::from(chrono::Utc::now().timestamp_micros()),
    );
    CommitProperties::default()
        .with_metadata(info)
        .with_cleanup_expired_logs(Some(false))
        .with_create_checkpoint(false)
}

impl Lake {
    /// Every Delta table of the lake, by name.
    pub fn delta_tables(&self) -> Vec<TableName> {
        let listing = self.listing();
        listing
            .tables
            .values()
            .filter(|t| t.is_delta())
            .map(|t| t.name.clone())
            .collect()
    }

    fn existing_delta(&self, name: &TableName) -> Result<String> {
        self.delta_dir(name)?
            .ok_or_else(|| CatalogError::table(name, "no such table in the lake"))
    }

    /// Deletes the rows matching `predicate` (SQL over the table's columns) as one commit.
    /// The files holding them are rewritten without them; time travel to before still reads
    /// the old files.
    pub async fn delete_rows(
        &self,
        name: &TableName,
        predicate: Option<&str>,
        source: &str,
        user: Option<&str>,
    ) -> Result<Maintained> {
        let dir = self.existing_delta(name)?;
        let table = open(self.store(), &dir).await?;
        let mut delete = table
            .delete()
            .with_commit_properties(properties(source, user, None));
        if let Some(p) = predicate {
            delete = delete.with_predicate(p.to_string());
        }
        let (_, metrics) = delete.await.map_err(|e| delta_error(&dir, e))?;
        self.refresh().await?;
        Ok(Maintained {
            rows: metrics.num_deleted_rows.unwrap_or(0) as u64,
            files_added: metrics.num_added_files as u64,
            files_removed: metrics.num_removed_files as u64,
        })
    }

    /// Rewrites small files into files near `target` bytes as one commit. Rows and their
    /// ingestion times do not change, so every answer stays the same.
    pub async fn optimize(
        &self,
        name: &TableName,
        target: NonZeroU64,
        source: &str,
        user: Option<&str>,
    ) -> Result<Maintained> {
        let dir = self.existing_delta(name)?;
        let table = open(self.store(), &dir).await?;
        let (_, metrics) = table
            .optimize()
            .with_target_size(target)
            .with_commit_properties(properties(source, user, None))
            .await
            .map_err(|e| delta_error(&dir, e))?;
        self.refresh().await?;
        Ok(Maintained {
            rows: 0,
            files_added: metrics.num_files_added,
            files_removed: metrics.num_files_removed,
        })
    }

    /// Deletes files no version within `retain` needs: removed files whose removal is older,
    /// and files no commit names (a failed write's). A retention below the table's minimum
    /// (a week) needs `force`, since time travel into it would then find files gone.
    pub async fn vacuum(
        &self,
        name: &TableName,
        retain: Duration,
        force: bool,
        source: &str,
        user: Option<&str>,
    ) -> Result<Maintained> {
        let dir = self.existing_delta(name)?;
        if retain < DEFAULT_RETENTION && !force {
            return Err(CatalogError::table(
                name,
                format!(
                    "VACUUM RETAIN {} HOURS is below the safety minimum of 168 hours: time travel \
                     and writers still running could need the files it deletes; add FORCE to \
                     do it anyway",
                    retain.as_secs() / 3600
                ),
            ));
        }
        let table = open(self.store(), &dir).await?;
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(
                chrono::Duration::from_std(retain).unwrap_or(chrono::Duration::MAX),
            )
            .with_enforce_retention_duration(!force)
            .with_mode(VacuumMode::Full)
            .with_commit_properties(properties(source, user, None))
            .await
            .map_err(|e| delta_error(&dir, e))?;
        self.refresh().await?;
        Ok(Maintained {
            rows: 0,
            files_added: 0,
            files_removed: metrics.files_deleted.len() as u64,
        })
    }

    /// Makes the plain-Parquet table `name` a Delta table in place: its files stay, named by
    /// one commit that counts them as committed at their own ingestion times, so no past answer
    /// changes.
    pub async fn convert_to_delta(
        &self,
        name: &TableName,
        source: &str,
        user: Option<&str>,
    ) -> Result<Maintained> {
        let listing = self.listing();
        let Some(discovered) = listing.tables.get(name) else {
            return Err(CatalogError::table(name, "no such table in the lake"));
        };
        if discovered.is_delta() {
            return Err(CatalogError::table(name, "is a Delta table already"));
        }
        let dir = discovered.dir.clone();
        let resolved = self.resolve(name).await?;
        if resolved.kind != crate::format::Kind::Parquet {
            return Err(CatalogError::table(
                name,
                format!(
                    "holds {} files; CONVERT TO DELTA takes Parquet tables only",
                    resolved.kind.name()
                ),
            ));
        }
        // deltalake converts every .parquet file below the folder, the ones Strata never reads
        // (a failed Spark job's _temporary/) included: refuse rather than make them visible.
        let leftovers = self.parquet_leftovers(&dir).await?;
        if let Some(first) = leftovers.first() {
            return Err(CatalogError::table(
                name,
                format!(
                    "the folder holds Parquet files Strata does not read ({first}{}); remove them \
                     before CONVERT TO DELTA, or they would become part of the table",
                    match leftovers.len() {
                        1 => String::new(),
                        n => format!(" and {} more", n - 1),
                    }
                ),
            ));
        }
        // The `key=value` folders become partition columns; the `_ingested_at` Strata adds to a
        // table without one comes from the files' modification times, which the log keeps.
        let partitions: Vec<StructField> = resolved
            .partition_fields
            .iter()
            .filter(|f| {
                discovered
                    .files
                    .iter()
                    .any(|lf| lf.partitions.iter().any(|(k, _)| k == f.name()))
            })
            // Nullable whatever today's files hold: a later append may have no value for it.
            .map(|f| (&f.as_ref().clone().with_nullable(true)).try_into_kernel())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| delta_error(&dir, e.into()))?;
        let table = handle(self.store(), &dir)?;
        let mut convert = ConvertToDeltaBuilder::new()
            .with_log_store(table.log_store())
            .with_commit_properties(properties(source, user, Some(CONVERT_OPERATION)));
        if !partitions.is_empty() {
            convert = convert.with_partition_schema(partitions);
        }
        convert.await.map_err(|e| delta_error(&dir, e))?;
        self.refresh().await?;
        Ok(Maintained {
            rows: resolved.files.iter().filter_map(|f| f.rows).sum::<usize>() as u64,
            files_added: resolved.files.len() as u64,
            files_removed: 0,
        })
    }

    /// `.parquet` files below `dir` inside folders or names Strata never reads.
    async fn parquet_leftovers(&self, dir: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let prefix = self.store().child(dir);
        let objects: Vec<object_store::ObjectMeta> = self
            .store()
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| CatalogError::Store {
                uri: self.uri().to_string(),
                source,
            })?;
        Ok(objects
            .iter()
            .filter(|m| m.location.extension() == Some("parquet"))
            .filter_map(|m| {
                let rel = self.store().relative(&m.location)?;
                let inner = rel.strip_prefix(dir)?.trim_start_matches('/');
                inner
                    .split('/')
                    .any(|c| (c.starts_with('_') || c.starts_with('.')) && !c.contains('='))
                    .then(|| rel.to_string())
            })
            .collect())
    }
}
