//! The winners of one partition of [`NewestPerKeyExec`](super::NewestPerKeyExec): a hash table
//! from key to the kept row that sorts first so far, and the batches those rows live in.
use super::Run;
use datafusion::arrow::array::{
    make_comparator, Array, ArrayRef, AsArray, DynComparator, RecordBatch,
};
use datafusion::arrow::compute::{cast, interleave_record_batch};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::physical_plan::aggregates::group_values::{new_group_values, GroupValues};
use datafusion::physical_plan::aggregates::order::GroupOrdering;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// `batch` with its string and binary views copied into buffers of their own. Interleaving
/// views keeps every source batch's data buffers alive, so without this a compaction would free
/// nothing and each output batch would be charged (and hold) all the history read so far.
pub(super) fn owned(batch: RecordBatch) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| -> ArrayRef {
            match c.data_type() {
                DataType::Utf8View => Arc::new(c.as_string_view().gc()),
                DataType::BinaryView => Arc::new(c.as_binary_view().gc()),
                _ => c.clone(),
            }
        })
        .collect();
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Where a key's current winner lives, and its ingestion time as an integer.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    batch: u32,
    row: u32,
    first: i64,
}

/// A batch that still holds winners, with its `order` columns evaluated.
struct Kept {
    batch: RecordBatch,
    order: Vec<ArrayRef>,
}

/// The winners so far of one partition.
pub(super) struct Winners<'a> {
    run: &'a Run,
    groups: Box<dyn GroupValues>,
    group_ids: Vec<usize>,
    pub(super) slots: Vec<Slot>,
    kept: Vec<Kept>,
    pub(super) kept_rows: usize,
    kept_bytes: usize,
    /// `order[0]` compared as an `i64`, larger first, NULL smallest.
    fast: bool,
    /// Comparators of the `order` columns between two kept batches, made on the first tie.
    tie_breakers: HashMap<(u32, u32), Vec<DynComparator>>,
}

impl<'a> Winners<'a> {
    pub(super) fn new(run: &'a Run) -> Result<Self> {
        let key_fields: Vec<_> = run
            .key
            .iter()
            .map(|k| k.return_field(&run.schema))
            .collect::<Result<_>>()?;
        let key_schema = Arc::new(datafusion::arrow::datatypes::Schema::new(key_fields));
        let first = &run.order[0];
        let fast = first.options.descending
            && !first.options.nulls_first
            && matches!(
                first.expr.data_type(&run.schema)?,
                DataType::Int64 | DataType::Timestamp(_, _) | DataType::Date64
            );
        Ok(Winners {
            run,
            groups: new_group_values(key_schema, &GroupOrdering::None)?,
            group_ids: vec![],
            slots: vec![],
            kept: vec![],
            kept_rows: 0,
            kept_bytes: 0,
            fast,
            tie_breakers: HashMap::new(),
        })
    }

    pub(super) fn memory(&self) -> usize {
        self.kept_bytes + self.slots.capacity() * size_of::<Slot>() + self.groups.size()
    }

    fn evaluate_order(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.run
            .order
            .iter()
            .map(|s| s.expr.evaluate(batch)?.into_array(batch.num_rows()))
            .collect()
    }

    pub(super) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let keys: Vec<ArrayRef> = self
            .run
            .key
            .iter()
            .map(|k| k.evaluate(&batch)?.into_array(n))
            .collect::<Result<_>>()?;
        self.groups.intern(&keys, &mut self.group_ids)?;
        let order = self.evaluate_order(&batch)?;
        let firsts = self.firsts(&order[0])?;
        let b = self.kept.len() as u32;
        self.kept_bytes += batch.get_array_memory_size();
        self.kept_rows += n;
        self.kept.push(Kept { batch, order });
        let group_ids = std::mem::take(&mut self.group_ids);
        for (row, &g) in group_ids.iter().enumerate() {
            let first = firsts.as_ref().map_or(0, |f| f[row]);
            let candidate = Slot {
                batch: b,
                row: row as u32,
                first,
            };
            if g == self.slots.len() {
                self.slots.push(candidate);
                continue;
            }
            let current = self.slots[g];
            let wins = match first.cmp(&current.first) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => self.compare(candidate, current)? == Ordering::Less,
            };
            if wins {
                self.slots[g] = candidate;
            }
        }
        self.group_ids = group_ids;
        Ok(())
    }

    /// `order[0]` as integers for the fast comparison (NULL as the smallest), or None when
    /// every comparison goes through the comparators.
    fn firsts(&self, first: &ArrayRef) -> Result<Option<Vec<i64>>> {
        if !self.fast {
            return Ok(None);
        }
        let ints = cast(first, &DataType::Int64)?;
        let ints = ints.as_primitive::<Int64Type>();
        Ok(Some(
            (0..ints.len())
                .map(|i| {
                    if ints.is_null(i) {
                        i64::MIN
                    } else {
                        ints.value(i)
                    }
                })
                .collect(),
        ))
    }

    /// Compares two kept rows by `order`: Less means `a` comes first, i.e. is newer.
    fn compare(&mut self, a: Slot, b: Slot) -> Result<Ordering> {
        let comparators = match self.tie_breakers.entry((a.batch, b.batch)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (left, right) = (&self.kept[a.batch as usize], &self.kept[b.batch as usize]);
                let made = self
                    .run
                    .order
                    .iter()
                    .enumerate()
                    .map(|(i, s)| make_comparator(&left.order[i], &right.order[i], s.options))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                e.insert(made)
            }
        };
        for c in comparators.iter() {
            match c(a.row as usize, b.row as usize) {
                Ordering::Equal => continue,
                o => return Ok(o),
            }
        }
        Ok(Ordering::Equal)
    }

    /// Replaces the kept batches with one batch of the winners, in group order.
    pub(super) fn compact(&mut self) -> Result<()> {
        let Some(batch) = self.winners_batch()? else {
            return Ok(());
        };
        let order = self.evaluate_order(&batch)?;
        for (g, s) in self.slots.iter_mut().enumerate() {
            s.batch = 0;
            s.row = g as u32;
        }
        self.kept_bytes = batch.get_array_memory_size();
        self.kept_rows = batch.num_rows();
        self.kept = vec![Kept { batch, order }];
        self.tie_breakers.clear();
        Ok(())
    }

    /// The winners in group order, as one batch.
    fn winners_batch(&self) -> Result<Option<RecordBatch>> {
        Ok(self.winners_batches(usize::MAX)?.pop())
    }

    /// The winners in group order, in batches of at most `size` rows that own their buffers
    /// (a slice of one large batch would be charged the whole batch by the operators after).
    fn winners_batches(&self, size: usize) -> Result<Vec<RecordBatch>> {
        if let [only] = self.kept.as_slice() {
            let in_place = only.batch.num_rows() == self.slots.len()
                && self
                    .slots
                    .iter()
                    .enumerate()
                    .all(|(g, s)| s.row as usize == g);
            if in_place && self.slots.len() <= size {
                return Ok(vec![only.batch.clone()]);
            }
        }
        let batches: Vec<&RecordBatch> = self.kept.iter().map(|k| &k.batch).collect();
        self.slots
            .chunks(size.max(1))
            .map(|chunk| {
                let rows: Vec<(usize, usize)> = chunk
                    .iter()
                    .map(|s| (s.batch as usize, s.row as usize))
                    .collect();
                owned(interleave_record_batch(&batches, &rows)?)
            })
            .collect()
    }

    pub(super) fn into_batches(self, size: usize) -> Result<Vec<RecordBatch>> {
        self.winners_batches(size)
    }
}
