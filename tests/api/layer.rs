//! The connection layer the server owns: head timeouts, keep-alive, pipelining,
//! HTTP/2's stream limit, the worker threads with their own listening sockets,
//! and a shutdown that lets requests in flight on every worker finish.

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    fake_gemini::{Gate, Reply},
    helpers::{HANG_LIMIT, TestApp, bounded, read_response, spawn_app_with},
};

const TOKEN: &str = "layer-token";

/// Waits until the server closes `socket` (EOF or reset) and says how long that took.
async fn closed_within(socket: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 256];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), socket.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

fn chat_request(address: SocketAddr) -> String {
    let body = json!({"message": "вопрос"}).to_string();
    format!(
        "POST /api/chat HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nX-Proxy-Token: {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `weld_<name>_total{worker="…"}` values from `/metrics`, by worker.
async fn per_worker(app: &TestApp, name: &str) -> HashMap<String, f64> {
    let text = app.get("/metrics").await.text().await.unwrap();
    let prefix = format!("weld_{name}{{worker=\"");
    text.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (worker, value) = rest.split_once("\"} ")?;
            Some((worker.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_head_timeout() {
    let app = spawn_app_with(|c| c.request_timeout_seconds = 1).await;
    let mut silent = TcpStream::connect(app.address).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(10))
        .await
        .expect("a silent connection stayed open past 10 s");
    // Not at once: the client had its second to start.
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
}

#[tokio::test]
async fn an_http2_preface_that_stops_half_way_is_closed_after_the_head_timeout() {
    let app = spawn_app_with(|c| c.request_timeout_seconds = 1).await;
    let mut half = TcpStream::connect(app.address).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let took = closed_within(&mut half, Duration::from_secs(10))
        .await
        .expect("a half HTTP/2 preface held its connection past 10 s");
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
}

#[tokio::test]
async fn keep_alive_serves_request_after_request_and_close_is_honoured() {
    let app = spawn_app_with(|_| {}).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    for _ in 0..5 {
        socket
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut socket).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    socket
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let last = read_response(&mut socket).await;
    assert!(last.starts_with("HTTP/1.1 200"), "{last}");
    assert!(last.to_ascii_lowercase().contains("connection: close"), "{last}");
    assert!(
        closed_within(&mut socket, HANG_LIMIT).await.is_some(),
        "the connection stayed open after `Connection: close`"
    );
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let app = spawn_app_with(|_| {}).await;
    let mut socket = TcpStream::connect(app.address).await.unwrap();
    socket
        .write_all(
            b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut all = Vec::new();
    bounded("two pipelined answers", HANG_LIMIT, socket.read_to_end(&mut all))
        .await
        .unwrap();
    let all = String::from_utf8_lossy(&all);
    let first = all.find("HTTP/1.1 200").expect("the first answer");
    let second = all.find("HTTP/1.1 404").expect("the second answer");
    assert!(first < second, "{all}");
}

#[tokio::test]
async fn http2_advertises_its_stream_limit_and_a_crowd_on_one_connection_is_served() {
    let app = spawn_app_with(|c| c.api_tokens = vec![TOKEN.into()]).await;
    // The limit, as the server's SETTINGS frame says it.
    let tcp = TcpStream::connect(app.address).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let client = bounded("the HTTP/2 handshake", HANG_LIMIT, client.ready())
        .await
        .unwrap();
    // Until the server's SETTINGS arrive, the client assumes no limit.
    let settled = async {
        while client.current_max_send_streams() == usize::MAX {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    bounded("the server's SETTINGS", HANG_LIMIT, settled).await;
    assert_eq!(client.current_max_send_streams(), 128);

    // 300 questions on one connection, each waiting for a slow Gemini: more than
    // the limit at once, so the client queues the rest; every one is answered.
    app.fake.always(Reply::ok().delayed(Duration::from_millis(300)));
    let http2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let asks = (0..300).map(|_| {
        let http2 = http2.clone();
        let url = format!("{}/api/chat", app.url);
        async move {
            let response = http2
                .post(url)
                .header("x-proxy-token", TOKEN)
                .json(&json!({"message": "вопрос"}))
                .send()
                .await
                .unwrap();
            (response.version(), response.status().as_u16())
        }
    });
    let answers = bounded(
        "300 questions over HTTP/2",
        Duration::from_secs(60),
        futures_util::future::join_all(asks),
    )
    .await;
    assert!(answers.iter().all(|(v, _)| *v == reqwest::Version::HTTP_2));
    let ok = answers.iter().filter(|(_, s)| *s == 200).count();
    assert_eq!(
        ok,
        300,
        "{:?}",
        answers
            .iter()
            .filter(|(_, s)| *s != 200)
            .take(3)
            .collect::<Vec<_>>()
    );
    assert_eq!(app.fake.received().len(), 300);
}

#[tokio::test]
async fn every_worker_accepts_connections() {
    let app = spawn_app_with(|c| {
        c.workers = Some(2);
        c.metrics = true;
    })
    .await;
    for _ in 0..64 {
        let mut socket = TcpStream::connect(app.address).await.unwrap();
        socket
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut socket).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let accepted = per_worker(&app, "connections_accepted_total").await;
    let total: f64 = accepted.values().sum();
    assert!(total >= 64.0, "{accepted:?}");
    // The kernel spreads connections over both sockets (by the source port's
    // hash): 64 connections all on one of two has a chance of 2^-63.
    for worker in ["0", "1"] {
        assert!(
            accepted.get(worker).copied().unwrap_or(0.0) >= 1.0,
            "{accepted:?}"
        );
    }
}

#[tokio::test]
async fn one_shared_runtime_serves_too() {
    let app = spawn_app_with(|c| {
        c.workers = Some(0);
        c.metrics = true;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(app.get("/api/health").await.status(), 200);
    }
    let accepted = per_worker(&app, "connections_accepted_total").await;
    assert!(
        accepted.get("shared").copied().unwrap_or(0.0) >= 1.0,
        "{accepted:?}"
    );
    assert!(!accepted.contains_key("0"), "{accepted:?}");
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_on_every_worker_finish() {
    let mut app = spawn_app_with(|c| {
        c.workers = Some(2);
        c.metrics = true;
        c.api_tokens = vec![TOKEN.into()];
    })
    .await;
    let gate = Gate::new();
    app.fake.always(Reply::ok().held(&gate));
    let count = 24;
    let mut sockets = Vec::new();
    for _ in 0..count {
        let mut socket = TcpStream::connect(app.address).await.unwrap();
        socket
            .write_all(chat_request(app.address).as_bytes())
            .await
            .unwrap();
        sockets.push(socket);
    }
    let waiting = async {
        while app.fake.received().len() < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    bounded("every question reaches Gemini", HANG_LIMIT, waiting).await;
    // Both workers hold some of them.
    let open = per_worker(&app, "connections_open").await;
    for worker in ["0", "1"] {
        assert!(open.get(worker).copied().unwrap_or(0.0) >= 1.0, "{open:?}");
    }

    app.shut_down();
    // The listeners close at once: a new connection is refused or closed unanswered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(mut late) = TcpStream::connect(app.address).await {
        let _ = late
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(2), late.read(&mut buffer)).await;
        assert!(
            !matches!(read, Ok(Ok(n)) if n > 0),
            "a connection made after shutdown was served"
        );
    }
    // The questions in flight still get their answers.
    gate.open();
    for socket in &mut sockets {
        let answer = read_response(socket).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"text\""), "{answer}");
    }
}
