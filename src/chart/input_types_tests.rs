//! Input types for `\chart`: every number type, dates and timestamps (time zones, extremes)
//! and numbers as x, unsorted x, results in several batches, and widths from 20 to 200.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, RecordBatch, TimestampMicrosecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::SchemaRef;

use super::tests::{
    batch, bigints, chart, countries, daily_revenue, daily_revenue_one_series, date, floats,
    label_row, latencies, sized, text, DAY_US, NOV_1_US,
};
use super::*;

#[test]
fn every_number_type_charts() {
    let opts = sized(40, 10);
    let dec: ArrayRef = Arc::new(
        Decimal128Array::from(vec![1234, -50, 99_999])
            .with_precision_and_scale(10, 2)
            .unwrap(),
    );
    let data = batch(vec![
        ("k", text(&[Some("a"), Some("b"), Some("c")])),
        ("price", dec),
    ]);
    let out = chart(ChartKind::Bar, &data, &opts);
    assert!(
        out.contains(" 12.34") && out.contains("-0.5 ") && out.contains(" 999.99"),
        "{out}"
    );
    let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX, 1]));
    let data = batch(vec![("k", bigints(&[7, 8])), ("n", big)]);
    let out = chart(ChartKind::Bar, &data, &opts);
    assert!(out.lines().nth(1).unwrap().starts_with("7 │███"), "{out}");
    assert!(out.lines().nth(1).unwrap().ends_with(" 1.84e19"), "{out}");
    let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 2, 3, 3, 3]));
    let out = chart(ChartKind::Hist, &batch(vec![("n", ints)]), &opts);
    assert!(out.starts_with("n: bins of 0.2, 6 values"), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("3│"), "{out}");
}

#[test]
fn line_x_may_be_a_date_or_a_number_and_is_sorted() {
    let opts = sized(60, 10);
    // 2024-01-01 is day 19723; ten days in reverse order.
    let days: Vec<i32> = (0..10).rev().map(|d| 19_723 + d).collect();
    let ys: Vec<Option<f64>> = (0..10).rev().map(|d| Some(f64::from(d * d))).collect();
    let data = batch(vec![("day", date(&days)), ("y", floats(&ys))]);
    let out = chart(ChartKind::Line, &data, &opts);
    let labels = label_row(&out);
    assert!(labels.trim_start().starts_with("2024-01-01"), "{out}");
    assert!(labels.ends_with("2024-01-10"), "{out}");
    let sorted_days: Vec<i32> = (0..10).map(|d| 19_723 + d).collect();
    let sorted_ys: Vec<Option<f64>> = (0..10).map(|d| Some(f64::from(d * d))).collect();
    let sorted = batch(vec![("day", date(&sorted_days)), ("y", floats(&sorted_ys))]);
    assert_eq!(out, chart(ChartKind::Line, &sorted, &opts));

    let x: ArrayRef = bigints(&[10, 0, 5]);
    let data = batch(vec![
        ("x", x),
        ("y", floats(&[Some(1.0), Some(0.0), Some(2.0)])),
    ]);
    let out = chart(ChartKind::Line, &data, &opts);
    assert!(label_row(&out).trim_start().starts_with("0 "), "{out}");
    assert!(label_row(&out).ends_with(" 10"), "{out}");
}

#[test]
fn time_labels_are_in_the_column_time_zone() {
    // 24 hours from 2026-11-01 00:00 in Berlin (23:00 UTC the day before).
    let start = NOV_1_US - 3_600_000_000;
    let hours: Vec<i64> = (0..24).map(|h| start + h * 3_600_000_000).collect();
    let x: ArrayRef =
        Arc::new(TimestampMicrosecondArray::from(hours).with_timezone("Europe/Berlin"));
    let ys: Vec<Option<f64>> = (0..24).map(|h| Some(f64::from(h % 7))).collect();
    let data = batch(vec![("at", x), ("n", floats(&ys))]);
    let out = chart(ChartKind::Line, &data, &sized(60, 10));
    assert!(label_row(&out).trim_start().starts_with("00:00 "), "{out}");
    assert!(label_row(&out).ends_with(" 23:00"), "{out}");
    // Over several days the labels are days.
    let days: Vec<i64> = (0..3).map(|d| NOV_1_US + d * DAY_US).collect();
    let x: ArrayRef = Arc::new(TimestampMicrosecondArray::from(days));
    let data = batch(vec![
        ("at", x),
        ("n", floats(&[Some(1.0), Some(2.0), Some(1.0)])),
    ]);
    let out = chart(ChartKind::Line, &data, &sized(60, 10));
    assert!(
        label_row(&out).trim_start().starts_with("11-01 00:00 "),
        "{out}"
    );
    assert!(label_row(&out).ends_with(" 11-03 00:00"), "{out}");
}

#[test]
fn batches_are_read_as_one_result() {
    let (schema, batches) = countries();
    let split: Vec<RecordBatch> = vec![batches[0].slice(0, 3), batches[0].slice(3, 4)];
    let opts = sized(80, 20);
    assert_eq!(
        draw(ChartKind::Bar, &schema, &split, &opts).unwrap(),
        draw(ChartKind::Bar, &schema, &batches, &opts).unwrap()
    );
    // A batch that does not match the schema is an error, not a panic.
    let other = [latencies().1[0].slice(0, 3)];
    assert_eq!(
        draw(ChartKind::Bar, &schema, &other, &opts)
            .unwrap_err()
            .to_string(),
        "could not read the query result: Schema error: a batch has 1 columns where the schema \
         has 2"
    );
}

#[test]
fn chart_kinds_parse() {
    assert_eq!("bar".parse::<ChartKind>().unwrap(), ChartKind::Bar);
    assert_eq!("LINE".parse::<ChartKind>().unwrap(), ChartKind::Line);
    assert_eq!("hist".parse::<ChartKind>().unwrap(), ChartKind::Hist);
    assert_eq!("histogram".parse::<ChartKind>().unwrap(), ChartKind::Hist);
    assert_eq!(
        "pie".parse::<ChartKind>().unwrap_err().to_string(),
        "unknown chart kind 'pie': use bar, line or hist"
    );
}

#[test]
fn no_line_is_wider_than_the_terminal() {
    let wide_labels = batch(vec![
        (
            "名前",
            text(&[Some("日本語のとても長いラベルです"), Some("x"), Some("Ж")]),
        ),
        ("v", floats(&[Some(-1e12), Some(3.25), Some(0.001)])),
    ]);
    let fixtures = [
        (ChartKind::Bar, countries()),
        (ChartKind::Bar, wide_labels),
        (ChartKind::Line, daily_revenue()),
        (ChartKind::Line, daily_revenue_one_series()),
        (ChartKind::Hist, latencies()),
    ];
    for (kind, data) in &fixtures {
        for width in (MIN_WIDTH..=200).step_by(3) {
            for height in [MIN_HEIGHT, 6, 12, 40] {
                for unicode in [true, false] {
                    let opts = ChartOptions {
                        unicode,
                        ..sized(width, height)
                    };
                    let out = chart(*kind, data, &opts);
                    if *kind != ChartKind::Bar {
                        assert_eq!(out.lines().count(), height as usize, "{out}");
                    }
                }
            }
        }
    }
}

#[test]
fn extreme_dates_and_timestamps_do_not_panic() {
    let opts = sized(60, 10);
    let x: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MIN, 0, i64::MAX]));
    let data = batch(vec![
        ("at", x),
        ("y", floats(&[Some(1.0), Some(2.0), Some(3.0)])),
    ]);
    let out = chart(ChartKind::Line, &data, &opts);
    // Beyond chrono's years a label cannot be written and shows as "?".
    assert!(
        label_row(&out).starts_with(" ? ") && label_row(&out).ends_with(" ?"),
        "{out}"
    );
    let data = batch(vec![
        ("day", date(&[i32::MIN, 0, i32::MAX])),
        ("y", floats(&[Some(1.0), Some(2.0), Some(3.0)])),
    ]);
    chart(ChartKind::Line, &data, &opts);
}

#[test]
fn dictionary_encoded_numbers_are_numbers() {
    use datafusion::arrow::datatypes::{DataType, Int32Type};
    let dict: ArrayRef = Arc::new(
        ["1.5", "2", "1.5"]
            .into_iter()
            .collect::<datafusion::arrow::array::DictionaryArray<Int32Type>>(),
    );
    let as_numbers = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Float64));
    let numbers = datafusion::arrow::compute::cast(&dict, &as_numbers).unwrap();
    let out = chart(
        ChartKind::Hist,
        &batch(vec![("v", numbers)]),
        &sized(60, 10),
    );
    assert!(
        out.starts_with("v: bins of 0.05, 3 values\n2│████\n"),
        "{out}"
    );
}

#[test]
fn the_kind_is_guessed_from_the_columns() {
    let guess = |data: (SchemaRef, Vec<RecordBatch>)| ChartKind::guess(&data.0);
    assert_eq!(guess(latencies()), Some(ChartKind::Hist));
    assert_eq!(guess(countries()), Some(ChartKind::Bar));
    assert_eq!(guess(daily_revenue()), Some(ChartKind::Line));
    assert_eq!(guess(daily_revenue_one_series()), Some(ChartKind::Line));
    let ints = || bigints(&[1]);
    assert_eq!(
        guess(batch(vec![("year", ints()), ("n", ints())])),
        Some(ChartKind::Bar)
    );
    let three = batch(vec![("x", ints()), ("a", ints()), ("b", ints())]);
    assert_eq!(guess(three), Some(ChartKind::Line));
    assert_eq!(guess(batch(vec![("a", text(&[Some("x")]))])), None);
    let text_last = batch(vec![("a", ints()), ("b", text(&[Some("x")]))]);
    assert_eq!(guess(text_last), None);
}
