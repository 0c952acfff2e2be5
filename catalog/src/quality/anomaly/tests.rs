//! Tests of the anomaly math on series generated in code: each rule of the module doc has one
//! that fails without it.
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
    let message = "anomaly setting `window` = 10: must be at least season_lag + min_points (14)";
    assert_eq!(err.to_string(), message);
    let small = settings(|s| (s.window, s.min_points, s.season_lag) = (14, 3, 11));
    assert_eq!(small.validate(), Ok(()));
}
