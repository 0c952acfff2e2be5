//! Table providers over resolved lake tables: history/append scans, latest-per-key views and
//! newest-snapshot views.
mod history;
mod latest;
mod newest;
mod snapshot;

pub use history::HistoryTable;
pub use latest::LatestTable;
pub use newest::NewestPerKeyExec;
pub use snapshot::SnapshotTable;
