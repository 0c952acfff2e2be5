//! Bad input (issue 2; docs/errors.md): every bad file, query or setting gets a clear error
//! naming the thing, and the rest of the lake keeps answering in the same process.

use std::process::Command;
use std::sync::Arc;
use strata::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use strata::arrow::util::display::array_value_to_string;
use strata::datafusion::parquet::arrow::ArrowWriter;
use strata::{Lake, Session, SessionOptions};

/// A throwaway lake on disk. Every lake has `raw.crm.good` (v = 10, 20, 30) to show that the
/// rest of the lake still answers after an error.
struct TestLake(tempfile::TempDir);

impl TestLake {
    fn new() -> Self {
        let lake = TestLake(tempfile::tempdir().expect("tempdir"));
        let good = parquet(&[("id", ints(&[1, 2, 3])), ("v", ints(&[10, 20, 30]))]);
        lake.put("raw/crm/good/part-0.parquet", good);
        lake
    }

    fn root(&self) -> String {
        self.0.path().to_string_lossy().into_owned()
    }

    /// Writes `bytes` at `rel` below the lake root, creating folders.
    fn put(&self, rel: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let path = self.0.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self
    }

    /// Writes a Parquet file with one Int64 column.
    fn col(&self, rel: &str, name: &str, values: &[i64]) -> &Self {
        self.put(rel, parquet(&[(name, ints(values))]))
    }

    async fn session(&self) -> Session {
        let lake = Lake::open(&self.root()).await.expect("open lake");
        new_session(&lake).await
    }

    /// Runs the CLI on this lake; returns (exit code, stdout, stderr).
    fn cli(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["--lake", &self.root(), "--format", "csv"])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run strata");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }
}

async fn new_session(lake: &Arc<Lake>) -> Session {
    Session::new(lake.clone(), SessionOptions::default())
        .await
        .unwrap()
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn parquet(columns: &[(&str, ArrayRef)]) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns.iter().map(|(n, a)| (*n, a.clone()))).unwrap();
    let mut buf = vec![];
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    buf
}

/// The first value of the result, or the error's text, through the streaming path the CLI,
/// REPL and server use.
async fn first(s: &Session, sql: &str) -> Result<String, String> {
    use futures::StreamExt;
    let mut value = None;
    for stmt in s.parse(sql).map_err(|e| e.to_string())? {
        if let strata::Output::Rows(mut rows) = s.execute(&stmt).await.map_err(|e| e.to_string())? {
            while let Some(b) = rows.next().await {
                let b = b.map_err(|e| e.to_string())?;
                if value.is_none() && b.num_rows() > 0 {
                    value = Some(array_value_to_string(b.column(0), 0).unwrap());
                }
            }
        }
    }
    value.ok_or_else(|| "no rows".to_string())
}

/// Asserts `sql` answers `want` (its first value).
async fn answers(s: &Session, sql: &str, want: &str) {
    assert_eq!(first(s, sql).await, Ok(want.to_string()), "{sql}");
}

/// The error `sql` must give (at planning or while running).
async fn error(s: &Session, sql: &str) -> String {
    first(s, sql).await.expect_err(sql)
}

/// Asserts `message` contains every one of `needles`.
fn names(message: &str, needles: &[&str]) {
    for n in needles {
        let named = message.contains(n);
        assert!(named, "error should name {n:?}; it was:\n{message}");
    }
}

/// Nothing else broke: the good table answers in this session and in a new one, and the
/// metadata table still lists it as healthy.
async fn rest_still_answers(s: &Session) {
    answers(s, "SELECT sum(v) FROM raw.crm.good", "60").await;
    let other = new_session(s.lake()).await;
    answers(&other, "SELECT max(v) FROM raw.crm.good", "30").await;
    let sql = "SELECT count(*) FROM raw.strata.tables WHERE name = 'good' AND error IS NULL";
    answers(s, sql, "1").await;
}

/// Bytes that are no Parquet file (deterministic noise).
fn noise() -> Vec<u8> {
    let byte = |i: u32| (i.wrapping_mul(2654435761) >> 13) as u8;
    (0..4096).map(byte).collect()
}

#[tokio::test]
async fn corrupt_and_truncated_parquet_name_the_file() {
    let lake = TestLake::new();
    lake.put("raw/crm/noise/part-0.parquet", noise());
    let valid = parquet(&[("id", ints(&Vec::from_iter(0..1000)))]);
    lake.put("raw/crm/cut/part-0.parquet", &valid);
    lake.put("raw/crm/cut/part-1.parquet", &valid[..valid.len() / 2]);
    let s = lake.session().await;

    let e = error(&s, "SELECT * FROM raw.crm.noise").await;
    names(&e, &["raw.crm.noise", "part-0.parquet"]);
    let e = error(&s, "SELECT count(*) FROM raw.crm.cut").await;
    names(&e, &["raw.crm.cut", "part-1.parquet"]);
    // The metadata table reports the broken table instead of failing.
    let e = first(&s, "SELECT error FROM raw.strata.tables WHERE name = 'cut'").await;
    names(&e.unwrap(), &["part-1.parquet"]);
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn parquet_with_corrupt_pages_names_the_file() {
    // The footer is intact (schema inference succeeds) but the first page header is garbage:
    // the error only shows when rows are read.
    let lake = TestLake::new();
    let mut bytes = parquet(&[("id", ints(&Vec::from_iter(0..1000)))]);
    bytes[4..200].fill(0xFF);
    lake.put("raw/crm/pages/part-0.parquet", bytes);
    let s = lake.session().await;
    let e = error(&s, "SELECT sum(id) FROM raw.crm.pages").await;
    names(&e, &["raw.crm.pages", "part-0.parquet"]);
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn ragged_csv_rows_name_the_table_and_file() {
    let lake = TestLake::new();
    lake.put("raw/crm/wide/a.csv", "id,name\n1,ann\n2,bob,extra\n3,cy\n");
    lake.put("raw/crm/narrow/a.csv", "id,name\n1,ann\n2\n3,cy\n");
    // A ragged row far beyond what schema inference reads: found only while scanning.
    let mut late = String::from("id,name\n");
    (0..5000).for_each(|i| late.push_str(&format!("{i},n{i}\n")));
    late.push_str("5000,x,y,z\n");
    lake.put("raw/crm/late/b.csv", late);
    let s = lake.session().await;

    let cases = [("wide", "a.csv"), ("narrow", "a.csv"), ("late", "b.csv")];
    for (table, file) in cases.map(|(t, f)| (format!("raw.crm.{t}"), f)) {
        let e = error(&s, &format!("SELECT count(*), max(name) FROM {table}")).await;
        names(&e, &[&table, file]);
    }
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn ndjson_wrong_type_names_file_and_column() {
    let lake = TestLake::new();
    lake.put("raw/ev/split/a.json", "{\"a\": 1}\n{\"a\": 2}\n");
    lake.put("raw/ev/split/b.json", "{\"a\": \"x\"}\n");
    lake.put("raw/ev/mixed/c.ndjson", "{\"a\": 1}\n{\"a\": \"x\"}\n");
    let s = lake.session().await;

    let e = error(&s, "SELECT * FROM raw.ev.split").await;
    names(&e, &["raw.ev.split", "a.json", "b.json", "'a'"]);
    // Within one file arrow's JSON inference widens `a` to text. Either the values read back
    // as text (a documented coercion) or the error names the file and the column.
    let sql = "SELECT string_agg(CAST(a AS VARCHAR), ',' ORDER BY a) FROM raw.ev.mixed";
    match first(&s, sql).await {
        Ok(v) => assert_eq!(v, "1,x"),
        Err(e) => names(&e, &["raw.ev.mixed", "c.ndjson", "'a'"]),
    }
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn incompatible_parquet_schema_change_names_both_files_and_column() {
    let lake = TestLake::new();
    let text: ArrayRef = Arc::new(StringArray::from(vec!["seven"]));
    let dir = "raw/crm/evolving";
    lake.put(
        &format!("{dir}/part-0.parquet"),
        parquet(&[("id", ints(&[1])), ("x", ints(&[7]))]),
    )
    .put(
        &format!("{dir}/part-1.parquet"),
        parquet(&[("id", ints(&[2])), ("x", text)]),
    );
    let s = lake.session().await;
    let e = error(&s, "SELECT id FROM raw.crm.evolving").await;
    let both = ["part-0.parquet", "part-1.parquet"];
    names(&e, &["raw.crm.evolving", both[0], both[1], "'x'"]);
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn two_formats_in_one_table_name_one_file_of_each() {
    let lake = TestLake::new();
    lake.col("raw/crm/both/part-0.parquet", "id", &[1])
        .put("raw/crm/both/part-1.csv", "id\n2\n");
    let s = lake.session().await;
    let e = error(&s, "SELECT * FROM raw.crm.both").await;
    names(&e, &["raw.crm.both", "part-0.parquet", "part-1.csv"]);
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn broken_tables_do_not_break_the_catalog() {
    // docs/metadata.md, docs/errors.md: information_schema and SHOW TABLES work with a broken
    // table in the lake.
    let lake = TestLake::new();
    lake.put("raw/crm/noise/part-0.parquet", noise());
    lake.col("raw/crm/both/part-0.parquet", "id", &[1])
        .put("raw/crm/both/part-1.csv", "id\n2\n");
    lake.col("raw/crm/keyed/part-0.parquet", "id", &[1]).put(
        "strata.toml",
        "[tables.\"raw.crm.keyed\"]\nkey = \"nope\"\n",
    );
    let s = lake.session().await;
    let sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'good'";
    answers(&s, sql, "1").await;
    let sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'good'";
    answers(&s, sql, "3").await; // id, v, _ingested_at
    let shown = s.sql("SHOW TABLES").await.unwrap().collect().await;
    shown.expect("SHOW TABLES");
    answers(&s, "SELECT count(error) FROM raw.strata.tables", "3").await;
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn unknown_names_are_named_with_the_closest_suggested() {
    let lake = TestLake::new();
    lake.col("raw/crm/customers/part-0.parquet", "customer_id", &[1, 2]);
    let s = lake.session().await;

    let e = error(&s, "SELECT * FROM rwa.crm.customers").await;
    names(&e, &["rwa", "raw.crm.customers"]);
    let e = error(&s, "SELECT * FROM raw.crn.customers").await;
    names(&e, &["crn", "raw.crm.customers"]);
    let e = error(&s, "SELECT * FROM raw.crm.custmers").await;
    names(&e, &["custmers", "did you mean raw.crm.customers"]);
    let e = error(&s, "SELECT custmer_id FROM raw.crm.customers").await;
    names(&e, &["custmer_id", "customer_id"]);
    // Through parse + execute as well (the REPL's and server's path).
    let stmt = s.parse("SELECT * FROM raw.crm.custmers").unwrap().remove(0);
    let e = s.execute(&stmt).await.err().expect("unknown table");
    names(&e.to_string(), &["custmers", "raw.crm.customers"]);
    answers(&s, "SELECT count(*) FROM raw.crm.customers", "2").await;
    rest_still_answers(&s).await;
}

/// Asserts `Lake::open` and the CLI refuse `toml` as strata.toml naming the file, the line
/// and `what`; fixed, the same lake opens and answers.
async fn refused_config(toml: &str, line: usize, what: &str) {
    let lake = TestLake::new();
    lake.put("strata.toml", toml);
    let e = Lake::open(&lake.root()).await.expect_err("bad toml");
    let e = e.to_string();
    let line = format!("line {line}");
    names(&e, &["strata.toml", &line, what]);
    let (code, _, stderr) = lake.cli(&["-c", "SELECT 1"]);
    assert_eq!(code, Some(1), "{stderr}");
    names(&stderr, &["strata.toml", &line, what]);
    lake.put("strata.toml", "[lake]\nrefresh = \"5s\"\n");
    let s = lake.session().await;
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn malformed_strata_toml_names_file_and_line() {
    let head = "# lake settings\n[lake]\nrefresh = \"5s\"\n\n[tables.\"raw.crm.good\"]\n";
    refused_config(&format!("{head}key = = [\"id\"]\n"), 6, "").await;
    let unknown_key = format!("{head}key = [\"id\"]\nkeys = [\"v\"]\n");
    refused_config(&unknown_key, 7, "keys").await;
    refused_config("# lake settings\n\n[lake]\nrefresh = \"soon\"\n", 4, "soon").await;
}

#[tokio::test]
async fn unparsable_as_of_is_refused_and_keeps_the_old_setting() {
    let lake = TestLake::new();
    lake.col("raw/ev/clicks/dt=2026-01-01/a.parquet", "n", &[1, 2])
        .col("raw/ev/clicks/dt=2026-01-03/b.parquet", "n", &[3]);
    let s = lake.session().await;
    s.sql("SET strata.as_of = '2026-01-02'").await.unwrap();
    answers(&s, "SELECT count(*) FROM raw.ev.clicks", "2").await;

    let e = s.sql("SET strata.as_of = 'yesterday'").await.err();
    names(
        &e.expect("bad as-of").to_string(),
        &["yesterday", "strata.as_of"],
    );
    let shown = first(&s, "SHOW strata.as_of").await.unwrap();
    assert!(shown.contains("2026-01-02"), "{shown}");
    answers(&s, "SELECT count(*) FROM raw.ev.clicks", "2").await;
    s.sql("RESET strata.as_of").await.unwrap();
    answers(&s, "SELECT count(*) FROM raw.ev.clicks", "3").await;
    rest_still_answers(&s).await;

    let (code, _, stderr) = lake.cli(&["--as-of", "yesterday", "-c", "SELECT 1"]);
    assert_eq!(code, Some(1), "{stderr}");
    names(&stderr, &["yesterday"]);
    let (code, _, stderr) = lake.cli(&["-c", "SET strata.as_of = 'yesterday'", "-c", "SELECT 1"]);
    assert_eq!(code, Some(1), "{stderr}");
    names(&stderr, &["yesterday"]);
}

#[tokio::test]
async fn key_naming_a_missing_column_names_column_and_config_line() {
    let lake = TestLake::new();
    let toml = "# keys\n\n[tables.\"raw.crm.customers\"]\nkey = [\"custmer_id\"]\n";
    lake.col("raw/crm/customers/part-0.parquet", "customer_id", &[1, 2])
        .put("strata.toml", toml);
    let s = lake.session().await;
    for table in ["raw.crm.customers", "raw.crm.customers_history"] {
        let e = error(&s, &format!("SELECT * FROM {table}")).await;
        names(&e, &["raw.crm.customers", "custmer_id", "strata.toml"]);
        // The table's section starts on line 3 and `key` is on line 4: either points at it.
        assert!(e.contains("line 3") || e.contains("line 4"), "{e}");
    }
    rest_still_answers(&s).await;
}

#[tokio::test]
async fn real_history_folder_beside_keyed_table_is_a_clash_naming_both() {
    let lake = TestLake::new();
    let toml = "[tables.\"raw.crm.customers\"]\nkey = [\"customer_id\"]\n";
    lake.col("raw/crm/customers/part-0.parquet", "customer_id", &[1])
        .col(
            "raw/crm/customers_history/part-0.parquet",
            "customer_id",
            &[1],
        )
        .put("strata.toml", toml);
    let e = Lake::open(&lake.root()).await.expect_err("clash");
    let e = e.to_string();
    let (code, _, stderr) = lake.cli(&["-c", "SELECT 1"]);
    assert_eq!(code, Some(1), "{stderr}");
    for message in [e, stderr] {
        // Both names: the history table's, and the keyed table's on its own.
        names(&message, &["raw.crm.customers_history"]);
        let rest = message.replace("customers_history", "");
        names(&rest, &["raw.crm.customers"]);
    }
}

#[tokio::test]
async fn empty_files_and_spark_leftovers_are_ignored() {
    let lake = TestLake::new();
    let dir = "raw/crm/good";
    lake.put(&format!("{dir}/part-1.parquet"), "")
        .put(&format!("{dir}/part-2.csv"), "")
        .put(&format!("{dir}/_SUCCESS"), "")
        .put(&format!("{dir}/_temporary/0/task_1/part-3.pq"), noise())
        .put(&format!("{dir}/_temporary/0/part-4.csv"), "a,b\n1\n")
        .put(&format!("{dir}/.part-0.parquet.crc"), "crc bytes")
        .put(&format!("{dir}/part-0.parquet.crc"), "crc bytes")
        .put("raw/crm/empty_only/part-0.parquet", "");
    let s = lake.session().await;
    answers(&s, "SELECT count(*) FROM raw.crm.good", "3").await;
    let files = "SELECT files FROM raw.strata.tables WHERE name = 'good'";
    answers(&s, files, "1").await;
    rest_still_answers(&s).await;
    let (code, stdout, stderr) = lake.cli(&["-c", "SELECT sum(v) AS s FROM raw.crm.good"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "s\n60\n"), "{stderr}");
}

/// A gzip file whose deflate stream is garbled after the header: gzip's own check fails.
fn corrupt_gzip() -> Vec<u8> {
    use std::io::Write;
    let mut csv = String::from("id,name\n");
    (0..2000).for_each(|i| csv.push_str(&format!("{i},name{i}\n")));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let mut bytes = gz.finish().unwrap();
    let mid = bytes.len() / 2;
    bytes[20..mid].iter_mut().for_each(|b| *b ^= 0x5A);
    bytes
}

/// Issue 10: each kind of file error has one SQLSTATE, whether it shows while the schema is
/// read or while rows are, through the server as through the CLI; and the message names the
/// file in full (the lake's root included), not the store-relative path.
#[tokio::test]
async fn file_errors_have_one_sqlstate_per_kind_and_name_the_file_in_full() {
    let lake = TestLake::new();
    lake.put("raw/crm/noise/part-0.parquet", noise());
    let valid = parquet(&[("id", ints(&Vec::from_iter(0..1000)))]);
    lake.put("raw/crm/cut/part-0.parquet", &valid[..valid.len() / 2]);
    let mut pages = valid.clone();
    pages[4..200].fill(0xFF);
    lake.put("raw/crm/pages/part-0.parquet", pages);
    lake.put("raw/crm/zipped/a.csv.gz", corrupt_gzip());
    lake.put(
        "raw/crm/ragged/a.csv",
        "id,name\n1,ann\n2,bob,extra\n3,cy\n",
    );
    let mut late = String::from("id,name\n");
    (0..5000).for_each(|i| late.push_str(&format!("{i},n{i}\n")));
    late.push_str("5000,x,y,z\n");
    lake.put("raw/crm/late/b.csv", late);
    lake.put(
        "raw/crm/evolving/part-0.parquet",
        parquet(&[("x", ints(&[7]))]),
    )
    .put(
        "raw/crm/evolving/part-1.parquet",
        parquet(&[("x", Arc::new(StringArray::from(vec!["seven"])) as ArrayRef)]),
    );
    lake.col("raw/crm/both/part-0.parquet", "id", &[1])
        .put("raw/crm/both/part-1.csv", "id\n2\n");
    let root = std::fs::canonicalize(lake.root()).unwrap();
    let full = |rel: &str| format!("{}/{rel}", root.display());

    // (table, file the error names, SQLSTATE, words saying what is wrong)
    let cases = [
        ("noise", "part-0.parquet", "XX001", "corrupt file"),
        ("cut", "part-0.parquet", "XX001", "corrupt file"),
        ("pages", "part-0.parquet", "XX001", "corrupt file"),
        ("zipped", "a.csv.gz", "XX001", "corrupt gzip data"),
        ("ragged", "a.csv", "22P04", "malformed data"),
        ("late", "b.csv", "22P04", "malformed data"),
        ("evolving", "part-1.parquet", "42804", "incompatible schema"),
        ("both", "part-1.csv", "42804", "incompatible schema"),
    ];
    let server = crate::server::Server::start(&lake.root(), &[], &[]);
    let client = crate::server::connect(&server.url("strata", "raw")).await;
    for (table, file, code, words) in cases {
        let path = full(&format!("raw/crm/{table}/{file}"));
        // Every row read: aggregates may be answered from Parquet statistics without pages.
        let sql = format!("SELECT * FROM raw.crm.{table}");
        let e = client.simple_query(&sql).await.expect_err(&sql);
        let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!((table, db.code().code()), (table, code), "{}", db.message());
        names(db.message(), &[&format!("raw.crm.{table}"), &path, words]);
        assert!(
            !db.message().contains("Generic read to"),
            "object_store's wrapper text: {}",
            db.message()
        );
        // The CLI runs the same statement the same way and prints the same names.
        let (status, _, stderr) = lake.cli(&["-c", &sql]);
        assert_eq!(status, Some(1), "{stderr}");
        names(&stderr, &[&path, words]);
    }
    // The server still answers, and so does the good table.
    let rows = client.simple_query("SELECT sum(v) FROM raw.crm.good").await;
    assert!(rows.is_ok(), "{rows:?}");
}
