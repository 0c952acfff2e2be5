//! Command-line arguments of the `strata` binary (docs/repl.md). Durations and sizes are parsed
//! by `strata_catalog::units`, the parser of strata.toml's settings, so a flag and a key take the
//! same values and refuse bad ones with the same message (docs/server.md, "Settings").

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use strata_catalog::units::{parse_duration, parse_positive_duration, parse_size};

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

    /// Run queries on the Strata cluster whose scheduler listens at HOST:PORT (see
    /// `strata scheduler`; docs/cluster.md). Queries that cannot run there run here.
    #[arg(long, env = "STRATA_CLUSTER", value_name = "HOST:PORT")]
    pub cluster: Option<String>,

    /// How long reaching the cluster's scheduler may take before Strata gives up, e.g. 5s.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, default_value = "5s")]
    pub cluster_timeout: Duration,

    #[command(subcommand)]
    pub command_: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the lake over the PostgreSQL wire protocol (psql, JDBC, BI tools).
    Serve(ServeArgs),
    /// Read a password (from stdin) and print the SCRAM-SHA-256 verifier for strata.toml.
    Password,
    /// Append files to a table as one batch (one Delta commit), creating the table if needed.
    Ingest(IngestArgs),
    /// Rewrite small files of Delta tables into files near a target size (one commit each).
    Optimize(OptimizeArgs),
    /// Make a plain-Parquet table a Delta table in place, keeping its files and answers.
    Convert(ConvertArgs),
    /// Start a cluster scheduler (Apache Ballista): it takes queries from `strata --cluster`
    /// clients and hands their tasks to executors (docs/cluster.md).
    Scheduler(SchedulerArgs),
    /// Start a cluster executor: it runs a scheduler's tasks and reads the lake's files.
    Executor(ExecutorArgs),
    /// Check tables' expectations over their current rows (exit 1 when one fails, 2 when a
    /// check cannot run), with anomaly warnings.
    Check(CheckArgs),
}

/// `strata scheduler` (docs/cluster.md).
#[derive(Debug, Clone, clap::Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients and executors (gRPC and the REST API share it).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    pub bind: String,
    /// The host name clients and executors reach this machine by, when it is not the bind
    /// address (e.g. with --bind 0.0.0.0:50050).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// An executor silent this long counts as lost and its tasks run again elsewhere.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, default_value = "30s")]
    pub executor_timeout: Duration,
    /// How long executors keep a finished query's result for its client to fetch.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, default_value = "1h")]
    pub result_ttl: Duration,
}

/// `strata executor --scheduler HOST:PORT` (docs/cluster.md).
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler to take tasks from.
    #[arg(long, value_name = "HOST:PORT")]
    pub scheduler: String,
    /// Address for data (Arrow Flight: shuffles and results); the next port takes tasks (gRPC)
    /// unless --grpc-port says otherwise.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    pub bind: String,
    /// Port for tasks from the scheduler (gRPC) [default: the --bind port + 1].
    #[arg(long, value_name = "PORT")]
    pub grpc_port: Option<u16>,
    /// The host name the scheduler, other executors and clients reach this machine by.
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Tasks run at once [default: the number of cores].
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub slots: usize,
    /// Directory for shuffle files [default: a new temporary directory].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Memory for tasks, e.g. 4GB; beyond it they spill [default: most of the machine's].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<usize>,
    /// This executor's name in the scheduler, job metrics and errors [default: a generated id].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// `strata check [TABLE…]` (docs/quality.md#strata-check).
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Lake root (as for the REPL); defaults to STRATA_LAKE, then the sample lake.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,
    /// Tables as zone.schema.table; none: every table with expectations.
    #[arg(value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit 1 on an anomaly too (the newest point of a table's volume, or a late table).
    #[arg(long)]
    pub fail_on_anomaly: bool,
}

/// `strata optimize [TABLE…] [--target-size 128MB]` (docs/delta.md#file-sizes-optimize-and-vacuum).
#[derive(Debug, Clone, clap::Args)]
pub struct OptimizeArgs {
    /// Lake root (as for the REPL); defaults to STRATA_LAKE, then the sample lake.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,
    /// Tables as zone.schema.table; none: every Delta table of the lake.
    #[arg(value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Size to aim the new files at, e.g. 128MB, 1GB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "128MB")]
    pub target_size: usize,
}

/// `strata convert zone.schema.table` (docs/delta.md#convert-to-delta).
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// Lake root (as for the REPL); defaults to STRATA_LAKE, then the sample lake.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,
    /// The table to convert, as zone.schema.table.
    #[arg(value_name = "TABLE")]
    pub table: String,
}

/// `strata ingest zone.schema.table FILE…` (docs/delta.md#strata-ingest).
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Lake root (as for the REPL); defaults to STRATA_LAKE, then the sample lake.
    #[arg(long, env = "STRATA_LAKE", value_name = "URI")]
    pub lake: Option<String>,
    /// The table to append to, as zone.schema.table.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// Files to read (any format Strata reads); `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Format of files whose extension does not say (stdin: csv unless given):
    /// parquet, csv, tsv, json (ndjson), arrow.
    #[arg(long = "format", value_name = "FORMAT")]
    pub file_format: Option<String>,
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
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Longest a statement may run, e.g. 5min, 500ms; 0 = no limit; clients may SET a lower one.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub statement_timeout: Option<Duration>,
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
    /// Memory one `COPY … FROM STDIN` holds before the rest waits in a temporary file, e.g.
    /// 256MB [default: 64MB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub copy_memory: Option<usize>,
    /// How long a client may take to connect and authenticate, e.g. 30s [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub startup_timeout: Option<Duration>,
    /// Run queries on the Strata cluster whose scheduler listens at HOST:PORT (docs/cluster.md).
    #[arg(long, env = "STRATA_CLUSTER", value_name = "HOST:PORT")]
    pub cluster: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_are_parsed_with_the_arguments() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        let cli = parse(&[
            "strata",
            "serve",
            "--idle-timeout",
            "10m",
            "--max-query-size",
            "1MB",
        ])
        .unwrap();
        let Some(Command::Serve(serve)) = cli.command_ else {
            panic!("not serve")
        };
        assert_eq!(serve.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(serve.max_query_size, Some(1 << 20));
        let e = parse(&["strata", "serve", "--statement-timeout", "30"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"30\" needs a unit: 30s or 30ms"), "{e}");
        assert!(parse(&["strata", "serve", "--startup-timeout", "0"]).is_err());
        assert!(parse(&["strata", "--memory-limit", "lots"]).is_err());
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
