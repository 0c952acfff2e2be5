//! The `strata` binary: opens a lake and runs `-c`/`-f` statements, a script on stdin, or the
//! interactive shell (SPEC §6).

mod cli;
mod print;
mod progress;
mod repl;
mod script;
mod shell;

use anyhow::{Context as _, Result};
use cli::{Cli, Input};
use print::Style;
use shell::{Flow, Shell};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;
use strata_sql::{Lake, Session, SessionOptions};

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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let interactive = inputs.is_empty() && std::io::stdin().is_terminal();
    let session = rt.block_on(open(&cli))?;
    let style = Style {
        format: cli.format,
        expanded: false,
        quiet: cli.quiet,
    };
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
    let options = SessionOptions {
        memory_limit: cli.memory_limit,
        as_of: cli.as_of.clone(),
    };
    Ok(Session::new(lake, options).await?)
}
