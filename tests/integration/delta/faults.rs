//! A writer's faults (docs/delta.md#atomic-and-safe-with-concurrent-writers): a `strata ingest`
//! killed with SIGKILL at any point leaves the old table or the whole new batch, and both Strata
//! and Python `deltalake` open it; writers racing on one table each commit once or fail with a
//! conflict error, and stamps grow in commit order.
use super::{python, strata};
use crate::lakes::TestLake;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A CSV of `n` rows tagged with `batch`.
fn csv(lake: &TestLake, name: &str, batch: usize, n: usize) -> String {
    let mut text = String::from("batch,id,note\n");
    for i in 0..n {
        text.push_str(&format!(
            "{batch},{i},row {i} of batch {batch} with some text to make it longer\n"
        ));
    }
    lake.write(&format!("in/{name}"), text.as_bytes())
        .display()
        .to_string()
}

fn count(lake: &TestLake, sql: &str) -> usize {
    let out = strata(lake, &["-q", "--format", "csv", "-c", sql]);
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

fn python_rows(lake: &TestLake) -> usize {
    python(
        "import sys\nfrom deltalake import DeltaTable\nprint(DeltaTable(sys.argv[1]).to_pyarrow_table().num_rows)",
        &[lake.path("raw/s/t").to_str().unwrap()],
    )
    .trim()
    .parse()
    .unwrap()
}

#[test]
fn a_writer_killed_at_any_point_leaves_the_old_table_or_the_whole_batch() {
    let lake = TestLake::new();
    let first = csv(&lake, "first.csv", 0, 10);
    assert!(strata(&lake, &["ingest", "raw.s.t", &first])
        .status
        .success());
    let rows = 200_000;
    let big = csv(&lake, "big.csv", 1, rows);
    // How long a whole ingest takes here, to kill at points spread across it.
    let started = Instant::now();
    let whole = strata(&lake, &["-q", "ingest", "raw.s.t", &big]);
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let took = started.elapsed();
    let mut expected = 10 + rows;
    assert_eq!(count(&lake, "SELECT count(*) FROM raw.s.t"), expected);
    for step in 1..=6u32 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["-q", "ingest", "raw.s.t", &big])
            .env("STRATA_LAKE", lake.uri())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(step as f64 / 7.0));
        let _ = child.kill(); // SIGKILL
        let finished = child.wait().unwrap().success();
        let now = count(&lake, "SELECT count(*) FROM raw.s.t");
        assert!(
            now == expected || now == expected + rows,
            "kill {step}: {now} rows, expected {expected} or {}",
            expected + rows
        );
        if finished {
            assert_eq!(now, expected + rows);
        }
        expected = now;
        assert_eq!(
            python_rows(&lake),
            now,
            "Python reads the same table after kill {step}"
        );
    }
    // The next ingest works, and every batch is whole.
    assert!(strata(&lake, &["-q", "ingest", "raw.s.t", &first])
        .status
        .success());
    assert_eq!(
        count(&lake, "SELECT count(*) FROM (SELECT _ingested_at, count(*) AS n FROM raw.s.t GROUP BY 1) WHERE n NOT IN (10, 200000)"),
        0
    );
}

#[test]
fn writers_racing_on_one_table_commit_once_each_or_fail_with_a_conflict() {
    for writers in [2usize, 4] {
        let lake = TestLake::new();
        let seed = csv(&lake, "seed.csv", 0, 1);
        assert!(strata(&lake, &["-q", "ingest", "raw.s.t", &seed])
            .status
            .success());
        let files: Vec<String> = (1..=writers)
            .map(|b| csv(&lake, &format!("w{b}.csv"), b, 2000))
            .collect();
        let children: Vec<_> = files
            .iter()
            .map(|f| {
                Command::new(env!("CARGO_BIN_EXE_strata"))
                    .args(["-q", "ingest", "raw.s.t", f])
                    .env("STRATA_LAKE", lake.uri())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut committed = 0;
        for (b, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            let n = count(
                &lake,
                &format!("SELECT count(*) FROM raw.s.t WHERE batch = {}", b + 1),
            );
            if out.status.success() {
                committed += 1;
                assert_eq!(n, 2000, "writer {} committed", b + 1);
            } else {
                let e = String::from_utf8_lossy(&out.stderr);
                assert!(
                    e.contains("conflict"),
                    "writer {} failed otherwise: {e}",
                    b + 1
                );
                assert_eq!(n, 0);
            }
        }
        assert!(committed >= 1);
        // Versions are contiguous, one per committed batch, and stamps grow with them.
        let versions = count(
            &lake,
            "SELECT count(DISTINCT version) FROM raw.strata.batches",
        );
        assert_eq!(versions, 1 + committed);
        assert_eq!(
            count(&lake, "SELECT max(version) FROM raw.strata.batches"),
            committed
        );
        assert_eq!(
            count(&lake, "SELECT count(*) FROM (SELECT batch, min(_ingested_at) AS t FROM raw.s.t GROUP BY batch) a JOIN (SELECT batch, min(_ingested_at) AS t FROM raw.s.t GROUP BY batch) b ON a.batch < b.batch AND a.t = b.t"),
            0,
            "no two batches share a stamp"
        );
        assert_eq!(python_rows(&lake), 1 + 2000 * committed);
    }
}
