//! `NewestPerKeyExec`: the newest row of each key, chosen with a hash table instead of a sort.
//!
//! Why an operator of our own: `ROW_NUMBER() OVER (PARTITION BY key ORDER BY …) = 1` sorts the
//! whole history and then pays DataFusion's window machinery per partition, which with one or a
//! few rows per key costs microseconds a row (`benches/README.md` has the profile). Here each
//! input row costs a hash lookup and, usually, one integer comparison of ingestion times.
//!
//! How it stays within memory: only the batches that still hold a winning row are kept, and they
//! are compacted into one batch of winners whenever at least half of the kept rows have lost.
//! When the memory pool refuses to grow, the winners so far and the rest of the input are
//! written to spill files by a hash of the key, and each file is solved on its own (split again
//! if it is still too big). Unlike a sort there is no merge phase, whose reservations a shared
//! pool can refuse late in a query.
use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::hash_utils::create_hashes_with_hasher;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, resources_err, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet, SpillMetrics,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::SpillManager;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties,
};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use std::fmt;
use std::sync::Arc;
use winners::{owned, Winners};

mod winners;

/// Spill files a partition's rows are split into when its winners outgrow its memory.
const SPILL_FANOUT: usize = 16;
/// Splits of splits before giving up: 16^3 = 4,096 ways.
const MAX_SPILL_LEVELS: u32 = 3;

/// Keeps, per distinct value of `key`, the row that sorts first by `order`.
///
/// `order[0]` is the ingestion time. When it is an integer or timestamp sorted descending with
/// NULLs last (what the latest view uses) it is compared as an `i64` and the other columns are
/// consulted only on a tie; any other order is compared column by column.
#[derive(Debug)]
pub struct NewestPerKeyExec {
    input: Arc<dyn ExecutionPlan>,
    key: Vec<Arc<dyn PhysicalExpr>>,
    order: LexOrdering,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl NewestPerKeyExec {
    pub fn try_new(
        input: Arc<dyn ExecutionPlan>,
        key: Vec<Arc<dyn PhysicalExpr>>,
        order: LexOrdering,
    ) -> Result<Self> {
        if key.is_empty() {
            return internal_err!("NewestPerKeyExec needs at least one key column");
        }
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            input.output_partitioning().clone(),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(NewestPerKeyExec {
            input,
            key,
            order,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl NewestPerKeyExec {
    /// The rows to choose from.
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    /// The columns (over the input) whose distinct values are the keys.
    pub fn key(&self) -> &[Arc<dyn PhysicalExpr>] {
        &self.key
    }

    /// The order whose first row per key is kept.
    pub fn order(&self) -> &LexOrdering {
        &self.order
    }
}

impl DisplayAs for NewestPerKeyExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let key: Vec<String> = self.key.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "NewestPerKeyExec: key=[{}], order=[{}]",
            key.join(", "),
            self.order
        )
    }
}

impl ExecutionPlan for NewestPerKeyExec {
    fn name(&self) -> &str {
        "NewestPerKeyExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    /// All rows of a key must meet in one partition.
    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::KeyPartitioned(self.key.clone())]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for e in self.key.iter().chain(self.order.iter().map(|s| &s.expr)) {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("NewestPerKeyExec takes one child");
        }
        Ok(Arc::new(NewestPerKeyExec::try_new(
            children.swap_remove(0),
            self.key.clone(),
            self.order.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context.clone())?;
        let schema = self.schema();
        let partitions = self.properties.partitioning.partition_count().max(1);
        let cap = match context.memory_pool().memory_limit() {
            MemoryLimit::Finite(limit) => Some(limit / (2 * partitions)),
            _ => None,
        };
        let run = Run {
            cap,
            schema: schema.clone(),
            key: self.key.clone(),
            order: self.order.clone(),
            context,
            partition,
            baseline: BaselineMetrics::new(&self.metrics, partition),
            spills: SpillMetrics::new(&self.metrics, partition),
        };
        let out = futures::stream::once(run.go(input, 0)).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, out)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// What one partition's execution needs.
#[derive(Clone)]
struct Run {
    schema: SchemaRef,
    key: Vec<Arc<dyn PhysicalExpr>>,
    order: LexOrdering,
    context: Arc<TaskContext>,
    partition: usize,
    baseline: BaselineMetrics,
    spills: SpillMetrics,
    /// Under a memory limit, at most half this partition's share of it, so other operators
    /// of the query (and the other partitions) keep room to work.
    cap: Option<usize>,
}

impl Run {
    /// Consumes `input` and returns the stream of winners. When the winners outgrow the memory
    /// allowed, they and the rest of the input are split by key hash into spill files, and each
    /// file is solved the same way in turn (`level` counts how often that has happened).
    fn go(
        self,
        mut input: SendableRecordBatchStream,
        level: u32,
    ) -> BoxFuture<'static, Result<SendableRecordBatchStream>> {
        Box::pin(async move {
            let reservation = MemoryConsumer::new(format!("NewestPerKeyExec[{}]", self.partition))
                .with_can_spill(true)
                .register(self.context.memory_pool());
            let batch_size = self.context.session_config().batch_size();
            let mut w = Winners::new(&self)?;
            while let Some(batch) = input.next().await {
                let batch = batch?;
                let _timer = self.baseline.elapsed_compute().timer();
                w.push(batch)?;
                if w.kept_rows >= 2 * w.slots.len() + batch_size {
                    w.compact()?;
                }
                let fits = |w: &Winners| {
                    self.cap.is_none_or(|cap| w.memory() <= cap)
                        && reservation.try_resize(w.memory()).is_ok()
                };
                if !fits(&w) {
                    w.compact()?;
                    if !fits(&w) {
                        if level >= MAX_SPILL_LEVELS {
                            return resources_err!(
                                "NewestPerKeyExec: the newest rows of 1/{} of the keys still \
                                 need {} bytes, more than the memory limit allows",
                                SPILL_FANOUT.pow(level),
                                w.memory()
                            );
                        }
                        drop(_timer);
                        let winners = w.into_batches(batch_size)?;
                        drop(reservation);
                        return self.spill_and_split(winners, input, level).await;
                    }
                }
            }
            let _timer = self.baseline.elapsed_compute().timer();
            let batches = w.into_batches(batch_size)?;
            let baseline = self.baseline.clone();
            let out = futures::stream::iter(batches.into_iter().map(Ok)).inspect_ok(move |b| {
                baseline.record_output(b.num_rows());
            });
            // The reservation lives until the output has been sent.
            let out = out.chain(futures::stream::poll_fn(move |_| {
                reservation.free();
                std::task::Poll::Ready(None)
            }));
            let out: SendableRecordBatchStream =
                Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), out));
            Ok(out)
        })
    }

    /// Writes `winners` and the rest of `input` to [`SPILL_FANOUT`] spill files by a hash of
    /// the key (all rows of a key land in one file), then solves the files one after another.
    /// Memory stays at one batch per file while writing and one file's keys while solving.
    async fn spill_and_split(
        self,
        winners: Vec<RecordBatch>,
        mut input: SendableRecordBatchStream,
        level: u32,
    ) -> Result<SendableRecordBatchStream> {
        let manager = SpillManager::new(
            self.context.runtime_env(),
            self.spills.clone(),
            self.schema.clone(),
        );
        let mut files = (0..SPILL_FANOUT)
            .map(|_| manager.create_in_progress_file("NewestPerKeyExec"))
            .collect::<Result<Vec<_>>>()?;
        // A hasher of its own: the input was already partitioned by DataFusion's hash, which
        // would put every row of this partition in the same few files.
        let hasher = std::hash::RandomState::new();
        let mut write = |batch: RecordBatch| -> Result<()> {
            for (file, rows) in split_by_key(&batch, &self.key, &hasher)? {
                files[file].append_batch(&owned(rows)?)?;
            }
            Ok(())
        };
        for batch in winners {
            write(batch)?;
        }
        while let Some(batch) = input.next().await {
            write(batch?)?;
        }
        let mut finished = vec![];
        for f in files.iter_mut() {
            finished.extend(f.finish()?);
        }
        let run = self.clone();
        let out = futures::stream::iter(finished)
            .then(move |file| {
                let run = run.clone();
                let manager = manager.clone();
                async move {
                    // Batches read back share one buffer per message, larger than their rows;
                    // copied, a kept batch holds (and is charged) only its own rows.
                    let rows = manager.read_spill_as_stream(file, None)?;
                    let schema = rows.schema();
                    let rows = rows.and_then(|b| {
                        let all = UInt32Array::from_iter_values(0..b.num_rows() as u32);
                        futures::future::ready(take_record_batch(&b, &all).map_err(Into::into))
                    });
                    let rows: SendableRecordBatchStream =
                        Box::pin(RecordBatchStreamAdapter::new(schema, rows));
                    run.go(rows, level + 1).await
                }
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema, out)))
    }
}

/// The rows of `batch` grouped by `hash(key) % SPILL_FANOUT`, as (file, rows).
fn split_by_key(
    batch: &RecordBatch,
    key: &[Arc<dyn PhysicalExpr>],
    hasher: &std::hash::RandomState,
) -> Result<Vec<(usize, RecordBatch)>> {
    let n = batch.num_rows();
    let cols: Vec<ArrayRef> = key
        .iter()
        .map(|k| k.evaluate(batch)?.into_array(n))
        .collect::<Result<_>>()?;
    let mut hashes = vec![0u64; n];
    create_hashes_with_hasher(&cols, hasher, &mut hashes)?;
    let mut rows: Vec<Vec<u32>> = vec![vec![]; SPILL_FANOUT];
    for (i, h) in hashes.iter().enumerate() {
        rows[(*h % SPILL_FANOUT as u64) as usize].push(i as u32);
    }
    rows.into_iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(f, r)| Ok((f, take_record_batch(batch, &UInt32Array::from(r))?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_expr::PhysicalSortExpr;
    use datafusion::physical_plan::repartition::RepartitionExec;
    use datafusion::physical_plan::{collect, Partitioning};
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("s", DataType::Utf8, true),
            Field::new("v", DataType::Float64, true),
        ]))
    }

    /// `batches` batches of `rows` rows over `keys` keys, with ties at every level of the order
    /// (few distinct times, statuses and values) and NULLs in every column.
    fn history(batches: usize, rows: usize, keys: u64, seed: u64) -> Vec<RecordBatch> {
        let mut x = seed | 1;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        (0..batches)
            .map(|_| {
                let mut id = Vec::new();
                let mut ts = Vec::new();
                let mut s = Vec::new();
                let mut v = Vec::new();
                for _ in 0..rows {
                    id.push((next(50) != 0).then(|| next(keys) as i64));
                    ts.push((next(10) != 0).then(|| next(4) as i64 * 1_000_000));
                    s.push((next(8) != 0).then(|| ["a", "b", "c"][next(3) as usize]));
                    v.push((next(8) != 0).then(|| next(3) as f64));
                }
                RecordBatch::try_new(
                    schema(),
                    vec![
                        Arc::new(Int64Array::from(id)),
                        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                        Arc::new(StringArray::from(s)),
                        Arc::new(Float64Array::from(v)),
                    ],
                )
                .unwrap()
            })
            .collect()
    }

    fn newest_first(schema: &SchemaRef) -> LexOrdering {
        let desc = datafusion::arrow::compute::SortOptions {
            descending: true,
            nulls_first: false,
        };
        LexOrdering::new(
            ["ts", "s", "v"].map(|c| PhysicalSortExpr::new(col(c, schema).unwrap(), desc)),
        )
        .unwrap()
    }

    /// The reference: the window plan the latest view used before this operator.
    async fn by_window(batches: &[RecordBatch]) -> String {
        let ctx = SessionContext::new();
        ctx.register_batch(
            "h",
            datafusion::arrow::compute::concat_batches(&schema(), batches).unwrap(),
        )
        .unwrap();
        let sql = "SELECT id, ts, s, v FROM (SELECT *, row_number() OVER (PARTITION BY id \
                   ORDER BY ts DESC NULLS LAST, s DESC NULLS LAST, v DESC NULLS LAST) AS rn FROM h) \
                   WHERE rn = 1 ORDER BY id NULLS FIRST";
        let out = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&out).unwrap().to_string()
    }

    /// The operator over `partitions` hash partitions, under an optional memory limit; also
    /// returns how many spill files it wrote.
    async fn by_exec(
        batches: Vec<RecordBatch>,
        partitions: usize,
        limit: Option<usize>,
    ) -> (String, usize) {
        let schema = schema();
        let source = MemorySourceConfig::try_new_exec(&[batches], schema.clone(), None).unwrap();
        let key = vec![col("id", &schema).unwrap()];
        let input = Arc::new(
            RepartitionExec::try_new(source, Partitioning::Hash(key.clone(), partitions)).unwrap(),
        );
        let exec = Arc::new(NewestPerKeyExec::try_new(input, key, newest_first(&schema)).unwrap());
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(l) = limit {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(l)));
        }
        let ctx = SessionContext::new_with_config_rt(
            SessionConfig::new()
                .with_batch_size(64)
                .with_sort_spill_reservation_bytes(16 * 1024),
            runtime.build_arc().unwrap(),
        );
        let out = collect(exec.clone(), ctx.task_ctx()).await.unwrap();
        let fallbacks = exec.metrics().and_then(|m| m.spill_count()).unwrap_or(0);
        // Same row order as the reference. Sorted outside the memory limit: the limit is for the
        // operator under test, and a sort squeezed into it fails or not depending on scheduling.
        let sorted = SessionContext::new()
            .read_batches(out)
            .unwrap()
            .sort(vec![datafusion::prelude::col("id").sort(true, true)]);
        let out = sorted.unwrap().collect().await.unwrap();
        (pretty_format_batches(&out).unwrap().to_string(), fallbacks)
    }

    #[tokio::test]
    async fn picks_the_same_row_as_the_window_plan() {
        for (seed, partitions) in [(1, 1), (2, 3), (3, 4)] {
            let h = history(20, 100, 300, seed);
            let (got, fallbacks) = by_exec(h.clone(), partitions, None).await;
            assert_eq!(got, by_window(&h).await, "seed {seed}");
            assert_eq!(fallbacks, 0);
        }
    }

    #[tokio::test]
    async fn compacts_when_most_kept_rows_have_lost() {
        // 40 batches over 20 keys: nearly every kept row loses, so compaction runs often.
        let h = history(40, 64, 20, 7);
        assert_eq!(by_exec(h.clone(), 1, None).await.0, by_window(&h).await);
    }

    #[tokio::test]
    async fn splits_into_spill_files_when_memory_runs_out() {
        let h = history(40, 100, 3_000, 11);
        let (got, spills) = by_exec(h.clone(), 2, Some(256 * 1024)).await;
        assert!(spills > 0, "the limit was meant to force spilling");
        assert_eq!(got, by_window(&h).await);
    }

    #[tokio::test]
    async fn splits_spill_files_again_when_one_is_still_too_big() {
        // 60,000 keys under a limit where a sixteenth of them does not fit either.
        let h = history(100, 1_000, 60_000, 12);
        let (got, spills) = by_exec(h.clone(), 1, Some(256 << 10)).await;
        assert!(
            spills > SPILL_FANOUT,
            "expected a second level of files, got {spills}"
        );
        assert_eq!(got, by_window(&h).await);
    }
}
