//! `strata.anomalies` (docs/quality.md#anomalies): a Delta table's volume per batch from its log,
//! a plain table's per day of ingestion, the weekly season, too few points, lateness, settings
//! in `[lake]` and per table, and the zones a server user may read.
use crate::delta::ok;
use crate::lakes::{rows, value, TestLake};
use std::sync::Arc;
use strata::arrow::array::{Int64Array, RecordBatch};
use strata::arrow::datatypes::{DataType, Field, Schema};
use strata_catalog::quality::anomaly::Verdict;
use strata_catalog::quality::watch::{anomalies, Unit};
use strata_catalog::{Lake, TableName};

/// Every column but `at` (checked against the table's own stamps), z rounded.
const ROWS: &str = "SELECT zone, schema, \"table\", metric, unit, value, expected, round(z, 2), \
    kind, seasonal, newest FROM raw.strata.anomalies ORDER BY zone, schema, \"table\", at";

/// Batches of `counts` rows into `zone.s.name`, one INSERT (one Delta commit) each.
pub(super) async fn batches(s: &strata::Session, name: &str, counts: &[i64]) {
    for (i, n) in counts.iter().enumerate() {
        let select = format!("SELECT value AS id FROM generate_series(1, {n})");
        if i == 0 {
            ok(s, &format!("CREATE TABLE {name} AS {select}")).await;
        } else {
            ok(s, &format!("INSERT INTO {name} {select}")).await;
        }
    }
}

/// Batches written a few milliseconds apart look late a moment later: these tests judge volume.
pub(super) const VOLUME_ONLY: &str = "[lake]\nanomaly_freshness = false\n";

/// Nine batches of about 100 rows (mean exactly 100), then one of 500.
pub(super) const SPIKE: [i64; 10] = [100, 102, 98, 101, 99, 100, 103, 97, 100, 500];

#[tokio::test]
async fn a_delta_batch_five_times_the_usual_is_a_spike_and_stays_listed() {
    let lake = TestLake::new();
    lake.config(VOLUME_ONLY);
    let s = lake.session().await;
    batches(&s, "raw.s.t", &SPIKE).await;
    let expected = vec![vec![
        "raw", "s", "t", "volume", "rows", "500.0", "100.0", "213.81", "spike", "false", "true",
    ]];
    assert_eq!(rows(&s, ROWS).await, expected);
    // The point's time is its batch's `_ingested_at`.
    let at = "SELECT at = (SELECT max(_ingested_at) FROM raw.s.t) FROM raw.strata.anomalies";
    assert_eq!(value(&s, at).await, "true");
    // A later, usual batch: the spike is still listed, no longer the newest point.
    ok(
        &s,
        "INSERT INTO raw.s.t SELECT value AS id FROM generate_series(1, 100)",
    )
    .await;
    let got = rows(&s, ROWS).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0][5].as_str(), got[0][10].as_str()),
        ("500.0", "false")
    );
    // The same from every zone's strata schema.
    let n = "SELECT count(*) FROM enhanced.strata.anomalies";
    assert_eq!(value(&s, n).await, "1");
}

#[tokio::test]
async fn too_few_points_give_no_row_and_the_api_says_why() {
    let lake = TestLake::new();
    // Keyed, so that `t_history` names the same feed.
    lake.config(&format!(
        "{VOLUME_ONLY}[tables.\"raw.s.t\"]\nkey = \"id\"\n"
    ));
    let s = lake.session().await;
    // Seven batches, the last ten times the others: no verdict yet, so not an anomaly.
    batches(&s, "raw.s.t", &[100, 100, 101, 99, 100, 100, 1000]).await;
    assert!(rows(&s, ROWS).await.is_empty());
    let opened = Lake::open(&lake.uri()).await.unwrap();
    let w = anomalies(&opened, &[TableName::new("raw", "s", "t_history")])
        .await
        .unwrap();
    let watched = w[0].watched.as_ref().unwrap();
    assert_eq!(w[0].table.to_string(), "raw.s.t");
    assert_eq!(watched.series.unit, Unit::Rows);
    assert_eq!(
        watched.newest,
        Verdict::NoVerdict {
            points: 7,
            needed: 8
        }
    );
    assert!(watched.anomalies.is_empty() && watched.freshness.is_none());
    let e = anomalies(&opened, &[TableName::new("raw", "s", "nope")]).await;
    assert!(e.unwrap_err().to_string().contains("raw.s.nope"));
}

#[tokio::test]
async fn settings_per_table_override_the_lake() {
    let lake = TestLake::new();
    // The lake's threshold makes any wobble an anomaly; t's own is back to 3.
    lake.config("[lake]\nanomaly_threshold = 0.5\nanomaly_freshness = false\n[tables.\"raw.s.t\"]\nanomaly_threshold = 3\n");
    let s = lake.session().await;
    batches(&s, "raw.s.t", &SPIKE).await;
    batches(&s, "raw.s.u", &SPIKE).await;
    let flagged = "SELECT \"table\", count(*) FROM raw.strata.anomalies GROUP BY 1 ORDER BY 1";
    let got = rows(&s, flagged).await;
    assert_eq!(got[0], vec!["t", "1"]);
    assert_eq!(got[1][0], "u");
    assert!(got[1][1].parse::<i64>().unwrap() > 1, "{got:?}");
}

#[tokio::test]
async fn out_of_range_settings_refuse_the_lake_with_line_and_setting() {
    let lake = TestLake::new();
    let file = format!("{}/strata.toml", lake.uri());
    for (toml, wanted) in [
        (
            "[lake]\nrefresh = \"5s\"\nanomaly_window = 5\n",
            "line 3: [lake] anomaly_window = 5: must be at least anomaly_min_points (7)",
        ),
        (
            "[tables.\"raw.s.t\"]\nkey = \"id\"\nanomaly_threshold = -1\n",
            "line 3: table \"raw.s.t\": anomaly_threshold = -1: must be a finite number above 0",
        ),
        (
            "[lake]\nanomaly_min_points = 2\n",
            "line 2: [lake] anomaly_min_points = 2: must be at least 3",
        ),
    ] {
        lake.config(toml);
        let e = Lake::open(&lake.uri()).await.unwrap_err().to_string();
        assert_eq!(e, format!("{file}: {wanted}"), "{toml}");
    }
}

/// `n` rows of one Int64 column.
fn ids(n: i64) -> RecordBatch {
    let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(Int64Array::from_iter_values(0..n))],
    )
    .unwrap()
}

/// A plain table of one Parquet file per day under `dt=` folders, from 2026-01-01.
fn daily(lake: &TestLake, table: &str, counts: &[i64]) {
    for (i, n) in counts.iter().enumerate() {
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i as u64);
        lake.parquet(&format!("raw/w/{table}/dt={day}/part-0.parquet"), &ids(*n));
    }
}

#[tokio::test]
async fn a_weekday_at_weekend_level_is_found_through_the_weekly_season() {
    let lake = TestLake::new();
    lake.config("[tables.\"raw.w.feed\"]\nanomaly_freshness = false\n");
    // 2026-01-01 is a Thursday; Saturdays and Sundays carry about 40 rows, weekdays about 100.
    let mut counts = vec![];
    for i in 0..35i64 {
        let weekday = (i + 3) % 7; // 0 = Monday
        let base = if weekday >= 5 { 40 } else { 100 };
        counts.push(base + (i * 5) % 11 - 5);
    }
    // Wednesday 2026-02-04: 60 rows. Against all days (mean ≈ 83) that is ordinary; against
    // the Wednesday before, it is a drop.
    counts[34] = 60;
    daily(&lake, "feed", &counts);
    let s = lake.session().await;
    let sql = "SELECT \"table\", at, unit, value, round(expected), kind, seasonal, newest \
               FROM raw.strata.anomalies";
    let got = rows(&s, sql).await;
    assert_eq!(
        got,
        vec![vec![
            "feed",
            "2026-02-04T00:00:00Z",
            "rows",
            "60.0",
            "98.0",
            "drop",
            "true",
            "true",
        ]]
    );
    let z = value(&s, "SELECT z < -3 FROM raw.strata.anomalies").await;
    assert_eq!(z, "true");
}

#[tokio::test]
async fn a_daily_feed_that_stopped_is_late() {
    let lake = TestLake::new();
    daily(&lake, "feed", &[100; 10]);
    let s = lake.session().await;
    let sql = "SELECT \"table\", at, metric, unit, expected, kind, seasonal, newest, \
               value > 24 * 300 FROM raw.strata.anomalies";
    let got = rows(&s, sql).await;
    assert_eq!(
        got,
        vec![vec![
            "feed",
            "2026-01-10T00:00:00Z",
            "freshness",
            "hours",
            "24.0",
            "late",
            "false",
            "true",
            "true",
        ]]
    );
}

/// md5 password entry for `user` (libpq's md5(password || user)).
fn md5_user(user: &str, password: &str, zones: &str) -> String {
    let digest = md5::compute(format!("{password}{user}").as_bytes());
    format!("\n[users.{user}]\npassword = \"md5{digest:x}\"\nzones = {zones}\n")
}

#[tokio::test]
async fn a_user_sees_the_anomalies_of_the_zones_it_reads_only() {
    let lake = TestLake::new();
    strata_catalog::sample::write_sample_lake(lake.dir.path()).unwrap();
    let mut toml = std::fs::read_to_string(lake.path("strata.toml")).unwrap();
    toml.push_str(&md5_user("analyst", "pw", "[\"enhanced\"]"));
    toml.push_str(&md5_user(
        "admin",
        "pw",
        "[\"raw\", \"sanitized\", \"enhanced\"]",
    ));
    lake.config(&toml);
    let server = crate::server::InProcess::on_lake(&lake.uri(), |_| {});
    let count = "SELECT count(*) FROM strata.anomalies";
    let url = |u: &str| format!("postgresql://{u}:pw@127.0.0.1:{}/enhanced", server.port);
    let analyst = crate::server::connect(&url("analyst")).await;
    let n: i64 = analyst.query_one(count, &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "the analyst reads enhanced only");
    let admin = crate::server::connect(&url("admin")).await;
    let row = admin
        .query_one(
            "SELECT zone || '.' || schema || '.' || \"table\", at::text, kind, value::int8 \
             FROM strata.anomalies",
            &[],
        )
        .await
        .unwrap();
    let got: (String, String, String, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        got,
        (
            "raw.web.pageviews".into(),
            "2026-01-14T00:00:00Z".into(),
            "drop".into(),
            42
        )
    );
}

/// What a newcomer sees first: the sample lake's one anomaly, and nothing else flagged.
#[tokio::test]
async fn the_sample_lake_shows_one_anomaly() {
    let lake = TestLake::new();
    strata_catalog::sample::write_sample_lake(lake.dir.path()).unwrap();
    let s = lake.session().await;
    let got = rows(
        &s,
        "SELECT zone, schema, \"table\", at, metric, unit, value, round(expected, 1), \
         round(z, 2), kind, seasonal, newest FROM raw.strata.anomalies",
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0][..8],
        [
            "raw",
            "web",
            "pageviews",
            "2026-01-14T00:00:00Z",
            "volume",
            "rows",
            "42.0",
            "121.2"
        ]
    );
    assert_eq!(got[0][8..], ["-11.58", "drop", "true", "false"]);
}
