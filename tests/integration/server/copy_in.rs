//! `COPY … FROM STDIN` (docs/server.md#writing): the protocol byte by byte (CopyInResponse,
//! CopyData, CopyDone, CopyFail, bad data), psql's `\copy` and psycopg 3's `cursor.copy`, each
//! loading a table of a lake of its own and reading the rows back. A COPY that fails writes
//! nothing and leaves the connection usable.
use super::wire::{error_of, msg, query, Raw, Reply};
use super::{connect, InProcess};
use crate::setup;
use std::process::Command;

/// The sample lake in a temporary directory, so tests can write it.
fn own_lake() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    strata_catalog::sample::write_sample_lake(dir.path()).unwrap();
    dir
}

/// The table the tests load: one seed row, written the way a user makes a table.
const CREATE: &str = "CREATE TABLE raw.load.items AS \
     SELECT CAST(0 AS BIGINT) AS id, CAST('seed' AS TEXT) AS name, CAST(0.5 AS DOUBLE PRECISION) AS score";

async fn start(
    lake: &tempfile::TempDir,
    configure: impl FnOnce(&mut strata::pg::server::ServeOptions),
) -> InProcess {
    let server = InProcess::on_lake(lake.path().to_str().unwrap(), configure);
    let c = connect(&server.url("loader", "raw")).await;
    c.simple_query(CREATE)
        .await
        .expect("create the table to load");
    server
}

/// The rows of the table, ordered by id, as "id|name|score" (NULL as "-").
async fn rows(server: &InProcess) -> Vec<String> {
    let c = connect(&server.url("reader", "raw")).await;
    c.query(
        "SELECT id, name, score FROM raw.load.items ORDER BY id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let id: i64 = r.get(0);
        let name: Option<String> = r.get(1);
        let score: Option<f64> = r.get(2);
        format!(
            "{id}|{}|{}",
            name.unwrap_or_else(|| "-".into()),
            score.map_or("-".into(), |s| s.to_string())
        )
    })
    .collect()
}

fn copy_data(bytes: &[u8]) -> Vec<u8> {
    msg(b'd', bytes)
}

fn copy_done() -> Vec<u8> {
    msg(b'c', b"")
}

fn copy_fail(why: &str) -> Vec<u8> {
    let mut body = why.as_bytes().to_vec();
    body.push(0);
    msg(b'f', &body)
}

/// The CommandComplete tag among `replies`.
fn tag(replies: &[Reply]) -> Option<String> {
    replies
        .iter()
        .find(|r| r.kind == b'C')
        .map(|r| String::from_utf8_lossy(&r.body[..r.body.len() - 1]).into_owned())
}

/// Sends a COPY and expects CopyInResponse: (overall format, per-column formats).
fn begin_copy(raw: &mut Raw, sql: &str) -> (u8, Vec<i16>) {
    raw.send(&query(sql));
    let r = raw.next().expect("a reply to COPY");
    assert_eq!(r.kind, b'G', "expected CopyInResponse, got {r:?}");
    let format = r.body[0];
    let n = i16::from_be_bytes([r.body[1], r.body[2]]) as usize;
    let columns = (0..n)
        .map(|i| i16::from_be_bytes([r.body[3 + 2 * i], r.body[4 + 2 * i]]))
        .collect();
    assert_eq!(r.body.len(), 3 + 2 * n);
    (format, columns)
}

#[tokio::test]
async fn copy_in_response_then_copy_n_and_the_rows_are_there() {
    let lake = own_lake();
    let server = start(&lake, |_| {}).await;
    let mut raw = Raw::ready_on(server.port, "raw");
    assert_eq!(
        begin_copy(&mut raw, "COPY raw.load.items FROM STDIN"),
        (0, vec![0, 0, 0])
    );
    // Rows split across CopyData messages anywhere, even inside a value.
    raw.send(&copy_data(b"1\tann\t1.5\n2\tb"));
    raw.send(&copy_data(b"ob\t\\N\n3\t\\N\t-2\n"));
    raw.send(&copy_done());
    let replies = raw.until_ready();
    assert_eq!(error_of(&replies), None, "{replies:?}");
    assert_eq!(tag(&replies).as_deref(), Some("COPY 3"));
    assert_eq!(
        rows(&server).await,
        ["0|seed|0.5", "1|ann|1.5", "2|bob|-", "3|-|-2"]
    );
    // A column list, CSV with a header, in the table's current zone by a two-part name.
    assert_eq!(
        begin_copy(
            &mut raw,
            "COPY load.items (name, id) FROM STDIN WITH (FORMAT csv, HEADER)"
        ),
        (0, vec![0, 0])
    );
    raw.send(&copy_data(b"name,id\n\"x, y\",4\n"));
    raw.send(&copy_done());
    let replies = raw.until_ready();
    assert_eq!(tag(&replies).as_deref(), Some("COPY 1"), "{replies:?}");
    assert_eq!(rows(&server).await.last().unwrap(), "4|x, y|-");
}

/// tokio-postgres copies over the extended protocol (Parse, Bind, Execute, then the data).
#[tokio::test]
async fn the_extended_protocol_copies_too() {
    use futures::SinkExt;
    let lake = own_lake();
    let server = start(&lake, |_| {}).await;
    let c = connect(&server.url("loader", "raw")).await;
    let sink = c
        .copy_in("COPY raw.load.items (id, name) FROM STDIN WITH (FORMAT csv)")
        .await
        .unwrap();
    let mut sink = std::pin::pin!(sink);
    sink.send(bytes::Bytes::from_static(b"20,ext\n21,ended\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    // The connection goes on.
    let one: i64 = c.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    assert_eq!(
        rows(&server).await,
        ["0|seed|0.5", "20|ext|-", "21|ended|-"]
    );
}

#[tokio::test]
async fn copy_fail_writes_nothing_and_the_connection_goes_on() {
    let lake = own_lake();
    let server = start(&lake, |_| {}).await;
    let mut raw = Raw::ready_on(server.port, "raw");
    begin_copy(&mut raw, "COPY raw.load.items FROM STDIN");
    raw.send(&copy_data(b"1\tann\t1.5\n"));
    raw.send(&copy_fail("the client gave up"));
    let replies = raw.until_ready();
    let (code, message) = error_of(&replies).expect("an error");
    assert_eq!(code, "57014");
    assert!(message.contains("the client gave up"), "{message}");
    raw.send(&query("SELECT 41 + 1"));
    let replies = raw.until_ready();
    assert_eq!(error_of(&replies), None);
    assert_eq!(tag(&replies).as_deref(), Some("SELECT 1"));
    // A message of another kind mid-copy ends the copy (08P01) and nothing is written; the
    // CopyData and CopyDone that follow it are dropped, as PostgreSQL drops them.
    begin_copy(&mut raw, "COPY raw.load.items FROM STDIN");
    raw.send(&copy_data(b"1\tann\t1.5\n"));
    raw.send(&query("SELECT 1"));
    let replies = raw.until_ready();
    assert_eq!(error_of(&replies).map(|e| e.0).as_deref(), Some("08P01"));
    raw.send(&copy_data(b"2\tbob\t1\n"));
    raw.send(&copy_done());
    raw.send(&query("SELECT 2"));
    let replies = raw.until_ready();
    assert_eq!(error_of(&replies), None, "{replies:?}");
    assert_eq!(tag(&replies).as_deref(), Some("SELECT 1"));
    assert_eq!(rows(&server).await, ["0|seed|0.5"]);
}

#[tokio::test]
async fn bad_data_names_its_line_and_writes_nothing() {
    let lake = own_lake();
    // A spool of 16 bytes: the data goes through the temporary file.
    let server = start(&lake, |o| o.copy_memory = 16).await;
    let mut raw = Raw::ready_on(server.port, "raw");
    for (sql, data, code, needle) in [
        (
            "COPY raw.load.items FROM STDIN",
            &b"1\tann\t1.5\n2\tbob\tlots\n"[..],
            "22P02",
            "invalid input syntax for type double precision: \"lots\" (COPY raw.load.items, line 2, column score)",
        ),
        (
            "COPY raw.load.items FROM STDIN",
            b"1\tann\t1.5\n2\tbob\n",
            "22P04",
            "missing data for column \"score\" (COPY raw.load.items, line 2)",
        ),
        (
            "COPY raw.load.items FROM STDIN (FORMAT csv)",
            b"1,ann,1.5,extra\n",
            "22P04",
            "extra data after last expected column (COPY raw.load.items, line 1)",
        ),
        (
            "COPY raw.load.items FROM STDIN (FORMAT binary)",
            // The header, then a row of 3 fields cut inside its first length.
            b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\0\x03\0\0",
            "22P04",
            "unexpected EOF in COPY data (COPY raw.load.items, line 1)",
        ),
        (
            "COPY raw.load.items FROM STDIN (FORMAT binary)",
            b"not a copy file",
            "22P04",
            "COPY file signature not recognized",
        ),
    ] {
        begin_copy(&mut raw, sql);
        raw.send(&copy_data(data));
        raw.send(&copy_done());
        let replies = raw.until_ready();
        let (got, message) = error_of(&replies).unwrap_or_else(|| panic!("{sql}: {replies:?}"));
        assert_eq!(got, code, "{sql}: {message}");
        assert!(message.contains(needle), "{sql}: {message}");
        assert_eq!(replies.last().map(|r| r.kind), Some(b'Z'));
    }
    assert_eq!(rows(&server).await, ["0|seed|0.5"]);
}

#[tokio::test]
async fn copy_from_a_server_file_stays_refused_and_bad_targets_fail_before_data() {
    let lake = own_lake();
    let server = start(&lake, |_| {}).await;
    let mut raw = Raw::ready_on(server.port, "raw");
    for (sql, code) in [
        ("COPY raw.load.items FROM '/etc/passwd'", "42501"),
        ("COPY raw.load.items FROM PROGRAM 'id'", "42501"),
        ("COPY raw.load.items (nope) FROM STDIN", "42703"),
        ("COPY raw.load.items (id, id) FROM STDIN", "42701"),
        (
            "COPY raw.load.items FROM STDIN (FORMAT binary, HEADER)",
            "0A000",
        ),
        ("COPY pg_catalog.pg_class FROM STDIN", "0A000"),
    ] {
        raw.send(&query(sql));
        let replies = raw.until_ready();
        assert!(replies.iter().all(|r| r.kind != b'G'), "{sql}: {replies:?}");
        let (got, message) = error_of(&replies).unwrap_or_else(|| panic!("{sql}: {replies:?}"));
        assert_eq!(got, code, "{sql}: {message}");
    }
    assert_eq!(rows(&server).await, ["0|seed|0.5"]);
}

#[tokio::test]
async fn a_client_gone_mid_copy_writes_nothing() {
    let lake = own_lake();
    let server = start(&lake, |_| {}).await;
    let mut raw = Raw::ready_on(server.port, "raw");
    begin_copy(&mut raw, "COPY raw.load.items FROM STDIN");
    raw.send(&copy_data(b"1\tann\t1.5\n"));
    drop(raw);
    // The server goes on serving; the half-sent COPY left nothing.
    let mut raw = Raw::ready_on(server.port, "raw");
    raw.send(&query("SELECT 1"));
    assert_eq!(error_of(&raw.until_ready()), None);
    assert_eq!(rows(&server).await, ["0|seed|0.5"]);
}

#[test]
fn psql_copy_loads_a_csv_file() {
    let lake = own_lake();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start(&lake, |_| {}));
    let file = lake.path().join("items.csv");
    std::fs::write(&file, "id,name,score\n7,\"comma, name\",7.5\n8,,8\n").unwrap();
    let out = Command::new(setup::psql())
        .arg(format!(
            "host=127.0.0.1 port={} user=loader dbname=raw",
            server.port
        ))
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!(
            "\\copy load.items FROM '{}' WITH (FORMAT csv, HEADER)",
            file.display()
        ))
        .output()
        .expect("run psql");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "COPY 2");
    assert_eq!(
        runtime.block_on(rows(&server)),
        ["0|seed|0.5", "7|comma, name|7.5", "8|-|8"]
    );
}

/// psycopg 3's copy API: text rows with write_row, then binary with declared types.
const PSYCOPG: &str = r#"
import sys, psycopg
with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=loader dbname=raw", autocommit=True) as conn:
    cur = conn.cursor()
    with cur.copy("COPY raw.load.items (id, name, score) FROM STDIN") as copy:
        copy.write_row((10, "tab\there", 1.25))
        copy.write_row((11, None, None))
    print("text", cur.rowcount)
    with cur.copy("COPY raw.load.items (id, name, score) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "float8"])
        copy.write_row((12, "binary", -3.5))
    print("binary", cur.rowcount)
    try:
        with cur.copy("COPY raw.load.items FROM STDIN") as copy:
            copy.write(b"13\tok\t1\n14\tbad\tnot a number\n")
    except psycopg.Error as e:
        print("error", e.sqlstate)
    cur.execute("SELECT count(*) FROM raw.load.items")
    print("count", cur.fetchone()[0])
"#;

#[test]
fn psycopg_copy_loads_text_and_binary_rows() {
    let lake = own_lake();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start(&lake, |_| {}));
    let out = Command::new(setup::python())
        .args(["-c", PSYCOPG, &server.port.to_string()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["text 2", "binary 1", "error 22P02", "count 4"]
    );
    assert_eq!(
        runtime.block_on(rows(&server)),
        [
            "0|seed|0.5",
            "10|tab\there|1.25",
            "11|-|-",
            "12|binary|-3.5"
        ]
    );
}
