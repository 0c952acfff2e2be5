//! Strata's SQL layer: a [`Session`] over a [`Lake`], with Strata's statements (SET/SHOW/RESET
//! `strata.as_of`, `REFRESH`, time-travel clauses) handled before DataFusion plans the rest.

mod coop;
mod dialect;
mod engine;
pub mod limits;
mod memory;
pub mod pg;
mod session;
mod settings;
mod split;
mod statement;
mod suggest;
mod travel;

pub use dialect::StrataDialect;
pub use engine::Engine;
pub use limits::StatementLimits;
pub use memory::MemoryUse;
pub use session::{Described, Output, ScanProgress, Session, SessionOptions, Statement};
pub use strata_catalog::{Lake, ZONES};

/// Errors of the SQL layer. DataFusion's own errors pass through unchanged so callers can map
/// them (the server turns them into SQLSTATE codes).
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Catalog(#[from] strata_catalog::CatalogError),
    /// SQL that does not parse; the message says what was expected where.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A name that does not exist, with the closest existing one when there is one.
    #[error("{message}")]
    NotFound { message: String },
    /// Refused: the user may not read that zone, or a remote session may not do that.
    #[error("permission denied: {0}")]
    Denied(String),
    /// A Postgres-session error with its SQLSTATE.
    #[error("{message}")]
    Pg { code: &'static str, message: String },
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;
