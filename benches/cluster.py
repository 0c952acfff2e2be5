#!/usr/bin/env python3
"""Strata in process vs the same Strata on a local Ballista cluster (issue 15), same data, same
machine, same run: TPC-H 1-22 and latest views over the CDC history of benches/compare.py. The
cluster is one `strata scheduler` and two `strata executor` processes on loopback; the client is
one long-lived `bench_queries --cluster` process, the in-process side one `bench_queries`. Every
answer of the cluster is checked against the in-process one (numbers to 1e-9 relative, rows
sorted when the query has no ORDER BY); a difference or a failed query exits 1, a slow time never
does. Per cluster query the scheduler's REST API gives each stage's tasks and rows in and out, and
the scheduler's log line for the job (cluster/src/shuffle_report.rs) the rows and bytes each stage
wrote through the shuffle for the next one.

  .venv/bin/pip install -r benches/requirements.txt
  cargo build --release --bin strata --example bench_queries --example generate_lake
  .venv/bin/python benches/cluster.py [--scale sf1|tiny] [--profile release|dev] [--reps N]
                                      [--slots N] [--bin-dir DIR] [--json FILE]

On this 2-core machine the cluster cannot be faster: the figures are what distribution costs
(plan encoding, job scheduling, shuffles through files and Arrow Flight), not a speed-up.
"""
import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import compare

ROOT = compare.ROOT
LATEST = {
    "latest_count": "SELECT count(*) AS n FROM raw.crm.history",
    "latest_by_status": "SELECT status, count(*) AS n, sum(amount) AS amount FROM raw.crm.history "
                        "GROUP BY status ORDER BY status",
    "latest_filter": "SELECT id, status, amount FROM raw.crm.history "
                     "WHERE status = 'trial' AND amount >= 99.5 ORDER BY id",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rest(address: str, path: str):
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as r:
        return json.loads(r.read())


class Cluster:
    """A scheduler and two executors, each a `strata` process; stopped by close()."""

    def __init__(self, strata: Path, slots: int, logs: Path):
        self.address = f"127.0.0.1:{free_port()}"
        self.procs = []
        logs.mkdir(parents=True, exist_ok=True)

        self.logs = logs
        # The scheduler's per-job shuffle line is logged at info (see shuffles()).
        env = dict(os.environ, RUST_LOG="warn,strata_cluster=info")

        def spawn(name, args):
            log = open(logs / f"{name}.log", "w")
            self.procs.append(subprocess.Popen([str(strata), *args], stdout=subprocess.DEVNULL, stderr=log,
                                               env=env))

        spawn("scheduler", ["scheduler", "--bind", self.address])
        for name in ("e1", "e2"):
            spawn(name, ["executor", "--scheduler", self.address, "--name", name, "--slots", str(slots),
                         "--bind", f"127.0.0.1:{free_port()}", "--grpc-port", str(free_port()),
                         "--work-dir", str(logs / f"{name}-work")])
        deadline = time.time() + 60
        while True:
            try:
                if len(rest(self.address, "/api/executors")) == 2:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit(f"the cluster did not start; logs in {logs}")
            time.sleep(0.2)

    def last_job(self) -> dict:
        jobs = rest(self.address, "/api/jobs")
        return max(jobs, key=lambda j: j["start_time"]) if jobs else {}

    def stages(self, job_id: str):
        """Per stage: id, tasks, rows in, and rows out (what it hands the next stage's shuffle).
        Bytes are not here: Ballista 55's REST API does not report them (see shuffles())."""
        out = []
        for st in rest(self.address, f"/api/job/{job_id}/stages")["stages"]:
            out.append(dict(stage=int(st["stage_id"]), tasks=len([t for t in st["tasks"] if t]),
                            rows_in=st["input_rows"], rows_out=st["output_rows"]))
        return sorted(out, key=lambda s: s["stage"])

    def shuffles(self, job_id: str) -> list:
        """What each stage wrote for the next, from the scheduler's line `job J: stage 1 -> 3: R rows,
        B bytes in K blocks; ...; result: R rows, B bytes in K blocks`, written when the job
        succeeds (it can trail the client's last fetch by a moment)."""
        edge = re.compile(r"(?:stage (\d+) -> (\d+)|result): (\d+) rows, (\d+) bytes in (\d+) blocks")
        deadline = time.time() + 5
        while True:
            for line in (self.logs / "scheduler.log").read_text(errors="replace").splitlines():
                if f"job {job_id}:" in line:
                    return [dict(writer=int(m[1]) if m[1] else None, reader=int(m[2]) if m[2] else None,
                                 rows=int(m[3]), bytes=int(m[4]), blocks=int(m[5]))
                            for m in edge.finditer(line)]
            if time.time() > deadline:
                return []
            time.sleep(0.1)

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()


def numbers_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def same_result(here: Path, there: Path, ordered: bool) -> str:
    a = here.read_text().splitlines()
    b = there.read_text().splitlines()
    if len(a) != len(b):
        return f"MISMATCH: {len(b)} lines on the cluster, {len(a)} in process"
    if not ordered:
        a, b = a[:1] + sorted(a[1:]), b[:1] + sorted(b[1:])
    for i, (x, y) in enumerate(zip(a, b)):
        xs, ys = x.split(","), y.split(",")
        if len(xs) != len(ys) or not all(numbers_equal(u, v) for u, v in zip(xs, ys)):
            return f"MISMATCH at line {i + 1}: in process {x!r}, cluster {y!r}"
    return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=compare.SCALES, default="tiny")
    ap.add_argument("--profile", choices=["release", "dev"], default="release")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--slots", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                    help="task slots per executor (default: half the cores, so both share them)")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--bin-dir", type=Path, help="instead of target/<profile>")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    scale = compare.SCALES[args.scale]
    reps = args.reps or scale["reps"]
    bin_dir = args.bin_dir or ROOT / "target" / ("release" if args.profile == "release" else "debug")
    cache = args.cache or Path(f"/tmp/strata-compare/{args.scale}")
    lake = compare.ensure_data(cache, scale, bin_dir)
    work = Path(tempfile.mkdtemp(prefix="strata-cluster-bench-"))
    files = sorted((ROOT / "benches" / "tpch").glob("q*.sql"))
    for name, sql in LATEST.items():
        (work / f"{name}.sql").write_text(sql + ";\n")
        files.append(work / f"{name}.sql")
    ordered = {f.stem: compare.has_order_by(f.read_text()) for f in files}
    exe = bin_dir / "examples" / "bench_queries"
    cluster = Cluster(bin_dir / "strata", args.slots, work / "logs")
    here = compare.Strata(exe, lake, files, work / "here", work / "here.log", 3600)
    there = compare.Strata(exe, lake, files, work / "there", work / "there.log", 3600,
                           extra=["--cluster", cluster.address])
    rows, failed = [], False
    try:
        for f in files:
            name = f.stem
            first = [here.run(name), there.run(name)]
            if any(r.get("error") for r in first):
                failed = True
                compare.log(f"{name}: FAILED {first[0].get('error') or first[1].get('error')}")
                continue
            verdict = same_result(work / "here" / f"{name}.csv", work / "there" / f"{name}.csv", ordered[name])
            failed |= verdict != "ok"
            t_here, t_there = [], []
            for _ in range(reps):
                t_here.append(here.run(name)["ms"])
                t_there.append(there.run(name)["ms"])
            job = cluster.last_job()
            stages = cluster.stages(job["job_id"]) if job else []
            shuffles = cluster.shuffles(job["job_id"]) if job else []
            if job and not shuffles:
                failed = True
                compare.log(f"{name}: no shuffle line for job {job['job_id']} in the scheduler's log")
            row = dict(name=name, here_ms=compare.median(t_here), cluster_ms=compare.median(t_there),
                       check=verdict, stages=stages, shuffles=shuffles)
            rows.append(row)
            moved = sum(e["bytes"] for e in shuffles if e["writer"] is not None)
            compare.log(f"{name:18} in process {row['here_ms']:9.1f} ms   cluster {row['cluster_ms']:9.1f} ms"
                        f"   ×{row['cluster_ms'] / row['here_ms']:.2f}   {len(stages)} stages, "
                        f"{sum(s['tasks'] for s in stages)} tasks, {moved / 1e6:.1f} MB shuffled   {verdict}")
    finally:
        here.close()
        there.close()
        cluster.close()

    def geomean(xs):
        xs = [x for x in xs if x]
        return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

    for group, pick in (("TPC-H 1-22", lambda r: r["name"].startswith("q")),
                        ("latest views", lambda r: r["name"].startswith("latest"))):
        sel = [r for r in rows if pick(r)]
        if sel:
            h, c = geomean([r["here_ms"] for r in sel]), geomean([r["cluster_ms"] for r in sel])
            print(f"{group}: geomean in process {h:.1f} ms, cluster {c:.1f} ms, ratio {c / h:.2f}")
    for r in rows:
        if r["name"].startswith("latest") or r["name"] in ("q01", "q09", "q18"):
            for s in r["stages"]:
                out = [e for e in r["shuffles"] if e["writer"] == s["stage"]]
                wrote = "; ".join(f"{e['rows']:,} rows, {e['bytes']:,} bytes in {e['blocks']} blocks for stage "
                                  f"{e['reader']}" for e in out)
                print(f"  {r['name']} stage {s['stage']}: {s['tasks']} tasks, {s['rows_in']:,} rows in, "
                      f"{s['rows_out']:,} rows out{'; wrote ' + wrote if wrote else ''}")
            for e in r["shuffles"]:
                if e["writer"] is None:
                    print(f"  {r['name']} result: {e['rows']:,} rows, {e['bytes']:,} bytes in {e['blocks']} blocks")
    if args.json:
        args.json.write_text(json.dumps(dict(scale=args.scale, slots=args.slots, reps=reps, rows=rows), indent=1))
    shutil.rmtree(work, ignore_errors=True)
    if failed:
        sys.exit("a cluster answer differs from the in-process one, or a query failed")


if __name__ == "__main__":
    main()
