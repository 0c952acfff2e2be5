//! TEMPORARY: replaced by the lead's write core. The two calls the Postgres front end's
//! `COPY … FROM STDIN` makes, with the write core's signatures, so this branch builds: the
//! schema comes from the table as it reads today, and appending checks rights and reads the
//! whole input (so decoding errors show as they will) but writes nothing.
use super::Session;
use crate::{ErrorKind, Result, SqlError};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use std::sync::Arc;
use strata_catalog::TableName;

// TEMPORARY: replaced by the lead's write core
impl Session {
    /// The columns a writer gives for `name`, in table order (without `_ingested_at` unless
    /// the table takes writer times).
    pub async fn write_schema(&self, name: &TableName) -> Result<SchemaRef> {
        let reference = TableReference::full(
            name.zone.as_str(),
            name.schema.as_str(),
            name.table.as_str(),
        );
        let table = self.ctx.table_provider(reference).await?;
        let schema = table.schema();
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .filter(|f| f.name() != "_ingested_at")
            .cloned()
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Appends the rows of `input` to `name` as one batch (one Delta commit); returns the
    /// number of rows. Checks write rights. `source` is recorded in strata.batches.
    pub async fn append_stream(
        &self,
        name: &TableName,
        mut input: SendableRecordBatchStream,
        _source: &str,
    ) -> Result<u64> {
        self.check_write(name)?;
        while let Some(batch) = input.next().await {
            batch?;
        }
        Err(SqlError::new(
            ErrorKind::NotSupported,
            format!("writing {name} needs the write core, which is not in this build"),
        ))
    }
}
