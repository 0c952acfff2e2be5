#!/usr/bin/env python3
"""Real-client test: asyncpg against `strata serve` (built-in sample lake).

Usage: asyncpg_client.py PORT [-v]

asyncpg always uses the extended protocol, trusts the server's
ParameterDescription to pick parameter encoders, uses binary results, and
introspects any type OID it has no built-in codec for (arrays, ...) with a
large recursive query over pg_catalog.pg_type. This script checks all of
that plus prepared statements, cursors, COPY, transactions, pools, errors.

Every check prints one line (PASS/FAIL). Failures do not stop the run;
the exit status is 1 if any check failed.
"""
import asyncio
import datetime as dt
import decimal
import io
import sys
import traceback

import asyncpg

HOST = "127.0.0.1"
USER = "tester"
FAILURES = []
PASSES = 0
UTC = dt.timezone.utc


async def check(name, coro_fn):
    global PASSES
    try:
        await asyncio.wait_for(coro_fn(), timeout=60)
    except BaseException as e:  # noqa: BLE001 - RecursionError etc. too
        if isinstance(e, KeyboardInterrupt):
            raise
        msg = f"{type(e).__name__}: {e}".strip().replace("\n", " | ")
        st = getattr(e, "sqlstate", None)
        if st:
            msg = f"[SQLSTATE {st}] {msg}"
        if len(msg) > 700:
            msg = msg[:700] + "..."
        FAILURES.append((name, msg))
        print(f"FAIL {name}: {msg}", flush=True)
        if "-v" in sys.argv:
            traceback.print_exc()
    else:
        PASSES += 1
        print(f"PASS {name}", flush=True)


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


async def connect(port, **kw):
    kw.setdefault("database", "enhanced")
    return await asyncpg.connect(host=HOST, port=port, user=USER, timeout=10, **kw)


ALL_SQL = ("SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue "
           "ORDER BY dt, country")


async def main():
    if len(sys.argv) < 2:
        print("usage: asyncpg_client.py PORT [-v]", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    conn = await connect(port)
    rows = [tuple(r) for r in await conn.fetch(ALL_SQL)]

    async def ground_truth():
        eq(len(rows), 13, "count")
        eq(rows[0], ("BR", 1, 35.9, dt.date(2026, 1, 10), dt.datetime(2026, 1, 10, tzinfo=UTC)), "first row")
        eq(rows[-1][:4], ("GB", 2, 223.95, dt.date(2026, 1, 24)), "last row")
    await check("ground truth: fetch() of sales.daily_revenue (13 known rows, decoded types)", ground_truth)

    # ------------------------------------------------------------------ connection
    async def server_version():
        v = conn.get_server_version()
        num = int(await conn.fetchval("SELECT current_setting('server_version_num')"))
        eq(v.major * 10000 + v.micro, num, "server version")
    await check("get_server_version() matches server_version_num", server_version)

    async def server_settings_as_of():
        c2 = await connect(port, server_settings={"strata.as_of": "2026-01-12", "application_name": "apg-test"})
        try:
            n = await c2.fetchval("SELECT count(*) FROM sales.daily_revenue")
            app = await c2.fetchval("SELECT current_setting('application_name')")
        finally:
            await c2.close()
        eq(n, sum(1 for r in rows if r[4] <= dt.datetime(2026, 1, 12, tzinfo=UTC)), "as_of count")
        eq(n, 8, "as_of count literal")
        eq(app, "apg-test", "application_name")
    await check("server_settings={'strata.as_of': ...} in the startup packet", server_settings_as_of)

    async def raw_db():
        c2 = await connect(port, database="raw")
        try:
            a = [tuple(r) for r in await c2.fetch("SELECT customer_id, name FROM crm.customers ORDER BY customer_id")]
        finally:
            await c2.close()
        b = [tuple(r) for r in await conn.fetch("SELECT customer_id, name FROM raw.crm.customers ORDER BY customer_id")]
        eq(a, b, "rows")
        eq(a[0], (1, "Ada Lovelace"), "first")
    await check("database=raw sees crm.customers", raw_db)

    # ------------------------------------------------------------------ params (types inferred by the server)
    async def p_text():
        got = [tuple(r) for r in await conn.fetch(ALL_SQL.replace("ORDER BY", "WHERE country = $1 ORDER BY"), "GB")]
        eq(got, [r for r in rows if r[0] == "GB"], "rows")
    await check("fetch with $1 text param (country = $1)", p_text)

    async def p_date():
        d = dt.date(2026, 1, 15)
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE dt >= $1", d),
           sum(1 for r in rows if r[3] >= d), "count")
    await check("fetchval with $1 date param", p_date)

    async def p_int_float():
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE orders > $1", 1),
           sum(1 for r in rows if r[1] > 1), "orders > 1")
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE revenue > $1", 100.0),
           sum(1 for r in rows if r[2] > 100.0), "revenue > 100")
    await check("fetchval with $1 int8 / float8 params (inferred from column)", p_int_float)

    async def p_tstz():
        ts = dt.datetime(2026, 1, 12, tzinfo=UTC)
        r = await conn.fetchrow("SELECT count(*) AS n, max(_ingested_at) AS m FROM sales.daily_revenue "
                                "WHERE _ingested_at <= $1", ts)
        sel = [x for x in rows if x[4] <= ts]
        eq((r["n"], r["m"]), (len(sel), max(x[4] for x in sel)), "fetchrow")
    await check("fetchrow with $1 timestamptz param", p_tstz)

    async def p_multi():
        r = await conn.fetchrow("SELECT country, revenue FROM sales.daily_revenue WHERE country = $1 AND dt = $2 "
                                "AND orders >= $3", "GB", dt.date(2026, 1, 24), 2)
        eq(tuple(r), ("GB", 223.95), "row")
    await check("fetchrow with three params of different types", p_multi)

    # ------------------------------------------------------------------ params with explicit casts
    async def p_cast_int():
        eq(await conn.fetchval("SELECT $1::int + 1", 41), 42, "int")
        eq(await conn.fetchval("SELECT $1::bigint * 2", 2 ** 40), 2 ** 41, "bigint")
    await check("$1::int / $1::bigint params (ParameterDescription must say int4/int8)", p_cast_int)

    async def p_cast_other():
        eq(await conn.fetchval("SELECT $1::numeric(10,2)", decimal.Decimal("12.34")), decimal.Decimal("12.34"), "numeric")
        eq(await conn.fetchval("SELECT $1::bool", True), True, "bool")
        eq(await conn.fetchval("SELECT $1::date", dt.date(2026, 1, 2)), dt.date(2026, 1, 2), "date")
        eq(await conn.fetchval("SELECT $1::float8 / 2", 5.0), 2.5, "float8")
    await check("$1::numeric / bool / date / float8 params", p_cast_other)

    async def p_null():
        eq(await conn.fetchval("SELECT $1::text IS NULL", None), True, "null text")
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE country = $1", None), 0, "= NULL")
    await check("NULL parameter", p_null)

    async def p_array():
        got = await conn.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE country = ANY($1::text[])",
                                  ["GB", "FR"])
        eq(got, sum(1 for r in rows if r[0] in ("GB", "FR")), "count")
    await check("array parameter: country = ANY($1::text[])", p_array)

    # ------------------------------------------------------------------ prepared statements
    async def prepared():
        stmt = await conn.prepare("SELECT country, orders, revenue FROM sales.daily_revenue "
                                  "WHERE country = $1 ORDER BY dt")
        eq([t.name for t in stmt.get_parameters()], ["text"], "parameter types")
        eq([(a.name, a.type.name) for a in stmt.get_attributes()],
           [("country", "text"), ("orders", "int8"), ("revenue", "float8")], "attributes")
        for c in ["GB", "BR", "ZZ", "FR"]:
            got = [tuple(r) for r in await stmt.fetch(c)]
            eq(got, [(r[0], r[1], r[2]) for r in rows if r[0] == c], f"rows {c}")
        eq(await stmt.fetchval("GB", column=2), 120.5, "fetchval column=2")
        r = await stmt.fetchrow("KR")
        eq(r["revenue"], 18.45, "fetchrow KR")
    await check("conn.prepare(): parameters/attributes + repeated fetch", prepared)

    async def prepared_explain():
        stmt = await conn.prepare("SELECT count(*) FROM sales.daily_revenue WHERE dt >= $1")
        eq([t.name for t in stmt.get_parameters()], ["date"], "parameter types")
        eq(await stmt.fetchval(dt.date(2026, 1, 18)), sum(1 for r in rows if r[3] >= dt.date(2026, 1, 18)), "count")
    await check("conn.prepare() with a date parameter", prepared_explain)

    # ------------------------------------------------------------------ cursors
    async def cursor_iter():
        async with conn.transaction():
            got = [tuple(r) async for r in conn.cursor(ALL_SQL, prefetch=4)]
        eq(got, rows, "rows")
    await check("async for ... in conn.cursor(prefetch=4) inside a transaction", cursor_iter)

    async def cursor_fetch():
        async with conn.transaction():
            cur = await conn.cursor("SELECT country FROM sales.daily_revenue WHERE dt >= $1 ORDER BY dt, country",
                                    dt.date(2026, 1, 12))
            a = await cur.fetch(2)
            moved = await cur.forward(1)
            b = await cur.fetchrow()
            rest = await cur.fetch(100)
        exp = [r[0] for r in rows if r[3] >= dt.date(2026, 1, 12)]
        eq([r[0] for r in a], exp[:2], "fetch(2)")
        eq(moved, 1, "forward(1)")
        eq(b[0], exp[3], "fetchrow after forward")
        eq([r[0] for r in rest], exp[4:], "rest")
    await check("await conn.cursor(...): fetch / forward / fetchrow with a param", cursor_fetch)

    # ------------------------------------------------------------------ COPY
    async def copy_text():
        buf = io.BytesIO()
        status = await conn.copy_from_query(
            "SELECT country, orders, revenue, dt FROM sales.daily_revenue ORDER BY dt, country", output=buf)
        lines = buf.getvalue().decode().splitlines()
        eq(status, "COPY 13", "status")
        eq(lines[0], "BR\t1\t35.9\t2026-01-10", "first line")
        eq(len(lines), 13, "lines")
    await check("copy_from_query to BytesIO (text)", copy_text)

    async def copy_csv_param():
        buf = io.BytesIO()
        await conn.copy_from_query(
            "SELECT country, orders FROM sales.daily_revenue WHERE country = $1 ORDER BY dt", "GB",
            output=buf, format="csv", header=True)
        eq(buf.getvalue().decode().splitlines(), ["country,orders", "GB,1", "GB,2"], "csv")
    await check("copy_from_query with $1 arg, format=csv, header=True", copy_csv_param)

    async def copy_table():
        buf = io.BytesIO()
        await conn.copy_from_table("pipeline_runs", schema_name="ops", columns=["job", "rows"], output=buf,
                                   format="csv")
        got = sorted(buf.getvalue().decode().splitlines())
        exp = sorted(f"{r[0]},{r[1]}" for r in await conn.fetch("SELECT job, rows FROM ops.pipeline_runs"))
        eq(got, exp, "csv lines")
    await check("copy_from_table(ops.pipeline_runs, columns=...)", copy_table)

    # ------------------------------------------------------------------ type decoding
    async def types_scalar():
        r = await conn.fetchrow(
            "SELECT CAST(-32768 AS smallint) AS i2, CAST(2147483647 AS integer) AS i4, "
            "CAST(-9223372036854775807 AS bigint) AS i8, CAST(1.5 AS real) AS f4, "
            "CAST(-2.25 AS double precision) AS f8, true AS b, CAST('héllo' AS text) AS t, "
            "CAST(NULL AS integer) AS n")
        exp = {"i2": -32768, "i4": 2147483647, "i8": -9223372036854775807, "f4": 1.5, "f8": -2.25,
               "b": True, "t": "héllo", "n": None}
        eq(dict(r), exp, "values")
        eq(type(r["b"]), bool, "bool type")
    await check("decode int2/int4/int8/float4/float8/bool/text/NULL", types_scalar)

    async def types_numeric():
        r = await conn.fetchrow("SELECT CAST(1.25 AS numeric(10,2)) AS a, "
                                "CAST(-123456789.125 AS numeric(20,3)) AS b")
        eq((r["a"], r["b"]), (decimal.Decimal("1.25"), decimal.Decimal("-123456789.125")), "numeric")
    await check("decode numeric -> Decimal", types_numeric)

    async def types_datetime():
        r = await conn.fetchrow(
            "SELECT DATE '2026-01-15' AS d, TIME '12:34:56' AS t, "
            "TIMESTAMP '2026-01-15 10:00:00.5' AS ts, INTERVAL '1 day 2 hours' AS iv, "
            "CAST('abc' AS bytea) AS by")
        eq(dict(r), {"d": dt.date(2026, 1, 15), "t": dt.time(12, 34, 56),
                     "ts": dt.datetime(2026, 1, 15, 10, 0, 0, 500000),
                     "iv": dt.timedelta(days=1, hours=2), "by": b"abc"}, "values")
    await check("decode date/time/timestamp/interval/bytea", types_datetime)

    async def types_tstz():
        eq(await conn.fetchval("SELECT TIMESTAMPTZ '2026-01-15 10:00:00+02'"),
           dt.datetime(2026, 1, 15, 8, tzinfo=UTC), "timestamptz literal")
    await check("decode timestamptz literal (tz-aware)", types_tstz)

    async def types_ts_minutes():
        eq(await conn.fetchval("SELECT TIMESTAMP '2026-01-01 00:00'"), dt.datetime(2026, 1, 1), "value")
    await check("timestamp literal without seconds ('2026-01-01 00:00')", types_ts_minutes)

    async def types_arrays():
        r = await conn.fetchrow("SELECT make_array(1, 2, 3) AS a, ARRAY['x', 'y'] AS b, ARRAY[1.5, 2.5] AS c")
        eq((r["a"], r["b"], r["c"]), ([1, 2, 3], ["x", "y"], [1.5, 2.5]), "arrays")
    await check("decode arrays (int8[], text[], float8[]) -> requires type introspection", types_arrays)

    async def introspection_query():
        # What asyncpg runs for unknown OIDs; here called directly so the
        # failure is visible even if the codec path above fails differently.
        from asyncpg import introspection
        stmt = await conn.prepare(introspection.INTRO_LOOKUP_TYPES_13)
        # Expected values are what PostgreSQL 15 answers to asyncpg 0.32.
        eq([t.name for t in stmt.get_parameters()], ["oid[]"], "intro query parameter type")
        attrs = {a.name: a.type.name for a in stmt.get_attributes()}
        eq((attrs["oid"], attrs["elemtype"], attrs["attrtypoids"], attrs["attrnames"], attrs["elemtype_name"]),
           ("oid", "oid", "oid[]", "text[]", "text"), "intro result column types")
    await check("asyncpg type-introspection query: param oid[] and result column types", introspection_query)

    async def oid_array_param():
        stmt = await conn.prepare("SELECT typname FROM pg_catalog.pg_type WHERE oid = any($1::oid[]) ORDER BY oid")
        eq([t.name for t in stmt.get_parameters()], ["oid[]"], "ParameterDescription for $1::oid[]")
        eq([r[0] for r in await stmt.fetch([16, 25])], ["bool", "text"], "rows")
    await check("ParameterDescription of $1::oid[] is oid[] (asyncpg's introspection query uses it)", oid_array_param)

    async def catalog_oid_types():
        stmt = await conn.prepare("SELECT attrelid, atttypid, CAST(attname AS text) AS attname "
                                  "FROM pg_catalog.pg_attribute LIMIT 1")
        eq([a.type.name for a in stmt.get_attributes()], ["oid", "oid", "text"], "column types")
    await check("pg_attribute.attrelid / atttypid are typed oid (not regclass/regtype)", catalog_oid_types)

    async def regtype_text():
        eq(await conn.fetchval("SELECT CAST(CAST(CAST(23 AS oid) AS regtype) AS text)"), "integer", "23::regtype::text")
        eq(await conn.fetchval("SELECT typname FROM pg_catalog.pg_type WHERE oid = $1", 1016), "_int8", "pg_type lookup")
    await check("oid::regtype::text gives the type name; pg_type lookup by oid param", regtype_text)

    async def table_types():
        r = await conn.fetchrow("SELECT * FROM sales.customer_360 WHERE customer_id = $1", 1)
        eq((r["customer_id"], r["name"], r["country"]), (1, "Ada Lovelace", "GB"), "row")
        if not isinstance(r["lifetime_value"], float) or r["last_order_at"].tzinfo is None:
            raise AssertionError(f"types: {dict(r)}")
    await check("decode a whole sales.customer_360 row", table_types)

    # ------------------------------------------------------------------ transactions
    async def txn_basic():
        async with conn.transaction():
            eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue"), 13, "count")
        eq(conn.is_in_transaction(), False, "after commit")
    await check("async with conn.transaction()", txn_basic)

    async def txn_opts():
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            eq(await conn.fetchval("SELECT count(*) FROM ops.pipeline_runs"),
               len(await conn.fetch("SELECT job FROM ops.pipeline_runs")), "count")
    await check("conn.transaction(isolation='repeatable_read', readonly=True)", txn_opts)

    async def txn_error():
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.fetch("SELECT * FROM sales.no_such_table")
            raise AssertionError("no error")
        except asyncpg.UndefinedTableError:
            pass
        try:
            await conn.fetchval("SELECT 1")
            raise AssertionError("statement accepted in failed transaction")
        except asyncpg.InFailedSQLTransactionError:
            pass
        await tr.rollback()
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue"), 13, "after rollback")
    await check("error in transaction -> 25P02 -> rollback recovers", txn_error)

    async def savepoint():
        async with conn.transaction():
            try:
                async with conn.transaction():
                    await conn.fetch("SELECT * FROM sales.no_such_table")
            except asyncpg.UndefinedTableError:
                pass
            eq(await conn.fetchval("SELECT 40 + 2"), 42, "after savepoint rollback")
    await check("nested transaction (SAVEPOINT / ROLLBACK TO SAVEPOINT)", savepoint)

    # ------------------------------------------------------------------ errors
    async def errors():
        cases = [
            ("SELECT * FROM sales.no_such_table", asyncpg.UndefinedTableError, "42P01"),
            ("SELECT no_such_column FROM sales.daily_revenue", asyncpg.UndefinedColumnError, "42703"),
            ("SELEC 1", asyncpg.PostgresSyntaxError, "42601"),
            ("SELECT 1 / 0", asyncpg.DivisionByZeroError, "22012"),
            ("UPDATE sales.daily_revenue SET orders = 0", asyncpg.ReadOnlySQLTransactionError, "25006"),
        ]
        for sql, cls, state in cases:
            try:
                await conn.fetch(sql)
                raise AssertionError(f"{sql!r} did not fail")
            except asyncpg.PostgresError as e:
                eq(e.sqlstate, state, sql)
                if not isinstance(e, cls):
                    raise AssertionError(f"{sql!r}: {type(e).__name__} is not {cls.__name__}")
        eq(await conn.fetchval("SELECT count(*) FROM sales.daily_revenue"), 13, "usable after errors")
    await check("errors: 42P01, 42703, 42601, 22012, 25006 map to asyncpg exception classes", errors)

    # ------------------------------------------------------------------ simple protocol / pools
    async def execute_script():
        c2 = await connect(port)
        try:
            status = await c2.execute("SET application_name = 'apg-script'; SELECT 1")
            eq(await c2.fetchval("SHOW application_name"), "apg-script", "application_name")
            eq(status, "SELECT 1", "status of last statement")
        finally:
            await c2.close()
    await check("conn.execute() multi-statement script (simple protocol)", execute_script)

    async def pool():
        p = await asyncpg.create_pool(host=HOST, port=port, user=USER, database="enhanced", min_size=1, max_size=2)
        try:
            for _ in range(3):
                async with p.acquire() as c:
                    eq(await c.fetchval("SELECT count(*) FROM sales.daily_revenue WHERE country = $1", "BR"),
                       sum(1 for r in rows if r[0] == "BR"), "count")
        finally:
            await asyncio.wait_for(p.close(), 10)
    await check("asyncpg pool: acquire/release x3 (release runs the reset query)", pool)

    await conn.close()
    print()
    print(f"asyncpg_client: {PASSES} passed, {len(FAILURES)} failed")
    for name, msg in FAILURES:
        print(f"  FAILED: {name}: {msg}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    asyncio.run(main())
