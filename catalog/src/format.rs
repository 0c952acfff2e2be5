//! File formats: which format a file is (extension, configured `format`, or a sniff of its first
//! bytes for extensionless Firehose objects) and the DataFusion `FileFormat` that reads it.
use datafusion::catalog::Session;
use datafusion::datasource::file_format::{
    arrow::ArrowFormat, csv::CsvFormat, file_compression_type::FileCompressionType,
    json::JsonFormat, parquet::ParquetFormat, FileFormat,
};
use std::sync::Arc;

/// The kind of data in a file; compression is tracked separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Parquet,
    Csv,
    Tsv,
    Json,
    Arrow,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Parquet => "parquet",
            Kind::Csv => "csv",
            Kind::Tsv => "tsv",
            Kind::Json => "json",
            Kind::Arrow => "arrow",
        }
    }

    /// The kind a `format` setting names (validated by the config parser).
    pub fn from_setting(s: &str) -> Option<Kind> {
        Some(match s {
            "parquet" => Kind::Parquet,
            "csv" => Kind::Csv,
            "tsv" => Kind::Tsv,
            "json" | "ndjson" | "jsonl" => Kind::Json,
            "arrow" | "ipc" => Kind::Arrow,
            _ => return None,
        })
    }

    /// Text formats are read by position, so files with different headers are scanned apart.
    pub fn positional(self) -> bool {
        matches!(self, Kind::Csv | Kind::Tsv)
    }
}

/// What a file name says about its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Known(Kind, FileCompressionType),
    /// No recognisable extension (Firehose objects): needs the table's `format` or a sniff.
    Unknown(FileCompressionType),
}

fn compression_of(ext: &str) -> Option<FileCompressionType> {
    Some(match ext {
        "gz" | "gzip" => FileCompressionType::GZIP,
        "zst" | "zstd" => FileCompressionType::ZSTD,
        "bz2" => FileCompressionType::BZIP2,
        "xz" => FileCompressionType::XZ,
        _ => return None,
    })
}

/// Detects format and compression from a file name such as `part-0.snappy.parquet` or
/// `events.json.gz`.
pub fn detect(file_name: &str) -> Detected {
    let lower = file_name.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('.').skip(1).collect();
    let mut compression = FileCompressionType::UNCOMPRESSED;
    if let Some(c) = parts.last().and_then(|e| compression_of(e)) {
        compression = c;
        parts.pop();
    }
    let kind = match parts.last().copied() {
        Some("parquet" | "pq") => Kind::Parquet,
        Some("csv") => Kind::Csv,
        Some("tsv" | "tab") => Kind::Tsv,
        Some("json" | "ndjson" | "jsonl") => Kind::Json,
        Some("arrow" | "ipc" | "feather" | "arrows") => Kind::Arrow,
        _ => return Detected::Unknown(compression),
    };
    Detected::Known(kind, compression)
}

/// Guesses the kind from a file's first bytes: Parquet and Arrow have magic numbers, JSON lines
/// start with `{`; anything else is taken as CSV.
pub fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(b"PAR1") {
        Kind::Parquet
    } else if head.starts_with(b"ARROW1") {
        Kind::Arrow
    } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Kind::Json
    } else {
        Kind::Csv
    }
}

/// The DataFusion format for a kind, honouring the session's table options.
///
/// `selective`: the scan's filters keep few rows (a lookup by key), so Parquet should evaluate
/// them while decoding and skip the other columns' values for rows that fail. DataFusion leaves
/// that off by default because it costs scans that keep most rows (TPC-H: +20%).
pub fn file_format(
    state: &dyn Session,
    kind: Kind,
    compression: FileCompressionType,
    selective: bool,
) -> Arc<dyn FileFormat> {
    let opts = state.table_options();
    match kind {
        Kind::Parquet => {
            let mut parquet = opts.parquet.clone();
            if selective {
                parquet.global.pushdown_filters = true;
            }
            Arc::new(ParquetFormat::default().with_options(parquet))
        }
        Kind::Csv | Kind::Tsv => Arc::new(
            CsvFormat::default()
                .with_options(opts.csv.clone())
                .with_has_header(true)
                .with_delimiter(if kind == Kind::Tsv { b'\t' } else { b',' })
                .with_file_compression_type(compression),
        ),
        Kind::Json => Arc::new(
            JsonFormat::default()
                .with_options(opts.json.clone())
                .with_file_compression_type(compression),
        ),
        Kind::Arrow => Arc::new(ArrowFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(
            detect("part-00000-abc.snappy.parquet"),
            Detected::Known(Kind::Parquet, FileCompressionType::UNCOMPRESSED)
        );
        assert_eq!(
            detect("orders+0+0001.json.gz"),
            Detected::Known(Kind::Json, FileCompressionType::GZIP)
        );
        assert_eq!(
            detect("x.TSV.zst"),
            Detected::Known(Kind::Tsv, FileCompressionType::ZSTD)
        );
        assert_eq!(
            detect("runs.arrow"),
            Detected::Known(Kind::Arrow, FileCompressionType::UNCOMPRESSED)
        );
        assert_eq!(
            detect("clicks-1-2026-01-15-12-00-00-abc"),
            Detected::Unknown(FileCompressionType::UNCOMPRESSED)
        );
        assert_eq!(
            detect("stream-1.gz"),
            Detected::Unknown(FileCompressionType::GZIP)
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"PAR1\x15"), Kind::Parquet);
        assert_eq!(sniff(b"  {\"a\":1}"), Kind::Json);
        assert_eq!(sniff(b"a,b\n1,2"), Kind::Csv);
    }
}
