//! "Did you mean …?": the closest existing name for a mistyped one.

/// Edit distance between two strings (case-insensitive).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `wanted`, if it is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (best, d) = candidates
        .into_iter()
        .map(|c| (c, distance(wanted, c)))
        .min_by_key(|(_, d)| *d)?;
    (d <= (wanted.len() / 3).max(2)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plausible_typos_only() {
        assert_eq!(
            closest("custmers", ["orders", "customers"]),
            Some("customers")
        );
        assert_eq!(closest("zzzzzz", ["orders", "customers"]), None);
    }
}
