//! Postgres sessions: [`PgEngine`] builds them over one Strata engine, with `pg_catalog`, the
//! Postgres functions and the statement hook; [`PgSession`] is a session with what a Postgres
//! client expects beside it (its settings, user, cursors). Nothing here knows the protocol:
//! the server in `server/` maps these sessions onto pgwire.
use crate::compat::{catalog, functions, literal_coercion, oids, overlay};
use crate::cursor::Cursors;
use crate::hook::PgHook;
use crate::settings::Settings;
use crate::sqlstate::{PgError, INVALID_CATALOG_NAME};
use datafusion::catalog::{CatalogProviderList, MemorySchemaProvider, SchemaProvider};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, PgCatalogSchemaProvider, PgCatalogStaticTables,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use strata_sql::{Engine, Result, Session, SqlError};

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
    /// Zones this user may write (`[users.x] write`); None means all (the trusted server
    /// without users).
    pub write_zones: Option<Vec<String>>,
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
    pub fn session(&self, opts: &PgSessionOptions) -> Result<PgSession> {
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
            return Err(PgError::new(INVALID_CATALOG_NAME, message).into());
        }
        let set = self.zone_set(&zones, database)?;
        let temp = Arc::new(MemorySchemaProvider::new());
        let catalogs = catalog::session_catalogs(&set.readable, set.pg_catalog, temp.clone());
        let mut state = SessionStateBuilder::new_from_existing(self.template.clone())
            .with_catalog_list(catalogs)
            .with_session_id(format!("strata-pg-{}", next_id()))
            .build();
        if let Some(limit) = opts.memory_limit {
            state = strata_sql::limit_memory(state, limit)?;
        }
        let defaults = &mut state.config_mut().options_mut().catalog;
        defaults.default_catalog = database.to_string();
        defaults.default_schema = "public".into();
        let settings = Arc::new(Settings::new(opts.statement_timeout_ms));
        let mut session = Session::from_state(state, self.engine.lake().clone(), None)?;
        session.set_write_zones(opts.write_zones.clone());
        session.set_user(Some(opts.user.clone()));
        functions::register(session.context(), &settings, &opts.user, &set.keys);
        let pg = Arc::new(PgState {
            parser: self.parser.clone(),
            settings,
            user: opts.user.clone(),
            remote: opts.remote,
            temp,
            cursors: Default::default(),
        });
        session.set_hook(Arc::new(PgHook(pg.clone())));
        Ok(PgSession { session, pg })
    }
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// What a Postgres session keeps beside its DataFusion context; shared by the session's hook
/// and the server.
pub(crate) struct PgState {
    pub parser: Arc<PostgresCompatibilityParser>,
    pub settings: Arc<Settings>,
    pub user: String,
    pub remote: bool,
    pub temp: Arc<MemorySchemaProvider>,
    pub cursors: Cursors,
}

/// A session of a Postgres client: a Strata session (which it derefs to, so everything a
/// session does it does) with the client's settings, user and cursors beside it.
pub struct PgSession {
    session: Session,
    pg: Arc<PgState>,
}

impl std::ops::Deref for PgSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl PgSession {
    /// Limits on the statements the session parses.
    pub fn set_statement_limits(&mut self, limits: strata_sql::StatementLimits) {
        self.session.set_statement_limits(limits);
    }

    /// The client's settings (SET, SHOW, what ParameterStatus reports).
    pub fn settings(&self) -> &Arc<Settings> {
        &self.pg.settings
    }

    /// A setting's value as SHOW reports it.
    pub fn show_setting(&self, name: &str) -> Option<String> {
        self.pg
            .settings
            .show(name, self.session.context().state().config_options())
    }

    /// The columns of an open cursor (the server answers Describe of a DECLAREd portal).
    pub async fn cursor_schema(
        &self,
        name: &str,
    ) -> Option<datafusion::arrow::datatypes::SchemaRef> {
        self.pg.cursors.schema(name).await
    }

    /// The lake table a statement's name means in this session (its current zone and schema);
    /// None for temporary and catalog tables.
    pub fn lake_table(
        &self,
        name: &datafusion::sql::sqlparser::ast::ObjectName,
    ) -> Option<strata_catalog::TableName> {
        crate::hook::lake_table(&self.session, &self.pg, name)
    }

    /// The user the session belongs to.
    pub fn user(&self) -> &str {
        &self.pg.user
    }

    /// Whether a statement reads only `pg_catalog` and `information_schema` (psql's `\d`, BI
    /// tools' metadata calls): the server runs those apart from lake queries.
    pub fn reads_only_catalog(&self, stmt: &strata_sql::Statement) -> bool {
        stmt.reads_only(catalog::is_catalog_relation)
    }
}
