//! Result sets the renderer tests share: shaped like `strata.tables`, long values, NULLs,
//! numbers, Unicode, an empty result and a tall one.

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

pub(super) fn texts(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

pub(super) fn ints(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

pub(super) fn utc(v: &[Option<i64>]) -> ArrayRef {
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

/// Sixty narrow columns: many to prune, at every width.
pub(super) fn many() -> Fixture {
    let columns: Vec<(String, ArrayRef)> = (0..60)
        .map(|c| (format!("c{c}"), ints(&[Some(c), Some(-c * 1000), None])))
        .collect();
    let b = batch(
        columns
            .iter()
            .map(|(n, a)| (n.as_str(), a.clone()))
            .collect(),
    );
    Fixture {
        batches: vec![b],
        types: vec!["bigint"; 60],
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
