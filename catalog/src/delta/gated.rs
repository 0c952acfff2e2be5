//! A write through a table's quality gate (docs/quality.md#the-gate): each record batch is
//! judged as it streams; failing rows go to the table's quarantine (`t_quarantine`, a Delta
//! table of its own) or, under `reject`, the whole write is refused once every expectation has
//! been judged, and the files it wrote are deleted.
//!
//! Two tables cannot commit atomically together, so a quarantining write commits the
//! quarantine first and the table second, both naming the batch by a hash of its rows
//! (`strata.batchId`). A process that dies between them leaves the good rows unwritten and the
//! bad ones quarantined; when the same batch is written again, the writer finds that
//! quarantine commit without its table commit and commits only the table, so no row is lost
//! or doubled (docs/quality.md#quarantine).
use super::write::{create_table, AppendOptions, INFO_BATCH, INFO_SOURCE, INFO_USER};
use super::{delta_error, open, table_url};
use crate::error::{CatalogError, Result};
use crate::quality::expect::{Expectations, OnFailure};
use crate::quality::gate::{rows_broken, Broken, Gate};
use crate::quality::unique::{unique_broken, Rows};
use crate::{Lake, TableName};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::hash_utils::{create_hashes, HLL_RANDOM_STATE};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionState;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The suffix of a table's quarantine.
pub const QUARANTINE_SUFFIX: &str = "_quarantine";
/// Commit info key naming the table a quarantine commit belongs with, and its version then.
const INFO_PAIRED_VERSION: &str = "strata.tableVersion";
/// Quarantine commits searched for a half-written batch when the same batch comes again.
const RECOVERY_COMMITS: usize = 100;

/// The quarantine of `name`.
pub fn quarantine_of(name: &TableName) -> TableName {
    TableName::new(
        &name.zone,
        &name.schema,
        &format!("{}{QUARANTINE_SUFFIX}", name.table),
    )
}

/// Where a quarantine's rows go while the batch streams.
struct Sink {
    name: TableName,
    dir: String,
    /// None: the quarantine is created by this write.
    table: Option<DeltaTable>,
    schema: SchemaRef,
    writer: RecordBatchWriter,
    adds: Vec<Add>,
    rows: u64,
}

/// A write's gate, its running hash of the batch, and its quarantine.
pub(crate) struct Gated {
    expect: Expectations,
    gate: Gate,
    state: SessionState,
    /// Sum and xor of the rows' hashes (order does not matter), and the count.
    hash: (u64, u64, u64),
    sink: Option<Sink>,
}

impl Gated {
    /// The gate of `name` when its configuration has expectations.
    pub(crate) fn new(
        lake: &Lake,
        name: &TableName,
        schema: &SchemaRef,
        opts: &AppendOptions,
    ) -> Result<Option<Gated>> {
        let Some(expect) = lake
            .config()
            .tables
            .get(&name.to_string())
            .and_then(|t| t.expect.clone())
        else {
            return Ok(None);
        };
        let state = opts.state.clone().unwrap_or_else(|| lake.state());
        let gate = Gate::new(&state, name, schema, &expect)?;
        Ok(Some(Gated {
            expect,
            gate,
            state,
            hash: (0, 0, 0),
            sink: None,
        }))
    }

    /// Judges `batch` (stamped, in the table's columns); returns the rows to write to the
    /// table. Under `quarantine` the failing rows are written to the quarantine here.
    pub(crate) async fn pass(
        &mut self,
        lake: &Lake,
        name: &TableName,
        batch: RecordBatch,
    ) -> Result<RecordBatch> {
        self.add_hash(&batch)?;
        if self.expect.on_failure == OnFailure::Reject {
            // Every row is written: a failing batch is deleted whole, and `unique` then judges
            // the whole batch, so the refusal counts what the batch breaks, not what is left.
            self.gate.count(&batch)?;
            return Ok(batch);
        }
        let split = self.gate.inspect(&batch)?;
        if let Some(bad) = split.bad {
            if self.sink.is_none() {
                self.sink = Some(Sink::open(lake, name, &bad.schema()).await?);
            }
            let sink = self.sink.as_mut().expect("opened above");
            sink.rows += bad.num_rows() as u64;
            let bad = super::fit::fit(&sink.name, &bad, &sink.schema, None)?;
            sink.writer
                .write(bad)
                .await
                .map_err(|e| delta_error(&sink.dir, e))?;
            return Ok(split.good);
        }
        Ok(split.good)
    }

    fn add_hash(&mut self, batch: &RecordBatch) -> Result<()> {
        // The stamp differs between runs of the same batch: hash the other columns.
        let columns: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| f.name() != crate::resolve::INGESTED_AT)
            .map(|(_, c)| c.clone())
            .collect();
        let mut hashes = vec![0u64; batch.num_rows()];
        create_hashes(&columns, &HLL_RANDOM_STATE, &mut hashes)?;
        for h in hashes {
            self.hash.0 = self.hash.0.wrapping_add(h);
            self.hash.1 ^= h.rotate_left(17);
        }
        self.hash.2 += batch.num_rows() as u64;
        Ok(())
    }

    fn batch_id(&self) -> String {
        format!("{:016x}{:016x}-{}", self.hash.0, self.hash.1, self.hash.2)
    }

    /// Judges the whole batch once the table's files are written (`adds`, in folder `dir`;
    /// `existing`: the table before the write). A refusal deletes every file the write made
    /// and lists what broke; otherwise the quarantine, if any, is committed and the batch id
    /// the table's commit must carry comes back.
    pub(crate) async fn judge(
        mut self,
        lake: &Lake,
        name: &TableName,
        dir: &str,
        schema: &SchemaRef,
        adds: &[Add],
        table_version: Option<i64>,
        opts: &AppendOptions,
    ) -> Result<Judged> {
        let broken = self.gate.broken();
        let quarantining = self.expect.on_failure == OnFailure::Quarantine;
        let mut refused: Vec<Broken> = if quarantining { vec![] } else { broken };
        refused.extend(rows_broken(&self.expect, self.gate.rows));
        // `unique` is judged even when the batch is refused already: the refusal lists every
        // expectation the batch breaks, so one fix-and-retry round suffices.
        if !self.expect.unique.is_empty() {
            let rows = Rows {
                existing: match table_version {
                    Some(_) => lake.provider(name, None).await?,
                    None => None,
                },
                // A batch whose every row went to quarantine adds no file to the table.
                batch: match adds.is_empty() {
                    true => None,
                    false => Some(written(lake, dir, schema, adds).await?),
                },
                key: lake
                    .config()
                    .tables
                    .get(&name.to_string())
                    .map(|t| t.key.clone())
                    .unwrap_or_default(),
            };
            for set in &self.expect.unique {
                refused.extend(unique_broken(&self.state, &rows, set).await?);
            }
        }
        if !refused.is_empty() {
            let mut files: Vec<(String, Vec<Add>)> = vec![(dir.to_string(), adds.to_vec())];
            if let Some(mut sink) = self.sink.take() {
                let q = sink
                    .writer
                    .flush()
                    .await
                    .map_err(|e| delta_error(&sink.dir, e))?;
                sink.adds.extend(q);
                files.push((sink.dir.clone(), sink.adds));
            }
            delete_files(lake, &files).await;
            return Err(CatalogError::Rejected {
                table: name.to_string(),
                broken: refused,
            });
        }
        let batch_id = self.batch_id();
        let Some(mut sink) = self.sink.take() else {
            return Ok(Judged {
                batch_id,
                quarantined: 0,
            });
        };
        let q = sink
            .writer
            .flush()
            .await
            .map_err(|e| delta_error(&sink.dir, e))?;
        sink.adds.extend(q);
        let (q, qdir) = (sink.table.as_ref(), sink.dir.as_str());
        let earlier = Sink::half_written(q, qdir, &batch_id, table_version, lake, name);
        if earlier.await? {
            delete_files(lake, &[(sink.dir.clone(), sink.adds)]).await;
            return Ok(Judged {
                batch_id,
                quarantined: sink.rows,
            });
        }
        let rows = sink.rows;
        sink.commit(lake, opts, &batch_id, table_version).await?;
        Ok(Judged {
            batch_id,
            quarantined: rows,
        })
    }
}

/// What the gate let through.
pub(crate) struct Judged {
    /// The batch's id, for the table's commit info.
    pub batch_id: String,
    /// Rows committed to the quarantine (or found there from an earlier run).
    pub quarantined: u64,
}

impl Sink {
    async fn open(lake: &Lake, name: &TableName, bad: &SchemaRef) -> Result<Sink> {
        let qname = quarantine_of(name);
        match lake.delta_dir(&qname)? {
            Some(dir) => {
                let table = open(lake.store(), &dir).await?;
                let schema = table
                    .snapshot()
                    .map_err(|e| delta_error(&dir, e))?
                    .snapshot()
                    .arrow_schema();
                let writer =
                    RecordBatchWriter::for_table(&table).map_err(|e| delta_error(&dir, e))?;
                Ok(Sink {
                    name: qname,
                    dir,
                    table: Some(table),
                    schema,
                    writer,
                    adds: vec![],
                    rows: 0,
                })
            }
            None => {
                let dir = super::write::new_table_dir(&qname);
                let schema = deltalake::kernel::schema::normalize_for_delta(bad);
                let url = table_url(lake.store(), &dir)?;
                let writer = RecordBatchWriter::try_new(url.as_str(), schema.clone(), None, None)
                    .map_err(|e| delta_error(&dir, e))?;
                Ok(Sink {
                    name: qname,
                    dir,
                    table: None,
                    schema,
                    writer,
                    adds: vec![],
                    rows: 0,
                })
            }
        }
    }

    /// True when an earlier run of this batch committed its quarantine but died before the
    /// table's commit: then the quarantine already holds these rows. (Not a method: the
    /// sink's Parquet writer may not be shared across an await.)
    async fn half_written(
        q: Option<&DeltaTable>,
        qdir: &str,
        batch_id: &str,
        table_version: Option<i64>,
        lake: &Lake,
        name: &TableName,
    ) -> Result<bool> {
        let Some(q) = q else {
            return Ok(false);
        };
        let mut history = q.history(Some(RECOVERY_COMMITS));
        let mut paired: Option<i64> = None;
        while let Some(info) = history.next().await {
            let info = info.map_err(|e| delta_error(qdir, e))?;
            if info.info.get(INFO_BATCH).and_then(Value::as_str) == Some(batch_id) {
                paired = Some(
                    info.info
                        .get(INFO_PAIRED_VERSION)
                        .and_then(Value::as_i64)
                        .unwrap_or(-1),
                );
                break;
            }
        }
        let Some(after) = paired else {
            return Ok(false);
        };
        // Did a table commit after that version carry the batch? Then the batch was whole and
        // this is a new run of the same rows, which is written again like any batch.
        let Some(dir) = lake.delta_dir(name)? else {
            return Ok(true);
        };
        let table = open(lake.store(), &dir).await?;
        let newest = table_version
            .unwrap_or(-1)
            .max(table.version().map_or(-1, |v| v as i64));
        let store = table.log_store();
        for v in (after + 1).max(0)..=newest {
            let Some(bytes) = store
                .read_commit_entry(v as u64)
                .await
                .map_err(|e| delta_error(&dir, e))?
            else {
                continue;
            };
            let actions = deltalake::logstore::get_actions(v as u64, &bytes)
                .map_err(|e| delta_error(&dir, e))?;
            for a in actions {
                if let Action::CommitInfo(i) = a {
                    if i.info.get(INFO_BATCH).and_then(Value::as_str) == Some(batch_id) {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    async fn commit(
        self,
        lake: &Lake,
        opts: &AppendOptions,
        batch_id: &str,
        table_version: Option<i64>,
    ) -> Result<()> {
        let mut info: HashMap<String, Value> = HashMap::new();
        info.insert(INFO_SOURCE.into(), Value::String(opts.source.clone()));
        if let Some(u) = &opts.user {
            info.insert(INFO_USER.into(), Value::String(u.clone()));
        }
        info.insert(INFO_BATCH.into(), Value::String(batch_id.into()));
        info.insert(
            INFO_PAIRED_VERSION.into(),
            Value::from(table_version.unwrap_or(-1)),
        );
        let props = CommitProperties::default()
            .with_metadata(info)
            .with_cleanup_expired_logs(Some(false))
            .with_create_checkpoint(false);
        match self.table {
            None => {
                create_table(lake, &self.name, &self.dir, &self.schema, self.adds, props).await?;
            }
            Some(table) => {
                let snapshot = table
                    .snapshot()
                    .map_err(|e| delta_error(&self.dir, e))?
                    .snapshot();
                CommitBuilder::from(props)
                    .with_actions(self.adds.into_iter().map(Action::Add).collect())
                    .with_max_retries(opts.max_commit_attempts)
                    .build(
                        Some(snapshot as &dyn deltalake::kernel::transaction::TableReference),
                        table.log_store(),
                        DeltaOperation::Write {
                            mode: SaveMode::Append,
                            partition_by: None,
                            predicate: None,
                        },
                    )
                    .await
                    .map_err(|e| delta_error(&self.dir, e.into()))?;
            }
        }
        Ok(())
    }
}

/// The rows a write put in `adds` (files of table folder `dir`, not yet committed), as a table.
async fn written(
    lake: &Lake,
    dir: &str,
    schema: &SchemaRef,
    adds: &[Add],
) -> Result<Arc<dyn datafusion::datasource::TableProvider>> {
    let base = table_url(lake.store(), dir)?;
    let mut urls = Vec::with_capacity(adds.len());
    for add in adds {
        let url = base
            .join(&add.path)
            .map_err(|e| CatalogError::Value(e.to_string()))?;
        urls.push(ListingTableUrl::parse(url.as_str())?);
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema.clone());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// Deletes the files of a refused write (best effort: what is left is never committed, and
/// VACUUM removes it).
async fn delete_files(lake: &Lake, files: &[(String, Vec<Add>)]) {
    for (dir, adds) in files {
        for add in adds {
            let decoded = crate::listing::percent_decode(&add.path);
            let _ = lake
                .store()
                .store
                .delete(&lake.store().child(&format!("{dir}/{decoded}")))
                .await;
        }
    }
}
