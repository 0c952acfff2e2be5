//! `ClusterExec`: a query that runs on the cluster, as one node of the client's plan. It holds
//! the plan the client made (shown by EXPLAIN and used for the result's schema) and, already
//! encoded, what the scheduler receives.
use crate::job::{self, Scheduler};
use ballista_core::serde::protobuf::KeyValuePair;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    displayable, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::TryStreamExt;
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct ClusterExec {
    /// What runs on the cluster, as planned here.
    plan: Arc<dyn ExecutionPlan>,
    /// `plan` encoded with the cluster codec (encoding is also the test that it can run there).
    encoded: Vec<u8>,
    scheduler: Scheduler,
    /// The scheduler groups a session's jobs by it.
    session_id: String,
    properties: Arc<PlanProperties>,
}

impl ClusterExec {
    pub(crate) fn new(
        plan: Arc<dyn ExecutionPlan>,
        encoded: Vec<u8>,
        scheduler: Scheduler,
        session_id: String,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(plan.schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        ClusterExec {
            plan,
            encoded,
            scheduler,
            session_id,
            properties: Arc::new(properties),
        }
    }

    /// The plan the cluster runs.
    pub fn plan(&self) -> &Arc<dyn ExecutionPlan> {
        &self.plan
    }
}

impl DisplayAs for ClusterExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::TreeRender => write!(f, "scheduler={}", self.scheduler.address),
            _ => write!(
                f,
                "ClusterExec: scheduler={}\n{}",
                self.scheduler.address,
                displayable(self.plan.as_ref()).indent(false)
            ),
        }
    }
}

impl ExecutionPlan for ClusterExec {
    fn name(&self) -> &str {
        "ClusterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    /// None: the plan below runs on the cluster, not here, so nothing here may execute,
    /// optimise or rewrite it.
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !children.is_empty() {
            return internal_err!("ClusterExec has no children");
        }
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("ClusterExec has one partition, not {partition}");
        }
        // The session's settings travel with the job: the scheduler plans stages with them and
        // each executor runs its tasks with them (and checks the client's version in them).
        let settings = context
            .session_config()
            .options()
            .entries()
            .into_iter()
            .map(|e| KeyValuePair {
                key: e.key,
                value: e.value,
            })
            .collect();
        let rows = job::run(
            self.scheduler.clone(),
            self.session_id.clone(),
            self.encoded.clone(),
            settings,
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.plan.schema(),
            futures::stream::once(rows).try_flatten(),
        )))
    }
}
