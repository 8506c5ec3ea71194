//! Stream relay latency: how long a chunk spends inside weld-assistant.
//!
//! Runs its own fake Gemini on 127.0.0.1 whose `streamGenerateContent?alt=sse`
//! sends CRLF-framed chunks every 20–50 ms, each text carrying a sequence number
//! `<n>`; the fake notes the instant it hands chunk `n` to the socket writer. The
//! client notes the instant the bytes holding `<n>` arrive. The baseline reads
//! the fake directly; the measured path reads `POST /api/chat/stream` of the
//! release binary pointed at the same fake. Added time per chunk =
//! (fake → weld-assistant → client) − (fake → client), compared at p50 and p99.
//! Rounds alternate between the two paths so drift on a shared machine hits both.
//!
//! ```text
//! cargo build --release --locked --example relay_latency
//! target/release/examples/relay_latency target/release/weld-assistant [streams] [chunks] [rounds]
//! ```
//! Prints a summary and one `RELAY_RESULT key=value …` line (µs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::{Method, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

struct Fake {
    sent: Mutex<HashMap<u64, Instant>>,
    next: AtomicU64,
    chunks: usize,
}

#[handler]
async fn answer(req: &Request, fake: Data<&Arc<Fake>>) -> Response {
    if req.method() == Method::GET {
        // The start-up probe.
        return Response::builder()
            .content_type("application/json; charset=UTF-8")
            .body(r#"{"name": "models/gemini-flash-latest"}"#);
    }
    if !req.uri().path().ends_with(":streamGenerateContent") {
        return Response::builder().status(StatusCode::NOT_FOUND).finish();
    }
    let fake = (*fake).clone();
    let n = fake.chunks;
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let fake = fake.clone();
        async move {
            if i == n {
                return None;
            }
            let ms = rand::random_range(20..=50u64);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let id = fake.next.fetch_add(1, Ordering::Relaxed);
            let finish = if i + 1 == n {
                r#","finishReason": "STOP""#
            } else {
                ""
            };
            let chunk = format!(
                "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"<{id}> Для стали 09Г2С \"}}],\"role\": \"model\"}}{finish},\"index\": 0}}],\"usageMetadata\": {{\"promptTokenCount\": 20,\"candidatesTokenCount\": {c},\"totalTokenCount\": {t}}},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"benchRelay00000000000000\"}}\r\n\r\n",
                c = i + 1,
                t = 21 + i
            );
            fake.sent.lock().unwrap().insert(id, Instant::now());
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), i + 1))
        }
    });
    Response::builder()
        .content_type("text/event-stream")
        .body(Body::from_bytes_stream(stream))
}

/// Reads one stream, returning (latency per chunk, chunks seen).
async fn read_stream(
    fake: &Fake,
    response: reqwest::Response,
    out: &mut Vec<Duration>,
) -> Result<(), String> {
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.bytes_stream();
    let mut carry: Vec<u8> = Vec::new();
    while let Some(piece) = body.next().await {
        let now = Instant::now();
        let piece = piece.map_err(|e| e.to_string())?;
        carry.extend_from_slice(&piece);
        let mut keep_from = 0;
        let mut i = 0;
        while let Some(open) = carry[i..].iter().position(|&b| b == b'<') {
            let open = i + open;
            let Some(close) = carry[open..].iter().position(|&b| b == b'>') else {
                keep_from = open;
                break;
            };
            let close = open + close;
            if let Some(id) = std::str::from_utf8(&carry[open + 1..close])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                let sent = fake.sent.lock().unwrap().remove(&id);
                if let Some(sent) = sent {
                    out.push(now.saturating_duration_since(sent));
                }
            }
            i = close + 1;
            keep_from = i;
        }
        if keep_from == 0 && !carry.contains(&b'<') {
            keep_from = carry.len();
        }
        carry.drain(..keep_from);
    }
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[idx].as_micros()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .unwrap_or_else(|| "target/release/weld-assistant".into());
    let streams: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(4);
    let chunks: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(25);
    let rounds: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(8);

    let fake = Arc::new(Fake {
        sent: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
        chunks,
    });
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind the fake");
    let fake_addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let app = Route::new().at("/*path", answer).data(fake.clone());
    tokio::spawn(async move {
        let _ = Server::new_with_acceptor(acceptor).run(app).await;
    });
    let fake_url = format!("http://{fake_addr}");

    let port = free_port();
    let mut child = Command::new(&binary)
        .env_clear()
        .env("WELD_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEMINI_API_KEY", "bench-key")
        .env("WELD_GEMINI_BASE_URL", &fake_url)
        .env("WELD_API_TOKENS", "bench-token")
        .env("WELD_RATE_LIMIT_PER_MINUTE", "100000")
        .env("WELD_RATE_LIMIT_BURST", "100000")
        .env("WELD_GEMINI_FALLBACK_MODELS", "")
        .env("WELD_COOKIE_SECURE", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the server");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(streams)
        .build()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server did not become healthy within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut direct = Vec::new();
    let mut via = Vec::new();
    let mut errors = 0usize;
    for _round in 0..rounds {
        for through_server in [false, true] {
            let mut tasks = Vec::new();
            for _ in 0..streams {
                let client = client.clone();
                let fake = fake.clone();
                let (fake_url, base) = (fake_url.clone(), base.clone());
                tasks.push(tokio::spawn(async move {
                    let request = if through_server {
                        client
                            .post(format!("{base}/api/chat/stream"))
                            .header("x-proxy-token", "bench-token")
                            .json(&serde_json::json!({"message": "Какой электрод для 09Г2С?"}))
                    } else {
                        client
                            .post(format!(
                                "{fake_url}/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse"
                            ))
                            .header("x-goog-api-key", "bench-key")
                            .json(&serde_json::json!({"contents": []}))
                    };
                    let mut out = Vec::new();
                    let result = match request.send().await {
                        Ok(response) => read_stream(&fake, response, &mut out).await,
                        Err(e) => Err(e.to_string()),
                    };
                    (out, result)
                }));
            }
            for task in tasks {
                let (out, result) = task.await.unwrap();
                if let Err(e) = result {
                    eprintln!("relay_latency: stream failed: {e}");
                    errors += 1;
                }
                if through_server { &mut via } else { &mut direct }.extend(out);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    direct.sort();
    via.sort();
    let expected = rounds * streams * chunks;
    if direct.len() < expected || via.len() < expected {
        eprintln!(
            "relay_latency: chunks seen: direct {}/{expected}, via server {}/{expected}",
            direct.len(),
            via.len()
        );
        errors += expected * 2 - direct.len().min(expected) - via.len().min(expected);
    }
    let (d50, d99, v50, v99) = (
        pct(&direct, 50.0),
        pct(&direct, 99.0),
        pct(&via, 50.0),
        pct(&via, 99.0),
    );
    println!("relay: {streams} concurrent streams × {chunks} chunks × {rounds} rounds; chunk every 20–50 ms");
    println!("direct (fake → client):               p50 {d50} µs, p99 {d99} µs");
    println!("via weld-assistant (fake → server → client): p50 {v50} µs, p99 {v99} µs");
    println!(
        "added by weld-assistant: p50 {} µs, p99 {} µs",
        v50 as i128 - d50 as i128,
        v99 as i128 - d99 as i128
    );
    println!(
        "RELAY_RESULT chunks={} direct_p50_us={d50} direct_p99_us={d99} via_p50_us={v50} via_p99_us={v99} added_p50_us={} added_p99_us={} errors={errors}",
        via.len(),
        v50 as i128 - d50 as i128,
        v99 as i128 - d99 as i128
    );
}
