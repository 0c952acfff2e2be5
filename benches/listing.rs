//! Micro-benchmarks of lake discovery: opening a lake of 2,000 small files in 20 partitions
//! (listing, sorting into tables, reading `strata.toml`) and refreshing it.
use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use strata::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use strata::datafusion::parquet::arrow::ArrowWriter;
use strata::Lake;

const FILES: usize = 2000;

fn write_lake(dir: &std::path::Path) {
    for i in 0..FILES {
        let path = dir.join(format!(
            "raw/events/many/dt=2026-01-{:02}/part-{i:05}.parquet",
            1 + i % 20
        ));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let v: ArrayRef = Arc::new(Int64Array::from(vec![i as i64; 4]));
        let batch = RecordBatch::try_from_iter(vec![("v", v)]).unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None)
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
}

fn listing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let uri = dir.path().to_str().unwrap().to_string();
    let mut group = c.benchmark_group("listing");
    group.bench_function("open_2000_files", |b| {
        b.iter(|| rt.block_on(async { Lake::open(&uri).await.unwrap() }))
    });
    let lake = rt.block_on(async { Lake::open(&uri).await.unwrap() });
    group.bench_function("refresh_2000_files", |b| {
        b.iter(|| rt.block_on(async { lake.refresh().await.unwrap() }))
    });
    group.finish();
}

criterion_group!(benches, listing);
criterion_main!(benches);
