//! Generates lakes for measurements: many small files, or a large CDC history.
//!
//! `cargo run --release --example generate_lake -- files DIR 10000`
//!   writes 10,000 small Parquet files into `raw/events/many/dt=…/` (100 days × 100 files).
//! `cargo run --release --example generate_lake -- history DIR 1000000 [KEYS] [FILES]`
//!   writes a CDC history of that many rows (default 100,000 keys, 20 files, 5% tombstones,
//!   ingestion times spread over 30 days) as `raw/crm/history/` with a keyed `strata.toml`.
use std::sync::Arc;
use strata::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use strata::datafusion::parquet::arrow::ArrowWriter;

fn write(path: &std::path::Path, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut w = ArrowWriter::try_new(std::fs::File::create(path)?, batch.schema(), None)?;
    w.write(batch)?;
    w.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: generate_lake files DIR N | history DIR ROWS [KEYS] [FILES]";
    let (kind, dir) = (
        args.get(1).ok_or(usage)?,
        std::path::PathBuf::from(args.get(2).ok_or(usage)?),
    );
    let n: usize = args.get(3).ok_or(usage)?.parse()?;
    let start = 1_767_225_600_000_000i64; // 2026-01-01T00:00:00Z in µs
    match kind.as_str() {
        "files" => {
            for i in 0..n {
                let day = i / 100;
                let v: ArrayRef = Arc::new(Int64Array::from(vec![i as i64; 10]));
                let batch = RecordBatch::try_from_iter(vec![("v", v)])?;
                let date =
                    chrono::DateTime::from_timestamp_micros(start + day as i64 * 86_400_000_000)
                        .unwrap();
                write(
                    &dir.join(format!(
                        "raw/events/many/dt={}/part-{i:05}.parquet",
                        date.format("%Y-%m-%d")
                    )),
                    &batch,
                )?;
            }
        }
        "history" => {
            let keys: i64 = args
                .get(4)
                .map(|s| s.parse())
                .transpose()?
                .unwrap_or(100_000);
            let files: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(20);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("strata.toml"),
                "[tables.\"raw.crm.history\"]\nkey = [\"id\"]\ndeleted_when = \"op = 'd'\"\n",
            )?;
            let per_file = n.div_ceil(files);
            let span = 30 * 86_400_000_000i64;
            for f in 0..files {
                let rows = per_file.min(n - f * per_file);
                let first = f * per_file;
                let ids: Vec<i64> = (first..first + rows)
                    .map(|r| (r as i64 * 2_654_435_761) % keys)
                    .collect();
                // In i128: r × span overflows i64 beyond 3.5 million rows.
                let ts: Vec<i64> = (first..first + rows)
                    .map(|r| start + (r as i128 * span as i128 / n as i128) as i64)
                    .collect();
                let op: Vec<&str> = (first..first + rows)
                    .map(|r| {
                        if r % 20 == 7 {
                            "d"
                        } else if r < keys as usize {
                            "c"
                        } else {
                            "u"
                        }
                    })
                    .collect();
                let amount: Vec<f64> = (first..first + rows)
                    .map(|r| (r % 1000) as f64 / 10.0)
                    .collect();
                let status: Vec<&str> = (first..first + rows)
                    .map(|r| ["active", "churned", "trial"][r % 3])
                    .collect();
                let batch = RecordBatch::try_from_iter(vec![
                    ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                    ("status", Arc::new(StringArray::from(status)) as ArrayRef),
                    ("amount", Arc::new(Float64Array::from(amount)) as ArrayRef),
                    ("op", Arc::new(StringArray::from(op)) as ArrayRef),
                    (
                        "_ingested_at",
                        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC"))
                            as ArrayRef,
                    ),
                ])?;
                write(
                    &dir.join(format!("raw/crm/history/part-{f:05}.parquet")),
                    &batch,
                )?;
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
