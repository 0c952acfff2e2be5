//! Behaviour tests of the renderer with exact answers, the line-width guarantee over many
//! widths, and the fixtures the snapshot tests share.

use super::text::width;
use super::{RenderOptions, TableCollector};
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray,
    NullArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};
use std::sync::Arc;

pub(super) fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn texts(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn ints(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn utc(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
}

/// A fixture: batches plus one type name per column.
pub(super) struct Fixture {
    pub batches: Vec<RecordBatch>,
    pub types: Vec<&'static str>,
}

/// Shaped like `strata.tables`: 16 columns, long paths, descriptions and errors.
pub(super) fn wide() -> Fixture {
    let zones = ["raw", "raw", "raw", "clean", "clean", "gold"];
    let b = batch(vec![
        ("zone", texts(&zones.map(Some))),
        (
            "schema",
            texts(&["crm", "crm", "web", "crm", "web", "finance"].map(Some)),
        ),
        (
            "name",
            texts(
                &[
                    "customers",
                    "orders",
                    "events",
                    "customers",
                    "sessions",
                    "daily_revenue",
                ]
                .map(Some),
            ),
        ),
        (
            "mode",
            texts(&[
                Some("keyed"),
                Some("append"),
                Some("append"),
                Some("snapshot"),
                None,
                Some("append"),
            ]),
        ),
        (
            "key",
            texts(&[
                Some("customer_id"),
                None,
                None,
                Some("customer_id, region"),
                None,
                None,
            ]),
        ),
        (
            "ingested_at_source",
            texts(&[
                Some("column _ingested_at"),
                Some("partition:dt"),
                Some("partitions year/month/day/hour"),
                Some("file_modified"),
                Some("partition:dt"),
                None,
            ]),
        ),
        (
            "format",
            texts(&["parquet", "parquet", "json", "parquet", "csv", "delta"].map(Some)),
        ),
        (
            "files",
            ints(&[Some(12), Some(1_204), Some(98_311), Some(3), Some(0), None]),
        ),
        (
            "bytes",
            ints(&[
                Some(5_242_880),
                Some(1_073_741_824),
                Some(987_654_321_012),
                Some(1_024),
                Some(0),
                None,
            ]),
        ),
        (
            "rows",
            ints(&[
                Some(100_000),
                Some(25_000_000),
                None,
                Some(99_871),
                Some(0),
                Some(730),
            ]),
        ),
        (
            "oldest",
            utc(&[
                Some(1_704_067_200_000_000),
                Some(1_704_153_600_000_000),
                None,
                Some(1_717_200_000_000_000),
                None,
                Some(1_700_000_000_123_456),
            ]),
        ),
        (
            "newest",
            utc(&[
                Some(1_735_689_599_000_000),
                Some(1_735_603_200_000_000),
                None,
                Some(1_717_286_400_000_000),
                None,
                Some(1_733_000_000_000_000),
            ]),
        ),
        (
            "description",
            texts(&[
                Some("Customers from the CRM export, one row per customer and version"),
                Some("Orders"),
                Some("Clickstream events from the web front end (JSON lines, gzip)"),
                None,
                Some(""),
                Some("Revenue per day and currency, after refunds"),
            ]),
        ),
        (
            "tags",
            texts(&[
                Some("pii, crm"),
                None,
                Some("web"),
                Some("pii"),
                None,
                Some("finance, reporting"),
            ]),
        ),
        (
            "path",
            texts(
                &[
                    "s3://acme-lake/raw/crm/customers/",
                    "s3://acme-lake/raw/crm/orders/",
                    "s3://acme-lake/raw/web/events/",
                    "s3://acme-lake/clean/crm/customers/",
                    "s3://acme-lake/clean/web/sessions/",
                    "s3://acme-lake/gold/finance/daily_revenue/",
                ]
                .map(Some),
            ),
        ),
        (
            "error",
            texts(&[
                None,
                None,
                Some("corrupt file part-00017.json.gz: unexpected end of stream at byte 1048576"),
                None,
                None,
                None,
            ]),
        ),
    ]);
    Fixture {
        batches: vec![b],
        types: vec![
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "bigint",
            "bigint",
            "bigint",
            "timestamp with time zone",
            "timestamp with time zone",
            "text",
            "text",
            "text",
            "text",
        ],
    }
}

/// Long and multi-line values, and characters that would break a table or a terminal.
pub(super) fn long_values() -> Fixture {
    let long = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.";
    let b = batch(vec![
        ("id", ints(&[Some(1), Some(2), Some(3), Some(4)])),
        (
            "body",
            texts(&[
                Some(long),
                Some("first line\nsecond line\nthird"),
                Some("tab\there, cr\rthere, \x1b[31mred\x1b[0m, bell\x07"),
                Some("short"),
            ]),
        ),
        (
            "note",
            texts(&[
                Some("ok"),
                Some("windows\r\nline"),
                None,
                Some(&"x".repeat(300)),
            ]),
        ),
    ]);
    Fixture {
        batches: vec![b],
        types: vec!["bigint", "text", "text"],
    }
}

/// NULLs in every kind of column, a column of only NULLs and a NULL inside a struct.
pub(super) fn nulls() -> Fixture {
    let s = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int64, true)),
            ints(&[Some(1), None, Some(3)]),
        ),
        (
            Arc::new(Field::new("b", DataType::Utf8, true)),
            texts(&[Some("x"), Some("y"), None]),
        ),
    ]);
    let b = batch(vec![
        ("id", ints(&[Some(1), None, Some(3)])),
        ("name", texts(&[None, Some("bob"), None])),
        (
            "score",
            Arc::new(Float64Array::from(vec![None, Some(2.5), None])) as ArrayRef,
        ),
        ("nothing", Arc::new(NullArray::new(3)) as ArrayRef),
        ("pair", Arc::new(s) as ArrayRef),
    ]);
    Fixture {
        batches: vec![b],
        types: vec!["bigint", "text", "double precision", "unknown", "text"],
    }
}

/// Large, negative, NaN/infinite, decimal and temporal values, and nested lists.
pub(super) fn numbers() -> Fixture {
    let dec = Decimal128Array::from(vec![
        Some(12_345),
        Some(-1_234_567),
        Some(0),
        None,
        Some(99_999_999),
        Some(-1),
    ])
    .with_precision_and_scale(10, 2)
    .unwrap();
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2), Some(3)]),
        Some(vec![]),
        None,
        Some(vec![Some(-7), None]),
        Some(vec![Some(i32::MAX)]),
        Some(vec![Some(0)]),
    ]);
    let b = batch(vec![
        (
            "big",
            ints(&[
                Some(i64::MAX),
                Some(i64::MIN),
                Some(0),
                Some(-1),
                Some(42),
                None,
            ]),
        ),
        (
            "small",
            Arc::new(Int32Array::from(vec![1, -2, 3, -40, 500, -6000])) as ArrayRef,
        ),
        (
            "ratio",
            Arc::new(Float64Array::from(vec![
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.5,
                1e300,
                0.1 + 0.2,
            ])) as ArrayRef,
        ),
        ("price", Arc::new(dec) as ArrayRef),
        (
            "day",
            Arc::new(Date32Array::from(vec![
                Some(0),
                Some(19_723),
                Some(-1),
                None,
                Some(2_932_896),
                Some(20_000),
            ])) as ArrayRef,
        ),
        (
            "at",
            utc(&[
                Some(0),
                Some(1_704_067_200_123_456),
                None,
                Some(-1),
                Some(1_735_689_599_999_999),
                Some(1),
            ]),
        ),
        ("list", Arc::new(list) as ArrayRef),
    ]);
    Fixture {
        batches: vec![b],
        types: vec![
            "bigint",
            "integer",
            "double precision",
            "numeric(10,2)",
            "date",
            "timestamp with time zone",
            "integer[]",
        ],
    }
}

/// Double-width CJK, emoji and combining marks, in values and names.
pub(super) fn unicode() -> Fixture {
    let b = batch(vec![
        (
            "名前",
            texts(&[
                Some("東京都渋谷区神南一丁目"),
                Some("Zoë"),
                Some("e\u{301}te\u{301}"),
                Some("👩‍👩‍👧 family"),
            ]),
        ),
        (
            "city",
            texts(&[
                Some("Tōkyō"),
                Some("Zürich"),
                Some("Paris"),
                Some("🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀"),
            ]),
        ),
        ("n", ints(&[Some(1), Some(22), Some(333), Some(4444)])),
        (
            "說明",
            texts(&[
                Some("全角文字の説明がここに入ります。とても長い説明です。"),
                Some("ascii only"),
                None,
                Some("mixed 漢字 and ascii"),
            ]),
        ),
    ]);
    Fixture {
        batches: vec![b],
        types: vec!["text", "text", "bigint", "text"],
    }
}

pub(super) fn empty() -> Fixture {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]);
    Fixture {
        batches: vec![RecordBatch::new_empty(Arc::new(schema))],
        types: vec!["bigint", "text"],
    }
}

/// 100 rows, in batches of 7 so rows cross batch boundaries.
pub(super) fn tall() -> Fixture {
    let batches = (0..100i64)
        .collect::<Vec<_>>()
        .chunks(7)
        .map(|c| {
            batch(vec![
                ("i", ints(&c.iter().map(|&i| Some(i)).collect::<Vec<_>>())),
                (
                    "square",
                    ints(&c.iter().map(|&i| Some(i * i)).collect::<Vec<_>>()),
                ),
                (
                    "label",
                    Arc::new(StringArray::from(
                        c.iter().map(|i| format!("row {i}")).collect::<Vec<_>>(),
                    )) as ArrayRef,
                ),
            ])
        })
        .collect();
    Fixture {
        batches,
        types: vec!["bigint", "bigint", "text"],
    }
}

pub(super) fn collect(f: &Fixture, options: RenderOptions) -> TableCollector {
    let schema = f.batches[0].schema();
    let mut c = TableCollector::new(
        schema,
        f.types.iter().map(|s| s.to_string()).collect(),
        options,
    );
    for b in &f.batches {
        c.push(b).unwrap();
    }
    c
}

pub(super) fn at(width: usize) -> RenderOptions {
    RenderOptions {
        max_width: Some(width),
        ..RenderOptions::default()
    }
}

#[test]
fn every_line_fits_every_width() {
    let fixtures = [
        wide(),
        long_values(),
        nulls(),
        numbers(),
        unicode(),
        empty(),
        tall(),
    ];
    for f in &fixtures {
        for unicode in [true, false] {
            for w in 0..=250 {
                let options = RenderOptions {
                    max_width: Some(w),
                    unicode,
                    ..RenderOptions::default()
                };
                let c = collect(f, options);
                for out in [c.render(), c.render_expanded()] {
                    for line in out.lines() {
                        assert!(
                            width(line) <= w,
                            "width {w}: {line:?} is {} wide",
                            width(line)
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn aligns_numbers_right_text_left_headers_centred() {
    let f = Fixture {
        batches: vec![batch(vec![
            ("id", ints(&[Some(1), Some(1000)])),
            ("name", texts(&[Some("a"), None])),
        ])],
        types: vec!["bigint", "text"],
    };
    let out = collect(&f, RenderOptions::default()).render();
    assert_eq!(
        out,
        "┌────────┬──────┐\n\
         │   id   │ name │\n\
         │ bigint │ text │\n\
         ├────────┼──────┤\n\
         │      1 │ a    │\n\
         │   1000 │ NULL │\n\
         └────────┴──────┘\n\
         (2 rows)\n"
    );
    let one = Fixture {
        batches: vec![batch(vec![("x", ints(&[Some(7)]))])],
        types: vec![],
    };
    let out = collect(
        &one,
        RenderOptions {
            null: "∅".into(),
            ..RenderOptions::default()
        },
    )
    .render();
    assert_eq!(out, "┌───┐\n│ x │\n├───┤\n│ 7 │\n└───┘\n(1 row)\n");
}

#[test]
fn empty_result_shows_header_and_zero_rows() {
    let out = collect(&empty(), at(80)).render();
    assert_eq!(
        out,
        "┌────────┬──────┐\n│   id   │ name │\n│ bigint │ text │\n└────────┴──────┘\n(0 rows)\n"
    );
    assert_eq!(collect(&empty(), at(80)).render_expanded(), "(0 rows)\n");
}

#[test]
fn tall_results_show_both_ends() {
    let c = collect(&tall(), at(80));
    assert_eq!(c.rows(), 100);
    let out = c.render();
    let lines: Vec<&str> = out.lines().collect();
    // top rule, names, types, rule, 20 rows, 3 dot rows, 20 rows, bottom rule, footer
    assert_eq!(lines.len(), 4 + 20 + 3 + 20 + 2);
    assert!(lines[4].contains("row 0 "), "{}", lines[4]);
    assert!(lines[23].contains("row 19 "));
    assert!(lines[24].contains('·') && lines[26].contains('·'));
    assert!(lines[27].contains("row 80 "));
    assert!(lines[46].contains("row 99 "));
    assert_eq!(
        lines[48].split_whitespace().collect::<Vec<_>>(),
        ["100", "rows", "(40", "shown)", "3", "columns"]
    );
    // Three rows over the limit cost no more than the marker: all shown.
    for (rows, shown_all) in [(43, true), (44, false)] {
        let f = Fixture {
            batches: vec![batch(vec![(
                "i",
                ints(&(0..rows).map(Some).collect::<Vec<_>>()),
            )])],
            types: vec![],
        };
        let out = collect(&f, at(80)).render();
        assert_eq!(
            out.ends_with(&format!("({rows} rows)\n")),
            shown_all,
            "{out}"
        );
        assert_eq!(out.contains('·'), !shown_all);
    }
}

#[test]
fn streaming_keeps_memory_bounded_and_order() {
    let rows = 100_000i64;
    let mut c = TableCollector::new(tall().batches[0].schema(), vec![], at(80));
    let one = |lo: i64, hi: i64| {
        batch(vec![
            ("i", ints(&(lo..hi).map(Some).collect::<Vec<_>>())),
            (
                "square",
                ints(&(lo..hi).map(|i| Some(i * i)).collect::<Vec<_>>()),
            ),
            (
                "label",
                Arc::new(StringArray::from(
                    (lo..hi).map(|i| format!("row {i}")).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ])
    };
    for lo in (0..rows).step_by(999) {
        c.push(&one(lo, (lo + 999).min(rows))).unwrap();
        assert!(c.head.len() + c.tail.len() <= 43);
    }
    assert_eq!(c.rows(), rows as usize);
    let out = c.render();
    assert!(
        out.contains("row 99999 ") && out.contains("row 99980 ") && !out.contains("row 99979 ")
    );
    assert!(out.contains("row 19 ") && !out.contains("row 20 "));
    assert!(out.contains("100000 rows (40 shown)"), "{out}");
    // The same rows in one batch draw the same table.
    let mut whole = TableCollector::new(tall().batches[0].schema(), vec![], at(80));
    whole.push(&one(0, rows)).unwrap();
    assert_eq!(whole.render(), out);
}

#[test]
fn max_rows_edges() {
    let f = tall();
    let all = collect(
        &f,
        RenderOptions {
            max_rows: None,
            ..at(80)
        },
    )
    .render();
    assert_eq!(all.lines().count(), 4 + 100 + 2);
    assert!(all.ends_with("(100 rows)\n"));
    let none = collect(
        &f,
        RenderOptions {
            max_rows: Some(0),
            ..at(80)
        },
    )
    .render();
    assert_eq!(none.lines().count(), 3 + 2);
    assert!(none.contains("100 rows (0 shown)"));
    let one = collect(
        &f,
        RenderOptions {
            max_rows: Some(1),
            ..at(80)
        },
    )
    .render();
    assert!(one.contains("row 0 ") && one.contains("100 rows (1 shown)") && one.contains('·'));
}

#[test]
fn wide_tables_elide_middle_columns() {
    let c = collect(&wide(), at(80));
    assert!(!c.fits());
    let out = c.render();
    let header = out.lines().nth(1).unwrap();
    assert!(
        header.contains(" zone ") && header.contains(" error ") && header.contains(" … "),
        "{header}"
    );
    assert!(!header.contains("oldest"));
    let footer = out.lines().last().unwrap();
    assert!(
        footer.starts_with("  6 rows") && footer.contains("16 columns ("),
        "{footer}"
    );
    assert!(out.lines().all(|l| width(l) <= 80));
    // Unlimited: every column in full.
    let c = collect(&wide(), RenderOptions::default());
    assert!(c.fits());
    assert!(c
        .render()
        .contains("corrupt file part-00017.json.gz: unexpected end of stream at byte 1048576"));
}

#[test]
fn fits_is_the_natural_width() {
    let c = collect(&tall(), at(80));
    assert!(c.fits());
    let natural = c.render().lines().next().map(width).unwrap();
    assert!(collect(&tall(), at(natural)).fits());
    assert!(!collect(&tall(), at(natural - 1)).fits());
}

#[test]
fn no_control_characters_reach_the_terminal() {
    for f in [long_values(), wide()] {
        for unicode in [true, false] {
            let c = collect(
                &f,
                RenderOptions {
                    unicode,
                    ..RenderOptions::default()
                },
            );
            for out in [c.render(), c.render_expanded()] {
                assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
            }
        }
    }
    let out = collect(&long_values(), RenderOptions::default()).render();
    assert!(out.contains("tab\\there, cr\\rthere, \\e[31mred\\e[0m, bell\\a"));
    assert!(out.contains(" first line… ") && out.contains(" windows… "));
}

#[test]
fn ascii_mode_is_ascii() {
    let out = collect(
        &wide(),
        RenderOptions {
            unicode: false,
            ..at(80)
        },
    )
    .render();
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("| ... |"));
    let out = collect(
        &tall(),
        RenderOptions {
            unicode: false,
            ..at(80)
        },
    )
    .render();
    assert!(
        out.is_ascii() && out.contains("\n|      . |     .  |   .    |\n"),
        "{out}"
    );
}

#[test]
fn expanded_form() {
    let f = Fixture {
        batches: vec![batch(vec![
            ("id", ints(&[Some(1), Some(22)])),
            ("name", texts(&[Some("ann"), None])),
        ])],
        types: vec![],
    };
    let out = collect(
        &f,
        RenderOptions {
            unicode: false,
            ..RenderOptions::default()
        },
    )
    .render_expanded();
    assert_eq!(
        out,
        "-[ RECORD 1 ]\nid   | 1\nname | ann\n-[ RECORD 2 ]\nid   | 22\nname | NULL\n"
    );
    let long = Fixture {
        batches: vec![batch(vec![(
            "a_long_column_name",
            texts(&[Some(&"v".repeat(40))]),
        )])],
        types: vec![],
    };
    let out = collect(
        &long,
        RenderOptions {
            unicode: false,
            ..at(40)
        },
    )
    .render_expanded();
    assert_eq!(
        out,
        format!(
            "-[ RECORD 1 ]------+--------------------\na_long_column_name | {}...\n",
            "v".repeat(16)
        )
    );
    let out = collect(&tall(), at(80)).render_expanded();
    assert!(
        out.contains("─[ 60 records not shown ]") && out.contains("─[ RECORD 81 ]"),
        "{out}"
    );
    assert!(out.ends_with("100 rows (40 shown)\n"));
}

#[test]
fn bad_input_does_not_panic() {
    let mut c = TableCollector::new(tall().batches[0].schema(), vec!["only one".into()], at(0));
    assert!(c.push(&batch(vec![("x", ints(&[Some(1)]))])).is_err());
    c.push(&tall().batches[0]).unwrap();
    assert!(c.render().lines().all(str::is_empty));
    let none = TableCollector::new(Arc::new(Schema::empty()), vec![], at(10));
    assert_eq!(none.render(), "(0 rows)\n");
    let zero_cap = RenderOptions {
        max_col_width: 0,
        min_col_width: 0,
        ..at(30)
    };
    let out = collect(&wide(), zero_cap).render();
    assert!(out.lines().all(|l| width(l) <= 30), "{out}");
}
