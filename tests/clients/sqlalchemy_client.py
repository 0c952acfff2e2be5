#!/usr/bin/env python3
"""Real-client test: SQLAlchemy 2 + psycopg2 (the Superset path) against
`strata serve` (built-in sample lake).

Usage: sqlalchemy_client.py PORT [-v]

Exercises engine connect (dialect initialize: version(), current_schema(),
SHOW TRANSACTION ISOLATION LEVEL, standard_conforming_strings), the
Inspector (schemas, tables, views, columns, PK, FKs, indexes, has_table),
table reflection + Core select, text() with bound params, stream_results
(psycopg2 named cursor) and pandas.read_sql when pandas is installed.

Every check prints one line (PASS/FAIL). Failures do not stop the run;
the exit status is 1 if any check failed.
"""
import datetime as dt
import sys
import traceback

import sqlalchemy as sa
from sqlalchemy import create_engine, inspect, text, types as satypes

try:
    import pandas as pd
except ImportError:  # pandas is optional
    pd = None

HOST = "127.0.0.1"
USER = "tester"
FAILURES = []
PASSES = 0


def check(name):
    def run(fn):
        global PASSES
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            orig = getattr(e, "orig", None)
            msg = f"{type(e).__name__}: {orig if orig is not None else e}".strip()
            code = getattr(orig, "pgcode", None)
            if code:
                msg = f"[SQLSTATE {code}] {msg}"
            msg = msg.replace("\n", " | ")
            if len(msg) > 700:
                msg = msg[:700] + "..."
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


def url(port, db):
    return f"postgresql+psycopg2://{USER}@{HOST}:{port}/{db}"


def main():
    if len(sys.argv) < 2:
        print("usage: sqlalchemy_client.py PORT [-v]", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])

    state = {}

    # ------------------------------------------------------------------ connect
    @check("create_engine + connect (dialect.initialize runs version(), SHOW TRANSACTION ISOLATION LEVEL, ...)")
    def _():
        eng = create_engine(url(port, "enhanced"))
        with eng.connect() as c:
            eq(c.execute(text("SELECT 1")).scalar(), 1, "select 1")
        state["engine"] = eng

    if "engine" not in state:
        # Keep going so the rest of the surface gets tested: work around the
        # connect failure by answering the isolation-level probe locally.
        # The check above already recorded the real failure.
        print("NOTE engine connect failed; continuing with a workaround "
              "(PGDialect.get_isolation_level -> 'READ COMMITTED') to test the rest")
        from sqlalchemy.dialects.postgresql.base import PGDialect

        PGDialect.get_isolation_level = lambda self, dbapi_conn: "READ COMMITTED"
        state["engine"] = create_engine(url(port, "enhanced"))

    engine = state["engine"]
    raw_engine = create_engine(url(port, "raw"))

    # Ground truth via plain SQL.
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text(
            "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue ORDER BY dt, country"))]

    @check("ground truth: sales.daily_revenue has 13 known rows")
    def _():
        eq(len(rows), 13, "count")
        eq(rows[0][:4], ("BR", 1, 35.9, dt.date(2026, 1, 10)), "first row")
        eq(rows[-1][:4], ("GB", 2, 223.95, dt.date(2026, 1, 24)), "last row")

    @check("dialect.server_version_info parsed from version() matches SHOW server_version")
    def _():
        with engine.connect() as c:
            sv = c.execute(text("SHOW server_version")).scalar()
        info = engine.dialect.server_version_info
        eq(".".join(str(x) for x in info), sv, "server_version_info")
        if info < (10,):
            raise AssertionError(f"server_version_info {info} too old")

    @check("dialect.default_schema_name is current_schema()")
    def _():
        with engine.connect() as c:
            cs = c.execute(text("SELECT current_schema()")).scalar()
            eq(c.dialect.default_schema_name, cs, "default_schema_name")

    @check("dialect default isolation level read from the server")
    def _():
        eq(engine.dialect.default_isolation_level, "READ COMMITTED", "isolation")

    @check("AUTOCOMMIT isolation level engine")
    def _():
        e2 = engine.execution_options(isolation_level="AUTOCOMMIT")
        with e2.connect() as c:
            eq(c.execute(text("SELECT count(*) FROM ops.pipeline_runs")).scalar(),
               len(c.execute(text("SELECT job FROM ops.pipeline_runs")).all()), "count")

    insp = inspect(engine)

    # ------------------------------------------------------------------ inspector
    @check("get_schema_names (enhanced)")
    def _():
        names = insp.get_schema_names()
        for s in ("sales", "ops", "public"):
            if s not in names:
                raise AssertionError(f"{s!r} missing from {names}")
        for s in names:
            if s.startswith("pg_") or s == "information_schema":
                raise AssertionError(f"system schema {s!r} listed: {names}")

    @check("get_table_names(schema=...) for sales and ops")
    def _():
        eq(sorted(insp.get_table_names(schema="sales")), ["customer_360", "daily_revenue"], "sales")
        eq(insp.get_table_names(schema="ops"), ["pipeline_runs"], "ops")

    @check("get_table_names() for the default schema equals get_table_names(schema=<default>)")
    def _():
        default = engine.dialect.default_schema_name
        eq(sorted(insp.get_table_names()), sorted(insp.get_table_names(schema=default)),
           f"default schema {default!r}")

    @check("get_view_names(schema='sales') is [] (all sample tables are base tables)")
    def _():
        eq(insp.get_view_names(schema="sales"), [], "views")

    @check("information_schema.views does not list base tables")
    def _():
        with engine.connect() as c:
            got = sorted(r[0] for r in c.execute(text(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'sales'")))
            base = sorted(r[0] for r in c.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sales' "
                "AND table_type = 'BASE TABLE'")))
        eq(base, ["customer_360", "daily_revenue"], "information_schema.tables")
        eq(got, [], "information_schema.views for schema sales")

    @check("get_columns(daily_revenue): names, SQLAlchemy types, nullability")
    def _():
        cols = insp.get_columns("daily_revenue", schema="sales")
        eq([c["name"] for c in cols], ["country", "orders", "revenue", "dt", "_ingested_at"], "names")
        want = [satypes.TEXT, satypes.BIGINT, satypes.DOUBLE_PRECISION, satypes.DATE, satypes.TIMESTAMP]
        for c, w in zip(cols, want):
            if not isinstance(c["type"], w):
                raise AssertionError(f"column {c['name']}: type {c['type']!r} is not {w.__name__}")
        if not cols[4]["type"].timezone:
            raise AssertionError("_ingested_at should be TIMESTAMP(timezone=True)")
        for c in cols:
            if "nullable" not in c or "default" not in c:
                raise AssertionError(f"column dict incomplete: {c}")

    @check("get_columns(customer_360) and information_schema.columns agree")
    def _():
        cols = insp.get_columns("customer_360", schema="sales")
        with engine.connect() as c:
            exp = [r[0] for r in c.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sales' "
                "AND table_name = 'customer_360' ORDER BY ordinal_position"))]
        eq([c["name"] for c in cols], exp, "names")
        eq(len(exp), 9, "column count")

    @check("get_pk_constraint(daily_revenue) -> no PK")
    def _():
        pk = insp.get_pk_constraint("daily_revenue", schema="sales")
        eq(pk.get("constrained_columns"), [], "constrained_columns")

    @check("get_foreign_keys(daily_revenue) -> []")
    def _():
        eq(insp.get_foreign_keys("daily_revenue", schema="sales"), [], "fks")

    @check("get_indexes(daily_revenue) -> []")
    def _():
        eq(insp.get_indexes("daily_revenue", schema="sales"), [], "indexes")

    @check("get_unique_constraints / get_check_constraints / get_table_comment")
    def _():
        eq(insp.get_unique_constraints("daily_revenue", schema="sales"), [], "unique")
        eq(insp.get_check_constraints("daily_revenue", schema="sales"), [], "check")
        insp.get_table_comment("daily_revenue", schema="sales")

    @check("has_table / has_schema")
    def _():
        eq(insp.has_table("daily_revenue", schema="sales"), True, "daily_revenue")
        eq(insp.has_table("no_such_table", schema="sales"), False, "missing table")
        eq(insp.has_table("pipeline_runs", schema="sales"), False, "table in other schema")
        eq(insp.has_schema("ops"), True, "ops")
        eq(insp.has_schema("no_such_schema"), False, "missing schema")

    @check("raw zone: schemas and tables (database=raw)")
    def _():
        ri = inspect(raw_engine)
        names = ri.get_schema_names()
        for s in ("crm", "shop", "events"):
            if s not in names:
                raise AssertionError(f"{s!r} missing from {names}")
        tabs = ri.get_table_names(schema="crm")
        for t in ("customers", "customers_history"):
            if t not in tabs:
                raise AssertionError(f"{t!r} missing from crm tables {tabs}")

    @check("raw zone: get_columns + get_pk_constraint of keyed table crm.customers")
    def _():
        ri = inspect(raw_engine)
        cols = ri.get_columns("customers", schema="crm")
        names = [c["name"] for c in cols]
        if "customer_id" not in names or "email" not in names:
            raise AssertionError(f"columns {names}")
        if not isinstance(cols[names.index("customer_id")]["type"], satypes.BIGINT):
            raise AssertionError(f"customer_id type {cols[names.index('customer_id')]['type']!r}")
        pk = ri.get_pk_constraint("customers", schema="crm")
        if pk.get("constrained_columns") != ["customer_id"] or pk.get("name") != "customers_pkey":
            raise AssertionError(f"unexpected pk {pk}")

    # ------------------------------------------------------------------ reflection + Core
    @check("Table(..., autoload_with=engine) + Core select with bound param")
    def _():
        md = sa.MetaData()
        t = sa.Table("daily_revenue", md, schema="sales", autoload_with=engine)
        eq(list(t.c.keys()), ["country", "orders", "revenue", "dt", "_ingested_at"], "columns")
        q = sa.select(t.c.country, t.c.orders).where(t.c.country == "GB").order_by(t.c.dt)
        with engine.connect() as c:
            got = [tuple(r) for r in c.execute(q)]
        eq(got, [(r[0], r[1]) for r in rows if r[0] == "GB"], "rows")

    @check("Core select over a lightweight table() with func.sum/group_by/limit")
    def _():
        t = sa.table("daily_revenue", sa.column("country"), sa.column("revenue"), schema="sales")
        q = (sa.select(t.c.country, sa.func.sum(t.c.revenue).label("rev"))
             .group_by(t.c.country).order_by(sa.desc("rev")).limit(3))
        with engine.connect() as c:
            got = [(r[0], round(r[1], 2)) for r in c.execute(q)]
        agg = {}
        for r in rows:
            agg[r[0]] = agg.get(r[0], 0) + r[2]
        exp = sorted(((k, round(v, 2)) for k, v in agg.items()), key=lambda kv: -kv[1])[:3]
        eq(got, exp, "top 3")

    # ------------------------------------------------------------------ text() with params
    @check("text() query with bound params (str, date)")
    def _():
        q = text("SELECT country, revenue FROM sales.daily_revenue WHERE country = :c AND dt >= :d ORDER BY dt")
        with engine.connect() as c:
            got = [tuple(r) for r in c.execute(q, {"c": "GB", "d": dt.date(2026, 1, 20)})]
        eq(got, [(r[0], r[2]) for r in rows if r[0] == "GB" and r[3] >= dt.date(2026, 1, 20)], "rows")
        eq(len(got), 1, "count")

    @check("text() bound param containing an apostrophe (psycopg2 interpolates 'O''Brien')")
    def _():
        with engine.connect() as c:
            got = c.execute(text("SELECT CAST(:n AS text) AS n, count(*) AS c FROM sales.daily_revenue "
                                 "WHERE country = :c"), {"n": "O'Brien", "c": "GB"}).one()
        eq(tuple(got), ("O'Brien", 2), "row")

    @check("text() with expanding IN param and NULL param")
    def _():
        q = text("SELECT country FROM sales.daily_revenue WHERE country IN :cs ORDER BY dt, country"
                 ).bindparams(sa.bindparam("cs", expanding=True))
        with engine.connect() as c:
            got = [r[0] for r in c.execute(q, {"cs": ["FR", "DE", "KR"]})]
            nul = c.execute(text("SELECT CAST(:x AS text) IS NULL"), {"x": None}).scalar()
        eq(got, [r[0] for r in rows if r[0] in ("FR", "DE", "KR")], "IN rows")
        eq(nul, True, "null param")

    @check("Superset-style virtual table: SELECT ... FROM (<sql>) AS virtual_table LIMIT")
    def _():
        q = text("SELECT country AS country, sum(orders) AS \"SUM(orders)\" FROM "
                 "(SELECT * FROM sales.daily_revenue) AS virtual_table GROUP BY country "
                 "ORDER BY \"SUM(orders)\" DESC, country LIMIT 2")
        with engine.connect() as c:
            got = [tuple(r) for r in c.execute(q)]
        eq(got, [("GB", 3), ("BR", 2)], "rows")

    @check("stream_results=True (psycopg2 named cursor: DECLARE/FETCH) yields all rows")
    def _():
        with engine.connect() as c:
            res = c.execution_options(stream_results=True, max_row_buffer=4).execute(text(
                "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue ORDER BY dt, country"))
            got = [tuple(r) for r in res]
        eq(got, rows, "rows")

    @check("transaction rollback after an error keeps the connection usable")
    def _():
        with engine.connect() as c:
            try:
                c.execute(text("SELECT * FROM sales.no_such_table"))
                raise AssertionError("no error")
            except sa.exc.ProgrammingError as e:
                eq(e.orig.pgcode, "42P01", "sqlstate")
            c.rollback()
            eq(c.execute(text("SELECT count(*) FROM sales.daily_revenue")).scalar(), 13, "count")

    @check("errors surface as DBAPI errors with pgcode (42703, 42601)")
    def _():
        with engine.connect() as c:
            for sql, code in [("SELECT nope FROM sales.daily_revenue", "42703"), ("SELEC 1", "42601")]:
                try:
                    c.execute(text(sql))
                    raise AssertionError(f"{sql!r} did not fail")
                except sa.exc.DBAPIError as e:
                    eq(e.orig.pgcode, code, sql)
                c.rollback()

    # ------------------------------------------------------------------ pandas
    if pd is not None:
        @check("pandas.read_sql(text, engine, params) values and dtypes")
        def _():
            df = pd.read_sql(text("SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue "
                                  "WHERE dt >= :d ORDER BY dt, country"), engine,
                             params={"d": dt.date(2026, 1, 12)})
            exp = [r for r in rows if r[3] >= dt.date(2026, 1, 12)]
            eq(len(df), len(exp), "row count")
            eq(list(df["country"]), [r[0] for r in exp], "countries")
            eq([int(x) for x in df["orders"]], [r[1] for r in exp], "orders")
            eq(str(df["orders"].dtype), "int64", "orders dtype")
            eq(str(df["revenue"].dtype), "float64", "revenue dtype")
            if not str(df["_ingested_at"].dtype).startswith("datetime64") or "UTC" not in str(df["_ingested_at"].dtype):
                raise AssertionError(f"_ingested_at dtype {df['_ingested_at'].dtype}")

        @check("pandas.read_sql_table (reflection path)")
        def _():
            df = pd.read_sql_table("pipeline_runs", engine, schema="ops")
            with engine.connect() as c:
                n = c.execute(text("SELECT count(*) FROM ops.pipeline_runs")).scalar()
            eq(len(df), n, "row count")
            eq(list(df.columns), ["job", "started_at", "status", "rows", "_ingested_at"], "columns")

        @check("pandas.read_sql chunksize (server-side streaming)")
        def _():
            q = "SELECT customer_id FROM raw.crm.customers ORDER BY customer_id"
            with engine.connect() as c:
                exp = [r[0] for r in c.execute(text(q))]
            chunks = list(pd.read_sql(text(q), engine, chunksize=5))
            eq([len(ch) for ch in chunks], [5, 5, 3], "chunk sizes")
            ids = [int(x) for ch in chunks for x in ch["customer_id"]]
            eq(ids, exp, "customer ids")
            eq(len(ids), 13, "count")
    else:
        print("SKIP pandas checks (pandas not installed)")

    engine.dispose()
    raw_engine.dispose()
    print()
    print(f"sqlalchemy_client: {PASSES} passed, {len(FAILURES)} failed")
    for name, msg in FAILURES:
        print(f"  FAILED: {name}: {msg}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
