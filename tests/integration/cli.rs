//! The `strata` command line (docs/repl.md): `-c`/`-f` against the built-in sample lake, output
//! formats, exit codes. Expected answers come from the sample lake's documentation
//! (`strata_catalog::sample`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `strata` on the sample lake: no --lake and no STRATA_LAKE.
pub fn strata(args: &[&str]) -> Output {
    strata_with_stdin(args, None)
}

fn strata_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env_remove("STRATA_LAKE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().expect("wait for strata")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
fn ok(args: &[&str]) -> String {
    let out = strata(args);
    assert!(
        out.status.success(),
        "strata {args:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn select_from_the_sample_lake() {
    let out = ok(&["-q", "-c", "SELECT count(*) AS n FROM raw.crm.customers"]);
    assert_eq!(out, "+----+\n| n  |\n+----+\n| 13 |\n+----+\n");
}

#[test]
fn table_format_footer_and_sample_notice() {
    let out = strata(&[
        "-c",
        "SELECT customer_id, status FROM raw.crm.customers WHERE customer_id IN (3, 11) ORDER BY 1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "+-------------+---------+\n\
         | customer_id | status  |\n\
         +-------------+---------+\n\
         | 3           | churned |\n\
         | 11          | active  |\n\
         +-------------+---------+\n\
         (2 rows)\n"
    );
    let err = stderr(&out);
    assert!(err.contains("built-in sample lake"), "{err}");
    assert!(err.contains("strata-sample-lake"), "{err}");
}

#[test]
fn set_as_of_applies_to_later_statements() {
    let out = ok(&[
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM raw.crm.customers",
        "-c",
        "SET strata.as_of = '2026-01-12'",
        "-c",
        "SELECT count(*) AS n FROM raw.crm.customers; SHOW strata.as_of",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..4], ["n", "13", "n", "12"], "{out}");
    assert!(lines.len() >= 6 && lines[5].contains("2026-01-12"), "{out}");
}

#[test]
fn status_tag_printed_in_table_format_only() {
    let out = ok(&["-c", "SET strata.as_of = '2026-01-12'"]);
    assert_eq!(out, "SET\n");
    assert_eq!(ok(&["-q", "-c", "SET strata.as_of = '2026-01-12'"]), "");
    assert_eq!(ok(&["--format", "csv", "-c", "RESET strata.as_of"]), "");
}

#[test]
fn as_of_flag() {
    let out = ok(&[
        "--as-of",
        "2026-01-17T00:00:00Z",
        "--format",
        "csv",
        "-c",
        "SELECT status, count(*) AS n FROM raw.crm.customers GROUP BY status ORDER BY status",
    ]);
    assert_eq!(out, "status,n\nactive,9\nchurned,2\ntrial,1\n");
}

#[test]
fn bad_as_of_flag_is_an_error() {
    let out = strata(&["--as-of", "not a time", "-c", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("Error: "), "{}", stderr(&out));
}

#[test]
fn csv_has_header_and_rfc4180_quoting() {
    let out = ok(&[
        "--format",
        "csv",
        "-c",
        "SELECT code, name, 'say \"hi\"' AS quote, CAST(NULL AS VARCHAR) AS nothing \
         FROM sanitized.public.countries WHERE code = 'KR'",
    ]);
    assert_eq!(
        out,
        "code,name,quote,nothing\nKR,\"Korea, Republic of\",\"say \"\"hi\"\"\",\n"
    );
    // An empty result still has its header.
    let out = ok(&[
        "--format",
        "csv",
        "-c",
        "SELECT code FROM sanitized.public.countries WHERE false",
    ]);
    assert_eq!(out, "code\n");
}

#[test]
fn json_is_one_array() {
    let out = ok(&[
        "--format",
        "json",
        "-c",
        "SELECT customer_id, status, segment FROM raw.crm.customers \
         WHERE customer_id IN (1, 3) ORDER BY customer_id",
    ]);
    assert_eq!(
        out.trim_end(),
        "[{\"customer_id\":1,\"status\":\"active\",\"segment\":\"enterprise\"},\
         {\"customer_id\":3,\"status\":\"churned\",\"segment\":null}]"
    );
    let empty = ok(&[
        "--format",
        "json",
        "-c",
        "SELECT * FROM raw.crm.customers WHERE false",
    ]);
    assert_eq!(empty.trim_end(), "[]");
}

#[test]
fn ndjson_is_one_object_per_line() {
    let out = ok(&[
        "--format",
        "ndjson",
        "-c",
        "SELECT status, count(*) AS n FROM raw.crm.customers GROUP BY status ORDER BY status",
    ]);
    assert_eq!(
        out,
        "{\"status\":\"active\",\"n\":11}\n{\"status\":\"churned\",\"n\":1}\n{\"status\":\"trial\",\"n\":1}\n"
    );
}

#[test]
fn first_error_stops_and_exits_non_zero() {
    let out = strata(&[
        "--format",
        "csv",
        "-c",
        "SELECT 'before' AS step",
        "-c",
        "SELECT * FROM raw.crm.custmers",
        "-c",
        "SELECT 'after' AS step",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "step\nbefore\n");
    let err = stderr(&out);
    assert!(err.contains("Error: "), "{err}");
    assert!(err.contains("custmers"), "{err}");
    // The session suggests the closest name.
    assert!(err.contains("customers"), "{err}");
}

#[test]
fn file_of_statements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sql");
    std::fs::write(
        &path,
        "-- time travel in a script\n\
         SET strata.as_of = '2026-01-12';\n\
         SELECT count(*) AS n\n  FROM raw.crm.customers;\n\
         RESET strata.as_of;\n\
         SELECT count(*) AS n FROM raw.crm.customers -- no semicolon at the end\n",
    )
    .unwrap();
    let out = ok(&["--format", "csv", "-f", path.to_str().unwrap()]);
    assert_eq!(out, "n\n12\nn\n13\n");

    // -c and -f run in command-line order.
    let out = ok(&[
        "-q",
        "--format",
        "csv",
        "-c",
        "SELECT 1 AS first",
        "-f",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out, "first\n1\nn\n12\nn\n13\n");

    let missing = strata(&["-f", "/nonexistent/strata.sql"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/nonexistent/strata.sql"));
}

#[test]
fn script_on_stdin() {
    let out = strata_with_stdin(
        &["-q", "--format", "csv"],
        Some("SELECT count(*) AS n FROM raw.crm.customers;\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n13\n");
}

#[test]
fn backslash_command_with_c() {
    let out = ok(&["-q", "--format", "csv", "-c", "\\dt"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "zone,schema,name,mode");
    assert!(lines.contains(&"raw,crm,customers,keyed"), "{out}");
    assert!(lines.contains(&"sanitized,crm,scores,snapshot"), "{out}");
    assert!(
        lines.contains(&"enhanced,sales,daily_revenue,append"),
        "{out}"
    );

    let out = ok(&["-q", "--format", "csv", "-c", "\\dt *.crm.*"]);
    assert_eq!(
        out,
        "zone,schema,name,mode\nraw,crm,customers,keyed\nsanitized,crm,scores,snapshot\n"
    );
}

#[test]
fn memory_limit_and_usage_errors() {
    let out = ok(&["-q", "--memory-limit", "512MB", "-c", "SELECT 1 AS x"]);
    assert!(out.contains("| 1 |"), "{out}");
    let bad = strata(&["--memory-limit", "lots", "-c", "SELECT 1"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = strata(&["--format", "xml", "-c", "SELECT 1"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn explain_analyze_is_a_result_set() {
    let out = ok(&[
        "-q",
        "-c",
        "EXPLAIN ANALYZE SELECT count(*) FROM raw.crm.customers",
    ]);
    assert!(out.contains("plan_type"), "{out}");
    assert!(out.contains("Plan with Metrics"), "{out}");
}
