#!/usr/bin/env python3
"""Small queries under load: Strata's server vs PostgreSQL 15 holding the same tables, same
clients, same run (issue 10, item 4).

  .venv/bin/python benches/load.py [--clients 200] [--duration 60] [--strata target/release/strata]
                                   [--statement-timeout 2s] [--no-postgres]

`strata serve` runs on the built-in sample lake (database `raw`: crm.customers, shop.orders and
their histories); a throwaway PostgreSQL 15 cluster (initdb in a temp dir) gets database `raw`
with the same schemas and tables, loaded from Strata's own answers (the latest views become
plain tables). Then --clients asyncio clients (psycopg 3), each on its own connection with
statement_timeout set, loop for --duration seconds over this mix:

  point      parameterized lookup in a history table (extended protocol, unnamed statement)
  latest     GROUP BY over the latest view of crm.customers (a plain table in PostgreSQL)
  orders     filter + ORDER BY over the latest view of shop.orders
  prepared   a named prepared statement (psycopg prepare=True) on shop.orders_history
  describe   psql's `\\d crm.customers`: every query psql 15 sends, in order (simple protocol)
  list       psql's `\\dt` query
  cancel     a CPU-bound cross join cancelled by a CancelRequest after 100 ms (expects 57014)

and it prints per server q/s and p50/p99 per kind, errors by SQLSTATE, and Strata's RSS idle
(after warm-up), peak (sampled every 100 ms) and after every client has disconnected (3 s
later). Answers are checked once per kind against PostgreSQL's before the run, and every
operation's answer is checked during it: a wrong answer or an unexpected error makes the exit
status 1 (what .ci/run checks); times never do.
Needs psycopg in the venv and PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin); without
them (or with --no-postgres) only Strata runs.
"""
import argparse, asyncio, json, os, random, shutil, statistics, subprocess, sys, tempfile, time
import threading

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
TABLES = ["crm.customers", "crm.customers_history", "shop.orders", "shop.orders_history"]

# The queries psql 15 sends for `\d crm.customers` (captured with `psql -E` against Strata,
# which reports server version 16.6); {oid} is the table's OID from the first one, as psql does.
DESCRIBE_LOOKUP = """SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(customers)$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(crm)$' COLLATE pg_catalog.default
ORDER BY 2, 3;"""
DESCRIBE_REST = [
    """SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '{oid}';""",
    """SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '{oid}' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;""",
    """SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = '{oid}' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;""",
    """SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{{0}}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '{oid}' ORDER BY 1;""",
    """SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '{oid}'
ORDER BY nsp, stxname;""",
    """SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='{oid}' and pg_catalog.pg_relation_is_publishable('{oid}')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '{oid}'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('{oid}')
ORDER BY 1;""",
    """SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '{oid}'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;""",
    """SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '{oid}'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;""",
]
# psql 15's `\dt`.
LIST_TABLES = """SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"""

POINT = "SELECT customer_id, status FROM crm.customers_history WHERE customer_id = %s ORDER BY _ingested_at, status"
LATEST = "SELECT status, count(*) FROM crm.customers GROUP BY status ORDER BY status"
ORDERS = "SELECT order_id, status FROM shop.orders WHERE status <> 'cancelled' ORDER BY order_id"
PREPARED = "SELECT order_id, status FROM shop.orders_history WHERE order_id = %s ORDER BY status"
# 25^6 rows: minutes on either server, so a cancel after 100 ms always interrupts it.
SLOW = ("SELECT sum(a.customer_id + b.customer_id + c.customer_id + d.customer_id + e.customer_id"
        " + f.customer_id) FROM crm.customers_history a, crm.customers_history b,"
        " crm.customers_history c, crm.customers_history d, crm.customers_history e,"
        " crm.customers_history f")

MIX = [("point", 25), ("latest", 20), ("orders", 10), ("prepared", 20), ("describe", 10),
       ("list", 10), ("cancel", 5)]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def canon(rows):
    """Rows compared across servers: values as text (numeric widths and types differ)."""
    return [tuple("" if v is None else str(v) for v in r) for r in rows]


class Server:
    def __init__(self, name, dsn, pid=None):
        self.name, self.dsn, self.pid = name, dsn, pid
        self.expected = {}
        self.oid = None


def start_strata(exe, clients, timeout):
    proc = subprocess.Popen([exe, "serve", "--listen", "127.0.0.1:0",
                             "--max-connections", str(clients + 20), "--statement-timeout", timeout],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "warn"})
    line = proc.stderr.readline()
    while "serving" not in line:
        if not line:
            sys.exit(f"strata serve did not start (exit {proc.wait()})")
        line = proc.stderr.readline()
    # Keep draining stderr so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, int(line.rsplit(":", 1)[1])


def start_postgres(work, clients):
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = os.path.join(work, "pgdata")
    os.makedirs(data)
    if as_pg:
        shutil.chown(work, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    sh(as_pg + [f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust"],
       stdout=subprocess.DEVNULL)
    port = 55433
    proc = subprocess.Popen(as_pg + [f"{PG_BIN}/postgres", "-D", data, "-p", str(port), "-k", work,
                                     "-c", "listen_addresses=127.0.0.1",
                                     "-c", f"max_connections={clients + 20}"],
                            stderr=subprocess.DEVNULL)
    import psycopg
    for _ in range(100):
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    return proc, port


def load_postgres(st_dsn, pg_port):
    """Database `raw` with Strata's tables, typed as Strata's information_schema says, holding
    Strata's rows (the latest views as plain tables)."""
    import psycopg
    with psycopg.connect(f"host=127.0.0.1 port={pg_port} user=postgres dbname=postgres",
                         autocommit=True) as c:
        c.execute("CREATE DATABASE raw")
    with psycopg.connect(st_dsn) as s, \
            psycopg.connect(f"host=127.0.0.1 port={pg_port} user=postgres dbname=raw") as p:
        for schema in sorted({t.split(".")[0] for t in TABLES}):
            p.execute(f"CREATE SCHEMA {schema}")
        for table in TABLES:
            schema, name = table.split(".")
            cols = s.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                             (schema, name)).fetchall()
            p.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in cols)})")
            names = ", ".join(c for c, _ in cols)
            with s.cursor().copy(f"COPY (SELECT {names} FROM {table}) TO STDOUT") as out, \
                    p.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as into:
                for data in out:
                    into.write(data)
        p.execute("ANALYZE")


class Stats:
    def __init__(self):
        self.lat = {k: [] for k, _ in MIX}
        self.lat["catalog query"] = []
        self.errors = {}
        self.failures = []

    def error(self, kind, code):
        self.errors[(kind, code)] = self.errors.get((kind, code), 0) + 1


async def run_op(conn, server, kind, stats, rng):
    import psycopg
    t0 = time.perf_counter()
    if kind == "point":
        key = rng.randint(1, 14)
        got = canon(await (await conn.execute(POINT, (key,))).fetchall())
        want = server.expected[("point", key)]
    elif kind == "prepared":
        key = rng.randint(1, 14)
        got = canon(await (await conn.execute(PREPARED, (key,), prepare=True)).fetchall())
        want = server.expected[("prepared", key)]
    elif kind in ("latest", "orders", "list"):
        sql = {"latest": LATEST, "orders": ORDERS, "list": LIST_TABLES}[kind]
        got = canon(await (await conn.execute(sql)).fetchall())
        want = server.expected[kind]
    elif kind == "describe":
        got = []
        q0 = time.perf_counter()
        rows = await (await conn.execute(DESCRIBE_LOOKUP)).fetchall()
        stats.lat["catalog query"].append(time.perf_counter() - q0)
        oid = rows[0][0]
        for sql in DESCRIBE_REST:
            q0 = time.perf_counter()
            cur = await conn.execute(sql.format(oid=oid))
            got.append(canon(await cur.fetchall()) if cur.description else [])
            stats.lat["catalog query"].append(time.perf_counter() - q0)
        got = got[1]  # the columns: what `\d` shows
        want = server.expected["describe"]
    elif kind == "cancel":
        async def cancel_soon():
            await asyncio.sleep(0.1)
            conn.cancel()
        task = asyncio.create_task(cancel_soon())
        try:
            await conn.execute(SLOW)
            stats.failures.append(f"{server.name} cancel: the query finished")
        except psycopg.errors.QueryCanceled:
            pass
        await task
        stats.lat[kind].append(time.perf_counter() - t0 - 0.1)
        return
    stats.lat[kind].append(time.perf_counter() - t0)
    if got != want:
        stats.failures.append(f"{server.name} {kind}: {got!r} != {want!r}")


async def client(server, stats, deadline, seed, timeout_ms):
    import psycopg
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    try:
        conn = await psycopg.AsyncConnection.connect(
            server.dsn, autocommit=True, options=f"-c statement_timeout={timeout_ms}")
    except Exception as e:
        stats.error("connect", type(e).__name__)
        return
    async with conn:
        while time.monotonic() < deadline:
            kind = rng.choice(kinds)
            try:
                await run_op(conn, server, kind, stats, rng)
            except psycopg.errors.QueryCanceled as e:
                stats.error(kind, e.sqlstate)  # the statement timeout: counted, not a failure
            except psycopg.Error as e:
                stats.error(kind, e.sqlstate or type(e).__name__)
                stats.failures.append(f"{server.name} {kind}: {e}")
                if conn.closed:
                    return


async def expectations(server, oracle):
    """What each kind must answer: PostgreSQL's answers, checked against Strata's once."""
    import psycopg
    async with await psycopg.AsyncConnection.connect(server.dsn, autocommit=True) as conn:
        for key in range(1, 15):
            server.expected[("point", key)] = canon(await (await conn.execute(POINT, (key,))).fetchall())
            server.expected[("prepared", key)] = canon(await (await conn.execute(PREPARED, (key,))).fetchall())
        for kind, sql in (("latest", LATEST), ("orders", ORDERS), ("list", LIST_TABLES)):
            server.expected[kind] = canon(await (await conn.execute(sql)).fetchall())
        oid = (await (await conn.execute(DESCRIBE_LOOKUP)).fetchall())[0][0]
        server.expected["describe"] = canon(await (await conn.execute(DESCRIBE_REST[1].format(oid=oid))).fetchall())
    failures = []
    if oracle is not None:
        for k, want in oracle.expected.items():
            got = server.expected[k]
            if k == "list":
                # Not comparable: PostgreSQL's `\dt` lists only tables on the search path
                # (public), Strata's pg_table_is_visible is true for every table it lists.
                continue
            if got != want:
                failures.append(f"{server.name} answers {k} differently: {got!r} vs {want!r}")
    return failures


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def measure(server, clients, duration, timeout_ms):
    stats = Stats()
    peak = [rss_kb(server.pid) if server.pid else 0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.1):
            peak[0] = max(peak[0], rss_kb(server.pid))
    sampler = threading.Thread(target=sample, daemon=True)
    if server.pid:
        sampler.start()
    idle = rss_kb(server.pid) if server.pid else 0
    t0 = time.monotonic()
    deadline = t0 + duration
    await asyncio.gather(*(client(server, stats, deadline, i, timeout_ms) for i in range(clients)))
    elapsed = time.monotonic() - t0
    stop.set()
    after = 0
    if server.pid:
        await asyncio.sleep(3)
        after = rss_kb(server.pid)
    return stats, elapsed, {"idle_kb": idle, "peak_kb": peak[0], "after_kb": after}


def report(server, stats, elapsed):
    total = sum(len(v) for k, v in stats.lat.items() if k != "catalog query")
    print(f"\n{server.name}: {total / elapsed:,.0f} operations/s over {elapsed:.1f} s")
    print(f"  {'kind':<14} {'count':>7} {'p50 ms':>9} {'p99 ms':>9}")
    out = {"ops_per_s": total / elapsed, "kinds": {}}
    for kind, xs in stats.lat.items():
        p50, p99 = percentile(xs, 50) * 1000, percentile(xs, 99) * 1000
        print(f"  {kind:<14} {len(xs):>7} {p50:>9.1f} {p99:>9.1f}")
        out["kinds"][kind] = {"count": len(xs), "p50_ms": p50, "p99_ms": p99}
    if stats.errors:
        print("  errors: " + ", ".join(f"{k} {c}: {n}" for (k, c), n in sorted(stats.errors.items())))
    out["errors"] = {f"{k} {c}": n for (k, c), n in stats.errors.items()}
    return out


def parse_ms(text):
    units = {"ms": 1, "s": 1000, "min": 60000}
    for u in ("ms", "min", "s"):
        if text.endswith(u):
            return int(float(text[: -len(u)]) * units[u])
    return int(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=float, default=60, help="seconds of load per server")
    ap.add_argument("--strata", default="target/release/strata")
    ap.add_argument("--statement-timeout", default="2s")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    timeout_ms = parse_ms(args.statement_timeout)
    with_pg = not args.no_postgres and os.path.exists(f"{PG_BIN}/postgres")
    if not with_pg and not args.no_postgres:
        print(f"no PostgreSQL binaries in {PG_BIN}: measuring Strata only", file=sys.stderr)

    work = tempfile.mkdtemp(prefix="strata-load-")
    strata, s_port = start_strata(args.strata, args.clients, args.statement_timeout)
    pg = None
    failures = []
    try:
        st = Server("strata", f"host=127.0.0.1 port={s_port} user=bench dbname=raw", strata.pid)
        servers = [st]
        if with_pg:
            pg, p_port = start_postgres(work, args.clients)
            load_postgres(st.dsn, p_port)
            pgs = Server("postgres", f"host=127.0.0.1 port={p_port} user=postgres dbname=raw", pg.pid)
            servers = [pgs, st]
        oracle = None
        for s in servers:
            failures += asyncio.run(expectations(s, oracle))
            oracle = oracle or (s if s.name == "postgres" else None)
        results = {}
        for s in servers:
            stats, elapsed, mem = asyncio.run(measure(s, args.clients, args.duration, timeout_ms))
            results[s.name] = report(s, stats, elapsed)
            failures += stats.failures
            if s.name == "strata":
                results[s.name]["memory_kb"] = mem
                print(f"  RSS: idle {mem['idle_kb'] / 1024:.0f} MB, peak {mem['peak_kb'] / 1024:.0f} MB, "
                      f"3 s after the clients left {mem['after_kb'] / 1024:.0f} MB")
        print(json.dumps({"clients": args.clients, "duration_s": args.duration, **results}))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        strata.terminate()
        strata.wait()
        if pg:
            pg.terminate()
            pg.wait()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} failures; first ones:", file=sys.stderr)
        for f in failures[:10]:
            print("  " + f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
