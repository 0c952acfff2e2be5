//! The object stores a process of the cluster opens: the local file system, and any other store a
//! plan names, opened on first use from the process's own environment (credentials, endpoint,
//! region), as `strata --lake` opens a lake (docs/cluster.md#stores). Executors read through
//! them; the scheduler only needs them to exist while it decodes plans.
use async_trait::async_trait;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::ops::Range;
use std::sync::Arc;
use url::Url;

/// The stores of one process.
#[derive(Debug)]
pub(crate) struct EnvStores {
    inner: DefaultObjectStoreRegistry,
    /// The process, as errors name it ("executor e1").
    process: String,
}

impl EnvStores {
    pub(crate) fn new(process: &str) -> Self {
        let inner = DefaultObjectStoreRegistry::new();
        let local: Arc<dyn ObjectStore> = Arc::new(Named {
            inner: Arc::new(object_store::local::LocalFileSystem::new()),
            what: format!("{process} reading its local file system"),
        });
        inner.register_store(&Url::parse("file://").expect("a valid URL"), local);
        EnvStores {
            inner,
            process: process.to_string(),
        }
    }
}

impl ObjectStoreRegistry for EnvStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.inner.get_store(url) {
            return Ok(store);
        }
        let name = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
        let store = strata_catalog::store_from_env(url).map_err(|e| {
            DataFusionError::Execution(format!(
                "{} cannot open the lake's store {name}: {e}",
                self.process
            ))
        })?;
        let named: Arc<dyn ObjectStore> = Arc::new(Named {
            inner: store,
            what: format!("{} reading {name}", self.process),
        });
        self.inner.register_store(url, named.clone());
        Ok(named)
    }
}

/// A store whose read errors say which process read which store: a lake one executor cannot
/// reach (no credentials, another machine's path) is then found from the query's error alone.
#[derive(Debug)]
struct Named {
    inner: Arc<dyn ObjectStore>,
    what: String,
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.inner, self.what)
    }
}

impl Named {
    fn name(&self, e: object_store::Error) -> object_store::Error {
        object_store::Error::Generic {
            store: "lake",
            source: format!("{}: {e}", self.what).into(),
        }
    }
}

#[async_trait]
impl ObjectStore for Named {
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
        self.inner
            .get_opts(location, options)
            .await
            .map_err(|e| self.name(e))
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner
            .get_ranges(location, ranges)
            .await
            .map_err(|e| self.name(e))
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let what = self.what.clone();
        self.inner
            .list(prefix)
            .map(move |r| {
                r.map_err(|e| object_store::Error::Generic {
                    store: "lake",
                    source: format!("{what}: {e}").into(),
                })
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner
            .list_with_delimiter(prefix)
            .await
            .map_err(|e| self.name(e))
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
