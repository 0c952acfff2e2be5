//! The [`Lake`]: one listing of the store shared by every session, refreshed when older than
//! `refresh`, with resolved tables cached until their files change.
use crate::config::{LakeConfig, Mode};
use crate::delta::{files::delta_files, LogCache};
use crate::error::{CatalogError, Result};
use crate::listing::{list_lake, DiscoveredTable, Listing};
use crate::provider::{HistoryTable, LatestTable, SnapshotTable};
use crate::resolve::{resolve, FileInfoCache, ResolvedTable};
use crate::store::LakeStore;
use crate::{TableName, ZONES};
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::OnceCell;

/// Suffix of the table showing every row of a keyed or snapshot table.
pub const HISTORY_SUFFIX: &str = "_history";

type Slot = Arc<OnceCell<Arc<ResolvedTable>>>;

/// An open lake. Cheap to share: sessions hold it in an `Arc`.
pub struct Lake {
    store: LakeStore,
    config: LakeConfig,
    /// Internal context used for schema inference and parsing `deleted_when`.
    ctx: SessionContext,
    listing: RwLock<Arc<Listing>>,
    refresh_lock: tokio::sync::Mutex<()>,
    /// Resolved tables by name, with the fingerprint of the files they were resolved from.
    resolved: Mutex<HashMap<TableName, (u64, Slot)>>,
    file_cache: FileInfoCache,
    /// Parsed Delta commits (they never change once written).
    log_cache: LogCache,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("uri", &self.store.uri)
            .finish_non_exhaustive()
    }
}

impl Lake {
    /// Opens the lake at `uri` (a path, `file://`, `s3://`, `gs://`, `az://`): reads
    /// `strata.toml` if present and lists the lake once.
    pub async fn open(uri: &str) -> Result<Arc<Lake>> {
        Self::open_store(LakeStore::open(uri)?).await
    }

    /// Opens the lake on a store already built: embedders with a store of their own, and tests
    /// that put a failing store under a write.
    pub async fn open_store(store: LakeStore) -> Result<Arc<Lake>> {
        let uri = store.uri.clone();
        let uri = uri.as_str();
        let config_path = store.child("strata.toml");
        let config = match store.store.get(&config_path).await {
            Ok(r) => {
                let bytes = r.bytes().await.map_err(|source| CatalogError::Store {
                    uri: uri.into(),
                    source,
                })?;
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| CatalogError::Config {
                    file: format!("{uri}/strata.toml"),
                    message: "not UTF-8 text".into(),
                })?;
                LakeConfig::parse(&format!("{}/strata.toml", uri.trim_end_matches('/')), &text)?
            }
            Err(object_store::Error::NotFound { .. }) => LakeConfig {
                refresh: crate::config::DEFAULT_REFRESH,
                ..Default::default()
            },
            Err(source) => {
                return Err(CatalogError::Store {
                    uri: uri.into(),
                    source,
                })
            }
        };
        let ctx = SessionContext::new();
        ctx.register_object_store(store.url.as_ref(), store.store.clone());
        let listing = list_lake(&store, &config).await?;
        check_clashes(&listing, &config)?;
        Ok(Arc::new(Lake {
            store,
            config,
            ctx,
            listing: RwLock::new(Arc::new(listing)),
            refresh_lock: Default::default(),
            resolved: Default::default(),
            file_cache: Default::default(),
            log_cache: Default::default(),
        }))
    }

    /// A session state of the lake's own context (the lake's store registered), for work no
    /// session asked for: the quality gate of a library write without one.
    pub(crate) fn state(&self) -> datafusion::execution::SessionState {
        self.ctx.state()
    }

    /// The lake's root URI as given.
    pub fn uri(&self) -> &str {
        &self.store.uri
    }

    pub fn config(&self) -> &LakeConfig {
        &self.config
    }

    pub(crate) fn store(&self) -> &LakeStore {
        &self.store
    }

    pub(crate) fn log_cache(&self) -> &LogCache {
        &self.log_cache
    }

    /// Registers the lake's object store and its zones as catalogs on `ctx`.
    pub fn register(self: &Arc<Self>, ctx: &SessionContext) {
        ctx.register_object_store(self.store.url.as_ref(), self.store.store.clone());
        for zone in ZONES {
            ctx.register_catalog(
                zone,
                Arc::new(crate::catalog::ZoneCatalog::new(self.clone(), zone)),
            );
        }
    }

    pub(crate) fn listing(&self) -> Arc<Listing> {
        self.listing.read().expect("listing lock").clone()
    }

    /// Lists the lake again now (SQL `REFRESH`).
    pub async fn refresh(&self) -> Result<()> {
        let _guard = self.refresh_lock.lock().await;
        let listing = list_lake(&self.store, &self.config).await?;
        check_clashes(&listing, &self.config)?;
        // Forget what belongs to files and tables that are gone, so a long-running process
        // over a churning lake does not grow without bound.
        let live: std::collections::HashSet<&str> = listing
            .tables
            .values()
            .flat_map(|t| t.files.iter().map(|f| f.meta.location.as_ref()))
            .collect();
        self.file_cache
            .lock()
            .expect("file cache lock")
            .retain(|(loc, _, _), _| live.contains(loc.as_str()));
        self.resolved
            .lock()
            .expect("resolved lock")
            .retain(|name, _| listing.tables.contains_key(name));
        *self.listing.write().expect("listing lock") = Arc::new(listing);
        Ok(())
    }

    /// Lists the lake again if the listing is older than the configured `refresh`.
    pub async fn refresh_if_stale(&self) -> Result<()> {
        if self.listing().listed_at.elapsed() >= self.config.refresh {
            let _guard = self.refresh_lock.lock().await;
            // Another caller may have refreshed while this one waited.
            if self.listing().listed_at.elapsed() >= self.config.refresh {
                drop(_guard);
                return self.refresh().await;
            }
        }
        Ok(())
    }

    /// Every table name in the current listing, `_history` tables included, sorted.
    pub fn table_names(&self) -> Vec<TableName> {
        let listing = self.listing();
        let mut names = vec![];
        for name in listing.tables.keys() {
            names.push(name.clone());
            if self.mode_of(name) != Mode::Append {
                names.push(TableName::new(
                    &name.zone,
                    &name.schema,
                    &format!("{}{HISTORY_SUFFIX}", name.table),
                ));
            }
        }
        names.sort();
        names
    }

    /// The configured mode of a base table.
    pub fn mode_of(&self, name: &TableName) -> Mode {
        self.config
            .tables
            .get(&name.to_string())
            .map(|t| t.mode())
            .unwrap_or(Mode::Append)
    }

    /// Splits a visible name into the base table and whether its `_history` was asked for.
    pub fn base_of(&self, name: &TableName) -> Option<(TableName, bool)> {
        let listing = self.listing();
        if listing.tables.contains_key(name) {
            return Some((name.clone(), false));
        }
        let base = name.table.strip_suffix(HISTORY_SUFFIX)?;
        let base = TableName::new(&name.zone, &name.schema, base);
        (listing.tables.contains_key(&base) && self.mode_of(&base) != Mode::Append)
            .then_some((base, true))
    }

    /// Resolves a base table against its current files (cached until they change).
    pub async fn resolve(&self, name: &TableName) -> Result<Arc<ResolvedTable>> {
        let listing = self.listing();
        let discovered = listing
            .tables
            .get(name)
            .ok_or_else(|| CatalogError::table(name, "no such table in the lake"))?;
        let fp = fingerprint(discovered);
        let slot = {
            let mut map = self.resolved.lock().expect("resolved lock");
            match map.get(name) {
                Some((f, slot)) if *f == fp => slot.clone(),
                _ => {
                    let slot: Slot = Default::default();
                    map.insert(name.clone(), (fp, slot.clone()));
                    slot
                }
            }
        };
        let table = slot
            .get_or_try_init(|| async {
                let config = self.config.tables.get(&name.to_string());
                let (store, url, cache) = (&self.store.store, &self.store.url, &self.file_cache);
                if !discovered.is_delta() {
                    return resolve(&self.ctx, store, url, cache, discovered, config, None)
                        .await
                        .map(Arc::new);
                }
                let delta = delta_files(&self.store, discovered, &self.log_cache).await?;
                let from_log = DiscoveredTable {
                    files: delta.files.iter().map(|f| f.file.clone()).collect(),
                    ..discovered.clone()
                };
                resolve(
                    &self.ctx,
                    store,
                    url,
                    cache,
                    &from_log,
                    config,
                    Some(&delta),
                )
                .await
                .map(Arc::new)
            })
            .await?;
        Ok(table.clone())
    }

    /// The resolved table if [`Lake::resolve`] already ran for its current files.
    pub fn cached(&self, name: &TableName) -> Option<Arc<ResolvedTable>> {
        let (_, slot) = self
            .resolved
            .lock()
            .expect("resolved lock")
            .get(name)?
            .clone();
        slot.get().cloned()
    }

    /// The provider for a visible table name, at the session's as-of bound or at `as_of` (µs).
    pub async fn provider(
        &self,
        name: &TableName,
        as_of: Option<i64>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some((base, history)) = self.base_of(name) else {
            return Ok(None);
        };
        let resolved = self.resolve(&base).await?;
        Ok(Some(provider_for(resolved, history, as_of)))
    }
}

/// Most files a failed query's tables are re-read to find the one that broke it.
const MAX_PROBED_FILES: usize = 1000;

impl Lake {
    /// Finds which file of `tables` made a query fail with `error` by reading their files one
    /// by one (only after a failure, so queries never pay for it), and names the table and
    /// file in the error. Errors that are not about reading data come back unchanged.
    pub async fn explain_read_error(
        &self,
        tables: &[TableName],
        error: DataFusionError,
    ) -> DataFusionError {
        use futures::StreamExt;
        if !matches!(
            error.find_root(),
            DataFusionError::ArrowError(..)
                | DataFusionError::ParquetError(..)
                | DataFusionError::ObjectStore(..)
                | DataFusionError::IoError(..)
                | DataFusionError::External(..)
                | DataFusionError::Execution(..)
        ) {
            return error;
        }
        let mut probed = 0;
        for name in tables {
            let Some(table) = self.cached(name) else {
                continue;
            };
            for file in &table.files {
                if probed == MAX_PROBED_FILES {
                    return error;
                }
                probed += 1;
                let mut single = (*table).clone();
                single.files = vec![file.clone()];
                let provider = Arc::new(HistoryTable::new(Arc::new(single), None));
                let failure = match self.ctx.read_table(provider) {
                    Err(e) => Some(e),
                    Ok(df) => match df.execute_stream().await {
                        Err(e) => Some(e),
                        Ok(mut stream) => {
                            let mut failure = None;
                            while let Some(batch) = stream.next().await {
                                if let Err(e) = batch {
                                    failure = Some(e);
                                    break;
                                }
                            }
                            failure
                        }
                    },
                };
                if let Some(e) = failure {
                    let path = crate::error::full_path(&self.store.url, &file.meta.location);
                    let kind = crate::error::FileErrorKind::of(&e);
                    let message = crate::error::read_failure(&e);
                    return CatalogError::file(name, path, kind, message).into();
                }
            }
        }
        error
    }
}

/// Builds the provider of a resolved table: its history, or its mode's view.
pub fn provider_for(
    resolved: Arc<ResolvedTable>,
    history: bool,
    as_of: Option<i64>,
) -> Arc<dyn TableProvider> {
    let mode = resolved.mode;
    let h = Arc::new(HistoryTable::new(resolved, as_of));
    match (history, mode) {
        (true, _) | (false, Mode::Append) => h,
        (false, Mode::Keyed) => Arc::new(LatestTable::new(h)),
        (false, Mode::Snapshot) => Arc::new(SnapshotTable::new(h)),
    }
}

fn fingerprint(t: &DiscoveredTable) -> u64 {
    let mut h = DefaultHasher::new();
    // A Delta table changes with its log; its data files also count, since a removed file that
    // VACUUM deleted no longer answers time travel.
    for f in t
        .files
        .iter()
        .map(|f| &f.meta)
        .chain(t.delta_log.iter().flatten())
    {
        f.location.as_ref().hash(&mut h);
        f.size.hash(&mut h);
        f.last_modified.hash(&mut h);
    }
    h.finish()
}

/// A real `t_history` beside a keyed or snapshot `t` would be hidden: refuse it, naming both.
fn check_clashes(listing: &Listing, config: &LakeConfig) -> Result<()> {
    for name in listing.tables.keys() {
        let mode = config
            .tables
            .get(&name.to_string())
            .map(|t| t.mode())
            .unwrap_or(Mode::Append);
        if mode == Mode::Append {
            continue;
        }
        let hist = TableName::new(
            &name.zone,
            &name.schema,
            &format!("{}{HISTORY_SUFFIX}", name.table),
        );
        if let Some(other) = listing.tables.get(&hist) {
            return Err(CatalogError::Clash(format!(
                "table {hist} (folder '{}') has the name of the history of {mode} table {name}; rename the folder or configure a `path`",
                other.dir
            )));
        }
    }
    Ok(())
}
