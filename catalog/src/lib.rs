//! Strata's lake catalog: zones as DataFusion catalogs, discovery on object_store, table
//! configuration, and the latest / as-of / snapshot table providers.
//!
//! Entry point: [`Lake::open`], then [`Lake::register`] on a `SessionContext`.
mod anomalies;
mod batches;
mod catalog;
pub mod config;
pub mod delta;
mod error;
pub mod format;
mod lake;
pub mod listing;
mod meta;
pub mod options;
pub mod provider;
pub mod quality;
pub mod resolve;
pub mod sample;
mod store;
pub mod time;
pub mod units;

pub use config::{LakeConfig, Mode};
pub use error::{full_path, read_failure, CatalogError, FileErrorKind, Result};
pub use lake::{provider_for as lake_provider, Lake, HISTORY_SUFFIX};
pub use options::StrataOptions;
pub use store::store_from_env;

/// The zones of a lake, in the order they are listed.
pub const ZONES: [&str; 3] = ["raw", "sanitized", "enhanced"];
/// The schema, present in every zone, that holds Strata's metadata table `tables`.
pub const META_SCHEMA: &str = "strata";

/// A table's full name, `zone.schema.table`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub zone: String,
    pub schema: String,
    pub table: String,
}

impl TableName {
    pub fn new(zone: &str, schema: &str, table: &str) -> Self {
        TableName {
            zone: zone.into(),
            schema: schema.into(),
            table: table.into(),
        }
    }

    /// Parses `zone.schema.table`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split('.');
        let (z, sc, t) = (it.next()?, it.next()?, it.next()?);
        (it.next().is_none()).then(|| TableName::new(z, sc, t))
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.zone, self.schema, self.table)
    }
}
