//! Dates, timestamps and intervals reach clients as the text PostgreSQL 15 prints (issue 10
//! item 6): in DataRows of the simple protocol, in COPY TO STDOUT text and CSV, and through
//! the extended protocol in binary (unchanged). Every expected string was printed by
//! PostgreSQL 15.18 for the same SQL (TimeZone UTC unless the case sets another).
use super::{connect, InProcess};
use futures::{pin_mut, TryStreamExt};
use tokio_postgres::SimpleQueryMessage;

/// The text of every value of the first row of `sql`, by simple query.
async fn row(c: &tokio_postgres::Client, sql: &str) -> Vec<Option<String>> {
    let messages = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"));
    (0..row.len())
        .map(|i| row.get(i).map(str::to_string))
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[tokio::test]
async fn timestamps_print_without_trailing_fractional_zeros() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let sql = "SELECT TIMESTAMP '2026-01-25 08:15:00', TIMESTAMP '2026-01-25 08:15:00.5', \
               TIMESTAMP '2026-01-25 08:15:00.123', TIMESTAMP '2026-01-25 08:15:00.000001', \
               TIMESTAMP '1969-12-31 23:59:59.999999', \
               CAST('2026-01-25 08:15:00+00' AS TIMESTAMPTZ), \
               CAST('2026-01-25 08:15:00.000001+00' AS TIMESTAMPTZ), \
               CAST('2026-01-25 10:15:00.25+02' AS TIMESTAMPTZ)";
    assert_eq!(
        row(&c, sql).await,
        some(&[
            "2026-01-25 08:15:00",
            "2026-01-25 08:15:00.5",
            "2026-01-25 08:15:00.123",
            "2026-01-25 08:15:00.000001",
            "1969-12-31 23:59:59.999999",
            "2026-01-25 08:15:00+00",
            "2026-01-25 08:15:00.000001+00",
            "2026-01-25 08:15:00.25+00",
        ])
    );
    // The server reports the zone timestamptz text is in.
    assert_eq!(row(&c, "SHOW TimeZone").await, some(&["UTC"]));
}

#[tokio::test]
async fn dates_and_times_print_as_postgresql_does() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let sql = "SELECT DATE '2026-01-25', DATE '0001-01-01', TIME '12:34:56.5', TIME '00:00:00', \
               TIME '23:59:59.999999'";
    assert_eq!(
        row(&c, sql).await,
        some(&[
            "2026-01-25",
            "0001-01-01",
            "12:34:56.5",
            "00:00:00",
            "23:59:59.999999"
        ])
    );
}

#[tokio::test]
async fn intervals_print_in_the_postgres_interval_style() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let sql = "SELECT INTERVAL '1 day 2 hours 3 minutes 4.5 seconds', INTERVAL '1 year 2 months', \
               INTERVAL '-1 second', INTERVAL '3 days', INTERVAL '0 seconds', \
               INTERVAL '100 hours', INTERVAL '-1 year -2 months', INTERVAL '1 month', \
               TIMESTAMP '2026-01-25 08:15:00' - TIMESTAMP '2026-01-24 06:00:00'";
    assert_eq!(
        row(&c, sql).await,
        some(&[
            "1 day 02:03:04.5",
            "1 year 2 mons",
            "-00:00:01",
            "3 days",
            "00:00:00",
            "100:00:00",
            "-1 years -2 mons",
            "1 mon",
            "1 day 02:15:00",
        ])
    );
}

#[tokio::test]
async fn floats_print_as_postgresql_does() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let sql = "SELECT CAST(1e20 AS DOUBLE PRECISION), CAST('Infinity' AS DOUBLE PRECISION), \
               CAST('-Infinity' AS DOUBLE PRECISION), CAST('NaN' AS DOUBLE PRECISION), \
               CAST('-0' AS DOUBLE PRECISION), CAST(0.1 AS DOUBLE PRECISION), \
               CAST(1e-7 AS DOUBLE PRECISION), CAST(100 AS DOUBLE PRECISION), \
               CAST(1.0 AS DOUBLE PRECISION) / 3";
    assert_eq!(
        row(&c, sql).await,
        some(&[
            "1e+20",
            "Infinity",
            "-Infinity",
            "NaN",
            "-0",
            "0.1",
            "1e-07",
            "100",
            "0.3333333333333333"
        ])
    );
}

/// COPY TO STDOUT text and CSV carry the same text as DataRows.
#[tokio::test]
async fn copy_prints_timestamps_and_intervals_as_postgresql_does() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let query = "SELECT TIMESTAMP '2026-01-25 08:15:00' AS ts, \
                 CAST('2026-01-25 08:15:00.5+00' AS TIMESTAMPTZ) AS tz, \
                 INTERVAL '1 day 2 hours 3 minutes 4.5 seconds' AS i, DATE '2026-01-25' AS d";
    for (options, want) in [
        (
            "",
            "2026-01-25 08:15:00\t2026-01-25 08:15:00.5+00\t1 day 02:03:04.5\t2026-01-25\n",
        ),
        (
            " WITH (FORMAT csv)",
            "2026-01-25 08:15:00,2026-01-25 08:15:00.5+00,1 day 02:03:04.5,2026-01-25\n",
        ),
    ] {
        let stream = c
            .copy_out(&format!("COPY ({query}) TO STDOUT{options}"))
            .await
            .unwrap();
        pin_mut!(stream);
        let mut text = Vec::new();
        while let Some(chunk) = stream.try_next().await.unwrap() {
            text.extend_from_slice(&chunk);
        }
        assert_eq!(String::from_utf8(text).unwrap(), want, "{options}");
    }
}

/// Binary results (tokio-postgres's extended protocol) still decode to the same instants.
#[tokio::test]
async fn binary_timestamps_are_unchanged() {
    let server = InProcess::sample();
    let c = connect(&server.url("strata", "enhanced")).await;
    let r = c
        .query_one(
            "SELECT TIMESTAMP '2026-01-25 08:15:00.5', \
             CAST('2026-01-25 08:15:00+00' AS TIMESTAMPTZ), DATE '2026-01-25'",
            &[],
        )
        .await
        .unwrap();
    let ts: chrono::NaiveDateTime = r.get(0);
    assert_eq!(ts.to_string(), "2026-01-25 08:15:00.500");
    let tz: chrono::DateTime<chrono::Utc> = r.get(1);
    assert_eq!(tz.to_rfc3339(), "2026-01-25T08:15:00+00:00");
    let d: chrono::NaiveDate = r.get(2);
    assert_eq!(d.to_string(), "2026-01-25");
}

/// timestamptz text is in the TimeZone the client set at connect (JDBC sends its JVM's zone),
/// as in PostgreSQL; COPY text too.
#[tokio::test]
async fn timestamptz_prints_in_the_session_time_zone() {
    let server = InProcess::sample();
    let url = format!(
        "{}?options=-c%20TimeZone%3DAsia/Kolkata",
        server.url("strata", "enhanced")
    );
    let c = connect(&url).await;
    let sql = "SELECT CAST('2026-01-25 08:15:00+00' AS TIMESTAMPTZ)";
    assert_eq!(row(&c, sql).await, some(&["2026-01-25 13:45:00+05:30"]));
    let stream = c
        .copy_out(&format!("COPY ({sql}) TO STDOUT"))
        .await
        .unwrap();
    pin_mut!(stream);
    let mut text = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.extend_from_slice(&chunk);
    }
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "2026-01-25 13:45:00+05:30\n"
    );
}
