//! Strata over the PostgreSQL wire protocol. [`PgEngine`] makes Postgres sessions: a
//! `strata_sql::Session` with `pg_catalog`, Postgres functions and settings, and a
//! [`StatementHook`](strata_sql::StatementHook) for the statements clients send that Strata
//! itself does not know (transactions, cursors, COPY TO STDOUT, catalog queries). The server
//! ([`server`]) speaks the protocol and encodes results ([`wire`]); errors become SQLSTATEs
//! ([`sqlstate`]). docs/server.md is what users see; docs/architecture.md walks one query
//! through these files.
mod compat;
mod copy_in;
mod cursor;
mod engine;
mod hook;
mod parse;
pub mod server;
pub mod settings;
pub mod sqlstate;
pub mod wire;

pub use compat::{pg_type_name, version_string, wire_name};
pub use engine::{PgEngine, PgSession, PgSessionOptions, SERVER_VERSION, SERVER_VERSION_NUM};
pub use settings::{display_name, Settings};
