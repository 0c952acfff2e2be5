//! The same answers on the cluster as in process: TPC-H 1–22 and every table mode and rule of
//! docs/tables.md (latest views with ties and tombstones, `_history`, snapshot, append, as-of by
//! session and by clause, two times of one table in one query, Delta tables). Each query must
//! also have run on the cluster, as one job of the scheduler, not quietly in process.
use super::{ok, repo_path, strata, TestCluster};
use crate::lakes::TestLake;

fn jobs(cluster: &TestCluster) -> usize {
    cluster.jobs().len()
}

/// Runs `args` in process and through the cluster; the outputs must be equal, and the cluster
/// must have run `jobs_expected` jobs for it.
fn same_answer(cluster: &TestCluster, lake: &str, args: &[&str], jobs_expected: usize) -> String {
    let what = args.join(" ; ");
    let here = ok(&strata(lake, None, args), &what);
    let before = jobs(cluster);
    let out = cluster.client(lake, args);
    if !out.status.success() {
        panic!(
            "{what} failed on the cluster:\n{}\nlogs:\n{}",
            String::from_utf8_lossy(&out.stderr),
            cluster.troubles()
        );
    }
    let there = String::from_utf8(out.stdout).unwrap();
    assert_eq!(there, here, "{what}: the cluster's answer differs");
    assert_eq!(
        jobs(cluster) - before,
        jobs_expected,
        "{what}: not run on the cluster as expected"
    );
    here
}

/// TPC-H at scale factor 0.01 as Parquet, one folder per table under enhanced/tpch/.
fn tpch_lake() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tpch = dir.path().join("enhanced/tpch");
    std::fs::create_dir_all(&tpch).unwrap();
    let python = crate::setup::python();
    let generator = python.parent().unwrap().join("tpchgen-cli");
    let status = std::process::Command::new(generator)
        .args(["parquet", "-s", "0.01", "--parts", "1", "--quiet"])
        .arg(format!("--output-dir={}", tpch.display()))
        .status()
        .unwrap();
    assert!(status.success(), "tpchgen-cli failed");
    dir
}

#[test]
fn tpch_22_on_a_scheduler_and_two_executors_equal_in_process() {
    let lake = tpch_lake();
    let lake = lake.path().to_str().unwrap();
    let cluster = TestCluster::start(2, &[]);
    for q in 1..=22 {
        let sql = std::fs::read_to_string(repo_path(&format!("benches/tpch/q{q:02}.sql"))).unwrap();
        let answer = same_answer(
            &cluster,
            lake,
            // `--command=`: the text starts with `--` (a comment), which clap would take for a flag.
            &[
                "-c",
                "SET search_path = 'enhanced.tpch'",
                &format!("--command={sql}"),
            ],
            1,
        );
        assert!(answer.lines().count() > 1, "q{q}: no rows\n{answer}");
    }
    // Both executors ran tasks of these jobs (each logs the tasks it is given).
    for e in ["e1", "e2"] {
        let tasks = cluster.log(e).matches("Execute task").count();
        assert!(tasks > 0, "executor {e} ran no task:\n{}", cluster.log(e));
    }
    // The scheduler logs what each job moved through the shuffle (cluster/src/shuffle_report.rs):
    // one line per query, in order. Q1's four groups are its result, and its partial aggregates
    // crossed the shuffle with a size. The line is written as the scheduler files the finished
    // job, which can trail the client's fetch of the result: Q22's may take a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = cluster.log("scheduler");
        if log.matches("strata_cluster::shuffle").count() >= 22
            || std::time::Instant::now() > deadline
        {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let reports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("strata_cluster::shuffle"))
        .collect();
    assert_eq!(reports.len(), 22, "{log}");
    let q1 = reports[0];
    assert!(q1.contains("result: 4 rows, "), "{q1}");
    let bytes = |edge: &str| -> u64 {
        let after = edge.split(" rows, ").nth(1).unwrap();
        after.split(' ').next().unwrap().parse().unwrap()
    };
    let edges: Vec<&str> = q1.split(';').filter(|e| e.contains(" -> ")).collect();
    assert!(
        !edges.is_empty() && edges.iter().all(|e| bytes(e) > 0),
        "{q1}"
    );
}

#[test]
fn every_table_mode_and_rule_answers_the_same_on_the_cluster() {
    let lake = crate::server::sample_lake();
    let cluster = TestCluster::start(2, &[]);
    let one_job = [
        // Latest views: tombstones, a re-created key, the tie of customer 9, schema evolution.
        "SELECT * FROM raw.crm.customers ORDER BY customer_id",
        "SELECT customer_id, email FROM raw.crm.customers WHERE customer_id = 9",
        "SELECT status, count(*) FROM raw.crm.customers GROUP BY status ORDER BY status",
        "SELECT * FROM raw.crm.customers_history ORDER BY _ingested_at, customer_id, email",
        // Keyed by folder times, append by file times and by partitions, snapshot.
        "SELECT * FROM raw.shop.orders ORDER BY order_id",
        "SELECT page, count(*), min(_ingested_at), max(ts) FROM raw.events.clicks GROUP BY page ORDER BY page",
        "SELECT dt, count(*) FROM raw.web.pageviews GROUP BY dt ORDER BY dt",
        "SELECT * FROM sanitized.crm.scores ORDER BY 1",
        "SELECT snapshot_ts, count(*) FROM sanitized.crm.scores_history GROUP BY 1 ORDER BY 1",
        "SELECT * FROM sanitized.public.countries ORDER BY 1",
        "SELECT * FROM enhanced.ops.pipeline_runs ORDER BY 1",
        // As of a time by clause, and one table at two times in one query.
        "SELECT * FROM raw.crm.customers FOR SYSTEM_TIME AS OF '2026-01-17' WHERE status = 'active' ORDER BY 1",
        "SELECT a.customer_id, a.status, b.status FROM raw.crm.customers FOR SYSTEM_TIME AS OF '2026-01-12' a \
         FULL JOIN raw.crm.customers b USING (customer_id) WHERE a.status IS DISTINCT FROM b.status ORDER BY 1",
        "SELECT status, count(*) FROM raw.crm.customers TIMESTAMP AS OF '2026-01-22' GROUP BY 1 ORDER BY 1",
        // Joins and aggregates across zones.
        "SELECT c.country, count(*), sum(o.amount) FROM raw.shop.orders o JOIN raw.crm.customers_history c \
         USING (customer_id) GROUP BY c.country ORDER BY 1",
        "SUMMARIZE raw.crm.customers",
    ];
    for sql in one_job {
        same_answer(&cluster, &lake, &["-c", sql], 1);
    }
    // As of a time by session setting: SET runs here, the query there.
    for at in ["2026-01-12", "2026-01-17", "2026-01-22"] {
        let set = format!("SET strata.as_of = '{at}'");
        for sql in [
            "SELECT * FROM raw.crm.customers ORDER BY customer_id",
            "SELECT * FROM sanitized.crm.scores ORDER BY 1",
        ] {
            same_answer(&cluster, &lake, &["-c", &set, "-c", sql], 1);
        }
    }
    // No click file is that old: nothing to read, so nothing to send.
    let clicks =
        "SELECT page, count(*), max(ts) FROM raw.events.clicks GROUP BY page ORDER BY page";
    same_answer(
        &cluster,
        &lake,
        &["-c", "SET strata.as_of = '2026-01-12'", "-c", clicks],
        0,
    );
    same_answer(
        &cluster,
        &lake,
        &["-c", "SET strata.as_of = '2026-01-17'", "-c", clicks],
        1,
    );
    // Catalog queries, Strata's statements and a left join without an equality condition (each
    // task would emit the unmatched left rows again) stay in process, with the same answers.
    for sql in [
        "SELECT a.customer_id, count(b.order_id) FROM raw.crm.customers a \
         LEFT JOIN raw.shop.orders b ON b.customer_id > a.customer_id GROUP BY 1 ORDER BY 1",
        "SELECT zone, schema, name, mode FROM strata.tables ORDER BY 1, 2, 3",
        "SHOW strata.as_of",
        "SELECT table_name FROM raw.information_schema.tables WHERE table_schema = 'crm' ORDER BY 1",
    ] {
        same_answer(&cluster, &lake, &["-c", sql], 0);
    }
}

#[test]
fn delta_tables_answer_the_same_on_the_cluster_and_writes_stay_in_process() {
    let lake = TestLake::new();
    lake.config("[tables.\"raw.crm.c\"]\nkey = [\"id\"]\ndeleted_when = \"status = 'gone'\"\n");
    let uri = lake.uri();
    let cluster = TestCluster::start(2, &[]);
    let write = |sql: &str| ok(&strata(&uri, None, &["-c", sql]), sql);
    write("CREATE TABLE raw.crm.c AS SELECT * FROM (VALUES (1, 'new'), (2, 'new'), (3, 'new')) AS t(id, status)");
    let first = write("SELECT max(_ingested_at) FROM raw.crm.c_history");
    let first = first.lines().nth(1).unwrap().to_string();
    // A write through a cluster client: planned and committed here.
    ok(
        &cluster.client(
            &uri,
            &[
                "-c",
                "INSERT INTO raw.crm.c VALUES (1, 'active'), (2, 'gone')",
            ],
        ),
        "INSERT through the cluster client",
    );
    write("INSERT INTO raw.crm.c VALUES (3, 'active'), (4, 'new')");
    for sql in [
        "SELECT * FROM raw.crm.c ORDER BY id".to_string(),
        "SELECT id, status FROM raw.crm.c_history ORDER BY _ingested_at, id".to_string(),
        format!("SELECT * FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{first}' ORDER BY id"),
        format!(
            "SELECT a.id, a.status, b.status FROM raw.crm.c FOR SYSTEM_TIME AS OF TIMESTAMP '{first}' a \
             FULL JOIN raw.crm.c b USING (id) ORDER BY 1"
        ),
    ] {
        same_answer(&cluster, &uri, &["-c", &sql], 1);
    }
    let latest = same_answer(
        &cluster,
        &uri,
        &["-c", "SELECT id, status FROM raw.crm.c ORDER BY id"],
        1,
    );
    assert_eq!(latest, "id,status\n1,active\n3,active\n4,new\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_server_runs_queries_on_the_cluster() {
    let cluster = TestCluster::start(2, &[]);
    let reached =
        strata::cluster::Cluster::connect(&cluster.address, std::time::Duration::from_secs(5))
            .await
            .unwrap();
    let setup = strata::EngineSetup::new(move |engine| reached.attach(engine));
    let on_cluster = crate::server::InProcess::start(|o| o.engine_setup = Some(setup));
    let here = crate::server::InProcess::sample();
    let sql = "SELECT customer_id, status, email FROM raw.crm.customers ORDER BY customer_id";
    let rows = |url: String| async move {
        let client = crate::server::connect(&url).await;
        let rows = client.simple_query(sql).await.unwrap();
        rows.iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_string())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let before = cluster.jobs().len();
    let there = rows(on_cluster.url("me", "enhanced")).await;
    assert_eq!(
        cluster.jobs().len(),
        before + 1,
        "the query did not run on the cluster"
    );
    assert_eq!(there, rows(here.url("me", "enhanced")).await);
    assert_eq!(there.len(), 13);
    // The catalog queries a client sends on connect stay in the server.
    let client = crate::server::connect(&on_cluster.url("me", "enhanced")).await;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'daily_revenue'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(n >= 1);
    assert_eq!(cluster.jobs().len(), before + 1);
}
