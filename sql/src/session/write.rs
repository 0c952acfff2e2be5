//! Strata's writing statements (docs/delta.md#writes): `INSERT INTO` and `CREATE TABLE … AS`
//! into lake tables, each one batch and one Delta commit made by the catalog. The source query
//! is planned and streamed like any other; nothing is collected here.
use super::Session;
use crate::{travel, ErrorKind, Result, SqlError};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use futures::StreamExt;
use std::sync::Arc;
use strata_catalog::delta::AppendOptions;
use strata_catalog::{TableName, ZONES};

use super::Output;
use crate::maintenance::Maintenance;

impl Session {
    /// Runs `ast` when it writes a lake table; None for every other statement.
    pub(super) async fn write_statement(&self, ast: &DFStatement) -> Result<Option<Output>> {
        let DFStatement::Statement(s) = ast else {
            return Ok(None);
        };
        match s.as_ref() {
            ast::Statement::Insert(insert) => {
                let ast::TableObject::TableName(target) = &insert.table else {
                    return Ok(None);
                };
                let Some(name) = self.lake_target(target) else {
                    return Ok(None);
                };
                // Rights first: a refused write says so, whatever else is wrong with it.
                self.check_write(&self.writable_base(&name)?)?;
                let Some(source) = &insert.source else {
                    return Err(SqlError::new(
                        ErrorKind::NotSupported,
                        "INSERT needs VALUES or a query",
                    ));
                };
                let columns: Vec<String> = insert.columns.iter().map(column_name).collect();
                let rows = self.query_stream(source).await?;
                let rows = self.name_columns(&name, rows, &columns).await?;
                let opts = self.append_options(format!("INSERT INTO {name}"), false);
                let done = self.append_stream_with(&name, rows, opts).await?;
                Ok(Some(Output::Status(format!("INSERT 0 {done}"))))
            }
            ast::Statement::CreateTable(create) if !create.temporary && !create.external => {
                let Some(query) = &create.query else {
                    return Ok(None);
                };
                let Some(name) = self.lake_target(&create.name) else {
                    return Ok(None);
                };
                self.check_write(&name)?;
                if self.lake.write_schema(&name).await?.is_some() && create.if_not_exists {
                    return Ok(Some(Output::Status("SELECT 0".into())));
                }
                let rows = self.query_stream(query).await?;
                let mut opts = self.append_options(format!("CREATE TABLE {name} AS"), true);
                opts.must_not_exist = true;
                let done = self.append_stream_with(&name, rows, opts).await?;
                Ok(Some(Output::Status(format!("SELECT {done}"))))
            }
            ast::Statement::Delete(delete) => {
                let from = match &delete.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                let [ast::TableWithJoins {
                    relation: ast::TableFactor::Table { name: target, .. },
                    joins,
                }] = from.as_slice()
                else {
                    return Ok(None);
                };
                let Some(name) = self.lake_target(target) else {
                    return Ok(None);
                };
                if !joins.is_empty() || delete.using.is_some() {
                    return Err(SqlError::new(
                        ErrorKind::NotSupported,
                        "DELETE from a lake table takes one table and a WHERE condition",
                    ));
                }
                let base = self.deletable_base(&name)?;
                self.check_write(&base)?;
                let predicate = delete
                    .selection
                    .as_ref()
                    .map(delete_condition)
                    .transpose()?;
                let done = self
                    .lake
                    .delete_rows(
                        &base,
                        predicate.as_deref(),
                        &format!("DELETE FROM {name}"),
                        self.user.as_deref(),
                    )
                    .await?;
                Ok(Some(Output::Status(format!("DELETE {}", done.rows))))
            }
            _ => Ok(None),
        }
    }

    /// Runs OPTIMIZE, VACUUM or CONVERT TO DELTA.
    pub(super) async fn maintain(&self, m: &Maintenance) -> Result<Output> {
        let table = match m {
            Maintenance::Optimize { table, .. }
            | Maintenance::Vacuum { table, .. }
            | Maintenance::Convert { table } => table,
        };
        let name = self.lake_target(table).ok_or_else(|| {
            SqlError::new(
                ErrorKind::InvalidValue,
                format!(
                    "{} takes a lake table (zone.schema.table), not {table}",
                    m.tag()
                ),
            )
        })?;
        let name = self.writable_base(&name)?;
        self.check_write(&name)?;
        let source = format!("{} {name}", m.tag());
        let user = self.user.as_deref();
        let lake = &self.lake;
        let done = match m {
            Maintenance::Optimize { target_size, .. } => {
                let target = std::num::NonZeroU64::new(target_size.unwrap_or(128 << 20))
                    .ok_or_else(|| {
                        SqlError::new(ErrorKind::InvalidValue, "target size must be above 0")
                    })?;
                lake.optimize(&name, target, &source, user).await?
            }
            Maintenance::Vacuum {
                retain_hours,
                force,
                ..
            } => {
                let retain = match retain_hours {
                    Some(h) => std::time::Duration::from_secs(h.saturating_mul(3600)),
                    None => strata_catalog::delta::maintain::DEFAULT_RETENTION,
                };
                lake.vacuum(&name, retain, *force, &source, user).await?
            }
            Maintenance::Convert { .. } => lake.convert_to_delta(&name, &source, user).await?,
        };
        let _ = done;
        Ok(Output::Status(m.tag().to_string()))
    }

    /// The table a DELETE changes: a `_history` table's base, or an append table. Deleting from
    /// a keyed table's latest view would hide a key's older rows instead of removing its newest:
    /// refuse, pointing at its history.
    fn deletable_base(&self, name: &TableName) -> Result<TableName> {
        match self.lake.base_of(name) {
            Some((base, true)) => Ok(base),
            Some((base, false)) if self.lake.mode_of(&base) != strata_catalog::Mode::Append => {
                Err(SqlError::new(
                    ErrorKind::NotSupported,
                    format!(
                        "{base} is a {} table, which shows its newest rows; delete from its \
                         history instead: DELETE FROM {base}{} WHERE …",
                        self.lake.mode_of(&base),
                        strata_catalog::HISTORY_SUFFIX
                    ),
                ))
            }
            Some((base, false)) => Ok(base),
            None => Ok(name.clone()),
        }
    }

    /// The columns a writer gives for `name`, in table order (without a stamped
    /// `_ingested_at`): what `COPY … FROM STDIN` and `INSERT` without a column list fill.
    pub async fn write_schema(&self, name: &TableName) -> Result<SchemaRef> {
        let name = self.writable_base(name)?;
        self.lake.write_schema(&name).await?.ok_or_else(|| {
            SqlError::NotFound {
                what: crate::Missing::Table,
                message: format!(
                    "table {name} does not exist; CREATE TABLE … AS SELECT or `strata ingest` creates it"
                ),
            }
        })
    }

    /// Appends the rows of `input` to `name` as one batch (one Delta commit), after checking
    /// the session may write its zone; returns how many rows were written. `source` says
    /// where they came from in `strata.batches` (`COPY FROM STDIN`).
    pub async fn append_stream(
        &self,
        name: &TableName,
        input: SendableRecordBatchStream,
        source: &str,
    ) -> Result<u64> {
        let opts = self.append_options(source.to_string(), false);
        self.append_stream_with(name, input, opts).await
    }

    /// [`Session::append_stream`] with every option: `strata ingest` creates tables.
    pub async fn append_stream_with(
        &self,
        name: &TableName,
        input: SendableRecordBatchStream,
        mut opts: AppendOptions,
    ) -> Result<u64> {
        let name = self.writable_base(name)?;
        self.check_write(&name)?;
        if opts.user.is_none() {
            opts.user = self.user.clone();
        }
        if opts.state.is_none() {
            opts.state = Some(self.ctx.state());
        }
        let done = self.lake.append(&name, input, &opts).await?;
        if done.quarantined > 0 {
            let q = strata_catalog::delta::quarantine_of(&name);
            let rows = if done.quarantined == 1 { "row" } else { "rows" };
            self.notice(format!(
                "{} {rows} broke the expectations of {name} and went to {q} \
                 (SELECT * FROM {q} shows them with what they broke)",
                done.quarantined
            ));
        }
        Ok(done.rows)
    }

    fn append_options(&self, source: String, create: bool) -> AppendOptions {
        let mut opts = AppendOptions::new(source);
        opts.create = create;
        opts.user = self.user.clone();
        opts
    }

    /// `name` with a `_history` suffix taken off: writing a keyed table's history appends to
    /// the table (its latest view then shows the new rows).
    fn writable_base(&self, name: &TableName) -> Result<TableName> {
        Ok(match self.lake.base_of(name) {
            Some((base, _)) => base,
            None => name.clone(),
        })
    }

    /// The lake table a statement writes, when its name is one (three parts naming a zone, or
    /// fewer in the current zone); None for session tables such as `pg_temp` ones.
    fn lake_target(&self, name: &ast::ObjectName) -> Option<TableName> {
        let t = travel::table_name(name, &self.current_zone(), &self.current_schema())?;
        (ZONES.contains(&t.zone.as_str()) && t.schema != "pg_temp" && !t.table.is_empty())
            .then_some(t)
            .filter(|t| t.schema != strata_catalog::META_SCHEMA)
    }

    /// Plans `query` like a SELECT (time travel and all) and streams its rows.
    async fn query_stream(&self, query: &ast::Query) -> Result<SendableRecordBatchStream> {
        let stmt = DFStatement::Statement(Box::new(ast::Statement::Query(Box::new(query.clone()))));
        let (plan, _) = self.plan(stmt).await?;
        let df = self.ctx.execute_logical_plan(plan).await?;
        Ok(df.execute_stream().await?)
    }

    /// Gives the rows of an INSERT the table's column names: the listed ones, or the table's
    /// writer columns in order (VALUES rows have no names of their own).
    async fn name_columns(
        &self,
        name: &TableName,
        rows: SendableRecordBatchStream,
        listed: &[String],
    ) -> Result<SendableRecordBatchStream> {
        let names: Vec<String> = match listed.is_empty() {
            false => listed.to_vec(),
            true => match self.lake.write_schema(&self.writable_base(name)?).await? {
                Some(s) => s.fields().iter().map(|f| f.name().clone()).collect(),
                None => return Ok(rows),
            },
        };
        let given = rows.schema();
        if given.fields().len() > names.len()
            || (!listed.is_empty() && given.fields().len() != names.len())
        {
            return Err(SqlError::Syntax(format!(
                "INSERT has {} expressions but {} target columns ({})",
                given.fields().len(),
                names.len(),
                names.join(", ")
            )));
        }
        let schema: SchemaRef = Arc::new(Schema::new(
            given
                .fields()
                .iter()
                .zip(&names)
                .map(|(f, n)| Field::new(n, f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let out = schema.clone();
        let renamed = rows.map(move |b| {
            let b = b?;
            Ok(RecordBatch::try_new(out.clone(), b.columns().to_vec())?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, renamed)))
    }
}

/// A listed column as DataFusion names it: unquoted identifiers fold to lower case.
fn column_name(name: &ast::ObjectName) -> String {
    match name.0.last().and_then(|p| p.as_ident()) {
        Some(i) if i.quote_style.is_some() => i.value.clone(),
        Some(i) => i.value.to_lowercase(),
        None => name.to_string(),
    }
}

/// A DELETE's WHERE condition as text for deltalake, which plans it against the table and
/// records it in the commit. Timestamp literals become plain strings, which the comparison
/// casts to the column's type (deltalake cannot write `TIMESTAMP '…'` back as text); a subquery
/// is refused, since deltalake plans the condition on the table alone.
fn delete_condition(selection: &ast::Expr) -> Result<String> {
    use datafusion::sql::sqlparser::ast::{Expr, Value, VisitMut, VisitorMut};
    use std::ops::ControlFlow;
    struct Rewrite(Option<String>);
    impl VisitorMut for Rewrite {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            match e {
                Expr::TypedString(t) if matches!(t.data_type, ast::DataType::Timestamp(..)) => {
                    if let Some(text) = t.value.value.clone().into_string() {
                        *e = Expr::Value(Value::SingleQuotedString(text).into());
                    }
                }
                Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
                    self.0 = Some(e.to_string());
                    return ControlFlow::Break(());
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut condition = selection.clone();
    let mut rewrite = Rewrite(None);
    let _ = condition.visit(&mut rewrite);
    if let Some(sub) = rewrite.0 {
        return Err(SqlError::new(
            ErrorKind::NotSupported,
            format!(
                "DELETE from a lake table takes a condition on the table's own columns, not a \
                 subquery ({sub}); give the values, e.g. WHERE _ingested_at = '2026-12-01 10:00:00+00'"
            ),
        ));
    }
    Ok(condition.to_string())
}
