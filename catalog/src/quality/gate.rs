//! The quality gate (docs/quality.md#the-gate): a table's row-level expectations compiled into
//! DataFusion physical expressions over its schema, evaluated on each record batch of a write
//! (vectorised, never row by row), counting the rows each one breaks, keeping up to five
//! examples, and splitting a batch into the rows that commit and the rows that go to
//! quarantine. Table-level expectations (`rows`, `unique`) are judged in unique.rs and by the
//! writer once the whole batch is seen.
use super::expect::{Expectations, Literal};
use crate::error::{CatalogError, Result};
use crate::TableName;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringBuilder};
use datafusion::arrow::compute::{filter_record_batch, or_kleene};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Column, DFSchema};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{cast, lit, not, Expr};
use datafusion::physical_expr::PhysicalExpr;
use std::sync::Arc;

/// The column a quarantined row carries: the names of the expectations it broke.
pub const BROKEN: &str = "_broken";
/// How many failing rows an error or report shows per expectation.
pub const EXAMPLES: usize = 5;
/// Longest an example row is shown, in characters (wide tables would flood the message).
const EXAMPLE_WIDTH: usize = 240;

/// One expectation a batch broke, as reports and errors list it.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// `not_null(country)`, `unique(country, dt)`, `rows`.
    pub expectation: String,
    /// Rows that break it (for `rows`, the batch's row count).
    pub failing: u64,
    /// Up to [`EXAMPLES`] failing rows (or, for `unique`, repeated values with their count).
    pub examples: Vec<String>,
    /// What was expected, when the name does not say it (`rows` bounds).
    pub detail: Option<String>,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.failing == 1 { "row" } else { "rows" };
        write!(f, "{}: {} {unit}", self.expectation, self.failing)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if !self.examples.is_empty() {
            write!(f, ", e.g. {}", self.examples.join("; "))?;
        }
        Ok(())
    }
}

/// A row-level expectation compiled for one schema: true where a row breaks it.
struct RowCheck {
    name: String,
    broken: Arc<dyn PhysicalExpr>,
    failing: u64,
    examples: Vec<String>,
}

/// A batch after the gate: the rows that pass, and those that do not with their `_broken`.
pub struct Split {
    pub good: RecordBatch,
    pub bad: Option<RecordBatch>,
}

/// The row-level part of a table's expectations, compiled for the schema rows are written in.
pub struct Gate {
    checks: Vec<RowCheck>,
    /// Rows seen so far (the `rows` expectation judges the whole batch).
    pub rows: u64,
}

impl Gate {
    /// Compiles `expect` for `schema`; a column no table column matches is an error naming the
    /// table and the column.
    pub fn new(
        state: &SessionState,
        table: &TableName,
        schema: &SchemaRef,
        expect: &Expectations,
    ) -> Result<Gate> {
        check_columns(table, schema, expect)?;
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let column = |c: &str| Expr::Column(Column::new_unqualified(c));
        let mut named: Vec<(String, Expr)> = vec![];
        for c in &expect.not_null {
            named.push((format!("not_null({c})"), column(c).is_null()));
        }
        for (c, lo, hi) in &expect.between {
            let outside = column(c).lt(literal(lo)).or(column(c).gt(literal(hi)));
            named.push((format!("between({c})"), outside.is_true()));
        }
        for (c, set) in &expect.in_set {
            let values = set.iter().map(literal).collect();
            let outside = column(c).in_list(values, true);
            named.push((format!("in_set({c})"), outside.is_true()));
        }
        for (c, pattern) in &expect.matches {
            let text = match schema.field_with_name(c)?.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => column(c),
                _ => cast(column(c), DataType::Utf8),
            };
            let like =
                datafusion::functions::expr_fn::regexp_like(text, lit(pattern.clone()), None);
            named.push((format!("matches({c})"), not(like).is_true()));
        }
        let mut checks = Vec::with_capacity(named.len());
        for (name, expr) in named {
            let broken = state.create_physical_expr(expr, &df_schema)?;
            checks.push(RowCheck {
                name,
                broken,
                failing: 0,
                examples: vec![],
            });
        }
        Ok(Gate { checks, rows: 0 })
    }

    /// True when the table has row-level expectations (otherwise batches pass untouched).
    pub fn has_row_checks(&self) -> bool {
        !self.checks.is_empty()
    }

    /// Counts what `batch` breaks, keeping examples: per check, true where a row breaks it.
    pub fn count(&mut self, batch: &RecordBatch) -> Result<Vec<BooleanArray>> {
        self.rows += batch.num_rows() as u64;
        let mut masks = Vec::with_capacity(self.checks.len());
        if batch.num_rows() == 0 {
            return Ok(masks);
        }
        for check in &mut self.checks {
            let mask = check.broken.evaluate(batch)?.into_array(batch.num_rows())?;
            let mask = mask
                .as_any()
                .downcast_ref::<BooleanArray>()
                .cloned()
                .ok_or_else(|| {
                    CatalogError::Value(format!("{} did not give true/false", check.name))
                })?;
            let failing = mask.true_count();
            if failing > 0 {
                check.failing += failing as u64;
                let room = EXAMPLES - check.examples.len().min(EXAMPLES);
                for row in (0..mask.len()).filter(|i| mask.value(*i)).take(room) {
                    check.examples.push(show_row(batch, row));
                }
            }
            masks.push(mask);
        }
        Ok(masks)
    }

    /// Counts what `batch` breaks and splits it: `bad` holds the failing rows with a
    /// `_broken` column (None when every row passes).
    pub fn inspect(&mut self, batch: &RecordBatch) -> Result<Split> {
        let masks = self.count(batch)?;
        if masks.is_empty() {
            return Ok(Split {
                good: batch.clone(),
                bad: None,
            });
        }
        let mut any = masks[0].clone();
        for m in &masks[1..] {
            any = or_kleene(&any, m)?;
        }
        if any.true_count() == 0 {
            return Ok(Split {
                good: batch.clone(),
                bad: None,
            });
        }
        let passing = datafusion::arrow::compute::not(&any)?;
        let good = filter_record_batch(batch, &passing)?;
        let mut labels = StringBuilder::new();
        for row in 0..batch.num_rows() {
            if any.value(row) {
                let names: Vec<&str> = self
                    .checks
                    .iter()
                    .zip(&masks)
                    .filter(|(_, m)| m.value(row))
                    .map(|(c, _)| c.name.as_str())
                    .collect();
                labels.append_value(names.join(", "));
            }
        }
        let bad = filter_record_batch(batch, &any)?;
        let mut columns: Vec<ArrayRef> = bad.columns().to_vec();
        columns.push(Arc::new(labels.finish()));
        let bad = RecordBatch::try_new(quarantine_schema(&batch.schema()), columns)?;
        Ok(Split {
            good,
            bad: Some(bad),
        })
    }

    /// Every row-level expectation with the rows that broke it so far (0 when none did), in
    /// the order they are written: what `strata check` reports.
    pub fn all(&self) -> Vec<Broken> {
        self.checks
            .iter()
            .map(|c| Broken {
                expectation: c.name.clone(),
                failing: c.failing,
                examples: c.examples.clone(),
                detail: None,
            })
            .collect()
    }

    /// The row-level expectations broken so far, in the order they are written.
    pub fn broken(&self) -> Vec<Broken> {
        let mut all = self.all();
        all.retain(|b| b.failing > 0);
        all
    }
}

/// The `rows` expectation judged on a whole batch of `rows` rows.
pub fn rows_broken(expect: &Expectations, rows: u64) -> Option<Broken> {
    let (lo, hi) = expect.rows?;
    (rows < lo || rows > hi).then(|| Broken {
        expectation: "rows".into(),
        failing: rows,
        examples: vec![],
        detail: Some(format!("a batch must have {lo} to {hi} rows")),
    })
}

/// The columns of a table's quarantine: the table's, then `_broken`.
pub fn quarantine_schema(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(BROKEN, DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// Refuses an expectation on a column the table does not have, naming both.
pub fn check_columns(table: &TableName, schema: &Schema, expect: &Expectations) -> Result<()> {
    for c in expect.columns() {
        if schema.field_with_name(c).is_err() {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(CatalogError::table(
                table,
                format!(
                    "an expectation names column '{c}', which the table does not have; its \
                     columns are: {}",
                    columns.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn literal(l: &Literal) -> Expr {
    match l {
        Literal::Int(v) => lit(*v),
        Literal::Float(v) => lit(*v),
        Literal::Bool(v) => lit(*v),
        Literal::Text(v) => lit(v.clone()),
    }
}

/// One row as `{a: 1, b: NULL}`, cut to [`EXAMPLE_WIDTH`] characters.
pub fn show_row(batch: &RecordBatch, row: usize) -> String {
    let options = FormatOptions::default().with_null("NULL");
    let schema = batch.schema();
    let mut parts = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let value = ArrayFormatter::try_new(column.as_ref(), &options)
            .map(|f| f.value(row).to_string())
            .unwrap_or_else(|_| "?".into());
        parts.push(format!("{}: {value}", field.name()));
    }
    let mut text = format!("{{{}}}", parts.join(", "));
    if text.chars().count() > EXAMPLE_WIDTH {
        text = text.chars().take(EXAMPLE_WIDTH - 1).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::expect::OnFailure;
    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::prelude::SessionContext;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, true),
            Field::new("revenue", DataType::Float64, true),
            Field::new("email", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("FR"),
                    None,
                    Some("XX"),
                    Some("DE"),
                    Some("US"),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(10.0),
                    Some(5.0),
                    Some(-1.0),
                    None,
                    Some(2e9),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("a@b.c"),
                    Some("x@y.z"),
                    Some("nope"),
                    None,
                    Some("u@v.w"),
                ])),
            ],
        )
        .unwrap()
    }

    fn expectations() -> Expectations {
        Expectations {
            not_null: vec!["country".into()],
            between: vec![("revenue".into(), Literal::Int(0), Literal::Float(1e9))],
            in_set: vec![(
                "country".into(),
                vec![
                    Literal::Text("FR".into()),
                    Literal::Text("DE".into()),
                    Literal::Text("US".into()),
                ],
            )],
            matches: vec![("email".into(), "^[^@]+@[^@]+$".into())],
            on_failure: OnFailure::Quarantine,
            ..Default::default()
        }
    }

    #[test]
    fn each_row_expectation_counts_its_rows_and_nulls_pass_all_but_not_null() {
        let state = SessionContext::new().state();
        let b = batch();
        let table = TableName::new("enhanced", "s", "t");
        let mut gate = Gate::new(&state, &table, &b.schema(), &expectations()).unwrap();
        let split = gate.inspect(&b).unwrap();
        let counts: Vec<(String, u64)> = gate
            .broken()
            .into_iter()
            .map(|b| (b.expectation, b.failing))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("not_null(country)".to_string(), 1),
                ("between(revenue)".to_string(), 2),
                ("in_set(country)".to_string(), 1),
                ("matches(email)".to_string(), 1),
            ]
        );
        // Rows 0 and 3 pass (row 3's NULL revenue and email are not checked but by not_null).
        assert_eq!(split.good.num_rows(), 2);
        let bad = split.bad.unwrap();
        assert_eq!(bad.num_rows(), 3);
        let labels = bad
            .column_by_name(BROKEN)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone();
        assert_eq!(labels.value(0), "not_null(country)");
        assert_eq!(
            labels.value(1),
            "between(revenue), in_set(country), matches(email)"
        );
        assert_eq!(labels.value(2), "between(revenue)");
        assert_eq!(
            gate.broken()[0].examples,
            vec!["{country: NULL, revenue: 5.0, email: x@y.z}"]
        );
    }

    #[test]
    fn an_expectation_on_a_missing_column_names_table_and_column() {
        let state = SessionContext::new().state();
        let mut e = expectations();
        e.not_null.push("contry".into());
        let table = TableName::new("enhanced", "s", "t");
        let err = match Gate::new(&state, &table, &batch().schema(), &e) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a missing column was accepted"),
        };
        assert!(
            err.contains("enhanced.s.t") && err.contains("'contry'"),
            "{err}"
        );
    }

    #[test]
    fn rows_bounds_judge_the_whole_batch() {
        let e = Expectations {
            rows: Some((1, 3)),
            ..Default::default()
        };
        assert_eq!(rows_broken(&e, 2), None);
        assert_eq!(rows_broken(&e, 0).unwrap().failing, 0);
        assert!(rows_broken(&e, 4).unwrap().to_string().contains("1 to 3"));
    }
}
