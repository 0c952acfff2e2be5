//! The catalogs a Postgres client sees: only the zones its user may read, each with a
//! `pg_catalog` schema, and a session-local overlay that holds `CREATE TEMP TABLE` tables.
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProviderList, MemorySchemaProvider,
    SchemaProvider, TableProvider,
};
use datafusion::common::{exec_err, Result};
use datafusion::datasource::TableType;
use datafusion_pg_catalog::pg_catalog::catalog_info::CatalogInfo;
use std::sync::Arc;

/// The schema name temporary tables can also be reached by, as in PostgreSQL.
pub const TEMP_SCHEMA: &str = "pg_temp";
pub const PG_CATALOG: &str = "pg_catalog";

/// The zones a user may read, as a catalog list: what `pg_catalog` and `information_schema`
/// enumerate, so a zone the user may not read appears nowhere.
pub(crate) fn readable_zones(
    all: &Arc<dyn CatalogProviderList>,
    zones: &[String],
) -> Arc<dyn CatalogProviderList> {
    let list = MemoryCatalogProviderList::new();
    for zone in zones {
        if let Some(c) = all.catalog(zone) {
            list.register_catalog(zone.clone(), c);
        }
    }
    Arc::new(list)
}

/// What `pg_catalog` enumerates for a connection: every readable zone as a database
/// (`pg_database`), but schemas, tables and columns of the connected one only — in PostgreSQL a
/// connection sees its own database's objects; other zones stay reachable by three-part names.
#[derive(Clone, Debug)]
pub(crate) struct DatabaseView {
    pub readable: Arc<dyn CatalogProviderList>,
    pub current: String,
}

#[async_trait]
impl CatalogInfo for DatabaseView {
    async fn catalog_names(&self) -> Result<Vec<String>> {
        Ok(CatalogProviderList::catalog_names(self.readable.as_ref()))
    }

    async fn schema_names(&self, catalog: &str) -> Result<Option<Vec<String>>> {
        if catalog != self.current {
            return Ok(None);
        }
        CatalogInfo::schema_names(&self.readable, catalog).await
    }

    async fn table_names(&self, catalog: &str, schema: &str) -> Result<Option<Vec<String>>> {
        if catalog != self.current {
            return Ok(None);
        }
        CatalogInfo::table_names(&self.readable, catalog, schema).await
    }

    async fn table_schema(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<SchemaRef>> {
        if catalog != self.current {
            return Ok(None);
        }
        CatalogInfo::table_schema(&self.readable, catalog, schema, table).await
    }

    async fn table_type(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<TableType>> {
        if catalog != self.current {
            return Ok(None);
        }
        CatalogInfo::table_type(&self.readable, catalog, schema, table).await
    }
}

/// One session's view of one zone: the zone's schemas (each overlaid with the session's temporary
/// tables), `pg_catalog`, and `pg_temp`.
#[derive(Debug)]
pub(crate) struct SessionZone {
    pub zone: Arc<dyn CatalogProvider>,
    pub pg_catalog: Arc<dyn SchemaProvider>,
    pub temp: Arc<MemorySchemaProvider>,
}

/// A session's catalog list: its readable zones wrapped in [`SessionZone`].
pub(crate) fn session_catalogs(
    readable: &Arc<dyn CatalogProviderList>,
    pg_catalog: Arc<dyn SchemaProvider>,
    temp: Arc<MemorySchemaProvider>,
) -> Arc<dyn CatalogProviderList> {
    let list = MemoryCatalogProviderList::new();
    for name in CatalogProviderList::catalog_names(readable.as_ref()) {
        if let Some(zone) = readable.catalog(&name) {
            list.register_catalog(
                name,
                Arc::new(SessionZone {
                    zone,
                    pg_catalog: pg_catalog.clone(),
                    temp: temp.clone(),
                }),
            );
        }
    }
    Arc::new(list)
}

impl CatalogProvider for SessionZone {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.zone.schema_names();
        names.push(PG_CATALOG.into());
        if !self.temp.table_names().is_empty() {
            names.push(TEMP_SCHEMA.into());
        }
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        match name {
            PG_CATALOG => Some(self.pg_catalog.clone()),
            TEMP_SCHEMA => Some(self.temp.clone()),
            _ => self.zone.schema(name).map(|inner| {
                Arc::new(TempOverlay {
                    inner,
                    temp: self.temp.clone(),
                }) as _
            }),
        }
    }
}

/// A lake schema as one session sees it: its temporary tables first (PostgreSQL looks in
/// `pg_temp` before the search path), then the lake's tables. New tables go to `pg_temp`.
#[derive(Debug)]
struct TempOverlay {
    inner: Arc<dyn SchemaProvider>,
    temp: Arc<MemorySchemaProvider>,
}

#[async_trait]
impl SchemaProvider for TempOverlay {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.temp.table(name).await? {
            return Ok(Some(t));
        }
        self.inner.table(name).await
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.inner.table_exist(&name) {
            return exec_err!("relation \"{name}\" already exists in the lake");
        }
        self.temp.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.temp.table_exist(name) {
            return self.temp.deregister_table(name);
        }
        exec_err!("\"{name}\" is a lake table; only temporary tables can be dropped")
    }

    fn table_exist(&self, name: &str) -> bool {
        self.temp.table_exist(name) || self.inner.table_exist(name)
    }
}

/// Whether a relation named in a query is one of the catalogs' own: `pg_catalog.x`,
/// `information_schema.x` (with or without a zone in front), or a bare `pg_…` name, which the
/// search path resolves in `pg_catalog`.
pub(crate) fn is_catalog_relation(name: &datafusion::sql::sqlparser::ast::ObjectName) -> bool {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
        .collect();
    if parts.len() != name.0.len() {
        return false;
    }
    match parts.as_slice() {
        [table] => table.starts_with("pg_"),
        [.., schema, _] => schema == PG_CATALOG || schema == "information_schema",
        [] => false,
    }
}
