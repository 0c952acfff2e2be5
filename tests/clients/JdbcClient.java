// A real pgJDBC client against `strata serve`: what DBeaver, Tableau and Metabase do through JDBC.
//
//   javac -cp /usr/share/java/postgresql.jar -d /tmp/jdbc JdbcClient.java
//   java -cp /tmp/jdbc:/usr/share/java/postgresql.jar JdbcClient <port>
//
// Prints one line per check (PASS/FAIL), then a summary; exits 1 if any check failed.
// Expects the built-in sample lake (zones enhanced/raw/sanitized; enhanced.sales.daily_revenue
// has 13 rows: country text, orders bigint, revenue double, dt date, _ingested_at timestamptz).

import java.math.BigDecimal;
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;

public class JdbcClient {
    static final List<String> failures = new ArrayList<>();
    static int passed = 0;
    static String port;

    interface Check {
        void run() throws Exception;
    }

    static void check(String name, Check body) {
        try {
            body.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            String msg = describe(t);
            failures.add(name + ": " + msg);
            System.out.println("FAIL " + name + ": " + msg);
        }
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        if (t instanceof SQLException) {
            sb.append("[SQLState ").append(((SQLException) t).getSQLState()).append("] ");
        }
        sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        Throwable c = t.getCause();
        if (c != null && c != t) sb.append(" (cause: ").append(c).append(")");
        return sb.toString().replace('\n', ' ');
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void expectEq(Object want, Object got, String what) {
        if (!Objects.equals(want, got))
            throw new AssertionError(what + ": want <" + want + "> got <" + got + ">");
    }

    static Connection connect(String db, Properties extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "tester");
        p.setProperty("password", "");
        p.setProperty("ApplicationName", "strata-jdbc-client-test");
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "120");
        if (extra != null) p.putAll(extra);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + db, p);
    }

    static List<List<Object>> rows(ResultSet rs) throws SQLException {
        List<List<Object>> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            List<Object> r = new ArrayList<>();
            for (int i = 1; i <= n; i++) r.add(rs.getObject(i));
            out.add(r);
        }
        rs.close();
        return out;
    }

    static List<String> column(ResultSet rs, String col) throws SQLException {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(col));
        rs.close();
        return out;
    }

    static void expectSqlState(String want, Check body) throws Exception {
        try {
            body.run();
        } catch (SQLException e) {
            expectEq(want, e.getSQLState(), "SQLState (message: " + e.getMessage() + ")");
            return;
        }
        throw new AssertionError("no error raised, expected SQLState " + want);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: JdbcClient <port>");
            System.exit(2);
        }
        port = args[0];
        Class.forName("org.postgresql.Driver");

        final Connection[] holder = new Connection[1];
        check("connect jdbc:postgresql://127.0.0.1:" + port + "/enhanced as tester", () -> {
            holder[0] = connect("enhanced", null);
            expect(holder[0].isValid(5), "isValid");
        });
        Connection conn = holder[0];
        if (conn == null) {
            summary();
            return;
        }
        DatabaseMetaData md = conn.getMetaData();

        // ---------------------------------------------------------------- DatabaseMetaData
        check("getDatabaseProductName/Version", () -> {
            expectEq("PostgreSQL", md.getDatabaseProductName(), "product name");
            String v = md.getDatabaseProductVersion();
            expect(v != null && !v.isEmpty(), "product version empty");
            expect(md.getDatabaseMajorVersion() >= 9, "major version " + md.getDatabaseMajorVersion());
            System.out.println("     product version " + v + ", driver " + md.getDriverVersion());
        });
        check("getCatalogs lists the zones (pg_database)", () -> {
            List<String> cats = column(md.getCatalogs(), "TABLE_CAT");
            System.out.println("     catalogs " + cats);
            expect(cats.contains("enhanced"), "enhanced missing from " + cats);
        });
        check("getSchemas lists sales and ops", () -> {
            List<String> s = column(md.getSchemas(), "TABLE_SCHEM");
            System.out.println("     schemas " + s);
            expect(s.contains("sales") && s.contains("ops"), "sales/ops missing from " + s);
        });
        check("getSchemas(catalog, pattern 'sal%')", () -> {
            List<String> s = column(md.getSchemas("enhanced", "sal%"), "TABLE_SCHEM");
            expectEq(List.of("sales"), s, "schemas matching sal%");
        });
        check("getTableTypes", () -> {
            List<String> t = column(md.getTableTypes(), "TABLE_TYPE");
            expect(t.contains("TABLE"), "TABLE missing from " + t);
        });
        check("getTables(null, sales, %, {TABLE})", () -> {
            ResultSet rs = md.getTables(null, "sales", "%", new String[] {"TABLE"});
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString("TABLE_NAME"));
                expectEq("sales", rs.getString("TABLE_SCHEM"), "TABLE_SCHEM");
                expectEq("TABLE", rs.getString("TABLE_TYPE"), "TABLE_TYPE of " + rs.getString("TABLE_NAME"));
            }
            rs.close();
            System.out.println("     tables " + names);
            expect(names.contains("daily_revenue") && names.contains("customer_360"),
                    "daily_revenue/customer_360 missing from " + names);
        });
        check("getTables(null, null, %, null) (DBeaver/Tableau browse all)", () -> {
            ResultSet rs = md.getTables(null, null, "%", null);
            Set<String> names = new TreeSet<>();
            while (rs.next()) names.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
            rs.close();
            expect(names.contains("sales.daily_revenue") && names.contains("ops.pipeline_runs"),
                    "sample tables missing: " + names);
        });

        String[][] wantCols = {
            // name, java.sql.Types, TYPE_NAME
            {"country", String.valueOf(Types.VARCHAR), "text"},
            {"orders", String.valueOf(Types.BIGINT), "int8"},
            {"revenue", String.valueOf(Types.DOUBLE), "float8"},
            {"dt", String.valueOf(Types.DATE), "date"},
            {"_ingested_at", String.valueOf(Types.TIMESTAMP), "timestamptz"},
        };
        check("getColumns(null, sales, daily_revenue, %)", () -> {
            ResultSet rs = md.getColumns(null, "sales", "daily_revenue", "%");
            List<String> got = new ArrayList<>();
            int i = 0;
            while (rs.next()) {
                String name = rs.getString("COLUMN_NAME");
                int type = rs.getInt("DATA_TYPE");
                String tn = rs.getString("TYPE_NAME");
                int pos = rs.getInt("ORDINAL_POSITION");
                got.add(name + ":" + type + ":" + tn + "@" + pos + " nullable=" + rs.getString("IS_NULLABLE"));
                if (i < wantCols.length) {
                    expectEq(wantCols[i][0], name, "column " + (i + 1) + " name");
                    expectEq(Integer.parseInt(wantCols[i][1]), type, "DATA_TYPE of " + name);
                    expectEq(wantCols[i][2], tn, "TYPE_NAME of " + name);
                    expectEq(i + 1, pos, "ORDINAL_POSITION of " + name);
                    expectEq("daily_revenue", rs.getString("TABLE_NAME"), "TABLE_NAME");
                    expectEq("sales", rs.getString("TABLE_SCHEM"), "TABLE_SCHEM");
                }
                i++;
            }
            rs.close();
            System.out.println("     columns " + got);
            expectEq(wantCols.length, i, "number of columns");
        });
        check("getColumns column-name pattern 'rev%'", () -> {
            List<String> c = column(md.getColumns(null, "sales", "daily_revenue", "rev%"), "COLUMN_NAME");
            expectEq(List.of("revenue"), c, "columns matching rev%");
        });
        check("getPrimaryKeys(sales.daily_revenue): an unkeyed table has none", () -> {
            expectEq(0, rows(md.getPrimaryKeys(null, "sales", "daily_revenue")).size(), "primary key columns");
        });
        check("getImportedKeys(sales.daily_revenue) does not error", () -> {
            System.out.println("     fk " + rows(md.getImportedKeys(null, "sales", "daily_revenue")));
        });
        check("getExportedKeys(sales.daily_revenue) does not error", () -> {
            rows(md.getExportedKeys(null, "sales", "daily_revenue"));
        });
        check("getIndexInfo(sales.daily_revenue): an unkeyed table has no index", () -> {
            expectEq(0, rows(md.getIndexInfo(null, "sales", "daily_revenue", false, true)).size(), "indexes");
        });
        check("getTypeInfo (Tableau/DBeaver) does not error and knows int8/text", () -> {
            List<String> t = column(md.getTypeInfo(), "TYPE_NAME");
            expect(t.contains("int8") && t.contains("text"), "int8/text missing from getTypeInfo: " + t);
        });
        check("getFunctions/getProcedures(null, sales, %) do not error", () -> {
            rows(md.getProcedures(null, "sales", "%"));
            rows(md.getFunctions(null, "sales", "%"));
        });
        check("getTransactionIsolation / getClientInfo / isReadOnly", () -> {
            int iso = conn.getTransactionIsolation(); // SHOW TRANSACTION ISOLATION LEVEL
            expect(iso != Connection.TRANSACTION_NONE, "isolation NONE");
            conn.isReadOnly();
        });

        // ---------------------------------------------------------------- simple statements
        check("Statement count(*) on sales.daily_revenue = 13", () -> {
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM sales.daily_revenue")) {
                expect(rs.next(), "no row");
                expectEq(13L, rs.getLong(1), "count");
            }
        });

        // ---------------------------------------------------------------- ResultSet getters
        check("ResultSet getters per type (text/bigint/double/date/timestamptz)", () -> {
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery(
                            "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue"
                                    + " ORDER BY dt, country LIMIT 1")) {
                ResultSetMetaData m = rs.getMetaData();
                expectEq(5, m.getColumnCount(), "column count");
                int[] types = {Types.VARCHAR, Types.BIGINT, Types.DOUBLE, Types.DATE, Types.TIMESTAMP};
                String[] tnames = {"text", "int8", "float8", "date", "timestamptz"};
                for (int i = 0; i < 5; i++) {
                    expectEq(types[i], m.getColumnType(i + 1), "RSMD type of col " + (i + 1));
                    expectEq(tnames[i], m.getColumnTypeName(i + 1), "RSMD type name of col " + (i + 1));
                }
                expect(rs.next(), "no row");
                expectEq("BR", rs.getString(1), "getString country");
                expectEq(1L, rs.getLong("orders"), "getLong orders");
                expectEq(1, rs.getInt("orders"), "getInt orders");
                expectEq(35.9, rs.getDouble("revenue"), "getDouble revenue");
                expectEq(new BigDecimal("35.9"), rs.getBigDecimal("revenue"), "getBigDecimal revenue");
                expectEq(java.sql.Date.valueOf("2026-01-10"), rs.getDate("dt"), "getDate dt");
                expectEq(java.time.LocalDate.of(2026, 1, 10), rs.getObject("dt", java.time.LocalDate.class),
                        "getObject(dt, LocalDate)");
                Timestamp ts = rs.getTimestamp("_ingested_at", Calendar.getInstance(TimeZone.getTimeZone("UTC")));
                expectEq(java.time.Instant.parse("2026-01-10T00:00:00Z"), ts.toInstant(), "getTimestamp");
                expectEq(java.time.OffsetDateTime.parse("2026-01-10T00:00:00Z").toInstant(),
                        rs.getObject("_ingested_at", java.time.OffsetDateTime.class).toInstant(),
                        "getObject(_ingested_at, OffsetDateTime)");
                expect(rs.getObject(1) instanceof String, "getObject(country) class " + rs.getObject(1).getClass());
                expect(rs.getObject(2) instanceof Long, "getObject(orders) class " + rs.getObject(2).getClass());
                expect(rs.getObject(3) instanceof Double, "getObject(revenue) class " + rs.getObject(3).getClass());
                expect(rs.getObject(4) instanceof java.sql.Date, "getObject(dt) class " + rs.getObject(4).getClass());
                expect(rs.getObject(5) instanceof Timestamp, "getObject(_ingested_at) class " + rs.getObject(5).getClass());
            }
        });
        check("ResultSet getters for literals (int4/bool/numeric/null/float4/int2/interval-free)", () -> {
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery(
                            "SELECT 42::int4 AS i, true AS b, 12.50::numeric(10,2) AS n, CAST(NULL AS text) AS z,"
                                    + " 1.5::float4 AS f, 7::int2 AS s, 'héllo' AS u")) {
                expect(rs.next(), "no row");
                expectEq(42, rs.getInt("i"), "getInt");
                expectEq(Types.INTEGER, rs.getMetaData().getColumnType(1), "int4 type");
                expectEq(true, rs.getBoolean("b"), "getBoolean");
                expectEq(Types.BIT, rs.getMetaData().getColumnType(2), "bool type (pgJDBC reports BIT)");
                expectEq(0, new BigDecimal("12.50").compareTo(rs.getBigDecimal("n")), "getBigDecimal numeric " + rs.getBigDecimal("n"));
                expectEq(Types.NUMERIC, rs.getMetaData().getColumnType(3), "numeric type");
                expectEq(null, rs.getString("z"), "null text");
                expect(rs.wasNull(), "wasNull");
                expectEq(1.5f, rs.getFloat("f"), "getFloat");
                expectEq((short) 7, rs.getShort("s"), "getShort");
                expectEq("héllo", rs.getString("u"), "utf8 text");
            }
        });

        // ---------------------------------------------------------------- PreparedStatement
        check("PreparedStatement (setString/setLong/setDate/setTimestamp) x8 -> server-prepared + binary", () -> {
            String sql = "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue"
                    + " WHERE country = ? AND orders >= ? AND dt >= ? AND _ingested_at >= ? ORDER BY dt";
            List<List<Object>> baseline;
            try (Statement st = conn.createStatement()) {
                baseline = rows(st.executeQuery(
                        "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue"
                                + " WHERE country = 'BR' AND orders >= 1 AND dt >= DATE '2026-01-01'"
                                + " AND _ingested_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00' ORDER BY dt"));
            }
            expect(!baseline.isEmpty(), "baseline query returned no rows");
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                org.postgresql.PGStatement pg = ps.unwrap(org.postgresql.PGStatement.class);
                expectEq(5, pg.getPrepareThreshold(), "prepareThreshold");
                boolean serverPrepared = false;
                for (int i = 1; i <= 8; i++) {
                    ps.setString(1, "BR");
                    ps.setLong(2, 1L);
                    ps.setDate(3, java.sql.Date.valueOf("2026-01-01"));
                    ps.setTimestamp(4, Timestamp.from(java.time.Instant.parse("2026-01-01T00:00:00Z")));
                    List<List<Object>> got;
                    try {
                        got = rows(ps.executeQuery());
                    } catch (SQLException e) {
                        throw new SQLException("execution " + i + " (server-prepared=" + pg.isUseServerPrepare()
                                + "): " + e.getMessage(), e.getSQLState(), e);
                    }
                    expectEq(baseline.toString(), got.toString(), "rows of execution " + i);
                    serverPrepared |= pg.isUseServerPrepare();
                }
                expect(serverPrepared, "pgJDBC never switched to a server-prepared statement");
            }
        });
        check("PreparedStatement echo of typed parameters x8 (binary round trip)", () -> {
            String sql = "SELECT ?::text, ?::int8, ?::int4, ?::float8, ?::date, ?::timestamptz, ?::bool, ?::numeric";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                Timestamp ts = Timestamp.from(java.time.Instant.parse("2026-01-12T08:30:15.123Z"));
                for (int i = 1; i <= 8; i++) {
                    ps.setString(1, "it's " + i);
                    ps.setLong(2, 9_000_000_000L + i);
                    ps.setInt(3, -i);
                    ps.setDouble(4, i + 0.25);
                    ps.setDate(5, java.sql.Date.valueOf("2026-01-1" + (i % 10)));
                    ps.setTimestamp(6, ts);
                    ps.setBoolean(7, i % 2 == 0);
                    ps.setBigDecimal(8, new BigDecimal("123.45"));
                    try (ResultSet rs = ps.executeQuery()) {
                        expect(rs.next(), "no row on execution " + i);
                        expectEq("it's " + i, rs.getString(1), "text #" + i);
                        expectEq(9_000_000_000L + i, rs.getLong(2), "int8 #" + i);
                        expectEq(-i, rs.getInt(3), "int4 #" + i);
                        expectEq(i + 0.25, rs.getDouble(4), "float8 #" + i);
                        expectEq(java.sql.Date.valueOf("2026-01-1" + (i % 10)), rs.getDate(5), "date #" + i);
                        expectEq(ts.toInstant(), rs.getTimestamp(6).toInstant(), "timestamptz #" + i);
                        expectEq(i % 2 == 0, rs.getBoolean(7), "bool #" + i);
                        expectEq(0, new BigDecimal("123.45").compareTo(rs.getBigDecimal(8)), "numeric #" + i + " got " + rs.getBigDecimal(8));
                    } catch (SQLException e) {
                        throw new SQLException("execution " + i + ": " + e.getMessage(), e.getSQLState(), e);
                    }
                }
            }
        });
        check("PreparedStatement with setObject(LocalDate)/setNull x7", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT count(*) FROM sales.daily_revenue WHERE dt = ? OR country = ?")) {
                for (int i = 0; i < 7; i++) {
                    ps.setObject(1, java.time.LocalDate.of(2026, 1, 10));
                    ps.setNull(2, Types.VARCHAR);
                    try (ResultSet rs = ps.executeQuery()) {
                        expect(rs.next(), "no row");
                        long n = rs.getLong(1);
                        expect(n > 0 && n < 13, "count for dt=2026-01-10: " + n);
                    }
                }
            }
        });

        // ---------------------------------------------------------------- cursor / fetch size
        check("setAutoCommit(false)+setFetchSize(2): all 13 rows via portal suspension", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(2);
                List<List<Object>> got = rows(st.executeQuery(
                        "SELECT country, orders, revenue, dt, _ingested_at FROM sales.daily_revenue ORDER BY dt, country"));
                expectEq(13, got.size(), "rows with fetch size 2");
                Set<String> distinct = new HashSet<>();
                for (List<Object> r : got) distinct.add(r.toString());
                expectEq(13, distinct.size(), "distinct rows (duplicated/lost batch?)");
            } finally {
                conn.commit();
                conn.setAutoCommit(true);
            }
        });
        check("generate_series(1, ?) with a bound parameter", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM generate_series(1, ?)")) {
                ps.setLong(1, 100);
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next() && rs.getLong(1) == 100, "count");
                }
            }
        });
        check("setFetchSize(3) on PreparedStatement over generate_series(1,100)", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("SELECT g FROM generate_series(1, 1000) AS t(g) WHERE g <= ? ORDER BY g")) {
                ps.setFetchSize(3);
                for (int rep = 0; rep < 6; rep++) {
                    ps.setLong(1, 100);
                    long sum = 0, n = 0;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            n++;
                            sum += rs.getLong(1);
                        }
                    }
                    expectEq(100L, n, "rows (rep " + rep + ")");
                    expectEq(5050L, sum, "sum (rep " + rep + ")");
                }
            } finally {
                conn.commit();
                conn.setAutoCommit(true);
            }
        });
        check("two interleaved fetch-size cursors in one transaction", () -> {
            conn.setAutoCommit(false);
            try (Statement a = conn.createStatement(); Statement b = conn.createStatement()) {
                a.setFetchSize(2);
                b.setFetchSize(2);
                ResultSet ra = a.executeQuery("SELECT country FROM sales.daily_revenue ORDER BY dt, country");
                ResultSet rb = b.executeQuery("SELECT g FROM generate_series(1, 7) AS t(g)");
                int na = 0, nb = 0;
                boolean more = true;
                while (more) {
                    more = false;
                    if (ra.next()) { na++; more = true; }
                    if (rb.next()) { nb++; more = true; }
                }
                expectEq(13, na, "rows from cursor A");
                expectEq(7, nb, "rows from cursor B");
            } finally {
                conn.commit();
                conn.setAutoCommit(true);
            }
        });

        // ---------------------------------------------------------------- errors
        check("syntax error -> SQLState 42601", () -> expectSqlState("42601", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELEC 1 FROM sales.daily_revenue");
            }
        }));
        check("unknown table -> SQLState 42P01", () -> expectSqlState("42P01", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM sales.no_such_table");
            }
        }));
        check("unknown table in PreparedStatement -> SQLState 42P01", () -> expectSqlState("42P01", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM no_such_table WHERE x = ?")) {
                ps.setLong(1, 1);
                ps.executeQuery();
            }
        }));
        check("unknown column -> SQLState 42703", () -> expectSqlState("42703", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT no_such_column FROM sales.daily_revenue");
            }
        }));
        check("error inside transaction -> 25P02 until rollback, then usable", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                try {
                    st.executeQuery("SELECT * FROM no_such_table");
                    throw new AssertionError("no error");
                } catch (SQLException e) {
                    expectEq("42P01", e.getSQLState(), "first error");
                }
                expectSqlState("25P02", () -> st.executeQuery("SELECT 1"));
                conn.rollback();
                try (ResultSet rs = st.executeQuery("SELECT 1")) {
                    expect(rs.next() && rs.getInt(1) == 1, "SELECT 1 after rollback");
                }
            } finally {
                conn.rollback();
                conn.setAutoCommit(true);
            }
        });
        check("connection usable after errors", () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                expect(rs.next() && rs.getInt(1) == 1, "SELECT 1");
            }
        });

        // ---------------------------------------------------------------- cancel / timeout
        final String longQuery = "SELECT sum(value) FROM generate_series(1, 20000000000)";
        check("Statement.cancel() from another thread -> 57014", () -> {
            try (Statement st = conn.createStatement()) {
                ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
                ScheduledFuture<?> f = ex.schedule(() -> {
                    try {
                        st.cancel();
                    } catch (SQLException e) {
                        System.out.println("     cancel() threw " + describe(e));
                    }
                }, 1500, TimeUnit.MILLISECONDS);
                long t0 = System.nanoTime();
                try {
                    expectSqlState("57014", () -> st.executeQuery(longQuery));
                } finally {
                    f.cancel(false);
                    ex.shutdownNow();
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("     cancelled after " + ms + " ms");
                expect(ms < 15_000, "cancel took " + ms + " ms");
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 2")) {
                expect(rs.next() && rs.getInt(1) == 2, "connection unusable after cancel");
            }
        });
        check("PreparedStatement.cancel() from another thread -> 57014", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT sum(value) FROM generate_series(1, 20000000000) WHERE value > ?")) {
                ps.setLong(1, 0L);
                ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
                ex.schedule(() -> {
                    try {
                        ps.cancel();
                    } catch (SQLException e) {
                        System.out.println("     cancel() threw " + describe(e));
                    }
                }, 1500, TimeUnit.MILLISECONDS);
                long t0 = System.nanoTime();
                try {
                    expectSqlState("57014", ps::executeQuery);
                } finally {
                    ex.shutdownNow();
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                expect(ms < 15_000, "cancel took " + ms + " ms");
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 3")) {
                expect(rs.next() && rs.getInt(1) == 3, "connection unusable after cancel");
            }
        });
        check("setQueryTimeout(1) -> 57014", () -> {
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(1);
                long t0 = System.nanoTime();
                expectSqlState("57014", () -> st.executeQuery(longQuery));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("     timed out after " + ms + " ms");
                expect(ms < 15_000, "timeout took " + ms + " ms");
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 4")) {
                expect(rs.next() && rs.getInt(1) == 4, "connection unusable after timeout");
            }
        });

        // ---------------------------------------------------------------- other zones
        check("connect to raw zone: getTables(crm) + getColumns + keyed table's primary key", () -> {
            try (Connection raw = connect("raw", null)) {
                DatabaseMetaData m = raw.getMetaData();
                List<String> t = column(m.getTables(null, "crm", "%", null), "TABLE_NAME");
                expect(t.contains("customers") && t.contains("customers_history"), "crm tables: " + t);
                List<String> c = column(m.getColumns(null, "crm", "customers", "%"), "COLUMN_NAME");
                expect(c.contains("customer_id"), "customer_id missing from " + c);
                ResultSet pk = m.getPrimaryKeys(null, "crm", "customers");
                expect(pk.next(), "crm.customers (key = [customer_id]) has no primary key");
                expectEq("customer_id", pk.getString("COLUMN_NAME"), "key column");
                expectEq(1, pk.getInt("KEY_SEQ"), "KEY_SEQ");
                expectEq("customers_pkey", pk.getString("PK_NAME"), "PK_NAME");
                expect(!pk.next(), "one key column");
                ResultSet idx = m.getIndexInfo(null, "crm", "customers", true, true);
                expect(idx.next(), "crm.customers has no unique index");
                expectEq("customer_id", idx.getString("COLUMN_NAME"), "indexed column");
            }
        });
        check("connect with database 'postgres' maps to enhanced", () -> {
            try (Connection pg = connect("postgres", null);
                    Statement st = pg.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM sales.daily_revenue")) {
                expect(rs.next() && rs.getLong(1) == 13, "count");
            }
        });
        check("preferQueryMode=extendedForPrepared / simple both work", () -> {
            for (String mode : new String[] {"simple", "extendedForPrepared", "extendedCacheEverything"}) {
                Properties p = new Properties();
                p.setProperty("preferQueryMode", mode);
                try (Connection c = connect("enhanced", p);
                        PreparedStatement ps = c.prepareStatement(
                                "SELECT count(*) FROM sales.daily_revenue WHERE country = ? AND orders >= ?")) {
                    for (int i = 0; i < 6; i++) {
                        ps.setString(1, "BR");
                        ps.setLong(2, 0);
                        try (ResultSet rs = ps.executeQuery()) {
                            expect(rs.next() && rs.getLong(1) > 0, mode + ": count");
                        } catch (SQLException e) {
                            throw new SQLException(mode + ": " + e.getMessage(), e.getSQLState(), e);
                        }
                    }
                }
            }
        });

        conn.close();
        summary();
    }

    static void summary() {
        System.out.println();
        System.out.println(passed + " passed, " + failures.size() + " failed");
        for (String f : failures) System.out.println("  FAILED " + f);
        System.exit(failures.isEmpty() ? 0 : 1);
    }
}
