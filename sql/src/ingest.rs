//! Reading files into a table as one batch (`strata ingest`, docs/delta.md#strata-ingest): each
//! file is read with the reader Strata uses for the lake's own files (format by extension or
//! `--format`, compression by extension), the files are combined by column name, and the rows
//! stream into one commit. A file that fails to read fails the whole batch: nothing is written.
use crate::{ErrorKind, Result, Session, SqlError};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::DataFrame;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_catalog::delta::AppendOptions;
use strata_catalog::format::{detect, file_format, Detected, Kind};
use strata_catalog::TableName;

/// Appends the rows of `files` to `table` (created when missing) as one batch; returns the rows
/// written. `format` names the format for files whose extension does not (stdin spooled to a
/// file, Firehose objects).
pub async fn ingest_files(
    session: &Session,
    table: &TableName,
    files: &[PathBuf],
    format: Option<&str>,
    source: &str,
) -> Result<u64> {
    if files.is_empty() {
        return Err(SqlError::new(ErrorKind::InvalidValue, "no files to ingest"));
    }
    let configured = match format {
        Some(f) => Some(Kind::from_setting(&f.to_ascii_lowercase()).ok_or_else(|| {
            SqlError::new(
                ErrorKind::InvalidValue,
                format!("unknown format '{f}': use parquet, csv, tsv, json (ndjson) or arrow"),
            )
        })?),
        None => None,
    };
    let mut combined: Option<DataFrame> = None;
    for path in files {
        let df = read_file(session, path, configured).await?;
        combined = Some(match combined {
            None => df,
            Some(all) => all.union_by_name(df)?,
        });
    }
    let rows = combined
        .expect("at least one file")
        .execute_stream()
        .await?;
    let mut opts = AppendOptions::new(source);
    opts.create = true;
    session.append_stream_with(table, rows, opts).await
}

async fn read_file(session: &Session, path: &Path, configured: Option<Kind>) -> Result<DataFrame> {
    let bad = |m: String| SqlError::new(ErrorKind::InvalidValue, m);
    let abs = std::fs::canonicalize(path)
        .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    if !abs.is_file() {
        return Err(bad(format!("{} is not a file", path.display())));
    }
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (kind, compression) = match (detect(&name), configured) {
        (Detected::Known(_, c), Some(k)) | (Detected::Unknown(c), Some(k)) => (k, c),
        (Detected::Known(k, c), None) => (k, c),
        (Detected::Unknown(_), None) => {
            return Err(bad(format!(
                "cannot tell the format of {} from its name; give --format",
                path.display()
            )))
        }
    };
    let state = session.context().state();
    let format = file_format(&state, kind, compression, false);
    // Any name is accepted: the file was named explicitly.
    let options = ListingOptions::new(format).with_file_extension("");
    let url = ListingTableUrl::parse(abs.to_string_lossy())?;
    let schema = options.infer_schema(&state, &url).await.map_err(|e| {
        bad(format!(
            "cannot read {}: {}",
            path.display(),
            e.strip_backtrace()
        ))
    })?;
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    Ok(session.context().read_table(Arc::new(table))?)
}
