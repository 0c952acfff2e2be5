//! `strata serve`'s settings: the flags, then `[server]` in strata.toml, then defaults,
//! resolved once into the typed options the server takes (docs/server.md, "Settings").
use crate::cli::ServeArgs;
use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_pg::server::{Limits, ServeOptions};
use strata_sql::{Lake, StatementLimits};

/// Resolves the settings from flags and strata.toml.
pub fn options(lake: &Lake, flags: &ServeArgs) -> Result<ServeOptions> {
    let cfg = &lake.config().server;
    let listen = flags
        .listen
        .clone()
        .or_else(|| cfg.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:5433".into());
    let idle = flags
        .idle_timeout
        .clone()
        .or_else(|| cfg.idle_timeout.clone())
        .unwrap_or_else(|| "10min".into());
    let idle_ms = strata_pg::parse_millis(&idle)
        .with_context(|| format!("idle_timeout {idle:?} is not a duration"))?;
    let statement = flags
        .statement_timeout
        .clone()
        .or_else(|| cfg.statement_timeout.clone())
        .unwrap_or_else(|| "0".into());
    let statement_timeout_ms = strata_pg::parse_millis(&statement)
        .with_context(|| format!("statement_timeout {statement:?} is not a duration"))?;
    let query_memory_limit = match (&flags.query_memory_limit, &cfg.query_memory_limit) {
        (Some(n), _) => Some(*n),
        (None, Some(text)) => Some(crate::cli::parse_size(text).map_err(anyhow::Error::msg)?),
        (None, None) => Some(2 << 30),
    };
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
    let size =
        |flag: Option<usize>, cfg: &Option<String>, default: usize, name: &str| -> Result<usize> {
            match (flag, cfg) {
                (Some(n), _) => Ok(n),
                (None, Some(text)) => crate::cli::parse_size(text)
                    .map_err(|e| anyhow::anyhow!("strata.toml: [server] {name}: {e}")),
                (None, None) => Ok(default),
            }
        };
    let defaults = Limits::default();
    let limits = Limits {
        max_query_size: size(
            flags.max_query_size,
            &cfg.max_query_size,
            defaults.max_query_size,
            "max_query_size",
        )?,
        max_message_size: size(
            flags.max_message_size,
            &cfg.max_message_size,
            defaults.max_message_size,
            "max_message_size",
        )?,
    };
    let startup = flags
        .startup_timeout
        .clone()
        .or_else(|| cfg.startup_timeout.clone())
        .unwrap_or_else(|| "60s".into());
    let startup_ms = strata_pg::parse_millis(&startup)
        .filter(|ms| *ms > 0)
        .with_context(|| format!("startup_timeout {startup:?} is not a positive duration"))?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(ServeOptions {
        listen,
        max_connections: flags.max_connections.or(cfg.max_connections).unwrap_or(100),
        idle_timeout: (idle_ms > 0).then(|| Duration::from_millis(idle_ms)),
        statement_timeout_ms,
        query_memory_limit,
        tls,
        require_tls,
        query_threads: flags.query_threads.unwrap_or(cores),
        limits,
        startup_timeout: Duration::from_millis(startup_ms),
        statement_limits: StatementLimits {
            max_expression_depth: flags
                .max_expression_depth
                .or(cfg.max_expression_depth)
                .unwrap_or(strata_sql::limits::DEFAULT_MAX_EXPRESSION_DEPTH),
        },
    })
}
