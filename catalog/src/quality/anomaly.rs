//! The math behind `strata.anomalies`: trailing-window z-scores on a table's metadata series
//! (volume per day or per batch), a weekly season found by autocorrelation and removed by lag
//! differencing, and lateness of the newest ingestion. Pure std, no I/O: callers build the series.
//!
//! Decisions (the README's Quality section should repeat them):
//! - Non-finite values (NaN, ±inf) are dropped before scoring: they get no verdict and are not part
//!   of any window. Lags and windows count the remaining points. Input is sorted by `at` here.
//! - A point's window is the up-to-`window` points before it; fewer than `min_points` means no
//!   verdict, never an anomaly.
//! - The season is only tested when the window holds at least `season_lag + min_points` points, so
//!   the differences it would be scored on are at least `min_points` too. (An autocorrelation above
//!   0.5 needs more than 2 × lag points anyway: with the defaults, the season shows from 15 on.)
//! - Standard deviations (sample, n−1) are floored at [`STD_FLOOR`] × the window's mean absolute
//!   value (× 1 when that is 0): a perfectly constant feed that changes is flagged with a finite z,
//!   while float dust on a constant feed is not.
//! - Seasonal echoes: when `v[i−lag]` was flagged, point i is scored against both `v[i−lag]` and
//!   its cleaned value (the expected value it was flagged against) and keeps the milder score. So a
//!   one-day spike is not echoed as a drop a week later, and a weekday whose volume changes for good
//!   is flagged once, not every week. Windows always hold raw values.
//! - Known limit of differencing in original units: when noise scales with the level (weekday
//!   noise 5× the weekend's), the pooled std of the differences understates weekday noise and
//!   a weekday can reach |z| ≈ 3 on noise alone.
use std::fmt;

/// Floor on a window's standard deviation, relative to its mean absolute value.
pub const STD_FLOOR: f64 = 1e-3;

/// How anomalies are scored; `[lake]` and per-table settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalySettings {
    /// Trailing points a point is scored against.
    pub window: usize,
    /// Fewer earlier points than this: no verdict.
    pub min_points: usize,
    /// |z| above this is an anomaly; also the lateness threshold in standard deviations.
    pub threshold: f64,
    /// Season length in points (7: weekly for daily points).
    pub season_lag: usize,
    /// Autocorrelation at `season_lag` above which the window is seasonal.
    pub season_min_acf: f64,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        AnomalySettings {
            window: 28,
            min_points: 7,
            threshold: 3.0,
            season_lag: 7,
            season_min_acf: 0.5,
        }
    }
}

/// An anomaly setting out of range: which one, its value and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidSettings {
    pub setting: &'static str,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for InvalidSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InvalidSettings {
            setting,
            value,
            reason,
        } = self;
        write!(f, "anomaly setting `{setting}` = {value}: {reason}")
    }
}

impl std::error::Error for InvalidSettings {}

impl AnomalySettings {
    /// Refuses settings that would make every verdict meaningless or impossible.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let (w, m, lag) = (self.window, self.min_points, self.season_lag);
        let (t, acf) = (self.threshold, self.season_min_acf);
        let at_least_m = format!("must be at least min_points ({m})");
        let season = format!("must be at least season_lag + min_points ({})", lag + m);
        check(m >= 3, "min_points", m, "must be at least 3")?;
        check(w >= m, "window", w, at_least_m)?;
        check(
            t.is_finite() && t > 0.0,
            "threshold",
            t,
            "must be a finite number above 0",
        )?;
        check(lag >= 1, "season_lag", lag, "must be at least 1")?;
        check(w >= lag + m, "window", w, season)?;
        let in_0_1 = acf > 0.0 && acf < 1.0;
        check(in_0_1, "season_min_acf", acf, "must be in (0, 1)")
    }
}

/// `Ok` when `ok`, else the refusal of `setting`.
fn check(
    ok: bool,
    setting: &'static str,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> Result<(), InvalidSettings> {
    if ok {
        return Ok(());
    }
    let value = value.to_string();
    Err(InvalidSettings {
        setting,
        value,
        reason: reason.into(),
    })
}

/// One point of a metadata series: its time (µs since the epoch) and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: i64,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Spike,
    Drop,
}

impl Kind {
    /// The name shown in `strata.anomalies.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Spike => "spike",
            Kind::Drop => "drop",
        }
    }
}

/// A point whose |z| exceeds the threshold. `seasonal`: scored on lag differences.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub at: i64,
    pub value: f64,
    pub expected: f64,
    pub z: f64,
    pub kind: Kind,
    pub seasonal: bool,
}

/// The verdict on a series' newest point, as `strata check` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The series has `points` usable points; a verdict needs `needed` (min_points + 1). Also
    /// returned when the newest score is not a number (values near f64::MAX overflow).
    NoVerdict {
        points: usize,
        needed: usize,
    },
    Normal {
        at: i64,
        value: f64,
        expected: f64,
        z: f64,
        seasonal: bool,
    },
    Anomaly(Anomaly),
}

/// Every point of `series` that is an anomaly, oldest first.
pub fn detect(series: &[Point], s: &AnomalySettings) -> Vec<Anomaly> {
    let points = usable(series);
    score_all(&points, s)
        .into_iter()
        .zip(&points)
        .filter_map(|(score, p)| score.and_then(|sc| sc.anomaly(p, s.threshold)))
        .collect()
}

/// The verdict on the newest usable point of `series` (scored exactly as [`detect`] does).
pub fn newest_verdict(series: &[Point], s: &AnomalySettings) -> Verdict {
    let points = usable(series);
    let no_verdict = Verdict::NoVerdict {
        points: points.len(),
        needed: s.min_points + 1,
    };
    let (Some(p), Some(Some(sc))) = (points.last(), score_all(&points, s).pop()) else {
        return no_verdict;
    };
    match sc.anomaly(p, s.threshold) {
        Some(a) => Verdict::Anomaly(a),
        None => Verdict::Normal {
            at: p.at,
            value: p.value,
            expected: sc.expected,
            z: sc.z,
            seasonal: sc.seasonal,
        },
    }
}

/// Sample autocorrelation at `lag`: Σ(x_t−m)(x_{t+lag}−m) / Σ(x_t−m)². None when the series is
/// shorter than `lag + 1` or constant (no variance to correlate).
pub fn acf(values: &[f64], lag: usize) -> Option<f64> {
    if lag >= values.len() {
        return None;
    }
    let m = mean(values);
    let den: f64 = values.iter().map(|x| (x - m) * (x - m)).sum();
    if !(den.is_finite() && den > 0.0) {
        return None;
    }
    let num: f64 = values
        .iter()
        .zip(&values[lag..])
        .map(|(a, b)| (a - m) * (b - m))
        .sum();
    Some(num / den)
}

/// How fresh a table is: time since its newest ingestion against the intervals between them.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    pub since_newest_us: i64,
    pub mean_interval_us: f64,
    pub std_us: f64,
    /// (since_newest − mean interval) / std (floored like every std here).
    pub z: f64,
    /// z above the threshold.
    pub late: bool,
}

/// Freshness from ingestion times (µs, any order): None when fewer than `min_points` intervals.
/// Uses the trailing `window` intervals.
pub fn freshness(ingest_times_us: &[i64], now_us: i64, s: &AnomalySettings) -> Option<Freshness> {
    let mut times = ingest_times_us.to_vec();
    times.sort_unstable();
    let intervals: Vec<f64> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as f64)
        .collect();
    if intervals.len() < s.min_points {
        return None;
    }
    let recent = &intervals[intervals.len().saturating_sub(s.window)..];
    let (m, sd) = mean_std(recent);
    let since = now_us.saturating_sub(*times.last()?);
    let z = (since as f64 - m) / sd.max(std_floor(recent));
    Some(Freshness {
        since_newest_us: since,
        mean_interval_us: m,
        std_us: sd,
        z,
        late: z > s.threshold,
    })
}

/// The table's freshness when it is late; None when on time or without a verdict.
pub fn late(ingest_times_us: &[i64], now_us: i64, s: &AnomalySettings) -> Option<Freshness> {
    freshness(ingest_times_us, now_us, s).filter(|f| f.late)
}

/// The score of one point against its window.
#[derive(Debug, Clone, Copy)]
struct Score {
    expected: f64,
    z: f64,
    seasonal: bool,
}

impl Score {
    fn anomaly(self, p: &Point, threshold: f64) -> Option<Anomaly> {
        let kind = [Kind::Drop, Kind::Spike][usize::from(self.z > 0.0)];
        (self.z.abs() > threshold).then_some(Anomaly {
            at: p.at,
            value: p.value,
            expected: self.expected,
            z: self.z,
            kind,
            seasonal: self.seasonal,
        })
    }
}

/// Finite points, sorted by time (stable: equal times keep their order).
fn usable(series: &[Point]) -> Vec<Point> {
    let mut points: Vec<Point> = series
        .iter()
        .copied()
        .filter(|p| p.value.is_finite())
        .collect();
    points.sort_by_key(|p| p.at);
    points
}

/// Scores every point in order; None where the window is too short or the z is not a number.
fn score_all(points: &[Point], s: &AnomalySettings) -> Vec<Option<Score>> {
    let values: Vec<f64> = points.iter().map(|p| p.value).collect();
    // Each point as a lagged baseline: its expected value once flagged, else its own value.
    let mut baseline = values.clone();
    let mut scores = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let start = i.saturating_sub(s.window);
        let win = &values[start..i];
        if win.len() < s.min_points {
            scores.push(None);
            continue;
        }
        let lag = s.season_lag;
        let seasonal =
            win.len() >= lag + s.min_points && acf(win, lag).is_some_and(|r| r > s.season_min_acf);
        let (expected, sd) = if seasonal {
            let diffs: Vec<f64> = (start + lag..i)
                .map(|j| values[j] - values[j - lag])
                .collect();
            let (m, sd) = mean_std(&diffs);
            // Against the raw and the cleaned baseline (they differ when v[i−lag] was flagged),
            // keep the milder score: see the module's decisions.
            let (raw, cleaned) = (values[i - lag] + m, baseline[i - lag] + m);
            let nearer = if (v - raw).abs() <= (v - cleaned).abs() {
                raw
            } else {
                cleaned
            };
            (nearer, sd)
        } else {
            mean_std(win)
        };
        let z = (v - expected) / sd.max(std_floor(win));
        let score = Score {
            expected,
            z,
            seasonal,
        };
        let score = (!z.is_nan()).then_some(score);
        if let Some(sc) = score.filter(|sc| sc.z.abs() > s.threshold) {
            baseline[i] = sc.expected;
        }
        scores.push(score);
    }
    scores
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Mean and sample standard deviation (n−1); callers pass at least 2 values.
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

/// The smallest standard deviation a window is scored with (see the module's decisions).
fn std_floor(window: &[f64]) -> f64 {
    let scale = window.iter().map(|x| x.abs()).sum::<f64>() / window.len().max(1) as f64;
    STD_FLOOR * if scale > 0.0 { scale } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;
    const HOUR: i64 = 3_600_000_000;

    /// Deterministic pseudo-noise in [-1, 1) (splitmix64 of the index).
    fn noise(i: usize) -> f64 {
        let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn daily(values: impl IntoIterator<Item = f64>) -> Vec<Point> {
        let point = |(i, value)| Point {
            at: i as i64 * DAY,
            value,
        };
        values.into_iter().enumerate().map(point).collect()
    }

    /// `days` values around `level`, ± 20.
    fn flat(days: usize, level: f64) -> Vec<f64> {
        (0..days).map(|i| level + 20.0 * noise(i)).collect()
    }

    /// `days` daily volumes: weekdays `weekday`, the two weekend days a fifth of that, ± 20.
    fn weekly(days: usize, weekday: f64) -> Vec<f64> {
        let level = |i: usize| if i % 7 >= 5 { weekday / 5.0 } else { weekday };
        (0..days).map(|i| level(i) + 20.0 * noise(i)).collect()
    }

    /// The days flagged, under the default settings or under `change`d ones.
    fn flagged_days(series: &[Point], change: fn(&mut AnomalySettings)) -> Vec<i64> {
        detect(series, &settings(change))
            .iter()
            .map(|a| a.at / DAY)
            .collect()
    }

    fn settings(change: fn(&mut AnomalySettings)) -> AnomalySettings {
        let mut s = AnomalySettings::default();
        change(&mut s);
        s
    }

    fn defaults(_: &mut AnomalySettings) {}

    /// The season is never found: a 28-point window cannot reach an autocorrelation of 0.99.
    fn no_season(s: &mut AnomalySettings) {
        s.season_min_acf = 0.99;
    }

    /// (expected, z, seasonal) of a Normal verdict.
    fn normal(v: Verdict) -> (f64, f64, bool) {
        match v {
            Verdict::Normal {
                expected,
                z,
                seasonal,
                ..
            } => (expected, z, seasonal),
            v => panic!("not normal: {v:?}"),
        }
    }

    fn no_verdict(points: usize) -> Verdict {
        Verdict::NoVerdict { points, needed: 8 }
    }

    fn flagged(v: Verdict) -> Anomaly {
        match v {
            Verdict::Anomaly(a) => a,
            v => panic!("not an anomaly: {v:?}"),
        }
    }

    #[test]
    fn a_spike_in_a_flat_noisy_series_is_the_only_anomaly() {
        let mut values = flat(60, 1000.0);
        values[45] = 1600.0;
        let found = detect(&daily(values), &AnomalySettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        let expected = (45 * DAY, 1600.0, Kind::Spike, false);
        assert_eq!((a.at, a.value, a.kind, a.seasonal), expected);
        assert!((a.expected - 1000.0).abs() < 20.0 && a.z > 3.0, "{a:?}");
    }

    #[test]
    fn a_weekly_season_without_anomaly_flags_nothing_and_expects_the_weekday_level() {
        let series = daily(weekly(70, 1000.0));
        assert_eq!(flagged_days(&series, defaults), Vec::<i64>::new());
        // Day 68 is a Saturday: the season says ~200; a plain mean would say ~770.
        let (expected, _, seasonal) = normal(newest_verdict(&series[..69], &settings(defaults)));
        assert!(seasonal && (expected - 200.0).abs() < 60.0, "{expected}");
        let (expected, _, seasonal) = normal(newest_verdict(&series[..69], &settings(no_season)));
        assert!(!seasonal && expected > 700.0, "{expected}");
    }

    #[test]
    fn a_weekday_drop_in_a_weekly_season_is_flagged_and_only_seasonal_scoring_sees_it() {
        let mut values = weekly(70, 1000.0);
        values[51] = 600.0; // a Wednesday
        let series = daily(values);
        let found = detect(&series, &AnomalySettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        assert_eq!((a.at, a.kind, a.seasonal), (51 * DAY, Kind::Drop, true));
        assert!((a.expected - 1000.0).abs() < 60.0 && a.z < -3.0, "{a:?}");
        // The weekend lows inflate a plain standard deviation enough to hide a 40 % drop.
        assert_eq!(flagged_days(&series, no_season), Vec::<i64>::new());
    }

    #[test]
    fn a_seasonal_spike_is_not_echoed_as_a_drop_a_week_later() {
        let mut values = weekly(70, 1000.0);
        values[43] = 1800.0; // a Tuesday; day 50 is differenced against it
        assert_eq!(flagged_days(&daily(values), defaults), vec![43]);
    }

    #[test]
    fn a_weekday_that_changes_for_good_is_flagged_once_not_every_week() {
        let mut values = weekly(98, 1000.0);
        for i in (49..98).step_by(7) {
            values[i] = 2000.0 + 20.0 * noise(i); // every Monday from day 49 on
        }
        assert_eq!(flagged_days(&daily(values), defaults), vec![49]);
    }

    #[test]
    fn a_level_shift_is_flagged_a_few_times_then_becomes_the_new_normal() {
        let mut values = flat(80, 1000.0);
        values[40..].iter_mut().for_each(|v| *v += 1000.0);
        let found = detect(&daily(values), &AnomalySettings::default());
        let days: Vec<i64> = found.iter().map(|a| a.at / DAY).collect();
        assert_eq!(days, vec![40, 41, 42]);
        assert!(found.iter().all(|a| a.kind == Kind::Spike));
    }

    #[test]
    fn too_few_points_give_no_verdict_with_the_counts() {
        let s = AnomalySettings::default();
        let series = daily([10.0; 7].into_iter().chain([1e9]));
        let seven = newest_verdict(&series[..7], &s);
        assert_eq!(seven, no_verdict(7));
        let none = newest_verdict(&[], &s);
        assert_eq!(none, no_verdict(0));
        assert!(detect(&series[..7], &s).is_empty());
        // With the 8th point there is a verdict, and it is an anomaly.
        assert_eq!(flagged(newest_verdict(&series, &s)).kind, Kind::Spike);
    }

    #[test]
    fn a_constant_feed_that_changes_is_flagged_with_a_finite_z() {
        let s = AnomalySettings::default();
        let series = daily([500.0; 21].into_iter().chain([500.2, 510.0]));
        assert_eq!(flagged_days(&series, defaults), vec![22]);
        let (_, z, _) = normal(newest_verdict(&series[..22], &s));
        assert!((z - 0.4).abs() < 1e-6, "{z}");
        // z = (510 − 500.01) / (1e-3 × 500): the floor, not the 500.2's tiny std, scales it.
        let a = flagged(newest_verdict(&series, &s));
        assert!(a.z.is_finite() && (a.z - 20.0).abs() < 0.1, "{a:?}");
        // A feed constant at zero that delivers once: the floor falls back to an absolute 1e-3.
        let a = flagged(newest_verdict(
            &daily([0.0; 10].into_iter().chain([1.0])),
            &s,
        ));
        assert!((a.z - 1000.0).abs() < 1e-6, "{a:?}");
    }

    #[test]
    fn non_finite_values_are_skipped_without_panic() {
        let s = AnomalySettings::default();
        let mut values = flat(40, 1000.0);
        values[10] = f64::NAN;
        values[20] = f64::INFINITY;
        values[30] = 1600.0;
        values[39] = f64::NEG_INFINITY;
        let series = daily(values);
        assert_eq!(flagged_days(&series, defaults), vec![30]);
        // The newest finite point (day 38) is the one judged.
        let newest = newest_verdict(&series, &s);
        let at_38 = matches!(newest, Verdict::Normal { at, .. } if at == 38 * DAY);
        assert!(at_38, "{newest:?}");
        let nans = daily([f64::NAN; 12]);
        assert!(detect(&nans, &s).is_empty());
        let none = newest_verdict(&nans, &s);
        assert_eq!(none, no_verdict(0));
        let extremes = daily([f64::MAX, -f64::MAX].into_iter().cycle().take(30));
        let _ = (detect(&extremes, &s), newest_verdict(&extremes, &s));
        // Unvalidated settings must not panic either.
        let broken = settings(|s| (s.window, s.min_points, s.season_lag) = (0, 0, 0));
        let _ = (detect(&series, &broken), newest_verdict(&series, &broken));
        let _ = freshness(&[1, 2], 3, &broken);
    }

    #[test]
    fn unsorted_input_is_scored_in_time_order() {
        let mut values = flat(60, 1000.0);
        values[40..].iter_mut().for_each(|v| *v += 1000.0);
        let mut series = daily(values);
        series.reverse(); // scored as given, it would be a drop at days 39, 38, 37
        assert_eq!(flagged_days(&series, defaults), vec![40, 41, 42]);
    }

    #[test]
    fn the_season_is_only_tested_once_the_window_holds_lag_plus_min_points() {
        // At most 0.5 is reachable by 2 × lag points (Cauchy–Schwarz), so use a lower bar.
        let s = settings(|s| s.season_min_acf = 0.3);
        let series = daily(weekly(15, 1000.0));
        let earlier: Vec<f64> = series[..13].iter().map(|p| p.value).collect();
        assert!(acf(&earlier, 7).unwrap() > 0.3);
        // 13 earlier points would leave 6 differences, fewer than min_points: scored plainly.
        assert!(!normal(newest_verdict(&series[..14], &s)).2);
        assert!(normal(newest_verdict(&series, &s)).2);
    }

    #[test]
    fn hourly_ingestions_are_late_after_ten_hours_not_after_one() {
        let s = AnomalySettings::default();
        let jitter = |i: i64| (noise(i as usize) * 60e6) as i64; // ± 1 minute
        let times: Vec<i64> = (0..48).map(|i| i * HOUR + jitter(i)).collect();
        let newest = times[47];
        let f = freshness(&times, newest + HOUR, &s).unwrap();
        assert!(!f.late && f.since_newest_us == HOUR, "{f:?}");
        assert!((f.mean_interval_us - HOUR as f64).abs() < 60e6, "{f:?}");
        assert_eq!(late(&times, newest + HOUR, &s), None);
        let f = late(&times, newest + 10 * HOUR, &s).expect("late");
        assert!(f.z > 3.0 && f.since_newest_us == 10 * HOUR, "{f:?}");
        // Perfectly regular ingestions: the std floor keeps z finite.
        let regular: Vec<i64> = (0..10).map(|i| i * HOUR).collect();
        assert!(late(&regular, 10 * HOUR, &s).is_none());
        assert!(late(&regular, 11 * HOUR, &s).is_some_and(|f| f.z.is_finite()));
        // Lateness needs min_points intervals.
        assert_eq!(freshness(&regular[..7], 100 * HOUR, &s), None); // 6 intervals
        assert!(freshness(&regular[..8], 100 * HOUR, &s).is_some_and(|f| f.late)); // 7 intervals
        assert_eq!(freshness(&[], 0, &s), None);
    }

    #[test]
    fn acf_matches_the_textbook_values() {
        let alternating: Vec<f64> = (0..10).map(|i| [1.0, -1.0][i % 2]).collect();
        assert!((acf(&alternating, 1).unwrap() + 0.9).abs() < 1e-12);
        assert!((acf(&alternating, 2).unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(acf(&alternating, 0), Some(1.0));
        assert_eq!(acf(&alternating, 10), None);
        assert_eq!(acf(&[3.0; 20], 7), None);
        let week: Vec<f64> = (0..28)
            .map(|i| if i % 7 >= 5 { 200.0 } else { 1000.0 })
            .collect();
        assert!((acf(&week, 7).unwrap() - 0.75).abs() < 1e-12);
    }

    /// The setting a change to the defaults is refused for.
    fn refused(change: fn(&mut AnomalySettings)) -> &'static str {
        settings(change).validate().expect_err("refused").setting
    }

    #[test]
    fn settings_out_of_range_are_refused_by_name() {
        assert_eq!(AnomalySettings::default().validate(), Ok(()));
        assert_eq!(refused(|s| s.min_points = 2), "min_points");
        assert_eq!(refused(|s| s.window = 6), "window");
        assert_eq!(refused(|s| s.window = 13), "window");
        assert_eq!(refused(|s| s.season_lag = 28), "window");
        assert_eq!(refused(|s| s.season_lag = 0), "season_lag");
        assert_eq!(refused(|s| s.threshold = 0.0), "threshold");
        assert_eq!(refused(|s| s.threshold = -1.0), "threshold");
        assert_eq!(refused(|s| s.threshold = f64::NAN), "threshold");
        assert_eq!(refused(|s| s.threshold = f64::INFINITY), "threshold");
        assert_eq!(refused(|s| s.season_min_acf = 0.0), "season_min_acf");
        assert_eq!(refused(|s| s.season_min_acf = 1.0), "season_min_acf");
        assert_eq!(refused(|s| s.season_min_acf = f64::NAN), "season_min_acf");
        let err = settings(|s| s.window = 10).validate().unwrap_err();
        let message =
            "anomaly setting `window` = 10: must be at least season_lag + min_points (14)";
        assert_eq!(err.to_string(), message);
        let small = settings(|s| (s.window, s.min_points, s.season_lag) = (14, 3, 11));
        assert_eq!(small.validate(), Ok(()));
    }
}
