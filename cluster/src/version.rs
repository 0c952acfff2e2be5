//! Which Strata a process of the cluster is, and the check that refuses a query planned by a
//! client of another version: a plan is bytes that only the same build reads the same way
//! (docs/cluster.md#versions).
use datafusion::common::{DataFusionError, Result};
use datafusion::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::prelude::SessionConfig;
use std::any::Any;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Overrides the version a process reports. Only for testing mixed versions: one process of a
/// test cluster pretends to be another release.
pub const VERSION_VARIABLE: &str = "STRATA_CLUSTER_VERSION";

/// The version this process reports.
pub fn own_version() -> String {
    std::env::var(VERSION_VARIABLE)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| VERSION.to_string())
}

/// What a client sends with every query besides the plan, as session settings, which Ballista
/// passes to the scheduler and, with each task, to the executors. Written out rather than with
/// DataFusion's `extensions_options!`, whose entries leave out the `strata_cluster.` prefix: the
/// receiving side could not set them.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// The Strata version of the client that planned the query.
    pub client_version: String,
}

const CLIENT_VERSION: &str = "client_version";

impl ExtensionOptions for ClusterOptions {
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
            CLIENT_VERSION => {
                self.client_version = value.to_string();
                Ok(())
            }
            _ => Err(DataFusionError::Configuration(format!(
                "unknown setting {}.{key}",
                Self::PREFIX
            ))),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        vec![ConfigEntry {
            key: format!("{}.{CLIENT_VERSION}", Self::PREFIX),
            value: Some(self.client_version.clone()),
            description: "the Strata version of the client that planned the query",
        }]
    }
}

impl ConfigExtension for ClusterOptions {
    const PREFIX: &'static str = "strata_cluster";
}

/// `config` with the cluster options registered (and, on a client, its version filled in).
pub fn register(config: SessionConfig, client: bool) -> SessionConfig {
    let mut options = ClusterOptions::default();
    if client {
        options.client_version = own_version();
    }
    config.with_option_extension(options)
}

/// Refuses a query from a client of another version; `role` names this process in the message
/// ("scheduler", "executor e1").
pub fn check(config: &SessionConfig, role: &str) -> Result<()> {
    let own = own_version();
    let client = config
        .options()
        .extensions
        .get::<ClusterOptions>()
        .map(|o| o.client_version.clone())
        .unwrap_or_default();
    if client.is_empty() {
        return Err(DataFusionError::Configuration(format!(
            "the {role} runs Strata {own} and refuses a query from a client that did not send its \
             Strata version (not `strata --cluster`?)"
        )));
    }
    if client != own {
        return Err(DataFusionError::Configuration(format!(
            "version mismatch: the client is Strata {client} but the {role} is Strata {own}; run \
             the same strata release on the client, the scheduler and every executor"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_client(version: &str) -> SessionConfig {
        let mut config = register(SessionConfig::new(), false);
        config
            .options_mut()
            .set("strata_cluster.client_version", version)
            .unwrap();
        config
    }

    #[test]
    fn same_version_passes_and_another_is_refused_naming_both() {
        assert!(check(&from_client(VERSION), "scheduler").is_ok());
        let e = check(&from_client("0.0.1-old"), "scheduler")
            .unwrap_err()
            .to_string();
        assert!(e.contains("client is Strata 0.0.1-old"), "{e}");
        assert!(e.contains(&format!("scheduler is Strata {VERSION}")), "{e}");
    }

    #[test]
    fn a_client_without_a_version_is_refused() {
        let e = check(&register(SessionConfig::new(), false), "executor x").unwrap_err();
        assert!(
            e.to_string().contains("did not send its Strata version"),
            "{e}"
        );
    }

    #[test]
    fn the_version_travels_as_a_setting_with_its_prefix() {
        let sent = register(SessionConfig::new(), true);
        let pair = sent
            .options()
            .entries()
            .into_iter()
            .find(|e| e.key == "strata_cluster.client_version")
            .expect("the client version among the settings");
        let mut received = register(SessionConfig::new(), false);
        received
            .options_mut()
            .set(&pair.key, pair.value.as_deref().unwrap())
            .unwrap();
        assert!(check(&received, "scheduler").is_ok());
    }

    #[test]
    fn a_client_sends_its_own_version() {
        let config = register(SessionConfig::new(), true);
        let sent = config.options().extensions.get::<ClusterOptions>().unwrap();
        assert_eq!(sent.client_version, own_version());
    }
}
