//! The rules of docs/tables.md and docs/metadata.md that plans and listings must obey, checked
//! on purpose-built lakes: which filters run before the newest-row-per-key choice, which files
//! an as-of scan opens, deterministic ties, refresh of the listing, and spilling under a memory
//! limit.
use crate::lakes::{cdc, jan, physical_plan, rows, session_on, set_mtime, value, TestLake};
use strata::SessionOptions;

const KEYED: &str = "[tables.\"raw.crm.c\"]\nkey = [\"id\"]\ndeleted_when = \"status = 'gone'\"\n";

/// Three daily CDC files: id 1 active → churned, id 2 active → gone (tombstone), id 3 new on day 3.
fn keyed_lake() -> TestLake {
    let lake = TestLake::new();
    lake.config(KEYED);
    lake.parquet(
        "raw/crm/c/day1.parquet",
        &cdc(&[(1, "active", jan(1)), (2, "active", jan(1))]),
    );
    lake.parquet("raw/crm/c/day2.parquet", &cdc(&[(1, "churned", jan(2))]));
    lake.parquet(
        "raw/crm/c/day3.parquet",
        &cdc(&[(2, "gone", jan(3)), (3, "active", jan(3))]),
    );
    lake
}

/// The plan line index of the first line containing `needle`.
fn line_of(plan: &str, needle: &str) -> usize {
    plan.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no '{needle}' in plan:\n{plan}"))
}

#[tokio::test]
async fn key_filter_runs_below_the_dedup_and_non_key_filter_above() {
    let lake = keyed_lake();
    let s = lake.session().await;
    let plan = physical_plan(&s, "SELECT * FROM raw.crm.c WHERE id = 1").await;
    assert!(
        line_of(&plan, "id@0 = 1") > line_of(&plan, "NewestPerKeyExec"),
        "key filter must be pushed below the dedup:\n{plan}"
    );
    let plan = physical_plan(&s, "SELECT * FROM raw.crm.c WHERE status = 'active'").await;
    assert!(
        line_of(&plan, "status@1 = active") < line_of(&plan, "NewestPerKeyExec"),
        "non-key filter must stay above:\n{plan}"
    );
    assert_eq!(
        rows(&s, "SELECT id FROM raw.crm.c WHERE status = 'active'").await,
        vec![vec!["3"]]
    );
    assert_eq!(
        rows(&s, "SELECT status FROM raw.crm.c WHERE id = 1").await,
        vec![vec!["churned"]]
    );
}

#[tokio::test]
async fn ingestion_lower_bound_is_pushed_down_and_upper_bound_applies_after() {
    let lake = keyed_lake();
    let s = lake.session().await;
    let lower = "SELECT id FROM raw.crm.c WHERE _ingested_at >= TIMESTAMP '2026-01-02T00:00:00Z' ORDER BY id";
    let plan = physical_plan(&s, lower).await;
    assert!(
        line_of(&plan, "_ingested_at@2 >=") > line_of(&plan, "NewestPerKeyExec"),
        "{plan}"
    );
    // Lower bounds also prune files: day 1 is not opened.
    assert!(
        !plan.contains("day1.parquet"),
        "day1 should be pruned:\n{plan}"
    );
    assert_eq!(rows(&s, lower).await, vec![vec!["1"], vec!["3"]]);
    // Upper bound after the dedup: id 1's newest row is day 2, so `<= day 1` does not show its old row.
    let upper = "SELECT id FROM raw.crm.c WHERE _ingested_at <= TIMESTAMP '2026-01-01T00:00:00Z'";
    let plan = physical_plan(&s, upper).await;
    assert!(
        line_of(&plan, "_ingested_at@2 <=") < line_of(&plan, "NewestPerKeyExec"),
        "{plan}"
    );
    assert!(rows(&s, upper).await.is_empty());
}

#[tokio::test]
async fn tombstoned_keys_are_absent_only_while_their_newest_row_is_a_tombstone() {
    let lake = keyed_lake();
    let s = lake.session().await;
    assert_eq!(
        rows(&s, "SELECT id, status FROM raw.crm.c ORDER BY id").await,
        vec![vec!["1", "churned"], vec!["3", "active"]]
    );
    let then = "SELECT id FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-02' ORDER BY id";
    assert_eq!(rows(&s, then).await, vec![vec!["1"], vec!["2"]]);
}

#[tokio::test]
async fn as_of_prunes_files_by_parquet_statistics_before_reading() {
    let lake = keyed_lake();
    let s = lake.session().await;
    let plan = physical_plan(
        &s,
        "SELECT * FROM raw.crm.c_history FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-01'",
    )
    .await;
    assert!(
        plan.contains("day1.parquet")
            && !plan.contains("day2.parquet")
            && !plan.contains("day3.parquet"),
        "{plan}"
    );
    assert_eq!(
        value(
            &s,
            "SELECT count(*) FROM raw.crm.c_history FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-01'"
        )
        .await,
        "2"
    );
}

#[tokio::test]
async fn as_of_prunes_partition_folders_and_file_times() {
    let lake = TestLake::new();
    for d in 1..=3 {
        lake.write(
            &format!("enhanced/sales/daily/dt=2026-01-0{d}/part-0.csv"),
            format!("n\n{d}\n").as_bytes(),
        );
        let p = lake.write(
            &format!("raw/logs/app/app-{d}.json"),
            format!("{{\"n\": {d}}}\n").as_bytes(),
        );
        set_mtime(&p, jan(d));
    }
    let s = lake.session().await;
    s.sql("SET strata.as_of = '2026-01-02'").await.unwrap();
    let plan = physical_plan(&s, "SELECT * FROM enhanced.sales.daily").await;
    assert!(
        plan.contains("dt=2026-01-02") && !plan.contains("dt=2026-01-03"),
        "{plan}"
    );
    let plan = physical_plan(&s, "SELECT * FROM raw.logs.app").await;
    assert!(
        plan.contains("app-2.json") && !plan.contains("app-3.json"),
        "{plan}"
    );
    assert_eq!(
        value(&s, "SELECT sum(n) FROM enhanced.sales.daily").await,
        "3"
    );
    assert_eq!(value(&s, "SELECT sum(n) FROM raw.logs.app").await, "3");
    assert_eq!(
        value(&s, "SELECT max(_ingested_at) FROM raw.logs.app").await,
        "2026-01-02T00:00:00Z"
    );
}

#[tokio::test]
async fn ties_resolve_by_the_other_columns_whatever_the_file_order() {
    // Same key, same ingestion time, in two files whose names sort opposite to their content.
    let lake = TestLake::new();
    lake.config("[tables.\"raw.crm.c\"]\nkey = [\"id\"]\n");
    lake.parquet(
        "raw/crm/c/a.parquet",
        &cdc(&[(1, "zebra", jan(5)), (2, "apple", jan(5))]),
    );
    lake.parquet(
        "raw/crm/c/b.parquet",
        &cdc(&[(1, "apple", jan(5)), (2, "zebra", jan(5))]),
    );
    for partitions in [1, 2, 4] {
        let s = lake.session().await;
        s.sql(&format!(
            "SET datafusion.execution.target_partitions = {partitions}"
        ))
        .await
        .unwrap();
        let got = rows(&s, "SELECT id, status FROM raw.crm.c ORDER BY id").await;
        assert_eq!(
            got,
            vec![vec!["1", "zebra"], vec!["2", "zebra"]],
            "target_partitions={partitions}"
        );
    }
}

#[tokio::test]
async fn new_files_and_tables_appear_within_refresh_and_on_refresh() {
    let lake = TestLake::new();
    lake.config("[lake]\nrefresh = \"200ms\"\n");
    lake.write("raw/a/t/1.csv", b"n\n1\n");
    let s = lake.session().await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.a.t").await, "1");
    lake.write("raw/a/t/2.csv", b"n\n2\n");
    lake.write("raw/a/u/1.csv", b"n\n7\n");
    std::fs::remove_file(lake.path("raw/a/t/1.csv")).unwrap();
    // No REFRESH: asked until the listing is over 200 ms old and read again, which shows as the
    // new table (a question the old listing answers too, without reading the deleted file).
    let new_table = "SELECT count(*) FROM raw.information_schema.tables \
                     WHERE table_schema = 'a' AND table_name = 'u'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while value(&s, new_table).await == "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "no new listing 30 s after the change, with refresh = 200ms"
        );
    }
    assert_eq!(value(&s, "SELECT sum(n) FROM raw.a.t").await, "2");
    assert_eq!(value(&s, "SELECT sum(n) FROM raw.a.u").await, "7");

    // With an hour between listings, only REFRESH can show the new file within this test.
    let lake = TestLake::new();
    lake.config("[lake]\nrefresh = \"1h\"\n");
    lake.write("raw/a/t/1.csv", b"n\n1\n");
    let s = lake.session().await;
    assert_eq!(value(&s, "SELECT count(*) FROM raw.a.t").await, "1");
    lake.write("raw/a/t/2.csv", b"n\n2\n");
    assert_eq!(
        value(&s, "SELECT count(*) FROM raw.a.t").await,
        "1",
        "listing is reused within refresh"
    );
    s.sql("REFRESH").await.unwrap();
    assert_eq!(value(&s, "SELECT count(*) FROM raw.a.t").await, "2");
}

#[tokio::test]
async fn latest_view_completes_under_a_memory_limit_by_spilling() {
    let lake = TestLake::new();
    lake.config("[tables.\"raw.crm.c\"]\nkey = [\"id\"]\n");
    let n = 300_000i64;
    for f in 0..3 {
        let r: Vec<(i64, &str, i64)> = (0..n)
            .map(|i| {
                (
                    (i * 7919 + f) % n,
                    "some status text",
                    jan(1) + f * 1000 + i,
                )
            })
            .collect();
        lake.parquet(&format!("raw/crm/c/{f}.parquet"), &cdc(&r));
    }
    let s = session_on(
        &lake.uri(),
        SessionOptions {
            memory_limit: Some(8 << 20),
            as_of: None,
        },
    )
    .await;
    assert_eq!(
        value(&s, "SELECT count(*) FROM raw.crm.c").await,
        n.to_string()
    );
    // The sorts did spill: the limit was what bound them, not a lucky fit in memory.
    let plan = rows(&s, "EXPLAIN ANALYZE SELECT count(*) FROM raw.crm.c").await;
    let text: String = plan.iter().map(|r| r[1].clone()).collect();
    let spills: usize = text
        .split("spill_count=")
        .skip(1)
        .map(|t| {
            t.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse::<usize>()
                .unwrap_or(0)
        })
        .sum();
    assert!(spills > 0, "expected spilling:\n{text}");
}

#[tokio::test]
async fn formats_compression_and_header_changes_are_read_by_column_name() {
    use std::io::Write;
    let lake = TestLake::new();
    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    // CSV whose columns changed over time (read by position, so aligned by name), one file gzipped.
    lake.write("raw/a/csvs/1.csv", b"id,name\n1,ann\n");
    lake.write("raw/a/csvs/2.csv.gz", &gz("name,id,score\nbob,2,0.5\n"));
    // NDJSON plain and gzipped, and an extensionless Firehose object sniffed as JSON.
    lake.write("raw/a/events/1.json", b"{\"id\": 1}\n");
    lake.write(
        "raw/a/events/2.ndjson.gz",
        &gz("{\"id\": 2, \"extra\": \"x\"}\n"),
    );
    lake.write(
        "raw/a/fire/2026/01/02/03/stream-1-2026-01-02-03-00-00-abc",
        b"{\"id\": 3}\n",
    );
    lake.write("raw/a/tabs/t.tsv", b"id\tname\n5\teve\n");
    let s = lake.session().await;
    let got = rows(&s, "SELECT id, name, score FROM raw.a.csvs ORDER BY id").await;
    assert_eq!(got, vec![vec!["1", "ann", "NULL"], vec!["2", "bob", "0.5"]]);
    assert_eq!(
        rows(&s, "SELECT id, extra FROM raw.a.events ORDER BY id").await,
        vec![vec!["1", "NULL"], vec!["2", "x"]]
    );
    assert_eq!(value(&s, "SELECT id FROM raw.a.fire").await, "3");
    assert_eq!(value(&s, "SELECT name FROM raw.a.tabs").await, "eve");
    assert_eq!(
        value(&s, "SELECT format FROM strata.tables WHERE name = 'fire'").await,
        "json"
    );
}

#[tokio::test]
async fn partition_values_are_typed_and_kafka_connect_folders_give_ingestion_time() {
    let lake = TestLake::new();
    lake.write(
        "raw/k/orders/year=2026/month=01/day=02/hour=03/orders+0+0001.json",
        b"{\"id\": 1}\n",
    );
    lake.write(
        "raw/k/orders/year=2026/month=01/day=05/hour=00/orders+0+0002.json",
        b"{\"id\": 2}\n",
    );
    lake.write("enhanced/p/t/region=eu/n=1/a.csv", b"v\n1\n");
    lake.write("enhanced/p/t/region=us/n=22/a.csv", b"v\n2\n");
    let s = lake.session().await;
    let got = rows(
        &s,
        "SELECT id, year, month, _ingested_at FROM raw.k.orders ORDER BY id",
    )
    .await;
    assert_eq!(got[0], vec!["1", "2026", "1", "2026-01-02T03:00:00Z"]);
    assert_eq!(
        value(
            &s,
            "SELECT ingested_at_source FROM strata.tables WHERE name = 'orders'"
        )
        .await,
        "partitions year/month/day/hour"
    );
    assert_eq!(
        value(&s, "SELECT sum(n) FROM enhanced.p.t WHERE region = 'us'").await,
        "22"
    );
    assert_eq!(
        value(
            &s,
            "SELECT count(*) FROM raw.k.orders FOR SYSTEM_TIME AS OF '2026-01-03'"
        )
        .await,
        "1"
    );
}

#[tokio::test]
async fn sessions_of_one_engine_keep_their_own_settings() {
    let lake = keyed_lake();
    let engine = strata::Engine::new(strata::Lake::open(&lake.uri()).await.unwrap(), None).unwrap();
    let (a, b) = (
        engine.session(None).unwrap(),
        engine.session(Some("2026-01-01")).unwrap(),
    );
    a.sql("SET search_path = 'raw.crm'").await.unwrap();
    assert_eq!(value(&a, "SELECT count(*) FROM c").await, "2");
    assert_eq!(value(&b, "SELECT count(*) FROM raw.crm.c").await, "2");
    assert_eq!(
        value(&b, "SELECT count(*) FROM raw.crm.c_history").await,
        "2"
    );
    assert_eq!(
        value(&a, "SELECT count(*) FROM raw.crm.c_history").await,
        "5"
    );
    assert!(
        b.sql("SELECT count(*) FROM c").await.is_err(),
        "search_path leaked between sessions"
    );
}
