//! One client connection: its session, the simple query protocol (several statements per
//! message, run one after another, each streamed before the next starts) and the extended one
//! (Parse/Bind/Describe/Execute with parameters, binary results, row limits answered with
//! PortalSuspended, which pgwire's portal store handles).
use super::exec::{deadline_after, BatchStream, QueryError, Ran, Stopper};
use super::startup::AuthStage;
use super::{error_info, Shared};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{
    send_query_response, send_ready_for_query, ExtendedQueryHandler, SimpleQueryHandler,
};
use pgwire::api::results::{
    CopyResponse, DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse,
    Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type};
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
    parser: Arc<StmtParser>,
    cancel: watch::Sender<u64>,
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

    fn session(&self) -> PgWireResult<Arc<Session>> {
        self.session
            .get()
            .cloned()
            .ok_or_else(|| super::fatal("08P01", "query before authentication"))
    }

    fn touch(&self) {
        self.last_active
            .store(self.shared.clock_ms(), Ordering::Relaxed);
    }

    fn stopper(&self, session: &Session) -> Stopper {
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

    async fn run(
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
    fn query_log(&self, session: &Session, stmt: &Statement) -> Arc<QueryLog> {
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
    fn set(&self, outcome: &'static str) {
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
fn rows_tag(stmt: &Statement) -> &'static str {
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
fn command_tag(tag: &str) -> &str {
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
fn pg_batches(
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
fn time_zone(session: &Session) -> String {
    session
        .show_setting("timezone")
        .unwrap_or_else(|| "UTC".into())
}

fn query_response(
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
    async fn execute_portal<C>(
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
    async fn cursor_portal<C>(
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

fn ends_transaction(stmt: &Statement) -> bool {
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

/// Values as the plan's placeholders expect them: a client may send `1` as text for a bigint
/// column, or NULL without a type.
fn coerce_params(
    values: datafusion::common::ParamValues,
    wanted: &[Option<datafusion::arrow::datatypes::DataType>],
) -> PgWireResult<datafusion::common::ParamValues> {
    let datafusion::common::ParamValues::List(list) = values else {
        return Ok(values);
    };
    let coerced = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let value = text_time(v.value, wanted.get(i).cloned().flatten());
            match wanted.get(i) {
                Some(Some(dt)) if value.data_type() != *dt => value.cast_to(dt).map_err(|e| {
                    PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
                        "ERROR".into(),
                        "22P02".into(),
                        format!("parameter ${}: {e}", i + 1),
                    )))
                }),
                _ => Ok(value),
            }
        })
        .collect::<PgWireResult<Vec<_>>>()?;
    Ok(datafusion::common::ParamValues::List(
        coerced.into_iter().map(Into::into).collect(),
    ))
}

/// Dates and timestamps sent as text the way PostgreSQL reads them: pgJDBC's setDate sends
/// `2026-01-11 +00`, and timestamps come with `+00`-style offsets Arrow's cast rejects.
fn text_time(
    value: datafusion::common::ScalarValue,
    wanted: Option<datafusion::arrow::datatypes::DataType>,
) -> datafusion::common::ScalarValue {
    use datafusion::arrow::datatypes::DataType as D;
    use datafusion::common::ScalarValue as S;
    let (S::Utf8(Some(text)), Some(dt)) = (&value, &wanted) else {
        return value;
    };
    match dt {
        D::Date32 | D::Date64 => {
            let day = text.trim().get(..10).unwrap_or("");
            match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => S::Date32(Some(
                    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
                        as i32,
                )),
                Err(_) => value,
            }
        }
        D::Timestamp(_, tz) => match strata_catalog::time::parse_timestamp(text) {
            Ok(t) => S::TimestampMicrosecond(Some(t.timestamp_micros()), tz.clone()),
            Err(_) => value,
        },
        _ => value,
    }
}

/// A statement prepared by Parse: the parsed statement and what planning it told us.
#[derive(Clone)]
pub struct Prepared {
    stmt: Statement,
    described: Described,
}

pub struct StmtParser {
    session: Arc<OnceLock<Arc<Session>>>,
    /// The connection's shared state: statements are parsed and described on its query runtime.
    shared: Arc<Shared>,
    /// The connection's cancel signal: a CancelRequest also stops a slow Parse.
    cancel: watch::Receiver<u64>,
}

/// The SQL name of a parameter type a client declared, for the types Strata can plan with;
/// others stay undeclared and are inferred from the query.
fn sql_type_name(t: &Type) -> Option<String> {
    if let postgres_types::Kind::Array(inner) = t.kind() {
        return sql_type_name(inner).map(|n| format!("{n}[]"));
    }
    let name = match *t {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::NUMERIC => "numeric",
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => "text",
        Type::BYTEA => "bytea",
        Type::DATE => "date",
        Type::TIME => "time",
        Type::TIMESTAMP => "timestamp",
        Type::TIMESTAMPTZ => "timestamptz",
        Type::INTERVAL => "interval",
        _ => return None,
    };
    Some(name.to_string())
}

/// The oid types, which plan as int4 but which clients tell apart: asyncpg's type
/// introspection binds `$1::oid[]` and has no codec for an int4[] there.
fn oid_alias_type(sql: &str) -> Option<Type> {
    let sql = sql.strip_prefix("pg_catalog.").unwrap_or(sql);
    Some(match sql {
        "oid" => Type::OID,
        "oid[]" => Type::OID_ARRAY,
        "regclass" => Type::REGCLASS,
        "regclass[]" => Type::REGCLASS_ARRAY,
        "regtype" => Type::REGTYPE,
        "regtype[]" => Type::REGTYPE_ARRAY,
        "regproc" => Type::REGPROC,
        "regnamespace" => Type::REGNAMESPACE,
        _ => return None,
    })
}

fn param_type(dt: &Option<datafusion::arrow::datatypes::DataType>) -> Type {
    dt.as_ref()
        .and_then(|t| arrow_pg::datatypes::into_pg_type(t).ok())
        .unwrap_or(Type::TEXT)
}

#[async_trait]
impl QueryParser for StmtParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = self
            .session
            .get()
            .cloned()
            .ok_or_else(|| super::fatal("08P01", "Parse before authentication"))?;
        let types: Vec<Option<String>> = types
            .iter()
            .map(|t| t.as_ref().and_then(sql_type_name))
            .collect();
        let sql = sql.to_owned();
        let timeout = session
            .pg_settings()
            .map(|s| s.statement_timeout_ms())
            .unwrap_or(0);
        let stopper = Stopper {
            cancel: self.cancel.clone(),
            shutdown: self.shared.shutdown.subscribe(),
            deadline: deadline_after(timeout),
        };
        let preparing = async move {
            let mut stmts = session.parse(&sql)?;
            if stmts.len() > 1 {
                return Err(strata_sql::SqlError::Pg {
                    code: "42601",
                    message: "cannot insert multiple commands into a prepared statement".into(),
                });
            }
            let Some(mut stmt) = stmts.pop() else {
                return Ok(None);
            };
            stmt.declare_param_types(&types);
            let described = session.describe(&stmt).await?;
            Ok(Some(Prepared { stmt, described }))
        };
        self.shared
            .exec
            .offload(preparing, stopper)
            .await
            .map_err(|e| PgWireError::UserError(Box::new(error_info(&e))))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt.described.params.iter().map(param_type).collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match &stmt.described.schema {
            Some(s) => encode::fields(s, format.unwrap_or(&Format::UnifiedText)),
            None => vec![],
        })
    }
}

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = Prepared;
    type QueryParser = StmtParser;

    fn query_parser(&self) -> Arc<StmtParser> {
        self.parser.clone()
    }

    /// Execute, streaming: pgwire's own portal fetch gathers every row of an unlimited Execute
    /// (max_rows = 0, what most drivers send) into memory before sending any. Here rows go to
    /// the socket as they come; a row limit still suspends the portal (PortalSuspended).
    async fn on_execute<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Execute,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::api::store::Entry;
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let max_rows = message.max_rows.max(0) as usize;
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(p)) => p,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        self.busy.store(true, Ordering::Relaxed);
        let result = self.execute_portal(client, &portal, max_rows).await;
        self.busy.store(false, Ordering::Relaxed);
        self.touch();
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
        }
        result
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ours = &target.statement.described;
        // The types the client declared in Parse win; the plan fills in the rest.
        let count = ours.params.len().max(target.parameter_types.len());
        let params = (0..count)
            .map(|i| match target.parameter_types.get(i) {
                Some(Some(t)) if *t != Type::UNKNOWN => t.clone(),
                _ => ours
                    .declared
                    .get(i)
                    .and_then(|t| t.as_deref().and_then(oid_alias_type))
                    .or_else(|| ours.params.get(i).map(param_type))
                    .unwrap_or(Type::TEXT),
            })
            .collect();
        let fields = match &ours.schema {
            Some(s) => encode::fields(s, &Format::UnifiedText),
            None => vec![],
        };
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(DescribePortalResponse::new(
            match &portal.statement.statement.described.schema {
                Some(s) => encode::fields(s, &portal.result_column_format),
                None => vec![],
            },
        ))
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.touch();
        let session = self.session()?;
        let prepared = &portal.statement.statement;
        if client.transaction_status() == TransactionStatus::Error
            && !ends_transaction(&prepared.stmt)
        {
            return Err(PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
                "ERROR".into(),
                "25P02".into(),
                "current transaction is aborted, commands ignored until end of transaction block".into(),
            ))));
        }
        let params = if portal.parameter_len() > 0 {
            let wanted = &prepared.described.params;
            let types: Vec<Option<&datafusion::arrow::datatypes::DataType>> =
                wanted.iter().map(|t| t.as_ref()).collect();
            // What we told the client in ParameterDescription: the wire type to decode by when
            // the client declared none.
            let described: Vec<Type> = wanted.iter().map(param_type).collect();
            let server: Vec<Option<&Type>> = described.iter().map(Some).collect();
            let values = arrow_pg::datatypes::df::deserialize_parameters_with_server_types(
                portal, &types, &server,
            )?;
            Some(coerce_params(values, wanted)?)
        } else {
            None
        };
        let log = self.query_log(&session, &prepared.stmt);
        let ran = self
            .run(&session, &prepared.stmt, params)
            .await
            .map_err(|e| {
                log.set("error");
                PgWireError::UserError(Box::new(error_info(&e)))
            })?;
        Ok(match ran {
            Ran::Status(tag) => match {
                log.set("ok");
                if let Some(name) = tag.strip_prefix("DECLARE CURSOR ") {
                    self.cursor_portal(client, &session, name).await?;
                }
                command_tag(&tag)
            } {
                "BEGIN" => Response::TransactionStart(Tag::new(&tag)),
                "COMMIT" | "ROLLBACK" => Response::TransactionEnd(Tag::new(&tag)),
                _ => Response::Execution(Tag::new(&tag)),
            },
            Ran::Rows(stream) => Response::Query(query_response(
                stream,
                &portal.result_column_format,
                rows_tag(&prepared.stmt),
                log,
                &time_zone(&session),
            )),
            Ran::CopyOut(stream, options) => {
                let schema = stream.schema.clone();
                let columns = schema.fields().len();
                let format = if options.format == strata_sql::pg::CopyFormat::Binary {
                    1
                } else {
                    0
                };
                let zone = encode::Zone::parse(&time_zone(&session));
                let data =
                    encode::session_copy_data(pg_batches(stream, log), schema, &options, zone);
                Response::CopyOut(CopyResponse::new(format, columns, data))
            }
        })
    }
}
