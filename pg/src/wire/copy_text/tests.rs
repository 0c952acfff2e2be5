//! COPY text/CSV against the value-at-a-time encoder and against PostgreSQL 15's text.
use super::*;
use datafusion::arrow::array::{
    BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, ListArray, StringArray, StringViewArray, TimestampMicrosecondArray, UInt32Array,
};
use datafusion::arrow::datatypes::Int32Type as I32;
use pgwire::api::results::{CopyEncoder, CopyTextOptions};

fn sample() -> RecordBatch {
    let rows = 7;
    let strings = vec![
        Some("plain"),
        Some("tab\there"),
        Some("back\\slash"),
        Some("new\nline"),
        Some(""),
        None,
        Some("\\N"),
    ];
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i64",
            Arc::new(Int64Array::from(vec![
                Some(0),
                Some(-1),
                None,
                Some(i64::MAX),
                Some(i64::MIN),
                Some(42),
                Some(7),
            ])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![1, -2, 3, -4, 5, 6, 7])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![1, -2, 3, -4, 5, 6, i16::MIN])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![0, 1, 2, 3, 4, 5, u32::MAX])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                0.1,
                1.0,
                1e20,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                1.0 / 3.0,
            ])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                0.1,
                1.0,
                1e20,
                -2.5,
                f32::NAN,
                3.0,
                1e-7,
            ])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(1700),
                    Some(-5),
                    Some(0),
                    None,
                    Some(123_456_789),
                    Some(-100),
                    Some(99),
                ])
                .with_precision_and_scale(15, 2)
                .unwrap(),
            ),
        ),
        (
            "dec0",
            Arc::new(
                Decimal128Array::from(vec![1, -2, 0, 4, 5, 6, 7])
                    .with_precision_and_scale(5, 0)
                    .unwrap(),
            ),
        ),
        ("s", Arc::new(StringArray::from(strings.clone()))),
        ("sv", Arc::new(StringViewArray::from(strings))),
        (
            "b",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(true),
                Some(false),
                Some(true),
            ])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![
                Some(0),
                Some(19_000),
                Some(-1),
                None,
                Some(-719_162),
                Some(2_932_896),
                Some(11_016),
            ])),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(0),
                    Some(1_767_225_600_123_456),
                    None,
                    Some(-1),
                    Some(1),
                    Some(2),
                    Some(3),
                ])
                .with_timezone("UTC"),
            ),
        ),
        (
            "ts_naive",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(500_000),
                Some(-1),
                Some(1_767_225_600_000_001),
                None,
                Some(-62_135_596_800_000_000),
                Some(253_402_300_799_999_999),
                Some(86_400_000_000),
            ])),
        ),
        (
            "ts_ms",
            Arc::new(
                datafusion::arrow::array::TimestampMillisecondArray::from(vec![
                    1, -1, 0, 1000, 1500, 86_399_999, 7,
                ])
                .with_timezone("UTC"),
            ),
        ),
        (
            "list",
            Arc::new(ListArray::from_iter_primitive::<I32, _, _>(vec![
                Some(vec![Some(1), Some(2)]),
                None,
                Some(vec![]),
                Some(vec![None]),
                Some(vec![Some(3)]),
                Some(vec![Some(4)]),
                Some(vec![Some(5)]),
            ])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    assert_eq!(batch.num_rows(), rows);
    batch
}

/// What arrow-pg and pgwire's CopyEncoder send, row by row: the reference.
fn reference(batch: &RecordBatch) -> Vec<Vec<u8>> {
    let fields: Arc<Vec<FieldInfo>> = Arc::new(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| {
                FieldInfo::new(
                    f.name().clone(),
                    None,
                    None,
                    super::super::pg_type(f),
                    FieldFormat::Text,
                )
            })
            .collect(),
    );
    let mut encoder = CopyEncoder::new_text(
        fields.clone(),
        CopyTextOptions {
            delimiter: "\t".into(),
            null_string: "\\N".into(),
        },
    );
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            for (col, field) in schema.fields().iter().enumerate() {
                encode_value(&mut encoder, batch.column(col), row, field, &fields[col]).unwrap();
            }
            encoder.take_copy().data.to_vec()
        })
        .collect()
}

#[test]
fn text_copy_matches_the_value_at_a_time_encoder() {
    // Timestamps and floats are left out: pgwire prints them unlike PostgreSQL (see
    // `timestamps_print_as_postgresql_does`, `floats_print_as_postgresql_does`).
    let batch = sample();
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| {
            !matches!(
                batch.column(i).data_type(),
                DataType::Timestamp(..) | DataType::Float32 | DataType::Float64
            )
        })
        .collect();
    let batch = batch.project(&keep).unwrap();
    let format = TextFormat {
        delimiter: b'\t',
        null: b"\\N".to_vec(),
        quote: None,
        escape: b'\\',
        time_zone: Zone::Utc,
    };
    let ours: Vec<Vec<u8>> = encode_batch(&batch, &format)
        .unwrap()
        .into_iter()
        .map(|c| c.data.to_vec())
        .collect();
    let want = reference(&batch);
    for (row, (a, b)) in ours.iter().zip(&want).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "row {row}"
        );
    }
    assert_eq!(ours.len(), want.len());
}

fn copy_rows(batch: &RecordBatch, zone: Zone) -> Vec<String> {
    let format = TextFormat {
        delimiter: b'\t',
        null: b"\\N".to_vec(),
        quote: None,
        escape: b'\\',
        time_zone: zone,
    };
    encode_batch(batch, &format)
        .unwrap()
        .into_iter()
        .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
        .collect()
}

/// Expected text from PostgreSQL 15.18 (`COPY (SELECT …) TO STDOUT`, TimeZone UTC).
#[test]
fn timestamps_print_as_postgresql_does() {
    let batch = sample().project(&[12, 13, 14]).unwrap();
    assert_eq!(
        copy_rows(&batch, Zone::Utc),
        [
            "1970-01-01 00:00:00+00\t1970-01-01 00:00:00.5\t1970-01-01 00:00:00.001+00\n",
            "2026-01-01 00:00:00.123456+00\t1969-12-31 23:59:59.999999\t1969-12-31 23:59:59.999+00\n",
            "\\N\t2026-01-01 00:00:00.000001\t1970-01-01 00:00:00+00\n",
            "1969-12-31 23:59:59.999999+00\t\\N\t1970-01-01 00:00:01+00\n",
            "1970-01-01 00:00:00.000001+00\t0001-01-01 00:00:00\t1970-01-01 00:00:01.5+00\n",
            "1970-01-01 00:00:00.000002+00\t9999-12-31 23:59:59.999999\t1970-01-01 23:59:59.999+00\n",
            "1970-01-01 00:00:00.000003+00\t1970-01-02 00:00:00\t1970-01-01 00:00:00.007+00\n",
        ]
    );
    // timestamptz follows the session's zone; timestamp without time zone does not.
    let paris = copy_rows(&batch.slice(0, 1), Zone::parse("Europe/Paris"));
    assert_eq!(
        paris,
        ["1970-01-01 01:00:00+01\t1970-01-01 00:00:00.5\t1970-01-01 01:00:00.001+01\n"]
    );
}

/// Expected text from PostgreSQL 15.18 (`SELECT 1e20::float8, …`).
#[test]
fn floats_print_as_postgresql_does() {
    let batch = sample().project(&[4, 5]).unwrap();
    assert_eq!(
        copy_rows(&batch, Zone::Utc),
        [
            "0.1\t0.1\n",
            "1\t1\n",
            "1e+20\t1e+20\n",
            "-0\t-2.5\n",
            "NaN\tNaN\n",
            "Infinity\t3\n",
            "0.3333333333333333\t1e-07\n",
        ]
    );
}

/// Expected text from PostgreSQL 15.18 for the same values.
#[test]
fn dates_times_and_intervals_print_as_postgresql_does() {
    use datafusion::arrow::array::{
        Date32Array, DurationMicrosecondArray, IntervalMonthDayNanoArray, IntervalYearMonthArray,
        Time64MicrosecondArray,
    };
    use datafusion::arrow::datatypes::IntervalMonthDayNano;
    let batch = RecordBatch::try_from_iter(vec![
        (
            "d",
            Arc::new(Date32Array::from(vec![-735_160, i32::MAX, 20_478])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(Time64MicrosecondArray::from(vec![45_296_500_000, 0, 1])) as ArrayRef,
        ),
        (
            "i",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(0, 1, 7_384_500_000_000),
                IntervalMonthDayNano::new(0, -3, 14_400_000_000_000),
                IntervalMonthDayNano::new(0, 0, 0),
            ])) as ArrayRef,
        ),
        (
            "ym",
            Arc::new(IntervalYearMonthArray::from(vec![14, -1, 0])) as ArrayRef,
        ),
        (
            "dur",
            Arc::new(DurationMicrosecondArray::from(vec![
                -1_000_000,
                360_000_000_000,
                -360_000_000_000,
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    assert_eq!(
        copy_rows(&batch, Zone::Utc),
        [
            "0044-03-15 BC\t12:34:56.5\t1 day 02:03:04.5\t1 year 2 mons\t-00:00:01\n",
            "infinity\t00:00:00\t-3 days +04:00:00\t-1 mons\t4 days 04:00:00\n",
            "2026-01-25\t00:00:00.000001\t00:00:00\t00:00:00\t-4 days -04:00:00\n",
        ]
    );
}

#[test]
fn a_delimiter_that_numbers_contain_is_escaped() {
    let batch = RecordBatch::try_from_iter(vec![
        (
            "d",
            Arc::new(
                Decimal128Array::from(vec![1700, 5])
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec!["a.b", "c"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let format = TextFormat {
        delimiter: b'.',
        null: b"\\N".to_vec(),
        quote: None,
        escape: b'\\',
        time_zone: Zone::Utc,
    };
    let rows: Vec<String> = encode_batch(&batch, &format)
        .unwrap()
        .into_iter()
        .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
        .collect();
    assert_eq!(rows, ["17\\.00.a\\.b\n", "0\\.05.c\n"]);
}

#[test]
fn csv_quotes_what_would_misread() {
    let batch = RecordBatch::try_from_iter(vec![(
        "s",
        Arc::new(StringArray::from(vec![
            Some("a,b"),
            Some("say \"hi\""),
            Some(""),
            None,
            Some("plain"),
            Some("\\."),
        ])) as ArrayRef,
    )])
    .unwrap();
    let format = TextFormat {
        delimiter: b',',
        null: vec![],
        quote: Some(b'"'),
        escape: b'"',
        time_zone: Zone::Utc,
    };
    let rows: Vec<String> = encode_batch(&batch, &format)
        .unwrap()
        .into_iter()
        .map(|c| String::from_utf8(c.data.to_vec()).unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "\"a,b\"\n",
            "\"say \"\"hi\"\"\"\n",
            "\"\"\n",
            "\n",
            "plain\n",
            "\"\\.\"\n"
        ]
    );
}

/// Expected text from PostgreSQL 15.18 (`COPY (SELECT ARRAY[…]) TO STDOUT`).
#[test]
fn lists_of_timestamps_floats_and_intervals_print_as_postgresql_does() {
    use datafusion::arrow::array::TimestampMicrosecondBuilder;
    use datafusion::arrow::array::{Float64Builder, IntervalMonthDayNanoBuilder, ListBuilder};
    use datafusion::arrow::datatypes::IntervalMonthDayNano;
    let mut ts = ListBuilder::new(TimestampMicrosecondBuilder::new());
    ts.values().append_value(1_769_328_900_500_000);
    ts.values().append_null();
    ts.append(true);
    let mut fl = ListBuilder::new(Float64Builder::new());
    fl.values().append_value(1e20);
    fl.values().append_null();
    fl.values().append_value(f64::NAN);
    fl.append(true);
    let mut iv = ListBuilder::new(IntervalMonthDayNanoBuilder::new());
    iv.values().append_value(IntervalMonthDayNano::new(0, 1, 0));
    iv.values()
        .append_value(IntervalMonthDayNano::new(0, 0, -1_000_000_000));
    iv.append(true);
    let batch = RecordBatch::try_from_iter(vec![
        ("ts", Arc::new(ts.finish()) as ArrayRef),
        ("fl", Arc::new(fl.finish()) as ArrayRef),
        ("iv", Arc::new(iv.finish()) as ArrayRef),
    ])
    .unwrap();
    assert_eq!(
        copy_rows(&batch, Zone::Utc),
        ["{\"2026-01-25 08:15:00.5\",NULL}\t{1e+20,NULL,NaN}\t{\"1 day\",-00:00:01}\n"]
    );
}
