//! Time travel in SQL: `t FOR SYSTEM_TIME AS OF <ts>` and `t TIMESTAMP AS OF <ts>` are taken out
//! of the AST before DataFusion plans it (its planner would silently drop them) and replaced by
//! a call to the internal table function [`AS_OF_FUNCTION`], which returns the table at that time.
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_datafusion_err, plan_err, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Expr};
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, Ident, ObjectName, ObjectNamePart, TableAlias, TableFactor,
    TableVersion, Value, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;
use std::sync::Arc;
use strata_catalog::resolve::ingest_type;
use strata_catalog::{Lake, TableName};

/// Name of the table function time-travel clauses are rewritten to.
pub const AS_OF_FUNCTION: &str = "__strata_as_of";

/// Rewrites every versioned table reference in `stmt`; returns the base tables it names so the
/// caller can resolve them before planning. Forms Strata cannot honour are errors.
pub fn rewrite(
    stmt: &mut ast::Statement,
    lake: &Lake,
    zone: &str,
    schema: &str,
) -> Result<Vec<TableName>> {
    let mut v = Rewriter {
        lake,
        zone,
        schema,
        tables: vec![],
        error: None,
    };
    let _ = stmt.visit(&mut v);
    match v.error {
        Some(e) => Err(e),
        None => Ok(v.tables),
    }
}

struct Rewriter<'a> {
    lake: &'a Lake,
    zone: &'a str,
    schema: &'a str,
    tables: Vec<TableName>,
    error: Option<datafusion::error::DataFusionError>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias,
            args,
            version,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(v) = version.take() else {
            return ControlFlow::Continue(());
        };
        let expr = match v {
            TableVersion::ForSystemTimeAsOf(e) | TableVersion::TimestampAsOf(e) => e,
            other => {
                self.error = Some(plan_datafusion_err!(
                    "time-travel clause `{other}` is not supported; use FOR SYSTEM_TIME AS OF <timestamp> or TIMESTAMP AS OF <timestamp>"
                ));
                return ControlFlow::Break(());
            }
        };
        if args.is_some() {
            self.error = Some(plan_datafusion_err!(
                "a table function cannot take a time-travel clause"
            ));
            return ControlFlow::Break(());
        }
        let Some(full) = table_name(name, self.zone, self.schema) else {
            self.error = Some(plan_datafusion_err!("invalid table name {name}"));
            return ControlFlow::Break(());
        };
        let Some((base, _)) = self.lake.base_of(&full) else {
            self.error = Some(plan_datafusion_err!("table '{full}' not found"));
            return ControlFlow::Break(());
        };
        self.tables.push(base);
        if alias.is_none() {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::new(&full.table),
                columns: vec![],
                at: None,
            });
        }
        *name = ObjectName::from(vec![Ident::new(AS_OF_FUNCTION)]);
        *args = Some(ast::TableFunctionArgs {
            args: vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::value(
                    Value::SingleQuotedString(full.to_string()),
                ))),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)),
            ],
            settings: None,
        });
        ControlFlow::Continue(())
    }
}

/// A table reference as a full name, with unqualified parts from the current zone and schema
/// (unquoted identifiers fold to lower case, as DataFusion folds them).
pub fn table_name(name: &ObjectName, zone: &str, schema: &str) -> Option<TableName> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) if i.quote_style.is_some() => i.value.clone(),
            ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [t] => Some(TableName::new(zone, schema, t)),
        [s, t] => Some(TableName::new(zone, s, t)),
        [z, s, t] => Some(TableName::new(z, s, t)),
        _ => None,
    }
}

/// The table function: `__strata_as_of('zone.schema.table', <timestamp expr>)`.
#[derive(Debug)]
pub struct AsOfFunction {
    pub lake: Arc<Lake>,
}

impl TableFunctionImpl for AsOfFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let [name, when] = args.exprs() else {
            return plan_err!("{AS_OF_FUNCTION} takes a table name and a timestamp");
        };
        let Expr::Literal(ScalarValue::Utf8(Some(name)), _) = name else {
            return plan_err!("{AS_OF_FUNCTION}: bad table name");
        };
        let full = TableName::parse(name)
            .ok_or_else(|| plan_datafusion_err!("{AS_OF_FUNCTION}: bad table name {name}"))?;
        let micros = constant_timestamp(args.session(), when)?;
        let (base, history) = self
            .lake
            .base_of(&full)
            .ok_or_else(|| plan_datafusion_err!("table '{full}' not found"))?;
        let resolved = self.lake.cached(&base).ok_or_else(|| {
            plan_datafusion_err!("table '{full}' changed while the query was planned; run it again")
        })?;
        Ok(strata_catalog::lake_provider(
            resolved,
            history,
            Some(micros),
        ))
    }
}

/// Evaluates a constant timestamp expression (a literal, `TIMESTAMP '…'`, `now() - INTERVAL '1 day'`).
fn constant_timestamp(session: &dyn datafusion::catalog::Session, expr: &Expr) -> Result<i64> {
    let phys = session.create_physical_expr(expr.clone(), &DFSchema::empty())?;
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let value = match phys.evaluate(&one_row) {
        Ok(ColumnarValue::Scalar(v)) => v,
        Ok(ColumnarValue::Array(a)) if a.len() == 1 => ScalarValue::try_from_array(&a, 0)?,
        _ => return plan_err!("AS OF needs a constant timestamp, got {expr}"),
    };
    let micros = match &value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => strata_catalog::time::parse_timestamp(s)
            .map_err(|e| plan_datafusion_err!("AS OF: {e}"))?
            .timestamp_micros(),
        v if v.is_null() => return plan_err!("AS OF timestamp is NULL"),
        v => {
            // A timestamp without zone is UTC, like everywhere else in Strata.
            let v = match v {
                ScalarValue::TimestampNanosecond(n, None) => {
                    ScalarValue::TimestampNanosecond(*n, Some("UTC".into()))
                }
                ScalarValue::TimestampMicrosecond(n, None) => {
                    ScalarValue::TimestampMicrosecond(*n, Some("UTC".into()))
                }
                ScalarValue::TimestampMillisecond(n, None) => {
                    ScalarValue::TimestampMillisecond(*n, Some("UTC".into()))
                }
                ScalarValue::TimestampSecond(n, None) => {
                    ScalarValue::TimestampSecond(*n, Some("UTC".into()))
                }
                other => other.clone(),
            };
            match v.cast_to(&ingest_type()) {
                Ok(ScalarValue::TimestampMicrosecond(Some(m), _)) => m,
                _ => return plan_err!("AS OF needs a timestamp, got {value}"),
            }
        }
    };
    Ok(micros)
}
