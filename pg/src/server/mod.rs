//! `strata serve`: the lake over the PostgreSQL wire protocol (docs/server.md).
//!
//! Sockets are served on the process's runtime; queries run on a runtime of their own (see
//! [`exec`]). A semaphore caps connections, a watch channel tells everything to shut down, and
//! each connection is a task, so one client's failure or panic ends that client only.
//!
//! A connection's messages: `socket.rs` reads and checks each frame (`frames.rs`) and hands it
//! to pgwire's dispatcher; `startup.rs` authenticates (`scram.rs`); then `simple.rs` (Query),
//! `extended.rs` and `portal.rs` (Parse/Bind/Describe/Execute), `copy.rs` (COPY out),
//! `copy_in.rs` (COPY … FROM STDIN) and `responses.rs` answer, running statements through `exec.rs`.
mod conn;
mod copy;
mod copy_in;
mod exec;
mod extended;
mod frames;
mod params;
mod portal;
mod responses;
pub mod scram;
mod simple;
mod socket;
mod startup;

pub use frames::Limits;

use crate::sqlstate::{self, ADMIN_SHUTDOWN, INTERNAL_ERROR, QUERY_CANCELED};
use crate::PgEngine;
use conn::Conn;
use exec::{Executor, Interrupt, QueryError};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::PgWireServerHandlers;
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_catalog::config::UserConfig;
use strata_sql::{Engine, Lake, StatementLimits};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Settings of `strata serve`: flags override `[server]` in strata.toml, which overrides these
/// defaults.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub max_connections: usize,
    pub idle_timeout: Option<Duration>,
    pub statement_timeout_ms: u64,
    pub query_memory_limit: Option<usize>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub require_tls: bool,
    pub query_threads: usize,
    /// How large client messages may be (docs/server.md, "Protocol limits").
    pub limits: frames::Limits,
    /// How long a client may take from connecting to finishing authentication.
    pub startup_timeout: Duration,
    /// Bounds on statements (nesting depth), for every session.
    pub statement_limits: StatementLimits,
    /// How much of one `COPY … FROM STDIN` is held in memory; the rest waits in a temporary
    /// file until the copy ends (docs/server.md, "Writing").
    pub copy_memory: usize,
    /// Applied to the engine the server starts, e.g. to run queries on a cluster.
    pub engine_setup: Option<strata_sql::EngineSetup>,
}

/// The defaults `strata serve` documents (docs/server.md, "Settings"), for a program that
/// starts a server itself ([`start`]).
impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: "127.0.0.1:5433".into(),
            max_connections: 100,
            idle_timeout: Some(Duration::from_secs(600)),
            statement_timeout_ms: 0,
            query_memory_limit: Some(2 << 30),
            tls: None,
            require_tls: false,
            query_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            limits: frames::Limits::default(),
            startup_timeout: Duration::from_secs(60),
            statement_limits: StatementLimits::default(),
            copy_memory: 64 << 20,
            engine_setup: None,
        }
    }
}

/// Why the server could not start; once it runs, one client's errors never stop it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeError(String);

type Result<T, E = ServeError> = std::result::Result<T, E>;

/// Adds what was being done to an error, as the message the operator sees.
trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| ServeError(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| ServeError(what()))
    }
}

/// What every connection shares.
pub struct Shared {
    pg: PgEngine,
    exec: Executor,
    users: BTreeMap<String, UserConfig>,
    require_tls: bool,
    statement_timeout_ms: u64,
    query_memory_limit: Option<usize>,
    statement_limits: StatementLimits,
    copy_memory: usize,
    /// Running queries by (pid → secret, cancel signal), for CancelRequest.
    cancels: Mutex<HashMap<i32, (i32, watch::Sender<u64>)>>,
    shutdown: watch::Sender<bool>,
    next_pid: AtomicI32,
    started: Instant,
}

impl Shared {
    fn next_pid(&self) -> i32 {
        self.next_pid.fetch_add(1, Ordering::Relaxed)
    }

    fn clock_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// A CancelRequest: stops the query of the connection whose (pid, secret) it names.
    fn cancel(&self, pid: i32, secret: &[u8]) {
        let secret = <[u8; 4]>::try_from(secret).ok().map(i32::from_be_bytes);
        let cancels = self.cancels.lock().expect("cancel registry");
        match (cancels.get(&pid), secret) {
            (Some((expected, tx)), Some(secret)) if *expected == secret => {
                tx.send_modify(|n| *n += 1);
                tracing::info!(pid, "query cancelled by request");
            }
            _ => tracing::warn!(pid, "cancel request for no matching connection"),
        }
    }
}

/// The handlers of one connection (pgwire asks for each kind separately).
struct Handlers(Arc<Conn>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.0.clone()
    }
    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.0.clone()
    }
    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.0.clone()
    }
    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.0.clone()
    }
    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(Canceller(self.0.shared.clone()))
    }
}

/// pgwire's cancel hook. CancelRequests are answered in [`socket::open`] before a connection
/// counts as a session, so this only covers one reaching pgwire's dispatcher some other way.
struct Canceller(Arc<Shared>);

#[async_trait::async_trait]
impl CancelHandler for Canceller {
    async fn on_cancel_request(&self, req: CancelRequest) {
        let secret = match &req.secret_key {
            SecretKey::I32(s) => s.to_be_bytes().to_vec(),
            SecretKey::Bytes(b) => b.to_vec(),
        };
        self.0.cancel(req.pid, &secret);
    }
}

/// An error for the client, with its SQLSTATE.
pub(crate) fn error_info(e: &QueryError) -> ErrorInfo {
    let (severity, code, message) = match e {
        QueryError::Sql(e) => ("ERROR", sqlstate::of(e), sqlstate::message(e)),
        QueryError::Interrupted(Interrupt::Cancelled) => (
            "ERROR",
            QUERY_CANCELED,
            "canceling statement due to user request".into(),
        ),
        QueryError::Interrupted(Interrupt::TimedOut) => (
            "ERROR",
            QUERY_CANCELED,
            "canceling statement due to statement timeout".into(),
        ),
        QueryError::Interrupted(Interrupt::ShuttingDown) => (
            "FATAL",
            ADMIN_SHUTDOWN,
            "terminating connection: the server is shutting down".into(),
        ),
        QueryError::Panicked(m) => (
            "ERROR",
            INTERNAL_ERROR,
            format!("internal error while running the query: {m}"),
        ),
    };
    ErrorInfo::new(severity.into(), code.into(), message)
}

pub(crate) fn fatal(code: &str, message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        code.into(),
        message.into(),
    )))
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<pgwire::tokio::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .context(|| format!("cannot read TLS certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .context(|| format!("bad TLS certificate {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .context(|| format!("cannot read TLS key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context(|| "TLS protocol versions".into())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context(|| "the TLS certificate and key do not match".into())?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(config)))
}

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn serve(lake: Arc<Lake>, opts: ServeOptions) -> Result<()> {
    let uri = lake.uri().to_string();
    let bound = bind(lake, opts).await?;
    // Tests and scripts read this line to learn the port when listening on :0.
    eprintln!("strata: serving {uri} on {}", bound.local);
    bound.run(shutdown_signal()).await;
    Ok(())
}

/// A server started by [`start`] in this process. Dropping it stops the server as SIGTERM
/// does; [`Running::stop`] also waits until it has stopped.
pub struct Running {
    /// The address it listens on (the port picked when `listen` said port 0).
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the server (no new connections, running queries interrupted, connections
    /// closed) and waits until it has.
    pub async fn stop(mut self) {
        drop(self.stop.take());
        let _ = (&mut self.task).await;
    }
}

/// Starts the server on the current tokio runtime and returns once it listens: for a program
/// (or test) that serves a lake alongside other work. Signals are left to the caller.
pub async fn start(lake: Arc<Lake>, opts: ServeOptions) -> Result<Running> {
    let bound = bind(lake, opts).await?;
    let addr = bound.local;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // A dropped sender stops it as well as a sent one.
    let task = tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

/// A server that listens but does not accept yet.
struct Bound {
    listener: TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    opts: ServeOptions,
}

/// Checks the options, builds the engine and binds the listening socket.
async fn bind(lake: Arc<Lake>, opts: ServeOptions) -> Result<Bound> {
    let addr: SocketAddr = tokio::net::lookup_host(&opts.listen)
        .await
        .context(|| format!("cannot resolve listen address {}", opts.listen))?
        .next()
        .context(|| format!("no address for {}", opts.listen))?;
    let users = lake.config().users.clone();
    if users.is_empty() && !addr.ip().is_loopback() {
        return Err(ServeError(format!(
            "refusing to listen on {addr} without users: anyone who can reach it could read the \
             lake. Add [users.<name>] with a password (see `strata password`) to strata.toml, or \
             listen on 127.0.0.1"
        )));
    }
    let tls = match &opts.tls {
        Some((c, k)) => Some(tls_acceptor(c, k)?),
        None => None,
    };
    let engine = Engine::new(lake.clone(), None).context(|| "cannot start the engine".into())?;
    let engine = match &opts.engine_setup {
        Some(setup) => setup.apply(engine),
        None => engine,
    };
    let shared = Arc::new(Shared {
        pg: PgEngine::new(engine).context(|| "cannot start the Postgres catalog".into())?,
        exec: Executor::new(opts.query_threads)
            .context(|| "cannot start the query runtime".into())?,
        users,
        require_tls: opts.require_tls,
        statement_timeout_ms: opts.statement_timeout_ms,
        query_memory_limit: opts.query_memory_limit,
        statement_limits: opts.statement_limits,
        copy_memory: opts.copy_memory,
        cancels: Mutex::new(HashMap::new()),
        shutdown: watch::channel(false).0,
        next_pid: AtomicI32::new(std::process::id() as i32 % 100_000 * 10 + 1),
        started: Instant::now(),
    });
    let listener = TcpListener::bind(addr)
        .await
        .context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context(|| "cannot read the listening address".into())?;
    tracing::info!(%local, tls = tls.is_some(), max_connections = opts.max_connections, "listening");
    Ok(Bound {
        listener,
        local,
        shared,
        tls,
        opts,
    })
}

impl Bound {
    /// Accepts and serves connections until `stop` resolves, then shuts down.
    async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let Bound {
            listener,
            shared,
            tls,
            opts,
            ..
        } = self;
        // A connection takes a session only once its startup packet is read: a CancelRequest is
        // not a session. Connections still opening are bounded by startup_timeout, as in
        // PostgreSQL (authentication_timeout), so silent sockets cannot pile up for long.
        let sessions = Arc::new(Semaphore::new(opts.max_connections));
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        loop {
            let (socket, peer) = tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    // Out of file descriptors and the like: wait and keep serving the others.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            while tasks.try_join_next().is_some() {}
            let shared = shared.clone();
            let tls = tls.clone();
            let idle = opts.idle_timeout;
            let sessions = sessions.clone();
            let (limits, startup_timeout) = (opts.limits, opts.startup_timeout);
            tasks.spawn(async move {
                let opened = tokio::time::timeout(
                    startup_timeout,
                    socket::open(socket, &shared, tls, limits),
                )
                .await;
                let Ok(Some(opened)) = opened else { return };
                let Ok(permit) = sessions.try_acquire_owned() else {
                    let open = shared.cancels.lock().map(|c| c.len()).unwrap_or(0);
                    opened.refuse(open).await;
                    return;
                };
                let conn = Arc::new(Conn::new(shared.clone(), peer));
                let watched = conn.clone();
                let served = socket::serve(opened, Handlers(conn), startup_timeout);
                tokio::select! {
                    r = served => if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    },
                    _ = idle_watch(watched, idle) => {
                        tracing::info!(%peer, "closing idle connection");
                    }
                }
                drop(permit);
            });
        }
        tracing::info!("shutting down: no new connections; stopping running queries");
        drop(listener);
        shared.shutdown.send_replace(true);
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), drain)
            .await
            .is_err()
        {
            tracing::warn!("connections still open after 10 s; closing them");
        }
    }
}

/// Resolves when a connection should close between queries: idle (no query running) longer
/// than `idle`, or the server shutting down. A running query is never cut here; shutdown
/// interrupts it through its own stopper.
async fn idle_watch(conn: Arc<Conn>, idle: Option<Duration>) {
    let mut shutdown = conn.shared.shutdown.subscribe();
    let tick = idle
        .map(|i| (i / 4).clamp(Duration::from_millis(50), Duration::from_secs(5)))
        .unwrap_or(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {},
            _ = shutdown.changed() => {},
        }
        let busy = conn.busy.load(Ordering::Relaxed);
        if *shutdown.borrow() && !busy {
            return;
        }
        if let Some(idle) = idle {
            let now = conn.shared.clock_ms();
            let last = conn.last_active.load(Ordering::Relaxed);
            if !busy && now.saturating_sub(last) > idle.as_millis() as u64 {
                return;
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
