//! The scheduler's one log line per finished job: rows and bytes each stage handed on through
//! the shuffle, and the size of the result. Ballista 55 keeps these figures (each shuffle file's
//! statistics, reported by the executor that wrote it) but neither its REST API nor its logs show
//! them, and it deletes the intermediate files the moment a job succeeds; this is how an operator
//! (and benches/cluster.py) sees what a query moved between machines (docs/cluster.md#shuffles).
use ballista_core::error::Result;
use ballista_core::serde::protobuf::{self, job_status::Status, JobStatus};
use ballista_core::serde::scheduler::PartitionLocation;
use ballista_core::{JobId, JobStatusSubscriber};
use ballista_scheduler::cluster::{JobState, JobStateEventStream};
use ballista_scheduler::state::execution_graph::ExecutionGraphBox;
use ballista_scheduler::state::execution_stage::ExecutionStage;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;

/// Ballista's job state, unchanged, plus the report when a job's final state is saved.
pub(crate) struct ReportingJobState(pub(crate) Arc<dyn JobState>);

/// What one stage wrote for the stages that read it.
#[derive(Default)]
struct Volume {
    rows: u64,
    /// As the writing executors count them: for a hash shuffle, the rows' Arrow buffers in memory
    /// as allocated; for other edges and the result, their files on disk (LZ4-compressed IPC, by
    /// Ballista's default). The traffic is smaller than the first (docs/cluster.md#shuffles).
    bytes: u64,
    /// Pieces fetched one by one: one per (writing task, reading partition). A hash shuffle's
    /// task writes one file holding a block per reading partition (Ballista's sort shuffle).
    blocks: usize,
}

impl Volume {
    fn add(&mut self, locations: &[PartitionLocation]) {
        for l in locations {
            // Only the byte count has an accessor; the wire form carries all (-1: unknown).
            let stats: protobuf::PartitionStats = l.partition_stats.clone().into();
            self.rows += u64::try_from(stats.num_rows).unwrap_or(0);
            self.bytes += u64::try_from(stats.num_bytes).unwrap_or(0);
            self.blocks += 1;
        }
    }
}

/// `job J: stage 1 -> 3: R rows, B bytes in K blocks; ...; result: R rows, B bytes in K blocks`,
/// or None while the job has not succeeded.
fn report(graph: &ExecutionGraphBox) -> Option<String> {
    if !matches!(graph.status().status, Some(Status::Successful(_))) {
        return None;
    }
    // (writer, reader) -> volume; a stage's inputs hold what its input stages wrote for it.
    let mut edges: BTreeMap<(usize, usize), Volume> = BTreeMap::new();
    for (reader, stage) in graph.stages() {
        if let ExecutionStage::Successful(stage) = stage {
            for (writer, output) in &stage.inputs {
                let volume = edges.entry((*writer, *reader)).or_default();
                for locations in output.partition_locations.values() {
                    volume.add(locations);
                }
            }
        }
    }
    let mut result = Volume::default();
    result.add(&graph.output_locations());
    let mut line = format!("job {}:", graph.job_id());
    for ((writer, reader), v) in &edges {
        let _ = write!(
            line,
            " stage {writer} -> {reader}: {} rows, {} bytes in {} blocks;",
            v.rows, v.bytes, v.blocks
        );
    }
    let _ = write!(
        line,
        " result: {} rows, {} bytes in {} blocks",
        result.rows, result.bytes, result.blocks
    );
    Some(line)
}

#[async_trait::async_trait]
impl JobState for ReportingJobState {
    async fn save_job(&self, job_id: &JobId, graph: &ExecutionGraphBox) -> Result<()> {
        if let Some(line) = report(graph) {
            // Ballista can save a finished job twice (a queued update, then the finish): once
            // the state holds the success, the line has been written.
            let known = self.0.get_job_status(job_id).await.ok().flatten();
            if !matches!(known.and_then(|s| s.status), Some(Status::Successful(_))) {
                tracing::info!(target: "strata_cluster::shuffle", "{line}");
            }
        }
        self.0.save_job(job_id, graph).await
    }

    // The rest only delegates.
    fn accept_job(&self, job_id: &JobId, job_name: &str, queued_at: u64) -> Result<()> {
        self.0.accept_job(job_id, job_name, queued_at)
    }
    fn pending_job_number(&self) -> usize {
        self.0.pending_job_number()
    }
    async fn submit_job(
        &self,
        job_id: JobId,
        graph: &ExecutionGraphBox,
        subscriber: Option<JobStatusSubscriber>,
    ) -> Result<()> {
        self.0.submit_job(job_id, graph, subscriber).await
    }
    async fn get_jobs(&self) -> Result<HashSet<JobId>> {
        self.0.get_jobs().await
    }
    async fn get_all_jobs(&self) -> Result<HashSet<JobId>> {
        self.0.get_all_jobs().await
    }
    async fn get_job_status(&self, job_id: &JobId) -> Result<Option<JobStatus>> {
        self.0.get_job_status(job_id).await
    }
    async fn get_execution_graph(&self, job_id: &JobId) -> Result<Option<ExecutionGraphBox>> {
        self.0.get_execution_graph(job_id).await
    }
    async fn fail_unscheduled_job(&self, job_id: &JobId, reason: String) -> Result<()> {
        self.0.fail_unscheduled_job(job_id, reason).await
    }
    async fn remove_job(&self, job_id: &JobId) -> Result<()> {
        self.0.remove_job(job_id).await
    }
    async fn try_acquire_job(&self, job_id: &JobId) -> Result<Option<ExecutionGraphBox>> {
        self.0.try_acquire_job(job_id).await
    }
    async fn job_state_events(&self) -> Result<JobStateEventStream> {
        self.0.job_state_events().await
    }
    async fn create_or_update_session(
        &self,
        session_id: &str,
        config: &SessionConfig,
    ) -> Result<Arc<SessionContext>> {
        self.0.create_or_update_session(session_id, config).await
    }
    async fn remove_session(&self, session_id: &str) -> Result<()> {
        self.0.remove_session(session_id).await
    }
    fn produce_config(&self) -> SessionConfig {
        self.0.produce_config()
    }
}
