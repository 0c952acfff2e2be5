//! `strata serve` tested from outside: real clients over TCP on a loopback port, one module per
//! client, each replaying what that client does. The server is the real binary ([`Server`])
//! where the process matters: client programs, signals, crashes, logs, memory; protocol tests
//! start it inside the test process ([`InProcess`]), which saves a process start per test.
mod cancel;
mod clients;
mod copy_in;
mod fuzz;
mod hostile;
mod protocol;
mod psql;
mod robustness;
mod security;
mod settings;
mod text_output;
mod typed;
mod wire;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata::pg::server::ServeOptions;

/// The server started in this process (`strata_pg::server::start`) on the sample lake, on a
/// runtime of its own as the binary has (two threads for sockets), so sync and async tests alike
/// can block while it serves. Stopped when dropped.
pub struct InProcess {
    pub port: u16,
    running: Option<strata::pg::server::Running>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl InProcess {
    /// With the defaults of `strata serve`.
    pub fn sample() -> InProcess {
        InProcess::start(|_| {})
    }

    /// With `configure` applied to the defaults of `strata serve`.
    pub fn start(configure: impl FnOnce(&mut ServeOptions)) -> InProcess {
        InProcess::on_lake(&sample_lake(), configure)
    }

    /// Serves `lake` (tests that write use a lake of their own).
    pub fn on_lake(lake: &str, configure: impl FnOnce(&mut ServeOptions)) -> InProcess {
        let mut opts = ServeOptions {
            listen: "127.0.0.1:0".into(),
            ..ServeOptions::default()
        };
        configure(&mut opts);
        let lake = lake.to_string();
        // On another thread: an async test's own runtime cannot block on this one.
        let (runtime, running) = std::thread::scope(|s| {
            s.spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let running = runtime.block_on(async {
                    let lake = strata::Lake::open(&lake).await.unwrap();
                    strata::pg::server::start(lake, opts).await.unwrap()
                });
                (runtime, running)
            })
            .join()
            .unwrap()
        });
        InProcess {
            port: running.addr.port(),
            running: Some(running),
            runtime: Some(runtime),
        }
    }

    /// A libpq connection string for `user` and `database`.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        drop(self.running.take());
        // Without waiting, and allowed inside an async test.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A running `strata serve`, stopped when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Serves the built-in sample lake with default settings.
    pub fn sample() -> Server {
        Server::start(&sample_lake(), &[], &[])
    }

    /// Serves `lake` with extra flags and environment.
    pub fn start(lake: &str, flags: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["serve", "--lake", lake, "--listen", "127.0.0.1:0"])
            .args(flags)
            .envs(env.iter().copied())
            .env("RUST_LOG", env_or("RUST_LOG", "info"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start strata serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .strip_prefix("strata: serving ")
                    .and_then(|l| l.rsplit(" on ").next())
                {
                    let _ = tx.send(addr.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "strata serve did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Server { port, child, log }
    }

    /// A libpq connection string for `user` and `database`.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits up to `secs` for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, secs: u64) -> bool {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), "TERM");
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "server did not exit after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's resident memory in kB (Linux).
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

pub fn sample_lake() -> String {
    strata_catalog::sample::ensure_sample_lake()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// A tokio-postgres connection (its driver task runs in the background).
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Runs `query` while sending CancelRequests for its connection until it ends; returns its
/// outcome and when the last CancelRequest was sent. A cancel that reaches the server before the
/// query has started is ignored (as in PostgreSQL), and nothing outside shows when it has
/// started, so the cancel is repeated, each time after giving the query 100 ms to end, instead of
/// being sent once after a guessed delay. Each cancel is confirmed handled (the server closes
/// the cancel connection once it has acted on it) before the next step, so none is still in
/// flight when the query has ended: none can hit the connection's next statement.
pub async fn cancel_until_done<T>(
    token: &tokio_postgres::CancelToken,
    port: u16,
    query: impl std::future::Future<Output = T>,
) -> (T, Instant) {
    use tokio::io::AsyncReadExt;
    let mut query = std::pin::pin!(query);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut sent = Instant::now();
    loop {
        if let Ok(done) = tokio::time::timeout(Duration::from_millis(100), query.as_mut()).await {
            return (done, sent);
        }
        assert!(
            Instant::now() < deadline,
            "the query did not end after 120 s of CancelRequests"
        );
        let mut cancel = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        token
            .cancel_query_raw(&mut cancel, tokio_postgres::NoTls)
            .await
            .expect("send a CancelRequest");
        sent = Instant::now();
        let mut rest = vec![];
        tokio::time::timeout(Duration::from_secs(30), cancel.read_to_end(&mut rest))
            .await
            .expect("the server did not close the cancel connection")
            .expect("read the cancel connection to its end");
    }
}

/// The SQLSTATE of a tokio-postgres error.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no code: {e}"))
}
