//! Cancels and statement timeouts stop CPU-bound queries (issue 10): a 7-way cross join of
//! the 25-row `raw.crm.customers_history` computes 25^7 rows from in-memory build sides and
//! never waits on I/O, so it stops only because its operators yield (strata_sql's coop rule).
//! Each test bounds the whole exchange by a generous outer timeout so a regression fails
//! instead of hanging, and prints how long the stop took (not asserted: no timed assertions).
use super::{cancel_until_done, connect, sqlstate, InProcess};
use std::time::{Duration, Instant};

const CROSS_JOIN_7: &str = "SELECT sum(a.customer_id + b.customer_id + c.customer_id \
     + d.customer_id + e.customer_id + f.customer_id + g.customer_id) \
     FROM raw.crm.customers_history a, raw.crm.customers_history b, \
     raw.crm.customers_history c, raw.crm.customers_history d, raw.crm.customers_history e, \
     raw.crm.customers_history f, raw.crm.customers_history g";

/// Long enough for a stuck query to be a failure, not a hang of the test suite.
const SAFETY: Duration = Duration::from_secs(120);

#[tokio::test]
async fn statement_timeout_stops_a_cpu_bound_cross_join() {
    let server = InProcess::start(|o| o.statement_timeout_ms = 1000);
    let c = connect(&server.url("t", "enhanced")).await;
    let started = Instant::now();
    let e = tokio::time::timeout(SAFETY, c.simple_query(CROSS_JOIN_7))
        .await
        .expect("the statement timeout did not stop the cross join")
        .unwrap_err();
    eprintln!(
        "cross join stopped by a 1 s statement_timeout after {:?}",
        started.elapsed()
    );
    assert_eq!(sqlstate(&e), "57014", "{e}");
    // The connection and the server go on: the query runtime is not left busy.
    let n: i64 = tokio::time::timeout(
        SAFETY,
        c.query_one("SELECT count(*) FROM raw.crm.customers_history", &[]),
    )
    .await
    .expect("no answer after the timeout")
    .unwrap()
    .get(0);
    assert_eq!(n, 25);
    let other = connect(&server.url("t", "raw")).await;
    let n: i64 = other
        .query_one("SELECT count(*) FROM crm.customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
}

#[tokio::test]
async fn cancel_request_stops_a_cpu_bound_cross_join() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    let token = c.cancel_token();
    // The extended protocol this time (the timeout test uses the simple one).
    let (outcome, cancelled_at) = tokio::time::timeout(
        SAFETY,
        cancel_until_done(&token, server.port, c.query(CROSS_JOIN_7, &[])),
    )
    .await
    .expect("the CancelRequest did not stop the cross join");
    let e = outcome.unwrap_err();
    eprintln!(
        "cross join stopped {:?} after the CancelRequest",
        cancelled_at.elapsed()
    );
    assert_eq!(sqlstate(&e), "57014", "{e}");
    let n: i64 = tokio::time::timeout(SAFETY, c.query_one("SELECT 7::bigint", &[]))
        .await
        .expect("no answer after the cancel")
        .unwrap()
        .get(0);
    assert_eq!(n, 7);
}
