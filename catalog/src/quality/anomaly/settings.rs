//! The anomaly watch's settings in `strata.toml` (docs/quality.md#anomalies): `anomaly_window`,
//! `anomaly_min_points`, `anomaly_threshold` and `anomaly_freshness` in `[lake]` and per table,
//! a table's keys overriding the lake's. Checked when the file loads, like every other setting:
//! a value out of range is refused with the line of the key.
use super::AnomalySettings;
use toml::Spanned;

/// How one table (or, as defaults, the lake) is watched.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSettings {
    /// How volume points are scored (and lateness's threshold).
    pub scoring: AnomalySettings,
    /// False: no freshness verdict (a table loaded by hand, an archive, a frozen lake).
    pub freshness: bool,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            scoring: AnomalySettings::default(),
            freshness: true,
        }
    }
}

impl crate::config::LakeConfig {
    /// How table `name` (`zone.schema.table`) is watched for anomalies.
    pub fn watch_settings(&self, name: &str) -> &WatchSettings {
        self.tables
            .get(name)
            .and_then(|t| t.anomaly.as_ref())
            .unwrap_or(&self.anomaly)
    }
}

/// The anomaly keys of `[lake]` or of one `[tables."…"]` section, as written (with where, for
/// errors). The keys sit beside the section's other keys, so the raw sections hold these fields
/// under their `anomaly_` names (serde's `flatten` does not work with `deny_unknown_fields`) and
/// build this with [`RawWatch::new`].
#[derive(Default)]
pub(crate) struct RawWatch {
    pub window: Option<Spanned<usize>>,
    pub min_points: Option<Spanned<usize>>,
    pub threshold: Option<Spanned<f64>>,
    pub freshness: Option<Spanned<bool>>,
}

impl RawWatch {
    pub fn new(
        window: Option<Spanned<usize>>,
        min_points: Option<Spanned<usize>>,
        threshold: Option<Spanned<f64>>,
        freshness: Option<Spanned<bool>>,
    ) -> Self {
        RawWatch {
            window,
            min_points,
            threshold,
            freshness,
        }
    }

    fn is_empty(&self) -> bool {
        self.window.is_none()
            && self.min_points.is_none()
            && self.threshold.is_none()
            && self.freshness.is_none()
    }

    /// `base` with these keys applied, validated. None when no key is set. On error: the byte
    /// offset of the key at fault (or of the first key set) and the message, which names the
    /// key as written (`anomaly_window = 3: must be …`).
    pub fn apply(&self, base: &WatchSettings) -> Result<Option<WatchSettings>, (usize, String)> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut s = base.clone();
        if let Some(w) = &self.window {
            s.scoring.window = *w.get_ref();
        }
        if let Some(m) = &self.min_points {
            s.scoring.min_points = *m.get_ref();
        }
        if let Some(t) = &self.threshold {
            s.scoring.threshold = *t.get_ref();
        }
        if let Some(f) = &self.freshness {
            s.freshness = *f.get_ref();
        }
        let spans = [
            ("window", self.window.as_ref().map(|w| w.span().start)),
            (
                "min_points",
                self.min_points.as_ref().map(|m| m.span().start),
            ),
            ("threshold", self.threshold.as_ref().map(|t| t.span().start)),
            ("freshness", self.freshness.as_ref().map(|f| f.span().start)),
        ];
        match s.scoring.validate() {
            Ok(()) => Ok(Some(s)),
            Err(e) => {
                let first = spans.iter().find_map(|(_, o)| *o).unwrap_or(0);
                let at = spans
                    .iter()
                    .find(|(k, _)| *k == e.setting)
                    .and_then(|(_, o)| *o)
                    .unwrap_or(first);
                // The reason names other settings by their field names; say the keys instead.
                let reason = e
                    .reason
                    .replace("min_points (", "anomaly_min_points (")
                    .replace("season_lag + anomaly_min_points", "7 + anomaly_min_points");
                Err((at, format!("anomaly_{} = {}: {reason}", e.setting, e.value)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::LakeConfig;

    fn parse(text: &str) -> Result<LakeConfig, String> {
        LakeConfig::parse("strata.toml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn lake_and_table_settings_apply_and_tables_override_the_lake() {
        let c = parse(
            "[lake]\nanomaly_window = 21\nanomaly_threshold = 2.5\n\
             [tables.\"raw.s.t\"]\nanomaly_threshold = 4\nanomaly_freshness = false\n\
             [tables.\"raw.s.u\"]\nkey = \"id\"\n",
        )
        .unwrap();
        assert_eq!(c.anomaly.scoring.window, 21);
        assert_eq!(c.anomaly.scoring.threshold, 2.5);
        let t = c.watch_settings("raw.s.t");
        assert_eq!(
            (t.scoring.window, t.scoring.threshold, t.freshness),
            (21, 4.0, false)
        );
        assert_eq!(c.watch_settings("raw.s.u"), &c.anomaly);
        assert_eq!(c.watch_settings("raw.s.none"), &c.anomaly);
    }

    #[test]
    fn out_of_range_settings_are_refused_with_their_line() {
        let e = parse("[lake]\nrefresh = \"5s\"\nanomaly_window = 3\n").unwrap_err();
        assert_eq!(
            e,
            "strata.toml: line 3: [lake] anomaly_window = 3: must be at least \
             anomaly_min_points (7)"
        );
        let e = parse("[lake]\nanomaly_threshold = 0\n").unwrap_err();
        assert_eq!(
            e,
            "strata.toml: line 2: [lake] anomaly_threshold = 0: must be a finite number above 0"
        );
        // The table's own key is blamed, even when the lake's window is what it clashes with.
        let e =
            parse("[lake]\nanomaly_window = 20\n[tables.\"raw.s.t\"]\n\nanomaly_min_points = 14\n")
                .unwrap_err();
        assert_eq!(
            e,
            "strata.toml: line 5: table \"raw.s.t\": anomaly_window = 20: must be at least \
             7 + anomaly_min_points (21)"
        );
        let e = parse("[tables.\"raw.s.t\"]\nanomaly_min_points = 2\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("must be at least 3"),
            "{e}"
        );
        let e = parse("[lake]\nanomaly_window = -1\n").unwrap_err();
        assert!(e.starts_with("strata.toml: line 2:"), "{e}");
    }
}
