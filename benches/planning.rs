//! Micro-benchmarks of planning: a latest-view query and an as-of query over the sample lake,
//! from SQL text to a physical plan (what every query pays before it reads a byte).
use criterion::{criterion_group, criterion_main, Criterion};
use strata::{Lake, Session, SessionOptions};

fn planning(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = strata::sample::ensure_sample_lake().unwrap();
    let session = rt.block_on(async {
        let lake = Lake::open(dir.to_str().unwrap()).await.unwrap();
        Session::new(lake, SessionOptions::default()).await.unwrap()
    });
    let mut group = c.benchmark_group("planning");
    for (name, sql) in [
        (
            "latest_aggregate",
            "SELECT status, count(*) FROM raw.crm.customers GROUP BY status",
        ),
        (
            "latest_point_lookup",
            "SELECT * FROM raw.crm.customers WHERE customer_id = 42",
        ),
        (
            "as_of",
            "SELECT count(*) FROM raw.crm.customers FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12'",
        ),
        (
            "history_scan",
            "SELECT count(*) FROM raw.crm.customers_history",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let df = session.sql(sql).await.unwrap();
                    df.create_physical_plan().await.unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
