//! Bad input and overload: malformed and truncated protocol messages, clients that vanish
//! mid-result, more connections than allowed, a query over its memory limit, shutdown with
//! clients connected. Each time the server answers correctly and keeps serving the others.
use super::wire::{error_of, msg, startup, sync, Raw};
use super::{connect, sqlstate, Server};
use futures::StreamExt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn raw(server: &Server) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes or goes quiet; returns what it sent.
fn drain(mut s: TcpStream) -> Vec<u8> {
    let mut out = vec![];
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[tokio::test]
async fn malformed_and_truncated_messages_do_not_hurt_other_clients() {
    let server = Server::sample();
    let bystander = connect(&server.url("t", "enhanced")).await;
    // Garbage instead of a startup packet.
    let mut s = raw(&server);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    drop(drain(s));
    // A truncated startup packet, then silence.
    let mut s = raw(&server);
    s.write_all(&startup()[..7]).unwrap();
    drop(s);
    // A good startup (its ReadyForQuery read), then a query message whose length lies, then
    // an unknown message type.
    let mut c = Raw::ready(server.port);
    c.send(&[b'Q', 0, 0, 0, 3]);
    c.send(&[b'Z', 0, 0, 0, 4]);
    c.set_timeout(Duration::from_secs(10));
    drop(drain(c.stream));
    // A Bind for a statement that does not exist gets an error, not a crash.
    let mut c = Raw::ready(server.port);
    c.send(&msg(b'B', b"\0nosuch\0\0\0\0\0\0\0"));
    c.send(&sync());
    let replies = c.until_ready();
    assert!(
        error_of(&replies).is_some(),
        "no ErrorResponse to a bad Bind: {replies:?}"
    );

    let n: i64 = bystander
        .query_one("SELECT count(*) FROM sales.daily_revenue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
    let fresh = connect(&server.url("t", "enhanced")).await;
    fresh.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn a_client_that_vanishes_mid_result_stops_its_query() {
    let server = Server::sample();
    let c = connect(&server.url("leaver", "enhanced")).await;
    let rows = c
        .query_raw(
            "SELECT value FROM generate_series(1, 2000000000) AS t(value)",
            Vec::<i64>::new(),
        )
        .await
        .unwrap();
    let mut rows = Box::pin(rows);
    for _ in 0..1000 {
        rows.next().await.unwrap().unwrap();
    }
    drop(rows);
    drop(c);
    assert!(
        server.wait_log("user=leaver", 20),
        "the abandoned query never ended:\n{}",
        server.log()
    );
    let other = connect(&server.url("t", "enhanced")).await;
    other.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn connections_past_the_limit_get_a_clear_error() {
    let server = Server::start(&super::sample_lake(), &["--max-connections", "20"], &[]);
    let baseline = server.rss_kb();
    let attempts = futures::future::join_all((0..500).map(|_| {
        let url = server.url("crowd", "enhanced");
        async move { tokio_postgres::connect(&url, tokio_postgres::NoTls).await }
    }))
    .await;
    let mut held = vec![];
    let mut refused = 0;
    for a in attempts {
        match a {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                held.push(client);
            }
            Err(e) => {
                assert_eq!(sqlstate(&e), "53300", "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(held.len(), 20);
    assert_eq!(refused, 480);
    for c in &held {
        c.simple_query("SELECT 1").await.unwrap();
    }
    drop(held);
    // The server frees the slots as it sees the connections close: connect until it has.
    let deadline = Instant::now() + Duration::from_secs(30);
    let again = loop {
        match tokio_postgres::connect(&server.url("t", "enhanced"), tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                break client;
            }
            Err(e) => {
                assert_eq!(sqlstate(&e), "53300", "{e:?}");
                assert!(
                    Instant::now() < deadline,
                    "slots not freed 30 s after every client left"
                );
            }
        }
    };
    again.simple_query("SELECT 1").await.unwrap();
    // Memory returns near where it was: connections leave nothing behind.
    let after = server.rss_kb();
    assert!(
        after < baseline + 200 * 1024,
        "RSS grew from {baseline} kB to {after} kB"
    );
}

#[tokio::test]
async fn a_query_over_its_memory_limit_fails_alone() {
    let server = Server::start(&super::sample_lake(), &["--query-memory-limit", "8MB"], &[]);
    let c = connect(&server.url("t", "enhanced")).await;
    let e = c
        .simple_query("SELECT array_agg(value) FROM generate_series(1, 50000000) AS t(value)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "53200", "{e:?}");
    // A full sort of more than the limit (a window needs one) spills instead of failing.
    let row = c
        .query_one("SELECT v FROM (SELECT value AS v, row_number() OVER (ORDER BY value DESC) AS r FROM generate_series(1, 4000000) AS t(value)) s WHERE r = 1", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 4_000_000);
}

#[tokio::test]
async fn sigterm_closes_idle_clients_and_exits_cleanly() {
    let server = Server::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    c.simple_query("SELECT 1").await.unwrap();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(c.simple_query("SELECT 1").await.is_err());
}

#[tokio::test]
async fn sigterm_interrupts_running_queries() {
    let server = Server::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    // Rows without end: the first one shows the query is running (no guessed delay).
    let rows = c
        .query_raw(
            "SELECT value FROM generate_series(1, 50000000000) AS t(value)",
            Vec::<i64>::new(),
        )
        .await
        .unwrap();
    let mut rows = Box::pin(rows);
    rows.next().await.unwrap().unwrap();
    // The rows are read on while the server stops (terminate blocks, so on another thread).
    let stopping = tokio::task::spawn_blocking(move || server.terminate());
    let e = loop {
        match rows.next().await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the rows ended without an error"),
        }
    };
    assert_eq!(sqlstate(&e), "57P01", "{e:?}");
    let status = stopping.await.unwrap();
    assert!(status.success(), "{status:?}");
}
