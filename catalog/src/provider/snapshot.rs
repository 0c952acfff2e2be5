//! The snapshot view: only the rows of the newest batch, i.e. those whose ingestion time equals
//! the greatest one at the as-of bound.
use super::history::HistoryTable;
use crate::resolve::ResolvedTable;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::{Column, JoinType, Result, ScalarValue};
use datafusion::datasource::{provider_as_source, TableProvider, TableType};
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, TableProviderFilterPushDown};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{col, lit};
use std::sync::Arc;

const NEWEST: &str = "__strata_newest";

/// The newest full batch of a snapshot table.
#[derive(Debug)]
pub struct SnapshotTable {
    history: Arc<HistoryTable>,
}

impl SnapshotTable {
    pub fn new(history: Arc<HistoryTable>) -> Self {
        SnapshotTable { history }
    }

    fn table(&self) -> &ResolvedTable {
        &self.history.table
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
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
        // Every filter is applied to the batch rows only; the newest batch itself is found over
        // the unfiltered history, so filtering first never changes which batch is newest.
        Ok(vec![TableProviderFilterPushDown::Exact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let t = self.table();
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..t.schema.fields().len()).collect());
        let out_cols: Vec<Expr> = wanted
            .iter()
            .map(|&i| col(Column::from_name(t.schema.field(i).name())))
            .collect();
        let source = || provider_as_source(self.history.clone() as Arc<dyn TableProvider>);
        let mut rows = LogicalPlanBuilder::scan(t.name.table.as_str(), source(), None)?;
        if let Some(f) = filters.iter().cloned().reduce(Expr::and) {
            rows = rows.filter(f)?;
        }
        let plan = if t.ingest_per_file() {
            // Batches are files: the newest batch is known from the listing, and the equality
            // filter lets the history scan open only its files.
            let as_of = self.history.effective_as_of(state);
            let newest = t
                .files
                .iter()
                .filter(|f| f.visible_at(as_of))
                .filter_map(|f| f.ingest_min)
                .filter(|m| as_of.is_none_or(|a| *m <= a))
                .max();
            let Some(newest) = newest else {
                return Ok(Arc::new(EmptyExec::new(Arc::new(
                    t.schema.project(&wanted)?,
                ))));
            };
            let bound = lit(ScalarValue::TimestampMicrosecond(
                Some(newest),
                Some("UTC".into()),
            ));
            rows.filter(t.ingest_expr().eq(bound))?.project(out_cols)?
        } else {
            let newest =
                LogicalPlanBuilder::scan(format!("{}_newest", t.name.table), source(), None)?
                    .aggregate(Vec::<Expr>::new(), vec![max(t.ingest_expr()).alias(NEWEST)])?
                    .build()?;
            rows.join_on(
                newest,
                JoinType::LeftSemi,
                vec![t.ingest_expr().eq(col(NEWEST))],
            )?
            .project(out_cols)?
        };
        let plan = match limit {
            Some(n) => plan.limit(0, Some(n))?,
            None => plan,
        };
        super::plan_in_process(state, &plan.build()?).await
    }
}
