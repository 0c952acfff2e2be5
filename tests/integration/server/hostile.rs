//! Regression tests for each way a single client could crash or wedge the server (issue 10's
//! fuzzing findings), each named after what it guards. After every one the server must still be
//! running and answering.
use super::protocol::ENDLESS;
use super::wire::{error_of, msg, parse, query, startup, sync, Raw};
use super::{cancel_until_done, connect, sqlstate, Server};
use std::time::{Duration, Instant};

/// The server is alive and a new client can connect and query.
async fn still_serving(server: &mut Server) {
    assert!(server.is_running(), "the server died:\n{}", server.log());
    let c = connect(&server.url("t", "enhanced")).await;
    let n: i64 = c.query_one("SELECT 41 + 1", &[]).await.unwrap().get(0);
    assert_eq!(n, 42);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// The first value of the first DataRow among the replies.
fn first_value(replies: &[super::wire::Reply]) -> Option<String> {
    let row = replies.iter().find(|r| r.kind == b'D')?;
    let len = i32::from_be_bytes(row.body[2..6].try_into().unwrap());
    (len >= 0).then(|| String::from_utf8_lossy(&row.body[6..6 + len as usize]).into_owned())
}

#[tokio::test]
async fn a_parse_of_placeholder_99999999999_is_42p02_not_an_abort() {
    let mut server = Server::sample();
    let mut c = Raw::ready(server.port);
    for text in ["SELECT $99999999999", "SELECT $0", "SELECT $65536 + 1"] {
        c.send(&parse(text));
        c.send(&sync());
        let replies = c.until_ready();
        let (code, message) = error_of(&replies).expect("an error");
        assert_eq!(code, "42P02", "{text}: {message}");
        assert!(message.starts_with("there is no parameter $"), "{message}");
        // The simple protocol refuses it the same way.
        c.send(&query(text));
        assert_eq!(error_of(&c.until_ready()).unwrap().0, "42P02");
    }
    c.send(&parse("SELECT $65535::int8"));
    c.send(&sync());
    assert!(
        error_of(&c.until_ready()).is_none(),
        "$65535 is a valid number"
    );
    still_serving(&mut server).await;
}

/// The chains that overflowed the stack: each is answered, or refused with 54001, over the
/// simple and the extended protocol.
#[tokio::test]
async fn deep_expression_chains_are_answered_or_refused_with_54001() {
    let mut server = Server::sample();
    let chain = |head: &str, link: &str, n: usize| format!("SELECT {head}{}", link.repeat(n));
    let cases: Vec<(String, Option<&str>)> = vec![
        (chain("1", "+1", 1999), Some("2000")),
        (chain("'a'", "||'a'", 1999), None),
        (chain("true", " AND true", 1999), Some("t")),
        (chain("false", " OR false", 49_999), None),
        (chain("1", "::int8", 10_000), None),
    ];
    let mut c = Raw::ready(server.port);
    // Planning 5,000 unions takes about a minute in a debug build: once, simple protocol.
    c.set_timeout(Duration::from_secs(600));
    c.send(&query(&format!(
        "SELECT 1{}",
        " UNION ALL SELECT 1".repeat(4999)
    )));
    let replies = c.until_ready();
    assert_eq!(
        replies.iter().filter(|r| r.kind == b'D').count(),
        5000,
        "{:?}",
        error_of(&replies)
    );
    for (sql, want) in &cases {
        for extended in [false, true] {
            if extended {
                c.send(&parse(sql));
                c.send(&msg(b'B', b"\0\0\0\0\0\0\0\0"));
                c.send(&msg(b'E', b"\0\0\0\0\0"));
                c.send(&sync());
            } else {
                c.send(&query(sql));
            }
            let replies = c.until_ready();
            assert!(
                replies.last().is_some_and(|r| r.kind == b'Z'),
                "no answer to {}…: {replies:?}",
                &sql[..40]
            );
            match error_of(&replies) {
                Some((code, m)) => assert_eq!(code, "54001", "{}…: {m}", &sql[..40]),
                None => {
                    if let Some(want) = want {
                        assert_eq!(first_value(&replies).as_deref(), Some(*want));
                    }
                }
            }
        }
    }
    // The 2,000-term sum is within the default limit: it must be answered, not refused.
    c.send(&query(&cases[0].0));
    assert_eq!(first_value(&c.until_ready()).as_deref(), Some("2000"));
    still_serving(&mut server).await;
}

#[tokio::test]
async fn nesting_past_max_expression_depth_is_54001_before_parsing() {
    let mut server = Server::start(
        &super::sample_lake(),
        &["--max-expression-depth", "100"],
        &[],
    );
    let mut c = Raw::ready(server.port);
    c.send(&query(&format!(
        "SELECT {}1{}",
        "(".repeat(150),
        ")".repeat(150)
    )));
    let (code, message) = error_of(&c.until_ready()).expect("an error");
    assert_eq!(code, "54001");
    assert!(message.contains("max_expression_depth"), "{message}");
    c.send(&query(&format!(
        "SELECT {}1{}",
        "(".repeat(90),
        ")".repeat(90)
    )));
    assert_eq!(first_value(&c.until_ready()).as_deref(), Some("1"));
    still_serving(&mut server).await;
}

/// ARRAY[ and CAST( nested 48 deep spun a core forever and kept new connections from starting;
/// CASE 48 deep was misparsed.
#[tokio::test]
async fn array_cast_and_case_nested_48_deep_answer_and_others_still_connect() {
    let mut server = Server::sample();
    let mut c = Raw::ready(server.port);
    for depth in [47, 48, 49, 300] {
        let array = format!("SELECT {}1{}", "ARRAY[".repeat(depth), "]".repeat(depth));
        let cast = format!(
            "SELECT {}1{}",
            "CAST(".repeat(depth),
            " AS int8)".repeat(depth)
        );
        let case = format!(
            "SELECT {}7{}",
            "CASE WHEN true THEN ".repeat(depth),
            " END".repeat(depth)
        );
        for (sql, want) in [(array, None), (cast, Some("1")), (case, Some("7"))] {
            let started = Instant::now();
            c.send(&query(&sql));
            let replies = c.until_ready();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "depth {depth}: took {:?}",
                started.elapsed()
            );
            assert_eq!(error_of(&replies), None, "depth {depth}: {}", &sql[..30]);
            if let Some(want) = want {
                assert_eq!(
                    first_value(&replies).as_deref(),
                    Some(want),
                    "depth {depth}"
                );
            }
            // Meanwhile a new client gets through its startup.
            drop(Raw::ready(server.port));
        }
    }
    still_serving(&mut server).await;
}

#[tokio::test]
async fn a_parse_without_its_closing_nul_gets_08p01_and_its_sync_is_answered() {
    let mut server = Server::sample();
    let mut c = Raw::ready(server.port);
    c.send(&msg(b'P', b"\0SELECT 1"));
    c.send(&sync());
    let replies = c.until_ready();
    let (code, _) = error_of(&replies).expect("an error");
    assert_eq!(code, "08P01");
    assert!(replies.iter().all(|r| r.kind != b'1'), "ParseComplete sent");
    assert_eq!(replies.last().map(|r| r.kind), Some(b'Z'));
    c.send(&query("SELECT 5"));
    assert_eq!(first_value(&c.until_ready()).as_deref(), Some("5"));
    still_serving(&mut server).await;
}

/// Messages that panicked pgwire's decoder (dropping the connection without a word) get an
/// ErrorResponse, and the connection goes on after the next Sync.
#[tokio::test]
async fn malformed_messages_get_an_error_response_and_the_connection_goes_on() {
    let mut server = Server::sample();
    let mut c = Raw::ready(server.port);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bind claiming 5 values", {
            let mut b = b"\0\0".to_vec();
            b.extend(0i16.to_be_bytes());
            b.extend(5i16.to_be_bytes());
            b.extend(2i32.to_be_bytes());
            b.push(b'1');
            msg(b'B', &b)
        }),
        ("bind with a negative value length", {
            let mut b = b"\0\0".to_vec();
            b.extend(0i16.to_be_bytes());
            b.extend(1i16.to_be_bytes());
            b.extend((-7i32).to_be_bytes());
            b.extend(0i16.to_be_bytes());
            msg(b'B', &b)
        }),
        ("describe of target 0", msg(b'D', b"\0\0")),
        ("close of target X", msg(b'C', b"Xname\0")),
        ("execute cut short", msg(b'E', b"\0\0\0")),
        ("parse claiming 1000 types", {
            let mut b = b"\0select 1\0".to_vec();
            b.extend(1000i16.to_be_bytes());
            msg(b'P', &b)
        }),
        ("sync with a body", msg(b'S', b"xyz")),
    ];
    for (what, bytes) in cases {
        c.send(&bytes);
        c.send(&sync());
        let replies = c.until_ready();
        let (code, message) = error_of(&replies).unwrap_or_else(|| panic!("{what}: {replies:?}"));
        assert_eq!(code, "08P01", "{what}: {message}");
        assert_eq!(replies.last().map(|r| r.kind), Some(b'Z'), "{what}");
        if what.starts_with("describe") {
            assert_eq!(message, "invalid DESCRIBE message subtype 0");
        }
    }
    // A simple query ends in ReadyForQuery by itself.
    c.send(&msg(b'Q', b"select 1"));
    let (code, _) = error_of(&c.until_ready()).expect("an error for a Query without its NUL");
    assert_eq!(code, "08P01");
    c.send(&query("SELECT 6"));
    assert_eq!(first_value(&c.until_ready()).as_deref(), Some("6"));
    still_serving(&mut server).await;
}

/// A length that lies, or an unknown type, ends the connection with FATAL 08P01, as in
/// PostgreSQL: the stream cannot be trusted after it.
#[tokio::test]
async fn lying_lengths_and_unknown_types_close_with_fatal_08p01() {
    let mut server = Server::sample();
    for bytes in [
        vec![b'Q', 0, 0, 0, 3],
        vec![b'Z', 0, 0, 0, 4],
        vec![b'S', 0x7f, 0xff, 0xff, 0xff],
        vec![b'B', 0xff, 0xff, 0xff, 0xff],
    ] {
        let mut c = Raw::ready(server.port);
        c.send(&bytes);
        let replies = c.until_ready();
        let error = replies.iter().find(|r| r.kind == b'E').expect("an error");
        assert_eq!(error.field(b'S').as_deref(), Some("FATAL"));
        assert_eq!(error.field(b'C').as_deref(), Some("08P01"));
        assert!(c.next().is_none(), "the connection stays open");
    }
    // A startup packet claiming 2 GB.
    let mut c = Raw::connect(server.port);
    c.send(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]);
    let replies = c.until_ready();
    assert_eq!(error_of(&replies).map(|e| e.0).as_deref(), Some("08P01"));
    still_serving(&mut server).await;
}

#[tokio::test]
async fn errors_name_no_internals() {
    let mut server = Server::sample();
    let mut c = Raw::ready(server.port);
    // Bind of the unnamed statement before any Parse.
    c.send(&msg(b'B', b"\0\0\0\0\0\0\0\0"));
    c.send(&sync());
    let (code, message) = error_of(&c.until_ready()).unwrap();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("26000", "unnamed prepared statement does not exist")
    );
    c.send(&msg(b'D', b"Snope\0"));
    c.send(&sync());
    let (code, message) = error_of(&c.until_ready()).unwrap();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("26000", "prepared statement \"nope\" does not exist")
    );
    c.send(&msg(b'E', b"nope\0\0\0\0\0"));
    c.send(&sync());
    let (code, message) = error_of(&c.until_ready()).unwrap();
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("34000", "portal \"nope\" does not exist")
    );
    // A uuid parameter sent in binary.
    let mut p = b"\0SELECT $1\0".to_vec();
    p.extend(1i16.to_be_bytes());
    p.extend(2950u32.to_be_bytes());
    c.send(&msg(b'P', &p));
    let mut b = b"\0\0".to_vec();
    b.extend(1i16.to_be_bytes());
    b.extend(1i16.to_be_bytes());
    b.extend(1i16.to_be_bytes());
    b.extend(16i32.to_be_bytes());
    b.extend([7u8; 16]);
    b.extend(0i16.to_be_bytes());
    c.send(&msg(b'B', &b));
    c.send(&msg(b'E', b"\0\0\0\0\0"));
    c.send(&sync());
    let replies = c.until_ready();
    if let Some((_, message)) = error_of(&replies) {
        for leak in [
            "rust type",
            "POSTGRESQL_DEFAULT_NAME",
            "Invalid target type",
        ] {
            assert!(!message.contains(leak), "{message}");
        }
    }
    still_serving(&mut server).await;
}

#[tokio::test]
async fn a_query_longer_than_max_query_size_is_54000_and_the_connection_goes_on() {
    let mut server = Server::start(&super::sample_lake(), &["--max-query-size", "1kB"], &[]);
    let mut c = Raw::ready(server.port);
    c.send(&query(&format!("SELECT '{}'", "x".repeat(5000))));
    let (code, message) = error_of(&c.until_ready()).unwrap();
    assert_eq!(code, "54000", "{message}");
    assert!(message.contains("max_query_size"), "{message}");
    c.send(&query("SELECT 8"));
    assert_eq!(first_value(&c.until_ready()).as_deref(), Some("8"));
    still_serving(&mut server).await;
}

/// At the connection cap every CancelRequest was refused with 53300: a cancel is not a session.
#[tokio::test]
async fn a_cancel_request_is_answered_at_the_connection_cap() {
    let server = Server::start(&super::sample_lake(), &["--max-connections", "1"], &[]);
    let c = connect(&server.url("t", "enhanced")).await;
    // The cap is reached: another session is refused.
    let refused = tokio_postgres::connect(&server.url("t", "enhanced"), tokio_postgres::NoTls)
        .await
        .err()
        .expect("a second session is refused");
    assert_eq!(sqlstate(&refused), "53300", "{refused}");
    let token = c.cancel_token();
    let (outcome, _) = cancel_until_done(&token, server.port, c.simple_query(ENDLESS)).await;
    let e = outcome.unwrap_err();
    assert_eq!(sqlstate(&e), "57014", "{e}");
}

/// A client that never finishes its startup is closed after startup_timeout.
#[tokio::test]
async fn a_silent_client_is_closed_after_startup_timeout() {
    let mut server = Server::start(&super::sample_lake(), &["--startup-timeout", "1s"], &[]);
    let mut c = Raw::connect(server.port);
    c.send(&startup()[..6]);
    let started = Instant::now();
    assert!(c.next().is_none());
    assert!(started.elapsed() < Duration::from_secs(30));
    still_serving(&mut server).await;
}
