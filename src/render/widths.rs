//! Column widths and elision: which columns are shown and how wide, so that the table fits the
//! screen. Follows DuckDB's `BoxRenderer::ComputeRenderWidths` (shrink the widest columns, then
//! cap and prune zig-zag from the middle), and goes on where DuckDB stops at 80 columns: when
//! even the first and last columns do not fit, it shrinks them, then drops the last.

/// One column of the drawn table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// Result column `index`, `width` display columns of content.
    Column { index: usize, width: usize },
    /// The marker column standing for every pruned column.
    Elided { width: usize },
}

/// The limits the layout works within (see `RenderOptions`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_width: Option<usize>,
    pub max_col_width: usize,
    pub min_col_width: usize,
    /// Width of the elision marker ("…" or "...").
    pub marker_width: usize,
}

/// Width of a drawn line for content widths `widths`: a border before each column and one at
/// the end, one space either side of each value.
pub(super) fn line_width(widths: impl IntoIterator<Item = usize>) -> usize {
    widths.into_iter().map(|w| w + 3).sum::<usize>() + 1
}

pub(super) fn slot_widths(slots: &[Slot]) -> impl Iterator<Item = usize> + '_ {
    slots.iter().map(|s| match s {
        Slot::Column { width, .. } | Slot::Elided { width } => *width,
    })
}

/// Lays out columns of natural (full) widths `natural` within `limits`.
pub(super) fn layout(natural: &[usize], limits: &Limits) -> Vec<Slot> {
    let n = natural.len();
    let all = |w: &[usize]| -> Vec<Slot> {
        (0..n)
            .map(|index| Slot::Column {
                index,
                width: w[index],
            })
            .collect()
    };
    let Some(max) = limits.max_width else {
        return all(natural);
    };
    let mut w = natural.to_vec();
    let total = line_width(w.iter().copied());
    if total <= max {
        return all(&w);
    }
    // 1. Shrink the widest columns towards each other, none below max_col_width.
    let cap = limits.max_col_width;
    let floors: Vec<usize> = w.iter().map(|&x| x.min(cap)).collect();
    if shrink(&mut w, &floors, total - max) {
        return all(&w);
    }
    // 2. Cap every column, then prune zig-zag from the middle, first and last kept.
    w.clone_from(&floors);
    let mut shown = vec![true; n];
    let marker = limits.marker_width;
    let width_of = |w: &[usize], shown: &[bool]| {
        let visible = line_width((0..n).filter(|&c| shown[c]).map(|c| w[c]));
        if shown.iter().all(|&s| s) {
            visible
        } else {
            visible + marker + 3
        }
    };
    for c in zigzag(n) {
        if width_of(&w, &shown) <= max {
            break;
        }
        shown[c] = false;
    }
    let mut total = width_of(&w, &shown);
    if total <= max {
        // Give the room left back to the shown columns, left to right.
        let mut left = max - total;
        for c in (0..n).filter(|&c| shown[c]) {
            let more = left.min(natural[c] - w[c]);
            w[c] += more;
            left -= more;
        }
        return slots(&w, &shown, marker);
    }
    // 3. Beyond DuckDB: shrink what is left (first and last) down to min_col_width.
    let floors: Vec<usize> = (0..n)
        .map(|c| {
            if shown[c] {
                w[c].min(limits.min_col_width)
            } else {
                w[c]
            }
        })
        .collect();
    if shrink(&mut w, &floors, total - max) {
        return slots(&w, &shown, marker);
    }
    w.clone_from(&floors);
    // 4. Drop the last column: the first one and the marker remain.
    if n >= 2 {
        shown[n - 1] = false;
        total = width_of(&w, &shown);
        if total <= max {
            w[0] = (w[0] + (max - total)).min(natural[0].min(cap).max(w[0]));
            return slots(&w, &shown, marker);
        }
    }
    // 5. The first column alone, as wide as the screen allows (lines are clipped at the very
    //    end if not even a one-column box fits).
    match natural.first() {
        Some(&first) => vec![Slot::Column {
            index: 0,
            width: first.min(max.saturating_sub(line_width([0]))),
        }],
        None => Vec::new(),
    }
}

fn slots(w: &[usize], shown: &[bool], marker: usize) -> Vec<Slot> {
    let mut out = Vec::new();
    let mut marked = false;
    for (index, &visible) in shown.iter().enumerate() {
        if visible {
            out.push(Slot::Column {
                index,
                width: w[index],
            });
        } else if !marked {
            out.push(Slot::Elided { width: marker });
            marked = true;
        }
    }
    out
}

/// Columns to prune, in order: the middle first, then alternately left and right of it
/// (10 columns: 5, 4, 6, 3, 7, ...), never the first or the last.
pub(super) fn zigzag(n: usize) -> Vec<usize> {
    let mut order = Vec::new();
    if n < 3 {
        return order;
    }
    let mid = n / 2;
    for step in 0..n {
        // offsets 0, -1, +1, -2, +2, ...
        let candidate = if step % 2 == 1 {
            mid.checked_sub(step / 2 + 1)
        } else {
            Some(mid + step / 2)
        };
        if let Some(c) = candidate.filter(|&c| c >= 1 && c + 1 < n) {
            order.push(c);
        }
    }
    order
}

/// Narrows columns by `need` in total, widest first, making the widest equal before going
/// lower, and none below its floor. Returns false (leaving `w` alone) if the floors do not
/// allow it.
fn shrink(w: &mut [usize], floors: &[usize], need: usize) -> bool {
    let room = |level: usize| -> usize {
        w.iter()
            .zip(floors)
            .map(|(&x, &f)| x.saturating_sub(level.max(f)))
            .sum()
    };
    if room(0) < need {
        return false;
    }
    // The highest level that frees enough room (room falls as the level rises).
    let (mut lo, mut hi) = (0usize, w.iter().copied().max().unwrap_or(0));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if room(mid) >= need {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let level = lo;
    let mut excess = room(level) - need;
    for (x, &f) in w.iter_mut().zip(floors) {
        let target = level.max(f);
        if *x > target {
            // Columns cut to exactly `level` may give one column back each, leftmost first,
            // since the level freed a little more than needed.
            let give_back = usize::from(excess > 0 && target == level);
            excess -= give_back;
            *x = target + give_back;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> Limits {
        Limits {
            max_width: Some(max),
            max_col_width: 20,
            min_col_width: 3,
            marker_width: 1,
        }
    }

    #[test]
    fn zigzag_from_the_middle() {
        assert_eq!(zigzag(10), vec![5, 4, 6, 3, 7, 2, 8, 1]);
        assert_eq!(zigzag(3), vec![1]);
        assert_eq!(zigzag(2), Vec::<usize>::new());
        assert_eq!(zigzag(0), Vec::<usize>::new());
    }

    #[test]
    fn fits_untouched() {
        let s = layout(&[5, 10], &limits(80));
        assert_eq!(
            s,
            vec![
                Slot::Column { index: 0, width: 5 },
                Slot::Column {
                    index: 1,
                    width: 10
                }
            ]
        );
        assert_eq!(line_width(slot_widths(&s)), 22);
    }

    #[test]
    fn shrinks_the_widest_first() {
        // 1 + 8 + 63 + 43 = 115 wide; 35 to lose, all from the two wide ones, equalised.
        let s = layout(&[5, 60, 40], &limits(80));
        assert_eq!(
            s,
            vec![
                Slot::Column { index: 0, width: 5 },
                Slot::Column {
                    index: 1,
                    width: 33
                },
                Slot::Column {
                    index: 2,
                    width: 32
                },
            ]
        );
        assert_eq!(line_width(slot_widths(&s)), 80);
    }

    #[test]
    fn prunes_middle_keeps_ends() {
        let s = layout(&[10; 10], &limits(60));
        // 13 per column, 4 for the marker, 1 border: four columns fit in 60.
        let shown: Vec<usize> = s
            .iter()
            .filter_map(|s| match s {
                Slot::Column { index, .. } => Some(*index),
                Slot::Elided { .. } => None,
            })
            .collect();
        // Pruned in the order 5, 4, 6, 3, 7, 2 until the width fits.
        assert_eq!(shown, vec![0, 1, 8, 9]);
        assert!(s.contains(&Slot::Elided { width: 1 }));
        assert!(line_width(slot_widths(&s)) <= 60);
    }

    #[test]
    fn narrow_screens() {
        // First and last shrink below max_col_width.
        let s = layout(&[30, 30, 30], &limits(20));
        assert_eq!(
            s,
            vec![
                Slot::Column { index: 0, width: 5 },
                Slot::Elided { width: 1 },
                Slot::Column { index: 2, width: 4 },
            ]
        );
        assert_eq!(line_width(slot_widths(&s)), 20);
        // Too narrow for both ends: the first column and the marker.
        let s = layout(&[30, 30, 30], &limits(12));
        assert_eq!(
            s,
            vec![
                Slot::Column { index: 0, width: 4 },
                Slot::Elided { width: 1 }
            ]
        );
        // Only the first column, as wide as fits.
        let s = layout(&[30, 30], &limits(8));
        assert_eq!(s, vec![Slot::Column { index: 0, width: 4 }]);
        let s = layout(&[30], &limits(2));
        assert_eq!(s, vec![Slot::Column { index: 0, width: 0 }]);
    }
}
