//! Strata's integration tests, one module per area: the CLI and REPL as programs, SQL behaviour
//! from `.slt` files, the rules of docs/tables.md on purpose-built lakes, bad input, and S3;
//! `setup` installs the client programs they drive on first use.
mod bad_input;
mod cli;
mod cluster;
mod delta;
mod dispatch;
mod explore;
mod lakes;
mod quality;
mod repl;
mod rules;
mod s3;
mod server;
mod setup;
mod slt;
mod summarize;
