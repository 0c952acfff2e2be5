//! The sample lake's daily feed `raw.web.pageviews`: eight weeks of page views, one Parquet
//! file per day under `dt=YYYY-MM-DD/`, fewer on weekends (a weekly season) and one real
//! anomaly — on Wednesday 2026-01-14 an upstream export broke and only a third of the day's views
//! arrived — so `SELECT * FROM strata.anomalies` shows a newcomer exactly one row
//! (docs/quality.md#anomalies).
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// Days in the feed: eight weeks, Monday 2025-12-01 to Sunday 2026-01-25.
pub(crate) const FEED_DAYS: u32 = 56;

/// Usual views per weekday, Monday first.
const WEEK: [usize; 7] = [118, 124, 126, 122, 112, 58, 46];

/// The broken day and what arrived of it.
pub(crate) const DROP_DAY: (u32, u32) = (1, 14);
const DROP_VIEWS: usize = 42;

const PAGES: [&str; 6] = ["/", "/pricing", "/docs", "/blog", "/signup", "/checkout"];

/// One day of the feed.
pub(crate) struct FeedDay {
    pub date: NaiveDate,
    pub views: usize,
}

impl FeedDay {
    /// The day as `YYYY-MM-DD` (its partition folder).
    pub fn dt(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    /// When the day's file was written (seconds): by the nightly export at 00:20 the next day;
    /// December's history was loaded when the lake was set up, on 2026-01-01 at 00:20 (the `dt`
    /// folders, not these times, are the ingestion time).
    pub fn mtime(&self) -> i64 {
        let next = self.date.succ_opt().expect("a next day");
        let written = next
            .and_hms_opt(0, 20, 0)
            .expect("a time")
            .and_utc()
            .timestamp();
        written.max(super::jan(1, 0, 20, 0))
    }
}

/// Every day of the feed, oldest first. Views vary by a fixed pseudo-random ±8 around the
/// weekday's usual count: noise the watch must not flag.
pub(crate) fn pageview_days() -> Vec<FeedDay> {
    let first = NaiveDate::from_ymd_opt(2025, 12, 1).expect("a valid date");
    (0..FEED_DAYS)
        .map(|i| {
            let date = first + chrono::Days::new(u64::from(i));
            let usual = WEEK[date.weekday().num_days_from_monday() as usize];
            let noise = (i as i64 * 7919 + 13) % 17 - 8;
            let views = if (date.month(), date.day()) == DROP_DAY && date.year() == 2026 {
                DROP_VIEWS
            } else {
                (usual as i64 + noise) as usize
            };
            FeedDay { date, views }
        })
        .collect()
}

/// The day's page views: when (spread over the day), which page, which user.
pub(crate) fn pageviews_batch(day: &FeedDay) -> RecordBatch {
    let midnight = day
        .date
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros();
    let n = day.views as i64;
    let step = 86_400_000_000 / n.max(1);
    let schema = Schema::new(vec![
        Field::new(
            "viewed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("page", DataType::Utf8, false),
        Field::new("user_id", DataType::Int64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(
                TimestampMicrosecondArray::from_iter_values((0..n).map(|i| midnight + i * step))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| PAGES[(i * 5 + n) as usize % PAGES.len()]),
            )),
            Arc::new(Int64Array::from_iter_values(
                (0..n).map(|i| 1 + (i * 37 + n) % 400),
            )),
        ],
    )
    .expect("page views batch")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::anomaly::{detect, AnomalySettings, Kind, Point};

    fn series() -> Vec<Point> {
        pageview_days()
            .iter()
            .map(|d| Point {
                at: d
                    .date
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_micros(),
                value: d.views as f64,
            })
            .collect()
    }

    /// The feed shows what it is for: one drop, found through the weekly season, and no false
    /// alarm on weekends or noise.
    #[test]
    fn the_feed_has_one_seasonal_drop_and_nothing_else() {
        let found = detect(&series(), &AnomalySettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        let jan14 = NaiveDate::from_ymd_opt(2026, 1, 14).unwrap();
        assert_eq!(
            a.at,
            jan14
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros()
        );
        assert_eq!((a.kind, a.seasonal, a.value), (Kind::Drop, true, 42.0));
        let days = pageview_days();
        assert_eq!(days.first().unwrap().dt(), "2025-12-01");
        assert_eq!(days.last().unwrap().dt(), "2026-01-25");
    }
}
