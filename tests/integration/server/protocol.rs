//! The wire protocol through tokio-postgres, which speaks the extended protocol with binary
//! results: parameters and their described types, binary values of each type, row limits
//! (PortalSuspended), simple multi-statement queries, cancel, statement_timeout, COPY, and
//! the session settings drivers read.
use super::{cancel_until_done, connect, sqlstate, InProcess, Server};
use futures::TryStreamExt;
use tokio_postgres::types::Type;
use tokio_postgres::SimpleQueryMessage;

#[tokio::test]
async fn extended_protocol_binds_parameters_with_described_types() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let stmt = c
        .prepare("SELECT country, orders, revenue, dt FROM sales.daily_revenue WHERE orders >= $1 AND country = $2 ORDER BY dt")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT]);
    let cols: Vec<(&str, Type)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_().clone()))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("country", Type::TEXT),
            ("orders", Type::INT8),
            ("revenue", Type::FLOAT8),
            ("dt", Type::DATE)
        ]
    );
    let all = c.query("SELECT country, count(*) AS n FROM sales.daily_revenue GROUP BY country ORDER BY n DESC, country LIMIT 1", &[]).await.unwrap();
    let top: String = all[0].get("country");
    let n: i64 = all[0].get("n");
    let rows = c.query(&stmt, &[&1i64, &top]).await.unwrap();
    assert_eq!(rows.len() as i64, n);
    for r in &rows {
        assert_eq!(r.get::<_, String>(0), top);
    }
}

#[tokio::test]
async fn binary_results_decode_as_each_type() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let row = c
        .query_one(
            "SELECT true AS b, CAST(7 AS SMALLINT) AS i2, CAST(8 AS INT) AS i4, CAST(9 AS BIGINT) AS i8, \
             CAST(1.5 AS REAL) AS f4, CAST(2.25 AS DOUBLE PRECISION) AS f8, 'héllo' AS t, \
             CAST('abc' AS BYTEA) AS by, DATE '2026-01-31' AS d, \
             TIMESTAMP '2026-01-31 12:34:56.5' AS ts, \
             CAST('2026-01-31T12:00:00Z' AS TIMESTAMP WITH TIME ZONE) AS tstz, \
             make_array(1, 2, 3) AS arr, CAST(NULL AS BIGINT) AS n",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, i16>("i2"), 7);
    assert_eq!(row.get::<_, i32>("i4"), 8);
    assert_eq!(row.get::<_, i64>("i8"), 9);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.get::<_, f64>("f8"), 2.25);
    assert_eq!(row.get::<_, String>("t"), "héllo");
    assert_eq!(row.get::<_, Vec<u8>>("by"), b"abc");
    assert_eq!(
        row.get::<_, chrono::NaiveDate>("d"),
        chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()
    );
    assert_eq!(
        row.get::<_, chrono::NaiveDateTime>("ts").to_string(),
        "2026-01-31 12:34:56.500"
    );
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>("tstz")
            .to_rfc3339(),
        "2026-01-31T12:00:00+00:00"
    );
    assert_eq!(row.get::<_, Vec<i64>>("arr"), vec![1, 2, 3]);
    assert_eq!(row.get::<_, Option<i64>>("n"), None);
}

#[tokio::test]
async fn row_limits_page_through_a_portal() {
    let server = InProcess::sample();
    let mut c = connect(&server.url("t", "enhanced")).await;
    let total: i64 = c
        .query_one("SELECT count(*) FROM sales.daily_revenue", &[])
        .await
        .unwrap()
        .get(0);
    let tx = c.transaction().await.unwrap();
    let stmt = tx
        .prepare("SELECT country, dt FROM sales.daily_revenue ORDER BY dt, country")
        .await
        .unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let page = tx.query_portal(&portal, 4).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        seen += page.len() as i64;
        pages += 1;
    }
    tx.commit().await.unwrap();
    assert_eq!(seen, total);
    assert_eq!(pages, (total + 3) / 4);
}

#[tokio::test]
async fn simple_protocol_runs_several_statements_in_order() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let msgs = c
        .simple_query("SET application_name = 'probe'; SHOW application_name; SELECT 1 AS one, 'x' AS two; SELECT current_setting('application_name')")
        .await
        .unwrap();
    let rows: Vec<Vec<String>> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["probe".to_string()],
            vec!["1".into(), "x".into()],
            vec!["probe".into()]
        ]
    );
    let completes = msgs
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(_)))
        .count();
    assert_eq!(completes, 4);
}

#[tokio::test]
async fn an_error_stops_the_rest_of_a_simple_query() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let err = c
        .simple_query(
            "SET application_name = 'first'; SELECT * FROM nope; SET application_name = 'never'",
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let v = c.query_one("SHOW application_name", &[]).await.unwrap();
    assert_eq!(v.get::<_, String>(0), "first");
}

#[tokio::test]
async fn errors_carry_sqlstate_codes() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    for (sql, code) in [
        ("SELECT * FROM sales.daily_revenu", "42P01"),
        ("SELECT nope FROM sales.daily_revenue", "42703"),
        ("SELEC 1", "42601"),
        ("SELECT 1/0", "22012"),
        ("SHOW no_such_setting", "42704"),
        ("UPDATE sales.daily_revenue SET orders = 0", "25006"),
    ] {
        let e = c.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&e), code, "{sql}: {e}");
    }
    // The session survives each error.
    assert_eq!(
        c.query_one("SELECT 2", &[]).await.unwrap().get::<_, i64>(0),
        2
    );
}

#[tokio::test]
async fn a_failed_transaction_ignores_commands_until_rollback() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    c.simple_query("BEGIN").await.unwrap();
    assert!(c.simple_query("SELECT * FROM missing").await.is_err());
    let e = c.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&e), "25P02");
    c.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(
        c.query_one("SELECT 3", &[]).await.unwrap().get::<_, i64>(0),
        3
    );
}

pub const ENDLESS: &str = "SELECT sum(value) FROM generate_series(1, 50000000000)";

#[tokio::test]
async fn cancel_request_stops_the_running_query() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let token = c.cancel_token();
    let (outcome, _) = cancel_until_done(&token, server.port, c.simple_query(ENDLESS)).await;
    let e = outcome.unwrap_err();
    assert_eq!(sqlstate(&e), "57014", "{e}");
    assert_eq!(
        c.query_one("SELECT 4", &[]).await.unwrap().get::<_, i64>(0),
        4
    );
}

#[tokio::test]
async fn statement_timeout_cancels_long_queries() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    c.simple_query("SET statement_timeout = '300ms'")
        .await
        .unwrap();
    let e = c.query(ENDLESS, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&e), "57014", "{e}");
    let message = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("statement timeout"), "{message}");
}

#[tokio::test]
async fn copy_to_stdout_streams_csv() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let stream = c
        .copy_out("COPY (SELECT country, orders FROM sales.daily_revenue ORDER BY dt, country LIMIT 3) TO STDOUT WITH (FORMAT csv, HEADER)")
        .await
        .unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    let text: String = chunks
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let expected: Vec<String> = c
        .query(
            "SELECT country, orders FROM sales.daily_revenue ORDER BY dt, country LIMIT 3",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{},{}", r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect();
    assert_eq!(text, format!("country,orders\n{}\n", expected.join("\n")));
}

#[tokio::test]
async fn drivers_see_postgres_16_settings() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let v: String = c.query_one("SELECT version()", &[]).await.unwrap().get(0);
    assert!(v.starts_with("PostgreSQL 16."), "{v}");
    for (name, value) in [
        ("server_version", "16.6"),
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"),
    ] {
        let got: String = c
            .query_one(&format!("SHOW {name}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, value, "{name}");
    }
    for stmt in [
        "BEGIN",
        "SAVEPOINT a",
        "RELEASE a",
        "COMMIT",
        "DISCARD ALL",
        "RESET ALL",
        "CLOSE ALL",
        "UNLISTEN *",
        "SET extra_float_digits = 3",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
    ] {
        c.simple_query(stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
}

#[tokio::test]
async fn as_of_from_connect_options_pins_the_session() {
    let server = InProcess::sample();
    let now = connect(&server.url("t", "raw")).await;
    let count = |c: tokio_postgres::Client| async move {
        c.query_one("SELECT count(*) FROM crm.customers_history", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let all = count(now).await;
    let url = format!(
        "{}?options=-c%20strata.as_of%3D2026-01-05",
        server.url("t", "raw")
    );
    let then = connect(&url).await;
    let shown: String = then
        .query_one("SHOW strata.as_of", &[])
        .await
        .unwrap()
        .get(0);
    assert!(shown.starts_with("2026-01-05 00:00:00"), "{shown}");
    let early = count(then).await;
    assert!(
        early < all,
        "as of 2026-01-05 there were {early} history rows, now {all}"
    );
}

#[tokio::test]
async fn cursors_fetch_forward_in_pieces() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    c.simple_query("BEGIN; DECLARE cur CURSOR WITH HOLD FOR SELECT country FROM sales.daily_revenue ORDER BY dt, country").await.unwrap();
    let mut all = vec![];
    loop {
        let msgs = c.simple_query("FETCH 5 FROM cur").await.unwrap();
        let rows: Vec<String> = msgs
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_string()),
                _ => None,
            })
            .collect();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 5);
        all.extend(rows);
    }
    c.simple_query("CLOSE cur; COMMIT").await.unwrap();
    let direct: Vec<String> = c
        .query(
            "SELECT country FROM sales.daily_revenue ORDER BY dt, country",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(all, direct);
}

#[tokio::test]
async fn temporary_tables_belong_to_their_session() {
    let server = InProcess::sample();
    let a = connect(&server.url("t", "enhanced")).await;
    a.simple_query(
        "CREATE TEMP TABLE mine AS SELECT country FROM sales.daily_revenue WHERE country = 'FR'",
    )
    .await
    .unwrap();
    let n: i64 = a
        .query_one("SELECT count(*) FROM mine", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    let b = connect(&server.url("t", "enhanced")).await;
    let e = b.simple_query("SELECT * FROM mine").await.unwrap_err();
    assert_eq!(sqlstate(&e), "42P01");
    let e = a
        .simple_query("CREATE TABLE lasting (a INT)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "25006");
}

/// On the real binary: the log line is what `strata serve` writes to its stderr.
#[tokio::test]
async fn a_query_log_line_names_user_zone_rows_and_outcome() {
    let server = Server::sample();
    let c = connect(&server.url("auditor", "enhanced")).await;
    let rows = c
        .query("SELECT * FROM sales.daily_revenue", &[])
        .await
        .unwrap();
    drop(c);
    assert!(server.wait_log("rows=13", 30), "{}", server.log());
    let log = server.log();
    let line = log
        .lines()
        .find(|l| {
            l.contains("strata::query")
                && l.contains("sales.daily_revenue")
                && l.contains("outcome")
        })
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("zone=enhanced"), "{line}");
    assert!(line.contains(&format!("rows={}", rows.len())), "{line}");
    assert!(
        line.contains("outcome=\"ok\"") || line.contains("outcome=ok"),
        "{line}"
    );
}
