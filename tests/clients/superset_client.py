#!/usr/bin/env python3
"""Real-client test: Apache Superset 6 (its pinned SQLAlchemy 1.4 + psycopg2) driven through
its own REST API, as a user clicking through it would, against `strata serve` (built-in sample
lake) or any PostgreSQL server holding the same tables.

Usage: superset_client.py PORT|URL [-v]
  PORT  a Strata server on 127.0.0.1 (database `enhanced`, the BI zone, and `raw` for keys)
  URL   a PostgreSQL URL prefix, e.g. postgresql://postgres@127.0.0.1:5432/ ; the databases
        `enhanced` and `raw` are appended (see superset_seed_pg.py for loading them)

Runs in its own venv (.venv-superset, see superset_venv.sh): Superset pins SQLAlchemy 1.4, the
project's .venv has SQLAlchemy 2. Superset gets a throwaway SQLite metadata database in a temp
directory (`superset db upgrade`, `superset fab create-admin`, `superset init`), then the checks
use Flask's test client in-process: no web server, no port.

Every check prints one line (PASS/FAIL). Failures do not stop the run; the exit status is 1 if
any check failed.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ARG = sys.argv[1] if len(sys.argv) > 1 else "5432"
if ARG.isdigit():
    BASE = f"postgresql+psycopg2://tester@127.0.0.1:{ARG}/"
else:
    BASE = ARG.replace("postgresql://", "postgresql+psycopg2://", 1)
    if not BASE.endswith("/"):
        BASE += "/"
URI = BASE + "enhanced"
RAW_URI = BASE + "raw"
VERBOSE = "-v" in sys.argv
FAILURES = []
PASSES = 0


def check(name):
    def run(fn):
        global PASSES
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}".replace("\n", " | ")
            if len(msg) > 900:
                msg = msg[:900] + "..."
            FAILURES.append((name, msg))
            print(f"FAIL {name}: {msg}", flush=True)
            if VERBOSE:
                traceback.print_exc()
        else:
            PASSES += 1
            print(f"PASS {name}", flush=True)
        return fn

    return run


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def close(a, b, what=""):
    if abs(float(a) - float(b)) > 1e-6 * max(1.0, abs(float(b))):
        raise AssertionError(f"{what}: expected {b!r}, got {a!r}")


# --- Superset's own setup, with its own CLI, in a throwaway home -------------------------------

HOME = Path(tempfile.mkdtemp(prefix="strata-superset-"))
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
CONFIG = HOME / "superset_config.py"
CONFIG.write_text(
    f"""
SECRET_KEY = "strata-superset-client-test-key-not-secret"
SQLALCHEMY_DATABASE_URI = "sqlite:///{HOME}/superset.db"
WTF_CSRF_ENABLED = False
TALISMAN_ENABLED = False
CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
DATA_CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
FILTER_STATE_CACHE_CONFIG = {{"CACHE_TYPE": "SimpleCache"}}
EXPLORE_FORM_DATA_CACHE_CONFIG = {{"CACHE_TYPE": "SimpleCache"}}
RATELIMIT_ENABLED = False
SQLLAB_TIMEOUT = 60
"""
)
os.environ["SUPERSET_CONFIG_PATH"] = str(CONFIG)
os.environ["SUPERSET_HOME"] = str(HOME)
os.environ["FLASK_APP"] = "superset"
SUPERSET = str(Path(sys.executable).parent / "superset")


def cli(*args):
    out = subprocess.run(
        [SUPERSET, *args], capture_output=True, text=True, timeout=600, env=os.environ
    )
    if out.returncode != 0:
        raise RuntimeError(f"superset {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


print(f"superset_client: Superset against {URI}", flush=True)
try:
    cli("db", "upgrade")
    cli(
        "fab", "create-admin", "--username", "admin", "--firstname", "Ada",
        "--lastname", "Admin", "--email", "admin@example.com", "--password", "admin",
    )
    cli("init")
except Exception as e:  # noqa: BLE001
    print(f"FAIL superset setup (db upgrade, create-admin, init): {e}".replace("\n", " | "))
    sys.exit(1)

from superset.app import create_app  # noqa: E402  (after SUPERSET_CONFIG_PATH is set)

APP = create_app()
CLIENT = APP.test_client()
TOKEN = None


def api(method, path, body=None, status=200):
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    resp = CLIENT.open(path, method=method, json=body, headers=headers)
    if resp.status_code != status:
        raise AssertionError(
            f"{method} {path}: HTTP {resp.status_code} (expected {status}): "
            f"{resp.get_data(as_text=True)[:700]}"
        )
    return resp.get_json()


def rison(d):
    """Superset's list endpoints take rison in ?q=; these objects need only strings."""
    return "(" + ",".join(f"{k}:{v}" for k, v in d.items()) + ")"


# --- What the tables hold, read directly (psycopg2), to judge Superset's answers --------------

import psycopg2  # noqa: E402

DIRECT = psycopg2.connect(URI.replace("+psycopg2", ""))
DIRECT.autocommit = True


def direct(sql):
    with DIRECT.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


REVENUE = direct("SELECT dt, country, orders, revenue FROM sales.daily_revenue")
RUNS = direct("SELECT job, started_at, status, rows FROM ops.pipeline_runs")
STATE = {}


def as_date(v):
    return v if isinstance(v, date) and not isinstance(v, datetime) else date.fromisoformat(str(v)[:10])


@check("log in (POST /api/v1/security/login)")
def _():
    global TOKEN
    TOKEN = api(
        "POST",
        "/api/v1/security/login",
        {"username": "admin", "password": "admin", "provider": "db", "refresh": True},
    )["access_token"]


@check("test connection (POST /api/v1/database/test_connection/)")
def _():
    api("POST", "/api/v1/database/test_connection/", {"database_name": "strata", "sqlalchemy_uri": URI})


@check("add the database (POST /api/v1/database/)")
def _():
    body = {"database_name": "strata", "sqlalchemy_uri": URI, "expose_in_sqllab": True}
    STATE["db"] = api("POST", "/api/v1/database/", body, status=201)["id"]
    body = {"database_name": "strata raw", "sqlalchemy_uri": RAW_URI, "expose_in_sqllab": True}
    STATE["raw"] = api("POST", "/api/v1/database/", body, status=201)["id"]


@check("list schemas (GET /api/v1/database/<id>/schemas/)")
def _():
    schemas = api("GET", f"/api/v1/database/{STATE['db']}/schemas/")["result"]
    for s in ("sales", "ops"):
        assert s in schemas, f"{s} not in {schemas}"


@check("list tables of a schema (GET /api/v1/database/<id>/tables/)")
def _():
    q = rison({"schema_name": "sales", "force": "!t"})
    tables = api("GET", f"/api/v1/database/{STATE['db']}/tables/?q={q}")["result"]
    names = sorted(t["value"] for t in tables)
    assert "daily_revenue" in names and "customer_360" in names, names


@check("table metadata: columns and types (GET /api/v1/database/<id>/table_metadata/)")
def _():
    meta = api("GET", f"/api/v1/database/{STATE['db']}/table_metadata/?name=daily_revenue&schema=sales")
    cols = {c["name"]: c["type"].upper() for c in meta["columns"]}
    eq(sorted(cols), ["_ingested_at", "country", "dt", "orders", "revenue"], "columns")
    assert cols["orders"] == "BIGINT" and cols["revenue"].startswith("DOUBLE"), cols
    assert "SELECT" in meta["selectStar"].upper(), meta["selectStar"]


@check("table metadata: primary key of a keyed table (raw.shop.orders)")
def _():
    # The REST call runs SQLAlchemy 1.4's key and index reflection (indisprimary = 'f' …), but
    # Superset 6.1 blanks the key's name and columns on the way out (json.base_json_conv raises
    # on str and list, and get_pk_constraint turns that into None), against PostgreSQL too. So
    # the columns are read through the same Superset Database object, in-process.
    meta = api("GET", f"/api/v1/database/{STATE['raw']}/table_metadata/?name=orders&schema=shop")
    assert "constrained_columns" in (meta.get("primaryKey") or {}), meta.get("primaryKey")
    from superset.extensions import db as metadata_db
    from superset.models.core import Database

    with APP.app_context():
        database = metadata_db.session.get(Database, STATE["raw"])
        with database.get_inspector(catalog=None, schema="shop") as inspector:
            pk = inspector.get_pk_constraint("orders", "shop")
            indexes = inspector.get_indexes("orders", "shop")
    eq(pk.get("constrained_columns"), ["order_id"], "primary key columns")
    eq([i for i in indexes if i.get("unique") and i["column_names"] == ["order_id"]], [], "the key is not also a unique index")


@check("table metadata extra (GET /api/v1/database/<id>/table_metadata/extra/)")
def _():
    api("GET", f"/api/v1/database/{STATE['db']}/table_metadata/extra/?name=daily_revenue&schema=sales")


@check("select-star preview (GET /api/v1/database/<id>/select_star/<table>/<schema>/)")
def _():
    sql = api("GET", f"/api/v1/database/{STATE['db']}/select_star/daily_revenue/sales/")["result"]
    assert "daily_revenue" in sql and "LIMIT" in sql.upper(), sql


@check("create a dataset (POST /api/v1/dataset/)")
def _():
    for table, schema in (("daily_revenue", "sales"), ("pipeline_runs", "ops")):
        body = {"database": STATE["db"], "schema": schema, "table_name": table}
        STATE[table] = api("POST", "/api/v1/dataset/", body, status=201)["id"]


@check("sync the dataset's columns (PUT /api/v1/dataset/<id>/refresh) and read them back")
def _():
    api("PUT", f"/api/v1/dataset/{STATE['daily_revenue']}/refresh")
    ds = api("GET", f"/api/v1/dataset/{STATE['daily_revenue']}")["result"]
    cols = {c["column_name"]: c for c in ds["columns"]}
    eq(sorted(cols), ["_ingested_at", "country", "dt", "orders", "revenue"], "synced columns")
    assert cols["dt"]["is_dttm"], "dt is not recognised as temporal"
    assert not cols["country"]["is_dttm"]
    runs = api("GET", f"/api/v1/dataset/{STATE['pipeline_runs']}")["result"]
    assert {c["column_name"]: c for c in runs["columns"]}["started_at"]["is_dttm"]


def chart_data(dataset, query):
    body = {
        "datasource": {"id": dataset, "type": "table"},
        "force": True,
        "queries": [query],
        "result_format": "json",
        "result_type": "full",
    }
    result = api("POST", "/api/v1/chart/data", body)["result"][0]
    assert not result.get("error"), result.get("error")
    return result


SUM_REVENUE = {"expressionType": "SIMPLE", "column": {"column_name": "revenue"}, "aggregate": "SUM", "label": "revenue"}
COUNT = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "count"}


@check("chart: metrics grouped by a column (POST /api/v1/chart/data)")
def _():
    res = chart_data(STATE["daily_revenue"], {"columns": ["country"], "metrics": [SUM_REVENUE, COUNT], "orderby": [[SUM_REVENUE, False]], "row_limit": 100})
    want = defaultdict(float)
    for _, country, _, revenue in REVENUE:
        want[country] += revenue
    got = {r["country"]: r["revenue"] for r in res["data"]}
    eq(sorted(got), sorted(want), "countries")
    for c in want:
        close(got[c], want[c], c)
    eq([r["revenue"] for r in res["data"]], sorted(got.values(), reverse=True), "ordered by revenue")


def temporal_query(col, grain, time_range, metrics, extra_cols=()):
    return {
        "columns": [
            {"timeGrain": grain, "columnType": "BASE_AXIS", "sqlExpression": col, "label": col, "expressionType": "SQL"},
            *extra_cols,
        ],
        "metrics": metrics,
        "filters": [{"col": col, "op": "TEMPORAL_RANGE", "val": time_range}],
        "orderby": [[metrics[0], False]],
        "row_limit": 1000,
    }


def ms_date(v):
    return datetime.fromtimestamp(v / 1000, tz=timezone.utc).date() if isinstance(v, (int, float)) else as_date(v)


@check("chart: daily time grain with a time-range filter (TO_DATE / TO_TIMESTAMP)")
def _():
    res = chart_data(STATE["daily_revenue"], temporal_query("dt", "P1D", "2026-01-12 : 2026-01-20", [SUM_REVENUE]))
    want = defaultdict(float)
    for dt, _, _, revenue in REVENUE:
        if date(2026, 1, 12) <= as_date(dt) < date(2026, 1, 20):
            want[as_date(dt)] += revenue
    got = {ms_date(r["dt"]): r["revenue"] for r in res["data"]}
    eq(sorted(got), sorted(want), "days in range")
    for d in want:
        close(got[d], want[d], str(d))
    assert "TO_" in res["query"].upper(), f"no PostgreSQL time filter in {res['query']}"


@check("chart: weekly time grain (DATE_TRUNC('week', …))")
def _():
    res = chart_data(STATE["daily_revenue"], temporal_query("dt", "P1W", "No filter", [COUNT]))
    want = defaultdict(int)
    for dt, *_ in REVENUE:
        d = as_date(dt)
        want[d - timedelta(days=d.weekday())] += 1
    got = {ms_date(r["dt"]): r["count"] for r in res["data"]}
    eq(got, dict(want), "rows per week")


@check("chart: monthly grain, group-by and a filter on a timestamptz column")
def _():
    status = {"col": "status", "op": "==", "val": "succeeded"}
    q = temporal_query("started_at", "P1M", "2026-01-01T00:00:00 : 2026-02-01T00:00:00", [COUNT], extra_cols=["job"])
    q["filters"].append(status)
    res = chart_data(STATE["pipeline_runs"], q)
    want = defaultdict(int)
    for job, started, st, _ in RUNS:
        if st == "succeeded" and datetime(2026, 1, 1, tzinfo=timezone.utc) <= started < datetime(2026, 2, 1, tzinfo=timezone.utc):
            want[job] += 1
    got = {r["job"]: r["count"] for r in res["data"]}
    eq(got, dict(want), "succeeded runs per job in January")


@check("chart: hourly grain with a time range ending mid-day")
def _():
    q = temporal_query("started_at", "PT1H", "2026-01-01T00:00:00 : 2026-01-20T12:30:00", [COUNT])
    res = chart_data(STATE["pipeline_runs"], q)
    want = defaultdict(int)
    end = datetime(2026, 1, 20, 12, 30, tzinfo=timezone.utc)
    for _, started, _, _ in RUNS:
        if datetime(2026, 1, 1, tzinfo=timezone.utc) <= started < end:
            want[started.replace(minute=0, second=0, microsecond=0)] += 1
    got = {datetime.fromtimestamp(r["started_at"] / 1000, tz=timezone.utc): r["count"] for r in res["data"]}
    eq(got, dict(want), "runs per hour")


@check("chart: samples of the dataset (result_type samples)")
def _():
    body = {
        "datasource": {"id": STATE["daily_revenue"], "type": "table"},
        "queries": [{"columns": [], "metrics": [], "row_limit": 5}],
        "result_type": "samples",
        "result_format": "json",
        "force": True,
    }
    res = api("POST", "/api/v1/chart/data", body)["result"][0]
    eq(len(res["data"]), 5, "sample rows")


def sqllab(sql, limit=None):
    body = {"database_id": STATE["db"], "sql": sql, "runAsync": False, "schema": "sales", "client_id": os.urandom(5).hex()}
    if limit is not None:
        body["queryLimit"] = limit
    res = api("POST", "/api/v1/sqllab/execute/", body)
    eq(res.get("status"), "success", "status")
    return res


@check("SQL Lab: run a query with its row limit (POST /api/v1/sqllab/execute/)")
def _():
    res = sqllab("SELECT * FROM sales.daily_revenue ORDER BY dt, country", limit=5)
    eq(len(res["data"]), 5, "rows under the limit")
    eq(len(REVENUE) > 5, True, "the table has more rows than the limit")
    eq([c["column_name"] for c in res["columns"]], ["country", "orders", "revenue", "dt", "_ingested_at"], "columns")


@check("SQL Lab: aggregate over the whole table")
def _():
    res = sqllab("SELECT country, SUM(orders) AS orders FROM sales.daily_revenue GROUP BY country ORDER BY country")
    want = defaultdict(int)
    for _, country, orders, _ in REVENUE:
        want[country] += orders
    eq({r["country"]: r["orders"] for r in res["data"]}, dict(want), "orders per country")


@check("SQL Lab: PostgreSQL date formatting functions")
def _():
    res = sqllab(
        "SELECT to_char(TO_TIMESTAMP('2026-01-12 08:05:03.250000', 'YYYY-MM-DD HH24:MI:SS.US'), "
        "'FMDay, DD Mon YYYY HH12:MI:SS.MS AM') AS a, "
        "to_char(TO_DATE('2026-01-12', 'YYYY-MM-DD'), 'IYYY-\"W\"IW-ID Q') AS b"
    )
    eq(res["data"], [{"a": "Monday, 12 Jan 2026 08:05:03.250 AM", "b": "2026-W03-1 1"}], "formatted")


@check("SQL Lab: a failing query reports the database's error")
def _():
    body = {"database_id": STATE["db"], "sql": "SELECT no_such_column FROM sales.daily_revenue", "runAsync": False, "client_id": os.urandom(5).hex()}
    resp = CLIENT.open("/api/v1/sqllab/execute/", method="POST", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code >= 400, resp.status_code
    assert "no_such_column" in resp.get_data(as_text=True), resp.get_data(as_text=True)[:300]


print()
print(f"{PASSES} passed, {len(FAILURES)} failed")
DIRECT.close()
sys.exit(1 if FAILURES else 0)
