//! The memory pool an engine's queries run in: DataFusion's fair spilling pool under a limit
//! (unbounded without one), wrapped to remember the largest reservation, so a user or a
//! benchmark can see what a query needed and check that a limit held.
use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, UnboundedMemoryPool,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Memory reserved by queries, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// Reserved now.
    pub reserved: usize,
    /// The most reserved at once since the engine started or [`Session::reset_memory_peak`].
    ///
    /// [`Session::reset_memory_peak`]: crate::Session::reset_memory_peak
    pub peak: usize,
    /// The limit (`--memory-limit`), if any.
    pub limit: Option<usize>,
}

/// A pool that delegates to `inner` and records the peak of `reserved()`.
#[derive(Debug)]
pub(crate) struct PeakPool {
    inner: Arc<dyn MemoryPool>,
    limit: Option<usize>,
    peak: AtomicUsize,
}

impl PeakPool {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        let inner: Arc<dyn MemoryPool> = match limit {
            Some(l) => Arc::new(FairSpillPool::new(l)),
            None => Arc::new(UnboundedMemoryPool::default()),
        };
        PeakPool {
            inner,
            limit,
            peak: AtomicUsize::new(0),
        }
    }

    pub(crate) fn usage(&self) -> MemoryUse {
        MemoryUse {
            reserved: self.inner.reserved(),
            peak: self.peak.load(Ordering::Relaxed),
            limit: self.limit,
        }
    }

    pub(crate) fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

/// DataFusion prints the pool in "resources exhausted" errors; say what the inner pool says.
impl std::fmt::Display for PeakPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_peak_and_keeps_the_limit() {
        let pool: Arc<dyn MemoryPool> = Arc::new(PeakPool::new(Some(1000)));
        let a = MemoryConsumer::new("a")
            .with_can_spill(true)
            .register(&pool);
        a.try_grow(600).unwrap();
        a.shrink(500);
        a.grow(50);
        assert!(a.try_grow(2000).is_err(), "the inner pool's limit applies");
        let peak = pool.downcast_ref::<PeakPool>().unwrap();
        assert_eq!(peak.usage().peak, 600);
        assert_eq!(peak.usage().reserved, 150);
        peak.reset_peak();
        assert_eq!(peak.usage().peak, 150);
    }
}

/// A session state whose queries get a memory pool of their own under `limit` (a server's
/// per-session limit), with the sort spill reservation sized to fit it.
pub fn limit_memory(
    state: datafusion::execution::session_state::SessionState,
    limit: usize,
) -> crate::Result<datafusion::execution::session_state::SessionState> {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::session_state::SessionStateBuilder;
    let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
        .with_memory_pool(Arc::new(PeakPool::new(Some(limit))))
        .build_arc()?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build();
    let partitions = state.config().target_partitions();
    state
        .config_mut()
        .options_mut()
        .execution
        .sort_spill_reservation_bytes = crate::engine::spill_reservation(limit, partitions);
    Ok(state)
}
