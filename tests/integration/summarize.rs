//! `SUMMARIZE` against DuckDB's `SUMMARIZE` on the same Parquet files: the script
//! `tests/clients/summarize_vs_duckdb.py` generates the data with DuckDB, runs both engines on
//! tables and on queries, and compares every statistic of every column (exact where DuckDB is
//! exact, within each engine's own error bound where both approximate; bounds in its docstring).
use crate::setup;
use std::process::Command;

#[test]
fn summarize_matches_duckdb() {
    let python = setup::python();
    // requirements.txt installs duckdb; a platform without its wheel skips (CI fails).
    let has_duckdb = Command::new(&python)
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        setup::missing(
            "summarize_matches_duckdb",
            "DuckDB's Python package",
            ".venv/bin/pip install 'duckdb>=1.1'",
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(&python)
        .arg(setup::repo().join("tests/clients/summarize_vs_duckdb.py"))
        .arg(env!("CARGO_BIN_EXE_strata"))
        .arg(work.path())
        .output()
        .expect("run summarize_vs_duckdb.py");
    assert!(
        out.status.success(),
        "Strata's SUMMARIZE differs from DuckDB's:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
