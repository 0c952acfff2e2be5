//! One client connection: its session, the simple query protocol (several statements per
//! message, run one after another, each streamed before the next starts) and the extended one
//! (Parse/Bind/Describe/Execute with parameters, binary results, row limits answered with
//! PortalSuspended, which pgwire's portal store handles).
use super::exec::{deadline_after, BatchStream, QueryError, Ran, Stopper};
use super::extended::{Prepared, StmtParser};
use super::startup::AuthStage;
use super::{error_info, Shared};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{
    send_query_response, send_ready_for_query, ExtendedQueryHandler, SimpleQueryHandler,
};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyDone, CopyOutResponse};
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use strata::wire as encode;
use strata_sql::{Described, Session, Statement};
use tokio::sync::watch;

pub struct Conn {
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(crate) session: Arc<OnceLock<Arc<Session>>>,
    pub(crate) user: Mutex<String>,
    pub(crate) auth: Mutex<AuthStage>,
    pub(super) parser: Arc<StmtParser>,
    pub(super) cancel: watch::Sender<u64>,
    pid: Mutex<Option<i32>>,
    /// For the idle timeout: when the client last sent a query, and whether one is running.
    pub(crate) last_active: AtomicU64,
    pub(crate) busy: AtomicBool,
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

    pub(super) fn session(&self) -> PgWireResult<Arc<Session>> {
        self.session
            .get()
            .cloned()
            .ok_or_else(|| super::fatal("08P01", "query before authentication"))
    }

    pub(super) fn touch(&self) {
        self.last_active
            .store(self.shared.clock_ms(), Ordering::Relaxed);
    }

    pub(super) fn stopper(&self, session: &Session) -> Stopper {
        let timeout = session
            .pg_settings()
            .map(|s| s.statement_timeout_ms())
            .unwrap_or(0);
        Stopper {
            cancel: self.cancel.subscribe(),
            shutdown: self.shared.shutdown.subscribe(),
            deadline: deadline_after(timeout),
        }
    }

    pub(super) async fn run(
        &self,
        session: &Arc<Session>,
        stmt: &Statement,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<Ran, QueryError> {
        self.shared
            .exec
            .run(session.clone(), stmt.clone(), params, self.stopper(session))
            .await
    }

    /// The log record of one statement; written when the statement's rows are done.
    pub(super) fn query_log(&self, session: &Session, stmt: &Statement) -> Arc<QueryLog> {
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
    rows: AtomicUsize,
    outcome: Mutex<&'static str>,
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

/// The tag of a result set's CommandComplete, by the statement's first word.
pub(super) fn rows_tag(stmt: &Statement) -> &'static str {
    let text = stmt.to_string();
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('(')
        .to_ascii_uppercase();
    match first.as_str() {
        "FETCH" => "FETCH",
        "SHOW" => "SHOW",
        "EXPLAIN" => "EXPLAIN",
        _ => "SELECT",
    }
}

/// The CommandComplete tag of a status (the session's DECLARE tag also names the cursor).
pub(super) fn command_tag(tag: &str) -> &str {
    if tag.starts_with("DECLARE CURSOR") {
        "DECLARE CURSOR"
    } else {
        tag
    }
}

fn transaction_after(tag: &str, status: TransactionStatus) -> TransactionStatus {
    match tag {
        "BEGIN" => TransactionStatus::Transaction,
        "COMMIT" | "ROLLBACK" => TransactionStatus::Idle,
        _ => status,
    }
}

/// Batches as pgwire wants them, errors carrying their SQLSTATE; rows counted into the log.
pub(super) fn pg_batches(
    stream: BatchStream,
    log: Arc<QueryLog>,
) -> impl futures::Stream<Item = PgWireResult<datafusion::arrow::array::RecordBatch>> + Send + 'static
{
    let end = log.clone();
    stream
        .map(move |b| match b {
            Ok(b) => {
                log.rows.fetch_add(b.num_rows(), Ordering::Relaxed);
                Ok(b)
            }
            Err(e) => {
                log.set("error");
                Err(PgWireError::UserError(Box::new(error_info(&e))))
            }
        })
        .chain(futures::stream::poll_fn(move |_| {
            let mut outcome = end.outcome.lock().expect("log lock");
            if *outcome == "incomplete" {
                *outcome = "ok";
            }
            std::task::Poll::Ready(None)
        }))
}

/// The session's TimeZone, which timestamptz text is printed in (as ParameterStatus reports it).
pub(super) fn time_zone(session: &Session) -> String {
    session
        .show_setting("timezone")
        .unwrap_or_else(|| "UTC".into())
}

pub(super) fn query_response(
    stream: BatchStream,
    format: &Format,
    tag: &str,
    log: Arc<QueryLog>,
    zone: &str,
) -> QueryResponse {
    let schema: SchemaRef = stream.schema.clone();
    let fields = Arc::new(encode::session_fields(
        &schema,
        format,
        &encode::session_format(zone),
    ));
    let rows = encode::data_rows(pg_batches(stream, log), schema, fields.clone());
    let mut resp = QueryResponse::new(fields, rows);
    resp.set_command_tag(tag);
    resp
}

#[async_trait]
impl SimpleQueryHandler for Conn {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        self.busy.store(true, Ordering::Relaxed);
        let mut status = client.transaction_status();
        let result = self.simple(client, &query.query, &mut status).await;
        self.busy.store(false, Ordering::Relaxed);
        self.touch();
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        result?;
        send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        unreachable!("on_query runs simple queries itself")
    }
}

impl Conn {
    pub(super) async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Arc<Portal<Prepared>>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::api::portal::PortalExecutionState as State;
        let initial = matches!(*portal.state().lock().await, State::Initial);
        if initial {
            match ExtendedQueryHandler::do_query(self, client, portal, max_rows).await? {
                Response::Query(results) => portal.start(results).await,
                Response::Execution(tag) => {
                    client
                        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                        .await?;
                    return Ok(());
                }
                Response::TransactionStart(tag) => {
                    client
                        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                        .await?;
                    client.set_transaction_status(TransactionStatus::Transaction);
                    return Ok(());
                }
                Response::TransactionEnd(tag) => {
                    client
                        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                        .await?;
                    client.set_transaction_status(TransactionStatus::Idle);
                    return Ok(());
                }
                Response::CopyOut(copy) => {
                    return pgwire::api::copy::send_copy_out_response(client, copy).await
                }
                Response::EmptyQuery => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?;
                    return Ok(());
                }
                Response::Error(e) => return Err(PgWireError::UserError(e)),
                Response::CopyIn(_) | Response::CopyBoth(_) => {
                    return Err(PgWireError::UserError(Box::new(
                        pgwire::error::ErrorInfo::new(
                            "ERROR".into(),
                            "0A000".into(),
                            "COPY FROM is not supported: the lake is read-only over SQL".into(),
                        ),
                    )))
                }
            }
        }
        if max_rows > 0 {
            let fetched = portal.fetch(max_rows).await?;
            let mut response = fetched.response;
            let tag = response.command_tag().to_owned();
            let mut n = 0;
            while let Some(row) = response.data_rows().next().await {
                client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                n += 1;
            }
            let done = if fetched.suspended {
                PgWireBackendMessage::PortalSuspended(
                    pgwire::messages::extendedquery::PortalSuspended::new(),
                )
            } else {
                PgWireBackendMessage::CommandComplete(Tag::new(&tag).with_rows(n).into())
            };
            return client.send(done).await.map_err(Into::into);
        }
        // Everything that is left, streamed.
        let taken = std::mem::replace(&mut *portal.state().lock().await, State::Finished);
        let State::Suspended(mut response) = taken else {
            return client
                .feed(PgWireBackendMessage::CommandComplete(
                    Tag::new("SELECT").with_rows(0).into(),
                ))
                .await
                .map_err(Into::into);
        };
        let tag = response.command_tag().to_owned();
        let mut n = 0;
        while let Some(row) = response.data_rows().next().await {
            client.feed(PgWireBackendMessage::DataRow(row?)).await?;
            n += 1;
        }
        client
            .feed(PgWireBackendMessage::CommandComplete(
                Tag::new(&tag).with_rows(n).into(),
            ))
            .await
            .map_err(Into::into)
    }

    /// A DECLAREd cursor is also a portal of the protocol: psycopg 3's named cursors Describe
    /// it by name to learn the columns before they FETCH.
    pub(super) async fn cursor_portal<C>(
        &self,
        client: &mut C,
        session: &Session,
        name: &str,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore<Statement = Prepared>,
    {
        let schema = session.cursor_schema(name).await;
        let fetch = format!("FETCH ALL FROM \"{}\"", name.replace('"', "\"\""));
        let Some(stmt) = session.parse(&fetch).ok().and_then(|mut s| s.pop()) else {
            return Ok(());
        };
        let prepared = Prepared {
            stmt,
            described: Described {
                schema,
                ..Default::default()
            },
        };
        let stored = Arc::new(StoredStatement::new(name.to_string(), prepared, vec![]));
        client
            .portal_store()
            .put_portal(Arc::new(Portal::new_cursor(name.to_string(), stored)));
        Ok(())
    }

    /// Runs the statements of one Query message in order. Errors a statement raises go to the
    /// client and end the message; only a broken connection is returned.
    async fn simple<C>(
        &self,
        client: &mut C,
        text: &str,
        status: &mut TransactionStatus,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        let parsing = {
            let (session, text) = (session.clone(), text.to_owned());
            async move { session.parse(&text) }
        };
        let stmts = match self
            .shared
            .exec
            .offload(parsing, self.stopper(&session))
            .await
        {
            Ok(s) => s,
            Err(e) => return self.send_error(client, error_info(&e), status).await,
        };
        if stmts.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            return Ok(());
        }
        for stmt in &stmts {
            if *status == TransactionStatus::Error && !ends_transaction(stmt) {
                let info = pgwire::error::ErrorInfo::new(
                    "ERROR".into(),
                    "25P02".into(),
                    "current transaction is aborted, commands ignored until end of transaction block".into(),
                );
                return self.send_error(client, info, status).await;
            }
            let log = self.query_log(&session, stmt);
            let ran = match self.run(&session, stmt, None).await {
                Ok(r) => r,
                Err(e) => {
                    log.set("error");
                    return self.send_error(client, error_info(&e), status).await;
                }
            };
            let sent = match ran {
                Ran::Status(tag) => {
                    log.set("ok");
                    let tag = command_tag(&tag);
                    *status = transaction_after(tag, *status);
                    client
                        .feed(PgWireBackendMessage::CommandComplete(Tag::new(&tag).into()))
                        .await
                        .map_err(Into::into)
                }
                Ran::Rows(stream) => {
                    let resp = query_response(
                        stream,
                        &Format::UnifiedText,
                        rows_tag(stmt),
                        log.clone(),
                        &time_zone(&session),
                    );
                    send_query_response(client, resp, true).await
                }
                Ran::CopyOut(stream, options) => {
                    let zone = encode::Zone::parse(&time_zone(&session));
                    self.copy_out(client, stream, &options, log.clone(), zone)
                        .await
                }
            };
            match sent {
                Ok(()) => {}
                Err(PgWireError::UserError(info)) => {
                    log.set("error");
                    return self.send_error(client, *info, status).await;
                }
                Err(other) => {
                    log.set("disconnected");
                    return Err(other);
                }
            }
        }
        Ok(())
    }

    async fn send_error<C>(
        &self,
        client: &mut C,
        info: pgwire::error::ErrorInfo,
        status: &mut TransactionStatus,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if *status == TransactionStatus::Transaction {
            *status = TransactionStatus::Error;
        }
        let fatal = info.is_fatal();
        client
            .feed(PgWireBackendMessage::ErrorResponse(info.into()))
            .await?;
        if fatal {
            client.flush().await?;
            return Err(PgWireError::IoError(std::io::Error::other(
                "connection terminated",
            )));
        }
        Ok(())
    }

    /// COPY … TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone, CommandComplete. An
    /// error mid-copy is an ErrorResponse (the backend never sends CopyFail).
    async fn copy_out<C>(
        &self,
        client: &mut C,
        stream: BatchStream,
        options: &strata_sql::pg::CopyOptions,
        log: Arc<QueryLog>,
        zone: encode::Zone,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let schema = stream.schema.clone();
        let columns = schema.fields().len();
        let format: i8 = if options.format == strata_sql::pg::CopyFormat::Binary {
            1
        } else {
            0
        };
        let mut data = Box::pin(encode::session_copy_data(
            pg_batches(stream, log.clone()),
            schema,
            options,
            zone,
        ));
        client
            .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                format,
                columns as i16,
                vec![format as i16; columns],
            )))
            .await?;
        while let Some(chunk) = data.next().await {
            client.feed(PgWireBackendMessage::CopyData(chunk?)).await?;
        }
        if format == 1 {
            client
                .feed(PgWireBackendMessage::CopyData(
                    pgwire::api::results::CopyEncoder::finish_copy_binary(),
                ))
                .await?;
        }
        client
            .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
            .await?;
        let tag = Tag::new("COPY").with_rows(log.rows.load(Ordering::Relaxed));
        client
            .feed(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }
}

pub(super) fn ends_transaction(stmt: &Statement) -> bool {
    let first = stmt
        .to_string()
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.trim_end_matches(';'),
        "ROLLBACK" | "COMMIT" | "END" | "ABORT"
    )
}
