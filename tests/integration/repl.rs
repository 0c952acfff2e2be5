//! The REPL driven as a terminal program through a real pseudo-terminal (rexpect): prompt,
//! multi-line input, backslash commands, errors, Ctrl-C cancelling a query, history.

use rexpect::process::wait::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use std::path::Path;
use std::process::Command;

pub const PROMPT: &str = "strata:enhanced.public> ";

/// Starts `strata` on the sample lake in a pseudo-terminal, with history under `home`.
fn spawn_repl(home: &Path) -> PtySession {
    spawn_repl_on(home, "xterm")
}

fn spawn_repl_on(home: &Path, term: &str) -> PtySession {
    // A wide terminal, so rustyline never wraps a typed line (a wrapped line is redrawn with
    // its prompt, which would look like the next prompt).
    spawn_sized(home, term, (250, 50), &[])
}

/// Starts `strata` in a pseudo-terminal of `size` (columns, lines), with extra environment.
pub fn spawn_sized(home: &Path, term: &str, size: (u16, u16), env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "stty cols {} rows {} && exec \"$0\"",
            size.0, size.1
        ))
        .arg(env!("CARGO_BIN_EXE_strata"))
        .env_remove("STRATA_LAKE")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1")
        // Results stay on the pty; the pager has its own test (`pager_shows_tall_results`).
        .env("PAGER", "")
        .env_remove("PSQL_PAGER")
        // xterm: rustyline runs its editor (raw mode, validator, completer); dumb: its
        // plain-line fallback.
        .env("TERM", term)
        .envs(env.iter().copied());
    let options = Options {
        timeout_ms: Some(60_000),
        strip_ansi_escape_codes: true,
    };
    let mut p = spawn_with_options(cmd, options).expect("spawn strata in a pty");
    p.exp_string(PROMPT).expect("first prompt");
    p
}

/// Types a line and presses Enter (a carriage return, as a terminal in raw mode sends it).
pub fn type_line(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

pub fn expect(p: &mut PtySession, needle: &str) -> String {
    match p.exp_string(needle) {
        Ok(before) => utf8(before),
        Err(e) => panic!("expected {needle:?}: {e}"),
    }
}

/// Types a line at the prompt and waits for the next `prompt`, returning what was printed in
/// between. Waiting matters: keys typed while a statement runs reach the terminal in cooked
/// mode, not the line editor, just as when a person types ahead.
pub fn step(p: &mut PtySession, line: &str, prompt: &str) -> String {
    type_line(p, line);
    expect(p, prompt)
}

/// rexpect hands back each byte the terminal got as one char; the REPL writes UTF-8 (box
/// drawing, "…"), so the bytes are put back together.
pub fn utf8(text: String) -> String {
    match text.chars().all(|c| (c as u32) < 256) {
        true => String::from_utf8_lossy(&text.chars().map(|c| c as u8).collect::<Vec<u8>>()).into(),
        false => text,
    }
}

/// The rows of the tables drawn in `out` (box-drawn, as the REPL draws on a terminal): each
/// line between `│` borders, as trimmed cells. The header and type lines are rows too.
pub fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.trim_start().starts_with('│'))
        .map(|l| {
            let inner = l.trim().trim_start_matches('│').trim_end_matches('│');
            inner.split('│').map(|c| c.trim().to_string()).collect()
        })
        .collect()
}

/// Whether a table in `out` has a row of exactly these cells.
pub fn has_row(out: &str, cells: &[&str]) -> bool {
    rows(out).iter().any(|r| r == cells)
}

pub fn quit(mut p: PtySession) {
    type_line(&mut p, "\\q");
    p.exp_eof().expect("strata exits after \\q");
    match p.process.wait().unwrap() {
        WaitStatus::Exited(_, code) => assert_eq!(code, 0, "exit status after \\q"),
        other => panic!("strata did not exit normally: {other:?}"),
    }
}

#[test]
fn prompt_multiline_meta_commands_errors_and_history() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn_repl(home.path());

    // A statement over two lines: the first has no `;`, so Enter continues it.
    type_line(&mut p, "SELECT count(*) AS n");
    type_line(&mut p, "  FROM raw.crm.customers;");
    let count = expect(&mut p, "(1 row)");
    assert!(has_row(&count, &["13"]), "{count}");
    assert!(
        has_row(&count, &["bigint"]),
        "SQL type under the name:\n{count}"
    );
    expect(&mut p, PROMPT);

    // \dt lists the tables of all three zones.
    let listing = step(&mut p, "\\dt", PROMPT);
    for row in [
        ["raw", "crm", "customers", "keyed"],
        ["raw", "shop", "orders", "keyed"],
        ["raw", "events", "clicks", "append"],
        ["sanitized", "crm", "scores", "snapshot"],
        ["sanitized", "public", "countries", "append"],
        ["enhanced", "sales", "daily_revenue", "append"],
        ["enhanced", "sales", "customer_360", "append"],
        ["enhanced", "ops", "pipeline_runs", "append"],
        ["raw", "web", "pageviews", "append"],
    ] {
        assert!(has_row(&listing, &row), "\\dt lacks {row:?}:\n{listing}");
    }
    assert!(listing.contains("(9 rows)"), "{listing}");
    let filtered = step(&mut p, "\\dt *.crm.*", PROMPT);
    assert!(filtered.contains("(2 rows)"), "{filtered}");

    // \d shows columns and what Strata knows about the table.
    let described = step(&mut p, "\\d raw.crm.customers", PROMPT);
    // SQL type names, as psql shows them over the server.
    assert!(
        has_row(&described, &["customer_id", "bigint", "YES"]),
        "{described}"
    );
    assert!(
        has_row(&described, &["email", "text", "YES"]),
        "{described}"
    );
    assert!(
        has_row(
            &described,
            &["_ingested_at", "timestamp with time zone", "YES"]
        ),
        "{described}"
    );
    for needle in [
        "segment",
        "Mode: keyed",
        "Key: customer_id",
        "Ingestion time: column _ingested_at",
    ] {
        assert!(
            described.contains(needle),
            "\\d lacks {needle}:\n{described}"
        );
    }

    // An error is reported with the closest name, and the REPL keeps going.
    let error = step(&mut p, "SELECT * FROM raw.crm.custmers;", PROMPT);
    assert!(error.contains("Error: "), "{error}");
    assert!(error.contains("raw.crm.customers"), "{error}");
    let answer = step(&mut p, "SELECT 40 + 2 AS answer;", PROMPT);
    assert!(has_row(&answer, &["42"]), "{answer}");
    let unknown = step(&mut p, "\\nope", PROMPT);
    assert!(
        unknown.contains("Error: invalid command \\nope"),
        "{unknown}"
    );

    // \c changes the zone, and the prompt says so.
    step(&mut p, "\\c raw", "strata:raw.public> ");
    let orders = step(
        &mut p,
        "SELECT count(*) AS n FROM shop.orders;",
        "strata:raw.public> ",
    );
    assert!(has_row(&orders, &["14"]), "{orders}");
    let bad_zone = step(&mut p, "\\c nowhere", "strata:raw.public> ");
    assert!(bad_zone.contains("Error: unknown zone"), "{bad_zone}");

    quit(p);
    let history = home.path().join("data/strata/history");
    let text = std::fs::read_to_string(&history).expect("history file written");
    assert!(text.contains("FROM raw.crm.customers;"), "{text}");
    assert!(text.contains("\\dt"), "{text}");
}

#[test]
fn ctrl_c_cancels_the_running_query() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn_repl(home.path());

    // Minutes of work; the filter keeps the optimizer from answering count(*) from statistics.
    type_line(
        &mut p,
        "SELECT count(*) FROM generate_series(1, 10000000000) WHERE value % 7 = 3;",
    );
    // The progress bar appears after a second on a terminal, so the query is surely running.
    expect(&mut p, "Ctrl-C cancels");
    p.send_control('c').unwrap();
    expect(&mut p, "Query cancelled.");
    expect(&mut p, PROMPT);

    // The REPL answers the next query.
    let out = step(&mut p, "SELECT 'still here' AS status;", PROMPT);
    assert!(has_row(&out, &["still here"]), "{out}");

    // Ctrl-C at the prompt drops the line being typed.
    p.send("SELECT 'dropped'").unwrap();
    p.flush().unwrap();
    // The line editor echoes what it has read: then the text is in its buffer.
    expect(&mut p, "SELECT 'dropped'");
    p.send_control('c').unwrap();
    expect(&mut p, PROMPT);
    let out = step(&mut p, "SELECT 'kept' AS status;", PROMPT);
    assert!(has_row(&out, &["kept"]), "{out}");
    assert!(!out.contains("dropped"), "{out}");

    // Ctrl-D at an empty prompt leaves.
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    assert!(matches!(
        p.process.wait().unwrap(),
        WaitStatus::Exited(_, 0)
    ));
}

#[test]
fn toggles_output_file_and_include() {
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("out.txt");
    let script = home.path().join("script.sql");
    std::fs::write(
        &script,
        "SET strata.as_of = '2026-01-12';\nSELECT count(*) AS then_n FROM raw.crm.customers;\n",
    )
    .unwrap();
    let mut p = spawn_repl(home.path());

    let out = step(&mut p, "\\x", PROMPT);
    assert!(out.contains("Expanded display is on."), "{out}");
    let out = step(
        &mut p,
        "SELECT customer_id, status FROM raw.crm.customers WHERE customer_id = 3;",
        PROMPT,
    );
    // Records fitted to the terminal, as `\\x auto` draws them.
    assert!(out.contains("[ RECORD 1 ]"), "{out}");
    assert!(out.contains("customer_id │ 3\r\n"), "{out:?}");
    assert!(out.contains("status      │ churned\r\n"), "{out:?}");
    let out = step(&mut p, "\\x", PROMPT);
    assert!(out.contains("Expanded display is off."), "{out}");

    let out = step(&mut p, "\\timing", PROMPT);
    assert!(out.contains("Timing is on."), "{out}");
    let out = step(&mut p, "SELECT 1 AS one;", PROMPT);
    assert!(out.contains("Time: ") && out.contains(" ms"), "{out}");
    step(&mut p, "\\timing", PROMPT);

    step(&mut p, &format!("\\o {}", out_file.display()), PROMPT);
    let out = step(&mut p, "SELECT 'to the file' AS dest;", PROMPT);
    assert!(!has_row(&out, &["to the file"]), "{out}");
    step(&mut p, "\\o", PROMPT);

    let out = step(&mut p, &format!("\\i {}", script.display()), PROMPT);
    assert!(out.contains("SET"), "{out}");
    assert!(has_row(&out, &["12"]), "{out}");
    // The script's SET stays in force, as in psql.
    let out = step(&mut p, "SHOW strata.as_of;", PROMPT);
    assert!(out.contains("2026-01-12"), "{out}");
    quit(p);

    // A file gets the plain table, not one fitted to the terminal.
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert!(written.contains("| to the file |"), "{written}");
}

#[test]
fn dumb_terminal_continues_statements_with_a_continuation_prompt() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn_repl_on(home.path(), "dumb");
    type_line(&mut p, "SELECT 'a;b' AS x,");
    expect(&mut p, "strata:enhanced.public-> ");
    let out = step(&mut p, "  2 AS y;", PROMPT);
    assert!(has_row(&out, &["a;b", "2"]), "{out}");
    quit(p);
}
