//! `strata check` and `strata.checks`: expectations judged over a table's current rows (rows
//! written before the expectation existed, or by another tool), the exit codes a scheduler
//! gates on, and the keyed table's latest view as what is checked.
use crate::delta::ok;
use crate::lakes::{cdc, jan, rows, TestLake};
use std::process::{Command, Output};

/// Plain CSV files another tool wrote, with expectations added afterwards.
fn orders_lake() -> TestLake {
    let lake = TestLake::new();
    lake.write(
        "raw/shop/orders/part-1.csv",
        b"id,country,amount\n1,FR,10\n2,XX,20\n3,,30\n4,DE,-5\n4,US,7\n",
    );
    lake.config(
        r#"
[tables."raw.shop.orders".expect]
not_null = ["country"]
unique = ["id"]
between = { amount = [0, 100] }
in_set = { country = ["FR", "DE", "US"] }
"#,
    );
    lake
}

const REPORT: &str = "SELECT zone, schema, \"table\", \"check\", status, failing, rows \
    FROM raw.strata.checks ORDER BY \"check\"";

#[tokio::test]
async fn strata_checks_judges_every_expectation_over_the_current_rows() {
    let lake = orders_lake();
    let s = lake.session().await;
    let row = |check: &str, status: &str, failing: &str, rows: &str| {
        ["raw", "shop", "orders", check, status, failing, rows]
            .map(String::from)
            .to_vec()
    };
    assert_eq!(
        rows(&s, REPORT).await,
        vec![
            row("between(amount)", "fail", "1", "5"),
            // The empty country is NULL in CSV: only not_null counts it, in_set lets it pass.
            row("in_set(country)", "fail", "1", "5"),
            row("not_null(country)", "fail", "1", "5"),
            row("unique(id)", "fail", "2", "NULL"),
        ]
    );
    // Examples name the failing rows; a zone's strata schema shows every readable zone.
    let detail = rows(
        &s,
        "SELECT detail FROM sanitized.strata.checks WHERE \"check\" = 'between(amount)'",
    )
    .await;
    assert!(
        detail[0][0].starts_with("e.g. {id: 4, country: DE, amount: -5, _ingested_at: "),
        "{detail:?}"
    );
    assert_eq!(
        rows(
            &s,
            "SELECT detail FROM raw.strata.checks WHERE \"check\" = 'unique(id)'"
        )
        .await,
        vec![vec!["e.g. {id: 4} × 2"]]
    );
}

#[tokio::test]
async fn a_keyed_table_is_checked_as_its_latest_view() {
    let lake = TestLake::new();
    // Customer 1 had no status, then got one; 2 appears twice in the history, once in the view.
    lake.parquet(
        "raw/crm/customers/part-1.parquet",
        &cdc(&[
            (1, "", jan(1)),
            (2, "new", jan(1)),
            (2, "gold", jan(2)),
            (1, "new", jan(3)),
        ]),
    );
    lake.config(
        r#"
[tables."raw.crm.customers"]
key = ["id"]
[tables."raw.crm.customers".expect]
unique = ["id"]
in_set = { status = ["new", "gold"] }
"#,
    );
    let s = lake.session().await;
    assert_eq!(
        rows(
            &s,
            "SELECT \"check\", status, failing, rows FROM raw.strata.checks ORDER BY 1"
        )
        .await,
        vec![
            vec!["in_set(status)", "pass", "0", "2"],
            vec!["unique(id)", "pass", "0", "NULL"],
        ]
    );
    // The history itself holds the repeat and the empty status: a check of it fails.
    assert_eq!(
        rows(
            &s,
            "SELECT count(*) FROM raw.crm.customers_history WHERE status = ''"
        )
        .await,
        vec![vec!["1"]]
    );
}

fn strata(lake: &TestLake, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--lake")
        .arg(lake.path(""))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run strata")
}

#[test]
fn strata_check_exits_1_on_a_failed_expectation_and_prints_the_report() {
    let lake = orders_lake();
    let out = strata(&lake, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("| raw  | shop   | orders | between(amount)   | fail   | 1"),
        "{text}"
    );

    let out = strata(&lake, &["check", "raw.shop.orders", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = String::from_utf8_lossy(&out.stdout);
    // One JSON array of objects, one per check, in the order the expectations are judged.
    assert!(json.starts_with("[{\"zone\":\"raw\""), "{json}");
    let failed: Vec<usize> = [
        "not_null(country)",
        "between(amount)",
        "in_set(country)",
        "unique(id)",
    ]
    .iter()
    .map(|c| {
        let at = json.find(&format!("\"check\":\"{c}\",\"status\":\"fail\""));
        at.unwrap_or_else(|| panic!("{c} not failed in {json}"))
    })
    .collect();
    assert!(failed.is_sorted(), "{json}");
}

#[test]
fn strata_check_exits_0_when_every_expectation_holds_and_2_when_it_cannot_check() {
    let lake = orders_lake();
    lake.write(
        "raw/shop/orders/part-1.csv",
        b"id,country,amount\n1,FR,10\n2,DE,20\n",
    );
    let out = strata(&lake, &["check", "raw.shop.orders"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = strata(&lake, &["check", "raw.shop.nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("raw.shop.nope does not exist"));

    // An expectation on a column the table lacks cannot be checked: named, exit 2.
    lake.config("[tables.\"raw.shop.orders\".expect]\nnot_null = [\"cuntry\"]\n");
    let out = strata(&lake, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cuntry"), "{text}");
}

#[tokio::test]
async fn a_spike_on_the_newest_batch_warns_and_fails_only_with_fail_on_anomaly() {
    use super::anomalies::{batches, SPIKE, VOLUME_ONLY};
    let lake = TestLake::new();
    lake.config(VOLUME_ONLY);
    let s = lake.session().await;
    batches(&s, "raw.s.t", &SPIKE).await;
    let got = rows(
        &s,
        "SELECT \"table\", \"check\", status, detail FROM raw.strata.checks",
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0][..3], ["t", "volume", "warn"]);
    assert!(got[0][3].starts_with("spike: 500 rows at "), "{got:?}");
    assert!(
        got[0][3].ends_with("expected 100.0 (z = 213.81)"),
        "{got:?}"
    );

    let out = strata(&lake, &["check"]);
    assert_eq!(out.status.code(), Some(0), "a warning alone passes");
    assert!(String::from_utf8_lossy(&out.stdout).contains("| warn "));
    let out = strata(&lake, &["check", "--fail-on-anomaly"]);
    assert_eq!(out.status.code(), Some(1));

    // A named table says where it stands on every verdict, normal ones included.
    ok(
        &s,
        "INSERT INTO raw.s.t SELECT value AS id FROM generate_series(1, 100)",
    )
    .await;
    let out = strata(&lake, &["check", "raw.s.t", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("raw,s,t,volume,pass,,,\"100 rows at "),
        "{text}"
    );
    assert!(
        text.contains("raw,s,t,freshness,pass,,,not watched (anomaly_freshness = false)"),
        "{text}"
    );
}

#[tokio::test]
async fn unique_over_a_table_larger_than_the_memory_limit_spills_or_fails_clearly() {
    use crate::lakes::session_on;
    use strata::SessionOptions;
    let lake = TestLake::new();
    // 400,001 rows of wide distinct text ids, one repeated: far above the 8 MB limit in a hash table.
    let n = 400_000i64;
    let mut r: Vec<(i64, String, i64)> = (0..n)
        .map(|i| {
            (
                i,
                format!("customer-{i:012}-with-a-long-identifier"),
                jan(1),
            )
        })
        .collect();
    r.push((n, r[7].1.clone(), jan(1)));
    let refs: Vec<(i64, &str, i64)> = r.iter().map(|(a, b, c)| (*a, b.as_str(), *c)).collect();
    lake.parquet("raw/crm/big/0.parquet", &cdc(&refs));
    lake.config("[tables.\"raw.crm.big\".expect]\nunique = [\"status\"]\n");
    let s = session_on(
        &lake.uri(),
        SessionOptions {
            memory_limit: Some(8 << 20),
            as_of: None,
        },
    )
    .await;
    let got = rows(
        &s,
        "SELECT status, failing, detail FROM raw.strata.checks WHERE \"check\" = 'unique(status)'",
    )
    .await;
    // Either the aggregate spilled and found the one repeat, or it said it ran out of memory;
    // never a wrong answer, never the process killed.
    match got[0][0].as_str() {
        "fail" => assert_eq!(got[0][1], "2", "{got:?}"),
        "error" => assert!(
            got[0][2].to_lowercase().contains("resources exhausted"),
            "{got:?}"
        ),
        other => panic!("unexpected status {other}: {got:?}"),
    }
}
