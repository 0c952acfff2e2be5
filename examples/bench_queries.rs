//! Times SQL queries on a lake for the Strata-vs-DuckDB comparison (`benches/compare.py`).
//!
//! ```text
//! bench_queries --lake DIR [--search-path ZONE.SCHEMA] [--results-dir DIR]
//!               [--memory-limit SIZE] [--reps N [--out FILE]] QUERY_FILE...
//! ```
//!
//! Each `QUERY_FILE` holds one query (more statements are allowed: all run, in one session, in
//! the time); its name is the file name without `.sql`. The lake is opened once, one session is made,
//! and `--search-path` (e.g. `enhanced.tpch`) is applied to it.
//!
//! Without `--reps` it serves the driver: it reads query names from stdin, one a line, runs the
//! query and answers with one JSON line on stdout, so a driver can alternate engines per
//! repetition without reopening the lake:
//!
//! ```text
//! > q01
//! < {"name":"q01","ms":12.345,"rows":4,"batches":1,"bytes":2432,"pool_peak":1048576,"error":null}
//! ```
//!
//! `pool_peak` is the most memory the query's operators reserved at once from the engine's
//! pool (bounded by `--memory-limit`, beyond which they spill).
//!
//! With `--reps N` it runs every query once untimed and then N times, and writes one JSON
//! object (`{"queries":[{"name":…,"ms":[…],"rows":…,"error":…}]}`) to `--out` or stdout.
//!
//! A run is the normal streaming path, as the REPL and the server use it: parse, plan
//! (planning is inside the time: a user pays for it), execute, and count rows and bytes (Arrow
//! memory) as batches arrive; nothing is printed. The first run of each query writes its whole
//! result to `--results-dir/<name>.csv` (with a header; that run is the driver's warm-up), for
//! comparing answers.
use futures::StreamExt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use strata::arrow::array::RecordBatch;
use strata::arrow::csv;
use strata::{Engine, Lake, Output, Session};

struct Query {
    name: String,
    sql: String,
}

struct Run {
    ms: f64,
    pool_peak: usize,
    rows: usize,
    batches: usize,
    bytes: usize,
}

/// Runs every statement of `sql`; counts the rows of all result sets and, when `save` is
/// given, writes the last result set there as CSV (so `SET …; SELECT …; RESET …` saves the
/// SELECT's rows).
async fn run(session: &Session, sql: &str, save: Option<&Path>) -> Result<Run, String> {
    session.reset_memory_peak();
    let start = Instant::now();
    let stmts = session.parse(sql).map_err(|e| e.to_string())?;
    let (mut rows, mut batches, mut bytes) = (0, 0, 0);
    for stmt in &stmts {
        let out = session.execute(stmt).await.map_err(|e| e.to_string())?;
        let Output::Rows(mut stream) = out else {
            continue;
        };
        let mut writer = match save {
            Some(path) => Some(csv::WriterBuilder::new().with_header(true).build(
                std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?),
            )),
            None => None,
        };
        let mut wrote_any = false;
        while let Some(batch) = stream.next().await {
            let batch: RecordBatch = batch.map_err(|e| e.to_string())?;
            rows += batch.num_rows();
            batches += 1;
            bytes += batch.get_array_memory_size();
            if let Some(w) = writer.as_mut() {
                w.write(&batch).map_err(|e| e.to_string())?;
                wrote_any = true;
            }
        }
        if let Some(w) = writer.as_mut() {
            if !wrote_any {
                // No batch at all: still write the header so the file says which columns.
                w.write(&RecordBatch::new_empty(stream.schema()))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(Run {
        ms: start.elapsed().as_secs_f64() * 1000.0,
        pool_peak: session.memory().map_or(0, |m| m.peak),
        rows,
        batches,
        bytes,
    })
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn answer(name: &str, result: &Result<Run, String>) -> String {
    match result {
        Ok(r) => format!(
            "{{\"name\":{},\"ms\":{:.3},\"rows\":{},\"batches\":{},\"bytes\":{},\"pool_peak\":{},\"error\":null}}",
            json_str(name),
            r.ms,
            r.rows,
            r.batches,
            r.bytes,
            r.pool_peak
        ),
        Err(e) => format!(
            "{{\"name\":{},\"ms\":null,\"rows\":null,\"batches\":null,\"bytes\":null,\"pool_peak\":null,\"error\":{}}}",
            json_str(name),
            json_str(e)
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: bench_queries --lake DIR [--search-path ZONE.SCHEMA] [--results-dir DIR] \
                 [--memory-limit SIZE] [--cluster HOST:PORT] [--reps N [--out FILE]] QUERY_FILE...";
    let (mut lake, mut search_path, mut results_dir, mut reps, mut out) =
        (None, None, None, None, None);
    let mut memory_limit = None;
    let mut cluster = None;
    let mut files = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(usage);
        match a.as_str() {
            "--lake" => lake = Some(value()?),
            "--search-path" => search_path = Some(value()?),
            "--results-dir" => results_dir = Some(PathBuf::from(value()?)),
            "--reps" => reps = Some(value()?.parse::<usize>()?),
            "--memory-limit" => memory_limit = Some(strata::units::parse_size(&value()?)?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--cluster" => cluster = Some(value()?),
            "-h" | "--help" => {
                println!("{usage}");
                return Ok(());
            }
            f if !f.starts_with("--") => files.push(PathBuf::from(f)),
            _ => return Err(format!("unknown option {a}\n{usage}").into()),
        }
    }
    let lake = lake.ok_or(usage)?;
    let mut queries = vec![];
    for f in &files {
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("query file without a name")?
            .to_string();
        queries.push(Query {
            name,
            sql: std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        });
    }
    if let Some(dir) = &results_dir {
        std::fs::create_dir_all(dir)?;
    }

    let lake = Lake::open(&lake).await?;
    // With --cluster, queries run on a Strata cluster (benches/cluster.py), planned here.
    let engine = Engine::new(lake, memory_limit)?;
    let engine = match &cluster {
        Some(address) => {
            strata::cluster::Cluster::connect(address, std::time::Duration::from_secs(5))
                .await?
                .attach(engine)
        }
        None => engine,
    };
    let session = engine.session(None)?;
    if let Some(path) = &search_path {
        run(&session, &format!("SET search_path = '{path}'"), None).await?;
    }
    let save_path = |name: &str| results_dir.as_ref().map(|d| d.join(format!("{name}.csv")));

    match reps {
        // Batch: one untimed run that writes the result, then `reps` timed runs.
        Some(reps) => {
            let mut objects = vec![];
            for q in &queries {
                let first = run(&session, &q.sql, save_path(&q.name).as_deref()).await;
                let mut times = vec![];
                let mut result = first.map(|r| r.rows);
                if result.is_ok() {
                    for _ in 0..reps {
                        match run(&session, &q.sql, None).await {
                            Ok(r) => times.push(format!("{:.3}", r.ms)),
                            Err(e) => {
                                result = Err(e);
                                break;
                            }
                        }
                    }
                }
                let (rows, error) = match result {
                    Ok(n) => (n.to_string(), "null".to_string()),
                    Err(e) => ("null".to_string(), json_str(&e)),
                };
                objects.push(format!(
                    "{{\"name\":{},\"ms\":[{}],\"rows\":{rows},\"error\":{error}}}",
                    json_str(&q.name),
                    times.join(",")
                ));
            }
            let text = format!("{{\"queries\":[\n{}\n]}}\n", objects.join(",\n"));
            match out {
                Some(path) => std::fs::write(path, text)?,
                None => print!("{text}"),
            }
        }
        // Serve: a query name per stdin line, a JSON line per answer.
        None => {
            let mut seen = std::collections::HashSet::new();
            let stdout = std::io::stdout();
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                let name = line.trim();
                if name.is_empty() {
                    continue;
                }
                if name == "quit" {
                    break;
                }
                let result = match queries.iter().find(|q| q.name == name) {
                    None => Err(format!("no query named {name}")),
                    Some(q) => {
                        let save = if seen.insert(name.to_string()) {
                            save_path(name)
                        } else {
                            None
                        };
                        run(&session, &q.sql, save.as_deref()).await
                    }
                };
                let mut out = stdout.lock();
                writeln!(out, "{}", answer(name, &result))?;
                out.flush()?;
            }
        }
    }
    Ok(())
}
