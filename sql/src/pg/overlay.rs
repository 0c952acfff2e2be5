//! Corrections over datafusion-pg-catalog's `pg_catalog`: key columns typed as PostgreSQL types
//! them (`pg_index.indkey`, `pg_constraint.conkey` are arrays, so `unnest` and `= ANY` plan),
//! `pg_settings` with the settings Strata reports, and the `information_schema` constraint
//! views DataFusion lacks (Metabase and JDBC read them), empty as for tables without
//! constraints.
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{MemTable, SchemaProvider, TableProvider};
use datafusion::common::Result;
use std::sync::Arc;

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

#[derive(Debug)]
pub(crate) struct PgCatalogOverlay {
    pub inner: Arc<dyn SchemaProvider>,
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
    let names: Vec<&str> = super::settings::DEFAULTS.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = super::settings::DEFAULTS.iter().map(|(_, v)| *v).collect();
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

#[async_trait]
impl SchemaProvider for PgCatalogOverlay {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.push("pg_cursors".into());
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
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
                return empty(Arc::new(Schema::new(fields))).map(Some);
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
            "pg_index" | "pg_constraint" | "pg_settings" => {}
            _ => return self.inner.table(name).await,
        }
        let Some(inner) = self.inner.table(name).await? else {
            return Ok(None);
        };
        let schema = inner.schema();
        match name {
            "pg_settings" => settings_table(schema).map(Some),
            "pg_index" => empty(retyped(
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
            ))
            .map(Some),
            _ => empty(retyped(
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
            ))
            .map(Some),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "pg_cursors" || name.starts_with(EXTRA_PREFIX) || self.inner.table_exist(name)
    }
}
