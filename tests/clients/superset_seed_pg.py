#!/usr/bin/env python3
"""Copies the tables superset_client.py uses from a Strata server into a PostgreSQL server, so
the same Superset checks can run against PostgreSQL as the control.

Usage: superset_seed_pg.py STRATA_PORT POSTGRES_URL_PREFIX
  e.g. superset_seed_pg.py 5433 postgresql://postgres@127.0.0.1:55433/

Creates the databases `enhanced` (sales.daily_revenue, sales.customer_360, ops.pipeline_runs
with their rows) and `raw` (shop.orders, empty, with its primary key), replacing what is there.
"""
import sys

import psycopg2

TYPES = {16: "boolean", 20: "bigint", 21: "smallint", 23: "integer", 700: "real", 701: "double precision",
         25: "text", 1043: "text", 1082: "date", 1114: "timestamp", 1184: "timestamptz", 1700: "numeric"}

strata_port, pg = sys.argv[1], sys.argv[2].rstrip("/") + "/"


def connect(url):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


admin = connect(pg + "postgres")
for db in ("enhanced", "raw"):
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")

for db, tables in (
    ("enhanced", ["sales.daily_revenue", "sales.customer_360", "ops.pipeline_runs"]),
    ("raw", ["shop.orders"]),
):
    src = connect(f"postgresql://tester@127.0.0.1:{strata_port}/{db}")
    dst = connect(pg + db)
    for table in tables:
        with src.cursor() as cur:
            cur.execute(f"SELECT * FROM {table}")
            cols = [(d.name, TYPES[d.type_code]) for d in cur.description]
            rows = cur.fetchall()
        schema = table.split(".")[0]
        key = ", PRIMARY KEY (order_id)" if table == "shop.orders" else ""
        with dst.cursor() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            cur.execute(f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in cols)}{key})")
            if not key:
                marks = ", ".join(["%s"] * len(cols))
                cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        print(f"{db}: {table}: {len(cols)} columns, {0 if key else len(rows)} rows")
