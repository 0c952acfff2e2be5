//! The interactive shell: rustyline with persistent history, a `zone.schema` prompt, and the
//! loop that hands each finished input to the [`Shell`].

mod describe;
mod display;
pub use display::CHART_ROWS;
mod helper;
mod keywords;
pub mod meta;

use crate::script;
use crate::shell::{Flow, Shell};
use anyhow::Result;
use helper::{Names, StrataHelper};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use strata_catalog::ZONES;
use tokio::runtime::Runtime;

pub fn run(rt: &Runtime, shell: &mut Shell, quiet: bool) -> Result<()> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(10_000)?
        .build();
    let mut editor: Editor<StrataHelper, DefaultHistory> = Editor::with_config(config)?;
    let names = Arc::new(RwLock::new(Names::default()));
    editor.set_helper(Some(StrataHelper::new(names.clone())));
    load_columns(rt, shell, &names);

    let history = history_path();
    if let Some(path) = &history {
        // A missing file is the first run, not a problem.
        if path.exists() {
            if let Err(e) = editor.load_history(path) {
                eprintln!("Warning: cannot read history {}: {e}", path.display());
            }
        }
    }
    if !quiet {
        println!(
            "Strata {} on {}. Type \\? for help, \\q to quit.",
            env!("CARGO_PKG_VERSION"),
            shell.session.lake().uri()
        );
    }

    loop {
        let zone = shell.session.current_zone();
        let schema = shell.session.current_schema();
        {
            let mut n = names.write().unwrap();
            n.tables = shell.session.lake().table_names();
            n.zone = zone.clone();
        }
        let prompt = format!("strata:{zone}.{schema}> ");
        let mut text = match editor.readline(&prompt) {
            Ok(line) => line,
            // Ctrl-C at the prompt drops the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        // The validator keeps a rich terminal editing until the statement is complete; on a
        // dumb terminal rustyline reads plain lines, so continue here with psql's prompt.
        let continuation = format!("strata:{zone}.{schema}-> ");
        let mut interrupted = false;
        while !script::is_complete(&text) {
            match editor.readline(&continuation) {
                Ok(more) => {
                    text.push('\n');
                    text.push_str(&more);
                }
                Err(ReadlineError::Interrupted) => {
                    interrupted = true;
                    break;
                }
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            }
        }
        if interrupted || text.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(text.trim());

        let flow = match rt.block_on(shell.run_script(&text)) {
            Ok(flow) => flow,
            Err(e) => {
                shell.report(&e);
                Flow::Continue
            }
        };
        if flow == Flow::Quit {
            break;
        }
        if std::mem::take(&mut shell.listing_changed) {
            load_columns(rt, shell, &names);
        }
    }

    if let Some(path) = &history {
        if let Err(e) = editor.save_history(path) {
            eprintln!("Warning: cannot write history {}: {e}", path.display());
        }
    }
    Ok(())
}

/// `<data dir>/strata/history`, the directory created; `None` (with a warning) when there is
/// no usable data directory, in which case history lasts for the session only.
fn history_path() -> Option<PathBuf> {
    let dir = dirs::data_dir()?.join("strata");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "Warning: cannot create {}: {e}; history will not be kept",
            dir.display()
        );
        return None;
    }
    Some(dir.join("history"))
}

/// Reads every table's column names in the background, for completion.
fn load_columns(rt: &Runtime, shell: &Shell, names: &Arc<RwLock<Names>>) {
    let ctx = shell.session.context().clone();
    let names = names.clone();
    rt.spawn(async move {
        let mut columns = BTreeSet::new();
        for zone in ZONES {
            let Some(catalog) = ctx.catalog(zone) else {
                continue;
            };
            for schema_name in catalog.schema_names() {
                if schema_name == "information_schema" {
                    continue;
                }
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                for table in schema.table_names() {
                    // A history table has the columns of its table.
                    if table.ends_with("_history") {
                        continue;
                    }
                    if let Ok(Some(provider)) = schema.table(&table).await {
                        for field in provider.schema().fields() {
                            columns.insert(field.name().clone());
                        }
                    }
                }
            }
        }
        names.write().unwrap().columns = columns;
    });
}
