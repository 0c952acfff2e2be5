//! Interop with an independent Delta implementation, both ways: Strata reads what Python
//! `deltalake` wrote (current version, time travel, keyed tables) and Python reads what Strata
//! wrote (same rows, one commit per write).
use super::{column, ok, python};
use crate::lakes::{rows, value, TestLake};

/// Python writes three rows (v0), then deletes id 1 (v1: the file is rewritten).
const WRITE_THEN_DELETE: &str = r#"
import sys, pyarrow as pa
from deltalake import write_deltalake, DeltaTable
path = sys.argv[1]
write_deltalake(path, pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}))
DeltaTable(path).delete("id = 1")
"#;

#[tokio::test]
async fn strata_reads_the_current_version_of_a_table_python_wrote_and_travels_back() {
    let lake = TestLake::new();
    python(
        WRITE_THEN_DELETE,
        &[lake.path("raw/shop/items").to_str().unwrap()],
    );
    let s = lake.session().await;
    // Both data files are still in the folder; only the log says which one counts.
    assert_eq!(
        rows(&s, "SELECT id, name FROM raw.shop.items ORDER BY id").await,
        vec![vec!["2", "b"], vec!["3", "c"]]
    );
    assert_eq!(
        value(
            &s,
            "SELECT format FROM raw.strata.tables WHERE name = 'items'"
        )
        .await,
        "delta"
    );
    // As of the first commit the deleted row is back.
    let v0 = value(
        &s,
        "SELECT committed_at FROM raw.strata.batches WHERE \"table\" = 'items' AND version = 0",
    )
    .await;
    let back =
        format!("SELECT id FROM raw.shop.items FOR SYSTEM_TIME AS OF TIMESTAMP '{v0}' ORDER BY id");
    assert_eq!(column(&s, &back).await, ["1", "2", "3"]);
    // Python picks the same version for that time.
    let py = python(
        r#"
import sys, datetime
from deltalake import DeltaTable
t = DeltaTable(sys.argv[1])
t.load_as_version(datetime.datetime.fromisoformat(sys.argv[2]))
print(sorted(t.to_pyarrow_table().column("id").to_pylist()))
"#,
        &[
            lake.path("raw/shop/items").to_str().unwrap(),
            &v0.replace(' ', "T"),
        ],
    );
    assert_eq!(py.trim(), "[1, 2, 3]");
}

#[tokio::test]
async fn a_keyed_table_python_wrote_shows_the_newest_row_per_key() {
    let lake = TestLake::new();
    lake.config("[tables.\"raw.crm.c\"]\nkey = [\"id\"]\n");
    python(
        r#"
import sys, time, pyarrow as pa
from deltalake import write_deltalake
p = sys.argv[1]
write_deltalake(p, pa.table({"id": [1, 2], "status": ["active", "active"]}))
time.sleep(0.05)
write_deltalake(p, pa.table({"id": [1], "status": ["churned"]}), mode="append")
"#,
        &[lake.path("raw/crm/c").to_str().unwrap()],
    );
    let s = lake.session().await;
    // No _ingested_at column: the log's modificationTime of each file is the ingestion time.
    assert_eq!(
        rows(&s, "SELECT id, status FROM raw.crm.c ORDER BY id").await,
        vec![vec!["1", "churned"], vec!["2", "active"]]
    );
    assert_eq!(
        value(&s, "SELECT count(*) FROM raw.crm.c_history").await,
        "3"
    );
    assert_eq!(
        value(
            &s,
            "SELECT ingested_at_source FROM raw.strata.tables WHERE name = 'c'"
        )
        .await,
        "file_modified"
    );
}

#[tokio::test]
async fn python_reads_what_strata_writes_one_commit_per_write() {
    let lake = TestLake::new();
    let s = lake.session().await;
    ok(&s, "CREATE TABLE raw.shop.orders AS SELECT * FROM (VALUES (1, 'pen', 2.5), (2, 'ink', 4.0)) AS t(id, item, price)").await;
    ok(
        &s,
        "INSERT INTO raw.shop.orders (id, item, price) VALUES (3, 'pad', 1.25)",
    )
    .await;
    ok(
        &s,
        "INSERT INTO raw.shop.orders SELECT id + 10, item, price FROM raw.shop.orders WHERE id < 3",
    )
    .await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.shop.orders").await, "5");
    assert_eq!(
        value(
            &s,
            "SELECT count(DISTINCT _ingested_at) FROM raw.shop.orders"
        )
        .await,
        "3"
    );
    let py = python(
        r#"
import sys
from deltalake import DeltaTable
t = DeltaTable(sys.argv[1])
rows = sorted((r["id"], r["item"]) for r in t.to_pyarrow_table().to_pylist())
print(t.version(), len(t.history()), rows)
"#,
        &[lake.path("raw/shop/orders").to_str().unwrap()],
    );
    assert_eq!(
        py.trim(),
        "2 3 [(1, 'pen'), (2, 'ink'), (3, 'pad'), (11, 'pen'), (12, 'ink')]"
    );
    // Each write is one row of strata.batches, saying what it was.
    assert_eq!(
        rows(&s, "SELECT version, operation, rows_added, source FROM raw.strata.batches ORDER BY version").await,
        vec![
            vec!["0", "CREATE TABLE", "2", "CREATE TABLE raw.shop.orders AS"],
            vec!["1", "WRITE", "1", "INSERT INTO raw.shop.orders"],
            vec!["2", "WRITE", "2", "INSERT INTO raw.shop.orders"],
        ]
    );
}

#[tokio::test]
async fn a_running_session_sees_another_writers_commit_after_refresh() {
    let lake = TestLake::new();
    let path = lake.path("raw/shop/items");
    python(
        "import sys, pyarrow as pa\nfrom deltalake import write_deltalake\nwrite_deltalake(sys.argv[1], pa.table({'id': [1]}))",
        &[path.to_str().unwrap()],
    );
    let s = lake.session().await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.shop.items").await, "1");
    // Another process commits; REFRESH (or the `refresh` interval) makes the session see it.
    python(
        "import sys, pyarrow as pa\nfrom deltalake import write_deltalake\nwrite_deltalake(sys.argv[1], pa.table({'id': [2, 3]}), mode='append')",
        &[path.to_str().unwrap()],
    );
    ok(&s, "REFRESH").await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.shop.items").await, "3");
}
