//! Where queries run: on a runtime of their own, apart from the one that serves sockets, so a
//! CPU-heavy query never delays another client's handshake, cancel request or rows. Each query
//! is driven by one task there that sends batches through a small channel; dropping the
//! receiver (client gone, cancel, timeout) stops the query. The task looks at its stopper
//! whenever the query yields, which every operator does within 128 batches (strata_sql's coop
//! rule), so CPU-bound queries stop too. Catalog-only queries run on a runtime of their own,
//! and freed memory goes back to the system when no query runs.
use crate::PgSession;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{FutureExt, Stream, StreamExt};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use strata_sql::{Output, SqlError, Statement};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, watch};

/// Batches in flight between a query and its client: enough to overlap encoding with
/// execution, few enough that a slow client holds back the query (backpressure).
const CHANNEL_BATCHES: usize = 2;

pub struct Executor {
    /// Kept so the runtimes live as long as the server; taken on drop.
    runtimes: Vec<Runtime>,
    handle: Handle,
    /// Where queries that read only `pg_catalog`/`information_schema` run (psql's `\d`, BI
    /// tools' metadata calls): their own thread, so the OS shares the CPU between them and the
    /// lake queries however many of those are queued, and a tool's metadata stays fast under
    /// load. Catalog queries are small (their tables are cached, see the pg_catalog overlay in compat/overlay.rs).
    catalog: Handle,
    activity: Arc<Activity>,
}

/// Threads of the catalog runtime: one is plenty for queries over cached in-memory tables.
const CATALOG_THREADS: usize = 1;

/// How often an idle server checks whether to hand freed memory back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// Query tasks running now, and whether any ended since freed memory was last handed back.
#[derive(Default)]
struct Activity {
    running: AtomicUsize,
    ended: AtomicBool,
}

/// Counts a query task as running while it lives (finished, failed or aborted alike).
struct Running(Arc<Activity>);

impl Running {
    fn new(activity: &Arc<Activity>) -> Running {
        activity.running.fetch_add(1, Ordering::SeqCst);
        Running(activity.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::SeqCst);
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// glibc keeps what queries freed in its per-thread arenas instead of returning it, so after
/// a burst of clients the server stays at its peak (issue 10: 88 MB idle, 478 MB after 200
/// clients left). Once no query runs, `malloc_trim` returns the free pages of every arena.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: malloc_trim only releases free memory; it is thread-safe in glibc.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

impl Drop for Executor {
    /// The server drops this from async code, where a blocking runtime shutdown would panic;
    /// queries still running have been told to stop, so nothing is lost by not waiting.
    fn drop(&mut self) {
        for rt in self.runtimes.drain(..) {
            rt.shutdown_background();
        }
    }
}

impl Executor {
    pub fn new(threads: usize) -> std::io::Result<Executor> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("strata-query")
            .enable_all()
            .build()?;
        let catalog = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(CATALOG_THREADS)
            .thread_name("strata-catalog")
            .enable_all()
            .build()?;
        let activity = Arc::new(Activity::default());
        let watched = activity.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(TRIM_EVERY);
            loop {
                every.tick().await;
                if watched.running.load(Ordering::SeqCst) == 0
                    && watched.ended.swap(false, Ordering::SeqCst)
                {
                    let _ = tokio::task::spawn_blocking(release_free_memory).await;
                }
            }
        });
        Ok(Executor {
            handle: runtime.handle().clone(),
            catalog: catalog.handle().clone(),
            runtimes: vec![runtime, catalog],
            activity,
        })
    }
}

/// Why a query stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Cancelled,
    TimedOut,
    ShuttingDown,
}

/// What a query produced, with its rows streaming from the query runtime.
pub enum Ran {
    Rows(BatchStream),
    Status(String),
    CopyOut(BatchStream, strata_sql::CopyOptions),
}

/// A query's error or interruption, as the connection reports it.
#[derive(Debug)]
pub enum QueryError {
    Sql(SqlError),
    Interrupted(Interrupt),
    Panicked(String),
}

impl From<SqlError> for QueryError {
    fn from(e: SqlError) -> Self {
        QueryError::Sql(e)
    }
}

/// Watches for the reasons a running query must stop.
#[derive(Clone)]
pub struct Stopper {
    pub cancel: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
    pub deadline: Option<Instant>,
}

impl Stopper {
    /// Stops on the connection's cancel signal, on server shutdown, or after the session's
    /// statement_timeout (0 = none).
    pub fn new(
        cancel: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
        timeout_ms: u64,
    ) -> Stopper {
        Stopper {
            cancel,
            shutdown,
            deadline: deadline_after(timeout_ms),
        }
    }

    async fn stopped(&mut self) -> Interrupt {
        let start = *self.cancel.borrow_and_update();
        let deadline = self.deadline;
        let timeout = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = async {
                loop {
                    if self.cancel.changed().await.is_err() { std::future::pending::<()>().await }
                    if *self.cancel.borrow() != start { break }
                }
            } => Interrupt::Cancelled,
            _ = async {
                loop {
                    if *self.shutdown.borrow_and_update() { break }
                    if self.shutdown.changed().await.is_err() { std::future::pending::<()>().await }
                }
            } => Interrupt::ShuttingDown,
            _ = timeout => Interrupt::TimedOut,
        }
    }
}

impl Executor {
    /// Runs one statement: planning and execution happen on the query runtime; the result's
    /// batches come back through a channel.
    pub async fn run(
        &self,
        session: Arc<PgSession>,
        stmt: Statement,
        params: Option<datafusion::common::ParamValues>,
        stopper: Stopper,
    ) -> Result<Ran, QueryError> {
        let mut watch = stopper.clone();
        let handle = match session.reads_only_catalog(&stmt) {
            true => self.catalog.clone(),
            false => self.handle.clone(),
        };
        let running = Running::new(&self.activity);
        let planned = handle.spawn(
            AssertUnwindSafe(async move {
                let _running = running;
                match params {
                    Some(p) => session.execute_with_params(&stmt, p).await,
                    None => session.execute(&stmt).await,
                }
            })
            .catch_unwind(),
        );
        // Aborted when this returns early (interrupt) or is dropped (client gone): planning
        // and statements run to completion here (CREATE TABLE AS) must stop too, and abort
        // takes effect at the query's next yield (crate docs of strata_sql's coop rule).
        let mut planned = AbortOnDrop(planned);
        let output = tokio::select! {
            // The stopper first: when the query has spent its scheduling budget, the
            // budget-aware timer and watches would not be seen in the same poll.
            biased;
            why = watch.stopped() => return Err(QueryError::Interrupted(why)),
            joined = &mut planned.0 => match joined {
                Ok(Ok(Ok(output))) => output,
                Ok(Ok(Err(e))) => return Err(QueryError::Sql(e)),
                Ok(Err(panic)) => return Err(QueryError::Panicked(panic_text(&*panic))),
                Err(e) => return Err(QueryError::Panicked(e.to_string())),
            },
        };
        Ok(match output {
            Output::Status(tag) => Ran::Status(tag),
            Output::Rows(rows) => Ran::Rows(self.drive(&handle, rows, stopper)),
            Output::CopyOut { rows, options } => {
                Ran::CopyOut(self.drive(&handle, rows, stopper), options)
            }
        })
    }

    /// Runs `work` (parsing, describing) on the query runtime, so a large or deep statement
    /// never holds up the runtime that serves sockets. A panic in it is an error, and it stops
    /// for the same reasons a query does: the client learns at once, and its connection is
    /// free to go on or close, even while planning that cannot be interrupted finishes.
    pub async fn offload<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, SqlError>> + Send + 'static,
        mut stopper: Stopper,
    ) -> Result<T, QueryError> {
        let task = self.handle.spawn(AssertUnwindSafe(work).catch_unwind());
        let abort = task.abort_handle();
        tokio::select! {
            joined = task => match joined {
                Ok(Ok(result)) => result.map_err(QueryError::Sql),
                Ok(Err(panic)) => Err(QueryError::Panicked(panic_text(&*panic))),
                Err(e) => Err(QueryError::Panicked(e.to_string())),
            },
            why = stopper.stopped() => {
                abort.abort();
                Err(QueryError::Interrupted(why))
            }
        }
    }

    /// Polls the query's stream on the query runtime and forwards batches.
    fn drive(
        &self,
        handle: &Handle,
        mut rows: datafusion::execution::SendableRecordBatchStream,
        mut stopper: Stopper,
    ) -> BatchStream {
        let schema = rows.schema();
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let running = Running::new(&self.activity);
        let task = handle.spawn(async move {
            let _running = running;
            let pump = AssertUnwindSafe(async {
                while let Some(item) = rows.next().await {
                    let item = item.map_err(|e| QueryError::Sql(e.into()));
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            })
            .catch_unwind();
            tokio::select! {
                // The stopper first, for the reason given in `run`. The pump returns Pending
                // at least every 128 batches of any operator (strata_sql's coop rule), so
                // this is reached while a CPU-bound query computes.
                biased;
                why = stopper.stopped() => {
                    let _ = tx.send(Err(QueryError::Interrupted(why))).await;
                }
                done = pump => if let Err(panic) = done {
                    let _ = tx.send(Err(QueryError::Panicked(panic_text(&*panic)))).await;
                },
            }
        });
        BatchStream {
            schema,
            rx,
            task,
            rows: 0,
        }
    }
}

/// The batches of one running query. Dropping it stops the query.
pub struct BatchStream {
    pub schema: SchemaRef,
    rx: mpsc::Receiver<Result<RecordBatch, QueryError>>,
    task: tokio::task::JoinHandle<()>,
    pub rows: usize,
}

impl Stream for BatchStream {
    type Item = Result<RecordBatch, QueryError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(Ok(b))) = &polled {
            let n = b.num_rows();
            self.rows += n;
        }
        polled
    }
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// A duration for `statement_timeout`-style settings; zero means none.
fn deadline_after(ms: u64) -> Option<Instant> {
    (ms > 0).then(|| Instant::now() + Duration::from_millis(ms))
}
