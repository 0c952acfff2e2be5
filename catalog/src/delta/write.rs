//! Appending one batch to a Delta table as one commit (docs/delta.md#writes): the rows are cast
//! to the table's columns, stamped with the batch's `_ingested_at`, written as Parquet files
//! that no reader sees until the commit names them, then committed. A commit that loses a race
//! is tried again at the next version while its stamp still follows every committed batch.
use super::fit::fit;
use super::gated::Gated;
use super::{delta_error, handle, open, table_url};
use crate::error::{CatalogError, Result};
use crate::resolve::{ingest_type, INGESTED_AT};
use crate::{Lake, TableName};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::execution::{SendableRecordBatchStream, SessionState};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{
    CommitBuilder, CommitProperties, TableReference, TransactionError,
};
use deltalake::kernel::{Action, StructType};
use deltalake::logstore::LogStore as _;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Commit-info keys Strata records with each commit (shown by `strata.batches`).
pub const INFO_INGESTED_AT: &str = "strata.ingestedAt";
pub const INFO_SOURCE: &str = "strata.source";
pub const INFO_USER: &str = "strata.user";
/// A hash of a gated batch's rows: pairs a table's commit with its quarantine's (gated.rs).
pub const INFO_BATCH: &str = "strata.batchId";

/// Table properties Strata creates tables with: the log is never cleaned up, because time
/// travel and `strata.batches` read every commit (docs/delta.md#the-log-is-kept).
const TABLE_PROPERTIES: &[(&str, &str)] = &[
    ("delta.enableExpiredLogCleanup", "false"),
    ("delta.logRetentionDuration", "interval 36500 days"),
];

/// How a write is made.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// What the rows came from, for `strata.batches` (`INSERT`, `strata ingest orders.csv`).
    pub source: String,
    /// Who wrote them, when known.
    pub user: Option<String>,
    /// Create the table when it does not exist (`strata ingest`, `CREATE TABLE … AS`).
    pub create: bool,
    /// Refuse when the table exists (`CREATE TABLE … AS`).
    pub must_not_exist: bool,
    /// Parquet files are flushed to the store at about this size, so memory stays bounded.
    pub target_file_size: usize,
    /// Commits tried before a lost race is reported as a conflict.
    pub max_commit_attempts: usize,
    /// The clock, in µs (tests step it back); None reads the system clock.
    pub now: Option<i64>,
    /// The session writing: the quality gate's queries run with its memory limit. None: the
    /// lake's own context.
    pub state: Option<SessionState>,
}

impl AppendOptions {
    pub fn new(source: impl Into<String>) -> Self {
        AppendOptions {
            source: source.into(),
            target_file_size: 128 << 20,
            max_commit_attempts: 10,
            ..Default::default()
        }
    }
}

/// What one write committed.
#[derive(Debug, Clone)]
pub struct Committed {
    pub version: i64,
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
    /// The batch's `_ingested_at` (µs), when Strata stamped it.
    pub ingested_at: Option<i64>,
    /// Rows of the batch that went to the table's quarantine instead (docs/quality.md).
    pub quarantined: u64,
}

/// The folder a new table gets: `zone/table` in schema `public`, else `zone/schema/table`.
pub fn new_table_dir(name: &TableName) -> String {
    match name.schema.as_str() {
        "public" => format!("{}/{}", name.zone, name.table),
        s => format!("{}/{s}/{}", name.zone, name.table),
    }
}

impl Lake {
    /// The columns a writer gives for `name`, in table order: every column but a stamped
    /// `_ingested_at`. None when the table does not exist.
    pub async fn write_schema(&self, name: &TableName) -> Result<Option<SchemaRef>> {
        let Some(dir) = self.delta_dir(name)? else {
            return Ok(None);
        };
        let table = open(self.store(), &dir).await?;
        let schema = table_schema(&dir, &table)?;
        let stamped = self.stamps(name, &schema);
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| !(stamped && f.name() == INGESTED_AT))
            .map(|f| f.as_ref().clone())
            .collect();
        Ok(Some(Arc::new(Schema::new(fields))))
    }

    /// The folder of `name` when it is a Delta table; None when there is no such table; an
    /// error naming `CONVERT TO DELTA` for a plain-file table.
    pub(crate) fn delta_dir(&self, name: &TableName) -> Result<Option<String>> {
        let listing = self.listing();
        match listing.tables.get(name) {
            None => Ok(None),
            Some(t) if t.is_delta() => Ok(Some(t.dir.clone())),
            Some(_) => Err(CatalogError::table(
                name,
                "is a table of plain files, which Strata does not write; make it a Delta table \
                 first with CONVERT TO DELTA (its files and answers stay as they are)",
            )),
        }
    }

    /// True when Strata stamps `_ingested_at` on writes: the table has the column and its
    /// ingestion time is not configured (only then does the writer give it).
    fn stamps(&self, name: &TableName, schema: &Schema) -> bool {
        let configured = self
            .config()
            .tables
            .get(&name.to_string())
            .is_some_and(|t| t.ingested_at.is_some());
        !configured && schema.field_with_name(INGESTED_AT).is_ok()
    }

    /// Appends the rows of `input` to `name` as one batch and one commit, then makes the new
    /// version visible to every session of this process.
    pub async fn append(
        &self,
        name: &TableName,
        input: SendableRecordBatchStream,
        opts: &AppendOptions,
    ) -> Result<Committed> {
        let existing = self.delta_dir(name)?;
        if existing.is_some() && opts.must_not_exist {
            return Err(CatalogError::table(name, "already exists"));
        }
        let committed = match existing {
            Some(dir) => self.append_existing(name, &dir, input, opts).await?,
            None if opts.create => self.append_new(name, input, opts).await?,
            None => {
                return Err(CatalogError::table(
                    name,
                    "does not exist; CREATE TABLE … AS SELECT or `strata ingest` creates it",
                ))
            }
        };
        self.refresh().await?;
        Ok(committed)
    }

    async fn append_existing(
        &self,
        name: &TableName,
        dir: &str,
        input: SendableRecordBatchStream,
        opts: &AppendOptions,
    ) -> Result<Committed> {
        let mut table = open(self.store(), dir).await?;
        let schema = table_schema(dir, &table)?;
        self.check_key_columns(name, &schema)?;
        let stamped = self.stamps(name, &schema);
        if stamped && input.schema().field_with_name(INGESTED_AT).is_ok() {
            return Err(writer_times_refused(name));
        }
        let last = match stamped {
            true => self.newest_stamp(name).await?,
            false => None,
        };
        let stamp = stamped.then(|| next_stamp(opts.now, last));
        let mut writer = RecordBatchWriter::for_table(&table).map_err(|e| delta_error(dir, e))?;
        let mut gated = Gated::new(self, name, &schema, opts)?;
        let (adds, rows) = write_files(
            self,
            name,
            dir,
            &mut writer,
            input,
            &schema,
            stamp,
            opts,
            gated.as_mut(),
        )
        .await?;
        let version = table.version().map(|v| v as i64);
        let judged = match gated {
            Some(g) => Some(
                g.judge(self, name, dir, &schema, &adds, version, opts)
                    .await?,
            ),
            None => None,
        };
        let quarantined = judged.as_ref().map_or(0, |j| j.quarantined);
        let batch_id = judged.map(|j| j.batch_id);
        let files = adds.len();
        let bytes = adds.iter().map(|a| a.size.max(0) as u64).sum();
        let partition_by = partition_columns(dir, &table)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let snapshot = table
                .snapshot()
                .map_err(|e| delta_error(dir, e))?
                .snapshot();
            let read_version = snapshot.version();
            let result = CommitBuilder::from(commit_properties(opts, stamp, batch_id.as_deref()))
                .with_actions(adds.iter().cloned().map(Action::Add).collect())
                .with_max_retries(0)
                .build(
                    Some(snapshot as &dyn TableReference),
                    table.log_store(),
                    DeltaOperation::Write {
                        mode: SaveMode::Append,
                        partition_by: (!partition_by.is_empty()).then(|| partition_by.clone()),
                        predicate: None,
                    },
                )
                .await;
            match result {
                Ok(done) => {
                    return Ok(Committed {
                        version: done.version() as i64,
                        rows: rows - quarantined,
                        files,
                        bytes,
                        ingested_at: stamp,
                        quarantined,
                    })
                }
                Err(e) if lost_race(&e) && attempt < opts.max_commit_attempts => {
                    table
                        .update_incremental(None)
                        .await
                        .map_err(|e| delta_error(dir, e))?;
                    // Another writer committed first. Its batch must not follow this one's
                    // stamp, or stamps would not grow in commit order: then nothing is
                    // committed and the writer is told to run again.
                    let theirs = newest_commit_stamp(&table, read_version as i64).await?;
                    if let (Some(ours), Some(theirs)) = (stamp, theirs) {
                        if theirs >= ours {
                            return Err(conflict(name, table.version().map(|v| v as i64)));
                        }
                    }
                }
                Err(e) if lost_race(&e) => {
                    return Err(conflict(name, table.version().map(|v| v as i64)))
                }
                Err(e) => return Err(delta_error(dir, e)),
            }
        }
    }

    async fn append_new(
        &self,
        name: &TableName,
        input: SendableRecordBatchStream,
        opts: &AppendOptions,
    ) -> Result<Committed> {
        let dir = new_table_dir(name);
        let given = input.schema();
        let configured = self
            .config()
            .tables
            .get(&name.to_string())
            .is_some_and(|t| t.ingested_at.is_some());
        if given.field_with_name(INGESTED_AT).is_ok() && !configured {
            return Err(writer_times_refused(name));
        }
        let mut fields: Vec<Field> = given
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        if !configured {
            fields.push(Field::new(INGESTED_AT, ingest_type(), true));
        }
        let schema = deltalake::kernel::schema::normalize_for_delta(&Arc::new(Schema::new(fields)));
        self.check_key_columns(name, &schema)?;
        let stamp = (!configured).then(|| next_stamp(opts.now, None));
        let url = table_url(self.store(), &dir)?;
        let mut writer = RecordBatchWriter::try_new(url.as_str(), schema.clone(), None, None)
            .map_err(|e| delta_error(&dir, e))?;
        let mut gated = Gated::new(self, name, &schema, opts)?;
        let (adds, rows) = write_files(
            self,
            name,
            &dir,
            &mut writer,
            input,
            &schema,
            stamp,
            opts,
            gated.as_mut(),
        )
        .await?;
        let judged = match gated {
            Some(g) => Some(
                g.judge(self, name, &dir, &schema, &adds, None, opts)
                    .await?,
            ),
            None => None,
        };
        let quarantined = judged.as_ref().map_or(0, |j| j.quarantined);
        let batch_id = judged.map(|j| j.batch_id);
        let files = adds.len();
        let bytes = adds.iter().map(|a| a.size.max(0) as u64).sum();
        let props = commit_properties(opts, stamp, batch_id.as_deref());
        let version = create_table(self, name, &dir, &schema, adds, props).await?;
        Ok(Committed {
            version,
            rows: rows - quarantined,
            files,
            bytes,
            ingested_at: stamp,
            quarantined,
        })
    }

    fn check_key_columns(&self, name: &TableName, schema: &Schema) -> Result<()> {
        let Some(config) = self.config().tables.get(&name.to_string()) else {
            return Ok(());
        };
        for k in &config.key {
            if schema.field_with_name(k).is_err() {
                return Err(CatalogError::table(
                    name,
                    format!(
                        "the rows have no key column '{k}' (strata.toml line {})",
                        config.line
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The newest `_ingested_at` the table holds, from its resolved files (footer statistics
    /// are exact) — removed files included, so a stamp never repeats one before a DELETE.
    async fn newest_stamp(&self, name: &TableName) -> Result<Option<i64>> {
        self.refresh().await?;
        let resolved = self.resolve(name).await?;
        Ok(resolved.files.iter().filter_map(|f| f.ingest_max).max())
    }
}

/// Creates the Delta table `name` in folder `dir` with `schema`, its first commit holding
/// `adds`; returns its version. Losing the race to create it is a conflict.
pub(crate) async fn create_table(
    lake: &Lake,
    name: &TableName,
    dir: &str,
    schema: &SchemaRef,
    adds: Vec<deltalake::kernel::Add>,
    props: CommitProperties,
) -> Result<i64> {
    let kernel: StructType = schema
        .as_ref()
        .try_into_kernel()
        .map_err(|e| delta_error(dir, e.into()))?;
    let table = handle(lake.store(), dir)?;
    let created = deltalake::operations::create::CreateBuilder::new()
        .with_log_store(table.log_store())
        .with_columns(kernel.fields().cloned())
        .with_configuration(TABLE_PROPERTIES.iter().map(|(k, v)| (*k, Some(*v))))
        .with_save_mode(SaveMode::ErrorIfExists)
        .with_actions(adds.into_iter().map(Action::Add))
        .with_commit_properties(props)
        .await;
    match created {
        Ok(t) => Ok(t.version().unwrap_or(0) as i64),
        // Another writer created it first: this batch is not in it.
        Err(DeltaTableError::VersionAlreadyExists(_))
        | Err(DeltaTableError::Transaction { .. }) => Err(conflict(name, Some(0))),
        Err(e) => Err(delta_error(dir, e)),
    }
}

fn writer_times_refused(name: &TableName) -> CatalogError {
    CatalogError::table(
        name,
        "the rows carry an _ingested_at column, but Strata stamps it on each batch; only a \
         table whose ingested_at is set in strata.toml takes the writer's times",
    )
}

/// The batch's stamp: now, or just after the newest one when the clock stepped back.
fn next_stamp(now: Option<i64>, last: Option<i64>) -> i64 {
    let now = now.unwrap_or_else(|| chrono::Utc::now().timestamp_micros());
    match last {
        Some(l) if l >= now => l + 1,
        _ => now,
    }
}

fn lost_race(e: &DeltaTableError) -> bool {
    matches!(
        e,
        DeltaTableError::VersionAlreadyExists(_)
            | DeltaTableError::Transaction {
                source: TransactionError::MaxCommitAttempts(_)
                    | TransactionError::VersionAlreadyExists(_)
                    | TransactionError::CommitConflict(_)
            }
    )
}

fn conflict(name: &TableName, version: Option<i64>) -> CatalogError {
    let at = version
        .map(|v| format!(" (version {v})"))
        .unwrap_or_default();
    CatalogError::Conflict(format!(
        "table {name}: another writer committed a batch first{at}; nothing was written, run the write again"
    ))
}

fn table_schema(dir: &str, table: &DeltaTable) -> Result<SchemaRef> {
    Ok(table
        .snapshot()
        .map_err(|e| delta_error(dir, e))?
        .snapshot()
        .arrow_schema())
}

fn partition_columns(dir: &str, table: &DeltaTable) -> Result<Vec<String>> {
    Ok(table
        .snapshot()
        .map_err(|e| delta_error(dir, e))?
        .metadata()
        .partition_columns()
        .to_vec())
}

fn commit_properties(
    opts: &AppendOptions,
    stamp: Option<i64>,
    batch_id: Option<&str>,
) -> CommitProperties {
    let mut info: HashMap<String, Value> = HashMap::new();
    info.insert(INFO_SOURCE.into(), Value::String(opts.source.clone()));
    if let Some(u) = &opts.user {
        info.insert(INFO_USER.into(), Value::String(u.clone()));
    }
    if let Some(s) = stamp {
        info.insert(INFO_INGESTED_AT.into(), Value::from(s));
    }
    if let Some(b) = batch_id {
        info.insert(INFO_BATCH.into(), Value::String(b.into()));
    }
    CommitProperties::default()
        .with_metadata(info)
        .with_cleanup_expired_logs(Some(false))
        .with_create_checkpoint(false)
}

/// The newest stamp among the commits after `after` (from their commit info, or the `_ingested_at`
/// statistics of their files for writers other than Strata).
async fn newest_commit_stamp(table: &DeltaTable, after: i64) -> Result<Option<i64>> {
    let store = table.log_store();
    let newest = table.version().map_or(after, |v| v as i64);
    let mut best: Option<i64> = None;
    for v in (after + 1)..=newest {
        let Some(bytes) = store
            .read_commit_entry(v as u64)
            .await
            .map_err(|e| CatalogError::Conflict(e.to_string()))?
        else {
            continue;
        };
        let actions = deltalake::logstore::get_actions(v as u64, &bytes)
            .map_err(|e| CatalogError::Conflict(e.to_string()))?;
        for a in actions {
            let found = match a {
                Action::CommitInfo(i) => i.info.get(INFO_INGESTED_AT).and_then(Value::as_i64),
                // Statistics are truncated to ms: the batch may be up to 1 ms later.
                Action::Add(add) => add
                    .stats
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .and_then(|s| s["maxValues"][INGESTED_AT].as_str().map(str::to_string))
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.timestamp_micros() + 999),
                _ => None,
            };
            best = best.max(found);
        }
    }
    Ok(best)
}

/// Writes `input`, cast to `schema` and stamped, as Parquet files; returns their Add actions
/// and the row count. Nothing is committed here.
#[allow(clippy::too_many_arguments)]
async fn write_files(
    lake: &Lake,
    name: &TableName,
    dir: &str,
    writer: &mut RecordBatchWriter,
    mut input: SendableRecordBatchStream,
    schema: &SchemaRef,
    stamp: Option<i64>,
    opts: &AppendOptions,
    mut gated: Option<&mut Gated>,
) -> Result<(Vec<deltalake::kernel::Add>, u64)> {
    let mut adds = vec![];
    let mut rows = 0u64;
    while let Some(batch) = input.next().await {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        rows += batch.num_rows() as u64;
        let mut batch = fit(name, &batch, schema, stamp)?;
        if let Some(g) = gated.as_deref_mut() {
            batch = g.pass(lake, name, batch).await?;
            if batch.num_rows() == 0 {
                continue;
            }
        }
        writer.write(batch).await.map_err(|e| delta_error(dir, e))?;
        if writer.buffer_len() >= opts.target_file_size {
            adds.extend(writer.flush().await.map_err(|e| delta_error(dir, e))?);
        }
    }
    adds.extend(writer.flush().await.map_err(|e| delta_error(dir, e))?);
    Ok((adds, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_grow_even_when_the_clock_steps_back() {
        assert_eq!(next_stamp(Some(100), None), 100);
        assert_eq!(next_stamp(Some(100), Some(50)), 100);
        assert_eq!(next_stamp(Some(100), Some(100)), 101);
        assert_eq!(next_stamp(Some(100), Some(500)), 501);
    }

    #[test]
    fn new_tables_of_schema_public_sit_directly_under_the_zone() {
        assert_eq!(
            new_table_dir(&TableName::new("raw", "public", "t")),
            "raw/t"
        );
        assert_eq!(
            new_table_dir(&TableName::new("raw", "crm", "t")),
            "raw/crm/t"
        );
    }
}
