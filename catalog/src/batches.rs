//! `strata.batches`: one row per commit of every Delta table (docs/delta.md#strata-batches):
//! when it was committed, what it did, how many rows and files it added or removed, who made
//! it and from what. Read from the commits deltalake parses, when queried.
use crate::delta::files::{read_commits, Commit};
use crate::delta::write::{INFO_INGESTED_AT, INFO_SOURCE, INFO_USER};
use crate::lake::Lake;
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use deltalake::kernel::Action;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug)]
pub struct BatchesTable {
    lake: Arc<Lake>,
    schema: SchemaRef,
}

impl BatchesTable {
    pub fn new(lake: Arc<Lake>) -> Self {
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let i = |n: &str| Field::new(n, DataType::Int64, true);
        let schema = Schema::new(vec![
            Field::new("zone", DataType::Utf8, false),
            Field::new("schema", DataType::Utf8, false),
            Field::new("table", DataType::Utf8, false),
            Field::new("version", DataType::Int64, false),
            Field::new("committed_at", crate::resolve::ingest_type(), false),
            s("operation"),
            i("rows_added"),
            i("rows_removed"),
            i("files_added"),
            i("files_removed"),
            i("bytes_added"),
            s("user"),
            s("source"),
            Field::new("ingested_at", crate::resolve::ingest_type(), true),
            s("checks"),
        ]);
        BatchesTable {
            lake,
            schema: Arc::new(schema),
        }
    }

    /// The commits of the Delta tables in `zones` (every zone when None).
    async fn batch(&self, zones: Option<&[String]>) -> Result<RecordBatch> {
        let listing = self.lake.listing();
        let mut zone = StringBuilder::new();
        let mut schema = StringBuilder::new();
        let mut table = StringBuilder::new();
        let mut version = Int64Builder::new();
        let mut committed = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        let mut operation = StringBuilder::new();
        let mut rows_added = Int64Builder::new();
        let mut rows_removed = Int64Builder::new();
        let mut files_added = Int64Builder::new();
        let mut files_removed = Int64Builder::new();
        let mut bytes_added = Int64Builder::new();
        let mut user = StringBuilder::new();
        let mut source = StringBuilder::new();
        let mut stamp = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        let mut checks = StringBuilder::new();
        for (name, discovered) in &listing.tables {
            let Some(log) = &discovered.delta_log else {
                continue;
            };
            if zones.is_some_and(|z| !z.contains(&name.zone)) {
                continue;
            }
            let commits = read_commits(
                self.lake.store(),
                &discovered.dir,
                log,
                i64::MAX,
                self.lake.log_cache(),
            )
            .await?;
            for c in commits {
                let s = summarize(&c);
                zone.append_value(&name.zone);
                schema.append_value(&name.schema);
                table.append_value(&name.table);
                version.append_value(c.version);
                committed.append_value(c.committed_at);
                operation.append_option(s.operation);
                rows_added.append_option(s.rows_added);
                rows_removed.append_option(s.rows_removed);
                files_added.append_value(s.files_added);
                files_removed.append_value(s.files_removed);
                bytes_added.append_value(s.bytes_added);
                user.append_option(s.user);
                source.append_option(s.source);
                stamp.append_option(s.ingested_at);
                checks.append_null();
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(zone.finish()),
            Arc::new(schema.finish()),
            Arc::new(table.finish()),
            Arc::new(version.finish()),
            Arc::new(committed.finish()),
            Arc::new(operation.finish()),
            Arc::new(rows_added.finish()),
            Arc::new(rows_removed.finish()),
            Arc::new(files_added.finish()),
            Arc::new(files_removed.finish()),
            Arc::new(bytes_added.finish()),
            Arc::new(user.finish()),
            Arc::new(source.finish()),
            Arc::new(stamp.finish()),
            Arc::new(checks.finish()),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// What one commit did, from its actions and commit info (also the anomaly watch's volume per
/// batch: `quality/watch.rs`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub operation: Option<String>,
    pub rows_added: Option<i64>,
    pub rows_removed: Option<i64>,
    pub files_added: i64,
    /// Files that carry new rows (`dataChange`), as opposed to rewritten ones.
    pub data_files_added: i64,
    pub files_removed: i64,
    pub bytes_added: i64,
    pub user: Option<String>,
    pub source: Option<String>,
    /// The `_ingested_at` Strata stamped on the batch's rows.
    pub ingested_at: Option<i64>,
}

pub(crate) fn summarize(c: &Commit) -> Summary {
    let mut s = Summary::default();
    let mut rows: Option<i64> = Some(0);
    let mut metrics: Option<&Value> = None;
    for a in c.actions.iter() {
        match a {
            Action::Add(add) => {
                s.files_added += 1;
                s.bytes_added += add.size;
                // Rewritten files (OPTIMIZE) carry no new rows.
                if add.data_change {
                    s.data_files_added += 1;
                    let n = add
                        .stats
                        .as_deref()
                        .and_then(|st| serde_json::from_str::<Value>(st).ok())
                        .and_then(|st| st["numRecords"].as_i64());
                    rows = rows.zip(n).map(|(a, b)| a + b);
                }
            }
            Action::Remove(_) => s.files_removed += 1,
            Action::CommitInfo(info) => {
                s.operation = info
                    .info
                    .get(crate::delta::maintain::INFO_OPERATION)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| info.operation.clone());
                s.user = info
                    .info
                    .get(INFO_USER)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| info.user_name.clone());
                s.source = info
                    .info
                    .get(INFO_SOURCE)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| info.engine_info.clone());
                s.ingested_at = info.info.get(INFO_INGESTED_AT).and_then(Value::as_i64);
                metrics = info.info.get("operationMetrics");
            }
            _ => {}
        }
    }
    let metric = |k: &str| -> Option<i64> {
        let v = metrics?.get(k)?;
        v.as_i64().or_else(|| v.as_str()?.parse().ok())
    };
    s.rows_added = metric("num_added_rows")
        .or(metric("numOutputRows"))
        .or(rows);
    s.rows_removed = metric("num_deleted_rows")
        .or(metric("numDeletedRows"))
        .or(Some(0));
    if matches!(s.operation.as_deref(), Some("OPTIMIZE")) {
        // Compaction moves rows between files; the table's rows do not change.
        s.rows_added = Some(0);
        s.rows_removed = Some(0);
    }
    s
}

#[async_trait]
impl TableProvider for BatchesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let zones = crate::meta::readable_zones(state);
        let batch = self.batch(zones.as_deref()).await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
