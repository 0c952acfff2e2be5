//! The extended query protocol of a connection: Parse (statements parsed and described on the
//! query runtime, with the parameter types a client declared), Describe, and Execute (run in
//! `portal.rs`); Bind's values are decoded in `params.rs`.
use super::conn::Conn;
use super::exec::Stopper;
use super::params::{oid_alias_type, param_type, sql_type_name};
use super::{error_info, Shared};
use crate::sqlstate::{PgError, PROTOCOL_VIOLATION, SYNTAX_ERROR};
use crate::wire as encode;
use crate::PgSession;
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use strata_sql::{Described, SqlError, Statement};
use tokio::sync::watch;

/// A statement prepared by Parse: the parsed statement and what planning it told us.
#[derive(Clone)]
pub struct Prepared {
    pub(super) stmt: Statement,
    pub(super) described: Described,
}

impl Prepared {
    /// The RowDescription of its result set in `format`; none for statements without rows.
    fn fields(&self, format: &Format) -> Vec<FieldInfo> {
        match &self.described.schema {
            Some(s) => encode::fields(s, format),
            None => vec![],
        }
    }
}

pub struct StmtParser {
    pub(super) session: Arc<OnceLock<Arc<PgSession>>>,
    /// The connection's shared state: statements are parsed and described on its query runtime.
    pub(super) shared: Arc<Shared>,
    /// The connection's cancel signal: a CancelRequest also stops a slow Parse.
    pub(super) cancel: watch::Receiver<u64>,
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
            .ok_or_else(|| super::fatal(PROTOCOL_VIOLATION, "Parse before authentication"))?;
        let types: Vec<Option<String>> = types
            .iter()
            .map(|t| t.as_ref().and_then(sql_type_name))
            .collect();
        let sql = sql.to_owned();
        let stopper = Stopper::new(
            self.cancel.clone(),
            self.shared.shutdown.subscribe(),
            session.settings().statement_timeout_ms(),
        );
        let preparing = async move {
            let mut stmts = session.parse(&sql)?;
            if stmts.len() > 1 {
                return Err(SqlError::from(PgError::new(
                    SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                )));
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
        Ok(stmt.fields(format.unwrap_or(&Format::UnifiedText)))
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
        // As in on_query: a COPY abandoned by a message of another kind has ended.
        self.copy_in.lock().expect("copy lock").take();
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
        let fields = target.statement.fields(&Format::UnifiedText);
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
            portal
                .statement
                .statement
                .fields(&portal.result_column_format),
        ))
    }

    /// Not used: [`ExtendedQueryHandler::on_execute`] above runs portals itself (portal.rs).
    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(PgWireError::ApiError(
            "portals run through on_execute".to_string().into(),
        ))
    }
}
