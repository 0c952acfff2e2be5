//! Corrections over datafusion-pg-catalog's `pg_catalog`: stable OIDs and primary keys
//! (see [`super::oids`]), key columns typed as PostgreSQL types them (`pg_index.indkey`,
//! `pg_constraint.conkey` are arrays, so `unnest` and `= ANY` plan), `pg_settings` with the
//! settings Strata reports, and the `information_schema` constraint views DataFusion lacks
//! (Metabase and JDBC read them).
use super::oids::{postgres_schema, KnownKeys, Snapshot, Sources};
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{CatalogProviderList, MemTable, SchemaProvider, Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;
use strata_catalog::resolve::ResolvedTable;
use strata_catalog::Lake;

/// Relations of `information_schema` that DataFusion does not provide, served from
/// `pg_catalog` under these names (see [`super::rewrite`]).
pub(crate) const INFORMATION_SCHEMA_EXTRAS: &[(&str, &[&str])] = &[
    (
        "table_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
            "nulls_distinct",
        ],
    ),
    (
        "key_column_usage",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "ordinal_position",
            "position_in_unique_constraint",
        ],
    ),
    (
        "referential_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "unique_constraint_catalog",
            "unique_constraint_schema",
            "unique_constraint_name",
            "match_option",
            "update_rule",
            "delete_rule",
        ],
    ),
    (
        "constraint_column_usage",
        &[
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
        ],
    ),
    (
        "check_constraints",
        &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "check_clause",
        ],
    ),
];

/// The prefix those relations get inside `pg_catalog`.
pub(crate) const EXTRA_PREFIX: &str = "strata_information_schema_";

pub(crate) struct PgCatalogOverlay {
    pub inner: Arc<dyn SchemaProvider>,
    pub lake: Arc<Lake>,
    pub readable: Arc<dyn CatalogProviderList>,
    pub database: String,
    pub keys: KnownKeys,
    /// The tables of the last snapshot, for the lake state they were computed from.
    pub cache:
        std::sync::Mutex<Option<(LakeState, std::collections::HashMap<String, RecordBatch>)>>,
}

/// What the snapshot tables depend on: the lake's table names and, for each, the resolved
/// table (its schema) if resolved. Holding the `Arc`s makes equality exact: a re-resolved
/// table is a new allocation, and a held one cannot be freed and its address reused.
#[derive(Clone)]
pub(crate) struct LakeState(Vec<(strata_catalog::TableName, Option<Arc<ResolvedTable>>)>);

impl LakeState {
    /// Resolving is what the snapshot does anyway, and is cached by the lake until a table's
    /// files change: then it gives a new table, so a changed schema is never served stale.
    async fn of(lake: &Lake) -> LakeState {
        let mut tables = vec![];
        for name in lake.table_names() {
            let resolved = match lake.base_of(&name) {
                Some((base, _)) => lake.resolve(&base).await.ok(),
                None => None,
            };
            tables.push((name, resolved));
        }
        LakeState(tables)
    }
}

impl PartialEq for LakeState {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|((a, ra), (b, rb))| {
                a == b
                    && match (ra, rb) {
                        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                        (None, None) => true,
                        _ => false,
                    }
            })
    }
}

impl std::fmt::Debug for PgCatalogOverlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgCatalogOverlay({})", self.database)
    }
}

/// Tables served from a [`Snapshot`] of the crate's catalog: stable OIDs and primary keys.
const FROM_SNAPSHOT: &[&str] = &[
    "pg_database",
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_index",
    "pg_constraint",
];

/// A `pg_catalog` table computed when scanned, so it reflects the lake at query time.
struct SnapshotTable {
    name: String,
    schema: SchemaRef,
    overlay: Arc<PgCatalogOverlay>,
}

impl std::fmt::Debug for SnapshotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SnapshotTable({})", self.name)
    }
}

impl SnapshotTable {
    /// The table's rows, computed once per lake state and shared by every session of the
    /// zone set: a `\\d` under load scans pg_class, pg_namespace and pg_attribute several
    /// times per statement, and each computation reads the crate's catalog and the keyed
    /// tables' schemas.
    async fn batch(&self, state: &dyn Session) -> Result<RecordBatch> {
        let o = &self.overlay;
        let before = LakeState::of(&o.lake).await;
        if let Some((at, tables)) = o.cache.lock().expect("catalog cache lock").as_ref() {
            if *at == before {
                if let Some(batch) = tables.get(&self.name) {
                    return Ok(batch.clone());
                }
            }
        }
        let batch = self.compute(state).await?;
        let mut cache = o.cache.lock().expect("catalog cache lock");
        match cache.as_mut() {
            Some((at, tables)) if *at == before => {
                tables.insert(self.name.clone(), batch.clone());
            }
            _ => {
                let tables = std::iter::once((self.name.clone(), batch.clone())).collect();
                *cache = Some((before, tables));
            }
        }
        Ok(batch)
    }

    async fn compute(&self, state: &dyn Session) -> Result<RecordBatch> {
        let o = &self.overlay;
        let snapshot = Snapshot::load(
            &Sources {
                inner: o.inner.as_ref(),
                lake: &o.lake,
                readable: &o.readable,
                database: &o.database,
            },
            state,
        )
        .await?;
        *o.keys.lock().expect("keys lock") = snapshot.keys.clone();
        let batch = match self.name.as_str() {
            "pg_database" => snapshot.pg_database()?,
            "pg_namespace" => snapshot.pg_namespace()?,
            "pg_class" => snapshot.pg_class()?,
            "pg_attribute" => {
                let table = o.inner.table("pg_attribute").await?.ok_or_else(|| {
                    datafusion::common::DataFusionError::Internal("no pg_attribute".into())
                })?;
                let plan = table.scan(state, None, &[], None).await?;
                let batches = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
                let all = concat_batches(&table.schema(), &batches)?;
                let catalog = o.readable.catalog(&o.database);
                let all = super::attribute_types::typed(&all, &snapshot.relations, catalog).await?;
                snapshot.pg_attribute(&all)?
            }
            "pg_index" => snapshot.pg_index(&self.schema)?,
            "pg_constraint" => snapshot.pg_constraint(&self.schema)?,
            view => snapshot.information_schema(view, &self.schema)?,
        };
        // The crate's batches keep its own nullability; serve them under this table's schema.
        Ok(RecordBatch::try_new(
            self.schema.clone(),
            batch.columns().to_vec(),
        )?)
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.batch(state).await?;
        MemTable::try_new(self.schema.clone(), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}

fn empty(schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?))
}

/// `schema` with the named columns retyped.
fn retyped(schema: &Schema, types: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match types.iter().find(|(n, _)| n == f.name()) {
                Some((_, t)) => Field::new(f.name(), t.clone(), true),
                None => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

fn int2_array() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int16, true)))
}

fn settings_table(schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    let names: Vec<&str> = crate::settings::DEFAULTS.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = crate::settings::DEFAULTS.iter().map(|(_, v)| *v).collect();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "name" => Arc::new(StringArray::from(names.clone())) as ArrayRef,
            "setting" | "reset_val" | "boot_val" => Arc::new(StringArray::from(values.clone())),
            "context" => Arc::new(StringArray::from(vec!["user"; names.len()])),
            "vartype" => Arc::new(StringArray::from(vec!["string"; names.len()])),
            "source" => Arc::new(StringArray::from(vec!["default"; names.len()])),
            _ => datafusion::arrow::array::new_null_array(f.data_type(), names.len()),
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// The overlay as a schema provider; `Arc` because snapshot tables keep a handle on it.
#[derive(Debug)]
pub(crate) struct PgCatalog(pub Arc<PgCatalogOverlay>);

#[async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.0.inner.table_names();
        names.push("pg_cursors".into());
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let overlay = &self.0;
        if let Some(view) = name.strip_prefix(EXTRA_PREFIX) {
            if let Some((_, cols)) = INFORMATION_SCHEMA_EXTRAS.iter().find(|(n, _)| *n == view) {
                let fields: Vec<Field> = cols
                    .iter()
                    .map(|c| {
                        let t = if c.starts_with("ordinal") || c.starts_with("position") {
                            DataType::Int32
                        } else {
                            DataType::Utf8
                        };
                        Field::new(*c, t, true)
                    })
                    .collect();
                return Ok(Some(Arc::new(SnapshotTable {
                    name: view.to_string(),
                    schema: Arc::new(Schema::new(fields)),
                    overlay: overlay.clone(),
                })));
            }
        }
        match name {
            "pg_cursors" => {
                let schema = Schema::new(vec![
                    Field::new("name", DataType::Utf8, true),
                    Field::new("statement", DataType::Utf8, true),
                    Field::new("is_holdable", DataType::Boolean, true),
                    Field::new("is_binary", DataType::Boolean, true),
                    Field::new("is_scrollable", DataType::Boolean, true),
                ]);
                return empty(Arc::new(schema)).map(Some);
            }
            "pg_settings" => {}
            n if FROM_SNAPSHOT.contains(&n) => {}
            _ => return overlay.inner.table(name).await,
        }
        let Some(inner) = overlay.inner.table(name).await? else {
            return Ok(None);
        };
        let schema = inner.schema();
        let snapshot = |schema: SchemaRef| -> Result<Option<Arc<dyn TableProvider>>> {
            Ok(Some(Arc::new(SnapshotTable {
                name: name.to_string(),
                schema,
                overlay: overlay.clone(),
            })))
        };
        match name {
            "pg_settings" => settings_table(schema).map(Some),
            "pg_index" => snapshot(postgres_schema(&retyped(
                &schema,
                &[
                    ("indkey", int2_array()),
                    (
                        "indclass",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                    ("indoption", int2_array()),
                    (
                        "indcollation",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                ],
            ))),
            "pg_constraint" => snapshot(postgres_schema(&retyped(
                &schema,
                &[
                    ("conkey", int2_array()),
                    ("confkey", int2_array()),
                    (
                        "conpfeqop",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                    (
                        "conppeqop",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                    (
                        "conffeqop",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                    (
                        "conexclop",
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    ),
                ],
            ))),
            _ => snapshot(postgres_schema(&schema)),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "pg_cursors" || name.starts_with(EXTRA_PREFIX) || self.0.inner.table_exist(name)
    }
}
