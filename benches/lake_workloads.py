"""The Strata-only workloads of benches/compare.py (issue 4): listing, freshness and memory.

  listing    A lake of many small Parquet files (`generate_lake files DIR N`: N files of 10 rows
             in raw/events/many/dt=…/, 100 a day), opened by the `strata` CLI: wall time of
             `select 1` (open + list) and of a first `count(*)` over every file, on local disk
             and on moto's S3 server on loopback (the same files uploaded with boto3).
  freshness  `strata serve` on a copy of that lake; a psycopg client forces a fresh listing
             (REFRESH), adds one more Parquet file (written under an ignored `_` name, then
             renamed) and polls `count(*)` every 50 ms until the new rows show. Default refresh
             (5 s), an explicit REFRESH after the file is written, and `[lake] refresh = "1s"`.
             Because the listing is fresh when the file lands, the polled times are the worst case.
  memory     The latest-view queries over the CDC history in a fresh `bench_queries` process with
             no limit (the pool peak it reports is what the query needs), then in another one with
             `--memory-limit` a third of that: the answer must equal the unlimited one and the pool
             peak must stay within the limit (else the run fails); peak RSS (VmHWM of that process)
             against 1.5 × limit + 150 MB and spilling (EXPLAIN ANALYZE spill_count) are targets.
             The `strata --memory-limit` CLI form once, with its RSS (VmHWM, sampled).

Each workload returns rows in compare.py's shape: name, workload, rows, strata_ms (list),
duckdb_ms (empty), check ("ok…", "FAIL: …" or "MISMATCH: …"), plus `key` and `detail` for the JSON.
"""
import csv
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MB = 1_000_000
DEFAULT_REFRESH_S = 5.0  # docs/metadata.md#refresh: [lake] refresh, default 5 s
POLL_S = 0.05
MEMORY_QUERIES = ("latest_count", "latest_by_status")
TABLE = "raw.events.many"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def fmt_mb(n):
    if n is None:
        return "—"
    return f"{n / 1000:,.0f} kB" if n < MB else f"{n / MB:,.1f} MB"


def strata_env(extra=None):
    """The environment for a strata process: none of the caller's lake or AWS settings."""
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LAKE" and not k.startswith("AWS_")}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def vm_hwm(pid: int):
    """Peak RSS in bytes of a running process (VmHWM, Linux), None once it is gone.

    Not wait4's ru_maxrss: Linux carries the forking process's peak through exec into it, so a
    child of this driver (DuckDB loaded) would never report less than the driver's own RSS."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def run(cmd, env, timeout=600, rss=False):
    """Runs `cmd`: dict(ms, rc, out, err, rss). With `rss`, a thread samples the process's VmHWM
    every 5 ms until it exits: its peak RSS but for growth in its last few milliseconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, text=True)
        peak, done = [None], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = vm_hwm(proc.pid) or peak[0]
                done.wait(0.005)
        sampler = threading.Thread(target=sample, daemon=True) if rss else None
        if sampler:
            sampler.start()
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        ms = (time.perf_counter() - t0) * 1000.0
        done.set()
        if sampler:
            sampler.join()
        out.seek(0)
        err.seek(0)
        return dict(ms=ms, rc=rc, out=out.read(), err=err.read(), rss=peak[0])


def failure(r):
    return f"FAIL: exit {r['rc']}: {r['err'].strip()[-300:]}".replace("\n", " ")


def row(key, name, workload, ms, check, rows=None, **detail):
    return dict(key=key, name=name, workload=workload, rows=rows, strata_ms=ms, duckdb_ms=[], check=check,
                detail=detail or None)


def same_csv(a: Path, b: Path):
    """None when two CSV results hold the same cells (numbers within 1e-9 relative), else what differs."""
    def read(p):
        with open(p, newline="") as f:
            return list(csv.reader(f))
    x, y = read(a), read(b)
    if len(x) != len(y):
        return f"{len(x) - 1} rows against {len(y) - 1}"
    for i, (r, s) in enumerate(zip(x, y)):
        if len(r) != len(s):
            return f"line {i}: {len(r)} columns against {len(s)}"
        for u, v in zip(r, s):
            if u == v:
                continue
            try:
                if math.isclose(float(u), float(v), rel_tol=1e-9, abs_tol=1e-9):
                    continue
            except ValueError:
                pass
            return f"line {i}: {r} against {s}"[:300]
    return None


# ---------------------------------------------------------------------------------------------
# Listing


def ensure_files_lake(cache: Path, n: int, bin_dir: Path):
    """The many-files lake under <cache>/files-lake, generated once; returns (dir, rows in it)."""
    lake, marker = cache / "files-lake", cache / "files-lake.done"
    if marker.exists() and marker.read_text().split()[0] == str(n):
        return lake, int(marker.read_text().split()[1])
    import pyarrow.parquet as pq
    shutil.rmtree(lake, ignore_errors=True)
    log(f"generating a lake of {n:,} files into {lake}")
    subprocess.run([str(bin_dir / "examples" / "generate_lake"), "files", str(lake), str(n)], check=True)
    files = sorted(lake.rglob("*.parquet"))
    if len(files) != n:
        sys.exit(f"generate_lake files wrote {len(files)} Parquet files under {lake}, expected {n}")
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    marker.write_text(f"{n} {rows}\n")
    return lake, rows


def time_cases(where, lake_uri, env, strata_exe, n_files, rows, reps):
    """Open + select 1, and open + count(*), each a warm-up then `reps` runs."""
    out = []
    cases = [("open", "select 1", "1"), ("count", f"select count(*) from {TABLE}", str(rows))]
    for what, sql, want in cases:
        name = f"{where}, {n_files:,} files: " + ("open + list (select 1)" if what == "open"
                                                   else "open + first query (count(*) of every file)")
        log(f"listing: {name}")
        cmd = [str(strata_exe), "--lake", lake_uri, "-q", "--format", "csv", "-c", sql]
        ms, check = [], "ok"
        for rep in range(reps + 1):
            r = run(cmd, env, timeout=300)
            if r["rc"] != 0:
                check = failure(r)
                break
            got = r["out"].strip().splitlines()[-1:] or [""]
            if got[0] != want:
                check = f"MISMATCH: {sql!r} gave {got[0]!r}, expected {want}"
                break
            if rep:
                ms.append(r["ms"])
        out.append(row(f"{where.split()[0].lower()}_{what}", name, "listing", ms, check,
                       rows=rows if what == "count" else None, files=n_files, lake=lake_uri))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's S3 server on loopback, stopped by stop() (use it in try/finally)."""

    def __init__(self, exe: Path, log_path: Path):
        self.port = free_port()
        self.log = open(log_path, "w")  # it logs every request: a pipe nobody reads would stall it
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not start on {self.port}: "
                                       f"{Path(log_path).read_text()[-300:]}")
                time.sleep(0.1)

    def env(self):
        return dict(AWS_ENDPOINT_URL=self.url, AWS_ALLOW_HTTP="true", AWS_ACCESS_KEY_ID="test",
                    AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")

    def upload(self, bucket: str, root: Path):
        import boto3
        from concurrent.futures import ThreadPoolExecutor
        s3 = boto3.client("s3", endpoint_url=self.url, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        files = [p for p in root.rglob("*") if p.is_file()]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda p: s3.upload_file(str(p), bucket, p.relative_to(root).as_posix()), files))
        return len(files)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def listing(strata_exe: Path, lake: Path, n_files: int, rows: int, reps: int, cache: Path):
    """Local: a warm-up and `reps` runs per case; S3: at most 3 (moto serves a few hundred requests a second)."""
    out = time_cases("local", str(lake), strata_env(), strata_exe, n_files, rows, reps)
    moto_exe = Path(sys.executable).parent / "moto_server"
    s3_names = [("s3_open", f"S3 (moto), {n_files:,} files: open + list (select 1)"),
                ("s3_count", f"S3 (moto), {n_files:,} files: open + first query (count(*) of every file)")]
    try:
        import boto3  # noqa: F401
        if not moto_exe.exists():
            raise ImportError(f"{moto_exe} is missing")
    except ImportError as e:
        why = f"FAIL: moto[server]/boto3 not installed ({e}): .venv/bin/pip install -r benches/requirements.txt"
        return out + [row(k, n, "listing", [], why) for k, n in s3_names]
    moto = None
    try:
        log("listing: starting moto_server and uploading the lake")
        moto = Moto(moto_exe, cache / "moto.log")
        t0 = time.perf_counter()
        uploaded = moto.upload("strata-bench", lake)
        log(f"  uploaded {uploaded:,} files in {time.perf_counter() - t0:.1f} s")
        out += time_cases("S3 (moto)", "s3://strata-bench", strata_env(moto.env()), strata_exe, n_files,
                          rows, min(reps, 3))
    except Exception as e:
        out += [row(k, n, "listing", [], f"FAIL: {type(e).__name__}: {e}"[:400]) for k, n in s3_names]
    finally:
        if moto:
            moto.stop()
    return out


# ---------------------------------------------------------------------------------------------
# Freshness


class Server:
    """`strata serve` on a loopback port picked by the OS; a context manager that stops it."""

    def __init__(self, exe: Path, lake: Path, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([str(exe), "serve", "--lake", str(lake), "--listen", "127.0.0.1:0",
                                      "--statement-timeout", "60s"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
                                     env=strata_env())
        deadline = time.monotonic() + 60
        while True:
            m = re.search(r"^strata: serving .* on [^\s]*:(\d+)$", log_path.read_text(), re.M)
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"strata serve did not start: {log_path.read_text()[-300:]}")
            time.sleep(0.05)

    def connect(self):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user="bench", dbname="raw",
                               autocommit=True, connect_timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def count(conn):
    return conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]


def add_file(src: Path, name: str):
    """Copies `src` beside itself as `name`: written under an ignored `_` name, then renamed, so the
    file appears whole. Returns the time it appeared."""
    tmp = src.parent / f"_{name}"
    shutil.copyfile(src, tmp)
    os.rename(tmp, src.parent / name)
    return time.perf_counter()


def visible_after(conn, src: Path, name: str, added: int, how: str, deadline_s: float):
    """Seconds from the new file's rename to its rows in count(*); raises with what went wrong."""
    conn.execute("REFRESH")  # a fresh listing: the polled time is then the worst case
    before = count(conn)
    t0 = add_file(src, name)
    if how == "statement":
        conn.execute("REFRESH")
        n = count(conn)
        if n != before + added:
            raise AssertionError(f"MISMATCH: count(*) right after REFRESH is {n}, expected {before + added}")
        return time.perf_counter() - t0
    while True:
        n = count(conn)
        took = time.perf_counter() - t0
        if n != before:
            if n != before + added:
                raise AssertionError(f"MISMATCH: count(*) went from {before} to {n}, expected {before + added}")
            return took
        if took > deadline_s:
            raise AssertionError(f"FAIL: the new file was not visible after {took:.1f} s")
        time.sleep(POLL_S)


def freshness(strata_exe: Path, files_lake: Path, reps: int, cache: Path):
    modes = [("default", f"new file visible, default refresh ({DEFAULT_REFRESH_S:g} s)", DEFAULT_REFRESH_S, "poll"),
             ("statement", "new file visible, REFRESH after writing it", DEFAULT_REFRESH_S, "statement"),
             ("1s", 'new file visible, refresh = "1s" in strata.toml', 1.0, "poll")]
    try:
        import psycopg  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError as e:
        return [row(f"fresh_{k}", n, "freshness", [], f"FAIL: {e}: .venv/bin/pip install -r benches/requirements.txt")
                for k, n, _, _ in modes]
    work = cache / "freshness"
    shutil.rmtree(work, ignore_errors=True)
    lake = work / "lake"
    log(f"freshness: copying {files_lake} to {lake}")
    shutil.copytree(files_lake, lake)  # never touch the cached lake
    src = sorted(lake.rglob("*.parquet"))[0]
    added = pq.read_metadata(src).num_rows
    out, serial = [], 0
    for key, name, refresh_s, how in modes:
        if key == "1s":  # read at start: a new server on the same copy
            (lake / "strata.toml").write_text('[lake]\nrefresh = "1s"\n')
        log(f"freshness: {name}")
        ms, check = [], "ok"
        try:
            with Server(strata_exe, lake, work / f"serve-{key}.log") as server, server.connect() as conn:
                for _ in range(reps):
                    serial += 1
                    took = visible_after(conn, src, f"fresh-{serial:04d}.parquet", added, how, 3 * refresh_s + 5)
                    ms.append(took * 1000.0)
        except AssertionError as e:
            check = str(e)
        except Exception as e:
            check = f"FAIL: {type(e).__name__}: {e}".replace("\n", " ")[:400]
        out.append(row(f"fresh_{key}", name, "freshness", ms, check, refresh_s=refresh_s, lake_files=len(
            list(lake.rglob("*.parquet")))))
    return out


# ---------------------------------------------------------------------------------------------
# Memory


def spills(explain_csv: Path):
    """The sum of spill_count over an EXPLAIN ANALYZE result (None if there is none)."""
    if not explain_csv.exists():
        return None
    return sum(int(n) for n in re.findall(r"spill_count=(\d+)", explain_csv.read_text()))


def bench_runs(bench, name: str, reps: int):
    """A warm-up (which writes the CSV) and `reps` timed runs: (ms list, largest pool_peak, rows, error)."""
    ms, peak, rows = [], 0, None
    for rep in range(reps + 1):
        r = bench.run(name)
        if r.get("error"):
            return ms, peak, rows, "FAIL: " + r["error"].replace("\n", " ")[:400]
        if r.get("pool_peak") is None:
            return ms, peak, rows, "FAIL: bench_queries printed no pool_peak (an older build? rebuild it)"
        peak, rows = max(peak, r["pool_peak"]), r["rows"]
        if rep:
            ms.append(r["ms"])
    return ms, peak, rows, None


def memory(start_bench, strata_exe: Path, lake: Path, queries, reps: int, cache: Path, timeout: float):
    """`queries`: dicts with name and strata SQL. `start_bench(extra_args, files, results, log)`
    starts a bench_queries process (compare.Strata) whose close() returns its peak RSS (VmHWM)."""
    work = cache / "memory"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = []
    for q in queries:
        name = q["name"]
        f = work / f"{name}.sql"
        f.write_text(q["strata"])
        explain = work / f"{name}_explain.sql"
        explain.write_text("EXPLAIN ANALYZE " + q["strata"].strip().rstrip(";"))
        log(f"memory: {name}, no limit")
        free = work / "unlimited"
        bench = start_bench([], [f], free, work / "unlimited.log")
        ms, need, n, err = bench_runs(bench, name, reps)
        rss_free = bench.close()
        out.append(row(f"mem_{name}_unlimited", f"{name}, no limit", "memory", ms, err or
                       f"ok; pool peak {fmt_mb(need)}, peak RSS {fmt_mb(rss_free)}", rows=n,
                       pool_peak=need, rss=rss_free))
        if err or not need:
            why = err or "FAIL: the unlimited run reported a pool peak of 0: nothing to limit"
            out.append(row(f"mem_{name}_limited", f"{name}, --memory-limit a third of its need", "memory", [],
                           why if why.startswith("FAIL") else "FAIL: " + why))
            continue
        limit = need // 3
        log(f"memory: {name}, --memory-limit {limit}")
        lim = work / "limited"
        bench = start_bench(["--memory-limit", str(limit)], [f, explain], lim, work / "limited.log")
        ms, peak, n, err = bench_runs(bench, name, reps)
        spilled = None
        if not err:
            r = bench.run(f"{name}_explain")
            spilled = spills(lim / f"{name}_explain.csv") if not r.get("error") else None
        rss = bench.close()
        rss_target = 1.5 * limit + 150 * MB
        if err:
            check = err
        elif (diff := same_csv(free / f"{name}.csv", lim / f"{name}.csv")) is not None:
            check = f"MISMATCH with the unlimited answer: {diff}"
        elif peak > limit:
            check = f"FAIL: pool peak {peak:,} B above the limit {limit:,} B"
        else:
            check = (f"ok; pool peak {fmt_mb(peak)} ≤ limit {fmt_mb(limit)}, peak RSS {fmt_mb(rss)} "
                     f"(target ≤ {fmt_mb(rss_target)}), spill_count {spilled if spilled is not None else '?'}")
        out.append(row(f"mem_{name}_limited", f"{name}, --memory-limit {limit:,} (a third of its need)", "memory",
                       ms, check, rows=n, limit=limit, need=need, pool_peak=peak, rss=rss, rss_target=rss_target,
                       spill_count=spilled))
        log(f"memory: {name}, strata CLI --memory-limit {limit}")
        r = run([str(strata_exe), "--lake", str(lake), "--memory-limit", str(limit), "-q", "--format", "csv",
                 "-c", q["strata"]], strata_env(), timeout=timeout, rss=True)
        if r["rc"] != 0:
            check = failure(r)
        else:
            got = work / f"{name}.cli.csv"
            got.write_text(r["out"])
            diff = same_csv(free / f"{name}.csv", got)
            check = (f"MISMATCH with the unlimited answer: {diff}" if diff is not None
                     else f"ok; peak RSS {fmt_mb(r['rss'])} (target ≤ {fmt_mb(rss_target)})")
        out.append(row(f"mem_{name}_cli", f"{name}, strata -c with --memory-limit {limit:,} (process wall time)",
                       "memory", [r["ms"]] if r["rc"] == 0 else [], check,
                       rows=len(r["out"].strip().splitlines()) - 1 if r["rc"] == 0 else None, limit=limit, rss=r["rss"],
                       rss_target=rss_target))
    return out


# ---------------------------------------------------------------------------------------------
# Summary


def summarize(rows, n_files: int):
    """(summary entries for the JSON, target/result lines for the report)."""
    by = {r["key"]: r for r in rows if r.get("key")}
    med = lambda k: by.get(k, {}).get("strata_median_ms")  # noqa: E731
    summary, lines = {}, []
    ok = lambda k: k in by and by[k]["check"].startswith("ok") and med(k) is not None  # noqa: E731
    if ok("local_open"):
        summary["listing_local_open_ms"] = med("local_open")
        status = ("met" if med("local_open") <= 500 else "missed") if n_files >= 10_000 else \
            f"applies at 10,000 files; this run has {n_files:,}"
        lines.append(f"Strata {n_files:,}-file lake, local: opens (select 1) in {med('local_open'):,.0f} ms, first "
                     f"count(*) {med('local_count'):,.0f} ms (target: open ≤ 500 ms; {status})"
                     if ok("local_count") else
                     f"Strata {n_files:,}-file lake, local: opens (select 1) in {med('local_open'):,.0f} ms "
                     f"(target ≤ 500 ms; {status})")
    if ok("s3_open") and ok("s3_count"):
        summary["listing_s3_open_ms"] = med("s3_open")
        lines.append(f"Strata {n_files:,}-file lake on S3 (moto, loopback): opens in {med('s3_open'):,.0f} ms, first "
                     f"count(*) {med('s3_count'):,.0f} ms")
    fresh = [(k[6:], r) for k, r in by.items() if k.startswith("fresh_") and ok(k)]
    if fresh:
        parts = []
        for mode, r in fresh:
            s, refresh = r["strata_median_ms"] / 1000.0, r["detail"]["refresh_s"]
            summary[f"freshness_{mode}_s"] = s
            if mode == "statement":
                parts.append(f"REFRESH {s * 1000:,.0f} ms")
            else:
                label = "default refresh" if mode == "default" else f'refresh = "{refresh:g}s"'
                parts.append(f"{label} {s:.2f} s (within refresh + 1 s: {'met' if s <= refresh + 1 else 'missed'})")
        lines.append("New file visible to a running server (worst case, from a fresh listing): " + ", ".join(parts))
    for k, r in by.items():
        if not (k.startswith("mem_") and k.endswith("_limited") and ok(k)):
            continue
        d = r["detail"]
        rss_ok = d["rss"] <= d["rss_target"]
        summary[k] = dict(limit=d["limit"], pool_peak=d["pool_peak"], rss=d["rss"], rss_target=d["rss_target"],
                          spill_count=d["spill_count"], rss_met=rss_ok)
        lines.append(f"Memory-limited latest view {k[4:-8]}: limit {fmt_mb(d['limit'])} (a third of "
                     f"{fmt_mb(d['need'])}), pool peak {fmt_mb(d['pool_peak'])} (within the limit), "
                     f"peak RSS {fmt_mb(d['rss'])} (target ≤ 1.5 × limit + 150 MB = {fmt_mb(d['rss_target'])}: "
                     f"{'met' if rss_ok else 'missed'}), spill_count {d['spill_count']} (completes by spilling: "
                     f"{'met' if d['spill_count'] else 'missed'})")
    return summary, lines
