//! Stable OIDs and primary keys in `pg_catalog`.
//!
//! datafusion-pg-catalog numbers databases, schemas and tables from a counter in the order a
//! process first meets them, so a restart (or a first query that visits `pg_class` before
//! `pg_namespace`) renumbers everything, and tools that cache OIDs (DBeaver, Tableau, asyncpg's
//! type cache) break. Strata derives each user OID from the object's name instead: the same
//! lake gives the same OIDs in every process. The crate's tables are read and their OID
//! columns remapped; `pg_catalog`'s fixed OIDs (below 16384) are kept.
//!
//! Keyed tables (`key = [...]` in strata.toml) get a primary key, as a user who declared one
//! in PostgreSQL would see it: an index row in `pg_class` and `pg_index`, a `pg_constraint` row,
//! and rows in `information_schema.table_constraints` / `key_column_usage`. JDBC's
//! `getPrimaryKeys`, SQLAlchemy's `get_pk_constraint` and psql's `\d` read these.
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::catalog::{CatalogProviderList, SchemaProvider, Session};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use strata_catalog::{Lake, Mode};

/// The first OID PostgreSQL gives user objects; everything below is the system's.
const FIRST_USER_OID: u64 = 16384;

const PG_CATALOG: &str = "pg_catalog";
const PG_CATALOG_OID: i32 = 11;

/// FNV-1a, fixed by its definition (unlike std's hasher), so OIDs survive Rust upgrades.
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// An OID for each key, from its hash, in `[16384, i32::MAX]` (OIDs travel as int4 here).
/// A collision takes the next free value, in key order, so one set of objects always gets the
/// same OIDs, and an object keeps its OID when others come and go unless they collide.
fn assign(keys: impl IntoIterator<Item = String>) -> HashMap<String, i32> {
    let mut keys: Vec<String> = keys.into_iter().collect();
    keys.sort();
    keys.dedup();
    let span = i32::MAX as u64 - FIRST_USER_OID + 1;
    let mut used = HashSet::new();
    let mut out = HashMap::new();
    for key in keys {
        let mut oid = FIRST_USER_OID + fnv1a(&key) % span;
        while !used.insert(oid) {
            oid = if oid == i32::MAX as u64 {
                FIRST_USER_OID
            } else {
                oid + 1
            };
        }
        out.insert(key, oid as i32);
    }
    out
}

/// The primary key of one keyed table, with the OIDs of its table, index and constraint.
#[derive(Debug, Clone)]
pub(crate) struct PrimaryKey {
    pub schema: String,
    pub table: String,
    pub namespace: i32,
    pub relation: i32,
    pub index: i32,
    pub constraint: i32,
    /// 1-based column positions, in key order.
    pub attnums: Vec<i16>,
    pub columns: Vec<String>,
}

impl PrimaryKey {
    pub fn name(&self) -> String {
        format!("{}_pkey", self.table)
    }

    fn column_list(&self) -> String {
        let quoted: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        quoted.join(", ")
    }

    /// What `pg_get_indexdef(index, column, _)` answers: the whole definition for column 0,
    /// else that key column's name.
    pub fn index_def(&self, column: i64) -> Option<String> {
        if column > 0 {
            return self
                .columns
                .get(column as usize - 1)
                .map(|c| quote_ident(c));
        }
        Some(format!(
            "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
            quote_ident(&self.name()),
            quote_ident(&self.schema),
            quote_ident(&self.table),
            self.column_list()
        ))
    }

    /// What `pg_get_constraintdef(constraint)` answers.
    pub fn constraint_def(&self) -> String {
        format!("PRIMARY KEY ({})", self.column_list())
    }
}

/// An identifier as PostgreSQL prints it: quoted unless plain lower-case.
fn quote_ident(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The primary keys of the latest catalog snapshot, shared with the sessions' definition
/// functions: a client gets an index OID from `pg_index` before it asks for its definition.
pub(crate) type KnownKeys = Arc<std::sync::Mutex<Vec<PrimaryKey>>>;

/// One consistent reading of the crate's `pg_database`, `pg_namespace` and `pg_class`, with
/// the stable OID of every object in them.
pub(crate) struct Snapshot {
    database: String,
    /// Crate OID → stable OID, for every database, schema and table.
    remap: HashMap<i32, i32>,
    class: RecordBatch,
    namespace: RecordBatch,
    databases: RecordBatch,
    pub keys: Vec<PrimaryKey>,
    /// Crate OID → schema and table, for this database's tables (their columns' types).
    pub relations: HashMap<i32, (String, String)>,
}

pub(crate) struct Sources<'a> {
    pub inner: &'a dyn SchemaProvider,
    pub lake: &'a Lake,
    pub readable: &'a Arc<dyn CatalogProviderList>,
    pub database: &'a str,
}

async fn read(inner: &dyn SchemaProvider, name: &str, state: &dyn Session) -> Result<RecordBatch> {
    let table = inner
        .table(name)
        .await?
        .ok_or_else(|| DataFusionError::Internal(format!("pg_catalog.{name} is missing")))?;
    let plan = table.scan(state, None, &[], None).await?;
    let batches = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
    Ok(concat_batches(&table.schema(), &batches)?)
}

pub(super) fn strings<'a>(batch: &'a RecordBatch, column: &str) -> Result<Vec<Option<&'a str>>> {
    let array = batch
        .column_by_name(column)
        .ok_or_else(|| DataFusionError::Internal(format!("no column {column}")))?;
    let array = array
        .as_string_opt::<i32>()
        .ok_or_else(|| DataFusionError::Internal(format!("{column} is not text")))?;
    Ok(array.iter().collect())
}

pub(super) fn oids(batch: &RecordBatch, column: &str) -> Result<Vec<Option<i32>>> {
    let array = batch
        .column_by_name(column)
        .ok_or_else(|| DataFusionError::Internal(format!("no column {column}")))?;
    let array = cast(array, &DataType::Int32)?;
    Ok(array.as_primitive::<Int32Type>().iter().collect())
}

impl Snapshot {
    pub async fn load(src: &Sources<'_>, state: &dyn Session) -> Result<Snapshot> {
        let databases = read(src.inner, "pg_database", state).await?;
        let namespace = read(src.inner, "pg_namespace", state).await?;
        let class = read(src.inner, "pg_class", state).await?;
        let db = src.database;

        let mut keyed: Vec<(i32, String)> = vec![];
        for (oid, name) in oids(&databases, "oid")?
            .into_iter()
            .zip(strings(&databases, "datname")?)
        {
            if let (Some(oid), Some(name)) = (oid, name) {
                keyed.push((oid, format!("database/{name}")));
            }
        }
        let mut namespaces: HashMap<i32, String> = HashMap::new();
        for (oid, name) in oids(&namespace, "oid")?
            .into_iter()
            .zip(strings(&namespace, "nspname")?)
        {
            if let (Some(oid), Some(name)) = (oid, name) {
                namespaces.insert(oid, name.to_string());
                keyed.push((oid, format!("namespace/{db}/{name}")));
            }
        }
        let mut relations: HashMap<(String, String), i32> = HashMap::new();
        for ((oid, name), ns) in oids(&class, "oid")?
            .into_iter()
            .zip(strings(&class, "relname")?)
            .zip(oids(&class, "relnamespace")?)
        {
            let (Some(oid), Some(name), Some(schema)) =
                (oid, name, ns.and_then(|n| namespaces.get(&n)))
            else {
                continue;
            };
            relations.insert((schema.clone(), name.to_string()), oid);
            keyed.push((oid, format!("relation/{db}/{schema}/{name}")));
        }

        // Keyed tables of this database that are listed, with their key columns' positions.
        let mut found = vec![];
        for (name, config) in &src.lake.config().tables {
            if config.mode() != Mode::Keyed || config.key.is_empty() {
                continue;
            }
            let Some(name) = strata_catalog::TableName::parse(name) else {
                continue;
            };
            if name.zone != db
                || !relations.contains_key(&(name.schema.clone(), name.table.clone()))
            {
                continue;
            }
            let Some(schema) = src
                .readable
                .catalog(db)
                .and_then(|c| c.schema(&name.schema))
            else {
                continue;
            };
            // A table that cannot be resolved (a broken file) has no key to show; its error
            // belongs to the query that reads it, not to every catalog query.
            let Ok(Some(table)) = schema.table(&name.table).await else {
                continue;
            };
            let fields = table.schema();
            let attnums: Option<Vec<i16>> = config
                .key
                .iter()
                .map(|k| fields.index_of(k).ok().map(|i| i as i16 + 1))
                .collect();
            if let Some(attnums) = attnums {
                found.push((name, attnums, config.key.clone()));
            }
        }

        let mut all: Vec<String> = keyed.iter().map(|(_, k)| k.clone()).collect();
        for (name, _, _) in &found {
            let base = format!("{db}/{}/{}", name.schema, name.table);
            all.push(format!("index/{base}"));
            all.push(format!("constraint/{base}"));
        }
        let stable = assign(all);
        let remap: HashMap<i32, i32> = keyed
            .iter()
            .filter(|(old, _)| *old as u64 >= FIRST_USER_OID)
            .map(|(old, key)| (*old, stable[key]))
            .collect();
        let keys = found
            .into_iter()
            .map(|(name, attnums, columns)| {
                let base = format!("{db}/{}/{}", name.schema, name.table);
                let old = relations[&(name.schema.clone(), name.table.clone())];
                let ns = class_namespace(&class, old).unwrap_or(0);
                PrimaryKey {
                    namespace: *remap.get(&ns).unwrap_or(&ns),
                    relation: *remap.get(&old).unwrap_or(&old),
                    index: stable[&format!("index/{base}")],
                    constraint: stable[&format!("constraint/{base}")],
                    schema: name.schema,
                    table: name.table,
                    attnums,
                    columns,
                }
            })
            .collect();
        Ok(Snapshot {
            database: db.to_string(),
            remap,
            class,
            namespace,
            databases,
            keys,
            relations: relations
                .into_iter()
                .map(|(name, oid)| (oid, name))
                .collect(),
        })
    }

    fn remapped(&self, batch: &RecordBatch, columns: &[&str]) -> Result<RecordBatch> {
        let mut arrays = batch.columns().to_vec();
        for column in columns {
            let Ok(i) = batch.schema().index_of(column) else {
                continue;
            };
            let values: Int32Array = oids(batch, column)?
                .into_iter()
                .map(|v| v.map(|o| *self.remap.get(&o).unwrap_or(&o)))
                .collect();
            arrays[i] = cast(&values, batch.schema().field(i).data_type())?;
        }
        Ok(RecordBatch::try_new(batch.schema(), arrays)?)
    }

    pub fn pg_database(&self) -> Result<RecordBatch> {
        self.remapped(&self.databases, &["oid"])
    }

    /// Schemas with stable OIDs, and `pg_catalog` (OID 11): the static `pg_type`/`pg_proc`
    /// rows point there, and tools join them to find a type's schema.
    pub fn pg_namespace(&self) -> Result<RecordBatch> {
        let schemas = self.remapped(&self.namespace, &["oid"])?;
        if strings(&schemas, "nspname")?.contains(&Some(PG_CATALOG)) {
            return Ok(schemas);
        }
        let pg_catalog = rows(&schemas.schema(), &[()], |_| {
            vec![
                ("oid", ScalarValue::Int32(Some(PG_CATALOG_OID))),
                ("nspname", ScalarValue::from(PG_CATALOG)),
                ("nspowner", ScalarValue::Int32(Some(10))),
            ]
        })?;
        Ok(concat_batches(&schemas.schema(), &[schemas, pg_catalog])?)
    }

    /// Tables with stable OIDs, plus one index row per primary key.
    pub fn pg_class(&self) -> Result<RecordBatch> {
        let tables = self.remapped(&self.class, &["oid", "relnamespace", "relfilenode"])?;
        let oid_column = oids(&tables, "oid")?;
        let mut parts = vec![tables.clone()];
        for key in &self.keys {
            let Some(row) = oid_column.iter().position(|o| *o == Some(key.relation)) else {
                continue;
            };
            let index = with_values(
                &tables.slice(row, 1),
                &[
                    ("oid", ScalarValue::Int32(Some(key.index))),
                    ("relfilenode", ScalarValue::Int32(Some(key.index))),
                    ("relname", ScalarValue::from(key.name())),
                    ("relkind", ScalarValue::from("i")),
                    ("relam", ScalarValue::Int32(Some(403))), // btree, what psql shows
                    (
                        "relnatts",
                        ScalarValue::Int32(Some(key.attnums.len() as i32)),
                    ),
                    ("relhasindex", ScalarValue::Boolean(Some(false))),
                ],
            )?;
            parts.push(index);
        }
        let mut all = concat_batches(&tables.schema(), &parts)?;
        // A table with a primary key has an index, as PostgreSQL reports.
        let keyed: HashSet<i32> = self.keys.iter().map(|k| k.relation).collect();
        if let Ok(i) = all.schema().index_of("relhasindex") {
            let flags: datafusion::arrow::array::BooleanArray = oids(&all, "oid")?
                .iter()
                .zip(all.column(i).as_boolean().iter())
                .map(|(o, v)| Some(o.is_some_and(|o| keyed.contains(&o)) || v.unwrap_or(false)))
                .collect();
            let mut columns = all.columns().to_vec();
            columns[i] = Arc::new(flags);
            all = RecordBatch::try_new(all.schema(), columns)?;
        }
        Ok(all)
    }

    pub fn pg_attribute(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.remapped(batch, &["attrelid"])
    }

    pub fn pg_index(&self, schema: &SchemaRef) -> Result<RecordBatch> {
        rows(schema, &self.keys, |key| {
            vec![
                ("indexrelid", ScalarValue::Int32(Some(key.index))),
                ("indrelid", ScalarValue::Int32(Some(key.relation))),
                (
                    "indnatts",
                    ScalarValue::Int16(Some(key.attnums.len() as i16)),
                ),
                (
                    "indnkeyatts",
                    ScalarValue::Int16(Some(key.attnums.len() as i16)),
                ),
                ("indisunique", ScalarValue::Boolean(Some(true))),
                ("indisprimary", ScalarValue::Boolean(Some(true))),
                ("indimmediate", ScalarValue::Boolean(Some(true))),
                ("indisvalid", ScalarValue::Boolean(Some(true))),
                ("indisready", ScalarValue::Boolean(Some(true))),
                ("indislive", ScalarValue::Boolean(Some(true))),
                ("indkey", int2_list(&key.attnums)),
                ("indoption", int2_list(&vec![0; key.attnums.len()])),
            ]
        })
    }

    pub fn pg_constraint(&self, schema: &SchemaRef) -> Result<RecordBatch> {
        rows(schema, &self.keys, |key| {
            vec![
                ("oid", ScalarValue::Int32(Some(key.constraint))),
                ("conname", ScalarValue::from(key.name())),
                ("connamespace", ScalarValue::Int32(Some(key.namespace))),
                ("contype", ScalarValue::from("p")),
                ("convalidated", ScalarValue::Boolean(Some(true))),
                ("conrelid", ScalarValue::Int32(Some(key.relation))),
                ("conindid", ScalarValue::Int32(Some(key.index))),
                ("confupdtype", ScalarValue::from(" ")),
                ("confdeltype", ScalarValue::from(" ")),
                ("confmatchtype", ScalarValue::from(" ")),
                ("conislocal", ScalarValue::Boolean(Some(true))),
                ("connoinherit", ScalarValue::Boolean(Some(true))),
                ("conkey", int2_list(&key.attnums)),
            ]
        })
    }

    /// `information_schema.table_constraints` and `key_column_usage` for the primary keys.
    pub fn information_schema(&self, view: &str, schema: &SchemaRef) -> Result<RecordBatch> {
        let db = ScalarValue::from(self.database.as_str());
        // The columns both views name a constraint and its table by.
        let identity = |key: &PrimaryKey| {
            vec![
                ("constraint_catalog", db.clone()),
                ("constraint_schema", ScalarValue::from(key.schema.as_str())),
                ("constraint_name", ScalarValue::from(key.name())),
                ("table_catalog", db.clone()),
                ("table_schema", ScalarValue::from(key.schema.as_str())),
                ("table_name", ScalarValue::from(key.table.as_str())),
            ]
        };
        match view {
            "table_constraints" => rows(schema, &self.keys, |key| {
                let mut row = identity(key);
                row.extend([
                    ("constraint_type", ScalarValue::from("PRIMARY KEY")),
                    ("is_deferrable", ScalarValue::from("NO")),
                    ("initially_deferred", ScalarValue::from("NO")),
                    ("enforced", ScalarValue::from("YES")),
                ]);
                row
            }),
            "key_column_usage" => {
                let columns: Vec<(&PrimaryKey, usize)> = self
                    .keys
                    .iter()
                    .flat_map(|k| (0..k.columns.len()).map(move |i| (k, i)))
                    .collect();
                rows(schema, &columns, |(key, i)| {
                    let mut row = identity(key);
                    row.extend([
                        ("column_name", ScalarValue::from(key.columns[*i].as_str())),
                        ("ordinal_position", ScalarValue::Int32(Some(*i as i32 + 1))),
                    ]);
                    row
                })
            }
            // Lake tables have no foreign keys or checks.
            _ => Ok(RecordBatch::new_empty(schema.clone())),
        }
    }
}

fn class_namespace(class: &RecordBatch, relation: i32) -> Option<i32> {
    let oid = oids(class, "oid").ok()?;
    let ns = oids(class, "relnamespace").ok()?;
    oid.iter()
        .position(|o| *o == Some(relation))
        .and_then(|i| ns[i])
}

fn int2_list(values: &[i16]) -> ScalarValue {
    let items: Vec<ScalarValue> = values
        .iter()
        .map(|v| ScalarValue::Int16(Some(*v)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Int16))
}

/// `batch` (one row) with some columns replaced, each value cast to the column's type.
fn with_values(batch: &RecordBatch, values: &[(&str, ScalarValue)]) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    for (name, value) in values {
        if let Ok(i) = batch.schema().index_of(name) {
            columns[i] = cast(
                &value.to_array_of_size(batch.num_rows())?,
                batch.schema().field(i).data_type(),
            )?;
        }
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// The schema as PostgreSQL types it: every column nullable (the rows built here leave the
/// columns lake tables have no value for NULL), and OID columns of type `oid`. The crate marks
/// some as `regclass`/`regtype`, which PostgreSQL's catalogs do not, and clients notice:
/// asyncpg decodes `pg_attribute.attrelid` as an oid.
pub(crate) fn postgres_schema(schema: &Schema) -> SchemaRef {
    const OID_ALIAS_KEY: &str = "pg.oid_alias";
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                let mut f = f.as_ref().clone().with_nullable(true);
                if f.metadata().contains_key(OID_ALIAS_KEY) {
                    let mut metadata = f.metadata().clone();
                    metadata.insert(OID_ALIAS_KEY.into(), "oid".into());
                    f = f.with_metadata(metadata);
                }
                f
            })
            .collect::<Vec<Field>>(),
    ))
}

/// One row per item, the named values cast to `schema`'s types; booleans left out are false,
/// numbers 0, other columns NULL (PostgreSQL's defaults for these flags and counts).
fn rows<T>(
    schema: &SchemaRef,
    items: &[T],
    values: impl Fn(&T) -> Vec<(&'static str, ScalarValue)>,
) -> Result<RecordBatch> {
    let per_item: Vec<Vec<(&str, ScalarValue)>> = items.iter().map(values).collect();
    let mut columns: Vec<ArrayRef> = vec![];
    for field in schema.fields() {
        let mut cells = vec![];
        for row in &per_item {
            let given = row.iter().find(|(n, _)| n == field.name()).map(|(_, v)| v);
            let value = match (given, field.data_type()) {
                (Some(v), _) => v.clone(),
                (None, DataType::Boolean) => ScalarValue::Boolean(Some(false)),
                (None, t) if t.is_integer() => ScalarValue::Int32(Some(0)),
                (None, t) => ScalarValue::try_from(t)?,
            };
            let array = value.to_array_of_size(1)?;
            cells.push(cast(&array, field.data_type())?);
        }
        let refs: Vec<&dyn Array> = cells.iter().map(|a| a.as_ref()).collect();
        columns.push(if refs.is_empty() {
            datafusion::arrow::array::new_empty_array(field.data_type())
        } else {
            datafusion::arrow::compute::concat(&refs)?
        });
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_depend_only_on_names() {
        let a = assign(["relation/enhanced/sales/orders".to_string(), "x".into()]);
        let b = assign(["y".to_string(), "relation/enhanced/sales/orders".into()]);
        assert_eq!(
            a["relation/enhanced/sales/orders"],
            b["relation/enhanced/sales/orders"]
        );
        assert!(a.values().all(|o| *o >= 16384));
    }

    #[test]
    fn colliding_keys_get_distinct_oids() {
        // Enough keys that a collision in the 2^31 range is likely somewhere is impractical
        // here, so check the probe directly: every OID is unique over many keys.
        let keys: Vec<String> = (0..50_000).map(|i| format!("relation/db/s/t{i}")).collect();
        let oids = assign(keys.clone());
        let unique: HashSet<i32> = oids.values().copied().collect();
        assert_eq!(unique.len(), keys.len());
    }
}
