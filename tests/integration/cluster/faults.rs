//! A cluster that loses an executor mid-query, and bad input: a scheduler that is not there, a
//! client or executor of another version, an executor that cannot read the lake's store.
use super::{free_port, ok, strata, TestCluster};
use crate::lakes::TestLake;
use crate::s3::{sample_lake_on, Moto};
use std::time::{Duration, Instant};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unreachable_scheduler_is_named_within_seconds() {
    let lake = crate::server::sample_lake();
    let address = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = strata(&lake, Some(&address), &["-c", "SELECT 1"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains(&format!("cannot reach the Strata scheduler at {address}")),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // A bad address is refused before any connection is tried.
    let out = strata(&lake, Some("no-port-here"), &["-c", "SELECT 1"]);
    assert!(
        stderr(&out).contains("expected HOST:PORT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_scheduler_of_another_version_refuses_naming_both_versions() {
    let lake = crate::server::sample_lake();
    let cluster = TestCluster::start(1, &[("STRATA_CLUSTER_VERSION", "9.9.9")]);
    let out = cluster.client(&lake, &["-c", "SELECT count(*) FROM raw.crm.customers"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains(&format!("client is Strata {}", env!("CARGO_PKG_VERSION"))),
        "{e}"
    );
    assert!(e.contains("scheduler is Strata 9.9.9"), "{e}");
}

#[test]
fn an_executor_of_another_version_refuses_its_tasks_naming_both_versions() {
    let lake = crate::server::sample_lake();
    let mut cluster = TestCluster::scheduler_only(&[]);
    cluster.add_executor("old", &[("STRATA_CLUSTER_VERSION", "0.0.1".to_string())]);
    cluster.wait_for_executors(1);
    let out = cluster.client(&lake, &["-c", "SELECT count(*) FROM raw.crm.customers"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("executor old is Strata 0.0.1"), "{e}");
    assert!(
        e.contains(&format!("client is Strata {}", env!("CARGO_PKG_VERSION"))),
        "{e}"
    );
}

#[test]
fn executors_read_an_s3_lake_with_their_own_credentials_and_a_wrong_store_is_named() {
    let moto = Moto::start(&[]);
    let _staged = sample_lake_on(&moto, "lake", "");
    let lake = "s3://lake";
    let env = moto.env();
    let with_env = |args: &[&str], cluster: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.args(["--lake", lake, "--format", "csv", "-q"]);
        if let Some(a) = cluster {
            cmd.args(["--cluster", a]);
        }
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    };
    let sql = ["-c", "SELECT * FROM raw.crm.customers ORDER BY customer_id"];
    let here = ok(&with_env(&sql, None), "in process on S3");

    let mut cluster = TestCluster::scheduler_only(&[]);
    cluster.add_executor("e1", &env);
    cluster.wait_for_executors(1);
    let there = ok(
        &with_env(&sql, Some(&cluster.address)),
        "on the cluster on S3",
    );
    assert_eq!(there, here);
    drop(cluster);

    // An executor whose S3 endpoint is not the lake's: the error names it and the store.
    let mut cluster = TestCluster::scheduler_only(&[]);
    let mut wrong = env.clone();
    for (k, v) in &mut wrong {
        if *k == "AWS_ENDPOINT_URL" {
            *v = format!("http://{}", cluster.address);
        }
    }
    cluster.add_executor("blind", &wrong);
    cluster.wait_for_executors(1);
    let out = with_env(&sql, Some(&cluster.address));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("executor blind reading s3://lake"), "{e}");
}

/// A lake whose self-join takes seconds (10^9 pairs): long enough to lose an executor in the
/// middle of it.
fn slow_lake() -> TestLake {
    let lake = TestLake::new();
    for f in 0..4 {
        let mut csv = String::from("n,x\n");
        for i in 0..8000 {
            csv.push_str(&format!("{},{}\n", f * 8000 + i, (i * 7919) % 1000));
        }
        lake.write(&format!("raw/big/t/part-{f}.csv"), csv.as_bytes());
    }
    lake
}

#[test]
fn losing_an_executor_mid_query_never_hangs_and_the_cluster_answers_the_next_query() {
    let lake = slow_lake();
    let uri = lake.uri();
    let slow = "SELECT count(*) FROM raw.big.t a JOIN raw.big.t b ON (a.x * b.n) % 1013 = 7";
    let expected = ok(&strata(&uri, None, &["-c", slow]), "in process");
    let mut cluster = TestCluster::start(2, &[]);
    let address = cluster.address.clone();
    let (lake_uri, query) = (uri.clone(), slow.to_string());
    let client = std::thread::spawn(move || strata(&lake_uri, Some(&address), &["-c", &query]));
    // Once the job runs, kill the second executor outright.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cluster.jobs().iter().any(|j| j["status"] == "Running") {
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let jobs = cluster.jobs();
    cluster.kill_executor("e2");
    assert!(
        jobs.iter().all(|j| j["status"] == "Running"),
        "the job ended before the executor was killed: {jobs:?}"
    );
    let started = Instant::now();
    let out = client.join().unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(120), "{waited:?}");
    if out.status.success() {
        // Ballista ran the lost tasks again on e1: the answer must still be right.
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    } else {
        let e = stderr(&out);
        assert!(e.contains("cluster job") || e.contains("executor"), "{e}");
    }
    eprintln!(
        "after the kill: {} in {waited:?}",
        if out.status.success() {
            "answered"
        } else {
            "failed"
        }
    );
    // The cluster, down to one executor, answers the next query.
    let next = ok(
        &cluster.client(&uri, &["-c", "SELECT count(*) FROM raw.big.t"]),
        "next query",
    );
    assert_eq!(next, "count(*)\n32000\n");
}
