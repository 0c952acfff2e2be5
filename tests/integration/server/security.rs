//! Security (docs/server.md#users-and-zones): trust only on loopback, SCRAM-SHA-256 users from
//! strata.toml with verifiers made by `strata password`, md5 only for md5-configured users,
//! per-user zones invisible everywhere else, TLS with sslmode=require, plaintext refused when
//! required, and the remote sandbox.
use super::{connect, sqlstate, Server};
use std::io::Write;
use std::process::{Command, Stdio};

fn verifier(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
    v
}

/// The sample lake in a temporary directory, with users added to its strata.toml.
fn lake_with_users() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    strata_catalog::sample::write_sample_lake(dir.path()).unwrap();
    let md5 = format!("md5{:x}", md5_digest(b"passold"));
    let users = format!(
        "\n[users.analyst]\npassword = \"{}\"\nzones = [\"enhanced\"]\n\n[users.admin]\npassword = \"{}\"\nzones = [\"raw\", \"sanitized\", \"enhanced\"]\nwrite = []\n\n[users.old]\npassword = \"{md5}\"\nzones = [\"enhanced\"]\n",
        verifier("analyst pw"),
        verifier("admin pw"),
    );
    let toml = dir.path().join("strata.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(&users);
    std::fs::write(&toml, text).unwrap();
    dir
}

/// md5 via the same algorithm libpq uses (md5(password || user)), computed independently.
fn md5_digest(data: &[u8]) -> md5::Digest {
    md5::compute(data)
}

fn url(server: &Server, user: &str, password: &str, db: &str) -> String {
    format!(
        "postgresql://{user}:{}@127.0.0.1:{}/{db}",
        password.replace(' ', "%20"),
        server.port
    )
}

#[tokio::test]
async fn scram_users_see_only_their_zones() {
    let lake = lake_with_users();
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);

    let admin = connect(&url(&server, "admin", "admin pw", "raw")).await;
    let n: i64 = admin
        .query_one("SELECT count(*) FROM crm.customers", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);

    let analyst = connect(&url(&server, "analyst", "analyst pw", "enhanced")).await;
    let n: i64 = analyst
        .query_one("SELECT count(*) FROM sales.daily_revenue", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
    // The raw zone is nowhere: not a database, not a catalog, not queryable.
    let dbs: Vec<String> = analyst
        .query("SELECT datname FROM pg_catalog.pg_database ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        dbs.contains(&"enhanced".to_string()) && !dbs.contains(&"raw".to_string()),
        "{dbs:?}"
    );
    let catalogs: Vec<String> = analyst
        .query(
            "SELECT DISTINCT table_catalog FROM information_schema.tables",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(catalogs, vec!["enhanced".to_string()]);
    let e = analyst
        .simple_query("SELECT * FROM raw.crm.customers")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501", "{e:?}");
    assert!(e.as_db_error().unwrap().message().contains("raw"), "{e:?}");
    let e = tokio_postgres::connect(
        &url(&server, "analyst", "analyst pw", "raw"),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .expect("analyst may not open raw");
    assert_eq!(sqlstate(&e), "42501", "{e:?}");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_are_refused_alike() {
    let lake = lake_with_users();
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    for (user, pw) in [("analyst", "wrong"), ("nobody", "analyst pw")] {
        let e = tokio_postgres::connect(&url(&server, user, pw, "enhanced"), tokio_postgres::NoTls)
            .await
            .err()
            .unwrap_or_else(|| panic!("{user} got in"));
        assert_eq!(sqlstate(&e), "28P01", "{user}: {e:?}");
    }
    let e = tokio_postgres::connect(
        &url(&server, "admin", "admin pw", "nope"),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(sqlstate(&e), "3D000", "{e:?}");
    // The server is unharmed.
    let ok = connect(&url(&server, "admin", "admin pw", "enhanced")).await;
    ok.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn md5_only_for_users_configured_with_an_md5_hash() {
    let lake = lake_with_users();
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    let old = connect(&url(&server, "old", "pass", "enhanced")).await;
    old.simple_query("SELECT 1").await.unwrap();
    let e = tokio_postgres::connect(
        &url(&server, "old", "wrong", "enhanced"),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(sqlstate(&e), "28P01");
}

#[test]
fn without_users_listening_beyond_loopback_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "serve",
            "--lake",
            &super::sample_lake(),
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0"), "{err}");
}

/// A throwaway certificate for localhost: with openssl when it is installed, else with Python's
/// `cryptography` from the project's venv (a machine may have Python but no openssl).
fn self_signed(dir: &std::path::Path) -> (String, String) {
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    if crate::setup::on_path("openssl").is_none() {
        let status = Command::new(crate::setup::python())
            .args(["-c", SELF_SIGNED_PY])
            .arg(&cert)
            .arg(&key)
            .status()
            .unwrap();
        assert!(status.success());
        return (
            cert.to_string_lossy().into_owned(),
            key.to_string_lossy().into_owned(),
        );
    }
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

const SELF_SIGNED_PY: &str = r#"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;

fn psql(server: &Server, sslmode: &str, sql: &str) -> std::process::Output {
    Command::new(crate::setup::psql())
        .arg(format!(
            "host=127.0.0.1 port={} user=t dbname=enhanced sslmode={sslmode}",
            server.port
        ))
        .args(["-X", "-A", "-t", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql")
}

#[test]
fn tls_is_required_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let server = Server::start(
        &super::sample_lake(),
        &["--tls-cert", &cert, "--tls-key", &key, "--require-tls"],
        &[],
    );
    let out = psql(&server, "require", "SELECT 'on'");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "on");
    let out = psql(&server, "disable", "SELECT 1");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("requires TLS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn remote_sessions_cannot_touch_server_files_or_settings() {
    let server = Server::sample();
    let c = connect(&server.url("t", "enhanced")).await;
    for sql in [
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/strata-should-not-exist.csv'",
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/strata-pwned'",
        "SET datafusion.runtime.memory_limit = '100G'",
    ] {
        let e = c.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e:?}");
    }
    // Reading a path as a table is not a thing here either.
    assert!(c.simple_query("SELECT * FROM '/etc/passwd'").await.is_err());
    assert!(!std::path::Path::new("/tmp/strata-should-not-exist.csv").exists());
    assert!(!std::path::Path::new("/tmp/strata-pwned").exists());
}

/// Every file under `dir` with its size: what a refused write must leave as it was.
fn files(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path().display().to_string(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_user_who_may_not_write_a_zone_changes_nothing_there() {
    let lake = lake_with_users();
    let raw = lake.path().join("raw");
    let before = files(&raw);
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    // admin reads every zone and its `write = []` lets it write none.
    let admin = connect(&url(&server, "admin", "admin pw", "raw")).await;
    for sql in [
        "COPY raw.crm.customers FROM STDIN",
        "INSERT INTO raw.x.y VALUES (1)",
        "INSERT INTO crm.customers SELECT * FROM crm.customers",
        "CREATE TABLE raw.x.z AS SELECT 1 AS a",
    ] {
        let e = admin.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e:?}");
        let message = e.as_db_error().unwrap().message().to_string();
        assert_eq!(
            message, "permission denied: may not write zone \"raw\" (this user may write: none)",
            "{sql}"
        );
    }
    // The session goes on, and the zone's folder is as it was.
    let n: i64 = admin
        .query_one("SELECT count(*) FROM crm.customers", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    assert_eq!(files(&raw), before);
}

#[tokio::test]
async fn strata_tables_lists_only_the_zones_a_user_reads() {
    let lake = lake_with_users();
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    let zones =
        |rows: Vec<tokio_postgres::Row>| -> Vec<String> { rows.iter().map(|r| r.get(0)).collect() };
    let analyst = connect(&url(&server, "analyst", "analyst pw", "enhanced")).await;
    let seen = analyst
        .query("SELECT DISTINCT zone FROM strata.tables ORDER BY 1", &[])
        .await
        .unwrap();
    assert_eq!(zones(seen), ["enhanced"]);
    let admin = connect(&url(&server, "admin", "admin pw", "enhanced")).await;
    let seen = admin
        .query("SELECT DISTINCT zone FROM strata.tables ORDER BY 1", &[])
        .await
        .unwrap();
    assert_eq!(zones(seen), ["enhanced", "raw", "sanitized"]);
}

#[tokio::test]
async fn strata_batches_lists_only_the_commits_of_zones_a_user_reads() {
    let lake = lake_with_users();
    let s = crate::lakes::session_on(lake.path().to_str().unwrap(), Default::default()).await;
    s.sql("CREATE TABLE raw.audit.log AS SELECT 1 AS id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let server = Server::start(lake.path().to_str().unwrap(), &[], &[]);
    let count = "SELECT count(*) FROM strata.batches WHERE zone = 'raw'";
    let analyst = connect(&url(&server, "analyst", "analyst pw", "enhanced")).await;
    let n: i64 = analyst.query_one(count, &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "the analyst reads enhanced only");
    let admin = connect(&url(&server, "admin", "admin pw", "enhanced")).await;
    let n: i64 = admin.query_one(count, &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}
