//! `strata scheduler`, `strata executor` and `--cluster`: the command line of cluster mode
//! (docs/cluster.md). The work is in the strata-cluster crate; this file turns flags into its
//! options and starts its processes the way `strata serve` starts the server.
use crate::cli::{ExecutorArgs, SchedulerArgs};
use anyhow::{Context as _, Result};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;
use strata_cluster::{Cluster, ExecutorOptions, SchedulerOptions};
use strata_sql::EngineSetup;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn socket(text: &str, what: &str) -> Result<SocketAddr> {
    text.to_socket_addrs()
        .with_context(|| format!("bad {what} '{text}': expected HOST:PORT"))?
        .next()
        .with_context(|| format!("no address for {what} '{text}'"))
}

/// `strata scheduler`: runs until stopped.
pub fn scheduler(args: &SchedulerArgs) -> Result<ExitCode> {
    crate::init_logging();
    let opts = SchedulerOptions {
        bind: socket(&args.bind, "--bind")?,
        external_host: args.external_host.clone(),
        executor_timeout: args.executor_timeout,
        result_ttl: args.result_ttl,
        ..SchedulerOptions::default()
    };
    tracing::info!(
        "Strata {} scheduler listening on {}",
        strata_cluster::own_version(),
        opts.bind
    );
    runtime()?
        .block_on(strata_cluster::run_scheduler(opts))
        .with_context(|| format!("the scheduler on {} stopped", args.bind))?;
    Ok(ExitCode::SUCCESS)
}

/// `strata executor`: runs until stopped.
pub fn executor(args: &ExecutorArgs) -> Result<ExitCode> {
    crate::init_logging();
    let bind = socket(&args.bind, "--bind")?;
    let opts = ExecutorOptions {
        scheduler: args.scheduler.clone(),
        bind,
        grpc_port: match args.grpc_port {
            Some(p) => p,
            None => bind
                .port()
                .checked_add(1)
                .context("--bind port 65535 leaves no port for tasks: give --grpc-port")?,
        },
        external_host: args.external_host.clone(),
        slots: args.slots,
        work_dir: args.work_dir.clone(),
        memory: args.memory.map(|m| m as u64),
        heartbeat: Duration::from_secs(5),
        name: args.name.clone(),
    };
    tracing::info!(
        "Strata {} executor on {} taking tasks from {}",
        strata_cluster::own_version(),
        bind,
        args.scheduler
    );
    runtime()?
        .block_on(strata_cluster::run_executor(opts))
        .with_context(|| format!("the executor on {} stopped", args.bind))?;
    Ok(ExitCode::SUCCESS)
}

/// Reaches the cluster of `--cluster`, if given: what every engine of this process then gets.
pub async fn setup(address: Option<&str>, timeout: Duration) -> Result<Option<EngineSetup>> {
    let Some(address) = address.filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    let cluster = Cluster::connect(address, timeout).await?;
    Ok(Some(EngineSetup::new(move |engine| cluster.attach(engine))))
}
