//! SQL cursors (`DECLARE … CURSOR FOR`, `FETCH`, `CLOSE`): a cursor keeps its query's stream
//! open between statements and FETCH takes the next rows from it, so paging a large result
//! never holds more than one batch.
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::sql::sqlparser::ast::FetchDirection;
use futures::StreamExt;
use std::collections::HashMap;
use strata_sql::{Output, Result, SqlError};
use tokio::sync::Mutex;

struct Cursor {
    stream: SendableRecordBatchStream,
    /// Rows taken from the stream but not yet fetched.
    pending: Option<RecordBatch>,
    hold: bool,
}

#[derive(Default)]
pub(crate) struct Cursors {
    open: Mutex<HashMap<String, Cursor>>,
}

impl Cursors {
    pub async fn declare(
        &self,
        name: &str,
        stream: SendableRecordBatchStream,
        hold: bool,
    ) -> Result<()> {
        let mut open = self.open.lock().await;
        if open.contains_key(name) {
            return Err(SqlError::from(crate::sqlstate::PgError::new(
                crate::sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{name}\" already exists"),
            )));
        }
        open.insert(
            name.to_string(),
            Cursor {
                stream,
                pending: None,
                hold,
            },
        );
        Ok(())
    }

    pub async fn fetch(&self, name: &str, direction: &FetchDirection) -> Result<Output> {
        let count = match direction {
            FetchDirection::Next | FetchDirection::Forward { limit: None } => Some(1),
            FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
                Some(count_of(limit)?)
            }
            FetchDirection::All | FetchDirection::ForwardAll => None,
            other => {
                return Err(SqlError::from(crate::sqlstate::PgError::new(
                    crate::sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("FETCH {other}: Strata's cursors only move forward"),
                )))
            }
        };
        let mut open = self.open.lock().await;
        let cursor = open.get_mut(name).ok_or_else(|| {
            SqlError::from(crate::sqlstate::PgError::new(
                crate::sqlstate::INVALID_CURSOR_NAME,
                format!("cursor \"{name}\" does not exist"),
            ))
        })?;
        let schema = cursor.stream.schema();
        let mut batches = vec![];
        let mut want = count.unwrap_or(usize::MAX);
        while want > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor.stream.next().await {
                    Some(b) => b?,
                    None => break,
                },
            };
            if batch.num_rows() > want {
                cursor.pending = Some(batch.slice(want, batch.num_rows() - want));
                batches.push(batch.slice(0, want));
                want = 0;
            } else {
                want -= batch.num_rows();
                batches.push(batch);
            }
        }
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        Ok(Output::Rows(Box::pin(RecordBatchStreamAdapter::new(
            schema, stream,
        ))))
    }

    /// The columns FETCH from this cursor returns.
    pub async fn schema(&self, name: &str) -> Option<datafusion::arrow::datatypes::SchemaRef> {
        self.open.lock().await.get(name).map(|c| c.stream.schema())
    }

    pub async fn close(&self, name: &str) -> Result<()> {
        match self.open.lock().await.remove(name) {
            Some(_) => Ok(()),
            None => Err(SqlError::from(crate::sqlstate::PgError::new(
                crate::sqlstate::INVALID_CURSOR_NAME,
                format!("cursor \"{name}\" does not exist"),
            ))),
        }
    }

    pub async fn close_all(&self) {
        self.open.lock().await.clear();
    }

    /// A transaction's end closes its cursors, except those declared WITH HOLD.
    pub async fn close_without_hold(&self) {
        self.open.lock().await.retain(|_, c| c.hold);
    }
}

fn count_of(v: &datafusion::sql::sqlparser::ast::Value) -> Result<usize> {
    v.to_string()
        .parse::<usize>()
        .map_err(|_| SqlError::Syntax(format!("FETCH count must be a number, not {v}")))
}
