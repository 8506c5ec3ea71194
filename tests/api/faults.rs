//! Faults of the upstream: it hangs, resets connections, sends half a body,
//! answers garbage, stalls or streams forever. Each ends in the documented error
//! within the time bound, and the server keeps serving others meanwhile.
//!
//! Time bounds here are 10× the configured one (a busy 2-core machine must not fail
//! them), and the fake's misbehaviour lasts longer than that, so a server without
//! the bound still fails.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, HANG_LIMIT, TestApp, bounded, read_response, spawn_app_with},
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

/// POSTs a chat stream and returns its JSON error (when it failed before the first
/// text) as an [`Answer`].
async fn post_stream(app: &TestApp) -> Answer {
    Answer::read(app.post_json("/api/chat/stream", &chat()).await).await
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
        // The bound is twice the 1 s timeout.
        let answer = within(Duration::from_secs(20), async {
            Answer::read(app.post_json("/api/chat", &chat()).await).await
        })
        .await;
        answer.assert_error(502, "upstream_error");
        post_stream(&app).await.assert_error(502, "upstream_error");
    }
}

#[tokio::test]
async fn a_hanging_upstream_is_a_504_and_others_are_served_meanwhile() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 3).await;
    // Gemini would answer (200) after two minutes: only the bound makes it a 504.
    app.fake.always(Reply::ok().delayed(Duration::from_secs(120)));
    let hanging = {
        let client = app.client.clone();
        let url = format!("{}/api/chat", app.url);
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client.post(url).json(&chat()).send().await.unwrap();
            (Answer::read(response).await, started.elapsed())
        })
    };
    bounded("the chat reaches Gemini", HANG_LIMIT, async {
        while app.fake.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // Others are answered while the hanging request is still waiting (its bound is
    // 2 × 3 s: ten local requests take a fraction of that even on a busy machine).
    for _ in 0..5 {
        assert_eq!(app.get("/api/health").await.status(), 200);
        assert_eq!(app.get("/").await.status(), 200);
    }
    assert!(
        !hanging.is_finished(),
        "the others were only served after the hanging request ended"
    );
    let (answer, took) = hanging.await.unwrap();
    answer.assert_error(504, "upstream_timeout");
    assert!(took < Duration::from_secs(60), "{took:?}");
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
    post_stream(&app).await.assert_error(502, "upstream_error");
}

#[tokio::test]
async fn a_stream_that_stalls_after_its_first_text_ends_with_a_timeout_event() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    // The second piece would come after a minute.
    app.fake
        .always(Reply::sse_texts(&["начало ", "никогда"]).paced(Duration::from_secs(60)));
    let started = Instant::now();
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    let took = started.elapsed();
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert_eq!(streamed.names(), ["delta", "error"], "{}", streamed.body);
    assert_eq!(streamed.text(), "начало ");
    assert_eq!(streamed.event("error").data["code"], "upstream_timeout");
    // The bound for a silent stream is the 1 s timeout; 10× that is slack.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_stream_that_never_ends_is_cut_off() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    // Ten thousand pieces 20 ms apart: over three minutes of text.
    let endless: Vec<String> = (0..10_000).map(|i| format!("кусок {i} ")).collect();
    let mut reply = Reply::sse_texts(&endless.iter().map(String::as_str).collect::<Vec<_>>());
    reply.chunks.pop();
    app.fake.always(reply.paced(Duration::from_millis(20)));
    let streamed = bounded(
        "a never-ending stream is cut off",
        Duration::from_secs(60),
        app.stream("/api/chat/stream", &chat()),
    )
    .await;
    let names = streamed.names();
    assert_eq!(
        names.last(),
        Some(&"error"),
        "{}",
        &streamed.body[streamed.body.len().saturating_sub(300)..]
    );
    assert_eq!(streamed.event("error").data["code"], "upstream_timeout");
    // A stream may last five timeouts (5 s): at 20 ms a piece, at most 250 pieces
    // (a slower machine relays fewer, never more). 10 s is the wide margin.
    let deltas = names.iter().filter(|n| **n == "delta").count();
    assert!((1..=500).contains(&deltas), "{deltas} pieces relayed");
    assert!(app.get("/api/health").await.status() == 200);
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_block_others() {
    // A 1 s request timeout; the Gemini timeout is long so that the connection idle
    // timeout (twice it, plus 5 s) cannot be what closes the slow connections.
    let app = spawn_app_with(|c| {
        c.request_timeout_seconds = 1;
        c.gemini_timeout_seconds = 30;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    // A body that trickles in: 408 once the body timeout passes.
    let mut trickle = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST /api/chat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Proxy-Token: t\r\nContent-Length: 100\r\n\r\n",
        app.address
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let trickler = tokio::spawn(async move {
        let mut answer = Vec::new();
        // At most 60 of the 100 bytes, over at least 18 s: the body never completes.
        for _ in 0..60 {
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
    // Others are served meanwhile (a server held up by them would hang here).
    for _ in 0..5 {
        let health = bounded("health beside slow clients", HANG_LIMIT, app.get("/api/health")).await;
        assert_eq!(health.status(), 200);
        for socket in &mut loris {
            let _ = socket.write_all(b"a").await;
        }
    }
    let answer = bounded("the trickled body's answer", HANG_LIMIT, trickler)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");

    // The slowloris connections never finished their heads: they were closed
    // (well before the 65 s HTTP/2 idle timeout could have done it).
    let mut buffer = [0u8; 64];
    let deadline = Instant::now() + HANG_LIMIT;
    let mut closed = 0;
    for socket in &mut loris {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(left, socket.read(&mut buffer)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, loris.len(), "slowloris connections still open");

    // A head that stops half-way is cut off after the request timeout (1 s), not
    // any idle bound; 10 s is the slack.
    let mut silent = tokio::net::TcpStream::connect(app.address).await.unwrap();
    silent
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the silent connection was not closed: {closed:?}"
    );

    // A keep-alive connection serves its next request after a pause shorter than
    // the request timeout; one that waits longer for its next request is closed
    // (hyper's header read timeout runs from the end of the last response).
    let mut kept = tokio::net::TcpStream::connect(app.address).await.unwrap();
    for pause in [300, 0] {
        kept.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut kept).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), kept.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the idle keep-alive connection was not closed: {closed:?}"
    );
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
