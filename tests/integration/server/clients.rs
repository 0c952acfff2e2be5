//! Real client programs in `tests/clients/` against the server: psycopg 3, psycopg2 with
//! SQLAlchemy's inspector (Superset's path), asyncpg, pgJDBC (DBeaver, Tableau and Metabase go
//! through it), the metadata queries Metabase, Grafana, Superset and DBeaver send, and real
//! Apache Superset 6 driven through its REST API.
//!
//! Each program prints `PASS name` / `FAIL name: why` per check. Checks Strata does not pass
//! yet are listed in `tests/clients/known_gaps.txt` with the reason; a failure not listed there
//! fails the test, and so does a listed gap that now passes (the list must stay true).
use super::{clients_dir, Server};
use crate::setup;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn known_gaps(program: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(clients_dir().join("known_gaps.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" | "))
        .filter(|(p, _)| *p == program)
        .map(|(_, check)| check.split(" | ").next().unwrap().trim().to_string())
        .collect()
}

fn judge(program: &str, out: std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let passed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("PASS "))
        .collect();
    let failed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .collect();
    assert!(
        passed.len() >= 10,
        "{program} ran too few checks:\n{stdout}\n{stderr}"
    );
    let gaps = known_gaps(program);
    let unexpected: Vec<&&str> = failed
        .iter()
        .filter(|f| {
            !gaps
                .iter()
                .any(|g| f.starts_with(&format!("{g}: ")) || **f == g.as_str())
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{program}: new failures {unexpected:?}\n{stdout}\n{stderr}"
    );
    let fixed: Vec<&String> = gaps
        .iter()
        .filter(|g| passed.contains(&g.as_str()))
        .collect();
    assert!(
        fixed.is_empty(),
        "{program}: {fixed:?} pass now; remove them from known_gaps.txt"
    );
}

fn run_python(script: &str) {
    let server = Server::sample();
    let out = Command::new(setup::python())
        .arg(clients_dir().join(script))
        .arg(server.port.to_string())
        .output()
        .unwrap();
    judge(script, out);
}

#[test]
fn psycopg3() {
    run_python("psycopg3_client.py");
}

#[test]
fn sqlalchemy_inspector() {
    run_python("sqlalchemy_client.py");
}

#[test]
fn asyncpg() {
    run_python("asyncpg_client.py");
}

#[test]
fn bi_tool_metadata_queries() {
    run_python("bi_metadata.py");
}

/// Installs a JDK and pgJDBC when it can (see `setup::java`); without them it says so loudly
/// and checks nothing, which `STRATA_REQUIRE_CLIENTS=1` (CI) turns into a failure.
#[test]
fn pgjdbc() {
    let Some(java) = setup::java() else { return };
    let classes = tempfile::tempdir().unwrap();
    let javac = Command::new(&java.javac)
        .arg("-cp")
        .arg(&java.jar)
        .arg("-d")
        .arg(classes.path())
        .arg(clients_dir().join("JdbcClient.java"))
        .output()
        .expect("run javac");
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let server = Server::sample();
    let out = Command::new(&java.java)
        .arg("-cp")
        .arg(format!(
            "{}:{}",
            classes.path().display(),
            java.jar.display()
        ))
        .args(["JdbcClient", &server.port.to_string()])
        .output()
        .unwrap();
    judge("JdbcClient.java", out);
}

/// `.venv-superset/bin/python` at the workspace root: Superset pins SQLAlchemy 1.4, so it gets
/// its own venv beside the project's `.venv` (SQLAlchemy 2). Installed from PyPI on first use so
/// the test passes on a fresh clone (`.ci/run` installs it the same way, before the tests).
fn superset_python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-superset");
    if !venv.join("bin/superset").exists() {
        let venv_ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success();
        assert!(venv_ok, "python3 -m venv .venv-superset failed");
        let pip_ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "-r"])
            .arg(clients_dir().join("superset-requirements.txt"))
            .status()
            .unwrap()
            .success();
        assert!(
            pip_ok,
            "pip install -r tests/clients/superset-requirements.txt failed"
        );
    }
    venv.join("bin/python")
}

/// Superset 6.1 as a user drives it: connect, browse schemas and tables, table metadata with
/// the primary key, create datasets and sync their columns, charts with metrics, group-by,
/// time grains and time-range filters (PostgreSQL's TO_DATE/TO_TIMESTAMP), SQL Lab.
#[test]
fn superset() {
    let python = superset_python();
    let server = Server::sample();
    let out = Command::new(python)
        .arg(clients_dir().join("superset_client.py"))
        .arg(server.port.to_string())
        .output()
        .unwrap();
    judge("superset_client.py", out);
}
