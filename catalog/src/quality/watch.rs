//! The anomaly watch over table metadata (docs/quality.md#anomalies): builds each table's volume
//! series from what the Delta log and the listing already know — one point per batch of a Delta
//! table, one per UTC day of ingestion of a plain table — and scores it with
//! [`crate::quality::anomaly`]. Never reads a data row: a Delta table's series comes from its
//! commits alone, a plain table's from its resolved files (Parquet footers, file times,
//! partition folders). `strata.anomalies` and `strata check` both call [`anomalies`].
use crate::batches::summarize;
use crate::delta::files::{read_commits, Commit, CONVERT_OPERATION};
use crate::delta::QUARANTINE_SUFFIX;
use crate::error::{CatalogError, Result};
use crate::lake::Lake;
use crate::quality::anomaly::{
    detect, freshness, newest_verdict, Anomaly, Freshness, Point, Verdict, WatchSettings,
};
use crate::TableName;
use futures::StreamExt;
use std::collections::BTreeMap;

/// One day in µs.
const DAY_US: i64 = 86_400_000_000;

/// Tables judged at once (resolving a plain table may read footers).
const CONCURRENCY: usize = 8;

/// Commits that add no new batch of rows: they remove, rewrite or re-register rows already
/// counted. A `CONVERT` registers files written before the table was a Delta table, all in one
/// commit; the series starts with the first write after it.
const NOT_BATCHES: &[&str] = &[
    "DELETE",
    "UPDATE",
    "MERGE",
    "OPTIMIZE",
    "RESTORE",
    "REORG",
    "VACUUM START",
    "VACUUM END",
    CONVERT_OPERATION,
];

/// What a volume series counts: rows when every point of the series knows its rows (Delta
/// statistics, Parquet footers), else bytes for every point, so one series never mixes the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Rows,
    Bytes,
}

impl Unit {
    /// The name shown in `strata.anomalies.unit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Rows => "rows",
            Unit::Bytes => "bytes",
        }
    }
}

/// One point before its unit is chosen: its time, rows (when known) and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RawPoint {
    at: i64,
    rows: Option<i64>,
    bytes: i64,
    /// The newest ingestion the point holds (µs): freshness is judged on these.
    newest: i64,
}

/// A table's metadata series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub unit: Unit,
    /// Volume points, oldest first.
    pub points: Vec<Point>,
    /// When each point's newest rows were ingested, oldest first.
    pub ingested: Vec<i64>,
}

/// The verdicts on one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub series: Series,
    /// Every volume point that is an anomaly, oldest first.
    pub anomalies: Vec<Anomaly>,
    /// The verdict on the newest volume point; `NoVerdict` says how many points there are and
    /// how many a verdict needs.
    pub newest: Verdict,
    /// None when freshness is off for the table, or fewer than `min_points` intervals are known.
    pub freshness: Option<Freshness>,
}

/// One table of the watch: its name (a base table, never `_history`), its settings and verdicts,
/// or why its series could not be built (a table whose files cannot be read).
#[derive(Debug)]
pub struct TableWatch {
    pub table: TableName,
    pub settings: WatchSettings,
    pub watched: Result<Watched>,
}

/// The watch over `tables` (every table of the lake when empty), now. A `_history` name counts
/// as its table: it is the same feed. Unknown names are an error.
pub async fn anomalies(lake: &Lake, tables: &[TableName]) -> Result<Vec<TableWatch>> {
    anomalies_at(lake, tables, chrono::Utc::now().timestamp_micros()).await
}

/// [`anomalies`] with lateness judged at `now_us` (µs since the epoch).
pub async fn anomalies_at(
    lake: &Lake,
    tables: &[TableName],
    now_us: i64,
) -> Result<Vec<TableWatch>> {
    let names: Vec<TableName> = if tables.is_empty() {
        lake.listing().tables.keys().cloned().collect()
    } else {
        let mut names = Vec::with_capacity(tables.len());
        for t in tables {
            let (base, _) = lake
                .base_of(t)
                .ok_or_else(|| CatalogError::table(t, "no such table in the lake"))?;
            if !names.contains(&base) {
                names.push(base);
            }
        }
        names
    };
    let watches = futures::stream::iter(names)
        .map(|name| async move {
            let settings = lake.config().watch_settings(&name.to_string()).clone();
            let watched = match series(lake, &name).await {
                Ok(series) => Ok(judge(&name, series, &settings, now_us)),
                Err(e) => Err(e),
            };
            TableWatch {
                table: name,
                settings,
                watched,
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    Ok(watches)
}

/// Scores `series` with `settings`. A quarantine table gets no freshness verdict: no rejected
/// rows for a while is good news, not a late feed.
fn judge(name: &TableName, series: Series, settings: &WatchSettings, now_us: i64) -> Watched {
    let s = &settings.scoring;
    let quarantine = name.table.ends_with(QUARANTINE_SUFFIX);
    let freshness = (settings.freshness && !quarantine)
        .then(|| freshness(&series.ingested, now_us, s))
        .flatten();
    Watched {
        anomalies: detect(&series.points, s),
        newest: newest_verdict(&series.points, s),
        freshness,
        series,
    }
}

/// The volume series of base table `name`: from the Delta log for a Delta table, else from its
/// resolved files.
pub async fn series(lake: &Lake, name: &TableName) -> Result<Series> {
    let listing = lake.listing();
    let discovered = listing
        .tables
        .get(name)
        .ok_or_else(|| CatalogError::table(name, "no such table in the lake"))?;
    let raw = match &discovered.delta_log {
        Some(log) => {
            let store = lake.store();
            let commits =
                read_commits(store, &discovered.dir, log, i64::MAX, lake.log_cache()).await?;
            batch_points(&commits)
        }
        None => {
            let table = lake.resolve(name).await?;
            day_points(table.files.iter().map(|f| FileFacts {
                ingest_min: f.ingest_min,
                ingest_max: f.ingest_max,
                rows: f.rows.map(|r| r as i64),
                bytes: f.meta.size as i64,
            }))
        }
    };
    Ok(to_series(raw))
}

/// One point per commit that adds a batch of rows, at the commit's time (for a batch Strata
/// wrote, its rows' `_ingested_at`).
fn batch_points(commits: &[Commit]) -> Vec<RawPoint> {
    commits
        .iter()
        .filter_map(|c| {
            let s = summarize(c);
            let op = s.operation.as_deref().unwrap_or("");
            if s.data_files_added == 0 || NOT_BATCHES.contains(&op) {
                return None;
            }
            let at = c.visible_from();
            Some(RawPoint {
                at,
                rows: s.rows_added,
                bytes: s.bytes_added,
                newest: at,
            })
        })
        .collect()
}

/// What a plain table's file tells the watch without being read.
#[derive(Debug, Clone, Copy)]
struct FileFacts {
    ingest_min: Option<i64>,
    ingest_max: Option<i64>,
    rows: Option<i64>,
    bytes: i64,
}

/// One point per UTC day of ingestion, at the day's midnight; a file counts on the day of its
/// oldest ingestion time. Files whose ingestion time is unknown without reading them (a CSV file
/// whose rows carry their own time) are left out.
fn day_points(files: impl Iterator<Item = FileFacts>) -> Vec<RawPoint> {
    let mut days: BTreeMap<i64, RawPoint> = BTreeMap::new();
    for f in files {
        let Some(min) = f.ingest_min else {
            continue;
        };
        let day = min.div_euclid(DAY_US) * DAY_US;
        let newest = f.ingest_max.unwrap_or(min).max(min);
        let p = days.entry(day).or_insert(RawPoint {
            at: day,
            rows: Some(0),
            bytes: 0,
            newest,
        });
        p.rows = p.rows.zip(f.rows).map(|(a, b)| a + b);
        p.bytes += f.bytes;
        p.newest = p.newest.max(newest);
    }
    days.into_values().collect()
}

/// The series in rows when every point knows them, else in bytes.
fn to_series(mut raw: Vec<RawPoint>) -> Series {
    raw.sort_by_key(|p| p.at);
    let rows: Option<Vec<i64>> = raw.iter().map(|p| p.rows).collect();
    let (unit, values): (Unit, Vec<i64>) = match rows {
        Some(r) => (Unit::Rows, r),
        None => (Unit::Bytes, raw.iter().map(|p| p.bytes).collect()),
    };
    Series {
        unit,
        points: raw
            .iter()
            .zip(values)
            .map(|(p, v)| Point {
                at: p.at,
                value: v as f64,
            })
            .collect(),
        ingested: raw.iter().map(|p| p.newest).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::anomaly::Kind;
    use deltalake::kernel::{Action, Add, CommitInfo, Remove};
    use serde_json::json;
    use std::sync::Arc;

    fn add(rows: Option<i64>, size: i64, data_change: bool) -> Action {
        Action::Add(Add {
            path: format!("part-{size}.parquet"),
            size,
            data_change,
            stats: rows.map(|r| json!({ "numRecords": r }).to_string()),
            ..Default::default()
        })
    }

    fn info(op: &str, stamp: Option<i64>) -> Action {
        let mut info = CommitInfo {
            operation: Some(op.into()),
            ..Default::default()
        };
        if let Some(t) = stamp {
            info.info
                .insert(crate::delta::write::INFO_INGESTED_AT.into(), json!(t));
        }
        Action::CommitInfo(info)
    }

    fn commit(version: i64, actions: Vec<Action>) -> Commit {
        Commit {
            version,
            committed_at: version * 10_000,
            actions: Arc::new(actions),
        }
    }

    #[test]
    fn delta_points_are_batches_that_add_rows_at_their_stamp() {
        let commits = vec![
            commit(0, vec![info("CREATE TABLE", None)]),
            commit(
                1,
                vec![info("WRITE", Some(5_000)), add(Some(10), 100, true)],
            ),
            commit(
                2,
                vec![
                    info("WRITE", Some(6_000)),
                    add(Some(3), 30, true),
                    add(Some(4), 40, true),
                ],
            ),
            // Removes and rewrites: not new batches.
            commit(
                3,
                vec![
                    info("DELETE", None),
                    Action::Remove(Remove::default()),
                    add(Some(5), 50, true),
                ],
            ),
            commit(4, vec![info("OPTIMIZE", None), add(Some(17), 170, false)]),
            // A writer that keeps no stamp: the commit file's time.
            commit(5, vec![info("WRITE", None), add(Some(2), 20, true)]),
        ];
        let s = to_series(batch_points(&commits));
        assert_eq!(s.unit, Unit::Rows);
        let pts: Vec<(i64, f64)> = s.points.iter().map(|p| (p.at, p.value)).collect();
        assert_eq!(pts, vec![(5_000, 10.0), (6_000, 7.0), (50_000, 2.0)]);
        assert_eq!(s.ingested, vec![5_000, 6_000, 50_000]);
    }

    #[test]
    fn a_batch_without_row_counts_makes_the_whole_series_bytes() {
        let commits = vec![
            commit(1, vec![info("WRITE", Some(1)), add(Some(10), 100, true)]),
            commit(2, vec![info("WRITE", Some(2)), add(None, 70, true)]),
        ];
        let s = to_series(batch_points(&commits));
        assert_eq!(s.unit, Unit::Bytes);
        let values: Vec<f64> = s.points.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![100.0, 70.0]);
    }

    fn file(day: i64, hour: i64, rows: Option<i64>, bytes: i64) -> FileFacts {
        let t = day * DAY_US + hour * 3_600_000_000;
        FileFacts {
            ingest_min: Some(t),
            ingest_max: Some(t + 60_000_000),
            rows,
            bytes,
        }
    }

    #[test]
    fn plain_points_are_utc_days_of_ingestion() {
        let files = vec![
            file(20_000, 23, Some(5), 50),
            file(20_000, 1, Some(7), 70),
            file(20_001, 0, Some(1), 10),
            FileFacts {
                ingest_min: None,
                ingest_max: None,
                rows: Some(1_000),
                bytes: 1,
            },
        ];
        let s = to_series(day_points(files.into_iter()));
        assert_eq!(s.unit, Unit::Rows);
        let pts: Vec<(i64, f64)> = s.points.iter().map(|p| (p.at, p.value)).collect();
        assert_eq!(pts, vec![(20_000 * DAY_US, 12.0), (20_001 * DAY_US, 1.0)]);
        let last_of_day_one = 20_000 * DAY_US + 23 * 3_600_000_000 + 60_000_000;
        assert_eq!(
            s.ingested,
            vec![last_of_day_one, 20_001 * DAY_US + 60_000_000]
        );
        // One file of a day without a footer count: bytes, for every day.
        let s = to_series(day_points(
            vec![file(20_000, 1, Some(7), 70), file(20_001, 1, None, 30)].into_iter(),
        ));
        assert_eq!(s.unit, Unit::Bytes);
        assert_eq!(s.points[0].value, 70.0);
    }

    #[test]
    fn judging_a_series_finds_the_drop_and_lateness() {
        let mut files: Vec<FileFacts> = (0..20)
            .map(|d| file(20_000 + d, 2, Some(100 + d % 3), 1))
            .collect();
        files[15].rows = Some(30);
        let series = to_series(day_points(files.into_iter()));
        let name = TableName::new("raw", "s", "t");
        let now = 20_020 * DAY_US + 2 * 3_600_000_000;
        let w = judge(&name, series.clone(), &WatchSettings::default(), now);
        assert_eq!(w.anomalies.len(), 1, "{:?}", w.anomalies);
        assert_eq!(w.anomalies[0].at, 20_015 * DAY_US);
        assert_eq!(w.anomalies[0].kind, Kind::Drop);
        assert!(matches!(w.newest, Verdict::Normal { .. }));
        assert!(!w.freshness.as_ref().unwrap().late);
        let w = judge(
            &name,
            series.clone(),
            &WatchSettings::default(),
            now + 3 * DAY_US,
        );
        assert!(w.freshness.unwrap().late);
        // Off for the table, or a quarantine table: no freshness verdict.
        let off = WatchSettings {
            freshness: false,
            ..Default::default()
        };
        assert_eq!(
            judge(&name, series.clone(), &off, now + 3 * DAY_US).freshness,
            None
        );
        let q = TableName::new("raw", "s", "t_quarantine");
        let w = judge(&q, series, &WatchSettings::default(), now + 3 * DAY_US);
        assert_eq!(w.freshness, None);
    }
}
