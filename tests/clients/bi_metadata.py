#!/usr/bin/env python3
"""Replays the metadata SQL that BI tools send to PostgreSQL when they connect and browse,
against `strata serve` on the built-in sample lake.

    /work/main/.venv/bin/python tests/clients/bi_metadata.py <port>

Each query runs through the simple protocol (psycopg2, client-side parameter interpolation:
what Superset/SQLAlchemy, and Grafana's lib/pq without arguments, send) and, where the tool uses
the extended protocol (pgJDBC for Metabase and DBeaver, Go drivers for Grafana), also through
psycopg 3 with prepare=True (Parse/Bind/Describe/Execute, server-side $n parameters).

Sources of the query texts:
  * Metabase: a capture of Metabase v0.62 syncing a PostgreSQL 16 database (its postgres
    driver's describe-database / describe-fields / describe-fks queries plus pgJDBC's
    getSchemas/getColumns/getPrimaryKeys), and Metabase v0.55 connection start-up.
  * Grafana: public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts
    (getVersion, showSchemas, showTables, getSchema with buildSchemaConstraint).
  * Superset: SQLAlchemy 2.1's PostgreSQL dialect (Superset's inspector), captured with echo.
  * DBeaver: start-up reads captured from DBeaver 25.1, and its PostgreSchema / PostgreTable
    loaders (pg_class by relnamespace, pg_attribute by table oid, pg_index).

Prints PASS/FAIL per (tool, query, protocol); exits 1 if anything failed.
"""
import sys
import traceback

import psycopg2
import psycopg

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 5432
DB = sys.argv[2] if len(sys.argv) > 2 else "enhanced"

failures = []
passes = 0

SAMPLE_SCHEMAS = {"sales", "ops"}
SAMPLE_TABLES = {"daily_revenue", "customer_360"}
DAILY_REVENUE_COLUMNS = ["country", "orders", "revenue", "dt", "_ingested_at"]


# ------------------------------------------------------------------ expectations on results
def flat(rows):
    return {str(v) for r in rows for v in r}


def expect(kind):
    """Returns a function (colnames, rows) -> error string or None."""
    if kind is None:
        return lambda cols, rows: None
    if kind == "schemas":
        return lambda cols, rows: (None if SAMPLE_SCHEMAS <= flat(rows)
                                   else f"schemas {sorted(SAMPLE_SCHEMAS)} missing from {rows[:20]}")
    if kind == "sales_tables":
        return lambda cols, rows: (None if SAMPLE_TABLES <= flat(rows)
                                   else f"tables {sorted(SAMPLE_TABLES)} missing from {rows[:20]}")
    if kind == "daily_revenue":
        return lambda cols, rows: (None if "daily_revenue" in flat(rows)
                                   else f"daily_revenue missing from {rows[:20]}")
    if kind == "any_daily_revenue":
        # Grafana's unqualified list: tables outside search_path come back schema-qualified
        return lambda cols, rows: (None if any("daily_revenue" in v for v in flat(rows))
                                   else f"daily_revenue missing from {rows[:20]}")
    if kind == "columns":
        def f(cols, rows):
            got = flat(rows)
            missing = [c for c in DAILY_REVENUE_COLUMNS if c not in got]
            return None if not missing else f"columns {missing} missing from {rows[:20]}"
        return f
    if kind == "nonempty":
        return lambda cols, rows: None if rows else "no rows"
    if kind == "database":
        return lambda cols, rows: None if DB in flat(rows) else f"{DB} missing from {rows}"
    if callable(kind):
        return kind
    raise ValueError(kind)


def record(name, err):
    global passes
    if err is None:
        passes += 1
        print(f"PASS {name}")
    else:
        failures.append(f"{name}: {err}")
        print(f"FAIL {name}: {err}")


def one_line(e):
    return " ".join(str(e).split())[:400]


# ------------------------------------------------------------------ runners
def connect_simple():
    c = psycopg2.connect(host="127.0.0.1", port=PORT, user="tester", dbname=DB,
                         application_name="bi_metadata", connect_timeout=10)
    c.autocommit = True
    return c


def connect_extended():
    return psycopg.connect(host="127.0.0.1", port=PORT, user="tester", dbname=DB,
                           application_name="bi_metadata", connect_timeout=10, autocommit=True)


def run_simple(conn, sql, params):
    with conn.cursor() as cur:
        cur.execute(sql, params if params else None)
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()


def run_extended(conn, sql, params):
    # twice: the first Parse/Bind/Execute and a re-execution of the named prepared statement
    out = None
    for _ in range(2):
        with conn.cursor() as cur:
            cur.execute(sql, params if params else None, prepare=True)
            if cur.description is None:
                out = ([], [])
            else:
                out = ([d.name for d in cur.description], cur.fetchall())
    return out


class Session:
    def __init__(self):
        self.simple = None
        self.extended = None

    def get(self, proto):
        try:
            if proto == "simple":
                if self.simple is None or self.simple.closed:
                    self.simple = connect_simple()
                return self.simple
            if self.extended is None or self.extended.closed:
                self.extended = connect_extended()
            return self.extended
        except Exception as e:
            raise RuntimeError(f"cannot connect: {one_line(e)}")


SESSION = Session()


def run(tool, name, sql, params=None, protocols=("simple", "extended"), check=None):
    """Runs one query through each protocol; params use %s placeholders (both drivers)."""
    for proto in protocols:
        label = f"[{tool}] {name} ({proto})"
        try:
            conn = SESSION.get(proto)
            if proto == "simple":
                cols, rows = run_simple(conn, sql, params)
            else:
                cols, rows = run_extended(conn, sql, params)
            record(label, expect(check)(cols, rows))
        except Exception as e:
            code = getattr(e, "pgcode", None) or getattr(getattr(e, "diag", None), "sqlstate", None)
            record(label, f"[{code}] {one_line(e)}")
            # a broken connection must not fail every later query
            try:
                c = SESSION.simple if proto == "simple" else SESSION.extended
                if c is not None and not c.closed:
                    c.rollback()
            except Exception:
                pass


def scalar(sql, params=None):
    conn = SESSION.get("simple")
    cols, rows = run_simple(conn, sql, params)
    return rows[0][0] if rows else None


# Generated from SQLAlchemy 2.1.9's PostgreSQL dialect (what Superset's inspector runs), captured
# with echo logging against this server and rendered with psycopg2's mogrify; {oid} is the oid of
# sales.daily_revenue, looked up at run time.
SUPERSET_SQLALCHEMY = [
    ('version', 'select pg_catalog.version()', None),
    ('current_schema', 'select current_schema()', None),
    ('standard_conforming_strings', 'show standard_conforming_strings', None),
    ('get_schema_names', "SELECT pg_catalog.pg_namespace.nspname \nFROM pg_catalog.pg_namespace \nWHERE (pg_catalog.pg_namespace.nspname NOT LIKE 'pg/_' || '%' ESCAPE '/') ORDER BY pg_catalog.pg_namespace.nspname", 'schemas'),
    ('get_table_names', "SELECT pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'sales'", 'sales_tables'),
    ('get_view_names', "SELECT pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['v']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'sales'", None),
    ('get_materialized_view_names', "SELECT pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['m']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'sales'", None),
    ('get_columns', 'SELECT pg_catalog.pg_attribute.attname AS name, pg_catalog.format_type(pg_catalog.pg_attribute.atttypid, pg_catalog.pg_attribute.atttypmod) AS format_type, CASE WHEN pg_catalog.pg_attribute.atthasdef THEN (SELECT pg_catalog.pg_get_expr(pg_catalog.pg_attrdef.adbin, pg_catalog.pg_attrdef.adrelid) AS pg_get_expr_1 \nFROM pg_catalog.pg_attrdef \nWHERE pg_catalog.pg_attribute.atthasdef AND pg_catalog.pg_attrdef.adrelid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attrdef.adnum = pg_catalog.pg_attribute.attnum) ELSE NULL END AS "default", pg_catalog.pg_attribute.attnotnull AS not_null, pg_catalog.pg_class.relname AS table_name, pg_catalog.pg_description.description AS comment, pg_catalog.pg_attribute.attgenerated AS generated, CASE WHEN (pg_catalog.pg_attribute.attidentity != \'\') THEN (SELECT json_build_object(\'always\', pg_catalog.pg_attribute.attidentity = \'a\', \'start\', pg_catalog.pg_sequence.seqstart, \'increment\', pg_catalog.pg_sequence.seqincrement, \'minvalue\', pg_catalog.pg_sequence.seqmin, \'maxvalue\', pg_catalog.pg_sequence.seqmax, \'cache\', pg_catalog.pg_sequence.seqcache, \'cycle\', pg_catalog.pg_sequence.seqcycle) AS json_build_object_1 \nFROM pg_catalog.pg_sequence \nWHERE pg_catalog.pg_attribute.attidentity != \'\' AND pg_catalog.pg_sequence.seqrelid = CAST(CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(pg_catalog.pg_attribute.attrelid AS REGCLASS) AS TEXT), pg_catalog.pg_attribute.attname) AS REGCLASS) AS OID)) ELSE NULL END AS identity_options, CASE WHEN (pg_catalog.pg_attribute.attcollation != 0 AND (SELECT pg_catalog.pg_type.typcollation \nFROM pg_catalog.pg_type \nWHERE pg_catalog.pg_type.oid = pg_catalog.pg_attribute.atttypid) != pg_catalog.pg_attribute.attcollation) THEN (SELECT json_build_object(\'name\', pg_catalog.pg_collation.collname, \'schema\', CASE WHEN pg_catalog.pg_collation_is_visible(pg_catalog.pg_collation.oid) THEN NULL ELSE pg_catalog.pg_namespace.nspname END) AS json_build_object_9 \nFROM pg_catalog.pg_collation JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_collation.collnamespace \nWHERE pg_catalog.pg_collation.oid = pg_catalog.pg_attribute.attcollation) ELSE NULL END AS collation \nFROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_class.oid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attribute.attnum > 0 AND NOT pg_catalog.pg_attribute.attisdropped LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_description.objsubid = pg_catalog.pg_attribute.attnum JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY[\'r\', \'p\', \'f\', \'v\', \'m\']) AND pg_catalog.pg_namespace.nspname = \'sales\' AND pg_catalog.pg_class.relname IN (\'daily_revenue\') ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_attribute.attnum', 'columns'),
    ('get_pk_constraint (oids)', "SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales' AND pg_catalog.pg_class.relname IN ('daily_revenue')", 'daily_revenue'),
    ('get_pk_constraint', "SELECT attr.conrelid, array_agg(CAST(attr.attname AS TEXT) ORDER BY attr.ord) AS cols, attr.conname, min(attr.description) AS description, min(attr.indnkeyatts) AS indnkeyatts, bool_and(attr.indnullsnotdistinct) AS indnullsnotdistinct \nFROM (SELECT con.conrelid AS conrelid, con.conname AS conname, con.description AS description, con.ord AS ord, con.indnkeyatts AS indnkeyatts, con.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_attribute.attname AS attname \nFROM pg_catalog.pg_attribute JOIN (SELECT pg_catalog.pg_constraint.conrelid AS conrelid, pg_catalog.pg_constraint.conname AS conname, unnest(pg_catalog.pg_index.indkey) AS attnum, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord, pg_catalog.pg_index.indnkeyatts AS indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_description.description AS description \nFROM pg_catalog.pg_constraint JOIN pg_catalog.pg_index ON pg_catalog.pg_constraint.conindid = pg_catalog.pg_index.indexrelid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) \nWHERE pg_catalog.pg_constraint.contype = 'p' AND pg_catalog.pg_constraint.conrelid IN ({oid})) AS con ON pg_catalog.pg_attribute.attnum = con.attnum AND pg_catalog.pg_attribute.attrelid = con.conrelid \nWHERE con.conrelid IN ({oid})) AS attr GROUP BY attr.conrelid, attr.conname ORDER BY attr.conrelid, attr.conname", None),
    ('get_foreign_keys', "SELECT pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname, CASE WHEN (pg_catalog.pg_constraint.oid IS NOT NULL) THEN pg_catalog.pg_get_constraintdef(pg_catalog.pg_constraint.oid, true) END AS anon_1, nsp_ref.nspname, pg_catalog.pg_description.description \nFROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_constraint ON pg_catalog.pg_class.oid = pg_catalog.pg_constraint.conrelid AND pg_catalog.pg_constraint.contype = 'f' LEFT OUTER JOIN pg_catalog.pg_class AS cls_ref ON cls_ref.oid = pg_catalog.pg_constraint.confrelid LEFT OUTER JOIN pg_catalog.pg_namespace AS nsp_ref ON cls_ref.relnamespace = nsp_ref.oid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales' AND pg_catalog.pg_class.relname IN ('daily_revenue') ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname", None),
    ('get_indexes (pg_am)', "SELECT pg_catalog.pg_am.oid, pg_catalog.pg_am.amname \nFROM pg_catalog.pg_am \nWHERE pg_catalog.pg_am.amname = 'btree'", None),
    ('get_indexes (pg_opclass)', 'SELECT pg_catalog.pg_opclass.oid, pg_catalog.pg_opclass.opcname \nFROM pg_catalog.pg_opclass \nWHERE NOT pg_catalog.pg_opclass.opcdefault', None),
    ('get_indexes', "SELECT pg_catalog.pg_index.indrelid, pg_catalog.pg_class.relname, pg_catalog.pg_index.indisunique, pg_catalog.pg_index.indisvalid, pg_catalog.pg_constraint.conrelid IS NOT NULL AS has_constraint, pg_catalog.pg_index.indoption, pg_catalog.pg_class.reloptions, pg_catalog.pg_class.relam, CASE WHEN (pg_catalog.pg_index.indpred IS NOT NULL) THEN pg_catalog.pg_get_expr(pg_catalog.pg_index.indpred, pg_catalog.pg_index.indrelid) END AS filter_definition, pg_catalog.pg_index.indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct, idx_cols.elements, idx_cols.elements_is_expr, idx_cols.elements_opclass \nFROM pg_catalog.pg_index JOIN pg_catalog.pg_class ON pg_catalog.pg_index.indexrelid = pg_catalog.pg_class.oid LEFT OUTER JOIN (SELECT idx_attr.indexrelid AS indexrelid, min(idx_attr.indrelid) AS min_1, array_agg(idx_attr.element ORDER BY idx_attr.ord) AS elements, array_agg(idx_attr.is_expr ORDER BY idx_attr.ord) AS elements_is_expr, array_agg(idx_attr.att_opclass ORDER BY idx_attr.ord) AS elements_opclass \nFROM (SELECT idx.indexrelid AS indexrelid, idx.indrelid AS indrelid, idx.ord AS ord, CASE WHEN (idx.attnum = 0) THEN pg_catalog.pg_get_indexdef(idx.indexrelid, idx.ord + 1, true) ELSE CAST(pg_catalog.pg_attribute.attname AS TEXT) END AS element, idx.attnum = 0 AS is_expr, CAST(idx.att_opclass AS BIGINT) AS att_opclass \nFROM (SELECT pg_catalog.pg_index.indexrelid AS indexrelid, pg_catalog.pg_index.indrelid AS indrelid, unnest(pg_catalog.pg_index.indkey) AS attnum, unnest(pg_catalog.pg_index.indclass) AS att_opclass, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord \nFROM pg_catalog.pg_index \nWHERE NOT pg_catalog.pg_index.indisprimary AND pg_catalog.pg_index.indrelid IN ({oid})) AS idx LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_attribute.attnum = idx.attnum AND pg_catalog.pg_attribute.attrelid = idx.indrelid \nWHERE idx.indrelid IN ({oid})) AS idx_attr GROUP BY idx_attr.indexrelid) AS idx_cols ON pg_catalog.pg_index.indexrelid = idx_cols.indexrelid LEFT OUTER JOIN pg_catalog.pg_constraint ON pg_catalog.pg_index.indrelid = pg_catalog.pg_constraint.conrelid AND pg_catalog.pg_index.indexrelid = pg_catalog.pg_constraint.conindid AND pg_catalog.pg_constraint.contype = ANY (ARRAY['p', 'u', 'x']) \nWHERE pg_catalog.pg_index.indrelid IN ({oid}) AND NOT pg_catalog.pg_index.indisprimary ORDER BY pg_catalog.pg_index.indrelid, pg_catalog.pg_class.relname", None),
    ('get_unique_constraints', "SELECT attr.conrelid, array_agg(CAST(attr.attname AS TEXT) ORDER BY attr.ord) AS cols, attr.conname, min(attr.description) AS description, min(attr.indnkeyatts) AS indnkeyatts, bool_and(attr.indnullsnotdistinct) AS indnullsnotdistinct \nFROM (SELECT con.conrelid AS conrelid, con.conname AS conname, con.description AS description, con.ord AS ord, con.indnkeyatts AS indnkeyatts, con.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_attribute.attname AS attname \nFROM pg_catalog.pg_attribute JOIN (SELECT pg_catalog.pg_constraint.conrelid AS conrelid, pg_catalog.pg_constraint.conname AS conname, unnest(pg_catalog.pg_index.indkey) AS attnum, generate_subscripts(pg_catalog.pg_index.indkey, 1) AS ord, pg_catalog.pg_index.indnkeyatts AS indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_description.description AS description \nFROM pg_catalog.pg_constraint JOIN pg_catalog.pg_index ON pg_catalog.pg_constraint.conindid = pg_catalog.pg_index.indexrelid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) \nWHERE pg_catalog.pg_constraint.contype = 'u' AND pg_catalog.pg_constraint.conrelid IN ({oid})) AS con ON pg_catalog.pg_attribute.attnum = con.attnum AND pg_catalog.pg_attribute.attrelid = con.conrelid \nWHERE con.conrelid IN ({oid})) AS attr GROUP BY attr.conrelid, attr.conname ORDER BY attr.conrelid, attr.conname", None),
    ('get_check_constraints', "SELECT pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname, CASE WHEN (pg_catalog.pg_constraint.oid IS NOT NULL) THEN pg_catalog.pg_get_constraintdef(pg_catalog.pg_constraint.oid, true) END AS anon_1, pg_catalog.pg_description.description \nFROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_constraint ON pg_catalog.pg_class.oid = pg_catalog.pg_constraint.conrelid AND pg_catalog.pg_constraint.contype = 'c' LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_constraint' AS REGCLASS) JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales' AND pg_catalog.pg_class.relname IN ('daily_revenue') ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_constraint.conname", None),
    ('get_table_comment', "SELECT pg_catalog.pg_class.relname, pg_catalog.pg_description.description \nFROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_class.oid = pg_catalog.pg_description.objoid AND pg_catalog.pg_description.objsubid = 0 AND pg_catalog.pg_description.classoid = CAST('pg_catalog.pg_class' AS REGCLASS) JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales' AND pg_catalog.pg_class.relname IN ('daily_revenue')", None),
    ('has_table', "SELECT pg_catalog.pg_class.relname \nFROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relname IN ('daily_revenue') AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales'", 'daily_revenue'),
    ('get_table_options', "SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname, pg_catalog.pg_class.reloptions, NULL AS relhasoids, CASE WHEN (pg_catalog.pg_am.amname IS NOT NULL AND pg_catalog.pg_am.amname != current_setting('default_table_access_method')) THEN pg_catalog.pg_am.amname ELSE NULL END AS access_method_name, pg_catalog.pg_tablespace.spcname AS tablespace_name, inherits.parent_table_names \nFROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_am ON pg_catalog.pg_class.relam = pg_catalog.pg_am.oid LEFT OUTER JOIN (SELECT pg_catalog.pg_inherits.inhrelid AS inhrelid, array_agg(pg_catalog.pg_class.relname ORDER BY pg_catalog.pg_inherits.inhseqno) AS parent_table_names \nFROM pg_catalog.pg_inherits JOIN pg_catalog.pg_class ON pg_catalog.pg_inherits.inhparent = pg_catalog.pg_class.oid GROUP BY pg_catalog.pg_inherits.inhrelid) AS inherits ON pg_catalog.pg_class.oid = inherits.inhrelid LEFT OUTER JOIN pg_catalog.pg_tablespace ON pg_catalog.pg_tablespace.oid = pg_catalog.pg_class.reltablespace JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \nWHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_namespace.nspname = 'sales' AND pg_catalog.pg_class.relname IN ('daily_revenue')", None),
]


# ------------------------------------------------------------------ Metabase
def metabase():
    t = "Metabase"
    both = ("simple", "extended")
    for sql in [
        "SET extra_float_digits = 2",
        "SET application_name = 'Metabase v0.62.1.5 [d4fe74c4-96c3-4812-b3ae-35e513752b13]'",
        "SELECT 1",
        "SHOW TRANSACTION ISOLATION LEVEL",
        "select current_catalog",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "show timezone",
    ]:
        run(t, sql, sql, protocols=both)
    # pgJDBC getSchemas (Metabase's can-connect? / describe-database)
    run(t, "getSchemas", """SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM\"""", check="schemas")
    # table privileges (describe-database, :table-privileges)
    run(t, "table_privileges", """with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t""", check="sales_tables")
    # describe-database: the tables of the synced schemas
    run(t, "describe-database tables", """SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", NULLIF("stat"."n_live_tup", %s) AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = %s) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ %s) AND ("n"."nspname" <> %s) AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN (%s, %s)) ORDER BY "type" ASC, "schema" ASC, "name" ASC""",
        params=("0", "0", "^pg_", "information_schema", "sales", "ops"), check="sales_tables")
    run(t, "enum types", "SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)")
    # describe-fields
    run(t, "describe-fields", """SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%%s', "c"."udt_name") ELSE FORMAT('"%%s"."%%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%%I.%%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%%nextval(%%')) OR ("is_identity" <> 'NO')) AS "database-required", "column_default" AS "database-default", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%%nextval(%%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment", "is_generated" = %s AS "database-is-generated", "is_nullable" = 'YES' AS "database-is-nullable" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN (%s)) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%%s', "pt"."typname") ELSE FORMAT('"%%s"."%%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", NULL AS "database-default", FALSE AS "database-is-auto-increment", FALSE AS "database-is-generated", FALSE AS "database-is-nullable" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN (%s)) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC""",
        params=("ALWAYS", "sales", "sales"), check="columns")
    # pgJDBC getColumns as sent by Metabase's sync
    run(t, "getColumns", """SELECT * FROM (SELECT current_database() AS current_database, n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull  OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE %s AND c.relname LIKE %s) c WHERE true  ORDER BY nspname,c.relname,attnum""",
        params=("sales", "daily_revenue"), check="columns")
    # pgJDBC getPrimaryKeys as sent by Metabase's sync (one per table)
    run(t, "getPrimaryKeys", """SELECT        result.TABLE_CAT AS "TABLE_CAT",        result.TABLE_SCHEM AS "TABLE_SCHEM",        result.TABLE_NAME AS "TABLE_NAME",        result.COLUMN_NAME AS "COLUMN_NAME",        result.KEY_SEQ AS "KEY_SEQ",        result.PK_NAME AS "PK_NAME"FROM      (SELECT current_database() AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,   information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM, i.indnkeyatts as KEY_COUNT FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND n.nspname = %s AND ct.relname = %s AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x AND result.KEY_SEQ <= KEY_COUNT  ORDER BY result.table_name, result.pk_name, result.key_seq""",
        params=("sales", "daily_revenue"))
    # describe-fks
    run(t, "describe-fks", """SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN (%s)) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC""",
        params=("sales",))
    # field-values sampling and a GUI question
    run(t, "field values", """-- Metabase
SELECT SUBSTRING("sales"."daily_revenue"."country", 1, 1234) AS "substring4476" FROM "sales"."daily_revenue" LIMIT 10000""", check="nonempty")
    run(t, "count question", """-- Metabase:: userID: 1 queryType: MBQL queryHash: a54de394
SELECT COUNT(*) AS "count" FROM "sales"."daily_revenue\"""", check=lambda c, r: None if r == [(13,)] else f"count {r}")
    # pgJDBC ResultSetMetaData.isNullable/isAutoIncrement lookup after a query (oids from pg_class)
    oid = scalar("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = 'sales' AND c.relname = 'daily_revenue'")
    if oid is None:
        record("[Metabase] oid of sales.daily_revenue in pg_class", "not found")
        return
    run(t, "pgJDBC field metadata by oid", f"""SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT {oid} AS oid , 1 AS attnum UNION ALL SELECT {oid}, 2 UNION ALL SELECT {oid}, 3) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum) where c.oid in ({oid})""",
        check=lambda c, r: None if len(r) == 3 and {"country", "orders", "revenue"} <= flat(r) else f"rows {r}")


# ------------------------------------------------------------------ Grafana
GRAFANA_SCHEMA_CONSTRAINT = """
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )"""


def grafana_get_schema(table):
    part = "'" + table.replace("'", "''") + "'"
    return f"""SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident({part}),1) = 2
        THEN quote_ident(table_schema) = (parse_ident({part}))[1]
          AND quote_ident(table_name) = (parse_ident({part}))[2]
        ELSE quote_ident(table_name) = {part}
          AND {GRAFANA_SCHEMA_CONSTRAINT}
      END"""


def grafana():
    t = "Grafana"
    both = ("simple", "extended")
    run(t, "getVersion", "SELECT current_setting('server_version_num')::int/100 as version",
        check=lambda c, r: None if r and int(r[0][0]) >= 900 else f"version {r}")
    run(t, "getTimescaleDBVersion", "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    run(t, "showSchemas", """SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name""", check="schemas")
    run(t, "showTables('sales')", """SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'sales'
      ORDER BY 1""", check="sales_tables")
    run(t, "showTables()", f"""SELECT
    CASE WHEN {GRAFANA_SCHEMA_CONSTRAINT}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN {GRAFANA_SCHEMA_CONSTRAINT} THEN 0 ELSE 1 END, 1""", check="any_daily_revenue")
    run(t, "getSchema('sales.daily_revenue')", grafana_get_schema("sales.daily_revenue"), check="columns")
    run(t, "getSchema('daily_revenue') (unqualified, via search_path)", grafana_get_schema("daily_revenue"))
    # a time-series panel query as the SQL builder generates it (macros expanded by Grafana)
    run(t, "time series panel", """SELECT
  dt AS "time",
  sum(revenue) AS "revenue"
FROM sales.daily_revenue
WHERE
  dt BETWEEN '2026-01-01T00:00:00Z' AND '2026-02-01T00:00:00Z'
GROUP BY 1
ORDER BY 1""", check="nonempty")
    run(t, "$__timeFilter on timestamptz", """SELECT
  $__time as time, count(*) FROM (SELECT _ingested_at AS "$__time" FROM sales.daily_revenue) s
WHERE "$__time" BETWEEN '2026-01-01T00:00:00Z' AND '2026-02-01T00:00:00Z' GROUP BY 1 ORDER BY 1""".replace("$__time as time", '"$__time" AS "time"'),
        check="nonempty")


# ------------------------------------------------------------------ Superset (SQLAlchemy)
def superset():
    t = "Superset"
    # SQLAlchemy's dialect initialisation on first connect
    run(t, "show transaction isolation level", "show transaction isolation level", protocols=("simple",))
    oid = scalar("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = 'sales' AND c.relname = 'daily_revenue'")
    for name, sql, check in SUPERSET_SQLALCHEMY:
        run(t, name, sql.replace("{oid}", str(oid)), protocols=("simple",), check=check)
    # Superset's SQL Lab "select star" preview and latest-partition probing
    run(t, "select star preview", 'SELECT country, orders, revenue, dt, _ingested_at \nFROM sales.daily_revenue\n LIMIT 100',
        protocols=("simple",), check=lambda c, r: None if len(r) == 13 else f"{len(r)} rows")


# ------------------------------------------------------------------ DBeaver
def dbeaver():
    t = "DBeaver"
    both = ("simple", "extended")
    for sql, check in [
        ("SET extra_float_digits = 3", None),
        ("SET application_name = 'DBeaver 25.1.5 - Main <enhanced>'", None),
        ("SELECT current_schema(),session_user", None),
        ("SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass ORDER BY nspname", "schemas"),
        ("SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034", None),
        ("SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = 1034  ORDER BY sp.r, pg_type.oid DESC", None),
        ("SHOW search_path", None),
        ("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='enhanced'", "database"),
        ("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datallowconn AND NOT datistemplate OR db.datname ='enhanced' ORDER BY db.datname", "database"),
        ("SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'", "nonempty"),
        ("SELECT string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc}'::text[])", None),
        ("SELECT version()", None),
        ("SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1", None),
        ("SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1", None),
        ("SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')", "nonempty"),
        ("SELECT a.oid,a.* FROM pg_catalog.pg_roles a ORDER BY a.oid", None),
        ("SELECT e.oid,e.* FROM pg_catalog.pg_extension e ORDER BY e.oid", None),
        ("SELECT l.oid,l.* FROM pg_catalog.pg_language l ORDER BY l.oid", None),
        ("SELECT t.oid,t.* FROM pg_catalog.pg_tablespace t ORDER BY t.oid", None),
    ]:
        run(t, sql[:90], sql, protocols=both, check=check)
    nsp = scalar("SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'sales'")
    if nsp is None:
        record("[DBeaver] oid of schema sales in pg_namespace", "not found")
        return
    # PostgreSchema.TableCache: the tables of a schema (prepared, relnamespace bound with setLong)
    run(t, "tables of schema sales (pg_class by relnamespace)", """SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=%s AND c.relkind not in ('i','I','c')""", params=(int(nsp),), protocols=both,
        check=lambda cols, rows: None if "relname" in cols and SAMPLE_TABLES <= {r[cols.index("relname")] for r in rows}
        else f"relname column / sample tables missing: cols={cols[:8]} rows={[r[:3] for r in rows][:5]}")
    oid = scalar("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = %s AND c.relname = 'daily_revenue'", (int(nsp),))
    if oid is None:
        record("[DBeaver] oid of sales.daily_revenue", "not found")
        return
    # PostgreTableBase attributes
    run(t, "columns of daily_revenue (pg_attribute by table oid)", """SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%s
ORDER BY a.attnum""", params=(int(oid),), protocols=both,
        check=lambda cols, rows: None if "attname" in cols and [r[cols.index("attname")] for r in rows if r[cols.index("attnum")] > 0] == DAILY_REVENUE_COLUMNS
        else f"attname list: {[r[cols.index('attname')] for r in rows] if 'attname' in cols else cols}")
    # PostgreSchema.IndexCache / ConstraintCache
    run(t, "indexes of schema sales", """SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  c.relnamespace=%s ORDER BY tabrelname, c.relname""", params=(int(nsp),), protocols=both)
    run(t, "constraints of schema sales", """SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE t.relnamespace=%s
ORDER BY c.oid""", params=(int(nsp),), protocols=both)
    run(t, "table statistics", """select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,pg_catalog.pg_relation_size(c.oid) as rel_size
FROM pg_class c
WHERE c.relnamespace=%s""", params=(int(nsp),), protocols=both)
    # data tab: DBeaver reads the first 200 rows with a scrollable result set
    run(t, "data tab", 'SELECT * FROM sales.daily_revenue\nLIMIT 200', protocols=both,
        check=lambda c, r: None if len(r) == 13 else f"{len(r)} rows")


def main():
    print(f"bi_metadata: server 127.0.0.1:{PORT}, database {DB}")
    for part in (metabase, grafana, superset, dbeaver):
        try:
            part()
        except Exception as e:
            record(f"[{part.__name__}] aborted", one_line(e) + " " + one_line(traceback.format_exc()))
    print()
    print(f"{passes} passed, {len(failures)} failed")
    for f in failures:
        print(f"  FAILED {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
