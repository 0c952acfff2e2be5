//! The extended query protocol of a connection: Parse (statements parsed and described on the
//! query runtime, with the parameter types a client declared), Describe, Bind's parameter
//! values coerced to what the plan expects, and Execute streaming rows as they come.
use super::conn::{
    command_tag, ends_transaction, pg_batches, query_response, rows_tag, time_zone, Conn,
};
use super::exec::{deadline_after, Ran, Stopper};
use super::{error_info, Shared};
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{
    CopyResponse, DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use strata::wire as encode;
use strata_sql::{Described, Session, Statement};
use tokio::sync::watch;

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
    pub(super) stmt: Statement,
    pub(super) described: Described,
}

pub struct StmtParser {
    pub(super) session: Arc<OnceLock<Arc<Session>>>,
    /// The connection's shared state: statements are parsed and described on its query runtime.
    pub(super) shared: Arc<Shared>,
    /// The connection's cancel signal: a CancelRequest also stops a slow Parse.
    pub(super) cancel: watch::Receiver<u64>,
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
