//! The engine: what every session over one lake shares — the lake and a `SessionState`
//! template built once, from which each session (REPL, library caller, server connection) is cloned.
use crate::memory::PeakPool;
use crate::session::Session;
use crate::travel::{AsOfFunction, AS_OF_FUNCTION};
use crate::Result;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;
use strata_catalog::{Lake, StrataOptions};

/// The per-sort merge reservation for a memory limit: a fair pool shares the limit between
/// the partitions' sorts so each can spill, and the reservation (10 MB by default) must fit in
/// a partition's share.
pub(crate) fn spill_reservation(limit: usize, partitions: usize) -> usize {
    let share = limit / (2 * partitions.max(1));
    (share / 4).clamp(64 << 10, 10 << 20)
}

/// What every session over one lake shares: the lake and a `SessionState` template built once
/// (configuration, catalogs, functions, runtime with its memory pool). A session clones it,
/// which is cheap: the catalogs, functions and runtime are behind `Arc`s.
#[derive(Clone)]
pub struct Engine {
    lake: Arc<Lake>,
    template: SessionState,
}

impl Engine {
    /// `memory_limit` bounds the memory of all queries run by sessions of this engine; beyond
    /// it sorts and aggregations spill to disk.
    pub fn new(lake: Arc<Lake>, memory_limit: Option<usize>) -> Result<Self> {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema("enhanced", "public");
        config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        let mut config = StrataOptions::register(config);
        if let Some(limit) = memory_limit {
            config.options_mut().execution.sort_spill_reservation_bytes =
                spill_reservation(limit, config.target_partitions());
        }
        let runtime =
            RuntimeEnvBuilder::new().with_memory_pool(Arc::new(PeakPool::new(memory_limit)));
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc()?)
            .with_default_features()
            // Cancels and timeouts must stop CPU-bound operators too (crate::coop).
            .with_physical_optimizer_rules(crate::coop::physical_optimizer_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        lake.register(&ctx);
        for f in crate::functions() {
            ctx.register_udf(f.as_ref().clone());
        }
        ctx.register_udtf(
            AS_OF_FUNCTION,
            Arc::new(AsOfFunction { lake: lake.clone() }),
        );
        Ok(Engine {
            lake,
            template: ctx.state(),
        })
    }

    /// The engine with its template changed by `change`, e.g. another query planner that runs
    /// plans on a cluster (docs/cluster.md). Sessions made afterwards start from the new one.
    pub fn with_state(
        mut self,
        change: impl FnOnce(SessionStateBuilder) -> SessionStateBuilder,
    ) -> Self {
        self.template = change(SessionStateBuilder::new_from_existing(self.template)).build();
        self
    }

    /// The state every session starts from.
    pub fn template(&self) -> &SessionState {
        &self.template
    }

    pub fn lake(&self) -> &Arc<Lake> {
        &self.lake
    }

    /// A new session (zone `enhanced`, schema `public`), optionally at an as-of time.
    pub fn session(&self, as_of: Option<&str>) -> Result<Session> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = SessionStateBuilder::new_from_existing(self.template.clone())
            .with_session_id(format!("strata-{}-{id}", std::process::id()))
            .build();
        Session::from_state(state, self.lake.clone(), as_of)
    }
}

/// A change a program makes to each engine it builds, such as running its queries on a cluster
/// (docs/cluster.md); servers take one in their options and apply it to the engine they start.
#[derive(Clone)]
pub struct EngineSetup(Arc<dyn Fn(Engine) -> Engine + Send + Sync>);

impl EngineSetup {
    pub fn new(change: impl Fn(Engine) -> Engine + Send + Sync + 'static) -> Self {
        EngineSetup(Arc::new(change))
    }

    pub fn apply(&self, engine: Engine) -> Engine {
        (self.0)(engine)
    }
}

impl std::fmt::Debug for EngineSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineSetup")
    }
}
