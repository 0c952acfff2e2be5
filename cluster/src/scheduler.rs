//! `strata scheduler`: Ballista's scheduler with Strata's codec and version check. It receives
//! plans the clients made, cuts them into stages and hands tasks to executors; it never reads the
//! lake (docs/cluster.md).
use crate::codec::StrataCodec;
use crate::shuffle_report::ReportingJobState;
use crate::stores::EnvStores;
use crate::{version, ClusterError};
use ballista_core::extension::SessionConfigExt;
use ballista_core::utils::default_session_builder;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use strata_catalog::StrataOptions;

/// What `strata scheduler` is told on its command line.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where clients and executors reach it (gRPC, Arrow Flight and the REST API share the port).
    pub bind: SocketAddr,
    /// The host name executors and clients use for it, when not the bind address.
    pub external_host: Option<String>,
    /// An executor silent this long is dead: its tasks run again elsewhere.
    pub executor_timeout: Duration,
    /// How long a job waits for an executor when none is registered, before it fails.
    pub no_executor_grace: Duration,
    /// How long executors keep a finished query's result for its client to fetch.
    pub result_ttl: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 50050)),
            external_host: None,
            executor_timeout: Duration::from_secs(30),
            no_executor_grace: Duration::from_secs(30),
            result_ttl: Duration::from_secs(3600),
        }
    }
}

/// Session settings every process of the cluster knows: Ballista's, Strata's, the cluster's.
pub(crate) fn cluster_config() -> SessionConfig {
    version::register(
        StrataOptions::register(SessionConfig::new_with_ballista()),
        false,
    )
}

/// Runs the scheduler until the process is stopped.
pub async fn run_scheduler(opts: SchedulerOptions) -> Result<(), ClusterError> {
    let mut config = SchedulerConfig {
        bind_host: opts.bind.ip().to_string(),
        bind_port: opts.bind.port(),
        external_host: opts
            .external_host
            .clone()
            .unwrap_or_else(|| opts.bind.ip().to_string()),
        // Spread each stage's tasks over the executors rather than filling one first.
        task_distribution: TaskDistributionPolicy::RoundRobin,
        executor_timeout_seconds: opts.executor_timeout.as_secs().max(1),
        expire_dead_executor_interval_seconds: (opts.executor_timeout.as_secs() / 3).clamp(1, 15),
        no_executors_grace_period_seconds: opts.no_executor_grace.as_secs(),
        // Results wait this long for the client to fetch them (a slow reader: a cursor, a pager).
        finished_job_data_clean_up_interval_seconds: opts.result_ttl.as_secs().max(1),
        grpc_server_max_decoding_message_size: crate::MAX_MESSAGE as u32,
        grpc_server_max_encoding_message_size: crate::MAX_MESSAGE as u32,
        grpc_client_max_message_size: crate::MAX_MESSAGE as u32,
        ..SchedulerConfig::default()
    };
    config.override_physical_codec = Some(Arc::new(StrataCodec::default()));
    config.override_config_producer = Some(Arc::new(cluster_config));
    // Decoding a plan looks up the stores its scans name, so the scheduler has them too; it
    // never reads from them.
    let stores = Arc::new(EnvStores::new("scheduler"));
    config.override_session_builder = Some(Arc::new(move |config: SessionConfig| {
        version::check(&config, "scheduler")?;
        let state = default_session_builder(config)?;
        let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
            .with_object_store_registry(stores.clone())
            .build_arc()?;
        Ok(SessionStateBuilder::new_from_existing(state)
            .with_runtime_env(runtime)
            .build())
    }));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let cluster = BallistaCluster::new(
        cluster.cluster_state(),
        Arc::new(ReportingJobState(cluster.job_state())),
    );
    start_server(cluster, opts.bind, Arc::new(config)).await?;
    Ok(())
}
