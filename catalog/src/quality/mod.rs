//! Data quality (docs/quality.md): expectations checked on every write before it commits, the
//! quarantine of rows that break them, `strata check`, and the anomaly watch over table metadata.
pub mod anomaly;
pub mod check;
pub mod expect;
pub mod gate;
pub mod unique;
pub mod watch;
#[cfg(test)]
mod watch_reads;
