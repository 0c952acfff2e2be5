//! PostgreSQL gives an untyped string literal compared with a typed value the other side's
//! type: `indisprimary = 'f'` compares booleans, `id = '42'` integers, `id IN ('1', '2')` too.
//! DataFusion has no untyped literals and rejects `Boolean = Utf8` (SQLAlchemy 1.4's index
//! reflection sends exactly that), or compares numbers as text. This analyzer rule runs
//! before DataFusion's type coercion and casts such literals to the other side's type; a
//! literal that is no valid value of it is an error, as in PostgreSQL.
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ExprSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub struct UntypedLiteralCoercion;

impl AnalyzerRule for UntypedLiteralCoercion {
    fn name(&self) -> &str {
        "strata_untyped_literal_coercion"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let inputs = node.inputs();
            if inputs.is_empty() {
                return Ok(Transformed::no(node));
            }
            let mut schema = DFSchema::empty();
            for input in inputs {
                schema.merge(input.schema());
            }
            node.map_expressions(|e| e.transform_up(|e| coerce(e, &schema)))
        })
        .map(|t| t.data)
    }
}

/// Types an untyped literal takes from the other side. Strings stay strings; dates and
/// timestamps DataFusion already coerces the way PostgreSQL does.
fn takes_literal(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean)
}

fn untyped(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}

/// `literal` as a value of `t`, or PostgreSQL's invalid-input error.
fn typed(literal: &str, t: &DataType) -> Result<Expr> {
    let text = ScalarValue::Utf8(Some(literal.trim().to_string()));
    match text.cast_to(t) {
        Ok(v) if !v.is_null() => Ok(Expr::Literal(v, None)),
        _ => Err(crate::sqlstate::PgError::new(
            crate::sqlstate::INVALID_TEXT_REPRESENTATION,
            format!(
                "invalid input syntax for type {}: \"{literal}\"",
                pg_name(t)
            ),
        )
        .into()),
    }
}

fn pg_name(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint",
        DataType::Int32 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        _ => "numeric",
    }
}

fn other_type(e: &Expr, schema: &DFSchema) -> Option<DataType> {
    if untyped(e).is_some() {
        return None;
    }
    let t = e.get_type(schema as &dyn ExprSchema).ok()?;
    takes_literal(&t).then_some(t)
}

fn coerce(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if is_comparison(op) => {
            if let (Some(lit), Some(t)) = (untyped(&right), other_type(&left, schema)) {
                let right = Box::new(typed(lit, &t)?);
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            if let (Some(lit), Some(t)) = (untyped(&left), other_type(&right, schema)) {
                let left = Box::new(typed(lit, &t)?);
                return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                left,
                op,
                right,
            })))
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => match other_type(&expr, schema) {
            Some(t) if list.iter().any(|l| untyped(l).is_some()) => {
                let list = list
                    .into_iter()
                    .map(|l| match untyped(&l) {
                        Some(lit) => typed(lit, &t),
                        None => Ok(l),
                    })
                    .collect::<Result<_>>()?;
                Ok(Transformed::yes(Expr::InList(InList {
                    expr,
                    list,
                    negated,
                })))
            }
            _ => Ok(Transformed::no(Expr::InList(InList {
                expr,
                list,
                negated,
            }))),
        },
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => match other_type(&expr, schema) {
            Some(t) if untyped(&low).is_some() || untyped(&high).is_some() => {
                let fix = |b: Box<Expr>| -> Result<Box<Expr>> {
                    Ok(match untyped(&b) {
                        Some(lit) => Box::new(typed(lit, &t)?),
                        None => b,
                    })
                };
                Ok(Transformed::yes(Expr::Between(Between {
                    expr,
                    negated,
                    low: fix(low)?,
                    high: fix(high)?,
                })))
            }
            _ => Ok(Transformed::no(Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }))),
        },
        e => Ok(Transformed::no(e)),
    }
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}
