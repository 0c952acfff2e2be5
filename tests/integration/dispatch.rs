//! One dispatcher for every front end (issue 11): `Session::sql` (the library's and the REPL's
//! entry) decides what a statement is exactly as `Session::execute` (the server's) does,
//! statement hook first. Before, `sql` skipped the hook, so a Postgres session's own statements
//! failed there while the server answered them.
use crate::lakes::TestLake;
use strata::arrow::array::StringArray;
use strata::arrow::util::pretty::pretty_format_batches;

async fn pg_session(lake: &TestLake) -> strata::pg::PgSession {
    let lake = strata::Lake::open(&lake.uri()).await.unwrap();
    let engine = strata::Engine::new(lake, None).unwrap();
    let pg = strata::pg::PgEngine::new(engine).unwrap();
    pg.session(&strata::pg::PgSessionOptions {
        user: "lib".into(),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn session_sql_runs_the_statement_hook_like_execute() {
    let lake = TestLake::new();
    lake.parquet("enhanced/s/t/a.parquet", &crate::lakes::cdc(&[(1, "a", 1)]));
    let session = pg_session(&lake).await;
    // Statements only the Postgres hook answers.
    session
        .sql("SET application_name = 'notebook'")
        .await
        .unwrap();
    let shown = session.sql("SHOW application_name").await.unwrap();
    let batches = shown.collect().await.unwrap();
    let value = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .value(0)
        .to_string();
    assert_eq!(value, "notebook");
    session.sql("BEGIN").await.unwrap();
    session.sql("COMMIT").await.unwrap();
    // A cursor declared through `sql` is fetched through `execute` and back: one session state.
    session
        .sql("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM generate_series(1, 3) AS t(n)")
        .await
        .unwrap();
    let fetched = session.sql("FETCH 2 FROM c").await.unwrap();
    let text = pretty_format_batches(&fetched.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(
        text.contains("| 1 |") && text.contains("| 2 |") && !text.contains("| 3 |"),
        "{text}"
    );
    // The refusal to update in place is the hook's, with its SQLSTATE, through either entry.
    let refused = session.sql("UPDATE s.t SET a = 1").await.unwrap_err();
    assert_eq!(strata::pg::sqlstate::of(&refused), "25006", "{refused}");
}

#[tokio::test]
async fn answered_rows_from_sql_are_read_once_not_collected() {
    let lake = TestLake::new();
    lake.parquet("enhanced/s/t/a.parquet", &crate::lakes::cdc(&[(1, "a", 1)]));
    let session = pg_session(&lake).await;
    let df = session.sql("SHOW ALL").await.unwrap();
    let first = df.clone().collect().await.unwrap();
    assert!(first.iter().map(|b| b.num_rows()).sum::<usize>() > 10);
    let again = df.collect().await.unwrap_err().to_string();
    assert!(again.contains("already read"), "{again}");
}
