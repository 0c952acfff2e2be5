//! SQLSTATE codes: the one table that turns Strata's typed errors into the codes PostgreSQL
//! clients act on, so they can tell an unknown table (42P01) from a syntax error (42601) or a
//! query that ran out of memory (53200) without parsing messages (docs/server.md, "Errors").
//!
//! A file that cannot be read gets one code per kind of failure, whether it shows while the
//! table's schema is read or while rows are: corrupt file or compressed stream XX001
//! `data_corrupted`, rows of a text format that do not parse 22P04 `bad_copy_file_format`
//! (PostgreSQL's code for a COPY file that does not parse), a schema that conflicts with the
//! table's 42804 `datatype_mismatch`, a listed file that is gone 58P01 `undefined_file`, and a
//! store that fails to deliver 58030 `io_error`.
use datafusion::error::DataFusionError;
use strata_catalog::FileErrorKind;
use strata_sql::{ErrorKind, Missing, SqlError};

pub const SUCCESSFUL_COMPLETION: &str = "00000";
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
pub const INVALID_AUTHORIZATION: &str = "28000";
pub const INVALID_PASSWORD: &str = "28P01";
pub const INVALID_CATALOG_NAME: &str = "3D000";
pub const DATA_EXCEPTION: &str = "22000";
pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
pub const INVALID_DATETIME_FORMAT: &str = "22007";
pub const DIVISION_BY_ZERO: &str = "22012";
pub const INVALID_PARAMETER_VALUE: &str = "22023";
pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
pub const BAD_FILE_FORMAT: &str = "22P04";
pub const READ_ONLY: &str = "25006";
/// A write that lost a race with another writer (PostgreSQL's serialization_failure: retry).
pub const SERIALIZATION_FAILURE: &str = "40001";
/// A write broke its table's expectations (docs/quality.md): nothing was committed.
pub const CHECK_VIOLATION: &str = "23514";
pub const IN_FAILED_TRANSACTION: &str = "25P02";
pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
pub const INVALID_CURSOR_NAME: &str = "34000";
pub const SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION: &str = "42000";
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
pub const SYNTAX_ERROR: &str = "42601";
pub const DUPLICATE_COLUMN: &str = "42701";
pub const AMBIGUOUS_COLUMN: &str = "42702";
pub const UNDEFINED_COLUMN: &str = "42703";
pub const UNDEFINED_OBJECT: &str = "42704";
pub const DATATYPE_MISMATCH: &str = "42804";
pub const UNDEFINED_FUNCTION: &str = "42883";
pub const UNDEFINED_TABLE: &str = "42P01";
pub const UNDEFINED_PARAMETER: &str = "42P02";
pub const DUPLICATE_CURSOR: &str = "42P03";
pub const DUPLICATE_TABLE: &str = "42P07";
pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
pub const STATEMENT_TOO_COMPLEX: &str = "54001";
pub const TOO_MANY_CONNECTIONS: &str = "53300";
pub const OUT_OF_MEMORY: &str = "53200";
pub const QUERY_CANCELED: &str = "57014";
pub const ADMIN_SHUTDOWN: &str = "57P01";
pub const IO_ERROR: &str = "58030";
pub const UNDEFINED_FILE: &str = "58P01";
pub const PROTOCOL_VIOLATION: &str = "08P01";
pub const INTERNAL_ERROR: &str = "XX000";
pub const DATA_CORRUPTED: &str = "XX001";
pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
pub const NOT_NULL_VIOLATION: &str = "23502";

/// An error of the Postgres front end in PostgreSQL's own terms: the hook, its functions and
/// the server raise these for conditions only PostgreSQL clients have (a cursor that does not
/// exist, a `to_char` template error).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PgError {
    pub code: &'static str,
    pub message: String,
}

impl PgError {
    pub fn new(code: &'static str, message: impl Into<String>) -> PgError {
        PgError {
            code,
            message: message.into(),
        }
    }
}

impl From<PgError> for SqlError {
    fn from(e: PgError) -> SqlError {
        SqlError::Hook(Box::new(e))
    }
}

impl From<PgError> for DataFusionError {
    fn from(e: PgError) -> DataFusionError {
        DataFusionError::External(Box::new(SqlError::from(e)))
    }
}

/// The SQLSTATE a Postgres client gets for `e`.
pub fn of(e: &SqlError) -> &'static str {
    match e.kind() {
        ErrorKind::FrontEnd => pg_code(e).unwrap_or(INTERNAL_ERROR),
        kind => code(kind),
    }
}

/// The message a client sees: the error in its own words, without the prefixes DataFusion's
/// wrappers add ("External error: ", "Error during planning: ", "Arrow error: "), which say
/// where in the engine an error passed, not what went wrong.
pub fn message(e: &SqlError) -> String {
    match e {
        SqlError::DataFusion(e)
        | SqlError::Catalog(strata_catalog::CatalogError::DataFusion(e)) => datafusion_message(e),
        other => other.to_string(),
    }
}

fn datafusion_message(e: &DataFusionError) -> String {
    use datafusion::arrow::error::ArrowError;
    match e {
        DataFusionError::External(inner) => {
            if let Some(e) = inner.downcast_ref::<SqlError>() {
                return message(e);
            }
            if let Some(e) = inner.downcast_ref::<DataFusionError>() {
                return datafusion_message(e);
            }
            inner.to_string()
        }
        DataFusionError::Shared(inner) => datafusion_message(inner),
        DataFusionError::Diagnostic(_, inner) => datafusion_message(inner),
        DataFusionError::Context(context, inner) => {
            format!("{context}: {}", datafusion_message(inner))
        }
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => m.trim_end().to_string(),
        DataFusionError::ArrowError(e, _) => match e.as_ref() {
            ArrowError::DivideByZero => "division by zero".into(),
            ArrowError::ExternalError(inner) => match inner.downcast_ref::<DataFusionError>() {
                Some(e) => datafusion_message(e),
                None => inner.to_string(),
            },
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// The code of each kind of error.
pub fn code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Syntax => SYNTAX_ERROR,
        ErrorKind::Undefined(Missing::Table) => UNDEFINED_TABLE,
        ErrorKind::Undefined(Missing::Column) => UNDEFINED_COLUMN,
        ErrorKind::Undefined(Missing::Function) => UNDEFINED_FUNCTION,
        ErrorKind::Undefined(Missing::Object) => UNDEFINED_OBJECT,
        ErrorKind::Undefined(Missing::Database) => INVALID_CATALOG_NAME,
        ErrorKind::Undefined(Missing::Cursor) => INVALID_CURSOR_NAME,
        ErrorKind::Undefined(Missing::Parameter) => UNDEFINED_PARAMETER,
        ErrorKind::Duplicate => DUPLICATE_TABLE,
        ErrorKind::AmbiguousColumn => AMBIGUOUS_COLUMN,
        ErrorKind::DuplicateColumn => DUPLICATE_COLUMN,
        ErrorKind::Permission => INSUFFICIENT_PRIVILEGE,
        ErrorKind::ReadOnly => READ_ONLY,
        ErrorKind::InvalidValue => INVALID_PARAMETER_VALUE,
        ErrorKind::InvalidText => INVALID_TEXT_REPRESENTATION,
        ErrorKind::DivisionByZero => DIVISION_BY_ZERO,
        ErrorKind::Data => DATA_EXCEPTION,
        ErrorKind::NotSupported => FEATURE_NOT_SUPPORTED,
        ErrorKind::TooComplex => STATEMENT_TOO_COMPLEX,
        ErrorKind::TooLong => PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::OutOfMemory => OUT_OF_MEMORY,
        ErrorKind::File(kind) => file_code(kind),
        ErrorKind::Io => IO_ERROR,
        ErrorKind::Plan => SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
        ErrorKind::Conflict => SERIALIZATION_FAILURE,
        ErrorKind::CheckViolation => CHECK_VIOLATION,
        ErrorKind::FrontEnd | ErrorKind::Internal => INTERNAL_ERROR,
        _ => INTERNAL_ERROR,
    }
}

/// The one SQLSTATE of each kind of file error (see the module's documentation).
pub fn file_code(kind: FileErrorKind) -> &'static str {
    match kind {
        FileErrorKind::Corrupt | FileErrorKind::Compression => DATA_CORRUPTED,
        FileErrorKind::Malformed => BAD_FILE_FORMAT,
        FileErrorKind::Schema => DATATYPE_MISMATCH,
        FileErrorKind::Missing => UNDEFINED_FILE,
        FileErrorKind::Io => IO_ERROR,
    }
}

/// The code of a [`PgError`] inside `e`, however it is wrapped.
fn pg_code(e: &SqlError) -> Option<&'static str> {
    fn in_datafusion(e: &DataFusionError) -> Option<&'static str> {
        match e {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                in_datafusion(inner)
            }
            DataFusionError::Shared(inner) => in_datafusion(inner),
            DataFusionError::External(inner) => {
                if let Some(e) = inner.downcast_ref::<PgError>() {
                    return Some(e.code);
                }
                if let Some(e) = inner.downcast_ref::<DataFusionError>() {
                    return in_datafusion(e);
                }
                inner.downcast_ref::<SqlError>().map(of)
            }
            _ => None,
        }
    }
    match e {
        SqlError::Hook(inner) => inner.downcast_ref::<PgError>().map(|e| e.code),
        SqlError::DataFusion(e) => in_datafusion(e),
        SqlError::Catalog(strata_catalog::CatalogError::DataFusion(e)) => in_datafusion(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_catalog::CatalogError;

    #[test]
    fn unknown_names_get_their_own_codes() {
        let table = SqlError::NotFound {
            what: Missing::Table,
            message: "table 'enhanced.public.ordrs' not found (did you mean …?)".into(),
        };
        assert_eq!(of(&table), UNDEFINED_TABLE);
        let column = SqlError::NotFound {
            what: Missing::Column,
            message: "column 'x' not found".into(),
        };
        assert_eq!(of(&column), UNDEFINED_COLUMN);
        assert_eq!(of(&SqlError::Syntax("x".into())), SYNTAX_ERROR);
    }

    #[test]
    fn each_kind_of_file_error_has_one_code_however_it_arrives() {
        use FileErrorKind::*;
        for (kind, code) in [
            (Corrupt, DATA_CORRUPTED),
            (Compression, DATA_CORRUPTED),
            (Malformed, BAD_FILE_FORMAT),
            (Schema, DATATYPE_MISMATCH),
            (Missing, UNDEFINED_FILE),
            (Io, IO_ERROR),
        ] {
            let file = || CatalogError::file("raw.crm.t", "/lake/raw/crm/t/a.csv", kind, "x");
            assert_eq!(of(&SqlError::Catalog(file())), code, "{kind:?}");
            let read =
                DataFusionError::Context("scan".into(), Box::new(DataFusionError::from(file())));
            assert_eq!(of(&SqlError::DataFusion(read)), code, "{kind:?}");
        }
    }

    #[test]
    fn a_pg_error_keeps_its_code_inside_datafusion_errors() {
        let inner: DataFusionError = PgError::new("22007", "bad date format").into();
        let wrapped = DataFusionError::Context("to_date".into(), Box::new(inner));
        assert_eq!(of(&SqlError::DataFusion(wrapped)), "22007");
        assert_eq!(
            of(&PgError::new(INVALID_CURSOR_NAME, "x").into()),
            INVALID_CURSOR_NAME
        );
    }

    #[test]
    fn messages_lose_datafusions_wrapper_prefixes() {
        let hook: DataFusionError =
            PgError::new("22008", "date/time field value out of range").into();
        assert_eq!(
            message(&SqlError::DataFusion(hook)),
            "date/time field value out of range"
        );
        let plan = DataFusionError::Plan("table 'raw.crm.x' not found".into());
        assert_eq!(
            message(&SqlError::DataFusion(plan)),
            "table 'raw.crm.x' not found"
        );
        let divide = DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::DivideByZero),
            None,
        );
        assert_eq!(message(&SqlError::DataFusion(divide)), "division by zero");
        assert_eq!(message(&SqlError::Syntax("x".into())), "syntax error: x");
    }

    #[test]
    fn memory_exhaustion_is_out_of_memory() {
        let e = SqlError::DataFusion(DataFusionError::ResourcesExhausted("pool".into()));
        assert_eq!(of(&e), OUT_OF_MEMORY);
    }
}
