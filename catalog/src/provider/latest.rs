//! The latest view of a keyed table: the newest row per key, keys whose newest row is a
//! tombstone left out. The rows to choose from are a logical plan over the history scan (so
//! filters and projections are pushed into it); the choice is [`NewestPerKeyExec`].
use super::history::{ingest_comparison, HistoryTable};
use super::newest::NewestPerKeyExec;
use crate::resolve::ResolvedTable;
use async_trait::async_trait;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{plan_err, Column, DFSchema, Result};
use datafusion::datasource::{provider_as_source, TableProvider, TableType};
use datafusion::logical_expr::{
    Expr, LogicalPlanBuilder, Operator, SortExpr, TableProviderFilterPushDown,
};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::{LexOrdering, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::col;
use std::sync::Arc;

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
        // A hint only: DataFusion keeps its own limit above this scan.
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let t = self.table();
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..t.schema.fields().len()).collect());
        // The history rows to choose from, with only the columns the choice, the tombstone
        // test and the caller need (the optimiser then reads no others).
        let order = newest_first(t);
        let mut needed: Vec<Column> = t.key.iter().map(Column::from_name).collect();
        needed.extend(
            order
                .iter()
                .flat_map(|s| s.expr.column_refs().into_iter().cloned()),
        );
        if let Some(tombstone) = &t.deleted_when {
            needed.extend(tombstone.column_refs().into_iter().cloned());
        }
        needed.extend(
            wanted
                .iter()
                .map(|&i| Column::from_name(t.schema.field(i).name())),
        );
        let source = provider_as_source(self.history.clone() as Arc<dyn TableProvider>);
        let mut b = LogicalPlanBuilder::scan(t.name.table.as_str(), source, None)?;
        if let Some(f) = filters.iter().cloned().reduce(Expr::and) {
            b = b.filter(f)?;
        }
        let columns: Vec<Expr> = t
            .schema
            .fields()
            .iter()
            .filter(|f| needed.iter().any(|c| c.name == *f.name()))
            .map(|f| col(Column::from_name(f.name())))
            .collect();
        let history = super::plan_in_process(state, &b.project(columns)?.build()?).await?;

        let schema = history.schema();
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let key = t
            .key
            .iter()
            .map(|k| Ok(Arc::new(PhysicalColumn::new_with_schema(k, &schema)?) as _))
            .collect::<Result<Vec<Arc<dyn PhysicalExpr>>>>()?;
        let order = order
            .iter()
            .map(|s| {
                let expr = state.create_physical_expr(s.expr.clone(), &df_schema)?;
                Ok(PhysicalSortExpr::new(
                    expr,
                    SortOptions {
                        descending: !s.asc,
                        nulls_first: s.nulls_first,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let Some(order) = LexOrdering::new(order) else {
            return plan_err!("{}: no ingestion order", t.name);
        };
        let mut plan: Arc<dyn ExecutionPlan> =
            Arc::new(NewestPerKeyExec::try_new(history, key, order)?);
        if let Some(tombstone) = &t.deleted_when {
            let live = state.create_physical_expr(tombstone.clone().is_not_true(), &df_schema)?;
            plan = Arc::new(FilterExec::try_new(live, plan)?);
        }
        let exprs = wanted
            .iter()
            .map(|&i| {
                let name = t.schema.field(i).name();
                let c = PhysicalColumn::new_with_schema(name, &schema)?;
                Ok(ProjectionExpr::new(Arc::new(c), name.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}
