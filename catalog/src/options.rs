//! Session settings Strata adds to DataFusion's: `strata.as_of`, read by every table scan.
use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::{plan_err, Result};
use datafusion::execution::context::SessionConfig;
use std::any::Any;

/// The `strata.*` settings of a session.
#[derive(Debug, Clone, Default)]
pub struct StrataOptions {
    /// `strata.as_of` as the user wrote it, if set.
    pub as_of_text: Option<String>,
    /// The same bound in µs since the epoch (UTC), inclusive.
    pub as_of: Option<i64>,
}

impl StrataOptions {
    /// Sets or clears (`None`) the session's as-of bound, validating the timestamp.
    pub fn set_as_of(&mut self, value: Option<&str>) -> Result<()> {
        match value {
            None => {
                self.as_of = None;
                self.as_of_text = None;
            }
            Some(v) => match crate::time::parse_timestamp(v) {
                Ok(t) => {
                    self.as_of = Some(t.timestamp_micros());
                    self.as_of_text = Some(v.to_string());
                }
                Err(e) => return plan_err!("strata.as_of: {e}"),
            },
        }
        Ok(())
    }

    /// The session's as-of bound (µs), if any.
    pub fn as_of_from(config: &datafusion::common::config::ConfigOptions) -> Option<i64> {
        config
            .extensions
            .get::<StrataOptions>()
            .and_then(|o| o.as_of)
    }

    /// Adds the extension to a session config (idempotent).
    pub fn register(config: SessionConfig) -> SessionConfig {
        if config.options().extensions.get::<StrataOptions>().is_some() {
            config
        } else {
            config.with_option_extension(StrataOptions::default())
        }
    }
}

impl ConfigExtension for StrataOptions {
    const PREFIX: &'static str = "strata";
}

impl ExtensionOptions for StrataOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "as_of" => self.set_as_of(
                Some(value).filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("default")),
            ),
            _ => plan_err!("unknown setting strata.{key} (Strata has strata.as_of)"),
        }
    }
    fn entries(&self) -> Vec<ConfigEntry> {
        vec![ConfigEntry {
            key: "as_of".into(),
            value: self.as_of_text.clone(),
            description:
                "Time-travel bound: tables show rows ingested at or before it (inclusive).",
        }]
    }
}
