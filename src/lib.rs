//! Strata as a library: open a lake, run SQL, get Arrow record batches or DataFusion
//! DataFrames. This is the one place embedders import from.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use strata::{Lake, Session, SessionOptions};
//! let lake = Lake::open("s3://my-bucket/lake").await?;
//! let session = Session::new(lake, SessionOptions::default()).await?;
//! let df = session.sql("SELECT count(*) FROM raw.crm.customers").await?;
//! let batches = df.collect().await?;
//! # Ok(()) }
//! ```

pub use strata_catalog::{
    config::LakeConfig, sample, time, units, CatalogError, Lake, Mode, StrataOptions, TableName,
    META_SCHEMA, ZONES,
};
pub use strata_sql::{
    Engine, EngineSetup, ErrorKind, MemoryUse, Output, ScanProgress, Session, SessionOptions,
    SqlError, Statement, StatementHook, StrataDialect,
};

/// Cluster mode on Apache Ballista: `Cluster::connect(…)?.attach(engine)` runs an engine's
/// queries on a cluster (docs/cluster.md).
pub use strata_cluster as cluster;
/// The PostgreSQL wire server and Postgres sessions (`strata serve`).
pub use strata_pg as pg;
/// Arrow batches as PostgreSQL wire messages (DataRows, COPY), as `strata serve` sends them.
pub use strata_pg::wire;

/// DataFusion and Arrow as Strata uses them, so embedders need no second copy.
pub use datafusion;
pub use datafusion::arrow;
