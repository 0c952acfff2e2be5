//! The latest view of a keyed table: the newest row per key, keys whose newest row is a
//! tombstone left out. Expressed as a logical plan over the history scan so DataFusion
//! optimises and (later) distributes it like any other plan.
use super::history::{ingest_comparison, HistoryTable};
use crate::resolve::ResolvedTable;
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{Column, Result};
use datafusion::datasource::{provider_as_source, TableProvider, TableType};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, LogicalPlanBuilder, Operator, SortExpr, TableProviderFilterPushDown,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{col, lit};
use std::sync::Arc;

const RN: &str = "__strata_rn";

/// Newest row per key at the as-of bound.
#[derive(Debug)]
pub struct LatestTable {
    history: Arc<HistoryTable>,
}

impl LatestTable {
    pub fn new(history: Arc<HistoryTable>) -> Self {
        LatestTable { history }
    }

    fn table(&self) -> &ResolvedTable {
        &self.history.table
    }

    /// Filters that can run before the newest row per key is chosen without changing the
    /// answer: those on key columns only (they keep or drop whole keys) and lower bounds on
    /// the ingestion time (a key's newest row passes exactly when any of its rows does).
    fn runs_before_dedup(&self, f: &Expr) -> bool {
        let t = self.table();
        let cols = f.column_refs();
        if !cols.is_empty() && cols.iter().all(|c| t.key.contains(&c.name)) && !f.is_volatile() {
            return true;
        }
        matches!(
            ingest_comparison(f, &t.ingest_column),
            Some((Operator::Gt | Operator::GtEq, _))
        )
    }
}

/// The order that picks a key's newest row: ingestion time descending, then — the documented
/// tie rule — every other comparable column descending, in table order, NULLs last. The result
/// depends only on the rows, never on file or thread order.
pub(crate) fn newest_first(t: &ResolvedTable) -> Vec<SortExpr> {
    let mut order = vec![t.ingest_expr().sort(false, false)];
    for f in t.schema.fields() {
        let name = f.name();
        if *name == t.ingest_column || t.key.contains(name) || !comparable(f.data_type()) {
            continue;
        }
        order.push(col(Column::from_name(name)).sort(false, false));
    }
    order
}

fn comparable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
        )
}

#[async_trait]
impl TableProvider for LatestTable {
    fn schema(&self) -> SchemaRef {
        self.table().schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.runs_before_dedup(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    // Applied by DataFusion above this scan, i.e. to the latest rows.
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let t = self.table();
        let source = provider_as_source(self.history.clone() as Arc<dyn TableProvider>);
        let mut b = LogicalPlanBuilder::scan(t.name.table.as_str(), source, None)?;
        if let Some(f) = filters.iter().cloned().reduce(Expr::and) {
            b = b.filter(f)?;
        }
        let rn = row_number()
            .partition_by(t.key.iter().map(|k| col(Column::from_name(k))).collect())
            .order_by(newest_first(t))
            .build()?
            .alias(RN);
        b = b.window(vec![rn])?.filter(col(RN).eq(lit(1u64)))?;
        if let Some(tombstone) = &t.deleted_when {
            b = b.filter(tombstone.clone().is_not_true())?;
        }
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..t.schema.fields().len()).collect());
        b = b.project(
            wanted
                .iter()
                .map(|&i| col(Column::from_name(t.schema.field(i).name()))),
        )?;
        if let Some(n) = limit {
            b = b.limit(0, Some(n))?;
        }
        let plan = b.build()?;
        state.create_physical_plan(&plan).await
    }
}
