//! Writes that meet a full disk or a failing store (docs/delta.md#writes): the store under the
//! lake is wrapped so that it fails after a byte budget, or fails every log write, and each test
//! checks that the write reports the store's error, that readers see the table as it was, and
//! that the next write commits the version after the last good one (no stray log entry).
use super::{open, AppendOptions};
use crate::store::LakeStore;
use crate::{Lake, TableName};
use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    local::LocalFileSystem, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// What a full disk says; the tests look for it in the error the writer gets.
const FULL: &str = "No space left on device (test store)";

/// A local store that runs out of space: every byte written draws on `budget` (negative: no
/// limit), and with `fail_log` every write below `_delta_log/` fails — a commit that cannot land
/// (only below `fail_log_of`'s table folder when that is set: a process dying between two
/// commits).
#[derive(Debug)]
struct FailingStore {
    inner: LocalFileSystem,
    budget: Arc<AtomicI64>,
    fail_log: AtomicBool,
    fail_log_of: std::sync::Mutex<Option<String>>,
}

impl FailingStore {
    fn healthy() -> Self {
        FailingStore {
            inner: LocalFileSystem::new(),
            budget: Arc::new(AtomicI64::new(-1)),
            fail_log: AtomicBool::new(false),
            fail_log_of: Default::default(),
        }
    }
}

fn full() -> object_store::Error {
    object_store::Error::Generic {
        store: "test",
        source: FULL.into(),
    }
}

/// Takes `n` bytes from `budget`; false when they do not fit (the budget is then spent).
fn draw(budget: &AtomicI64, n: usize) -> bool {
    let left = budget.load(Ordering::SeqCst);
    if left < 0 {
        return true;
    }
    if left < n as i64 {
        budget.store(0, Ordering::SeqCst);
        return false;
    }
    budget.fetch_sub(n as i64, Ordering::SeqCst);
    true
}

impl std::fmt::Display for FailingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let log = match self.fail_log_of.lock().unwrap().as_deref() {
            Some(dir) => location.as_ref().contains(&format!("{dir}/_delta_log/")),
            None => location.as_ref().contains("_delta_log/"),
        };
        if (log && self.fail_log.load(Ordering::SeqCst))
            || !draw(&self.budget, payload.content_length())
        {
            return Err(full());
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FailingUpload {
            inner,
            budget: self.budget.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// A multipart upload whose parts draw on the store's budget.
#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    budget: Arc<AtomicI64>,
}

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if !draw(&self.budget, data.content_length()) {
            return Box::pin(async { Err(full()) });
        }
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
    ]))
}

/// `n` rows in batches of 10,000, with notes that do not compress away.
fn rows(from: i64, n: i64) -> SendableRecordBatchStream {
    rows_with_null_notes(from, n, 0)
}

/// [`rows`] with the note NULL on every id divisible by `every` (0: never).
fn rows_with_null_notes(from: i64, n: i64, every: i64) -> SendableRecordBatchStream {
    let batches: Vec<_> = (from..from + n)
        .step_by(10_000)
        .map(|start| {
            let ids: Vec<i64> = (start..(start + 10_000).min(from + n)).collect();
            let notes: Vec<Option<String>> = ids
                .iter()
                .map(|i| {
                    let null = every > 0 && i % every == 0;
                    let note = format!("{:x}", (*i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    (!null).then_some(note)
                })
                .collect();
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(notes)),
                ],
            )
        })
        .collect();
    Box::pin(RecordBatchStreamAdapter::new(
        schema(),
        futures::stream::iter(batches.into_iter().map(|b| b.map_err(Into::into))),
    ))
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<FailingStore>,
    lake: Arc<Lake>,
    name: TableName,
}

/// A lake on a failing store holding `raw.s.t` with 1,000 rows in version 0.
async fn fixture() -> Fixture {
    fixture_with("").await
}

/// [`fixture`] with `config` as the lake's strata.toml.
async fn fixture_with(config: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("strata.toml"), config).unwrap();
    let store = Arc::new(FailingStore::healthy());
    let root = Path::from_filesystem_path(dir.path().canonicalize().unwrap()).unwrap();
    let lake = Lake::open_store(LakeStore {
        uri: dir.path().display().to_string(),
        url: ObjectStoreUrl::local_filesystem(),
        store: store.clone(),
        root,
    })
    .await
    .unwrap();
    let name = TableName::new("raw", "s", "t");
    let mut opts = AppendOptions::new("test");
    opts.create = true;
    let first = lake.append(&name, rows(0, 1_000), &opts).await.unwrap();
    assert_eq!(first.version, 0);
    Fixture {
        _dir: dir,
        store,
        lake,
        name,
    }
}

impl Fixture {
    /// An append of `n` rows in small files, so a failure lands between files.
    async fn append(&self, from: i64, n: i64) -> crate::error::Result<i64> {
        let mut opts = AppendOptions::new("test");
        opts.target_file_size = 64 << 10;
        let done = self.lake.append(&self.name, rows(from, n), &opts).await?;
        Ok(done.version)
    }

    /// Rows a reader of the latest version counts, after the lake is listed again.
    async fn count(&self) -> i64 {
        self.count_of("raw.s.t").await
    }

    async fn count_of(&self, table: &str) -> i64 {
        self.lake.refresh().await.unwrap();
        let ctx = SessionContext::new();
        self.lake.register(&ctx);
        let batches = ctx
            .sql(&format!("SELECT count(*) FROM {table}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let counts = batches[0].column(0).as_any().downcast_ref::<Int64Array>();
        counts.unwrap().value(0)
    }

    async fn version(&self) -> i64 {
        let dir = self.lake.delta_dir(&self.name).unwrap().unwrap();
        let table = open(self.lake.store(), &dir).await.unwrap();
        table.version().unwrap() as i64
    }
}

#[tokio::test]
async fn a_store_that_fills_up_mid_write_leaves_the_table_as_it_was() {
    let f = fixture().await;
    // Room for a file or two of the 200,000 rows, not for all of them.
    f.store.budget.store(200 << 10, Ordering::SeqCst);
    let e = f.append(1_000, 200_000).await.unwrap_err().to_string();
    assert!(e.contains(FULL) && e.contains("raw/s/t"), "{e}");
    assert_eq!(f.count().await, 1_000);
    assert_eq!(f.version().await, 0);

    f.store.budget.store(-1, Ordering::SeqCst);
    assert_eq!(f.append(1_000, 500).await.unwrap(), 1);
    assert_eq!(f.count().await, 1_500);
}

#[tokio::test]
async fn a_commit_the_store_refuses_leaves_the_table_as_it_was() {
    let f = fixture().await;
    f.store.fail_log.store(true, Ordering::SeqCst);
    let e = f.append(1_000, 50_000).await.unwrap_err().to_string();
    assert!(e.contains(FULL), "{e}");
    assert_eq!(f.count().await, 1_000);
    assert_eq!(f.version().await, 0);

    f.store.fail_log.store(false, Ordering::SeqCst);
    assert_eq!(f.append(1_000, 500).await.unwrap(), 1);
    assert_eq!(f.count().await, 1_500);
}

#[tokio::test]
async fn a_batch_cut_between_its_quarantine_and_table_commits_is_finished_once_by_a_rerun() {
    let f = fixture_with(
        "[tables.\"raw.s.t\".expect]\nnot_null = [\"note\"]\non_failure = \"quarantine\"\n",
    )
    .await;
    let batch = || rows_with_null_notes(1_000, 100, 10);
    let opts = AppendOptions::new("test");
    // The table's commit cannot land: the process "dies" after the quarantine committed.
    *f.store.fail_log_of.lock().unwrap() = Some("raw/s/t".into());
    f.store.fail_log.store(true, Ordering::SeqCst);
    let e = f.lake.append(&f.name, batch(), &opts).await.unwrap_err();
    assert!(e.to_string().contains(FULL), "{e}");
    assert_eq!(f.count().await, 1_000);
    assert_eq!(f.count_of("raw.s.t_quarantine").await, 10);

    // The same batch again: only the table's part is committed.
    f.store.fail_log.store(false, Ordering::SeqCst);
    let done = f.lake.append(&f.name, batch(), &opts).await.unwrap();
    assert_eq!((done.rows, done.quarantined), (90, 10));
    assert_eq!(f.count().await, 1_090);
    assert_eq!(f.count_of("raw.s.t_quarantine").await, 10);

    // Once whole, the same rows written again are a new batch, quarantine and all.
    f.lake.append(&f.name, batch(), &opts).await.unwrap();
    assert_eq!(f.count().await, 1_180);
    assert_eq!(f.count_of("raw.s.t_quarantine").await, 20);
}
