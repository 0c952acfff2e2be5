#!/usr/bin/env python3
"""Wire-protocol figures: Strata's server vs PostgreSQL 15 serving the same rows to the same
clients in the same run (issue: "Strata serve").

  .venv/bin/python benches/wire.py [--rows 6000000] [--reps 3] [--strata target/release/strata]

It generates TPC-H lineitem at SF1 (6,001,215 rows, 16 columns) with tpchgen-cli as Parquet,
serves it with `strata serve` (enhanced.public.lineitem), loads the same file into a throwaway
PostgreSQL 15 cluster (initdb in a temp dir, COPY via DuckDB-free CSV), and measures, alternating
servers, median of --reps:
  - psql `COPY (SELECT * FROM lineitem) TO STDOUT` rows/s (text),
  - psycopg 3 `SELECT *` rows/s, text and binary (client-side decoding dominates),
  - connections per second (connect + SELECT 1 + close, sequential),
  - memory per idle connection (server RSS delta over 200 idle connections).
With --history LAKE (default: compare.py's SF1 lake, when it exists) it also streams the latest
view of that lake's raw.crm.history (10M rows over 1M keys; Strata computes it on every query)
against PostgreSQL holding the same latest rows as a plain table, loaded from Strata's answer.
Needs: tpchgen-cli and psycopg in the venv, PostgreSQL 15 binaries (Debian `postgresql`).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time, json

PG_BIN = "/usr/lib/postgresql/15/bin"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss_kb(pid):
    """RSS of a process and its children (PostgreSQL forks a backend per connection)."""
    total = rss_kb(pid)
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except FileNotFoundError:
        kids = []
    for k in kids:
        total += tree_rss_kb(int(k))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sf", default="1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--strata", default="target/release/strata")
    ap.add_argument("--work", default="/tmp/strata-wire-bench")
    ap.add_argument("--history", default="/tmp/strata-compare/sf1/lake",
                    help="a lake with raw.crm.history (compare.py makes it); skipped if absent")
    args = ap.parse_args()
    import psycopg

    work = args.work
    lake = os.path.join(work, "lake")
    table_dir = os.path.join(lake, "enhanced", "public", "lineitem")
    if not os.path.exists(os.path.join(table_dir, "lineitem.parquet")):
        os.makedirs(table_dir, exist_ok=True)
        gen = os.path.join(work, "gen")
        sh([os.path.join(os.path.dirname(sys.executable), "tpchgen-cli"), "parquet", "-s", args.sf,
            "--tables=lineitem", f"--output-dir={gen}"])
        shutil.move(os.path.join(gen, "lineitem.parquet"), os.path.join(table_dir, "lineitem.parquet"))

    # The history of compare.py's lake, linked into this lake as a keyed table.
    hist_src = os.path.join(args.history, "raw", "crm", "history")
    with_latest = os.path.isdir(hist_src)
    if with_latest:
        hist_dir = os.path.join(lake, "raw", "crm", "history")
        os.makedirs(hist_dir, exist_ok=True)
        for f in os.listdir(hist_src):
            if not os.path.exists(os.path.join(hist_dir, f)):
                os.symlink(os.path.join(hist_src, f), os.path.join(hist_dir, f))
        with open(os.path.join(lake, "strata.toml"), "w") as t:
            t.write('[tables."raw.crm.history"]\nkey = ["id"]\ndeleted_when = "op = \'d\'"\n')

    # Strata
    strata = subprocess.Popen([args.strata, "serve", "--lake", lake, "--listen", "127.0.0.1:0", "--max-connections", "300"],
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "warn"})
    line = strata.stderr.readline()
    while "serving" not in line:
        line = strata.stderr.readline()
    s_port = int(line.rsplit(":", 1)[1])

    # PostgreSQL 15, loaded from Strata's own CSV export of the same file.
    # PostgreSQL refuses to run as root: run it as the Debian package's `postgres` user.
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    pgdata = work + "-pgdata"
    p_port = 55432
    if not os.path.exists(pgdata):
        os.makedirs(pgdata)
        if as_pg:
            shutil.chown(pgdata, "postgres", "postgres")
        sh(as_pg + [f"{PG_BIN}/initdb", "-D", pgdata, "-U", "postgres", "--auth=trust"], stdout=subprocess.DEVNULL)
    pg = subprocess.Popen(as_pg + [f"{PG_BIN}/postgres", "-D", pgdata, "-p", str(p_port), "-k", pgdata,
                           "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
                           "-c", "shared_buffers=1GB"], stderr=subprocess.DEVNULL)
    time.sleep(3)
    pg_url = f"host=127.0.0.1 port={p_port} user=postgres dbname=postgres"
    st_url = f"host=127.0.0.1 port={s_port} user=bench dbname=enhanced"
    with psycopg.connect(pg_url, autocommit=True) as c:
        n = c.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'lineitem'").fetchone()[0]
        if n == 0:
            with psycopg.connect(st_url) as s:
                cols = s.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'lineitem' ORDER BY ordinal_position").fetchall()
            # Strata's information_schema.columns names PostgreSQL types (bigint, numeric, date…).
            ddl = ", ".join(f"{name} {t}" for name, t in cols)
            c.execute(f"CREATE TABLE lineitem ({ddl})")
            t0 = time.time()
            dump = subprocess.Popen(["psql", st_url, "-c", "COPY (SELECT * FROM lineitem) TO STDOUT"], stdout=subprocess.PIPE)
            sh(["psql", pg_url, "-c", "COPY lineitem FROM STDIN"], stdin=dump.stdout, stdout=subprocess.DEVNULL)
            dump.wait()
            c.execute("VACUUM ANALYZE lineitem")
            print(f"loaded PostgreSQL in {time.time() - t0:.1f} s", file=sys.stderr)
        rows = c.execute("SELECT count(*) FROM lineitem").fetchone()[0]
        latest_rows = 0
        if with_latest:
            raw_url = f"host=127.0.0.1 port={s_port} user=bench dbname=raw"
            n = c.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'history_latest'").fetchone()[0]
            if n == 0:
                c.execute("CREATE TABLE history_latest (id bigint, status text, amount double precision, "
                          "op text, _ingested_at timestamptz)")
                dump = subprocess.Popen(["psql", raw_url, "-c", "COPY (SELECT id, status, amount, op, "
                                         "_ingested_at FROM crm.history) TO STDOUT"], stdout=subprocess.PIPE)
                sh(["psql", pg_url, "-c", "COPY history_latest FROM STDIN"], stdin=dump.stdout,
                   stdout=subprocess.DEVNULL)
                dump.wait()
                c.execute("VACUUM ANALYZE history_latest")
            latest_rows = c.execute("SELECT count(*) FROM history_latest").fetchone()[0]

    def psql_copy(url, sql="SELECT * FROM lineitem", expect=None):
        expect = expect or rows
        t0 = time.time()
        p = subprocess.run(["psql", url, "-c", f"COPY ({sql}) TO STDOUT"],
                           stdout=subprocess.PIPE, check=True)
        n = p.stdout.count(b"\n")
        assert n == expect, (n, expect)
        return expect / (time.time() - t0)

    def psycopg_select(url, binary, sql="SELECT * FROM lineitem", expect=None):
        expect = expect or rows
        t0 = time.time()
        n = 0
        with psycopg.connect(url) as c:
            with c.cursor(binary=binary) as cur:
                for _ in cur.stream(sql):
                    n += 1
        assert n == expect, (n, expect)
        return expect / (time.time() - t0)

    def conns_per_s(url, n=200):
        t0 = time.time()
        for _ in range(n):
            with psycopg.connect(url) as c:
                c.execute("SELECT 1").fetchone()
        return n / (time.time() - t0)

    def idle_kb(url, pid, n=200):
        before = tree_rss_kb(pid)
        held = [psycopg.connect(url) for _ in range(n)]
        for c in held:
            c.execute("SELECT 1").fetchone()
        time.sleep(1)
        after = tree_rss_kb(pid)
        for c in held:
            c.close()
        return (after - before) / n

    # Each workload is run as f(server), alternating servers per repetition.
    url = {"strata": st_url, "postgres": pg_url}
    work_items = [("psql COPY text", lambda s: psql_copy(url[s])),
                  ("psycopg text", lambda s: psycopg_select(url[s], False)),
                  ("psycopg binary", lambda s: psycopg_select(url[s], True))]
    if with_latest:
        # Strata computes the latest view per query; PostgreSQL reads a table of its rows.
        latest_url = {"strata": raw_url, "postgres": pg_url}
        q = {"strata": "SELECT id, status, amount, op, _ingested_at FROM crm.history",
             "postgres": "SELECT id, status, amount, op, _ingested_at FROM history_latest"}
        work_items += [
            ("latest: psql COPY", lambda s: psql_copy(latest_url[s], q[s], latest_rows)),
            ("latest: psycopg text", lambda s: psycopg_select(latest_url[s], False, q[s], latest_rows)),
            ("latest: psycopg binary", lambda s: psycopg_select(latest_url[s], True, q[s], latest_rows)),
        ]
    results = {}
    for name, f in work_items:
        results[name] = {"strata": [], "postgres": []}
        for _ in range(args.reps):
            for server in ("strata", "postgres"):
                results[name][server].append(f(server))
    conns = {"strata": conns_per_s(st_url), "postgres": conns_per_s(pg_url)}
    idle = {"strata": idle_kb(st_url, strata.pid), "postgres": idle_kb(pg_url, pg.pid)}
    strata.terminate(); pg.terminate()

    print(f"rows: {rows:,} (TPC-H SF{args.sf} lineitem, 16 columns); median of {args.reps}, alternating")
    if with_latest:
        print(f"latest: {latest_rows:,} rows, 5 columns (Strata's latest view of raw.crm.history vs a PostgreSQL table of them)")
    print(f"{'workload':<24} {'strata rows/s':>15} {'postgres rows/s':>16} {'ratio':>7}")
    table = {}
    for name, by in results.items():
        s, p = statistics.median(by["strata"]), statistics.median(by["postgres"])
        table[name] = {"strata": s, "postgres": p, "ratio": s / p}
        print(f"{name:<24} {s:>15,.0f} {p:>16,.0f} {s / p:>6.2f}x")
    print(f"{'connections/s':<18} {conns['strata']:>15,.0f} {conns['postgres']:>16,.0f} {conns['strata'] / conns['postgres']:>6.2f}x")
    print(f"{'kB per idle conn':<18} {idle['strata']:>15,.0f} {idle['postgres']:>16,.0f}")
    print(json.dumps({"rows": rows, "streaming": table, "connections_per_s": conns, "idle_kb_per_conn": idle}))


if __name__ == "__main__":
    main()
