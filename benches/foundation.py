#!/usr/bin/env python3
"""Measures the foundation figures of issue 2 with a release build of `strata`:
time to open the sample lake and answer a first query, time to open a 10,000-file lake on local
disk and on an S3 server (moto, on loopback), and a latest-view query over a 1,000,000-row CDC
history. Prints medians of several runs.

    cargo build --release --bin strata --example generate_lake
    .venv/bin/python benches/foundation.py            # needs moto[server] + boto3 in the venv
"""
import os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "target/release/strata")
GEN = os.path.join(ROOT, "target/release/examples/generate_lake")
RUNS = int(os.environ.get("RUNS", "5"))


def timed(args, env=None):
    """Median wall time (ms) of running `args` RUNS times; fails loudly on errors."""
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        out = subprocess.run(args, env=env, capture_output=True, text=True)
        times.append((time.perf_counter() - t) * 1000)
        if out.returncode != 0:
            sys.exit(f"{' '.join(args)} failed:\n{out.stderr}")
    return statistics.median(times), out.stdout.strip()


def report(label, ms, answer):
    print(f"{label:<62} {ms:9.1f} ms   -> {answer.splitlines()[-1] if answer else ''}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    env = {k: v for k, v in os.environ.items() if k != "STRATA_LAKE"}
    q = lambda lake, sql: [STRATA, "-q", "--format", "csv", "--lake", lake, "-c", sql]
    tmp = tempfile.mkdtemp(prefix="strata-bench-")
    try:
        # Sample lake: generated on first use; time a warm start (the lake exists).
        subprocess.run([STRATA, "-q", "-c", "select 1"], env=env, capture_output=True, check=True)
        report("strata -c 'select 1' (sample lake)",
               *timed([STRATA, "-q", "--format", "csv", "-c", "select 1"], env))
        report("sample lake: open + first latest-view query",
               *timed([STRATA, "-q", "--format", "csv", "-c", "select count(*) from raw.crm.customers"], env))

        files = os.path.join(tmp, "files")
        subprocess.run([GEN, "files", files, "10000"], check=True)
        report("10,000-file lake, local: open + list (select 1)", *timed(q(files, "select 1")))
        report("10,000-file lake, local: open + count(*) over all files",
               *timed(q(files, "select count(*) from raw.events.many")))

        hist = os.path.join(tmp, "history")
        subprocess.run([GEN, "history", hist, "1000000", "100000", "20"], check=True)
        report("1M-row history (100k keys, 20 files): latest count",
               *timed(q(hist, "select count(*) from raw.crm.history")))
        report("1M-row history: latest, aggregate over latest rows",
               *timed(q(hist, "select status, count(*), round(sum(amount),1) from raw.crm.history group by 1 order by 1")))
        report("1M-row history: point lookup by key",
               *timed(q(hist, "select * from raw.crm.history where id = 4242")))
        report("1M-row history: as of 10% of history",
               *timed(q(hist, "select count(*) from raw.crm.history for system_time as of timestamp '2026-01-04 00:00:00'")))

        moto = os.path.join(ROOT, ".venv/bin/moto_server")
        if os.path.exists(moto):
            import boto3
            port = free_port()
            server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                url = f"http://127.0.0.1:{port}"
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), 0.2).close()
                        break
                    except OSError:
                        time.sleep(0.1)
                s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test",
                                  aws_secret_access_key="test", region_name="us-east-1")
                s3.create_bucket(Bucket="lake")
                for dirpath, _, names in os.walk(files):
                    for n in names:
                        p = os.path.join(dirpath, n)
                        s3.upload_file(p, "lake", os.path.relpath(p, files))
                s3env = dict(env, AWS_ENDPOINT_URL=url, AWS_ALLOW_HTTP="true", AWS_ACCESS_KEY_ID="test",
                             AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
                report("10,000-file lake, S3 (moto): open + list (select 1)",
                       *timed(q("s3://lake", "select 1"), s3env))
                report("10,000-file lake, S3 (moto): open + count(*) over all files",
                       *timed(q("s3://lake", "select count(*) from raw.events.many"), s3env))
            finally:
                server.terminate()
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
