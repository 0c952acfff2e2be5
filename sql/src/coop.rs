//! Cooperative scheduling for operators that compute without polling a leaf, so a cancel or a
//! statement timeout stops any query (issue 10).
//!
//! Dropping a query's stream stops it only at a point where its task returns `Pending`, and a
//! timeout or cancel racing the query in a `select!` is only looked at then. DataFusion's
//! `EnsureCooperative` rule wraps leaves and exchanges in `CooperativeExec`, which spends one
//! unit of tokio's per-task budget (128) per batch and returns `Pending` when it is spent. That
//! covers queries whose work is proportional to the batches read, but not operators that produce
//! many batches from one input batch or from memory:
//! - joins: a cross or nested-loop join emits |left| × batches per probe batch from an in-memory
//!   build side, and nested cross joins multiply that; a hash join emits its matches in chunks;
//! - grouped aggregates, sorts and windows that emit their whole result from memory after the
//!   last input batch, and Strata's `NewestPerKeyExec` (the latest view), which does the same.
//!
//! Their parents (another join, an aggregate, a sort) consume those batches in a loop without
//! returning, so a 7-way cross join of a 25-row table never yields. [`CooperateOperators`] wraps
//! each such operator in the same `CooperativeExec`, so every batch it emits spends budget too;
//! plans stay made of DataFusion's own nodes (serializable, e.g. for a distributed executor).
//!
//! Not covered: one call that evaluates a filter over a whole build side for one probe batch
//! without emitting (a nested-loop join whose filter rejects every pair) runs to its end; its
//! length is bounded by the build side (memory limit) × one batch.
use datafusion::common::config::ConfigOptions;
use datafusion::common::Result;
use datafusion::physical_optimizer::ensure_coop::EnsureCooperative;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::union::{InterleaveExec, UnionExec};
use datafusion::physical_plan::windows::WindowAggExec;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// Wraps operators that can emit many batches without polling a leaf in `CooperativeExec`.
#[derive(Debug, Default)]
pub struct CooperateOperators;

/// DataFusion's physical optimizer rules with [`CooperateOperators`] right after
/// `EnsureCooperative`: after it, so leaves below a wrapped join are still wrapped (it skips
/// leaves under a cooperative ancestor), and before the post-optimization filter pushdown,
/// which must see the final plan for the dynamic filters it links joins to scans with.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == EnsureCooperative::new().name())
        .map_or(rules.len().saturating_sub(1), |i| i + 1);
    rules.insert(at, Arc::new(CooperateOperators));
    rules
}

/// Whether `plan` can produce batches without polling its inputs for each of them.
fn emits_from_memory(plan: &dyn ExecutionPlan) -> bool {
    // Every operator with two or more inputs that is not a union is a join: the build side is
    // held in memory and one probe batch can yield many output batches.
    if plan.children().len() >= 2 && !plan.is::<UnionExec>() && !plan.is::<InterleaveExec>() {
        return true;
    }
    if let Some(agg) = plan.downcast_ref::<AggregateExec>() {
        // Without GROUP BY an aggregate emits one row; with it, the whole table of groups.
        return !agg.group_expr().is_empty();
    }
    if let Some(sort) = plan.downcast_ref::<SortExec>() {
        // A top-k sort emits at most `fetch` rows.
        return sort.fetch().is_none();
    }
    plan.is::<WindowAggExec>() || plan.is::<strata_catalog::provider::NewestPerKeyExec>()
}

fn cooperate(plan: Arc<dyn ExecutionPlan>, under_coop: bool) -> Result<Arc<dyn ExecutionPlan>> {
    let is_coop = plan.is::<CooperativeExec>();
    let children = plan
        .children()
        .into_iter()
        .map(|child| cooperate(child.clone(), is_coop))
        .collect::<Result<Vec<_>>>()?;
    let plan = replace_children_if_necessary(plan, children)?;
    if !under_coop && emits_from_memory(plan.as_ref()) {
        return Ok(Arc::new(CooperativeExec::new(plan)));
    }
    Ok(plan)
}

impl PhysicalOptimizerRule for CooperateOperators {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        cooperate(plan, false)
    }

    fn name(&self) -> &str {
        "strata_cooperate_operators"
    }

    /// Wrapping keeps every schema.
    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;
    use futures::StreamExt;

    /// A context with Strata's physical optimizer rules and a 25-row table `t(id)`.
    fn context() -> SessionContext {
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_physical_optimizer_rules(physical_optimizer_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..25))],
        )
        .unwrap();
        let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx
    }

    async fn plan_text(ctx: &SessionContext, sql: &str) -> String {
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let text = displayable(plan.as_ref()).indent(true).to_string();
        text
    }

    /// The line below each `CooperativeExec`: what it wraps.
    fn wrapped(plan: &str) -> Vec<String> {
        let lines: Vec<&str> = plan.lines().map(str::trim).collect();
        lines
            .windows(2)
            .filter(|w| w[0] == "CooperativeExec")
            .map(|w| w[1].split(':').next().unwrap_or(w[1]).to_string())
            .collect()
    }

    #[tokio::test]
    async fn rule_wraps_joins_grouped_aggregates_and_sorts_once() {
        let ctx = context();
        let plan = plan_text(
            &ctx,
            "SELECT a.id % 3 AS k, sum(b.id) FROM t a, t b, t c WHERE a.id = c.id \
             GROUP BY a.id % 3 ORDER BY k",
        )
        .await;
        let wrapped = wrapped(&plan);
        for op in ["CrossJoinExec", "HashJoinExec", "AggregateExec", "SortExec"] {
            assert!(wrapped.iter().any(|w| w == op), "{op} not wrapped:\n{plan}");
        }
        // Nothing is wrapped twice. (In-memory scans report themselves cooperative, so
        // DataFusion's own rule leaves them unwrapped.)
        assert!(!wrapped.iter().any(|w| w == "CooperativeExec"), "{plan}");
        // Running the rule again changes nothing.
        let physical = ctx
            .sql("SELECT count(*) FROM t a, t b")
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let again = CooperateOperators
            .optimize(physical.clone(), &ConfigOptions::new())
            .unwrap();
        assert_eq!(
            displayable(again.as_ref()).indent(true).to_string(),
            displayable(physical.as_ref()).indent(true).to_string()
        );
    }

    #[tokio::test]
    async fn rule_leaves_scans_and_plain_aggregates_alone() {
        let plan = plan_text(&context(), "SELECT count(*), max(id) FROM t WHERE id > 3").await;
        assert!(
            wrapped(&plan).iter().all(|w| w == "DataSourceExec"),
            "{plan}"
        );
    }

    /// The 7-way cross join of issue 10 computes without ever waiting on I/O; with the rule its
    /// task returns to the runtime, so a timeout around it fires (on a one-thread runtime, where
    /// nothing else could run while it computes). The outer bound only turns a regression into
    /// a failure instead of a hang.
    #[test]
    fn cross_join_without_io_yields_so_it_can_be_stopped() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let outcome = rt.block_on(async {
                let ctx = context();
                let df = ctx
                    .sql(
                        "SELECT sum(a.id + b.id + c.id + d.id + e.id + f.id + g.id) \
                         FROM t a, t b, t c, t d, t e, t f, t g",
                    )
                    .await
                    .unwrap();
                let mut stream = df.execute_stream().await.unwrap();
                let run = async { while stream.next().await.is_some() {} };
                tokio::time::timeout(std::time::Duration::from_millis(200), run).await
            });
            let _ = tx.send(outcome.is_err());
        });
        let timed_out = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the query never yielded: the timeout could not stop it");
        assert!(timed_out, "the 25^7-row cross join cannot finish in 200 ms");
    }
}
