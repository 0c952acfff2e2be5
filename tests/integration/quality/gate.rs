//! The gate on SQL writes: each expectation kind, `reject` and `quarantine`, `unique` over the
//! table's rows after the write, and promotion from sanitized to enhanced.
use crate::delta::{files_below, ok, run};
use crate::lakes::{rows, value, TestLake};

const DAILY: &str = r#"
[tables."enhanced.sales.daily".expect]
not_null = ["country"]
unique = [["country", "dt"]]
between = { revenue = [0, 1e9] }
in_set = { country = ["FR", "DE", "US"] }
matches = { email = '^[^@]+@[^@]+$' }
rows = [1, 1000]
"#;

const GOOD: &str = "SELECT * FROM (VALUES ('FR', DATE '2024-01-01', 10.0, 'a@b.fr'), \
    ('DE', DATE '2024-01-01', 20.0, 'c@d.de')) AS t(country, dt, revenue, email)";

#[tokio::test]
async fn a_batch_that_breaks_expectations_commits_nothing_and_says_what_broke() {
    let lake = TestLake::new();
    lake.config(DAILY);
    let s = lake.session().await;
    ok(&s, &format!("CREATE TABLE enhanced.sales.daily AS {GOOD}")).await;
    let before = files_below(&lake, "enhanced");
    let e = run(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES \
         (NULL, DATE '2024-01-02', 5.0, 'e@f.fr'), \
         ('XX', DATE '2024-01-02', -1.0, 'nope'), \
         ('US', DATE '2024-01-02', 2e9, NULL), \
         ('FR', DATE '2024-01-02', NULL, 'g@h.fr')",
    )
    .await
    .unwrap_err();
    for wanted in [
        "breaks 4 expectations, so nothing was written",
        "not_null(country): 1 row, e.g. {country: NULL, dt: 2024-01-02, revenue: 5.0, email: e@f.fr",
        "between(revenue): 2 rows",
        "in_set(country): 1 row",
        "matches(email): 1 row",
    ] {
        assert!(e.contains(wanted), "missing {wanted:?} in:\n{e}");
    }
    // NULL revenue and NULL email pass between and matches (only not_null counts NULLs).
    assert!(!e.contains("unique"), "{e}");
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily").await,
        "2"
    );
    // The refused write's data files are gone too.
    assert_eq!(files_below(&lake, "enhanced"), before);
}

#[tokio::test]
async fn unique_is_judged_over_the_table_rows_after_the_write() {
    let lake = TestLake::new();
    lake.config(DAILY);
    let s = lake.session().await;
    ok(&s, &format!("CREATE TABLE enhanced.sales.daily AS {GOOD}")).await;
    // Unique within the batch, but FR/2024-01-01 is already in the table.
    let e = run(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES ('FR', DATE '2024-01-01', 1.0, 'x@y.fr'), \
         ('FR', DATE '2024-01-02', 1.0, 'x@y.fr')",
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("unique(country, dt): 2 rows, e.g. {country: FR, dt: 2024-01-01} × 2"),
        "{e}"
    );
    // A repeat inside the batch alone.
    let e = run(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES ('US', DATE '2024-01-05', 1.0, 'x@y.fr'), \
         ('US', DATE '2024-01-05', 2.0, 'x@y.fr')",
    )
    .await
    .unwrap_err();
    assert!(e.contains("unique(country, dt): 2 rows"), "{e}");
    ok(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES ('US', DATE '2024-01-05', 1.0, 'x@y.fr')",
    )
    .await;
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily").await,
        "3"
    );
}

#[tokio::test]
async fn a_keyed_table_is_unique_over_its_latest_view_so_a_new_version_of_a_key_passes() {
    let lake = TestLake::new();
    lake.config(
        "[tables.\"enhanced.crm.c\"]\nkey = [\"id\"]\n[tables.\"enhanced.crm.c\".expect]\nunique = [\"id\", \"email\"]\n",
    );
    let s = lake.session().await;
    ok(&s, "CREATE TABLE enhanced.crm.c AS SELECT * FROM (VALUES (1, 'a@x'), (2, 'b@x')) AS t(id, email)").await;
    // Key 2's new row replaces its old one in the latest view: no repeat.
    ok(&s, "INSERT INTO enhanced.crm.c VALUES (2, 'b2@x')").await;
    // Key 3 takes an e-mail key 1 still has.
    let e = run(&s, "INSERT INTO enhanced.crm.c VALUES (3, 'a@x')")
        .await
        .unwrap_err();
    assert!(e.contains("unique(email): 2 rows"), "{e}");
    assert_eq!(
        rows(&s, "SELECT id, email FROM enhanced.crm.c ORDER BY id").await,
        vec![vec!["1", "a@x"], vec!["2", "b2@x"]]
    );
}

#[tokio::test]
async fn quarantine_commits_the_good_rows_and_keeps_every_bad_one_with_what_it_broke() {
    let lake = TestLake::new();
    lake.config(&DAILY.replace(
        "rows = [1, 1000]",
        "rows = [1, 1000]\non_failure = \"quarantine\"",
    ));
    let s = lake.session().await;
    ok(&s, &format!("CREATE TABLE enhanced.sales.daily AS {GOOD}")).await;
    ok(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES \
         (NULL, DATE '2024-01-02', 5.0, 'e@f.fr'), \
         ('XX', DATE '2024-01-02', -1.0, 'nope'), \
         ('US', DATE '2024-01-02', 7.0, 'u@v.us')",
    )
    .await;
    assert_eq!(
        rows(
            &s,
            "SELECT country, revenue FROM enhanced.sales.daily ORDER BY country"
        )
        .await,
        vec![vec!["DE", "20.0"], vec!["FR", "10.0"], vec!["US", "7.0"]]
    );
    assert_eq!(
        rows(
            &s,
            "SELECT country, revenue, _broken FROM enhanced.sales.daily_quarantine ORDER BY revenue"
        )
        .await,
        vec![
            vec!["XX", "-1.0", "between(revenue), in_set(country), matches(email)"],
            vec!["NULL", "5.0", "not_null(country)"],
        ]
    );
    // The quarantined rows carry their batch's stamp.
    assert_eq!(
        value(
            &s,
            "SELECT count(DISTINCT _ingested_at) FROM enhanced.sales.daily_quarantine"
        )
        .await,
        "1"
    );
    // A batch whose every row breaks an expectation: all of it in quarantine, none lost.
    ok(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES ('US', DATE '2024-01-03', -5.0, 'u@v.us')",
    )
    .await;
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily").await,
        "3"
    );
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily_quarantine").await,
        "3"
    );
    // Table-level expectations still refuse the whole batch under quarantine.
    let e = run(
        &s,
        "INSERT INTO enhanced.sales.daily VALUES ('US', DATE '2024-01-02', 1.0, 'u@v.us')",
    )
    .await
    .unwrap_err();
    assert!(e.contains("unique(country, dt)"), "{e}");
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily_quarantine").await,
        "3"
    );
}

#[tokio::test]
async fn promotion_into_enhanced_commits_only_when_the_target_expectations_hold() {
    let lake = TestLake::new();
    lake.config(DAILY);
    let s = lake.session().await;
    ok(&s, &format!("CREATE TABLE sanitized.sales.daily AS {GOOD}")).await;
    ok(
        &s,
        "INSERT INTO sanitized.sales.daily VALUES ('XX', DATE '2024-01-03', 1.0, 'z@z.fr')",
    )
    .await;
    let e = run(
        &s,
        "CREATE TABLE enhanced.sales.daily AS SELECT country, dt, revenue, email FROM sanitized.sales.daily",
    )
    .await
    .unwrap_err();
    assert!(e.contains("in_set(country): 1 row"), "{e}");
    assert!(files_below(&lake, "enhanced").is_empty());
    ok(
        &s,
        "CREATE TABLE enhanced.sales.daily AS SELECT country, dt, revenue, email FROM sanitized.sales.daily WHERE country <> 'XX'",
    )
    .await;
    assert_eq!(
        value(&s, "SELECT count(*) FROM enhanced.sales.daily").await,
        "2"
    );
}

#[tokio::test]
async fn an_expectation_on_a_column_the_table_lacks_names_table_and_column() {
    let lake = TestLake::new();
    lake.config("[tables.\"raw.s.t\".expect]\nnot_null = [\"idd\"]\n");
    let s = lake.session().await;
    let e = run(&s, "CREATE TABLE raw.s.t AS SELECT 1 AS id")
        .await
        .unwrap_err();
    assert!(
        e.contains("raw.s.t") && e.contains("'idd'") && e.contains("id"),
        "{e}"
    );
    assert!(files_below(&lake, "raw").is_empty());
}
