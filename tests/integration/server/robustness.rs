//! Bad input and overload: malformed and truncated protocol messages, clients that vanish
//! mid-result, more connections than allowed, a query over its memory limit, shutdown with
//! clients connected. Each time the server answers correctly and keeps serving the others.
use super::{connect, sqlstate, Server};
use futures::StreamExt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn raw(server: &Server) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A startup packet for protocol 3.0.
fn startup(user: &str) -> Vec<u8> {
    let mut body = 196608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", user), ("database", "enhanced")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
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
    s.write_all(&startup("t")[..7]).unwrap();
    drop(s);
    // A good startup, then a query message whose length lies, then an unknown message type.
    let mut s = raw(&server);
    s.write_all(&startup("t")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(&[b'Q', 0, 0, 0, 3]).unwrap();
    s.write_all(&[b'Z', 0, 0, 0, 4]).unwrap();
    drop(drain(s));
    // A Bind for a statement that does not exist gets an error, not a crash.
    let mut s = raw(&server);
    s.write_all(&startup("t")).unwrap();
    let mut bind = vec![b'B'];
    let body = b"\0nosuch\0\0\0\0\0\0\0";
    bind.extend(((body.len() + 4) as u32).to_be_bytes());
    bind.extend_from_slice(body);
    s.write_all(&bind).unwrap();
    s.write_all(&[b'S', 0, 0, 0, 4]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let reply = drain(s);
    assert!(reply.contains(&b'E'), "no ErrorResponse to a bad Bind");

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
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = connect(&server.url("t", "enhanced")).await;
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
    let running = tokio::spawn(async move {
        c.simple_query("SELECT sum(value) FROM generate_series(1, 50000000000) AS t(value)")
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let e = running.await.unwrap().unwrap_err();
    assert_eq!(sqlstate(&e), "57P01", "{e:?}");
}
