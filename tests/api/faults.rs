//! Faults of the upstream: it hangs, resets connections, sends half a body,
//! answers garbage, stalls or streams forever. Each ends in the DESIGN.md error
//! within the time bound, and the server keeps serving others meanwhile.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, spawn_app_with},
};

/// A raw TCP "Gemini" that reads a request and then misbehaves.
async fn raw_upstream(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                break;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let _ = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buffer)).await;
                let _ = socket.write_all(answer).await;
                // Then the connection is closed, mid-answer.
                drop(socket);
            });
        }
    });
    url
}

fn chat() -> serde_json::Value {
    json!({"message": "вопрос"})
}

async fn within(bound: Duration, run: impl std::future::Future<Output = Answer>) -> Answer {
    let started = Instant::now();
    let answer = run.await;
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
    answer
}

#[tokio::test]
async fn reset_connections_and_half_bodies_end_as_502_within_the_bound() {
    for answer in [
        &b""[..],
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"candidates\": [",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"candidates\":",
        b"garbage that is not HTTP\r\n\r\n",
    ] {
        let url = raw_upstream(answer).await;
        let app = spawn_app_with(|c| {
            c.gemini_base_url = url.parse().unwrap();
            c.gemini_timeout_seconds = 1;
        })
        .await;
        let answer = within(Duration::from_millis(2600), async {
            Answer::read(app.post_json("/api/chat", &chat()).await).await
        })
        .await;
        answer.assert_error(502, "upstream_error");
        let response = app.client.post(format!("{}/api/chat/stream", app.url)).json(&chat()).send().await.unwrap();
        Answer::read(response).await.assert_error(502, "upstream_error");
    }
}

#[tokio::test]
async fn a_hanging_upstream_is_a_504_and_others_are_served_meanwhile() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 2).await;
    app.fake.always(Reply::ok().delayed(Duration::from_secs(30)));
    let hanging = {
        let client = app.client.clone();
        let url = format!("{}/api/chat", app.url);
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client.post(url).json(&chat()).send().await.unwrap();
            (Answer::read(response).await, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(app.get("/api/health").await.status(), 200);
        assert_eq!(app.get("/").await.status(), 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    let (answer, took) = hanging.await.unwrap();
    answer.assert_error(504, "upstream_timeout");
    assert!(took < Duration::from_millis(4600), "{took:?}");
}

#[tokio::test]
async fn garbage_in_a_200_is_an_upstream_error() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    app.fake.always(Reply::raw(
        200,
        "application/json",
        "{\"candidates\": \"surprise\"}",
    ));
    Answer::read(app.post_json("/api/chat", &chat()).await)
        .await
        .assert_error(502, "upstream_error");
    app.fake.always(Reply::raw(
        200,
        "text/event-stream",
        "data: not json at all\r\n\r\n",
    ));
    let response = app
        .client
        .post(format!("{}/api/chat/stream", app.url))
        .json(&chat())
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_error(502, "upstream_error");
}

/// Reads a whole SSE body, bounded.
async fn read_stream(app: &crate::helpers::TestApp) -> (String, Duration) {
    let started = Instant::now();
    let mut response = app
        .client
        .post(format!("{}/api/chat/stream", app.url))
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), response.chunk())
        .await
        .unwrap()
        .unwrap()
    {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    (body, started.elapsed())
}

#[tokio::test]
async fn a_stream_that_stalls_after_its_first_text_ends_with_a_timeout_event() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    app.fake
        .always(Reply::sse_texts(&["начало ", "никогда"]).paced(Duration::from_secs(30)));
    let (body, took) = read_stream(&app).await;
    assert!(body.contains("event: delta") && body.contains("начало"));
    assert!(
        body.contains("event: error") && body.contains("upstream_timeout"),
        "{body}"
    );
    assert!(!body.contains("никогда"));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_stream_that_never_ends_is_cut_off() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    let endless: Vec<String> = (0..10_000).map(|i| format!("кусок {i} ")).collect();
    let mut reply = Reply::sse_texts(&endless.iter().map(String::as_str).collect::<Vec<_>>());
    reply.chunks.pop();
    app.fake.always(reply.paced(Duration::from_millis(20)));
    let (body, took) = read_stream(&app).await;
    assert!(
        body.contains("event: error") && body.contains("upstream_timeout"),
        "{}",
        &body[body.len().saturating_sub(300)..]
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(app.get("/api/health").await.status() == 200);
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_block_others() {
    let app = spawn_app_with(|c| {
        c.request_timeout_seconds = 1;
        c.gemini_timeout_seconds = 1;
    })
    .await;
    // A body that trickles in: 408 once the body timeout passes.
    let mut trickle = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST /api/chat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        app.address
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickler = tokio::spawn(async move {
        let mut answer = Vec::new();
        for _ in 0..20 {
            if trickle.write_all(b" ").await.is_err() {
                break;
            }
            let mut buffer = [0u8; 4096];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(300), trickle.read(&mut buffer)).await
            {
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    // Slowloris: many connections that send headers a byte at a time.
    let mut loris = Vec::new();
    for _ in 0..200 {
        let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
        socket
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        loris.push(socket);
    }
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(app.get("/api/health").await.status(), 200);
        assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
        for socket in &mut loris {
            let _ = socket.write_all(b"a").await;
        }
    }
    let answer = trickler.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // The slowloris connections never finished their heads: they were closed.
    let mut buffer = [0u8; 64];
    let mut closed = 0;
    for socket in &mut loris {
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await
        {
            closed += 1;
        }
    }
    assert_eq!(closed, loris.len(), "slowloris connections still open");

    // A head that stops half-way is cut off after the request timeout (1 s).
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(app.address).await.unwrap();
    silent
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the silent connection was not closed: {closed:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection serves a second request after a pause shorter than the bound.
    let mut kept = tokio::net::TcpStream::connect(app.address).await.unwrap();
    for _ in 0..2 {
        kept.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut kept).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body.
async fn read_response(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early");
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn an_h2c_stream_outlasts_the_head_deadline() {
    // A reverse proxy speaking cleartext HTTP/2 with prior knowledge: its
    // connection has no HTTP/1 heads, so the 1 s head deadline must not cut it.
    let app = spawn_app_with(|c| c.request_timeout_seconds = 1).await;
    app.fake
        .script([Reply::sse_texts(&["one ", "two ", "three ", "four"]).paced(Duration::from_millis(800))]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let session = client
        .post(format!("{}/api/session", app.url))
        .json(&json!({"accessCode": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.version(), reqwest::Version::HTTP_2);
    assert!(session.status().is_success(), "{}", session.status());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let started = Instant::now();
    let response = client
        .post(format!("{}/api/chat/stream", app.url))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        body.contains("four") && body.contains("event: done"),
        "the stream was cut: {body}"
    );
    // The same connection still serves, long after the head deadline.
    let health = client
        .get(format!("{}/api/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
}
