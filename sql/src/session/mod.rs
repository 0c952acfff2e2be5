//! The session: a DataFusion context over a lake, statements parsed with Strata's dialect, and
//! Strata's own statements (REFRESH, `strata.as_of`, `search_path`, time travel) handled before
//! DataFusion plans the rest. The REPL, `-c`, the library and the server all run SQL through
//! here (docs/architecture.md walks one query through it).
//!
//! The session is one type over several files: this one (what a session holds), `run.rs` (the
//! one dispatcher every statement goes through), `describe.rs` (result columns and parameter
//! types without running), `settings.rs` (the settings Strata answers itself) and `rights.rs`
//! (which zones it may write).
mod describe;
mod rights;
mod run;
mod settings;
mod write;

pub use describe::Described;
pub use settings::{is_strata_setting, one_value, setting_name, value_text};

use crate::engine::Engine;
use crate::hook::StatementHook;
use crate::limits::{Grown, Shape, StatementLimits};
use crate::statement::Statement;
use crate::Result;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use std::sync::Arc;
use strata_catalog::Lake;

/// Options for a new session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Memory limit in bytes for query execution; operators that can spill to disk do so
    /// beyond it instead of failing.
    pub memory_limit: Option<usize>,
    /// Initial `strata.as_of` (same syntax as `SET strata.as_of`).
    pub as_of: Option<String>,
}

/// What a statement produced.
pub enum Output {
    /// A result set, streamed batch by batch.
    Rows(SendableRecordBatchStream),
    /// A statement without a result set: its command tag, e.g. `SET`.
    Status(String),
    /// `COPY … TO STDOUT`: rows for the front end to write in the given format.
    CopyOut {
        rows: SendableRecordBatchStream,
        options: crate::copy::CopyOptions,
    },
}

impl Output {
    /// The output with its rows polled and dropped on a stack deep enough for `shape`.
    fn grown(self, shape: Shape) -> Output {
        let grow = |rows: SendableRecordBatchStream| -> SendableRecordBatchStream {
            let schema = rows.schema();
            Box::pin(RecordBatchStreamAdapter::new(
                schema,
                Grown::new(rows, shape),
            ))
        };
        match self {
            Output::Rows(rows) => Output::Rows(grow(rows)),
            Output::CopyOut { rows, options } => Output::CopyOut {
                rows: grow(rows),
                options,
            },
            status => status,
        }
    }
}

/// A SQL session over a lake: current zone and schema, settings such as `strata.as_of`.
pub struct Session {
    ctx: SessionContext,
    lake: Arc<Lake>,
    /// The physical plan of the latest result set, for [`Session::scan_progress`].
    running: std::sync::Mutex<Option<Arc<dyn ExecutionPlan>>>,
    /// A front end's own statements (the server's Postgres ones), asked before Strata's.
    hook: Option<Arc<dyn StatementHook>>,
    /// Bounds on the statements it parses (settings of the embedder or server).
    limits: StatementLimits,
    /// The zones it may write: None for every zone (the REPL, `-c`, the library, a server
    /// without users), else a server user's `write` list (`rights.rs`).
    write_zones: Option<Vec<String>>,
    /// Who runs it, recorded with every commit it makes (a server user).
    user: Option<String>,
    /// What a statement that succeeded wants its user told (rows sent to quarantine), for the
    /// front end to show after its result: the REPL on stderr, the server as a notice.
    notices: std::sync::Mutex<Vec<String>>,
}

/// How much the latest query has read so far, from its scans' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Rows produced by the file scans.
    pub rows: usize,
    /// Bytes read from files, where the format reports it (Parquet).
    pub bytes: usize,
    /// Files the scans have finished.
    pub files_done: usize,
    /// Files the scans will read, as planned (after pruning by partition and statistics).
    pub files: usize,
    /// Their size in bytes (of the byte ranges read, where a file is split).
    pub file_bytes: u64,
}

impl Session {
    /// A session over `state` (a clone of an [`Engine`]'s template, perhaps changed by a front
    /// end: other catalogs, functions or memory pool).
    pub fn from_state(state: SessionState, lake: Arc<Lake>, as_of: Option<&str>) -> Result<Self> {
        let session = Session {
            ctx: SessionContext::new_with_state(state),
            lake,
            running: Default::default(),
            hook: None,
            limits: StatementLimits::default(),
            write_zones: None,
            user: None,
            notices: Default::default(),
        };
        if as_of.is_some() {
            session.set_as_of(as_of)?;
        }
        Ok(session)
    }

    /// A session in zone `enhanced`, schema `public`.
    pub async fn new(lake: Arc<Lake>, options: SessionOptions) -> Result<Self> {
        Engine::new(lake, options.memory_limit)?.session(options.as_of.as_deref())
    }

    /// The notices of the statements run since the last call (see the `notices` field).
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().expect("notices lock"))
    }

    pub(crate) fn notice(&self, text: String) {
        self.notices.lock().expect("notices lock").push(text);
    }

    /// Installs a front end's statements: the hook parses statement text and answers
    /// statements before Strata and DataFusion do (see [`StatementHook`]).
    pub fn set_hook(&mut self, hook: Arc<dyn StatementHook>) {
        self.hook = Some(hook);
    }

    /// The DataFusion context, for registering functions or tables of the embedder's own.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// Memory reserved by the queries of this session's engine (all its sessions share one
    /// pool), with the peak; None when the context was given a pool of another kind.
    pub fn memory(&self) -> Option<crate::MemoryUse> {
        let pool = &self.ctx.runtime_env().memory_pool;
        pool.downcast_ref::<crate::memory::PeakPool>()
            .map(|p| p.usage())
    }

    /// Starts the peak of [`Session::memory`] again from what is reserved now.
    pub fn reset_memory_peak(&self) {
        let pool = &self.ctx.runtime_env().memory_pool;
        if let Some(p) = pool.downcast_ref::<crate::memory::PeakPool>() {
            p.reset_peak();
        }
    }

    /// Splits SQL text into statements and parses each. A statement nesting deeper than
    /// `max_expression_depth` is refused (54001) before it is parsed, and one naming a
    /// placeholder no client could bind (`$0`, `$99999999999`) after (42P02).
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        crate::statement::parse(sql, self.hook.as_deref(), &self.limits)
    }

    /// Limits on the statements this session parses.
    pub fn set_statement_limits(&mut self, limits: StatementLimits) {
        self.limits = limits;
    }

    /// Rows, bytes and files the latest result set's scans have read so far, and the files
    /// they will read (for progress displays; cheap: it sums the plan's live metrics and
    /// its file lists).
    pub fn scan_progress(&self) -> ScanProgress {
        use datafusion::datasource::physical_plan::FileScanConfig;
        use datafusion::datasource::source::DataSourceExec;
        fn walk(plan: &Arc<dyn ExecutionPlan>, p: &mut ScanProgress) {
            if plan.children().is_empty() {
                if let Some(m) = plan.metrics() {
                    let count = |name| m.sum_by_name(name).map(|v| v.as_usize()).unwrap_or(0);
                    p.rows += m.output_rows().unwrap_or(0);
                    p.bytes += count("bytes_scanned");
                    p.files_done += count("files_processed");
                }
                let scan = plan
                    .downcast_ref::<DataSourceExec>()
                    .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>());
                for file in scan
                    .iter()
                    .flat_map(|s| &s.file_groups)
                    .flat_map(|g| g.files())
                {
                    p.files += 1;
                    p.file_bytes += match &file.range {
                        Some(r) => r.end.saturating_sub(r.start) as u64,
                        None => file.object_meta.size,
                    };
                }
            }
            for child in plan.children() {
                walk(child, p);
            }
        }
        let mut p = ScanProgress::default();
        if let Some(plan) = self.running.lock().expect("running lock").as_ref() {
            walk(plan, &mut p);
        }
        p
    }

    /// The zone (catalog) unqualified names resolve in.
    pub fn current_zone(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_catalog
            .clone()
    }

    /// The schema unqualified names resolve in.
    pub fn current_schema(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_schema
            .clone()
    }
}
