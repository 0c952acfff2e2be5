//! What a statement returns and which parameters it takes, found without running it: the
//! extended protocol's Describe, and what clients that prepare statements learn first.
use super::Session;
use crate::limits::Grown;
use crate::statement::{placeholder_sql_types, Kind, Statement};
use crate::Result;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;
use std::collections::HashMap;
use std::sync::Arc;

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

impl Session {
    /// The result columns and parameter types of a statement, without running it; None for
    /// statements without a result set (or whose columns are only known once run).
    pub async fn describe(&self, stmt: &Statement) -> Result<Described> {
        if stmt.shape.is_deep() {
            return Grown::new(Box::pin(self.describe_here(stmt)), stmt.shape).await;
        }
        self.describe_here(stmt).await
    }

    async fn describe_here(&self, stmt: &Statement) -> Result<Described> {
        let ast = match &stmt.kind {
            Kind::Sql(ast) => ast,
            Kind::Summarize(query) => {
                // The query's parameters, the summary's columns.
                let inner = stmt.derived(stmt.text.clone(), Kind::Sql(query.clone()));
                let mut described = Box::pin(self.describe_here(&inner)).await?;
                let (plan, _) = self.plan((**query).clone()).await?;
                let plan = crate::summarize::plan(plan)?;
                described.schema = Some(Arc::new(plan.schema().as_arrow().clone()));
                return Ok(described);
            }
            _ => return Ok(Described::default()),
        };
        if let Some(hook) = &self.hook {
            if let Some(described) = hook.describe(self, stmt, ast).await? {
                return Ok(described);
            }
        }
        match ast.as_ref() {
            DFStatement::Statement(s) => match s.as_ref() {
                ast::Statement::ShowVariable { variable } => {
                    let name = super::setting_name(variable);
                    if super::is_strata_setting(&name) {
                        let column = Field::new(name, DataType::Utf8, false);
                        return Ok(Described {
                            schema: Some(Arc::new(Schema::new(vec![column]))),
                            ..Default::default()
                        });
                    }
                }
                // Answered by the session with SQL type names (crate::types).
                ast::Statement::ExplainTable { .. } => {
                    return Ok(Described {
                        schema: Some(crate::types::describe_schema()),
                        ..Default::default()
                    })
                }
                ast::Statement::Query(_)
                | ast::Statement::Explain { .. }
                | ast::Statement::ShowTables { .. }
                | ast::Statement::ShowColumns { .. } => {}
                _ => return Ok(Described::default()),
            },
            DFStatement::Explain(_) => {}
            _ => return Ok(Described::default()),
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
}

/// Types of placeholders that appear as `CAST($n AS type)` (or `$n::type`): DataFusion leaves
/// them untyped, but the cast says what the client should send.
fn placeholder_casts(plan: &LogicalPlan) -> HashMap<String, DataType> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Cast, Expr, TryCast};
    let mut found = HashMap::new();
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
