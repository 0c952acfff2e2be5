//! Resolving a discovered table: formats checked, file schemas read and merged by column name,
//! partition values typed, the ingestion-time source chosen and every file's ingestion time
//! bounds worked out (docs/lake.md, docs/tables.md#ingestion-time).
use crate::config::{IngestedAtConfig, Mode, TableConfig};
use crate::delta::DeltaFiles;
use crate::error::{full_path, read_failure, CatalogError, FileErrorKind, Result};
use crate::format::{self, Detected, Kind};
use crate::listing::{DiscoveredTable, LakeFile};
use crate::TableName;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod ingest;
mod schema;

use ingest::{choose_ingest, file_ingest_time, partition_value, typed_value};
pub use ingest::{infer_partition_type, ingest_type, IngestSource, INGESTED_AT};
use schema::{file_info, merge_schemas};
pub use schema::{merge_type, FileInfo, FileInfoCache};

/// One file, ready to scan.
#[derive(Debug, Clone)]
pub struct ResolvedFile {
    pub meta: ObjectMeta,
    pub rel: String,
    pub compression: FileCompressionType,
    /// Index into [`ResolvedTable::groups`]: files read with the same file schema.
    pub group: usize,
    /// Values of [`ResolvedTable::partition_fields`] for this file.
    pub partition_values: Vec<ScalarValue>,
    /// Ingestion time bounds in µs since the epoch, when known without reading rows.
    pub ingest_min: Option<i64>,
    pub ingest_max: Option<i64>,
    pub rows: Option<usize>,
    /// Parquet footer statistics over [`ResolvedTable::file_schema`]'s columns, for the
    /// optimiser (join order and sides, aggregate shortcuts).
    pub statistics: Option<Arc<datafusion::common::Statistics>>,
    /// For a Delta table's file, when its commit was written (µs): time travel to before it
    /// does not see the file. None: always there (plain files, converted Delta files).
    pub committed_at: Option<i64>,
    /// For a Delta table's file, when the commit that removed it was written: only time travel
    /// to before it sees the file. None: in the newest version.
    pub removed_at: Option<i64>,
}

impl ResolvedFile {
    /// True when the file belongs to the table as of `as_of` (µs; None = now), by the commits
    /// that added and removed it. Rows in it still need their ingestion time checked.
    pub fn visible_at(&self, as_of: Option<i64>) -> bool {
        match as_of {
            None => self.removed_at.is_none(),
            Some(t) => {
                self.committed_at.is_none_or(|c| c <= t) && self.removed_at.is_none_or(|r| r > t)
            }
        }
    }
}

/// A table resolved against its current files.
#[derive(Debug, Clone)]
pub struct ResolvedTable {
    pub name: TableName,
    pub mode: Mode,
    pub key: Vec<String>,
    pub config: TableConfig,
    pub kind: Kind,
    /// Columns read from files (union by name).
    pub file_schema: SchemaRef,
    /// Partition columns, then `_ingested_at` when Strata adds it.
    pub partition_fields: Vec<FieldRef>,
    /// `file_schema` followed by `partition_fields`: what queries see.
    pub schema: SchemaRef,
    /// Per group, the file schema its files are read with (positional formats group by header).
    pub groups: Vec<SchemaRef>,
    pub files: Vec<ResolvedFile>,
    pub ingest: IngestSource,
    /// The column of `schema` holding the ingestion time.
    pub ingest_column: String,
    pub deleted_when: Option<Expr>,
    /// The object store the files live in, as registered with DataFusion.
    pub store_url: datafusion::execution::object_store::ObjectStoreUrl,
}

impl ResolvedTable {
    /// The ingestion time of a row as a timestamptz expression.
    pub fn ingest_expr(&self) -> Expr {
        let c =
            datafusion::prelude::col(datafusion::common::Column::from_name(&self.ingest_column));
        match self
            .schema
            .field_with_name(&self.ingest_column)
            .map(|f| f.data_type().clone())
        {
            Ok(DataType::Timestamp(_, Some(_))) => c,
            _ => datafusion::prelude::cast(c, ingest_type()),
        }
    }

    /// True when the ingestion time is constant per file, so pruning files by it is exact.
    pub fn ingest_per_file(&self) -> bool {
        !matches!(self.ingest, IngestSource::Column(_))
    }
}

fn err(table: &TableName, message: impl Into<String>) -> CatalogError {
    CatalogError::table(table, message)
}

/// Resolves `table`. `ctx` is the lake's internal context (object store registered); `url`
/// is the store's, for the table's scans and for naming files in full in errors.
pub async fn resolve(
    ctx: &SessionContext,
    store: &Arc<dyn ObjectStore>,
    url: &ObjectStoreUrl,
    cache: &FileInfoCache,
    table: &DiscoveredTable,
    config: Option<&TableConfig>,
    delta: Option<&DeltaFiles>,
) -> Result<ResolvedTable> {
    use futures::{StreamExt, TryStreamExt};
    let name = &table.name;
    let config = config.cloned().unwrap_or_default();
    let configured_kind = config.format.as_deref().and_then(Kind::from_setting);
    if table.files.is_empty() && delta.is_none() {
        return Err(err(name, format!("no data files under '{}'", table.dir)));
    }

    // A Delta table's schema is the one its log declares and its files are Parquet, read into
    // it: no file needs opening for that. Other tables read every file's schema (cached),
    // several at a time: a footer read each on object stores.
    let state = ctx.state();
    let (infos, file_schema) = match delta {
        Some(d) => {
            let schema = delta_file_schema(&state, d);
            let info = FileInfo {
                kind: Kind::Parquet,
                compression: FileCompressionType::UNCOMPRESSED,
                schema: schema.clone(),
            };
            (vec![info; table.files.len()], schema)
        }
        None => {
            let reads: Vec<_> = table
                .files
                .iter()
                .map(|f| file_info(&state, store, url, cache, name, f, configured_kind))
                .collect();
            let infos: Vec<FileInfo> = futures::stream::iter(reads)
                .buffered(16)
                .try_collect()
                .await?;
            let schema = merge_schemas(name, url, &table.files, &infos)?;
            (infos, schema)
        }
    };

    // One format per table (compression may vary). A Delta table is Parquet, even empty.
    let kind = infos.first().map_or(Kind::Parquet, |i| i.kind);
    if let Some((i, other)) = infos.iter().enumerate().find(|(_, i)| i.kind != kind) {
        return Err(CatalogError::file(
            name,
            full_path(url, &table.files[i].meta.location),
            FileErrorKind::Schema,
            format!(
                "incompatible schema: it is {} but '{}' is {}; a table has one format (set `format` in strata.toml or move one)",
                other.kind.name(),
                full_path(url, &table.files[0].meta.location),
                kind.name(),
            ),
        ));
    }

    // Positional formats read each distinct header as its own group; others share one schema.
    let mut groups: Vec<SchemaRef> = vec![];
    let group_of: Vec<usize> = infos
        .iter()
        .map(|info| {
            let s = if kind.positional() {
                info.schema.clone()
            } else {
                file_schema.clone()
            };
            groups.iter().position(|g| g == &s).unwrap_or_else(|| {
                groups.push(s);
                groups.len() - 1
            })
        })
        .collect();

    // Partition columns: union of keys in order of appearance; a key the files also hold as a
    // column is read from the files.
    let mut part_names: Vec<String> = vec![];
    for f in &table.files {
        for (k, _) in &f.partitions {
            if !part_names.contains(k) && file_schema.field_with_name(k).is_err() {
                part_names.push(k.clone());
            }
        }
    }
    if let Some(d) = delta {
        part_names = d.partition_columns.clone();
    }
    let part_types: Vec<DataType> = part_names
        .iter()
        .map(
            |k| match delta.and_then(|d| d.schema.field_with_name(k).ok()) {
                Some(declared) => declared.data_type().clone(),
                None => {
                    infer_partition_type(table.files.iter().filter_map(|f| partition_value(f, k)))
                }
            },
        )
        .collect();

    let ingest = choose_ingest(name, &config, &file_schema, &part_names)?;
    // Strata's own `_ingested_at` column, unless the files or a partition already provide it.
    let ingest_column = match &ingest {
        IngestSource::Column(c) => c.clone(),
        _ => INGESTED_AT.to_string(),
    };
    let adds_column =
        !matches!(ingest, IngestSource::Column(_)) && !part_names.iter().any(|p| p == INGESTED_AT);
    let mut partition_fields: Vec<FieldRef> = part_names
        .iter()
        .zip(&part_types)
        .map(|(n, t)| {
            let t = if n == INGESTED_AT {
                ingest_type()
            } else {
                t.clone()
            };
            Arc::new(Field::new(n, t, true))
        })
        .collect();
    if adds_column {
        partition_fields.push(Arc::new(Field::new(INGESTED_AT, ingest_type(), false)));
    }

    let mut files = Vec::with_capacity(table.files.len());
    for (i, ((f, info), group)) in table.files.iter().zip(&infos).zip(group_of).enumerate() {
        let lifetime = delta.map(|d| (d.files[i].committed_at, d.files[i].removed_at));
        let ingest_at = file_ingest_time(name, f, &ingest)?;
        let mut values = Vec::with_capacity(partition_fields.len());
        for (n, t) in part_names.iter().zip(&part_types) {
            values.push(if n == INGESTED_AT {
                ScalarValue::TimestampMicrosecond(ingest_at, Some("UTC".into()))
            } else {
                typed_value(partition_value(f, n), t)
            });
        }
        if adds_column {
            values.push(ScalarValue::TimestampMicrosecond(
                ingest_at,
                Some("UTC".into()),
            ));
        }
        files.push(ResolvedFile {
            meta: f.meta.clone(),
            rel: f.rel.clone(),
            compression: info.compression,
            group,
            partition_values: values,
            ingest_min: ingest_at,
            ingest_max: ingest_at,
            rows: None,
            statistics: None,
            committed_at: lifetime.and_then(|l| l.0),
            removed_at: lifetime.and_then(|l| l.1),
        });
    }

    // A partition column is nullable only when a file's value is NULL: scans produce batches with
    // non-null partition columns otherwise, and a plan must declare what its batches hold (a
    // cluster's shuffle writer checks it; docs/cluster.md).
    for (i, field) in partition_fields.iter_mut().enumerate() {
        let nullable = files.iter().any(|f| f.partition_values[i].is_null());
        if field.is_nullable() != nullable {
            *field = Arc::new(field.as_ref().clone().with_nullable(nullable));
        }
    }
    let mut fields: Vec<FieldRef> = file_schema.fields().iter().cloned().collect();
    fields.extend(partition_fields.iter().cloned());
    let schema = Arc::new(Schema::new(fields));

    let mode = config.mode();
    for k in &config.key {
        if schema.field_with_name(k).is_err() {
            return Err(err(
                name,
                format!(
                    "key column '{k}' (strata.toml line {}) does not exist; columns are: {}",
                    config.line,
                    column_list(&schema)
                ),
            ));
        }
    }
    let deleted_when = match &config.deleted_when {
        None => None,
        Some(sql) => {
            let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
            Some(ctx.parse_sql_expr(sql, &df_schema).map_err(|e| {
                err(
                    name,
                    format!(
                        "deleted_when = \"{sql}\" (strata.toml line {}): {e}",
                        config.line
                    ),
                )
            })?)
        }
    };

    let mut resolved = ResolvedTable {
        name: name.clone(),
        mode,
        key: config.key.clone(),
        config,
        kind,
        file_schema,
        partition_fields,
        schema,
        groups,
        files,
        ingest,
        ingest_column,
        deleted_when,
        store_url: url.clone(),
    };
    if kind == Kind::Parquet {
        add_parquet_statistics(&state, store, &mut resolved, delta).await?;
    }
    Ok(resolved)
}

pub(crate) fn column_list(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns a Delta table's files hold, typed as DataFusion reads Parquet: strings and
/// binaries as view types when `schema_force_view_types` is on (its default), as a plain
/// Parquet table gets them. Reading them as the log's `string` would copy every value and
/// compare them more slowly (docs/delta.md#which-folders-are-delta-tables).
fn delta_file_schema(state: &datafusion::execution::SessionState, d: &DeltaFiles) -> SchemaRef {
    let views = state
        .config()
        .options()
        .execution
        .parquet
        .schema_force_view_types;
    let fields: Vec<FieldRef> = d
        .schema
        .fields()
        .iter()
        .filter(|f| !d.partition_columns.contains(f.name()))
        .cloned()
        .collect();
    let schema = Schema::new(fields);
    match views {
        // DataFusion's own mapping, the one its Parquet reader applies to file schemas.
        true => Arc::new(
            datafusion::datasource::physical_plan::parquet::transform_schema_to_view(&schema),
        ),
        false => Arc::new(schema),
    }
}

/// Statistics, row counts and, for a per-row ingestion column, its min/max per file from Parquet
/// footers, several read at a time. A file a Delta commit removed gets its row count and
/// ingestion bounds from the statistics the log recorded for it instead: only time travel
/// reads it, and a table rewritten by OPTIMIZE has thousands (docs/delta.md#time-travel).
async fn add_parquet_statistics(
    state: &datafusion::execution::SessionState,
    store: &Arc<dyn ObjectStore>,
    table: &mut ResolvedTable,
    delta: Option<&DeltaFiles>,
) -> Result<()> {
    use datafusion::common::stats::Precision;
    use futures::{StreamExt, TryStreamExt};
    let format = format::file_format(
        state,
        Kind::Parquet,
        FileCompressionType::UNCOMPRESSED,
        false,
    );
    let ingest_col = match &table.ingest {
        IngestSource::Column(c) => Some(c.clone()),
        _ => None,
    };
    let ingest_idx = ingest_col
        .as_deref()
        .and_then(|c| table.file_schema.index_of(c).ok());
    let mut footers = vec![];
    for (i, f) in table.files.iter_mut().enumerate() {
        let logged = delta
            .filter(|_| f.removed_at.is_some())
            .and_then(|d| d.files[i].log_stats(ingest_col.as_deref()))
            .filter(|s| ingest_idx.is_none() || s.ingest.is_some());
        match logged {
            Some(s) => {
                f.rows = Some(s.rows);
                if ingest_idx.is_some() {
                    (f.ingest_min, f.ingest_max) = s.ingest.unzip();
                }
                f.statistics = None;
            }
            None => footers.push(i),
        }
    }
    let file_schema = table.file_schema.clone();
    let reads: Vec<_> = footers
        .iter()
        .map(|&i| {
            let meta = table.files[i].meta.clone();
            let (format, schema) = (format.clone(), file_schema.clone());
            let (name, url) = (&table.name, &table.store_url);
            async move {
                format
                    .infer_stats(state, store, schema, &meta)
                    .await
                    .map_err(|e| {
                        let path = full_path(url, &meta.location);
                        CatalogError::file(name, path, FileErrorKind::of(&e), read_failure(&e))
                    })
            }
        })
        .collect();
    let stats: Vec<_> = futures::stream::iter(reads)
        .buffered(16)
        .try_collect()
        .await?;
    for (i, stats) in footers.into_iter().zip(stats) {
        let f = &mut table.files[i];
        if let Precision::Exact(n) = stats.num_rows {
            f.rows = Some(n);
        }
        if let Some(i) = ingest_idx {
            let to_micros = |v: &Precision<ScalarValue>| -> Option<i64> {
                let v = v.get_value()?;
                match v.cast_to(&ingest_type()).ok()? {
                    ScalarValue::TimestampMicrosecond(m, _) => m,
                    _ => None,
                }
            };
            let cs = &stats.column_statistics[i];
            f.ingest_min = to_micros(&cs.min_value);
            f.ingest_max = to_micros(&cs.max_value);
        }
        f.statistics = Some(Arc::new(stats));
    }
    Ok(())
}
