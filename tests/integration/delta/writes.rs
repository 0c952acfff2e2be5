//! The write rules of docs/delta.md on small lakes: keyed appends, stamps, refused writes,
//! reprocessing with DELETE, OPTIMIZE, VACUUM, CONVERT TO DELTA and `strata ingest`.
use super::{column, files_below, ok, run, strata};
use crate::lakes::{cdc, jan, rows, value, TestLake};

const KEYED: &str = "[tables.\"raw.crm.c\"]\nkey = [\"id\"]\n";

#[tokio::test]
async fn insert_into_a_keyed_table_appends_history_and_new_rows_become_latest() {
    let lake = TestLake::new();
    lake.config(KEYED);
    let s = lake.session().await;
    // VALUES columns are column1, column2: not the key the table is configured with.
    let e = run(
        &s,
        "CREATE TABLE raw.crm.c AS VALUES (1, 'active'), (2, 'active')",
    )
    .await
    .unwrap_err();
    assert!(e.contains("no key column 'id'"), "{e}");
    assert!(files_below(&lake, "raw").is_empty());
    ok(&s, "CREATE TABLE raw.crm.c AS SELECT * FROM (VALUES (1, 'active'), (2, 'active')) AS t(id, status)").await;
    let first = value(&s, "SELECT max(_ingested_at) FROM raw.crm.c").await;
    ok(&s, "INSERT INTO raw.crm.c VALUES (1, 'churned')").await;
    assert_eq!(
        rows(&s, "SELECT id, status FROM raw.crm.c ORDER BY id").await,
        vec![vec!["1", "churned"], vec!["2", "active"]]
    );
    assert_eq!(
        value(&s, "SELECT count(*) FROM raw.crm.c_history").await,
        "3"
    );
    // Writing the history is the same as writing the table.
    ok(
        &s,
        "INSERT INTO raw.crm.c_history (id, status) VALUES (3, 'new')",
    )
    .await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.crm.c").await, "3");
    // Time travel to the first batch shows its rows only.
    assert_eq!(
        rows(&s, &format!("SELECT id, status FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{first}' ORDER BY id")).await,
        vec![vec!["1", "active"], vec!["2", "active"]]
    );
    // A keyed table's rows must carry its key.
    let e = run(&s, "INSERT INTO raw.crm.c (status) VALUES ('x')").await;
    assert!(
        e.is_ok(),
        "a missing key value is NULL, the column exists: {e:?}"
    );
}

#[tokio::test]
async fn every_batch_is_stamped_later_than_the_one_before_even_when_the_clock_steps_back() {
    use strata::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    let lake = TestLake::new();
    let s = lake.session().await;
    ok(&s, "CREATE TABLE raw.s.t AS SELECT 1 AS id").await;
    let name = strata_catalog::TableName::new("raw", "s", "t");
    let mut stamps = vec![];
    // A clock far in the past: each batch still follows the previous one by 1 µs.
    for i in 0..3 {
        let batch = cdc(&[(i, "x", 0)]).project(&[0]).unwrap();
        let stream = Box::pin(RecordBatchStreamAdapter::new(
            batch.schema(),
            futures::stream::iter(vec![Ok(batch)]),
        ));
        let mut opts = strata_catalog::delta::AppendOptions::new("test");
        opts.now = Some(jan(1));
        let done = s.lake().append(&name, stream, &opts).await.unwrap();
        stamps.push(done.ingested_at.unwrap());
    }
    assert!(
        stamps[0] > jan(2) && stamps[1] == stamps[0] + 1 && stamps[2] == stamps[1] + 1,
        "{stamps:?}"
    );
}

#[tokio::test]
async fn writing_a_plain_file_table_names_convert_to_delta_and_changes_nothing() {
    let lake = TestLake::new();
    lake.parquet("raw/crm/c/day1.parquet", &cdc(&[(1, "a", jan(1))]));
    let before = files_below(&lake, "raw");
    let s = lake.session().await;
    let e = run(
        &s,
        "INSERT INTO raw.crm.c VALUES (2, 'b', TIMESTAMP '2026-01-02T00:00:00Z')",
    )
    .await
    .unwrap_err();
    assert!(e.contains("CONVERT TO DELTA"), "{e}");
    assert_eq!(files_below(&lake, "raw"), before);
}

#[tokio::test]
async fn rows_that_do_not_fit_the_table_are_refused_and_nothing_changes() {
    let lake = TestLake::new();
    let s = lake.session().await;
    ok(&s, "CREATE TABLE raw.s.t AS SELECT 1 AS id, 'a' AS name").await;
    let before = files_below(&lake, "raw");
    let e = run(&s, "INSERT INTO raw.s.t (id) VALUES ('not a number')")
        .await
        .unwrap_err();
    assert!(e.contains("column 'id'"), "{e}");
    let e = run(&s, "INSERT INTO raw.s.t (id, nope) VALUES (1, 2)")
        .await
        .unwrap_err();
    assert!(
        e.contains("no column 'nope'") && e.contains("id, name"),
        "{e}"
    );
    let e = run(
        &s,
        "INSERT INTO raw.s.t (id, _ingested_at) VALUES (1, now())",
    )
    .await
    .unwrap_err();
    assert!(e.contains("_ingested_at"), "{e}");
    assert_eq!(value(&s, "SELECT count(*) FROM raw.s.t").await, "1");
    // Refused writes leave at most unreferenced data files, never a commit.
    let commits = |f: &Vec<String>| f.iter().filter(|p| p.contains("_delta_log")).count();
    assert_eq!(commits(&files_below(&lake, "raw")), commits(&before));
}

#[tokio::test]
async fn delete_from_history_is_a_new_commit_and_time_travel_before_it_keeps_the_rows() {
    let lake = TestLake::new();
    lake.config(KEYED);
    let s = lake.session().await;
    ok(
        &s,
        "CREATE TABLE raw.crm.c AS SELECT * FROM (VALUES (1, 'ok'), (2, 'ok')) AS t(id, status)",
    )
    .await;
    ok(
        &s,
        "INSERT INTO raw.crm.c VALUES (1, 'corrupt'), (2, 'corrupt')",
    )
    .await;
    let bad = value(&s, "SELECT max(_ingested_at) FROM raw.crm.c_history").await;
    assert_eq!(
        column(&s, "SELECT status FROM raw.crm.c ORDER BY id").await,
        ["corrupt", "corrupt"]
    );
    let e = run(&s, "DELETE FROM raw.crm.c WHERE id = 1")
        .await
        .unwrap_err();
    assert!(e.contains("raw.crm.c_history"), "{e}");
    ok(
        &s,
        &format!("DELETE FROM raw.crm.c_history WHERE _ingested_at = TIMESTAMP '{bad}'"),
    )
    .await;
    assert_eq!(
        column(&s, "SELECT status FROM raw.crm.c ORDER BY id").await,
        ["ok", "ok"]
    );
    // Before the delete, the bad batch is still there: any past answer can be reproduced.
    assert_eq!(
        column(
            &s,
            &format!(
                "SELECT status FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{bad}' ORDER BY id"
            )
        )
        .await,
        ["corrupt", "corrupt"]
    );
    assert_eq!(
        rows(
            &s,
            "SELECT operation, rows_removed FROM raw.strata.batches ORDER BY version"
        )
        .await,
        vec![
            vec!["CREATE TABLE", "0"],
            vec!["WRITE", "0"],
            vec!["DELETE", "2"]
        ]
    );
}

#[tokio::test]
async fn delete_from_an_append_table_removes_rows_as_a_commit() {
    let lake = TestLake::new();
    let s = lake.session().await;
    ok(
        &s,
        "CREATE TABLE raw.s.t AS SELECT * FROM (VALUES (1), (2), (3)) AS t(id)",
    )
    .await;
    ok(&s, "DELETE FROM raw.s.t WHERE id >= 2").await;
    assert_eq!(column(&s, "SELECT id FROM raw.s.t").await, ["1"]);
}

#[tokio::test]
async fn optimize_merges_small_files_and_changes_no_answer() {
    let lake = TestLake::new();
    lake.config(KEYED);
    let s = lake.session().await;
    ok(
        &s,
        "CREATE TABLE raw.crm.c AS SELECT 0 AS id, 'v0' AS status",
    )
    .await;
    let mut times = vec![];
    for i in 1..12 {
        ok(
            &s,
            &format!("INSERT INTO raw.crm.c VALUES ({}, 'v{i}')", i % 4),
        )
        .await;
        times.push(value(&s, "SELECT max(_ingested_at) FROM raw.crm.c_history").await);
    }
    let queries: Vec<String> = [times[2].clone(), times[7].clone()]
        .iter()
        .map(|t| format!("SELECT id, status FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{t}' ORDER BY id"))
        .chain(["SELECT id, status FROM raw.crm.c ORDER BY id".to_string(), "SELECT * FROM raw.crm.c_history ORDER BY _ingested_at, id".to_string()])
        .collect();
    let mut before = vec![];
    for q in &queries {
        before.push(rows(&s, q).await);
    }
    let files = "SELECT files FROM raw.strata.tables WHERE name = 'c'";
    assert_eq!(value(&s, files).await, "12");
    ok(&s, "OPTIMIZE raw.crm.c").await;
    assert_eq!(value(&s, files).await, "1");
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(&rows(&s, q).await, b, "{q}");
    }
    assert_eq!(
        value(
            &s,
            "SELECT operation FROM raw.strata.batches ORDER BY version DESC LIMIT 1"
        )
        .await,
        "OPTIMIZE"
    );
}

#[tokio::test]
async fn vacuum_below_a_week_needs_force_and_never_deletes_what_the_newest_version_needs() {
    let lake = TestLake::new();
    let s = lake.session().await;
    ok(&s, "CREATE TABLE raw.s.t AS SELECT 1 AS id").await;
    ok(&s, "INSERT INTO raw.s.t VALUES (2)").await;
    ok(&s, "OPTIMIZE raw.s.t").await;
    // A failed write's leftover: a data file no commit names.
    lake.write("raw/s/t/part-orphan.parquet", b"PAR1 not really");
    let before = files_below(&lake, "raw/s/t");
    let e = run(&s, "VACUUM raw.s.t RETAIN 0 HOURS").await.unwrap_err();
    assert!(e.contains("168 hours") && e.contains("FORCE"), "{e}");
    assert_eq!(files_below(&lake, "raw/s/t"), before);
    ok(&s, "VACUUM raw.s.t RETAIN 0 HOURS FORCE").await;
    let after = files_below(&lake, "raw/s/t");
    assert!(!after.iter().any(|f| f.contains("orphan")), "{after:?}");
    assert_eq!(
        after.iter().filter(|f| f.ends_with(".parquet")).count(),
        1,
        "{after:?}"
    );
    assert_eq!(
        column(&s, "SELECT id FROM raw.s.t ORDER BY id").await,
        ["1", "2"]
    );
}

#[tokio::test]
async fn convert_to_delta_keeps_every_answer_time_travel_included() {
    let lake = TestLake::new();
    lake.config(KEYED);
    lake.parquet(
        "raw/crm/c/day1.parquet",
        &cdc(&[(1, "a", jan(1)), (2, "a", jan(1))]),
    );
    lake.parquet("raw/crm/c/day2.parquet", &cdc(&[(1, "b", jan(2))]));
    lake.parquet("raw/crm/c/day3.parquet", &cdc(&[(2, "c", jan(3))]));
    let s = lake.session().await;
    let queries: Vec<String> = ["2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z"]
        .iter()
        .map(|t| format!("SELECT id, status FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{t}' ORDER BY id"))
        .chain(["SELECT id, status FROM raw.crm.c ORDER BY id".to_string()])
        .collect();
    let mut before = vec![];
    for q in &queries {
        before.push(rows(&s, q).await);
    }
    ok(&s, "CONVERT TO DELTA raw.crm.c").await;
    assert_eq!(
        value(&s, "SELECT format FROM raw.strata.tables").await,
        "delta"
    );
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(&rows(&s, q).await, b, "{q}");
    }
    assert_eq!(
        value(&s, "SELECT operation FROM raw.strata.batches").await,
        "CONVERT"
    );
    // Now it takes writes, stamped by Strata.
    ok(&s, "INSERT INTO raw.crm.c VALUES (3, 'd')").await;
    assert_eq!(
        value(
            &s,
            "SELECT count(*) FROM raw.crm.c WHERE _ingested_at > now() - INTERVAL '1 hour'"
        )
        .await,
        "1"
    );
}

#[tokio::test]
async fn convert_refuses_a_folder_with_spark_leftovers() {
    let lake = TestLake::new();
    lake.parquet("raw/crm/c/day1.parquet", &cdc(&[(1, "a", jan(1))]));
    lake.parquet(
        "raw/crm/c/_temporary/0/part-1.parquet",
        &cdc(&[(9, "x", jan(1))]),
    );
    let s = lake.session().await;
    let e = run(&s, "CONVERT TO DELTA raw.crm.c").await.unwrap_err();
    assert!(e.contains("_temporary"), "{e}");
    assert!(!lake.path("raw/crm/c/_delta_log").exists());
}

#[test]
fn strata_ingest_creates_the_table_and_appends_one_batch_per_run() {
    let lake = TestLake::new();
    let csv = lake.write("in/orders.csv", b"id,item\n1,pen\n2,ink\n");
    let out = strata(&lake, &["ingest", "raw.shop.orders", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = lake.write("in/more.json", b"{\"id\": 3, \"item\": \"pad\"}\n");
    let out = strata(
        &lake,
        &["ingest", "raw.shop.orders", json.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A ragged CSV fails the whole batch.
    let bad = lake.write("in/bad.csv", b"id,item\n4,ok\n5,too,many\n");
    let out = strata(&lake, &["ingest", "raw.shop.orders", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let out = strata(
        &lake,
        &[
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT id, item FROM raw.shop.orders ORDER BY id",
            "-c",
            "SELECT count(*) FROM raw.strata.batches",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id,item\n1,pen\n2,ink\n3,pad\ncount(*)\n2\n"
    );
}
