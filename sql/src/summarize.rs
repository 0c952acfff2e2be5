//! `SUMMARIZE <table>` and `SUMMARIZE <query>`: one row per column with DuckDB's statistics
//! (min, max, approx_unique, avg, std, q25/q50/q75, count, null_percentage), planned as one
//! aggregate over the input and pivoted with `unnest`, so the whole summary is one pass, one
//! ordinary DataFusion plan that streams like any query (docs/repl.md).
use crate::types::sql_type_display;
use crate::{Result, SqlError};
use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Column, ScalarValue, UnnestOptions};
use datafusion::functions::expr_fn::{concat, encode, round};
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn::{
    approx_distinct, approx_percentile_cont, avg, count, max, min, stddev,
};
use datafusion::functions_nested::expr_fn::make_array;
use datafusion::logical_expr::{cast, col, lit, when, Expr, LogicalPlan, LogicalPlanBuilder};

/// The statement's word, caught before sqlparser (which has no SUMMARIZE).
const KEYWORD: &str = "SUMMARIZE";

/// The query a `SUMMARIZE …` statement summarizes, as SQL text; None when `text` is not one.
/// A table (with a time-travel clause if wanted) becomes `SELECT * FROM <table>`.
pub(crate) fn query_text(text: &str) -> Option<Result<String>> {
    let trimmed = skip_comments(text);
    let end = trimmed
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    if !trimmed[..end].eq_ignore_ascii_case(KEYWORD) {
        return None;
    }
    let rest = trimmed[end..].trim().trim_end_matches(';').trim();
    if rest.is_empty() {
        return Some(Err(SqlError::Syntax(
            "SUMMARIZE needs a table or a query: SUMMARIZE raw.crm.customers, \
             or SUMMARIZE SELECT …"
                .into(),
        )));
    }
    let first = rest
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let is_query = rest.starts_with('(')
        || ["SELECT", "WITH", "VALUES", "FROM", "TABLE"].contains(&first.as_str());
    Some(Ok(match is_query {
        true => rest.to_string(),
        false => format!("SELECT * FROM {rest}"),
    }))
}

/// `text` after its leading white space and comments (tools put a comment first).
fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return text;
        }
    }
}

/// The statistics, in DuckDB's column order; each is one list of per-column values.
const STATS: [&str; 12] = [
    "column_name",
    "column_type",
    "min",
    "max",
    "approx_unique",
    "avg",
    "std",
    "q25",
    "q50",
    "q75",
    "count",
    "null_percentage",
];

/// The summary of `input`'s rows: one aggregate computing every statistic of every column,
/// then one row per column.
pub(crate) fn plan(input: LogicalPlan) -> Result<LogicalPlan> {
    let fields: Vec<_> = input.schema().fields().iter().cloned().collect();
    if fields.is_empty() {
        return Err(SqlError::Syntax(
            "SUMMARIZE needs at least one column".into(),
        ));
    }
    // Columns by position: a join's names may repeat (`id` and `id`), these aliases do not.
    let by_position: Vec<Expr> = input
        .schema()
        .iter()
        .enumerate()
        .map(|(i, qualified)| Expr::Column(Column::from(qualified)).alias(format!("c{i}")))
        .collect();
    let input = LogicalPlanBuilder::from(input)
        .project(by_position)?
        .build()?;
    let mut aggregates = vec![count_all().alias("n")];
    // Per statistic, the expression each column contributes after the aggregate.
    let mut rows: Vec<Vec<Expr>> = vec![Vec::new(); STATS.len()];
    for (i, field) in fields.iter().enumerate() {
        let c = col(format!("c{i}"));
        let dt = value_type(field.data_type());
        let c = match &dt == field.data_type() {
            true => c,
            false => cast(c, dt.clone()),
        };
        let stats = Stats::of(&dt);
        let mut agg = |name: &str, e: Expr| -> Expr {
            let alias = format!("{name}_{i}");
            aggregates.push(e.alias(&alias));
            col(alias)
        };
        let null_text = || lit(ScalarValue::Utf8(None));
        let text = |e: Expr| cast(e, DataType::Utf8);
        // Bytes are shown as PostgreSQL shows bytea (`\x0102`): as text they could be
        // anything, including invalid UTF-8.
        let shown = |e: Expr| match is_binary(&dt) {
            true => concat(vec![
                lit("\\x"),
                encode(cast(e, DataType::Binary), lit("hex")),
            ]),
            false => text(e),
        };

        rows[0].push(lit(field.name().as_str()));
        rows[1].push(lit(sql_type_display(field.data_type())));
        if stats.min_max {
            rows[2].push(shown(agg("min", min(c.clone()))));
            rows[3].push(shown(agg("max", max(c.clone()))));
        } else {
            rows[2].push(null_text());
            rows[3].push(null_text());
        }
        rows[4].push(match distinct_input(&dt, c.clone()) {
            Some(e) => cast(agg("unique", approx_distinct(e)), DataType::Int64),
            None => lit(ScalarValue::Int64(None)),
        });
        match &stats.kind {
            Some(Measure::Number { back }) => {
                let f = cast(c.clone(), DataType::Float64);
                // To 12 digits: a parallel sum's last digits change from run to run.
                let steady = |e: Expr| {
                    let digits = lit(crate::significant::SUMMARY_DIGITS);
                    crate::significant::round_significant_udf().call(vec![e, digits])
                };
                rows[5].push(text(steady(agg("avg", avg(f.clone())))));
                rows[6].push(text(steady(agg("std", stddev(f.clone())))));
                let (lo, hi) = (col(format!("min_{i}")), col(format!("max_{i}")));
                for (q, p) in [(7, 0.25), (8, 0.5), (9, 0.75)] {
                    let v = agg(&format!("q{q}"), quantile(f.clone(), p));
                    rows[q].push(text(within(v.clone(), &lo, &hi, restore(v, back))?));
                }
            }
            Some(Measure::Time {
                ticks,
                scale,
                mean_type,
                back,
            }) => {
                let int = |e: Expr| cast(cast(e, ticks.clone()), DataType::Int64);
                // The mean of instants, exactly: a sum of 2026's µs overflows Float64's
                // 53 bits after a few rows, so ticks are summed as a 38-digit decimal and the
                // mean rounded to a whole tick. DuckDB's mean of a date is a timestamp.
                let exact = cast(int(c.clone()) * lit(*scale), DataType::Decimal128(38, 0));
                let mean = cast(agg("avg", avg(exact)), DataType::Decimal128(38, 0));
                rows[5].push(text(from_ticks(cast(mean, DataType::Int64), mean_type)));
                rows[6].push(null_text());
                // The t-digest works in Float64, a tick or so off at these magnitudes; kept
                // within the column's range so a quartile is never outside the data.
                let f = cast(int(c.clone()), DataType::Float64);
                let (lo, hi) = (int(col(format!("min_{i}"))), int(col(format!("max_{i}"))));
                for (q, p) in [(7, 0.25), (8, 0.5), (9, 0.75)] {
                    let v = agg(&format!("q{q}"), quantile(f.clone(), p));
                    let whole = cast(round(vec![v.clone()]), DataType::Int64);
                    rows[q].push(text(from_ticks(within(v, &lo, &hi, whole)?, back)));
                }
            }
            None => {
                for r in 5..=9 {
                    rows[r].push(null_text());
                }
            }
        }
        rows[10].push(col("n"));
        let present = agg("present", count(c));
        let share = lit(1.0) - cast(present, DataType::Float64) / cast(col("n"), DataType::Float64);
        rows[11].push(
            when(
                col("n").gt(lit(0i64)),
                cast(share * lit(100.0), DataType::Decimal128(9, 2)),
            )
            .otherwise(lit(ScalarValue::Decimal128(None, 9, 2)))?,
        );
    }
    let lists: Vec<Expr> = rows
        .into_iter()
        .zip(STATS)
        .map(|(values, name)| make_array(values).alias(name))
        .collect();
    let columns = STATS.iter().map(|s| Column::new_unqualified(*s)).collect();
    Ok(LogicalPlanBuilder::from(input)
        .aggregate(Vec::<Expr>::new(), aggregates)?
        .project(lists)?
        .unnest_columns_with_options(columns, UnnestOptions::new().with_preserve_nulls(true))?
        .build()?)
}

/// What SUMMARIZE computes for a column of a type, as DuckDB does: averages and quartiles of
/// numbers and of dates and times, a standard deviation of numbers only.
struct Stats {
    min_max: bool,
    kind: Option<Measure>,
}

enum Measure {
    /// A number: statistics in Float64; quartiles go `back` to the column's type (an integer
    /// column's median is an integer, as in DuckDB).
    Number { back: DataType },
    /// A date or timestamp: statistics over its `ticks` (Int32 days, Int64 units since the
    /// epoch); the mean is `scale` times the mean tick, a `mean_type`; quartiles go `back` to
    /// the column's type.
    Time {
        ticks: DataType,
        scale: i64,
        mean_type: DataType,
        back: DataType,
    },
}

impl Stats {
    fn of(dt: &DataType) -> Stats {
        let min_max = !matches!(
            dt,
            DataType::Map(..) | DataType::Union(..) | DataType::RunEndEncoded(..)
        ) && can_cast_types(dt, &DataType::Utf8);
        let kind = match dt {
            t if t.is_numeric() => Some(Measure::Number { back: dt.clone() }),
            // A day is 86,400,000,000 µs: the mean of dates is a timestamp in µs.
            DataType::Date32 => Some(Measure::Time {
                ticks: DataType::Int32,
                scale: 86_400_000_000,
                mean_type: DataType::Timestamp(TimeUnit::Microsecond, None),
                back: DataType::Date32,
            }),
            DataType::Date64 => Some(Measure::Time {
                ticks: DataType::Int64,
                scale: 1,
                mean_type: DataType::Timestamp(TimeUnit::Millisecond, None),
                back: DataType::Date64,
            }),
            // A time of day's mean and quartiles are times, as in DuckDB.
            DataType::Time32(_) => Some(Measure::Time {
                ticks: DataType::Int32,
                scale: 1,
                mean_type: dt.clone(),
                back: dt.clone(),
            }),
            DataType::Time64(_) => Some(Measure::Time {
                ticks: DataType::Int64,
                scale: 1,
                mean_type: dt.clone(),
                back: dt.clone(),
            }),
            DataType::Timestamp(..) => Some(Measure::Time {
                ticks: DataType::Int64,
                scale: 1,
                mean_type: dt.clone(),
                back: dt.clone(),
            }),
            _ => None,
        };
        Stats { min_max, kind }
    }
}

/// `value` (a Float64 from the t-digest) as `exact`, unless it is at or beyond the column's
/// `lo` or `hi` (in `exact`'s type): then that end. The digest works in Float64, so near Int64's ends or at 2026's
/// µs it can land a little outside the data, where the cast back would overflow.
fn within(value: Expr, lo: &Expr, hi: &Expr, exact: Expr) -> Result<Expr> {
    let f = |e: &Expr| cast(e.clone(), DataType::Float64);
    Ok(when(value.clone().gt_eq(f(hi)), hi.clone())
        .when(value.lt_eq(f(lo)), lo.clone())
        .otherwise(exact)?)
}

/// A tick count (Int64) as `t`: dates and times of 32 bits go through Int32.
fn from_ticks(ticks: Expr, t: &DataType) -> Expr {
    match t {
        DataType::Date32 | DataType::Time32(_) => cast(cast(ticks, DataType::Int32), t.clone()),
        _ => cast(ticks, t.clone()),
    }
}

/// A quartile from the t-digest DataFusion keeps for approx_percentile_cont.
fn quantile(value: Expr, p: f64) -> Expr {
    approx_percentile_cont(value.sort(true, false), lit(p), None)
}

/// An approximate quartile in the column's own type: integers rounded, decimals to their scale.
fn restore(value: Expr, back: &DataType) -> Expr {
    match back {
        t if t.is_integer() => cast(round(vec![value]), t.clone()),
        DataType::Float64 => value,
        t => cast(value, t.clone()),
    }
}

fn is_binary(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

/// A dictionary column holds its values' type; the statistics are of the values.
fn value_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Dictionary(_, v) => value_type(v),
        other => other.clone(),
    }
}

/// What approx_distinct can count for a type: floats have no sketch of their own in
/// DataFusion 55, so their text is counted (distinct floats have distinct texts).
fn distinct_input(dt: &DataType, c: Expr) -> Option<Expr> {
    match dt {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Some(cast(c, DataType::Utf8)),
        DataType::Null => Some(c),
        DataType::Dictionary(..) | DataType::RunEndEncoded(..) => None,
        t if t.is_primitive()
            || t.is_nested()
            || matches!(
                t,
                DataType::Boolean
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::FixedSizeBinary(_)
            ) =>
        {
            Some(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::query_text;

    #[test]
    fn a_table_becomes_a_query_and_a_query_stays() {
        let q = |s: &str| query_text(s).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(
            q("summarize raw.crm.customers;"),
            Some(Ok("SELECT * FROM raw.crm.customers".into()))
        );
        assert_eq!(
            q("SUMMARIZE t FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12'"),
            Some(Ok(
                "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12'".into()
            ))
        );
        assert_eq!(
            q("SUMMARIZE select 1 AS x"),
            Some(Ok("select 1 AS x".into()))
        );
        assert_eq!(q("SUMMARIZE (SELECT 1)"), Some(Ok("(SELECT 1)".into())));
        assert_eq!(q("SELECT 1"), None);
        assert_eq!(q("summarized"), None);
        assert!(q("SUMMARIZE ;")
            .unwrap()
            .unwrap_err()
            .contains("needs a table"));
    }
}
