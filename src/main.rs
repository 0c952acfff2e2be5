//! The `strata` binary: opens a lake and runs `-c`/`-f` statements, a script on stdin, or the
//! interactive shell (docs/repl.md).

mod chart;
mod check;
mod cli;
mod cluster;
mod pager;
mod print;
mod progress;
mod render;
mod repl;
mod script;
mod serve;
mod shell;
mod terminal;
mod write;

use anyhow::{Context as _, Result};
use cli::{Cli, Input};
use print::Style;
use shell::{Flow, Shell};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;
use strata_sql::{Engine, Lake, Session};

fn main() -> ExitCode {
    let (cli, inputs) = Cli::parse_with_inputs();
    match run(cli, inputs) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {}", shell::error_text(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, inputs: Vec<Input>) -> Result<ExitCode> {
    match &cli.command_ {
        Some(cli::Command::Password) => return password(),
        Some(cli::Command::Serve(args)) => return serve(&cli, args.clone()),
        Some(cli::Command::Ingest(args)) => return write::ingest(&cli, args),
        Some(cli::Command::Optimize(args)) => return write::optimize(&cli, args),
        Some(cli::Command::Convert(args)) => return write::convert(&cli, args),
        Some(cli::Command::Check(args)) => return check::check(&cli, args),
        Some(cli::Command::Scheduler(args)) => return cluster::scheduler(args),
        Some(cli::Command::Executor(args)) => return cluster::executor(args),
        None => {}
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let interactive = inputs.is_empty() && std::io::stdin().is_terminal();
    let session = rt.block_on(open(&cli))?;
    let style = Style::new(cli.format, cli.quiet);
    let mut shell = Shell::new(Arc::new(session), style, interactive);

    if interactive {
        repl::run(&rt, &mut shell, cli.quiet)?;
        return Ok(ExitCode::SUCCESS);
    }
    let result = rt.block_on(async {
        if inputs.is_empty() {
            // `strata < script.sql`: stdin is a script, run like -f.
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read stdin")?;
            return shell.run_script(&text).await.map(|_| ());
        }
        for input in &inputs {
            let flow = match input {
                // psql's -c takes either SQL or one backslash command.
                Input::Command(text) if text.trim_start().starts_with('\\') => {
                    shell.run_meta_line(text).await?
                }
                Input::Command(text) => shell.run_sql(text).await?,
                Input::File(path) => shell.run_file(path).await?,
            };
            if flow == Flow::Quit {
                break;
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `strata -c … | head`: the reader has what it wanted; like ripgrep, stop quietly.
        Err(e) if shell::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            shell.report(&e);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `strata password`: one line from stdin (no echo on a terminal) to a SCRAM verifier.
fn password() -> Result<ExitCode> {
    let mut line = String::new();
    if std::io::stdin().is_terminal() {
        eprint!("Password: ");
        line = rustyline::DefaultEditor::new()?.readline("")?;
    } else {
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password")?;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("empty password");
    }
    println!("{}", strata_pg::server::scram::make_verifier(password));
    Ok(ExitCode::SUCCESS)
}

/// Logs of the long-running commands (`serve`, `scheduler`, `executor`) go to stderr; RUST_LOG
/// selects them, default info.
pub(crate) fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// `strata serve`: logs to stderr (RUST_LOG, default info) and serves until SIGTERM/Ctrl-C.
fn serve(cli: &Cli, args: cli::ServeArgs) -> Result<ExitCode> {
    init_logging();
    // Sockets need little CPU: two threads keep them responsive while queries run on their own
    // runtime (strata-pg's server/exec.rs).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("strata-io")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let uri = lake_uri(args.lake.as_deref().or(cli.lake.as_deref()), cli.quiet)?;
        let lake = Lake::open(&uri).await?;
        let mut opts = serve::options(&lake, &args)?;
        let address = args.cluster.as_deref().or(cli.cluster.as_deref());
        opts.engine_setup = cluster::setup(address, cli.cluster_timeout).await?;
        strata_pg::server::serve(lake, opts).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The lake to open: the given URI, or the built-in sample lake (created on first use).
pub(crate) fn lake_uri(given: Option<&str>, quiet: bool) -> Result<String> {
    Ok(match given.filter(|u| !u.trim().is_empty()) {
        Some(uri) => uri.to_string(),
        None => {
            let path = strata_catalog::sample::ensure_sample_lake()
                .context("cannot create the built-in sample lake")?;
            if !quiet {
                eprintln!(
                    "No --lake or STRATA_LAKE given: using the built-in sample lake at {}",
                    path.display()
                );
            }
            path.to_string_lossy().into_owned()
        }
    })
}

/// Opens the lake named by --lake / STRATA_LAKE, or the built-in sample lake, and a session.
async fn open(cli: &Cli) -> Result<Session> {
    // An empty STRATA_LAKE (e.g. `STRATA_LAKE= strata`) means unset, as shells treat it.
    let uri = match cli.lake.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(uri) => uri.to_string(),
        None => {
            let path = strata_catalog::sample::ensure_sample_lake()
                .context("cannot create the built-in sample lake")?;
            if !cli.quiet {
                eprintln!(
                    "No --lake or STRATA_LAKE given: using the built-in sample lake at {}",
                    path.display()
                );
            }
            path.to_string_lossy().into_owned()
        }
    };
    let lake: Arc<Lake> = Lake::open(&uri).await?;
    let engine = Engine::new(lake, cli.memory_limit)?;
    let engine = match cluster::setup(cli.cluster.as_deref(), cli.cluster_timeout).await? {
        Some(setup) => {
            if !cli.quiet {
                eprintln!(
                    "Queries run on the Strata cluster at {} (docs/cluster.md)",
                    cli.cluster.as_deref().unwrap_or_default().trim()
                );
            }
            setup.apply(engine)
        }
        None => engine,
    };
    Ok(engine.session(cli.as_of.as_deref())?)
}
