//! `strata serve`'s settings: the flags, then `[server]` in strata.toml, then defaults,
//! resolved once into the typed options the server takes (docs/server.md, "Settings").
use crate::cli::ServeArgs;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use strata_pg::server::{Limits, ServeOptions};
use strata_sql::{Lake, StatementLimits};

/// Resolves the settings from flags and strata.toml; what neither gives keeps the server's
/// default (`ServeOptions::default`, the one place defaults are written).
pub fn options(lake: &Lake, flags: &ServeArgs) -> Result<ServeOptions> {
    let cfg = &lake.config().server;
    let defaults = ServeOptions::default();
    let listen = flags
        .listen
        .clone()
        .or_else(|| cfg.listen.clone())
        .unwrap_or(defaults.listen);
    // Durations and sizes arrive parsed (strata_catalog::units, for flags and strata.toml
    // alike): here a flag wins over strata.toml, which wins over the default.
    // Zero is "never" for idle_timeout, as in strata.toml.
    let idle_timeout = match flags.idle_timeout.or(cfg.idle_timeout) {
        Some(idle) => (!idle.is_zero()).then_some(idle),
        None => defaults.idle_timeout,
    };
    let statement_timeout_ms = match flags.statement_timeout.or(cfg.statement_timeout) {
        // Zero is no limit, so a fraction of a millisecond rounds up rather than to "none".
        Some(t) => u64::try_from(t.as_nanos().div_ceil(1_000_000))?,
        None => defaults.statement_timeout_ms,
    };
    let query_memory_limit = flags
        .query_memory_limit
        .or(cfg.query_memory_limit)
        .or(defaults.query_memory_limit);
    // Relative certificate paths in strata.toml are relative to a local lake's root.
    let root = match lake.uri() {
        u if u.starts_with("file://") => Some(PathBuf::from(&u["file://".len()..])),
        u if !u.contains("://") => Some(PathBuf::from(u)),
        _ => None,
    };
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        match (&root, p.is_relative()) {
            (Some(r), true) => r.join(p),
            _ => p.to_path_buf(),
        }
    };
    let tls = match (&flags.tls_cert, &flags.tls_key, &cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k), _, _) => Some((c.clone(), k.clone())),
        (Some(_), None, _, _) | (None, Some(_), _, _) => {
            bail!("--tls-cert and --tls-key go together")
        }
        (None, None, Some(c), Some(k)) => Some((resolve(c), resolve(k))),
        (None, None, Some(_), None) | (None, None, None, Some(_)) => {
            bail!("strata.toml: [server] tls_cert and tls_key go together")
        }
        _ => None,
    };
    let require_tls = flags.require_tls || cfg.require_tls.unwrap_or(false);
    if require_tls && tls.is_none() {
        bail!("require_tls is set but no certificate is: give --tls-cert and --tls-key");
    }
    let limits = Limits {
        max_query_size: flags
            .max_query_size
            .or(cfg.max_query_size)
            .unwrap_or(defaults.limits.max_query_size),
        max_message_size: flags
            .max_message_size
            .or(cfg.max_message_size)
            .unwrap_or(defaults.limits.max_message_size),
    };
    Ok(ServeOptions {
        listen,
        max_connections: flags
            .max_connections
            .or(cfg.max_connections)
            .unwrap_or(defaults.max_connections),
        idle_timeout,
        statement_timeout_ms,
        query_memory_limit,
        tls,
        require_tls,
        query_threads: flags.query_threads.unwrap_or(defaults.query_threads),
        limits,
        // Never zero: the parser refuses 0 for startup_timeout.
        startup_timeout: flags
            .startup_timeout
            .or(cfg.startup_timeout)
            .unwrap_or(defaults.startup_timeout),
        copy_memory: flags
            .copy_memory
            .or(cfg.copy_memory)
            .unwrap_or(defaults.copy_memory),
        // Set by `strata serve --cluster` once the scheduler has answered (main.rs).
        engine_setup: None,
        statement_limits: StatementLimits {
            max_expression_depth: flags
                .max_expression_depth
                .or(cfg.max_expression_depth)
                .unwrap_or(defaults.statement_limits.max_expression_depth),
        },
    })
}
