//! `COPY zone.schema.t [(columns)] FROM STDIN` over the protocol (psql's `\copy … from`,
//! drivers' copy APIs), for the simple and extended protocols alike. Before any data the
//! server checks the user may write the table, reads its writable columns and sends
//! CopyInResponse; the client's CopyData is spooled (in memory up to `copy_memory`, then in a
//! temporary file); at CopyDone the spool is decoded (`crate::copy_in`) and appended to the
//! table as one batch, one commit, and the client gets `COPY n`. CopyFail, a decoding error or
//! a client gone mid-copy writes nothing, and the spool is dropped with its file.
use super::conn::{Conn, QueryLog};
use super::error_info;
use super::exec::QueryError;
use crate::copy_in::{decode, InputFormat, Target};
use crate::sqlstate::{
    PgError, DUPLICATE_COLUMN, FEATURE_NOT_SUPPORTED, IO_ERROR, NOT_NULL_VIOLATION,
    PROTOCOL_VIOLATION, QUERY_CANCELED, UNDEFINED_COLUMN,
};
use crate::PgSession;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::Tag;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse};
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::io::{BufRead, Seek, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use strata_catalog::TableName;
use strata_sql::{CopyFormat, SqlError, Statement};

/// What strata.batches records as the source of a COPY's batch.
const SOURCE: &str = "COPY FROM STDIN";

/// A COPY FROM STDIN between CopyInResponse and CopyDone.
pub(super) struct CopyIn {
    session: Arc<PgSession>,
    table: TableName,
    target: Target,
    format: InputFormat,
    spool: Spool,
    log: Arc<QueryLog>,
}

/// The client's bytes: in memory up to a limit, then in an unnamed temporary file (gone when
/// dropped, whatever ends the copy).
struct Spool {
    memory: Vec<u8>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    limit: usize,
}

impl Spool {
    fn new(limit: usize) -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
            limit,
        }
    }

    fn push(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() && self.memory.len() + data.len() > self.limit {
            let mut file = std::io::BufWriter::new(tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(f) => f.write_all(data),
            None => {
                self.memory.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// The spooled bytes, from the start.
    fn reader(self) -> std::io::Result<Box<dyn BufRead + Send>> {
        Ok(match self.file {
            None => Box::new(std::io::Cursor::new(self.memory)),
            Some(f) => {
                let mut file = f.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                Box::new(std::io::BufReader::with_capacity(1 << 20, file))
            }
        })
    }
}

fn user_error(code: &'static str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message.into(),
    )))
}

fn sql_error(e: SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(&QueryError::Sql(e))))
}

/// Whether `stmt` is a `COPY … FROM STDIN`.
pub(super) fn is_copy_in(stmt: &Statement) -> bool {
    copy_statement(stmt).is_some()
}

fn copy_statement(stmt: &Statement) -> Option<&datafusion::sql::sqlparser::ast::Statement> {
    match stmt.ast()? {
        datafusion::sql::parser::Statement::Statement(s)
            if strata_sql::copy::copy_from_stdin(s).is_some() =>
        {
            Some(s)
        }
        _ => None,
    }
}

impl Conn {
    /// Starts a COPY FROM STDIN: checks, sends CopyInResponse and puts the connection in copy
    /// mode. An error is returned before any CopyInResponse, so the client never sends data
    /// for a COPY that cannot succeed.
    pub(super) async fn start_copy_in<C>(
        &self,
        client: &mut C,
        session: &Arc<PgSession>,
        stmt: &Statement,
        log: Arc<QueryLog>,
        extended: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ast = copy_statement(stmt).expect("a COPY FROM STDIN");
        let (name, columns, options) = strata_sql::copy::copy_from_stdin(ast)
            .expect("a COPY FROM STDIN")
            .map_err(sql_error)?;
        let table = session.lake_table(&name).ok_or_else(|| {
            user_error(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "COPY FROM STDIN writes lake tables (zone.schema.table); {name} is not one \
                     (a temporary or catalog table, or not in a zone)"
                ),
            )
        })?;
        session.check_write(&table).map_err(sql_error)?;
        let format = InputFormat::new(&options).map_err(|e| sql_error(e.into()))?;
        let schema = {
            let stopper = self.stopper(session);
            let (session, table) = (session.clone(), table.clone());
            self.shared
                .exec
                .offload(async move { session.write_schema(&table).await }, stopper)
                .await
                .map_err(|e| PgWireError::UserError(Box::new(error_info(&e))))?
        };
        // The columns given, by name as PostgreSQL folds them; the others are NULL.
        let mut given = Vec::with_capacity(columns.len());
        for c in &columns {
            let wanted = match c.quote_style {
                Some(_) => c.value.clone(),
                None => c.value.to_ascii_lowercase(),
            };
            let i = schema.index_of(&wanted).map_err(|_| {
                user_error(
                    UNDEFINED_COLUMN,
                    format!("column \"{wanted}\" of relation \"{table}\" does not exist"),
                )
            })?;
            if given.contains(&i) {
                return Err(user_error(
                    DUPLICATE_COLUMN,
                    format!("column \"{wanted}\" specified more than once"),
                ));
            }
            given.push(i);
        }
        if columns.is_empty() {
            given = (0..schema.fields().len()).collect();
        }
        if let Some(f) = schema
            .fields()
            .iter()
            .enumerate()
            .find(|(i, f)| !f.is_nullable() && !given.contains(i))
            .map(|(_, f)| f)
        {
            return Err(user_error(
                NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{table}\" violates not-null \
                     constraint: COPY must give it",
                    f.name()
                ),
            ));
        }
        let binary = format.format == CopyFormat::Binary;
        let width = given.len();
        client
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                binary as i8,
                width as i16,
                vec![binary as i16; width],
            )))
            .await?;
        client.set_state(PgWireConnectionState::CopyInProgress(extended));
        let target = Target {
            table: table.to_string(),
            schema,
            columns: given,
        };
        *self.copy_in.lock().expect("copy lock") = Some(CopyIn {
            session: session.clone(),
            table,
            target,
            format,
            spool: Spool::new(self.shared.copy_memory),
            log,
        });
        Ok(())
    }

    /// CopyDone: decodes the spool and appends it as one batch; `COPY n`.
    async fn finish_copy_in<C>(&self, client: &mut C, copy: CopyIn) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let CopyIn {
            session,
            table,
            target,
            format,
            spool,
            log,
        } = copy;
        let mut reader = spool
            .reader()
            .map_err(|e| user_error(IO_ERROR, format!("cannot read the spooled COPY data: {e}")))?;
        let schema = target.schema.clone();
        // The decoder runs on a blocking thread and hands batches over a small channel, so a
        // large COPY is never all in memory; its own error is kept to report as it is, however
        // the writer wraps the stream's error.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(2);
        let decode_error: Arc<Mutex<Option<PgError>>> = Default::default();
        let failed = decode_error.clone();
        let decoding = tokio::task::spawn_blocking(move || {
            let mut emit = |b: RecordBatch| tx.blocking_send(Ok(b)).is_ok();
            if let Err(e) = decode(&mut reader, &format, &target, &mut emit) {
                *failed.lock().expect("decode error lock") = Some(e.clone());
                let _ = tx.blocking_send(Err(e.into()));
            }
        });
        let batches = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let input = Box::pin(RecordBatchStreamAdapter::new(schema, batches));
        let stopper = self.stopper(&session);
        let told = session.clone();
        let appended = self
            .shared
            .exec
            .offload(
                async move { session.append_stream(&table, input, SOURCE).await },
                stopper,
            )
            .await;
        // The decoder stops at its next batch once the writer has dropped the stream.
        let _ = decoding.await;
        let rows = match appended {
            Ok(rows) => rows,
            Err(e) => {
                log.set("error");
                let decoded = decode_error.lock().expect("decode error lock").take();
                let info = match decoded {
                    Some(pg) => error_info(&QueryError::Sql(pg.into())),
                    None => error_info(&e),
                };
                return Err(PgWireError::UserError(Box::new(info)));
            }
        };
        log.rows.store(rows as usize, Ordering::Relaxed);
        log.set("ok");
        let tag = Tag::new("COPY").with_rows(rows as usize);
        super::responses::notices(client, &told).await?;
        client
            .send(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    /// The copy in progress, taken out of the connection (it ends, whatever happens next).
    fn take_copy_in(&self) -> Option<CopyIn> {
        self.copy_in.lock().expect("copy lock").take()
    }
}

#[async_trait]
impl CopyHandler for Conn {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.touch();
        let mut guard = self.copy_in.lock().expect("copy lock");
        let Some(copy) = guard.as_mut() else {
            return Err(user_error(
                PROTOCOL_VIOLATION,
                "unexpected CopyData: no COPY is running",
            ));
        };
        if let Err(e) = copy.spool.push(&data.data) {
            copy.log.set("error");
            guard.take();
            return Err(user_error(
                IO_ERROR,
                format!("cannot spool COPY data to a temporary file: {e}; nothing was written"),
            ));
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(copy) = self.take_copy_in() else {
            return Err(user_error(
                PROTOCOL_VIOLATION,
                "unexpected CopyDone: no COPY is running",
            ));
        };
        self.busy.store(true, Ordering::Relaxed);
        let done = self.finish_copy_in(client, copy).await;
        self.busy.store(false, Ordering::Relaxed);
        self.touch();
        done
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(copy) = self.take_copy_in() {
            copy.log.set("cancelled");
        }
        user_error(
            QUERY_CANCELED,
            format!("COPY from stdin failed: {}", fail.message),
        )
    }
}
