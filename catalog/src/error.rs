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
    /// Two tables resolve to the same name (e.g. a real `t_history` beside keyed `t`).
    #[error("name clash: {0}")]
    Clash(String),
    /// A timestamp or duration that does not parse.
    #[error("{0}")]
    Value(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
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

impl From<CatalogError> for DataFusionError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
