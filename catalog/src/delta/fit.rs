//! Rows given to a write, fitted to the table's columns (docs/delta.md#writes): matched by
//! name, cast only where every value fits, missing columns NULL, `_ingested_at` stamped.
use crate::error::{CatalogError, Result};
use crate::resolve::INGESTED_AT;
use crate::TableName;
use datafusion::arrow::array::{new_null_array, ArrayRef, RecordBatch, TimestampMicrosecondArray};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::SchemaRef;
use std::sync::Arc;

/// `batch` in the table's columns: matched by name, cast where the value fits (a value that
/// does not is an error, never a silent NULL), missing columns NULL, `_ingested_at` stamped.
pub fn fit(
    name: &TableName,
    batch: &RecordBatch,
    schema: &SchemaRef,
    stamp: Option<i64>,
) -> Result<RecordBatch> {
    let given = batch.schema();
    for f in given.fields() {
        if schema.field_with_name(f.name()).is_err() {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(CatalogError::table(
                name,
                format!(
                    "has no column '{}'; its columns are: {}",
                    f.name(),
                    columns.join(", ")
                ),
            ));
        }
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = match (given.index_of(field.name()), stamp) {
            (_, Some(s)) if field.name() == INGESTED_AT => {
                Arc::new(TimestampMicrosecondArray::from_value(s, n).with_timezone("UTC"))
                    as ArrayRef
            }
            (Ok(i), _) => {
                let c = batch.column(i);
                if c.data_type() == field.data_type() {
                    c.clone()
                } else {
                    cast_with_options(c, field.data_type(), &strict).map_err(|e| {
                        CatalogError::table(
                            name,
                            format!(
                                "column '{}': {} values do not fit its type {}: {e}",
                                field.name(),
                                c.data_type(),
                                field.data_type()
                            ),
                        )
                    })?
                }
            }
            (Err(_), _) => new_null_array(field.data_type(), n),
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
        CatalogError::table(
            name,
            format!("the rows do not fit the table's columns: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::ingest_type;
    use datafusion::arrow::datatypes::{Field, Schema};

    #[test]
    fn rows_that_do_not_fit_are_refused_not_nulled() {
        use datafusion::arrow::array::StringArray;
        use datafusion::arrow::datatypes::DataType;
        let name = TableName::new("raw", "s", "t");
        let table = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("note", DataType::Utf8, true),
            Field::new(INGESTED_AT, ingest_type(), true),
        ]));
        let given = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let ok = RecordBatch::try_new(
            given.clone(),
            vec![Arc::new(StringArray::from(vec!["1", "2"]))],
        )
        .unwrap();
        let fitted = fit(&name, &ok, &table, Some(7)).unwrap();
        assert_eq!(fitted.num_columns(), 3);
        assert_eq!(fitted.column(1).null_count(), 2);
        let bad =
            RecordBatch::try_new(given, vec![Arc::new(StringArray::from(vec!["x"]))]).unwrap();
        let e = fit(&name, &bad, &table, Some(7)).unwrap_err().to_string();
        assert!(e.contains("column 'id'"), "{e}");
        let extra = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("zzz", DataType::Utf8, true)])),
            vec![Arc::new(StringArray::from(vec!["x"]))],
        )
        .unwrap();
        let e = fit(&name, &extra, &table, Some(7)).unwrap_err().to_string();
        assert!(
            e.contains("no column 'zzz'") && e.contains("id, note"),
            "{e}"
        );
    }
}
