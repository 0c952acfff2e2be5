//! One client connection: its session, authentication stage, cancel signal and idle clock,
//! and the log line of each statement. The protocol phases are beside it: `simple.rs`
//! (Query), `extended.rs` and `portal.rs` (Parse/Bind/Describe/Execute), `copy.rs` (COPY
//! out), `copy_in.rs` (COPY … FROM STDIN), and `responses.rs` (what every phase sends: rows, errors, tags).
use super::exec::{QueryError, Ran, Stopper};
use super::extended::StmtParser;
use super::startup::AuthStage;
use super::Shared;
use crate::PgSession;
use pgwire::error::PgWireResult;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use strata_sql::Statement;
use tokio::sync::watch;

pub struct Conn {
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(crate) session: Arc<OnceLock<Arc<PgSession>>>,
    pub(crate) user: Mutex<String>,
    pub(crate) auth: Mutex<AuthStage>,
    pub(super) parser: Arc<StmtParser>,
    pub(super) cancel: watch::Sender<u64>,
    pid: Mutex<Option<i32>>,
    /// For the idle timeout: when the client last sent a query, and whether one is running.
    pub(crate) last_active: AtomicU64,
    pub(crate) busy: AtomicBool,
    /// A `COPY … FROM STDIN` receiving data (copy_in.rs).
    pub(super) copy_in: Mutex<Option<super::copy_in::CopyIn>>,
}

impl Conn {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr) -> Conn {
        let session = Arc::new(OnceLock::new());
        let cancel = watch::channel(0).0;
        Conn {
            parser: Arc::new(StmtParser {
                session: session.clone(),
                shared: shared.clone(),
                cancel: cancel.subscribe(),
            }),
            shared,
            peer,
            session,
            user: Mutex::new(String::new()),
            auth: Mutex::new(AuthStage::None),
            cancel,
            pid: Mutex::new(None),
            last_active: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            copy_in: Mutex::new(None),
        }
    }

    /// Makes this connection cancellable by (pid, secret) from a CancelRequest.
    pub(crate) fn register(&self, pid: i32, secret: i32) {
        *self.pid.lock().expect("pid lock") = Some(pid);
        self.shared
            .cancels
            .lock()
            .expect("cancel registry")
            .insert(pid, (secret, self.cancel.clone()));
    }

    pub(super) fn session(&self) -> PgWireResult<Arc<PgSession>> {
        self.session.get().cloned().ok_or_else(|| {
            super::fatal(
                crate::sqlstate::PROTOCOL_VIOLATION,
                "query before authentication",
            )
        })
    }

    pub(super) fn touch(&self) {
        self.last_active
            .store(self.shared.clock_ms(), Ordering::Relaxed);
    }

    pub(super) fn stopper(&self, session: &PgSession) -> Stopper {
        Stopper::new(
            self.cancel.subscribe(),
            self.shared.shutdown.subscribe(),
            session.settings().statement_timeout_ms(),
        )
    }

    pub(super) async fn run(
        &self,
        session: &Arc<PgSession>,
        stmt: &Statement,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<Ran, QueryError> {
        self.shared
            .exec
            .run(session.clone(), stmt.clone(), params, self.stopper(session))
            .await
    }

    /// The log record of one statement; written when the statement's rows are done.
    pub(super) fn query_log(&self, session: &PgSession, stmt: &Statement) -> Arc<QueryLog> {
        Arc::new(QueryLog {
            user: self.user.lock().expect("user lock").clone(),
            zone: session.current_zone(),
            sql: truncate(&stmt.to_string(), 200),
            started: Instant::now(),
            rows: AtomicUsize::new(0),
            outcome: Mutex::new("incomplete"),
        })
    }
}

/// One structured line per statement (user, zone, duration, rows, outcome), written when the
/// last reference goes: after the last row is sent, on error, or when a client abandons the
/// result (outcome "incomplete").
pub(crate) struct QueryLog {
    user: String,
    zone: String,
    sql: String,
    started: Instant,
    pub(super) rows: AtomicUsize,
    pub(super) outcome: Mutex<&'static str>,
}

impl QueryLog {
    pub(super) fn set(&self, outcome: &'static str) {
        *self.outcome.lock().expect("log lock") = outcome;
    }
}

impl Drop for QueryLog {
    fn drop(&mut self) {
        tracing::info!(
            target: "strata::query",
            user = %self.user,
            zone = %self.zone,
            ms = self.started.elapsed().as_millis() as u64,
            rows = self.rows.load(Ordering::Relaxed),
            outcome = *self.outcome.lock().expect("log lock"),
            sql = %self.sql,
        );
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(pid) = *self.pid.lock().expect("pid lock") {
            self.shared
                .cancels
                .lock()
                .expect("cancel registry")
                .remove(&pid);
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
