//! The Postgres session's statement hook: statements a Postgres client sends that Strata answers
//! before DataFusion plans — client settings, transaction control (accepted; each write is its
//! own commit, so there is nothing to commit), DISCARD, cursors, temporary tables, the remote
//! sandbox, and which writes go on to Strata's dispatcher — and how their text is parsed
//! (`parse.rs`).
use crate::engine::PgState;
use crate::sqlstate::{
    PgError, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, READ_ONLY, SYNTAX_ERROR,
    UNDEFINED_OBJECT,
};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::ParamValues;
use datafusion::sql::parser::{ResetStatement as DFReset, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{self, Reset, Set};
use std::sync::Arc;
use strata_sql::{
    is_strata_setting, one_value as one_row, setting_name, value_text, Described, Output, Result,
    Session, SqlError, Statement, StatementHook, StatementKind, StatementLimits,
};

/// The hook of one Postgres session, over that session's state.
pub(crate) struct PgHook(pub Arc<PgState>);

#[async_trait]
impl StatementHook for PgHook {
    fn parse(&self, text: String, limits: &StatementLimits, depth: usize) -> Result<Statement> {
        crate::parse::parse(&self.0, text, limits, depth)
    }

    async fn execute(
        &self,
        session: &Session,
        ast: &mut DFStatement,
        params: Option<&ParamValues>,
    ) -> Result<Option<Output>> {
        answer(session, &self.0, ast, params).await
    }

    async fn describe(
        &self,
        session: &Session,
        stmt: &Statement,
        ast: &DFStatement,
    ) -> Result<Option<Described>> {
        describe(session, &self.0, stmt, ast).await
    }
}

/// The columns of a SHOW: one named after the setting, or name and setting for SHOW ALL.
fn show_schema(name: &str) -> Arc<Schema> {
    let fields = match name {
        "all" => vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("setting", DataType::Utf8, false),
        ],
        _ => vec![Field::new(name, DataType::Utf8, false)],
    };
    Arc::new(Schema::new(fields))
}

/// Describes what [`answer`] answers with rows: SHOW of a Postgres setting, FETCH from a
/// cursor, and DECLARE (no rows, but its query's parameters).
async fn describe(
    session: &Session,
    pg: &PgState,
    stmt: &Statement,
    ast: &DFStatement,
) -> Result<Option<Described>> {
    let DFStatement::Statement(s) = ast else {
        return Ok(None);
    };
    match s.as_ref() {
        ast::Statement::ShowVariable { variable } => {
            let name = setting_name(variable);
            if name.starts_with("datafusion.") || is_strata_setting(&name) {
                return Ok(None);
            }
            Ok(Some(Described {
                schema: Some(show_schema(&name)),
                ..Default::default()
            }))
        }
        ast::Statement::Fetch { name, .. } => Ok(Some(Described {
            schema: pg.cursors.schema(&name.value).await,
            ..Default::default()
        })),
        ast::Statement::Declare { stmts } => {
            // The parameters are the cursor query's; a DECLARE returns no rows.
            let Some(query) = stmts.first().and_then(|d| d.for_query.clone()) else {
                return Ok(Some(Described::default()));
            };
            let inner = stmt.derived(
                query.to_string(),
                StatementKind::Sql(Box::new(DFStatement::Statement(Box::new(
                    ast::Statement::Query(query),
                )))),
            );
            let described = session.describe(&inner).await?;
            Ok(Some(Described {
                schema: None,
                ..described
            }))
        }
        _ => Ok(None),
    }
}

/// Answers `ast` if it is a Postgres-session statement; may rewrite it (temporary tables)
/// and leave it to DataFusion.
async fn answer(
    session: &Session,
    pg: &PgState,
    ast: &mut DFStatement,
    params: Option<&ParamValues>,
) -> Result<Option<Output>> {
    let status = |tag: &str| Ok(Some(Output::Status(tag.to_string())));
    let s = match ast {
        DFStatement::Statement(s) => s.as_mut(),
        DFStatement::CreateExternalTable(_) if pg.remote => {
            return Err(SqlError::Denied(
                "CREATE EXTERNAL TABLE is not allowed over the network: it would read the \
                     server's files"
                    .into(),
            ))
        }
        DFStatement::CopyTo(_) if pg.remote => {
            return Err(SqlError::Denied(
                "COPY … TO a file is not allowed over the network; use COPY (query) TO STDOUT"
                    .into(),
            ))
        }
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
        ast::Statement::Set(set) => pg_set(session, pg, set),
        ast::Statement::ShowVariable { variable } => {
            let name = setting_name(variable);
            if name == "all" {
                return Ok(Some(show_all(session, pg)?));
            }
            if name.starts_with("datafusion.") {
                return Ok(None);
            }
            match pg
                .settings
                .show(&name, session.context().state().config_options())
            {
                Some(v) => Ok(Some(one_row(&name, v)?)),
                None => Err(PgError::new(
                    UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                )
                .into()),
            }
        }
        ast::Statement::Reset(r) => match &r.reset {
            Reset::ALL => {
                pg.settings.reset_all();
                session.set_as_of(None)?;
                status("RESET")
            }
            Reset::ConfigurationParameter(name) => {
                let name = name.to_string();
                if name.eq_ignore_ascii_case("strata.as_of") {
                    session.set_as_of(None)?;
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
                    datafusion::catalog::SchemaProvider::deregister_table(pg.temp.as_ref(), &t)?;
                }
            }
            if matches!(object_type, ast::DiscardObject::ALL) {
                pg.settings.reset_all();
                session.set_as_of(None)?;
                pg.cursors.close_all().await;
            }
            Ok(Some(Output::Status(format!("DISCARD {object_type}"))))
        }
        ast::Statement::Declare { stmts } => {
            for d in stmts.iter() {
                declare_cursor(session, pg, d, params.cloned()).await?;
            }
            status("DECLARE CURSOR")
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
                // CREATE TABLE zone.schema.t AS SELECT writes a lake table: Strata's
                // dispatcher checks the user's write rights (docs/server.md#writing).
                if create.query.is_some() && lake_table(session, pg, &create.name).is_some() {
                    return Ok(None);
                }
                return Err(read_only(
                    "CREATE TABLE without AS SELECT; CREATE TABLE zone.schema.t AS SELECT … \
                     writes a lake table, CREATE TEMP TABLE makes a session table",
                ));
            }
            // The session's schemas put new tables in its own pg_temp (see TempOverlay); the
            // name says so, so Strata's dispatcher does not take it for a lake table to write.
            create.temporary = false;
            if let [table] = create.name.0.as_slice() {
                create.name = ast::ObjectName(vec![
                    ast::ObjectNamePart::Identifier(ast::Ident::new(
                        crate::compat::catalog::TEMP_SCHEMA,
                    )),
                    table.clone(),
                ]);
            }
            Ok(None)
        }
        ast::Statement::CreateView(_) => Ok(None),
        // Appending and deleting are lake writes the dispatcher carries out, checking rights.
        ast::Statement::Insert(insert) => match &insert.table {
            ast::TableObject::TableName(name) if lake_table(session, pg, name).is_some() => {
                Ok(None)
            }
            _ => Err(read_only("INSERT into a session or catalog table")),
        },
        ast::Statement::Delete(delete) => {
            let tables = match &delete.from {
                ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
            };
            match tables.first().map(|t| &t.relation) {
                Some(ast::TableFactor::Table { name, .. })
                    if tables.len() == 1 && lake_table(session, pg, name).is_some() =>
                {
                    Ok(None)
                }
                _ => Err(read_only("DELETE from a session or catalog table")),
            }
        }
        ast::Statement::Update(_) | ast::Statement::Merge(_) | ast::Statement::Truncate(_) => {
            Err(read_only(
                "rows are never updated in place (UPDATE, MERGE and TRUNCATE are refused); \
                 INSERT corrected rows (a keyed table keeps the newest per key) or DELETE FROM \
                 the table's _history and load again",
            ))
        }
        // COPY … FROM STDIN is carried out by the server's COPY protocol before statements
        // reach the session (server/copy_in.rs); one reaching here came another way.
        ast::Statement::Copy {
            target: ast::CopyTarget::Stdin,
            to: false,
            ..
        } => Err(PgError::new(
            FEATURE_NOT_SUPPORTED,
            "COPY … FROM STDIN runs only as a statement sent by a client over the COPY protocol",
        )
        .into()),
        ast::Statement::Copy { .. } if pg.remote => Err(SqlError::Denied(
            "COPY to or from the server's files or programs is not allowed over the \
                 network; use COPY (query) TO STDOUT or COPY … FROM STDIN"
                .into(),
        )),
        _ => Ok(None),
    }
}

fn pg_set(session: &Session, pg: &PgState, set: &Set) -> Result<Option<Output>> {
    let done = Ok(Some(Output::Status("SET".into())));
    match set {
        Set::SingleAssignment {
            variable, values, ..
        } => {
            let var = variable.to_string().to_ascii_lowercase();
            if is_strata_setting(&var) {
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
            let value = values.iter().map(value_text).collect::<Vec<_>>().join(", ");
            if var == "timezone" || var == "time zone" {
                session.set_time_zone(&value)?;
            }
            if value.eq_ignore_ascii_case("default") {
                pg.settings.reset(&var);
                return done;
            }
            // A timeout the server cannot read is refused, as PostgreSQL does, rather than
            // taken as "no timeout".
            if var == "statement_timeout" && crate::settings::parse_millis(&value).is_none() {
                return Err(PgError::new(
                    INVALID_PARAMETER_VALUE,
                    format!("invalid value for parameter \"statement_timeout\": \"{value}\""),
                )
                .into());
            }
            pg.settings.set(&var, &value);
            done
        }
        Set::SetTimeZone { value, .. } => {
            let value = value_text(value);
            session.set_time_zone(&value)?;
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

fn show_all(session: &Session, pg: &PgState) -> Result<Output> {
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    let config = session.context().state().config_options().clone();
    let names: Vec<&str> = crate::settings::DEFAULTS.iter().map(|(k, _)| *k).collect();
    let values: Vec<String> = names
        .iter()
        .map(|n| pg.settings.show(n, &config).unwrap_or_default())
        .collect();
    let schema = show_schema("all");
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
    session: &Session,
    pg: &PgState,
    d: &ast::Declare,
    params: Option<ParamValues>,
) -> Result<()> {
    let Some(query) = &d.for_query else {
        return Err(PgError::new(SYNTAX_ERROR, "DECLARE needs CURSOR FOR <query>").into());
    };
    let Some(name) = d.names.first() else {
        return Err(SqlError::Syntax("DECLARE without a cursor name".into()));
    };
    let ast = DFStatement::Statement(Box::new(ast::Statement::Query(query.clone())));
    let Output::Rows(stream) = session.run_sql(ast, params).await? else {
        return Err(SqlError::Syntax("a cursor needs a query".into()));
    };
    pg.cursors
        .declare(&name.value, stream, d.hold.unwrap_or(false))
        .await
}

fn read_only(what: &str) -> SqlError {
    PgError::new(READ_ONLY, format!("not allowed: {what}")).into()
}

/// The lake table a statement names (`zone.schema.t`, `schema.t` in the current zone, or `t`
/// in the current zone and schema); None for the session's temporary tables, `pg_catalog`,
/// `information_schema` and names of more than three parts.
pub(crate) fn lake_table(
    session: &Session,
    pg: &PgState,
    name: &ast::ObjectName,
) -> Option<strata_catalog::TableName> {
    let mut parts = Vec::with_capacity(3);
    for part in &name.0 {
        let ident = part.as_ident()?;
        // Unquoted names fold to lower case, as DataFusion resolves them.
        parts.push(match ident.quote_style {
            Some(_) => ident.value.clone(),
            None => ident.value.to_ascii_lowercase(),
        });
    }
    let (zone, schema, table) = match parts.as_slice() {
        [t] => {
            if datafusion::catalog::SchemaProvider::table_exist(pg.temp.as_ref(), t) {
                return None;
            }
            (session.current_zone(), session.current_schema(), t.clone())
        }
        [s, t] => (session.current_zone(), s.clone(), t.clone()),
        [z, s, t] => (z.clone(), s.clone(), t.clone()),
        _ => return None,
    };
    let special = [
        crate::compat::catalog::TEMP_SCHEMA,
        crate::compat::catalog::PG_CATALOG,
        "information_schema",
    ];
    if special.contains(&schema.as_str()) || !strata_sql::ZONES.contains(&zone.as_str()) {
        return None;
    }
    Some(strata_catalog::TableName::new(&zone, &schema, &table))
}
