//! The scan of a table's every row: append tables, and the `_history` of keyed and snapshot
//! tables. Files are pruned by the as-of bound and ingestion-time filters before they are read.
use crate::options::StrataOptions;
use crate::resolve::{ingest_type, ResolvedFile, ResolvedTable};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{ColumnStatistics, DFSchema, Result, ScalarValue, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::{CastExpr, Column, Literal};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::lit;
use std::sync::Arc;

/// Every row of a table with ingestion time ≤ the as-of bound.
#[derive(Debug)]
pub struct HistoryTable {
    pub(crate) table: Arc<ResolvedTable>,
    /// A bound fixed by a `FOR SYSTEM_TIME AS OF` clause; otherwise the session's applies.
    pub(crate) as_of: Option<i64>,
}

impl HistoryTable {
    pub fn new(table: Arc<ResolvedTable>, as_of: Option<i64>) -> Self {
        HistoryTable { table, as_of }
    }

    pub fn resolved(&self) -> &Arc<ResolvedTable> {
        &self.table
    }

    /// The as-of bound in force for a scan in `state`.
    pub fn effective_as_of(&self, state: &dyn Session) -> Option<i64> {
        self.as_of
            .or_else(|| StrataOptions::as_of_from(state.config_options()))
    }
}

/// Ingestion-time bounds (µs, inclusive where known) that `filters` imply.
pub(crate) fn ingest_bounds(filters: &[Expr], ingest_col: &str) -> (Option<i64>, Option<i64>) {
    let (mut lo, mut hi) = (None::<i64>, None::<i64>);
    for f in filters {
        if let Some((op, micros)) = ingest_comparison(f, ingest_col) {
            match op {
                Operator::GtEq | Operator::Gt => lo = Some(lo.map_or(micros, |l| l.max(micros))),
                Operator::LtEq | Operator::Lt => hi = Some(hi.map_or(micros, |h| h.min(micros))),
                Operator::Eq => {
                    lo = Some(lo.map_or(micros, |l| l.max(micros)));
                    hi = Some(hi.map_or(micros, |h| h.min(micros)));
                }
                _ => {}
            }
        }
    }
    (lo, hi)
}

/// `ingest <op> literal` (either side) as (op with the column on the left, literal in µs).
pub(crate) fn ingest_comparison(f: &Expr, ingest_col: &str) -> Option<(Operator, i64)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = f else {
        return None;
    };
    let is_col = |e: &Expr| match e {
        Expr::Column(c) => c.name == ingest_col,
        Expr::Cast(c) => matches!(c.expr.as_ref(), Expr::Column(c) if c.name == ingest_col),
        Expr::TryCast(c) => matches!(c.expr.as_ref(), Expr::Column(c) if c.name == ingest_col),
        _ => false,
    };
    let micros = |e: &Expr| -> Option<i64> {
        let Expr::Literal(v, _) = e else { return None };
        let v = match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => {
                return crate::time::parse_timestamp(s)
                    .ok()
                    .map(|t| t.timestamp_micros())
            }
            other => other.cast_to(&ingest_type()).ok()?,
        };
        match v {
            ScalarValue::TimestampMicrosecond(m, _) => m,
            _ => None,
        }
    };
    let swap = |op: &Operator| match op {
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        o => *o,
    };
    if is_col(left) {
        Some((*op, micros(right)?))
    } else if is_col(right) {
        Some((swap(op), micros(left)?))
    } else {
        None
    }
}

/// Keeps the files whose partition values (folders, and Strata's per-file `_ingested_at`) can
/// satisfy the filters that use only those columns: the filters are evaluated once over a batch
/// with one row per file, so `WHERE dt = '2026-01-05'` opens only that day's files.
fn prune_by_partition_values<'a>(
    state: &dyn Session,
    t: &ResolvedTable,
    files: Vec<&'a ResolvedFile>,
    filters: &[Expr],
) -> Result<Vec<&'a ResolvedFile>> {
    use datafusion::arrow::array::{Array, RecordBatch};
    let names: Vec<&str> = t
        .partition_fields
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let applicable = filters.iter().filter(|f| {
        let cols = f.column_refs();
        !cols.is_empty()
            && cols.iter().all(|c| names.contains(&c.name.as_str()))
            && !f.is_volatile()
    });
    let Some(predicate) = applicable.cloned().reduce(Expr::and) else {
        return Ok(files);
    };
    if files.is_empty() {
        return Ok(files);
    }
    let schema = Arc::new(Schema::new(t.partition_fields.clone()));
    let columns = (0..names.len())
        .map(|i| ScalarValue::iter_to_array(files.iter().map(|f| f.partition_values[i].clone())))
        .collect::<Result<Vec<_>>>()?;
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let predicate =
        state.create_physical_expr(predicate, &DFSchema::try_from(schema.as_ref().clone())?)?;
    let keep = predicate.evaluate(&batch)?.into_array(files.len())?;
    let Some(keep) = keep
        .as_any()
        .downcast_ref::<datafusion::arrow::array::BooleanArray>()
    else {
        return Ok(files);
    };
    Ok(files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.is_valid(*i) && keep.value(*i))
        .map(|(_, f)| f)
        .collect())
}

/// A file's statistics (over the table's file schema) reordered to its group's file schema.
fn group_statistics(t: &ResolvedTable, group_schema: &Schema, stats: &Statistics) -> Statistics {
    let column_statistics = group_schema
        .fields()
        .iter()
        .map(|f| {
            t.file_schema
                .index_of(f.name())
                .ok()
                .and_then(|i| stats.column_statistics.get(i).cloned())
                .unwrap_or_else(ColumnStatistics::new_unknown)
        })
        .collect();
    Statistics {
        num_rows: stats.num_rows,
        total_byte_size: stats.total_byte_size,
        column_statistics,
    }
}

/// `key = literal` or `key IN (literals)` on a key column: a lookup that keeps few rows.
fn looks_up_keys(f: &Expr, key: &[String]) -> bool {
    let is_key = |e: &Expr| matches!(e, Expr::Column(c) if key.contains(&c.name));
    let is_lit = |e: &Expr| matches!(e, Expr::Literal(..));
    match f {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => (is_key(left) && is_lit(right)) || (is_lit(left) && is_key(right)),
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => looks_up_keys(left, key) || looks_up_keys(right, key),
        Expr::InList(l) => !l.negated && is_key(&l.expr) && l.list.iter().all(is_lit),
        _ => false,
    }
}

fn file_in_range(f: &ResolvedFile, lo: Option<i64>, hi: Option<i64>) -> bool {
    let starts_after = matches!((f.ingest_min, hi), (Some(min), Some(hi)) if min > hi);
    let ends_before = matches!((f.ingest_max, lo), (Some(max), Some(lo)) if max < lo);
    !starts_after && !ends_before
}

#[async_trait]
impl TableProvider for HistoryTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: files are pruned here and DataFusion pushes the filter into Parquet scans,
        // but the rows are still filtered above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let t = &self.table;
        let as_of = self.effective_as_of(state);
        let (lo, hi) = ingest_bounds(filters, &t.ingest_column);
        let hi = match (hi, as_of) {
            (Some(h), Some(a)) => Some(h.min(a)),
            (h, a) => h.or(a),
        };
        let files: Vec<&ResolvedFile> = t
            .files
            .iter()
            .filter(|f| f.visible_at(as_of) && file_in_range(f, lo, hi))
            .collect();
        let files = prune_by_partition_values(state, t, files, filters)?;
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..t.schema.fields().len()).collect());
        let out_schema = Arc::new(t.schema.project(&wanted)?);
        if files.is_empty() {
            return Ok(Arc::new(EmptyExec::new(out_schema)));
        }
        // Per-row ingestion times need a row filter for the as-of bound; per-file ones were pruned exactly.
        let row_filter = as_of.filter(|_| !t.ingest_per_file());
        let ingest_idx = t.schema.index_of(&t.ingest_column)?;
        let mut scan_cols = wanted.clone();
        if row_filter.is_some() && !scan_cols.contains(&ingest_idx) {
            scan_cols.push(ingest_idx);
        }
        let scan_limit = if row_filter.is_some() { None } else { limit };

        // One scan per (file schema group, compression): a file source reads one of each.
        let mut batches: Vec<((usize, FileCompressionType), Vec<&ResolvedFile>)> = vec![];
        for f in files {
            let key = (f.group, f.compression);
            match batches.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(f),
                None => batches.push((key, vec![f])),
            }
        }
        let selective = filters.iter().any(|f| looks_up_keys(f, &t.key));
        let mut inputs = vec![];
        for ((group, _), members) in &batches {
            inputs.push(
                self.scan_group(state, *group, members, &scan_cols, scan_limit, selective)
                    .await?,
            );
        }
        let mut plan = UnionExec::try_new(inputs)?;
        if let Some(bound) = row_filter {
            let df_schema = DFSchema::try_from(plan.schema().as_ref().clone())?;
            let pred = t.ingest_expr().lt_eq(lit(ScalarValue::TimestampMicrosecond(
                Some(bound),
                Some("UTC".into()),
            )));
            let pred = state.create_physical_expr(pred, &df_schema)?;
            plan = Arc::new(FilterExec::try_new(pred, plan)?);
            if scan_cols.len() != wanted.len() {
                let exprs: Vec<ProjectionExpr> = (0..wanted.len())
                    .map(|i| {
                        ProjectionExpr::new(
                            Arc::new(Column::new(t.schema.field(wanted[i]).name(), i)),
                            t.schema.field(wanted[i]).name(),
                        )
                    })
                    .collect();
                plan = Arc::new(ProjectionExec::try_new(exprs, plan)?);
            }
        }
        Ok(plan)
    }
}

impl HistoryTable {
    /// One DataFusion file scan over files sharing a file schema and compression, projected to
    /// the table's columns `cols` (missing columns as NULL, narrower types cast up).
    async fn scan_group(
        &self,
        state: &dyn Session,
        group: usize,
        files: &[&ResolvedFile],
        cols: &[usize],
        limit: Option<usize>,
        selective: bool,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let t = &self.table;
        let group_schema = &t.groups[group];
        let mut fields: Vec<Arc<Field>> = group_schema.fields().iter().cloned().collect();
        fields.extend(t.partition_fields.iter().cloned());
        let scan_schema = Schema::new(fields);
        let present: Vec<usize> = cols
            .iter()
            .filter_map(|&c| scan_schema.index_of(t.schema.field(c).name()).ok())
            .collect();

        let compression = files[0].compression;
        let format = crate::format::file_format(state, t.kind, compression, selective);
        let table_schema =
            datafusion::datasource::table_schema::TableSchema::builder(group_schema.clone())
                .with_table_partition_cols(t.partition_fields.clone())
                .build();
        let source = format.file_source(table_schema);
        let n = state.config().target_partitions().max(1).min(files.len());
        let mut buckets: Vec<Vec<PartitionedFile>> = vec![vec![]; n];
        let with_stats =
            state.config().collect_statistics() && files.iter().all(|f| f.statistics.is_some());
        for (i, f) in files.iter().enumerate() {
            let mut file = PartitionedFile::new_from_meta(f.meta.clone())
                .with_partition_values(f.partition_values.clone());
            if let (true, Some(stats)) = (with_stats, &f.statistics) {
                file = file.with_statistics(Arc::new(group_statistics(t, group_schema, stats)));
            }
            buckets[i % n].push(file);
        }
        let groups = buckets.into_iter().map(FileGroup::new).collect();
        let mut builder = FileScanConfigBuilder::new(t.store_url.clone(), source);
        if with_stats {
            let mut fields: Vec<Arc<Field>> = group_schema.fields().iter().cloned().collect();
            fields.extend(t.partition_fields.iter().cloned());
            let (groups, total) = datafusion_datasource::compute_all_files_statistics(
                groups,
                Arc::new(Schema::new(fields)),
                true,
                false,
            )?;
            builder = builder.with_file_groups(groups).with_statistics(total);
        } else {
            builder = builder.with_file_groups(groups);
        }
        let config = builder
            .with_projection_indices(Some(present.clone()))?
            .with_limit(limit)
            .with_file_compression_type(compression)
            .build();
        let scan = format.create_physical_plan(state, config).await?;

        // Align to the table's columns and types when this group's files differ.
        let scan_out = scan.schema();
        let aligned = cols.len() == present.len()
            && cols
                .iter()
                .enumerate()
                .all(|(i, &c)| scan_out.field(i).data_type() == t.schema.field(c).data_type());
        if aligned {
            return Ok(scan);
        }
        let exprs: Vec<ProjectionExpr> = cols
            .iter()
            .map(|&c| {
                let target = t.schema.field(c);
                let expr: Arc<dyn PhysicalExpr> = match scan_out.index_of(target.name()) {
                    Ok(i) if scan_out.field(i).data_type() == target.data_type() => {
                        Arc::new(Column::new(target.name(), i))
                    }
                    Ok(i) => Arc::new(CastExpr::new(
                        Arc::new(Column::new(target.name(), i)),
                        target.data_type().clone(),
                        None,
                    )),
                    Err(_) => Arc::new(Literal::new(
                        ScalarValue::try_from(target.data_type()).unwrap_or(ScalarValue::Null),
                    )),
                };
                ProjectionExpr::new(expr, target.name())
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }
}

#[cfg(test)]
mod tests {
    use super::looks_up_keys;
    use datafusion::prelude::{col, lit};

    #[test]
    fn key_lookups_are_selective_and_other_filters_are_not() {
        let key = vec!["id".to_string()];
        assert!(looks_up_keys(&col("id").eq(lit(7)), &key));
        assert!(looks_up_keys(&lit(7).eq(col("id")), &key));
        assert!(looks_up_keys(
            &col("id").in_list(vec![lit(1), lit(2)], false),
            &key
        ));
        assert!(looks_up_keys(
            &col("id").eq(lit(7)).and(col("x").gt(lit(1))),
            &key
        ));
        assert!(!looks_up_keys(&col("id").in_list(vec![lit(1)], true), &key));
        assert!(!looks_up_keys(&col("id").gt(lit(7)), &key));
        assert!(!looks_up_keys(&col("status").eq(lit("a")), &key));
        assert!(!looks_up_keys(&col("id").eq(col("other")), &key));
        assert!(!looks_up_keys(&col("id").eq(lit(7)), &[]));
    }
}
