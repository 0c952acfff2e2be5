//! Table providers over resolved lake tables: history/append scans, latest-per-key views and
//! newest-snapshot views.
mod history;
mod latest;
mod newest;
mod snapshot;

pub use history::HistoryTable;
pub use latest::LatestTable;
pub use newest::NewestPerKeyExec;
pub use snapshot::SnapshotTable;

use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use std::sync::Arc;

/// Plans a provider's own sub-plan (the history rows a latest or snapshot view chooses from) with
/// DataFusion's planner, whatever query planner the session has: a cluster's planner would
/// otherwise ship the sub-plan to the cluster on its own, apart from the operator above it.
pub(crate) async fn plan_in_process(
    state: &dyn Session,
    plan: &LogicalPlan,
) -> Result<Arc<dyn ExecutionPlan>> {
    match state.as_any().downcast_ref::<SessionState>() {
        Some(s) => {
            DefaultPhysicalPlanner::default()
                .create_physical_plan(&s.optimize(plan)?, state)
                .await
        }
        None => state.create_physical_plan(plan).await,
    }
}
