//! Cluster mode with real processes (docs/cluster.md): a `strata scheduler` and `strata executor`
//! processes on loopback ports, and `strata --cluster` clients whose answers must equal those of
//! `strata` in process. `answers` compares TPC-H and the table rules; `faults` kills executors and
//! feeds bad input.
mod answers;
mod faults;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (free when asked; the process that binds it comes right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scheduler and executors, each a `strata` process, killed when dropped.
pub struct TestCluster {
    pub address: String,
    scheduler: Child,
    /// (name, process) of each executor; None once killed.
    executors: Vec<(String, Option<Child>)>,
    /// Each process's log (stderr), by name.
    logs: tempfile::TempDir,
}

impl TestCluster {
    /// A scheduler and `executors` executors named e1, e2, …, each with two task slots, once
    /// all executors have registered. `scheduler_env` is set on the scheduler only.
    pub fn start(executors: usize, scheduler_env: &[(&str, &str)]) -> TestCluster {
        let mut cluster = TestCluster::scheduler_only(scheduler_env);
        for i in 1..=executors {
            cluster.add_executor(&format!("e{i}"), &[]);
        }
        cluster.wait_for_executors(executors);
        cluster
    }

    /// A scheduler without executors (add them with [`TestCluster::add_executor`]).
    pub fn scheduler_only(scheduler_env: &[(&str, &str)]) -> TestCluster {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let log =
            |name: &str| std::fs::File::create(logs.path().join(format!("{name}.log"))).unwrap();
        let scheduler = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["scheduler", "--bind", &address, "--executor-timeout", "6s"])
            .envs(scheduler_env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log("scheduler"))
            .spawn()
            .unwrap();
        TestCluster {
            address,
            scheduler,
            executors: vec![],
            logs,
        }
    }

    /// Starts one more executor (with `env` set on it); it registers by itself.
    pub fn add_executor(&mut self, name: &str, env: &[(&str, String)]) {
        let work = self.logs.path().join(format!("{name}-work"));
        std::fs::create_dir_all(&work).unwrap();
        let log = std::fs::File::create(self.log_path(name)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "executor",
                "--scheduler",
                &self.address,
                "--name",
                name,
                "--slots",
                "2",
            ])
            .args(["--bind", &format!("127.0.0.1:{}", free_port())])
            .args(["--grpc-port", &free_port().to_string()])
            .arg("--work-dir")
            .arg(&work)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.executors.push((name.to_string(), Some(child)));
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.logs.path().join(format!("{name}.log"))
    }

    /// A process's log so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// Waits until the scheduler lists `n` executors (its REST API).
    pub fn wait_for_executors(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(body) = self.rest("/api/executors") {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if v.as_array().is_some_and(|a| a.len() >= n) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{n} executors did not register within 60 s\nscheduler:\n{}",
                self.log("scheduler")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// GET `path` from the scheduler's REST API (same port as gRPC): the body, or None.
    pub fn rest(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(&self.address).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.address
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return Some(unchunk(body));
        }
        Some(body.to_string())
    }

    /// Kills executor `name` (SIGKILL: no goodbye to the scheduler).
    pub fn kill_executor(&mut self, name: &str) {
        for (n, child) in &mut self.executors {
            if n == name {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
    }

    /// `strata --cluster` on `lake` with `args` (-c …), CSV output.
    pub fn client(&self, lake: &str, args: &[&str]) -> Output {
        strata(lake, Some(&self.address), args)
    }

    /// The error and warning lines of every process's log, for a failure's message.
    pub fn troubles(&self) -> String {
        let mut out = String::new();
        let names = std::iter::once("scheduler".to_string())
            .chain(self.executors.iter().map(|(n, _)| n.clone()));
        for name in names {
            for line in self.log(&name).lines() {
                if line.contains("ERROR") || line.contains("WARN") {
                    out.push_str(&format!("[{name}] {line}\n"));
                }
            }
        }
        out
    }

    /// Jobs the scheduler has seen.
    pub fn jobs(&self) -> Vec<serde_json::Value> {
        let body = self.rest("/api/jobs").expect("the scheduler's job list");
        match serde_json::from_str(&body).unwrap() {
            serde_json::Value::Array(jobs) => jobs,
            other => panic!("/api/jobs: {other}"),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.executors {
            if let Some(c) = child {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = self.scheduler.kill();
        let _ = self.scheduler.wait();
    }
}

fn unchunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// `strata` on `lake` (through the cluster at `cluster`, else in process) with `args`, CSV out.
pub fn strata(lake: &str, cluster: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(["--lake", lake, "--format", "csv", "-q"]);
    if let Some(address) = cluster {
        cmd.args(["--cluster", address]);
    }
    cmd.args(args)
        .env_remove("STRATA_CLUSTER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// stdout of a run that must succeed.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
