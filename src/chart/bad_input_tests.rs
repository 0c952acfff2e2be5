//! Bad input for `\chart`: the exact error for each wrong shape, empty or NULL-only result and
//! too-small terminal, and charts of NULL, NaN, single, negative, huge and long values that
//! stay within the terminal without panicking.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{Schema, SchemaRef};

use super::tests::{
    batch, bigints, chart, countries, daily_revenue, date, error, floats, label_row, latencies,
    sized, text,
};
use super::*;

#[test]
fn wrong_shapes_say_what_is_needed_and_what_came() {
    let three = batch(vec![
        ("a", text(&[Some("x")])),
        ("b", bigints(&[1])),
        ("c", date(&[20_000])),
    ]);
    let opts = sized(80, 20);
    assert_eq!(
        error(ChartKind::Bar, &three, &opts),
        "\\chart bar needs two columns: a label and a number; the query returned 3 columns \
         (a text, b bigint, c date)"
    );
    let texts = batch(vec![("a", text(&[Some("x")])), ("b", text(&[Some("1")]))]);
    assert_eq!(
        error(ChartKind::Bar, &texts, &opts),
        "\\chart bar needs two columns: a label and a number; the query returned 2 columns \
         (a text, b text)"
    );
    assert_eq!(
        error(ChartKind::Line, &texts, &opts),
        "\\chart line needs an x column (timestamp, date or number) followed by one or more \
         number columns; the query returned 2 columns (a text, b text)"
    );
    let one_date = batch(vec![("day", date(&[20_000]))]);
    assert_eq!(
        error(ChartKind::Line, &one_date, &opts),
        "\\chart line needs an x column (timestamp, date or number) followed by one or more \
         number columns; the query returned 1 column (day date)"
    );
    assert_eq!(
        error(ChartKind::Hist, &three, &opts),
        "\\chart hist needs one number column; the query returned 3 columns \
         (a text, b bigint, c date)"
    );
    assert_eq!(
        error(ChartKind::Hist, &one_date, &opts),
        "\\chart hist needs one number column; the query returned 1 column (day date)"
    );
    let none = (Arc::new(Schema::empty()) as SchemaRef, vec![]);
    assert_eq!(
        error(ChartKind::Hist, &none, &opts),
        "\\chart hist needs one number column; the query returned no columns"
    );
    let wide = batch(
        (0..10)
            .map(|i| {
                (
                    ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"][i],
                    bigints(&[1]),
                )
            })
            .collect(),
    );
    assert_eq!(
        error(ChartKind::Bar, &wide, &opts),
        "\\chart bar needs two columns: a label and a number; the query returned 10 columns \
         (c0 bigint, c1 bigint, c2 bigint, c3 bigint, c4 bigint, c5 bigint, c6 bigint, \
         c7 bigint, …)"
    );
}

#[test]
fn empty_results_have_nothing_to_chart() {
    let opts = sized(80, 20);
    for (kind, data) in [
        (ChartKind::Bar, countries()),
        (ChartKind::Line, daily_revenue()),
        (ChartKind::Hist, latencies()),
    ] {
        let empty = (data.0.clone(), vec![data.1[0].slice(0, 0)]);
        assert_eq!(error(kind, &empty, &opts), "no rows to chart");
        let no_batches = (data.0.clone(), vec![]);
        assert_eq!(error(kind, &no_batches, &opts), "no rows to chart");
    }
    // The shape is checked first: an empty result of the wrong shape says so.
    let empty_text = batch(vec![("a", text(&[]))]);
    assert!(error(ChartKind::Hist, &empty_text, &opts).starts_with("\\chart hist needs"));
}

#[test]
fn nulls_are_skipped_and_counted() {
    let opts = sized(60, 12);
    let data = batch(vec![
        ("country", text(&[Some("a"), None, Some("c"), Some("d")])),
        ("revenue", floats(&[Some(1.0), Some(2.0), None, None])),
    ]);
    let out = chart(ChartKind::Bar, &data, &opts);
    let lines: Vec<&str> = out.lines().collect();
    // Header, the rows "a" and NULL (a NULL label is a group of its own), the note.
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[2].starts_with("NULL "), "{out}");
    assert_eq!(lines[3], "(2 rows with NULL skipped)");

    let data = batch(vec![("v", floats(&[Some(1.0), None, Some(3.0)]))]);
    let out = chart(ChartKind::Hist, &data, &opts);
    assert_eq!(out.lines().count(), 12, "{out}");
    assert_eq!(out.lines().last(), Some("(1 row with NULL skipped)"));

    let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)]));
    let data = batch(vec![
        ("x", x),
        (
            "y",
            floats(&[Some(1.0), Some(2.0), Some(f64::NAN), Some(4.0)]),
        ),
        ("z", floats(&[None, Some(2.0), Some(3.0), Some(4.0)])),
    ]);
    let out = chart(ChartKind::Line, &data, &opts);
    assert_eq!(
        out.lines().last(),
        Some("(2 rows with NULL and 1 with NaN or infinity skipped)")
    );
}

#[test]
fn only_nulls_or_nans_is_an_error() {
    let opts = sized(60, 12);
    let nulls = batch(vec![("v", floats(&[None, None, None]))]);
    assert_eq!(
        error(ChartKind::Hist, &nulls, &opts),
        "no values to chart: all 3 rows are NULL"
    );
    let one = batch(vec![("k", text(&[Some("a")])), ("v", floats(&[None]))]);
    assert_eq!(
        error(ChartKind::Bar, &one, &opts),
        "no values to chart: the only row is NULL"
    );
    let nans = batch(vec![("v", floats(&[Some(f64::NAN), Some(f64::INFINITY)]))]);
    assert_eq!(
        error(ChartKind::Hist, &nans, &opts),
        "no values to chart: all 2 rows are NaN or infinity"
    );
    let x: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(2)]));
    let mixed = batch(vec![
        ("x", x),
        ("y", floats(&[Some(1.0), Some(f64::NEG_INFINITY)])),
    ]);
    assert_eq!(
        error(ChartKind::Line, &mixed, &opts),
        "no values to chart: every row is NULL, NaN or infinity (1 NULL, 1 NaN or infinity)"
    );
}

#[test]
fn nan_and_infinity_are_skipped_and_counted() {
    let data = batch(vec![(
        "v",
        floats(&[
            Some(1.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(2.0),
        ]),
    )]);
    let out = chart(ChartKind::Hist, &data, &sized(40, 10));
    assert!(out.starts_with("v: bins of 0.1, 2 values"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("(3 rows with NaN or infinity skipped)")
    );
}

#[test]
fn a_single_value_is_one_bar_or_a_flat_line() {
    let data = batch(vec![("v", floats(&[Some(42.0); 5]))]);
    let out = chart(ChartKind::Hist, &data, &sized(40, 10));
    // 42 ± ½ in 10 bins: all five in the sixth bin, whose left edge is 42.
    assert!(out.starts_with("v: bins of 0.1, 5 values"), "{out}");
    let top = out.lines().nth(1).unwrap();
    assert_eq!(top, "5│               ██", "{out}");
    assert!(
        label_row(&out).contains("41.5") && label_row(&out).contains("42.5"),
        "{out}"
    );

    let x: ArrayRef = bigints(&[1, 2, 3]);
    let flat = batch(vec![("x", x), ("y", floats(&[Some(7.0); 3]))]);
    let out = chart(ChartKind::Line, &flat, &sized(40, 10));
    let plot: Vec<&str> = out.lines().skip(1).take(7).collect();
    // One row holds the whole line, labelled with its value; the others are empty.
    let drawn: Vec<&&str> = plot
        .iter()
        .filter(|l| l.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)))
        .collect();
    assert_eq!(drawn.len(), 1, "{out}");
    assert!(drawn[0].starts_with("7│"), "{out}");

    let one_row = batch(vec![("x", bigints(&[5])), ("y", floats(&[Some(1.5)]))]);
    let out = chart(ChartKind::Line, &one_row, &sized(40, 10));
    assert_eq!(label_row(&out).trim(), "5", "{out}");
}

#[test]
fn negative_values() {
    let data = batch(vec![
        ("k", text(&[Some("loss"), Some("bigger loss")])),
        ("v", floats(&[Some(-5.0), Some(-10.0)])),
    ]);
    let out = chart(ChartKind::Bar, &data, &sized(40, 10));
    // All negative: every bar ends at the zero axis on the right, -10 twice as long as -5.
    assert_eq!(
        out,
        "k           v\n\
         loss                    -5 ▐███████████│\n\
         bigger loss -10 ███████████████████████│"
    );
    let data = batch(vec![(
        "v",
        floats(&[Some(-3.0), Some(-1.0), Some(-2.0), Some(-1.5)]),
    )]);
    let out = chart(ChartKind::Hist, &data, &sized(40, 10));
    assert!(label_row(&out).starts_with("  -3 "), "{out}");
    assert!(label_row(&out).ends_with(" -1"), "{out}");
    let x: ArrayRef = bigints(&[-2, -1, 0]);
    let data = batch(vec![
        ("x", x),
        ("y", floats(&[Some(-10.0), Some(5.0), Some(-2.5)])),
    ]);
    let out = chart(ChartKind::Line, &data, &sized(40, 10));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("  5│"), "{out}");
    assert!(lines[7].starts_with("-10│"), "{out}");
    assert!(
        label_row(&out).starts_with("   -2 ") && label_row(&out).ends_with(" 0"),
        "{out}"
    );
}

#[test]
fn huge_values_stay_finite_and_short() {
    let data = batch(vec![
        ("k", text(&[Some("max"), Some("min"), Some("big")])),
        ("v", floats(&[Some(f64::MAX), Some(-f64::MAX), Some(1e300)])),
    ]);
    let out = chart(ChartKind::Bar, &data, &sized(60, 10));
    assert!(
        out.contains("│██") && out.contains(" 1.80e308") && out.contains("-1.80e308 "),
        "{out}"
    );
    let data = batch(vec![(
        "v",
        floats(&[Some(f64::MAX), Some(-f64::MAX), Some(0.0)]),
    )]);
    let out = chart(ChartKind::Hist, &data, &sized(60, 10));
    assert!(
        label_row(&out).starts_with("  -1.80e308") && label_row(&out).ends_with("1.80e308"),
        "{out}"
    );
    let data = batch(vec![("v", floats(&[Some(f64::MAX); 3]))]);
    let out = chart(ChartKind::Hist, &data, &sized(60, 10));
    assert!(
        out.starts_with("v: bins of 1.80e301, 3 values\n3│"),
        "{out}"
    );
    assert!(label_row(&out).ends_with(" 1.80e308"), "{out}");
    let x: ArrayRef = Arc::new(UInt64Array::from(vec![0, u64::MAX]));
    let data = batch(vec![
        ("x", x),
        ("y", floats(&[Some(-f64::MAX), Some(f64::MAX)])),
    ]);
    let out = chart(ChartKind::Line, &data, &sized(60, 10));
    assert!(
        out.lines().nth(1).unwrap().starts_with(" 1.80e308│"),
        "{out}"
    );
}

#[test]
fn too_small_a_terminal_says_the_minimum() {
    let data = countries();
    for (w, h) in [(19, 24), (80, 4), (0, 0)] {
        assert_eq!(
            error(ChartKind::Bar, &data, &sized(w, h)),
            format!("\\chart needs at least 20 columns and 5 rows; got {w}×{h}")
        );
    }
    // The minimum itself draws.
    for (kind, data) in [
        (ChartKind::Bar, countries()),
        (ChartKind::Line, daily_revenue()),
        (ChartKind::Hist, latencies()),
    ] {
        let out = chart(kind, &data, &sized(MIN_WIDTH, MIN_HEIGHT));
        if kind != ChartKind::Bar {
            assert_eq!(out.lines().count(), MIN_HEIGHT as usize, "{out}");
        }
    }
}

#[test]
fn long_labels_are_cut_with_an_ellipsis() {
    let long = "Ж".repeat(500);
    let data = batch(vec![
        (
            "k",
            text(&[Some(&long), Some("日本語のとても長いラベルです")]),
        ),
        ("v", floats(&[Some(1.0), Some(2.0)])),
    ]);
    let out = chart(ChartKind::Bar, &data, &sized(40, 10));
    let lines: Vec<&str> = out.lines().collect();
    // A third of 40 columns: 12 Ж and the ellipsis; the wide characters stop at 12 columns.
    assert!(
        lines[1].starts_with(&format!("{}… │", "Ж".repeat(12))),
        "{out}"
    );
    assert!(lines[2].starts_with("日本語のとて… │"), "{out}");
    let narrow = ChartOptions {
        max_label_width: 5,
        ..sized(40, 10)
    };
    let out = chart(ChartKind::Bar, &data, &narrow);
    assert!(out.lines().nth(1).unwrap().starts_with("ЖЖЖЖ… │"), "{out}");
    let newline = batch(vec![
        ("k", text(&[Some("two\nlines")])),
        ("v", floats(&[Some(1.0)])),
    ]);
    let out = chart(ChartKind::Bar, &newline, &sized(40, 10));
    assert!(
        out.lines().nth(1).unwrap().starts_with("two lines │"),
        "{out}"
    );
}

#[test]
fn too_many_bars_asks_to_aggregate() {
    let labels: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    let labels: ArrayRef = Arc::new(StringArray::from(labels));
    let values: ArrayRef = bigints(&(0..101).collect::<Vec<_>>());
    let data = batch(vec![("k", labels), ("v", values)]);
    assert_eq!(
        error(ChartKind::Bar, &data, &sized(80, 20)),
        "\\chart bar draws at most 100 bars and the query returned 101 rows: aggregate \
         (GROUP BY) or add LIMIT 100"
    );
    let more = ChartOptions {
        max_bars: 101,
        ..sized(80, 20)
    };
    assert_eq!(chart(ChartKind::Bar, &data, &more).lines().count(), 102);
}

#[test]
fn bins_must_fit_the_width() {
    let data = latencies();
    let zero = ChartOptions {
        bins: 0,
        ..sized(40, 12)
    };
    assert_eq!(
        error(ChartKind::Hist, &data, &zero),
        "\\chart hist needs between 1 and 34 bins at width 40; got 0"
    );
    let many = ChartOptions {
        bins: 35,
        ..sized(40, 12)
    };
    assert_eq!(
        error(ChartKind::Hist, &data, &many),
        "\\chart hist needs between 1 and 34 bins at width 40; got 35"
    );
    let most = ChartOptions {
        bins: 34,
        ..sized(40, 12)
    };
    chart(ChartKind::Hist, &data, &most);
    let one = ChartOptions {
        bins: 1,
        ..sized(40, 12)
    };
    let out = chart(ChartKind::Hist, &data, &one);
    assert!(
        out.lines().nth(1).unwrap().starts_with("1000│████"),
        "{out}"
    );
}
