//! Execute of the extended protocol: a portal's statement runs once, its rows stream to the
//! client as they come, and a row limit suspends the portal (PortalSuspended) until the next
//! Execute takes more. pgwire's own portal fetch would gather every row of an unlimited
//! Execute (what most drivers send) before sending any.
use super::conn::Conn;
use super::copy::copy_out;
use super::error_info;
use super::exec::Ran;
use super::extended::Prepared;
use super::params::{coerce_params, param_type};
use super::responses::{
    complete, notices, query_response, refused_in_aborted_block, send_result, send_rows,
    status_after, time_zone,
};
use crate::wire as encode;
use crate::PgSession;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Portal, PortalExecutionState as State};
use pgwire::api::results::Tag;
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::Arc;
use strata_sql::Described;

impl Conn {
    /// Runs a portal (first Execute) or takes more of its rows (later ones).
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
        if matches!(*portal.state().lock().await, State::Initial)
            && !self.start(client, portal).await?
        {
            return Ok(());
        }
        if max_rows > 0 {
            let mut fetched = portal.fetch(max_rows).await?;
            let sent = send_rows(client, &mut fetched.response).await?;
            if fetched.suspended {
                return client
                    .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                    .await
                    .map_err(Into::into);
            }
            let tag = Tag::new(fetched.response.command_tag()).with_rows(sent);
            complete(client, tag).await?;
            return client.flush().await.map_err(Into::into);
        }
        // Everything that is left, streamed.
        match std::mem::replace(&mut *portal.state().lock().await, State::Finished) {
            State::Suspended(response) => send_result(client, response, false).await,
            _ => complete(client, Tag::new("SELECT").with_rows(0)).await,
        }
    }

    /// Runs the portal's statement. A result set is left in the portal for
    /// [`Conn::execute_portal`] to send (true); anything else is answered here (false).
    async fn start<C>(&self, client: &mut C, portal: &Arc<Portal<Prepared>>) -> PgWireResult<bool>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.touch();
        let session = self.session()?;
        let prepared = &portal.statement.statement;
        if let Some(refused) = refused_in_aborted_block(&prepared.stmt, client.transaction_status())
        {
            return Err(PgWireError::UserError(Box::new(refused)));
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
        if super::copy_in::is_copy_in(&prepared.stmt) {
            self.start_copy_in(client, &session, &prepared.stmt, log.clone(), true)
                .await
                .inspect_err(|_| log.set("error"))?;
            return Ok(false);
        }
        let ran = self
            .run(&session, &prepared.stmt, params)
            .await
            .map_err(|e| {
                log.set("error");
                PgWireError::UserError(Box::new(error_info(&e)))
            })?;
        match ran {
            Ran::Status(tag) => {
                log.set("ok");
                if let Some(name) = prepared.stmt.declared_cursor() {
                    self.cursor_portal(client, &session, name).await?;
                }
                let status = status_after(&prepared.stmt, client.transaction_status());
                client.set_transaction_status(status);
                notices(client, &session).await?;
                complete(client, Tag::new(&tag)).await?;
                Ok(false)
            }
            Ran::Rows(stream) => {
                let response = query_response(
                    stream,
                    &portal.result_column_format,
                    prepared.stmt.rows_tag(),
                    log,
                    &time_zone(&session),
                );
                portal.start(response).await;
                Ok(true)
            }
            Ran::CopyOut(stream, options) => {
                let zone = encode::Zone::parse(&time_zone(&session));
                copy_out(client, stream, &options, log, zone).await?;
                Ok(false)
            }
        }
    }

    /// A DECLAREd cursor is also a portal of the protocol: psycopg 3's named cursors Describe
    /// it by name to learn the columns before they FETCH.
    async fn cursor_portal<C>(
        &self,
        client: &mut C,
        session: &PgSession,
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
}
