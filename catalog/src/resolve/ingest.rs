//! Where a table's ingestion time comes from (docs/tables.md#ingestion-time): the source
//! chosen for a table, each file's ingestion time when it is constant per file, and typed
//! partition values.
use super::*;

/// Name of the ingestion-time column Strata adds when the files carry none.
pub const INGESTED_AT: &str = "_ingested_at";
/// Partition names taken as the ingestion time when nothing is configured, in preference order.
const INGEST_PARTITIONS: &[&str] = &[
    "_ingested_at",
    "ingested_at",
    "ingest_ts",
    "ingest_date",
    "dt",
];

/// The timestamp type of ingestion times: microseconds, UTC.
pub fn ingest_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Where a table's ingestion time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestSource {
    /// A column inside the files: varies per row.
    Column(String),
    /// A `key=value` partition folder: constant per file.
    Partition(String),
    /// Kafka Connect `year=/month=/day=/hour=` folders.
    KafkaConnect,
    /// The object's last-modified time.
    FileModified,
}

impl std::fmt::Display for IngestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IngestSource::Column(c) => write!(f, "column {c}"),
            IngestSource::Partition(p) => write!(f, "partition:{p}"),
            IngestSource::KafkaConnect => f.write_str("partitions year/month/day/hour"),
            IngestSource::FileModified => f.write_str("file_modified"),
        }
    }
}

pub(crate) fn partition_value<'a>(f: &'a LakeFile, key: &str) -> Option<&'a str> {
    f.partitions
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| *v != "__HIVE_DEFAULT_PARTITION__")
}

/// Types partition values sensibly: integers, dates, timestamps, else text.
pub fn infer_partition_type<'a>(values: impl Iterator<Item = &'a str> + Clone) -> DataType {
    if values.clone().all(|v| v.parse::<i64>().is_ok()) && values.clone().next().is_some() {
        DataType::Int64
    } else if values
        .clone()
        .all(|v| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok())
        && values.clone().next().is_some()
    {
        DataType::Date32
    } else if values
        .clone()
        .all(|v| v.len() > 10 && crate::time::parse_timestamp(v).is_ok())
        && values.clone().next().is_some()
    {
        ingest_type()
    } else {
        DataType::Utf8
    }
}

pub(crate) fn typed_value(v: Option<&str>, t: &DataType) -> ScalarValue {
    let Some(v) = v else {
        return ScalarValue::try_from(t).unwrap_or(ScalarValue::Null);
    };
    let value = match t {
        DataType::Int64 => ScalarValue::Int64(v.parse().ok()),
        DataType::Date32 => ScalarValue::Date32(
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .map(|d| {
                    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
                        as i32
                }),
        ),
        DataType::Timestamp(..) => ScalarValue::TimestampMicrosecond(
            crate::time::parse_timestamp(v)
                .ok()
                .map(|t| t.timestamp_micros()),
            Some("UTC".into()),
        ),
        _ => ScalarValue::Utf8(Some(v.to_string())),
    };
    // Declared types (a Delta table's partition columns) other than the inferred ones.
    if &value.data_type() == t {
        return value;
    }
    value
        .cast_to(t)
        .unwrap_or_else(|_| ScalarValue::try_from(t).unwrap_or(ScalarValue::Null))
}

pub(crate) fn choose_ingest(
    table: &TableName,
    config: &TableConfig,
    file_schema: &Schema,
    parts: &[String],
) -> Result<IngestSource> {
    let has_part = |p: &str| parts.iter().any(|x| x == p);
    match &config.ingested_at {
        Some(IngestedAtConfig::Column(c)) => {
            if file_schema.field_with_name(c).is_ok() {
                Ok(IngestSource::Column(c.clone()))
            } else if has_part(c) {
                Ok(IngestSource::Partition(c.clone()))
            } else {
                Err(err(
                    table,
                    format!("ingested_at column '{c}' (strata.toml line {}) does not exist; columns are: {}", config.line, column_list(file_schema)),
                ))
            }
        }
        Some(IngestedAtConfig::Partition(p)) => {
            if has_part(p) {
                Ok(IngestSource::Partition(p.clone()))
            } else {
                Err(err(table, format!("ingested_at partition '{p}' (strata.toml line {}) is not a partition folder of this table", config.line)))
            }
        }
        Some(IngestedAtConfig::FileModified) => Ok(IngestSource::FileModified),
        None => {
            if file_schema.field_with_name(INGESTED_AT).is_ok() {
                Ok(IngestSource::Column(INGESTED_AT.into()))
            } else if let Some(p) = INGEST_PARTITIONS.iter().find(|p| has_part(p)) {
                Ok(IngestSource::Partition(p.to_string()))
            } else if has_part("year") && has_part("month") && has_part("day") {
                Ok(IngestSource::KafkaConnect)
            } else {
                Ok(IngestSource::FileModified)
            }
        }
    }
}

/// A file's ingestion time in µs when it is constant per file; None for per-row columns.
pub(crate) fn file_ingest_time(
    table: &TableName,
    f: &LakeFile,
    source: &IngestSource,
) -> Result<Option<i64>> {
    let bad = |what: &str, v: &str| {
        err(
            table,
            format!("file '{}': {what} '{v}' is not a date or timestamp", f.rel),
        )
    };
    Ok(match source {
        IngestSource::Column(_) => None,
        IngestSource::FileModified => Some(f.meta.last_modified.timestamp_micros()),
        IngestSource::Partition(p) => match partition_value(f, p) {
            None => {
                return Err(err(
                    table,
                    format!(
                        "file '{}' has no '{p}=' partition folder to take its ingestion time from",
                        f.rel
                    ),
                ))
            }
            Some(v) => Some(
                crate::time::parse_timestamp(v)
                    .map_err(|_| bad(p, v))?
                    .timestamp_micros(),
            ),
        },
        IngestSource::KafkaConnect => {
            let num = |k: &str, default: Option<u32>| -> Result<u32> {
                match partition_value(f, k) {
                    Some(v) => v.parse().map_err(|_| bad(k, v)),
                    None => default.ok_or_else(|| {
                        err(table, format!("file '{}' lacks the '{k}=' folder", f.rel))
                    }),
                }
            };
            let (y, m, d, h) = (
                num("year", None)?,
                num("month", None)?,
                num("day", None)?,
                num("hour", Some(0))?,
            );
            let t = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .ok_or_else(|| bad("year/month/day/hour", &format!("{y}-{m}-{d} {h}")))?;
            Some(t.and_utc().timestamp_micros())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_types() {
        assert_eq!(
            infer_partition_type(["2026", "01"].into_iter()),
            DataType::Int64
        );
        assert_eq!(
            infer_partition_type(["2026-01-01", "2026-01-02"].into_iter()),
            DataType::Date32
        );
        assert_eq!(
            infer_partition_type(["2026-01-01 10:00:00"].into_iter()),
            ingest_type()
        );
        assert_eq!(
            infer_partition_type(["2026-01-01", "eu"].into_iter()),
            DataType::Utf8
        );
    }
}
