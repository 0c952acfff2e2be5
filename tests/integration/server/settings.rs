//! `[server]` settings in strata.toml and the flags of `strata serve` mean the same: one parser
//! reads durations and sizes from both (docs/server.md, "Settings"), so a value that loads is
//! the value the server applies, and a value one refuses the other refuses with the same words.
use super::{connect, sqlstate, Server};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The sample lake in a temporary directory, with `server` appended to its strata.toml as the
/// `[server]` section.
fn lake_with_server_settings(server: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    strata_catalog::sample::write_sample_lake(dir.path()).unwrap();
    let toml = dir.path().join("strata.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        !text.contains("[server]"),
        "the sample lake has its own [server]"
    );
    text.push_str("\n[server]\n");
    text.push_str(server);
    std::fs::write(&toml, text).unwrap();
    dir
}

fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().unwrap()
}

/// Runs `strata serve` expecting it to refuse to start; returns (exit code, stderr). A server
/// that starts instead is stopped and the test fails.
fn refused_serve(lake: &str, flags: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--lake", lake, "--listen", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata serve");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "strata serve {flags:?} started instead of refusing its settings:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The server's `statement_timeout` as a session sees it at connect.
async fn shown_statement_timeout(server: &Server) -> String {
    let c = connect(&server.url("t", "enhanced")).await;
    let row = c.query_one("SHOW statement_timeout", &[]).await.unwrap();
    row.get(0)
}

/// `idle_timeout = "10m"` passed strata.toml's validation and then `strata serve` refused it
/// (the server read durations with PostgreSQL's units, which have no `m`).
#[tokio::test]
async fn idle_timeout_10m_in_strata_toml_starts_the_server() {
    let lake = lake_with_server_settings("idle_timeout = \"10m\"\nstartup_timeout = \"1m\"\n");
    let server = Server::start(path(&lake), &[], &[]);
    let c = connect(&server.url("t", "enhanced")).await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM sales.daily_revenue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
    drop(server);
    // The flags take the same spellings.
    let server = Server::start(
        &super::sample_lake(),
        &["--idle-timeout", "10m", "--startup-timeout", "2min"],
        &[],
    );
    let c = connect(&server.url("t", "enhanced")).await;
    c.simple_query("SELECT 1").await.unwrap();
}

/// `statement_timeout = "30"` meant 30 s to strata.toml's validation and 30 ms to the server.
/// Now a value is applied exactly as it loads, and a bare number is refused by the file and the
/// flag alike, with the same message.
#[tokio::test]
async fn statement_timeout_means_the_same_to_validation_and_server() {
    // A duration in minutes: the server used to refuse what validation accepted.
    let lake = lake_with_server_settings("statement_timeout = \"2m\"\n");
    let server = Server::start(path(&lake), &[], &[]);
    assert_eq!(shown_statement_timeout(&server).await, "120000ms");
    drop(server);

    // 300ms from strata.toml is 300 ms to the session and stops a long query.
    let lake = lake_with_server_settings("statement_timeout = \"300ms\"\n");
    let server = Server::start(path(&lake), &[], &[]);
    assert_eq!(shown_statement_timeout(&server).await, "300ms");
    let c = connect(&server.url("t", "raw")).await;
    // A 7-way cross join of 25 rows (as in cancel.rs): runs far longer than 300 ms.
    let cross_join = "SELECT sum(a.customer_id + b.customer_id + c.customer_id + d.customer_id \
         + e.customer_id + f.customer_id + g.customer_id) FROM crm.customers_history a, \
         crm.customers_history b, crm.customers_history c, crm.customers_history d, \
         crm.customers_history e, crm.customers_history f, crm.customers_history g";
    let e = tokio::time::timeout(Duration::from_secs(120), c.simple_query(cross_join))
        .await
        .expect("the configured statement_timeout did not stop the query")
        .unwrap_err();
    assert_eq!(sqlstate(&e), "57014", "{e}");
    drop(server);

    // A bare number is refused, naming the file, the line and the key.
    let lake = lake_with_server_settings("statement_timeout = \"30\"\n");
    let (code, stderr) = refused_serve(path(&lake), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let message = "\"30\" needs a unit: 30s or 30ms";
    for part in ["strata.toml", "[server] statement_timeout", message] {
        assert!(stderr.contains(part), "no {part:?} in:\n{stderr}");
    }
    let line = format!(
        "line {}",
        std::fs::read_to_string(lake.path().join("strata.toml"))
            .unwrap()
            .lines()
            .count()
    );
    assert!(stderr.contains(&line), "no {line:?} in:\n{stderr}");
    // A TOML integer is the same bare number.
    let lake = lake_with_server_settings("statement_timeout = 30\n");
    let (code, stderr) = refused_serve(path(&lake), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");

    // The flag: refused while the arguments are parsed (clap's usage error, status 2).
    let (code, stderr) = refused_serve(&super::sample_lake(), &["--statement-timeout", "30"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--statement-timeout"), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");

    // 0 is unambiguous: no timeout, from the file and from the flag.
    let lake = lake_with_server_settings("statement_timeout = \"0\"\n");
    let server = Server::start(path(&lake), &[], &[]);
    assert_eq!(shown_statement_timeout(&server).await, "0");
    drop(server);
    let server = Server::start(&super::sample_lake(), &["--statement-timeout", "0"], &[]);
    assert_eq!(shown_statement_timeout(&server).await, "0");
}

/// A bad duration or size flag fails at argument parsing with the message strata.toml gives for
/// the same value.
#[tokio::test]
async fn bad_duration_and_size_flags_fail_like_strata_toml() {
    for (key, flag, value) in [
        ("idle_timeout", "--idle-timeout", "10x"),
        ("startup_timeout", "--startup-timeout", "0"),
        ("max_query_size", "--max-query-size", "lots"),
        ("query_memory_limit", "--query-memory-limit", "5 parsecs"),
    ] {
        let lake = lake_with_server_settings(&format!("{key} = \"{value}\"\n"));
        let (code, from_file) = refused_serve(path(&lake), &[]);
        assert_eq!(code, Some(1), "{from_file}");
        let prefix = format!("[server] {key}: ");
        let message = from_file
            .split_once(&prefix)
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{from_file}"))
            .1
            .lines()
            .next()
            .unwrap()
            .trim();
        assert!(message.contains(value), "{from_file}");
        let (code, from_flag) = refused_serve(&super::sample_lake(), &[flag, value]);
        assert_eq!(code, Some(2), "{from_flag}");
        assert!(from_flag.contains(flag), "{from_flag}");
        assert!(
            from_flag.contains(message),
            "{flag} {value}: the flag's error does not say {message:?}:\n{from_flag}"
        );
    }
}
