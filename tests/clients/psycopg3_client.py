#!/usr/bin/env python3
"""Real-client test: psycopg 3 against `strata serve` (built-in sample lake).

Usage: psycopg3_client.py PORT

Connects to 127.0.0.1:PORT as user "tester" and exercises what psycopg 3
really does on the wire: simple queries (no params -> simple protocol),
server-side parameter binding (extended protocol), prepared statements,
binary results, named (server-side) cursors, COPY TO STDOUT, transactions,
pipeline mode, SQLSTATEs, settings.

Every check prints one line (PASS/FAIL). Failures do not stop the run;
the exit status is 1 if any check failed.
"""
import datetime as dt
import decimal
import sys
import traceback

import psycopg
from psycopg import errors as pgerr
from psycopg.types import TypeInfo

HOST = "127.0.0.1"
USER = "tester"

FAILURES = []
PASSES = 0


def check(name):
    """Decorator-ish helper: run fn, record PASS/FAIL, never raise."""

    def run(fn):
        global PASSES
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - we want every failure
            msg = f"{type(e).__name__}: {e}".strip().replace("\n", " | ")
            sqlstate = getattr(e, "sqlstate", None)
            if sqlstate:
                msg = f"[SQLSTATE {sqlstate}] {msg}"
            FAILURES.append((name, msg))
            print(f"FAIL {name}: {msg}", flush=True)
            if "-v" in sys.argv:
                traceback.print_exc()
        else:
            PASSES += 1
            print(f"PASS {name}", flush=True)
        return fn

    return run


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def connect(port, **kw):
    kw.setdefault("dbname", "enhanced")
    kw.setdefault("autocommit", True)
    return psycopg.connect(host=HOST, port=port, user=USER, connect_timeout=10, **kw)


def main():
    if len(sys.argv) < 2:
        print("usage: psycopg3_client.py PORT [-v]", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])

    conn = connect(port)

    # ---- Ground truth: the whole table, fetched once with a plain query.
    # Everything below is compared with values derived from these rows.
    ALL_SQL = ("SELECT country, orders, revenue, dt, _ingested_at "
               "FROM sales.daily_revenue ORDER BY dt, country")
    rows = conn.execute(ALL_SQL).fetchall()
    state = {"rows": rows}

    @check("ground truth: sales.daily_revenue has 13 rows with known content")
    def _():
        eq(len(rows), 13, "row count")
        eq(rows[0][:4], ("BR", 1, 35.9, dt.date(2026, 1, 10)), "first row")
        eq(rows[-1][:4], ("GB", 2, 223.95, dt.date(2026, 1, 24)), "last row")
        eq(round(sum(r[2] for r in rows), 2), 1346.94, "sum(revenue)")
        eq(rows[0][4], dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc), "_ingested_at")

    # ------------------------------------------------------------------ connection
    @check("conn.info.server_version is an int matching SHOW server_version_num")
    def _():
        v = conn.info.server_version
        num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        eq(v, num, "server_version")
        if v < 100000:
            raise AssertionError(f"server_version {v} looks too old for PG >= 10")

    @check("ParameterStatus values sent at startup")
    def _():
        ps = conn.info.parameter_status
        eq(ps("server_encoding"), "UTF8", "server_encoding")
        eq(ps("client_encoding"), "UTF8", "client_encoding")
        eq(ps("integer_datetimes"), "on", "integer_datetimes")
        eq(ps("standard_conforming_strings"), "on", "standard_conforming_strings")
        if not (ps("DateStyle") or "").startswith("ISO"):
            raise AssertionError(f"DateStyle {ps('DateStyle')!r}")
        if not ps("TimeZone"):
            raise AssertionError("no TimeZone parameter status")

    @check("version() starts with 'PostgreSQL <server_version>'")
    def _():
        v = conn.execute("SELECT version()").fetchone()[0]
        ver = conn.info.parameter_status("server_version")
        if not v.startswith(f"PostgreSQL {ver}"):
            raise AssertionError(f"version() = {v!r}, server_version = {ver!r}")

    @check("current_database() is the zone; dbname=postgres maps to enhanced")
    def _():
        eq(conn.execute("SELECT current_database()").fetchone()[0], "enhanced", "current_database")
        with connect(port, dbname="postgres") as c2:
            n = c2.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0]
            eq(n, len(rows), "count via dbname=postgres")

    @check("dbname=raw: crm.customers equals raw.crm.customers seen from enhanced")
    def _():
        with connect(port, dbname="raw") as c2:
            eq(c2.execute("SELECT current_database()").fetchone()[0], "raw", "current_database")
            a = c2.execute("SELECT customer_id, name FROM crm.customers ORDER BY customer_id").fetchall()
        b = conn.execute("SELECT customer_id, name FROM raw.crm.customers ORDER BY customer_id").fetchall()
        eq(a, b, "rows")
        eq(len(a), 13, "customers count")
        eq(a[0], (1, "Ada Lovelace"), "customer 1")

    @check("options='-c strata.as_of=2026-01-12' gives the older snapshot")
    def _():
        with connect(port, options="-c strata.as_of=2026-01-12") as c2:
            old = c2.execute(ALL_SQL).fetchall()
            shown = c2.execute("SHOW strata.as_of").fetchone()[0]
        expect = [r for r in rows if r[4] <= dt.datetime(2026, 1, 12, tzinfo=dt.timezone.utc)]
        eq(len(old), 8, "row count as of 2026-01-12")
        eq(old, expect, "rows as of 2026-01-12")
        if not shown.startswith("2026-01-12"):
            raise AssertionError(f"SHOW strata.as_of = {shown!r}")
        # and a fresh connection without options still sees everything
        eq(conn.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "now count")

    @check("SET strata.as_of / RESET within a session")
    def _():
        with connect(port) as c2:
            c2.execute("SET strata.as_of = '2026-01-12'")
            eq(c2.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 8, "as_of count")
            c2.execute("RESET strata.as_of")
            eq(c2.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "reset count")

    # ------------------------------------------------------------------ simple queries
    @check("result column type OIDs for sales.daily_revenue")
    def _():
        cur = conn.execute(ALL_SQL + " LIMIT 1")
        eq([(d.name, d.type_code) for d in cur.description],
           [("country", 25), ("orders", 20), ("revenue", 701), ("dt", 1082), ("_ingested_at", 1184)],
           "description")

    @check("multi-statement simple query returns every result set")
    def _():
        cur = conn.cursor()
        cur.execute("SELECT 1 AS a; SELECT 'x' AS b, 2 AS c")
        first = cur.fetchall()
        if not cur.nextset():
            raise AssertionError("second result set missing")
        second = cur.fetchall()
        eq((first, second), ([(1,)], [("x", 2)]), "result sets")

    @check("aggregate / GROUP BY query matches python aggregation")
    def _():
        got = conn.execute(
            "SELECT country, sum(orders)::bigint AS o, count(*) AS n FROM sales.daily_revenue "
            "GROUP BY country ORDER BY country").fetchall()
        agg = {}
        for r in rows:
            o, n = agg.get(r[0], (0, 0))
            agg[r[0]] = (o + r[1], n + 1)
        eq(got, [(k, v[0], v[1]) for k, v in sorted(agg.items())], "group by")

    @check("unaliased expressions get PostgreSQL column names (?column?, int4, bool)")
    def _():
        cur = conn.execute("SELECT 1, 2")
        eq([d.name for d in cur.description], ["?column?", "?column?"], "SELECT 1, 2")
        cur = conn.execute("SELECT true, 1::int4, 'a'::text")
        eq([d.name for d in cur.description], ["bool", "int4", "text"], "casts")

    @check("duplicate output column names are allowed (SELECT count(*), count(*))")
    def _():
        r = conn.execute("SELECT count(*), count(*) FROM sales.daily_revenue").fetchone()
        eq(r, (13, 13), "row")

    @check("SELECT current_user, session_user (both in one select list)")
    def _():
        r = conn.execute("SELECT current_user, session_user").fetchone()
        eq(r, (USER, USER), "row")

    @check("string literals with doubled quotes / E'' / $$ (e.g. 'it''s')")
    def _():
        eq(conn.execute("SELECT 'it''s' AS s").fetchone(), ("it's",), "doubled quote")
        eq(conn.execute("SELECT $$it's$$ AS s").fetchone(), ("it's",), "dollar quoted")
        eq(conn.execute("SELECT E'a\\'b' AS s").fetchone(), ("a'b",), "E string")
        eq(conn.execute("SELECT count(*) FROM sales.daily_revenue WHERE country <> 'it''s'").fetchone(),
           (13,), "in WHERE")

    @check("client-side binding (ClientCursor) of a value containing an apostrophe")
    def _():
        cur = psycopg.ClientCursor(conn)
        cur.execute("SELECT %s AS s, count(*) FROM sales.daily_revenue WHERE country = %s", ["O'Brien", "GB"])
        eq(cur.fetchone(), ("O'Brien", 2), "row")

    # ------------------------------------------------------------------ parameters
    @check("server-side binding: text param  WHERE country = %s")
    def _():
        got = conn.execute(ALL_SQL.replace("ORDER BY", "WHERE country = %s ORDER BY"), ["GB"]).fetchall()
        eq(got, [r for r in rows if r[0] == "GB"], "GB rows")
        eq(len(got), 2, "GB count")

    @check("server-side binding: date param  WHERE dt >= %s")
    def _():
        d = dt.date(2026, 1, 15)
        got = conn.execute(ALL_SQL.replace("ORDER BY", "WHERE dt >= %s ORDER BY"), [d]).fetchall()
        eq(got, [r for r in rows if r[3] >= d], "rows")
        eq(len(got), 5, "count")

    @check("server-side binding: small int param (sent as int2) vs bigint column")
    def _():
        got = conn.execute(ALL_SQL.replace("ORDER BY", "WHERE orders > %s ORDER BY"), [1]).fetchall()
        eq(got, [r for r in rows if r[1] > 1], "rows")

    @check("server-side binding: big int param (int8) and float8 param vs double column")
    def _():
        got = conn.execute("SELECT %s::bigint + 1", [2 ** 40]).fetchone()
        eq(got, (2 ** 40 + 1,), "bigint param")
        got = conn.execute(ALL_SQL.replace("ORDER BY", "WHERE revenue > %s ORDER BY"), [100.0]).fetchall()
        eq(got, [r for r in rows if r[2] > 100.0], "revenue > 100")

    @check("declared param type is honoured: float8 param in  SELECT %s * 2")
    def _():
        # psycopg declares $1 as float8 (OID 701) in Parse; PostgreSQL answers 2.5
        eq(conn.execute("SELECT %s * 2 AS x", [1.25]).fetchone(), (2.5,), "value")

    @check("declared param types give typed results: SELECT %s, %s, %s (int2, bool, float8)")
    def _():
        # PostgreSQL resolves an otherwise-unconstrained $n to its declared type
        eq(conn.execute("SELECT %s AS a, %s AS b, %s AS c", [1, True, 1.25]).fetchone(), (1, True, 1.25), "values")

    @check("NULL parameter (None)")
    def _():
        eq(conn.execute("SELECT %s::text IS NULL AS isnull", [None]).fetchone(), (True,), "typed null")
        eq(conn.execute("SELECT coalesce(%s::int, 5) AS a", [None]).fetchone(), (5,), "coalesce")
        got = conn.execute("SELECT count(*) FROM sales.daily_revenue WHERE %s::text IS NULL OR country = %s",
                           [None, "GB"]).fetchone()
        eq(got, (13,), "optional filter idiom")

    @check("server-side binding: Decimal, bool, unicode params")
    def _():
        got = conn.execute("SELECT %s::numeric(10,2) AS n, %s::boolean AS b, %s::text AS t",
                           [decimal.Decimal("12.34"), True, "héllo ✓"]).fetchone()
        eq(got, (decimal.Decimal("12.34"), True, "héllo ✓"), "values")

    @check("server-side binding: untyped param in select list (SELECT %s)")
    def _():
        eq(conn.execute("SELECT %s AS v", ["abc"]).fetchone(), ("abc",), "value")

    @check("binary parameters (%b) and binary results with params")
    def _():
        cur = conn.cursor(binary=True)
        got = cur.execute("SELECT country, orders FROM sales.daily_revenue WHERE country = %b AND orders >= %b "
                          "ORDER BY dt", ["GB", 1]).fetchall()
        eq(got, [(r[0], r[1]) for r in rows if r[0] == "GB"], "rows")

    # ------------------------------------------------------------------ prepared statements
    @check("prepare=True: same statement re-executed with different params")
    def _():
        q = "SELECT count(*), sum(orders)::bigint FROM sales.daily_revenue WHERE country = %s"
        for c in ["GB", "BR", "FR", "ZZ", "GB"]:
            got = conn.execute(q, [c], prepare=True).fetchone()
            sel = [r for r in rows if r[0] == c]
            eq(got, (len(sel), sum(r[1] for r in sel) if sel else None), f"country {c}")

    @check("prepare_threshold=0: every query prepared (incl. no-param query)")
    def _():
        with connect(port, prepare_threshold=0) as c2:
            for _i in range(3):
                eq(c2.execute(ALL_SQL).fetchall(), rows, "all rows")
                got = c2.execute("SELECT country FROM sales.daily_revenue WHERE dt = %s ORDER BY country",
                                 [dt.date(2026, 1, 10)]).fetchall()
                eq([g[0] for g in got], sorted(r[0] for r in rows if r[3] == dt.date(2026, 1, 10)), "dt rows")

    # ------------------------------------------------------------------ binary results
    def typed(sql, expected, oids=None):
        for binary in (False, True):
            cur = conn.cursor(binary=binary)
            cur.execute(sql)
            got = cur.fetchone()
            mode = "binary" if binary else "text"
            eq(got, expected, f"{mode} values")
            for g, e in zip(got, expected):
                if type(g) is not type(e):
                    raise AssertionError(f"{mode}: {g!r} is {type(g).__name__}, expected {type(e).__name__}")
            if oids is not None:
                eq([d.type_code for d in cur.description], oids, f"{mode} type oids")

    @check("types: bool")
    def _():
        typed("SELECT true AS t, false AS f, CAST(NULL AS boolean) AS n", (True, False, None), [16, 16, 16])

    @check("types: int2/int4/int8")
    def _():
        typed("SELECT CAST(-32768 AS smallint) AS a, CAST(2147483647 AS integer) AS b, "
              "CAST(-9223372036854775807 AS bigint) AS c", (-32768, 2147483647, -9223372036854775807), [21, 23, 20])

    @check("types: float4/float8")
    def _():
        typed("SELECT CAST(1.5 AS real) AS a, CAST(-2.25 AS double precision) AS b", (1.5, -2.25), [700, 701])

    @check("types: numeric")
    def _():
        typed("SELECT CAST(1.25 AS numeric(10,2)) AS a, CAST(-123456789.125 AS numeric(20,3)) AS b, "
              "CAST(0 AS numeric(5,2)) AS c",
              (decimal.Decimal("1.25"), decimal.Decimal("-123456789.125"), decimal.Decimal("0.00")),
              [1700, 1700, 1700])

    @check("types: text / varchar")
    def _():
        typed("SELECT CAST('héllo ✓' AS text) AS a, CAST('x' AS varchar) AS b, '' AS c",
              ("héllo ✓", "x", ""))

    @check("types: bytea")
    def _():
        typed("SELECT CAST('abc' AS bytea) AS a, decode('00ff10', 'hex') AS b", (b"abc", b"\x00\xff\x10"), [17, 17])

    @check("types: date/time/timestamp")
    def _():
        typed("SELECT DATE '2026-01-15' AS d, TIME '12:34:56.5' AS t, "
              "TIMESTAMP '2026-01-15 10:00:00.123456' AS ts",
              (dt.date(2026, 1, 15), dt.time(12, 34, 56, 500000), dt.datetime(2026, 1, 15, 10, 0, 0, 123456)),
              [1082, 1083, 1114])

    @check("types: timestamptz literal is timestamptz (OID 1184, tz-aware)")
    def _():
        typed("SELECT TIMESTAMPTZ '2026-01-15 10:00:00+02' AS a",
              (dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.timezone.utc),), [1184])

    @check("types: timestamptz column")
    def _():
        typed("SELECT _ingested_at FROM sales.daily_revenue WHERE country = 'FR'",
              (dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc),), [1184])

    @check("types: interval")
    def _():
        typed("SELECT INTERVAL '1 day 2 hours' AS a, INTERVAL '90 minutes' AS b",
              (dt.timedelta(days=1, hours=2), dt.timedelta(minutes=90)), [1186, 1186])

    @check("types: arrays (make_array / ARRAY[])")
    def _():
        typed("SELECT make_array(1,2,3) AS a, ARRAY['a','b'] AS b, ARRAY[1.5, 2.5] AS c",
              ([1, 2, 3], ["a", "b"], [1.5, 2.5]), [1016, 1009, 1022])

    @check("types: NULLs of several types in one row")
    def _():
        typed("SELECT CAST(NULL AS integer) AS a, CAST(NULL AS text) AS b, CAST(NULL AS date) AS c, "
              "CAST(NULL AS double precision) AS d", (None, None, None, None), [23, 25, 1082, 701])

    @check("binary results of a whole table equal text results")
    def _():
        cur = conn.cursor(binary=True)
        eq(cur.execute(ALL_SQL).fetchall(), rows, "rows")

    # ------------------------------------------------------------------ catalog via psycopg helpers
    @check("psycopg TypeInfo.fetch (pg_type lookup) for int4 and text[]")
    def _():
        ti = TypeInfo.fetch(conn, "int4")
        if ti is None:
            raise AssertionError("TypeInfo.fetch('int4') returned None")
        eq((ti.oid, ti.array_oid), (23, 1007), "int4 oids")
        ti = TypeInfo.fetch(conn, "text")
        eq((ti.oid, ti.array_oid), (25, 1009), "text oids")

    # ------------------------------------------------------------------ server-side cursors
    @check("named cursor (DECLARE/FETCH) with itersize in a transaction")
    def _():
        with connect(port, autocommit=False) as c2:
            with c2.cursor(name="c_all") as cur:
                cur.itersize = 4
                cur.execute(ALL_SQL)
                got = list(cur)
            c2.commit()
        eq(got, rows, "rows via named cursor")

    @check("named cursor with a parameter, fetchmany + fetchone")
    def _():
        with connect(port, autocommit=False) as c2:
            with c2.cursor(name="c_param", binary=True) as cur:
                cur.execute("SELECT country, revenue FROM sales.daily_revenue WHERE dt >= %s ORDER BY dt, country",
                            [dt.date(2026, 1, 12)])
                first = cur.fetchmany(3)
                one = cur.fetchone()
                rest = cur.fetchall()
            c2.rollback()
        exp = [(r[0], r[2]) for r in rows if r[3] >= dt.date(2026, 1, 12)]
        eq(first + [one] + rest, exp, "rows")

    @check("named cursor WITH HOLD outside a transaction (autocommit)")
    def _():
        with connect(port) as c2:
            with c2.cursor(name="c_hold", withhold=True) as cur:
                cur.itersize = 5
                cur.execute(ALL_SQL)
                got = list(cur)
        eq(got, rows, "rows")

    @check("SQL-level cursor via simple protocol: DECLARE / FETCH / MOVE / CLOSE (psycopg2 style)")
    def _():
        with connect(port) as c2:
            pg = c2.pgconn

            def run(q):
                r = pg.exec_(q.encode())
                if r.status not in (1, 2):  # COMMAND_OK, TUPLES_OK
                    raise AssertionError(f"{q!r}: {r.error_message.decode().strip()}")
                return [r.get_value(i, 0).decode() for i in range(r.ntuples)] if r.nfields else None

            run("BEGIN")
            run("DECLARE c_raw CURSOR FOR SELECT country FROM sales.daily_revenue ORDER BY dt, country")
            a = run("FETCH FORWARD 3 FROM c_raw")
            run("MOVE FORWARD 2 FROM c_raw")
            b = run("FETCH ALL FROM c_raw")
            run("CLOSE c_raw")
            run("COMMIT")
        countries = [r[0] for r in rows]
        eq(a, countries[:3], "first fetch")
        eq(b, countries[5:], "fetch after MOVE 2")

    @check("Describe(portal) on a DECLAREd cursor name (what psycopg 3 named cursors do)")
    def _():
        with connect(port) as c2:
            pg = c2.pgconn
            pg.exec_(b"BEGIN")
            pg.exec_(b"DECLARE c_desc CURSOR FOR SELECT country, orders FROM sales.daily_revenue")
            r = pg.describe_portal(b"c_desc")
            if r.status != 1:
                raise AssertionError(f"describe portal: {r.error_message.decode().strip()}")
            eq([r.fname(i).decode() for i in range(r.nfields)], ["country", "orders"], "fields")
            eq([r.ftype(i) for i in range(r.nfields)], [25, 20], "types")
            pg.exec_(b"ROLLBACK")

    @check("pg_catalog.pg_cursors exists (psycopg queries it when closing a cursor)")
    def _():
        with connect(port, autocommit=False) as c2:
            c2.execute("DECLARE c_list CURSOR FOR SELECT 1")
            got = c2.execute("SELECT name FROM pg_catalog.pg_cursors WHERE name = %s", ["c_list"]).fetchall()
            eq(got, [("c_list",)], "pg_cursors")
            c2.rollback()

    # ------------------------------------------------------------------ COPY
    @check("COPY (SELECT ...) TO STDOUT, text format, raw bytes")
    def _():
        cur = conn.cursor()
        data = b""
        with cur.copy("COPY (SELECT country, orders, revenue, dt FROM sales.daily_revenue "
                      "ORDER BY dt, country) TO STDOUT") as cp:
            for chunk in cp:
                data += bytes(chunk)
        lines = data.decode().splitlines()
        eq(len(lines), 13, "line count")
        eq(lines[0], "BR\t1\t35.9\t2026-01-10", "first line")
        eq(lines[-1], "GB\t2\t223.95\t2026-01-24", "last line")

    @check("COPY TO STDOUT with rows() and NULLs")
    def _():
        cur = conn.cursor()
        with cur.copy("COPY (SELECT customer_id, segment FROM raw.crm.customers ORDER BY customer_id) TO STDOUT") as cp:
            got = list(cp.rows())
        exp = conn.execute("SELECT customer_id, segment FROM raw.crm.customers ORDER BY customer_id").fetchall()
        eq(got, [(str(a), b) for a, b in exp], "rows")
        if not any(b is None for _a, b in got):
            raise AssertionError("expected some NULL segment values")

    @check("COPY TO STDOUT (FORMAT csv, HEADER)")
    def _():
        cur = conn.cursor()
        data = b""
        with cur.copy("COPY (SELECT country, orders FROM sales.daily_revenue WHERE country = 'GB' ORDER BY dt) "
                      "TO STDOUT WITH (FORMAT csv, HEADER)") as cp:
            for chunk in cp:
                data += bytes(chunk)
        eq(data.decode().splitlines(), ["country,orders", "GB,1", "GB,2"], "csv lines")

    @check("COPY TO STDOUT (FORMAT binary) with set_types")
    def _():
        cur = conn.cursor()
        with cur.copy("COPY (SELECT country, orders, dt FROM sales.daily_revenue ORDER BY dt, country) "
                      "TO STDOUT (FORMAT binary)") as cp:
            cp.set_types(["text", "int8", "date"])
            got = list(cp.rows())
        eq(got, [(r[0], r[1], r[3]) for r in rows], "rows")

    @check("connection is usable after COPY")
    def _():
        eq(conn.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "count")

    # ------------------------------------------------------------------ transactions
    @check("transaction status: BEGIN (implicit) / COMMIT / ROLLBACK")
    def _():
        from psycopg.pq import TransactionStatus as TS
        with connect(port, autocommit=False) as c2:
            eq(c2.info.transaction_status, TS.IDLE, "initial")
            c2.execute("SELECT 1")
            eq(c2.info.transaction_status, TS.INTRANS, "after select")
            c2.commit()
            eq(c2.info.transaction_status, TS.IDLE, "after commit")
            c2.execute("SELECT 1")
            c2.rollback()
            eq(c2.info.transaction_status, TS.IDLE, "after rollback")

    @check("error inside transaction -> INERROR, 25P02 for next stmt, ROLLBACK recovers")
    def _():
        from psycopg.pq import TransactionStatus as TS
        with connect(port, autocommit=False) as c2:
            c2.execute("SELECT 1")
            try:
                c2.execute("SELECT * FROM no_such_table_xyz")
                raise AssertionError("no error for missing table")
            except pgerr.UndefinedTable:
                pass
            eq(c2.info.transaction_status, TS.INERROR, "status after error")
            try:
                c2.execute("SELECT 1")
                raise AssertionError("statement in failed transaction was accepted")
            except psycopg.Error as e:
                eq(e.sqlstate, "25P02", "sqlstate in failed transaction")
            c2.rollback()
            eq(c2.info.transaction_status, TS.IDLE, "status after rollback")
            eq(c2.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "count after rollback")

    @check("explicit BEGIN/COMMIT in autocommit mode + with conn.transaction()")
    def _():
        with connect(port) as c2:
            c2.execute("BEGIN")
            eq(c2.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "in txn")
            c2.execute("COMMIT")
            with c2.transaction():
                eq(c2.execute("SELECT count(*) FROM ops.pipeline_runs").fetchone()[0],
                   c2.execute("SELECT count(*) FROM (SELECT * FROM ops.pipeline_runs) t").fetchone()[0], "count")

    @check("nested conn.transaction() (SAVEPOINT / ROLLBACK TO SAVEPOINT)")
    def _():
        with connect(port) as c2:
            with c2.transaction():
                try:
                    with c2.transaction():
                        c2.execute("SELECT * FROM no_such_table_xyz")
                except pgerr.UndefinedTable:
                    pass
                eq(c2.execute("SELECT 41 + 1 AS x").fetchone()[0], 42, "after savepoint rollback")

    # ------------------------------------------------------------------ errors
    def expect_sqlstate(sql, state, params=None):
        try:
            conn.execute(sql, params)
        except psycopg.Error as e:
            eq(e.sqlstate, state, f"sqlstate for {sql!r}")
            if not (e.diag.message_primary or "").strip():
                raise AssertionError("empty error message")
            if e.diag.severity not in ("ERROR", "FATAL"):
                raise AssertionError(f"severity {e.diag.severity!r}")
            return e
        raise AssertionError(f"{sql!r} did not fail")

    @check("error 42P01 unknown table (simple + extended protocol)")
    def _():
        e = expect_sqlstate("SELECT * FROM sales.no_such_table", "42P01")
        if not isinstance(e, pgerr.UndefinedTable):
            raise AssertionError(type(e))
        expect_sqlstate("SELECT * FROM sales.no_such_table WHERE x = %s", "42P01", [1])

    @check("error 42703 unknown column")
    def _():
        expect_sqlstate("SELECT no_such_column FROM sales.daily_revenue", "42703")
        expect_sqlstate("SELECT no_such_column FROM sales.daily_revenue WHERE country = %s", "42703", ["GB"])

    @check("error 42601 syntax error")
    def _():
        expect_sqlstate("SELEC 1", "42601")
        expect_sqlstate("SELECT FROM WHERE %s", "42601", [1])

    @check("error 22012 division by zero")
    def _():
        expect_sqlstate("SELECT 1 / 0", "22012")

    @check("error 25006 on updating rows in place")
    def _():
        expect_sqlstate("UPDATE sales.daily_revenue SET orders = 0", "25006")

    @check("connection still usable after errors (autocommit)")
    def _():
        eq(conn.execute("SELECT count(*) FROM sales.daily_revenue").fetchone()[0], 13, "count")

    # ------------------------------------------------------------------ SHOW / SET
    @check("SHOW server_version / TimeZone / search_path / standard_conforming_strings")
    def _():
        eq(conn.execute("SHOW server_version").fetchone()[0], conn.info.parameter_status("server_version"), "server_version")
        eq(conn.execute("SHOW TimeZone").fetchone()[0], conn.info.parameter_status("TimeZone"), "TimeZone")
        eq(conn.execute("SHOW standard_conforming_strings").fetchone()[0], "on", "scs")
        conn.execute("SHOW search_path").fetchone()

    @check("SHOW TRANSACTION ISOLATION LEVEL (used by SQLAlchemy on connect)")
    def _():
        eq(conn.execute("SHOW TRANSACTION ISOLATION LEVEL").fetchone()[0], "read committed", "value")

    @check("SET application_name / SHOW / current_setting")
    def _():
        with connect(port) as c2:
            c2.execute("SET application_name = 'strata-client-test'")
            eq(c2.execute("SHOW application_name").fetchone()[0], "strata-client-test", "SHOW")
            eq(c2.execute("SELECT current_setting('application_name')").fetchone()[0], "strata-client-test",
               "current_setting")

    @check("application_name from connection string is reported")
    def _():
        with connect(port, application_name="from-startup") as c2:
            eq(c2.execute("SHOW application_name").fetchone()[0], "from-startup", "SHOW")

    # ------------------------------------------------------------------ pipeline mode
    @check("pipeline mode: several parameterised queries in one round trip")
    def _():
        with connect(port) as c2:
            with c2.pipeline():
                curs = []
                for c in ["GB", "BR", "FR"]:
                    cur = c2.cursor()
                    cur.execute("SELECT count(*) FROM sales.daily_revenue WHERE country = %s", [c])
                    curs.append((c, cur))
            for c, cur in curs:
                eq(cur.fetchone()[0], sum(1 for r in rows if r[0] == c), f"count {c}")

    # ------------------------------------------------------------------ other tables
    @check("other sample tables: customer_360, pipeline_runs, raw/sanitized three-part names")
    def _():
        c360 = conn.execute("SELECT customer_id, name, orders FROM sales.customer_360 WHERE customer_id = %s", [1]).fetchone()
        eq(c360[:2], (1, "Ada Lovelace"), "customer_360 row")
        n_orders = conn.execute("SELECT count(*) FROM raw.shop.orders").fetchone()[0]
        eq(n_orders, 14, "raw.shop.orders count")
        eq(conn.execute("SELECT count(*) FROM raw.events.clicks").fetchone()[0], 24, "clicks")
        eq(conn.execute("SELECT name FROM sanitized.public.countries WHERE code = %s", ["FR"]).fetchone(),
           ("France",), "countries FR")
        j = conn.execute(
            "SELECT d.country, c.name FROM sales.daily_revenue d JOIN sanitized.public.countries c "
            "ON c.code = d.country WHERE d.dt = %s ORDER BY d.country", [dt.date(2026, 1, 12)]).fetchall()
        eq(j, [("DE", "Germany"), ("IN", "India")], "cross-zone join")

    conn.close()

    print()
    print(f"psycopg3_client: {PASSES} passed, {len(FAILURES)} failed")
    for name, msg in FAILURES:
        print(f"  FAILED: {name}: {msg}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
