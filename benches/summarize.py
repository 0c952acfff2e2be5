#!/usr/bin/env python3
"""SUMMARIZE (docs/repl.md, "Exploring a table"), Strata against DuckDB on the same Parquet
files, same machine, same run: the history of a CDC table (every row) and its latest view
(newest row per key, deletes removed; DuckDB with `QUALIFY row_number()`).

  .venv/bin/pip install -r benches/requirements.txt
  cargo build --release --bin strata --example generate_lake
  .venv/bin/python benches/summarize.py [--scale sf1|tiny] [--profile release|dev] [--reps N]

Scales as benches/delta.py's: sf1 = a 10,000,000-row history over 1,000,000 keys in 20 files
(shared with delta.py's cache); tiny = 20,000 rows (a smoke run, debug build). Strata's time is
the process's wall time (`strata -c`, opening the lake included) and its peak RSS; DuckDB's is
the query in this process, on as many threads as the machine has cores. The answers are
checked: the same columns, and per column the same count, null_percentage, min and max; a
wrong answer makes the run exit 1, a slow time never does.
"""
import argparse
import csv
import datetime as dt
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from delta import REPO, SCALES, history_lake, log, run  # noqa: E402

# DuckDB's latest view of the history, as benches/compare.py writes it.
LATEST = ("SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "
          "_ingested_at DESC, status DESC NULLS LAST, amount DESC NULLS LAST, op DESC NULLS LAST) "
          "AS rn FROM {files}) WHERE rn = 1 AND op IS DISTINCT FROM 'd'")


def value(text):
    """A summary's text as a comparable value: a number, an instant, or the text itself. DuckDB
    writes `2026-01-01 00:00:00.4+00`, Arrow `2026-01-01T00:00:00.400Z`."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    t = str(text).replace("Z", "+00:00")
    if t.endswith("+00"):
        t += ":00"
    try:
        return dt.datetime.fromisoformat(t)
    except ValueError:
        return str(text)


def rows_by_column(rows):
    return {r[0]: r for r in rows}


def agree(duck_rows, strata_rows) -> str:
    """Why the two summaries disagree, or '' (count, null_percentage, min, max per column)."""
    d, s = rows_by_column(duck_rows), rows_by_column(strata_rows)
    if list(d) != list(s):
        return f"columns: DuckDB {list(d)}, Strata {list(s)}"
    for name in d:
        dr, sr = d[name], s[name]
        if int(dr[10]) != int(sr[10]):
            return f"{name}: count {dr[10]} vs {sr[10]}"
        if float(dr[11]) != float(sr[11]):
            return f"{name}: null_percentage {dr[11]} vs {sr[11]}"
        for i, stat in ((2, "min"), (3, "max")):
            a, b = dr[i], sr[i]
            ok = value(a) == value(b)
            if not ok:
                return f"{name}: {stat} {a!r} vs {b!r}"
    return ""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=SCALES, default="sf1")
    p.add_argument("--profile", choices=["release", "dev"], default="release")
    p.add_argument("--reps", type=int)
    p.add_argument("--cache", type=Path)
    args = p.parse_args()
    import duckdb

    scale = SCALES[args.scale]
    reps = args.reps or scale["reps"]
    exe_dir = REPO / "target" / ("release" if args.profile == "release" else "debug")
    exe = str(exe_dir / "strata")
    cache = args.cache or Path(f"/tmp/strata-delta-bench/{args.scale}")
    cache.mkdir(parents=True, exist_ok=True)
    lake = history_lake(exe_dir, cache, scale, scale["files"], f"history-{scale['history']}")
    files = f"read_parquet('{lake}/raw/crm/history/*.parquet')"
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")

    print(f"# SUMMARIZE, scale {args.scale} ({scale['history']:,}-row history), {args.profile} build, "
          f"{os.cpu_count()} cores, median of {reps}")
    print("| input | Strata s | DuckDB s | Strata / DuckDB | Strata peak RSS MB |\n|---|---:|---:|---:|---:|")
    wrong = False
    for label, strata_sql, duck_sql in [
        ("history (every row)", "SUMMARIZE raw.crm.history_history", f"SUMMARIZE SELECT * FROM {files}"),
        ("latest view", "SUMMARIZE raw.crm.history", f"SUMMARIZE {LATEST.format(files=files)}"),
    ]:
        strata_times, rss, strata_rows = [], [], None
        for _ in range(reps):
            took, out, peak = run([exe, "--lake", str(lake), "-q", "--format", "csv", "-c", strata_sql], rss=True)
            strata_times.append(took)
            rss.append(peak or 0)
            strata_rows = list(csv.reader(io.StringIO(out)))[1:]
        duck_times, duck_rows = [], None
        for _ in range(reps):
            t = time.perf_counter()
            duck_rows = con.sql(duck_sql).fetchall()
            duck_times.append(time.perf_counter() - t)
        why = agree(duck_rows, strata_rows)
        if why:
            log(f"WRONG: {label}: {why}")
            wrong = True
        s, d = statistics.median(strata_times), statistics.median(duck_times)
        print(f"| {label} | {s:.3f} | {d:.3f} | {s / d:.2f}x | {max(rss) / 1024:.0f} |")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
