//! Gemini over TLS: the client negotiates HTTP/2 by ALPN (as with Google), trusts
//! `WELD_GEMINI_CA_FILE`, and spreads a crowd of waiting calls over more
//! connections than one, past a server's limit of concurrent streams.

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;

use crate::{
    helpers::{Answer, CANARY_KEY, HANG_LIMIT, assert_no_leak, bounded, spawn_app_with},
    tls,
};

const TLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gemini/generate_response_ok.json"
);

/// What the TLS fake saw.
#[derive(Default)]
struct Seen {
    /// ALPN protocol of every TLS connection, in order.
    alpn: Mutex<Vec<Option<Vec<u8>>>>,
    /// (HTTP version, key header) of every call.
    calls: Mutex<Vec<(hyper::Version, Option<String>)>>,
    held: AtomicUsize,
    max_held: AtomicUsize,
}

/// A TLS fake Gemini (HTTP/2 and HTTP/1.1 by ALPN) answering every call with
/// the recorded answer after `delay`, allowing `max_streams` per connection.
async fn tls_fake(delay: Duration, max_streams: u32) -> (String, Arc<Seen>) {
    let acceptor = tls::acceptor(&format!("{TLS}/server.pem"), &format!("{TLS}/server.key"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Seen::default());
    let answer = Bytes::from(std::fs::read(FIXTURE).unwrap());
    let shared = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, seen, answer) = (acceptor.clone(), shared.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(socket).await else {
                    return;
                };
                seen.alpn
                    .lock()
                    .unwrap()
                    .push(stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec));
                let service = service_fn(move |req: Request<Incoming>| {
                    let (seen, answer) = (seen.clone(), answer.clone());
                    async move {
                        let key = req
                            .headers()
                            .get("x-goog-api-key")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        seen.calls.lock().unwrap().push((req.version(), key));
                        let _ = req.into_body().collect().await;
                        let held = seen.held.fetch_add(1, Ordering::SeqCst) + 1;
                        seen.max_held.fetch_max(held, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        seen.held.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/json; charset=UTF-8")
                                .body(Full::new(answer))
                                .unwrap(),
                        )
                    }
                });
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().max_concurrent_streams(max_streams);
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (url, seen)
}

fn chat() -> serde_json::Value {
    json!({"message": "Какой электрод для 09Г2С?"})
}

#[tokio::test]
async fn gemini_over_tls_is_spoken_in_http2_negotiated_by_alpn() {
    let (url, seen) = tls_fake(Duration::ZERO, 100).await;
    let app = spawn_app_with(|c| {
        c.gemini_base_url = url.parse().unwrap();
        c.gemini_ca_file = Some(format!("{TLS}/ca.pem"));
    })
    .await;
    let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(!answer.json()["text"].as_str().unwrap().is_empty());
    let calls = seen.calls.lock().unwrap().clone();
    assert!(!calls.is_empty());
    assert!(
        calls
            .iter()
            .all(|(version, key)| *version == hyper::Version::HTTP_2 && key.as_deref() == Some(CANARY_KEY)),
        "{calls:?}"
    );
    let alpn = seen.alpn.lock().unwrap().clone();
    assert!(alpn.iter().all(|p| p.as_deref() == Some(&b"h2"[..])), "{alpn:?}");
}

#[tokio::test]
async fn without_the_ca_file_a_private_certificate_is_refused() {
    let (url, seen) = tls_fake(Duration::ZERO, 100).await;
    let app = spawn_app_with(|c| c.gemini_base_url = url.parse().unwrap()).await;
    let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
    answer.assert_error(502, "upstream_error");
    assert_no_leak(&answer.headers, &answer.text);
    assert!(
        !answer.text.contains("certificate") && !answer.text.contains(&url),
        "{}",
        answer.text
    );
    assert!(seen.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_crowd_of_waiting_calls_is_spread_past_the_stream_limit() {
    // 300 calls held 1 s each by a server allowing 100 streams per connection:
    // on one connection two thirds would wait in line; spread, they are held at once.
    let (url, seen) = tls_fake(Duration::from_secs(1), 100).await;
    let app = spawn_app_with(|c| {
        c.gemini_base_url = url.parse().unwrap();
        c.gemini_ca_file = Some(format!("{TLS}/ca.pem"));
    })
    .await;
    let calls = (0..300).map(|_| {
        let app = &app;
        async move { app.post_json("/api/chat", &chat()).await.status().as_u16() }
    });
    let statuses = bounded(
        "300 held chats",
        HANG_LIMIT,
        futures_util::future::join_all(calls),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let max_held = seen.max_held.load(Ordering::SeqCst);
    let connections = seen.alpn.lock().unwrap().len();
    assert!(max_held > 200, "at most {max_held} calls were held at once");
    assert!((3..=8).contains(&connections), "{connections} connections");
}
