//! Held requests: how much memory a proxy needs per request that waits for a slow
//! upstream (Gemini takes seconds to answer). Two tools in one binary:
//!
//! ```text
//! held upstream ADDR DELAY_MS [--tls CERT.pem KEY.pem] [--max-streams N]
//! held load URL COUNT [--stream] [--header 'Name: value']… [--body TEXT] [--expect TEXT] [--h2c STREAMS] [--pids 1,2,…] [--timeout S]
//! ```
//!
//! `upstream` is an async stand-in for Gemini that can hold ten thousand calls:
//! every `POST …:generateContent` is answered after `DELAY_MS` with the recorded
//! `generate_response_ok.json`, every `POST …:streamGenerateContent` with the
//! recorded `stream_ok.sse` (CRLF framing) after the same delay, `GET
//! /v1beta/models/{m}` answers the start-up probe, and `GET /stats` tells how
//! many calls arrived over HTTP/1.1 and over HTTP/2, on how many connections,
//! and the most held at once. It speaks HTTP/1.1 and cleartext HTTP/2 (prior
//! knowledge), or with `--tls` HTTP/2 and HTTP/1.1 chosen by ALPN; HTTP/2
//! connections advertise `--max-streams` concurrent streams (100 by default, the
//! RFC's recommended floor and what Google's front ends send).
//!
//! `load` opens `COUNT` connections at once, sends one request on each
//! (`Connection: close`) — or, with `--h2c STREAMS`, opens one cleartext HTTP/2
//! connection per `STREAMS` requests and sends them all at once, as a TLS proxy
//! speaking h2c to its upstream would — reads each answer to its end and prints the status
//! counts, p50/p99/max latency and, with `--pids`, the peak of the summed VmRSS
//! of those processes sampled every 20 ms, and their VmRSS before the load — one
//! `HELD_RESULT key=value …` line at the end. A request counts as an error unless
//! it gets a 200 whose body holds `--expect` (by default `"text"` for JSON,
//! `event: done` for a stream: a whole answer of weld-assistant's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

#[path = "../tests/support/tls.rs"]
mod tls;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.first().map(String::as_str) {
        Some("upstream") => runtime.block_on(upstream(&args[1..])),
        Some("load") => runtime.block_on(load(&args[1..])),
        _ => {
            eprintln!("usage: held upstream ADDR DELAY_MS [--tls CERT KEY] [--max-streams N]");
            eprintln!(
                "       held load URL COUNT [--stream] [--header 'N: v']… [--body TEXT] [--expect TEXT] [--h2c N] [--pids 1,2] [--timeout S]"
            );
            std::process::exit(2);
        }
    }
}

// --- the upstream stand-in ------------------------------------------------------

#[derive(Default)]
struct Stats {
    http1: AtomicU64,
    http2: AtomicU64,
    connections: AtomicU64,
    tls_h2: AtomicU64,
    held: AtomicUsize,
    max_held: AtomicUsize,
}

async fn upstream(args: &[String]) {
    let address: SocketAddr = args[0].parse().expect("ADDR");
    let delay = Duration::from_millis(args[1].parse().expect("DELAY_MS"));
    let mut tls = None;
    let mut max_streams = 100u32;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--tls" => {
                tls = Some(tls::acceptor(&args[i + 1], &args[i + 2]));
                i += 3;
            }
            "--max-streams" => {
                max_streams = args[i + 1].parse().expect("N");
                i += 2;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let json = Bytes::from(std::fs::read(format!("{FIXTURES}/generate_response_ok.json")).unwrap());
    let sse = Bytes::from(std::fs::read(format!("{FIXTURES}/stream_ok.sse")).unwrap());
    let stats = Arc::new(Stats::default());
    let listener = bind(address, 8192);
    println!("upstream listening on {}", listener.local_addr().unwrap());
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let _ = socket.set_nodelay(true);
        let (json, sse, stats, tls) = (json.clone(), sse.clone(), stats.clone(), tls.clone());
        tokio::spawn(async move {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            let counters = stats.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let (json, sse, stats) = (json.clone(), sse.clone(), stats.clone());
                async move { Ok::<_, Infallible>(answer(req, delay, &json, &sse, &stats).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().max_concurrent_streams(max_streams);
            match tls {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(socket).await else {
                        return;
                    };
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        counters.tls_h2.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(socket), service).await;
                }
            }
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    delay: Duration,
    json: &Bytes,
    sse: &Bytes,
    stats: &Stats,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == "/stats" {
        let body = format!(
            r#"{{"http1":{},"http2":{},"connections":{},"tlsH2Connections":{},"maxHeld":{}}}"#,
            stats.http1.load(Ordering::Relaxed),
            stats.http2.load(Ordering::Relaxed),
            stats.connections.load(Ordering::Relaxed),
            stats.tls_h2.load(Ordering::Relaxed),
            stats.max_held.load(Ordering::Relaxed),
        );
        return reply("application/json", Bytes::from(body));
    }
    if req.method() == hyper::Method::GET {
        return reply(
            "application/json; charset=UTF-8",
            Bytes::from_static(br#"{"name": "models/gemini-flash-latest"}"#),
        );
    }
    if req.version() == hyper::Version::HTTP_2 {
        stats.http2.fetch_add(1, Ordering::Relaxed);
    } else {
        stats.http1.fetch_add(1, Ordering::Relaxed);
    }
    // The request body is read (and dropped) like a real server would.
    let _ = http_body_util::BodyExt::collect(req.into_body()).await;
    let held = stats.held.fetch_add(1, Ordering::Relaxed) + 1;
    stats.max_held.fetch_max(held, Ordering::Relaxed);
    tokio::time::sleep(delay).await;
    stats.held.fetch_sub(1, Ordering::Relaxed);
    if path.ends_with(":streamGenerateContent") {
        reply("text/event-stream", sse.clone())
    } else {
        reply("application/json; charset=UTF-8", json.clone())
    }
}

fn reply(content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", content_type)
        .body(Full::new(body))
        .unwrap()
}

/// A listener with a deep accept queue (the kernel caps it at `somaxconn`).
fn bind(address: SocketAddr, backlog: u32) -> TcpListener {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).unwrap();
    socket.listen(backlog).unwrap()
}

// --- the load -------------------------------------------------------------------

struct Outcome {
    status: u16,
    complete: bool,
    latency: Duration,
}

async fn load(args: &[String]) {
    let url = url::Url::parse(&args[0]).expect("URL");
    let count: usize = args[1].parse().expect("COUNT");
    let mut stream = false;
    let mut headers = Vec::new();
    let mut body = r#"{"message":"Какой электрод для 09Г2С?"}"#.to_owned();
    let mut pids: Vec<u32> = Vec::new();
    let mut timeout = Duration::from_secs(60);
    let mut expect: Option<String> = None;
    let mut h2c: Option<usize> = None;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--stream" => {
                stream = true;
                i += 1;
            }
            "--header" => {
                headers.push(args[i + 1].clone());
                i += 2;
            }
            "--body" => {
                body = args[i + 1].clone();
                i += 2;
            }
            "--pids" => {
                pids = args[i + 1]
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse().unwrap())
                    .collect();
                i += 2;
            }
            "--expect" => {
                expect = Some(args[i + 1].clone());
                i += 2;
            }
            "--h2c" => {
                h2c = Some(args[i + 1].parse::<usize>().unwrap().max(1));
                i += 2;
            }
            "--timeout" => {
                timeout = Duration::from_secs(args[i + 1].parse().unwrap());
                i += 2;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let address: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        &url[url::Position::BeforePath..],
        address,
        body.len()
    );
    for h in &headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let body_bytes = body.clone().into_bytes();
    let request = Arc::new([head.into_bytes(), body.into_bytes()].concat());
    let default = if stream { "event: done" } else { "\"text\"" };
    let marker: &'static [u8] = expect.unwrap_or_else(|| default.to_owned()).leak().as_bytes();

    let idle_kib = rss_kib(&pids);
    let peak = Arc::new(AtomicU64::new(idle_kib));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pids) = (peak.clone(), sampling.clone(), pids.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(&pids), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    match h2c {
        None => {
            for _ in 0..count {
                let request = request.clone();
                tasks.push(tokio::spawn(async move {
                    let begun = Instant::now();
                    let result = tokio::time::timeout(timeout, one(address, &request, marker)).await;
                    let (status, complete) = result.unwrap_or((0, false));
                    Outcome {
                        status,
                        complete,
                        latency: begun.elapsed(),
                    }
                }));
            }
        }
        Some(streams) => {
            // Cleartext HTTP/2 with prior knowledge, `streams` requests per
            // connection, as a TLS-terminating proxy (Caddy's `h2c` transport)
            // would carry them.
            let body = Bytes::from(body_bytes);
            let uri: hyper::Uri = url.as_str().parse().unwrap();
            let mut senders = Vec::new();
            for _ in 0..count.div_ceil(streams) {
                let socket = TcpStream::connect(address).await.unwrap();
                let _ = socket.set_nodelay(true);
                let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .handshake(TokioIo::new(socket))
                    .await
                    .unwrap();
                tokio::spawn(connection);
                senders.push(sender);
            }
            for n in 0..count {
                let mut sender = senders[n / streams].clone();
                let mut builder =
                    hyper::Request::post(uri.clone()).header("content-type", "application/json");
                for h in &headers {
                    let (name, value) = h.split_once(':').unwrap();
                    builder = builder.header(name.trim(), value.trim());
                }
                let request = builder.body(Full::new(body.clone())).unwrap();
                tasks.push(tokio::spawn(async move {
                    let begun = Instant::now();
                    let result = tokio::time::timeout(timeout, async move {
                        let Ok(response) = sender.send_request(request).await else {
                            return (0, false);
                        };
                        let status = response.status().as_u16();
                        let bytes = http_body_util::BodyExt::collect(response.into_body())
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        (status, bytes.windows(marker.len()).any(|w| w == marker))
                    })
                    .await;
                    let (status, complete) = result.unwrap_or((0, false));
                    Outcome {
                        status,
                        complete,
                        latency: begun.elapsed(),
                    }
                }));
            }
        }
    }
    let mut outcomes = Vec::with_capacity(count);
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let wall = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak_kib = peak.load(Ordering::Relaxed);

    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ok = outcomes.iter().filter(|o| o.status == 200 && o.complete).count();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for o in &outcomes {
        *statuses.entry(o.status).or_default() += 1;
    }
    eprintln!("statuses (0 = no answer): {statuses:?}");
    let per_request = if count > 0 {
        (peak_kib.saturating_sub(idle_kib)) as f64 / count as f64
    } else {
        0.0
    };
    println!(
        "HELD_RESULT count={count} ok={ok} errors={} p50_ms={} p99_ms={} max_ms={} wall_ms={} idle_kib={idle_kib} peak_kib={peak_kib} per_request_kib={per_request:.1}",
        count - ok,
        at(0.50).as_millis(),
        at(0.99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis(),
        wall.as_millis(),
    );
}

/// One request on its own connection: (status, whether the body was a whole answer).
async fn one(address: SocketAddr, request: &[u8], marker: &[u8]) -> (u16, bool) {
    let Ok(mut socket) = TcpStream::connect(address).await else {
        return (0, false);
    };
    if socket.write_all(request).await.is_err() {
        return (0, false);
    }
    let mut answer = Vec::with_capacity(4096);
    if socket.read_to_end(&mut answer).await.is_err() && answer.is_empty() {
        return (0, false);
    }
    let status = answer
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let complete = answer.windows(marker.len()).any(|w| w == marker);
    (status, complete)
}

/// VmRSS summed over `pids`, in KiB.
fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}
