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

pub mod settings;
pub use settings::WatchSettings;

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
mod tests;
