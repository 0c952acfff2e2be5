//! Errors of the engine and session, each with a typed [`ErrorKind`] so front ends can map them
//! (the server to SQLSTATE codes, a Flight server to gRPC statuses) without reading messages.
use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use strata_catalog::{CatalogError, FileErrorKind};

/// Errors of the SQL layer. DataFusion's own errors pass through unchanged; [`SqlError::kind`]
/// says what they are.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// SQL that does not parse; the message says what was expected where.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A name that does not exist, with the closest existing one when there is one.
    #[error("{message}")]
    NotFound { what: Missing, message: String },
    /// Refused: the user may not read that zone, or a remote session may not do that.
    #[error("permission denied: {0}")]
    Denied(String),
    /// Any other failure Strata or a statement hook reports, with its kind.
    #[error("{message}")]
    Failed { kind: ErrorKind, message: String },
    /// An error a statement hook raised in its front end's own terms (the Postgres server's
    /// carry their SQLSTATE); [`SqlError::kind`] says [`ErrorKind::FrontEnd`].
    #[error(transparent)]
    Hook(Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

impl SqlError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SqlError::Failed {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SqlError::Syntax(_) => ErrorKind::Syntax,
            SqlError::NotFound { what, .. } => ErrorKind::Undefined(*what),
            SqlError::Denied(_) => ErrorKind::Permission,
            SqlError::Failed { kind, .. } => *kind,
            SqlError::Hook(_) => ErrorKind::FrontEnd,
            SqlError::Catalog(e) => catalog_kind(e),
            SqlError::DataFusion(e) => datafusion_kind(e),
        }
    }
}

/// What a missing name named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Table,
    Column,
    Function,
    /// A zone, setting or other named thing that is not a table, column or function.
    Object,
    /// The database (zone) a client connects to.
    Database,
    /// A cursor named in FETCH, MOVE or CLOSE.
    Cursor,
    /// `$n` beyond what a client can bind.
    Parameter,
}

/// What kind of failure an error is. Front ends map these to their own codes; the server's
/// table of SQLSTATEs is in `strata-pg` (docs/server.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    Syntax,
    Undefined(Missing),
    /// Two things of one name: a cursor declared twice, a temporary table created twice.
    Duplicate,
    AmbiguousColumn,
    DuplicateColumn,
    Permission,
    /// Changing the lake over SQL, which is read-only.
    ReadOnly,
    /// A value a setting or function does not accept.
    InvalidValue,
    /// A write lost a race with another writer and changed nothing; running it again may work.
    Conflict,
    /// A write broke its table's expectations and committed nothing (docs/quality.md).
    CheckViolation,
    /// Text that does not convert to the type asked for.
    InvalidText,
    DivisionByZero,
    /// Other errors in the data (overflow, bad arguments).
    Data,
    NotSupported,
    /// A statement nesting deeper than `max_expression_depth`.
    TooComplex,
    /// Text longer than the server accepts.
    TooLong,
    OutOfMemory,
    /// A file of a table that cannot be read, by what went wrong with it.
    File(FileErrorKind),
    /// The store failed to deliver.
    Io,
    /// A planning error DataFusion does not say more about.
    Plan,
    /// Raised by a front end in its own terms (see [`SqlError::Hook`]), or wrapped in a
    /// DataFusion error by one of its functions: the front end looks inside.
    FrontEnd,
    Internal,
}

fn catalog_kind(e: &CatalogError) -> ErrorKind {
    match e {
        CatalogError::DataFusion(e) => datafusion_kind(e),
        CatalogError::Value(_) => ErrorKind::InvalidValue,
        CatalogError::Store { .. } => ErrorKind::Io,
        CatalogError::File { kind, .. } => ErrorKind::File(*kind),
        CatalogError::Conflict(_) => ErrorKind::Conflict,
        CatalogError::Rejected { .. } => ErrorKind::CheckViolation,
        _ => ErrorKind::Data,
    }
}

fn datafusion_kind(e: &DataFusionError) -> ErrorKind {
    match e {
        DataFusionError::SQL(..) => ErrorKind::Syntax,
        DataFusionError::SchemaError(e, _) => match **e {
            SchemaError::FieldNotFound { .. } => ErrorKind::Undefined(Missing::Column),
            SchemaError::AmbiguousReference { .. } => ErrorKind::AmbiguousColumn,
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => ErrorKind::DuplicateColumn,
        },
        DataFusionError::ResourcesExhausted(_) => ErrorKind::OutOfMemory,
        DataFusionError::NotImplemented(_) => ErrorKind::NotSupported,
        DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => ErrorKind::Io,
        DataFusionError::ArrowError(e, _) => match **e {
            ArrowError::DivideByZero => ErrorKind::DivisionByZero,
            ArrowError::CastError(_) | ArrowError::ParseError(_) => ErrorKind::InvalidText,
            _ => ErrorKind::Data,
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            datafusion_kind(inner)
        }
        DataFusionError::Shared(inner) => datafusion_kind(inner),
        DataFusionError::External(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(e) => datafusion_kind(e),
            None => match (
                inner.downcast_ref::<SqlError>(),
                inner.downcast_ref::<CatalogError>(),
            ) {
                (Some(e), _) => e.kind(),
                (_, Some(e)) => catalog_kind(e),
                _ => ErrorKind::FrontEnd,
            },
        },
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => message_kind(m),
        _ => ErrorKind::Internal,
    }
}

/// DataFusion reports several distinct conditions as plain planning or execution errors; this
/// is the one place their text is read.
fn message_kind(m: &str) -> ErrorKind {
    if m.contains("table") && m.contains("not found") {
        ErrorKind::Undefined(Missing::Table)
    } else if m.contains("Invalid function") || m.contains("function") && m.contains("not found") {
        ErrorKind::Undefined(Missing::Function)
    } else if m.contains("Divide by zero") || m.contains("division by zero") {
        ErrorKind::DivisionByZero
    } else if m.contains("Cannot cast") || m.contains("Error parsing") {
        ErrorKind::InvalidText
    } else {
        ErrorKind::Plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_file_error_has_one_kind_however_it_arrives() {
        use FileErrorKind::*;
        for kind in [Corrupt, Compression, Malformed, Schema, Missing, Io] {
            let file = || CatalogError::file("raw.crm.t", "/lake/raw/crm/t/a.csv", kind, "x");
            // At resolve time (a catalog error) and while reading (inside DataFusion's
            // wrappers): the same kind.
            assert_eq!(SqlError::Catalog(file()).kind(), ErrorKind::File(kind));
            let read =
                DataFusionError::Context("scan".into(), Box::new(DataFusionError::from(file())));
            assert_eq!(SqlError::DataFusion(read).kind(), ErrorKind::File(kind));
            let shared = DataFusionError::Shared(std::sync::Arc::new(file().into()));
            assert_eq!(SqlError::DataFusion(shared).kind(), ErrorKind::File(kind));
        }
    }

    #[test]
    fn memory_exhaustion_is_out_of_memory_however_wrapped() {
        let e = SqlError::DataFusion(DataFusionError::ResourcesExhausted("pool".into()));
        assert_eq!(e.kind(), ErrorKind::OutOfMemory);
        let wrapped = SqlError::DataFusion(DataFusionError::Context(
            "sort".into(),
            Box::new(DataFusionError::ResourcesExhausted("pool".into())),
        ));
        assert_eq!(wrapped.kind(), ErrorKind::OutOfMemory);
    }

    #[test]
    fn a_hook_error_inside_datafusion_keeps_its_kind() {
        let inner = SqlError::new(ErrorKind::InvalidValue, "bad format");
        let e = SqlError::DataFusion(DataFusionError::External(Box::new(inner)));
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
    }
}
