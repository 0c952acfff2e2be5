//! How a plan made here reaches the scheduler and executors as bytes: DataFusion's own nodes by
//! datafusion-proto, Ballista's shuffle nodes by Ballista's codec, Strata's `NewestPerKeyExec` by
//! a message of its own, and functions by name. Every process of a cluster uses this codec, so
//! each reads what the others wrote (docs/cluster.md#what-runs-where).
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, not_impl_err, DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use datafusion_proto::physical_plan::from_proto::{
    parse_physical_exprs, parse_physical_sort_exprs,
};
use datafusion_proto::physical_plan::to_proto::{
    serialize_physical_exprs, serialize_physical_sort_exprs,
};
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalPlanDecodeContext, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf::{PhysicalExprNode, PhysicalSortExprNode};
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use strata_catalog::provider::NewestPerKeyExec;

/// The first byte of an encoded node: whose node follows.
const BALLISTA_NODE: u8 = 0;
const NEWEST_PER_KEY: u8 = 1;

/// `NewestPerKeyExec` on the wire: its key and order over its one input.
#[derive(Clone, PartialEq, Message)]
struct NewestPerKeyNode {
    #[prost(message, repeated, tag = "1")]
    key: Vec<PhysicalExprNode>,
    #[prost(message, repeated, tag = "2")]
    order: Vec<PhysicalSortExprNode>,
}

/// The codec of every process of a Strata cluster.
#[derive(Debug, Default)]
pub struct StrataCodec {
    ballista: BallistaPhysicalExtensionCodec,
    /// On an executor, its name: tasks from a client of another version are then refused.
    executor: Option<String>,
}

impl StrataCodec {
    /// The codec of executor `name`. A task whose client is another Strata version is decoded
    /// with its input replaced by one that fails with the reason: an error while the task runs
    /// reaches the client with its message, while a task that cannot be decoded at all reaches
    /// it only as "rejected by executor".
    pub fn for_executor(name: &str) -> Self {
        StrataCodec {
            ballista: BallistaPhysicalExtensionCodec::default(),
            executor: Some(name.to_string()),
        }
    }

    /// `inputs`, or when this executor refuses the task, inputs that fail with the reason.
    fn checked(
        &self,
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> Vec<Arc<dyn ExecutionPlan>> {
        let Some(name) = &self.executor else {
            return inputs.to_vec();
        };
        match crate::version::check(ctx.session_config(), &format!("executor {name}")) {
            Ok(()) => inputs.to_vec(),
            Err(e) => inputs
                .iter()
                .map(|i| Arc::new(Refused::new(i, e.to_string())) as Arc<dyn ExecutionPlan>)
                .collect(),
        }
    }
}

/// Functions every process of the cluster has, by name: DataFusion's (Ballista registers only
/// some of them on executors; this codec supplies the others) and Strata's. A plan calling any
/// other (a Postgres compatibility function of the server, an embedder's own) cannot run on the
/// cluster, and the client runs it in process instead.
static SCALAR: LazyLock<HashMap<String, Arc<ScalarUDF>>> = LazyLock::new(|| {
    datafusion::functions::all_default_functions()
        .into_iter()
        .chain(datafusion::functions_nested::all_default_nested_functions())
        .chain(strata_sql::functions())
        .map(|f| (f.name().to_string(), f))
        .collect()
});
static AGGREGATE: LazyLock<HashMap<String, Arc<AggregateUDF>>> = LazyLock::new(|| {
    datafusion::functions_aggregate::all_default_aggregate_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect()
});
static WINDOW: LazyLock<HashMap<String, Arc<WindowUDF>>> = LazyLock::new(|| {
    datafusion::functions_window::all_default_window_functions()
        .into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect()
});

fn not_on_cluster(kind: &str, name: &str) -> DataFusionError {
    DataFusionError::NotImplemented(format!(
        "the {kind} function {name} is not available on the cluster's executors"
    ))
}

impl PhysicalExtensionCodec for StrataCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match buf.split_first() {
            Some((&BALLISTA_NODE, rest)) => {
                let inputs = self.checked(inputs, ctx);
                self.ballista.try_decode(rest, &inputs, ctx, converter)
            }
            Some((&NEWEST_PER_KEY, rest)) => {
                let [input] = inputs else {
                    return internal_err!("NewestPerKeyExec has one input, got {}", inputs.len());
                };
                let node = NewestPerKeyNode::decode(rest)
                    .map_err(|e| DataFusionError::Internal(format!("NewestPerKeyExec: {e}")))?;
                let schema = input.schema();
                let decode = PhysicalPlanDecodeContext::new(ctx, self);
                let key = parse_physical_exprs(&node.key, &decode, &schema, converter)?;
                let order = parse_physical_sort_exprs(&node.order, &decode, &schema, converter)?;
                let Some(order) = LexOrdering::new(order) else {
                    return internal_err!("NewestPerKeyExec without an order");
                };
                Ok(Arc::new(NewestPerKeyExec::try_new(
                    input.clone(),
                    key,
                    order,
                )?))
            }
            _ => internal_err!("a plan node of an unknown kind (another Strata version?)"),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(newest) = node.downcast_ref::<NewestPerKeyExec>() {
            let message = NewestPerKeyNode {
                key: serialize_physical_exprs(newest.key(), self, converter)?,
                order: serialize_physical_sort_exprs(
                    newest.order().iter().cloned(),
                    self,
                    converter,
                )?,
            };
            buf.push(NEWEST_PER_KEY);
            message
                .encode(buf)
                .map_err(|e| DataFusionError::Internal(format!("NewestPerKeyExec: {e}")))?;
            return Ok(());
        }
        let mut inner = Vec::new();
        self.ballista.try_encode(node, &mut inner, converter)?;
        buf.push(BALLISTA_NODE);
        buf.extend_from_slice(&inner);
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, _buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match SCALAR.get(name) {
            Some(f) => Ok(f.clone()),
            None => not_impl_err!("no function {name} on this process of the cluster"),
        }
    }

    fn try_decode_udaf(&self, name: &str, _buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        match AGGREGATE.get(name) {
            Some(f) => Ok(f.clone()),
            None => not_impl_err!("no aggregate function {name} on this process of the cluster"),
        }
    }

    fn try_decode_udwf(&self, name: &str, _buf: &[u8]) -> Result<Arc<WindowUDF>> {
        match WINDOW.get(name) {
            Some(f) => Ok(f.clone()),
            None => not_impl_err!("no window function {name} on this process of the cluster"),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, _buf: &mut Vec<u8>) -> Result<()> {
        // By name: each process looks it up among its own functions.
        if SCALAR.contains_key(node.name()) {
            Ok(())
        } else {
            Err(not_on_cluster("SQL", node.name()))
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, _buf: &mut Vec<u8>) -> Result<()> {
        if AGGREGATE.contains_key(node.name()) {
            Ok(())
        } else {
            Err(not_on_cluster("aggregate", node.name()))
        }
    }

    fn try_encode_udwf(&self, node: &WindowUDF, _buf: &mut Vec<u8>) -> Result<()> {
        if WINDOW.contains_key(node.name()) {
            Ok(())
        } else {
            Err(not_on_cluster("window", node.name()))
        }
    }
}

/// Stands for the input of a task an executor refuses: fails with the reason when run.
#[derive(Debug)]
struct Refused {
    reason: String,
    properties: Arc<PlanProperties>,
}

impl Refused {
    fn new(input: &Arc<dyn ExecutionPlan>, reason: String) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Refused {
            reason,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for Refused {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "Refused: {}", self.reason)
    }
}

impl ExecutionPlan for Refused {
    fn name(&self) -> &str {
        "Refused"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

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
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _ctx: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        Err(DataFusionError::Execution(self.reason.clone()))
    }
}
