//! A seeded protocol fuzzer against the real server: sessions of valid, mutated and made-up
//! messages (startup packets, lying lengths, bad Parse/Bind/Execute, deep nesting, huge
//! placeholders), sent from several connections at once. The server must never exit, never
//! panic, and keep answering new clients. `STRATA_FUZZ_CASES` and `STRATA_FUZZ_SEED` override
//! the size and the seed; a failure prints the seed and case to replay.
use super::wire::{msg, parse, query, startup, sync, Raw};
use super::Server;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const DEFAULT_CASES: u64 = 2_000;
const DEFAULT_SEED: u64 = 0x5354_5241_5441;
const WORKERS: u64 = 4;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn protocol_fuzzer_cannot_kill_or_wedge_the_server() {
    let cases = env_u64("STRATA_FUZZ_CASES", DEFAULT_CASES);
    let seed = env_u64("STRATA_FUZZ_SEED", DEFAULT_SEED);
    let mut server = Server::start(
        &super::sample_lake(),
        // Deep statements are planned in seconds in a debug build and planning cannot be
        // interrupted; a lower depth limit keeps the fuzzer's own backlog short (deeper cases
        // are refused, shallower ones run). tests/integration/server/hostile.rs covers the
        // default limit.
        &[
            "--statement-timeout",
            "2s",
            "--startup-timeout",
            "2s",
            "--max-expression-depth",
            "500",
        ],
        &[("RUST_LOG", "warn")],
    );
    let port = server.port;
    let started = Instant::now();
    let per_worker = cases.div_ceil(WORKERS);
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            std::thread::spawn(move || {
                let mut outcomes = [0u64; 3];
                for i in 0..per_worker {
                    let case = w * per_worker + i;
                    let mut rng =
                        StdRng::seed_from_u64(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    outcomes[run_case(port, &session(&mut rng))] += 1;
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = [0u64; 3];
    for w in workers {
        let o = w.join().expect("a fuzz worker");
        for (total, n) in outcomes.iter_mut().zip(o) {
            *total += n;
        }
    }
    eprintln!(
        "fuzz: {cases} cases (seed {seed:#x}) in {:.1} s: {} answered, {} closed by the server, {} went quiet",
        started.elapsed().as_secs_f64(),
        outcomes[0],
        outcomes[1],
        outcomes[2]
    );
    assert!(
        server.is_running(),
        "the server died (seed {seed:#x}):\n{}",
        server.log()
    );
    assert!(
        !server.log().contains("panicked"),
        "a panic (seed {seed:#x}):\n{}",
        server.log()
    );
    // Still answering: a new client gets through startup and a query.
    let mut c = Raw::ready(port);
    c.send(&query("SELECT 40 + 2"));
    let replies = c.until_ready();
    assert!(
        replies.iter().any(|r| r.kind == b'D'),
        "no answer after fuzzing: {replies:?}"
    );
}

/// Sends one session and reads until the server closes or goes quiet. Returns 0 when the
/// server answered with ReadyForQuery last, 1 when it closed the connection, 2 when it went
/// quiet (it is waiting for more: a half message, or a Sync that never came).
fn run_case(port: u16, bytes: &[u8]) -> usize {
    let mut c = Raw::connect(port);
    c.set_timeout(Duration::from_millis(300));
    let _ = std::io::Write::write_all(&mut c.stream, bytes);
    let mut last = None;
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match c.next() {
            Some(r) => last = Some(r.kind),
            None => {
                let mut probe = [0u8; 1];
                return match c.stream.peek(&mut probe) {
                    Ok(0) => 1,
                    _ if last == Some(b'Z') => 0,
                    _ => 2,
                };
            }
        }
    }
    2
}

/// One connection's bytes: an opening (usually a good startup) and a few messages, some of
/// them mutated.
fn session(rng: &mut StdRng) -> Vec<u8> {
    let mut out = match rng.random_range(0..20) {
        0 => random_bytes(rng, 0..64),
        1 => special_request(rng),
        2 => mutate(rng, startup()),
        _ => startup(),
    };
    for _ in 0..rng.random_range(1..8) {
        let m = message(rng);
        out.extend(if rng.random_bool(0.3) {
            mutate(rng, m)
        } else {
            m
        });
    }
    if rng.random_bool(0.7) {
        out.extend(sync());
    }
    out
}

fn special_request(rng: &mut StdRng) -> Vec<u8> {
    let code: u32 = [80877103, 80877104, 80877102, 131072, rng.random()][rng.random_range(0..5)];
    let mut body = code.to_be_bytes().to_vec();
    if code == 80877102 {
        body.extend(rng.random::<i32>().to_be_bytes());
        body.extend(rng.random::<i32>().to_be_bytes());
    }
    let mut p = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    p.extend(body);
    p
}

fn random_bytes(rng: &mut StdRng, len: std::ops::Range<usize>) -> Vec<u8> {
    let n = rng.random_range(len);
    (0..n).map(|_| rng.random()).collect()
}

/// SQL texts: ordinary, deep, huge placeholders, garbage.
fn sql(rng: &mut StdRng) -> String {
    let depth = [1, 10, 47, 48, 49, 200, 2000, 12_000][rng.random_range(0..8)];
    match rng.random_range(0..14) {
        0 => "SELECT 1".into(),
        1 => "SELECT * FROM raw.crm.customers".into(),
        2 => "SELECT count(*) FROM sales.daily_revenue WHERE country = $1".into(),
        3 => format!("SELECT {}1{}", "ARRAY[".repeat(depth), "]".repeat(depth)),
        4 => format!("SELECT {}1{}", "CAST(".repeat(depth), " AS int8)".repeat(depth)),
        5 => format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth)),
        6 => format!("SELECT 1{}", "+1".repeat(depth)),
        7 => format!("SELECT true{}", " OR false".repeat(depth)),
        8 => format!(
            "SELECT {}1{}",
            "CASE WHEN true THEN ".repeat(depth),
            " END".repeat(depth)
        ),
        9 => format!("SELECT ${}", rng.random::<u64>()),
        10 => "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE pg_catalog.pg_table_is_visible(c.oid)".into(),
        11 => format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(depth.min(3000))),
        12 => String::from_utf8_lossy(&random_bytes(rng, 0..200)).into_owned(),
        _ => "BEGIN; SELECT 1; COMMIT".into(),
    }
}

/// One well-formed message of a random kind.
fn message(rng: &mut StdRng) -> Vec<u8> {
    let name = if rng.random_bool(0.5) { "" } else { "s1" };
    match rng.random_range(0..14) {
        0 | 1 => query(&sql(rng)),
        2 | 3 => {
            let mut body = name.as_bytes().to_vec();
            body.push(0);
            body.extend(sql(rng).as_bytes());
            body.push(0);
            let types = rng.random_range(0..3u16);
            body.extend(types.to_be_bytes());
            for _ in 0..types {
                let oid: u32 = [
                    0,
                    16,
                    20,
                    23,
                    25,
                    1043,
                    1114,
                    1184,
                    2950,
                    3802,
                    rng.random(),
                ][rng.random_range(0..11)];
                body.extend(oid.to_be_bytes());
            }
            msg(b'P', &body)
        }
        4 | 5 => {
            let mut body = vec![0];
            body.extend(name.as_bytes());
            body.push(0);
            let formats = rng.random_range(0..2u16);
            body.extend(formats.to_be_bytes());
            for _ in 0..formats {
                body.extend(rng.random_range(0..2u16).to_be_bytes());
            }
            let values = rng.random_range(0..3u16);
            body.extend(values.to_be_bytes());
            for _ in 0..values {
                let v = random_bytes(rng, 0..20);
                if rng.random_bool(0.2) {
                    body.extend((-1i32).to_be_bytes());
                } else {
                    body.extend((v.len() as i32).to_be_bytes());
                    body.extend(v);
                }
            }
            body.extend(0u16.to_be_bytes());
            msg(b'B', &body)
        }
        6 => {
            let mut body = vec![if rng.random_bool(0.5) { b'S' } else { b'P' }];
            body.extend(name.as_bytes());
            body.push(0);
            msg(b'D', &body)
        }
        7 | 8 => msg(b'E', &[0, 0, 0, 0, rng.random_range(0..3)]),
        9 => msg(b'C', b"Ss1\0"),
        10 => msg(b'H', b""),
        11 => msg(
            *b"dcfpF".get(rng.random_range(0..5)).unwrap(),
            &random_bytes(rng, 0..40),
        ),
        12 => msg(b'X', b""),
        _ => parse(&sql(rng)),
    }
}

/// Breaks a message: flipped bytes, a cut, junk after it, a lying length, a made-up type.
fn mutate(rng: &mut StdRng, mut m: Vec<u8>) -> Vec<u8> {
    if m.is_empty() {
        return m;
    }
    match rng.random_range(0..6) {
        0 => {
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..m.len());
                m[i] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => m.truncate(rng.random_range(0..m.len())),
        2 => m.extend(random_bytes(rng, 1..16)),
        3 if m.len() >= 5 => {
            let lie: u32 = [
                0,
                3,
                4,
                5,
                u32::MAX,
                0x7fff_ffff,
                rng.random::<u32>() % 100_000,
            ][rng.random_range(0..7)];
            m[1..5].copy_from_slice(&lie.to_be_bytes());
        }
        4 => m[0] = rng.random(),
        _ => {
            let i = rng.random_range(0..m.len());
            m.insert(i, 0);
        }
    }
    m
}
