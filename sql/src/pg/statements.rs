//! Statements a Postgres session answers before DataFusion plans: client settings, transaction
//! control (accepted; the lake is read-only, so there is nothing to commit), DISCARD, cursors,
//! temporary tables, and the remote sandbox.
use super::PgState;
use crate::session::{Output, Session};
use crate::settings::one_value as one_row;
use crate::{Result, SqlError};
use datafusion::sql::parser::{ResetStatement as DFReset, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{self, Reset, Set};

impl Session {
    /// Answers `ast` if it is a Postgres-session statement; may rewrite it (temporary tables)
    /// and leave it to DataFusion.
    pub(crate) async fn pg_statement(
        &self,
        pg: &PgState,
        ast: &mut DFStatement,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<Option<Output>> {
        let status = |tag: &str| Ok(Some(Output::Status(tag.to_string())));
        let s =
            match ast {
                DFStatement::Statement(s) => s.as_mut(),
                DFStatement::CreateExternalTable(_) if pg.remote => {
                    return Err(SqlError::Denied(
                        "CREATE EXTERNAL TABLE is not allowed over the network: it would read the \
                     server's files"
                            .into(),
                    ))
                }
                DFStatement::CopyTo(_) if pg.remote => return Err(SqlError::Denied(
                    "COPY … TO a file is not allowed over the network; use COPY (query) TO STDOUT"
                        .into(),
                )),
                DFStatement::Reset(DFReset::Variable(name)) => {
                    let name = name.to_string();
                    if name.eq_ignore_ascii_case("strata.as_of") {
                        return Ok(None);
                    }
                    pg.settings.reset(&name);
                    return status("RESET");
                }
                _ => return Ok(None),
            };
        match s {
            ast::Statement::Set(set) => self.pg_set(pg, set),
            ast::Statement::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|i| i.value.clone())
                    .collect::<Vec<_>>()
                    .join(".");
                let mut lower = name.to_ascii_lowercase();
                // Multi-word forms: SHOW TRANSACTION ISOLATION LEVEL, SHOW TIME ZONE…
                lower = match lower.as_str() {
                    "transaction.isolation.level" => "transaction_isolation".into(),
                    "time.zone" => "timezone".into(),
                    "session.authorization" => "session_authorization".into(),
                    _ => lower,
                };
                if lower == "all" {
                    return Ok(Some(self.show_all(pg)?));
                }
                if lower.starts_with("datafusion.") {
                    return Ok(None);
                }
                match pg.settings.show(&lower, self.ctx.state().config_options()) {
                    Some(v) => Ok(Some(one_row(&lower, v)?)),
                    None => Err(SqlError::Pg {
                        code: super::sqlstate::UNDEFINED_OBJECT,
                        message: format!("unrecognized configuration parameter \"{name}\""),
                    }),
                }
            }
            ast::Statement::Reset(r) => match &r.reset {
                Reset::ALL => {
                    pg.settings.reset_all();
                    self.set_as_of(None)?;
                    status("RESET")
                }
                Reset::ConfigurationParameter(name) => {
                    let name = name.to_string();
                    if name.eq_ignore_ascii_case("strata.as_of") {
                        self.set_as_of(None)?;
                    } else {
                        pg.settings.reset(&name);
                    }
                    status("RESET")
                }
            },
            ast::Statement::StartTransaction { .. } => status("BEGIN"),
            ast::Statement::Commit { .. } => {
                pg.cursors.close_without_hold().await;
                status("COMMIT")
            }
            ast::Statement::Rollback { savepoint, .. } => {
                if savepoint.is_none() {
                    pg.cursors.close_without_hold().await;
                }
                status("ROLLBACK")
            }
            ast::Statement::Savepoint { .. } => status("SAVEPOINT"),
            ast::Statement::ReleaseSavepoint { .. } => status("RELEASE"),
            ast::Statement::Deallocate { .. } => status("DEALLOCATE"),
            ast::Statement::Discard { object_type } => {
                if matches!(
                    object_type,
                    ast::DiscardObject::ALL | ast::DiscardObject::TEMP
                ) {
                    for t in datafusion::catalog::SchemaProvider::table_names(pg.temp.as_ref()) {
                        datafusion::catalog::SchemaProvider::deregister_table(
                            pg.temp.as_ref(),
                            &t,
                        )?;
                    }
                }
                if matches!(object_type, ast::DiscardObject::ALL) {
                    pg.settings.reset_all();
                    self.set_as_of(None)?;
                    pg.cursors.close_all().await;
                }
                Ok(Some(Output::Status(format!("DISCARD {object_type}"))))
            }
            ast::Statement::Declare { stmts } => {
                for d in stmts.iter() {
                    self.declare_cursor(pg, d, params.clone()).await?;
                }
                Ok(Some(Output::Status(format!(
                    "DECLARE CURSOR {}",
                    stmts
                        .first()
                        .and_then(|d| d.names.first())
                        .map(|n| n.value.as_str())
                        .unwrap_or("")
                ))))
            }
            ast::Statement::Fetch {
                name, direction, ..
            } => Ok(Some(pg.cursors.fetch(&name.value, direction).await?)),
            ast::Statement::Close { cursor } => {
                match cursor {
                    ast::CloseCursor::All => pg.cursors.close_all().await,
                    ast::CloseCursor::Specific { name } => pg.cursors.close(&name.value).await?,
                }
                status("CLOSE CURSOR")
            }
            ast::Statement::CreateTable(create) => {
                if !create.temporary {
                    return Err(read_only(
                        "CREATE TABLE; CREATE TEMP TABLE makes a session table",
                    ));
                }
                // The session's schemas put new tables in its own pg_temp (see TempOverlay).
                create.temporary = false;
                Ok(None)
            }
            ast::Statement::CreateView(_) => Ok(None),
            ast::Statement::Insert(_)
            | ast::Statement::Update(_)
            | ast::Statement::Delete(_)
            | ast::Statement::Merge(_)
            | ast::Statement::Truncate(_) => Err(read_only("changing data")),
            ast::Statement::Copy { .. } if pg.remote => Err(SqlError::Denied(
                "COPY to or from the server's files or programs is not allowed over the \
                 network; use COPY (query) TO STDOUT"
                    .into(),
            )),
            _ => Ok(None),
        }
    }

    fn pg_set(&self, pg: &PgState, set: &Set) -> Result<Option<Output>> {
        let done = Ok(Some(Output::Status("SET".into())));
        match set {
            Set::SingleAssignment {
                variable, values, ..
            } => {
                let var = variable.to_string().to_ascii_lowercase();
                if var == "strata.as_of" || var == "search_path" {
                    return Ok(None);
                }
                if let Some(rest) = var.strip_prefix("datafusion.") {
                    // Runtime settings (memory, disk) belong to the server, not one client.
                    if pg.remote && (rest.starts_with("runtime.") || rest.starts_with("catalog.")) {
                        return Err(SqlError::Denied(format!(
                            "{var} is a server setting and cannot be changed by a client"
                        )));
                    }
                    return Ok(None);
                }
                let value = values
                    .iter()
                    .map(crate::settings::value_text)
                    .collect::<Vec<_>>()
                    .join(", ");
                if var == "timezone" || var == "time zone" {
                    self.set_time_zone(&value)?;
                }
                if value.eq_ignore_ascii_case("default") {
                    pg.settings.reset(&var);
                } else {
                    pg.settings.set(&var, &value);
                }
                done
            }
            Set::SetTimeZone { value, .. } => {
                let value = crate::settings::value_text(value);
                self.set_time_zone(&value)?;
                pg.settings.set("timezone", &value);
                done
            }
            Set::SetNames { charset_name, .. } => {
                pg.settings
                    .set("client_encoding", &charset_name.to_string());
                done
            }
            // SET SESSION CHARACTERISTICS, SET TRANSACTION, SET ROLE…: accepted, nothing to do
            // on a read-only lake.
            _ => done,
        }
    }

    /// The session time zone: how `timestamp with time zone` values are shown and which zone
    /// a zoneless timestamp literal is cast from.
    pub fn set_time_zone(&self, zone: &str) -> Result<()> {
        let zone = match zone.trim() {
            z if z.eq_ignore_ascii_case("default") || z.eq_ignore_ascii_case("local") => "UTC",
            z => z,
        };
        if zone
            .parse::<datafusion::arrow::array::timezone::Tz>()
            .is_err()
        {
            return Err(SqlError::Pg {
                code: "22023",
                message: format!("invalid value for parameter \"TimeZone\": \"{zone}\""),
            });
        }
        let state = self.ctx.state_ref();
        state.write().config_mut().options_mut().execution.time_zone = Some(zone.to_string());
        Ok(())
    }

    fn show_all(&self, pg: &PgState) -> Result<Output> {
        use datafusion::arrow::array::{RecordBatch, StringArray};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let config = self.ctx.state().config_options().clone();
        let names: Vec<&str> = super::settings::DEFAULTS.iter().map(|(k, _)| *k).collect();
        let values: Vec<String> = names
            .iter()
            .map(|n| pg.settings.show(n, &config).unwrap_or_default())
            .collect();
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("setting", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(StringArray::from(names)),
                std::sync::Arc::new(StringArray::from(values)),
            ],
        )
        .map_err(datafusion::error::DataFusionError::from)?;
        Ok(Output::Rows(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(vec![Ok(batch)]),
        ))))
    }

    async fn declare_cursor(
        &self,
        pg: &PgState,
        d: &ast::Declare,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<()> {
        let Some(query) = &d.for_query else {
            return Err(SqlError::Pg {
                code: super::sqlstate::SYNTAX_ERROR,
                message: "DECLARE needs CURSOR FOR <query>".into(),
            });
        };
        let Some(name) = d.names.first() else {
            return Err(SqlError::Syntax("DECLARE without a cursor name".into()));
        };
        let ast = DFStatement::Statement(Box::new(ast::Statement::Query(query.clone())));
        let Output::Rows(stream) = Box::pin(self.execute_sql(ast, params)).await? else {
            return Err(SqlError::Syntax("a cursor needs a query".into()));
        };
        pg.cursors
            .declare(&name.value, stream, d.hold.unwrap_or(false))
            .await
    }
}

fn read_only(what: &str) -> SqlError {
    SqlError::Pg {
        code: super::sqlstate::READ_ONLY,
        message: format!("the lake is read-only over SQL: {what}"),
    }
}
