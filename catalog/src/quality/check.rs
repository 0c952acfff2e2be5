//! `strata check` and `strata.checks` (docs/quality.md#strata-check): every expectation of a
//! table judged over its current rows — the rows its readers see, the latest view of a keyed
//! table — through the same compiled gate and `unique` aggregate the write path uses, streaming
//! the table once, so a scheduler can gate a pipeline on the lake as it is.
use super::anomaly::Verdict;
use super::gate::Gate;
use super::unique::{unique_broken, Rows};
use crate::error::{CatalogError, Result};
use crate::lake::Lake;
use crate::TableName;
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_err, ScalarValue};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use futures::StreamExt;
use std::sync::Arc;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// An expectation the rows break.
    Fail,
    /// An anomaly in the table's metadata: a warning unless `--fail-on-anomaly`.
    Warn,
    /// The check could not run (the table cannot be read, a column is missing).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Error => "error",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub table: TableName,
    /// `not_null(country)`, `unique(country, dt)`, or what could not be checked.
    pub check: String,
    pub status: Status,
    /// Rows that break the expectation (for `unique`, rows whose values repeat).
    pub failing: Option<u64>,
    /// Rows the check read.
    pub rows: Option<u64>,
    /// Up to five failing rows, or why the check could not run.
    pub detail: Option<String>,
}

/// The tables `strata check` looks at without names: every table with expectations that
/// exists in the lake (a table declared before its first write has no rows to check yet).
pub fn tables_with_expectations(lake: &Lake) -> Vec<TableName> {
    lake.config()
        .tables
        .iter()
        .filter(|(_, c)| c.expect.is_some())
        .filter_map(|(name, _)| TableName::parse(name))
        .filter(|name| lake.base_of(name).is_some())
        .collect()
}

/// What a report covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Tables whose expectations are judged over their current rows.
    pub expect: Vec<TableName>,
    /// Tables whose metadata the anomaly watch judges.
    pub watch: Vec<TableName>,
    /// Also report the watch's normal and no-verdict results, not only its warnings (when
    /// tables are named: a named table always says where it stands).
    pub verbose: bool,
}

/// Judges the expectations of `scope.expect` over their current rows, then the newest point and
/// freshness of `scope.watch`, ordered by table. A table that cannot be checked gives one
/// `error` row and the others are still checked.
pub async fn check_tables(lake: &Lake, state: &SessionState, scope: &Scope) -> Vec<CheckRow> {
    let mut report = vec![];
    for table in &scope.expect {
        match check_table(lake, state, table).await {
            Ok(rows) => report.extend(rows),
            Err(e) => report.push(CheckRow {
                table: table.clone(),
                check: "read".into(),
                status: Status::Error,
                failing: None,
                rows: None,
                detail: Some(e.to_string()),
            }),
        }
    }
    if !scope.watch.is_empty() {
        report.extend(watch_rows(lake, &scope.watch, scope.verbose).await);
    }
    // Stable: each table's expectations keep their order, before its watch rows.
    report.sort_by(|a, b| a.table.cmp(&b.table));
    report
}

/// The anomaly watch's verdicts as report rows: a warning when the newest volume point is an
/// anomaly or the table is late (docs/quality.md#anomalies); with `verbose`, every verdict.
async fn watch_rows(lake: &Lake, tables: &[TableName], verbose: bool) -> Vec<CheckRow> {
    let row = |table: &TableName, check: &str, status: Status, detail: String| CheckRow {
        table: table.clone(),
        check: check.into(),
        status,
        failing: None,
        rows: None,
        detail: Some(detail),
    };
    let watches = match super::watch::anomalies(lake, tables).await {
        Ok(w) => w,
        Err(e) => return vec![row(&tables[0], "volume", Status::Error, e.to_string())],
    };
    let time = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us).map_or(us.to_string(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
    };
    let hours = |us: f64| format!("{:.1} h", us / 3.6e9);
    let mut report = vec![];
    for w in watches {
        let t = &w.table;
        let watched = match w.watched {
            Ok(watched) => watched,
            Err(e) => {
                if verbose {
                    report.push(row(t, "volume", Status::Error, e.to_string()));
                }
                continue;
            }
        };
        let unit = watched.series.unit.as_str();
        let scored = |at: i64, value: f64, expected: f64, z: f64, seasonal: bool| {
            let season = if seasonal {
                ", weekly season removed"
            } else {
                ""
            };
            format!(
                "{} {unit} at {}, expected {expected:.1} (z = {z:.2}{season})",
                value,
                time(at)
            )
        };
        match watched.newest {
            Verdict::Anomaly(a) => report.push(row(
                t,
                "volume",
                Status::Warn,
                format!(
                    "{}: {}",
                    a.kind.as_str(),
                    scored(a.at, a.value, a.expected, a.z, a.seasonal)
                ),
            )),
            Verdict::Normal {
                at,
                value,
                expected,
                z,
                seasonal,
            } if verbose => report.push(row(
                t,
                "volume",
                Status::Pass,
                scored(at, value, expected, z, seasonal),
            )),
            Verdict::NoVerdict { points, needed } if verbose => report.push(row(
                t,
                "volume",
                Status::Pass,
                format!("no verdict: {points} points, a verdict needs {needed}"),
            )),
            _ => {}
        }
        let on_time = |f: &super::anomaly::Freshness| {
            format!(
                "newest ingestion {} ago, batches arrive every {} on average (z = {:.2})",
                hours(f.since_newest_us as f64),
                hours(f.mean_interval_us),
                f.z
            )
        };
        match &watched.freshness {
            Some(f) if f.late => report.push(row(
                t,
                "freshness",
                Status::Warn,
                format!("late: {}", on_time(f)),
            )),
            Some(f) if verbose => report.push(row(t, "freshness", Status::Pass, on_time(f))),
            None if verbose => report.push(row(
                t,
                "freshness",
                Status::Pass,
                match w.settings.freshness {
                    false => "not watched (anomaly_freshness = false)".into(),
                    true => format!(
                        "no verdict: a verdict needs {} intervals between ingestions",
                        w.settings.scoring.min_points
                    ),
                },
            )),
            _ => {}
        }
    }
    report
}

async fn check_table(
    lake: &Lake,
    state: &SessionState,
    table: &TableName,
) -> Result<Vec<CheckRow>> {
    let config = lake.config().tables.get(&table.to_string());
    let Some(expect) = config.and_then(|c| c.expect.clone()) else {
        return Ok(vec![]);
    };
    let provider = lake
        .provider(table, None)
        .await?
        .ok_or_else(|| CatalogError::table(table, "does not exist"))?;
    let schema = provider.schema();
    let mut gate = Gate::new(state, table, &schema, &expect)?;
    if gate.has_row_checks() {
        let plan = provider.scan(state, None, &[], None).await?;
        let mut stream = execute_stream(plan, state.task_ctx())?;
        while let Some(batch) = stream.next().await {
            gate.count(&batch?)?;
        }
    }
    let read = gate.has_row_checks().then_some(gate.rows);
    let row = |check: String, failing: u64, examples: Vec<String>, rows: Option<u64>| CheckRow {
        table: table.clone(),
        check,
        status: if failing > 0 {
            Status::Fail
        } else {
            Status::Pass
        },
        failing: Some(failing),
        rows,
        detail: (!examples.is_empty()).then(|| format!("e.g. {}", examples.join("; "))),
    };
    let mut report: Vec<CheckRow> = gate
        .all()
        .into_iter()
        .map(|b| row(b.expectation, b.failing, b.examples, read))
        .collect();
    let rows = Rows {
        existing: Some(provider.clone()),
        batch: None,
        key: vec![],
    };
    for set in &expect.unique {
        let name = format!("unique({})", set.join(", "));
        report.push(match unique_broken(state, &rows, set).await? {
            Some(b) => row(name, b.failing, b.examples, None),
            None => row(name, 0, vec![], None),
        });
    }
    Ok(report)
}

/// The columns of `strata.checks` (docs/quality.md#strata-check).
pub fn report_schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        text("zone", false),
        text("schema", false),
        text("table", false),
        text("check", false),
        text("status", false),
        Field::new("failing", DataType::Int64, true),
        Field::new("rows", DataType::Int64, true),
        text("detail", true),
    ]))
}

/// The report as one record batch of [`report_schema`].
pub fn report_batch(report: &[CheckRow]) -> Result<RecordBatch> {
    let mut text: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    let (mut failing, mut rows, mut detail) = (
        Int64Builder::new(),
        Int64Builder::new(),
        StringBuilder::new(),
    );
    for r in report {
        let values = [
            r.table.zone.as_str(),
            &r.table.schema,
            &r.table.table,
            &r.check,
            r.status.as_str(),
        ];
        for (b, v) in text.iter_mut().zip(values) {
            b.append_value(v);
        }
        failing.append_option(r.failing.map(|n| n as i64));
        rows.append_option(r.rows.map(|n| n as i64));
        detail.append_option(r.detail.as_deref());
    }
    let mut columns: Vec<ArrayRef> = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as _)
        .collect();
    columns.push(Arc::new(failing.finish()));
    columns.push(Arc::new(rows.finish()));
    columns.push(Arc::new(detail.finish()));
    Ok(RecordBatch::try_new(report_schema(), columns)?)
}

/// `strata.checks`: the report of `strata check` over every table with expectations, and the
/// anomaly warnings of every table, in the zones the session reads, computed when queried. Equality filters on `zone`, `schema` and
/// `table` narrow which tables are read.
#[derive(Debug)]
pub struct ChecksTable {
    lake: Arc<Lake>,
}

impl ChecksTable {
    pub fn new(lake: Arc<Lake>) -> Self {
        ChecksTable { lake }
    }
}

/// `column = 'text'` on one of the name columns: (column, text).
fn name_filter<'a>(e: &'a Expr) -> Option<(&'a str, &'a str)> {
    let Expr::BinaryExpr(b) = e else { return None };
    if b.op != Operator::Eq {
        return None;
    }
    let pick = |c: &'a Expr, v: &'a Expr| -> Option<(&'a str, &'a str)> {
        let (Expr::Column(c), Expr::Literal(v, _)) = (c, v) else {
            return None;
        };
        let name = c.name.as_str();
        let text = match v {
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.as_str(),
            ScalarValue::LargeUtf8(Some(s)) => s.as_str(),
            _ => return None,
        };
        ["zone", "schema", "table"]
            .contains(&name)
            .then_some((name, text))
    };
    pick(&b.left, &b.right).or_else(|| pick(&b.right, &b.left))
}

#[async_trait]
impl TableProvider for ChecksTable {
    fn schema(&self) -> SchemaRef {
        report_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match name_filter(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let Some(session) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("strata.checks needs a Strata session");
        };
        let zones = crate::meta::readable_zones(state);
        let wanted: Vec<(&str, &str)> = filters.iter().filter_map(name_filter).collect();
        let chosen = |t: &TableName| {
            zones.as_ref().is_none_or(|z| z.contains(&t.zone))
                && wanted.iter().all(|(c, v)| match *c {
                    "zone" => t.zone == *v,
                    "schema" => t.schema == *v,
                    _ => t.table == *v,
                })
        };
        let scope = Scope {
            expect: tables_with_expectations(&self.lake)
                .into_iter()
                .filter(chosen)
                .collect(),
            watch: self
                .lake
                .listing()
                .tables
                .keys()
                .filter(|t| chosen(t))
                .cloned()
                .collect(),
            verbose: wanted.iter().any(|(c, _)| *c == "table"),
        };
        let report = check_tables(&self.lake, session, &scope).await;
        let batch = report_batch(&report)?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            report_schema(),
            projection.cloned(),
        )?)
    }
}
