//! Runs the sqllogictest files in `tests/slt/` against a Strata session on the sample lake.
use async_trait::async_trait;
use futures::StreamExt;
use sqllogictest::{DBOutput, DefaultColumnType};
use std::path::PathBuf;
use strata::arrow::util::display::{ArrayFormatter, FormatOptions};
use strata::{Output, Session, SessionOptions};

pub struct StrataDb {
    /// A plain session, or a Postgres one (which derefs to a session).
    session: Box<dyn std::ops::Deref<Target = Session> + Send + Sync>,
}

#[derive(Debug)]
pub struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SltError {}

#[async_trait]
impl sqllogictest::AsyncDB for StrataDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let err = |e: &dyn std::fmt::Display| SltError(e.to_string());
        let stmts = self.session.parse(sql).map_err(|e| err(&e))?;
        let mut last = DBOutput::StatementComplete(0);
        for stmt in &stmts {
            last = match self.session.execute(stmt).await.map_err(|e| err(&e))? {
                Output::Status(_) => DBOutput::StatementComplete(0),
                Output::Rows(mut stream)
                | Output::CopyOut {
                    rows: mut stream, ..
                } => {
                    let width = stream.schema().fields().len();
                    let mut rows = vec![];
                    let opts = FormatOptions::default().with_null("NULL");
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(|e| err(&e))?;
                        let fmts: Vec<_> = batch
                            .columns()
                            .iter()
                            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                            .collect::<Result<_, _>>()
                            .map_err(|e| err(&e))?;
                        for r in 0..batch.num_rows() {
                            rows.push(
                                fmts.iter()
                                    .map(|f| {
                                        let s = f.value(r).to_string();
                                        if s.is_empty() {
                                            "(empty)".to_string()
                                        } else {
                                            s
                                        }
                                    })
                                    .collect(),
                            );
                        }
                    }
                    DBOutput::Rows {
                        types: vec![DefaultColumnType::Any; width],
                        rows,
                    }
                }
            };
        }
        Ok(last)
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "strata"
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files_pass_on_the_sample_lake() {
    let lake_dir = strata::sample::ensure_sample_lake().unwrap();
    let mut failures = vec![];
    for file in slt_files() {
        let uri = lake_dir.display().to_string();
        // `pg_*.slt` files run in a Postgres session, as `strata serve` clients get.
        let postgres = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pg_"));
        let mut runner = sqllogictest::Runner::new(move || {
            let uri = uri.clone();
            async move {
                let err = |e: &dyn std::fmt::Display| SltError(e.to_string());
                let lake = strata::Lake::open(&uri).await.map_err(|e| err(&e))?;
                let session: Box<dyn std::ops::Deref<Target = Session> + Send + Sync> = if postgres
                {
                    let engine = strata::Engine::new(lake, None).map_err(|e| err(&e))?;
                    let pg = strata::pg::PgEngine::new(engine).map_err(|e| err(&e))?;
                    Box::new(
                        pg.session(&strata::pg::PgSessionOptions {
                            user: "slt".into(),
                            ..Default::default()
                        })
                        .map_err(|e| err(&e))?,
                    )
                } else {
                    Box::new(Box::new(
                        Session::new(lake, SessionOptions::default())
                            .await
                            .map_err(|e| err(&e))?,
                    ))
                };
                Ok(StrataDb { session })
            }
        });
        if let Err(e) = runner.run_file_async(&file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
