//! Micro-benchmarks of Arrow → PostgreSQL wire encoding: DataRows (text and binary, through
//! arrow-pg) and COPY text, over a lineitem-shaped batch of 8,192 rows.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use std::sync::Arc;
use strata::arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
};
use strata::wire::{self, TextFormat};

const ROWS: usize = 8192;

/// Sixteen columns typed as tpchgen's lineitem: integers, decimals, one-letter flags, dates,
/// short and long strings.
fn lineitem_batch() -> RecordBatch {
    let int = |m: i64| {
        Arc::new(Int64Array::from_iter_values(
            (0..ROWS as i64).map(|i| i * m + 1),
        )) as ArrayRef
    };
    let dec = |m: i128| {
        Arc::new(
            Decimal128Array::from_iter_values((0..ROWS as i128).map(|i| (i * m) % 10_000_000))
                .with_precision_and_scale(15, 2)
                .unwrap(),
        ) as ArrayRef
    };
    let date = |o: i32| {
        Arc::new(Date32Array::from_iter_values(
            (0..ROWS as i32).map(|i| 8000 + (i + o) % 2500),
        )) as ArrayRef
    };
    let text = |choices: &[&str]| {
        Arc::new(StringArray::from_iter_values(
            (0..ROWS).map(|i| choices[i % choices.len()]),
        )) as ArrayRef
    };
    RecordBatch::try_from_iter(vec![
        ("l_orderkey", int(4)),
        ("l_partkey", int(7919)),
        ("l_suppkey", int(13)),
        ("l_linenumber", int(1)),
        ("l_quantity", dec(100)),
        ("l_extendedprice", dec(7_919_117)),
        ("l_discount", dec(1)),
        ("l_tax", dec(3)),
        ("l_returnflag", text(&["A", "N", "R"])),
        ("l_linestatus", text(&["F", "O"])),
        ("l_shipdate", date(0)),
        ("l_commitdate", date(30)),
        ("l_receiptdate", date(15)),
        (
            "l_shipinstruct",
            text(&[
                "DELIVER IN PERSON",
                "COLLECT COD",
                "NONE",
                "TAKE BACK RETURN",
            ]),
        ),
        (
            "l_shipmode",
            text(&["TRUCK", "MAIL", "REG AIR", "AIR", "FOB", "RAIL", "SHIP"]),
        ),
        (
            "l_comment",
            text(&[
                "carefully final deposits detect slyly agai",
                "quickly ironic ideas",
                "furiously regular pinto beans haggle",
            ]),
        ),
    ])
    .unwrap()
}

fn encoding(c: &mut Criterion) {
    let batch = lineitem_batch();
    let mut group = c.benchmark_group("wire_encoding");
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, format) in [
        ("text", wire::Format::UnifiedText),
        ("binary", wire::Format::UnifiedBinary),
    ] {
        let fields = Arc::new(wire::fields(&batch.schema(), &format));
        group.bench_with_input(BenchmarkId::new("data_rows", name), &batch, |b, batch| {
            b.iter(|| {
                let rows = wire::data_rows(
                    futures::stream::iter([Ok(batch.clone())]),
                    batch.schema(),
                    fields.clone(),
                );
                futures::executor::block_on(rows.count())
            })
        });
    }
    let text = TextFormat {
        delimiter: b'\t',
        null: b"\\N".to_vec(),
        quote: None,
        escape: b'\\',
        time_zone: wire::Zone::Utc,
    };
    group.bench_with_input(BenchmarkId::new("copy", "text"), &batch, |b, batch| {
        b.iter(|| wire::copy_text_batch(batch, &text).unwrap().len())
    });
    let csv = TextFormat {
        delimiter: b',',
        null: vec![],
        quote: Some(b'"'),
        escape: b'"',
        time_zone: wire::Zone::Utc,
    };
    group.bench_with_input(BenchmarkId::new("copy", "csv"), &batch, |b, batch| {
        b.iter(|| wire::copy_text_batch(batch, &csv).unwrap().len())
    });
    group.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
