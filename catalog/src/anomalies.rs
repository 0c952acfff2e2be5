//! `strata.anomalies`: every anomalous point of every table's volume series, past ones
//! included, and one `late` row per late table (docs/quality.md#anomalies). The series and
//! verdicts come from `quality/watch.rs` when queried, for the zones the session can read.
use crate::lake::Lake;
use crate::quality::watch::{anomalies_at, TableWatch};
use crate::TableName;
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// µs in an hour: lateness is shown in hours.
const HOUR_US: f64 = 3_600_000_000.0;

#[derive(Debug)]
pub struct AnomaliesTable {
    lake: Arc<Lake>,
    schema: SchemaRef,
}

/// The rows being built, one builder per column.
struct Rows {
    zone: StringBuilder,
    schema: StringBuilder,
    table: StringBuilder,
    at: TimestampMicrosecondBuilder,
    metric: StringBuilder,
    unit: StringBuilder,
    value: Float64Builder,
    expected: Float64Builder,
    z: Float64Builder,
    kind: StringBuilder,
    seasonal: BooleanBuilder,
    newest: BooleanBuilder,
}

impl Rows {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        t: &TableName,
        at: i64,
        (metric, unit): (&str, &str),
        (value, expected, z): (f64, f64, f64),
        kind: &str,
        seasonal: bool,
        newest: bool,
    ) {
        self.zone.append_value(&t.zone);
        self.schema.append_value(&t.schema);
        self.table.append_value(&t.table);
        self.at.append_value(at);
        self.metric.append_value(metric);
        self.unit.append_value(unit);
        self.value.append_value(value);
        self.expected.append_value(expected);
        self.z.append_value(z);
        self.kind.append_value(kind);
        self.seasonal.append_value(seasonal);
        self.newest.append_value(newest);
    }
}

impl AnomaliesTable {
    pub fn new(lake: Arc<Lake>) -> Self {
        let s = |n: &str| Field::new(n, DataType::Utf8, false);
        let f = |n: &str| Field::new(n, DataType::Float64, false);
        let b = |n: &str| Field::new(n, DataType::Boolean, false);
        let schema = Schema::new(vec![
            s("zone"),
            s("schema"),
            s("table"),
            Field::new("at", crate::resolve::ingest_type(), false),
            s("metric"),
            s("unit"),
            f("value"),
            f("expected"),
            f("z"),
            s("kind"),
            b("seasonal"),
            b("newest"),
        ]);
        AnomaliesTable {
            lake,
            schema: Arc::new(schema),
        }
    }

    /// The anomalies of the tables in `zones` (every zone when None). A table whose series
    /// cannot be built (its files cannot be read) has no rows: `strata.tables.error` says why.
    async fn batch(&self, zones: Option<&[String]>) -> Result<RecordBatch> {
        let names: Vec<TableName> = self
            .lake
            .listing()
            .tables
            .keys()
            .filter(|n| zones.is_none_or(|z| z.contains(&n.zone)))
            .cloned()
            .collect();
        let mut rows = Rows {
            zone: StringBuilder::new(),
            schema: StringBuilder::new(),
            table: StringBuilder::new(),
            at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            metric: StringBuilder::new(),
            unit: StringBuilder::new(),
            value: Float64Builder::new(),
            expected: Float64Builder::new(),
            z: Float64Builder::new(),
            kind: StringBuilder::new(),
            seasonal: BooleanBuilder::new(),
            newest: BooleanBuilder::new(),
        };
        if !names.is_empty() {
            let now = chrono::Utc::now().timestamp_micros();
            let watches = anomalies_at(&self.lake, &names, now)
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            for w in &watches {
                add_rows(&mut rows, w);
            }
        }
        let mut r = rows;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(r.zone.finish()),
            Arc::new(r.schema.finish()),
            Arc::new(r.table.finish()),
            Arc::new(r.at.finish()),
            Arc::new(r.metric.finish()),
            Arc::new(r.unit.finish()),
            Arc::new(r.value.finish()),
            Arc::new(r.expected.finish()),
            Arc::new(r.z.finish()),
            Arc::new(r.kind.finish()),
            Arc::new(r.seasonal.finish()),
            Arc::new(r.newest.finish()),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The rows of one table: its anomalous volume points, then its `late` row.
fn add_rows(rows: &mut Rows, w: &TableWatch) {
    let Ok(watched) = &w.watched else {
        return;
    };
    let unit = watched.series.unit.as_str();
    let newest_at = watched.series.points.last().map(|p| p.at);
    for a in &watched.anomalies {
        rows.push(
            &w.table,
            a.at,
            ("volume", unit),
            (a.value, a.expected, a.z),
            a.kind.as_str(),
            a.seasonal,
            Some(a.at) == newest_at,
        );
    }
    if let Some(f) = watched.freshness.as_ref().filter(|f| f.late) {
        let at = watched.series.ingested.last().copied().unwrap_or_default();
        let (since, mean) = (f.since_newest_us as f64, f.mean_interval_us);
        rows.push(
            &w.table,
            at,
            ("freshness", "hours"),
            (since / HOUR_US, mean / HOUR_US, f.z),
            "late",
            false,
            true,
        );
    }
}

#[async_trait]
impl TableProvider for AnomaliesTable {
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
