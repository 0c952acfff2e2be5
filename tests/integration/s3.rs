//! S3 (docs/lake.md#stores, docs/metadata.md#refresh): the sample lake on a real S3-compatible
//! server (moto, on 127.0.0.1) gives the same answers as on local disk; a missing bucket,
//! refused credentials and an unreachable endpoint fail with an error naming the lake; a running
//! REPL sees files added to the bucket.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::{path::Path as StorePath, ObjectStoreExt};
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;

type Env = [(&'static str, String)];

/// One moto S3 server. Each test starts its own: a server shared through a static would never be
/// dropped, so nothing would stop it when the test binary ends.
pub(crate) struct Moto {
    port: u16,
    /// `sh` running moto in the background and killing it once its stdin closes, which happens
    /// when this is dropped and also when the test binary dies any other way (even SIGKILL).
    shell: Child,
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts a server; `env` is passed to moto (e.g. to enforce authentication).
    pub(crate) fn start(env: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" & pid=$!; read _; kill $pid; wait $pid"#)
            .args([moto_server(), port.to_string().into()])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // Moto logs every request: a pipe nobody reads would fill up and stall it.
            .stderr(log.reopen().unwrap());
        let moto = Moto {
            port,
            shell: sh.spawn().expect("start moto_server"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(moto.log.path()).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "moto_server not up on {port}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The environment `strata` reads its S3 settings from (docs/lake.md#stores).
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        s3_env(self.port)
    }

    /// object_store cannot create buckets; moto takes an unsigned `PUT /bucket`.
    fn create_bucket(&self, bucket: &str) {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let host = format!("127.0.0.1:{}", self.port);
        let request = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "create bucket {bucket}: {reply}"
        );
    }

    /// Uploads `files` (key, local file) to `bucket` with the same credentials Strata gets.
    fn put(&self, bucket: &str, files: &[(String, PathBuf)]) {
        let store = AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            for (key, file) in files {
                // `parse`, not `from`: a key must reach S3 exactly as written, never re-encoded.
                let key = StorePath::parse(key).unwrap();
                let bytes = std::fs::read(file).unwrap();
                store.put(&key, bytes.into()).await.unwrap();
            }
        });
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.shell.stdin.take());
        let _ = self.shell.wait();
    }
}

/// A port nothing listens on right now (the OS picks one; the listener is closed again).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn s3_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// `.venv/bin/moto_server` at the workspace root, installed from PyPI on first use (with the
/// other Python requirements, see `setup::python`) so the tests pass on a fresh clone.
fn moto_server() -> PathBuf {
    crate::setup::python().with_file_name("moto_server")
}

/// Every file below `dir` as (key relative to `dir`, path), ignored files and dot files included:
/// the bucket must hold exactly what the local lake holds.
fn files_below(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let key = path.strip_prefix(dir).unwrap().to_str().unwrap();
                out.push((key.replace('\\', "/"), path));
            }
        }
    }
    out.sort();
    out
}

/// The sample lake written to a temporary directory and uploaded below `prefix` of a new bucket.
pub(crate) fn sample_lake_on(moto: &Moto, bucket: &str, prefix: &str) -> tempfile::TempDir {
    sample_lake_refreshing_on(moto, bucket, prefix, "5s")
}

/// The same, with `[lake] refresh` set to `refresh` in its strata.toml.
fn sample_lake_refreshing_on(
    moto: &Moto,
    bucket: &str,
    prefix: &str,
    refresh: &str,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    strata::sample::write_sample_lake(dir.path()).unwrap();
    let toml = dir.path().join("strata.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let set = format!("refresh = \"{refresh}\"");
    let text = text.replace("refresh = \"5s\"", &set);
    assert!(
        text.contains(&set),
        "the sample strata.toml sets no refresh"
    );
    std::fs::write(&toml, text).unwrap();
    let mut files = files_below(dir.path());
    let ignored = files
        .iter()
        .filter(|(k, _)| k.contains("/_") || k.contains("/."));
    assert!(
        ignored.count() >= 3,
        "the sample lake has files Strata must skip"
    );
    for (key, _) in &mut files {
        key.insert_str(0, prefix);
    }
    moto.create_bucket(bucket);
    moto.put(bucket, &files);
    dir
}

/// Runs `strata --lake <lake> -q --format csv <args>` with only `env` for AWS settings: none of
/// the machine's own.
fn strata(lake: &str, env: &Env, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        cmd.env_remove(key);
    }
    cmd.env_remove("STRATA_LAKE")
        .env("NO_COLOR", "1")
        .envs(env.iter().cloned());
    cmd.args(["--lake", lake, "-q", "--format", "csv"])
        .args(args);
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn ok(lake: &str, env: &Env, args: &[&str]) -> String {
    let out = strata(lake, env, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "--lake {lake} {args:?} failed:\n{stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `args` on the local and the S3 copy; asserts equal answers and returns the S3 one.
fn same_answer(local: &Path, moto: &Moto, args: &[&str]) -> String {
    let on_disk = ok(local.to_str().unwrap(), &[], args);
    let on_s3 = ok("s3://lake", &moto.env(), args);
    assert_eq!(on_s3, on_disk, "{args:?}: S3 differs from local disk");
    on_s3
}

/// (SQL, data rows, a line the S3 answer must contain). The expected values are the sample lake's
/// documented answers, so a lake read wrong the same way from both stores still fails. Tables
/// whose ingestion time is the file's modification time (clicks, countries, customer_360,
/// pipeline_runs) get the upload time on S3, so they are read without `_ingested_at` or as-of.
#[rustfmt::skip]
const SAME_ANSWERS: &[(&str, usize, &str)] = &[
    ("SELECT customer_id, name, email, status, segment, _ingested_at FROM raw.crm.customers ORDER BY 1",
     13, "4,Dana Fischer,dana.fischer@example.com,active,smb,2026-01-25T08:00:00Z"),
    ("SET strata.as_of = '2026-01-17'; \
      SELECT status, count(*) AS n FROM raw.crm.customers GROUP BY 1 ORDER BY 1", 3, "active,9"),
    ("SELECT count(*) AS n FROM raw.crm.customers FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12'", 1, "12"),
    ("SELECT count(*) AS n, min(_ingested_at) AS first, max(_ingested_at) AS last \
      FROM raw.crm.customers_history", 1, "25,2026-01-10T09:01:00Z,2026-01-25T08:15:00Z"),
    ("SELECT order_id, customer_id, status, amount, _ingested_at FROM raw.shop.orders ORDER BY 1", 14, ""),
    ("SELECT customer_id, score, model, snapshot_ts FROM sanitized.crm.scores ORDER BY 1", 9,
     ",churn-v2,2026-01-24"),
    ("SELECT snapshot_ts, count(*) AS n FROM sanitized.crm.scores_history GROUP BY 1 ORDER BY 1", 3,
     "2026-01-17,10"),
    ("SELECT sum(revenue) AS revenue, count(*) AS n FROM enhanced.sales.daily_revenue", 1, "1346.94,13"),
    ("SELECT code, name, region FROM sanitized.public.countries ORDER BY 1", 15, "\"Korea, Republic of\""),
    ("SELECT page, ts, user_id FROM raw.events.clicks ORDER BY 2, 3, 1", 24, ""),
    ("SELECT customer_id, name, status FROM enhanced.sales.customer_360 ORDER BY 1", 13, ""),
    ("SELECT zone, schema, name, mode, files, rows FROM strata.tables ORDER BY 1, 2, 3", 9,
     "raw,crm,customers,keyed,4,25"),
    ("SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables \
      WHERE table_schema NOT IN ('information_schema', 'strata') ORDER BY 1, 2, 3", 12,
     "raw,crm,customers_history,BASE TABLE"),
];

#[test]
fn sample_lake_on_s3_answers_as_on_local_disk() {
    let moto = Moto::start(&[]);
    let local = sample_lake_on(&moto, "lake", "");
    for (sql, rows, line) in SAME_ANSWERS {
        let on_s3 = same_answer(local.path(), &moto, &["-c", sql]);
        assert_eq!(on_s3.lines().count(), rows + 1, "{sql} on S3:\n{on_s3}");
        let found = on_s3.lines().skip(1).any(|l| l.contains(line));
        assert!(found, "{sql}: no {line:?} in\n{on_s3}");
    }
    let sql = "SELECT customer_id FROM raw.crm.customers ORDER BY 1";
    let on_s3 = same_answer(local.path(), &moto, &["--as-of", "2026-01-22", "-c", sql]);
    let ids: Vec<&str> = on_s3.lines().skip(1).collect();
    assert_eq!(ids, ["1", "2", "3", "5", "6", "8", "9", "10", "11", "12"]);
}

/// Arrow IPC files as arrow-rs writes them by default (the sample lake's `runs.arrow`) pad the
/// leading magic to 64 bytes; DataFusion 55.2 infers the schema of a file on a remote store by
/// reading it as a stream from byte 8 (a local file is read through its footer instead).
#[test]

fn arrow_ipc_table_on_s3_answers_as_on_local_disk() {
    let moto = Moto::start(&[]);
    let local = sample_lake_on(&moto, "lake", "");
    let sql = "SELECT job, started_at, status FROM enhanced.ops.pipeline_runs ORDER BY 1, 2";
    let on_s3 = same_answer(local.path(), &moto, &["-c", sql]);
    assert_eq!(on_s3.lines().count(), 12, "{on_s3}");
    assert_eq!(on_s3.matches(",failed").count(), 1, "{on_s3}");
}

#[test]
fn lake_under_a_prefix_of_the_bucket() {
    let moto = Moto::start(&[]);
    let dir = sample_lake_on(&moto, "shared", "lakes/prod/");
    // A table outside the prefix must not show up in the lake below it.
    let csv = files_below(dir.path())
        .into_iter()
        .find(|(k, _)| k.ends_with(".csv"));
    moto.put("shared", &[("raw/stray/t/t.csv".into(), csv.unwrap().1)]);
    let sql = "SELECT zone, schema, name, mode, files, rows FROM strata.tables ORDER BY 1, 2, 3";
    let expected = ok(dir.path().to_str().unwrap(), &[], &["-c", sql]);
    for lake in ["s3://shared/lakes/prod", "s3://shared/lakes/prod/"] {
        assert_eq!(ok(lake, &moto.env(), &["-c", sql]), expected, "{lake}");
    }
}

/// Runs strata on `lake` expecting failure within `limit`; returns stderr.
fn fails(lake: &str, env: &Env, limit: Duration) -> String {
    let start = Instant::now();
    let out = strata(lake, env, &["-c", "SELECT count(*) FROM raw.crm.customers"]);
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "--lake {lake} succeeded:\n{stderr}");
    assert!(
        elapsed < limit,
        "--lake {lake} took {elapsed:?} to fail:\n{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "--lake {lake}: no result expected on stdout"
    );
    stderr
}

#[test]
fn missing_bucket_is_an_error_naming_the_lake() {
    let moto = Moto::start(&[]);
    let stderr = fails(
        "s3://no-such-bucket/lake",
        &moto.env(),
        Duration::from_secs(30),
    );
    assert!(stderr.contains("s3://no-such-bucket/lake"), "{stderr}");
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
}

#[test]
fn refused_credentials_are_an_error_naming_the_lake() {
    // With this setting moto checks every request's access key against its (empty) IAM users,
    // as AWS does, so the bucket is unauthorised for our key.
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let stderr = fails("s3://lake", &moto.env(), Duration::from_secs(30));
    assert!(stderr.contains("s3://lake"), "{stderr}");
    assert!(stderr.contains("InvalidAccessKeyId"), "{stderr}");
}

#[test]
fn unreachable_endpoint_fails_promptly_naming_the_lake() {
    // Connections are refused at once; object_store's retries (10, with backoff) must still
    // end in an error rather than a hang.
    let stderr = fails(
        "s3://lake/prefix",
        &s3_env(free_port()),
        Duration::from_secs(60),
    );
    assert!(stderr.contains("s3://lake/prefix"), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
}

/// A REPL over the sample lake in `bucket`, in a pseudo-terminal: with stdin not a terminal,
/// strata reads all of it as a script before running any, and only the REPL lets the bucket
/// change between two statements.
struct S3Repl {
    p: rexpect::session::PtySession,
    _home: tempfile::TempDir,
}

const REPL_PROMPT: &str = "strata:enhanced.public> ";

impl S3Repl {
    fn start(moto: &Moto, bucket: &str) -> S3Repl {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "stty cols 250 rows 50 && exec \"$0\" --lake \"$1\""])
            .arg(env!("CARGO_BIN_EXE_strata"))
            .arg(format!("s3://{bucket}"))
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            .env("PAGER", "")
            .env_remove("STRATA_LAKE")
            .envs(moto.env());
        let options = Options {
            timeout_ms: Some(60_000),
            strip_ansi_escape_codes: true,
        };
        let mut p = spawn_with_options(cmd, options).expect("spawn strata in a pty");
        p.exp_string(REPL_PROMPT).expect("first prompt");
        S3Repl { p, _home: home }
    }

    /// Runs one line; returns what it printed before the next prompt.
    fn step(&mut self, line: &str) -> String {
        self.p.send_line(line).unwrap();
        let out = self
            .p
            .exp_string(REPL_PROMPT)
            .unwrap_or_else(|e| panic!("after {line:?}: {e}"));
        crate::repl::utf8(out)
    }

    fn quit(mut self) {
        self.p.send_line("\\q").unwrap();
        self.p.exp_eof().expect("strata exits after \\q");
    }
}

/// Uploads a copy of a Firehose clicks file under a new hour folder of `bucket`: same schema,
/// 8 clicks.
fn add_clicks(moto: &Moto, bucket: &str, local: &Path, hour: u32) {
    let files = files_below(local);
    let (_, clicks) = files
        .iter()
        .find(|(k, _)| k.starts_with("raw/events/clicks/"))
        .expect("the sample lake has clicks");
    let key = format!("raw/events/clicks/2026/01/25/{hour:02}/clicks-new-{hour}");
    moto.put(bucket, &[(key, clicks.clone())]);
}

const CLICKS: &str = "SELECT count(*) AS n FROM raw.events.clicks;";

#[test]
fn running_repl_sees_new_s3_files_on_refresh() {
    let moto = Moto::start(&[]);
    // An hour between listings: only REFRESH can show the new file within this test.
    let local = sample_lake_refreshing_on(&moto, "lake", "", "1h");
    let mut repl = S3Repl::start(&moto, "lake");
    assert!(repl.step(CLICKS).contains(" 24 │"));
    add_clicks(&moto, "lake", local.path(), 10);
    let out = repl.step(CLICKS);
    assert!(
        out.contains(" 24 │"),
        "the listing is kept between refreshes:\n{out}"
    );
    repl.step("REFRESH;");
    let out = repl.step(CLICKS);
    assert!(out.contains(" 32 │"), "after REFRESH:\n{out}");
    repl.quit();
}

#[test]
fn running_repl_sees_new_s3_files_after_the_refresh_interval() {
    let moto = Moto::start(&[]);
    // A short `refresh`: a listing older than that is read again unasked, so the new file shows
    // without REFRESH; the query is repeated until it does, up to a deadline.
    let local = sample_lake_refreshing_on(&moto, "lake", "", "200ms");
    let mut repl = S3Repl::start(&moto, "lake");
    assert!(repl.step(CLICKS).contains(" 24 │"));
    add_clicks(&moto, "lake", local.path(), 11);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = repl.step(CLICKS);
        if out.contains(" 32 │") {
            break;
        }
        assert!(out.contains(" 24 │"), "{out}");
        assert!(
            Instant::now() < deadline,
            "no new file 60 s after the upload, with refresh = 200ms and no REFRESH:\n{out}"
        );
    }
    repl.quit();
}

/// Delta writes on S3 (docs/delta.md): a table created and appended by `strata ingest`, a
/// DELETE, OPTIMIZE and time travel, all through the S3 API with conditional puts.
#[test]
fn delta_writes_on_s3_create_append_delete_and_optimize() {
    let moto = Moto::start(&[]);
    moto.create_bucket("lake");
    let env = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    std::fs::write(&first, "id,item\n1,pen\n2,ink\n").unwrap();
    let second = dir.path().join("second.csv");
    std::fs::write(&second, "id,item\n3,pad\n").unwrap();
    for f in [&first, &second] {
        ok(
            "s3://lake",
            &env,
            &["ingest", "raw.shop.orders", f.to_str().unwrap()],
        );
    }
    let count = |sql: &str| ok("s3://lake", &env, &["-c", sql]);
    assert_eq!(
        count("SELECT id, item FROM raw.shop.orders ORDER BY id"),
        "id,item\n1,pen\n2,ink\n3,pad\n"
    );
    let first_stamp = count("SELECT min(_ingested_at) AS t FROM raw.shop.orders");
    let first_stamp = first_stamp.lines().nth(1).unwrap().to_string();
    ok(
        "s3://lake",
        &env,
        &[
            "-c",
            "DELETE FROM raw.shop.orders WHERE id = 2",
            "-c",
            "OPTIMIZE raw.shop.orders",
        ],
    );
    assert_eq!(
        count("SELECT id FROM raw.shop.orders ORDER BY id"),
        "id\n1\n3\n"
    );
    assert_eq!(
        count(&format!("SELECT id FROM raw.shop.orders FOR SYSTEM_TIME AS OF TIMESTAMP '{first_stamp}' ORDER BY id")),
        "id\n1\n2\n"
    );
    assert_eq!(
        count("SELECT version, operation FROM strata.batches ORDER BY version"),
        "version,operation\n0,CREATE TABLE\n1,WRITE\n2,DELETE\n3,OPTIMIZE\n"
    );
}
