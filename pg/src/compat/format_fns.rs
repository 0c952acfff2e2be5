//! `to_char`, `to_date` and `to_timestamp` for Postgres sessions: with a template they follow
//! PostgreSQL's patterns (to_char.rs, from_char.rs), not DataFusion's strftime ones; other calls
//! (`to_timestamp(epoch)`, `to_char` of a number) go to DataFusion's function of the same name.
use super::format_template::{self, Node};
use super::{from_char, to_char};
use crate::sqlstate::PgError;
use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DataFusionError, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ToChar,
    ToDate,
    ToTimestamp,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgFormatFn {
    kind: Kind,
    signature: Signature,
    /// DataFusion's function of the same name, for the calls that are not PostgreSQL's.
    fallback: Arc<ScalarUDF>,
    /// The session's TimeZone: `to_timestamp` reads zoneless text in it and `to_char` prints
    /// `timestamp with time zone` in it.
    time_zone: String,
}

pub(crate) fn register(ctx: &SessionContext) {
    let state = ctx.state();
    let config = state.config_options();
    let time_zone = config
        .execution
        .time_zone
        .clone()
        .unwrap_or_else(|| "UTC".into());
    use datafusion::functions::datetime;
    for (kind, fallback) in [
        (Kind::ToChar, datetime::to_char()),
        (Kind::ToDate, datetime::to_date()),
        (Kind::ToTimestamp, datetime::to_timestamp(config)),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(PgFormatFn {
            kind,
            signature: Signature::user_defined(Volatility::Stable),
            fallback,
            time_zone: time_zone.clone(),
        }));
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    )
}

impl PgFormatFn {
    /// Whether PostgreSQL's template form applies to these argument types.
    fn is_pg_call(&self, args: &[DataType]) -> bool {
        match (self.kind, args) {
            (Kind::ToChar, [t, f]) => {
                is_text(f)
                    && matches!(
                        t,
                        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
                    )
            }
            (Kind::ToDate | Kind::ToTimestamp, [t, f]) => is_text(t) && is_text(f),
            _ => false,
        }
    }
}

impl ScalarUDFImpl for PgFormatFn {
    fn name(&self) -> &str {
        self.fallback.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if self.is_pg_call(args) {
            return Ok(args
                .iter()
                .map(|t| {
                    if is_text(t) {
                        DataType::Utf8
                    } else {
                        t.clone()
                    }
                })
                .collect());
        }
        let fields: Vec<_> = args
            .iter()
            .map(|t| {
                Arc::new(datafusion::arrow::datatypes::Field::new(
                    "a",
                    t.clone(),
                    true,
                ))
            })
            .collect();
        Ok(
            datafusion::logical_expr::type_coercion::functions::fields_with_udf(
                &fields,
                self.fallback.as_ref(),
            )?
            .iter()
            .map(|f| f.data_type().clone())
            .collect(),
        )
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !self.is_pg_call(args) {
            return self.fallback.return_type(args);
        }
        Ok(match self.kind {
            Kind::ToChar => DataType::Utf8,
            Kind::ToDate => DataType::Date32,
            Kind::ToTimestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(self.time_zone.clone().into()))
            }
        })
    }
    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let fallback = self
            .fallback
            .inner()
            .with_updated_config(config)
            .map(Arc::new)
            .unwrap_or_else(|| self.fallback.clone());
        Some(ScalarUDF::new_from_impl(PgFormatFn {
            kind: self.kind,
            signature: self.signature.clone(),
            fallback,
            time_zone: config
                .execution
                .time_zone
                .clone()
                .unwrap_or_else(|| "UTC".into()),
        }))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args.args.iter().map(|a| a.data_type()).collect();
        if !self.is_pg_call(&types) {
            return self.fallback.invoke_with_args(args);
        }
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = match self.kind {
            Kind::ToChar => self.to_char(&arrays[0], &arrays[1])?,
            Kind::ToDate | Kind::ToTimestamp => self.from_char(&arrays[0], &arrays[1])?,
        };
        if all_scalar {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&out, 0)?,
            ))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

fn zone(name: &str) -> Result<chrono_tz::Tz> {
    name.parse::<chrono_tz::Tz>().or_else(|_| {
        // "+00:00", "Z" and friends: DataFusion's spellings of UTC.
        match name {
            "+00:00" | "+00" | "Z" | "z" | "utc" => Ok(chrono_tz::UTC),
            _ => Err(DataFusionError::Execution(format!(
                "time zone \"{name}\" not recognized"
            ))),
        }
    })
}

fn pg_error(e: from_char::FormatError) -> DataFusionError {
    PgError::new(e.code, e.message).into()
}

/// Templates repeat on every row; parse each once.
fn templates(formats: &ArrayRef) -> Result<(ArrayRef, HashMap<String, Vec<Node>>)> {
    let formats = cast(formats, &DataType::Utf8)?;
    let mut parsed = HashMap::new();
    for f in formats.as_string::<i32>().iter().flatten() {
        if !parsed.contains_key(f) {
            parsed.insert(f.to_string(), format_template::parse(f));
        }
    }
    Ok((formats, parsed))
}

impl PgFormatFn {
    fn to_char(&self, values: &ArrayRef, formats: &ArrayRef) -> Result<ArrayRef> {
        let (formats, parsed) = templates(formats)?;
        let formats = formats.as_string::<i32>();
        let session_zone = zone(&self.time_zone)?;
        // Every date/time type as microseconds; the type says whether it has a zone.
        let zoned = match values.data_type() {
            DataType::Timestamp(_, Some(_)) | DataType::Date32 | DataType::Date64 => true,
            _ => false,
        };
        let micros = cast(values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let micros =
            micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let mut out = StringBuilder::new();
        for i in 0..values.len() {
            if micros.is_null(i) || formats.is_null(i) {
                out.append_null();
                continue;
            }
            let Some(utc) = DateTime::from_timestamp_micros(micros.value(i)) else {
                return Err(DataFusionError::Execution("timestamp out of range".into()));
            };
            let moment =
                if zoned && !matches!(values.data_type(), DataType::Date32 | DataType::Date64) {
                    let local = utc.with_timezone(&session_zone);
                    let offset = local.offset();
                    to_char::Moment {
                        local: local.naive_local(),
                        offset_secs: offset.fix().local_minus_utc(),
                        zone: Some(
                            chrono_tz::OffsetName::abbreviation(offset)
                                .unwrap_or("")
                                .to_string(),
                        ),
                    }
                } else if zoned {
                    // A date is midnight in the session's zone (PostgreSQL casts it to timestamptz).
                    let naive = utc.naive_utc();
                    let offset = session_zone.offset_from_local_datetime(&naive).earliest();
                    to_char::Moment {
                        local: naive,
                        offset_secs: offset.map_or(0, |o| o.fix().local_minus_utc()),
                        zone: offset.map(|o| {
                            chrono_tz::OffsetName::abbreviation(&o)
                                .unwrap_or("")
                                .to_string()
                        }),
                    }
                } else {
                    to_char::Moment {
                        local: utc.naive_utc(),
                        offset_secs: 0,
                        zone: None,
                    }
                };
            out.append_value(to_char::to_char(&moment, &parsed[formats.value(i)]));
        }
        Ok(Arc::new(out.finish()))
    }

    fn from_char(&self, texts: &ArrayRef, formats: &ArrayRef) -> Result<ArrayRef> {
        let (formats, parsed) = templates(formats)?;
        let formats = formats.as_string::<i32>();
        let texts = cast(texts, &DataType::Utf8)?;
        let texts = texts.as_string::<i32>();
        let session_zone = zone(&self.time_zone)?;
        let mut dates = Date32Builder::new();
        let mut stamps = TimestampMicrosecondBuilder::new();
        for i in 0..texts.len() {
            if texts.is_null(i) || formats.is_null(i) {
                dates.append_null();
                stamps.append_null();
                continue;
            }
            let p =
                from_char::parse(texts.value(i), &parsed[formats.value(i)]).map_err(pg_error)?;
            if self.kind == Kind::ToDate {
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
                dates.append_value((p.local.date() - epoch).num_days() as i32);
                continue;
            }
            let utc: NaiveDateTime = match p.offset_secs {
                Some(off) => p.local - chrono::Duration::seconds(off as i64),
                None => session_zone
                    .from_local_datetime(&p.local)
                    .earliest()
                    .map(|t| t.naive_utc())
                    .unwrap_or(p.local),
            };
            stamps.append_value(utc.and_utc().timestamp_micros());
        }
        Ok(match self.kind {
            Kind::ToDate => Arc::new(dates.finish()),
            _ => Arc::new(stamps.finish().with_timezone(self.time_zone.clone())),
        })
    }
}
