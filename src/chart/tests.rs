//! Tests of `\chart`: snapshots of each kind at 40, 80 and 200 columns on small fixed data, the
//! exact error for each kind of bad input, and that no line is ever wider than the terminal.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};

use super::*;

pub(super) const DAY_US: i64 = 86_400_000_000;
/// 2026-11-01T00:00:00Z in microseconds.
pub(super) const NOV_1_US: i64 = 1_793_491_200_000_000;

pub(super) fn batch(columns: Vec<(&str, ArrayRef)>) -> (SchemaRef, Vec<RecordBatch>) {
    let schema: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect())
        .expect("valid batch");
    (schema, vec![batch])
}

pub(super) fn sized(width: u16, height: u16) -> ChartOptions {
    ChartOptions {
        width,
        height,
        ..ChartOptions::default()
    }
}

pub(super) fn text(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

pub(super) fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

/// Revenue per country, one country with refunds above its sales.
pub(super) fn countries() -> (SchemaRef, Vec<RecordBatch>) {
    batch(vec![
        (
            "country",
            text(&[
                Some("Germany"),
                Some("France"),
                Some("United Kingdom of Great Britain and Northern Ireland"),
                Some("Italy"),
                Some("Spain"),
                Some("日本"),
                Some("Netherlands"),
            ]),
        ),
        (
            "revenue",
            floats(&[
                Some(12840.5),
                Some(9120.0),
                Some(7055.25),
                Some(-1520.75),
                Some(4310.0),
                Some(2600.0),
                Some(0.0),
            ]),
        ),
    ])
}

/// 30 days of revenue from 2026-11-01 (UTC): a rising trend, a weekly dip and a wobble.
pub(super) fn daily_revenue() -> (SchemaRef, Vec<RecordBatch>) {
    let days: Vec<i64> = (0..30).map(|d| NOV_1_US + d * DAY_US).collect();
    let revenue: Vec<f64> = (0..30)
        .map(|d| {
            let d = d as f64;
            let weekend = if (d as i64) % 7 >= 5 { -900.0 } else { 0.0 };
            ((5000.0 + 60.0 * d + 400.0 * (d / 2.0).sin() + weekend) * 100.0).round() / 100.0
        })
        .collect();
    let cost: Vec<f64> = revenue.iter().map(|r| (r * 0.6 + 800.0).round()).collect();
    let day: ArrayRef = Arc::new(TimestampMicrosecondArray::from(days).with_timezone("UTC"));
    batch(vec![
        ("day", day),
        ("revenue", Arc::new(Float64Array::from(revenue))),
        ("cost", Arc::new(Float64Array::from(cost))),
    ])
}

/// The daily revenue with only its first two columns.
pub(super) fn daily_revenue_one_series() -> (SchemaRef, Vec<RecordBatch>) {
    let (schema, batches) = daily_revenue();
    let schema = Arc::new(schema.project(&[0, 1]).unwrap());
    let batches = batches
        .iter()
        .map(|b| b.project(&[0, 1]).unwrap())
        .collect();
    (schema, batches)
}

/// 1000 pseudo-random latencies: a sum of three uniforms (a bell) from a fixed LCG.
pub(super) fn latencies() -> (SchemaRef, Vec<RecordBatch>) {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let values: Vec<f64> = (0..1000)
        .map(|_| ((uniform() + uniform() + uniform()) * 40.0 * 100.0).round() / 100.0)
        .collect();
    batch(vec![("latency_ms", Arc::new(Float64Array::from(values)))])
}

/// Fails on a line wider than `width` terminal columns or ending in spaces.
pub(super) fn check_size(out: &str, width: u16) {
    for line in out.lines() {
        assert!(
            super::text::width(line) <= width as usize,
            "line wider than {width}: {line:?}\n{out}"
        );
        assert_eq!(line, line.trim_end(), "trailing spaces: {line:?}");
    }
}

pub(super) fn error(
    kind: ChartKind,
    data: &(SchemaRef, Vec<RecordBatch>),
    options: &ChartOptions,
) -> String {
    draw(kind, &data.0, &data.1, options)
        .expect_err("a chart where an error was expected")
        .to_string()
}

pub(super) fn chart(
    kind: ChartKind,
    data: &(SchemaRef, Vec<RecordBatch>),
    options: &ChartOptions,
) -> String {
    let out = draw(kind, &data.0, &data.1, options).expect("a chart");
    check_size(&out, options.width);
    out
}

pub(super) fn date(days: &[i32]) -> ArrayRef {
    Arc::new(Date32Array::from(days.to_vec()))
}

pub(super) fn bigints(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

/// The x-axis label row of a line or hist chart (the last line before any note).
pub(super) fn label_row(out: &str) -> &str {
    let lines: Vec<&str> = out.lines().collect();
    let axis = lines
        .iter()
        .rposition(|l| l.contains('└'))
        .expect("an x axis");
    lines[axis + 1]
}

fn snapshot(name: &str, out: &str) {
    insta::with_settings!({prepend_module_to_snapshot => false, snapshot_path => "snapshots"}, {
        insta::assert_snapshot!(name, out);
    });
}

#[test]
fn bar_snapshots() {
    let (schema, batches) = countries();
    for width in [40, 80, 200] {
        let out = draw(ChartKind::Bar, &schema, &batches, &sized(width, 12)).unwrap();
        check_size(&out, width);
        snapshot(&format!("bar_w{width}"), &out);
    }
}

#[test]
fn line_snapshots() {
    let (schema, batches) = daily_revenue_one_series();
    for width in [40, 80, 200] {
        let out = draw(ChartKind::Line, &schema, &batches, &sized(width, 12)).unwrap();
        check_size(&out, width);
        assert_eq!(out.lines().count(), 12);
        snapshot(&format!("line_w{width}"), &out);
    }
    let (schema, batches) = daily_revenue();
    let out = draw(ChartKind::Line, &schema, &batches, &sized(80, 16)).unwrap();
    check_size(&out, 80);
    snapshot("line_two_series_w80", &out);
}

#[test]
fn hist_snapshots() {
    let (schema, batches) = latencies();
    for width in [40, 80, 200] {
        let out = draw(ChartKind::Hist, &schema, &batches, &sized(width, 12)).unwrap();
        check_size(&out, width);
        assert_eq!(out.lines().count(), 12);
        snapshot(&format!("hist_w{width}"), &out);
    }
}

#[test]
fn ascii_snapshot() {
    let (schema, batches) = countries();
    let options = ChartOptions {
        unicode: false,
        ..sized(60, 12)
    };
    let out = draw(ChartKind::Bar, &schema, &batches, &options).unwrap();
    snapshot("bar_ascii_w60", &out);
    let (schema, batches) = latencies();
    let out = draw(ChartKind::Hist, &schema, &batches, &options).unwrap();
    assert!(out.is_ascii(), "{out}");
    let (schema, batches) = daily_revenue();
    let out = draw(ChartKind::Line, &schema, &batches, &options).unwrap();
    assert!(out.is_ascii(), "{out}");
    snapshot("line_ascii_w60", &out);
}
