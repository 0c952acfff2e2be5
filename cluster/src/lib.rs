//! Strata on Apache Ballista (docs/cluster.md): `strata scheduler` and `strata executor` are
//! Ballista's scheduler and executor with Strata's codec, functions, stores and version check;
//! [`Cluster::attach`] turns an [`Engine`] into one whose queries run on such a cluster.
//!
//! The client plans each query completely (lake listing, as-of bound, pruning, the latest view's
//! operator), then sends the physical plan. So the scheduler needs neither the lake nor its
//! configuration, and executors need only to read the files the plan names.
mod codec;
mod exec;
mod executor;
mod job;
mod planner;
mod scheduler;
mod shuffle_report;
mod stores;
mod version;

pub use codec::StrataCodec;
pub use exec::ClusterExec;
pub use executor::{run_executor, ExecutorOptions};
pub use job::Scheduler;
pub use planner::{encode, stays_local, ClusterPlanner};
pub use scheduler::{run_scheduler, SchedulerOptions};
pub use version::{own_version, ClusterOptions, VERSION, VERSION_VARIABLE};

use datafusion::common::DataFusionError;
use std::sync::Arc;
use std::time::Duration;
use strata_sql::Engine;

/// Largest gRPC message between any two processes of a cluster: plans name every file they read,
/// so a plan over a large lake is large (Ballista's own default, 16 MiB, is a few 10,000 files).
pub const MAX_MESSAGE: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach the Strata scheduler at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("bad cluster address '{0}': expected HOST:PORT, e.g. 127.0.0.1:50050")]
    Address(String),
    #[error("{0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
}

impl ClusterError {
    pub(crate) fn into_df(self) -> DataFusionError {
        match self {
            ClusterError::DataFusion(e) => e,
            other => DataFusionError::Execution(other.to_string()),
        }
    }
}

/// HOST:PORT (a `df://` or `http://` prefix, as Ballista's own clients write it, is accepted).
pub fn parse_address(text: &str) -> Result<(String, u16), ClusterError> {
    let bare = text
        .trim()
        .trim_start_matches("df://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (host, port) = bare
        .rsplit_once(':')
        .ok_or_else(|| ClusterError::Address(text.to_string()))?;
    let port: u16 = port
        .parse()
        .map_err(|_| ClusterError::Address(text.to_string()))?;
    if host.is_empty() || port == 0 {
        return Err(ClusterError::Address(text.to_string()));
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// A cluster a client has reached: its scheduler answers.
#[derive(Debug, Clone)]
pub struct Cluster {
    scheduler: Scheduler,
}

impl Cluster {
    /// Reaches the scheduler at `address` (HOST:PORT); fails within `connect_timeout` when
    /// nothing answers there.
    pub async fn connect(
        address: &str,
        connect_timeout: Duration,
    ) -> Result<Cluster, ClusterError> {
        let (host, port) = parse_address(address)?;
        let scheduler = Scheduler {
            address: if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            },
            connect_timeout,
            max_message_size: MAX_MESSAGE,
        };
        scheduler.connect().await?;
        Ok(Cluster { scheduler })
    }

    /// The scheduler's HOST:PORT.
    pub fn address(&self) -> &str {
        &self.scheduler.address
    }

    /// `engine` with its sessions' queries running on this cluster where they can.
    pub fn attach(&self, engine: Engine) -> Engine {
        let config = engine.template().config().clone();
        let config = version::register(distributed_config(config), true);
        let planner = Arc::new(ClusterPlanner::new(self.scheduler.clone()));
        engine.with_state(|b| b.with_config(config).with_query_planner(planner))
    }
}

/// DataFusion settings for plans that Ballista cuts into stages:
/// - no round-robin repartitions: Ballista turns every repartition into a shuffle, and its own
///   planner refuses these;
/// - no view types from Parquet: Ballista's shuffle files and Flight results do not carry them
///   well (answers are the same; text columns are `Utf8` rather than `Utf8View`);
/// - no dynamic filters: a join's build side and its probe side's scan run in different stages,
///   even processes, so the filter could not pass between them, and the scheduler swaps join
///   sides once it knows their sizes, which a join holding a dynamic filter refuses (and the
///   job then waits forever).
fn distributed_config(
    config: datafusion::prelude::SessionConfig,
) -> datafusion::prelude::SessionConfig {
    let mut config = config.with_round_robin_repartition(false);
    let options = config.options_mut();
    options.execution.parquet.schema_force_view_types = false;
    options.sql_parser.map_string_types_to_utf8view = false;
    options.optimizer.enable_dynamic_filter_pushdown = false;
    options.optimizer.enable_join_dynamic_filter_pushdown = false;
    options.optimizer.enable_topk_dynamic_filter_pushdown = false;
    options.optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_or_without_a_scheme() {
        assert_eq!(
            parse_address("127.0.0.1:50050").unwrap(),
            ("127.0.0.1".into(), 50050)
        );
        assert_eq!(parse_address("df://sched:7").unwrap(), ("sched".into(), 7));
        assert_eq!(parse_address("[::1]:9").unwrap(), ("::1".into(), 9));
        for bad in ["sched", "sched:", ":50050", "sched:0", "sched:99999"] {
            let e = parse_address(bad).unwrap_err().to_string();
            assert!(e.contains("expected HOST:PORT"), "{bad}: {e}");
        }
    }
}
