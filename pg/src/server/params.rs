//! Parameters of the extended protocol: the SQL types a client declares in Parse, the types
//! the server reports in ParameterDescription, and Bind's values coerced to what the plan
//! expects.
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};

/// Values as the plan's placeholders expect them: a client may send `1` as text for a bigint
/// column, or NULL without a type.
pub(super) fn coerce_params(
    values: datafusion::common::ParamValues,
    wanted: &[Option<datafusion::arrow::datatypes::DataType>],
) -> PgWireResult<datafusion::common::ParamValues> {
    let datafusion::common::ParamValues::List(list) = values else {
        return Ok(values);
    };
    let coerced = list
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let value = text_time(v.value, wanted.get(i).cloned().flatten());
            match wanted.get(i) {
                Some(Some(dt)) if value.data_type() != *dt => value.cast_to(dt).map_err(|e| {
                    PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
                        "ERROR".into(),
                        crate::sqlstate::INVALID_TEXT_REPRESENTATION.into(),
                        format!("parameter ${}: {e}", i + 1),
                    )))
                }),
                _ => Ok(value),
            }
        })
        .collect::<PgWireResult<Vec<_>>>()?;
    Ok(datafusion::common::ParamValues::List(
        coerced.into_iter().map(Into::into).collect(),
    ))
}

/// Dates and timestamps sent as text the way PostgreSQL reads them: pgJDBC's setDate sends
/// `2026-01-11 +00`, and timestamps come with `+00`-style offsets Arrow's cast rejects.
fn text_time(
    value: datafusion::common::ScalarValue,
    wanted: Option<datafusion::arrow::datatypes::DataType>,
) -> datafusion::common::ScalarValue {
    use datafusion::arrow::datatypes::DataType as D;
    use datafusion::common::ScalarValue as S;
    let (S::Utf8(Some(text)), Some(dt)) = (&value, &wanted) else {
        return value;
    };
    match dt {
        D::Date32 | D::Date64 => {
            let day = text.trim().get(..10).unwrap_or("");
            match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => S::Date32(Some(
                    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
                        as i32,
                )),
                Err(_) => value,
            }
        }
        D::Timestamp(_, tz) => match strata_catalog::time::parse_timestamp(text) {
            Ok(t) => S::TimestampMicrosecond(Some(t.timestamp_micros()), tz.clone()),
            Err(_) => value,
        },
        _ => value,
    }
}

/// The SQL name of a parameter type a client declared, for the types Strata can plan with;
/// others stay undeclared and are inferred from the query.
pub(super) fn sql_type_name(t: &Type) -> Option<String> {
    if let postgres_types::Kind::Array(inner) = t.kind() {
        return sql_type_name(inner).map(|n| format!("{n}[]"));
    }
    let name = match *t {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::NUMERIC => "numeric",
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => "text",
        Type::BYTEA => "bytea",
        Type::DATE => "date",
        Type::TIME => "time",
        Type::TIMESTAMP => "timestamp",
        Type::TIMESTAMPTZ => "timestamptz",
        Type::INTERVAL => "interval",
        _ => return None,
    };
    Some(name.to_string())
}

/// The oid types, which plan as int4 but which clients tell apart: asyncpg's type
/// introspection binds `$1::oid[]` and has no codec for an int4[] there.
pub(super) fn oid_alias_type(sql: &str) -> Option<Type> {
    let sql = sql.strip_prefix("pg_catalog.").unwrap_or(sql);
    Some(match sql {
        "oid" => Type::OID,
        "oid[]" => Type::OID_ARRAY,
        "regclass" => Type::REGCLASS,
        "regclass[]" => Type::REGCLASS_ARRAY,
        "regtype" => Type::REGTYPE,
        "regtype[]" => Type::REGTYPE_ARRAY,
        "regproc" => Type::REGPROC,
        "regnamespace" => Type::REGNAMESPACE,
        _ => return None,
    })
}

pub(super) fn param_type(dt: &Option<datafusion::arrow::datatypes::DataType>) -> Type {
    dt.as_ref()
        .and_then(|t| arrow_pg::datatypes::into_pg_type(t).ok())
        .unwrap_or(Type::TEXT)
}
