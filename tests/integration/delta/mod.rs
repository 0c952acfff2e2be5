//! Delta Lake tables (docs/delta.md): reading tables an independent Delta implementation
//! (Python `deltalake`) wrote, writing tables it reads, reprocessing, maintenance, and the
//! faults a writer must survive (kill -9, concurrent writers, bad input).
mod faults;
mod interop;
mod writes;

use crate::lakes::{rows, TestLake};
use std::process::{Command, Output};
use strata::Session;

/// Runs a Python script with the test venv (Python `deltalake` installed); `args` follow it.
/// Panics with the script's stderr when it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    // delta-rs's Python package can abort while the interpreter shuts its runtime down
    // ("terminate called without an active exception"): leave at once after the output.
    let script = format!("{script}\nimport os, sys\nsys.stdout.flush()\nos._exit(0)\n");
    let out = Command::new(crate::setup::python())
        .arg("-c")
        .arg(&script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `strata` with `args` on the lake (STRATA_LAKE).
pub fn strata(lake: &TestLake, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_LAKE", lake.uri())
        .env("NO_COLOR", "1")
        .output()
        .expect("run strata")
}

/// Runs one statement through the session (errors come back as text).
pub async fn run(s: &Session, sql: &str) -> Result<(), String> {
    match s.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs statements that must succeed.
pub async fn ok(s: &Session, sql: &str) {
    run(s, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The values of one column of a query, in order.
pub async fn column(s: &Session, sql: &str) -> Vec<String> {
    rows(s, sql)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// Every file below `rel` in the lake (relative paths, sorted): to show a refused write
/// created nothing.
pub fn files_below(lake: &TestLake, rel: &str) -> Vec<String> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let base = lake.path(rel);
    let mut out = vec![];
    walk(&base, &base, &mut out);
    out.sort();
    out
}
