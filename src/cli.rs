//! Command-line arguments of the `strata` binary (docs/repl.md) and the parsing of their values.

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::path::PathBuf;

/// SQL over a three-zone data lake: latest views, time travel, a REPL.
///
/// Without -c or -f, Strata starts an interactive shell (type \? there for help).
#[derive(Debug, Parser)]
#[command(name = "strata", version)]
pub struct Cli {
    /// Lake root: a local path, file://, s3://bucket/prefix, gs://, az://.
    /// Without it (and without STRATA_LAKE) a built-in sample lake opens.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,

    /// Start with `strata.as_of` set: show the lake as it was at this time
    /// (RFC 3339 or a PostgreSQL timestamp literal; no zone means UTC).
    #[arg(long, value_name = "TS")]
    pub as_of: Option<String>,

    /// Run SQL (or one backslash command) and exit; repeatable, runs in order with -f.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Vec<String>,

    /// Run the statements of a file and exit; repeatable, runs in order with -c.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Output format of result sets.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Memory for query execution, e.g. 512MB, 2GB, 1.5G or plain bytes; queries spill to
    /// disk beyond it where they can.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Print only results and errors: no banner, notices, status tags or row counts.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command_: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the lake over the PostgreSQL wire protocol (psql, JDBC, BI tools).
    Serve(ServeArgs),
    /// Read a password (from stdin) and print the SCRAM-SHA-256 verifier for strata.toml.
    Password,
}

/// `strata serve`: flags override `[server]` in the lake's strata.toml.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Lake root (as for the REPL); defaults to STRATA_LAKE, then the sample lake.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,
    /// Address to listen on [default: 127.0.0.1:5433]; port 0 picks a free one.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, clients may use sslmode=require.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse connections that do not use TLS.
    #[arg(long)]
    pub require_tls: bool,
    /// Most clients connected at once [default: 100]; more are refused with SQLSTATE 53300.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Close sessions idle this long, e.g. 10min, 30s; 0 = never [default: 10min].
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// Longest a statement may run, e.g. 5min; 0 = no limit; clients may SET a lower one.
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
    /// Memory per query, e.g. 2GB; sorts and aggregations spill to disk beyond it [default: 2GB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub query_memory_limit: Option<usize>,
    /// Threads that run queries [default: the number of cores].
    #[arg(long, value_name = "N")]
    pub query_threads: Option<usize>,
    /// Longest SQL text a client may send, e.g. 1MB; longer ones get SQLSTATE 54000 [default: 16MB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_query_size: Option<usize>,
    /// Longest protocol message of any other kind (bound values, COPY data) [default: 64MB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_message_size: Option<usize>,
    /// Deepest nesting of a statement (brackets, CASE, chained operators); deeper ones get
    /// SQLSTATE 54001 [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_expression_depth: Option<usize>,
    /// How long a client may take to connect and authenticate, e.g. 30s [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub startup_timeout: Option<String>,
}

/// How result sets are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text table.
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// One -c or -f argument, in the order given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Command(String),
    File(PathBuf),
}

impl Cli {
    /// Parses the process arguments; clap exits with status 2 on usage errors.
    pub fn parse_with_inputs() -> (Cli, Vec<Input>) {
        let matches = Cli::command().get_matches();
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let inputs = ordered_inputs(&cli, &matches);
        (cli, inputs)
    }
}

/// Interleaves -c and -f in command-line order: clap's derive keeps them in two lists, and a
/// `SET` given with -c before -f must apply to the file (psql behaves the same way).
fn ordered_inputs(cli: &Cli, matches: &ArgMatches) -> Vec<Input> {
    let indices = |id: &str| -> Vec<usize> {
        matches
            .indices_of(id)
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut tagged: Vec<(usize, Input)> = Vec::new();
    for (i, c) in indices("command").into_iter().zip(&cli.command) {
        tagged.push((i, Input::Command(c.clone())));
    }
    for (i, f) in indices("file").into_iter().zip(&cli.file) {
        tagged.push((i, Input::File(f.clone())));
    }
    tagged.sort_by_key(|(i, _)| *i);
    tagged.into_iter().map(|(_, input)| input).collect()
}

/// Parses `512MB`, `2GB`, `1.5G`, `64k`, `1TiB` or plain bytes. Units are binary (1 KB = 1024
/// bytes), as in DataFusion's own memory settings.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (try 512MB, 2GB or a number of bytes)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KB, MB, GB or TB)"
            ))
        }
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > usize::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2 << 30));
        assert_eq!(parse_size("2gb"), Ok(2 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn inputs_keep_command_line_order() {
        let matches = Cli::command()
            .try_get_matches_from(["strata", "-c", "SET a = 1", "-f", "x.sql", "-c", "SELECT 1"])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(
            ordered_inputs(&cli, &matches),
            vec![
                Input::Command("SET a = 1".into()),
                Input::File("x.sql".into()),
                Input::Command("SELECT 1".into()),
            ]
        );
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
