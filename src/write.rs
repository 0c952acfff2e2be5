//! The commands that write the lake (docs/delta.md): `strata ingest TABLE FILE…` appends files
//! (or stdin) as one batch, `strata optimize` compacts Delta tables, `strata convert` makes a
//! plain-Parquet table a Delta table. Each prints what it did to stderr unless `-q`.
use crate::cli::{Cli, ConvertArgs, IngestArgs, OptimizeArgs};
use anyhow::{Context as _, Result};
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use strata_catalog::TableName;
use strata_sql::{Lake, Session, SessionOptions};

pub(crate) fn table_name(text: &str) -> Result<TableName> {
    TableName::parse(text)
        .filter(|t| strata_catalog::ZONES.contains(&t.zone.as_str()))
        .with_context(|| {
            format!(
                "'{text}' is not a table name: give zone.schema.table, zone one of raw, sanitized, enhanced"
            )
        })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn open(cli: &Cli, lake: Option<&str>) -> Result<(Arc<Lake>, Session)> {
    let uri = crate::lake_uri(lake.or(cli.lake.as_deref()), cli.quiet)?;
    let lake = Lake::open(&uri).await?;
    let session = Session::new(lake.clone(), SessionOptions::default()).await?;
    Ok((lake, session))
}

/// `strata ingest`.
pub fn ingest(cli: &Cli, args: &IngestArgs) -> Result<ExitCode> {
    let table = table_name(&args.table)?;
    let rt = runtime()?;
    // Stdin is spooled to a file first, so it is read like any other file; it is deleted after.
    let spool = tempfile::tempdir().context("cannot make a temporary folder")?;
    let mut files = vec![];
    for f in &args.files {
        if f.as_os_str() == "-" {
            let ext = args.file_format.as_deref().unwrap_or("csv");
            let path = spool.path().join(format!("stdin.{ext}"));
            let mut out = std::fs::File::create(&path).context("cannot spool stdin")?;
            std::io::copy(&mut std::io::stdin().lock(), &mut out).context("cannot read stdin")?;
            out.flush()?;
            files.push(path);
        } else {
            files.push(f.clone());
        }
    }
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let source = format!("strata ingest {}", names.join(" "));
    let rows = rt.block_on(async {
        let (_, session) = open(cli, args.lake.as_deref()).await?;
        let rows = strata_sql::ingest::ingest_files(
            &session,
            &table,
            &files,
            args.file_format.as_deref(),
            &source,
        )
        .await?;
        anyhow::Ok((rows, session.take_notices()))
    })?;
    let (rows, notices) = rows;
    if !cli.quiet {
        eprintln!("INSERT 0 {rows}");
    }
    for notice in notices {
        eprintln!("NOTICE: {notice}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `strata optimize`: the named tables, or every Delta table.
pub fn optimize(cli: &Cli, args: &OptimizeArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let (lake, _) = open(cli, args.lake.as_deref()).await?;
        let tables: Vec<TableName> = match args.tables.is_empty() {
            false => args
                .tables
                .iter()
                .map(|t| table_name(t))
                .collect::<Result<_>>()?,
            true => lake.delta_tables(),
        };
        let target = std::num::NonZeroU64::new(args.target_size as u64)
            .context("--target-size must be above 0")?;
        for t in tables {
            let done = lake.optimize(&t, target, "strata optimize", None).await?;
            if !cli.quiet {
                eprintln!(
                    "OPTIMIZE {t}: {} files into {}",
                    done.files_removed, done.files_added
                );
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `strata convert`.
pub fn convert(cli: &Cli, args: &ConvertArgs) -> Result<ExitCode> {
    let table = table_name(&args.table)?;
    let rt = runtime()?;
    rt.block_on(async {
        let (lake, _) = open(cli, args.lake.as_deref()).await?;
        let done = lake
            .convert_to_delta(&table, "strata convert", None)
            .await?;
        if !cli.quiet {
            eprintln!("CONVERT TO DELTA {table}: {} files", done.files_added);
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
