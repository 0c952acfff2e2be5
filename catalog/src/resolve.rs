//! Resolving a discovered table: formats checked, file schemas read and merged by column name,
//! partition values typed, the ingestion-time source chosen and every file's ingestion time
//! bounds worked out (SPEC §1, §3).
use crate::config::{IngestedAtConfig, Mode, TableConfig};
use crate::error::{CatalogError, Result};
use crate::format::{self, Detected, Kind};
use crate::listing::{DiscoveredTable, LakeFile};
use crate::TableName;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Name of the ingestion-time column Strata adds when the files carry none.
pub const INGESTED_AT: &str = "_ingested_at";
/// Partition names taken as the ingestion time when nothing is configured, in preference order.
const INGEST_PARTITIONS: &[&str] = &[
    "_ingested_at",
    "ingested_at",
    "ingest_ts",
    "ingest_date",
    "dt",
];

/// The timestamp type of ingestion times: microseconds, UTC.
pub fn ingest_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Where a table's ingestion time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestSource {
    /// A column inside the files: varies per row.
    Column(String),
    /// A `key=value` partition folder: constant per file.
    Partition(String),
    /// Kafka Connect `year=/month=/day=/hour=` folders.
    KafkaConnect,
    /// The object's last-modified time.
    FileModified,
}

impl std::fmt::Display for IngestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestSource::Column(c) => write!(f, "column {c}"),
            IngestSource::Partition(p) => write!(f, "partition:{p}"),
            IngestSource::KafkaConnect => f.write_str("partitions year/month/day/hour"),
            IngestSource::FileModified => f.write_str("file_modified"),
        }
    }
}

/// What Strata learnt from reading one file's header or footer; cached across refreshes by
/// location, size and modification time.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub kind: Kind,
    pub compression: FileCompressionType,
    pub schema: SchemaRef,
}

pub type FileInfoCache = Mutex<HashMap<(String, u64, i64), FileInfo>>;

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

/// Resolves `table`. `ctx` is the lake's internal context (object store registered).
pub async fn resolve(
    ctx: &SessionContext,
    store: &Arc<dyn ObjectStore>,
    cache: &FileInfoCache,
    table: &DiscoveredTable,
    config: Option<&TableConfig>,
) -> Result<ResolvedTable> {
    use futures::{StreamExt, TryStreamExt};
    let name = &table.name;
    let config = config.cloned().unwrap_or_default();
    let configured_kind = config.format.as_deref().and_then(Kind::from_setting);
    if table.files.is_empty() {
        return Err(err(name, format!("no data files under '{}'", table.dir)));
    }

    // Read every file's schema (cached), several at a time: a footer read each on object stores.
    let state = ctx.state();
    let reads: Vec<_> = table
        .files
        .iter()
        .map(|f| file_info(&state, store, cache, name, f, configured_kind))
        .collect();
    let infos: Vec<FileInfo> = futures::stream::iter(reads)
        .buffered(16)
        .try_collect()
        .await?;

    // One format per table (compression may vary).
    let kind = infos[0].kind;
    if let Some((i, other)) = infos.iter().enumerate().find(|(_, i)| i.kind != kind) {
        return Err(err(
            name,
            format!(
                "mixes formats: '{}' is {} but '{}' is {}; set `format` in strata.toml or move one",
                table.files[0].rel,
                kind.name(),
                table.files[i].rel,
                other.kind.name()
            ),
        ));
    }
    let file_schema = merge_schemas(name, &table.files, &infos)?;

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
    let part_types: Vec<DataType> = part_names
        .iter()
        .map(|k| infer_partition_type(table.files.iter().filter_map(|f| partition_value(f, k))))
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
    for ((f, info), group) in table.files.iter().zip(&infos).zip(group_of) {
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
        });
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
        store_url: datafusion::execution::object_store::ObjectStoreUrl::local_filesystem(),
    };
    if kind == Kind::Parquet {
        add_parquet_statistics(&state, store, &mut resolved).await?;
    }
    Ok(resolved)
}

fn column_list(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn file_info(
    state: &datafusion::execution::SessionState,
    store: &Arc<dyn ObjectStore>,
    cache: &FileInfoCache,
    table: &TableName,
    file: &LakeFile,
    configured: Option<Kind>,
) -> Result<FileInfo> {
    let key = (
        file.meta.location.to_string(),
        file.meta.size,
        file.meta.last_modified.timestamp_micros(),
    );
    if let Some(hit) = cache.lock().expect("file cache lock").get(&key) {
        return Ok(hit.clone());
    }
    let file_name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    let (kind, compression) = match (format::detect(file_name), configured) {
        (Detected::Known(_, c), Some(k)) | (Detected::Unknown(c), Some(k)) => (k, c),
        (Detected::Known(k, c), None) => (k, c),
        (Detected::Unknown(c), None) => {
            let end = file.meta.size.min(64);
            let head = store
                .get_range(&file.meta.location, 0..end)
                .await
                .map_err(|e| err(table, format!("cannot read '{}': {e}", file.rel)))?;
            (format::sniff(&head), c)
        }
    };
    let footer_schema = match kind {
        Kind::Arrow => arrow_footer_schema(store, &file.meta).await,
        _ => None,
    };
    let format = format::file_format(state, kind, compression);
    let inferred = match footer_schema {
        Some(schema) => Ok(schema),
        None => {
            format
                .infer_schema(state, store, std::slice::from_ref(&file.meta))
                .await
        }
    };
    let schema = inferred.map_err(|e| {
        err(
            table,
            format!("cannot read '{}' as {}: {e}", file.rel, kind.name()),
        )
    })?;
    let info = FileInfo {
        kind,
        compression,
        schema,
    };
    cache
        .lock()
        .expect("file cache lock")
        .insert(key, info.clone());
    Ok(info)
}

/// The schema of an Arrow IPC file from its footer, read with two ranged requests. DataFusion
/// reads IPC schemas from the start of remote files and fails on the 64-byte-aligned header
/// arrow-rs writes by default (arrow-rs#6311); the footer is the same for every writer. None for
/// IPC streams (no footer) and anything unreadable, which then takes DataFusion's way.
async fn arrow_footer_schema(store: &Arc<dyn ObjectStore>, meta: &ObjectMeta) -> Option<SchemaRef> {
    use datafusion::arrow::ipc;
    let size = meta.size;
    if size < 16 {
        return None;
    }
    let tail = store
        .get_range(&meta.location, size - 10..size)
        .await
        .ok()?;
    let len = ipc::reader::read_footer_length(tail.as_ref().try_into().ok()?).ok()? as u64;
    if len + 10 > size {
        return None;
    }
    let footer = store
        .get_range(&meta.location, size - 10 - len..size - 10)
        .await
        .ok()?;
    let footer = ipc::root_as_footer(&footer).ok()?;
    Some(Arc::new(ipc::convert::fb_to_schema(footer.schema()?)))
}

/// Union by column name, in order of first appearance; compatible types widen, others are an
/// error naming both files and the column.
fn merge_schemas(table: &TableName, files: &[LakeFile], infos: &[FileInfo]) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = vec![];
    let mut first_seen: Vec<usize> = vec![];
    for (i, info) in infos.iter().enumerate() {
        for f in info.schema.fields() {
            match fields.iter().position(|e| e.name() == f.name()) {
                None => {
                    fields.push(f.as_ref().clone().with_nullable(true));
                    first_seen.push(i);
                }
                Some(j) => {
                    let merged = merge_type(fields[j].data_type(), f.data_type()).ok_or_else(|| {
                        err(
                            table,
                            format!(
                                "incompatible type change of column '{}': {} in '{}' but {} in '{}'",
                                f.name(),
                                fields[j].data_type(),
                                files[first_seen[j]].rel,
                                f.data_type(),
                                files[i].rel
                            ),
                        )
                    })?;
                    fields[j] = Field::new(f.name(), merged, true);
                }
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The type two files' versions of a column are read as, or None when they conflict.
pub fn merge_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    let int_rank = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    let is_float = |t: &DataType| matches!(t, Float16 | Float32 | Float64);
    let is_str = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    Some(match (a, b) {
        (Null, t) | (t, Null) => t.clone(),
        _ if int_rank(a).is_some() && int_rank(b).is_some() => {
            if int_rank(a) > int_rank(b) {
                a.clone()
            } else {
                b.clone()
            }
        }
        _ if (is_float(a) || int_rank(a).is_some()) && (is_float(b) || int_rank(b).is_some()) => {
            Float64
        }
        _ if is_str(a) && is_str(b) => a.clone(),
        (Timestamp(u1, tz1), Timestamp(u2, tz2)) if tz1.is_some() == tz2.is_some() => {
            let finer = if matches!(u1, TimeUnit::Nanosecond) || matches!(u2, TimeUnit::Nanosecond)
            {
                TimeUnit::Nanosecond
            } else {
                TimeUnit::Microsecond
            };
            Timestamp(finer, tz1.clone())
        }
        _ => return None,
    })
}

fn partition_value<'a>(f: &'a LakeFile, key: &str) -> Option<&'a str> {
    f.partitions
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| *v != "__HIVE_DEFAULT_PARTITION__")
}

/// Types partition values sensibly: integers, dates, timestamps, else text.
pub fn infer_partition_type<'a>(values: impl Iterator<Item = &'a str> + Clone) -> DataType {
    if values.clone().all(|v| v.parse::<i64>().is_ok()) && values.clone().next().is_some() {
        DataType::Int64
    } else if values
        .clone()
        .all(|v| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok())
        && values.clone().next().is_some()
    {
        DataType::Date32
    } else if values
        .clone()
        .all(|v| v.len() > 10 && crate::time::parse_timestamp(v).is_ok())
        && values.clone().next().is_some()
    {
        ingest_type()
    } else {
        DataType::Utf8
    }
}

fn typed_value(v: Option<&str>, t: &DataType) -> ScalarValue {
    let Some(v) = v else {
        return ScalarValue::try_from(t).unwrap_or(ScalarValue::Null);
    };
    match t {
        DataType::Int64 => ScalarValue::Int64(v.parse().ok()),
        DataType::Date32 => ScalarValue::Date32(
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .map(|d| {
                    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
                        as i32
                }),
        ),
        DataType::Timestamp(..) => ScalarValue::TimestampMicrosecond(
            crate::time::parse_timestamp(v)
                .ok()
                .map(|t| t.timestamp_micros()),
            Some("UTC".into()),
        ),
        _ => ScalarValue::Utf8(Some(v.to_string())),
    }
}

fn choose_ingest(
    table: &TableName,
    config: &TableConfig,
    file_schema: &Schema,
    parts: &[String],
) -> Result<IngestSource> {
    let has_part = |p: &str| parts.iter().any(|x| x == p);
    match &config.ingested_at {
        Some(IngestedAtConfig::Column(c)) => {
            if file_schema.field_with_name(c).is_ok() {
                Ok(IngestSource::Column(c.clone()))
            } else if has_part(c) {
                Ok(IngestSource::Partition(c.clone()))
            } else {
                Err(err(
                    table,
                    format!("ingested_at column '{c}' (strata.toml line {}) does not exist; columns are: {}", config.line, column_list(file_schema)),
                ))
            }
        }
        Some(IngestedAtConfig::Partition(p)) => {
            if has_part(p) {
                Ok(IngestSource::Partition(p.clone()))
            } else {
                Err(err(table, format!("ingested_at partition '{p}' (strata.toml line {}) is not a partition folder of this table", config.line)))
            }
        }
        Some(IngestedAtConfig::FileModified) => Ok(IngestSource::FileModified),
        None => {
            if file_schema.field_with_name(INGESTED_AT).is_ok() {
                Ok(IngestSource::Column(INGESTED_AT.into()))
            } else if let Some(p) = INGEST_PARTITIONS.iter().find(|p| has_part(p)) {
                Ok(IngestSource::Partition(p.to_string()))
            } else if has_part("year") && has_part("month") && has_part("day") {
                Ok(IngestSource::KafkaConnect)
            } else {
                Ok(IngestSource::FileModified)
            }
        }
    }
}

/// A file's ingestion time in µs when it is constant per file; None for per-row columns.
fn file_ingest_time(table: &TableName, f: &LakeFile, source: &IngestSource) -> Result<Option<i64>> {
    let bad = |what: &str, v: &str| {
        err(
            table,
            format!("file '{}': {what} '{v}' is not a date or timestamp", f.rel),
        )
    };
    Ok(match source {
        IngestSource::Column(_) => None,
        IngestSource::FileModified => Some(f.meta.last_modified.timestamp_micros()),
        IngestSource::Partition(p) => match partition_value(f, p) {
            None => {
                return Err(err(
                    table,
                    format!(
                        "file '{}' has no '{p}=' partition folder to take its ingestion time from",
                        f.rel
                    ),
                ))
            }
            Some(v) => Some(
                crate::time::parse_timestamp(v)
                    .map_err(|_| bad(p, v))?
                    .timestamp_micros(),
            ),
        },
        IngestSource::KafkaConnect => {
            let num = |k: &str, default: Option<u32>| -> Result<u32> {
                match partition_value(f, k) {
                    Some(v) => v.parse().map_err(|_| bad(k, v)),
                    None => default.ok_or_else(|| {
                        err(table, format!("file '{}' lacks the '{k}=' folder", f.rel))
                    }),
                }
            };
            let (y, m, d, h) = (
                num("year", None)?,
                num("month", None)?,
                num("day", None)?,
                num("hour", Some(0))?,
            );
            let t = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .ok_or_else(|| bad("year/month/day/hour", &format!("{y}-{m}-{d} {h}")))?;
            Some(t.and_utc().timestamp_micros())
        }
    })
}

/// Row counts and, for a per-row ingestion column, its min/max per file from Parquet footers
/// (the footers are in DataFusion's metadata cache after schema inference).
async fn add_parquet_statistics(
    state: &datafusion::execution::SessionState,
    store: &Arc<dyn ObjectStore>,
    table: &mut ResolvedTable,
) -> Result<()> {
    use datafusion::common::stats::Precision;
    let format = format::file_format(state, Kind::Parquet, FileCompressionType::UNCOMPRESSED);
    let ingest_idx = match &table.ingest {
        IngestSource::Column(c) => table.file_schema.index_of(c).ok(),
        _ => None,
    };
    for f in &mut table.files {
        let stats = format
            .infer_stats(state, store, table.file_schema.clone(), &f.meta)
            .await?;
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
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_types() {
        assert_eq!(
            infer_partition_type(["2026", "01"].into_iter()),
            DataType::Int64
        );
        assert_eq!(
            infer_partition_type(["2026-01-01", "2026-01-02"].into_iter()),
            DataType::Date32
        );
        assert_eq!(
            infer_partition_type(["2026-01-01 10:00:00"].into_iter()),
            ingest_type()
        );
        assert_eq!(
            infer_partition_type(["2026-01-01", "eu"].into_iter()),
            DataType::Utf8
        );
    }

    #[test]
    fn type_merging() {
        use DataType::*;
        assert_eq!(merge_type(&Int32, &Int64), Some(Int64));
        assert_eq!(merge_type(&Int64, &Float32), Some(Float64));
        assert_eq!(merge_type(&Null, &Utf8), Some(Utf8));
        assert_eq!(merge_type(&Int64, &Utf8), None);
        assert_eq!(merge_type(&Date32, &Boolean), None);
    }
}
