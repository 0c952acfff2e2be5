//! pg_attribute's `atttypid` and `atttypmod` from each column's Arrow type, as the wire
//! describes that column in query results. datafusion-pg-catalog sends every typmod as -1 and
//! lists other than int4[]/text[] as text, so psql's `\d` over the server named a
//! `decimal(10,2)` column `numeric` and a list of bigints `text`, where the REPL's `\d` and
//! RowDescription name them `numeric(10,2)` and `bigint[]` (docs/server.md).
use super::oids::{oids, strings};
// The one mapping from Arrow to PostgreSQL types, the wire's, so a column's catalog type is
// the type its values arrive as.
use crate::wire::pg_type;
use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::CatalogProvider;
use datafusion::common::Result;
use std::collections::HashMap;
use std::sync::Arc;

/// `batch` (pg_attribute as the crate builds it, relation OIDs not yet remapped) with the type
/// columns of every column of `relations` (crate OID → schema and table of this database)
/// taken from the table's Arrow schema.
pub(crate) async fn typed(
    batch: &RecordBatch,
    relations: &HashMap<i32, (String, String)>,
    catalog: Option<Arc<dyn CatalogProvider>>,
) -> Result<RecordBatch> {
    let Some(catalog) = catalog else {
        return Ok(batch.clone());
    };
    let relids = oids(batch, "attrelid")?;
    let mut schemas: HashMap<i32, Option<SchemaRef>> = HashMap::new();
    for oid in relids.iter().flatten() {
        if schemas.contains_key(oid) {
            continue;
        }
        let schema = match relations.get(oid) {
            // A table that cannot be resolved keeps the crate's answer; its error belongs to
            // the query that reads it.
            Some((schema, table)) => match catalog.schema(schema) {
                Some(s) => s.table(table).await.ok().flatten().map(|t| t.schema()),
                None => None,
            },
            None => None,
        };
        schemas.insert(*oid, schema);
    }
    let names = strings(batch, "attname")?;
    let mut typids = oids(batch, "atttypid")?;
    let mut typmods = oids(batch, "atttypmod")?;
    for (i, (oid, name)) in relids.iter().zip(&names).enumerate() {
        let field = match (oid.and_then(|o| schemas.get(&o).cloned().flatten()), name) {
            (Some(schema), Some(name)) => schema.field_with_name(name).ok().cloned(),
            _ => None,
        };
        if let Some(field) = field {
            typids[i] = Some(pg_type(&Arc::new(field.clone())).oid() as i32);
            typmods[i] = Some(typmod(field.data_type()));
        }
    }
    let mut columns = batch.columns().to_vec();
    let schema = batch.schema();
    for (name, values) in [("atttypid", typids), ("atttypmod", typmods)] {
        let i = schema.index_of(name)?;
        let values: ArrayRef = Arc::new(Int32Array::from(values));
        columns[i] = cast(&values, schema.field(i).data_type())?;
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// PostgreSQL's type modifier: `numeric(p,s)` is `(p << 16 | s) + 4` (the 4 is VARHDRSZ);
/// -1 for a type without one.
fn typmod(t: &DataType) -> i32 {
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s)
            if *s >= 0 =>
        {
            ((i32::from(*p) << 16) | i32::from(*s as u8)) + 4
        }
        DataType::Dictionary(_, v) => typmod(v),
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::typmod;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn numeric_typmod_is_postgres_own() {
        // SELECT atttypmod FROM pg_attribute for a numeric(10,2) column in PostgreSQL: 655366.
        assert_eq!(typmod(&DataType::Decimal128(10, 2)), 655366);
        assert_eq!(typmod(&DataType::Int64), -1);
    }
}
