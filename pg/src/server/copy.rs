//! COPY … TO STDOUT, for both protocols alike: CopyOutResponse, the rows as CopyData in the
//! statement's format, CopyDone, and `COPY n` counting rows (not messages). An error mid-copy
//! is an ErrorResponse: the backend never sends CopyFail, which is the client's message.
use super::conn::QueryLog;
use super::exec::BatchStream;
use super::responses::pg_batches;
use crate::wire as encode;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::results::{CopyEncoder, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyDone, CopyOutResponse};
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use strata_sql::{CopyFormat, CopyOptions};

/// Streams the rows of a COPY … TO STDOUT to the client.
pub(super) async fn copy_out<C>(
    client: &mut C,
    stream: BatchStream,
    options: &CopyOptions,
    log: Arc<QueryLog>,
    zone: encode::Zone,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let schema = stream.schema.clone();
    let columns = schema.fields().len();
    let format: i8 = match options.format {
        CopyFormat::Binary => 1,
        CopyFormat::Text | CopyFormat::Csv => 0,
    };
    let mut data = Box::pin(encode::session_copy_data(
        pg_batches(stream, log.clone()),
        schema,
        options,
        zone,
    ));
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            format,
            columns as i16,
            vec![format as i16; columns],
        )))
        .await?;
    while let Some(chunk) = data.next().await {
        client.feed(PgWireBackendMessage::CopyData(chunk?)).await?;
    }
    if options.format == CopyFormat::Binary {
        client
            .feed(PgWireBackendMessage::CopyData(
                CopyEncoder::finish_copy_binary(),
            ))
            .await?;
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    let tag = Tag::new("COPY").with_rows(log.rows.load(Ordering::Relaxed));
    client
        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}
