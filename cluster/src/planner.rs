//! Where a query runs when the session is attached to a cluster. The client plans every query
//! itself, exactly as in process (same tables, same as-of bound, same pruning); a plan that
//! reads lake files and can be encoded then runs on the cluster inside a [`ClusterExec`], any
//! other plan runs here (docs/cluster.md#what-runs-where).
use crate::codec::StrataCodec;
use crate::exec::ClusterExec;
use crate::job::Scheduler;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::JoinType;
use datafusion::common::Result;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::scalar_subquery_to_join::ScalarSubqueryToJoin;
use datafusion::optimizer::{Optimizer, OptimizerContext, OptimizerRule};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::joins::NestedLoopJoinExec;
use datafusion::physical_plan::placeholder_row::PlaceholderRowExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion_proto::physical_plan::AsExecutionPlan;
use datafusion_proto::protobuf::PhysicalPlanNode;
use prost::Message;
use std::sync::Arc;

/// The session's query planner in cluster mode.
#[derive(Debug)]
pub struct ClusterPlanner {
    scheduler: Scheduler,
}

impl ClusterPlanner {
    pub(crate) fn new(scheduler: Scheduler) -> Self {
        ClusterPlanner { scheduler }
    }
}

/// Why a plan stays in process, or None when it goes to the cluster.
pub fn stays_local(logical: &LogicalPlan, plan: &Arc<dyn ExecutionPlan>) -> Option<String> {
    match logical {
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => {
            return Some("EXPLAIN shows the plan made here".into())
        }
        LogicalPlan::Dml(_) | LogicalPlan::Copy(_) | LogicalPlan::Ddl(_) => {
            return Some("it writes, and writes happen in this process".into())
        }
        LogicalPlan::Statement(_) | LogicalPlan::DescribeTable(_) => {
            return Some("it is not a query".into())
        }
        _ => {}
    }
    let mut files = false;
    let mut why = None;
    let _ = plan_walk(plan, &mut |node| {
        if node.is::<DataSinkExec>() {
            why = Some("it writes, and writes happen in this process".to_string());
        } else if node
            .downcast_ref::<NestedLoopJoinExec>()
            .is_some_and(|j| emits_unmatched_build_rows(*j.join_type()))
        {
            // Each task would hold the whole build side and emit its unmatched rows again:
            // Ballista splits only hash joins of this kind safely.
            why = Some(format!(
                "its {} join without an equality condition cannot be cut into tasks",
                node.downcast_ref::<NestedLoopJoinExec>()
                    .map_or(String::new(), |j| j.join_type().to_string())
            ));
        } else if node.name() == "ScalarSubqueryExec" {
            why = Some("a scalar subquery it runs cannot be cut into stages".to_string());
        } else if node.children().is_empty() {
            let file_scan = node
                .downcast_ref::<DataSourceExec>()
                .is_some_and(|d| d.data_source().downcast_ref::<FileScanConfig>().is_some());
            if file_scan {
                files = true;
            } else if !node.is::<EmptyExec>() && !node.is::<PlaceholderRowExec>() {
                why = Some(format!(
                    "it reads {} (a table held by this process, such as a catalog table)",
                    node.name()
                ));
            }
        }
        why.is_none()
    });
    match why {
        Some(why) => Some(why),
        None if !files => Some("it reads no lake files".into()),
        None => None,
    }
}

/// `logical` with its uncorrelated scalar subqueries (`WHERE x > (SELECT avg(x) FROM t)`) as
/// joins, when each of them gives at most one row (an aggregate without GROUP BY); None when
/// there are none or one might give more rows.
///
/// DataFusion runs such subqueries with `ScalarSubqueryExec`, whose expressions cannot be cut
/// from it into another stage, so a plan holding one runs in process. A join can be cut, and for
/// a subquery of one row it gives the same answer; for more rows DataFusion's subquery fails
/// where the join would answer, so those keep the subquery (and run in process).
fn subqueries_as_joins(
    logical: &LogicalPlan,
    session: &dyn Session,
) -> Result<Option<LogicalPlan>> {
    if matches!(
        logical,
        LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
    ) {
        return Ok(None);
    }
    let (mut any, mut all_single) = (false, true);
    logical.apply_with_subqueries(|node| {
        for e in node.expressions() {
            e.apply(|e| {
                if let Expr::ScalarSubquery(sq) = e {
                    if sq.outer_ref_columns.is_empty() {
                        any = true;
                        all_single &= one_row_at_most(&sq.subquery);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if !any || !all_single {
        return Ok(None);
    }
    let mut options = session.config_options().clone();
    options
        .optimizer
        .enable_physical_uncorrelated_scalar_subquery = false;
    let context = OptimizerContext::new_with_config_options(Arc::new(options));
    let rule: Arc<dyn OptimizerRule + Send + Sync> = Arc::new(ScalarSubqueryToJoin::new());
    let joined =
        Optimizer::with_rules(vec![rule]).optimize(logical.clone(), &context, |_, _| {})?;
    Ok(Some(joined))
}

/// Whether `plan` gives at most one row, by its shape.
fn one_row_at_most(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => a.group_expr.is_empty(),
        LogicalPlan::Projection(p) => one_row_at_most(&p.input),
        LogicalPlan::Filter(f) => one_row_at_most(&f.input),
        LogicalPlan::Sort(s) => one_row_at_most(&s.input),
        LogicalPlan::SubqueryAlias(a) => one_row_at_most(&a.input),
        _ => false,
    }
}

/// Join types whose build (left) side rows come out when no probe row matched them, which a
/// nested-loop join decides only after every probe partition: in one process.
fn emits_unmatched_build_rows(t: JoinType) -> bool {
    matches!(
        t,
        JoinType::Left
            | JoinType::Full
            | JoinType::LeftSemi
            | JoinType::LeftAnti
            | JoinType::LeftMark
    )
}

/// Visits `plan` top down while `f` returns true.
fn plan_walk(plan: &Arc<dyn ExecutionPlan>, f: &mut dyn FnMut(&dyn ExecutionPlan) -> bool) -> bool {
    if !f(plan.as_ref()) {
        return false;
    }
    plan.children().into_iter().all(|c| plan_walk(c, f))
}

/// `plan` as the scheduler receives it.
pub fn encode(plan: &Arc<dyn ExecutionPlan>) -> Result<Vec<u8>> {
    let node = PhysicalPlanNode::try_from_physical_plan(plan.clone(), &StrataCodec::default())?;
    Ok(node.encode_to_vec())
}

#[async_trait]
impl QueryPlanner for ClusterPlanner {
    async fn create_physical_plan(
        &self,
        logical: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rewritten = subqueries_as_joins(logical, session)?;
        let logical = rewritten.as_ref().unwrap_or(logical);
        let plan = DefaultPhysicalPlanner::default()
            .create_physical_plan(logical, session)
            .await?;
        if let Some(why) = stays_local(logical, &plan) {
            tracing::debug!("runs in process: {why}");
            return Ok(plan);
        }
        match encode(&plan) {
            Ok(encoded) => Ok(Arc::new(ClusterExec::new(
                plan,
                encoded,
                self.scheduler.clone(),
                session.session_id().to_string(),
            ))),
            Err(e) => {
                tracing::debug!("runs in process: {e}");
                Ok(plan)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::collect;
    use strata_sql::Session;

    async fn sample_session() -> Session {
        let path = strata_catalog::sample::ensure_sample_lake().unwrap();
        let lake = strata_catalog::Lake::open(path.to_str().unwrap())
            .await
            .unwrap();
        strata_sql::Engine::new(lake, None)
            .unwrap()
            .session(None)
            .unwrap()
    }

    async fn plan(s: &Session, sql: &str) -> Arc<dyn ExecutionPlan> {
        s.sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap()
    }

    fn nodes(p: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
        out.push(p.clone());
        for c in p.children() {
            nodes(c, out);
        }
    }

    const QUERIES: [&str; 6] = [
        "SELECT * FROM raw.crm.customers ORDER BY customer_id",
        "SELECT * FROM raw.shop.orders ORDER BY order_id",
        "SELECT * FROM raw.events.clicks",
        "SELECT * FROM raw.web.pageviews WHERE dt > '2026-01-10'",
        "SELECT * FROM sanitized.crm.scores",
        "SELECT * FROM raw.crm.customers FOR SYSTEM_TIME AS OF '2026-01-17'",
    ];

    /// Ballista's shuffle writer requires every batch to have its plan's schema exactly (field
    /// nullability included), which DataFusion in process does not check.
    #[tokio::test]
    async fn every_operator_produces_the_schema_it_declares_on_the_sample_lake() {
        let s = sample_session().await;
        for sql in QUERIES {
            let mut all = vec![];
            nodes(&plan(&s, sql).await, &mut all);
            for i in 0..all.len() {
                // A fresh plan per operator: a plan with a repartition runs only once.
                let mut fresh = vec![];
                nodes(&plan(&s, sql).await, &mut fresh);
                let node = &fresh[i];
                for b in collect(node.clone(), s.context().task_ctx()).await.unwrap() {
                    assert_eq!(b.schema(), node.schema(), "{sql}: {}", node.name());
                }
            }
        }
    }

    #[tokio::test]
    async fn lake_queries_go_to_the_cluster_and_encode_and_catalog_queries_stay() {
        let s = sample_session().await;
        for sql in QUERIES {
            let logical = s.sql(sql).await.unwrap().into_optimized_plan().unwrap();
            let p = plan(&s, sql).await;
            assert_eq!(stays_local(&logical, &p), None, "{sql}");
            let bytes = encode(&p).unwrap();
            let node = PhysicalPlanNode::decode(bytes.as_slice()).unwrap();
            let back = node
                .try_into_physical_plan(&s.context().task_ctx(), &StrataCodec::default())
                .unwrap();
            let text = |p: &Arc<dyn ExecutionPlan>| {
                datafusion::physical_plan::displayable(p.as_ref())
                    .indent(true)
                    .to_string()
            };
            assert_eq!(text(&back), text(&p), "{sql}");
        }
        for (sql, why) in [
            ("SELECT 1", "reads no lake files"),
            (
                "SELECT * FROM strata.tables",
                "a table held by this process",
            ),
            ("EXPLAIN SELECT * FROM raw.crm.customers", "EXPLAIN"),
        ] {
            let logical = s.sql(sql).await.unwrap().into_optimized_plan().unwrap();
            let p = plan(&s, sql).await;
            let got = stays_local(&logical, &p).unwrap_or_default();
            assert!(got.contains(why), "{sql}: {got}");
        }
    }
}
