//! The session: a DataFusion context over a lake, statements parsed with Strata's dialect, and
//! Strata's own statements (REFRESH, `strata.as_of`, `search_path`, time travel) handled before
//! DataFusion plans the rest. The REPL, `-c`, the library and the server all run SQL through here.
use crate::engine::Engine;
use crate::limits::{Grown, Shape, StatementLimits};
pub use crate::statement::Statement;
use crate::statement::{placeholder_sql_types, Kind};
use crate::travel;
use crate::{suggest, Result, SqlError};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use std::sync::Arc;
use strata_catalog::{Lake, TableName};

/// Options for a new session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Memory limit in bytes for query execution; operators that can spill to disk do so
    /// beyond it instead of failing.
    pub memory_limit: Option<usize>,
    /// Initial `strata.as_of` (same syntax as `SET strata.as_of`).
    pub as_of: Option<String>,
}

/// Types of placeholders that appear as `CAST($n AS type)` (or `$n::type`): DataFusion leaves
/// them untyped, but the cast says what the client should send.
fn placeholder_casts(plan: &LogicalPlan) -> std::collections::HashMap<String, DataType> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Cast, Expr, TryCast};
    let mut found = std::collections::HashMap::new();
    let _ = plan.apply_with_subqueries(|node| {
        let _ = node.apply_expressions(|expr| {
            expr.apply(|e| {
                let (inner, dt) = match e {
                    Expr::Cast(Cast { expr, field }) => (expr, field.data_type()),
                    Expr::TryCast(TryCast { expr, field }) => (expr, field.data_type()),
                    _ => return Ok(TreeNodeRecursion::Continue),
                };
                if let Expr::Placeholder(p) = inner.as_ref() {
                    found.entry(p.id.clone()).or_insert_with(|| dt.clone());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        });
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// What a statement produced.
pub enum Output {
    /// A result set, streamed batch by batch.
    Rows(SendableRecordBatchStream),
    /// A statement without a result set: its command tag, e.g. `SET`.
    Status(String),
    /// `COPY … TO STDOUT`: rows to write in the given format.
    CopyOut {
        rows: SendableRecordBatchStream,
        options: crate::pg::CopyOptions,
    },
}

impl Output {
    /// The output with its rows polled and dropped on a stack deep enough for `shape`.
    fn grown(self, shape: Shape) -> Output {
        let grow = |rows: SendableRecordBatchStream| -> SendableRecordBatchStream {
            let schema = rows.schema();
            Box::pin(RecordBatchStreamAdapter::new(
                schema,
                Grown::new(rows, shape),
            ))
        };
        match self {
            Output::Rows(rows) => Output::Rows(grow(rows)),
            Output::CopyOut { rows, options } => Output::CopyOut {
                rows: grow(rows),
                options,
            },
            status => status,
        }
    }
}

/// A SQL session over a lake: current zone and schema, settings such as `strata.as_of`.
pub struct Session {
    pub(crate) ctx: SessionContext,
    pub(crate) lake: Arc<Lake>,
    /// The physical plan of the latest result set, for [`Session::scan_progress`].
    running: std::sync::Mutex<Option<Arc<dyn ExecutionPlan>>>,
    /// Postgres compatibility, for sessions the server creates.
    pub(crate) pg: Option<Arc<crate::pg::PgState>>,
    /// Bounds on the statements it parses (settings of the embedder or server).
    limits: StatementLimits,
}

/// How much the latest query has read so far, from its scans' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Rows produced by the file scans.
    pub rows: usize,
    /// Bytes read from files, where the format reports it (Parquet).
    pub bytes: usize,
}

impl Session {
    pub(crate) fn from_state(
        state: SessionState,
        lake: Arc<Lake>,
        as_of: Option<&str>,
    ) -> Result<Self> {
        let session = Session {
            ctx: SessionContext::new_with_state(state),
            lake,
            running: Default::default(),
            pg: None,
            limits: StatementLimits::default(),
        };
        if as_of.is_some() {
            session.set_as_of(as_of)?;
        }
        Ok(session)
    }

    /// A session in zone `enhanced`, schema `public`.
    pub async fn new(lake: Arc<Lake>, options: SessionOptions) -> Result<Self> {
        Engine::new(lake, options.memory_limit)?.session(options.as_of.as_deref())
    }

    /// The DataFusion context, for registering functions or tables of the embedder's own.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// Memory reserved by the queries of this session's engine (all its sessions share one
    /// pool), with the peak; None when the context was given a pool of another kind.
    pub fn memory(&self) -> Option<crate::MemoryUse> {
        let pool = &self.ctx.runtime_env().memory_pool;
        pool.downcast_ref::<crate::memory::PeakPool>()
            .map(|p| p.usage())
    }

    /// Starts the peak of [`Session::memory`] again from what is reserved now.
    pub fn reset_memory_peak(&self) {
        let pool = &self.ctx.runtime_env().memory_pool;
        if let Some(p) = pool.downcast_ref::<crate::memory::PeakPool>() {
            p.reset_peak();
        }
    }

    /// Splits SQL text into statements and parses each. A statement nesting deeper than
    /// `max_expression_depth` is refused (54001) before it is parsed, and one naming a
    /// placeholder no client could bind (`$0`, `$99999999999`) after (42P02).
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        crate::statement::parse(sql, self.pg.as_deref(), &self.limits)
    }

    /// Limits on the statements this session parses.
    pub fn set_statement_limits(&mut self, limits: StatementLimits) {
        self.limits = limits;
    }

    /// Runs one statement. A result set streams; nothing is collected here.
    pub async fn execute(&self, stmt: &Statement) -> Result<Output> {
        if stmt.shape.is_deep() {
            let run = Grown::new(Box::pin(self.execute_here(stmt)), stmt.shape).await;
            return run.map(|out| out.grown(stmt.shape));
        }
        self.execute_here(stmt).await
    }

    /// [`Session::execute`] on the stack it is polled on.
    async fn execute_here(&self, stmt: &Statement) -> Result<Output> {
        self.lake.refresh_if_stale().await?;
        match &stmt.kind {
            Kind::Refresh => {
                self.lake.refresh().await?;
                Ok(Output::Status("REFRESH".into()))
            }
            Kind::Sql(ast) => self.execute_sql((**ast).clone(), None).await,
            Kind::Accepted(tag) => Ok(Output::Status(tag.clone())),
            Kind::Move(fetch) => match self.execute_sql((**fetch).clone(), None).await? {
                Output::Rows(mut rows) => {
                    use futures::StreamExt;
                    let mut n = 0;
                    while let Some(b) = rows.next().await {
                        n += b?.num_rows();
                    }
                    Ok(Output::Status(format!("MOVE {n}")))
                }
                other => Ok(other),
            },
            Kind::CopyOut(query, options) => {
                match self.execute_sql((**query).clone(), None).await? {
                    Output::Rows(rows) => Ok(Output::CopyOut {
                        rows,
                        options: options.clone(),
                    }),
                    _ => Err(SqlError::Syntax("COPY needs a query".into())),
                }
            }
        }
    }

    /// Runs one statement with values for its `$n` parameters (the extended protocol's Bind).
    pub async fn execute_with_params(
        &self,
        stmt: &Statement,
        params: datafusion::common::ParamValues,
    ) -> Result<Output> {
        if stmt.shape.is_deep() {
            let run = Grown::new(
                Box::pin(self.execute_with_params_here(stmt, params)),
                stmt.shape,
            );
            return run.await.map(|out| out.grown(stmt.shape));
        }
        self.execute_with_params_here(stmt, params).await
    }

    async fn execute_with_params_here(
        &self,
        stmt: &Statement,
        params: datafusion::common::ParamValues,
    ) -> Result<Output> {
        match &stmt.kind {
            Kind::Sql(ast) => {
                self.lake.refresh_if_stale().await?;
                self.execute_sql((**ast).clone(), Some(params)).await
            }
            _ => self.execute_here(stmt).await,
        }
    }

    /// The result columns and parameter types of a statement, without running it; None for
    /// statements without a result set (or whose columns are only known once run, like FETCH).
    pub async fn describe(&self, stmt: &Statement) -> Result<Described> {
        if stmt.shape.is_deep() {
            return Grown::new(Box::pin(self.describe_here(stmt)), stmt.shape).await;
        }
        self.describe_here(stmt).await
    }

    async fn describe_here(&self, stmt: &Statement) -> Result<Described> {
        let ast = match &stmt.kind {
            Kind::Sql(ast) => ast,
            Kind::CopyOut(..) | Kind::Refresh | Kind::Accepted(_) | Kind::Move(_) => {
                return Ok(Described::default())
            }
        };
        if let DFStatement::Statement(s) = ast.as_ref() {
            match s.as_ref() {
                ast::Statement::ShowVariable { variable } => {
                    let name = variable
                        .iter()
                        .map(|i| i.value.to_lowercase())
                        .collect::<Vec<_>>()
                        .join(".");
                    let fields = if name == "all" {
                        vec![
                            datafusion::arrow::datatypes::Field::new("name", DataType::Utf8, false),
                            datafusion::arrow::datatypes::Field::new(
                                "setting",
                                DataType::Utf8,
                                false,
                            ),
                        ]
                    } else {
                        vec![datafusion::arrow::datatypes::Field::new(
                            name,
                            DataType::Utf8,
                            false,
                        )]
                    };
                    return Ok(Described {
                        schema: Some(Arc::new(datafusion::arrow::datatypes::Schema::new(fields))),
                        ..Default::default()
                    });
                }
                ast::Statement::Fetch { name, .. } => {
                    let schema = match &self.pg {
                        Some(pg) => pg.cursors.schema(&name.value).await,
                        None => None,
                    };
                    return Ok(Described {
                        schema,
                        ..Default::default()
                    });
                }
                ast::Statement::Declare { stmts } => {
                    // The parameters are the cursor query's; a DECLARE returns no rows.
                    let Some(query) = stmts.first().and_then(|d| d.for_query.clone()) else {
                        return Ok(Described::default());
                    };
                    let inner = Statement {
                        text: query.to_string(),
                        kind: Kind::Sql(Box::new(DFStatement::Statement(Box::new(
                            ast::Statement::Query(query),
                        )))),
                        shape: stmt.shape,
                    };
                    let described = Box::pin(self.describe_here(&inner)).await?;
                    return Ok(Described {
                        schema: None,
                        ..described
                    });
                }
                ast::Statement::Query(_) | ast::Statement::Explain { .. } => {}
                ast::Statement::ShowTables { .. } | ast::Statement::ShowColumns { .. } => {}
                _ => return Ok(Described::default()),
            }
        } else if !matches!(ast.as_ref(), DFStatement::Explain(_)) {
            return Ok(Described::default());
        }
        let (plan, _) = self.plan((**ast).clone()).await?;
        let types = plan.get_parameter_types()?;
        let casts = placeholder_casts(&plan);
        let mut params: Vec<(usize, Option<DataType>)> = types
            .into_iter()
            .filter_map(|(k, v)| {
                let v = v.or_else(|| casts.get(&k).cloned());
                k.trim_start_matches('$').parse().ok().map(|i| (i, v))
            })
            .collect();
        params.sort_by_key(|(i, _)| *i);
        let count = params.last().map(|(i, _)| *i).unwrap_or(0);
        let mut ordered = vec![None; count];
        for (i, t) in params {
            if i >= 1 {
                ordered[i - 1] = t;
            }
        }
        let declared = placeholder_sql_types(ast, ordered.len());
        Ok(Described {
            schema: Some(Arc::new(plan.schema().as_arrow().clone())),
            params: ordered,
            declared,
        })
    }

    /// Parses and runs `sql` (one statement or several; all but the last must succeed) and
    /// returns the last statement's result as a DataFrame.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let stmts = self.parse(sql)?;
        let Some((last, before)) = stmts.split_last() else {
            return Err(DataFusionError::Plan("no SQL statement given".into()).into());
        };
        for s in before {
            if let Output::Rows(mut rows) = self.execute(s).await? {
                use futures::StreamExt;
                while let Some(b) = rows.next().await {
                    b?;
                }
            }
        }
        self.lake.refresh_if_stale().await?;
        match &last.kind {
            Kind::Refresh => {
                self.lake.refresh().await?;
                Ok(self.ctx.read_empty()?)
            }
            Kind::Sql(ast) => {
                if let Some(out) = self.strata_statement(ast)? {
                    return Ok(match out {
                        Output::Status(_) | Output::CopyOut { .. } => self.ctx.read_empty()?,
                        Output::Rows(r) => {
                            // SHOW answers are one small row: materialising it is fine.
                            let schema = r.schema();
                            let mut batches = datafusion::physical_plan::common::collect(r).await?;
                            batches.push(RecordBatch::new_empty(schema));
                            self.ctx.read_batches(batches)?
                        }
                    });
                }
                let (plan, _) = self.plan((**ast).clone()).await?;
                Ok(self.ctx.execute_logical_plan(plan).await?)
            }
            Kind::Accepted(_) | Kind::Move(_) => Ok(self.ctx.read_empty()?),
            Kind::CopyOut(..) => Err(SqlError::Syntax(
                "COPY … TO STDOUT is for Postgres clients; use the query itself".into(),
            )),
        }
    }

    /// Rows and bytes the latest result set's scans have read so far (for progress displays;
    /// cheap: it sums the plan's live metrics).
    pub fn scan_progress(&self) -> ScanProgress {
        fn walk(plan: &Arc<dyn ExecutionPlan>, p: &mut ScanProgress) {
            if plan.children().is_empty() {
                if let Some(m) = plan.metrics() {
                    p.rows += m.output_rows().unwrap_or(0);
                    p.bytes += m
                        .sum_by_name("bytes_scanned")
                        .map(|v| v.as_usize())
                        .unwrap_or(0);
                }
            }
            for child in plan.children() {
                walk(child, p);
            }
        }
        let mut p = ScanProgress::default();
        if let Some(plan) = self.running.lock().expect("running lock").as_ref() {
            walk(plan, &mut p);
        }
        p
    }

    /// The zone (catalog) unqualified names resolve in.
    pub fn current_zone(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_catalog
            .clone()
    }

    /// The schema unqualified names resolve in.
    pub fn current_schema(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_schema
            .clone()
    }

    pub(crate) async fn execute_sql(
        &self,
        mut ast: DFStatement,
        params: Option<datafusion::common::ParamValues>,
    ) -> Result<Output> {
        if let Some(pg) = &self.pg {
            if let Some(out) = Box::pin(self.pg_statement(pg, &mut ast, params.clone())).await? {
                return Ok(out);
            }
        }
        if let Some(out) = self.strata_statement(&ast)? {
            return Ok(out);
        }
        let (mut plan, tables) = self.plan(ast).await?;
        if let Some(params) = params {
            plan = plan.with_param_values(params)?;
        }
        let tag = status_tag(&plan);
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| self.explain_error(e))?;
        match tag {
            Some(tag) => {
                df.collect().await?;
                Ok(Output::Status(tag))
            }
            None => {
                let stream = async {
                    let plan = df.create_physical_plan().await?;
                    *self.running.lock().expect("running lock") = Some(plan.clone());
                    execute_stream(plan, self.ctx.task_ctx())
                };
                let stream = match stream.await {
                    Ok(stream) => stream,
                    Err(e) => return Err(self.lake.explain_read_error(&tables, e).await.into()),
                };
                Ok(Output::Rows(explain_stream_errors(
                    self.lake.clone(),
                    tables,
                    stream,
                )))
            }
        }
    }

    /// Rewrites time-travel clauses, resolves the tables they name, and plans.
    /// Returns the plan and the lake tables it reads.
    async fn plan(&self, mut ast: DFStatement) -> Result<(LogicalPlan, Vec<TableName>)> {
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
        let msg = e.to_string();
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
                    message: format!("{} (did you mean {best}?)", msg.trim_end()),
                };
            }
        }
        SqlError::DataFusion(e)
    }
}

/// Passes batches through; a failure while reading gets the table and file that caused it.
fn explain_stream_errors(
    lake: Arc<Lake>,
    tables: Vec<TableName>,
    stream: SendableRecordBatchStream,
) -> SendableRecordBatchStream {
    use futures::StreamExt;
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

/// What [`Session::describe`] knows before running a statement.
#[derive(Debug, Clone, Default)]
pub struct Described {
    /// The result columns; None for statements without a result set.
    pub schema: Option<datafusion::arrow::datatypes::SchemaRef>,
    /// The types of `$1`, `$2`…, where the plan determines them.
    pub params: Vec<Option<DataType>>,
    /// The SQL type each placeholder is cast to in the text (`$1::oid[]` gives `oid[]`), where
    /// the Arrow type loses the distinction (oid and its aliases plan as int4).
    pub declared: Vec<Option<String>>,
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
