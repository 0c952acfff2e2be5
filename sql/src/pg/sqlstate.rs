//! SQLSTATE codes for Strata's errors, so clients can tell an unknown table (42P01) from a
//! syntax error (42601) or a query that ran out of memory (53200) without parsing messages.
//!
//! A file that cannot be read gets one code per kind of failure, whether it shows while the
//! table's schema is read or while rows are (README.md, "Errors", has the table):
//! corrupt file or compressed stream XX001 `data_corrupted`, rows of a text format that do not
//! parse 22P04 `bad_copy_file_format` (PostgreSQL's code for a COPY file that does not parse),
//! a schema that conflicts with the table's 42804 `datatype_mismatch`, a listed file that is
//! gone 58P01 `undefined_file`, and a store that fails to deliver 58030 `io_error`.
use crate::SqlError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use strata_catalog::{CatalogError, FileErrorKind};

pub const SYNTAX_ERROR: &str = "42601";
pub const UNDEFINED_TABLE: &str = "42P01";
pub const UNDEFINED_COLUMN: &str = "42703";
pub const UNDEFINED_FUNCTION: &str = "42883";
pub const UNDEFINED_OBJECT: &str = "42704";
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
pub const QUERY_CANCELED: &str = "57014";
pub const OUT_OF_MEMORY: &str = "53200";
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
pub const DATA_EXCEPTION: &str = "22000";
pub const DIVISION_BY_ZERO: &str = "22012";
pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
pub const INVALID_PARAMETER_VALUE: &str = "22023";
pub const INVALID_CURSOR_NAME: &str = "34000";
pub const DUPLICATE_CURSOR: &str = "42P03";
pub const DUPLICATE_TABLE: &str = "42P07";
pub const READ_ONLY: &str = "25006";
pub const IO_ERROR: &str = "58030";
pub const UNDEFINED_FILE: &str = "58P01";
pub const DATA_CORRUPTED: &str = "XX001";
pub const BAD_FILE_FORMAT: &str = "22P04";
pub const DATATYPE_MISMATCH: &str = "42804";
pub const INTERNAL_ERROR: &str = "XX000";

impl SqlError {
    /// The SQLSTATE a Postgres client gets for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            SqlError::Syntax(_) => SYNTAX_ERROR,
            SqlError::NotFound { message } => not_found_code(message),
            SqlError::Catalog(e) => catalog_code(e),
            SqlError::DataFusion(e) => datafusion_code(e),
            SqlError::Denied(_) => INSUFFICIENT_PRIVILEGE,
            SqlError::Pg { code, .. } => code,
        }
    }
}

fn not_found_code(message: &str) -> &'static str {
    if message.contains("column") || message.contains("field") {
        UNDEFINED_COLUMN
    } else if message.contains("function") {
        UNDEFINED_FUNCTION
    } else if message.contains("zone") {
        UNDEFINED_OBJECT
    } else {
        UNDEFINED_TABLE
    }
}

fn catalog_code(e: &CatalogError) -> &'static str {
    match e {
        CatalogError::DataFusion(e) => datafusion_code(e),
        CatalogError::Value(_) => INVALID_PARAMETER_VALUE,
        CatalogError::Store { .. } => IO_ERROR,
        CatalogError::File { kind, .. } => file_code(*kind),
        _ => DATA_EXCEPTION,
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

fn datafusion_code(e: &DataFusionError) -> &'static str {
    match e {
        DataFusionError::SQL(..) => SYNTAX_ERROR,
        DataFusionError::SchemaError(e, _) => match **e {
            SchemaError::FieldNotFound { .. } => UNDEFINED_COLUMN,
            SchemaError::AmbiguousReference { .. } => "42702",
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => "42701",
        },
        DataFusionError::ResourcesExhausted(_) => OUT_OF_MEMORY,
        DataFusionError::NotImplemented(_) => FEATURE_NOT_SUPPORTED,
        DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => IO_ERROR,
        DataFusionError::ArrowError(e, _) => match **e {
            datafusion::arrow::error::ArrowError::DivideByZero => DIVISION_BY_ZERO,
            datafusion::arrow::error::ArrowError::CastError(_)
            | datafusion::arrow::error::ArrowError::ParseError(_) => INVALID_TEXT_REPRESENTATION,
            _ => DATA_EXCEPTION,
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            datafusion_code(inner)
        }
        DataFusionError::Shared(inner) => datafusion_code(inner),
        DataFusionError::External(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(e) => datafusion_code(e),
            None => match (
                inner.downcast_ref::<SqlError>(),
                inner.downcast_ref::<CatalogError>(),
            ) {
                (Some(e), _) => e.sqlstate(),
                (_, Some(e)) => catalog_code(e),
                _ => INTERNAL_ERROR,
            },
        },
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => message_code(m),
        _ => INTERNAL_ERROR,
    }
}

/// DataFusion reports several distinct conditions as plain planning or execution errors.
fn message_code(m: &str) -> &'static str {
    if m.contains("table") && m.contains("not found") {
        UNDEFINED_TABLE
    } else if m.contains("Invalid function") || m.contains("function") && m.contains("not found") {
        UNDEFINED_FUNCTION
    } else if m.contains("Divide by zero") || m.contains("division by zero") {
        DIVISION_BY_ZERO
    } else if m.contains("Cannot cast") || m.contains("Error parsing") {
        INVALID_TEXT_REPRESENTATION
    } else if m.contains("unrecognized configuration parameter") {
        UNDEFINED_OBJECT
    } else {
        "42000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_get_their_own_codes() {
        let table = SqlError::NotFound {
            message: "table 'enhanced.public.ordrs' not found (did you mean …?)".into(),
        };
        assert_eq!(table.sqlstate(), UNDEFINED_TABLE);
        let column = SqlError::NotFound {
            message: "column 'x' not found".into(),
        };
        assert_eq!(column.sqlstate(), UNDEFINED_COLUMN);
        assert_eq!(SqlError::Syntax("x".into()).sqlstate(), SYNTAX_ERROR);
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
            // At resolve time (a catalog error) and while reading (inside DataFusion's
            // wrappers): the same code.
            assert_eq!(SqlError::Catalog(file()).sqlstate(), code, "{kind:?}");
            let read =
                DataFusionError::Context("scan".into(), Box::new(DataFusionError::from(file())));
            assert_eq!(SqlError::DataFusion(read).sqlstate(), code, "{kind:?}");
            let shared = DataFusionError::Shared(std::sync::Arc::new(file().into()));
            assert_eq!(SqlError::DataFusion(shared).sqlstate(), code, "{kind:?}");
        }
    }

    #[test]
    fn memory_exhaustion_is_out_of_memory() {
        let e = SqlError::DataFusion(DataFusionError::ResourcesExhausted("pool".into()));
        assert_eq!(e.sqlstate(), OUT_OF_MEMORY);
        let wrapped = SqlError::DataFusion(DataFusionError::Context(
            "sort".into(),
            Box::new(DataFusionError::ResourcesExhausted("pool".into())),
        ));
        assert_eq!(wrapped.sqlstate(), OUT_OF_MEMORY);
    }
}
