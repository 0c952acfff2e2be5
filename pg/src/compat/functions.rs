//! Postgres functions that depend on the session (`version()`, `current_setting`, `set_config`,
//! `current_database`, `current_schema`, `session_user`) and the catalog helpers clients call
//! that Strata has no data for (`obj_description` and friends return NULL, as for an object
//! without a comment).
use super::oids::KnownKeys;
use crate::settings::Settings;
use datafusion::arrow::array::{Array, ArrayRef, Int32Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// What `version()` answers. Clients parse it: SQLAlchemy and Superset need `PostgreSQL <major>.`
/// at the start, so Strata's own name comes after.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} (Strata {}) on {}-unknown-linux-gnu, compiled by rustc, 64-bit",
        crate::SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

type Body = dyn Fn(&[ScalarValue], &ConfigOptions) -> Result<ScalarValue> + Send + Sync;

/// A scalar function evaluated value by value from the session's state; the catalog queries
/// that call these run over a few rows, so per-row evaluation is cheap enough.
struct SessionFn {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    arity: std::ops::RangeInclusive<usize>,
    body: Arc<Body>,
}

impl std::fmt::Debug for SessionFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for SessionFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.body, &other.body)
    }
}
impl Eq for SessionFn {}
impl std::hash::Hash for SessionFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for SessionFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !self.arity.contains(&args.len()) {
            return plan_err!(
                "function {}() takes {:?} arguments, not {}",
                self.name,
                self.arity,
                args.len()
            );
        }
        Ok(self.returns.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        if all_scalar {
            let values: Vec<ScalarValue> = args
                .args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Scalar(s) => s.clone(),
                    ColumnarValue::Array(_) => unreachable!(),
                })
                .collect();
            return Ok(ColumnarValue::Scalar(
                (self.body)(&values, &args.config_options)?.cast_to(&self.returns)?,
            ));
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            let values = arrays
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<Result<Vec<_>>>()?;
            out.push((self.body)(&values, &args.config_options)?.cast_to(&self.returns)?);
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

fn udf(
    name: &'static str,
    arity: std::ops::RangeInclusive<usize>,
    returns: DataType,
    body: impl Fn(&[ScalarValue], &ConfigOptions) -> Result<ScalarValue> + Send + Sync + 'static,
) -> ScalarUDF {
    let signature = if *arity.end() == 0 {
        Signature::nullary(Volatility::Stable)
    } else {
        Signature::variadic_any(Volatility::Stable)
    };
    ScalarUDF::new_from_impl(SessionFn {
        name,
        signature,
        returns,
        arity,
        body: Arc::new(body),
    })
}

fn int(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(v) => v,
        _ => None,
    }
}

fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        ScalarValue::Null => None,
        other => Some(other.to_string()),
    }
}

fn expandarray_fields() -> Fields {
    Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("n", DataType::Int32, false),
    ])
}

fn expandarray_type() -> DataType {
    DataType::new_list(DataType::Struct(expandarray_fields()), true)
}

/// One array's elements with their 1-based positions: `{(x, n)}`, or only the positions.
fn expandarray(array: &ScalarValue, with_values: bool) -> Result<ScalarValue> {
    let values = match array {
        ScalarValue::List(list) if !list.is_null(0) => list.value(0),
        ScalarValue::LargeList(list) if !list.is_null(0) => list.value(0),
        ScalarValue::FixedSizeList(list) if !list.is_null(0) => list.value(0),
        _ if with_values => return ScalarValue::try_from(&expandarray_type()),
        _ => {
            return Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &[],
                &DataType::Int32,
            )))
        }
    };
    let positions: ArrayRef = Arc::new(Int32Array::from_iter_values(1..=values.len() as i32));
    let items: ArrayRef = if with_values {
        let x = cast(&values, &DataType::Int32)?;
        Arc::new(StructArray::try_new(
            expandarray_fields(),
            vec![x, positions],
            None,
        )?)
    } else {
        positions
    };
    let field = Arc::new(Field::new_list_field(items.data_type().clone(), true));
    let offsets = OffsetBuffer::from_lengths([items.len()]);
    Ok(ScalarValue::List(Arc::new(ListArray::try_new(
        field, offsets, items, None,
    )?)))
}

fn utf8(s: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(s.into()))
}

/// Registers the session-dependent functions on a session's context.
pub(crate) fn register(
    ctx: &SessionContext,
    settings: &Arc<Settings>,
    user: &str,
    keys: &KnownKeys,
) {
    let k = keys.clone();
    ctx.register_udf(udf(
        "pg_get_indexdef",
        1..=3,
        DataType::Utf8,
        move |args, _| {
            let (Some(oid), column) = (int(&args[0]), args.get(1).and_then(int).unwrap_or(0))
            else {
                return Ok(ScalarValue::Utf8(None));
            };
            let keys = k.lock().expect("keys lock");
            let def = keys.iter().find(|key| key.index as i64 == oid);
            Ok(ScalarValue::Utf8(def.and_then(|key| key.index_def(column))))
        },
    ));
    let k = keys.clone();
    ctx.register_udf(udf(
        "pg_get_constraintdef",
        1..=2,
        DataType::Utf8,
        move |args, _| {
            let Some(oid) = int(&args[0]) else {
                return Ok(ScalarValue::Utf8(None));
            };
            let keys = k.lock().expect("keys lock");
            let def = keys.iter().find(|key| key.constraint as i64 == oid);
            Ok(ScalarValue::Utf8(def.map(|key| key.constraint_def())))
        },
    ));
    ctx.register_udf(udf("version", 0..=0, DataType::Utf8, |_, _| {
        Ok(utf8(version_string()))
    }));
    let s = settings.clone();
    ctx.register_udf(udf(
        "current_setting",
        1..=2,
        DataType::Utf8,
        move |args, config| {
            let Some(name) = text(&args[0]) else {
                return Ok(ScalarValue::Utf8(None));
            };
            let missing_ok = matches!(args.get(1), Some(ScalarValue::Boolean(Some(true))));
            match s.show(&name, config) {
                Some(v) => Ok(utf8(v)),
                None if missing_ok => Ok(ScalarValue::Utf8(None)),
                None => Err(crate::sqlstate::PgError::new(
                    crate::sqlstate::UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                )
                .into()),
            }
        },
    ));
    let s = settings.clone();
    ctx.register_udf(udf("set_config", 3..=3, DataType::Utf8, move |args, _| {
        let (Some(name), value) = (text(&args[0]), text(&args[1])) else {
            return exec_err!("set_config: the setting name must not be NULL");
        };
        let value = value.unwrap_or_default();
        s.set(&name, &value);
        Ok(utf8(value))
    }));
    // The halves of information_schema._pg_expandarray (see rewrite::ExpandArray).
    ctx.register_udf(udf(
        "strata_pg_expandarray",
        1..=1,
        expandarray_type(),
        |args, _| expandarray(&args[0], true),
    ));
    ctx.register_udf(udf(
        "strata_pg_expandarray_n",
        1..=1,
        DataType::new_list(DataType::Int32, true),
        |args, _| expandarray(&args[0], false),
    ));
    ctx.register_udf(udf("current_database", 0..=0, DataType::Utf8, |_, c| {
        Ok(utf8(c.catalog.default_catalog.clone()))
    }));
    ctx.register_udf(udf("current_schema", 0..=0, DataType::Utf8, |_, c| {
        Ok(utf8(c.catalog.default_schema.clone()))
    }));
    for name in ["session_user", "current_user", "current_role", "user"] {
        let user = user.to_string();
        ctx.register_udf(udf(name, 0..=0, DataType::Utf8, move |_, _| {
            Ok(utf8(user.clone()))
        }));
    }
    // Comments: Strata has none in pg_description, so these answer NULL like PostgreSQL does
    // for an object without a comment.
    for (name, arity) in [
        ("obj_description", 1..=2),
        ("col_description", 2..=2),
        ("shobj_description", 2..=2),
        ("pg_get_viewdef", 1..=2),
        ("pg_get_triggerdef", 1..=2),
        ("pg_get_functiondef", 1..=1),
        ("pg_get_function_result", 1..=1),
        ("pg_get_function_arguments", 1..=1),
        ("pg_get_function_identity_arguments", 1..=1),
    ] {
        ctx.register_udf(udf(name, arity, DataType::Utf8, |_, _| {
            Ok(ScalarValue::Utf8(None))
        }));
    }
    ctx.register_udf(udf("format", 1..=100, DataType::Utf8, |args, _| {
        let Some(fmt) = text(&args[0]) else {
            return Ok(ScalarValue::Utf8(None));
        };
        pg_format(&fmt, &args[1..]).map(utf8)
    }));
    ctx.register_udf(udf("txid_current", 0..=0, DataType::Int64, |_, _| {
        Ok(ScalarValue::Int64(Some(1)))
    }));
    // Lake tables have no serial columns, no collations to hide, no advisory locks to hold.
    ctx.register_udf(udf(
        "pg_get_serial_sequence",
        2..=2,
        DataType::Utf8,
        |_, _| Ok(ScalarValue::Utf8(None)),
    ));
    // Every type (the built-in ones; lakes define none) is in pg_catalog, always on the path.
    // SQLAlchemy 1.4 calls pg_type_is_visible in its domain and enum lookups.
    for name in ["pg_collation_is_visible", "pg_type_is_visible"] {
        ctx.register_udf(udf(name, 1..=1, DataType::Boolean, |args, _| {
            Ok(ScalarValue::Boolean(int(&args[0]).map(|_| true)))
        }));
    }
    super::format_fns::register(ctx);
    ctx.register_udf(udf(
        "pg_advisory_unlock_all",
        0..=0,
        DataType::Utf8,
        |_, _| Ok(ScalarValue::Utf8(None)),
    ));
    // The built-in types clients look up by name (psycopg's TypeInfo.fetch); types Strata
    // does not have (hstore, citext…) are not found, as in a database without the extension.
    ctx.register_udf(udf("to_regtype", 1..=1, DataType::Int32, |args, _| {
        Ok(ScalarValue::Int32(
            text(&args[0]).and_then(|n| type_oid(&n)),
        ))
    }));
    ctx.register_udf(udf("quote_literal", 1..=1, DataType::Utf8, |args, _| {
        Ok(match text(&args[0]) {
            Some(v) if v.contains('\\') => utf8(format!(
                "E'{}'",
                v.replace('\\', "\\\\").replace('\'', "''")
            )),
            Some(v) => utf8(format!("'{}'", v.replace('\'', "''"))),
            None => ScalarValue::Utf8(None),
        })
    }));
    ctx.register_udf(udf("pg_typeof", 1..=1, DataType::Utf8, |args, _| {
        Ok(utf8(pg_type_name(&args[0].data_type())))
    }));
    ctx.register_udf(udf(
        "json_build_object",
        0..=100,
        DataType::Utf8,
        |args, _| {
            if args.len() % 2 != 0 {
                return exec_err!("json_build_object needs key/value pairs");
            }
            let mut map = serde_json::Map::new();
            for pair in args.chunks(2) {
                let key = text(&pair[0]).unwrap_or_default();
                map.insert(key, json_value(&pair[1]));
            }
            Ok(utf8(serde_json::Value::Object(map).to_string()))
        },
    ));
}

/// PostgreSQL's `format()`: `%s` text, `%I` identifier, `%L` literal, `%%`.
fn pg_format(fmt: &str, args: &[ScalarValue]) -> Result<String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars.next();
        if spec == Some('%') {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            return exec_err!("format(): too few arguments for \"{fmt}\"");
        };
        let value = text(arg);
        match spec {
            Some('s') => out.push_str(value.as_deref().unwrap_or("")),
            Some('I') => {
                let v = value.unwrap_or_default();
                let plain = !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && !v.starts_with(|c: char| c.is_ascii_digit());
                if plain {
                    out.push_str(&v);
                } else {
                    out.push_str(&format!("\"{}\"", v.replace('"', "\"\"")));
                }
            }
            Some('L') => match value {
                Some(v) => out.push_str(&format!("'{}'", v.replace('\'', "''"))),
                None => out.push_str("NULL"),
            },
            other => {
                return exec_err!("format(): unsupported conversion %{}", other.unwrap_or(' '))
            }
        }
    }
    Ok(out)
}

fn json_value(v: &ScalarValue) -> serde_json::Value {
    if v.is_null() {
        return serde_json::Value::Null;
    }
    match v {
        ScalarValue::Boolean(Some(b)) => serde_json::Value::Bool(*b),
        ScalarValue::Int8(Some(n)) => (*n).into(),
        ScalarValue::Int16(Some(n)) => (*n).into(),
        ScalarValue::Int32(Some(n)) => (*n).into(),
        ScalarValue::Int64(Some(n)) => (*n).into(),
        ScalarValue::Float64(Some(f)) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        other => serde_json::Value::String(text(other).unwrap_or_default()),
    }
}

/// The OID of a built-in type by any of its names (`int4`, `integer`, `text[]`, `_text`).
fn type_oid(name: &str) -> Option<i32> {
    let name = name
        .trim()
        .trim_start_matches("pg_catalog.")
        .to_ascii_lowercase();
    if let Some(elem) = name.strip_suffix("[]").or_else(|| name.strip_prefix('_')) {
        let base = type_oid(elem)?;
        return ARRAYS.iter().find(|(b, _)| *b == base).map(|(_, a)| *a);
    }
    let oid = match name.as_str() {
        "bool" | "boolean" => 16,
        "bytea" => 17,
        "char" => 18,
        "name" => 19,
        "int8" | "bigint" => 20,
        "int2" | "smallint" => 21,
        "int4" | "integer" | "int" => 23,
        "text" => 25,
        "oid" => 26,
        "json" => 114,
        "float4" | "real" => 700,
        "float8" | "double precision" => 701,
        "bpchar" | "character" => 1042,
        "varchar" | "character varying" => 1043,
        "date" => 1082,
        "time" | "time without time zone" => 1083,
        "timestamp" | "timestamp without time zone" => 1114,
        "timestamptz" | "timestamp with time zone" => 1184,
        "interval" => 1186,
        "numeric" | "decimal" => 1700,
        "uuid" => 2950,
        "jsonb" => 3802,
        _ => return None,
    };
    Some(oid)
}

/// Element type OID → array type OID.
const ARRAYS: &[(i32, i32)] = &[
    (16, 1000),
    (17, 1001),
    (18, 1002),
    (19, 1003),
    (20, 1016),
    (21, 1005),
    (23, 1007),
    (25, 1009),
    (26, 1028),
    (114, 199),
    (700, 1021),
    (701, 1022),
    (1042, 1014),
    (1043, 1015),
    (1082, 1182),
    (1083, 1183),
    (1114, 1115),
    (1184, 1185),
    (1186, 1187),
    (1700, 1231),
    (2950, 2951),
    (3802, 3807),
];

/// PostgreSQL's name for the type an Arrow value travels as (`pg_typeof`); the engine's, so
/// the REPL and the server name types alike.
pub use strata_sql::sql_type_name as pg_type_name;
