//! Typed errors of the catalog crate: every variant names the thing that is wrong.
use datafusion::error::DataFusionError;

/// Errors raised while opening, listing or resolving a lake.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// `strata.toml` is malformed or has an invalid value; the message carries file and line.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// The lake URI cannot be understood.
    #[error("invalid lake URI '{uri}': {message}")]
    Uri { uri: String, message: String },
    /// The store refused or failed a request (unreachable bucket, missing credentials, ...).
    #[error("cannot read lake '{uri}': {source}")]
    Store {
        uri: String,
        #[source]
        source: object_store::Error,
    },
    /// A table's files or configuration are unusable; names the table and the file.
    #[error("table {table}: {message}")]
    Table { table: String, message: String },
    /// Two tables resolve to the same name (e.g. a real `t_history` beside keyed `t`).
    #[error("name clash: {0}")]
    Clash(String),
    /// A timestamp or duration that does not parse.
    #[error("{0}")]
    Value(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

impl CatalogError {
    pub(crate) fn table(table: impl std::fmt::Display, message: impl Into<String>) -> Self {
        CatalogError::Table {
            table: table.to_string(),
            message: message.into(),
        }
    }
}

impl From<CatalogError> for DataFusionError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
