//! PostgreSQL compatibility inside the engine: `pg_catalog` over the lake, Postgres functions
//! and formatting, untyped-literal coercion and the rewrites client catalog queries need to
//! plan. Nothing here knows the protocol.
mod attribute_types;
pub(crate) mod catalog;
mod catalog_sql;
mod format_fns;
mod format_template;
mod from_char;
pub(crate) mod functions;
pub(crate) mod literal_coercion;
pub(crate) mod oids;
pub(crate) mod overlay;
pub(crate) mod rewrite;
mod to_char;

pub use functions::{pg_type_name, version_string};
pub use rewrite::wire_name;
