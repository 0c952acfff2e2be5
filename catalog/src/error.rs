//! Typed errors of the catalog crate: every variant names the thing that is wrong.
use datafusion::error::DataFusionError;

/// Errors raised while opening, listing or resolving a lake.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// `strata.toml` is malformed or has an invalid value; the message carries file and line.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// The lake URI cannot be understood.
    #[error("invalid lake URI '{uri}': {message}")]
    Uri { uri: String, message: String },
    /// The store refused or failed a request (unreachable bucket, missing credentials, ...).
    #[error("cannot read lake '{uri}': {}", store_reason(source))]
    Store {
        uri: String,
        #[source]
        source: object_store::Error,
    },
    /// A table's files or configuration are unusable; names the table and the file.
    #[error("table {table}: {message}")]
    Table { table: String, message: String },
    /// One file of a table cannot be read. `path` is the file's full name (the lake's root
    /// included: `/data/lake/raw/crm/a.csv`, `s3://bucket/lake/raw/crm/a.csv`); the message
    /// says what is wrong with it and starts with the kind's words (`corrupt gzip data: …`).
    #[error("table {table}: {path}: {message}")]
    File {
        table: String,
        path: String,
        kind: FileErrorKind,
        message: String,
    },
    /// The Delta log of the table folder `table` cannot be read or written (docs/delta.md).
    #[error("Delta table '{table}': {message}")]
    Delta { table: String, message: String },
    /// A write lost a race with another writer and changed nothing; it may be run again.
    #[error("write conflict: {0}")]
    Conflict(String),
    /// A write broke its table's expectations and committed nothing (docs/quality.md).
    #[error("table {table}: the batch breaks {}, so nothing was written:{}", count_expectations(broken.len()), list_broken(broken))]
    Rejected {
        table: String,
        broken: Vec<crate::quality::gate::Broken>,
    },
    /// Two tables resolve to the same name (e.g. a real `t_history` beside keyed `t`).
    #[error("name clash: {0}")]
    Clash(String),
    /// A timestamp or duration that does not parse.
    #[error("{0}")]
    Value(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

fn count_expectations(n: usize) -> String {
    match n {
        1 => "1 expectation".into(),
        n => format!("{n} expectations"),
    }
}

fn list_broken(broken: &[crate::quality::gate::Broken]) -> String {
    broken.iter().map(|b| format!("\n  {b}")).collect()
}

/// What is wrong with a file, as far as a client can act on it. Each kind has one SQLSTATE
/// (strata-sql's `pg::sqlstate` maps them; the table is in README.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// Not a valid file of its format: bad magic, a truncated file, a garbled footer or page.
    Corrupt,
    /// The file's compression stream (gzip, bzip2, xz, zstd) does not decode.
    Compression,
    /// A text format (CSV, JSON) whose rows do not parse: ragged rows, bad values, bad JSON.
    Malformed,
    /// The file's schema cannot be read with the table's: a column's type conflicts across
    /// files, or the table mixes formats.
    Schema,
    /// The file was listed but is gone.
    Missing,
    /// The store failed to deliver it (permission, network, I/O).
    Io,
}

impl FileErrorKind {
    /// The kind of a read failure (the root of the chain decides).
    pub fn of(e: &DataFusionError) -> FileErrorKind {
        use datafusion::arrow::error::ArrowError as A;
        let root = e.find_root();
        let text = root.to_string();
        // Decompressors fail as I/O errors; a CSV or Parquet error that quotes a value or
        // a file name with "gzip" in it is not one.
        let stream_error = matches!(
            root,
            DataFusionError::ObjectStore(_)
                | DataFusionError::IoError(_)
                | DataFusionError::External(_)
                | DataFusionError::Execution(_)
        ) || matches!(root, DataFusionError::ArrowError(a, _)
            if matches!(a.as_ref(), A::IoError(..) | A::ExternalError(_)));
        if stream_error && compression_words(&text).is_some() {
            return FileErrorKind::Compression;
        }
        match root {
            DataFusionError::ParquetError(_) => FileErrorKind::Corrupt,
            DataFusionError::ArrowError(a, _) => match a.as_ref() {
                A::CsvError(_) | A::JsonError(_) | A::ParseError(_) | A::CastError(_) => {
                    FileErrorKind::Malformed
                }
                A::SchemaError(_) => FileErrorKind::Schema,
                A::IoError(..) => FileErrorKind::Io,
                A::ExternalError(inner) if inner.is::<std::io::Error>() => FileErrorKind::Io,
                _ => FileErrorKind::Corrupt,
            },
            DataFusionError::ObjectStore(o) => match o.as_ref() {
                object_store::Error::NotFound { .. } => FileErrorKind::Missing,
                _ => FileErrorKind::Io,
            },
            DataFusionError::IoError(io) if io.kind() == std::io::ErrorKind::NotFound => {
                FileErrorKind::Missing
            }
            DataFusionError::IoError(_) => FileErrorKind::Io,
            DataFusionError::SchemaError(..) => FileErrorKind::Schema,
            _ if text.contains("Parquet") || text.contains("parquet") => FileErrorKind::Corrupt,
            _ if text.contains("Csv error") || text.contains("Json error") => {
                FileErrorKind::Malformed
            }
            _ => FileErrorKind::Corrupt,
        }
    }
}

/// `corrupt gzip data` when `text` is a decompressor's complaint (async-compression and
/// flate2 report them as I/O errors, which object_store wraps as "Generic read to delimited
/// chunks" errors).
fn compression_words(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    [
        ("gzip", "gzip"),
        ("deflate", "gzip"),
        ("bzip2", "bzip2"),
        ("bz2", "bzip2"),
        ("xz", "xz"),
        ("lzma", "xz"),
        ("zstd", "zstd"),
        ("unknown frame descriptor", "zstd"),
    ]
    .iter()
    .find(|(w, _)| t.contains(w))
    .map(|(_, codec)| *codec)
}

/// The root cause of a read failure in a few words, without the layers of "Object Store error:
/// Generic read to delimited chunks error" DataFusion and object_store put in front of it.
pub fn read_failure(e: &DataFusionError) -> String {
    let kind = FileErrorKind::of(e);
    // The innermost error of the chain says what is wrong; the outer ones say where it was
    // noticed, which the file's name already does better.
    let mut root: &dyn std::error::Error = e.find_root();
    while let Some(next) = root.source() {
        root = next;
    }
    let why = root.to_string();
    match kind {
        FileErrorKind::Compression => {
            let codec = compression_words(&e.find_root().to_string()).unwrap_or("compressed");
            format!("corrupt {codec} data: {why}")
        }
        FileErrorKind::Corrupt => format!("corrupt file: {why}"),
        FileErrorKind::Malformed => format!("malformed data: {why}"),
        FileErrorKind::Schema => format!("incompatible schema: {why}"),
        FileErrorKind::Missing => format!("file not found: {why}"),
        FileErrorKind::Io => format!("cannot read: {why}"),
    }
}

/// A file's full name for messages: the store's URL and the file's location in it.
pub fn full_path(
    url: &datafusion::execution::object_store::ObjectStoreUrl,
    location: &object_store::path::Path,
) -> String {
    let url = url.as_str().trim_end_matches('/');
    if url == "file:" || url == "file://" {
        format!("/{location}")
    } else {
        format!("{url}/{location}")
    }
}

/// The gist of an object-store failure: S3's error code and message instead of the XML body,
/// the refused connection instead of ten retries' worth of text.
pub fn store_reason(e: &object_store::Error) -> String {
    use object_store::Error as E;
    let full = e.to_string();
    let between = |open: &str, close: &str| -> Option<String> {
        let start = full.find(open)? + open.len();
        Some(full[start..start + full[start..].find(close)?].to_string())
    };
    if let (Some(code), message) = (
        between("<Code>", "</Code>"),
        between("<Message>", "</Message>"),
    ) {
        let what = match e {
            E::NotFound { .. } => "not found",
            E::PermissionDenied { .. } => "permission denied",
            E::Unauthenticated { .. } => "not authenticated",
            _ => "refused",
        };
        return match message {
            Some(m) => format!("{what}: {code}: {m}"),
            None => format!("{what}: {code}"),
        };
    }
    if full.contains("error sending request") {
        // The root cause (refused, DNS, TLS) is at the end of the source chain.
        let mut root: &dyn std::error::Error = e;
        while let Some(next) = root.source() {
            root = next;
        }
        return format!("cannot connect to the store: {root}");
    }
    const MAX: usize = 400;
    if full.len() > MAX {
        let mut end = MAX;
        while !full.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &full[..end])
    } else {
        full
    }
}

impl CatalogError {
    pub(crate) fn table(table: impl std::fmt::Display, message: impl Into<String>) -> Self {
        CatalogError::Table {
            table: table.to_string(),
            message: message.into(),
        }
    }
}

impl CatalogError {
    /// A file error of `kind`; `message` says what is wrong (see [`read_failure`]).
    pub fn file(
        table: impl std::fmt::Display,
        path: impl Into<String>,
        kind: FileErrorKind,
        message: impl Into<String>,
    ) -> Self {
        CatalogError::File {
            table: table.to_string(),
            path: path.into(),
            kind,
            message: message.into(),
        }
    }
}

impl From<CatalogError> for DataFusionError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::error::ArrowError;
    use datafusion::execution::object_store::ObjectStoreUrl;

    #[test]
    fn files_are_named_with_the_lake_root() {
        let at = object_store::path::Path::from("data/lake/raw/crm/a.csv");
        let local = ObjectStoreUrl::local_filesystem();
        assert_eq!(full_path(&local, &at), "/data/lake/raw/crm/a.csv");
        let s3 = ObjectStoreUrl::parse("s3://bucket").unwrap();
        assert_eq!(full_path(&s3, &at), "s3://bucket/data/lake/raw/crm/a.csv");
    }

    #[test]
    fn read_failures_are_sorted_into_kinds() {
        let gzip = DataFusionError::ObjectStore(Box::new(object_store::Error::Generic {
            store: "read to delimited chunks failed",
            source: Box::new(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt deflate stream",
            )),
        }));
        assert_eq!(FileErrorKind::of(&gzip), FileErrorKind::Compression);
        assert_eq!(
            read_failure(&gzip),
            "corrupt gzip data: corrupt deflate stream"
        );
        let missing = DataFusionError::ObjectStore(Box::new(object_store::Error::NotFound {
            path: "raw/crm/a.csv".into(),
            source: "gone".into(),
        }));
        assert_eq!(FileErrorKind::of(&missing), FileErrorKind::Missing);
        let csv = DataFusionError::ArrowError(
            Box::new(ArrowError::CsvError("incorrect number of fields".into())),
            None,
        );
        assert_eq!(FileErrorKind::of(&csv), FileErrorKind::Malformed);
        // A CSV error quoting a value with "gzip" in it is still a CSV error.
        let quoted = DataFusionError::ArrowError(
            Box::new(ArrowError::CsvError("cannot parse 'gzip' as Int64".into())),
            None,
        );
        assert_eq!(FileErrorKind::of(&quoted), FileErrorKind::Malformed);
        let io = DataFusionError::ArrowError(
            Box::new(ArrowError::ExternalError(Box::new(std::io::Error::other(
                "reset",
            )))),
            None,
        );
        assert_eq!(FileErrorKind::of(&io), FileErrorKind::Io);
        let pages = DataFusionError::ArrowError(
            Box::new(ArrowError::ParquetError("bad page header".into())),
            None,
        );
        assert_eq!(FileErrorKind::of(&pages), FileErrorKind::Corrupt);
    }
}
