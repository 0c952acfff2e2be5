//! Postgres compatibility for sessions served over the wire protocol: `pg_catalog`, Postgres
//! functions and settings, client chatter (BEGIN, DISCARD ALL, SET of any setting), cursors,
//! temporary tables, the remote sandbox and SQLSTATE codes. Nothing here knows the protocol:
//! the server in `src/server` maps these sessions onto pgwire.
mod catalog;
mod catalog_sql;
mod copy;
mod cursor;
mod format_fns;
mod format_template;
mod from_char;
mod functions;
mod literal_coercion;
mod oids;
mod overlay;
mod rewrite;
mod settings;
pub mod sqlstate;
mod statements;
mod to_char;

pub(crate) use catalog::is_catalog_relation;
pub(crate) use copy::copy_to_stdout;
pub use copy::{CopyFormat, CopyOptions};
pub use functions::version_string;
pub(crate) use rewrite::rewrite;
pub use rewrite::wire_name;
pub use settings::{display_name, Settings};

use crate::engine::Engine;
use crate::session::Session;
use crate::{Result, SqlError};
use datafusion::catalog::{CatalogProviderList, MemorySchemaProvider, SchemaProvider};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, PgCatalogSchemaProvider, PgCatalogStaticTables,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The PostgreSQL version Strata reports: drivers choose features by it.
pub const SERVER_VERSION: &str = "16.6";
pub const SERVER_VERSION_NUM: &str = "160006";

/// Builds Postgres sessions over one engine. Shared by every connection of a server: the
/// `pg_catalog` tables are built once, and one `pg_catalog` per set of readable zones keeps the
/// OIDs it hands out the same for every connection.
pub struct PgEngine {
    engine: Engine,
    template: SessionState,
    static_tables: Arc<PgCatalogStaticTables>,
    parser: Arc<PostgresCompatibilityParser>,
    by_zones: Mutex<HashMap<(Vec<String>, String), ZoneSet>>,
}

#[derive(Clone)]
struct ZoneSet {
    readable: Arc<dyn CatalogProviderList>,
    pg_catalog: Arc<dyn SchemaProvider>,
    keys: oids::KnownKeys,
}

/// Who connects and how.
#[derive(Debug, Clone, Default)]
pub struct PgSessionOptions {
    pub user: String,
    /// The database name from the startup message: the default zone. None means `enhanced`.
    pub database: Option<String>,
    /// Zones this user may read; None means all.
    pub zones: Option<Vec<String>>,
    /// Memory for this session's queries; beyond it sorts and aggregations spill to disk.
    pub memory_limit: Option<usize>,
    /// The server's ceiling on statement_timeout in milliseconds (0 = none).
    pub statement_timeout_ms: u64,
    /// Remote sessions cannot touch the server's files or network, nor engine-wide settings.
    pub remote: bool,
}

impl PgEngine {
    pub fn new(engine: Engine) -> Result<Self> {
        let static_tables = Arc::new(PgCatalogStaticTables::try_new()?);
        let ctx = SessionContext::new_with_state(engine.template().clone());
        for udf in [
            pgc::create_current_schemas_udf(),
            pgc::create_pg_get_userbyid_udf(),
            pgc::create_pg_table_is_visible(),
            pgc::create_pg_get_partkeydef_udf(),
            pgc::create_pg_relation_is_publishable_udf(),
            pgc::create_pg_get_statisticsobjdef_columns_udf(),
            pgc::create_pg_encoding_to_char_udf(),
            pgc::create_pg_backend_pid_udf(),
            pgc::create_pg_relation_size_udf(),
            pgc::create_pg_total_relation_size_udf(),
            pgc::create_pg_stat_get_numscans(),
            pgc::create_pg_get_constraintdef(),
            pgc::create_pg_get_partition_ancestors_udf(),
            pgc::format_type::create_format_type_udf(),
            pgc::pg_get_expr_udf::create_pg_get_expr_udf(),
            pgc::quote_ident_udf::create_quote_ident_udf(),
            pgc::quote_ident_udf::create_parse_ident_udf(),
            pgc::array_bounds_udf::create_array_upper_udf(),
            pgc::array_bounds_udf::create_array_lower_udf(),
        ] {
            ctx.register_udf(udf);
        }
        for name in [
            "has_table_privilege",
            "has_schema_privilege",
            "has_database_privilege",
            "has_any_column_privilege",
            "has_column_privilege",
        ] {
            ctx.register_udf(pgc::has_privilege_udf::create_has_privilege_udf(name));
        }
        ctx.register_udtf("pg_get_keywords", static_tables.pg_get_keywords.clone());
        pgc::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(&ctx);
        // Untyped literals take the other side's type before DataFusion's type coercion runs.
        let mut analyzer_rules = ctx.state().analyzer().rules.clone();
        analyzer_rules.insert(0, Arc::new(literal_coercion::UntypedLiteralCoercion));
        let mut template = SessionStateBuilder::new_from_existing(ctx.state())
            .with_type_planner(Arc::new(pgc::oid_type_planner::PgOidTypePlanner))
            .with_analyzer_rules(analyzer_rules)
            .build();
        // PostgreSQL's `timestamp with time zone` is UTC unless the client sets TimeZone;
        // without a session zone DataFusion would make it a zoneless timestamp.
        template.config_mut().options_mut().execution.time_zone = Some("UTC".into());
        Ok(PgEngine {
            engine,
            template,
            static_tables,
            parser: Arc::new(PostgresCompatibilityParser::new()),
            by_zones: Mutex::new(HashMap::new()),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn zone_set(&self, zones: &[String], database: &str) -> Result<ZoneSet> {
        let mut sorted = zones.to_vec();
        sorted.sort();
        let key = (sorted, database.to_string());
        let mut by_zones = self.by_zones.lock().expect("zone sets lock");
        if let Some(set) = by_zones.get(&key) {
            return Ok(set.clone());
        }
        let readable = catalog::readable_zones(self.template.catalog_list(), &key.0);
        let view = catalog::DatabaseView {
            readable: readable.clone(),
            current: database.to_string(),
        };
        let pg_catalog = PgCatalogSchemaProvider::try_new(
            view,
            self.static_tables.clone(),
            EmptyContextProvider,
        )?;
        let keys = oids::KnownKeys::default();
        let set = ZoneSet {
            readable: readable.clone(),
            pg_catalog: Arc::new(overlay::PgCatalog(Arc::new(overlay::PgCatalogOverlay {
                inner: Arc::new(pg_catalog),
                lake: self.engine.lake().clone(),
                readable,
                database: database.to_string(),
                keys: keys.clone(),
                cache: Default::default(),
            }))),
            keys,
        };
        by_zones.insert(key, set.clone());
        Ok(set)
    }

    /// A new session for one connection.
    pub fn session(&self, opts: &PgSessionOptions) -> Result<Session> {
        let zones: Vec<String> = match &opts.zones {
            Some(z) => z.clone(),
            None => strata_catalog::ZONES
                .iter()
                .map(|z| z.to_string())
                .collect(),
        };
        // Tools that do not ask (DBeaver, pgAdmin) connect to "postgres": the default zone.
        let database = match opts.database.as_deref() {
            None | Some("postgres") => "enhanced",
            Some(d) => d,
        };
        if !zones.iter().any(|z| z == database) {
            let message = if strata_catalog::ZONES.contains(&database) {
                return Err(SqlError::Denied(format!(
                    "permission denied for database \"{database}\": user \"{}\" may read {}",
                    opts.user,
                    zones.join(", ")
                )));
            } else {
                format!(
                    "database \"{database}\" does not exist; databases are the zones: {}",
                    zones.join(", ")
                )
            };
            return Err(SqlError::Pg {
                code: "3D000",
                message,
            });
        }
        let set = self.zone_set(&zones, database)?;
        let temp = Arc::new(MemorySchemaProvider::new());
        let catalogs = catalog::session_catalogs(&set.readable, set.pg_catalog, temp.clone());
        let mut builder = SessionStateBuilder::new_from_existing(self.template.clone())
            .with_catalog_list(catalogs)
            .with_session_id(format!("strata-pg-{}", next_id()));
        if let Some(limit) = opts.memory_limit {
            let runtime = RuntimeEnvBuilder::from_runtime_env(self.template.runtime_env())
                .with_memory_pool(Arc::new(crate::memory::PeakPool::new(Some(limit))))
                .build_arc()?;
            builder = builder.with_runtime_env(runtime);
        }
        let mut state = builder.build();
        {
            let partitions = state.config().target_partitions();
            let opts_mut = state.config_mut().options_mut();
            if let Some(limit) = opts.memory_limit {
                opts_mut.execution.sort_spill_reservation_bytes =
                    crate::engine::spill_reservation(limit, partitions);
            }
            opts_mut.catalog.default_catalog = database.to_string();
            opts_mut.catalog.default_schema = "public".into();
        }
        let settings = Arc::new(Settings::new(opts.statement_timeout_ms));
        let mut session = Session::from_state(state, self.engine.lake().clone(), None)?;
        functions::register(&session.ctx, &settings, &opts.user, &set.keys);
        session.pg = Some(Arc::new(PgState {
            parser: self.parser.clone(),
            settings,
            user: opts.user.clone(),
            remote: opts.remote,
            temp,
            cursors: Default::default(),
        }));
        Ok(session)
    }
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What a Postgres session keeps beside its DataFusion context.
pub(crate) struct PgState {
    pub parser: Arc<PostgresCompatibilityParser>,
    pub settings: Arc<Settings>,
    pub user: String,
    pub remote: bool,
    pub temp: Arc<MemorySchemaProvider>,
    pub cursors: cursor::Cursors,
}

impl Session {
    /// The Postgres settings of a server session (None for REPL and library sessions).
    pub fn pg_settings(&self) -> Option<&Arc<Settings>> {
        self.pg.as_ref().map(|p| &p.settings)
    }

    /// A setting's value as SHOW reports it.
    pub fn show_setting(&self, name: &str) -> Option<String> {
        let pg = self.pg.as_ref()?;
        pg.settings.show(name, self.ctx.state().config_options())
    }

    /// The columns of an open cursor (the server answers Describe of a DECLAREd portal).
    pub async fn cursor_schema(
        &self,
        name: &str,
    ) -> Option<datafusion::arrow::datatypes::SchemaRef> {
        self.pg.as_ref()?.cursors.schema(name).await
    }

    /// The user a server session belongs to.
    pub fn user(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.user.as_str())
    }
}
