//! The `unique` expectation (docs/quality.md#expectations): judged over the table's rows after
//! the write — its current rows (the latest view of a keyed table, whose keys the batch
//! replaces) and the batch's — by a DataFusion aggregate, so a table larger than memory spills
//! under the session's memory limit instead of being held in Rust.
use super::gate::{Broken, EXAMPLES};
use crate::error::Result;
use datafusion::arrow::array::{Array, Int64Array};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::sync::Arc;

/// The rows a write's `unique` check reads.
pub struct Rows {
    /// The table's rows before the write (None for a new table).
    pub existing: Option<Arc<dyn TableProvider>>,
    /// The batch's rows (None when a check runs over the table alone).
    pub batch: Option<Arc<dyn TableProvider>>,
    /// A keyed table's key: existing rows whose key the batch holds are replaced by it.
    pub key: Vec<String>,
}

fn quote(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

/// How many rows of `rows` share their values of `set` with another row (rows whose `set`
/// columns are all NULL are ignored), with up to five repeated values; None when all are unique.
pub async fn unique_broken(
    state: &SessionState,
    rows: &Rows,
    set: &[String],
) -> Result<Option<Broken>> {
    // A context of its own for the two names below (the session's default schema is a lake
    // zone, which takes no registrations), on the session's runtime: its memory pool, spill
    // files and object stores.
    let config = state
        .config()
        .clone()
        .with_create_default_catalog_and_schema(true)
        .with_default_catalog_and_schema("datafusion", "public");
    let ctx = SessionContext::new_with_config_rt(config, state.runtime_env().clone());
    let cols: Vec<String> = set.iter().map(|c| quote(c)).collect();
    let list = cols.join(", ");
    let mut parts = vec![];
    if let Some(existing) = &rows.existing {
        ctx.register_table("strata_unique_existing", existing.clone())?;
        let replaced = match (&rows.batch, rows.key.is_empty()) {
            (Some(_), false) => {
                let same: Vec<String> = rows
                    .key
                    .iter()
                    .map(|k| format!("b.{q} = e.{q}", q = quote(k)))
                    .collect();
                format!(
                    " WHERE NOT EXISTS (SELECT 1 FROM strata_unique_batch b WHERE {})",
                    same.join(" AND ")
                )
            }
            _ => String::new(),
        };
        let picked: Vec<String> = cols.iter().map(|c| format!("e.{c}")).collect();
        parts.push(format!(
            "SELECT {} FROM strata_unique_existing e{replaced}",
            picked.join(", ")
        ));
    }
    if let Some(batch) = &rows.batch {
        ctx.register_table("strata_unique_batch", batch.clone())?;
        parts.push(format!("SELECT {list} FROM strata_unique_batch"));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let all_null: Vec<String> = cols.iter().map(|c| format!("{c} IS NULL")).collect();
    let sql = format!(
        "SELECT {list}, count(*) AS strata_n FROM ({}) rows WHERE NOT ({}) \
         GROUP BY {list} HAVING count(*) > 1",
        parts.join(" UNION ALL "),
        all_null.join(" AND ")
    );
    let mut stream = ctx.sql(&sql).await?.execute_stream().await?;
    let mut failing = 0u64;
    let mut examples = vec![];
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let n = batch.num_columns() - 1;
        let counts = batch.column(n).as_any().downcast_ref::<Int64Array>();
        let Some(counts) = counts else { continue };
        for row in 0..batch.num_rows() {
            failing += counts.value(row) as u64;
            if examples.len() < EXAMPLES {
                let values = batch.project(&(0..n).collect::<Vec<_>>())?;
                examples.push(format!(
                    "{} × {}",
                    super::gate::show_row(&values, row),
                    counts.value(row)
                ));
            }
        }
    }
    Ok((failing > 0).then(|| Broken {
        expectation: format!("unique({})", set.join(", ")),
        failing,
        examples,
        detail: None,
    }))
}
