//! psql (the one on PATH, else one installed on first use: see `setup::psql`) against the server: its describe commands run the catalog
//! queries of psql's describe.c, `\copy` uses COPY TO STDOUT, `-c` runs through the simple
//! protocol.
use super::Server;
use crate::setup;
use std::process::Command;

fn psql(server: &Server, db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(setup::psql())
        .arg(format!(
            "host=127.0.0.1 port={} user=analyst dbname={db}",
            server.port
        ))
        .args(["-X", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("run psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn describe_commands_list_zones_schemas_tables_and_columns() {
    let server = Server::sample();
    let (ok, out, err) = psql(&server, "enhanced", &["-c", "\\l"]);
    assert!(ok, "{err}");
    for zone in ["raw", "sanitized", "enhanced"] {
        assert!(out.contains(zone), "\\l lacks {zone}:\n{out}");
    }
    let (ok, out, err) = psql(&server, "raw", &["-c", "\\dn"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("crm") && out.contains("shop") && !out.contains("sales"),
        "{out}"
    );
    let (ok, out, err) = psql(&server, "raw", &["-c", "\\dt crm.*"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("customers") && out.contains("customers_history") && out.contains("table"),
        "{out}"
    );
    let (ok, out, err) = psql(&server, "enhanced", &["-c", "\\d sales.daily_revenue"]);
    assert!(ok, "{err}");
    for line in [
        "country",
        "text",
        "orders",
        "bigint",
        "revenue",
        "double precision",
        "dt",
        "date",
    ] {
        assert!(out.contains(line), "\\d lacks {line}:\n{out}");
    }
    let (ok, out, err) = psql(&server, "enhanced", &["-c", "\\d+ sales.daily_revenue"]);
    assert!(ok, "{err}");
    assert!(out.contains("Storage") && out.contains("country"), "{out}");
}

#[test]
fn keyed_table_shows_its_primary_key() {
    let server = Server::sample();
    let (ok, out, err) = psql(&server, "raw", &["-c", "\\d crm.customers"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("\"customers_pkey\" PRIMARY KEY, btree (customer_id)"),
        "{out}"
    );
    let (ok, out, err) = psql(&server, "enhanced", &["-c", "\\d sales.daily_revenue"]);
    assert!(ok, "{err}");
    assert!(
        !out.contains("Indexes"),
        "an unkeyed table has no index:\n{out}"
    );
}

/// Tools cache OIDs (DBeaver, Tableau, asyncpg's type cache): a restart must not renumber
/// the lake, whichever catalog table a process reads first.
#[test]
fn oids_survive_a_restart() {
    let oids = "SELECT c.relname, c.oid, n.oid, d.oid FROM pg_class c \
                JOIN pg_namespace n ON c.relnamespace = n.oid \
                JOIN pg_database d ON d.datname = current_database() ORDER BY 1";
    let first = Server::sample();
    let (ok, before, err) = psql(&first, "raw", &["-At", "-c", oids]);
    assert!(ok, "{err}");
    assert!(before.contains("customers|"), "{before}");
    drop(first);
    let second = Server::sample();
    // Visit the objects in another order first: attributes, then schemas.
    for warm in [
        "SELECT count(*) FROM pg_attribute",
        "SELECT count(*) FROM pg_namespace",
    ] {
        let (ok, _, err) = psql(&second, "raw", &["-c", warm]);
        assert!(ok, "{err}");
    }
    let (ok, after, err) = psql(&second, "raw", &["-At", "-c", oids]);
    assert!(ok, "{err}");
    assert_eq!(before, after);
    let (ok, attrelid, err) = psql(
        &second,
        "raw",
        &[
            "-At",
            "-c",
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid \
             WHERE c.relname = 'customers' AND a.attname = 'customer_id'",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        attrelid.trim(),
        "1",
        "pg_attribute.attrelid joins pg_class.oid"
    );
}

#[test]
fn copy_to_stdout_and_queries() {
    let server = Server::sample();
    let (ok, out, err) = psql(
        &server,
        "enhanced",
        &["-c", "\\copy (SELECT country, orders FROM sales.daily_revenue WHERE country = 'GB' ORDER BY dt) TO STDOUT WITH (FORMAT csv, HEADER)"],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "country,orders");
    assert!(
        lines.len() > 1 && lines[1..].iter().all(|l| l.starts_with("GB,")),
        "{out}"
    );
    let (ok, out, err) = psql(
        &server,
        "enhanced",
        &[
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM sales.daily_revenue; SELECT 'it''s'",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["13", "it's"]);
    let (ok, _, err) = psql(&server, "enhanced", &["-c", "SELECT * FROM sales.nope"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
}

/// psql's `\d` names a decimal column `numeric(p,s)` and a list column `bigint[]`, as the REPL's
/// `\d` and the result's RowDescription do (pg_attribute's typmod and type OID).
#[test]
fn describe_names_decimal_precision_and_list_types() {
    let lake = tempfile::tempdir().unwrap();
    let file = lake.path().join("enhanced/shop/items/part-0.parquet");
    let copy = format!(
        "COPY (SELECT CAST(1.5 AS DECIMAL(10,2)) AS price, make_array(CAST(1 AS BIGINT), 2) AS tags, 'x' AS name) TO '{}'",
        file.display()
    );
    let made = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["-q", "-c", &copy])
        .env_remove("STRATA_LAKE")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    let (ok, out, err) = psql(&server, "enhanced", &["-c", "\\d shop.items"]);
    assert!(ok, "{err}");
    let types: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 2).then(|| (cells[0].to_string(), cells[1].to_string()))
        })
        .collect();
    for (column, sql) in [
        ("price", "numeric(10,2)"),
        ("tags", "bigint[]"),
        ("name", "text"),
    ] {
        assert!(
            types.contains(&(column.to_string(), sql.to_string())),
            "{column} {sql}:\n{out}"
        );
    }
}
