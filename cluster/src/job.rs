//! One query on the cluster, seen from the client: the plan goes to the scheduler as a job, the
//! client waits for it, then streams the result partitions from the executors that hold them.
//! Dropping the stream before the job ends (Ctrl-C, a statement timeout, a closed connection)
//! cancels the job, so an abandoned query stops using the cluster.
use crate::ClusterError;
use ballista_core::client::BallistaClient;
use ballista_core::serde::protobuf::execute_query_params::Query;
use ballista_core::serde::protobuf::execute_query_result::Result as Submitted;
use ballista_core::serde::protobuf::job_status::Status;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    CancelJobParams, ExecuteQueryParams, GetJobStatusParams, KeyValuePair, PartitionLocation,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result};
use futures::{Stream, StreamExt, TryStreamExt};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long a job may be unknown to the scheduler before the query fails (a new job is unknown
/// for a moment, until the scheduler has queued it).
const UNKNOWN_JOB_PATIENCE: Duration = Duration::from_secs(10);

/// How long to wait before asking for a job's status again, `elapsed` into the job: a tenth of
/// it, between 5 ms and 100 ms, so polling adds about a tenth at most to a short query's time and
/// asks ten times a second at most during a long one. (Ballista's pushed status stream is not
/// used: it drops updates when its buffer of 16 is full, the final one included.)
fn next_poll(elapsed: Duration) -> Duration {
    (elapsed / 10).clamp(Duration::from_millis(5), Duration::from_millis(100))
}

/// Where the scheduler is and how to talk to it.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// As the user gave it (HOST:PORT), for messages.
    pub address: String,
    /// How long connecting may take before the scheduler counts as unreachable.
    pub connect_timeout: Duration,
    /// Largest gRPC message either way (plans with many files are large).
    pub max_message_size: usize,
}

impl Scheduler {
    pub(crate) async fn connect(&self) -> Result<SchedulerGrpcClient<Channel>, ClusterError> {
        let unreachable = |reason: String| ClusterError::Unreachable {
            address: self.address.clone(),
            reason,
        };
        let endpoint = Endpoint::from_shared(format!("http://{}", self.address))
            .map_err(|e| unreachable(e.to_string()))?
            .connect_timeout(self.connect_timeout)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            // A scheduler that stops answering fails the query instead of hanging it.
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(20))
            .keep_alive_while_idle(true);
        let channel = tokio::time::timeout(self.connect_timeout, endpoint.connect())
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.connect_timeout)))?
            .map_err(|e| unreachable(source_text(&e)))?;
        Ok(SchedulerGrpcClient::new(channel)
            .max_decoding_message_size(self.max_message_size)
            .max_encoding_message_size(self.max_message_size))
    }
}

/// The innermost cause of an error, which for a refused connection is the useful part.
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        last = c.to_string();
        cause = c.source();
    }
    last
}

/// Cancels a job that is dropped before it finished.
struct CancelOnDrop {
    client: SchedulerGrpcClient<Channel>,
    job_id: String,
    done: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut client = self.client.clone();
        let job_id = std::mem::take(&mut self.job_id);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = client
                    .cancel_job(CancelJobParams {
                        job_id: job_id.clone(),
                    })
                    .await
                {
                    tracing::warn!("cannot cancel cluster job {job_id}: {e}");
                }
            });
        }
    }
}

/// Runs the encoded physical plan `plan` as a job with the session's `settings`, and streams
/// its result.
pub(crate) async fn run(
    scheduler: Scheduler,
    session_id: String,
    plan: Vec<u8>,
    settings: Vec<KeyValuePair>,
) -> Result<impl Stream<Item = Result<RecordBatch>> + Send> {
    let mut client = scheduler.connect().await.map_err(ClusterError::into_df)?;
    let mut request = tonic::Request::new(ExecuteQueryParams {
        query: Some(Query::PhysicalPlan(plan)),
        settings,
        session_id,
        operation_id: String::new(),
    });
    ballista_core::version::insert_version_header(request.metadata_mut());
    let submitted = client
        .execute_query(request)
        .await
        .map_err(|s| refused(&scheduler, s))?
        .into_inner();
    let job_id = match submitted.result {
        Some(Submitted::Success(ok)) => ok.job_id,
        Some(Submitted::Failure(failure)) => {
            use ballista_core::serde::protobuf::execute_query_failure_result::Failure;
            let why = match failure.failure {
                Some(Failure::PlanParsingFailure(m))
                | Some(Failure::SqlParsingFailure(m))
                | Some(Failure::SessionNotFound(m)) => m,
                None => "no reason given".into(),
            };
            return Err(DataFusionError::Execution(format!(
                "the cluster at {} refused the query: {}",
                scheduler.address,
                unwrap_debug(&why)
            )));
        }
        None => {
            return Err(DataFusionError::Execution(format!(
                "the scheduler at {} gave no answer to the query",
                scheduler.address
            )))
        }
    };
    let mut guard = CancelOnDrop {
        client: client.clone(),
        job_id: job_id.clone(),
        done: false,
    };
    let started = std::time::Instant::now();
    let mut unknown_since: Option<std::time::Instant> = None;
    let locations = loop {
        let status = client
            .get_job_status(GetJobStatusParams {
                job_id: job_id.clone(),
            })
            .await
            .map_err(|s| lost(&scheduler, &job_id, s))?
            .into_inner()
            .status
            // Known job, no status yet: it is being planned (`Some(None)`, waited for below).
            .map(|s| s.status);
        match status {
            Some(Some(Status::Successful(done))) => break done.partition_location,
            None => {
                // A job the scheduler does not know (it restarted): give up, do not wait forever.
                let since = *unknown_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > UNKNOWN_JOB_PATIENCE {
                    return Err(DataFusionError::Execution(format!(
                        "the scheduler at {} no longer knows job {job_id} (was it restarted?)",
                        scheduler.address
                    )));
                }
                tokio::time::sleep(next_poll(started.elapsed())).await;
            }
            Some(Some(Status::Failed(failed))) => {
                guard.done = true;
                return Err(DataFusionError::Execution(format!(
                    "cluster job {job_id} failed: {}",
                    failed.error.trim()
                )));
            }
            _ => tokio::time::sleep(next_poll(started.elapsed())).await,
        }
    };
    guard.done = true;
    drop(guard);
    let max = scheduler.max_message_size;
    let streams = result_blocks(locations)
        .into_iter()
        .map(move |l| futures::stream::once(fetch(l, max)).try_flatten());
    Ok(futures::stream::iter(streams).flatten())
}

/// The blocks of the result to fetch, in partition order: a sorted result is one partition, but
/// an unsorted one keeps the order its partitions were planned in. A block listed twice was
/// written again after its executor was lost: Ballista 55 appends the new location to the job's
/// result and keeps the old one, so only the last is read (else its rows would come twice).
fn result_blocks(locations: Vec<PartitionLocation>) -> Vec<PartitionLocation> {
    let mut blocks = std::collections::BTreeMap::new();
    for l in locations {
        let key = l
            .partition_id
            .as_ref()
            .map(|p| (p.stage_id, p.partition_id, l.map_partition_id));
        blocks.insert(key, l);
    }
    blocks.into_values().collect()
}

/// One result partition from the executor that holds it.
async fn fetch(
    location: PartitionLocation,
    max_message_size: usize,
) -> Result<datafusion::execution::SendableRecordBatchStream> {
    let layout = location.layout();
    let (Some(executor), Some(partition)) = (location.executor_meta, location.partition_id) else {
        return Err(DataFusionError::Internal(
            "the scheduler sent a result location without an executor or partition".into(),
        ));
    };
    let cannot = |e: ballista_core::error::BallistaError| {
        DataFusionError::Execution(format!(
            "cannot fetch a result partition from executor {} at {}:{}: {e}",
            executor.id, executor.host, executor.port
        ))
    };
    let mut client = BallistaClient::try_new(
        &executor.host,
        executor.port as u16,
        max_message_size,
        false,
        None,
        3,
        100,
        0,
        0,
    )
    .await
    .map_err(cannot)?;
    client
        .fetch_partition_proxied(
            &executor.id,
            &partition.into(),
            location.file_id,
            layout,
            &executor.host,
            executor.port as u16,
            true,
        )
        .await
        .map_err(cannot)
}

/// The scheduler's refusal of a query, without gRPC's wrapping.
fn refused(scheduler: &Scheduler, status: tonic::Status) -> DataFusionError {
    match status.code() {
        tonic::Code::Unavailable => ClusterError::Unreachable {
            address: scheduler.address.clone(),
            reason: status.message().to_string(),
        }
        .into_df(),
        _ => DataFusionError::Execution(format!(
            "the cluster at {} refused the query: {}",
            scheduler.address,
            unwrap_debug(status.message())
        )),
    }
}

/// The message inside an error the scheduler printed with `{:?}`
/// (`Failed to create SessionContext: DataFusionError(Configuration("version mismatch: …"))`).
fn unwrap_debug(text: &str) -> String {
    let Some(start) = text.find("(\"") else {
        return text.to_string();
    };
    let inner = &text[start + 2..];
    let inner = inner.rfind("\")").map_or(inner, |end| &inner[..end]);
    inner.replace("\\\"", "\"").replace("\\n", "\n")
}

fn lost(scheduler: &Scheduler, job_id: &str, status: tonic::Status) -> DataFusionError {
    DataFusionError::Execution(format!(
        "lost the scheduler at {} while waiting for job {job_id}: {}",
        scheduler.address,
        status.message()
    ))
}

#[cfg(test)]
mod tests {
    use super::{next_poll, result_blocks, unwrap_debug};
    use ballista_core::serde::protobuf::{ExecutorMetadata, PartitionId, PartitionLocation};
    use std::time::Duration;

    fn block(partition: u32, executor: &str) -> PartitionLocation {
        PartitionLocation {
            partition_id: Some(PartitionId {
                job_id: "j".into(),
                stage_id: 3,
                partition_id: partition,
            }),
            map_partition_id: partition,
            executor_meta: Some(ExecutorMetadata {
                id: executor.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_result_block_written_again_after_its_executor_was_lost_is_read_once() {
        let listed = vec![block(1, "e1"), block(0, "e2"), block(0, "e1")];
        let read: Vec<(u32, String)> = result_blocks(listed)
            .into_iter()
            .map(|l| {
                (
                    l.partition_id.unwrap().partition_id,
                    l.executor_meta.unwrap().id,
                )
            })
            .collect();
        assert_eq!(read, vec![(0, "e1".to_string()), (1, "e1".to_string())]);
    }

    #[test]
    fn status_polls_grow_with_the_job_within_5_and_100_ms() {
        let ms = Duration::from_millis;
        assert_eq!(next_poll(ms(0)), ms(5));
        assert_eq!(next_poll(ms(300)), ms(30));
        assert_eq!(next_poll(Duration::from_secs(60)), ms(100));
    }

    #[test]
    fn the_scheduler_s_debug_printed_errors_are_unwrapped() {
        let printed = r#"Failed to create SessionContext: DataFusionError(Configuration("version mismatch: the client is Strata 0.1.0 but the scheduler is Strata \"9.9.9\""))"#;
        assert_eq!(
            unwrap_debug(printed),
            r#"version mismatch: the client is Strata 0.1.0 but the scheduler is Strata "9.9.9""#
        );
        assert_eq!(unwrap_debug("plain words"), "plain words");
    }
}
