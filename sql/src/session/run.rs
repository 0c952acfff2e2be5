//! The one dispatcher every statement goes through, whichever front end sent it: the front
//! end's hook first, then Strata's own statements, then DataFusion's planner over the lake with
//! time travel resolved. `execute` streams the result; `sql` hands the same decision back as a
//! DataFrame for library callers.
use super::{Output, Session};
use crate::statement::{Kind, Statement};
use crate::{suggest, travel, Missing, Result, SqlError};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::DataFrame;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use strata_catalog::{Lake, TableName};

/// What the dispatcher decided for one statement.
enum Dispatched {
    /// Answered without planning: by the hook, by Strata, or a status.
    Done(Output),
    /// A plan to run, with the lake tables it reads (errors while reading name their file).
    Plan(LogicalPlan, Vec<TableName>),
}

impl Session {
    /// Runs one statement. A result set streams; nothing is collected here.
    pub async fn execute(&self, stmt: &Statement) -> Result<Output> {
        self.execute_with(stmt, None).await
    }

    /// Runs one statement with values for its `$n` parameters (the extended protocol's Bind).
    pub async fn execute_with_params(
        &self,
        stmt: &Statement,
        params: ParamValues,
    ) -> Result<Output> {
        self.execute_with(stmt, Some(params)).await
    }

    async fn execute_with(&self, stmt: &Statement, params: Option<ParamValues>) -> Result<Output> {
        let run = async {
            match self.dispatch(stmt, params).await? {
                Dispatched::Done(out) => Ok(out),
                Dispatched::Plan(plan, tables) => self.run_plan(plan, tables).await,
            }
        };
        if stmt.shape.is_deep() {
            let run = crate::limits::Grown::new(Box::pin(run), stmt.shape).await;
            return run.map(|out| out.grown(stmt.shape));
        }
        run.await
    }

    /// Parses and runs `sql` (one statement or several; all but the last must succeed) and
    /// returns the last statement's result as a DataFrame. The last statement goes through the
    /// same dispatcher as [`Session::execute`]: a query comes back unexecuted, so callers can
    /// go on building on it; a statement Strata or the hook answered comes back as its rows
    /// (read once, as they stream) or as an empty DataFrame for a status.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let stmts = self.parse(sql)?;
        let Some((last, before)) = stmts.split_last() else {
            return Err(DataFusionError::Plan("no SQL statement given".into()).into());
        };
        for s in before {
            drain(self.execute(s).await?).await?;
        }
        let dispatched = match last.shape.is_deep() {
            true => {
                crate::limits::Grown::new(Box::pin(self.dispatch(last, None)), last.shape).await?
            }
            false => self.dispatch(last, None).await?,
        };
        let rows = match dispatched {
            Dispatched::Plan(plan, _) => {
                return self
                    .ctx
                    .execute_logical_plan(plan)
                    .await
                    .map_err(|e| self.explain_error(e));
            }
            Dispatched::Done(Output::Status(_)) => return Ok(self.ctx.read_empty()?),
            Dispatched::Done(Output::Rows(rows) | Output::CopyOut { rows, .. }) => rows,
        };
        let schema = rows.schema();
        let table = StreamingTable::try_new(
            schema.clone(),
            vec![Arc::new(ReadOnce(Mutex::new(Some(rows)), schema))],
        )?;
        Ok(self.ctx.read_table(Arc::new(table))?)
    }

    /// Runs a statement's syntax tree (hook, Strata, DataFusion, in that order) without the
    /// lake refresh and statement bookkeeping of [`Session::execute`]: for hooks whose
    /// statements contain a query of their own (a cursor's DECLARE).
    pub async fn run_sql(&self, ast: DFStatement, params: Option<ParamValues>) -> Result<Output> {
        match Box::pin(self.dispatch_sql(ast, params)).await? {
            Dispatched::Done(out) => Ok(out),
            Dispatched::Plan(plan, tables) => self.run_plan(plan, tables).await,
        }
    }

    async fn dispatch(&self, stmt: &Statement, params: Option<ParamValues>) -> Result<Dispatched> {
        self.lake.refresh_if_stale().await?;
        let done = |out| Ok(Dispatched::Done(out));
        match &stmt.kind {
            Kind::Refresh => {
                self.lake.refresh().await?;
                done(Output::Status("REFRESH".into()))
            }
            Kind::Accepted(tag) => done(Output::Status(tag.clone())),
            Kind::Maintain(m) => done(self.maintain(m).await?),
            Kind::Summarize(query) => {
                let (mut plan, tables) = self.plan((**query).clone()).await?;
                if let Some(params) = params {
                    plan = plan.with_param_values(params)?;
                }
                Ok(Dispatched::Plan(crate::summarize::plan(plan)?, tables))
            }
            Kind::Sql(ast) => self.dispatch_sql((**ast).clone(), params).await,
            Kind::Move(fetch) => {
                let mut skipped = 0;
                if let Output::Rows(mut rows) = self.run_sql((**fetch).clone(), None).await? {
                    while let Some(b) = rows.next().await {
                        skipped += b?.num_rows();
                    }
                }
                done(Output::Status(format!("MOVE {skipped}")))
            }
            Kind::CopyOut(query, options) => match self.run_sql((**query).clone(), params).await? {
                Output::Rows(rows) => done(Output::CopyOut {
                    rows,
                    options: options.clone(),
                }),
                _ => Err(SqlError::Syntax("COPY needs a query".into())),
            },
        }
    }

    async fn dispatch_sql(
        &self,
        mut ast: DFStatement,
        params: Option<ParamValues>,
    ) -> Result<Dispatched> {
        if let Some(hook) = &self.hook {
            if let Some(out) = hook.execute(self, &mut ast, params.as_ref()).await? {
                return Ok(Dispatched::Done(out));
            }
        }
        if let Some(out) = self.strata_statement(&ast)? {
            return Ok(Dispatched::Done(out));
        }
        if let Some(out) = self.write_statement(&ast).await? {
            return Ok(Dispatched::Done(out));
        }
        let (mut plan, tables) = self.plan(ast).await?;
        if let LogicalPlan::DescribeTable(d) = &plan {
            // DESCRIBE names types as psql does, not as Arrow does.
            let batch = crate::types::describe_rows(&d.schema).map_err(DataFusionError::from)?;
            let schema = batch.schema();
            let stream = MemoryStream::try_new(vec![batch], schema, None)?;
            return Ok(Dispatched::Done(Output::Rows(Box::pin(stream))));
        }
        if let Some(params) = params {
            plan = plan.with_param_values(params)?;
        }
        Ok(Dispatched::Plan(plan, tables))
    }

    /// Runs a plan: statements without a result set to completion (their tag is the output),
    /// queries as a stream whose errors name the table and file they come from.
    async fn run_plan(&self, plan: LogicalPlan, tables: Vec<TableName>) -> Result<Output> {
        let tag = status_tag(&plan);
        let copy = matches!(plan, LogicalPlan::Copy(_));
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| self.explain_error(e))?;
        if let Some(tag) = tag {
            df.collect().await?;
            return Ok(Output::Status(tag));
        }
        if copy {
            // `COPY (…) TO 'file'` answers as PostgreSQL does, with its row count as a
            // status (`COPY 11`), not as a one-row table.
            let mut rows = 0;
            for batch in df.collect().await? {
                if let Some(counts) = batch.column(0).as_primitive_opt::<UInt64Type>() {
                    rows += counts.iter().flatten().sum::<u64>();
                }
            }
            return Ok(Output::Status(format!("COPY {rows}")));
        }
        let stream = async {
            let plan = df.create_physical_plan().await?;
            *self.running.lock().expect("running lock") = Some(plan.clone());
            execute_stream(plan, self.ctx.task_ctx())
        };
        match stream.await {
            Ok(stream) => Ok(Output::Rows(explain_stream_errors(
                self.lake.clone(),
                tables,
                stream,
            ))),
            Err(e) => Err(self.lake.explain_read_error(&tables, e).await.into()),
        }
    }

    /// Rewrites time-travel clauses, resolves the tables they name, and plans.
    /// Returns the plan and the lake tables it reads.
    pub(super) async fn plan(&self, mut ast: DFStatement) -> Result<(LogicalPlan, Vec<TableName>)> {
        let (zone, schema) = (self.current_zone(), self.current_schema());
        let mut tables = vec![];
        let inner = match &mut ast {
            DFStatement::Statement(s) => Some(s.as_mut()),
            DFStatement::Explain(e) => match e.statement.as_mut() {
                DFStatement::Statement(s) => Some(s.as_mut()),
                _ => None,
            },
            _ => None,
        };
        if let Some(s) = inner {
            // Resolve every lake table the statement names before planning, so an unreadable
            // table fails with its own error (the file, the column) rather than a planning error.
            let mut named = vec![];
            let _ = ast::visit_relations(&*s, |name| {
                named.push(name.clone());
                std::ops::ControlFlow::<()>::Continue(())
            });
            for name in &named {
                // A zone this session cannot see (a server user's zones): say so, rather than
                // "not found".
                if name.0.len() == 3 {
                    let zone = name.0[0]
                        .as_ident()
                        .map(|i| i.value.clone())
                        .unwrap_or_default();
                    if strata_catalog::ZONES.contains(&zone.as_str())
                        && self.ctx.catalog(&zone).is_none()
                    {
                        return Err(SqlError::Denied(format!(
                            "no access to zone \"{zone}\" (table {name})"
                        )));
                    }
                }
            }
            for name in named {
                let base =
                    travel::table_name(&name, &zone, &schema).and_then(|t| self.lake.base_of(&t));
                if let Some((base, _)) = base {
                    self.lake.resolve(&base).await?;
                    tables.push(base);
                }
            }
            for base in
                travel::rewrite(s, &self.lake, &zone, &schema).map_err(|e| self.explain_error(e))?
            {
                self.lake.resolve(&base).await?;
                tables.push(base);
            }
        }
        tables.sort();
        tables.dedup();
        let state = self.ctx.state();
        state
            .statement_to_plan(ast)
            .await
            .map(|plan| (plan, tables))
            .map_err(|e| self.explain_error(e))
    }

    /// Adds the closest existing name to "not found" errors.
    fn explain_error(&self, e: DataFusionError) -> SqlError {
        let msg = plan_words(&e);
        if let Some(missing) = msg
            .split("table '")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .filter(|_| msg.contains("not found"))
        {
            let names: Vec<String> = self
                .lake
                .table_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            let short = missing.rsplit('.').next().unwrap_or(missing);
            let best = suggest::closest(missing, names.iter().map(String::as_str)).or_else(|| {
                names
                    .iter()
                    .map(String::as_str)
                    .find(|n| n.rsplit('.').next() == Some(short))
                    .or_else(|| {
                        suggest::closest(
                            short,
                            names.iter().map(|n| n.rsplit('.').next().unwrap_or(n)),
                        )
                        .and_then(|t| {
                            names
                                .iter()
                                .map(String::as_str)
                                .find(|n| n.ends_with(&format!(".{t}")))
                        })
                    })
            });
            if let Some(best) = best {
                return SqlError::NotFound {
                    what: Missing::Table,
                    message: format!("{} (did you mean {best}?)", msg.trim_end()),
                };
            }
        }
        SqlError::DataFusion(e)
    }
}

/// A planning error in the planner's own words, without the "Error during planning: " prefix
/// and the diagnostic wrapper DataFusion puts around it.
fn plan_words(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Diagnostic(_, inner) => plan_words(inner),
        DataFusionError::Plan(m) => m.trim_end().to_string(),
        other => other.to_string(),
    }
}

/// Passes batches through; a failure while reading gets the table and file that caused it.
fn explain_stream_errors(
    lake: Arc<Lake>,
    tables: Vec<TableName>,
    stream: SendableRecordBatchStream,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let tables = Arc::new(tables);
    let explained = stream.then(move |item| {
        let (lake, tables) = (lake.clone(), tables.clone());
        async move {
            match item {
                Ok(batch) => Ok(batch),
                Err(e) => Err(lake.explain_read_error(&tables, e).await),
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, explained))
}

/// The command tag of plans without a result set.
fn status_tag(plan: &LogicalPlan) -> Option<String> {
    use datafusion::logical_expr::{DdlStatement, Statement as S};
    Some(match plan {
        LogicalPlan::Statement(S::SetVariable(_)) => "SET".into(),
        LogicalPlan::Statement(S::ResetVariable(_)) => "RESET".into(),
        LogicalPlan::Statement(S::TransactionStart(_)) => "BEGIN".into(),
        LogicalPlan::Statement(S::TransactionEnd(_)) => "COMMIT".into(),
        LogicalPlan::Statement(_) => "OK".into(),
        LogicalPlan::Ddl(d) => match d {
            DdlStatement::CreateView(_) => "CREATE VIEW".into(),
            DdlStatement::CreateMemoryTable(_) => "CREATE TABLE".into(),
            DdlStatement::CreateExternalTable(_) => "CREATE TABLE".into(),
            DdlStatement::DropTable(_) => "DROP TABLE".into(),
            DdlStatement::DropView(_) => "DROP VIEW".into(),
            _ => "OK".into(),
        },
        _ => return None,
    })
}

/// Reads an output to its end (statements before the last of [`Session::sql`]).
async fn drain(out: Output) -> Result<()> {
    if let Output::Rows(mut rows) | Output::CopyOut { mut rows, .. } = out {
        while let Some(b) = rows.next().await {
            b?;
        }
    }
    Ok(())
}

/// The rows of an answered statement as a table DataFusion can scan once, so [`Session::sql`]
/// hands them back without collecting them.
struct ReadOnce(
    Mutex<Option<SendableRecordBatchStream>>,
    datafusion::arrow::datatypes::SchemaRef,
);

impl std::fmt::Debug for ReadOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadOnce")
    }
}

impl PartitionStream for ReadOnce {
    fn schema(&self) -> &datafusion::arrow::datatypes::SchemaRef {
        &self.1
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.0.lock().expect("read-once lock").take() {
            Some(rows) => rows,
            None => {
                let again = DataFusionError::Execution(
                    "these rows were already read: run the statement again".into(),
                );
                Box::pin(RecordBatchStreamAdapter::new(
                    self.1.clone(),
                    futures::stream::iter([Err(again)]),
                ))
            }
        }
    }
}
