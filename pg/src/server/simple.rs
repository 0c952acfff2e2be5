//! The simple query protocol: one Query message may hold several statements; they run one
//! after another, each streamed to the client before the next starts, and the first error
//! ends the message.
use super::conn::Conn;
use super::copy::copy_out;
use super::copy_in::is_copy_in;
use super::error_info;
use super::exec::Ran;
use super::responses::{
    complete, notices, query_response, refused_in_aborted_block, send_error, send_result,
    status_after, time_zone,
};
use crate::wire as encode;
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::{send_ready_for_query, SimpleQueryHandler};
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::atomic::Ordering;

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
        // A COPY the client abandoned with a message of another kind ended then (pgwire
        // answered 08P01); its spool goes now.
        self.copy_in.lock().expect("copy lock").take();
        self.busy.store(true, Ordering::Relaxed);
        let mut status = client.transaction_status();
        let result = self.simple(client, &query.query, &mut status).await;
        self.busy.store(false, Ordering::Relaxed);
        self.touch();
        client.set_transaction_status(status);
        // A COPY FROM STDIN now waits for data: ReadyForQuery follows its CopyDone or CopyFail.
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            return result;
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        result?;
        send_ready_for_query(client, status).await
    }

    /// Not used: [`SimpleQueryHandler::on_query`] above runs each statement as it goes.
    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(PgWireError::ApiError(
            "simple queries run through on_query".to_string().into(),
        ))
    }
}

impl Conn {
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
            Err(e) => return send_error(client, error_info(&e), status).await,
        };
        if stmts.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            return Ok(());
        }
        for (i, stmt) in stmts.iter().enumerate() {
            if let Some(refused) = refused_in_aborted_block(stmt, *status) {
                return send_error(client, refused, status).await;
            }
            let log = self.query_log(&session, stmt);
            if is_copy_in(stmt) {
                let started = if i + 1 < stmts.len() {
                    Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                        "ERROR".into(),
                        crate::sqlstate::FEATURE_NOT_SUPPORTED.into(),
                        "COPY … FROM STDIN must be the last statement of its query".into(),
                    ))))
                } else {
                    self.start_copy_in(client, &session, stmt, log.clone(), false)
                        .await
                };
                return match started {
                    Ok(()) => Ok(()),
                    Err(PgWireError::UserError(info)) => {
                        log.set("error");
                        send_error(client, *info, status).await
                    }
                    Err(other) => Err(other),
                };
            }
            let ran = match self.run(&session, stmt, None).await {
                Ok(r) => r,
                Err(e) => {
                    log.set("error");
                    return send_error(client, error_info(&e), status).await;
                }
            };
            let sent = match ran {
                Ran::Status(tag) => {
                    log.set("ok");
                    *status = status_after(stmt, *status);
                    notices(client, &session).await?;
                    complete(client, Tag::new(&tag)).await
                }
                Ran::Rows(stream) => {
                    let resp = query_response(
                        stream,
                        &Format::UnifiedText,
                        stmt.rows_tag(),
                        log.clone(),
                        &time_zone(&session),
                    );
                    send_result(client, resp, true).await
                }
                Ran::CopyOut(stream, options) => {
                    let zone = encode::Zone::parse(&time_zone(&session));
                    copy_out(client, stream, &options, log.clone(), zone).await
                }
            };
            match sent {
                Ok(()) => {}
                Err(PgWireError::UserError(info)) => {
                    log.set("error");
                    return send_error(client, *info, status).await;
                }
                Err(other) => {
                    log.set("disconnected");
                    return Err(other);
                }
            }
        }
        Ok(())
    }
}
