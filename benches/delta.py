#!/usr/bin/env python3
"""Delta Lake writes and reads (docs/delta.md), Strata against DuckDB and Python `deltalake` on
the same files, same machine, same run. Four workloads:

  ingest   TPC-H lineitem as CSV (tpchgen-cli) appended to a Delta table:
           `strata ingest` vs DuckDB (`COPY … FROM 'x.csv'` into a table, then `COPY … TO
           'x.parquet'`) vs Python `deltalake.write_deltalake` of a pyarrow CSV read. Rows/s.
  latest   the latest view over a CDC history stored as a Delta table vs the same files as
           plain Parquet (`strata convert` of a copy): the log must cost at most 10%.
  optimize `OPTIMIZE` of a history split into many small files: wall time and peak RSS of the
           `strata optimize` process, and the latest view before and after (goal: 2× faster).
  gate     `strata ingest` of the lineitem CSV into a table without expectations and into one
           with six (docs/quality.md; reject mode, all holding): the quality gate's cost
           (goal: at most 1.3× the time), and apart, the same plus `unique` on the table's key.

  .venv/bin/pip install -r benches/requirements.txt deltalake
  cargo build --release --bin strata --example generate_lake
  .venv/bin/python benches/delta.py [--scale sf1|tiny] [--profile release|dev] [--reps N]
                                    [--workloads ingest,latest,optimize,gate] [--strata PATH]

Scales: sf1 = lineitem SF1 (6,001,215 rows), a 10,000,000-row history (1,000,000 keys, 20 files),
              OPTIMIZE over 10,000 files of 1,000 rows;
        tiny = SF 0.01, 20,000 rows over 2,000 keys, 200 files (a smoke run, debug build).
Every answer is checked (row counts, and the latest view's count equal on Delta and Parquet, and
before and after OPTIMIZE, and the gated ingests' row counts and a refusal's failing count); a
wrong answer makes the run exit 1, a slow time never does.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCALES = {
    "sf1": dict(tpch=1, history=10_000_000, keys=1_000_000, files=20, small_files=10_000, reps=3),
    "tiny": dict(tpch=0.01, history=20_000, keys=2_000, files=20, small_files=200, reps=1),
}
LATEST = "SELECT count(*), sum(amount) FROM raw.crm.history"


def same(a, b):
    """Two `count, sum` answers agree: counts exactly, float sums to 1e-9 (summation order
    differs between file layouts)."""
    (ca, sa), (cb, sb) = a.split(","), b.split(",")
    return ca == cb and abs(float(sa) - float(sb)) <= 1e-9 * max(1.0, abs(float(sa)))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def peak_rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None


def run(cmd, env=None, rss=False):
    """Runs `cmd`; returns (seconds, stdout, peak RSS in kB or None). Fails the run on error."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [None]
    if rss:
        def sample():
            while proc.poll() is None:
                v = peak_rss_kb(proc.pid)
                if v:
                    peak[0] = max(peak[0] or 0, v)
                time.sleep(0.02)
        threading.Thread(target=sample, daemon=True).start()
    out, err = proc.communicate()
    took = time.perf_counter() - t
    if proc.returncode != 0:
        log(f"FAILED: {' '.join(map(str, cmd))}\n{err}")
        sys.exit(1)
    return took, out, peak[0]


def strata_value(exe, lake, sql):
    _, out, _ = run([exe, "--lake", str(lake), "-q", "--format", "csv", "-c", sql])
    return out.strip().splitlines()[1]


def median_time(fn, reps):
    return statistics.median(fn() for _ in range(reps))


def lineitem_csv(scale, cache):
    """TPC-H lineitem as CSV (tpchgen-cli, generated once into the cache) and its row count."""
    csv_dir = cache / f"tpch-csv-{scale['tpch']}"
    csv_file = csv_dir / "lineitem.csv"
    if not csv_file.exists():
        csv_dir.mkdir(parents=True, exist_ok=True)
        gen = shutil.which("tpchgen-cli", path=str(Path(sys.executable).parent)) or "tpchgen-cli"
        run([gen, "csv", "-s", str(scale["tpch"]), "--tables", "lineitem", "--output-dir", str(csv_dir)])
    return csv_file, sum(1 for _ in open(csv_file)) - 1


def ingest(args, scale, exe, cache):
    import duckdb
    import pyarrow.csv as pacsv
    from deltalake import write_deltalake

    csv_file, rows = lineitem_csv(scale, cache)
    results = {}

    def strata_once():
        lake = cache / "ingest-lake"
        shutil.rmtree(lake, ignore_errors=True)
        lake.mkdir()
        took, _, _ = run([exe, "--lake", str(lake), "-q", "ingest", "raw.tpch.lineitem", str(csv_file)])
        got = int(strata_value(exe, lake, "SELECT count(*) FROM raw.tpch.lineitem"))
        if got != rows:
            log(f"WRONG: strata ingest wrote {got} rows of {rows}")
            sys.exit(1)
        return took

    def duckdb_once():
        out = cache / "ingest-duck.parquet"
        t = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"CREATE TABLE lineitem AS SELECT * FROM read_csv('{csv_file}')")
        con.execute(f"COPY lineitem TO '{out}' (FORMAT parquet)")
        return time.perf_counter() - t

    def deltalake_once():
        path = cache / "ingest-py-delta"
        shutil.rmtree(path, ignore_errors=True)
        t = time.perf_counter()
        write_deltalake(str(path), pacsv.read_csv(str(csv_file)))
        return time.perf_counter() - t

    for name, fn in [("strata ingest", strata_once), ("duckdb COPY csv→parquet", duckdb_once),
                     ("python write_deltalake", deltalake_once)]:
        results[name] = median_time(fn, args.reps)
    print(f"\n## ingest: lineitem SF{scale['tpch']} CSV ({rows:,} rows), median of {args.reps}")
    print("| writer | seconds | rows/s |\n|---|---:|---:|")
    for name, s in results.items():
        print(f"| {name} | {s:.2f} | {rows / s:,.0f} |")


# The gate workload's expectations on lineitem (docs/quality.md), reject mode, all holding on
# TPC-H data: six row-level ones of different kinds, and a `rows` bound the writer counts anyway.
GATE = """[tables."raw.tpch.lineitem".expect]
not_null = ["l_orderkey", "l_partkey"]
between = { l_quantity = [1, 50], l_discount = [0.0, 0.1] }
in_set = { l_returnflag = ["A", "N", "R"] }
matches = { l_shipmode = '^(REG AIR|AIR|RAIL|SHIP|TRUCK|MAIL|FOB)$' }
rows = [1, 100000000]
on_failure = "reject"
"""
# The same with `unique` on lineitem's key, which reads the whole table after the write.
GATE_UNIQUE = GATE.replace('rows = [', 'unique = [["l_orderkey", "l_linenumber"]]\nrows = [')


def gate(args, scale, exe, cache):
    """`strata ingest` of lineitem CSV into a table without expectations and into one with the
    six of GATE (and, reported apart, GATE_UNIQUE): the gate's cost (goal: at most 1.3x)."""
    csv_file, rows = lineitem_csv(scale, cache)

    def once(config):
        lake = cache / "gate-lake"
        shutil.rmtree(lake, ignore_errors=True)
        lake.mkdir()
        if config:
            (lake / "strata.toml").write_text(config)
        # A batch the gate refuses fails the run here (reject mode: the ingest exits 1).
        took, _, _ = run([exe, "--lake", str(lake), "-q", "ingest", "raw.tpch.lineitem", str(csv_file)])
        got = int(strata_value(exe, lake, "SELECT count(*) FROM raw.tpch.lineitem"))
        if got != rows:
            log(f"WRONG: gated ingest wrote {got} rows of {rows}")
            sys.exit(1)
        return took

    variants = [("no expectations", ""), ("6 expectations (reject)", GATE),
                ("6 expectations + unique(l_orderkey, l_linenumber)", GATE_UNIQUE)]
    times = {name: [] for name, _ in variants}
    for _ in range(args.reps):  # alternating, so a slow moment of the machine hits all alike
        for name, config in variants:
            times[name].append(once(config))
    # The gate is on and counts right: one more lake refuses a batch with 'R' left out of the
    # set, with as many failing rows as SQL counts 'R' rows in the table written above.
    lake = cache / "gate-lake"
    want = int(strata_value(exe, lake, "SELECT count(*) FROM raw.tpch.lineitem WHERE l_returnflag = 'R'"))
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir()
    (lake / "strata.toml").write_text(GATE.replace('["A", "N", "R"]', '["A", "N"]'))
    proc = subprocess.run([exe, "--lake", str(lake), "-q", "ingest", "raw.tpch.lineitem", str(csv_file)],
                          capture_output=True, text=True)
    said = re.search(r"in_set\(l_returnflag\): ([0-9]+) rows", proc.stderr)
    if proc.returncode == 0 or not said or int(said.group(1)) != want:
        log(f"WRONG: the gate should refuse {want} rows of in_set(l_returnflag):\n{proc.stderr}")
        sys.exit(1)
    med = {name: statistics.median(t) for name, t in times.items()}
    base = med["no expectations"]
    print(f"\n## gate: strata ingest of lineitem SF{scale['tpch']} CSV ({rows:,} rows), median of {args.reps}")
    print("| expectations | seconds | rows/s | vs none |\n|---|---:|---:|---:|")
    for name, s in med.items():
        print(f"| {name} | {s:.2f} | {rows / s:,.0f} | {s / base:.2f}x |")
    ratio = med["6 expectations (reject)"] / base
    print(f"gate cost, 6 expectations: {ratio:.2f}x the ingest without (goal ≤ 1.30x: "
          f"{'met' if ratio <= 1.3 else 'not met'}); with unique: "
          f"{med['6 expectations + unique(l_orderkey, l_linenumber)'] / base:.2f}x (not in the goal)")


def history_lake(exe_dir, cache, scale, files, name):
    lake = cache / name
    if not lake.exists():
        run([str(exe_dir / "examples/generate_lake"), "history", str(lake), str(scale["history"]),
             str(scale["keys"]), str(files)])
    return lake


def latest(args, scale, exe, exe_dir, cache):
    plain = history_lake(exe_dir, cache, scale, scale["files"], f"history-{scale['history']}")
    delta = cache / f"history-{scale['history']}-delta"
    if not delta.exists():
        shutil.copytree(plain, delta)
        run([exe, "--lake", str(delta), "-q", "convert", "raw.crm.history"])
    a = strata_value(exe, plain, LATEST)
    b = strata_value(exe, delta, LATEST)
    if not same(a, b):
        log(f"WRONG: latest view differs: parquet {a} vs delta {b}")
        sys.exit(1)
    times = {}
    for name, lake in [("plain Parquet", plain), ("Delta", delta)] * 1:
        times[name] = median_time(lambda: run([exe, "--lake", str(lake), "-q", "-c", LATEST])[0], args.reps)
    print(f"\n## latest view over a {scale['history']:,}-row history, median of {args.reps} (process wall time)")
    print("| storage | seconds |\n|---|---:|")
    for name, s in times.items():
        print(f"| {name} | {s:.3f} |")
    print(f"Delta / Parquet: {times['Delta'] / times['plain Parquet']:.2f}x (goal ≤ 1.10x)")


def optimize(args, scale, exe, exe_dir, cache):
    src = history_lake(exe_dir, cache, scale, scale["small_files"], f"history-{scale['history']}-small")
    lake = cache / "optimize-lake"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.copytree(src, lake)
    run([exe, "--lake", str(lake), "-q", "convert", "raw.crm.history"])
    answer = strata_value(exe, lake, LATEST)
    before = median_time(lambda: run([exe, "--lake", str(lake), "-q", "-c", LATEST])[0], args.reps)
    took, _, rss = run([exe, "--lake", str(lake), "-q", "optimize", "raw.crm.history"], rss=True)
    after_answer = strata_value(exe, lake, LATEST)
    if not same(after_answer, answer):
        log(f"WRONG: OPTIMIZE changed the latest view: {answer} → {after_answer}")
        sys.exit(1)
    after = median_time(lambda: run([exe, "--lake", str(lake), "-q", "-c", LATEST])[0], args.reps)
    files = strata_value(exe, lake, "SELECT files FROM raw.strata.tables WHERE name = 'history'")
    print(f"\n## OPTIMIZE of {scale['small_files']:,} small files ({scale['history']:,} rows)")
    print(f"OPTIMIZE: {took:.2f} s, peak RSS {rss / 1024 if rss else float('nan'):.0f} MB, {files} files after")
    print(f"latest view: {before:.3f} s before, {after:.3f} s after ({before / after:.1f}x; goal ≥ 2x)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=SCALES, default="sf1")
    p.add_argument("--profile", choices=["release", "dev"], default="release")
    p.add_argument("--reps", type=int)
    p.add_argument("--cache", type=Path)
    p.add_argument("--workloads", default="ingest,latest,optimize,gate")
    p.add_argument("--strata", help="the strata binary (default: REPO/target/<profile>/strata)")
    args = p.parse_args()
    scale = SCALES[args.scale]
    args.reps = args.reps or scale["reps"]
    exe_dir = REPO / "target" / ("release" if args.profile == "release" else "debug")
    exe = args.strata or str(exe_dir / "strata")
    cache = args.cache or Path(f"/tmp/strata-delta-bench/{args.scale}")
    cache.mkdir(parents=True, exist_ok=True)
    print(f"# Delta benchmarks, scale {args.scale}, {args.profile} build, {os.cpu_count()} cores")
    wanted = args.workloads.split(",")
    if "ingest" in wanted:
        ingest(args, scale, exe, cache)
    if "latest" in wanted:
        latest(args, scale, exe, exe_dir, cache)
    if "optimize" in wanted:
        optimize(args, scale, exe, exe_dir, cache)
    if "gate" in wanted:
        gate(args, scale, exe, cache)


if __name__ == "__main__":
    main()
