//! `strata check [TABLE…]` (docs/quality.md#strata-check): the report of `strata.checks` for
//! the named tables (none: every table with expectations), printed as a table or JSON, with an
//! exit code a scheduler can gate a pipeline on.
use crate::cli::{CheckArgs, Cli};
use crate::print::{ResultWriter, Style};
use anyhow::{Context as _, Result};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use futures::StreamExt;
use std::process::ExitCode;
use strata_catalog::TableName;
use strata_sql::{Lake, Session, SessionOptions};

/// Every check passed (warnings allowed).
const PASSED: u8 = 0;
/// An expectation failed, or an anomaly was found with `--fail-on-anomaly`.
const FAILED: u8 = 1;
/// A check could not run: the lake or a table cannot be read, a table does not exist.
const COULD_NOT_CHECK: u8 = 2;

/// `strata check`.
pub fn check(cli: &Cli, args: &CheckArgs) -> Result<ExitCode> {
    let rt = crate::write::runtime()?;
    match rt.block_on(run(cli, args)) {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(e) => {
            eprintln!("Error: {}", crate::shell::error_text(&e));
            Ok(ExitCode::from(COULD_NOT_CHECK))
        }
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn run(cli: &Cli, args: &CheckArgs) -> Result<u8> {
    let uri = crate::lake_uri(args.lake.as_deref().or(cli.lake.as_deref()), cli.quiet)?;
    let lake = Lake::open(&uri).await?;
    let session = Session::new(lake.clone(), SessionOptions::default()).await?;
    let mut queries = vec![];
    for text in &args.tables {
        let t = crate::write::table_name(text)?;
        if lake.base_of(&t).is_none() {
            anyhow::bail!("table {t} does not exist");
        }
        let expects = lake
            .config()
            .tables
            .get(&t.to_string())
            .is_some_and(|c| c.expect.is_some());
        if !expects && !cli.quiet {
            eprintln!("{t}: no expectations in strata.toml");
        }
        queries.push(format!(
            "{} AND \"table\" = {}",
            zone_schema(&t),
            quote(&t.table)
        ));
    }
    if args.tables.is_empty() {
        queries.push("true".into());
    }

    let style = Style::new(args.format, cli.quiet);
    let mut out = std::io::stdout().lock();
    let schema = strata_catalog::quality::check::report_schema();
    let mut writer = ResultWriter::new(style, schema, &mut out, None);
    let mut code = PASSED;
    for filter in queries {
        let sql = format!("SELECT * FROM raw.strata.checks WHERE {filter}");
        let mut stream = session
            .sql(&sql)
            .await?
            .execute_stream()
            .await
            .context("cannot run the checks")?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            code = code.max(outcome(&batch, args.fail_on_anomaly));
            writer.write(&batch)?;
        }
    }
    writer.finish()?;
    Ok(code)
}

fn zone_schema(t: &TableName) -> String {
    format!(
        "zone = {} AND schema = {}",
        quote(&t.zone),
        quote(&t.schema)
    )
}

/// The exit code a batch of the report calls for.
fn outcome(batch: &RecordBatch, fail_on_anomaly: bool) -> u8 {
    let Some(status) = batch.column_by_name("status") else {
        return COULD_NOT_CHECK;
    };
    let status = status.as_string::<i32>();
    (0..status.len())
        .map(|i| match status.value(i) {
            "fail" => FAILED,
            "warn" if fail_on_anomaly => FAILED,
            "error" => COULD_NOT_CHECK,
            _ => PASSED,
        })
        .max()
        .unwrap_or(PASSED)
}
