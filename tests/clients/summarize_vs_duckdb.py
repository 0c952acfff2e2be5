#!/usr/bin/env python3
"""Checks Strata's SUMMARIZE against DuckDB's SUMMARIZE on the same Parquet files (issue 14).

    .venv/bin/python tests/clients/summarize_vs_duckdb.py <strata binary> [<work dir>]

DuckDB generates deterministic data (nothing is kept in git) and writes it as Parquet into a
lake (docs/lake.md): `raw/t/<table>/part-N.parquet`. Every file carries an `_ingested_at`
column, so Strata adds no column of its own (docs/tables.md, "Ingestion time") and both
engines see the same columns. Then, for each table and for a few queries, it runs DuckDB's
`SUMMARIZE` and Strata's (`strata --lake <dir> --format json -c "SUMMARIZE ..."`) and compares,
per column:

  * column_name (same names, same order) and column_type (Strata's is the PostgreSQL name of
    DuckDB's type: BIGINT -> bigint, DECIMAL(10,2) -> numeric(10,2), ...);
  * min, max as values (numbers, dates and timestamps parsed: Arrow prints
    `2024-01-01T00:00:00Z`, DuckDB `2024-01-01 00:00:00+00`);
  * count and null_percentage equal; avg and std to REL_TOL relative; a temporal avg as an
    instant, equal to the microsecond (both engines round the mean to a whole microsecond);
  * approx_unique of each engine within its own error bound of the exact count(DISTINCT):
    DataFusion's HyperLogLog (p=14, 0.81% standard error) within DATAFUSION_DISTINCT_TOL,
    DuckDB's (p=10, 3.3%) within DUCKDB_DISTINCT_TOL;
  * q25/q50/q75 of each engine (both are t-digests, different implementations): the value's
    rank among the exact non-NULL values (computed with DuckDB) within QUANTILE_RANK_TOL of p,
    or, for few values, between the two values the exact quantile interpolates.

Prints one line per column and exits 1 with every mismatch listed (both engines' values).
With no work dir, a temporary one is used and removed.
"""
import bisect
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import duckdb

# One microsecond: how far a temporal quartile may be from the rank it stands for.
TICK = timedelta(microseconds=1)

# Error bounds: DataFusion's HyperLogLog has p=14 (0.81% standard error), DuckDB's p=10 (3.3%).
REL_TOL = 1e-9
DATAFUSION_DISTINCT_TOL = 0.03
DUCKDB_DISTINCT_TOL = 0.10
QUANTILE_RANK_TOL = 0.02
QUANTILES = {"q25": 0.25, "q50": 0.5, "q75": 0.75}
ROWS = 3000
FILES = 3

# The tables: name -> (SELECT producing the rows of file k, given {k} and {n}); all of them
# have `_ingested_at` so that Strata adds no column.
INGESTED = "(TIMESTAMPTZ '2026-01-01 10:00:00.123457+00' + {k} * INTERVAL 1 DAY) AS _ingested_at"
TABLES = {
    # Every type the issue names; NULLs in the double, the text and the timestamp.
    "all_types": f"""
        SELECT i::BIGINT AS id,
               (i * 7 % 1000 - 500)::INTEGER AS small,
               CASE WHEN i % 10 = 3 THEN NULL ELSE sin(i) * 1000.0 END AS x,
               ((i * 37) % 100000 / 100.0)::DECIMAL(10,2) AS price,
               CASE WHEN i % 7 = 0 THEN NULL ELSE 'name_' || (i % 500)::VARCHAR END AS name,
               DATE '2020-01-01' + (i % 1500)::INTEGER AS d,
               CASE WHEN i % 11 = 5 THEN NULL
                    ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00'
                         + to_microseconds((i * 1234567891) % 100000000000000) END AS ts,
               i % 3 = 0 AS flag,
               [i, i + 1]::BIGINT[] AS lst,
               {INGESTED}
        FROM range({{k}} * {{n}}, ({{k}} + 1) * {{n}}) r(i)""",
    # A few discrete values: quartiles land on ties.
    "tiny": f"""
        SELECT i::BIGINT AS id, (i % 3)::DOUBLE AS x, (i % 2 = 0) AS flag, {INGESTED}
        FROM range({{k}} * 2, {{k}} * 2 + 2) r(i)""",
    # Zero rows: DuckDB gives NULL min/max/null_percentage, approx_unique 0, count 0.
    "empty": f"""
        SELECT i::BIGINT AS id, i::DOUBLE AS x, i::VARCHAR AS s, DATE '2024-01-01' + i::INTEGER AS d,
               {INGESTED}
        FROM range(0) r(i)""",
    # A column that is all NULL (of a real type: Parquet keeps INTEGER): null_percentage 100.
    "all_null": f"""
        SELECT i::BIGINT AS id, NULL::INTEGER AS nothing, NULL::VARCHAR AS no_text, {INGESTED}
        FROM range({{k}} * 20, {{k}} * 20 + 20) r(i)""",
}

# Summaries of queries: the same SQL text in both engines (DuckDB sees the Parquet files
# through views named raw.t.<table>).
QUERIES = [
    "SELECT id, x, price, name, d, ts FROM raw.t.all_types WHERE id % 4 = 1 AND x > 0",
    "SELECT small, price, flag FROM raw.t.all_types WHERE name IS NULL OR price < 100",
    "SELECT id, x FROM raw.t.all_types WHERE id < 0",
]

STATS = ["column_name", "column_type", "min", "max", "approx_unique", "avg", "std",
         "q25", "q50", "q75", "count", "null_percentage"]


def pg_type(duck):
    """The PostgreSQL name Strata must show for a DuckDB type name."""
    if duck.endswith("[]"):
        return pg_type(duck[:-2]) + "[]"
    if duck.startswith("DECIMAL"):
        return "numeric" + duck[len("DECIMAL"):]
    return {
        "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint",
        "DOUBLE": "double precision", "FLOAT": "real", "VARCHAR": "text",
        "DATE": "date", "BOOLEAN": "boolean",
        "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
        "TIMESTAMP": "timestamp without time zone",
    }.get(duck, duck.lower())


def kind(duck):
    if duck.startswith("DECIMAL") or duck in ("BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "FLOAT"):
        return "number"
    if duck in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        return "time"
    if duck.endswith("[]"):
        return "list"
    return "other"


def instant(text):
    """A date or timestamp as both engines print it: dates stay dates; timestamps become UTC
    datetimes (`...T...Z` from Arrow, `... ...+00` from DuckDB; no zone means UTC)."""
    t = text.strip()
    if len(t) == 10:
        return date.fromisoformat(t)
    v = datetime.fromisoformat(t.replace("Z", "+00:00"))
    return v if v.tzinfo else v.replace(tzinfo=timezone.utc)


def value(text, duck):
    """A min/max/quartile text as a comparable value of the column's type."""
    if text is None:
        return None
    k = kind(duck)
    if k == "number":
        return Decimal(text)
    if k == "time":
        return instant(text)
    if k == "list":
        return json.loads(text.replace("NULL", "null"))
    return text


def micros(v):
    """A date or timestamp as microseconds since the epoch (dates at 00:00 UTC)."""
    if isinstance(v, datetime):
        return (v - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    return (v - date(1970, 1, 1)).days * 86_400_000_000


def close(a, b, tol=REL_TOL):
    if a is None or b is None:
        return a is None and b is None
    fa, fb = float(a), float(b)
    return fa == fb or abs(fa - fb) <= tol * max(abs(fa), abs(fb))


class Checker:
    def __init__(self, con, strata, lake):
        self.con, self.strata, self.lake = con, strata, lake
        self.failures = []
        self.lines = []

    def strata_summary(self, sql):
        out = subprocess.run(
            [self.strata, "--lake", self.lake, "--format", "json", "-c", f"SUMMARIZE {sql}"],
            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
        if out.returncode != 0:
            self.failures.append(f"strata SUMMARIZE {sql}: exit {out.returncode}: {out.stderr.strip()}")
            return None
        try:
            return json.loads(out.stdout, parse_float=Decimal)
        except ValueError as e:
            self.failures.append(f"strata SUMMARIZE {sql}: not one JSON array ({e}): {out.stdout!r}")
            return None

    def duck_summary(self, source):
        cur = self.con.execute(f"SUMMARIZE {source}")
        names = [d[0] for d in cur.description]
        assert names == STATS, f"DuckDB's SUMMARIZE columns changed: {names}"
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def exact(self, source, column):
        """Exact facts from DuckDB: count(DISTINCT), and the sorted non-NULL values."""
        q = f'"{column}"'
        distinct = self.con.execute(f"SELECT count(DISTINCT {q}) FROM ({source})").fetchone()[0]
        values = [r[0] for r in self.con.execute(
            f"SELECT {q} FROM ({source}) WHERE {q} IS NOT NULL ORDER BY {q}").fetchall()]
        return distinct, values

    def compare(self, label, duck_source, strata_sql):
        duck = self.duck_summary(duck_source)
        ours = self.strata_summary(strata_sql)
        if ours is None:
            return
        self.lines.append(f"\n{label}")
        self.lines.append(f"  {'column':<13}{'type':<27}" + " ".join(
            f"{s[:6]:>6}" for s in STATS[2:]))
        names_d = [r["column_name"] for r in duck]
        names_s = [r["column_name"] for r in ours]
        if names_d != names_s:
            self.failures.append(f"{label}: columns differ: DuckDB {names_d}, Strata {names_s}")
            return
        for d, s in zip(duck, ours):
            col, duck_type = d["column_name"], d["column_type"]
            distinct, values = self.exact(duck_source, col)
            marks = {stat: "ok" for stat in STATS[2:]}

            def fail(stat, why, col=col, marks=marks):
                marks[stat] = "FAIL"
                self.failures.append(f"{label}: column {col}: {stat}: {why}")

            if s["column_type"] != pg_type(duck_type):
                fail("column_type", f"Strata {s['column_type']!r}, expected {pg_type(duck_type)!r}"
                     f" for DuckDB's {duck_type}")
            for stat in ("min", "max"):
                try:
                    a, b = value(d[stat], duck_type), value(s[stat], duck_type)
                except ValueError as e:
                    fail(stat, f"unparsable: DuckDB {d[stat]!r}, Strata {s[stat]!r} ({e})")
                    continue
                if a != b:
                    fail(stat, f"DuckDB {d[stat]!r}, Strata {s[stat]!r}")
            for stat in ("count", "null_percentage"):
                if d[stat] != s[stat] or (d[stat] is None) != (s[stat] is None):
                    fail(stat, f"DuckDB {d[stat]!r}, Strata {s[stat]!r}")
            self.check_unique(fail, d, s, distinct)
            self.check_mean(fail, d, s, duck_type)
            self.check_quartiles(fail, d, s, duck_type, values)
            type_mark = "" if s["column_type"] == pg_type(duck_type) else "  <- type"
            self.lines.append(f"  {col:<13}{s['column_type']:<27}" + " ".join(
                f"{marks[x]:>6}" for x in STATS[2:]) + type_mark)

    def check_unique(self, fail, d, s, distinct):
        for engine, got, tol in (("DuckDB", d["approx_unique"], DUCKDB_DISTINCT_TOL),
                                 ("Strata", s["approx_unique"], DATAFUSION_DISTINCT_TOL)):
            if got is None or abs(got - distinct) > tol * distinct:
                fail("approx_unique", f"{engine} {got}, exact count(DISTINCT) {distinct} "
                     f"(allowed ±{tol:.0%}); DuckDB {d['approx_unique']}, Strata {s['approx_unique']}")

    def check_mean(self, fail, d, s, duck_type):
        for stat in ("avg", "std"):
            a, b = d[stat], s[stat]
            if a is None or b is None:
                if (a is None) != (b is None):
                    fail(stat, f"DuckDB {a!r}, Strata {b!r}")
                continue
            if kind(duck_type) == "time":
                ma, mb = micros(instant(a)), micros(instant(b))
                if ma != mb:
                    fail(stat, f"DuckDB {a!r}, Strata {b!r} ({mb - ma:+d} µs)")
            elif not close(a, b):
                fail(stat, f"DuckDB {a!r}, Strata {b!r} (relative difference "
                     f"{abs(float(a) - float(b)) / max(abs(float(a)), abs(float(b))):.2e})")

    def check_quartiles(self, fail, d, s, duck_type, values):
        n = len(values)
        if kind(duck_type) not in ("number", "time"):
            exact = []
        else:
            exact = [v if isinstance(v, (date, datetime)) else Decimal(str(v)) for v in values]
        for stat, p in QUANTILES.items():
            a, b = d[stat], s[stat]
            if a is None or b is None:
                if (a is None) != (b is None):
                    fail(stat, f"DuckDB {a!r}, Strata {b!r}")
                continue
            for engine, text in (("DuckDB", a), ("Strata", b)):
                q = value(text, duck_type)
                if isinstance(q, datetime) and exact and not isinstance(exact[0], datetime):
                    q = q.date()
                why = quartile_off(q, p, exact)
                # DataFusion's t-digest works in Float64: at 2026's magnitude (1.8e15 µs) a
                # quartile may land one microsecond beside a value it stands for.
                if why and isinstance(q, datetime):
                    if any(quartile_off(q + d, p, exact) is None for d in (TICK, -TICK)):
                        why = None
                if why:
                    fail(stat, f"{engine} {text!r}: {why}; DuckDB {a!r}, Strata {b!r} (n={n})")


def quartile_off(q, p, exact):
    """Why `q` is not an acceptable p-quantile of the sorted `exact` values, or None.
    Accepted: its rank (the share of values below it up to the share at or below it) meets
    [p - tol, p + tol], or it lies between the two values the exact quantile interpolates."""
    n = len(exact)
    below = bisect.bisect_left(exact, q) / n
    at_or_below = bisect.bisect_right(exact, q) / n
    if below <= p + QUANTILE_RANK_TOL and at_or_below >= p - QUANTILE_RANK_TOL:
        return None
    h = (n - 1) * p
    if exact[math.floor(h)] <= q <= exact[math.ceil(h)]:
        return None
    return f"rank {below:.4f}..{at_or_below:.4f}, want {p}±{QUANTILE_RANK_TOL}"


def make_lake(con, lake):
    for name, select in TABLES.items():
        folder = os.path.join(lake, "raw", "t", name)
        os.makedirs(folder)
        for k in range(1 if name == "empty" else FILES):
            path = os.path.join(folder, f"part-{k}.parquet")
            con.execute(f"COPY ({select.format(k=k, n=ROWS // FILES)}) TO '{path}' (FORMAT parquet)")
    con.execute("ATTACH ':memory:' AS raw")
    con.execute("CREATE SCHEMA raw.t")
    for name in TABLES:
        con.execute(f"CREATE VIEW raw.t.{name} AS SELECT * FROM {parquet(lake, name)}")


def parquet(lake, name):
    return f"read_parquet('{os.path.join(lake, 'raw', 't', name)}/*.parquet')"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    strata = os.path.abspath(sys.argv[1])
    if not os.access(strata, os.X_OK):
        sys.exit(f"FAIL: no strata binary at {strata}")
    work = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="strata-summarize-")
    lake = os.path.abspath(os.path.join(work, "lake"))
    if os.path.exists(lake):
        shutil.rmtree(lake)
    try:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        make_lake(con, lake)
        check = Checker(con, strata, lake)
        for name in TABLES:
            check.compare(f"SUMMARIZE raw.t.{name}", f"SELECT * FROM {parquet(lake, name)}",
                          f"raw.t.{name}")
        for sql in QUERIES:
            check.compare(f"SUMMARIZE {sql}", sql, sql)
    finally:
        if len(sys.argv) == 2:
            shutil.rmtree(work, ignore_errors=True)
    print(f"duckdb {duckdb.__version__}, strata {strata}")
    print("\n".join(check.lines))
    if check.failures:
        print(f"\nFAIL: {len(check.failures)} mismatch(es) between Strata's and DuckDB's SUMMARIZE:")
        for f in check.failures:
            print(f"  - {f}")
        sys.exit(1)
    print("\nPASS: Strata's SUMMARIZE matches DuckDB's")


if __name__ == "__main__":
    main()
