//! Load and soak: N concurrent connections for D seconds across chat, stream and
//! static routes against the real binary and an in-process fake Gemini, all on
//! 127.0.0.1. Passes when nothing failed but the expected 429s, the server's open
//! file descriptors and live tasks come back to their start level, and its memory
//! reaches a plateau.
//!
//! How a leak is told from the allocator: the load runs in [`ROUNDS`] equal rounds.
//! Open fds and live tasks are exact counts of live objects (a leaked connection or
//! task holds its memory too), so they must come back to where they started. RSS is
//! not such a count: glibc keeps freed pages for reuse, so RSS after a round is a
//! running maximum of the memory the busiest moment needed, and it creeps up round
//! after round by ever smaller steps (measured: +12 %, +8 %, +4 % after the warm-up
//! on a loaded 2-core machine; and a "round 2 within 1.125 × round 1 + 4 MiB" check
//! once failed one clean run in four). So the first round warms up, and memory fails
//! only on runaway growth: a round ending more than a quarter + 32 MiB above the one
//! before, or the last more than half + 64 MiB above the warm-up — wide enough that
//! the high-water mark never trips it, small enough that a leak of tens of KiB a
//! request (or a few MiB a connection) does. Smaller leaks are for the exact counts.
//!
//! ```text
//! cargo run --release --example soak -- target/release/weld-assistant [connections] [seconds]
//! ```
//! (scripts/soak.sh raises the file-descriptor limit and runs it.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fake_gemini.rs"]
mod fake_gemini;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use fake_gemini::FakeGemini;

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    limited: AtomicU64,
    failed: AtomicU64,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// The load rounds: the first warms up, the rest show the trend.
const ROUNDS: usize = 4;

/// Memory fails when a round ends above the one before by more than this: a
/// quarter of that reading + 32 MiB (KiB)…
fn step_margin(before: u64) -> u64 {
    before / 4 + 32 * 1024
}

/// …or the last round ends above the warm-up round by more than half + 64 MiB (KiB).
fn total_margin(warm: u64) -> u64 {
    warm / 2 + 64 * 1024
}

/// The RSS problem, if the readings after each round (KiB) have no plateau.
fn rss_trend(after_rounds: &[u64]) -> Option<String> {
    let (&warm, rest) = after_rounds.split_first()?;
    let last = *rest.last()?;
    let runaway_round = rest
        .iter()
        .zip(after_rounds)
        .any(|(now, before)| *now > before + step_margin(*before));
    (runaway_round || last > warm + total_margin(warm)).then(|| {
        format!("rss has no plateau after the warm-up round, {warm} -> {last} KiB: {after_rounds:?}")
    })
}

fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Threads:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn tasks(client: &reqwest::Client, base: &str) -> i64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("weld_tokio_alive_tasks "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// One connection's loop until the deadline, cycling chat, stream, page and asset.
async fn load(n: usize, base: &str, asset: Option<&str>, deadline: Instant, counts: &Counts) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let mut i = n;
    while Instant::now() < deadline {
        i += 1;
        let result = match i % 4 {
            0 => {
                client
                    .post(format!("{base}/api/chat"))
                    .header("x-proxy-token", "soak-token")
                    .json(&serde_json::json!({"message": "Какой электрод?"}))
                    .send()
                    .await
            }
            1 => {
                client
                    .post(format!("{base}/api/chat/stream"))
                    .header("x-proxy-token", "soak-token")
                    .json(&serde_json::json!({"message": "Какой газ?"}))
                    .send()
                    .await
            }
            2 => client.get(format!("{base}/")).send().await,
            _ => {
                client
                    .get(format!("{base}{}", asset.unwrap_or("/api/health")))
                    .send()
                    .await
            }
        };
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await;
                match (status, body) {
                    (200, Ok(_)) => counts.ok.fetch_add(1, Ordering::Relaxed),
                    (429, _) => counts.limited.fetch_add(1, Ordering::Relaxed),
                    _ => counts.failed.fetch_add(1, Ordering::Relaxed),
                };
            }
            Err(_) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .unwrap_or_else(|| "target/release/weld-assistant".into());
    let connections: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(60);

    // Unscripted, the fake answers generateContent and streamGenerateContent with
    // the recorded fixtures.
    let fake = FakeGemini::start().await;
    let mut child = Command::new(&binary)
        .env_clear()
        .env("WELD_LISTEN", "127.0.0.1:0")
        .env("GEMINI_API_KEY", "AIzaSOAKCANARY-key")
        .env("WELD_GEMINI_BASE_URL", &fake.url)
        .env("WELD_API_TOKENS", "soak-token")
        .env("WELD_RATE_LIMIT_PER_MINUTE", "100000")
        .env("WELD_RATE_LIMIT_BURST", "20000")
        // Every connection comes from 127.0.0.1: the per-address limit would
        // otherwise turn the load into 429s.
        .env("WELD_RATE_LIMIT_PER_IP_PER_MINUTE", "10000000")
        .env("WELD_RATE_LIMIT_PER_IP_BURST", "10000000")
        .env("WELD_METRICS", "true")
        .env("RUST_LOG", "warn,weld_assistant::app=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line
                .split("address=")
                .nth(1)
                .filter(|_| line.contains("listening"))
            {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
            if line.contains("AIzaSOAKCANARY") {
                eprintln!("soak: the key canary reached a log line");
                std::process::exit(1);
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server logs its address");
    let base = format!("http://{address}");
    let probe = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asset = {
        let html = probe
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        html.split('"')
            .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
            .map(str::to_owned)
    };
    let (rss0, fds0, tasks0) = (rss_kib(pid), fds(pid), tasks(&probe, &base).await);
    println!(
        "soak: start: rss {rss0} KiB, fds {fds0}, tasks {tasks0}; {connections} connections for {seconds} s"
    );

    let mut problems = Vec::new();
    let mut after_rounds = Vec::new();
    let mut served = 0;
    let round_time = Duration::from_secs(seconds.div_ceil(ROUNDS as u64).max(1));
    for round in 1..=ROUNDS {
        let counts = Arc::new(Counts::default());
        let deadline = Instant::now() + round_time;
        let mut workers = Vec::with_capacity(connections);
        for n in 0..connections {
            let counts = counts.clone();
            let base = base.clone();
            let asset = asset.clone();
            workers.push(tokio::spawn(async move {
                load(n, &base, asset.as_deref(), deadline, &counts).await
            }));
        }
        let mut peak_rss = 0;
        let mut peak_fds = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            peak_rss = peak_rss.max(rss_kib(pid));
            peak_fds = peak_fds.max(fds(pid));
        }
        for worker in workers {
            let _ = worker.await;
        }
        // Every round ends the same way: its clients gone, a short pause, a reading.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (rss1, fds1, tasks1) = (rss_kib(pid), fds(pid), tasks(&probe, &base).await);
        let (ok, limited, failed) = (
            counts.ok.load(Ordering::Relaxed),
            counts.limited.load(Ordering::Relaxed),
            counts.failed.load(Ordering::Relaxed),
        );
        served += ok + limited;
        println!(
            "soak: round {round}/{ROUNDS}: {ok} ok, {limited} rate-limited, {failed} failed; peak rss {peak_rss} KiB, peak fds {peak_fds}; after: rss {rss1} KiB, fds {fds1}, tasks {tasks1}, threads {}",
            threads(pid)
        );
        if failed > 0 {
            problems.push(format!("round {round}: {failed} requests failed"));
        }
        if ok == 0 {
            problems.push(format!("round {round}: nothing succeeded"));
        }
        after_rounds.push(rss1);
    }
    if let Some(problem) = rss_trend(&after_rounds) {
        problems.push(problem);
    }
    if let (Some(warm), Some(last)) = (after_rounds.first(), after_rounds.last()) {
        let growth = i64::try_from(*last).unwrap_or(0) - i64::try_from(*warm).unwrap_or(0);
        println!(
            "soak: rss after the warm-up round {warm} KiB, after the last {last} KiB ({growth:+} KiB; fails above +{} KiB in a round or +{} KiB in all); {served} requests served",
            step_margin(*warm),
            total_margin(*warm)
        );
    }

    // Idle keep-alive connections (ours and the upstream pool's, 15 s) close; then
    // the exact counts must be back at their start level.
    let settle = Instant::now();
    let (mut fds1, mut tasks1) = (fds(pid), tasks(&probe, &base).await);
    while (fds1 > fds0 + 2 || tasks1 > tasks0 + 2) && settle.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        (fds1, tasks1) = (fds(pid), tasks(&probe, &base).await);
    }
    println!(
        "soak: settled in {:.0?}: rss {} KiB, fds {fds1} (start {fds0}), tasks {tasks1} (start {tasks0}), threads {}",
        settle.elapsed(),
        rss_kib(pid),
        threads(pid)
    );
    if fds1 > fds0 + 2 {
        problems.push(format!("open fds {fds0} -> {fds1}"));
    }
    if tasks1 > tasks0 + 2 {
        problems.push(format!("live tasks {tasks0} -> {tasks1}"));
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();

    // Per round: no failures, something served; then rss trend, fds, tasks.
    let checks = 2 * ROUNDS + 3;
    println!(
        "soak: {} passed, {} failed",
        checks - problems.len(),
        problems.len()
    );
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("soak: {p}");
        }
        std::process::exit(1);
    }
}
