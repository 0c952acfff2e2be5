//! `strata.tables`: one row per lake table with its mode, key, ingestion-time source, format,
//! size and ingestion-time range (docs/metadata.md#the-metadata-table), computed from the
//! listing when queried, for the zones the querying session can read.
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
use std::sync::Arc;

#[derive(Debug)]
pub struct MetaTable {
    lake: Arc<Lake>,
    schema: SchemaRef,
}

impl MetaTable {
    pub fn new(lake: Arc<Lake>) -> Self {
        let ts = crate::resolve::ingest_type();
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let i = |n: &str| Field::new(n, DataType::Int64, true);
        let schema = Schema::new(vec![
            Field::new("zone", DataType::Utf8, false),
            Field::new("schema", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            s("mode"),
            s("key"),
            s("ingested_at_source"),
            s("format"),
            i("files"),
            i("bytes"),
            i("rows"),
            Field::new("oldest", ts.clone(), true),
            Field::new("newest", ts, true),
            s("description"),
            s("tags"),
            s("path"),
            s("error"),
        ]);
        MetaTable {
            lake,
            schema: Arc::new(schema),
        }
    }

    /// The rows of the tables in `zones` (every zone when None).
    async fn batch(&self, zones: Option<&[String]>) -> Result<RecordBatch> {
        let listing = self.lake.listing();
        let n = listing.tables.len();
        let mut zone = StringBuilder::new();
        let mut schema = StringBuilder::new();
        let mut name = StringBuilder::new();
        let mut mode = StringBuilder::new();
        let mut key = StringBuilder::new();
        let mut source = StringBuilder::new();
        let mut format = StringBuilder::new();
        let mut files = Int64Builder::with_capacity(n);
        let mut bytes = Int64Builder::with_capacity(n);
        let mut rows = Int64Builder::with_capacity(n);
        let mut oldest = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut newest = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut description = StringBuilder::new();
        let mut tags = StringBuilder::new();
        let mut path = StringBuilder::new();
        let mut error = StringBuilder::new();
        for (tn, discovered) in &listing.tables {
            if zones.is_some_and(|z| !z.contains(&tn.zone)) {
                continue;
            }
            let config = self
                .lake
                .config()
                .tables
                .get(&tn.to_string())
                .cloned()
                .unwrap_or_default();
            zone.append_value(&tn.zone);
            schema.append_value(&tn.schema);
            name.append_value(&tn.table);
            mode.append_value(config.mode().to_string());
            key.append_option((!config.key.is_empty()).then(|| config.key.join(", ")));
            // A Delta folder's count is what its newest version holds (known once resolved).
            if !discovered.is_delta() {
                files.append_value(discovered.files.len() as i64);
                bytes.append_value(discovered.files.iter().map(|f| f.meta.size as i64).sum());
            }
            description.append_option(config.description.as_deref());
            tags.append_option((!config.tags.is_empty()).then(|| config.tags.join(", ")));
            path.append_value(&discovered.dir);
            match self.lake.resolve(tn).await {
                Ok(t) => {
                    source.append_value(t.ingest.to_string());
                    format.append_value(match discovered.is_delta() {
                        true => "delta",
                        false => t.kind.name(),
                    });
                    let live = || t.files.iter().filter(|f| f.visible_at(None));
                    if discovered.is_delta() {
                        files.append_value(live().count() as i64);
                        bytes.append_value(live().map(|f| f.meta.size as i64).sum());
                    }
                    let all =
                        |f: fn(&crate::resolve::ResolvedFile) -> Option<i64>| -> Option<Vec<i64>> {
                            live().map(f).collect()
                        };
                    rows.append_option(all(|f| f.rows.map(|r| r as i64)).map(|v| v.iter().sum()));
                    oldest.append_option(all(|f| f.ingest_min).and_then(|v| v.into_iter().min()));
                    newest.append_option(all(|f| f.ingest_max).and_then(|v| v.into_iter().max()));
                    error.append_null();
                }
                Err(e) => {
                    if discovered.is_delta() {
                        files.append_null();
                        bytes.append_null();
                    }
                    source.append_null();
                    format.append_null();
                    rows.append_null();
                    oldest.append_null();
                    newest.append_null();
                    error.append_value(e.to_string());
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(zone.finish()),
            Arc::new(schema.finish()),
            Arc::new(name.finish()),
            Arc::new(mode.finish()),
            Arc::new(key.finish()),
            Arc::new(source.finish()),
            Arc::new(format.finish()),
            Arc::new(files.finish()),
            Arc::new(bytes.finish()),
            Arc::new(rows.finish()),
            Arc::new(oldest.finish()),
            Arc::new(newest.finish()),
            Arc::new(description.finish()),
            Arc::new(tags.finish()),
            Arc::new(path.finish()),
            Arc::new(error.finish()),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

#[async_trait]
impl TableProvider for MetaTable {
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
        let zones = readable_zones(state);
        let batch = self.batch(zones.as_deref()).await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

/// The zones `state` can read, for Strata's metadata tables: a session sees the zones it has as
/// catalogs (a server user's readable zones only), so the tables of the others (names, folders,
/// errors, commits) appear nowhere. None when the session is not a DataFusion `SessionState`.
pub(crate) fn readable_zones(state: &dyn Session) -> Option<Vec<String>> {
    state
        .as_any()
        .downcast_ref::<datafusion::execution::session_state::SessionState>()
        .map(|s| s.catalog_list().catalog_names())
}
