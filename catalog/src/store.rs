//! Lake URIs to object stores: local paths, `file://`, `s3://`, `gs://`, `az://` — credentials
//! from each store's standard environment (docs/lake.md#stores).
use crate::error::{CatalogError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::{path::Path, ObjectStore};
use std::sync::Arc;
use url::Url;

/// Where a lake lives: the store, its URL as DataFusion registers it, and the root prefix.
#[derive(Debug, Clone)]
pub struct LakeStore {
    pub uri: String,
    pub url: ObjectStoreUrl,
    pub store: Arc<dyn ObjectStore>,
    pub root: Path,
}

impl LakeStore {
    pub fn open(uri: &str) -> Result<Self> {
        let bad = |message: String| CatalogError::Uri {
            uri: uri.to_string(),
            message,
        };
        let has_scheme = uri.contains("://");
        if !has_scheme || uri.starts_with("file://") {
            let local = uri.strip_prefix("file://").unwrap_or(uri);
            let path = std::path::Path::new(local);
            let abs = std::fs::canonicalize(path).map_err(|e| bad(format!("{e}")))?;
            if !abs.is_dir() {
                return Err(bad("not a directory".into()));
            }
            let root = Path::from_filesystem_path(&abs).map_err(|e| bad(e.to_string()))?;
            return Ok(LakeStore {
                uri: uri.to_string(),
                url: ObjectStoreUrl::local_filesystem(),
                store: Arc::new(object_store::local::LocalFileSystem::new()),
                root,
            });
        }
        let url = Url::parse(uri).map_err(|e| bad(e.to_string()))?;
        let bucket = url
            .host_str()
            .ok_or_else(|| bad("missing bucket name".into()))?
            .to_string();
        let root = Path::from(url.path().trim_matches('/'));
        let store = store_from_env(&url).map_err(bad)?;
        let url = ObjectStoreUrl::parse(format!("{}://{bucket}", url.scheme()))?;
        Ok(LakeStore {
            uri: uri.to_string(),
            url,
            store,
            root,
        })
    }

    /// The path of `rel` (a `/`-separated path below the root) in the store.
    pub fn child(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// `location` relative to the root, or None when it lies outside.
    pub fn relative<'a>(&self, location: &'a Path) -> Option<&'a str> {
        let root = self.root.as_ref();
        let loc = location.as_ref();
        if root.is_empty() {
            return Some(loc);
        }
        loc.strip_prefix(root)?.strip_prefix('/')
    }
}

/// The store of a `s3://`, `gs://` or `az://` URL (its bucket or container), with credentials and
/// options from the store's standard environment variables. Cluster executors open the lake's
/// store this way from the URL in each plan (docs/cluster.md).
pub fn store_from_env(url: &Url) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    let bucket = url.host_str().ok_or("missing bucket name")?;
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        "az" | "abfs" | "abfss" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        other => {
            return Err(format!(
                "unsupported scheme '{other}' (use a path, file://, s3://, gs:// or az://)"
            ))
        }
    };
    Ok(store)
}
