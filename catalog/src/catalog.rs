//! Zones as DataFusion catalogs: schemas and tables come from the lake's current listing, and
//! every zone also holds the `strata` schema with the metadata table.
use crate::anomalies::AnomaliesTable;
use crate::batches::BatchesTable;
use crate::lake::Lake;
use crate::meta::MetaTable;
use crate::quality::check::ChecksTable;
use crate::{TableName, META_SCHEMA};
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Schema every zone has even when empty: where unqualified names resolve by default.
pub const DEFAULT_SCHEMA: &str = "public";

#[derive(Debug)]
pub struct ZoneCatalog {
    lake: Arc<Lake>,
    zone: String,
}

impl ZoneCatalog {
    pub fn new(lake: Arc<Lake>, zone: &str) -> Self {
        ZoneCatalog {
            lake,
            zone: zone.into(),
        }
    }
}

impl CatalogProvider for ZoneCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self
            .lake
            .listing()
            .tables
            .keys()
            .filter(|n| n.zone == self.zone)
            .map(|n| n.schema.clone())
            .collect();
        names.insert(DEFAULT_SCHEMA.into());
        names.insert(META_SCHEMA.into());
        names.into_iter().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == META_SCHEMA {
            return Some(Arc::new(MetaSchema {
                lake: self.lake.clone(),
            }));
        }
        let exists = name == DEFAULT_SCHEMA
            || self
                .lake
                .listing()
                .tables
                .keys()
                .any(|n| n.zone == self.zone && n.schema == name);
        exists.then(|| {
            Arc::new(ZoneSchema {
                lake: self.lake.clone(),
                zone: self.zone.clone(),
                schema: name.into(),
            }) as _
        })
    }
}

#[derive(Debug)]
struct ZoneSchema {
    lake: Arc<Lake>,
    zone: String,
    schema: String,
}

#[async_trait]
impl SchemaProvider for ZoneSchema {
    fn table_names(&self) -> Vec<String> {
        self.lake
            .table_names()
            .into_iter()
            .filter(|n| n.zone == self.zone && n.schema == self.schema)
            .map(|n| n.table)
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = TableName::new(&self.zone, &self.schema, name);
        match self.lake.provider(&name, None).await {
            Ok(p) => Ok(p),
            // One unreadable table must not break catalog-wide listings (information_schema,
            // completion); the session resolves the tables a query names first, so a query on
            // this table gets the real error before planning reaches here.
            Err(e) => Ok(Some(Arc::new(BrokenTable {
                error: e.to_string(),
            }))),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.lake
            .base_of(&TableName::new(&self.zone, &self.schema, name))
            .is_some()
    }
}

/// `<zone>.strata`: Strata's metadata, the same in every zone.
#[derive(Debug)]
struct MetaSchema {
    lake: Arc<Lake>,
}

#[async_trait]
impl SchemaProvider for MetaSchema {
    fn table_names(&self) -> Vec<String> {
        vec![
            "anomalies".into(),
            "batches".into(),
            "checks".into(),
            "tables".into(),
        ]
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(match name {
            "tables" => Some(Arc::new(MetaTable::new(self.lake.clone()))),
            "batches" => Some(Arc::new(BatchesTable::new(self.lake.clone()))),
            "checks" => Some(Arc::new(ChecksTable::new(self.lake.clone()))),
            "anomalies" => Some(Arc::new(AnomaliesTable::new(self.lake.clone()))),
            _ => None,
        })
    }

    fn table_exist(&self, name: &str) -> bool {
        matches!(name, "tables" | "batches" | "checks" | "anomalies")
    }
}

/// Stands in for a table whose files cannot be read: no columns, and scanning it fails with the
/// reason.
#[derive(Debug)]
struct BrokenTable {
    error: String,
}

#[async_trait]
impl TableProvider for BrokenTable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        Arc::new(datafusion::arrow::datatypes::Schema::empty())
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        Err(DataFusionError::Plan(self.error.clone()))
    }
}
