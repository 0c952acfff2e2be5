//! Strata's engine and session: a [`Session`] over a [`Lake`] parses SQL (with Strata's dialect,
//! or a front end's [`StatementHook`]), answers Strata's statements (SET/SHOW/RESET
//! `strata.as_of`, `REFRESH`, time-travel clauses), and plans and runs the rest on DataFusion.
//! Every front end — REPL, library, Postgres server — runs statements through the one
//! dispatcher here (docs/architecture.md).

mod bar;
mod coop;
pub mod copy;
mod dialect;
mod engine;
mod error;
mod hook;
pub mod ingest;
pub mod limits;
pub mod maintenance;
mod memory;
mod session;
mod significant;
mod split;
mod statement;
mod suggest;
mod summarize;
mod travel;
mod types;

pub use bar::bar_text;
pub use copy::{CopyFormat, CopyOptions};
pub use dialect::StrataDialect;
pub use engine::{Engine, EngineSetup};
pub use error::{ErrorKind, Missing, Result, SqlError};
pub use hook::StatementHook;
pub use limits::StatementLimits;
pub use memory::{limit_memory, MemoryUse};
pub use session::{
    is_strata_setting, one_value, setting_name, value_text, Described, Output, ScanProgress,
    Session, SessionOptions,
};
pub use significant::round_significant;
pub use statement::{Kind as StatementKind, Statement, Transaction};
pub use strata_catalog::{Lake, ZONES};
pub use types::{sql_type_display, sql_type_name};

/// Strata's own SQL functions (`bar`, `round_significant`), which every session has: for
/// processes that run plans a session made, such as cluster executors (docs/cluster.md).
pub fn functions() -> Vec<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> {
    vec![
        std::sync::Arc::new(bar::bar_udf()),
        std::sync::Arc::new(significant::round_significant_udf()),
    ]
}
