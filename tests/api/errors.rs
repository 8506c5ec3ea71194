//! Every error path ends in the flat JSON of docs/api.md with the right status and code,
//! and none carries the key.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, raw_request, spawn_app, spawn_app_with},
};

fn chat_body() -> serde_json::Value {
    json!({"message": "Какой газ для MAG?"})
}

#[tokio::test]
async fn every_upstream_fixture_maps_to_its_design_status_and_code() {
    let cases = [
        (
            Reply::json(400, "error_400_location.json"),
            502,
            "upstream_region",
        ),
        (
            Reply::json(400, "error_400_api_key_invalid.json"),
            502,
            "upstream_auth",
        ),
        (Reply::json(403, "error_403_bad_key.json"), 502, "upstream_auth"),
        (Reply::json(403, "error_403_no_key.json"), 502, "upstream_auth"),
        (Reply::json(404, "error_404_model.json"), 502, "upstream_error"),
        (Reply::json(429, "error_429_quota.json"), 503, "upstream_quota"),
        (
            Reply::json(500, "error_500_internal.json"),
            503,
            "upstream_unavailable",
        ),
        (
            Reply::json(503, "error_503_overloaded.json"),
            503,
            "upstream_unavailable",
        ),
        (
            Reply::json(200, "generate_response_safety_blocked_prompt.json"),
            422,
            "content_blocked",
        ),
        (
            Reply::json(200, "generate_response_safety_blocked_prompt_with_ratings.json"),
            422,
            "content_blocked",
        ),
        (
            Reply::json(200, "generate_response_finish_safety.json"),
            422,
            "content_blocked",
        ),
        (
            Reply::json(200, "generate_response_max_tokens_empty.json"),
            502,
            "upstream_error",
        ),
        (
            Reply::raw(200, "application/json", "this is not json"),
            502,
            "upstream_error",
        ),
        (
            Reply::raw(502, "text/html", "<html>Bad Gateway</html>"),
            503,
            "upstream_unavailable",
        ),
        (
            Reply::raw(
                504,
                "application/json",
                r#"{"error":{"code":504,"message":"x","status":"DEADLINE_EXCEEDED"}}"#,
            ),
            504,
            "upstream_timeout",
        ),
        (
            Reply::raw(
                400,
                "application/json",
                r#"{"error":{"code":400,"message":"Please use a valid role: user, model.","status":"INVALID_ARGUMENT"}}"#,
            ),
            502,
            "upstream_error",
        ),
    ];
    for (reply, status, code) in cases {
        // No fallback model and a short timeout: this is about the mapping, not
        // failover. A fresh server per case, and a short bound on the quota line:
        // a 429 that outlasts the bound (the fixture's 38 s) is refused at once.
        let app = spawn_app_with(|c| {
            c.gemini_fallback_models = vec![];
            c.gemini_timeout_seconds = 1;
            c.queue_max_wait_seconds = 5;
        })
        .await;
        let upstream_body = String::from_utf8(reply.chunks[0].clone()).unwrap();
        app.fake.always(reply);
        let answer = Answer::read(app.post_json("/api/chat", &chat_body()).await).await;
        let json = answer.assert_error(status, code);
        if status >= 500 {
            // 5xx bodies never carry upstream text.
            if let Ok(upstream) = serde_json::from_str::<serde_json::Value>(&upstream_body) {
                if let Some(message) = upstream["error"]["message"].as_str() {
                    assert!(
                        !answer.text.contains(message),
                        "upstream text leaked: {}",
                        answer.text
                    );
                }
            }
        }
        if code == "upstream_error" && upstream_body.contains("is not found") {
            assert!(
                json["error"].as_str().unwrap().contains("gemini-flash-latest"),
                "names the model"
            );
        }
        if code == "upstream_quota" {
            assert_eq!(json["retryAfterSeconds"], 38);
            assert_eq!(answer.headers["retry-after"], "38");
        }
    }
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_within_the_bound() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 1).await;
    // Gemini would answer (200) after a minute: a 504 means the bound cut it off.
    app.fake.always(Reply::ok().delayed(Duration::from_secs(60)));
    let started = Instant::now();
    let answer = Answer::read(app.post_json("/api/chat", &chat_body()).await).await;
    answer.assert_error(504, "upstream_timeout");
    // The bound is twice the 1 s timeout; 10× that is slack for a busy machine.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502() {
    let app = spawn_app_with(|c| c.gemini_base_url = "http://127.0.0.1:9".parse().unwrap()).await;
    Answer::read(app.post_json("/api/chat", &chat_body()).await)
        .await
        .assert_error(502, "upstream_error");
}

#[tokio::test]
async fn without_a_key_the_server_serves_but_ai_endpoints_answer_503() {
    let app = spawn_app_with(|c| c.gemini_api_key = None).await;
    let health = Answer::read(app.get("/api/health").await).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["geminiConfigured"], false);
    Answer::read(app.post_json("/api/chat", &chat_body()).await)
        .await
        .assert_error(503, "gemini_not_configured");
    let body = json!({"base64Image": crate::helpers::PNG_1X1_BASE64, "mimeType": "image/png"});
    Answer::read(app.post_json("/api/analyze", &body).await)
        .await
        .assert_error(503, "gemini_not_configured");
    assert!(app.fake.received().is_empty());
    assert_eq!(app.get("/openapi.json").await.status(), 200);
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), "message"),
        (json!({"message": ""}), "message"),
        (json!({"message": "   "}), "message"),
        (json!({"message": "x".repeat(20_001)}), "message"),
        (
            json!({"message": "hi", "history": [{"role": "assistant", "text": "x"}]}),
            "role",
        ),
        (
            json!({"message": "hi", "history": [{"role": "user"}]}),
            "history[0]",
        ),
        (json!({"message": "hi", "history": "nope"}), "history"),
        (json!({"message": "hi", "language": "de"}), "language"),
    ];
    for (body, field) in cases {
        let answer = Answer::read(app.post_json("/api/chat", &body).await).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let json = answer.assert_error(400, "invalid_request");
        assert!(
            json["error"].as_str().unwrap().contains(field),
            "{field} not named: {}",
            answer.text
        );
    }
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn broken_json_and_a_wrong_content_type_are_json_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            Some("application/json"),
            "{\"message\": \"unterminated",
            400,
            "invalid_request",
        ),
        (Some("text/plain"), "hello", 415, "unsupported_media_type"),
        (None, "{}", 415, "unsupported_media_type"),
    ];
    for (content_type, body, status, code) in cases {
        Answer::read(app.post_body("/api/chat", content_type, body).await)
            .await
            .assert_error(status, code);
    }
}

#[tokio::test]
async fn unknown_api_paths_and_methods_are_json_404_and_405() {
    let app = spawn_app().await;
    Answer::read(app.get("/api/nope").await)
        .await
        .assert_error(404, "not_found");
    Answer::read(app.post_json("/api/chat/extra", &chat_body()).await)
        .await
        .assert_error(404, "not_found");
    Answer::read(app.get("/api/chat").await)
        .await
        .assert_error(405, "method_not_allowed");
    let response = app
        .client
        .delete(format!("{}/api/health", app.url))
        .send()
        .await
        .unwrap();
    Answer::read(response)
        .await
        .assert_error(405, "method_not_allowed");
    Answer::read(app.get("/metrics").await)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_body_declared_over_the_limit_is_refused_before_it_is_sent() {
    let app = spawn_app_with(|c| {
        c.max_chat_bytes = 4096;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    // Only the head: the server must answer without waiting for 100 MB (which never
    // comes: a server that waits is a hang, and `raw_request` fails on hangs).
    let head = format!(
        "POST /api/chat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\nX-Proxy-Token: t\r\nConnection: close\r\n\r\n",
        app.address
    );
    let response = raw_request(app.address, &head, b"").await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"code\":\"payload_too_large\""), "{response}");

    let big = serde_json::to_vec(&json!({"message": "x".repeat(5000)})).unwrap();
    let answer = Answer::read(app.post_body("/api/chat", Some("application/json"), big).await).await;
    answer.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn a_chunked_body_is_cut_off_at_the_limit() {
    let app = spawn_app_with(|c| {
        c.max_chat_bytes = 4096;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    let head = format!(
        "POST /api/chat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Proxy-Token: t\r\nConnection: close\r\n\r\n",
        app.address
    );
    let chunk = format!("{:x}\r\n{}\r\n", 8000, "x".repeat(8000));
    let response = raw_request(app.address, &head, chunk.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"));
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn the_analyze_limit_is_four_thirds_of_the_image_limit_plus_64_kib() {
    // One photo per analysis; `multi_photo` checks that the limit scales with more.
    let app = spawn_app_with(|c| {
        c.max_image_bytes = 30_000;
        c.max_images = 1;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    let limit = 40_000 + 64 * 1024;
    for (length, expect_413) in [(limit + 1, true), (limit - 10, false)] {
        let head = format!(
            "POST /api/analyze HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nX-Proxy-Token: t\r\nConnection: close\r\n\r\n",
            app.address
        );
        let body = if expect_413 {
            Vec::new()
        } else {
            vec![b' '; length]
        };
        let response = raw_request(app.address, &head, &body).await;
        assert_eq!(
            response.starts_with("HTTP/1.1 413"),
            expect_413,
            "{length}: {response}"
        );
    }
}
