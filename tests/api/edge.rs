//! The HTTP edge over a raw TCP socket: request heads over our limits get 414 and
//! 431 from our middleware, with the security headers (hyper answers longer ones
//! itself, bare: see `src/http/security.rs`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::spawn_app;

/// Sends raw bytes, reads the answer until the server closes or it is complete.
async fn exchange(address: std::net::SocketAddr, request: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buf = [0u8; 8192];
        loop {
            let n = socket.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if head_and_body_complete(&answer) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 30 s");
    String::from_utf8_lossy(&answer).into_owned()
}

fn head_and_body_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse::<usize>().ok());
    length.is_some_and(|n| body.len() >= n)
}

fn assert_security_headers(answer: &str) {
    let head = answer.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "x-frame-options: deny",
    ] {
        assert!(head.contains(header), "{header} missing:\n{head}");
    }
}

#[tokio::test]
async fn a_long_request_target_gets_414_with_the_security_headers() {
    let app = spawn_app().await;
    for (path, json) in [("/chat", false), ("/api/health", true)] {
        let long = format!("{path}?q={}", "a".repeat(9 * 1024));
        let request = format!("GET {long} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let answer = exchange(app.address, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 414 "), "{path}: {answer}");
        assert_security_headers(&answer);
        if json {
            let body = answer.split_once("\r\n\r\n").unwrap().1;
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(value["code"].is_string() && value["error"].is_string(), "{body}");
        }
    }
    // Just under the limit is an ordinary request.
    let fine = format!(
        "GET /chat?q={} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "a".repeat(7 * 1024)
    );
    let answer = exchange(app.address, fine.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 200 "),
        "{}",
        &answer[..answer.len().min(200)]
    );
}

#[tokio::test]
async fn large_headers_get_431_with_the_security_headers() {
    let app = spawn_app().await;
    let mut request = String::from("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for i in 0..8 {
        request.push_str(&format!("x-filler-{i}: {}\r\n", "b".repeat(5 * 1024)));
    }
    request.push_str("\r\n");
    let answer = exchange(app.address, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_security_headers(&answer);
}
