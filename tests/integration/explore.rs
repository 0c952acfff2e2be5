//! Exploring data in the REPL (docs/repl.md, "Exploring a table"): tables fitted to the
//! terminal, `\x auto`, the pager, the progress bar, `\chart`, SUMMARIZE over the server, and
//! COPY TO files from the command line. Through a real pseudo-terminal where a terminal is the
//! point; piped where the point is that nothing is fitted or paged.

use crate::cli::strata;
use crate::repl::{expect, has_row, quit, rows, spawn_sized, step, type_line, PROMPT};
use crate::server::{connect, InProcess};
use tokio_postgres::SimpleQueryMessage;

/// Display width of a line as the terminal shows it (the sample lake's text is all one-column
/// characters; box drawing and braille are one column too).
fn width(line: &str) -> usize {
    line.trim_end_matches('\r').chars().count()
}

#[test]
fn wide_results_fit_the_terminal_and_x_auto_turns_them_into_records() {
    let home = tempfile::tempdir().unwrap();
    // COLUMNS fits output to 80 columns on a wide pty (where typed lines never wrap).
    let env = [("PAGER", ""), ("COLUMNS", "80")];
    let mut p = spawn_sized(home.path(), "xterm", (250, 50), &env);

    // strata.tables has 16 columns: the middle ones are elided, first and last kept.
    let out = step(
        &mut p,
        "SELECT * FROM strata.tables ORDER BY zone, \"schema\", \"name\";",
        PROMPT,
    );
    let table: Vec<&str> = out
        .lines()
        .filter(|l| l.contains('│') || l.contains('┌'))
        .collect();
    assert!(!table.is_empty(), "{out}");
    for line in &table {
        assert!(width(line) <= 80, "{} columns: {line}", width(line));
    }
    let header = &rows(&out)[0];
    assert_eq!(header.first().map(String::as_str), Some("zone"), "{out}");
    assert_eq!(header.last().map(String::as_str), Some("error"), "{out}");
    assert!(header.iter().any(|c| c == "…"), "{out}");
    assert!(out.contains("16 columns ("), "{out}");

    // At 20 columns (\pset columns), still nothing wider than the screen.
    step(&mut p, "\\pset columns 20", PROMPT);
    let out = step(&mut p, "SUMMARIZE raw.crm.customers;", PROMPT);
    let drawn: Vec<&str> = out.lines().filter(|l| l.contains('│')).collect();
    // Header, types and one line per column of customers.
    assert!(drawn.len() >= 10, "{out}");
    assert!(drawn.iter().any(|l| l.contains("│ cus")), "{out}");
    for line in &drawn {
        assert!(width(line) <= 20, "{} columns: {line}", width(line));
    }
    let out = step(&mut p, "\\pset columns 5", PROMPT);
    assert!(out.contains("\\pset columns takes at least 20"), "{out}");
    step(&mut p, "\\pset columns 0", PROMPT);

    // \x auto: a table too wide for the screen is drawn as records; a narrow one stays a table.
    let out = step(&mut p, "\\x auto", PROMPT);
    assert!(
        out.contains("Expanded display is used automatically."),
        "{out}"
    );
    let out = step(
        &mut p,
        "SELECT * FROM strata.tables WHERE \"name\" = 'customers';",
        PROMPT,
    );
    assert!(out.contains("RECORD 1"), "{out}");
    assert!(out.contains("raw/crm/customers"), "{out}");
    let out = step(&mut p, "SELECT 1 AS one;", PROMPT);
    assert!(has_row(&out, &["1"]), "{out}");
    quit(p);
}

#[test]
fn the_pager_shows_tall_results_and_pset_controls_rows_and_pager() {
    let home = tempfile::tempdir().unwrap();
    let seen = home.path().join("paged.txt");
    let pager = format!("cat > '{}'", seen.display());
    let mut p = spawn_sized(home.path(), "xterm", (250, 24), &[("PAGER", &pager)]);

    // 100 rows: 40 shown (20 first, 20 last), taller than 24 lines, so through the pager.
    let out = step(
        &mut p,
        "SELECT value AS n FROM generate_series(1, 100) ORDER BY n;",
        PROMPT,
    );
    assert!(
        !out.contains("100 rows"),
        "printed instead of paged:\n{out}"
    );
    let paged = std::fs::read_to_string(&seen).expect("the pager got the result");
    assert!(paged.contains("100 rows (40 shown)"), "{paged}");
    assert!(
        has_row(&paged, &["1"]) && has_row(&paged, &["100"]),
        "{paged}"
    );
    assert!(
        !has_row(&paged, &["50"]),
        "the middle rows are elided:\n{paged}"
    );

    // A short result is not paged.
    std::fs::remove_file(&seen).unwrap();
    let out = step(&mut p, "SELECT 'short' AS s;", PROMPT);
    assert!(has_row(&out, &["short"]), "{out}");
    assert!(!seen.exists());

    // \pset pager off prints; \pset maxrows changes how many rows show.
    let out = step(&mut p, "\\pset pager off", PROMPT);
    assert!(out.contains("pager is off."), "{out}");
    let out = step(&mut p, "\\pset maxrows 4", PROMPT);
    assert!(out.contains("maxrows is 4"), "{out}");
    let out = step(
        &mut p,
        "SELECT value AS n FROM generate_series(1, 100) ORDER BY n;",
        PROMPT,
    );
    assert!(out.contains("100 rows (4 shown)"), "{out}");
    for n in ["1", "2", "99", "100"] {
        assert!(has_row(&out, &[n]), "row {n}:\n{out}");
    }
    assert!(!seen.exists(), "paged with the pager off");
    let out = step(&mut p, "\\pset pager sideways", PROMPT);
    assert!(
        out.contains("Error: \\pset pager takes on, off or always"),
        "{out}"
    );
    quit(p);
}

#[test]
fn progress_bar_counts_files_and_ctrl_c_still_cancels() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn_sized(home.path(), "xterm", (250, 50), &[("PAGER", "")]);
    // The clicks' files are scanned first, then the join runs for minutes.
    type_line(
        &mut p,
        "SELECT count(*) FROM raw.events.clicks c, generate_series(1, 10000000000) g WHERE g.value % 7 = c.user_id % 7;",
    );
    let bar = expect(&mut p, "Ctrl-C cancels");
    assert!(
        bar.contains("files of"),
        "no file count in the bar: {bar:?}"
    );
    assert!(bar.contains('%') && bar.contains('▕'), "no bar: {bar:?}");
    p.send_control('c').unwrap();
    expect(&mut p, "Query cancelled.");
    expect(&mut p, PROMPT);
    quit(p);
}

#[test]
fn charts_draw_in_the_terminal_and_say_which_shape_they_need() {
    let home = tempfile::tempdir().unwrap();
    let env = [("PAGER", ""), ("COLUMNS", "100")];
    let mut p = spawn_sized(home.path(), "xterm", (250, 40), &env);
    let out = step(
        &mut p,
        "\\chart bar SELECT status, count(*) AS customers FROM raw.crm.customers GROUP BY status ORDER BY status",
        PROMPT,
    );
    let bars: Vec<&str> = out.lines().filter(|l| l.contains('█')).collect();
    assert_eq!(bars.len(), 3, "one bar per status:\n{out}");
    assert!(bars.iter().any(|l| l.starts_with("active")), "{out}");

    let out = step(
        &mut p,
        "\\chart SELECT dt, sum(revenue) AS revenue FROM sales.daily_revenue GROUP BY dt ORDER BY dt",
        PROMPT,
    );
    assert!(
        out.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "a braille line:\n{out}"
    );
    assert!(out.contains("2026-01-"), "dates on the x axis:\n{out}");

    let out = step(&mut p, "\\chart line SELECT 'a' AS label", PROMPT);
    assert!(
        out.contains("Error: ") && out.contains("\\chart line needs"),
        "{out}"
    );
    let out = step(
        &mut p,
        "\\chart hist SELECT customer_id FROM raw.crm.customers WHERE false",
        PROMPT,
    );
    assert!(out.contains("Error: ") && out.contains("no rows"), "{out}");
    quit(p);
}

#[test]
fn piped_output_is_neither_fitted_nor_paged_and_charts_draw_at_80_columns() {
    // A result piped to a program keeps the plain table, whatever its width.
    let out = strata(&["-q", "-c", "SELECT * FROM strata.tables"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("+-"), "{text}");
    assert!(!text.contains('│') && !text.contains('…'), "{text}");

    let out = strata(&[
        "-c",
        "\\chart line SELECT dt, sum(revenue) AS revenue FROM enhanced.sales.daily_revenue GROUP BY dt ORDER BY dt",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chart = String::from_utf8(out.stdout).unwrap();
    assert!(
        chart
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{chart}"
    );
    assert!(chart.lines().all(|l| width(l) <= 80), "{chart}");
}

#[test]
fn copy_to_files_works_locally() {
    let dir = tempfile::tempdir().unwrap();
    let query =
        "SELECT customer_id, status FROM raw.crm.customers WHERE customer_id IN (3, 11) ORDER BY 1";
    for name in ["c.csv", "c.json", "c.parquet"] {
        let path = dir.path().join(name);
        let sql = format!("COPY ({query}) TO '{}'", path.display());
        let out = strata(&["-q", "-c", &sql]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Answered as PostgreSQL answers it: the row count as a status.
    let again = dir.path().join("again.csv");
    let sql = format!("COPY ({query}) TO '{}'", again.display());
    let out = strata(&["-c", &sql]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "COPY 2\n");
    let csv = std::fs::read_to_string(dir.path().join("c.csv")).unwrap();
    assert_eq!(csv, "customer_id,status\n3,churned\n11,active\n");
    let json = std::fs::read_to_string(dir.path().join("c.json")).unwrap();
    assert_eq!(
        json,
        "{\"customer_id\":3,\"status\":\"churned\"}\n{\"customer_id\":11,\"status\":\"active\"}\n"
    );
    let parquet = std::fs::read(dir.path().join("c.parquet")).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
}

#[tokio::test]
async fn summarize_is_a_query_over_the_server() {
    let server = InProcess::sample();
    let c = connect(&server.url("t", "raw")).await;
    let rows: Vec<Vec<Option<String>>> = c
        .simple_query("SUMMARIZE raw.crm.customers")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(rows.len(), 8);
    assert_eq!(
        rows[0],
        vec![
            s("customer_id"),
            s("bigint"),
            s("1"),
            s("14"),
            s("13"),
            s("7.53846153846"),
            s("4.35153966268"),
            s("4"),
            s("8"),
            s("11"),
            s("13"),
            s("0.00")
        ]
    );
    // Prepared (the extended protocol describes it before running it).
    let stmt = c
        .prepare("SUMMARIZE SELECT segment FROM raw.crm.customers")
        .await
        .unwrap();
    let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "column_name",
            "column_type",
            "min",
            "max",
            "approx_unique",
            "avg",
            "std",
            "q25",
            "q50",
            "q75",
            "count",
            "null_percentage"
        ]
    );
    let row = c.query_one(&stmt, &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>("count"), 13);
    assert_eq!(
        row.get::<_, Option<String>>("min").as_deref(),
        Some("enterprise")
    );

    // A parameter of the summarized query is described and bound like any other.
    let stmt = c
        .prepare("SUMMARIZE SELECT customer_id FROM raw.crm.customers WHERE customer_id > $1")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[tokio_postgres::types::Type::INT8]);
    let row = c.query_one(&stmt, &[&10i64]).await.unwrap();
    assert_eq!(row.get::<_, i64>("count"), 4);
    assert_eq!(row.get::<_, Option<String>>("min").as_deref(), Some("11"));

    // DESCRIBE through the extended protocol: described with the columns it returns.
    let rows = c.query("DESCRIBE raw.crm.customers", &[]).await.unwrap();
    let first: (String, String) = (rows[0].get("column_name"), rows[0].get("data_type"));
    assert_eq!(first, ("customer_id".to_string(), "bigint".to_string()));
    assert_eq!(rows.len(), 8);
}
