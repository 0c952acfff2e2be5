//! Delta Lake tables (docs/delta.md): a table folder holding `_delta_log/` is opened with the
//! `deltalake` crate on the lake's own object store, so Strata never reads the log itself.
//! [`files`] turns the log into the files each version holds; [`write`] makes commits.
use crate::error::{CatalogError, Result};
use crate::store::LakeStore;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use std::sync::Once;
use url::Url;

pub mod files;
mod fit;
mod gated;
pub mod maintain;
pub mod write;

#[cfg(test)]
mod store_faults;

pub use files::{DeltaFiles, LogCache};
pub use fit::fit;
pub use gated::{quarantine_of, QUARANTINE_SUFFIX};
pub use write::{AppendOptions, Committed};

/// The table property a Delta table names its feature flags under; Strata's scan reads
/// physical column names and whole files, so it refuses tables whose log says otherwise.
const COLUMN_MAPPING: &str = "delta.columnMapping.mode";

/// Registers deltalake's log stores for `s3://`, `gs://` and `az://` table URLs. The crate does
/// this from a constructor at load time; doing it again here keeps it working if a linker drops
/// that constructor.
fn register_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        deltalake::aws::register_handlers(None);
        deltalake::gcp::register_handlers(None);
        deltalake::azure::register_handlers(None);
    });
}

/// The URL of the table folder `dir` (relative to the lake root), as deltalake names tables.
pub fn table_url(store: &LakeStore, dir: &str) -> Result<Url> {
    let path = store.child(dir);
    let url = if store.url.as_str().starts_with("file://") {
        Url::from_directory_path(format!("/{path}")).map_err(|_| ())
    } else {
        Url::parse(&format!("{}{path}/", store.url.as_str())).map_err(|_| ())
    };
    url.map_err(|()| CatalogError::Uri {
        uri: store.uri.clone(),
        message: format!("cannot make a table URL of '{dir}'"),
    })
}

/// A deltalake table handle on the lake's store for the folder `dir`, not yet loaded.
pub fn handle(store: &LakeStore, dir: &str) -> Result<DeltaTable> {
    register_handlers();
    let url = table_url(store, dir)?;
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_backend(store.store.clone(), url).build())
        .map_err(|e| delta_error(dir, e))
}

/// Opens the Delta table in `dir` at its newest version.
pub async fn open(store: &LakeStore, dir: &str) -> Result<DeltaTable> {
    let mut table = handle(store, dir)?;
    table.load().await.map_err(|e| delta_error(dir, e))?;
    Ok(table)
}

/// Refuses what Strata's scan cannot read correctly instead of answering wrongly.
pub(crate) fn check_readable(dir: &str, table: &DeltaTable) -> Result<()> {
    let state = table.snapshot().map_err(|e| delta_error(dir, e))?;
    let config = state.metadata().configuration();
    if let Some(mode) = config.get(COLUMN_MAPPING).filter(|m| m.as_str() != "none") {
        return Err(unsupported(
            dir,
            &format!("column mapping ({COLUMN_MAPPING} = {mode})"),
        ));
    }
    if state
        .log_data()
        .iter()
        .any(|f| f.deletion_vector_descriptor().is_some())
    {
        return Err(unsupported(dir, "deletion vectors"));
    }
    Ok(())
}

fn unsupported(dir: &str, feature: &str) -> CatalogError {
    CatalogError::Delta {
        table: dir.to_string(),
        message: format!(
            "the table uses the Delta feature {feature}, which Strata does not read yet \
             (docs/delta.md lists the features it reads and writes)"
        ),
    }
}

/// A deltalake error as a catalog error naming the table folder.
pub(crate) fn delta_error(dir: &str, e: DeltaTableError) -> CatalogError {
    CatalogError::Delta {
        table: dir.to_string(),
        message: e.to_string(),
    }
}
