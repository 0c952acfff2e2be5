//! The state shared by `-c`/`-f` runs and the REPL — one session, output style, `\o` target —
//! and the running of SQL: cancellation with Ctrl-C, the progress bar, `\timing`, the pager.

use crate::print::{ResultWriter, Style};
use crate::progress::Progress;
use crate::script::{self, Unit};
use crate::terminal::Screen;
use anyhow::{Context as _, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use futures::StreamExt;
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use strata_sql::{Output, Session, Statement, StatementKind};

/// How often the progress line is redrawn.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// A statement stopped by Ctrl-C; reported as `Query cancelled.` rather than as an error.
#[derive(Debug)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Query cancelled.")
    }
}

impl std::error::Error for Cancelled {}

/// Whether to keep reading input after a unit ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Shell {
    pub session: Arc<Session>,
    pub style: Style,
    /// `\timing`: print the elapsed time after each statement.
    pub timing: bool,
    /// REPL: Ctrl-C cancels the running statement instead of ending the process, and the
    /// progress line may be drawn.
    pub interactive: bool,
    /// Where results go: stdout, or the file of `\o`.
    out: Box<dyn Write>,
    /// Results go to the file of `\o`: never fitted to a screen or paged.
    to_file: bool,
    /// A fitted table the running statement drew, shown once the statement is over (so the
    /// pager never runs while Ctrl-C would cancel the query).
    screenful: Option<String>,
    /// Errors in red: only on a terminal, and never with NO_COLOR set.
    color: bool,
    /// Set when a statement changed what the lake lists (REFRESH), so completion reloads.
    pub listing_changed: bool,
    /// `\pset chartrows`: rows `\chart` reads at most.
    pub chart_rows: usize,
}

impl Shell {
    pub fn new(session: Arc<Session>, style: Style, interactive: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Shell {
            session,
            style,
            timing: false,
            interactive,
            out: Box::new(std::io::stdout()),
            to_file: false,
            screenful: None,
            color: std::io::stderr().is_terminal() && !no_color,
            listing_changed: false,
            chart_rows: crate::repl::CHART_ROWS,
        }
    }

    /// `\o file` / `\o`: results go to a file (created or truncated) or back to stdout.
    pub fn set_output(&mut self, path: Option<&str>) -> Result<()> {
        self.out.flush().ok();
        self.to_file = path.is_some();
        match path {
            None => {
                self.out = Box::new(std::io::stdout());
            }
            Some(p) => {
                let file = std::fs::File::create(p).with_context(|| format!("cannot write {p}"))?;
                self.out = Box::new(std::io::BufWriter::new(file));
            }
        }
        Ok(())
    }

    /// The result destination, for meta commands that print text of their own.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    /// Prints an error as `Error: …` on stderr (`Query cancelled.` for a cancellation).
    pub fn report(&self, err: &anyhow::Error) {
        let mut stderr = std::io::stderr().lock();
        let _ = if err.downcast_ref::<Cancelled>().is_some() {
            writeln!(stderr, "Query cancelled.")
        } else if self.color {
            writeln!(stderr, "\x1b[31mError: {}\x1b[0m", error_text(err))
        } else {
            writeln!(stderr, "Error: {}", error_text(err))
        };
    }

    /// Runs a script: SQL statements and backslash commands, in order, stopping at the first
    /// error (returned) or at `\q`.
    pub async fn run_script(&mut self, text: &str) -> Result<Flow> {
        for unit in script::split_script(text) {
            let flow = match unit {
                Unit::Sql(sql) => self.run_sql(&sql).await?,
                Unit::Meta(line) => Box::pin(self.run_meta_line(&line)).await?,
            };
            if flow == Flow::Quit {
                return Ok(Flow::Quit);
            }
        }
        Ok(Flow::Continue)
    }

    /// `\i file` and `-f file`.
    pub async fn run_file(&mut self, path: &Path) -> Result<Flow> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        self.run_script(&text).await
    }

    /// Runs SQL text of one or more statements, stopping at the first error.
    pub async fn run_sql(&mut self, sql: &str) -> Result<Flow> {
        let trimmed = sql.trim().trim_end_matches(';').trim();
        if ["exit", "quit"].contains(&trimmed.to_ascii_lowercase().as_str()) {
            return Ok(Flow::Quit);
        }
        let statements = self.session.parse(sql)?;
        for stmt in &statements {
            self.run_statement(stmt).await?;
            if matches!(stmt.kind(), StatementKind::Refresh) {
                self.listing_changed = true;
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs one parsed statement and writes its result.
    pub async fn run_statement(&mut self, stmt: &Statement) -> Result<()> {
        let progress = RefCell::new(Progress::new(self.interactive));
        let rows = Cell::new(0usize);
        let session = self.session.clone();
        let (interactive, timing) = (self.interactive, self.timing);
        let work = async {
            let output = session.execute(stmt).await?;
            self.write_output(output, &progress, &rows).await
        };
        let result = drive(work, interactive, &progress, &rows, &session).await;
        let elapsed = progress.borrow().elapsed();
        progress.borrow_mut().clear();
        if let Some(text) = self.screenful.take() {
            self.show(&text)?;
        }
        if timing {
            // psql prints timing on stdout even while `\o` redirects results.
            println!("Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0);
        }
        result
    }

    /// Runs SQL built by a meta command through the same path as typed SQL.
    pub async fn run_query(&mut self, sql: &str) -> Result<()> {
        let statements = self.session.parse(sql)?;
        for stmt in &statements {
            self.run_statement(stmt).await?;
        }
        Ok(())
    }

    async fn write_output(
        &mut self,
        output: Output,
        progress: &RefCell<Progress>,
        rows: &Cell<usize>,
    ) -> Result<()> {
        match output {
            Output::Status(tag) => {
                if self.style.format == crate::cli::Format::Table && !self.style.quiet {
                    writeln!(self.out, "{tag}")?;
                    self.out.flush()?;
                }
                // Said even when quiet: rows that did not land where asked.
                for notice in self.session.take_notices() {
                    eprintln!("NOTICE: {notice}");
                }
                Ok(())
            }
            Output::Rows(mut stream)
            | Output::CopyOut {
                rows: mut stream, ..
            } => {
                let screen = self.screen();
                let mut writer =
                    ResultWriter::new(self.style, stream.schema(), &mut *self.out, screen);
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    progress.borrow_mut().clear();
                    writer.write(&batch)?;
                    rows.set(writer.rows());
                }
                progress.borrow_mut().clear();
                self.screenful = writer.finish()?;
                Ok(())
            }
        }
    }
}

impl Shell {
    /// Writes rows a meta command made (`\d`'s columns) as a query's rows are written, but
    /// without a line of types: they are all text.
    pub fn write_batch(&mut self, batch: RecordBatch) -> Result<()> {
        let screen = self.screen();
        let style = Style {
            types: false,
            ..self.style
        };
        let mut writer = ResultWriter::new(style, batch.schema(), &mut *self.out, screen);
        writer.write(&batch)?;
        if let Some(text) = writer.finish()? {
            self.show(&text)?;
        }
        Ok(())
    }

    /// Runs one query as typed SQL runs (Ctrl-C cancels, the progress bar shows) and keeps
    /// its rows, refusing more than `limit` of them (for `\chart`, which draws all at once).
    pub async fn collect_rows(
        &mut self,
        sql: &str,
        limit: usize,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let statements = self.session.parse(sql)?;
        let [stmt] = statements.as_slice() else {
            anyhow::bail!("expected one query, got {} statements", statements.len());
        };
        let progress = RefCell::new(Progress::new(self.interactive));
        let rows = Cell::new(0usize);
        let session = self.session.clone();
        let work = async {
            let Output::Rows(mut stream) = session.execute(stmt).await? else {
                anyhow::bail!("expected a query that returns rows: {stmt}");
            };
            let schema = stream.schema();
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows.set(rows.get() + batch.num_rows());
                if rows.get() > limit {
                    anyhow::bail!(
                        "the query returned more than {limit} rows; aggregate or LIMIT it \
                         (or raise \\pset chartrows)"
                    );
                }
                batches.push(batch);
            }
            Ok((schema, batches))
        };
        let result = drive(work, self.interactive, &progress, &rows, &session).await;
        progress.borrow_mut().clear();
        result
    }

    /// The terminal results are drawn on, or None when they go to a file or a pipe.
    pub fn screen(&self) -> Option<Screen> {
        match self.to_file {
            true => None,
            false => Screen::of_stdout(),
        }
    }

    /// Writes text drawn for the screen: through the pager when it is taller than the screen
    /// (psql's rule: only when both stdin and stdout are terminals), else straight out.
    pub fn show(&mut self, text: &str) -> Result<()> {
        let lines = text.lines().count();
        let paged = match (self.screen(), crate::pager::command()) {
            (Some(screen), Some(pager))
                if std::io::stdin().is_terminal()
                    && crate::pager::wanted(self.style.pager, lines, screen.lines) =>
            {
                self.out.flush()?;
                match crate::pager::show(&pager, text) {
                    Ok(()) => true,
                    Err(e) => {
                        eprintln!("NOTICE: {e}; showing the result without a pager");
                        false
                    }
                }
            }
            _ => false,
        };
        if !paged {
            self.out.write_all(text.as_bytes())?;
            self.out.flush()?;
        }
        Ok(())
    }
}

/// An error and its causes on one line. The chain is followed through this binary's own
/// context ("cannot read FILE: …") but stops at the first error of the SQL layer or DataFusion:
/// their messages are complete, and their sources would repeat them in other words.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let more = cause.to_string();
        if !text.contains(&more) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&more);
        }
        if cause.is::<strata_sql::SqlError>()
            || cause.is::<DataFusionError>()
            || cause.is::<strata_catalog::CatalogError>()
        {
            break;
        }
    }
    text
}

/// Whether writing results failed because their reader went away. Arrow's CSV and JSON writers
/// keep only the text of the I/O error, so the text is what can be checked.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.to_string().contains("Broken pipe")
    })
}

/// Drives `work` to its end while, in the REPL, watching for Ctrl-C — dropping the work cancels
/// the query, as DataFusion stops its tasks when the stream is dropped — and redrawing the
/// progress line.
async fn drive<T>(
    work: impl std::future::Future<Output = Result<T>>,
    interactive: bool,
    progress: &RefCell<Progress>,
    rows: &Cell<usize>,
    session: &Session,
) -> Result<T> {
    tokio::pin!(work);
    let cancel = async {
        // Only the REPL takes SIGINT over: a script run should still die on Ctrl-C.
        if interactive && tokio::signal::ctrl_c().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::pin!(cancel);
    let mut ticker = tokio::time::interval(PROGRESS_TICK);
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = &mut cancel => return Err(Cancelled.into()),
            _ = ticker.tick() => {
                progress.borrow_mut().update(rows.get(), session.scan_progress());
            }
        }
    }
}
