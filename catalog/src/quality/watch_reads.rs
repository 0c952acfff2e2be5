//! Watching a Delta table reads its log, never its data: the store under a freshly opened lake
//! counts the GETs of each kind of file while [`super::watch::anomalies`] runs.
use super::watch::anomalies;
use crate::delta::AppendOptions;
use crate::quality::anomaly::Kind;
use crate::store::LakeStore;
use crate::{Lake, TableName};
use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    local::LocalFileSystem, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A local store counting the GETs of `.parquet` and `.json` objects.
#[derive(Debug, Default)]
struct CountingStore {
    inner: LocalFileSystem,
    parquet: AtomicUsize,
    json: AtomicUsize,
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        match location.extension() {
            Some("parquet") => self.parquet.fetch_add(1, Ordering::SeqCst),
            Some("json") => self.json.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
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

async fn open(dir: &std::path::Path, store: Arc<CountingStore>) -> Arc<Lake> {
    Lake::open_store(LakeStore {
        uri: dir.display().to_string(),
        url: ObjectStoreUrl::local_filesystem(),
        store,
        root: Path::from_filesystem_path(dir.canonicalize().unwrap()).unwrap(),
    })
    .await
    .unwrap()
}

fn ids(n: i64) -> datafusion::execution::SendableRecordBatchStream {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from_iter_values(0..n))],
    );
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::iter([batch.map_err(Into::into)]),
    ))
}

#[tokio::test]
async fn watching_a_delta_table_reads_no_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let name = TableName::new("raw", "s", "t");
    {
        let lake = open(dir.path(), Default::default()).await;
        for (i, n) in [50, 51, 49, 50, 52, 48, 50, 50, 400]
            .into_iter()
            .enumerate()
        {
            let mut opts = AppendOptions::new("test");
            opts.create = i == 0;
            lake.append(&name, ids(n), &opts).await.unwrap();
        }
    }
    // A fresh lake: nothing cached, every byte it needs comes through the store now.
    let store = Arc::new(CountingStore::default());
    let lake = open(dir.path(), store.clone()).await;
    let w = anomalies(&lake, &[]).await.unwrap();
    let watched = w[0].watched.as_ref().unwrap();
    assert_eq!(watched.series.points.len(), 9);
    assert_eq!(watched.anomalies.len(), 1);
    assert_eq!(watched.anomalies[0].kind, Kind::Spike);
    assert_eq!(
        store.parquet.load(Ordering::SeqCst),
        0,
        "data files were read"
    );
    assert_eq!(store.json.load(Ordering::SeqCst), 9, "each commit once");
}
