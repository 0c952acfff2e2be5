//! Small lakes built by code for tests that need a particular shape of files.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use strata::datafusion::parquet::arrow::ArrowWriter;
use strata::datafusion::parquet::file::properties::WriterProperties;
use strata::{Lake, Session, SessionOptions};

/// A lake in a temporary directory, removed when dropped.
pub struct TestLake {
    pub dir: tempfile::TempDir,
}

impl TestLake {
    pub fn new() -> Self {
        TestLake {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn uri(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn write(&self, rel: &str, contents: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn config(&self, toml: &str) {
        self.write("strata.toml", toml.as_bytes());
    }

    /// Writes one Parquet file; `row_group_rows` small values give several row groups.
    pub fn parquet(&self, rel: &str, batch: &RecordBatch) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let file = std::fs::File::create(&p).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1000))
            .build();
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
        p
    }

    pub async fn session(&self) -> Session {
        session_on(&self.uri(), SessionOptions::default()).await
    }
}

pub async fn session_on(uri: &str, options: SessionOptions) -> Session {
    let lake: Arc<Lake> = Lake::open(uri).await.unwrap();
    Session::new(lake, options).await.unwrap()
}

/// A CDC batch: (id, status, ingested_at µs) rows with an `_ingested_at` timestamptz column.
pub fn cdc(rows: &[(i64, &str, i64)]) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
    ));
    let status: ArrayRef = Arc::new(StringArray::from(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
    ));
    let ts: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
            .with_timezone("UTC"),
    );
    RecordBatch::try_from_iter(vec![("id", ids), ("status", status), ("_ingested_at", ts)]).unwrap()
}

/// µs since the epoch of day `d` of January 2026, 00:00 UTC.
pub fn jan(d: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(2026, 1, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros()
}

/// Runs `sql` and returns every value as text, rows in order.
pub async fn rows(session: &Session, sql: &str) -> Vec<Vec<String>> {
    use strata::arrow::util::display::{ArrayFormatter, FormatOptions};
    let batches = session
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap();
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = vec![];
    for b in &batches {
        let f: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(f.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

/// The single value of a one-row, one-column query.
pub async fn value(session: &Session, sql: &str) -> String {
    let r = rows(session, sql).await;
    assert_eq!(r.len(), 1, "{sql}: {r:?}");
    r[0][0].clone()
}

/// The physical plan of `sql` as text.
pub async fn physical_plan(session: &Session, sql: &str) -> String {
    rows(session, &format!("EXPLAIN {sql}"))
        .await
        .into_iter()
        .filter(|r| r[0] == "physical_plan")
        .map(|r| r[1].clone())
        .collect()
}

pub fn set_mtime(p: &Path, micros: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros as u64);
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}
