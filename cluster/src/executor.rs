//! `strata executor`: Ballista's executor with Strata's codec, functions and version check. It
//! runs tasks of plans the clients made and reads the lake's files itself, opening each store
//! named in a plan from its own environment (docs/cluster.md#stores).
use crate::codec::StrataCodec;
use crate::scheduler::cluster_config;
use crate::stores::EnvStores;
use crate::ClusterError;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What `strata executor` is told on its command line.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's HOST:PORT.
    pub scheduler: String,
    /// The address its Arrow Flight service (shuffle and result data) listens on.
    pub bind: std::net::SocketAddr,
    /// The port of its gRPC service (tasks from the scheduler).
    pub grpc_port: u16,
    /// The host name the scheduler, other executors and clients reach it by.
    pub external_host: Option<String>,
    /// Tasks it runs at once; 0 = the number of cores.
    pub slots: usize,
    /// Where shuffle files are written; None = a temporary directory.
    pub work_dir: Option<PathBuf>,
    /// Memory for its tasks; None = Ballista's default share of the machine.
    pub memory: Option<u64>,
    /// How often it tells the scheduler it is alive.
    pub heartbeat: Duration,
    /// Its name in the scheduler, job metrics and error messages; None = a generated id.
    pub name: Option<String>,
}

/// Runs the executor until the process is stopped.
pub async fn run_executor(opts: ExecutorOptions) -> Result<(), ClusterError> {
    let (scheduler_host, scheduler_port) = crate::parse_address(&opts.scheduler)?;
    let mut config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        port: opts.bind.port(),
        grpc_port: opts.grpc_port,
        external_host: opts.external_host.clone(),
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 10,
        vcores: opts.slots,
        work_dir: opts
            .work_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        memory_pool_size: opts.memory,
        executor_heartbeat_interval_seconds: opts.heartbeat.as_secs().max(1),
        print_thread_info: false,
        grpc_max_decoding_message_size: crate::MAX_MESSAGE as u32,
        grpc_max_encoding_message_size: crate::MAX_MESSAGE as u32,
        ..ExecutorProcessConfig::default()
    };
    if let Some(name) = &opts.name {
        config.executor_id = name.clone();
    }
    let name = config.executor_id.clone();
    let stores = Arc::new(EnvStores::new(&format!("executor {name}")));
    let work_dir = config.work_dir.clone();
    // The codec checks each task's client version (see StrataCodec::for_executor).
    config.override_physical_codec = Some(Arc::new(StrataCodec::for_executor(&name)));
    config.override_config_producer = Some(Arc::new(cluster_config));
    config.override_runtime_producer = Some(Arc::new(move |_: &SessionConfig| {
        let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores.clone());
        if let Some(dir) = &work_dir {
            runtime = runtime.with_temp_file_path(dir);
        }
        runtime.build_arc()
    }));
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}
