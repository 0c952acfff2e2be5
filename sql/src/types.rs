//! The SQL names people read for Arrow types — `bigint`, `text`, `timestamp with time zone`,
//! `numeric(10,2)` — the same names psql shows for the columns over the server, so the REPL's
//! `\d`, SUMMARIZE and the server agree (docs/repl.md).
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use std::sync::Arc;

/// PostgreSQL's name for the type an Arrow value travels as, without modifiers: what
/// `pg_typeof` answers (`numeric`, not `numeric(10,2)`).
pub fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint",
        DataType::Int32 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 => "bigint",
        DataType::Float16 | DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::UInt64 => "numeric",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Time32(_) | DataType::Time64(_) => "time without time zone",
        DataType::Timestamp(_, None) => "timestamp without time zone",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Interval(_) | DataType::Duration(_) => "interval",
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "bytea",
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => return format!("{}[]", sql_type_name(f.data_type())),
        // A dictionary is an encoding: the column holds its values' type.
        DataType::Dictionary(_, v) => return sql_type_name(v),
        DataType::Null => "unknown",
        _ => "text",
    }
    .to_string()
}

/// The name with its modifiers, as psql's `\d` shows a column (`format_type` with the
/// column's typmod): `numeric(10,2)` for a decimal, otherwise [`sql_type_name`].
pub fn sql_type_display(t: &DataType) -> String {
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s)
            if *s >= 0 =>
        {
            format!("numeric({p},{s})")
        }
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => format!("{}[]", sql_type_display(f.data_type())),
        DataType::Dictionary(_, v) => sql_type_display(v),
        other => sql_type_name(other),
    }
}

/// DESCRIBE's answer for a table's columns: `column_name`, `data_type` (the SQL name, as
/// [`sql_type_display`]) and `is_nullable`, the columns DataFusion's DESCRIBE has.
pub(crate) fn describe_rows(schema: &Schema) -> Result<RecordBatch, ArrowError> {
    let text = |f: &dyn Fn(&Field) -> String| {
        Arc::new(StringArray::from_iter_values(
            schema.fields().iter().map(|x| f(x)),
        ))
    };
    RecordBatch::try_new(
        describe_schema(),
        vec![
            text(&|f| f.name().clone()),
            text(&|f| sql_type_display(f.data_type())),
            text(&|f| if f.is_nullable() { "YES" } else { "NO" }.to_string()),
        ],
    )
}

pub(crate) fn describe_schema() -> SchemaRef {
    Arc::new(Schema::new(
        ["column_name", "data_type", "is_nullable"]
            .map(|n| Field::new(n, DataType::Utf8, false))
            .to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn names_psql_shows() {
        let ts_utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(sql_type_name(&ts_utc), "timestamp with time zone");
        assert_eq!(sql_type_name(&DataType::Utf8View), "text");
        assert_eq!(sql_type_name(&DataType::Int64), "bigint");
        assert_eq!(sql_type_name(&DataType::Decimal128(10, 2)), "numeric");
        assert_eq!(
            sql_type_display(&DataType::Decimal128(10, 2)),
            "numeric(10,2)"
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(sql_type_name(&list), "bigint[]");
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(sql_type_display(&dict), "text");
        assert_eq!(sql_type_display(&DataType::Float64), "double precision");
    }
}
