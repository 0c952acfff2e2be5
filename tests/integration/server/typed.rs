//! Statements typed once (issue 11): what a statement is comes from its parse, not its text,
//! so Describe, execution, the COPY path and the transaction status agree. Each test here
//! failed before: Describe named `SHOW TIME ZONE`'s column `time.zone` while execution
//! returned `timezone`; COPY over the extended protocol went through a second path that
//! counted the CSV header as a row, left out the binary trailer and sent CopyFail on errors.
use super::wire::{msg, parse, sync, Raw, Reply};
use super::{connect, InProcess};

/// Bind of the unnamed portal to the unnamed statement, no parameters, text results.
fn bind() -> Vec<u8> {
    msg(b'B', &[0, 0, 0, 0, 0, 0, 0, 0])
}

/// Execute of the unnamed portal, all rows.
fn execute() -> Vec<u8> {
    msg(b'E', &[0, 0, 0, 0, 0])
}

/// The text of each CommandComplete.
fn tags(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .filter(|r| r.kind == b'C')
        .map(|r| String::from_utf8_lossy(&r.body[..r.body.len() - 1]).into_owned())
        .collect()
}

#[tokio::test]
async fn describe_of_show_time_zone_names_the_column_it_returns() {
    let server = InProcess::sample();
    let client = connect(&server.url("t", "enhanced")).await;
    for sql in [
        "SHOW TIME ZONE",
        "SHOW timezone",
        "SHOW TRANSACTION ISOLATION LEVEL",
    ] {
        let prepared = client.prepare(sql).await.unwrap();
        let described: Vec<&str> = prepared.columns().iter().map(|c| c.name()).collect();
        let rows = client.query(&prepared, &[]).await.unwrap();
        let returned: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
        assert_eq!(described, returned, "{sql}");
        let simple = client.simple_query(sql).await.unwrap();
        let row = simple.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        });
        let row = row.unwrap_or_else(|| panic!("{sql}: no row: {simple:?}"));
        assert_eq!(row.columns()[0].name(), described[0], "{sql}");
    }
}

#[test]
fn copy_over_the_extended_protocol_counts_rows_not_the_header() {
    let server = InProcess::sample();
    let mut c = Raw::ready(server.port);
    let copy =
        "COPY (SELECT * FROM generate_series(1, 5) AS t(n)) TO STDOUT WITH (FORMAT csv, HEADER)";
    for run in [
        vec![super::wire::query(copy)],
        vec![parse(copy), bind(), execute(), sync()],
    ] {
        for m in run {
            c.send(&m);
        }
        let replies = c.until_ready();
        let data: Vec<String> = replies
            .iter()
            .filter(|r| r.kind == b'd')
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        assert_eq!(data.concat(), "n\n1\n2\n3\n4\n5\n");
        assert_eq!(tags(&replies).last().map(String::as_str), Some("COPY 5"));
    }
}

#[test]
fn binary_copy_over_the_extended_protocol_ends_with_the_trailer() {
    let server = InProcess::sample();
    let mut c = Raw::ready(server.port);
    let copy = "COPY (SELECT 1::int8 AS n) TO STDOUT WITH (FORMAT binary)";
    for m in [parse(copy), bind(), execute(), sync()] {
        c.send(&m);
    }
    let replies = c.until_ready();
    let data: Vec<&Reply> = replies.iter().filter(|r| r.kind == b'd').collect();
    assert!(data[0].body.starts_with(b"PGCOPY\n\xff\r\n\0"), "{data:?}");
    assert_eq!(data.last().unwrap().body, [0xff, 0xff], "the trailer");
    assert_eq!(tags(&replies), ["COPY 1"]);
}

#[test]
fn rollback_to_savepoint_resumes_the_aborted_block_without_ending_it() {
    let server = InProcess::sample();
    let mut c = Raw::ready(server.port);
    // The transaction status each ReadyForQuery reports: I idle, T in a block, E aborted.
    let mut status_after = |sql: &str| {
        c.send(&super::wire::query(sql));
        let replies = c.until_ready();
        replies.last().map(|z| z.body[0] as char).unwrap()
    };
    assert_eq!(status_after("BEGIN"), 'T');
    assert_eq!(status_after("SAVEPOINT a"), 'T');
    assert_eq!(status_after("SELECT * FROM no_such_table"), 'E');
    assert_eq!(status_after("SELECT 1"), 'E', "refused in an aborted block");
    assert_eq!(status_after("ROLLBACK TO SAVEPOINT a"), 'T');
    assert_eq!(status_after("SELECT 1"), 'T');
    assert_eq!(status_after("COMMIT"), 'I');
}

#[tokio::test]
async fn errors_reach_clients_in_their_own_words_without_wrapper_prefixes() {
    let server = InProcess::sample();
    let client = connect(&server.url("t", "enhanced")).await;
    for (sql, code, text) in [
        (
            "SELECT to_date('2026-02-30', 'YYYY-MM-DD')",
            "22008",
            "date/time field value out of range: \"2026-02-30\"",
        ),
        ("SELECT 1 / 0", "22012", "division by zero"),
        (
            "SELECT current_setting('nope')",
            "42704",
            "unrecognized configuration parameter \"nope\"",
        ),
        (
            "SELECT * FROM raw.crm.customerz",
            "42P01",
            "table 'raw.crm.customerz' not found (did you mean raw.crm.customers?)",
        ),
    ] {
        let e = client.simple_query(sql).await.unwrap_err();
        let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!((db.code().code(), db.message()), (code, text), "{sql}");
    }
}
