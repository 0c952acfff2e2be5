//! What every protocol phase sends: a result set's RowDescription and DataRows (encoded as
//! they stream), the rows of a portal with their CommandComplete, errors (and what they do to
//! the transaction block), and the transaction status a statement leaves behind.
use super::conn::QueryLog;
use super::error_info;
use super::exec::BatchStream;
use crate::wire as encode;
use crate::PgSession;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{QueryResponse, Tag};
use pgwire::api::ClientInfo;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::RowDescription;
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use strata_sql::{Statement, Transaction};

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
pub(super) fn time_zone(session: &PgSession) -> String {
    session
        .show_setting("timezone")
        .unwrap_or_else(|| "UTC".into())
}

/// A result set as pgwire sends it: its columns in `format`, rows encoded as they stream.
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

/// Sends a response's DataRows as they come and returns how many were sent: the one loop that
/// streams rows to a client (a portal's rows, limited or not).
pub(super) async fn send_rows<C>(
    client: &mut C,
    response: &mut QueryResponse,
) -> PgWireResult<usize>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0;
    while let Some(row) = response.data_rows().next().await {
        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
        sent += 1;
    }
    Ok(sent)
}

/// CommandComplete with a tag, and a row count where the tag takes one.
/// Sends what the session's last statement wants its user told (rows it quarantined), as
/// notices before the statement's completion, where psql and drivers show or log them.
pub(super) async fn notices<C>(client: &mut C, session: &strata_sql::Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for text in session.take_notices() {
        let info = ErrorInfo::new("NOTICE".into(), "00000".into(), text);
        client
            .feed(PgWireBackendMessage::NoticeResponse(info.into()))
            .await?;
    }
    Ok(())
}

pub(super) async fn complete<C>(client: &mut C, tag: Tag) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client
        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
        .await
        .map_err(Into::into)
}

/// The error a statement gets in a transaction block an earlier error aborted, unless it ends
/// the block (PostgreSQL's 25P02).
pub(super) fn refused_in_aborted_block(
    stmt: &Statement,
    status: TransactionStatus,
) -> Option<ErrorInfo> {
    let ends = matches!(
        stmt.transaction(),
        Some(Transaction::End | Transaction::Resume)
    );
    (status == TransactionStatus::Error && !ends).then(|| {
        ErrorInfo::new(
            "ERROR".into(),
            crate::sqlstate::IN_FAILED_TRANSACTION.into(),
            "current transaction is aborted, commands ignored until end of transaction block"
                .into(),
        )
    })
}

/// The transaction status after `stmt` ran without error.
pub(super) fn status_after(stmt: &Statement, status: TransactionStatus) -> TransactionStatus {
    match stmt.transaction() {
        Some(Transaction::Begin) => TransactionStatus::Transaction,
        Some(Transaction::End) => TransactionStatus::Idle,
        Some(Transaction::Resume) if status == TransactionStatus::Error => {
            TransactionStatus::Transaction
        }
        _ => status,
    }
}

/// Sends an error; in a transaction block the block is now aborted. A FATAL error ends the
/// connection (returned as an I/O error after the message is flushed).
pub(super) async fn send_error<C>(
    client: &mut C,
    info: ErrorInfo,
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

/// A whole result set: RowDescription when the protocol sends it here (the simple one; the
/// extended one sent it at Describe), the rows as they stream, and `SELECT n`.
pub(super) async fn send_result<C>(
    client: &mut C,
    mut response: QueryResponse,
    describe: bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if describe {
        let fields = response.row_schema();
        let description = RowDescription::new(fields.iter().map(Into::into).collect());
        client
            .feed(PgWireBackendMessage::RowDescription(description))
            .await?;
    }
    let sent = send_rows(client, &mut response).await?;
    complete(client, Tag::new(response.command_tag()).with_rows(sent)).await
}
