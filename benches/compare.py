#!/usr/bin/env python3
"""Strata vs DuckDB on the same files, same machine, same run (issue 4): TPC-H 1-22, latest views
and as-of queries over a CDC history, and start-up. Strata's answers are checked against DuckDB's;
a wrong answer or a failed Strata query makes the run exit 1. Then three Strata-only workloads
(benches/lake_workloads.py): listing a many-file lake locally and on S3 (moto), how soon a running
server sees a new file, and the latest view under a memory limit; a wrong answer or a failed check
there fails the run too, a slow time never does.

  .venv/bin/pip install -r benches/requirements.txt
  cargo build --release --bin strata --example bench_queries --example generate_lake
  .venv/bin/python benches/compare.py [--scale sf1|tiny] [--profile release|dev] [--reps N]
                                      [--json FILE] [--only REGEX] [--workloads LIST] [--skip LIST]

Workloads (--workloads / --skip take a comma-separated list; default all): tpch, latest, as-of,
start-up, listing, freshness, memory. --only filters query names of tpch, latest, as-of and memory.

Data (generated once, deterministic, reused from --cache, default /tmp/strata-compare/<scale>):
  - TPC-H at the scale's factor as Parquet by tpchgen-cli, one folder per table under
    <cache>/lake/enhanced/tpch/ (Strata: enhanced.tpch.<table>, append tables),
  - a CDC history by `examples/generate_lake history` under <cache>/lake/raw/crm/history/
    (Strata: raw.crm.history keyed on id, tombstones op = 'd', ingestion column _ingested_at),
  - a lake of many 10-row Parquet files by `examples/generate_lake files` under <cache>/files-lake
    (Strata: raw.events.many), for listing and freshness.
Scales: sf1 = TPC-H SF1, 10,000,000 history rows over 1,000,000 keys in 20 files, a 10,000-file
              lake, --reps 5;
        tiny = SF 0.01, 20,000 rows over 2,000 keys in 20 files, a 200-file lake, --reps 1 (CI,
               debug build).

Strata runs as one long-lived `bench_queries` process (examples/bench_queries.rs): the lake is
opened once, each query goes through the normal streaming path and the time includes parsing and
planning. DuckDB (Python package, in this process) reads the same Parquet files through views
over read_parquet(); its time includes materialising the result as Arrow. Per query: one warm-up
each (which also produces the answers that are compared), then --reps repetitions alternating
Strata, DuckDB, Strata, DuckDB… Both engines use --threads threads (default: all cores; DuckDB
`SET threads`, Strata's DataFusion target partitions and Tokio workers are the core count).

The DuckDB side of the latest-view queries is what a DuckDB user writes by hand: row_number()
over the key ordered by the ingestion time (newest first, then the other columns descending,
Strata's tie rule), QUALIFY … = 1, tombstones removed; as of a time adds
`WHERE _ingested_at <= ts` before the dedup.
"""
import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import lake_workloads

ROOT = Path(__file__).resolve().parent.parent
TPCH_TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
SCALES = {
    "tiny": dict(sf="0.01", rows=20_000, keys=2_000, files=20, lake_files=200, reps=1),
    "sf1": dict(sf="1", rows=10_000_000, keys=1_000_000, files=20, lake_files=10_000, reps=5),
}
WORKLOADS = ["tpch", "latest", "as-of", "start-up", "listing", "freshness", "memory"]
REL_TOL = 1e-6  # numbers: relative tolerance …
ABS_TOL = 1e-6  # … or this absolute one (a decimal avg of scale 6 against a double)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def ensure_data(cache: Path, scale: dict, bin_dir: Path) -> Path:
    lake = cache / "lake"
    tpch = lake / "enhanced" / "tpch"
    marker = cache / "tpch.done"
    if not marker.exists() or marker.read_text().strip() != scale["sf"]:
        shutil.rmtree(tpch, ignore_errors=True)
        tpch.mkdir(parents=True)
        gen = shutil.which("tpchgen-cli", path=str(Path(sys.executable).parent)) or shutil.which("tpchgen-cli")
        if not gen:
            sys.exit("tpchgen-cli not found: .venv/bin/pip install -r benches/requirements.txt")
        log(f"generating TPC-H SF {scale['sf']} into {tpch}")
        # --parts 1: each table in its own folder, <table>/<table>.1.parquet.
        subprocess.run([gen, "parquet", "-s", scale["sf"], "--parts", "1", f"--output-dir={tpch}", "--quiet"],
                       check=True)
        for t in TPCH_TABLES:
            if not list((tpch / t).glob("*.parquet")):
                sys.exit(f"tpchgen-cli wrote no {t}/*.parquet under {tpch}")
        marker.write_text(scale["sf"] + "\n")
    hist = lake / "raw" / "crm" / "history"
    marker = cache / "history.done"
    want = f"{scale['rows']} {scale['keys']} {scale['files']}"
    if not marker.exists() or marker.read_text().strip() != want:
        shutil.rmtree(hist, ignore_errors=True)
        log(f"generating a CDC history of {scale['rows']:,} rows into {hist}")
        subprocess.run([str(bin_dir / "examples" / "generate_lake"), "history", str(lake),
                        str(scale["rows"]), str(scale["keys"]), str(scale["files"])], check=True)
        marker.write_text(want + "\n")
    return lake


# ---------------------------------------------------------------------------------------------
# Queries: name, workload, Strata SQL, DuckDB SQL, whether row order is part of the answer


def has_order_by(sql: str) -> bool:
    body = re.sub(r"--[^\n]*", "", sql)
    return re.search(r"\border\s+by\b", body, re.I) is not None


def tpch_queries():
    out = []
    for f in sorted((ROOT / "benches" / "tpch").glob("q*.sql")):
        sql = f.read_text()
        out.append(dict(name=f.stem, workload="tpch", strata=sql, duck=sql, ordered=has_order_by(sql)))
    return out


def ts_literal(us: int) -> str:
    return dt.datetime.fromtimestamp(us // 1_000_000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")


def cdc_queries(duck, scale: dict):
    lo, hi = duck.con.sql("SELECT epoch_us(min(_ingested_at)), epoch_us(max(_ingested_at)) FROM history").fetchall()[0]
    t10 = ts_literal(lo + (hi - lo) // 10)
    t50 = ts_literal(lo + (hi - lo) // 2)
    key = scale["keys"] * 37 // 100 + 1

    def latest(where=""):
        return ("(SELECT * FROM (SELECT * FROM history " + where +
                " QUALIFY row_number() OVER (PARTITION BY id ORDER BY _ingested_at DESC,"
                " status DESC NULLS LAST, amount DESC NULLS LAST, op DESC NULLS LAST) = 1)"
                " WHERE op IS DISTINCT FROM 'd') AS h")

    def asof(ts):
        return f"WHERE _ingested_at <= TIMESTAMPTZ '{ts}'"

    count = "SELECT count(*) AS n FROM {t}"
    by_status = "SELECT status, count(*) AS n, sum(amount) AS amount FROM {t} GROUP BY status ORDER BY status"
    t = "raw.crm.history"
    qs = [
        ("latest_count", "latest", count.format(t=t), count.format(t=latest()), False),
        ("latest_by_status", "latest", by_status.format(t=t), by_status.format(t=latest()), True),
        ("latest_point", "latest",
         f"SELECT id, status, amount, op, _ingested_at FROM {t} WHERE id = {key}",
         f"SELECT id, status, amount, op, _ingested_at FROM {latest(f'WHERE id = {key}')}", False),
        ("latest_filter", "latest",
         f"SELECT id, status, amount FROM {t} WHERE status = 'trial' AND amount >= 99.5 ORDER BY id",
         f"SELECT id, status, amount FROM {latest()} WHERE status = 'trial' AND amount >= 99.5 ORDER BY id",
         True),
    ]
    for pct, ts in (("10", t10), ("50", t50)):
        # The session setting (SET strata.as_of), Strata's main time-travel form.
        def s(q):
            return f"SET strata.as_of = '{ts}';\n{q};\nRESET strata.as_of;"
        qs += [
            (f"asof{pct}_count", "as-of", s(count.format(t=t)), count.format(t=latest(asof(ts))), False),
            (f"asof{pct}_by_status", "as-of", s(by_status.format(t=t)),
             by_status.format(t=latest(asof(ts))), True),
        ]
    # The per-table clause, the other form.
    qs.append(("asof10_count_clause", "as-of",
               f"SELECT count(*) AS n FROM {t} FOR SYSTEM_TIME AS OF TIMESTAMP '{t10}'",
               count.format(t=latest(asof(t10))), False))
    return [dict(name=n, workload=w, strata=s, duck=d, ordered=o) for n, w, s, d, o in qs], (t10, t50)


# ---------------------------------------------------------------------------------------------
# Engines


class Strata:
    """One long-lived bench_queries process: a query name per line in, a JSON line out."""

    def __init__(self, exe: Path, lake: Path, files, results: Path, log_path: Path, timeout: float, extra=()):
        self.cmd = [str(exe), "--lake", str(lake), "--search-path", "enhanced.tpch",
                    "--results-dir", str(results), *extra] + [str(f) for f in files]
        self.log_path, self.timeout, self.proc = log_path, timeout, None
        self.start()

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def restart(self):
        self.proc.kill()
        self.proc.wait()
        self.sel.close()
        self.log.close()
        self.start()

    def run(self, name: str) -> dict:
        try:
            self.proc.stdin.write(name + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        if not self.sel.select(timeout=self.timeout):
            self.restart()
            return dict(name=name, ms=None, error=f"timeout after {self.timeout:g} s (process restarted)")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.restart()
            tail = Path(self.log_path).read_text()[-500:]
            return dict(name=name, ms=None, error=f"bench_queries exited with {code}: {tail}")
        return json.loads(line)

    def close(self):
        """Stops the process; returns its peak RSS in bytes (VmHWM, read while it idles)."""
        rss = lake_workloads.vm_hwm(self.proc.pid)
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
        self.log.close()
        return rss


class Duck:
    def __init__(self, lake: Path, threads: int):
        import duckdb
        self.version = duckdb.__version__
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {threads}")
        for t in TPCH_TABLES:
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/enhanced/tpch/{t}/*.parquet')")
        self.con.execute(f"CREATE VIEW history AS SELECT * FROM read_parquet('{lake}/raw/crm/history/*.parquet')")

    def run(self, sql: str):
        t0 = time.perf_counter()
        rel = self.con.sql(sql)
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        return (time.perf_counter() - t0) * 1000.0, table


# ---------------------------------------------------------------------------------------------
# Answers


def kind_of(arrow_type) -> str:
    import pyarrow.types as pt
    if pt.is_integer(arrow_type) or pt.is_floating(arrow_type) or pt.is_decimal(arrow_type):
        return "num"
    if pt.is_timestamp(arrow_type):
        return "ts"
    if pt.is_date(arrow_type):
        return "date"
    if pt.is_boolean(arrow_type):
        return "bool"
    return "str"


def norm_duck(v, kind):
    if v is None:
        return None
    if kind == "num":
        return float(v)
    if kind == "ts":
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(dt.timezone.utc).isoformat()
    if kind == "date":
        return v.isoformat()
    if kind == "bool":
        return "true" if v else "false"
    return str(v)


def norm_strata(text: str, kind):
    """Strata's CSV cell (arrow-csv: empty = NULL) as the same comparable value."""
    if text == "":
        return "" if kind == "str" else None
    if kind == "num":
        return float(text)
    if kind == "ts":
        v = dt.datetime.fromisoformat(text.replace(" ", "T"))
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(dt.timezone.utc).isoformat()
    if kind == "bool":
        return text.lower()
    return text


def same(a, b, kind) -> bool:
    if kind == "str":
        return (a or "") == (b or "")
    if a is None or b is None:
        return a is None and b is None
    if kind == "num":
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def sort_key(row, kinds):
    out = []
    for v, k in zip(row, kinds):
        if v is None or v == "":
            out.append((0, ""))
        elif k == "num":
            out.append((1, float(f"{v:.6g}")))
        else:
            out.append((2, str(v)))
    return out


def check(duck_table, strata_csv: Path, ordered: bool) -> str:
    """'ok' or what differs."""
    kinds = [kind_of(f.type) for f in duck_table.schema]
    d_rows = [tuple(norm_duck(r[c], k) for c, k in zip(duck_table.column_names, kinds))
              for r in duck_table.to_pylist()]
    with open(strata_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        raw = list(reader)
    if header is None:
        return "MISMATCH: Strata wrote no result"
    if len(header) != len(kinds):
        return f"MISMATCH: {len(header)} columns, DuckDB {len(kinds)}"
    try:
        s_rows = [tuple(norm_strata(v, k) for v, k in zip(r, kinds)) for r in raw]
    except ValueError as e:
        return f"MISMATCH: cannot read a Strata value as DuckDB's type: {e}"
    if len(s_rows) != len(d_rows):
        return f"MISMATCH: {len(s_rows)} rows, DuckDB {len(d_rows)}"

    def first_diff(a, b):
        for i, (x, y) in enumerate(zip(a, b)):
            if not all(same(u, v, k) for u, v, k in zip(x, y, kinds)):
                return i, x, y
        return None

    if ordered:
        d = first_diff(s_rows, d_rows)
        if d is None:
            return "ok"
    sd = first_diff(sorted(s_rows, key=lambda r: sort_key(r, kinds)),
                    sorted(d_rows, key=lambda r: sort_key(r, kinds)))
    if sd is None:
        return "ok" if not ordered else "MISMATCH: same rows in another order"
    i, x, y = d if ordered else sd
    return f"MISMATCH at row {i}: Strata {list(x)} vs DuckDB {list(y)}"[:400]


# ---------------------------------------------------------------------------------------------
# Start-up


def time_cmd(cmd, env):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    ms = (time.perf_counter() - t0) * 1000.0
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
    return ms, p.stdout


def startup(strata_exe: Path, lake: Path, reps: int):
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LAKE"}
    duck_cli = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if duck_cli:
        duck_cmd, duck_label = [duck_cli, "-c"], "duckdb CLI"
    else:
        duck_cmd, duck_label = [sys.executable, "-c", "import duckdb,sys; print(duckdb.sql(sys.argv[1]).fetchall())"], \
            "python -c 'import duckdb; …' (no duckdb CLI found)"
    li = f"{lake}/enhanced/tpch/lineitem/*.parquet"
    cases = [
        ("select 1 (Strata on its built-in sample lake)", [str(strata_exe), "-c", "select 1"], duck_cmd + ["select 1"]),
        ("first query: count(*) of lineitem", [str(strata_exe), "--lake", str(lake), "-c",
                                               "SELECT count(*) FROM enhanced.tpch.lineitem"],
         duck_cmd + [f"SELECT count(*) FROM read_parquet('{li}')"]),
        ("first query on the sample lake: count(*) of raw.crm.customers",
         [str(strata_exe), "-c", "SELECT count(*) FROM raw.crm.customers"], None),
    ]
    results = []
    for name, s_cmd, d_cmd in cases:
        log(f"start-up: {name}")
        s_ms, d_ms, err = [], [], None
        for rep in range(reps + 1):  # the first is a warm-up (page cache, the sample lake written)
            ms, out = time_cmd(s_cmd, env)
            if ms is None:
                err = out
                break
            if rep:
                s_ms.append(ms)
            if d_cmd:
                ms, _ = time_cmd(d_cmd, env)
                if rep and ms is not None:
                    d_ms.append(ms)
        results.append(dict(name=name, workload="start-up", strata_ms=s_ms, duckdb_ms=d_ms,
                            check="FAIL: " + err if err else "-", duck_label=duck_label if d_cmd else None))
    return results, duck_label, duck_cli


# ---------------------------------------------------------------------------------------------


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_ms(x):
    if x is None:
        return "—"
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def machine():
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return dict(nproc=os.cpu_count(), memory=mem, cpu=cpu, os=platform.platform())


def git(*a):
    try:
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", choices=sorted(SCALES), default="sf1")
    ap.add_argument("--profile", choices=["release", "dev"], default="release",
                    help="which cargo build to run: target/release or (dev) target/debug")
    ap.add_argument("--bin-dir", type=Path, help="instead of target/<profile>")
    ap.add_argument("--reps", type=int, help="timed repetitions per engine (default: the scale's)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cache", type=Path, help="data and results (default /tmp/strata-compare/<scale>)")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    ap.add_argument("--only", help="run only queries (tpch, latest, as-of, memory) whose name matches this regex")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated workloads to run (default all: {','.join(WORKLOADS)})")
    ap.add_argument("--skip", default="", help="comma-separated workloads not to run")
    ap.add_argument("--no-startup", action="store_true", help="the same as --skip start-up")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per Strata query")
    ap.add_argument("--strata-commit", help="what to record as Strata's version when --bin-dir holds a "
                                            "build of another tree (default: this checkout's HEAD)")
    args = ap.parse_args()
    chosen = {w.strip() for w in args.workloads.split(",") if w.strip()}
    skipped = {w.strip() for w in args.skip.split(",") if w.strip()} | ({"start-up"} if args.no_startup else set())
    if chosen - set(WORKLOADS) or skipped - set(WORKLOADS):
        ap.error(f"unknown workload {', '.join(sorted((chosen | skipped) - set(WORKLOADS)))}; "
                 f"the workloads are {', '.join(WORKLOADS)}")
    selected = [w for w in WORKLOADS if w in chosen and w not in skipped]

    scale = SCALES[args.scale]
    reps = args.reps if args.reps is not None else scale["reps"]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    bin_dir = args.bin_dir or target / ("release" if args.profile == "release" else "debug")
    cache = args.cache or Path("/tmp/strata-compare") / args.scale
    cache.mkdir(parents=True, exist_ok=True)
    bench = bin_dir / "examples" / "bench_queries"
    for exe in (bench, bin_dir / "examples" / "generate_lake"):
        if not exe.exists():
            sys.exit(f"{exe} is missing: cargo build {'--release ' if args.profile == 'release' else ''}"
                     "--bin strata --example bench_queries --example generate_lake")
    needs_cli = [w for w in ("listing", "freshness", "memory") if w in selected]
    if needs_cli and not (bin_dir / "strata").exists():
        sys.exit(f"{bin_dir / 'strata'} is missing (needed by {', '.join(needs_cli)}): "
                 f"cargo build {'--release ' if args.profile == 'release' else ''}--bin strata")
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()  # the figures mean little if something else was running
    lake = ensure_data(cache, scale, bin_dir)

    duck = Duck(lake, args.threads)
    cdc, (t10, t50) = cdc_queries(duck, scale)
    queries = [q for q in tpch_queries() + cdc if q["workload"] in selected]
    if args.only:
        queries = [q for q in queries if re.search(args.only, q["name"])]
    qdir, results = cache / "queries", cache / "results"
    shutil.rmtree(qdir, ignore_errors=True)
    shutil.rmtree(results, ignore_errors=True)
    qdir.mkdir()
    results.mkdir()
    files = []
    for q in queries:
        f = qdir / f"{q['name']}.sql"
        f.write_text(q["strata"])
        files.append(f)
    strata = Strata(bench, lake, files, results, cache / "bench_queries.log", args.timeout)

    rows = []
    for q in queries:
        log(f"{q['name']} …")
        first = strata.run(q["name"])
        s_ms, d_ms, verdict = [], [], None
        if first.get("error"):
            verdict = "FAIL: " + first["error"].replace("\n", " ")[:400]
        try:
            _, table = duck.run(q["duck"])
            n_rows = table.num_rows
        except Exception as e:  # DuckDB failing is the driver's bug, but keep going
            verdict, table, n_rows = verdict or f"DuckDB failed: {e}", None, None
        if verdict is None:
            verdict = check(table, results / f"{q['name']}.csv", q["ordered"])
        for _ in range(reps):
            if not verdict.startswith("FAIL"):
                r = strata.run(q["name"])
                if r.get("error"):
                    verdict = "FAIL: " + r["error"].replace("\n", " ")[:400]
                else:
                    s_ms.append(r["ms"])
            if table is not None:
                d_ms.append(duck.run(q["duck"])[0])
        rows.append(dict(name=q["name"], workload=q["workload"], rows=n_rows, strata_ms=s_ms, duckdb_ms=d_ms,
                         check=verdict, strata_sql=q["strata"] if q["workload"] != "tpch" else None,
                         duckdb_sql=q["duck"] if q["workload"] != "tpch" else None))
        log(f"  Strata {fmt_ms(median(s_ms))} ms, DuckDB {fmt_ms(median(d_ms))} ms, {verdict}")
    strata.close()

    strata_exe = bin_dir / "strata"
    if "memory" in selected:
        mem = [q for q in cdc if q["name"] in lake_workloads.MEMORY_QUERIES
               and (not args.only or re.search(args.only, q["name"]))]

        def start_bench(extra, files, results_dir, log_path):
            return Strata(bench, lake, files, results_dir, log_path, args.timeout, extra)

        rows += lake_workloads.memory(start_bench, strata_exe, lake, mem, reps, cache, args.timeout)

    duck_label, duck_cli_version = None, None
    if "start-up" in selected:
        if strata_exe.exists():
            st, duck_label, duck_cli = startup(strata_exe, lake, max(reps, 3))
            rows += st
            if duck_cli:
                duck_cli_version = subprocess.run([duck_cli, "-version"], capture_output=True, text=True).stdout.strip()
        else:
            log(f"start-up skipped: {strata_exe} is missing (cargo build --bin strata)")
    if "listing" in selected or "freshness" in selected:
        files_lake, files_rows = lake_workloads.ensure_files_lake(cache, scale["lake_files"], bin_dir)
        if "listing" in selected:
            rows += lake_workloads.listing(strata_exe, files_lake, scale["lake_files"], files_rows,
                                           max(reps, 3), cache)
        if "freshness" in selected:
            rows += lake_workloads.freshness(strata_exe, files_lake, reps, cache)

    # ---- report
    for r in rows:
        r["strata_median_ms"], r["duckdb_median_ms"] = median(r["strata_ms"]), median(r["duckdb_ms"])
        r["ratio"] = (r["strata_median_ms"] / r["duckdb_median_ms"]
                      if r["strata_median_ms"] and r["duckdb_median_ms"] else None)
    tp = [r for r in rows if r["workload"] == "tpch" and r["ratio"] and r["check"] == "ok"]
    geo = math.exp(sum(math.log(r["ratio"]) for r in tp) / len(tp)) if tp else None
    worst = max(tp, key=lambda r: r["ratio"]) if tp else None
    by = {r["name"]: r for r in rows}
    lake_summary, lake_lines = lake_workloads.summarize(rows, scale["lake_files"])

    def ratio(a, b):
        x, y = by.get(a, {}).get("strata_median_ms"), by.get(b, {}).get("strata_median_ms")
        return x / y if x and y else None

    summary = dict(
        tpch_geomean_ratio=geo, tpch_queries_in_geomean=len(tp),
        tpch_worst=dict(name=worst["name"], ratio=worst["ratio"]) if worst else None,
        asof10_over_latest_count=ratio("asof10_count", "latest_count"),
        asof10_over_latest_by_status=ratio("asof10_by_status", "latest_by_status"),
        asof10_clause_over_latest_count=ratio("asof10_count_clause", "latest_count"),
        **lake_summary,
        failures=[r["name"] for r in rows if r["check"].startswith("FAIL")],
        mismatches=[r["name"] for r in rows if r["check"].startswith("MISMATCH") or r["check"].startswith("DuckDB")],
    )
    dirty = git("status", "--porcelain")
    info = dict(
        date=started.strftime("%Y-%m-%d %H:%M UTC"),
        command=" ".join([".venv/bin/python", "benches/compare.py"] + sys.argv[1:]),
        scale=dict(name=args.scale, tpch_sf=scale["sf"], history_rows=scale["rows"], history_keys=scale["keys"],
                   history_files=scale["files"], lake_files=scale["lake_files"], as_of_10=t10, as_of_50=t50),
        workloads=selected, only=args.only, reps=reps, threads=args.threads, profile=args.profile, bin_dir=str(bin_dir),
        versions=dict(strata_commit=args.strata_commit or git("rev-parse", "HEAD"),
                      strata_tree_dirty=None if args.strata_commit else bool(dirty), duckdb=duck.version, duckdb_cli=duck_cli_version,
                      startup_duckdb=duck_label),
        machine=dict(machine(), loadavg_before=load_before, loadavg_after=os.getloadavg()),
    )

    lines = [
        f"Strata vs DuckDB — {info['date']}, scale {args.scale} (TPC-H SF {scale['sf']}, history "
        f"{scale['rows']:,} rows / {scale['keys']:,} keys / {scale['files']} files, a {scale['lake_files']:,}-file "
        f"lake), median of {reps}, "
        f"{args.threads} threads each, {args.profile} build; DuckDB {duck.version}; "
        f"{info['machine']['nproc']} cores, {info['machine']['memory']}, {info['machine']['cpu']}; "
        f"load average {load_before[0]:.2f} before, {info['machine']['loadavg_after'][0]:.2f} after",
        "",
        "| workload | query | rows | Strata ms | DuckDB ms | Strata/DuckDB | answer |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        n = "" if r.get("rows") is None else f"{r['rows']:,}"
        ratio_text = "—" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        answer = r["check"].replace("|", "/")
        lines.append(f"| {r['workload']} | {r['name']} | {n} | {fmt_ms(r['strata_median_ms'])} | "
                     f"{fmt_ms(r['duckdb_median_ms'])} | {ratio_text} | {answer} |")
    lines.append("")
    if geo:
        lines.append(f"TPC-H geometric mean Strata/DuckDB: {geo:.2f}x over {len(tp)} queries with a checked answer; "
                     f"worst {worst['name']} {worst['ratio']:.2f}x")
    for k, label in (("asof10_over_latest_count", "count(*)"), ("asof10_over_latest_by_status", "by status"),
                     ("asof10_clause_over_latest_count", "count(*), FOR SYSTEM_TIME AS OF")):
        if summary[k] is not None:
            lines.append(f"Strata as-of 10% / latest, {label}: {summary[k]:.2f} (target ≤ 0.2)")
    lines += lake_lines
    if summary["failures"]:
        lines.append("Strata FAILED: " + ", ".join(summary["failures"]))
    if summary["mismatches"]:
        lines.append("Answers DIFFER: " + ", ".join(summary["mismatches"]))
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(dict(info=info, summary=summary, results=rows), indent=2) + "\n")
    sys.exit(1 if summary["failures"] or summary["mismatches"] else 0)


if __name__ == "__main__":
    main()
